//! Diagnostics: miette's graphical report on a terminal, the same report in plain ASCII without
//! colour elsewhere, and the `check --format json` document.

use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme, Severity};
use serde::Serialize;

use super::TextStyle;
use super::escaped::{Escaped, EscapedFile};
use crate::plan::describe::plural;
use crate::project::{Fallback, Problem, Project, ProjectError, ProjectFile};
use crate::source::Span;
use crate::text::escape_controls;

/// Fixed width for plain output, so that it is the same on every machine.
const PLAIN_WIDTH: usize = 100;

/// What the problems of a generated datafile add: that its text was generated, and from what.
#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("{path} is not on disk: it was {from}")]
#[diagnostic(severity(Advice))]
struct GeneratedNote {
    path: String,
    from: String,
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

/// Renders one problem of a file, with a snippet of it.
pub fn render_problem(file: &ProjectFile, problem: &dyn Diagnostic, style: TextStyle) -> String {
    render_in(
        file,
        problem,
        EscapedFile::new(&file.path, &file.text),
        style,
    )
}

fn render_in(
    file: &ProjectFile,
    problem: &dyn Diagnostic,
    escaped: EscapedFile,
    style: TextStyle,
) -> String {
    let mut out = String::new();
    let mut report = Escaped::in_file(problem, escaped);
    if let Some(from) = &file.generated {
        report.add_related(&GeneratedNote {
            path: file.path.clone(),
            from: from.to_string(),
        });
    }
    if handler(style).render_report(&mut out, &report).is_err() {
        out = escape_controls(&format!("{}: {problem}\n", file.path)).into_owned();
    }
    out
}

/// Renders every problem of a project: those of no one file first, then files in path order,
/// problems in position order.
pub(crate) fn render_problems(project: &Project, style: TextStyle) -> String {
    let mut out = String::new();
    for problem in &project.problems {
        out.push_str(&render_standalone(problem, style));
        out.push('\n');
    }
    for file in project.files.iter().filter(|f| !f.problems.is_empty()) {
        // Escaped once for all of the file's problems.
        let escaped = EscapedFile::new(&file.path, &file.text);
        for problem in &file.problems {
            out.push_str(&render_in(file, problem, escaped.clone(), style));
            out.push('\n');
        }
    }
    out
}

/// Renders a problem that belongs to no file (a missing project folder, a workspace error).
pub(crate) fn render_standalone(problem: &dyn Diagnostic, style: TextStyle) -> String {
    let mut out = String::new();
    let report = Escaped::standalone(problem);
    if handler(style).render_report(&mut out, &report).is_err() {
        out = escape_controls(&format!("{problem}\n")).into_owned();
    }
    out
}

/// `Checked N files: E errors, W warnings, T TOKEN lines.`; for an SDK project, `N generated files`,
/// and when its generator failed, no count of tokens that could be read as "none declared".
pub(crate) fn check_summary(project: &Project) -> String {
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
        plural(project.token_count(), "TOKEN line"),
    )
}

/// The `check --format json` document.
#[derive(Debug, Serialize)]
pub(crate) struct CheckReport<'a> {
    /// Always "1".
    pub(crate) format_version: &'static str,
    /// For an SDK project only: its kind and config.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) project: Option<ProjectReport>,
    /// Files sorted by path.
    pub(crate) files: Vec<FileReport<'a>>,
    /// Problems of no one file (a folder that cannot be read, datafiles left out), without a
    /// place; absent when there are none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) diagnostics: Vec<DiagnosticReport>,
    /// Totals.
    pub(crate) summary: CheckSummary,
}

/// One file in [`CheckReport`].
#[derive(Debug, Serialize)]
pub(crate) struct FileReport<'a> {
    /// Relative, `/`-separated.
    pub(crate) path: &'a str,
    /// datasource, pipe or connection.
    pub(crate) kind: &'static str,
    pub(crate) resource: &'a str,
    /// For a datafile an SDK generated: which SDK, and the resource's definition.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) generated: Option<GeneratedReport>,
    /// TOKEN directives in file order.
    pub(crate) tokens: Vec<TokenReport<'a>>,
    /// Problems in position order.
    pub(crate) diagnostics: Vec<DiagnosticReport>,
}

/// A TOKEN directive in [`FileReport`].
#[derive(Debug, Serialize)]
pub(crate) struct TokenReport<'a> {
    pub(crate) name: &'a str,
    /// READ or APPEND.
    pub(crate) scope: &'static str,
    /// 1-based line of the name.
    pub(crate) line: usize,
    /// 1-based column of the name.
    pub(crate) column: usize,
    /// In a generated datafile: the SDK line it comes from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) source: Option<SourceReport>,
}

/// A project's kind and config in the JSON documents.
#[derive(Debug, Serialize)]
pub(crate) struct ProjectReport {
    /// `datafiles`, `typescript` or `python`.
    pub(crate) kind: &'static str,
    /// Relative to the project folder.
    pub(crate) config: Option<String>,
}

impl ProjectReport {
    pub(crate) fn of(project: &Project) -> ProjectReport {
        ProjectReport {
            kind: project.kind.name(),
            config: project.config_path(),
        }
    }
}

/// Where a generated datafile comes from.
#[derive(Debug, Serialize)]
pub(crate) struct GeneratedReport {
    /// `typescript` or `python`.
    pub(crate) sdk: &'static str,
    /// The resource's definition, when found.
    pub(crate) definition: Option<SourceReport>,
}

/// A line of an SDK source file.
#[derive(Debug, Serialize)]
pub(crate) struct SourceReport {
    pub(crate) path: String,
    pub(crate) line: usize,
    /// When the `tokens` entry was not found: what the line is instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) untraced: Option<Fallback>,
}

/// A problem and its place: an entry of [`FileReport`], and of what CI shows when no plan could
/// be made.
#[derive(Debug, Serialize)]
pub struct DiagnosticReport {
    /// The problem's file, if any. Not in the `check` document, which lists problems under their
    /// file.
    #[serde(skip)]
    pub(crate) path: Option<String>,
    /// error, warning or advice.
    pub(crate) severity: &'static str,
    /// e.g. tokenplan::syntax::unknown_directive.
    pub(crate) code: String,
    pub(crate) message: String,
    /// How to fix it, when known.
    pub(crate) help: Option<String>,
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
    pub(crate) related: Vec<RelatedReport>,
}

/// Another place a problem involves.
#[derive(Debug, Serialize)]
pub(crate) struct RelatedReport {
    pub(crate) path: String,
    /// What is there.
    pub(crate) message: String,
    /// 1-based line.
    pub(crate) line: usize,
    /// 1-based column.
    pub(crate) column: usize,
}

/// Totals in [`CheckReport`].
#[derive(Debug, Serialize)]
pub(crate) struct CheckSummary {
    /// Files checked.
    pub(crate) files: usize,
    pub(crate) errors: usize,
    pub(crate) warnings: usize,
    /// TOKEN directives (lines), not distinct tokens.
    pub(crate) tokens: usize,
}

/// The severity's name in JSON.
pub(crate) fn severity_name(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Advice => "advice",
    }
}

impl DiagnosticReport {
    /// A problem that belongs to no file (a missing project folder, a workspace error), placed at
    /// 1:1.
    pub(crate) fn without_place(problem: &dyn Diagnostic) -> Self {
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
    pub(crate) fn in_file(
        file: &ProjectFile,
        problem: &dyn Diagnostic,
        span: Option<Span>,
    ) -> Self {
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
pub(crate) fn check_report(project: &Project) -> CheckReport<'_> {
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
    fn snippets_show_control_characters_as_text_with_labels_in_place() {
        let text = "NODE n\nSQL >\n    SELECT 1\n\nTOKEN \"a\x1b[2J\u{9b}\" READ y\n";
        let file = ProjectFile::compile(
            "p.pipe".into(),
            crate::model::DatafileKind::Pipe,
            std::sync::Arc::from(text),
            &crate::syntax::Secrets::new(),
        );
        let mut project = Project::empty(".".into());
        project.files.push(file);
        let report = render_problems(&project, TextStyle::PLAIN);
        assert!(!report.contains(['\x1b', '\u{9b}']), "{report}");
        let lines: Vec<&str> = report.lines().collect();
        let shown = lines
            .iter()
            .position(|l| l.contains("TOKEN \"a\\x1b[2J\\u{9b}\" READ y"))
            .unwrap_or_else(|| panic!("{report}"));
        // The label marks the extra argument `y`, where the escaped line shows it.
        let column = lines[shown].rfind('y').unwrap();
        assert_eq!(lines[shown + 1].rfind('|'), Some(column), "{report}");
    }

    #[test]
    fn a_cause_not_in_the_message_is_shown_below_it() {
        let text = render_standalone(&Outer::Below { source: Inner }, TextStyle::PLAIN);
        assert!(text.contains("stopped"), "{text}");
        assert!(text.contains("the cause"), "{text}");
    }
}
