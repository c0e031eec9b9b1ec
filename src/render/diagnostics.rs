//! Diagnostics: miette's graphical report on a terminal, the same report in plain ASCII without
//! colour elsewhere, and the `check --format json` document.

use std::fmt;
use std::sync::Arc;

use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme, NamedSource, Severity};
use serde::Serialize;

use super::TextStyle;
use crate::plan::describe::plural;
use crate::project::{Fallback, Problem, Project, ProjectError, ProjectFile};
use crate::source::Span;

/// Fixed width for plain output, so that it is the same on every machine.
const PLAIN_WIDTH: usize = 100;

/// A diagnostic with the text of its file attached, for miette.
struct WithSource<'a> {
    problem: &'a dyn Diagnostic,
    source: NamedSource<Arc<str>>,
    /// For a file an SDK generated: where it comes from, said after the problem.
    generated: Option<GeneratedNote>,
}

/// What the problems of a generated datafile add: that its text was generated, and from what.
#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("{path} is not on disk: it was {from}")]
#[diagnostic(severity(Advice))]
struct GeneratedNote {
    path: String,
    from: String,
}

impl fmt::Debug for WithSource<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.problem, f)
    }
}

impl fmt::Display for WithSource<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.problem, f)
    }
}

impl std::error::Error for WithSource<'_> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.problem.source()
    }
}

impl Diagnostic for WithSource<'_> {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.problem.code()
    }
    fn severity(&self) -> Option<Severity> {
        self.problem.severity()
    }
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.problem.help()
    }
    fn url<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.problem.url()
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        self.problem.labels()
    }
    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        let Some(note) = &self.generated else {
            return self.problem.related();
        };
        let note = std::iter::once(note as &dyn Diagnostic);
        Some(match self.problem.related() {
            Some(related) => Box::new(related.chain(note)),
            None => Box::new(note),
        })
    }
}

/// A diagnostic whose message may already end with its cause's (`cannot use the plan file p.json:
/// <why>`): that cause is not listed again below the message, where miette would repeat it. An
/// error keeps its typed cause for callers, and its report keeps its one line.
struct CauseSaidOnce<'a> {
    problem: &'a dyn Diagnostic,
}

impl CauseSaidOnce<'_> {
    fn repeats(&self, cause: &dyn fmt::Display) -> bool {
        self.problem.to_string().ends_with(&format!(": {cause}"))
    }
}

impl fmt::Debug for CauseSaidOnce<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.problem, f)
    }
}

impl fmt::Display for CauseSaidOnce<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.problem, f)
    }
}

impl std::error::Error for CauseSaidOnce<'_> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        let cause = self.problem.source()?;
        if self.repeats(cause) {
            cause.source()
        } else {
            Some(cause)
        }
    }
}

impl Diagnostic for CauseSaidOnce<'_> {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.problem.code()
    }
    fn severity(&self) -> Option<Severity> {
        self.problem.severity()
    }
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.problem.help()
    }
    fn url<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.problem.url()
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.problem.source_code()
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        self.problem.labels()
    }
    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        self.problem.related()
    }
    fn diagnostic_source(&self) -> Option<&dyn Diagnostic> {
        // None falls back to `source`, which skips a repeated cause.
        self.problem
            .diagnostic_source()
            .filter(|cause| !self.repeats(cause))
    }
}

fn handler(style: TextStyle) -> GraphicalReportHandler {
    let theme = match (style.unicode, style.color) {
        (true, true) => GraphicalTheme::unicode(),
        (true, false) => GraphicalTheme::unicode_nocolor(),
        (false, _) => GraphicalTheme::none(),
    };
    let handler = GraphicalReportHandler::new_themed(theme).with_links(false);
    if style == TextStyle::PLAIN {
        handler.with_width(PLAIN_WIDTH).with_wrap_lines(false)
    } else {
        handler
    }
}

/// Renders one problem of a file.
pub fn render_problem(file: &ProjectFile, problem: &dyn Diagnostic, style: TextStyle) -> String {
    let mut out = String::new();
    let report = WithSource {
        problem,
        source: file.named_source(),
        generated: file.generated.as_ref().map(|from| GeneratedNote {
            path: file.path.clone(),
            from: from.to_string(),
        }),
    };
    if handler(style).render_report(&mut out, &report).is_err() {
        out = format!("{}: {problem}\n", file.path);
    }
    out
}

/// Renders every problem of a project: those of no one file first, then files in path order,
/// problems in position order.
pub fn render_problems(project: &Project, style: TextStyle) -> String {
    let mut out = String::new();
    for problem in &project.problems {
        out.push_str(&render_standalone(problem, style));
        out.push('\n');
    }
    for file in &project.files {
        for problem in &file.problems {
            out.push_str(&render_problem(file, problem, style));
            out.push('\n');
        }
    }
    out
}

/// Renders a problem that belongs to no file (a missing project folder, a workspace error).
pub fn render_standalone(problem: &dyn Diagnostic, style: TextStyle) -> String {
    let mut out = String::new();
    let report = CauseSaidOnce { problem };
    if handler(style).render_report(&mut out, &report).is_err() {
        out = format!("{problem}\n");
    }
    out
}

/// `Checked N files: E errors, W warnings, T tokens.`; for an SDK project, `N generated files`,
/// and when its generator failed, no count of tokens that could be read as "none declared".
pub fn check_summary(project: &Project) -> String {
    if project.is_sdk() && project.files.is_empty() && project.has_errors() {
        return format!(
            "The {} generated no datafiles: {}, {}.",
            project.kind,
            plural(project.error_count(), "error"),
            plural(project.warning_count(), "warning"),
        );
    }
    let noun = if project.is_sdk() {
        "generated file"
    } else {
        "file"
    };
    format!(
        "Checked {}: {}, {}, {}.",
        plural(project.files.len(), noun),
        plural(project.error_count(), "error"),
        plural(project.warning_count(), "warning"),
        plural(project.token_count(), "token"),
    )
}

/// The `check --format json` document.
#[derive(Debug, Serialize)]
pub struct CheckReport<'a> {
    /// Always "1".
    pub format_version: &'static str,
    /// For an SDK project only: its kind and config.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<ProjectReport>,
    /// Files sorted by path.
    pub files: Vec<FileReport<'a>>,
    /// Problems of no one file (a folder that cannot be read, datafiles left out), without a
    /// place; absent when there are none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub diagnostics: Vec<DiagnosticReport>,
    /// Totals.
    pub summary: CheckSummary,
}

/// One file in [`CheckReport`].
#[derive(Debug, Serialize)]
pub struct FileReport<'a> {
    /// Relative, `/`-separated.
    pub path: &'a str,
    /// datasource, pipe or connection.
    pub kind: &'static str,
    pub resource: &'a str,
    /// For a datafile an SDK generated: which SDK, and the resource's definition.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generated: Option<GeneratedReport>,
    /// TOKEN directives in file order.
    pub tokens: Vec<TokenReport<'a>>,
    /// Problems in position order.
    pub diagnostics: Vec<DiagnosticReport>,
}

/// A TOKEN directive in [`FileReport`].
#[derive(Debug, Serialize)]
pub struct TokenReport<'a> {
    pub name: &'a str,
    /// READ or APPEND.
    pub scope: &'static str,
    /// 1-based line of the name.
    pub line: usize,
    /// 1-based column of the name.
    pub column: usize,
    /// In a generated datafile: the SDK line it comes from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceReport>,
}

/// A project's kind and config in the JSON documents.
#[derive(Debug, Serialize)]
pub struct ProjectReport {
    /// `datafiles`, `typescript` or `python`.
    pub kind: &'static str,
    /// Relative to the project folder.
    pub config: Option<String>,
}

impl ProjectReport {
    pub fn of(project: &Project) -> ProjectReport {
        ProjectReport {
            kind: project.kind.name(),
            config: project.config_path(),
        }
    }
}

/// Where a generated datafile comes from.
#[derive(Debug, Serialize)]
pub struct GeneratedReport {
    /// `typescript` or `python`.
    pub sdk: &'static str,
    /// The resource's definition, when found.
    pub definition: Option<SourceReport>,
}

/// A line of an SDK source file.
#[derive(Debug, Serialize)]
pub struct SourceReport {
    pub path: String,
    pub line: usize,
    /// When the `tokens` entry was not found: what the line is instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub untraced: Option<Fallback>,
}

/// A problem and its place: an entry of [`FileReport`], and of what CI shows when no plan could
/// be made.
#[derive(Debug, Serialize)]
pub struct DiagnosticReport {
    /// The problem's file, if any. Not in the `check` document, which lists problems under their
    /// file.
    #[serde(skip)]
    pub path: Option<String>,
    /// error, warning or advice.
    pub severity: &'static str,
    /// e.g. tokenplan::syntax::unknown_directive.
    pub code: String,
    pub message: String,
    /// How to fix it, when known.
    pub help: Option<String>,
    /// 1-based start line (1 when the problem has no place).
    pub line: usize,
    /// 1-based start column.
    pub column: usize,
    /// 1-based end line.
    pub end_line: usize,
    /// 1-based end column (exclusive).
    pub end_column: usize,
    /// Other places involved (the first definition of a duplicate resource).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<RelatedReport>,
}

/// Another place a problem involves.
#[derive(Debug, Serialize)]
pub struct RelatedReport {
    pub path: String,
    /// What is there.
    pub message: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

/// Totals in [`CheckReport`].
#[derive(Debug, Serialize)]
pub struct CheckSummary {
    /// Files checked.
    pub files: usize,
    pub errors: usize,
    pub warnings: usize,
    /// TOKEN directives.
    pub tokens: usize,
}

/// The severity's name in JSON.
pub fn severity_name(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Advice => "advice",
    }
}

impl DiagnosticReport {
    /// A problem that belongs to no file (a missing project folder, a workspace error), placed at
    /// 1:1.
    pub fn without_place(problem: &dyn Diagnostic) -> Self {
        DiagnosticReport {
            path: None,
            severity: severity_name(problem.severity().unwrap_or(Severity::Error)),
            code: problem.code().map(|c| c.to_string()).unwrap_or_default(),
            message: crate::project::message_with_causes(problem),
            help: problem.help().map(|h| h.to_string()),
            line: 1,
            column: 1,
            end_line: 1,
            end_column: 1,
            related: Vec::new(),
        }
    }

    /// A problem of a file, at `span` (at 1:1 without one), positions computed in the file.
    pub fn in_file(file: &ProjectFile, problem: &dyn Diagnostic, span: Option<Span>) -> Self {
        let mut report = DiagnosticReport::without_place(problem);
        report.path = Some(file.path.clone());
        if let Some(span) = span {
            let (start, end) = (file.position(span.start), file.position(span.end));
            (report.line, report.column) = (start.line, start.column);
            (report.end_line, report.end_column) = (end.line, end.column);
        }
        report
    }
}

/// A problem's JSON form, positions computed in its file.
pub fn diagnostic_report(file: &ProjectFile, problem: &Problem) -> DiagnosticReport {
    let mut report = DiagnosticReport::in_file(file, problem, problem.span());
    report.related = match problem {
        Problem::Project(ProjectError::DuplicateResource { first, .. }) => first
            .iter()
            .map(|d| RelatedReport {
                path: d.path.clone(),
                message: "first defined here".into(),
                line: 1,
                column: 1,
            })
            .collect(),
        _ => Vec::new(),
    };
    report
}

/// Builds the `check --format json` document.
pub fn check_report(project: &Project) -> CheckReport<'_> {
    let files = project
        .files
        .iter()
        .map(|file| FileReport {
            path: &file.path,
            kind: file.kind.as_str(),
            resource: &file.resource,
            generated: file.generated.as_ref().map(|from| GeneratedReport {
                sdk: from.language.name(),
                definition: from.definition.as_ref().map(|at| SourceReport {
                    path: at.path.clone(),
                    line: at.line as usize,
                    untraced: None,
                }),
            }),
            tokens: file
                .tokens
                .iter()
                .enumerate()
                .map(|(index, t)| {
                    let at = file.position(t.name_span.start);
                    TokenReport {
                        name: &t.name,
                        scope: t.permission.as_str(),
                        line: at.line,
                        column: at.column,
                        source: file.generated.as_ref().map(|from| {
                            let source = from.token_source(index);
                            SourceReport {
                                path: source.location.path,
                                line: source.location.line as usize,
                                untraced: source.untraced,
                            }
                        }),
                    }
                })
                .collect(),
            diagnostics: file
                .problems
                .iter()
                .map(|p| diagnostic_report(file, p))
                .collect(),
        })
        .collect();
    let diagnostics = project
        .problems
        .iter()
        .map(|problem| DiagnosticReport::without_place(problem))
        .collect();
    CheckReport {
        format_version: "1",
        project: project.is_sdk().then(|| ProjectReport::of(project)),
        files,
        diagnostics,
        summary: CheckSummary {
            files: project.files.len(),
            errors: project.error_count(),
            warnings: project.warning_count(),
            tokens: project.token_count(),
        },
    }
}

#[cfg(test)]
mod tests {
    use miette::Diagnostic;
    use thiserror::Error;

    use super::*;

    #[derive(Debug, Error, Diagnostic)]
    #[error("the cause")]
    #[diagnostic(code(test::inner))]
    struct Inner;

    #[derive(Debug, Error, Diagnostic)]
    enum Outer {
        #[error("cannot use it: {source}")]
        Inline {
            #[source]
            source: std::io::Error,
        },
        #[error("stopped")]
        Below {
            #[source]
            #[diagnostic_source]
            source: Inner,
        },
    }

    #[test]
    fn a_cause_already_in_the_message_is_not_repeated() {
        let error = Outer::Inline {
            source: std::io::Error::other("gone"),
        };
        let text = render_standalone(&error, TextStyle::PLAIN);
        assert_eq!(text.matches("gone").count(), 1, "{text}");
        assert!(text.contains("cannot use it: gone"), "{text}");
    }

    #[test]
    fn a_cause_not_in_the_message_is_shown_below_it() {
        let text = render_standalone(&Outer::Below { source: Inner }, TextStyle::PLAIN);
        assert!(text.contains("stopped"), "{text}");
        assert!(text.contains("the cause"), "{text}");
    }
}
