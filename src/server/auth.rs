//! Who is asking: the token a request presents (bearer header or `?token=`), looked up among the
//! tokens of every workspace by the SHA-256 of its value and compared in constant time; whether
//! it may manage tokens (and then of which workspace), or workspaces.

use axum::http::{HeaderMap, StatusCode, header};

use super::database::internal;
use super::http::{ApiError, param};
use crate::scope::Scope;
use crate::workspace::store::{DEFAULT_WORKSPACE, Store};
use crate::workspace::{Token, TokenKind, USER_TOKEN};

/// The token a request presents: `Authorization: Bearer`, or `?token=` as the Tinybird CLI also
/// sends.
pub(super) fn presented_token(headers: &HeaderMap, pairs: &[(String, String)]) -> Option<String> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, value) = v.trim().split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| value.trim().to_owned())
        });
    bearer
        .or_else(|| param(pairs, "token").map(str::to_owned))
        .filter(|t| !t.is_empty())
}

/// Checks that the request's token belongs to a workspace (401) and may manage tokens (403), and
/// turns the store to that workspace: the Tokens API acts on the bearer token's workspace.
pub(super) fn authorize(store: &Store, presented: Option<&str>) -> Result<(), ApiError> {
    let (workspace, token) = known_token(store, presented)?;
    if token.scopes.iter().any(Scope::manages_tokens) {
        store.use_workspace(workspace);
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!(
                "token `{}` may not manage tokens: it needs the TOKENS or ADMIN scope",
                token.name
            ),
        ))
    }
}

/// Who may manage workspaces: the user token, as in Tinybird, and for listing them also the
/// user's admin token of any workspace (what `tb --local` lists them with). Leaves the store on
/// the first workspace, the one holding the user token.
pub(super) fn authorize_user(
    store: &Store,
    presented: Option<&str>,
    admin_may_list: bool,
) -> Result<(), ApiError> {
    let (workspace, token) = known_token(store, presented)?;
    store.use_workspace(DEFAULT_WORKSPACE);
    let user = workspace == DEFAULT_WORKSPACE && token.name == USER_TOKEN;
    let admin = token.kind == TokenKind::Default
        && token.name.starts_with("Admin ")
        && token.scopes.iter().any(Scope::manages_tokens);
    if user || (admin_may_list && admin) {
        return Ok(());
    }
    let needed = if admin_may_list {
        "the user token or an admin token"
    } else {
        "the user token"
    };
    Err(ApiError::new(
        StatusCode::FORBIDDEN,
        format!("token `{}` may not do this: it needs {needed}", token.name),
    ))
}

/// The token presented and its workspace (401 when there is none or it is unknown).
fn known_token(store: &Store, presented: Option<&str>) -> Result<(i64, Token), ApiError> {
    let Some(presented) = presented else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "missing token: send `Authorization: Bearer <token>` with a token that has the TOKENS or ADMIN scope",
        ));
    };
    // The lookup goes by a hash of the presented value, then compares in constant time (see
    // `Store::token_anywhere`): answer times tell nothing about how much of a guessed token is
    // right, and the cost does not grow with the number of tokens.
    store
        .token_anywhere(presented)
        .map_err(|e| internal(&e))?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid token: it is not a token of any workspace here",
            )
        })
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;
    use crate::workspace::WORKSPACE_ADMIN_TOKEN;
    use crate::workspace::state::State;

    #[test]
    fn authorization_needs_a_known_token_with_tokens_or_admin() {
        let mut state = State::new("a@b.c");
        let admin = state.get(WORKSPACE_ADMIN_TOKEN).unwrap().value.clone();
        let user = state.get(USER_TOKEN).unwrap().value.clone();
        let reader = state.new_token(
            "r",
            &["WORKSPACE:READ_ALL".into()],
            TokenKind::Workspace,
            "",
        );
        let reader_value = reader.value.clone();
        state.insert(reader);
        let state = Store::in_memory(std::path::Path::new("ws.db"), &state).unwrap();
        assert!(authorize(&state, Some(&admin)).is_ok());
        assert_eq!(
            authorize(&state, None).unwrap_err().status,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            authorize(&state, Some("p.nope")).unwrap_err().status,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            authorize(&state, Some(&user)).unwrap_err().status,
            StatusCode::FORBIDDEN
        );
        let forbidden = authorize(&state, Some(&reader_value)).unwrap_err();
        assert_eq!(forbidden.status, StatusCode::FORBIDDEN);
        assert!(!forbidden.message.contains(&reader_value));
    }

    #[test]
    fn bearer_header_beats_the_query_token() {
        let mut headers = HeaderMap::new();
        let pairs = vec![("token".to_owned(), "q".to_owned())];
        assert_eq!(presented_token(&headers, &pairs).as_deref(), Some("q"));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("bearer h"));
        assert_eq!(presented_token(&headers, &pairs).as_deref(), Some("h"));
        assert_eq!(presented_token(&HeaderMap::new(), &[]), None);
    }
}
