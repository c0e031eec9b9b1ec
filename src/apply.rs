//! Carrying a plan out: the destroy guard, the check that a saved plan still holds, and the
//! changes themselves, one at a time, each recorded by the workspace before the next starts.

use std::collections::{BTreeMap, BTreeSet};

use miette::Diagnostic;
use thiserror::Error;

use crate::desired::DesiredSet;
use crate::plan::{Action, Change, Plan};
use crate::render::plan_json::SavedPlan;
use crate::render::plan_text::sources_text;
use crate::workspace::{TokenKind, Workspace, WorkspaceError};

/// Which breaking changes the user allowed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum AllowDestroy {
    /// None.
    #[default]
    Nothing,
    /// All of them (`--allow-destroy`).
    All,
    /// These tokens (`--allow-destroy NAME`, repeated).
    Names(BTreeSet<String>),
}

impl AllowDestroy {
    /// True when a breaking change to `name` is allowed.
    pub fn allows(&self, name: &str) -> bool {
        match self {
            AllowDestroy::Nothing => false,
            AllowDestroy::All => true,
            AllowDestroy::Names(names) => names.contains(name),
        }
    }
}

/// Why an apply did not happen or stopped.
#[derive(Debug, Error, Diagnostic)]
pub enum ApplyError {
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
    #[error("cannot use the plan file {path}: {reason}")]
    #[diagnostic(
        code(tokenplan::apply::invalid_plan_file),
        help("pass a file written by `tokenplan plan --out FILE`")
    )]
    InvalidPlanFile {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },

    /// Breaking changes not covered by `--allow-destroy`.
    #[error("the plan has breaking changes that were not allowed: {}", names.join(", "))]
    #[diagnostic(
        code(tokenplan::apply::destroy_not_allowed),
        help(
            "apps holding these tokens would lose access; if that is intended, pass --allow-destroy NAME for each, or --allow-destroy for all"
        )
    )]
    DestroyNotAllowed {
        /// The tokens.
        names: Vec<String>,
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
        /// The token.
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
        /// The token.
        name: String,
        /// Changes applied before stopping.
        done: usize,
        /// Changes in the plan.
        total: usize,
        /// The workspace's error.
        #[source]
        #[diagnostic_source]
        source: WorkspaceError,
    },
}

/// The counts of a finished apply.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApplyReport {
    /// Tokens created.
    pub added: usize,
    /// Tokens updated.
    pub changed: usize,
    /// Tokens destroyed.
    pub destroyed: usize,
}

/// Progress of an apply, for whoever shows it.
#[derive(Debug, Clone, Copy)]
pub enum ApplyEvent<'a> {
    /// A change is about to be made.
    Starting {
        /// The change.
        change: &'a Change,
        /// 0-based position.
        index: usize,
        /// Number of changes.
        total: usize,
    },
    /// A change was made and recorded.
    Done {
        /// The change.
        change: &'a Change,
        /// 0-based position.
        index: usize,
        /// Number of changes.
        total: usize,
    },
}

/// Refuses when a breaking change is not allowed.
pub fn guard_breaking(plan: &Plan, allow: &AllowDestroy) -> Result<(), ApplyError> {
    let names: Vec<String> = plan
        .breaking()
        .filter(|c| !allow.allows(&c.name))
        .map(|c| c.name.clone())
        .collect();
    if names.is_empty() {
        Ok(())
    } else {
        Err(ApplyError::DestroyNotAllowed { names })
    }
}

fn scopes_text(scopes: &[String]) -> String {
    if scopes.is_empty() {
        "no scopes".into()
    } else {
        scopes.join(", ")
    }
}

/// Checks that a saved plan is the plan one would make now, and says what moved if not: which
/// tokens, which files, which serial.
pub fn check_saved_plan(
    saved: &SavedPlan,
    current: &Plan,
    desired: &DesiredSet,
) -> Result<(), ApplyError> {
    let mut reasons = Vec::new();
    if saved.workspace.kind != current.workspace.kind {
        reasons.push(format!(
            "the plan was made against a {} workspace, this is a {} one",
            saved.workspace.kind, current.workspace.kind
        ));
    }
    if let (Some(then), Some(now)) = (&saved.workspace.lineage, &current.workspace.lineage)
        && then != now
    {
        reasons.push(format!(
            "the state file was replaced by another workspace (lineage {then}, now {now})"
        ));
    }
    let saved_changes: BTreeMap<&str, &crate::render::plan_json::SavedChange> =
        saved.changes.iter().map(|c| (c.name.as_str(), c)).collect();
    let current_changes: BTreeMap<&str, &Change> = current
        .changes
        .iter()
        .map(|c| (c.name.as_str(), c))
        .collect();
    let names: BTreeSet<&str> = saved_changes
        .keys()
        .chain(current_changes.keys())
        .copied()
        .collect();

    if saved.desired_hash != current.desired_hash {
        let mut named = false;
        for name in &names {
            let planned = saved_changes.get(name).map(|c| c.scopes_after.as_slice());
            let now = current_changes.get(name).map(|c| c.scopes_after.as_slice());
            let (Some(planned), Some(now)) = (planned, now) else {
                continue;
            };
            if planned != now {
                named = true;
                reasons.push(format!(
                    "token `{name}` is declared differently: planned {}, now {}{}",
                    scopes_text(planned),
                    scopes_text(now),
                    declared_in(desired, name)
                ));
            }
        }
        for name in &names {
            let reason = match (saved_changes.get(name), current_changes.get(name)) {
                (Some(then), None) => {
                    let action = then.actions.first().map_or("changed", |a| past(*a));
                    format!("token `{name}` was to be {action}, now it needs no change")
                }
                (None, Some(now)) => format!(
                    "token `{name}` needed no change, now it would be {}",
                    past(now.action)
                ),
                _ => continue,
            };
            named = true;
            reasons.push(format!("{reason}{}", declared_in(desired, name)));
        }
        if !named {
            reasons.push("the TOKEN directives changed since the plan was made".into());
        }
    }
    if saved.workspace.fingerprint != current.workspace.fingerprint {
        let serial = match (saved.workspace.serial, current.workspace.serial) {
            (Some(then), Some(now)) if then != now => format!(" (state serial {then}, now {now})"),
            _ => String::new(),
        };
        reasons.push(format!(
            "the workspace's tokens changed since the plan was made{serial}"
        ));
        for name in &names {
            let (Some(planned), Some(now)) = (saved_changes.get(name), current_changes.get(name))
            else {
                continue;
            };
            if planned.scopes_before != now.scopes_before {
                reasons.push(format!(
                    "token `{name}` had {} in the workspace, now {}",
                    scopes_text(&planned.scopes_before),
                    scopes_text(&now.scopes_before)
                ));
            }
        }
    }
    if reasons.is_empty() {
        // Same hashes: the plans are the same.
        Ok(())
    } else {
        Err(ApplyError::StalePlan { reasons })
    }
}

fn past(action: Action) -> &'static str {
    match action {
        Action::Create => "created",
        Action::Update => "updated",
        Action::Delete => "destroyed",
    }
}

fn declared_in(desired: &DesiredSet, name: &str) -> String {
    match desired.tokens.get(name) {
        Some(token) => {
            let sources: Vec<_> = token.sources().cloned().collect();
            format!(" (declared in {})", sources_text(&sources))
        }
        None => " (no TOKEN directive declares it now)".into(),
    }
}

/// The order changes are made in: creates first, so that a renamed token exists before the old
/// one goes; then updates; destroys last. By name within each.
pub fn execution_order(plan: &Plan) -> Vec<&Change> {
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

/// Makes the plan's changes. Before each one the token is read again and must be as planned;
/// each change is recorded by the workspace before the next starts, so an interrupted apply
/// leaves a valid workspace and running it again finishes the job.
pub fn execute(
    workspace: &mut dyn Workspace,
    plan: &Plan,
    on_event: &mut dyn FnMut(ApplyEvent<'_>),
) -> Result<ApplyReport, ApplyError> {
    let order = execution_order(plan);
    let total = order.len();
    let mut report = ApplyReport::default();
    for (index, change) in order.into_iter().enumerate() {
        on_event(ApplyEvent::Starting {
            change,
            index,
            total,
        });
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
        let mut found = current.as_ref().map(|t| {
            let mut scopes = t.scopes.clone();
            scopes.sort();
            scopes
        });
        if found.as_ref() != expected {
            let describe =
                |s: Option<&Vec<String>>| s.map_or("no token".into(), |s| scopes_text(s));
            return Err(ApplyError::ConcurrentChange {
                name: change.name.clone(),
                expected: describe(expected),
                found: describe(found.take().as_ref()),
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
        on_event(ApplyEvent::Done {
            change,
            index,
            total,
        });
    }
    Ok(report)
}
