//! The command line: argument parsing (clap stops here), and each command turned into plain
//! configuration for the library.

use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use crate::project::{self, ProjectConfig};
use crate::render::{TextStyle, diagnostics};
use crate::syntax::Secrets;

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
    Check(CheckArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum CheckFormat {
    /// Human-readable diagnostics.
    Text,
    /// One JSON document.
    Json,
}

#[derive(Debug, clap::Args)]
struct CheckArgs {
    /// The project folder.
    #[arg(default_value = ".")]
    path: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
    format: CheckFormat,
    #[command(flatten)]
    secrets: SecretArgs,
}

#[derive(Debug, Clone, clap::Args)]
struct SecretArgs {
    /// A value for `tb_secret('NAME')` in data source and connection templates (repeatable).
    #[arg(long = "secret", value_name = "NAME=VALUE", value_parser = parse_secret)]
    secrets: Vec<(String, String)>,
}

impl SecretArgs {
    fn to_secrets(&self) -> Secrets {
        self.secrets.iter().cloned().collect()
    }
}

fn parse_secret(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_owned(), value.to_owned())),
        _ => Err("expected NAME=VALUE".into()),
    }
}

/// Runs tokenplan with these arguments (the first is the program name) and returns the exit
/// code: 0 success, 1 problems found or the command failed, 2 bad usage.
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
            return ExitCode::from(error.exit_code().clamp(0, 255) as u8);
        }
    };
    match cli.command {
        Command::Check(args) => check(args),
    }
}

fn check(args: CheckArgs) -> ExitCode {
    let stdout_is_terminal = std::io::stdout().is_terminal();
    let config = ProjectConfig {
        root: args.path.clone(),
        secrets: args.secrets.to_secrets(),
    };
    let project = match project::load(&config) {
        Ok(project) => project,
        Err(error) => {
            let style = TextStyle::for_stream(std::io::stderr().is_terminal());
            eprint!("{}", diagnostics::render_standalone(&error, style));
            return ExitCode::FAILURE;
        }
    };
    let mut out = std::io::stdout().lock();
    let written = match args.format {
        CheckFormat::Text => {
            let style = TextStyle::for_stream(stdout_is_terminal);
            let text = diagnostics::render_problems(&project, style);
            write!(out, "{text}{}\n", diagnostics::check_summary(&project))
        }
        CheckFormat::Json => {
            let report = diagnostics::check_report(&project);
            serde_json::to_writer_pretty(&mut out, &report)
                .map_err(std::io::Error::from)
                .and_then(|()| writeln!(out))
        }
    };
    // A closed pipe (`| head`) is not an error of the check.
    if let Err(error) = written
        && error.kind() != std::io::ErrorKind::BrokenPipe
    {
        eprintln!("tokenplan: cannot write output: {error}");
        return ExitCode::FAILURE;
    }
    if project.has_errors() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
