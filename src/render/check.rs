//! `check`'s report: one project (named first when it is an SDK project), or each project of a
//! monorepo under its own heading, as text or as one JSON document.

use std::fmt::Write;

use serde::Serialize;

use super::TextStyle;
use super::diagnostics::{
    CheckSummary, DiagnosticReport, FileReport, ProjectReport, check_report, check_summary,
    render_problems,
};
use crate::plan::describe::plural;
use crate::project::{Member, Project};

/// One project's report: its problems, then the counts. An SDK project is named first, so that
/// the reader knows the files were generated; a datafile project's report is as it always was.
pub(crate) fn text(project: &Project, style: TextStyle) -> String {
    let mut out = String::new();
    if project.is_sdk() {
        let _ = writeln!(out, "Project: {}\n", project.kind);
    }
    out.push_str(&render_problems(project, style));
    let _ = writeln!(out, "{}", check_summary(project));
    out
}

/// Each project of a monorepo under a heading with its folder and kind, then the totals.
pub(crate) fn text_several(members: &[Member], style: TextStyle) -> String {
    let mut out = String::new();
    for member in members {
        let heading = if member.outside {
            format!("Datafiles outside the projects, in {}:", member.label)
        } else {
            format!("Project {}: {}", member.label, member.project.kind)
        };
        let _ = writeln!(out, "{heading}\n");
        out.push_str(&render_problems(&member.project, style));
        let _ = writeln!(out, "{}\n", check_summary(&member.project));
    }
    let totals = Totals::of(members);
    let projects = members.iter().filter(|m| !m.outside).count();
    let outside = if members.iter().any(|m| m.outside) {
        " and the datafiles outside them"
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "Checked {}{outside}: {}, {}, {}, {}.",
        plural(projects, "project"),
        plural(totals.files, "file"),
        plural(totals.errors, "error"),
        plural(totals.warnings, "warning"),
        plural(totals.tokens, "token"),
    );
    out
}

/// The `check --format json` document of a monorepo: one entry per project, as the one-project
/// document has them, with its folder and kind.
pub(crate) fn json_several(members: &[Member]) -> String {
    let document = SeveralReport {
        format_version: "1",
        projects: members.iter().map(MemberReport::of).collect(),
        summary: Totals::of(members),
    };
    let mut text = serde_json::to_string_pretty(&document).expect("the report serializes");
    text.push('\n');
    text
}

#[derive(Serialize)]
struct SeveralReport<'a> {
    format_version: &'static str,
    /// Sorted by folder; the datafiles outside every project last.
    projects: Vec<MemberReport<'a>>,
    summary: Totals,
}

#[derive(Serialize)]
struct MemberReport<'a> {
    /// The project's folder as given (PATH joined).
    path: &'a str,
    /// True for the datafiles no project holds.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    outside: bool,
    project: ProjectReport,
    files: Vec<FileReport<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    diagnostics: Vec<DiagnosticReport>,
    summary: CheckSummary,
}

impl<'a> MemberReport<'a> {
    fn of(member: &'a Member) -> MemberReport<'a> {
        let report = check_report(&member.project);
        MemberReport {
            path: &member.label,
            outside: member.outside,
            project: ProjectReport::of(&member.project),
            files: report.files,
            diagnostics: report.diagnostics,
            summary: report.summary,
        }
    }
}

/// Counts over every project.
#[derive(Debug, Default, Serialize)]
struct Totals {
    projects: usize,
    files: usize,
    errors: usize,
    warnings: usize,
    tokens: usize,
}

impl Totals {
    fn of(members: &[Member]) -> Totals {
        let mut totals = Totals::default();
        for member in members {
            let project = &member.project;
            totals.projects += usize::from(!member.outside);
            totals.files += project.files.len();
            totals.errors += project.error_count();
            totals.warnings += project.warning_count();
            totals.tokens += project.token_count();
        }
        totals
    }
}
