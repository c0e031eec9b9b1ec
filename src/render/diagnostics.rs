//! Diagnostics: miette's graphical report on a terminal, the same report in plain ASCII without
//! colour elsewhere, and the `check --format json` document.

use std::fmt;
use std::sync::Arc;

use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme, NamedSource, Severity};
use serde::Serialize;

use super::TextStyle;
use crate::project::{Problem, Project, ProjectError, ProjectFile};

/// Fixed width for plain output, so that it is the same on every machine.
const PLAIN_WIDTH: usize = 100;

/// A diagnostic with the text of its file attached, for miette.
struct WithSource<'a> {
    problem: &'a dyn Diagnostic,
    source: NamedSource<Arc<str>>,
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
        self.problem.related()
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
    if handler(style).render_report(&mut out, problem).is_err() {
        out = format!("{problem}\n");
    }
    out
}

/// `Checked N files: E errors, W warnings, T tokens.`
pub fn check_summary(project: &Project) -> String {
    format!(
        "Checked {}: {}, {}, {}.",
        plural(project.files.len(), "file"),
        plural(project.error_count(), "error"),
        plural(project.warning_count(), "warning"),
        plural(project.token_count(), "token"),
    )
}

/// `1 file`, `2 files`.
pub fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("{count} {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

/// The `check --format json` document.
#[derive(Debug, Serialize)]
pub struct CheckReport<'a> {
    /// Always "1".
    pub format_version: &'static str,
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
    /// The resource name.
    pub resource: &'a str,
    /// TOKEN directives in file order.
    pub tokens: Vec<TokenReport<'a>>,
    /// Problems in position order.
    pub diagnostics: Vec<DiagnosticReport>,
}

/// A TOKEN directive in [`FileReport`].
#[derive(Debug, Serialize)]
pub struct TokenReport<'a> {
    /// Token name.
    pub name: &'a str,
    /// READ or APPEND.
    pub scope: &'static str,
    /// 1-based line of the name.
    pub line: usize,
    /// 1-based column of the name.
    pub column: usize,
}

/// A problem in [`FileReport`].
#[derive(Debug, Serialize)]
pub struct DiagnosticReport {
    /// error, warning or advice.
    pub severity: &'static str,
    /// e.g. tokenplan::syntax::unknown_directive.
    pub code: String,
    /// The message.
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
    /// Its file.
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
    /// Errors.
    pub errors: usize,
    /// Warnings.
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

/// A problem's JSON form, positions computed in its file.
pub fn diagnostic_report(file: &ProjectFile, problem: &Problem) -> DiagnosticReport {
    let (start, end) = match problem.span() {
        Some(span) => (file.position(span.start), file.position(span.end)),
        None => {
            let origin = crate::source::LineColumn { line: 1, column: 1 };
            (origin, origin)
        }
    };
    let related = match problem {
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
    DiagnosticReport {
        severity: severity_name(problem.severity()),
        code: problem.code_string(),
        message: problem.message(),
        help: problem.help_string(),
        line: start.line,
        column: start.column,
        end_line: end.line,
        end_column: end.column,
        related,
    }
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
            tokens: file
                .tokens
                .iter()
                .map(|t| {
                    let at = file.position(t.name_span.start);
                    TokenReport {
                        name: &t.name,
                        scope: t.permission.as_str(),
                        line: at.line,
                        column: at.column,
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
    let origin = crate::source::LineColumn { line: 1, column: 1 };
    let diagnostics = project
        .problems
        .iter()
        .map(|problem| DiagnosticReport {
            severity: severity_name(problem.severity()),
            code: problem.code_string(),
            message: problem.message(),
            help: problem.help_string(),
            line: origin.line,
            column: origin.column,
            end_line: origin.line,
            end_column: origin.column,
            related: Vec::new(),
        })
        .collect();
    CheckReport {
        format_version: "1",
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
