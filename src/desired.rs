//! The desired token set: a project's TOKEN directives turned into tokens and scopes, each scope
//! remembering the lines that declare it.

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde::Serialize;

use crate::project::{Fallback, Project, TokenSource};
use crate::scope::{Scope, Scopes};
use crate::source::Span;
use crate::workspace::fingerprint;

/// A TOKEN line that declares a scope: in a datafile, or for an SDK project, the SDK source the
/// generated line comes from (never the generated file, which is nowhere on disk).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Source {
    /// The file, relative to the project, `/`-separated: the datafile, or the `.ts`/`.py` file.
    pub(crate) path: String,
    /// 1-based line of the directive, or of the SDK `tokens` entry.
    pub(crate) line: usize,
    /// For an SDK directive whose `tokens` entry could not be found: what `path:line` is
    /// instead (the resource's definition).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) untraced: Option<Fallback>,
    /// The datafile the directive is in (the generated one, for an SDK project), where `span`
    /// is.
    #[serde(skip)]
    pub(crate) datafile: String,
    /// The directive's span in that datafile.
    #[serde(skip)]
    pub(crate) span: Span,
}

impl Source {
    /// A TOKEN line of a datafile on disk.
    pub fn in_datafile(path: &str, line: usize, span: Span) -> Source {
        Source {
            path: path.to_owned(),
            line,
            untraced: None,
            datafile: path.to_owned(),
            span,
        }
    }

    /// ` (untraced: resource definition)` for an untraced SDK directive, else nothing.
    pub(crate) fn note(&self) -> String {
        match self.untraced {
            Some(fallback) => format!(" (untraced: {})", fallback.describe()),
            None => String::new(),
        }
    }
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
    pub(crate) fn sources(&self) -> impl Iterator<Item = &Source> {
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
                    .enumerate()
                    .filter_map(|(index, token)| {
                        let scope =
                            Scope::for_directive(file.kind, token.permission, &file.resource)?;
                        let source = match &file.generated {
                            None => Source::in_datafile(
                                &file.path,
                                file.position(token.span.start).line,
                                token.span,
                            ),
                            Some(generated) => {
                                let TokenSource { location, untraced } =
                                    generated.token_source(index);
                                Source {
                                    path: location.path,
                                    line: location.line as usize,
                                    untraced,
                                    datafile: file.path.clone(),
                                    span: token.span,
                                }
                            }
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
        if project.is_sdk() {
            // Generated files come in the SDK's path order, not their sources'; two directives
            // may also come from one line (a constant list attached to one resource).
            for sources in set.tokens.values_mut().flat_map(|t| t.scopes.values_mut()) {
                sources.sort();
                sources.dedup_by(|a, b| (&a.path, a.line) == (&b.path, b.line));
            }
        }
        set
    }

    /// A hash of every (name, scopes) pair: what a saved plan was made from.
    pub(crate) fn hash(&self) -> String {
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
