//! Hover on a TOKEN line: the scope it grants, the other directives of the same token, and what
//! a plan against the embedded workspace would do to it, as Markdown.

use std::fmt::Write;

use lsp_types::{Hover, HoverContents, MarkupContent, MarkupKind, Position};

use super::analysis::Folder;
use super::convert;
use crate::desired::DesiredSet;
use crate::model::TokenDirective;
use crate::plan;
use crate::plan::describe::{
    ScopeLine, ScopeLineKind, breaking_reason, headline, plural, scope_lines,
};
use crate::project::ProjectFile;
use crate::scope::Scope;
use crate::source::Span;
use crate::text::escape_controls;
use crate::workspace::Workspace;
use crate::workspace::embedded::EmbeddedWorkspace;
use crate::workspace::state::DEFAULT_STATE_PATH;

/// Opening an embedded workspace needs an admin email, but it only names the admin token of a
/// state that does not exist yet, and hover reads existing states only.
const UNUSED_ADMIN_EMAIL: &str = "admin@localhost";

/// The hover of the TOKEN directive under `position`, if any.
pub(crate) fn hover(folder: &Folder, file: &ProjectFile, position: Position) -> Option<Hover> {
    let offset = convert::offset(file, position);
    let touches = |span: Span| span.start <= offset && offset <= span.end;
    let (token, span) = file.tokens.iter().find_map(|t| {
        if touches(t.name_span) {
            Some((t, t.name_span))
        } else if touches(t.permission_span) {
            Some((t, t.permission_span))
        } else {
            None
        }
    })?;
    let mut text = String::new();
    let scope = Scope::for_directive(file.kind, token.permission, &file.resource);
    match &scope {
        Some(scope) => {
            let _ = writeln!(
                text,
                "**TOKEN {}** grants {}",
                code(&token.name),
                code(scope.as_str())
            );
            if let Some(quarantine) = scope.quarantine() {
                let _ = writeln!(
                    text,
                    "\n{} also grants read on the quarantine data source {}.",
                    code(scope.as_str()),
                    code(&quarantine)
                );
            }
        }
        None => {
            let _ = writeln!(text, "**TOKEN {}** grants nothing here", code(&token.name));
        }
    }
    let others = other_declarations(folder, file, token);
    if !others.is_empty() {
        let _ = writeln!(text, "\nAlso declared in:");
        for (place, scope) in &others {
            let _ = writeln!(text, "- {} grants {}", code(place), code(scope.as_str()));
        }
    }
    if let Some(section) = plan_section(folder, &token.name) {
        let _ = write!(text, "\n{section}");
    }
    Some(Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value: escape_controls(text.trim_end()).into_owned(),
        }),
        range: Some(convert::range(file, span)),
    })
}

/// Every other TOKEN directive of the same name in the project, as `path:line` and the scope it
/// grants, in path and line order.
fn other_declarations(
    folder: &Folder,
    this_file: &ProjectFile,
    this: &TokenDirective,
) -> Vec<(String, Scope)> {
    let mut others = Vec::new();
    for file in &folder.project.files {
        for token in &file.tokens {
            let same_directive = file.path == this_file.path && token.span == this.span;
            if token.name != this.name || same_directive {
                continue;
            }
            let Some(scope) = Scope::for_directive(file.kind, token.permission, &file.resource)
            else {
                continue;
            };
            let line = file.position(token.span.start).line;
            others.push((format!("{}:{line}", file.path), scope));
        }
    }
    others
}

/// What a plan would do to the token, when the folder's embedded workspace state exists.
fn plan_section(folder: &Folder, name: &str) -> Option<String> {
    if !folder.is_workspace_folder {
        return None;
    }
    let state = folder.project.root.join(DEFAULT_STATE_PATH);
    // The database, or a JSON state of an earlier version (read without migrating it).
    if !crate::workspace::state::exists(&state) {
        return None;
    }
    let title = format!("**Plan** against {}:", code(DEFAULT_STATE_PATH));
    let broken = folder
        .project
        .files
        .iter()
        .filter(|f| f.has_errors())
        .count();
    if broken > 0 {
        // As `tokenplan plan`: a file that failed to compile must never read as declaring no
        // tokens, so there is no plan at all.
        return Some(format!(
            "{title} none while {} errors; fix them first.",
            if broken == 1 {
                "1 file has".to_owned()
            } else {
                format!("{} have", plural(broken, "file"))
            }
        ));
    }
    let mut workspace = match EmbeddedWorkspace::open(&state, UNUSED_ADMIN_EMAIL, "") {
        Ok(workspace) => workspace,
        Err(error) => return Some(format!("{title} none: {error}")),
    };
    let snapshot = match workspace.snapshot() {
        Ok(snapshot) => snapshot,
        Err(error) => return Some(format!("{title} none: {error}")),
    };
    let desired = DesiredSet::from_project(&folder.project);
    let plan = match plan::plan(&desired, &snapshot, &workspace.info()) {
        Ok(plan) => plan,
        Err(unmanaged) => {
            let reason = unmanaged
                .iter()
                .find(|u| u.name == name)
                .or(unmanaged.first())
                .map(ToString::to_string)
                .unwrap_or_default();
            return Some(format!("{title} none: {reason}"));
        }
    };
    let Some(change) = plan.changes.iter().find(|c| c.name == name) else {
        return Some(format!(
            "{title} no change: the workspace already grants token {} exactly these scopes.",
            code(name)
        ));
    };
    let mut text = format!("{title} {}", headline(change));
    if let Some(reason) = breaking_reason(change) {
        let _ = write!(text, " ({reason})");
    }
    text.push_str("\n```diff\n");
    for ScopeLine { kind, scope, .. } in scope_lines(change) {
        let marker = match kind {
            ScopeLineKind::Added => '+',
            ScopeLineKind::Removed => '-',
            ScopeLineKind::Kept => ' ',
        };
        let _ = writeln!(text, "{marker} {scope}");
    }
    text.push_str("```\n");
    for note in &change.notes {
        let _ = writeln!(text, "- {note}");
    }
    Some(text)
}

/// `text` as Markdown inline code, with a fence longer than any run of backticks inside.
fn code(text: &str) -> String {
    let longest_run = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest_run + 1);
    if longest_run == 0 {
        format!("{fence}{text}{fence}")
    } else {
        format!("{fence} {text} {fence}")
    }
}
