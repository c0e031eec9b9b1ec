//! `tokenplan token ls | create static | refresh | rm`: clap types and output; the logic is in
//! [`crate::token`].

use std::ffi::OsStr;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use clap::builder::{PossibleValue, StringValueParser, TypedValueParser};

use super::{Format, WorkspaceArgs, confirm, print_stdout, report};
use crate::scope::ScopeKind;
use crate::text::escape_controls;
use crate::token::{self, Breaking, Created, TokenError};
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
    /// Give a token a new value, keeping its name and scopes (asks first).
    Refresh(NameArgs),
    /// Remove a workspace token, not a default or resource-scoped one (asks first).
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
    /// `creates`: the command may create the workspace (`token create` with `--local`).
    fn open(&self, creates: bool) -> Result<Box<dyn Workspace>, TokenError> {
        let config = self.workspace.config(&self.project, creates)?;
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
    /// A scope (repeatable, case-insensitive).
    #[arg(long = "scope", value_name = "SCOPE", required = true, value_parser = ScopeValue)]
    scopes: Vec<String>,
    #[command(flatten)]
    target: Target,
}

/// A `--scope` value: any text, which `token create static` checks itself (case-insensitively,
/// saying what to do with a resource scope); the workspace scopes are offered to shell
/// completion and listed in `--help`.
#[derive(Debug, Clone, Copy)]
struct ScopeValue;

impl TypedValueParser for ScopeValue {
    type Value = String;

    fn parse_ref(
        &self,
        command: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<String, clap::Error> {
        StringValueParser::new().parse_ref(command, arg, value)
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(
            ScopeKind::WORKSPACE
                .iter()
                .map(|kind| PossibleValue::new(kind.as_str())),
        ))
    }
}

#[derive(Debug, clap::Args)]
struct NameArgs {
    /// The token name.
    name: String,
    /// Do not ask for confirmation (needed when there is no terminal).
    #[arg(long, short)]
    yes: bool,
    #[command(flatten)]
    target: Target,
}

/// Asks before a change that takes access away, unless `--yes`; with no terminal to ask on,
/// refuses.
fn confirmed(
    workspace: &mut dyn Workspace,
    args: &NameArgs,
    change: Breaking,
) -> Result<(), TokenError> {
    let question = token::confirmation(workspace, &args.name, change)?;
    if args.yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(TokenError::NeedsConfirmation {
            doing: change.doing(),
            name: args.name.clone(),
        });
    }
    if confirm(&question) {
        Ok(())
    } else {
        Err(TokenError::Cancelled {
            name: args.name.clone(),
        })
    }
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
    let mut workspace = args.target.open(false)?;
    let tokens = token::list(workspace.as_mut(), args.pattern.as_deref())?;
    let listing = token::listing(&tokens, args.show_values);
    Ok(match args.format {
        // Names come from the workspace: shown, never obeyed by the terminal.
        Format::Text => escape_controls(&token::render_table(&listing)).into_owned(),
        Format::Json => {
            let mut text = serde_json::to_string_pretty(&listing).expect("a listing serializes");
            text.push('\n');
            text
        }
    })
}

fn create_static(args: &StaticArgs) -> Result<String, TokenError> {
    let mut workspace = args.target.open(true)?;
    let (token, created) = token::create_static(workspace.as_mut(), &args.name, &args.scopes)?;
    let scopes = token.scopes.join(", ");
    let name = escape_controls(&token.name);
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
    let mut workspace = args.target.open(false)?;
    confirmed(workspace.as_mut(), args, Breaking::Refresh)?;
    let token = token::refresh(workspace.as_mut(), &args.name)?;
    Ok(format!(
        "Refreshed token \"{}\": it has a new value and the same scopes; apps holding the old value lose access.\n",
        escape_controls(&token.name)
    ))
}

fn rm(args: &NameArgs) -> Result<String, TokenError> {
    let mut workspace = args.target.open(false)?;
    confirmed(workspace.as_mut(), args, Breaking::Remove)?;
    let token = token::remove(workspace.as_mut(), &args.name)?;
    Ok(format!(
        "Removed token \"{}\".\n",
        escape_controls(&token.name)
    ))
}
