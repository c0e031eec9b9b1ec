//! Scopes and token names, parsed once: [`Scope`] (a scope string `TYPE[:resource[:filter]]`
//! and its parts), [`ScopeKind`] (the one list of scope types), [`Scopes`] (a token's sorted,
//! deduplicated scope set) and [`TokenName`] (the rules for token names).

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::convert::Infallible;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::model::{DatafileKind, TokenPermission};

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

/// A token's scopes: sorted in string order, each once. Serialized as a list of scope strings;
/// reads as a slice of [`Scope`] (`iter`, `len`, `join`...).
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Scopes(Vec<Scope>);

impl Scopes {
    /// No scopes.
    pub(crate) fn new() -> Scopes {
        Scopes(Vec::new())
    }

    /// The scopes, in order.
    pub(crate) fn as_slice(&self) -> &[Scope] {
        &self.0
    }

    /// True when the set holds this scope (a [`Scope`] or a scope string).
    pub(crate) fn contains<Q: Ord + ?Sized>(&self, scope: &Q) -> bool
    where
        Scope: Borrow<Q>,
    {
        self.0.binary_search_by(|s| s.borrow().cmp(scope)).is_ok()
    }

    /// Adds a scope; false when it was there already.
    pub fn insert(&mut self, scope: Scope) -> bool {
        match self.0.binary_search(&scope) {
            Ok(_) => false,
            Err(at) => {
                self.0.insert(at, scope);
                true
            }
        }
    }

    /// The scopes of this set that `other` lacks, in order.
    pub(crate) fn difference<'a>(
        &'a self,
        other: &'a Scopes,
    ) -> impl Iterator<Item = &'a Scope> + 'a {
        self.iter().filter(move |s| !other.contains(*s))
    }
}

impl std::ops::Deref for Scopes {
    type Target = [Scope];

    fn deref(&self) -> &[Scope] {
        &self.0
    }
}

impl FromIterator<Scope> for Scopes {
    fn from_iter<I: IntoIterator<Item = Scope>>(scopes: I) -> Scopes {
        let mut scopes: Vec<Scope> = scopes.into_iter().collect();
        scopes.sort();
        scopes.dedup();
        Scopes(scopes)
    }
}

impl FromIterator<String> for Scopes {
    fn from_iter<I: IntoIterator<Item = String>>(scopes: I) -> Scopes {
        scopes.into_iter().map(Scope::new).collect()
    }
}

impl<'a> FromIterator<&'a str> for Scopes {
    fn from_iter<I: IntoIterator<Item = &'a str>>(scopes: I) -> Scopes {
        scopes.into_iter().map(Scope::new).collect()
    }
}

impl From<Scope> for Scopes {
    fn from(scope: Scope) -> Scopes {
        Scopes(vec![scope])
    }
}

impl<const N: usize> From<[&str; N]> for Scopes {
    fn from(scopes: [&str; N]) -> Scopes {
        scopes.into_iter().collect()
    }
}

impl<'a> IntoIterator for &'a Scopes {
    type Item = &'a Scope;
    type IntoIter = std::slice::Iter<'a, Scope>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl IntoIterator for Scopes {
    type Item = Scope;
    type IntoIter = std::vec::IntoIter<Scope>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl fmt::Debug for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(&self.0).finish()
    }
}

impl<const N: usize> PartialEq<[&str; N]> for Scopes {
    fn eq(&self, other: &[&str; N]) -> bool {
        self.0.len() == N && self.0.iter().zip(other).all(|(a, b)| a == b)
    }
}

impl Serialize for Scopes {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(&self.0)
    }
}

impl<'de> Deserialize<'de> for Scopes {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Scopes, D::Error> {
        Vec::<Scope>::deserialize(deserializer).map(Scopes::from_iter)
    }
}

/// Why a text is not a token name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub(crate) enum InvalidTokenName {
    #[error("a token name cannot be empty")]
    Empty,
    #[error("a token name cannot be only spaces")]
    Blank,
    #[error("a token name cannot hold control characters such as line breaks")]
    ControlCharacter,
}

/// A token's name.
///
/// Two rules. A name a TOKEN directive declares may be any non-empty text: Tinybird does not
/// validate them (`my-token.v2`, `a:b`, `lectura_ñ` and `read api token` all pass), so neither
/// does tokenplan. A name given by hand, to `tokenplan token create static|refresh|rm` or to the
/// local server's `POST /v0/tokens`, must also not be blank nor hold control characters: such a
/// name is a typing or quoting mistake, and it would be echoed into terminals and logs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub(crate) struct TokenName(String);

impl TokenName {
    /// A name from a TOKEN directive: any non-empty text.
    pub(crate) fn declared(name: &str) -> Result<TokenName, InvalidTokenName> {
        if name.is_empty() {
            return Err(InvalidTokenName::Empty);
        }
        Ok(TokenName(name.to_owned()))
    }

    /// A name given to the token commands or the API: not blank, no control character.
    pub(crate) fn given(name: &str) -> Result<TokenName, InvalidTokenName> {
        let name = TokenName::declared(name)?;
        if name.0.trim().is_empty() {
            return Err(InvalidTokenName::Blank);
        }
        if name.0.chars().any(char::is_control) {
            return Err(InvalidTokenName::ControlCharacter);
        }
        Ok(name)
    }

    pub(crate) fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for TokenName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for TokenName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn every_kind_parses_and_displays_as_given() {
        for kind in ScopeKind::ALL {
            let plain = Scope::new(kind.as_str());
            assert_eq!(plain.kind(), Some(kind));
            assert_eq!(plain.to_string(), kind.as_str());
            assert_eq!(plain.resource(), None);
            if kind.takes_resource() {
                let text = format!("{kind}:events");
                let scope = Scope::new(text.as_str());
                assert_eq!(scope.kind(), Some(kind));
                assert_eq!(scope.resource(), Some("events"));
                assert_eq!(scope.filter(), None);
                assert_eq!(scope.to_string(), text);
            } else {
                // A type that stands alone takes nothing after it.
                assert_eq!(Scope::new(format!("{kind}:x")).kind(), None);
            }
        }
    }

    #[test]
    fn filters_unknown_and_incomplete_scopes_keep_their_text() {
        let filtered = Scope::new("DATASOURCES:READ:events:country = 'ES'");
        assert_eq!(filtered.kind(), Some(ScopeKind::DatasourcesRead));
        assert_eq!(filtered.resource(), Some("events"));
        assert_eq!(filtered.filter(), Some("country = 'ES'"));
        assert_eq!(
            filtered.to_string(),
            "DATASOURCES:READ:events:country = 'ES'"
        );

        let empty = Scope::new("PIPES:READ:");
        assert_eq!((empty.resource(), empty.filter()), (Some(""), None));
        assert_eq!(empty.to_string(), "PIPES:READ:");
        let empty_filter = Scope::new("DATASOURCES:READ:e:");
        assert_eq!(empty_filter.filter(), Some(""));

        for unknown in [
            "tokens",
            "WRITE",
            "PIPES:READX",
            "FOO:BAR:baz",
            "ADMIN:x",
            "",
        ] {
            let scope: Scope = unknown.parse().unwrap();
            assert_eq!(scope.kind(), None, "{unknown}");
            assert_eq!(scope.to_string(), unknown);
            assert_eq!(
                serde_json::to_string(&scope).unwrap(),
                format!("{unknown:?}")
            );
        }
    }

    #[test]
    fn resource_scopes_quarantine_and_token_management() {
        assert!(Scope::new("DATASOURCES:READ:e").is_resource());
        assert!(Scope::new("DATASOURCES:APPEND:e").is_resource());
        assert!(Scope::new("PIPES:READ:p:a > 1").is_resource());
        assert!(!Scope::new("PIPES:READ:").is_resource());
        assert!(!Scope::new("PIPES:DROP:p").is_resource());
        assert!(!Scope::new("TOKENS").is_resource());
        assert_eq!(
            Scope::new("DATASOURCES:READ:events")
                .quarantine()
                .as_deref(),
            Some("events_quarantine")
        );
        assert_eq!(Scope::new("PIPES:READ:top").quarantine(), None);
        assert_eq!(Scope::new("DATASOURCES:READ:").quarantine(), None);
        assert!(Scope::new("ADMIN").manages_tokens());
        assert!(Scope::new("TOKENS").manages_tokens());
        assert!(!Scope::new("WORKSPACE:READ_ALL").manages_tokens());
        assert!(!Scope::new("ADMIN:x").manages_tokens());
        assert!(Scope::new("DATASOURCES:CREATE").is_datasources_or_pipes());
        assert!(!Scope::new("ORG_DATASOURCES:READ").is_datasources_or_pipes());
    }

    #[test]
    fn scopes_for_directives() {
        let scope = |kind, permission| {
            Scope::for_directive(kind, permission, "events").map(|s| s.to_string())
        };
        assert_eq!(
            scope(DatafileKind::Datasource, TokenPermission::Read).as_deref(),
            Some("DATASOURCES:READ:events")
        );
        assert_eq!(
            scope(DatafileKind::Datasource, TokenPermission::Append).as_deref(),
            Some("DATASOURCES:APPEND:events")
        );
        assert_eq!(
            scope(DatafileKind::Pipe, TokenPermission::Read).as_deref(),
            Some("PIPES:READ:events")
        );
        assert_eq!(scope(DatafileKind::Pipe, TokenPermission::Append), None);
        assert_eq!(scope(DatafileKind::Connection, TokenPermission::Read), None);
    }

    #[test]
    fn checks_scopes() {
        let check = |s: &str| Scope::new(s).check();
        assert!(check("TOKENS").is_ok());
        assert!(check("PIPES:CREATE").is_ok());
        assert!(check("DATASOURCES:READ:e").is_ok());
        assert!(check("DATASOURCES:READ:e:a > 1").is_ok());
        assert_eq!(
            check("DATASOURCES:APPEND:e:a > 1").unwrap_err(),
            "scope `DATASOURCES:APPEND:e:a > 1`: only READ scopes take a row filter"
        );
        assert_eq!(
            check("PIPES:READ:").unwrap_err(),
            "scope `PIPES:READ:` needs a resource: PIPES:READ:<name>"
        );
        assert!(
            check("PIPES:READ")
                .unwrap_err()
                .contains("needs a resource")
        );
        assert_eq!(
            check("tokens").unwrap_err(),
            "unknown scope `tokens`: expected one of ADMIN, TOKENS, WORKSPACE:READ_ALL, \
             WORKSPACE:DEPLOY, ORG_DATASOURCES:READ, DATASOURCES:CREATE, PIPES:CREATE, or \
             TYPE:resource with TYPE one of DATASOURCES:READ, DATASOURCES:APPEND, \
             DATASOURCES:DROP, PIPES:READ, PIPES:DROP"
        );
        assert!(check("WRITE").unwrap_err().contains("unknown scope"));
    }

    #[test]
    fn scopes_are_sorted_in_string_order_and_unique() {
        let texts = [
            "TOKENS",
            "PIPES:READ:b",
            "DATASOURCES:READ:a",
            "ADMIN",
            "PIPES:READ:b",
            "DATASOURCES:APPEND:z",
            "zzz",
            "DATASOURCES:READ:a:f",
        ];
        let scopes: Scopes = texts.into_iter().collect();
        let expected: Vec<&str> = std::collections::BTreeSet::from(texts)
            .into_iter()
            .collect();
        assert_eq!(
            scopes.iter().map(Scope::as_str).collect::<Vec<_>>(),
            expected
        );
        assert!(scopes.contains("ADMIN"));
        assert!(scopes.contains(&Scope::new("PIPES:READ:b")));
        assert!(!scopes.contains("PIPES:READ"));
        assert_eq!(scopes.join(","), expected.join(","));

        let mut fewer: Scopes = ["ADMIN", "PIPES:READ:b", "PIPES:READ:c"]
            .into_iter()
            .collect();
        assert!(fewer.insert(Scope::new("A")));
        assert!(!fewer.insert(Scope::new("ADMIN")));
        assert_eq!(fewer, ["A", "ADMIN", "PIPES:READ:b", "PIPES:READ:c"]);
        let gone: Vec<&str> = fewer.difference(&scopes).map(Scope::as_str).collect();
        assert_eq!(gone, ["A", "PIPES:READ:c"]);

        let json = serde_json::to_string(&scopes).unwrap();
        assert_eq!(json, serde_json::to_string(&expected).unwrap());
        let unsorted: Scopes = serde_json::from_str(r#"["b", "a", "b"]"#).unwrap();
        assert_eq!(unsorted, ["a", "b"]);
        assert_eq!(format!("{unsorted:?}"), r#"["a", "b"]"#);
    }

    #[test]
    fn token_name_rules() {
        for declared in [
            "my-token.v2",
            "a:b",
            "lectura_ñ",
            "read api token",
            " ",
            "a\tb",
        ] {
            assert_eq!(TokenName::declared(declared).unwrap().to_string(), declared);
        }
        assert_eq!(TokenName::declared(""), Err(InvalidTokenName::Empty));
        for given in ["my-token.v2", "a:b", "lectura_ñ", "read api token", " ci "] {
            assert_eq!(TokenName::given(given).unwrap().to_string(), given);
        }
        assert_eq!(TokenName::given(""), Err(InvalidTokenName::Empty));
        assert_eq!(TokenName::given(" \t"), Err(InvalidTokenName::Blank));
        for control in ["a\nb", "a\rb", "a\tb", "a\u{1b}[31mb", "a\u{7f}"] {
            assert_eq!(
                TokenName::given(control),
                Err(InvalidTokenName::ControlCharacter),
                "{control:?}"
            );
        }
    }

    proptest! {
        #[test]
        fn any_string_round_trips(text in "(DATASOURCES:READ|PIPES:READ|PIPES:DROP|TOKENS|ADMIN)?[:a-zA-Z_ ]{0,12}") {
            let scope = Scope::new(text.as_str());
            prop_assert_eq!(scope.to_string(), text.clone());
            let back: Scope = serde_json::from_str(&serde_json::to_string(&scope).unwrap()).unwrap();
            prop_assert_eq!(back.kind(), scope.kind());
            prop_assert_eq!(back.resource(), scope.resource());
            prop_assert_eq!(back.filter(), scope.filter());
            if let Some(resource) = scope.resource() {
                let filter = scope.filter().map(|f| format!(":{f}")).unwrap_or_default();
                prop_assert_eq!(
                    format!("{}:{resource}{filter}", scope.kind().unwrap()),
                    text
                );
            }
        }

        #[test]
        fn order_is_string_order(
            a in "(DATASOURCES:READ|DATASOURCES:APPEND|PIPES:READ|ADMIN)?[:A-Z_a-z]{0,8}",
            b in "(DATASOURCES:READ|DATASOURCES:APPEND|PIPES:READ|ADMIN)?[:A-Z_a-z]{0,8}",
        ) {
            prop_assert_eq!(Scope::new(a.as_str()).cmp(&Scope::new(b.as_str())), a.cmp(&b));
        }
    }
}
