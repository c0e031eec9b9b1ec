//! The command line: argument parsing (clap stops here) and each command turned into plain
//! configuration for the library.

mod apply;
mod check;
mod local;
mod lsp;
mod plan;
mod pr_comment;
mod progress;
mod state;
mod test_hooks;
mod token;

use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

use crate::project::{DEFAULT_MAX_DEPTH, ProjectConfig, Scope};
use crate::render::{TextStyle, diagnostics};
use crate::sdk::{DEFAULT_TIMEOUT, GenerateOptions};
use crate::syntax::Secrets;
use crate::text::escape_controls;
use crate::workspace::local::{local_address, tb_workspace_name};
use crate::workspace::sdk_sources::sdk_sources;
use crate::workspace::secret::Secret;
use crate::workspace::selection::{Endpoint, SelectionInput, find_tinyb, select};
use crate::workspace::state::DEFAULT_STATE_PATH;
use crate::workspace::{WorkspaceConfig, WorkspaceError};

/// Check Tinybird datafiles and plan the access tokens they declare.
#[derive(Debug, Parser)]
#[command(name = "tokenplan", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check every datafile of a project and report all problems.
    #[command(after_help = CHECK_EXIT_CODES)]
    Check(check::CheckArgs),
    /// Show which tokens a deployment would create, change or destroy.
    #[command(after_help = PLAN_EXIT_CODES)]
    Plan(plan::PlanArgs),
    /// Create, change and destroy tokens so that the workspace matches the datafiles.
    #[command(after_help = APPLY_EXIT_CODES)]
    Apply(apply::ApplyArgs),
    /// Remove the lock an interrupted apply left on the embedded workspace.
    ForceUnlock(apply::ForceUnlockArgs),
    /// Print a shell completion script.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Serve the Language Server Protocol on stdio, for editors.
    Lsp(lsp::LspArgs),
    /// List, create, refresh and remove workspace tokens.
    Token(token::TokenArgs),
    /// Run a local workspace server, as Tinybird Local does.
    Local(local::LocalArgs),
    /// Check the embedded workspace's state database.
    State(state::StateArgs),
}

/// Exit code for "changes present" with `--detailed-exitcode`.
const CHANGES: u8 = 2;

/// Exit code for a command line that cannot be read: `EX_USAGE` of `sysexits.h`, so that a typo
/// in a pipeline is never read as success (0), problems found (1) or changes (2).
const USAGE: u8 = 64;

/// The exit codes of `plan`, under its `--help`.
const PLAN_EXIT_CODES: &str = "\
Exit codes:
  0   success; with --detailed-exitcode, nothing to change
  1   errors in the datafiles, or the plan could not be made
  2   with --detailed-exitcode only: there are changes
  64  the command line cannot be read (an unknown flag, a bad value)";

/// The exit codes of `apply`, under its `--help`.
const APPLY_EXIT_CODES: &str = "\
Exit codes:
  0   success; with --detailed-exitcode, there was nothing to change
  1   errors in the datafiles, a refused or stale plan, or a change that failed
  2   with --detailed-exitcode only: changes were applied
  64  the command line cannot be read (an unknown flag, a bad value)";

/// The exit codes of `check`, under its `--help`.
const CHECK_EXIT_CODES: &str = "\
Exit codes:
  0   no errors (warnings do not fail)
  1   at least one error, or the project cannot be read
  64  the command line cannot be read (an unknown flag, a bad value)";

/// Output formats shared by commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// For people.
    Text,
    /// One JSON document.
    Json,
}

#[derive(Debug, Clone, clap::Args)]
struct SecretArgs {
    /// A value for `tb_secret('NAME')` in data source and connection templates (repeatable).
    #[arg(long = "secret", value_name = "NAME=VALUE", value_parser = parse_secret)]
    secrets: Vec<(String, Secret)>,
}

impl SecretArgs {
    fn to_secrets(&self) -> Secrets {
        self.secrets
            .iter()
            .map(|(name, value)| (name.clone(), secrecy::SecretString::from(value.expose())))
            .collect()
    }
}

/// `NAME=VALUE`, the value held as a [`Secret`] so that no `Debug` of the arguments shows it.
fn parse_secret(text: &str) -> Result<(String, Secret), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_owned(), Secret::new(value))),
        _ => Err("expected NAME=VALUE".into()),
    }
}

/// Which workspace: the embedded one (the default), or a remote one by host and token.
#[derive(Debug, Clone, clap::Args)]
struct WorkspaceArgs {
    /// The embedded workspace's state database [default: <PATH>/.tokenplan/workspace.db].
    #[arg(long, value_name = "FILE", conflicts_with = "host")]
    state: Option<PathBuf>,
    /// Email in the name of the default admin token of a new embedded workspace.
    #[arg(long, value_name = "EMAIL", default_value = "admin@localhost")]
    admin_email: String,
    /// A remote workspace's API base URL, e.g. http://localhost:7181 [env: TB_HOST].
    #[arg(long, value_name = "URL")]
    host: Option<String>,
    /// A token of the remote workspace with the TOKENS or ADMIN scope [env: TB_TOKEN].
    #[arg(long, value_name = "TOKEN", value_parser = secret_value)]
    token: Option<Secret>,
    /// Allow plain http:// to a host off this machine (the token crosses the network unencrypted).
    #[arg(long)]
    allow_insecure_http: bool,
    /// The project's workspace on Tinybird Local, as `tb --local` uses it (its address from
    /// TB_LOCAL_HOST and TB_LOCAL_PORT, its tokens from Local itself).
    #[arg(long, conflicts_with_all = ["state", "host", "token"])]
    local: bool,
    /// One workspace of the embedded state by name (those `tokenplan local start` serves, e.g.
    /// `tb --local`'s); asks for the embedded state as --state does [default: the first one].
    #[arg(long, value_name = "NAME", conflicts_with_all = ["host", "token", "local"])]
    workspace: Option<String>,
}

impl WorkspaceArgs {
    fn state_path(&self, project: &Path) -> PathBuf {
        self.state
            .clone()
            .unwrap_or_else(|| project.join(DEFAULT_STATE_PATH))
    }

    /// Flags, then `TB_HOST`/`TB_TOKEN`, then an SDK project's own (`TINYBIRD_URL` and
    /// `TINYBIRD_TOKEN` in the environment and `.env.local`, its config), then a `.tinyb` in
    /// the project folder or a parent.
    /// `create`: with `--local`, create the project's workspace when missing (apply, `token
    /// create`).
    fn config(&self, project: &Path, create: bool) -> Result<WorkspaceConfig, WorkspaceError> {
        if self.local {
            // A credential source of its own: no flag, variable or `.tinyb` is read.
            let address = local_address(&|name| std::env::var(name).ok())?;
            let name = tb_workspace_name(project);
            let line = format!("Using the Tinybird Local workspace {name} at {address}.");
            eprintln!("{}", escape_controls(&line));
            return Ok(WorkspaceConfig::Local {
                address,
                name,
                create,
                allow_insecure_http: self.allow_insecure_http,
            });
        }
        let kind = crate::sdk::detect(project);
        let input = SelectionInput {
            flags: Endpoint::new(
                self.host.clone(),
                self.token.as_ref().map(|t| t.expose().to_owned()),
            ),
            env: Endpoint::new(
                std::env::var("TB_HOST").ok(),
                std::env::var("TB_TOKEN").ok(),
            ),
            sdk: sdk_sources(&kind, &shown_sdk_root(&kind, project), &|name| {
                std::env::var(name).ok()
            }),
            // --workspace names a workspace of the embedded state: it asks for it as --state.
            state_flag: self
                .state
                .clone()
                .or_else(|| self.workspace.as_ref().map(|_| self.state_path(project))),
            default_state: self.state_path(project),
            admin_email: self.admin_email.clone(),
            allow_insecure_http: self.allow_insecure_http,
        };
        // --state wins anyway: a broken .tinyb somewhere above must not stop it.
        let tinyb = match input.state_flag {
            Some(_) => None,
            None => find_tinyb(project)?,
        };
        let mut selection = select(&input, tinyb.as_ref())?;
        if let WorkspaceConfig::Embedded { workspace, .. } = &mut selection.config {
            workspace.clone_from(&self.workspace);
        }
        match &selection.config {
            // Not asked for on this command line: say where the commands go.
            WorkspaceConfig::Remote { host, .. } if self.host.is_none() => {
                let line = format!("Using the workspace at {host} (from {}).", selection.origin);
                eprintln!("{}", escape_controls(&line));
            }
            WorkspaceConfig::Remote { .. }
            | WorkspaceConfig::Embedded { .. }
            | WorkspaceConfig::Local { .. } => {}
        }
        Ok(selection.config)
    }

    /// The command line that breaks a stale lock on this workspace.
    fn unlock_command(&self, project: &Path) -> String {
        match &self.state {
            Some(state) => format!("tokenplan force-unlock --state {}", state.display()),
            None => format!("tokenplan force-unlock {}", project.display()),
        }
    }
}

/// How an SDK project's folder is written in messages: PATH when it is the config's folder,
/// else the folder itself.
fn shown_sdk_root(kind: &crate::sdk::ProjectKind, path: &Path) -> PathBuf {
    let root = kind.sdk().map(|p| p.root().to_path_buf());
    let same = root
        .as_deref()
        .zip(std::fs::canonicalize(path).ok())
        .is_some_and(|(a, b)| a == b);
    match root {
        Some(root) if !same => root,
        Some(_) | None => path.to_path_buf(),
    }
}

/// Wraps a token given on the command line, so that no `Debug` of the arguments shows it.
fn secret_value(text: &str) -> Result<Secret, String> {
    Ok(Secret::new(text))
}

/// Which datafiles plan and apply read: those `tb deploy` reads.
#[derive(Debug, Clone, clap::Args)]
struct DeployArgs {
    /// Read datafiles at most N levels down, as `tb --max-depth N deploy` does (1: only those
    /// right in the project folder).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_DEPTH)]
    max_depth: usize,
    /// Plan even when the project has no datafiles, which destroys every managed token.
    #[arg(long)]
    allow_empty: bool,
}

/// How an SDK project's generator runs.
#[derive(Debug, Clone, clap::Args)]
struct SdkArgs {
    /// Stop an SDK project's generator (TypeScript or Python) after this many seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_TIMEOUT.as_secs(), value_parser = clap::value_parser!(u64).range(1..))]
    sdk_timeout: u64,
}

impl SdkArgs {
    fn options(&self) -> GenerateOptions {
        GenerateOptions {
            timeout: Duration::from_secs(self.sdk_timeout),
            ..GenerateOptions::default()
        }
    }
}

/// `check`'s project: everything under PATH.
fn project_config(path: &Path, secrets: &SecretArgs, sdk: &SdkArgs) -> ProjectConfig {
    ProjectConfig {
        root: path.to_path_buf(),
        secrets: secrets.to_secrets(),
        generate: sdk.options(),
        ..ProjectConfig::default()
    }
}

/// `plan`'s and `apply`'s project: what `tb deploy` reads.
fn deploy_config(
    path: &Path,
    secrets: &SecretArgs,
    deploy: &DeployArgs,
    sdk: &SdkArgs,
) -> ProjectConfig {
    ProjectConfig {
        scope: Scope::Deployment,
        max_depth: deploy.max_depth,
        allow_empty: deploy.allow_empty,
        ..project_config(path, secrets, sdk)
    }
}

/// Runs tokenplan with these arguments (the first is the program name) and returns the exit
/// code: 0 success, 1 problems found or the command failed, 2 changes (with
/// `--detailed-exitcode` only), 64 a command line that cannot be read.
pub fn run<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(error) => {
            // --help and --version are "errors" that print to stdout and exit 0.
            let _ = error.print();
            return if error.exit_code() == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(USAGE)
            };
        }
    };
    match cli.command {
        Command::Check(args) => check::run(args),
        Command::Plan(args) => plan::run_plan(args),
        Command::Apply(args) => apply::run_apply(args),
        Command::ForceUnlock(args) => apply::run_force_unlock(args),
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(
                shell,
                &mut <Cli as clap::CommandFactory>::command(),
                "tokenplan",
                &mut script,
            );
            if print_stdout(&String::from_utf8_lossy(&script)) {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Command::Lsp(args) => lsp::run(args),
        Command::Token(args) => token::run(args),
        Command::Local(args) => local::run(args),
        Command::State(args) => state::run(args),
    }
}

/// Writes to stdout, treating a closed pipe (`| head`) as success.
fn print_stdout(text: &str) -> bool {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => true,
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => true,
        Err(error) => {
            eprintln!("tokenplan: cannot write output: {error}");
            false
        }
    }
}

fn stderr_style() -> TextStyle {
    TextStyle::for_stream(std::io::stderr().is_terminal())
}

/// Prints an error that belongs to no file on stderr, decorated when stderr is a terminal.
fn report(error: &dyn miette::Diagnostic) {
    eprint!("{}", diagnostics::render_standalone(error, stderr_style()));
}

/// Asks `question` on the terminal (on stderr, as stdout may be piped); true only for `yes`.
fn confirm(question: &str) -> bool {
    use std::io::{BufRead, Write};
    eprint!(
        "\n{}\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ",
        escape_controls(question)
    );
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    if std::io::stdin().lock().read_line(&mut answer).is_err() {
        return false;
    }
    answer.trim() == "yes"
}
