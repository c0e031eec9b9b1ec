//! The plan as JSON: what `plan --format json` prints and `plan --out FILE` saves, and its reading
//! back for `apply --plan FILE`. Never holds a token value.

use serde::{Deserialize, Serialize};

use crate::plan::{Action, Change, Plan, PlanWorkspace, ScopeChange, Summary};

/// The version of the plan document.
pub const PLAN_FORMAT_VERSION: &str = "1";

#[derive(Serialize)]
struct PlanDocument<'a> {
    format_version: &'static str,
    desired_hash: &'a str,
    workspace: &'a PlanWorkspace,
    changes: Vec<ChangeDocument<'a>>,
    summary: Summary,
}

#[derive(Serialize)]
struct ChangeDocument<'a> {
    name: &'a str,
    actions: [Action; 1],
    breaking: bool,
    scopes_before: &'a [String],
    scopes_after: &'a [String],
    scopes_added: &'a [ScopeChange],
    scopes_removed: &'a [ScopeChange],
    notes: &'a [String],
}

impl<'a> From<&'a Change> for ChangeDocument<'a> {
    fn from(change: &'a Change) -> Self {
        ChangeDocument {
            name: &change.name,
            actions: [change.action],
            breaking: change.breaking,
            scopes_before: &change.scopes_before,
            scopes_after: &change.scopes_after,
            scopes_added: &change.scopes_added,
            scopes_removed: &change.scopes_removed,
            notes: &change.notes,
        }
    }
}

/// The plan document, pretty-printed, with a final line break.
pub fn render(plan: &Plan) -> String {
    let document = PlanDocument {
        format_version: PLAN_FORMAT_VERSION,
        desired_hash: &plan.desired_hash,
        workspace: &plan.workspace,
        changes: plan.changes.iter().map(ChangeDocument::from).collect(),
        summary: plan.summary(),
    };
    let mut text = serde_json::to_string_pretty(&document).expect("a plan always serializes");
    text.push('\n');
    text
}

/// A plan read back from `plan --out FILE`.
#[derive(Debug, Clone, Deserialize)]
pub struct SavedPlan {
    /// Must be [`PLAN_FORMAT_VERSION`].
    pub format_version: String,
    /// Hash of the desired set it was made from.
    pub desired_hash: String,
    /// The workspace it was made against.
    pub workspace: PlanWorkspace,
    /// Its changes.
    pub changes: Vec<SavedChange>,
}

/// A change of a [`SavedPlan`].
#[derive(Debug, Clone, Deserialize)]
pub struct SavedChange {
    /// Token name.
    pub name: String,
    /// One action.
    pub actions: Vec<Action>,
    /// Scopes the token had.
    pub scopes_before: Vec<String>,
    /// Scopes it was to get.
    pub scopes_after: Vec<String>,
}

/// Parses a saved plan.
pub fn parse(text: &str) -> Result<SavedPlan, String> {
    let plan: SavedPlan = serde_json::from_str(text).map_err(|e| e.to_string())?;
    if plan.format_version != PLAN_FORMAT_VERSION {
        return Err(format!(
            "plan format version {} is not supported (expected {PLAN_FORMAT_VERSION})",
            plan.format_version
        ));
    }
    Ok(plan)
}
