//! The words for a plan, shared by every output that shows one (text, Markdown, annotations,
//! editor hovers, apply's messages): a change's headline, why it breaks apps, its scope lines,
//! and the small phrases around them.

use similar::{Algorithm, ChangeTag, capture_diff_slices};

use super::diff::{Action, Change, Plan, PlanWorkspace};
use crate::desired::Source;
use crate::scope::Scope;

/// Token names listed in one line before the rest are only counted: a plan of thousands of
/// changes must not print thousands of names in a warning.
pub(crate) const NAMES_SHOWN: usize = 10;

/// `a, b and 3 more`: at most [`NAMES_SHOWN`] names, then how many were left out.
pub(crate) fn name_list<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    let mut shown = Vec::new();
    let mut more = 0;
    for name in names {
        if shown.len() < NAMES_SHOWN {
            shown.push(name);
        } else {
            more += 1;
        }
    }
    let list = shown.join(", ");
    if more > 0 {
        format!("{list} and {more} more")
    } else {
        list
    }
}

/// The caution for a plan that destroys every managed token of the workspace: it usually means
/// the wrong folder was planned.
pub(crate) fn destroys_everything(plan: &Plan) -> Option<String> {
    plan.destroys_every_managed_token().then(|| {
        format!(
            "This plan destroys every managed token of the workspace ({}) and keeps none: check that it is the right project folder",
            plural(plan.summary().destroy, "token")
        )
    })
}

/// `--allow-destroy=NAME`, the name quoted for a POSIX shell when it needs to be.
pub(crate) fn allow_destroy_flag(name: &str) -> String {
    let plain = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.,:/@%+=".contains(c));
    if plain {
        format!("--allow-destroy={name}")
    } else {
        format!("--allow-destroy='{}'", name.replace('\'', "'\\''"))
    }
}

/// How to allow breaking changes to these tokens: the flag for each of a few, the flag's form
/// for many, and the flag that allows them all.
pub(crate) fn allow_destroy_advice(names: &[&str]) -> String {
    const SPELLED_OUT: usize = 3;
    let each = if names.len() <= SPELLED_OUT {
        let flags: Vec<String> = names.iter().map(|n| allow_destroy_flag(n)).collect();
        flags.join(" ")
    } else {
        "--allow-destroy=NAME for each".to_owned()
    };
    format!("pass {each}, or --allow-destroy for every breaking change")
}

/// The sentence that says what happens to a token.
pub(crate) fn headline(change: &Change) -> String {
    let verb = match change.action {
        Action::Create => "will be created",
        Action::Update => "will be updated in place",
        Action::Delete => "will be destroyed",
    };
    format!("token \"{}\" {verb}", change.name)
}

/// What a plan was made against, `quote` wrapping the place: "planned against the embedded
/// workspace .tokenplan/workspace.json" or "planned against the workspace at https://…".
pub(crate) fn planned_against(workspace: &PlanWorkspace, quote: impl Fn(&str) -> String) -> String {
    let place = project_label(&workspace.location);
    match workspace.kind.as_str() {
        "embedded" => format!("planned against the embedded workspace {}", quote(&place)),
        _ => format!("planned against the workspace at {}", quote(&place)),
    }
}

/// The workspace in a word or two: `https://…`, or `.tokenplan/workspace.json (embedded)`.
pub(crate) fn workspace_label(workspace: &PlanWorkspace) -> String {
    let place = project_label(&workspace.location);
    match workspace.kind.as_str() {
        "embedded" => format!("{place} (embedded)"),
        _ => place,
    }
}

/// A path or host for a headline: printed, never run through a terminal, so control characters
/// become `?`.
pub(crate) fn project_label(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// Why a breaking change breaks apps.
pub(crate) fn breaking_reason(change: &Change) -> Option<String> {
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
pub(crate) enum ScopeLineKind {
    Kept,
    Added,
    Removed,
}

/// One scope line of a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ScopeLine<'a> {
    pub(crate) kind: ScopeLineKind,
    pub(crate) scope: &'a str,
    /// For an added scope, the TOKEN lines behind it (`path:line, ...`).
    pub(crate) sources: Option<String>,
}

/// The scope lines of a change: its old and new scope lists diffed, added ones with the TOKEN
/// lines that declare them.
pub(crate) fn scope_lines(change: &Change) -> Vec<ScopeLine<'_>> {
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
pub(crate) fn sources_text(sources: &[Source]) -> String {
    sources
        .iter()
        .map(|s| format!("{}:{}{}", s.path, s.line, s.note()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `A, B`, or `no scopes`.
pub(crate) fn scopes_text<'a>(scopes: impl IntoIterator<Item = &'a Scope>) -> String {
    let scopes: Vec<&str> = scopes.into_iter().map(Scope::as_str).collect();
    if scopes.is_empty() {
        "no scopes".into()
    } else {
        scopes.join(", ")
    }
}

/// What a token was once its change is made: `created`, `updated`, `destroyed`.
pub(crate) const fn past_tense(action: Action) -> &'static str {
    match action {
        Action::Create => "created",
        Action::Update => "updated",
        Action::Delete => "destroyed",
    }
}

/// `1 file`, `2 files`.
pub(crate) fn plural(count: usize, noun: &str) -> String {
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

    #[test]
    fn flags_are_quoted_for_the_shell_and_lists_are_capped() {
        assert_eq!(allow_destroy_flag("t-1.x"), "--allow-destroy=t-1.x");
        assert_eq!(
            allow_destroy_flag("it's on"),
            "--allow-destroy='it'\\''s on'"
        );
        assert_eq!(
            allow_destroy_advice(&["a", "b c"]),
            "pass --allow-destroy=a --allow-destroy='b c', or --allow-destroy for every breaking change"
        );
        let names: Vec<String> = (0..12).map(|i| format!("t{i}")).collect();
        assert_eq!(
            name_list(names.iter().map(String::as_str)),
            "t0, t1, t2, t3, t4, t5, t6, t7, t8, t9 and 2 more"
        );
    }
}
