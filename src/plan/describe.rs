//! The words for a plan, shared by every output that shows one (text, Markdown, annotations,
//! editor hovers, apply's messages): a change's headline, why it breaks apps, its scope lines,
//! and the small phrases around them.

use similar::{Algorithm, ChangeTag, capture_diff_slices};

use super::diff::{Action, Change};
use crate::desired::Source;
use crate::scope::Scope;

/// The sentence that says what happens to a token.
pub fn headline(change: &Change) -> String {
    let verb = match change.action {
        Action::Create => "will be created",
        Action::Update => "will be updated in place",
        Action::Delete => "will be destroyed",
    };
    format!("token \"{}\" {verb}", change.name)
}

/// Why a breaking change breaks apps.
pub fn breaking_reason(change: &Change) -> Option<String> {
    if !change.breaking {
        return None;
    }
    Some(match change.action {
        Action::Delete => "breaking: apps holding this token lose all access".to_owned(),
        Action::Create | Action::Update => {
            let removed: Vec<&str> = change
                .scopes_removed
                .iter()
                .map(|s| s.scope.as_str())
                .collect();
            format!(
                "breaking: apps holding this token lose {}",
                removed.join(", ")
            )
        }
    })
}

/// Whether a scope line adds, removes or keeps its scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeLineKind {
    Kept,
    Added,
    Removed,
}

/// One scope line of a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeLine<'a> {
    pub kind: ScopeLineKind,
    pub scope: &'a str,
    /// For an added scope, the TOKEN lines behind it (`path:line, ...`).
    pub sources: Option<String>,
}

/// The scope lines of a change: its old and new scope lists diffed, added ones with the TOKEN
/// lines that declare them.
pub fn scope_lines(change: &Change) -> Vec<ScopeLine<'_>> {
    let before: Vec<&str> = change.scopes_before.iter().map(Scope::as_str).collect();
    let after: Vec<&str> = change.scopes_after.iter().map(Scope::as_str).collect();
    capture_diff_slices(Algorithm::Myers, &before, &after)
        .iter()
        .flat_map(|op| op.iter_changes(&before, &after))
        .map(|c| {
            let scope = c.value();
            let kind = match c.tag() {
                ChangeTag::Insert => ScopeLineKind::Added,
                ChangeTag::Delete => ScopeLineKind::Removed,
                ChangeTag::Equal => ScopeLineKind::Kept,
            };
            let sources = match kind {
                ScopeLineKind::Added => change
                    .scopes_added
                    .iter()
                    .find(|a| a.scope == scope)
                    .map(|a| sources_text(&a.sources))
                    .filter(|s| !s.is_empty()),
                ScopeLineKind::Removed | ScopeLineKind::Kept => None,
            };
            ScopeLine {
                kind,
                scope,
                sources,
            }
        })
        .collect()
}

/// `a.pipe:3, b.pipe:7`; an untraced SDK line says so: `a.ts:4 (untraced: resource
/// definition)`.
pub fn sources_text(sources: &[Source]) -> String {
    sources
        .iter()
        .map(|s| format!("{}:{}{}", s.path, s.line, s.note()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `A, B`, or `no scopes`.
pub fn scopes_text<'a>(scopes: impl IntoIterator<Item = &'a Scope>) -> String {
    let scopes: Vec<&str> = scopes.into_iter().map(Scope::as_str).collect();
    if scopes.is_empty() {
        "no scopes".into()
    } else {
        scopes.join(", ")
    }
}

/// What a token was once its change is made: `created`, `updated`, `destroyed`.
pub const fn past_tense(action: Action) -> &'static str {
    match action {
        Action::Create => "created",
        Action::Update => "updated",
        Action::Delete => "destroyed",
    }
}

/// `1 file`, `2 files`.
pub fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("{count} {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::ScopeChange;

    #[test]
    fn scope_lines_keep_add_and_remove_with_the_sources_of_added_ones() {
        let change = Change {
            name: "t".into(),
            action: Action::Update,
            breaking: true,
            scopes_before: ["A", "B"].into_iter().collect(),
            scopes_after: ["B", "C"].into_iter().collect(),
            scopes_added: vec![ScopeChange {
                scope: "C".into(),
                sources: vec![Source::in_datafile("c.pipe", 3, Default::default())],
            }],
            scopes_removed: vec![ScopeChange {
                scope: "A".into(),
                sources: Vec::new(),
            }],
            notes: Vec::new(),
        };
        let lines = scope_lines(&change);
        let seen: Vec<(ScopeLineKind, &str, Option<&str>)> = lines
            .iter()
            .map(|l| (l.kind, l.scope, l.sources.as_deref()))
            .collect();
        assert_eq!(
            seen,
            [
                (ScopeLineKind::Removed, "A", None),
                (ScopeLineKind::Kept, "B", None),
                (ScopeLineKind::Added, "C", Some("c.pipe:3")),
            ]
        );
        assert_eq!(
            breaking_reason(&change).as_deref(),
            Some("breaking: apps holding this token lose A")
        );
    }
}
