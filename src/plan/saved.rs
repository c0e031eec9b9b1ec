//! The saved plan: the JSON that `plan --out FILE` writes (rendered by `render::plan_json`), read
//! back for `apply --plan FILE`, and what moved in the datafiles or the workspace since it was
//! saved.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Deserialize;
use thiserror::Error;

use super::describe::{past_tense, scopes_text, sources_text};
use super::diff::{Action, Change, Plan, PlanWorkspace};
use crate::desired::DesiredSet;
use crate::scope::Scope;

/// The version of the plan document, written into every saved plan and required when reading one.
pub(crate) const PLAN_FORMAT_VERSION: &str = "1";

/// A plan read back from `plan --out FILE`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct SavedPlan {
    /// Must be [`PLAN_FORMAT_VERSION`].
    pub(crate) format_version: String,
    /// Hash of the desired set it was made from.
    pub(crate) desired_hash: String,
    /// The workspace it was made against.
    pub(crate) workspace: PlanWorkspace,
    pub(crate) changes: Vec<SavedChange>,
}

/// A change of a [`SavedPlan`].
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct SavedChange {
    pub(crate) name: String,
    /// One action.
    pub(crate) actions: Vec<Action>,
    /// Scopes the token had, as the document lists them.
    pub(crate) scopes_before: Vec<Scope>,
    /// Scopes it was to get, as the document lists them.
    pub(crate) scopes_after: Vec<Scope>,
}

/// Why a saved plan cannot be read.
#[derive(Debug, Error)]
pub(crate) enum SavedPlanError {
    /// The file cannot be read.
    #[error(transparent)]
    Read(#[from] std::io::Error),
    /// The file is not a plan document.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// A plan document of another version.
    #[error("plan format version {found} is not supported (expected {PLAN_FORMAT_VERSION})")]
    Version { found: String },
}

/// Reads and parses a saved plan file.
pub(crate) fn read(path: &Path) -> Result<SavedPlan, SavedPlanError> {
    parse(&std::fs::read_to_string(path)?)
}

/// Parses a saved plan.
pub(crate) fn parse(text: &str) -> Result<SavedPlan, SavedPlanError> {
    let plan: SavedPlan = serde_json::from_str(text)?;
    if plan.format_version != PLAN_FORMAT_VERSION {
        return Err(SavedPlanError::Version {
            found: plan.format_version,
        });
    }
    Ok(plan)
}

impl SavedPlan {
    /// What moved since the plan was saved, one line each: which tokens, which files, which
    /// serial. Empty when it is the plan one would make now.
    pub(crate) fn stale_reasons(&self, current: &Plan, desired: &DesiredSet) -> Vec<String> {
        let mut reasons = Vec::new();
        if self.workspace.kind != current.workspace.kind {
            reasons.push(format!(
                "the plan was made against a {} workspace, this is a {} one",
                self.workspace.kind, current.workspace.kind
            ));
        }
        // A remote workspace is its host; an embedded one is named by its state file relative to
        // where the command ran, which may differ between plan and apply, and its lineage
        // tells it apart instead.
        // A Tinybird Local workspace is its name and address: whether it existed yet when planned
        // (the part in parentheses) does not matter.
        fn place(location: &str) -> &str {
            location
                .split_once(" (Tinybird Local")
                .map_or(location, |(place, _)| place)
        }
        let (then, now) = (
            place(&self.workspace.location),
            place(&current.workspace.location),
        );
        let named = |kind: &str| kind == "remote" || kind == "local";
        if named(&self.workspace.kind)
            && self.workspace.kind == current.workspace.kind
            && !then.is_empty()
            && then != now
        {
            reasons.push(format!(
                "the plan was made for the workspace at {then}, this one is at {now}"
            ));
        }
        if let (Some(then), Some(now)) = (&self.workspace.lineage, &current.workspace.lineage)
            && then != now
        {
            reasons.push(format!(
                "the state file was replaced by another workspace (lineage {then}, now {now})"
            ));
        }
        let saved_changes: BTreeMap<&str, &SavedChange> =
            self.changes.iter().map(|c| (c.name.as_str(), c)).collect();
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

        if self.desired_hash != current.desired_hash {
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
                        let action = then.actions.first().map_or("changed", |a| past_tense(*a));
                        format!("token `{name}` was to be {action}, now it needs no change")
                    }
                    (None, Some(now)) => format!(
                        "token `{name}` needed no change, now it would be {}",
                        past_tense(now.action)
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
        if self.workspace.fingerprint != current.workspace.fingerprint {
            let serial = match (self.workspace.serial, current.workspace.serial) {
                (Some(then), Some(now)) if then != now => {
                    format!(" (state serial {then}, now {now})")
                }
                _ => String::new(),
            };
            reasons.push(format!(
                "the workspace's tokens changed since the plan was made{serial}"
            ));
            for name in &names {
                let (Some(planned), Some(now)) =
                    (saved_changes.get(name), current_changes.get(name))
                else {
                    continue;
                };
                if planned.scopes_before != now.scopes_before.as_slice() {
                    reasons.push(format!(
                        "token `{name}` had {} in the workspace, now {}",
                        scopes_text(&planned.scopes_before),
                        scopes_text(&now.scopes_before)
                    ));
                }
            }
        }
        // No reasons means the same hashes, so the same plans.
        reasons
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_documents_of_this_version_are_read() {
        let document = |version: &str| {
            format!(
                r#"{{"format_version":"{version}","desired_hash":"h","workspace":{{"kind":"embedded","fingerprint":"f"}},"changes":[]}}"#
            )
        };
        assert!(parse(&document(PLAN_FORMAT_VERSION)).is_ok());
        let error = parse(&document("9")).unwrap_err();
        assert_eq!(
            error.to_string(),
            "plan format version 9 is not supported (expected 1)"
        );
        assert!(matches!(parse("{"), Err(SavedPlanError::Json(_))));
    }

    #[test]
    fn a_plan_for_one_host_is_stale_on_another() {
        let saved = parse(
            r#"{"format_version":"1","desired_hash":"h","workspace":{"kind":"remote","fingerprint":"f","location":"https://api.tinybird.co"},"changes":[]}"#,
        )
        .unwrap();
        let plan_at = |host: &str| Plan {
            project: Default::default(),
            desired_hash: "h".into(),
            workspace: PlanWorkspace {
                kind: "remote".into(),
                location: host.into(),
                fingerprint: "f".into(),
                serial: None,
                lineage: None,
            },
            changes: Vec::new(),
            unchanged: 0,
        };
        let desired = DesiredSet::default();
        assert!(
            saved
                .stale_reasons(&plan_at("https://api.tinybird.co"), &desired)
                .is_empty()
        );
        assert_eq!(
            saved.stale_reasons(&plan_at("http://127.0.0.1:7181"), &desired),
            [
                "the plan was made for the workspace at https://api.tinybird.co, this one is at http://127.0.0.1:7181"
            ]
        );
    }
}
