//! GitHub Actions workflow commands: `::error` annotations for diagnostics and `::warning`
//! annotations for breaking token changes at their TOKEN lines, escaped as the Actions toolkit
//! escapes them, at most a few of each kind.

use std::fmt::Write;

use super::diagnostics::DiagnosticReport;
use crate::desired::DesiredSet;
use crate::plan::describe::{breaking_reason, headline};
use crate::plan::{Action, Plan};

/// Annotations of one kind shown before the rest are summed up in one line.
pub const MAX_PER_KIND: usize = 10;

/// Escapes a command's message: `%`, CR and LF (the toolkit's `escapeData`).
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a property value: as data, plus `:` and `,` (the toolkit's `escapeProperty`).
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// A place in a file for an annotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// Path from the repository root.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: Option<usize>,
    /// 1-based end line.
    pub end_line: Option<usize>,
    /// 1-based end column.
    pub end_column: Option<usize>,
}

/// A workflow command: where, a title and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Annotation {
    /// Where, when it has a place.
    pub place: Option<Place>,
    pub title: String,
    pub message: String,
}

/// `::<command> <properties>::<message>` for one annotation.
pub fn command(kind: &str, annotation: &Annotation) -> String {
    let mut properties = Vec::new();
    if let Some(place) = &annotation.place {
        properties.push(format!("file={}", escape_property(&place.file)));
        properties.push(format!("line={}", place.line));
        if let Some(column) = place.column {
            properties.push(format!("col={column}"));
        }
        if let Some(end_line) = place.end_line {
            properties.push(format!("endLine={end_line}"));
        }
        if let Some(end_column) = place.end_column {
            properties.push(format!("endColumn={end_column}"));
        }
    }
    properties.push(format!("title={}", escape_property(&annotation.title)));
    format!(
        "::{kind} {}::{}",
        properties.join(","),
        escape_data(&annotation.message)
    )
}

/// Up to [`MAX_PER_KIND`] commands of one kind, then a notice with how many more there were.
pub fn commands(kind: &str, what: &str, annotations: &[Annotation]) -> String {
    let mut out = String::new();
    for annotation in annotations.iter().take(MAX_PER_KIND) {
        out.push_str(&command(kind, annotation));
        out.push('\n');
    }
    if annotations.len() > MAX_PER_KIND {
        let _ = writeln!(
            out,
            "::notice title=tokenplan::{} more {what} not shown as annotations",
            annotations.len() - MAX_PER_KIND
        );
    }
    out
}

/// `prefix/path` for a path relative to the project folder, so that GitHub finds it from the
/// repository root.
pub fn repository_path(prefix: &str, path: &str) -> String {
    let prefix = prefix.trim_start_matches("./").trim_end_matches('/');
    if prefix.is_empty() || prefix == "." {
        path.to_owned()
    } else {
        format!("{prefix}/{path}")
    }
}

/// Warnings for the breaking changes of a plan (at their TOKEN lines; a destroyed token has none
/// left, so its warning has no file) and a notice with the counts.
pub fn render_plan(plan: &Plan, desired: &DesiredSet, prefix: &str) -> String {
    let warnings: Vec<Annotation> = plan
        .breaking()
        .map(|change| {
            let source = match change.action {
                Action::Delete => None,
                Action::Create | Action::Update => desired
                    .tokens
                    .get(&change.name)
                    .and_then(|t| t.sources().next()),
            };
            let place = source.map(|source| Place {
                file: repository_path(prefix, &source.path),
                line: source.line,
                column: None,
                end_line: None,
                end_column: None,
            });
            let title = match change.action {
                Action::Delete => format!("Token destroyed: {}", change.name),
                Action::Create | Action::Update => format!("Token loses access: {}", change.name),
            };
            Annotation {
                place,
                title,
                // An untraced SDK line says so: it is the resource's, not the entry's.
                message: format!(
                    "{}; {}{}",
                    headline(change),
                    breaking_reason(change).unwrap_or_default(),
                    source.map_or(String::new(), |s| s.note())
                ),
            }
        })
        .collect();
    let summary = plan.summary();
    let mut out = commands("warning", "breaking changes", &warnings);
    let _ = writeln!(
        out,
        "::notice title=tokenplan::{}",
        escape_data(&format!(
            "Plan{}: {} to add, {} to change, {} to destroy ({} unchanged).",
            plan.project
                .sdk
                .as_ref()
                .map_or(String::new(), |sdk| format!(" for the {sdk}")),
            summary.add,
            summary.change,
            summary.destroy,
            summary.unchanged
        ))
    );
    out
}

/// `::error` annotations for the errors that stopped a plan, at their places in the project
/// folder `prefix`, each with its code as title and its help after the message.
pub fn render_errors(errors: &[DiagnosticReport], prefix: &str) -> String {
    let annotations: Vec<Annotation> = errors
        .iter()
        .map(|e| Annotation {
            place: e.path.as_ref().map(|path| Place {
                file: repository_path(prefix, path),
                line: e.line,
                column: Some(e.column),
                end_line: Some(e.end_line),
                end_column: Some(e.end_column),
            }),
            title: e.code.clone(),
            message: match &e.help {
                Some(help) => format!("{}\nhelp: {help}", e.message),
                None => e.message.clone(),
            },
        })
        .collect();
    commands("error", "errors", &annotations)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_follows_the_actions_toolkit() {
        assert_eq!(
            escape_data("50% done\r\nnext: a,b"),
            "50%25 done%0D%0Anext: a,b"
        );
        assert_eq!(escape_property("a:b,c%\n"), "a%3Ab%2Cc%25%0A");
    }

    #[test]
    fn at_most_ten_then_a_count() {
        let annotation = Annotation {
            place: Some(Place {
                file: "p/a,b:c.pipe".into(),
                line: 3,
                column: Some(2),
                end_line: Some(3),
                end_column: Some(9),
            }),
            title: "t".into(),
            message: "m".into(),
        };
        let out = commands("error", "errors", &vec![annotation; 12]);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 11);
        assert_eq!(
            lines[0],
            "::error file=p/a%2Cb%3Ac.pipe,line=3,col=2,endLine=3,endColumn=9,title=t::m"
        );
        assert_eq!(
            lines[10],
            "::notice title=tokenplan::2 more errors not shown as annotations"
        );
    }

    #[test]
    fn paths_are_joined_to_the_project_folder() {
        assert_eq!(repository_path(".", "a.pipe"), "a.pipe");
        assert_eq!(repository_path("./tinybird/", "a.pipe"), "tinybird/a.pipe");
    }
}
