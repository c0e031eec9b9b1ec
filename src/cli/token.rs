//! `tokenplan token ls | create static | refresh | rm`: clap types and output; the logic is in
//! [`crate::token`].

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;

use super::{Format, WorkspaceArgs, print_stdout, report};
use crate::token::{self, Created, TokenError};
use crate::workspace::Workspace;

#[derive(Debug, clap::Args)]
pub(super) struct TokenArgs {
    #[command(subcommand)]
    command: TokenCommand,
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// List the workspace's tokens: name, kind, scopes, and values masked unless --show-values.
    Ls(LsArgs),
    /// Create a token, or change the scopes of an existing workspace token.
    Create(CreateArgs),
    /// Give a token a new value, keeping its name and scopes.
    Refresh(NameArgs),
    /// Remove a workspace token (not a default or resource-scoped one).
    Rm(NameArgs),
}

/// The workspace a token command works on.
#[derive(Debug, clap::Args)]
struct Target {
    /// The project folder: where the embedded state lives and `.tinyb` is looked for.
    #[arg(long, value_name = "DIR", default_value = ".")]
    project: PathBuf,
    #[command(flatten)]
    workspace: WorkspaceArgs,
}

impl Target {
    fn open(&self) -> Result<Box<dyn Workspace>, TokenError> {
        let config = self.workspace.config(&self.project)?;
        Ok(config.open(&self.workspace.unlock_command(&self.project))?)
    }
}

#[derive(Debug, clap::Args)]
struct LsArgs {
    /// Only tokens whose name contains this text (case-insensitive).
    #[arg(long = "match", value_name = "TEXT")]
    pattern: Option<String>,
    /// Print the token values in clear.
    #[arg(long)]
    show_values: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    #[command(flatten)]
    target: Target,
}

#[derive(Debug, clap::Args)]
struct CreateArgs {
    #[command(subcommand)]
    kind: CreateKind,
}

#[derive(Debug, Subcommand)]
enum CreateKind {
    /// A static workspace token with TOKENS, ADMIN, WORKSPACE:READ_ALL, WORKSPACE:DEPLOY or
    /// ORG_DATASOURCES:READ scopes; an existing workspace token of that name gets these scopes.
    Static(StaticArgs),
}

#[derive(Debug, clap::Args)]
struct StaticArgs {
    /// The token name.
    name: String,
    /// A scope (repeatable).
    #[arg(long = "scope", value_name = "SCOPE", required = true)]
    scopes: Vec<String>,
    #[command(flatten)]
    target: Target,
}

#[derive(Debug, clap::Args)]
struct NameArgs {
    /// The token name.
    name: String,
    #[command(flatten)]
    target: Target,
}

pub(super) fn run(args: TokenArgs) -> ExitCode {
    let result = match args.command {
        TokenCommand::Ls(args) => ls(&args),
        TokenCommand::Create(CreateArgs {
            kind: CreateKind::Static(args),
        }) => create_static(&args),
        TokenCommand::Refresh(args) => refresh(&args),
        TokenCommand::Rm(args) => rm(&args),
    };
    match result {
        Ok(text) if print_stdout(&text) => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(error) => {
            report(&error);
            ExitCode::FAILURE
        }
    }
}

fn ls(args: &LsArgs) -> Result<String, TokenError> {
    let mut workspace = args.target.open()?;
    let tokens = token::list(workspace.as_mut(), args.pattern.as_deref())?;
    let listing = token::listing(&tokens, args.show_values);
    Ok(match args.format {
        Format::Text => token::render_table(&listing),
        Format::Json => {
            let mut text = serde_json::to_string_pretty(&listing).expect("a listing serializes");
            text.push('\n');
            text
        }
    })
}

fn create_static(args: &StaticArgs) -> Result<String, TokenError> {
    let mut workspace = args.target.open()?;
    let (token, created) = token::create_static(workspace.as_mut(), &args.name, &args.scopes)?;
    let scopes = token.scopes.join(", ");
    let name = &token.name;
    Ok(match created {
        Created::New => format!(
            "Created token \"{name}\" with scopes {scopes}.\nSee its value with: tokenplan token ls --match \"{name}\" --show-values\n"
        ),
        Created::Updated => format!(
            "Updated token \"{name}\": its scopes are now {scopes}; its value is unchanged.\n"
        ),
        Created::Unchanged => {
            format!("Token \"{name}\" already has scopes {scopes}: nothing to do.\n")
        }
    })
}

fn refresh(args: &NameArgs) -> Result<String, TokenError> {
    let mut workspace = args.target.open()?;
    let token = token::refresh(workspace.as_mut(), &args.name)?;
    Ok(format!(
        "Refreshed token \"{}\": it has a new value and the same scopes; apps holding the old value lose access.\n",
        token.name
    ))
}

fn rm(args: &NameArgs) -> Result<String, TokenError> {
    let mut workspace = args.target.open()?;
    let token = token::remove(workspace.as_mut(), &args.name)?;
    Ok(format!("Removed token \"{}\".\n", token.name))
}
