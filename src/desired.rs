//! The desired token set: a project's TOKEN directives turned into tokens and scopes, each scope
//! remembering the lines that declare it.

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde::Serialize;

use crate::project::Project;
use crate::scope::{Scope, Scopes};
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
    /// Scopes, sorted, each with the directives that declare it (in path, line order).
    pub scopes: BTreeMap<Scope, Vec<Source>>,
}

impl DesiredToken {
    /// The scopes, sorted.
    pub fn scope_list(&self) -> Scopes {
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

impl DesiredSet {
    /// Collects the TOKEN directives of a project. Call it only on a project without errors: a
    /// file that failed to compile must never be read as declaring no tokens.
    pub fn from_project(project: &Project) -> DesiredSet {
        // Lines are found per file in parallel (each needs its file's line index); the set is
        // then built in path order, so scopes list their sources in path, line order.
        let per_file: Vec<Vec<(&str, Scope, Source)>> = project
            .files
            .par_iter()
            .map(|file| {
                file.tokens
                    .iter()
                    .filter_map(|token| {
                        let scope =
                            Scope::for_directive(file.kind, token.permission, &file.resource)?;
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
        let lists: Vec<(&str, Scopes)> = self
            .tokens
            .values()
            .map(|t| (t.name.as_str(), t.scope_list()))
            .collect();
        fingerprint(lists.iter().map(|(n, s)| (*n, s)))
    }

    /// Number of TOKEN directives behind the set.
    pub fn directive_count(&self) -> usize {
        self.tokens.values().map(|t| t.sources().count()).sum()
    }
}
