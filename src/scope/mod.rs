//! Scopes and token names, parsed once: [`Scope`] (a scope string `TYPE[:resource[:filter]]`
//! and its parts), [`ScopeKind`] (the one list of scope types), [`Scopes`] (a token's sorted,
//! deduplicated scope set, in `set`) and [`TokenName`] (the rules for token names, in `name`).

mod name;
mod set;
#[cfg(test)]
mod tests;

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::convert::Infallible;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::model::{DatafileKind, TokenPermission};

#[cfg(test)]
use name::InvalidTokenName;
pub(crate) use name::TokenName;
pub use set::Scopes;
/// A scope type the Tokens API knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum ScopeKind {
    /// `DATASOURCES:READ:<ds>`: query a data source (and its quarantine data source).
    DatasourcesRead,
    /// `DATASOURCES:APPEND:<ds>`: append rows to a data source.
    DatasourcesAppend,
    /// `DATASOURCES:DROP:<ds>`.
    DatasourcesDrop,
    /// `PIPES:READ:<pipe>`: call a pipe's endpoint.
    PipesRead,
    /// `PIPES:DROP:<pipe>`.
    PipesDrop,
    /// `ADMIN`.
    Admin,
    /// `TOKENS`: manage tokens.
    Tokens,
    /// `WORKSPACE:READ_ALL`.
    WorkspaceReadAll,
    /// `WORKSPACE:DEPLOY`.
    WorkspaceDeploy,
    /// `ORG_DATASOURCES:READ`.
    OrgDatasourcesRead,
    /// `DATASOURCES:CREATE`.
    DatasourcesCreate,
    /// `PIPES:CREATE`.
    PipesCreate,
}

impl ScopeKind {
    /// Every type: those that take a resource first, then those that stand alone.
    pub(crate) const ALL: [ScopeKind; 12] = [
        ScopeKind::DatasourcesRead,
        ScopeKind::DatasourcesAppend,
        ScopeKind::DatasourcesDrop,
        ScopeKind::PipesRead,
        ScopeKind::PipesDrop,
        ScopeKind::Admin,
        ScopeKind::Tokens,
        ScopeKind::WorkspaceReadAll,
        ScopeKind::WorkspaceDeploy,
        ScopeKind::OrgDatasourcesRead,
        ScopeKind::DatasourcesCreate,
        ScopeKind::PipesCreate,
    ];

    /// The workspace and organization scopes: what `tokenplan token create static` accepts, and
    /// what deployments never touch.
    pub(crate) const WORKSPACE: [ScopeKind; 5] = [
        ScopeKind::Tokens,
        ScopeKind::Admin,
        ScopeKind::WorkspaceReadAll,
        ScopeKind::WorkspaceDeploy,
        ScopeKind::OrgDatasourcesRead,
    ];

    /// The type as the API writes it: `DATASOURCES:READ`, `TOKENS`...
    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            ScopeKind::DatasourcesRead => "DATASOURCES:READ",
            ScopeKind::DatasourcesAppend => "DATASOURCES:APPEND",
            ScopeKind::DatasourcesDrop => "DATASOURCES:DROP",
            ScopeKind::PipesRead => "PIPES:READ",
            ScopeKind::PipesDrop => "PIPES:DROP",
            ScopeKind::Admin => "ADMIN",
            ScopeKind::Tokens => "TOKENS",
            ScopeKind::WorkspaceReadAll => "WORKSPACE:READ_ALL",
            ScopeKind::WorkspaceDeploy => "WORKSPACE:DEPLOY",
            ScopeKind::OrgDatasourcesRead => "ORG_DATASOURCES:READ",
            ScopeKind::DatasourcesCreate => "DATASOURCES:CREATE",
            ScopeKind::PipesCreate => "PIPES:CREATE",
        }
    }

    /// True for types written `TYPE:resource[:filter]`.
    pub(crate) const fn takes_resource(self) -> bool {
        matches!(
            self,
            ScopeKind::DatasourcesRead
                | ScopeKind::DatasourcesAppend
                | ScopeKind::DatasourcesDrop
                | ScopeKind::PipesRead
                | ScopeKind::PipesDrop
        )
    }

    /// True for the types deployments manage from TOKEN directives.
    pub(crate) const fn is_deployed(self) -> bool {
        matches!(
            self,
            ScopeKind::DatasourcesRead | ScopeKind::DatasourcesAppend | ScopeKind::PipesRead
        )
    }

    /// True for the types in [`ScopeKind::WORKSPACE`].
    pub(crate) fn is_workspace(self) -> bool {
        ScopeKind::WORKSPACE.contains(&self)
    }
}

impl fmt::Display for ScopeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One scope, kept as its exact string and parsed once.
///
/// Any string is a scope: unknown types (kept whole) and incomplete ones (`PIPES:READ`) read from
/// a workspace are kept as they are; [`Scope::check`] says whether a workspace accepts it. A type
/// that takes a resource is split off at its `:`, and the rest at its first `:` into resource
/// and row filter. Equality, order and hash are those of the string, so sorted scopes come out
/// in string order.
#[derive(Clone)]
pub struct Scope {
    /// The scope string, exactly as given.
    text: String,
    /// The type, when known: the whole string for a type that stands alone, or the part before
    /// `:` for one that takes a resource.
    kind: Option<ScopeKind>,
    /// Where the part after `TYPE:` starts, for a type that takes a resource and has a `:`.
    rest: Option<usize>,
}

impl Scope {
    /// Parses a scope string. Never fails: see [`Scope::check`] for validation.
    pub(crate) fn new(text: impl Into<String>) -> Scope {
        let text = text.into();
        for kind in ScopeKind::ALL {
            let name = kind.as_str();
            if !kind.takes_resource() {
                if text == name {
                    return Scope {
                        text,
                        kind: Some(kind),
                        rest: None,
                    };
                }
                continue;
            }
            match text.strip_prefix(name) {
                Some("") => {
                    return Scope {
                        text,
                        kind: Some(kind),
                        rest: None,
                    };
                }
                Some(rest) if rest.starts_with(':') => {
                    return Scope {
                        text,
                        kind: Some(kind),
                        rest: Some(name.len() + 1),
                    };
                }
                _ => {}
            }
        }
        Scope {
            text,
            kind: None,
            rest: None,
        }
    }

    /// The scope a TOKEN directive grants: `DATASOURCES:READ:<ds>`, `DATASOURCES:APPEND:<ds>` or
    /// `PIPES:READ:<pipe>`. `None` for combinations the compiler rejects.
    pub(crate) fn for_directive(
        kind: DatafileKind,
        permission: TokenPermission,
        resource: &str,
    ) -> Option<Scope> {
        let kind = match (kind, permission) {
            (DatafileKind::Datasource, TokenPermission::Read) => ScopeKind::DatasourcesRead,
            (DatafileKind::Datasource, TokenPermission::Append) => ScopeKind::DatasourcesAppend,
            (DatafileKind::Pipe, TokenPermission::Read) => ScopeKind::PipesRead,
            (DatafileKind::Pipe, TokenPermission::Append) | (DatafileKind::Connection, _) => {
                return None;
            }
        };
        Some(Scope::new(format!("{kind}:{resource}")))
    }

    /// The scope string.
    pub(crate) fn as_str(&self) -> &str {
        &self.text
    }

    /// The type, when it is one the API knows.
    pub(crate) fn kind(&self) -> Option<ScopeKind> {
        self.kind
    }

    /// Everything after `TYPE:`: resource and filter.
    fn rest(&self) -> Option<&str> {
        self.rest.map(|at| &self.text[at..])
    }

    /// The data source or pipe, for a type that takes a resource (possibly empty).
    pub(crate) fn resource(&self) -> Option<&str> {
        self.rest()
            .map(|rest| rest.split_once(':').map_or(rest, |(resource, _)| resource))
    }

    /// The row filter after `TYPE:resource:`, when there is one (possibly empty).
    pub(crate) fn filter(&self) -> Option<&str> {
        self.rest()
            .and_then(|rest| rest.split_once(':'))
            .map(|(_, filter)| filter)
    }

    /// True for the scopes deployments manage: `DATASOURCES:READ:<ds>`, `DATASOURCES:APPEND:<ds>`
    /// and `PIPES:READ:<pipe>` (with or without a row filter suffix).
    pub(crate) fn is_resource(&self) -> bool {
        self.kind.is_some_and(ScopeKind::is_deployed) && self.rest().is_some_and(|r| !r.is_empty())
    }

    /// The kind and name of the resource a TOKEN directive grants this scope on: the inverse of
    /// [`Scope::for_directive`].
    pub(crate) fn datafile(&self) -> Option<(DatafileKind, &str)> {
        let kind = match self.kind? {
            ScopeKind::DatasourcesRead | ScopeKind::DatasourcesAppend => DatafileKind::Datasource,
            ScopeKind::PipesRead => DatafileKind::Pipe,
            _ => return None,
        };
        Some((kind, self.resource()?))
    }

    /// True for the scopes of the `DATASOURCES:` and `PIPES:` families, known or not.
    pub(crate) fn is_datasources_or_pipes(&self) -> bool {
        self.text.starts_with("DATASOURCES:") || self.text.starts_with("PIPES:")
    }

    /// True for `ADMIN` and `TOKENS`, the scopes that may manage tokens.
    pub(crate) fn manages_tokens(&self) -> bool {
        matches!(self.kind, Some(ScopeKind::Admin | ScopeKind::Tokens))
    }

    /// For `DATASOURCES:READ:<ds>`, the quarantine data source it also grants read on. `<ds>` is
    /// everything after `DATASOURCES:READ:`, not [`Scope::resource`]: a TOKEN directive's data
    /// source is its file stem, which may itself hold a `:`.
    pub(crate) fn quarantine(&self) -> Option<String> {
        match (self.kind, self.rest()) {
            (Some(ScopeKind::DatasourcesRead), Some(ds)) if !ds.is_empty() => {
                Some(format!("{ds}_quarantine"))
            }
            _ => None,
        }
    }

    /// Why a workspace would not accept this scope.
    pub(crate) fn check(&self) -> Result<(), String> {
        let Some(kind) = self.kind else {
            let names = |resource: bool| {
                ScopeKind::ALL
                    .iter()
                    .filter(|k| k.takes_resource() == resource)
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            return Err(format!(
                "unknown scope `{self}`: expected one of {}, or TYPE:resource with TYPE one of {}",
                names(false),
                names(true)
            ));
        };
        if !kind.takes_resource() {
            return Ok(());
        }
        if self.resource().unwrap_or_default().is_empty() {
            return Err(format!("scope `{self}` needs a resource: {kind}:<name>"));
        }
        if self.filter().is_some()
            && !matches!(kind, ScopeKind::DatasourcesRead | ScopeKind::PipesRead)
        {
            return Err(format!(
                "scope `{self}`: only READ scopes take a row filter"
            ));
        }
        Ok(())
    }
}

impl From<String> for Scope {
    fn from(text: String) -> Scope {
        Scope::new(text)
    }
}

impl From<&str> for Scope {
    fn from(text: &str) -> Scope {
        Scope::new(text)
    }
}

impl From<ScopeKind> for Scope {
    fn from(kind: ScopeKind) -> Scope {
        Scope::new(kind.as_str())
    }
}

impl FromStr for Scope {
    type Err = Infallible;

    fn from_str(text: &str) -> Result<Scope, Infallible> {
        Ok(Scope::new(text))
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.text, f)
    }
}

impl PartialEq for Scope {
    fn eq(&self, other: &Scope) -> bool {
        self.text == other.text
    }
}

impl Eq for Scope {}

impl PartialOrd for Scope {
    fn partial_cmp(&self, other: &Scope) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Scope {
    fn cmp(&self, other: &Scope) -> Ordering {
        self.text.cmp(&other.text)
    }
}

impl Hash for Scope {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.text.hash(state);
    }
}

impl Borrow<str> for Scope {
    fn borrow(&self) -> &str {
        &self.text
    }
}

impl AsRef<str> for Scope {
    fn as_ref(&self) -> &str {
        &self.text
    }
}

impl PartialEq<str> for Scope {
    fn eq(&self, other: &str) -> bool {
        self.text == other
    }
}

impl PartialEq<&str> for Scope {
    fn eq(&self, other: &&str) -> bool {
        self.text == *other
    }
}

impl Serialize for Scope {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Scope {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Scope, D::Error> {
        String::deserialize(deserializer).map(Scope::new)
    }
}
