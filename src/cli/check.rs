//! `tokenplan check`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use super::{Format, SecretArgs, print_stdout, project_config, report};
use crate::project::{self, DEFAULT_MAX_DEPTH};
use crate::render::{TextStyle, diagnostics};

#[derive(Debug, clap::Args)]
pub(super) struct CheckArgs {
    /// The project folder, a folder in it, or one datafile.
    #[arg(default_value = ".")]
    path: PathBuf,
    /// Warn about datafiles more than N levels down, which `tb --max-depth N deploy` leaves out.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_DEPTH)]
    max_depth: usize,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    #[command(flatten)]
    secrets: SecretArgs,
}

pub(super) fn run(args: CheckArgs) -> ExitCode {
    let mut config = project_config(&args.path, &args.secrets);
    config.max_depth = args.max_depth;
    let project = match project::load(&config) {
        Ok(project) => project,
        Err(error) => {
            report(&error);
            return ExitCode::FAILURE;
        }
    };
    let output = match args.format {
        Format::Text => {
            let style = TextStyle::for_stream(std::io::stdout().is_terminal());
            let problems = diagnostics::render_problems(&project, style);
            format!("{problems}{}\n", diagnostics::check_summary(&project))
        }
        Format::Json => {
            let report = diagnostics::check_report(&project);
            let mut text = serde_json::to_string_pretty(&report).expect("the report serializes");
            text.push('\n');
            text
        }
    };
    if !print_stdout(&output) || project.has_errors() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
