//! The plan as JSON: what `plan --format json` prints and `plan --out FILE` saves (reading it back
//! is [`crate::plan::saved`]), and the document printed instead when no plan could be made. Never
//! holds a token value.

use serde::Serialize;

use super::diagnostics::DiagnosticReport;
use crate::plan::saved::PLAN_FORMAT_VERSION;
use crate::plan::{Action, Change, Plan, PlanProject, PlanWorkspace, ScopeChange, Summary};
use crate::scope::Scopes;

#[derive(Serialize)]
struct PlanDocument<'a> {
    format_version: &'static str,
    project: &'a PlanProject,
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
    scopes_before: &'a Scopes,
    scopes_after: &'a Scopes,
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
pub(crate) fn render(plan: &Plan) -> String {
    let document = PlanDocument {
        format_version: PLAN_FORMAT_VERSION,
        project: &plan.project,
        desired_hash: &plan.desired_hash,
        workspace: &plan.workspace,
        changes: plan.changes.iter().map(ChangeDocument::from).collect(),
        summary: plan.summary(),
    };
    let mut text = serde_json::to_string_pretty(&document).expect("a plan always serializes");
    text.push('\n');
    text
}

/// Why no plan was made, for programs.
#[derive(Serialize)]
struct FailureDocument<'a> {
    format_version: &'static str,
    errors: Vec<PlacedReport<'a>>,
}

/// A diagnostic as `check --format json` has it, with its file (`null` for none) beside it.
#[derive(Serialize)]
struct PlacedReport<'a> {
    path: Option<&'a str>,
    #[serde(flatten)]
    report: &'a DiagnosticReport,
}

/// The document for a plan that could not be made: `{"format_version", "errors": [...]}`, each
/// error the object `check --format json` prints, plus its `path`.
pub(crate) fn render_errors(errors: &[DiagnosticReport]) -> String {
    let document = FailureDocument {
        format_version: PLAN_FORMAT_VERSION,
        errors: errors
            .iter()
            .map(|report| PlacedReport {
                path: report.path.as_deref(),
                report,
            })
            .collect(),
    };
    let mut text = serde_json::to_string_pretty(&document).expect("errors always serialize");
    text.push('\n');
    text
}
