//! `tokenplan plan`, `tokenplan apply` and `tokenplan force-unlock`.

use std::collections::BTreeSet;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use super::{Format, SecretArgs, WorkspaceArgs, print_stdout, project_config};
use crate::apply::{self, AllowDestroy, ApplyError, ApplyEvent};
use crate::plan::{Action, PlanFailure, Planned, make_plan};
use crate::project::Project;
use crate::render::diagnostics;
use crate::render::{TextStyle, plan_json, plan_text};
use crate::workspace::state::{StateLock, write_atomically};
use crate::workspace::{Workspace, WorkspaceError};

/// Exit code for "changes present" with `--detailed-exitcode`.
const CHANGES: u8 = 2;

#[derive(Debug, clap::Args)]
pub(super) struct PlanArgs {
    /// The project folder.
    #[arg(default_value = ".")]
    path: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
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
}

#[derive(Debug, clap::Args)]
pub(super) struct ApplyArgs {
    /// The project folder.
    #[arg(default_value = ".")]
    path: PathBuf,
    /// Apply this saved plan (from `plan --out FILE`) if it still holds, without asking.
    #[arg(long, value_name = "FILE")]
    plan: Option<PathBuf>,
    /// Do not ask for confirmation (needed when there is no terminal).
    #[arg(long)]
    auto_approve: bool,
    /// Allow breaking changes: all of them, or those of the token NAME (repeatable).
    #[arg(long, value_name = "NAME", num_args = 0..=1, default_missing_value = "")]
    allow_destroy: Vec<String>,
    /// Exit 0 when there was nothing to change, 2 when changes were applied, 1 on error.
    #[arg(long)]
    detailed_exitcode: bool,
    #[command(flatten)]
    workspace: WorkspaceArgs,
    #[command(flatten)]
    secrets: SecretArgs,
}

#[derive(Debug, clap::Args)]
pub(super) struct ForceUnlockArgs {
    /// The project folder.
    #[arg(default_value = ".")]
    path: PathBuf,
    /// The embedded workspace's state file [default: <PATH>/.tokenplan/workspace.json].
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
}

fn stderr_style() -> TextStyle {
    TextStyle::for_stream(std::io::stderr().is_terminal())
}

pub(super) fn report(error: &dyn miette::Diagnostic) {
    let style = stderr_style();
    let mut out = String::new();
    let handler = if style == TextStyle::PLAIN {
        miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::none()).with_width(100)
    } else {
        miette::GraphicalReportHandler::new()
    };
    if handler.render_report(&mut out, error).is_err() {
        out = format!("Error: {error}\n");
    }
    eprint!("{out}");
}

/// Prints warnings (and errors) of a project to stderr.
fn report_problems(project: &Project) {
    let text = diagnostics::render_problems(project, stderr_style());
    if !text.is_empty() {
        eprint!("{text}");
    }
}

/// Prints why no plan could be made.
fn report_failure(failure: &PlanFailure) {
    match failure {
        PlanFailure::Project(error) => report(error),
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
                    Some(file) => eprint!(
                        "{}",
                        diagnostics::render_problem(file, error, stderr_style())
                    ),
                    None => report(error),
                }
            }
            eprintln!("No plan was made: fix the errors above first.");
        }
        PlanFailure::Workspace(error) => report(error),
    }
}

fn open_workspace(
    workspace: &WorkspaceArgs,
    path: &std::path::Path,
) -> Result<Box<dyn Workspace>, WorkspaceError> {
    workspace
        .config(path)?
        .open(&workspace.unlock_command(path))
}

pub(super) fn run_plan(args: PlanArgs) -> ExitCode {
    let mut workspace = match open_workspace(&args.workspace, &args.path) {
        Ok(workspace) => workspace,
        Err(error) => {
            report(&error);
            return ExitCode::FAILURE;
        }
    };
    let config = project_config(&args.path, &args.secrets);
    let Planned { project, plan, .. } = match make_plan(&config, workspace.as_mut()) {
        Ok(planned) => planned,
        Err(failure) => {
            report_failure(&failure);
            return ExitCode::FAILURE;
        }
    };
    report_problems(&project);
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
        Format::Text => plan_text::render(
            &plan,
            TextStyle::for_stream(std::io::stdout().is_terminal()).color,
        ),
        Format::Json => json,
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

fn allow_destroy(values: &[String]) -> AllowDestroy {
    if values.is_empty() {
        AllowDestroy::Nothing
    } else if values.iter().any(String::is_empty) {
        AllowDestroy::All
    } else {
        AllowDestroy::Names(values.iter().cloned().collect::<BTreeSet<_>>())
    }
}

/// Asks on the terminal; true only for `yes`.
fn confirm() -> bool {
    eprint!(
        "\nDo you want to perform these actions?\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: "
    );
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    if std::io::stdin().lock().read_line(&mut answer).is_err() {
        return false;
    }
    answer.trim() == "yes"
}

pub(super) fn run_apply(args: ApplyArgs) -> ExitCode {
    let mut workspace = match open_workspace(&args.workspace, &args.path) {
        Ok(workspace) => workspace,
        Err(error) => {
            report(&error);
            return ExitCode::FAILURE;
        }
    };
    let command = format!("tokenplan apply {}", args.path.display());
    if let Err(error) = workspace.lock(&command) {
        report(&error);
        return ExitCode::FAILURE;
    }
    let config = project_config(&args.path, &args.secrets);
    let Planned {
        project,
        desired,
        plan,
    } = match make_plan(&config, workspace.as_mut()) {
        Ok(planned) => planned,
        Err(failure) => {
            report_failure(&failure);
            return ExitCode::FAILURE;
        }
    };
    report_problems(&project);
    if let Some(path) = &args.plan {
        let saved = std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|text| plan_json::parse(&text));
        let checked = match saved {
            Ok(saved) => apply::check_saved_plan(&saved, &plan, &desired),
            Err(reason) => Err(ApplyError::InvalidPlanFile {
                path: path.display().to_string(),
                reason,
            }),
        };
        if let Err(error) = checked {
            report(&error);
            return ExitCode::FAILURE;
        }
    }
    let color = TextStyle::for_stream(std::io::stdout().is_terminal()).color;
    if !print_stdout(&plan_text::render(&plan, color)) {
        return ExitCode::FAILURE;
    }
    if !plan.has_changes() {
        return ExitCode::SUCCESS;
    }
    if let Err(error) = apply::guard_breaking(&plan, &allow_destroy(&args.allow_destroy)) {
        report(&error);
        return ExitCode::FAILURE;
    }
    if args.plan.is_none() && !args.auto_approve {
        let error = if std::io::stdin().is_terminal() {
            if confirm() {
                None
            } else {
                Some(ApplyError::Cancelled)
            }
        } else {
            Some(ApplyError::NeedsApproval)
        };
        if let Some(error) = error {
            report(&error);
            return ExitCode::FAILURE;
        }
    }
    // Slows each change down, so that tests can interrupt an apply midway.
    let pause = std::env::var("TOKENPLAN_TEST_APPLY_PAUSE_MS")
        .ok()
        .and_then(|ms| ms.parse::<u64>().ok())
        .map(std::time::Duration::from_millis);
    let mut on_event = |event: ApplyEvent<'_>| {
        if let ApplyEvent::Done { change, .. } = event {
            let done = match change.action {
                Action::Create => "created",
                Action::Update => "updated",
                Action::Delete => "destroyed",
            };
            print_stdout(&format!("token \"{}\": {done}\n", change.name));
        }
        if let (ApplyEvent::Starting { .. }, Some(pause)) = (event, pause) {
            std::thread::sleep(pause);
        }
    };
    print_stdout("\n");
    match apply::execute(workspace.as_mut(), &plan, &mut on_event) {
        Ok(report) => {
            print_stdout(&format!(
                "\nApply complete! Tokens: {} added, {} changed, {} destroyed.\n",
                report.added, report.changed, report.destroyed
            ));
            if args.detailed_exitcode {
                ExitCode::from(CHANGES)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(error) => {
            report(&error);
            ExitCode::FAILURE
        }
    }
}

pub(super) fn run_force_unlock(args: ForceUnlockArgs) -> ExitCode {
    let state = args
        .state
        .clone()
        .unwrap_or_else(|| args.path.join(crate::workspace::state::DEFAULT_STATE_PATH));
    match StateLock::force_unlock(&state) {
        Ok(Some(holder)) => {
            println!("Removed the lock left by {holder}.");
            ExitCode::SUCCESS
        }
        Ok(None) => {
            println!("The workspace at {} is not locked.", state.display());
            ExitCode::SUCCESS
        }
        Err(error) => {
            report(&error);
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_destroy_values() {
        assert_eq!(allow_destroy(&[]), AllowDestroy::Nothing);
        assert_eq!(allow_destroy(&["".into()]), AllowDestroy::All);
        assert!(allow_destroy(&["a".into()]).allows("a"));
        assert!(!allow_destroy(&["a".into()]).allows("b"));
    }
}
