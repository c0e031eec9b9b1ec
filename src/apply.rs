//! Carrying a plan out: the destroy guard, the check that a saved plan still holds, and the
//! changes themselves, one at a time: on the embedded workspace all in one transaction, on a
//! remote one each recorded by the workspace before the next starts.

use std::collections::BTreeSet;

use miette::Diagnostic;
use thiserror::Error;

use crate::desired::DesiredSet;
use crate::plan::describe::{allow_destroy_advice, name_list, scopes_text};
use crate::plan::saved::{SavedPlan, SavedPlanError};
use crate::plan::{Action, Change, Plan};
use crate::scope::Scopes;
use crate::workspace::{TokenKind, Workspace, WorkspaceError};

/// Which breaking changes the user allowed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) enum AllowDestroy {
    #[default]
    Nothing,
    /// All of them (`--allow-destroy`).
    All,
    /// These tokens (`--allow-destroy=NAME`, repeated).
    Names(BTreeSet<String>),
}

impl AllowDestroy {
    /// True when a breaking change to `name` is allowed.
    pub(crate) fn allows(&self, name: &str) -> bool {
        match self {
            AllowDestroy::Nothing => false,
            AllowDestroy::All => true,
            AllowDestroy::Names(names) => names.contains(name),
        }
    }
}

/// Why an apply did not happen or stopped.
#[derive(Debug, Error, Diagnostic)]
pub(crate) enum ApplyError {
    /// The saved plan no longer matches the datafiles or the workspace.
    #[error("the saved plan is stale:\n  - {}", reasons.join("\n  - "))]
    #[diagnostic(
        code(tokenplan::apply::stale_plan),
        help("make a new plan with `tokenplan plan --out FILE`, review it, and apply that")
    )]
    StalePlan {
        /// What moved, one line each.
        reasons: Vec<String>,
    },

    /// The saved plan file cannot be used.
    #[error("cannot use the plan file {path}: {source}")]
    #[diagnostic(
        code(tokenplan::apply::invalid_plan_file),
        help("pass a file written by `tokenplan plan --out FILE`")
    )]
    InvalidPlanFile {
        path: String,
        #[source]
        source: SavedPlanError,
    },

    /// Breaking changes not covered by `--allow-destroy`.
    #[error(
        "the plan has breaking changes that were not allowed: {}",
        name_list(.names.iter().map(String::as_str))
    )]
    #[diagnostic(
        code(tokenplan::apply::destroy_not_allowed),
        help("apps holding these tokens would lose access; if that is intended, {advice}")
    )]
    DestroyNotAllowed {
        /// The tokens, by name.
        names: Vec<String>,
        /// The flags that would allow them.
        advice: String,
    },

    /// Confirmation was needed and there is no terminal to ask on.
    #[error("apply needs confirmation, and there is no terminal to ask on")]
    #[diagnostic(
        code(tokenplan::apply::needs_approval),
        help(
            "review the plan and pass --auto-approve, or apply a saved plan with --plan FILE --auto-approve"
        )
    )]
    NeedsApproval,

    /// The user did not confirm.
    #[error("apply cancelled: nothing was changed")]
    #[diagnostic(code(tokenplan::apply::cancelled))]
    Cancelled,

    /// A token is not as the plan expected: somebody changed the workspace meanwhile.
    #[error(
        "token `{name}` changed since the plan was made (expected {expected}, found {found}); stopped after {done} of {total} changes"
    )]
    #[diagnostic(
        code(tokenplan::apply::concurrent_change),
        help("the changes before it were applied; run `tokenplan plan` again to see what is left")
    )]
    ConcurrentChange {
        name: String,
        /// Its scopes as planned, or "no token".
        expected: String,
        /// Its scopes now, or "no token".
        found: String,
        /// Changes applied before stopping.
        done: usize,
        /// Changes in the plan.
        total: usize,
    },

    /// The workspace refused or failed a change.
    #[error("could not {action} token `{name}`; stopped after {done} of {total} changes")]
    #[diagnostic(
        code(tokenplan::apply::change_failed),
        help(
            "the changes before it were applied; fix the cause and run apply again: it continues from where it stopped"
        )
    )]
    ChangeFailed {
        /// create, update or delete.
        action: &'static str,
        name: String,
        /// Changes applied before stopping.
        done: usize,
        /// Changes in the plan.
        total: usize,
        #[source]
        #[diagnostic_source]
        source: WorkspaceError,
    },

    /// The embedded workspace failed a change, or recording them: its apply is one transaction,
    /// so nothing was applied.
    #[error(
        "could not {action}; nothing was applied: the {total} changes are one transaction, rolled back"
    )]
    #[diagnostic(
        code(tokenplan::apply::rolled_back),
        help("the workspace is as it was before this apply; fix the cause and run apply again")
    )]
    RolledBack {
        /// What failed: `create token `x``, `commit the changes`...
        action: String,
        /// Changes in the plan.
        total: usize,
        #[source]
        #[diagnostic_source]
        source: WorkspaceError,
    },
}

/// The counts of a finished apply.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ApplyReport {
    /// Tokens created.
    pub(crate) added: usize,
    /// Tokens updated.
    pub(crate) changed: usize,
    /// Tokens destroyed.
    pub(crate) destroyed: usize,
}

/// Progress of an apply, for whoever shows it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ApplyEvent<'a> {
    /// A change is about to be made.
    Starting { change: &'a Change },
    /// A change was made (and recorded, or part of the batch recorded at the end).
    Done { change: &'a Change },
}

/// Refuses when a breaking change is not allowed.
pub(crate) fn guard_breaking(plan: &Plan, allow: &AllowDestroy) -> Result<(), ApplyError> {
    let names: Vec<String> = plan
        .breaking()
        .filter(|c| !allow.allows(&c.name))
        .map(|c| c.name.clone())
        .collect();
    if names.is_empty() {
        Ok(())
    } else {
        let advice = allow_destroy_advice(&names.iter().map(String::as_str).collect::<Vec<_>>());
        Err(ApplyError::DestroyNotAllowed { names, advice })
    }
}

/// Refuses a saved plan that is no longer the plan one would make now, saying what moved.
pub(crate) fn check_saved_plan(
    saved: &SavedPlan,
    current: &Plan,
    desired: &DesiredSet,
) -> Result<(), ApplyError> {
    let reasons = saved.stale_reasons(current, desired);
    if reasons.is_empty() {
        Ok(())
    } else {
        Err(ApplyError::StalePlan { reasons })
    }
}

/// The order changes are made in: creates first, so that a renamed token exists before the old
/// one goes; then updates; destroys last. By name within each.
pub(crate) fn execution_order(plan: &Plan) -> Vec<&Change> {
    let mut order: Vec<&Change> = plan.changes.iter().collect();
    order.sort_by_key(|c| {
        let rank = match c.action {
            Action::Create => 0,
            Action::Update => 1,
            Action::Delete => 2,
        };
        (rank, c.name.as_str())
    });
    order
}

/// Makes the plan's changes. Before each one the token is read again and must be as planned.
///
/// A workspace that records changes in a batch (the embedded one) gets them all in one
/// transaction: committed at the end, or rolled back on any failure, and forgotten by a crash, so
/// an interrupted apply leaves the workspace as it was. Elsewhere each change is recorded before
/// the next starts, so an interrupted apply leaves a valid workspace; either way running it again
/// finishes the job.
pub(crate) fn execute(
    workspace: &mut dyn Workspace,
    plan: &Plan,
    on_event: &mut dyn FnMut(ApplyEvent<'_>),
) -> Result<ApplyReport, ApplyError> {
    let order = execution_order(plan);
    let total = order.len();
    let rolled_back = |action: String, source| ApplyError::RolledBack {
        action,
        total,
        source,
    };
    let batch = workspace
        .begin_batch()
        .map_err(|source| rolled_back("start the transaction".into(), source))?;
    let result = execute_in_order(workspace, &order, on_event);
    if !batch {
        return result;
    }
    match result {
        Ok(report) => match workspace.commit_batch() {
            Ok(()) => Ok(report),
            Err(source) => Err(rolled_back(format!("commit the {total} changes"), source)),
        },
        Err(error) => {
            workspace.rollback_batch();
            Err(match error {
                ApplyError::ChangeFailed {
                    action,
                    name,
                    source,
                    ..
                } => rolled_back(format!("{action} token `{name}`"), source),
                ApplyError::ConcurrentChange {
                    name,
                    expected,
                    found,
                    total,
                    ..
                } => ApplyError::ConcurrentChange {
                    name,
                    expected,
                    found,
                    done: 0,
                    total,
                },
                other => other,
            })
        }
    }
}

fn execute_in_order(
    workspace: &mut dyn Workspace,
    order: &[&Change],
    on_event: &mut dyn FnMut(ApplyEvent<'_>),
) -> Result<ApplyReport, ApplyError> {
    let total = order.len();
    let mut report = ApplyReport::default();
    for (index, &change) in order.iter().enumerate() {
        on_event(ApplyEvent::Starting { change });
        let failed = |source| ApplyError::ChangeFailed {
            action: change.action.as_str(),
            name: change.name.clone(),
            done: index,
            total,
            source,
        };
        let current = workspace.get(&change.name).map_err(failed)?;
        let expected = match change.action {
            Action::Create => None,
            Action::Update | Action::Delete => Some(&change.scopes_before),
        };
        let found = current.as_ref().map(|t| &t.scopes);
        if found != expected {
            let describe = |s: Option<&Scopes>| s.map_or("no token".into(), scopes_text);
            return Err(ApplyError::ConcurrentChange {
                name: change.name.clone(),
                expected: describe(expected),
                found: describe(found),
                done: index,
                total,
            });
        }
        let result = match change.action {
            Action::Create => workspace
                .create(&change.name, &change.scopes_after, TokenKind::Resource, "")
                .map(|_| report.added += 1),
            Action::Update => workspace
                .replace_scopes(&change.name, &change.scopes_after)
                .map(|_| report.changed += 1),
            Action::Delete => workspace
                .delete(&change.name)
                .map(|()| report.destroyed += 1),
        };
        result.map_err(failed)?;
        on_event(ApplyEvent::Done { change });
    }
    Ok(report)
}
