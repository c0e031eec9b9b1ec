//! `tokenplan check`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use super::{Format, SdkArgs, SecretArgs, print_stdout, project_config, report};
use crate::project::{self, DEFAULT_MAX_DEPTH, Loaded};
use crate::render::{TextStyle, check, diagnostics};

#[derive(Debug, clap::Args)]
pub(super) struct CheckArgs {
    /// The project folder, a folder in it, one datafile, or a folder of several projects.
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
    #[command(flatten)]
    sdk: SdkArgs,
}

pub(super) fn run(args: CheckArgs) -> ExitCode {
    let mut config = project_config(&args.path, &args.secrets, &args.sdk);
    config.max_depth = args.max_depth;
    let loaded = match project::load_each(&config) {
        Ok(loaded) => loaded,
        Err(error) => {
            report(&error);
            return ExitCode::FAILURE;
        }
    };
    let style = TextStyle::for_stream(std::io::stdout().is_terminal());
    let (output, errors) = match &loaded {
        Loaded::One(project) => {
            let output = match args.format {
                Format::Text => check::text(project, style),
                Format::Json => {
                    let report = diagnostics::check_report(project);
                    let mut text =
                        serde_json::to_string_pretty(&report).expect("the report serializes");
                    text.push('\n');
                    text
                }
            };
            (output, project.has_errors())
        }
        Loaded::Several(members) => {
            let output = match args.format {
                Format::Text => check::text_several(members, style),
                Format::Json => check::json_several(members),
            };
            (output, members.iter().any(|m| m.project.has_errors()))
        }
    };
    if !print_stdout(&output) || errors {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
