//! `tokenplan plan`, and the planning that `apply` shares with it: opening the workspace,
//! reporting why no plan could be made, and the outputs pipelines read.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::{
    CHANGES, DeployArgs, SdkArgs, SecretArgs, WorkspaceArgs, deploy_config, pr_comment,
    print_stdout, report,
};
use crate::apply::AllowDestroy;
use crate::plan::{PlanFailure, Planned, make_plan};
use crate::project::Project;
use crate::render::ci::{self, failure_reports};
use crate::render::diagnostics::{self, DiagnosticReport};
use crate::render::markdown::{self, COMMENT_BUDGET};
use crate::render::{TextStyle, github, plan_json, plan_text};
use crate::text::escape_controls;
use crate::workspace::state::{StateLock, write_atomically};
use crate::workspace::{Workspace, WorkspaceError};

/// How a plan is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum PlanFormat {
    /// For people, Terraform style.
    Text,
    /// One JSON document (the same as `--out` saves); when no plan can be made, one listing the
    /// errors.
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
    /// In a pull-request run of GitHub Actions, keep one comment with the plan up to date on the
    /// pull request (needs GITHUB_TOKEN with `pull-requests: write`).
    #[arg(long)]
    github_comment: bool,
    /// With --github-comment, label the pull request tokenplan:breaking, tokenplan:changes or
    /// tokenplan:no-changes.
    #[arg(long, requires = "github_comment")]
    github_labels: bool,
    #[command(flatten)]
    workspace: WorkspaceArgs,
    #[command(flatten)]
    secrets: SecretArgs,
    #[command(flatten)]
    deploy: DeployArgs,
    #[command(flatten)]
    sdk: SdkArgs,
}

impl PlanArgs {
    fn comment_flags(&self) -> pr_comment::CommentFlags {
        pr_comment::CommentFlags {
            comment: self.github_comment,
            labels: self.github_labels,
        }
    }
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

/// `writes`: the command changes the workspace (apply), so `--local` creates it when missing.
fn open_workspace(
    workspace: &WorkspaceArgs,
    path: &Path,
    writes: bool,
) -> Result<Box<dyn Workspace>, WorkspaceError> {
    workspace
        .config(path, writes)?
        .open(&workspace.unlock_command(path))
}

/// Takes the workspace's write lock. A lock left by a process that died on this host is taken
/// over, as `local start` does: every writer records each change before the next, so what a dead
/// one left is a valid state, and a plan made from it finishes the job. A lock from another host
/// cannot be judged from here and stays stale.
fn lock(workspace: &mut dyn Workspace, command: &str, state: &Path) -> Result<(), WorkspaceError> {
    match workspace.lock(command) {
        Err(WorkspaceError::StaleLock { holder, .. }) if holder.is_dead_on_this_host() => {
            StateLock::force_unlock(state)?;
            workspace.lock(command)?;
            let line = format!("Took over the lock left by {holder}, which is no longer running.");
            eprintln!("{}", escape_controls(&line));
            Ok(())
        }
        locked => locked,
    }
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
    let opened =
        open_workspace(workspace_args, path, lock_for.is_some()).and_then(|mut workspace| {
            if let Some(command) = lock_for {
                lock(
                    workspace.as_mut(),
                    command,
                    &workspace_args.state_path(path),
                )?;
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
            &AllowDestroy::Nothing,
        ),
        PlanFormat::Json => json,
        PlanFormat::Markdown => markdown::render(&plan, &desired, COMMENT_BUDGET),
        PlanFormat::Github => {
            append_step_summary(|budget| markdown::render(&plan, &desired, budget));
            // The project folder may be another than PATH (tinybird.json's `folder`).
            github::render_plan(&plan, &project, repository_prefix(&project.root).as_deref())
        }
    };
    if !print_stdout(&output)
        || !pr_comment::comment_plan(args.comment_flags(), &args.path, &plan, &desired)
    {
        return ExitCode::FAILURE;
    }
    if args.detailed_exitcode && plan.has_changes() {
        ExitCode::from(CHANGES)
    } else {
        ExitCode::SUCCESS
    }
}

/// With `--format json`, `markdown` or `github`, a failed plan still prints something a
/// pipeline can read or post: the errors as a JSON document, a comment body, or `::error`
/// annotations.
fn print_failure_for_ci(args: &PlanArgs, errors: &[DiagnosticReport]) {
    pr_comment::comment_failure(args.comment_flags(), &args.path, errors);
    match args.format {
        PlanFormat::Text => {}
        PlanFormat::Json => {
            print_stdout(&plan_json::render_errors(errors));
        }
        PlanFormat::Markdown => {
            print_stdout(&markdown::render_errors(
                &args.path.to_string_lossy(),
                errors,
                COMMENT_BUDGET,
            ));
        }
        PlanFormat::Github => {
            append_step_summary(|budget| {
                markdown::render_errors(&args.path.to_string_lossy(), errors, budget)
            });
            let prefix = repository_prefix(&args.path);
            print_stdout(&github::render_errors(errors, prefix.as_deref()));
        }
    }
}

/// The project folder from the repository root, which is where GitHub places annotations: the
/// root is `GITHUB_WORKSPACE` when set, else the nearest folder from PATH up that holds `.git`,
/// else the current folder. `None` when PATH is outside it (or cannot be resolved).
fn repository_prefix(path: &Path) -> Option<String> {
    let project = std::fs::canonicalize(path).ok()?;
    let root = match std::env::var_os("GITHUB_WORKSPACE").filter(|v| !v.is_empty()) {
        Some(root) => PathBuf::from(root),
        None => match project.ancestors().find(|dir| dir.join(".git").exists()) {
            Some(root) => root.to_path_buf(),
            None => std::env::current_dir().ok()?,
        },
    };
    let root = std::fs::canonicalize(&root).unwrap_or(root);
    github::repository_prefix(&project, &root)
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
