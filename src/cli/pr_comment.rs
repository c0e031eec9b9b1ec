//! `plan --github-comment` and `--github-labels`: the markdown body of the plan (or of why there
//! is none) kept as one comment per project path on the pull request of a GitHub Actions run.

use std::path::Path;

use super::report;
use crate::desired::DesiredSet;
use crate::github::comment::{self, Outcome, Verdict};
use crate::github::{Context, api::Client};
use crate::plan::Plan;
use crate::render::diagnostics::DiagnosticReport;
use crate::render::markdown::{self, COMMENT_BUDGET};

/// The flags, as `plan` was given them.
#[derive(Debug, Clone, Copy)]
pub(super) struct CommentFlags {
    pub(super) comment: bool,
    pub(super) labels: bool,
}

/// Comments the plan of the project at `path`. False when the comment could not be posted (the
/// reason reported on stderr).
pub(super) fn comment_plan(
    flags: CommentFlags,
    path: &Path,
    plan: &Plan,
    desired: &DesiredSet,
) -> bool {
    let verdict = if plan.breaking().next().is_some() {
        Verdict::Breaking
    } else if plan.has_changes() {
        Verdict::Changes
    } else {
        Verdict::NoChanges
    };
    publish(flags, path, verdict, |budget| {
        markdown::render(plan, desired, budget)
    })
}

/// Comments why the project at `path` could not be planned.
pub(super) fn comment_failure(flags: CommentFlags, path: &Path, errors: &[DiagnosticReport]) {
    let project = path.to_string_lossy();
    publish(flags, path, Verdict::Failed, |budget| {
        markdown::render_errors(&project, errors, budget)
    });
}

fn publish(
    flags: CommentFlags,
    path: &Path,
    verdict: Verdict,
    body: impl FnOnce(usize) -> String,
) -> bool {
    if !flags.comment {
        return true;
    }
    let pull = match Context::from_env(|name| std::env::var(name).ok()) {
        Ok(Context::PullRequest(pull)) => pull,
        Ok(Context::Other(event)) => {
            eprintln!(
                "note: --github-comment does nothing outside a pull-request run of GitHub Actions (GITHUB_EVENT_NAME is {})",
                event.map_or("not set".to_owned(), |e| format!("`{e}`"))
            );
            return true;
        }
        Err(error) => {
            report(&error);
            return false;
        }
    };
    let project = path.to_string_lossy();
    let markdown = body(COMMENT_BUDGET.saturating_sub(comment::overhead(&project)));
    let published = Client::new(&pull).and_then(|client| {
        let published = comment::publish(&client, &project, verdict, &markdown)?;
        let label = if flags.labels {
            comment::sync_labels(&client, &published.verdicts)?
        } else {
            None
        };
        Ok((published.outcome, label))
    });
    let number = pull.number;
    match published {
        Ok((outcome, label)) => {
            match outcome {
                Outcome::Created { url } => {
                    eprintln!("Commented the plan on pull request #{number}: {url}");
                }
                Outcome::Updated { url } => {
                    eprintln!("Updated the plan comment on pull request #{number}: {url}");
                }
                Outcome::Unchanged { url } => {
                    eprintln!("The plan comment on pull request #{number} is up to date: {url}");
                }
                Outcome::Skipped => eprintln!(
                    "No changes and no earlier comment: nothing posted on pull request #{number}."
                ),
            }
            if let Some(label) = label {
                eprintln!("Labelled pull request #{number} {label}.");
            }
            true
        }
        Err(error) => {
            report(&error);
            false
        }
    }
}
