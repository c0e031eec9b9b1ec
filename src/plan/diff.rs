//! The diff of a desired token set against a workspace snapshot: creates, in-place updates and
//! destroys, which of them break apps, and notes on quarantine reads and likely renames. Pure: it
//! reads no file and no workspace.

use std::collections::{BTreeMap, BTreeSet};

use miette::Diagnostic;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::desired::{DesiredSet, Source};
use crate::scope::{Scope, Scopes};
use crate::source::Span;
use crate::workspace::{Snapshot, TokenKind, WorkspaceInfo, is_default_token_name};

/// What happens to a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// A new token.
    Create,
    /// Scopes added or removed; the value stays.
    Update,
    /// The token goes away with its value.
    Delete,
}

impl Action {
    /// The lower-case name used in JSON.
    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
        }
    }
}

/// A scope added or removed, with the directives that declare it (none for a removal).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScopeChange {
    pub(crate) scope: Scope,
    /// The TOKEN lines behind it.
    pub(crate) sources: Vec<Source>,
}

/// One token's change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub(crate) name: String,
    pub(crate) action: Action,
    /// Apps holding the token lose access (a destroy, or scopes removed).
    pub(crate) breaking: bool,
    /// Scopes now (empty for a create).
    pub(crate) scopes_before: Scopes,
    /// Scopes after (empty for a destroy).
    pub(crate) scopes_after: Scopes,
    pub(crate) scopes_added: Vec<ScopeChange>,
    pub(crate) scopes_removed: Vec<ScopeChange>,
    /// Remarks: quarantine read access, likely renames, why a token goes.
    pub(crate) notes: Vec<String>,
}

/// The workspace a plan was made against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanWorkspace {
    /// `embedded` or `remote`.
    pub(crate) kind: String,
    /// The state file or the API host, as the command line would name it (empty in plans saved
    /// before it was recorded).
    #[serde(default)]
    pub(crate) location: String,
    /// Hash of the workspace's (name, scopes) pairs.
    pub(crate) fingerprint: String,
    /// The state's serial (embedded only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) serial: Option<u64>,
    /// The state's lineage (embedded only; none before the state is first written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) lineage: Option<String>,
}

/// The project a plan was made from: datafiles, or an SDK project and its config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanProject {
    /// The project path as given on the command line (empty when planned for an editor).
    pub(crate) path: String,
    /// `datafiles`, `typescript` or `python`.
    pub(crate) kind: &'static str,
    /// The config file that decided the kind, relative to the project folder and
    /// `/`-separated (`tinybird.config.json`); none without one.
    pub(crate) config: Option<String>,
    /// For people, SDK projects only: `TypeScript SDK project (tinybird.config.json)`.
    #[serde(skip)]
    pub(crate) sdk: Option<String>,
}

impl Default for PlanProject {
    /// A datafile project without a config file.
    fn default() -> Self {
        PlanProject {
            path: String::new(),
            kind: "datafiles",
            config: None,
            sdk: None,
        }
    }
}

/// Counts of a plan.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Tokens to create.
    pub(crate) add: usize,
    /// Tokens to update in place.
    pub(crate) change: usize,
    /// Tokens to destroy.
    pub(crate) destroy: usize,
    /// Managed tokens already as desired.
    pub(crate) unchanged: usize,
}

/// What must change for the workspace to match the datafiles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// What it was made from.
    pub(crate) project: PlanProject,
    pub(crate) desired_hash: String,
    /// What it was made against.
    pub(crate) workspace: PlanWorkspace,
    /// Changes sorted by token name.
    pub changes: Vec<Change>,
    /// Managed tokens already as desired.
    pub(crate) unchanged: usize,
}

impl Plan {
    pub(crate) fn summary(&self) -> Summary {
        let mut summary = Summary {
            unchanged: self.unchanged,
            ..Summary::default()
        };
        for change in &self.changes {
            match change.action {
                Action::Create => summary.add += 1,
                Action::Update => summary.change += 1,
                Action::Delete => summary.destroy += 1,
            }
        }
        summary
    }

    /// True when applying would do something.
    pub(crate) fn has_changes(&self) -> bool {
        !self.changes.is_empty()
    }

    /// True when the plan destroys every managed token of the workspace, and there was at least
    /// one: what a plan of the wrong folder looks like.
    pub(crate) fn destroys_every_managed_token(&self) -> bool {
        let summary = self.summary();
        summary.destroy > 0 && summary.change == 0 && summary.unchanged == 0
    }

    /// The changes that break apps.
    pub(crate) fn breaking(&self) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(|c| c.breaking)
    }
}

/// A TOKEN directive that names a token deployments may not touch.
#[derive(Debug, Clone, Error, Diagnostic, PartialEq, Eq)]
#[error("TOKEN `{name}` names a {kind} token, which deployments never change")]
#[diagnostic(code(tokenplan::plan::unmanaged_token))]
pub struct UnmanagedToken {
    pub(crate) name: String,
    /// Its kind in the workspace (default for the reserved default names).
    pub(crate) kind: TokenKind,
    pub(crate) path: String,
    #[label(primary, "this token is not managed by deployments")]
    pub(crate) span: Span,
    #[help]
    pub(crate) help: String,
}

fn unmanaged_help(kind: TokenKind) -> String {
    match kind {
        TokenKind::Default => {
            "default tokens belong to every workspace and are never changed: give this token another name".into()
        }
        TokenKind::Workspace | TokenKind::Resource => {
            "workspace tokens are managed with `tokenplan token`, not with TOKEN directives: give this token another name".into()
        }
    }
}

/// Compares the desired set with a workspace snapshot.
pub fn plan(
    desired: &DesiredSet,
    snapshot: &Snapshot,
    info: &WorkspaceInfo,
) -> Result<Plan, Vec<UnmanagedToken>> {
    let mut unmanaged = Vec::new();
    for token in desired.tokens.values() {
        let kind = match snapshot.get(&token.name) {
            Some(existing) if !existing.is_managed() => Some(existing.kind),
            _ if is_default_token_name(&token.name) => Some(TokenKind::Default),
            _ => None,
        };
        if let Some(kind) = kind {
            for source in token.sources() {
                let mut help = unmanaged_help(kind);
                if source.datafile != source.path {
                    // A generated line: say where to rename the token.
                    help.push_str(&format!(
                        " (this TOKEN line was generated from {}:{})",
                        source.path, source.line
                    ));
                }
                unmanaged.push(UnmanagedToken {
                    name: token.name.clone(),
                    kind,
                    path: source.datafile.clone(),
                    span: source.span,
                    help,
                });
            }
        }
    }
    if !unmanaged.is_empty() {
        unmanaged.sort_by(|a, b| (&a.path, a.span).cmp(&(&b.path, b.span)));
        return Err(unmanaged);
    }

    let mut changes = Vec::new();
    let mut unchanged = 0;
    for token in desired.tokens.values() {
        let after = token.scope_list();
        match snapshot.get(&token.name) {
            None => changes.push(Change {
                name: token.name.clone(),
                action: Action::Create,
                breaking: false,
                scopes_before: Scopes::new(),
                scopes_added: token
                    .scopes
                    .iter()
                    .map(|(scope, sources)| ScopeChange {
                        scope: scope.clone(),
                        sources: sources.clone(),
                    })
                    .collect(),
                scopes_after: after,
                scopes_removed: Vec::new(),
                notes: Vec::new(),
            }),
            Some(existing) => {
                let before = &existing.scopes;
                let added: Vec<ScopeChange> = after
                    .difference(before)
                    .map(|scope| ScopeChange {
                        scope: scope.clone(),
                        sources: token.scopes[scope].clone(),
                    })
                    .collect();
                let removed: Vec<ScopeChange> = before
                    .difference(&after)
                    .map(|scope| ScopeChange {
                        scope: scope.clone(),
                        sources: Vec::new(),
                    })
                    .collect();
                if added.is_empty() && removed.is_empty() {
                    unchanged += 1;
                    continue;
                }
                changes.push(Change {
                    name: token.name.clone(),
                    action: Action::Update,
                    breaking: !removed.is_empty(),
                    scopes_before: before.clone(),
                    scopes_after: after,
                    scopes_added: added,
                    scopes_removed: removed,
                    notes: Vec::new(),
                });
            }
        }
    }
    for existing in snapshot.tokens.iter().filter(|t| t.is_managed()) {
        if desired.tokens.contains_key(&existing.name) {
            continue;
        }
        changes.push(Change {
            name: existing.name.clone(),
            action: Action::Delete,
            breaking: true,
            scopes_removed: existing
                .scopes
                .iter()
                .map(|scope| ScopeChange {
                    scope: scope.clone(),
                    sources: Vec::new(),
                })
                .collect(),
            scopes_before: existing.scopes.clone(),
            scopes_after: Scopes::new(),
            scopes_added: Vec::new(),
            notes: vec!["no TOKEN directive declares this token any more".into()],
        });
    }
    changes.sort_by(|a, b| a.name.cmp(&b.name));
    add_notes(&mut changes);

    Ok(Plan {
        project: PlanProject::default(),
        desired_hash: desired.hash(),
        workspace: PlanWorkspace {
            kind: info.kind.clone(),
            location: info.location.clone(),
            fingerprint: snapshot.fingerprint(),
            serial: snapshot.serial,
            lineage: snapshot.lineage.clone(),
        },
        changes,
        unchanged,
    })
}

/// Quarantine notes on added `DATASOURCES:READ` scopes, and likely renames: a destroyed and a
/// created token with the same scopes.
fn add_notes(changes: &mut [Change]) {
    for change in changes.iter_mut() {
        for added in &change.scopes_added {
            if let Some(quarantine) = added.scope.quarantine() {
                change
                    .notes
                    .push(format!("{} also grants read on {quarantine}", added.scope));
            }
        }
    }
    let mut created_by_scopes: BTreeMap<&Scopes, Vec<usize>> = BTreeMap::new();
    for (i, change) in changes.iter().enumerate() {
        if change.action == Action::Create {
            created_by_scopes
                .entry(&change.scopes_after)
                .or_default()
                .push(i);
        }
    }
    let mut pairs = Vec::new();
    let mut taken = BTreeSet::new();
    for (i, change) in changes.iter().enumerate() {
        if change.action != Action::Delete {
            continue;
        }
        let candidate = created_by_scopes
            .get(&change.scopes_before)
            .and_then(|c| c.iter().find(|j| !taken.contains(*j)));
        if let Some(&j) = candidate {
            taken.insert(j);
            pairs.push((i, j));
        }
    }
    for (deleted, created) in pairs {
        let (old, new) = (changes[deleted].name.clone(), changes[created].name.clone());
        changes[deleted].notes.push(format!(
            "likely renamed to `{new}` (same scopes): apps holding this token's value lose access; the new token gets a new value"
        ));
        changes[created]
            .notes
            .push(format!("likely a rename of `{old}` (same scopes)"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desired::DesiredToken;
    use crate::workspace::Token;

    fn desired(tokens: &[(&str, &[&str])]) -> DesiredSet {
        let mut set = DesiredSet::default();
        for (name, scopes) in tokens {
            let token = DesiredToken {
                name: name.to_string(),
                scopes: scopes
                    .iter()
                    .map(|s| {
                        let source = Source::in_datafile("a.pipe", 1, Span::default());
                        (Scope::new(*s), vec![source])
                    })
                    .collect(),
            };
            set.tokens.insert(name.to_string(), token);
        }
        set
    }

    fn snapshot(tokens: &[(&str, TokenKind, &[&str])]) -> Snapshot {
        let mut tokens: Vec<Token> = tokens
            .iter()
            .map(|(name, kind, scopes)| Token {
                id: format!("id-{name}"),
                name: name.to_string(),
                value: "p.secret".into(),
                scopes: scopes.iter().map(|s| s.to_string()).collect(),
                kind: *kind,
                description: String::new(),
                created_at: String::new(),
                updated_at: String::new(),
            })
            .collect();
        tokens.sort_by(|a, b| a.name.cmp(&b.name));
        Snapshot {
            tokens,
            serial: Some(1),
            lineage: None,
        }
    }

    fn info() -> WorkspaceInfo {
        WorkspaceInfo {
            kind: "embedded".into(),
            location: "x".into(),
        }
    }

    #[test]
    fn creates_updates_destroys_and_counts_unchanged() {
        let desired = desired(&[
            ("new", &["PIPES:READ:p"]),
            ("grow", &["PIPES:READ:p", "DATASOURCES:READ:e"]),
            ("same", &["PIPES:READ:p"]),
        ]);
        let snapshot = snapshot(&[
            (
                "grow",
                TokenKind::Resource,
                &["PIPES:READ:p", "PIPES:READ:q"],
            ),
            ("same", TokenKind::Resource, &["PIPES:READ:p"]),
            ("gone", TokenKind::Resource, &["PIPES:READ:x"]),
            ("Workspace admin token", TokenKind::Default, &["ADMIN"]),
            ("ci", TokenKind::Workspace, &["TOKENS"]),
        ]);
        let plan = plan(&desired, &snapshot, &info()).unwrap();
        let actions: Vec<(&str, Action, bool)> = plan
            .changes
            .iter()
            .map(|c| (c.name.as_str(), c.action, c.breaking))
            .collect();
        assert_eq!(
            actions,
            [
                ("gone", Action::Delete, true),
                ("grow", Action::Update, true),
                ("new", Action::Create, false)
            ]
        );
        let grow = &plan.changes[1];
        assert_eq!(grow.scopes_added[0].scope, "DATASOURCES:READ:e");
        assert_eq!(grow.scopes_removed[0].scope, "PIPES:READ:q");
        assert_eq!(
            grow.notes,
            ["DATASOURCES:READ:e also grants read on e_quarantine"]
        );
        assert_eq!(
            plan.summary(),
            Summary {
                add: 1,
                change: 1,
                destroy: 1,
                unchanged: 1
            }
        );
    }

    #[test]
    fn same_scopes_destroyed_and_created_is_a_likely_rename() {
        let desired = desired(&[("new_name", &["PIPES:READ:p"])]);
        let snapshot = snapshot(&[("old_name", TokenKind::Resource, &["PIPES:READ:p"])]);
        let plan = plan(&desired, &snapshot, &info()).unwrap();
        assert!(plan.changes[0].notes[0].contains("likely a rename of `old_name`"));
        assert!(plan.changes[1].notes[1].contains("likely renamed to `new_name`"));
    }

    #[test]
    fn directives_naming_unmanaged_tokens_are_errors() {
        let desired = desired(&[("ci", &["PIPES:READ:p"]), ("User token", &["PIPES:READ:p"])]);
        let snapshot = snapshot(&[("ci", TokenKind::Workspace, &["TOKENS"])]);
        let errors = plan(&desired, &snapshot, &info()).unwrap_err();
        let kinds: Vec<(&str, TokenKind)> =
            errors.iter().map(|e| (e.name.as_str(), e.kind)).collect();
        assert_eq!(kinds.len(), 2);
        assert!(kinds.contains(&("ci", TokenKind::Workspace)));
        assert!(kinds.contains(&("User token", TokenKind::Default)));
    }
}
