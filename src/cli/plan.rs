//! `tokenplan plan`, `tokenplan apply` and `tokenplan force-unlock`.

use std::collections::BTreeSet;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use super::{DeployArgs, SecretArgs, WorkspaceArgs, deploy_config, print_stdout};
use crate::apply::{self, AllowDestroy, ApplyError, ApplyEvent};
use crate::plan::{Action, PlanFailure, Planned, make_plan};
use crate::project::Project;
use crate::render::diagnostics;
use crate::render::github::{self, Annotation, Place};
use crate::render::markdown::{self, COMMENT_BUDGET};
use crate::render::{TextStyle, plan_json, plan_text};
use crate::workspace::state::{StateLock, write_atomically};
use crate::workspace::{Workspace, WorkspaceError};

/// Exit code for "changes present" with `--detailed-exitcode`.
const CHANGES: u8 = 2;

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
    /// Print only errors and the final line.
    #[arg(long, short)]
    quiet: bool,
    #[command(flatten)]
    workspace: WorkspaceArgs,
    #[command(flatten)]
    secrets: SecretArgs,
    #[command(flatten)]
    deploy: DeployArgs,
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
    eprint!("{}", diagnostics::render_standalone(error, stderr_style()));
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
                    Some(file) => eprintln!(
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

/// Opens the workspace, takes its write lock when `lock_for` names the command that writes, and
/// plans. Every failure is reported on stderr, and handed to `for_ci` for the formats pipelines
/// read; warnings of the project are reported too.
fn open_and_plan(
    workspace_args: &WorkspaceArgs,
    path: &std::path::Path,
    secrets: &SecretArgs,
    deploy: &DeployArgs,
    lock_for: Option<&str>,
    for_ci: &dyn Fn(&[ErrorEntry]),
) -> Result<(Box<dyn Workspace>, Planned), ()> {
    let opened = open_workspace(workspace_args, path).and_then(|mut workspace| {
        if let Some(command) = lock_for {
            workspace.lock(command)?;
        }
        Ok(workspace)
    });
    let mut workspace = opened.map_err(|error| {
        report(&error);
        for_ci(&[ErrorEntry::without_place(&error)]);
    })?;
    let config = deploy_config(path, secrets, deploy);
    match make_plan(&config, workspace.as_mut()) {
        Ok(planned) => {
            report_problems(&planned.project);
            Ok((workspace, planned))
        }
        Err(failure) => {
            report_failure(&failure);
            for_ci(&failure_errors(&failure));
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

/// An error for CI outputs (annotations, comment bodies).
struct ErrorEntry {
    path: Option<String>,
    start: crate::source::LineColumn,
    end: crate::source::LineColumn,
    code: String,
    message: String,
    help: Option<String>,
}

impl ErrorEntry {
    fn without_place(error: &dyn miette::Diagnostic) -> Self {
        let origin = crate::source::LineColumn { line: 1, column: 1 };
        ErrorEntry {
            path: None,
            start: origin,
            end: origin,
            code: error.code().map(|c| c.to_string()).unwrap_or_default(),
            message: crate::project::message_with_causes(error),
            help: error.help().map(|h| h.to_string()),
        }
    }

    fn in_file(
        file: &crate::project::ProjectFile,
        error: &dyn miette::Diagnostic,
        span: Option<crate::source::Span>,
    ) -> Self {
        let mut entry = ErrorEntry::without_place(error);
        entry.path = Some(file.path.clone());
        if let Some(span) = span {
            entry.start = file.position(span.start);
            entry.end = file.position(span.end);
        }
        entry
    }
}

fn failure_errors(failure: &PlanFailure) -> Vec<ErrorEntry> {
    match failure {
        PlanFailure::Project(error) => vec![ErrorEntry::without_place(error)],
        PlanFailure::Workspace(error) => vec![ErrorEntry::without_place(error)],
        PlanFailure::Invalid(project) => project
            .problems
            .iter()
            .filter(|p| p.is_error())
            .map(|p| ErrorEntry::without_place(p))
            .chain(project.files.iter().flat_map(|file| {
                file.problems
                    .iter()
                    .filter(|p| p.is_error())
                    .map(move |p| ErrorEntry::in_file(file, p, p.span()))
            }))
            .collect(),
        PlanFailure::Unmanaged(project, errors) => errors
            .iter()
            .map(
                |error| match project.files.iter().find(|f| f.path == error.path) {
                    Some(file) => ErrorEntry::in_file(file, error, Some(error.span)),
                    None => ErrorEntry::without_place(error),
                },
            )
            .collect(),
    }
}

/// With `--format markdown` or `github`, a failed plan still prints something a pipeline can
/// post: the errors as a comment body, or as `::error` annotations.
fn print_failure_for_ci(args: &PlanArgs, errors: &[ErrorEntry]) {
    let listed = |budget: usize| {
        let items: Vec<(String, usize, String)> = errors
            .iter()
            .map(|e| {
                (
                    e.path.clone().unwrap_or_default(),
                    e.start.line,
                    e.message.clone(),
                )
            })
            .collect();
        markdown::render_errors(&items, budget)
    };
    match args.format {
        PlanFormat::Text | PlanFormat::Json => {}
        PlanFormat::Markdown => {
            print_stdout(&listed(COMMENT_BUDGET));
        }
        PlanFormat::Github => {
            append_step_summary(listed);
            let prefix = args.path.to_string_lossy();
            let annotations: Vec<Annotation> = errors
                .iter()
                .map(|e| Annotation {
                    place: e.path.as_ref().map(|path| Place {
                        file: github::repository_path(&prefix, path),
                        line: e.start.line,
                        column: Some(e.start.column),
                        end_line: Some(e.end.line),
                        end_column: Some(e.end.column),
                    }),
                    title: e.code.clone(),
                    message: match &e.help {
                        Some(help) => format!("{}\nhelp: {help}", e.message),
                        None => e.message.clone(),
                    },
                })
                .collect();
            print_stdout(&github::commands("error", "errors", &annotations));
        }
    }
}

/// GitHub's limit for one step summary.
const STEP_SUMMARY_LIMIT: u64 = 1024 * 1024;

/// Appends a markdown body to `$GITHUB_STEP_SUMMARY` when it is set, keeping the file under
/// GitHub's 1 MiB: the body gets whatever room is left, up to the comment budget.
fn append_step_summary(body: impl FnOnce(usize) -> String) {
    let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) else {
        return;
    };
    let used = std::fs::metadata(&path).map_or(0, |m| m.len());
    let room = STEP_SUMMARY_LIMIT.saturating_sub(used).saturating_sub(1) as usize;
    let budget = room.min(COMMENT_BUDGET);
    if budget < 500 {
        eprintln!("tokenplan: the step summary is full; the plan was not added to it");
        return;
    }
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
            std::path::Path::new(&path).display()
        );
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
    let command = format!("tokenplan apply {}", args.path.display());
    let planned = open_and_plan(
        &args.workspace,
        &args.path,
        &args.secrets,
        &args.deploy,
        Some(&command),
        &|_| {},
    );
    let Ok((mut workspace, Planned { desired, plan, .. })) = planned else {
        return ExitCode::FAILURE;
    };
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
    if !args.quiet && !print_stdout(&plan_text::render(&plan, color)) {
        return ExitCode::FAILURE;
    }
    if !plan.has_changes() {
        if args.quiet {
            print_stdout("No changes. The workspace matches the datafiles.\n");
        }
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
    let mut progress = Progress::new(plan.changes.len(), args.quiet);
    let mut on_event = |event: ApplyEvent<'_>| {
        progress.event(event);
        if let (ApplyEvent::Starting { .. }, Some(pause)) = (event, pause) {
            std::thread::sleep(pause);
        }
    };
    let result = apply::execute(workspace.as_mut(), &plan, &mut on_event);
    progress.finish();
    match result {
        Ok(report) => {
            let blank = if args.quiet { "" } else { "\n" };
            print_stdout(&format!(
                "{blank}Apply complete! Tokens: {} added, {} changed, {} destroyed.\n",
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

/// Changes above which a terminal gets a progress bar instead of a line per change.
const PROGRESS_BAR_ABOVE: usize = 5;

/// How an apply shows its progress: a bar on a terminal for more than a few changes, a line per
/// change otherwise, nothing with `--quiet`.
enum Progress {
    Quiet,
    Lines { started: bool },
    Bar(indicatif::ProgressBar),
}

impl Progress {
    fn new(total: usize, quiet: bool) -> Self {
        if quiet {
            Progress::Quiet
        } else if total > PROGRESS_BAR_ABOVE && std::io::stderr().is_terminal() {
            let bar = indicatif::ProgressBar::new(total as u64);
            let style =
                indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} tokens {msg}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
            bar.set_style(style);
            Progress::Bar(bar)
        } else {
            Progress::Lines { started: false }
        }
    }

    fn event(&mut self, event: ApplyEvent<'_>) {
        match (self, event) {
            (Progress::Quiet, _) => {}
            (Progress::Lines { started }, ApplyEvent::Done { change, .. }) => {
                if !*started {
                    print_stdout("\n");
                    *started = true;
                }
                print_stdout(&format!(
                    "token \"{}\": {}\n",
                    change.name,
                    done_word(change.action)
                ));
            }
            (Progress::Lines { .. }, ApplyEvent::Starting { .. }) => {}
            (Progress::Bar(bar), ApplyEvent::Starting { change, .. }) => {
                bar.set_message(format!("{} {}", symbol_word(change.action), change.name));
            }
            (Progress::Bar(bar), ApplyEvent::Done { .. }) => bar.inc(1),
        }
    }

    fn finish(&mut self) {
        if let Progress::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }
}

fn done_word(action: Action) -> &'static str {
    match action {
        Action::Create => "created",
        Action::Update => "updated",
        Action::Delete => "destroyed",
    }
}

fn symbol_word(action: Action) -> &'static str {
    match action {
        Action::Create => "creating",
        Action::Update => "updating",
        Action::Delete => "destroying",
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
