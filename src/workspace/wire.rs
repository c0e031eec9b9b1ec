//! The JSON of the Tinybird Tokens API, shared by the remote client and `tokenplan local start`:
//! token and scope documents.

use serde::{Deserialize, Serialize};

use super::{Token, TokenKind};
use crate::scope::{Scope, Scopes};

/// A scope as the API writes it: `{"type": "DATASOURCES:READ", "resource": "events", "filter": ""}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct WireScope {
    /// `DATASOURCES:READ`, `PIPES:READ`, `TOKENS`, `ADMIN`...
    #[serde(rename = "type")]
    pub(crate) kind: String,
    /// The data source or pipe, for resource scopes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) resource: Option<String>,
    /// A row filter, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) filter: Option<String>,
}

impl From<&Scope> for WireScope {
    /// Splits a scope string `TYPE[:resource[:filter]]`.
    fn from(scope: &Scope) -> WireScope {
        match (scope.kind(), scope.resource()) {
            (Some(kind), Some(resource)) => WireScope {
                kind: kind.as_str().to_owned(),
                resource: Some(resource.to_owned()),
                filter: scope.filter().map(str::to_owned),
            },
            _ => WireScope {
                kind: scope.as_str().to_owned(),
                resource: None,
                filter: None,
            },
        }
    }
}

impl From<&WireScope> for Scope {
    /// The scope string `TYPE[:resource[:filter]]`; empty parts are left out.
    fn from(wire: &WireScope) -> Scope {
        let mut text = wire.kind.clone();
        let resource = wire.resource.as_deref().unwrap_or_default();
        let filter = wire.filter.as_deref().unwrap_or_default();
        if !resource.is_empty() || !filter.is_empty() {
            text.push(':');
            text.push_str(resource);
        }
        if !filter.is_empty() {
            text.push(':');
            text.push_str(filter);
        }
        Scope::new(text)
    }
}

impl<'de> Deserialize<'de> for WireScope {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Plain scope strings are accepted too, so that a server writing them still works.
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            Text(String),
            Object {
                #[serde(rename = "type")]
                kind: String,
                #[serde(default)]
                resource: Option<String>,
                #[serde(default)]
                filter: Option<String>,
            },
        }
        Ok(match Either::deserialize(deserializer)? {
            Either::Text(text) => WireScope::from(&Scope::new(text)),
            Either::Object {
                kind,
                resource,
                filter,
            } => WireScope {
                kind,
                resource: resource.filter(|r| !r.is_empty()),
                filter: filter.filter(|f| !f.is_empty()),
            },
        })
    }
}

/// A token as the API writes it. Its `Debug` hides the value.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct WireToken {
    /// Stable id.
    #[serde(default)]
    pub(crate) id: String,
    /// Unique name.
    pub(crate) name: String,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub(crate) description: String,
    #[serde(default)]
    pub(crate) scopes: Vec<WireScope>,
    /// The secret value.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub(crate) token: String,
    /// Where the token comes from (the API's own bookkeeping; kept as is).
    #[serde(default)]
    pub(crate) origin: serde_json::Value,
    /// RFC 3339 creation time, when the server says.
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_as_empty"
    )]
    pub(crate) created_at: String,
    /// RFC 3339 time of the last change, when the server says.
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_as_empty"
    )]
    pub(crate) updated_at: String,
}

fn null_as_empty<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(deserializer)?.unwrap_or_default())
}

impl std::fmt::Debug for WireToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WireToken")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("scopes", &self.scopes)
            .field("token", &"****")
            .finish_non_exhaustive()
    }
}

impl WireToken {
    /// The API document of a token.
    pub(crate) fn from_token(token: &Token) -> WireToken {
        WireToken {
            id: token.id.clone(),
            name: token.name.clone(),
            description: token.description.clone(),
            scopes: token.scopes.iter().map(WireScope::from).collect(),
            token: token.value.clone(),
            origin: serde_json::json!({ "type": "tokenplan" }),
            created_at: token.created_at.clone(),
            updated_at: token.updated_at.clone(),
        }
    }

    /// The token it describes, its kind told by its name and scopes.
    pub(crate) fn into_token(self) -> Token {
        let scopes: Scopes = self.scopes.iter().map(Scope::from).collect();
        Token {
            kind: TokenKind::classify(&self.name, &scopes),
            id: self.id,
            name: self.name,
            value: self.token,
            scopes,
            description: self.description,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// The answer of `GET /v0/tokens`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct WireTokenList {
    pub(crate) tokens: Vec<WireToken>,
}

/// The answer of `GET /tokens` on a local workspace, like Tinybird Local's. Its `Debug` hides
/// the values.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct LocalTokens {
    /// The `User token`.
    pub(crate) user_token: String,
    /// The `Admin <email> token`.
    pub(crate) admin_token: String,
    /// The `Workspace admin token`.
    pub(crate) workspace_admin_token: String,
}

impl std::fmt::Debug for LocalTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LocalTokens { .. }")
    }
}

/// The body of every API error: `{"error": "..."}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct WireError {
    pub(crate) error: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_strings_round_trip_through_objects() {
        for scope in [
            "DATASOURCES:READ:events",
            "DATASOURCES:READ:events:country = 'ES'",
            "PIPES:READ:top",
            "TOKENS",
            "WORKSPACE:READ_ALL",
            "ORG_DATASOURCES:READ",
        ] {
            let wire = WireScope::from(&Scope::new(scope));
            assert_eq!(Scope::from(&wire).as_str(), scope);
        }
        let parsed = WireScope::from(&Scope::new("DATASOURCES:APPEND:events"));
        assert_eq!(parsed.kind, "DATASOURCES:APPEND");
        assert_eq!(parsed.resource.as_deref(), Some("events"));
        let object: WireScope =
            serde_json::from_str(r#"{"type": "PIPES:READ", "resource": "top", "filter": ""}"#)
                .unwrap();
        assert_eq!(Scope::from(&object), "PIPES:READ:top");
        let text: WireScope = serde_json::from_str(r#""PIPES:READ:top""#).unwrap();
        assert_eq!(text, object);
    }

    #[test]
    fn tokens_convert_with_their_kind_and_hide_values_in_debug() {
        let wire: WireToken = serde_json::from_str(
            r#"{"id": "1", "name": "t", "description": null, "token": "p.secret",
                "scopes": [{"type": "PIPES:READ", "resource": "b"}, {"type": "DATASOURCES:READ", "resource": "a"}]}"#,
        )
        .unwrap();
        assert!(!format!("{wire:?}").contains("p.secret"));
        let token = wire.into_token();
        assert_eq!(token.scopes, ["DATASOURCES:READ:a", "PIPES:READ:b"]);
        assert_eq!(token.kind, TokenKind::Resource);
        assert_eq!(token.value, "p.secret");
        assert!(!format!("{token:?}").contains("p.secret"));
        let back = WireToken::from_token(&token).into_token();
        assert_eq!(back, token);
    }
}

/// A workspace in `GET /v1/user/workspaces`: what `tb --local` reads of it (`id`, `name`,
/// `token`, its workspace admin token) and a little more.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct WireWorkspace {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) token: String,
    #[serde(default)]
    pub(crate) role: String,
}

impl std::fmt::Debug for WireWorkspace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WireWorkspace")
            .field("id", &self.id)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// The body of `GET /v1/user/workspaces?with_organization=true`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct WireWorkspaceList {
    #[serde(default)]
    pub(crate) organization_id: Option<String>,
    pub(crate) workspaces: Vec<WireWorkspace>,
}
