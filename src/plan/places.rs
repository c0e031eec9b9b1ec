//! Where in the project a breaking change belongs, for annotations on a pull request's diff. A
//! removed scope has no TOKEN line left to point at; the file of its resource is where that line
//! was, and a TOKEN line of the same token still in that file (with another permission now) is
//! the line that used to grant it.

use std::collections::HashMap;

use super::diff::Change;
use crate::model::DatafileKind;
use crate::project::{Project, ProjectFile};
use crate::scope::Scope;

/// A file of the project and, when known, a line in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Place {
    /// Relative to the project, `/`-separated.
    pub(crate) path: String,
    /// 1-based line; `None` for the file as a whole.
    pub(crate) line: Option<usize>,
    /// ` (untraced: ...)` when an SDK line is the resource's rather than its `tokens` entry.
    pub(crate) note: String,
}

/// The project's files by the resource they define.
#[derive(Debug)]
pub(crate) struct Places<'a> {
    files: HashMap<(DatafileKind, &'a str), &'a ProjectFile>,
}

impl<'a> Places<'a> {
    /// Indexes a project's files (the first of a kind and name, as plans only run on projects
    /// without duplicates).
    pub(crate) fn new(project: &'a Project) -> Self {
        let mut files = HashMap::with_capacity(project.files.len());
        for file in &project.files {
            files
                .entry((file.kind, file.resource.as_str()))
                .or_insert(file);
        }
        Places { files }
    }

    /// Where the first removed scope of a change (that has a place) was granted: the TOKEN line
    /// of this token in its resource's file, or that file; `None` when the resource's file is
    /// gone too.
    pub(crate) fn removal(&self, change: &Change) -> Option<Place> {
        change
            .scopes_removed
            .iter()
            .find_map(|removed| self.scope(&change.name, &removed.scope))
    }

    fn scope(&self, token: &str, scope: &Scope) -> Option<Place> {
        let (kind, resource) = scope.datafile()?;
        let file = self.files.get(&(kind, resource))?;
        let directive = file.tokens.iter().position(|t| t.name == token);
        // A generated datafile is not on disk: its SDK source stands in, the token's `tokens`
        // entry in the resource's definition, or that definition.
        if let Some(from) = &file.generated {
            let (location, note) = match directive {
                Some(index) => {
                    let source = from.token_source(index);
                    let note = source
                        .untraced
                        .map_or(String::new(), |f| format!(" (untraced: {})", f.describe()));
                    (source.location, note)
                }
                None => (from.location_of(&[], 0), String::new()),
            };
            return Some(Place {
                path: location.path,
                line: Some(location.line as usize),
                note,
            });
        }
        let line = directive.map(|index| file.position(file.tokens[index].span.start).line);
        Some(Place {
            path: file.path.clone(),
            line,
            note: String::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_name_their_resource() {
        assert_eq!(
            Scope::from("DATASOURCES:APPEND:events").datafile(),
            Some((DatafileKind::Datasource, "events"))
        );
        assert_eq!(
            Scope::from("PIPES:READ:top").datafile(),
            Some((DatafileKind::Pipe, "top"))
        );
        assert_eq!(Scope::from("TOKENS").datafile(), None);
    }
}
