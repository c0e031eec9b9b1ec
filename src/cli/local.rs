//! `tokenplan local start` and `tokenplan local generate-tokens`: clap types and output; the
//! server is [`crate::server`].

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;

use super::{Format, print_stdout, report, secret_value};
use crate::server::{self, DEFAULT_PORT, Limits, Ready, ServerConfig};
use crate::workspace::secret::Secret;

#[derive(Debug, clap::Args)]
pub(super) struct LocalArgs {
    #[command(subcommand)]
    command: LocalCommand,
}

#[derive(Debug, Subcommand)]
enum LocalCommand {
    /// Serve a local workspace over the Tinybird Tokens API until SIGTERM or Ctrl-C.
    Start(StartArgs),
    /// Print a new workspace token and user token in the static `p.` format.
    GenerateTokens(GenerateArgs),
}

#[derive(Debug, clap::Args)]
struct StartArgs {
    /// The port; 0 picks a free one (the address is printed as `Listening on http://...`).
    #[arg(long, default_value_t = DEFAULT_PORT)]
    port: u16,
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,
    /// The workspace's state database, the embedded workspace's [default:
    /// .tokenplan/workspace.db].
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
    /// Email in the name of the default admin token of a new workspace.
    #[arg(long, value_name = "EMAIL", default_value = "admin@localhost")]
    admin_email: String,
    /// The value of the `Workspace admin token` [env: TB_LOCAL_WORKSPACE_TOKEN].
    #[arg(long, value_name = "TOKEN", value_parser = secret_value)]
    workspace_token: Option<Secret>,
    /// The value of the `User token` [env: TB_LOCAL_USER_TOKEN].
    #[arg(long, value_name = "TOKEN", value_parser = secret_value)]
    user_token: Option<Secret>,
    /// The workspace whose `Workspace admin token` GET /tokens gives and --workspace-token sets
    /// (created when missing) [default: the first one].
    #[arg(long, value_name = "NAME")]
    workspace: Option<String>,
}

#[derive(Debug, clap::Args)]
struct GenerateArgs {
    /// Output format.
    #[arg(long, alias = "output", value_enum, default_value_t = Format::Text)]
    format: Format,
}

pub(super) fn run(args: LocalArgs) -> ExitCode {
    match args.command {
        LocalCommand::Start(args) => start(args),
        LocalCommand::GenerateTokens(args) => generate(&args),
    }
}

/// A flag, else an environment variable; empty counts as unset.
fn flag_or_env(flag: Option<Secret>, variable: &str) -> Option<Secret> {
    flag.or_else(|| std::env::var(variable).ok().map(Secret::new))
        .filter(|v| !v.expose().is_empty())
}

fn start(args: StartArgs) -> ExitCode {
    let config = ServerConfig {
        bind: args.bind,
        port: args.port,
        state: args.state.unwrap_or_else(server::default_state_path),
        admin_email: args.admin_email,
        workspace_token: flag_or_env(args.workspace_token, "TB_LOCAL_WORKSPACE_TOKEN"),
        user_token: flag_or_env(args.user_token, "TB_LOCAL_USER_TOKEN"),
        workspace: args.workspace,
        limits: Limits::default(),
    };
    let on_ready = |ready: &Ready| {
        if let Some(holder) = &ready.took_over {
            let line = format!("Took over the lock left by {holder}, which is no longer running.");
            eprintln!("{}", crate::text::escape_controls(&line));
        }
        let url = format!("http://{}", ready.address);
        let state = ready.state.display();
        let what = if ready.created { "new" } else { "existing" };
        // tb and `--local` find Local at localhost:7181 unless told otherwise.
        let local = match ready.address.port() {
            DEFAULT_PORT => String::new(),
            port => format!("TB_LOCAL_PORT={port} "),
        };
        print_stdout(&format!(
            "Listening on {url}\n\
             Workspace state: {state} ({what})\n\
             Default tokens (values): GET {url}/tokens from this machine, or `tokenplan token ls --show-values --state {state}` once stopped\n\
             Use it with: tokenplan plan --host {url} --token <workspace_admin_token>\n\
             Or as tb --local does, one workspace per project: {local}tokenplan plan --local\n\
             Stop with Ctrl-C or SIGTERM.\n"
        ));
    };
    match server::serve(config, on_ready) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            report(&error);
            ExitCode::FAILURE
        }
    }
}

fn generate(args: &GenerateArgs) -> ExitCode {
    let (workspace, user) = server::generate_tokens();
    let text = match args.format {
        Format::Text => format!(
            "workspace_token: {}\nuser_token: {}\n",
            workspace.expose(),
            user.expose()
        ),
        Format::Json => {
            let document = serde_json::json!({
                "workspace_token": workspace.expose(),
                "user_token": user.expose(),
            });
            format!("{document}\n")
        }
    };
    if print_stdout(&text) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
