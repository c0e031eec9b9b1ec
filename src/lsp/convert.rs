//! Between tokenplan and the protocol: byte spans to UTF-16 ranges and back, and problems to LSP
//! diagnostics with the codes, messages and severities of `tokenplan check`, control characters
//! escaped. A problem across files is published on every file it involves.

use lsp_types::{
    Diagnostic, DiagnosticRelatedInformation, DiagnosticSeverity, Location, NumberOrString,
    Position, Range,
};
use miette::Severity;

use super::analysis::Folder;
use crate::project::{Problem, ProjectError, ProjectFile};
use crate::source::Span;
use crate::text::escape_controls;

/// The `source` of every diagnostic.
pub(crate) const SOURCE: &str = "tokenplan";

/// The LSP position of a byte offset of the file.
pub(crate) fn position(file: &ProjectFile, offset: usize) -> Position {
    let (line, character) = file.line_index().utf16_position(&file.text, offset);
    Position { line, character }
}

/// The LSP range of a span of the file.
pub(crate) fn range(file: &ProjectFile, span: Span) -> Range {
    Range {
        start: position(file, span.start),
        end: position(file, span.end),
    }
}

/// The byte offset of an LSP position in the file, clamped to its line.
pub(crate) fn offset(file: &ProjectFile, position: Position) -> usize {
    file.line_index()
        .offset_of_utf16(&file.text, position.line, position.character)
}

/// Every problem of the file, in the order `check` reports them, after the duplicates other
/// files report against this one (`check` lists those under the other file only; an editor shows
/// one file at a time).
pub(crate) fn diagnostics(folder: &Folder, file: &ProjectFile) -> Vec<Diagnostic> {
    let mut diagnostics = duplicated_by_others(folder, file);
    diagnostics.extend(
        file.problems
            .iter()
            .map(|problem| diagnostic(folder, file, problem)),
    );
    diagnostics
}

/// The paths of the files another file's duplicate points at: their diagnostics depend on that
/// other file.
pub(crate) fn duplicate_partners(folder: &Folder) -> Vec<String> {
    folder
        .project
        .files
        .iter()
        .flat_map(|other| &other.problems)
        .filter_map(|problem| match problem {
            Problem::Project(ProjectError::DuplicateResource { first, .. }) => Some(first),
            _ => None,
        })
        .flatten()
        .map(|defined| defined.path.clone())
        .collect()
}

/// A duplicate that another file reports, on the file it first defined the resource in.
fn duplicated_by_others(folder: &Folder, file: &ProjectFile) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for other in &folder.project.files {
        for problem in &other.problems {
            let Problem::Project(ProjectError::DuplicateResource { first, span, .. }) = problem
            else {
                continue;
            };
            let Some(here) = first.iter().find(|d| d.path == file.path) else {
                continue;
            };
            let mut diagnostic = diagnostic(folder, file, problem);
            diagnostic.range = range(file, here.span);
            diagnostic.related_information = folder.uri(&other.path).map(|uri| {
                vec![DiagnosticRelatedInformation {
                    location: Location {
                        uri,
                        range: range(other, *span),
                    },
                    message: escape_controls(&format!("also defined in {}", other.path))
                        .into_owned(),
                }]
            });
            out.push(diagnostic);
        }
    }
    out
}

fn diagnostic(folder: &Folder, file: &ProjectFile, problem: &Problem) -> Diagnostic {
    let severity = match problem.severity() {
        Severity::Error => DiagnosticSeverity::ERROR,
        Severity::Warning => DiagnosticSeverity::WARNING,
        Severity::Advice => DiagnosticSeverity::INFORMATION,
    };
    // Editors have no place for miette's help, and it is what tells people how to fix the
    // problem: it goes under the message, as in `check`'s report.
    let message = match problem.help_string() {
        Some(help) => format!("{}\nhelp: {help}", problem.message()),
        None => problem.message(),
    };
    let message = escape_controls(&message).into_owned();
    let related = related(folder, file, problem);
    Diagnostic {
        range: problem
            .span()
            .map_or_else(Range::default, |s| range(file, s)),
        severity: Some(severity),
        code: Some(NumberOrString::String(problem.code_string())),
        code_description: None,
        source: Some(SOURCE.to_owned()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        tags: None,
        data: None,
    }
}

/// The other places a problem points at: its secondary labels in this file, and the first
/// definition of a duplicate resource in the other file.
fn related(
    folder: &Folder,
    file: &ProjectFile,
    problem: &Problem,
) -> Vec<DiagnosticRelatedInformation> {
    let mut related = Vec::new();
    let this_uri = folder.uri(&file.path);
    if let (Some(uri), Some(labels)) = (&this_uri, miette::Diagnostic::labels(problem)) {
        for label in labels.filter(|l| !l.primary()) {
            let span = Span::new(label.offset(), label.offset() + label.len());
            related.push(DiagnosticRelatedInformation {
                location: Location {
                    uri: uri.clone(),
                    range: range(file, span),
                },
                message: escape_controls(label.label().unwrap_or_default()).into_owned(),
            });
        }
    }
    match problem {
        Problem::Project(ProjectError::DuplicateResource { first, .. }) => {
            for defined in first {
                let Some(uri) = folder.uri(&defined.path) else {
                    continue;
                };
                let range = folder
                    .file(&defined.path)
                    .map_or_else(Range::default, |other| range(other, defined.span));
                related.push(DiagnosticRelatedInformation {
                    location: Location { uri, range },
                    message: escape_controls(&format!("first defined in {}", defined.path))
                        .into_owned(),
                });
            }
        }
        Problem::Project(
            ProjectError::NotFound { .. }
            | ProjectError::ConfiguredFolder { .. }
            | ProjectError::NotADatafile { .. }
            | ProjectError::Unreadable { .. }
            | ProjectError::SymlinkLoop { .. }
            | ProjectError::NotUtf8 { .. }
            | ProjectError::NotDeployed { .. }
            | ProjectError::NotDeployedFiles { .. }
            | ProjectError::Empty { .. }
            | ProjectError::Sdk(_)
            | ProjectError::GeneratedNothing { .. }
            | ProjectError::SeveralProjects { .. }
            | ProjectError::EnvFileLine { .. }
            | ProjectError::SecretNotNeeded { .. },
        )
        | Problem::Syntax(_) => {}
    }
    related
}
