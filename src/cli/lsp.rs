//! `tokenplan lsp`.

use std::process::ExitCode;

use super::{SecretArgs, report};
use crate::lsp::{self, LspConfig};

#[derive(Debug, clap::Args)]
pub(super) struct LspArgs {
    #[command(flatten)]
    secrets: SecretArgs,
}

pub(super) fn run(args: LspArgs) -> ExitCode {
    let config = LspConfig {
        secrets: args.secrets.to_secrets(),
    };
    match lsp::run(&config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // Stdout belongs to the protocol: the reason goes to stderr, where editors log it.
            report(&error);
            ExitCode::FAILURE
        }
    }
}
