//! GitHub Actions workflow commands: `::error` annotations for diagnostics and `::warning`
//! annotations for breaking token changes where the scopes they lose were granted, escaped as the
//! Actions toolkit escapes them (and control characters shown as text), at most a few of each
//! kind. Paths are from the repository root, which is where GitHub looks for them.

use std::fmt::Write;
use std::path::{Component, Path};

use super::diagnostics::DiagnosticReport;
use crate::plan::describe::{breaking_reason, destroys_everything, headline};
use crate::plan::places::Places;
use crate::plan::{Action, Plan};
use crate::project::Project;
use crate::text::escape_controls;

/// Annotations of one kind shown before the rest are summed up in one line.
pub(crate) const MAX_PER_KIND: usize = 10;

/// Escapes a command's message: `%`, CR and LF (the toolkit's `escapeData`), then shows the
/// other control characters as text, as every output for people does.
pub(crate) fn escape_data(text: &str) -> String {
    let data = text
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A");
    escape_controls(&data).into_owned()
}

/// Escapes a property value: as data, plus `:` and `,` (the toolkit's `escapeProperty`).
pub(crate) fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// A place in a file for an annotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Place {
    /// Path from the repository root.
    pub(crate) file: String,
    /// 1-based line; none for the file as a whole.
    pub(crate) line: Option<usize>,
    /// 1-based column.
    pub(crate) column: Option<usize>,
    /// 1-based end line.
    pub(crate) end_line: Option<usize>,
    /// 1-based end column.
    pub(crate) end_column: Option<usize>,
}

/// A workflow command: where, a title and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Annotation {
    /// Where, when it has a place.
    pub(crate) place: Option<Place>,
    pub(crate) title: String,
    pub(crate) message: String,
}

/// `::<command> <properties>::<message>` for one annotation.
pub(crate) fn command(kind: &str, annotation: &Annotation) -> String {
    let mut properties = Vec::new();
    if let Some(place) = &annotation.place {
        properties.push(format!("file={}", escape_property(&place.file)));
        if let Some(line) = place.line {
            properties.push(format!("line={line}"));
        }
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
pub(crate) fn commands(kind: &str, what: &str, annotations: &[Annotation]) -> String {
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

/// The project folder's path from the repository root (`""` for the root itself), both
/// absolute and with symbolic links resolved; `None` when the project is outside the repository,
/// where GitHub cannot place an annotation.
pub(crate) fn repository_prefix(project: &Path, root: &Path) -> Option<String> {
    let relative = project.strip_prefix(root).ok()?;
    let parts: Option<Vec<String>> = relative
        .components()
        .map(|c| match c {
            Component::Normal(part) => Some(part.to_string_lossy().into_owned()),
            Component::CurDir => Some(String::new()),
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => None,
        })
        .collect();
    let parts: Vec<String> = parts?.into_iter().filter(|p| !p.is_empty()).collect();
    Some(parts.join("/"))
}

/// A place for an annotation: `path` (relative to the project folder) from the repository root,
/// when the project is in the repository (`prefix`). Otherwise none, and the message starts with
/// the path and line instead, so that the place is still said.
fn place(
    prefix: Option<&str>,
    path: &str,
    line: Option<usize>,
    message: String,
) -> (Option<Place>, String) {
    match prefix {
        Some(prefix) => {
            let file = if prefix.is_empty() {
                path.to_owned()
            } else {
                format!("{prefix}/{path}")
            };
            let place = Place {
                file,
                line,
                column: None,
                end_line: None,
                end_column: None,
            };
            (Some(place), message)
        }
        None => match line {
            Some(line) => (None, format!("{path}:{line}: {message}")),
            None => (None, format!("{path}: {message}")),
        },
    }
}

/// A warning first when the plan destroys every managed token; warnings for its breaking changes
/// where the scopes they remove were granted (the TOKEN line of the token that is left in the
/// resource's file, or that file; none when the file is gone too); and a notice with the counts.
/// `prefix` is the project folder from the repository root, `None` outside it.
pub(crate) fn render_plan(plan: &Plan, project: &Project, prefix: Option<&str>) -> String {
    let places = Places::new(project);
    let warnings: Vec<Annotation> = plan
        .breaking()
        .map(|change| {
            let title = match change.action {
                Action::Delete => format!("Token destroyed: {}", change.name),
                Action::Create | Action::Update => format!("Token loses access: {}", change.name),
            };
            let message = format!(
                "{}; {}",
                headline(change),
                breaking_reason(change).unwrap_or_default()
            );
            let (place, message) = match places.removal(change) {
                Some(at) => place(prefix, &at.path, at.line, message + &at.note),
                None => (None, message),
            };
            Annotation {
                place,
                title,
                message,
            }
        })
        .collect();
    let summary = plan.summary();
    let mut out = String::new();
    if let Some(caution) = destroys_everything(plan) {
        // Before everything and never capped: it is the one thing to read.
        let _ = writeln!(
            out,
            "::warning title=tokenplan::{}",
            escape_data(&format!("{caution}."))
        );
    }
    out.push_str(&commands("warning", "breaking changes", &warnings));
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
/// folder (`prefix` from the repository root, `None` outside it), each with its code as title
/// and its help after the message.
pub(crate) fn render_errors(errors: &[DiagnosticReport], prefix: Option<&str>) -> String {
    let annotations: Vec<Annotation> = errors
        .iter()
        .map(|e| {
            let message = match &e.help {
                Some(help) => format!("{}\nhelp: {help}", e.message),
                None => e.message.clone(),
            };
            let (place, message) = match &e.path {
                Some(path) => {
                    let (place, message) = place(prefix, path, Some(e.line), message);
                    let place = place.map(|p| Place {
                        column: Some(e.column),
                        end_line: Some(e.end_line),
                        end_column: Some(e.end_column),
                        ..p
                    });
                    (place, message)
                }
                None => (None, message),
            };
            Annotation {
                place,
                title: e.code.clone(),
                message,
            }
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
                line: Some(3),
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
    fn paths_are_from_the_repository_root() {
        let root = Path::new("/repo");
        assert_eq!(
            repository_prefix(Path::new("/repo"), root).as_deref(),
            Some("")
        );
        assert_eq!(
            repository_prefix(Path::new("/repo/a/tinybird"), root).as_deref(),
            Some("a/tinybird")
        );
        assert_eq!(repository_prefix(Path::new("/elsewhere"), root), None);
        assert_eq!(
            place(Some("a"), "p.pipe", Some(3), "m".into())
                .0
                .unwrap()
                .file,
            "a/p.pipe"
        );
        assert_eq!(
            place(None, "p.pipe", Some(3), "m".into()),
            (None, "p.pipe:3: m".into())
        );
    }

    #[test]
    fn control_characters_are_shown_as_text() {
        assert_eq!(escape_data("a\x1b]0;t\x07\n"), "a\\x1b]0;t\\x07%0A");
    }
}
