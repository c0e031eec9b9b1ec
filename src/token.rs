//! `tokenplan token`: listing a workspace's tokens with their values masked, and creating,
//! refreshing and removing the workspace tokens that deployments never manage. Works on any
//! [`Workspace`].

use miette::Diagnostic;
use serde::Serialize;
use thiserror::Error;

use crate::scope::{Scope, Scopes, TokenName};
use crate::workspace::{Token, TokenKind, Workspace, WorkspaceError, is_default_token_name};

/// Why a token command was refused or failed.
#[derive(Debug, Error, Diagnostic)]
pub(crate) enum TokenError {
    /// A resource scope given to `token create static`.
    #[error("`{scope}` is a resource scope: `token create static` makes workspace tokens only")]
    #[diagnostic(
        code(tokenplan::token::resource_scope),
        help(
            "declare resource-scoped tokens in the datafiles with a TOKEN directive (e.g. `TOKEN {name} READ` in a .pipe or .datasource) and run `tokenplan apply`"
        )
    )]
    ResourceScope {
        /// The scope.
        scope: String,
        /// The token name.
        name: String,
    },

    /// A scope that is not a workspace scope.
    #[error("unknown scope `{scope}`")]
    #[diagnostic(
        code(tokenplan::token::unknown_scope),
        help(
            "`token create static` takes TOKENS, ADMIN, WORKSPACE:READ_ALL, WORKSPACE:DEPLOY and ORG_DATASOURCES:READ"
        )
    )]
    UnknownScope {
        /// The scope as given.
        scope: String,
    },

    /// `token create static` without a scope.
    #[error("token `{name}` needs at least one scope")]
    #[diagnostic(
        code(tokenplan::token::no_scope),
        help("pass --scope S, e.g. --scope WORKSPACE:READ_ALL")
    )]
    NoScope {
        /// The token name.
        name: String,
    },

    /// A blank name, or one with control characters (see [`TokenName::given`]).
    #[error("`{name}` is not a usable token name")]
    #[diagnostic(
        code(tokenplan::token::invalid_name),
        help("give a non-empty name on one line")
    )]
    InvalidName {
        /// The name as given.
        name: String,
    },

    /// A change to a default token.
    #[error("`{name}` is a default token: it cannot be {action}")]
    #[diagnostic(
        code(tokenplan::token::default_token),
        help(
            "default tokens exist in every workspace; create a workspace token with another name instead"
        )
    )]
    DefaultToken {
        /// The token name.
        name: String,
        /// `removed`, `changed`.
        action: &'static str,
    },

    /// A change to a resource-scoped token, which the datafiles own.
    #[error(
        "`{name}` is a resource-scoped token, declared by TOKEN directives: it cannot be {action} here"
    )]
    #[diagnostic(
        code(tokenplan::token::resource_token),
        help(
            "remove (or change) the TOKEN directives that declare `{name}` and run `tokenplan apply`; `tokenplan plan` shows what would change"
        )
    )]
    ResourceToken {
        /// The token name.
        name: String,
        /// `removed`, `changed`.
        action: &'static str,
    },

    /// `refresh` or `rm` with no terminal to ask on and no `--yes`.
    #[error("{doing} token `{name}` needs confirmation, and there is no terminal to ask on")]
    #[diagnostic(
        code(tokenplan::token::needs_confirmation),
        help("if that is intended, run it again with --yes")
    )]
    NeedsConfirmation {
        /// `refreshing` or `removing`.
        doing: &'static str,
        /// The token name.
        name: String,
    },

    /// The confirmation was not `yes`.
    #[error("cancelled: token `{name}` was not changed")]
    #[diagnostic(code(tokenplan::token::cancelled))]
    Cancelled {
        /// The token name.
        name: String,
    },

    /// The workspace failed.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Workspace(#[from] WorkspaceError),
}

/// A change that takes access away from whoever holds a token, so it is confirmed first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Breaking {
    /// `token refresh`: the old value stops working.
    Refresh,
    /// `token rm`: the token goes.
    Remove,
}

impl Breaking {
    /// What it is doing: `refreshing`, `removing`.
    pub(crate) const fn doing(self) -> &'static str {
        match self {
            Breaking::Refresh => "refreshing",
            Breaking::Remove => "removing",
        }
    }
}

/// The question to ask before `refresh` or `rm` of `name`, after the checks the command itself
/// makes (the token exists; only a workspace token can go), so that nothing is asked about a
/// change that would be refused. A default token gets the strongest warning: every app, script
/// and login of the workspace may hold it.
pub(crate) fn confirmation(
    workspace: &mut dyn Workspace,
    name: &str,
    change: Breaking,
) -> Result<String, TokenError> {
    check_name(name)?;
    let token = workspace
        .get(name)?
        .ok_or_else(|| WorkspaceError::NotFound {
            name: name.to_owned(),
        })?;
    Ok(match (change, token.kind) {
        (Breaking::Remove, _) => {
            check_changeable(&token, "removed")?;
            format!(
                "Remove token \"{name}\"? Apps holding it lose access, and it cannot be undone."
            )
        }
        (Breaking::Refresh, TokenKind::Default) => format!(
            "Refresh \"{name}\"? It is a default token: every app, script and login holding its current value loses access."
        ),
        (Breaking::Refresh, TokenKind::Workspace | TokenKind::Resource) => {
            format!("Refresh token \"{name}\"? Apps holding its current value lose access.")
        }
    })
}

/// What `create_static` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Created {
    /// A new token.
    New,
    /// An existing workspace token got these scopes.
    Updated,
    /// An existing workspace token already had exactly these scopes.
    Unchanged,
}

/// Values shorter than this are masked whole: their last characters would be too much of them.
const MASK_SHOWS_FROM: usize = 16;

/// Masks a token value for display: the part every `p.` token shares, then `…` and the last four
/// characters, so that two tokens can be told apart (`p.eyJ…a1B2`). Never more; a value shorter
/// than 16 characters is `****`.
pub(crate) fn mask(value: &str) -> String {
    let count = value.chars().count();
    if count < MASK_SHOWS_FROM {
        return "****".into();
    }
    let last: String = value.chars().skip(count - 4).collect();
    // `eyJ` is base64 of `{"`, the start of every static token's JSON: it gives nothing away.
    let prefix = if value.starts_with("p.eyJ") {
        "p.eyJ"
    } else {
        ""
    };
    format!("{prefix}…{last}")
}

/// The workspace's tokens whose name contains `pattern` (case-insensitive), sorted by name.
pub(crate) fn list(
    workspace: &mut dyn Workspace,
    pattern: Option<&str>,
) -> Result<Vec<Token>, TokenError> {
    let pattern = pattern.map(str::to_lowercase);
    let mut tokens: Vec<Token> = workspace
        .snapshot()?
        .tokens
        .into_iter()
        .filter(|t| {
            pattern
                .as_ref()
                .is_none_or(|p| t.name.to_lowercase().contains(p))
        })
        .collect();
    tokens.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(tokens)
}

fn check_name(name: &str) -> Result<(), TokenError> {
    TokenName::given(name)
        .map(drop)
        .map_err(|_| TokenError::InvalidName {
            name: name.to_owned(),
        })
}

/// Upper-cases and checks `token create static` scopes: workspace scopes only.
pub(crate) fn workspace_scopes(name: &str, scopes: &[String]) -> Result<Scopes, TokenError> {
    let mut checked = Vec::new();
    for scope in scopes {
        let upper = Scope::new(scope.trim().to_uppercase());
        if upper.kind().is_some_and(|k| k.is_workspace()) {
            checked.push(upper);
        } else if upper.is_datasources_or_pipes() {
            return Err(TokenError::ResourceScope {
                scope: scope.clone(),
                name: name.to_owned(),
            });
        } else {
            return Err(TokenError::UnknownScope {
                scope: scope.clone(),
            });
        }
    }
    if checked.is_empty() {
        return Err(TokenError::NoScope {
            name: name.to_owned(),
        });
    }
    Ok(checked.into_iter().collect())
}

/// Refuses changes to default and resource-scoped tokens.
fn check_changeable(token: &Token, action: &'static str) -> Result<(), TokenError> {
    match token.kind {
        TokenKind::Default => Err(TokenError::DefaultToken {
            name: token.name.clone(),
            action,
        }),
        TokenKind::Resource => Err(TokenError::ResourceToken {
            name: token.name.clone(),
            action,
        }),
        TokenKind::Workspace => Ok(()),
    }
}

/// `token create static NAME --scope S...`: creates a workspace token, or gives an existing
/// workspace token these scopes.
pub(crate) fn create_static(
    workspace: &mut dyn Workspace,
    name: &str,
    scopes: &[String],
) -> Result<(Token, Created), TokenError> {
    check_name(name)?;
    let scopes = workspace_scopes(name, scopes)?;
    if is_default_token_name(name) {
        return Err(TokenError::DefaultToken {
            name: name.to_owned(),
            action: "changed",
        });
    }
    workspace.lock(&format!("tokenplan token create static {name}"))?;
    match workspace.get(name)? {
        Some(existing) => {
            check_changeable(&existing, "changed")?;
            if existing.scopes == scopes {
                return Ok((existing, Created::Unchanged));
            }
            Ok((workspace.replace_scopes(name, &scopes)?, Created::Updated))
        }
        None => Ok((
            workspace.create(name, &scopes, TokenKind::Workspace, "")?,
            Created::New,
        )),
    }
}

/// `token refresh NAME`: a new value, same name and scopes. Returns the token as it is now.
pub(crate) fn refresh(workspace: &mut dyn Workspace, name: &str) -> Result<Token, TokenError> {
    check_name(name)?;
    workspace.lock(&format!("tokenplan token refresh {name}"))?;
    if workspace.get(name)?.is_none() {
        return Err(WorkspaceError::NotFound {
            name: name.to_owned(),
        }
        .into());
    }
    Ok(workspace.refresh(name)?)
}

/// `token rm NAME`: removes a workspace token. Returns it as it was.
pub(crate) fn remove(workspace: &mut dyn Workspace, name: &str) -> Result<Token, TokenError> {
    check_name(name)?;
    workspace.lock(&format!("tokenplan token rm {name}"))?;
    let token = workspace
        .get(name)?
        .ok_or_else(|| WorkspaceError::NotFound {
            name: name.to_owned(),
        })?;
    check_changeable(&token, "removed")?;
    workspace.delete(name)?;
    Ok(token)
}

/// One row of `token ls --format json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct ListedToken {
    /// Name.
    pub(crate) name: String,
    /// Kind.
    pub(crate) kind: TokenKind,
    /// Scopes, sorted.
    pub(crate) scopes: Scopes,
    /// The value, masked unless asked for.
    pub(crate) value: String,
}

/// The JSON of `token ls`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Listing {
    /// False when values are masked.
    pub(crate) values_shown: bool,
    /// Tokens sorted by name.
    pub(crate) tokens: Vec<ListedToken>,
}

/// The rows of `token ls`, values masked unless `show_values`.
pub(crate) fn listing(tokens: &[Token], show_values: bool) -> Listing {
    Listing {
        values_shown: show_values,
        tokens: tokens
            .iter()
            .map(|t| ListedToken {
                name: t.name.clone(),
                kind: t.kind,
                scopes: t.scopes.clone(),
                value: if show_values {
                    t.value.clone()
                } else {
                    mask(&t.value)
                },
            })
            .collect(),
    }
}

/// `token ls` as an aligned table.
pub(crate) fn render_table(listing: &Listing) -> String {
    let header = ["NAME", "KIND", "SCOPES", "VALUE"];
    let rows: Vec<[String; 4]> = listing
        .tokens
        .iter()
        .map(|t| {
            let scopes = if t.scopes.is_empty() {
                "-".to_owned()
            } else {
                t.scopes.join(",")
            };
            [
                t.name.clone(),
                t.kind.as_str().to_owned(),
                scopes,
                t.value.clone(),
            ]
        })
        .collect();
    let mut widths = header.map(|h| h.chars().count());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: [&str; 4]| {
        let mut text = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                text.push_str(cell);
            } else {
                text.push_str(cell);
                text.push_str(&" ".repeat(widths[i] - cell.chars().count() + 2));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(header);
    for row in &rows {
        line([&row[0], &row[1], &row[2], &row[3]]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::embedded::EmbeddedWorkspace;

    /// The folder goes when the returned guard drops.
    fn workspace() -> (EmbeddedWorkspace, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let ws =
            EmbeddedWorkspace::open(&dir.path().join("workspace.json"), "a@b.c", "unlock").unwrap();
        (ws, dir)
    }

    #[test]
    fn create_update_refresh_and_remove_a_workspace_token() {
        let (mut ws, dir) = workspace();
        let (token, created) = create_static(
            &mut ws,
            "ci",
            &["tokens".into(), "WORKSPACE:READ_ALL".into()],
        )
        .unwrap();
        assert_eq!(created, Created::New);
        assert_eq!(token.scopes, ["TOKENS", "WORKSPACE:READ_ALL"]);
        assert_eq!(token.kind, TokenKind::Workspace);
        let (updated, created) = create_static(&mut ws, "ci", &["ADMIN".into()]).unwrap();
        assert_eq!(created, Created::Updated);
        assert_eq!(updated.scopes, ["ADMIN"]);
        assert_eq!(updated.value, token.value);
        let (_, created) = create_static(&mut ws, "ci", &["ADMIN".into()]).unwrap();
        assert_eq!(created, Created::Unchanged);
        let refreshed = refresh(&mut ws, "ci").unwrap();
        assert_ne!(refreshed.value, token.value);
        assert_eq!(refreshed.scopes, ["ADMIN"]);
        let names: Vec<String> = list(&mut ws, Some("CI"))
            .unwrap()
            .into_iter()
            .map(|t| t.name)
            .collect();
        assert_eq!(names, ["ci"]);
        remove(&mut ws, "ci").unwrap();
        assert!(matches!(
            remove(&mut ws, "ci"),
            Err(TokenError::Workspace(WorkspaceError::NotFound { .. }))
        ));
        drop(ws);
        drop(dir);
    }

    #[test]
    fn refuses_resource_scopes_default_and_resource_tokens() {
        let (mut ws, dir) = workspace();
        assert!(matches!(
            create_static(&mut ws, "r", &["PIPES:READ:top".into()]),
            Err(TokenError::ResourceScope { .. })
        ));
        assert!(matches!(
            create_static(&mut ws, "r", &["WRITE".into()]),
            Err(TokenError::UnknownScope { .. })
        ));
        assert!(matches!(
            create_static(&mut ws, "r", &[]),
            Err(TokenError::NoScope { .. })
        ));
        assert!(matches!(
            create_static(&mut ws, " ", &["ADMIN".into()]),
            Err(TokenError::InvalidName { .. })
        ));
        assert!(matches!(
            create_static(&mut ws, "User token", &["ADMIN".into()]),
            Err(TokenError::DefaultToken { .. })
        ));
        assert!(matches!(
            remove(&mut ws, "Workspace admin token"),
            Err(TokenError::DefaultToken { .. })
        ));
        ws.create(
            "dashboard",
            &["PIPES:READ:top"].into(),
            TokenKind::Resource,
            "",
        )
        .unwrap();
        let error = remove(&mut ws, "dashboard").unwrap_err();
        assert!(matches!(error, TokenError::ResourceToken { .. }));
        let help = Diagnostic::help(&error).unwrap().to_string();
        assert!(help.contains("remove (or change) the TOKEN directives"));
        assert!(matches!(
            create_static(&mut ws, "dashboard", &["ADMIN".into()]),
            Err(TokenError::ResourceToken { .. })
        ));
        drop(ws);
        drop(dir);
    }

    #[test]
    fn unknown_scope_help_names_the_workspace_scopes() {
        let error = TokenError::UnknownScope {
            scope: "WRITE".into(),
        };
        let kinds: Vec<&str> = crate::scope::ScopeKind::WORKSPACE
            .iter()
            .map(|k| k.as_str())
            .collect();
        let (last, first) = kinds.split_last().unwrap();
        assert_eq!(
            Diagnostic::help(&error).unwrap().to_string(),
            format!(
                "`token create static` takes {} and {last}",
                first.join(", ")
            )
        );
    }

    #[test]
    fn masks_values_and_renders_a_table() {
        assert_eq!(mask("p.eyJ1IjoiYSJ9.sig"), "p.eyJ….sig");
        assert_eq!(mask("0123456789abcdef"), "…cdef");
        assert_eq!(mask("p.eyJ0123456789"), "****");
        assert_eq!(mask("abc"), "****");
        let token = Token {
            id: "1".into(),
            name: "ci".into(),
            value: "p.eyJsecret".into(),
            scopes: ["TOKENS"].into(),
            kind: TokenKind::Workspace,
            description: String::new(),
            created_at: String::new(),
            updated_at: String::new(),
        };
        let table = render_table(&listing(std::slice::from_ref(&token), false));
        assert_eq!(
            table,
            "NAME  KIND       SCOPES  VALUE\nci    workspace  TOKENS  ****\n"
        );
        assert!(render_table(&listing(&[token], true)).contains("p.eyJsecret"));
    }
}
