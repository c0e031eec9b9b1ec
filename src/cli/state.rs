//! `tokenplan state verify`: checks the embedded workspace's state database without writing it;
//! the checks are [`crate::workspace::store::verify`].

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;

use super::{print_stdout, report};
use crate::workspace::state::DEFAULT_STATE_PATH;
use crate::workspace::store::verify;

#[derive(Debug, clap::Args)]
pub(super) struct StateArgs {
    #[command(subcommand)]
    command: StateCommand,
}

#[derive(Debug, Subcommand)]
enum StateCommand {
    /// Check the state database: SQLite's integrity check of every page and index, then that the
    /// workspace and every token read back. Exits 1 when it is damaged or not a tokenplan state.
    Verify(VerifyArgs),
}

#[derive(Debug, clap::Args)]
struct VerifyArgs {
    /// The project folder.
    #[arg(default_value = ".")]
    path: PathBuf,
    /// The state database [default: <PATH>/.tokenplan/workspace.db].
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
}

pub(super) fn run(args: StateArgs) -> ExitCode {
    match args.command {
        StateCommand::Verify(args) => {
            let state = args
                .state
                .unwrap_or_else(|| args.path.join(DEFAULT_STATE_PATH));
            match verify::verify(&state) {
                Ok(verified) => {
                    if print_stdout(&format!("{verified}\n")) {
                        ExitCode::SUCCESS
                    } else {
                        ExitCode::FAILURE
                    }
                }
                Err(error) => {
                    report(&error);
                    ExitCode::FAILURE
                }
            }
        }
    }
}
