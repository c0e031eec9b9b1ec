//! The JSON of the Tinybird Tokens API, shared by the remote client and `tokenplan local start`:
//! token and scope documents, and which scope strings a workspace accepts.

use serde::{Deserialize, Serialize};

use super::{Token, TokenKind};

/// A scope as the API writes it: `{"type": "DATASOURCES:READ", "resource": "events", "filter": ""}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WireScope {
    /// `DATASOURCES:READ`, `PIPES:READ`, `TOKENS`, `ADMIN`...
    #[serde(rename = "type")]
    pub kind: String,
    /// The data source or pipe, for resource scopes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// A row filter, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
}

/// Types whose scope strings carry a resource: `TYPE:resource[:filter]`.
const RESOURCE_TYPES: &[&str] = &[
    "DATASOURCES:READ",
    "DATASOURCES:APPEND",
    "DATASOURCES:DROP",
    "PIPES:READ",
    "PIPES:DROP",
];

/// Types that stand alone.
const PLAIN_TYPES: &[&str] = &[
    "ADMIN",
    "TOKENS",
    "WORKSPACE:READ_ALL",
    "WORKSPACE:DEPLOY",
    "ORG_DATASOURCES:READ",
    "DATASOURCES:CREATE",
    "PIPES:CREATE",
];

impl WireScope {
    /// Splits a scope string `TYPE[:resource[:filter]]`.
    pub fn parse(scope: &str) -> WireScope {
        let resource_type = RESOURCE_TYPES.iter().find(|t| {
            scope
                .strip_prefix(**t)
                .is_some_and(|rest| rest.starts_with(':'))
        });
        match resource_type {
            Some(kind) => {
                let rest = &scope[kind.len() + 1..];
                let (resource, filter) = match rest.split_once(':') {
                    Some((resource, filter)) => (resource, Some(filter.to_owned())),
                    None => (rest, None),
                };
                WireScope {
                    kind: (*kind).to_owned(),
                    resource: Some(resource.to_owned()),
                    filter,
                }
            }
            None => WireScope {
                kind: scope.to_owned(),
                resource: None,
                filter: None,
            },
        }
    }

    /// The scope string `TYPE[:resource[:filter]]`; empty parts are left out.
    pub fn to_scope_string(&self) -> String {
        let mut text = self.kind.clone();
        let resource = self.resource.as_deref().unwrap_or_default();
        let filter = self.filter.as_deref().unwrap_or_default();
        if !resource.is_empty() || !filter.is_empty() {
            text.push(':');
            text.push_str(resource);
        }
        if !filter.is_empty() {
            text.push(':');
            text.push_str(filter);
        }
        text
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
            Either::Text(text) => WireScope::parse(&text),
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

/// Why a scope string is not one a workspace accepts.
pub fn check_scope(scope: &str) -> Result<(), String> {
    if PLAIN_TYPES.contains(&scope) {
        return Ok(());
    }
    let parsed = WireScope::parse(scope);
    if !RESOURCE_TYPES.contains(&parsed.kind.as_str()) {
        return Err(format!(
            "unknown scope `{scope}`: expected one of {}, or TYPE:resource with TYPE one of {}",
            PLAIN_TYPES.join(", "),
            RESOURCE_TYPES.join(", ")
        ));
    }
    if parsed.resource.as_deref().unwrap_or_default().is_empty() {
        return Err(format!(
            "scope `{scope}` needs a resource: {}:<name>",
            parsed.kind
        ));
    }
    if parsed.filter.is_some() && !parsed.kind.ends_with(":READ") {
        return Err(format!(
            "scope `{scope}`: only READ scopes take a row filter"
        ));
    }
    Ok(())
}

/// A token as the API writes it. Its `Debug` hides the value.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireToken {
    /// Stable id.
    #[serde(default)]
    pub id: String,
    /// Unique name.
    pub name: String,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub description: String,
    #[serde(default)]
    pub scopes: Vec<WireScope>,
    /// The secret value.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub token: String,
    /// Where the token comes from (the API's own bookkeeping; kept as is).
    #[serde(default)]
    pub origin: serde_json::Value,
    /// RFC 3339 creation time, when the server says.
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_as_empty"
    )]
    pub created_at: String,
    /// RFC 3339 time of the last change, when the server says.
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_as_empty"
    )]
    pub updated_at: String,
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
    pub fn from_token(token: &Token) -> WireToken {
        WireToken {
            id: token.id.clone(),
            name: token.name.clone(),
            description: token.description.clone(),
            scopes: token.scopes.iter().map(|s| WireScope::parse(s)).collect(),
            token: token.value.clone(),
            origin: serde_json::json!({ "type": "tokenplan" }),
            created_at: token.created_at.clone(),
            updated_at: token.updated_at.clone(),
        }
    }

    /// The token it describes, its kind told by its name and scopes.
    pub fn into_token(self) -> Token {
        let mut scopes: Vec<String> = self.scopes.iter().map(WireScope::to_scope_string).collect();
        scopes.sort();
        scopes.dedup();
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
pub struct WireTokenList {
    pub tokens: Vec<WireToken>,
}

/// The answer of `GET /tokens` on a local workspace, like Tinybird Local's. Its `Debug` hides
/// the values.
#[derive(Clone, Serialize, Deserialize)]
pub struct LocalTokens {
    /// The `User token`.
    pub user_token: String,
    /// The `Admin <email> token`.
    pub admin_token: String,
    /// The `Workspace admin token`.
    pub workspace_admin_token: String,
}

impl std::fmt::Debug for LocalTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LocalTokens { .. }")
    }
}

/// The body of every API error: `{"error": "..."}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WireError {
    pub error: String,
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
            assert_eq!(WireScope::parse(scope).to_scope_string(), scope);
        }
        let parsed = WireScope::parse("DATASOURCES:APPEND:events");
        assert_eq!(parsed.kind, "DATASOURCES:APPEND");
        assert_eq!(parsed.resource.as_deref(), Some("events"));
        let object: WireScope =
            serde_json::from_str(r#"{"type": "PIPES:READ", "resource": "top", "filter": ""}"#)
                .unwrap();
        assert_eq!(object.to_scope_string(), "PIPES:READ:top");
        let text: WireScope = serde_json::from_str(r#""PIPES:READ:top""#).unwrap();
        assert_eq!(text, object);
    }

    #[test]
    fn checks_scopes() {
        assert!(check_scope("TOKENS").is_ok());
        assert!(check_scope("DATASOURCES:READ:e").is_ok());
        assert!(check_scope("DATASOURCES:READ:e:a > 1").is_ok());
        assert!(
            check_scope("DATASOURCES:APPEND:e:a > 1")
                .unwrap_err()
                .contains("row filter")
        );
        assert!(
            check_scope("PIPES:READ:")
                .unwrap_err()
                .contains("needs a resource")
        );
        assert!(check_scope("tokens").unwrap_err().contains("unknown scope"));
        assert!(check_scope("WRITE").unwrap_err().contains("unknown scope"));
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
