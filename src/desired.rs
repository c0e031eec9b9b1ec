//! The desired token set: a project's TOKEN directives turned into tokens and scopes, each scope
//! remembering the lines that declare it.

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde::Serialize;

use crate::model::{DatafileKind, TokenPermission};
use crate::project::Project;
use crate::source::Span;
use crate::workspace::fingerprint;

/// A TOKEN line that declares a scope.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Source {
    /// The file, relative to the project, `/`-separated.
    pub path: String,
    /// 1-based line of the directive.
    pub line: usize,
    /// The directive's span in that file.
    #[serde(skip)]
    pub span: Span,
}

/// A token the datafiles ask for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DesiredToken {
    /// Its name.
    pub name: String,
    /// Scope strings, sorted, each with the directives that declare it (in path, line order).
    pub scopes: BTreeMap<String, Vec<Source>>,
}

impl DesiredToken {
    /// The scope strings, sorted.
    pub fn scope_list(&self) -> Vec<String> {
        self.scopes.keys().cloned().collect()
    }

    /// Every directive behind this token.
    pub fn sources(&self) -> impl Iterator<Item = &Source> {
        self.scopes.values().flatten()
    }
}

/// Every token the datafiles ask for, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DesiredSet {
    /// Tokens by name.
    pub tokens: BTreeMap<String, DesiredToken>,
}

/// The scope a TOKEN directive grants: `DATASOURCES:READ:<ds>`, `DATASOURCES:APPEND:<ds>` or
/// `PIPES:READ:<pipe>`. `None` for combinations the compiler rejects.
pub fn scope_string(
    kind: DatafileKind,
    permission: TokenPermission,
    resource: &str,
) -> Option<String> {
    match (kind, permission) {
        (DatafileKind::Datasource, TokenPermission::Read) => {
            Some(format!("DATASOURCES:READ:{resource}"))
        }
        (DatafileKind::Datasource, TokenPermission::Append) => {
            Some(format!("DATASOURCES:APPEND:{resource}"))
        }
        (DatafileKind::Pipe, TokenPermission::Read) => Some(format!("PIPES:READ:{resource}")),
        (DatafileKind::Pipe, TokenPermission::Append) | (DatafileKind::Connection, _) => None,
    }
}

/// For `DATASOURCES:READ:<ds>`, the quarantine data source it also grants read on.
pub fn quarantine_of(scope: &str) -> Option<String> {
    scope
        .strip_prefix("DATASOURCES:READ:")
        .filter(|ds| !ds.is_empty())
        .map(|ds| format!("{ds}_quarantine"))
}

impl DesiredSet {
    /// Collects the TOKEN directives of a project. Call it only on a project without errors: a
    /// file that failed to compile must never be read as declaring no tokens.
    pub fn from_project(project: &Project) -> DesiredSet {
        // Lines are found per file in parallel (each needs its file's line index); the set is
        // then built in path order, so scopes list their sources in path, line order.
        let per_file: Vec<Vec<(&str, String, Source)>> = project
            .files
            .par_iter()
            .map(|file| {
                file.tokens
                    .iter()
                    .filter_map(|token| {
                        let scope = scope_string(file.kind, token.permission, &file.resource)?;
                        let source = Source {
                            path: file.path.clone(),
                            line: file.position(token.span.start).line,
                            span: token.span,
                        };
                        Some((token.name.as_str(), scope, source))
                    })
                    .collect()
            })
            .collect();
        let mut set = DesiredSet::default();
        for (name, scope, source) in per_file.into_iter().flatten() {
            let entry = match set.tokens.get_mut(name) {
                Some(entry) => entry,
                None => set
                    .tokens
                    .entry(name.to_owned())
                    .or_insert_with(|| DesiredToken {
                        name: name.to_owned(),
                        scopes: BTreeMap::new(),
                    }),
            };
            entry.scopes.entry(scope).or_default().push(source);
        }
        set
    }

    /// A hash of every (name, scopes) pair: what a saved plan was made from.
    pub fn hash(&self) -> String {
        let lists: Vec<(&str, Vec<String>)> = self
            .tokens
            .values()
            .map(|t| (t.name.as_str(), t.scope_list()))
            .collect();
        fingerprint(lists.iter().map(|(n, s)| (*n, s.as_slice())))
    }

    /// Number of TOKEN directives behind the set.
    pub fn directive_count(&self) -> usize {
        self.tokens.values().map(|t| t.sources().count()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_per_kind() {
        assert_eq!(
            scope_string(DatafileKind::Datasource, TokenPermission::Append, "events").as_deref(),
            Some("DATASOURCES:APPEND:events")
        );
        assert_eq!(
            scope_string(DatafileKind::Pipe, TokenPermission::Read, "top").as_deref(),
            Some("PIPES:READ:top")
        );
        assert_eq!(
            scope_string(DatafileKind::Pipe, TokenPermission::Append, "top"),
            None
        );
        assert_eq!(
            quarantine_of("DATASOURCES:READ:events").as_deref(),
            Some("events_quarantine")
        );
        assert_eq!(quarantine_of("PIPES:READ:top"), None);
    }
}
