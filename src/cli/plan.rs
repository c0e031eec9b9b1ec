//! `tokenplan plan`, and the planning that `apply` shares with it: opening the workspace,
//! reporting why no plan could be made, and the outputs pipelines read.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::{
    CHANGES, DeployArgs, SdkArgs, SecretArgs, WorkspaceArgs, deploy_config, print_stdout, report,
};
use crate::plan::{PlanFailure, Planned, make_plan};
use crate::project::Project;
use crate::render::ci::{self, failure_reports};
use crate::render::diagnostics::{self, DiagnosticReport};
use crate::render::markdown::{self, COMMENT_BUDGET};
use crate::render::{TextStyle, github, plan_json, plan_text};
use crate::workspace::state::write_atomically;
use crate::workspace::{Workspace, WorkspaceError};

/// How a plan is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum PlanFormat {
    /// For people, Terraform style.
    Text,
    /// One JSON document (the same as `--out` saves).
    Json,
    /// A pull-request comment body, at most 65,000 characters.
    Markdown,
    /// GitHub Actions workflow commands (annotations); also appends the markdown body to
    /// `$GITHUB_STEP_SUMMARY` when it is set.
    Github,
}

#[derive(Debug, clap::Args)]
pub(super) struct PlanArgs {
    /// The project folder.
    #[arg(default_value = ".")]
    path: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    format: PlanFormat,
    /// Also save the plan (as JSON) to this file, for `apply --plan FILE`.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Exit 0 when there is nothing to change, 2 when there is, 1 on error.
    #[arg(long)]
    detailed_exitcode: bool,
    #[command(flatten)]
    workspace: WorkspaceArgs,
    #[command(flatten)]
    secrets: SecretArgs,
    #[command(flatten)]
    deploy: DeployArgs,
    #[command(flatten)]
    sdk: SdkArgs,
}

/// Prints warnings (and errors) of a project to stderr.
fn report_problems(project: &Project) {
    let text = diagnostics::render_problems(project, super::stderr_style());
    if !text.is_empty() {
        eprint!("{text}");
    }
}

/// Prints why no plan could be made: a broken project's problems in their files, then what it
/// means for the plan.
fn report_failure(failure: &PlanFailure) {
    match failure {
        PlanFailure::Project(_) | PlanFailure::Workspace(_) => report(failure),
        PlanFailure::Invalid(project) => {
            report_problems(project);
            eprintln!(
                "{}\nNo plan was made: fix the errors above first.",
                diagnostics::check_summary(project)
            );
        }
        PlanFailure::Unmanaged(project, errors) => {
            report_problems(project);
            for error in errors {
                match project.files.iter().find(|f| f.path == error.path) {
                    Some(file) => eprintln!(
                        "{}",
                        diagnostics::render_problem(file, error, super::stderr_style())
                    ),
                    None => report(error),
                }
            }
            eprintln!("No plan was made: fix the errors above first.");
        }
    }
}

fn open_workspace(
    workspace: &WorkspaceArgs,
    path: &Path,
) -> Result<Box<dyn Workspace>, WorkspaceError> {
    workspace
        .config(path)?
        .open(&workspace.unlock_command(path))
}

/// Opens the workspace, takes its write lock when `lock_for` names the command that writes, and
/// plans. Every failure is reported on stderr, and handed to `for_ci` for the formats pipelines
/// read; warnings of the project are reported too.
pub(super) fn open_and_plan(
    workspace_args: &WorkspaceArgs,
    path: &Path,
    secrets: &SecretArgs,
    deploy: &DeployArgs,
    sdk: &SdkArgs,
    lock_for: Option<&str>,
    for_ci: &dyn Fn(&[DiagnosticReport]),
) -> Result<(Box<dyn Workspace>, Planned), ()> {
    let opened = open_workspace(workspace_args, path).and_then(|mut workspace| {
        if let Some(command) = lock_for {
            workspace.lock(command)?;
        }
        Ok(workspace)
    });
    let mut workspace = opened.map_err(|error| {
        report(&error);
        for_ci(&[DiagnosticReport::without_place(&error)]);
    })?;
    let config = deploy_config(path, secrets, deploy, sdk);
    match make_plan(&config, workspace.as_mut()) {
        Ok(planned) => {
            report_problems(&planned.project);
            Ok((workspace, planned))
        }
        Err(failure) => {
            report_failure(&failure);
            for_ci(&failure_reports(&failure));
            Err(())
        }
    }
}

pub(super) fn run_plan(args: PlanArgs) -> ExitCode {
    let planned = open_and_plan(
        &args.workspace,
        &args.path,
        &args.secrets,
        &args.deploy,
        &args.sdk,
        None,
        &|errors| print_failure_for_ci(&args, errors),
    );
    let Ok((
        _,
        Planned {
            desired,
            plan,
            project,
        },
    )) = planned
    else {
        return ExitCode::FAILURE;
    };
    let json = plan_json::render(&plan);
    if let Some(out) = &args.out {
        if let Err(error) = write_atomically(out, json.as_bytes()) {
            eprintln!(
                "tokenplan: cannot save the plan to {}: {error}",
                out.display()
            );
            return ExitCode::FAILURE;
        }
        eprintln!(
            "Saved the plan to {}. Apply exactly this plan with: tokenplan apply {} --plan {}",
            out.display(),
            args.path.display(),
            out.display()
        );
    }
    let output = match args.format {
        PlanFormat::Text => plan_text::render(
            &plan,
            TextStyle::for_stream(std::io::stdout().is_terminal()).color,
        ),
        PlanFormat::Json => json,
        PlanFormat::Markdown => markdown::render(&plan, &desired, COMMENT_BUDGET),
        PlanFormat::Github => {
            append_step_summary(|budget| markdown::render(&plan, &desired, budget));
            // The project folder may be another than PATH (tinybird.json's `folder`).
            github::render_plan(&plan, &desired, &project.root.to_string_lossy())
        }
    };
    if !print_stdout(&output) {
        return ExitCode::FAILURE;
    }
    if args.detailed_exitcode && plan.has_changes() {
        ExitCode::from(CHANGES)
    } else {
        ExitCode::SUCCESS
    }
}

/// With `--format markdown` or `github`, a failed plan still prints something a pipeline can
/// post: the errors as a comment body, or as `::error` annotations.
fn print_failure_for_ci(args: &PlanArgs, errors: &[DiagnosticReport]) {
    match args.format {
        PlanFormat::Text | PlanFormat::Json => {}
        PlanFormat::Markdown => {
            print_stdout(&markdown::render_errors(errors, COMMENT_BUDGET));
        }
        PlanFormat::Github => {
            append_step_summary(|budget| markdown::render_errors(errors, budget));
            print_stdout(&github::render_errors(errors, &args.path.to_string_lossy()));
        }
    }
}

/// Appends a markdown body to `$GITHUB_STEP_SUMMARY` when it is set, keeping the file under
/// GitHub's limit: the body gets whatever room is left, up to the comment budget.
fn append_step_summary(body: impl FnOnce(usize) -> String) {
    let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) else {
        return;
    };
    let used = std::fs::metadata(&path).map_or(0, |m| m.len());
    let Some(budget) = ci::step_summary_budget(used) else {
        eprintln!("tokenplan: the step summary is full; the plan was not added to it");
        return;
    };
    let mut text = body(budget);
    text.push('\n');
    let written = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(&path)
        .and_then(|mut file| file.write_all(text.as_bytes()));
    if let Err(error) = written {
        eprintln!(
            "tokenplan: cannot write the step summary {}: {error}",
            Path::new(&path).display()
        );
    }
}
