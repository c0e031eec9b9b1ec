//! What a CI pipeline gets when no plan could be made, and how much of a GitHub step summary is
//! left for a comment body. The bodies and annotations themselves are [`super::markdown`] and
//! [`super::github`].

use super::diagnostics::{DiagnosticReport, diagnostic_report};
use super::markdown::COMMENT_BUDGET;
use crate::plan::PlanFailure;
use crate::project::ProjectFile;
use crate::source::Span;

/// GitHub's limit for one step summary file.
pub(crate) const STEP_SUMMARY_LIMIT: u64 = 1024 * 1024;

/// A body shorter than this would say nothing useful: better none.
const STEP_SUMMARY_MIN_BUDGET: usize = 500;

/// The errors that stopped a plan, each at its place when it has one: the datafile errors, the
/// TOKEN directives naming unmanaged tokens, or the one error that stopped reading.
pub(crate) fn failure_reports(failure: &PlanFailure) -> Vec<DiagnosticReport> {
    match failure {
        PlanFailure::Project(_) | PlanFailure::Workspace(_) => {
            vec![DiagnosticReport::without_place(failure)]
        }
        PlanFailure::Invalid(project) => project
            .problems
            .iter()
            .filter(|p| p.is_error())
            .map(|p| DiagnosticReport::without_place(p))
            .chain(project.files.iter().flat_map(|file| {
                file.problems
                    .iter()
                    .filter(|p| p.is_error())
                    .map(move |p| in_source(file, diagnostic_report(file, p), p.span()))
            }))
            .collect(),
        PlanFailure::Unmanaged(project, errors) => errors
            .iter()
            .map(
                |error| match project.files.iter().find(|f| f.path == error.path) {
                    Some(file) => in_source(
                        file,
                        DiagnosticReport::in_file(file, error, Some(error.span)),
                        Some(error.span),
                    ),
                    None => DiagnosticReport::without_place(error),
                },
            )
            .collect(),
    }
}

/// A problem of a file at its place; for a generated datafile, which is nowhere in the
/// repository, at the SDK line it comes from (the TOKEN directive's entry, else the resource's
/// definition), the generated place said in the message.
fn in_source(
    file: &ProjectFile,
    mut report: DiagnosticReport,
    span: Option<Span>,
) -> DiagnosticReport {
    if let Some(from) = &file.generated {
        let at = from.location_of(&file.tokens, span.map_or(0, |s| s.start));
        report.message = format!(
            "{} (in {}, line {}, {from})",
            report.message, file.path, report.line
        );
        report.path = Some(at.path);
        report.line = at.line as usize;
        report.end_line = report.line;
        (report.column, report.end_column) = (1, 1);
    }
    report
}

/// The room for a body appended to a step summary file of `used` bytes: what is left under
/// GitHub's limit (less the line break after the body), at most a comment's budget; none when
/// too little is left.
pub(crate) fn step_summary_budget(used: u64) -> Option<usize> {
    let room = STEP_SUMMARY_LIMIT.saturating_sub(used).saturating_sub(1) as usize;
    let budget = room.min(COMMENT_BUDGET);
    (budget >= STEP_SUMMARY_MIN_BUDGET).then_some(budget)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_summary_budget_is_what_is_left_up_to_a_comment() {
        assert_eq!(step_summary_budget(0), Some(COMMENT_BUDGET));
        assert_eq!(step_summary_budget(STEP_SUMMARY_LIMIT - 1001), Some(1000));
        assert_eq!(step_summary_budget(STEP_SUMMARY_LIMIT - 100), None);
        assert_eq!(step_summary_budget(STEP_SUMMARY_LIMIT + 5), None);
    }
}
