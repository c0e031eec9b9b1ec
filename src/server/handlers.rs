//! The routes of the Tokens API and `GET /tokens`, over the state database: writes through the
//! writer thread (one commit, durable before the answer), reads on read connections.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path as UrlPath, State as AxumState};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use super::Limits;
use super::auth::{authorize, presented_token};
use super::database::{Answer, Readers, Writer, internal};
use super::guard::{Connection, check_host, refuse_web_pages};
use super::http::{ApiError, body_or_error, log_and_limit, name_or_error, param, params};
use super::workspaces;
use crate::scope::{Scope, Scopes, TokenName};
use crate::workspace::secret::now_rfc3339;
use crate::workspace::store::Store;
use crate::workspace::wire::{LocalTokens, WireToken, WireTokenList};
use crate::workspace::{
    Token, TokenKind, USER_TOKEN, WORKSPACE_ADMIN_TOKEN, admin_token_name, is_default_token_name,
};

/// What the handlers share: the writer, the readers, and the request limits.
pub(super) struct App {
    pub(super) writer: Writer,
    pub(super) readers: Arc<Readers>,
    pub(super) limits: Limits,
    /// The address listened on: requests must name it (or a loopback name) as their host.
    pub(super) bound: SocketAddr,
    /// The workspace whose `Workspace admin token` `GET /tokens` gives (`--workspace`).
    pub(super) home: i64,
}

type Shared = Arc<App>;

pub(super) fn router(app: Shared) -> Router {
    Router::new()
        .route("/v0/tokens", get(list_tokens).post(create_token))
        .route(
            "/v0/tokens/{name}",
            get(get_token).put(put_token).delete(delete_token),
        )
        .route("/v0/tokens/{name}/refresh", post(refresh_token))
        .route("/tokens", get(local_tokens))
        .route("/v1/user/workspaces", get(workspaces::list_workspaces))
        .route("/v1/workspaces", post(workspaces::create_workspace))
        .route(
            "/v1/workspaces/{id}",
            axum::routing::delete(workspaces::delete_workspace),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(app.limits.body_bytes))
        // Inside the log: refused requests are logged too.
        .layer(middleware::from_fn_with_state(app.bound, check_host))
        .layer(middleware::from_fn_with_state(app.limits, log_and_limit))
        .with_state(app)
}

/// The token with this name, or else this id.
fn find(store: &Store, name_or_id: &str) -> Result<Token, ApiError> {
    store
        .token_by_name_or_id(name_or_id)
        .map_err(|e| internal(&e))?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                format!("token `{name_or_id}` not found"),
            )
        })
}

fn scopes_of(pairs: &[(String, String)]) -> Result<Scopes, ApiError> {
    let scopes: Vec<Scope> = pairs
        .iter()
        .filter(|(k, _)| k == "scope")
        .map(|(_, v)| Scope::new(v.as_str()))
        .collect();
    if scopes.is_empty() {
        return Err(ApiError::bad_request(
            "at least one `scope` parameter is required",
        ));
    }
    for scope in &scopes {
        scope.check().map_err(ApiError::bad_request)?;
    }
    Ok(scopes.into_iter().collect())
}

fn token_json(token: &crate::workspace::Token) -> Response {
    axum::Json(WireToken::from_token(token)).into_response()
}

impl App {
    /// Runs a change in the writer: authorises, edits, counts it in the serial; answered once
    /// committed. A refused or failed change leaves the state as it was.
    async fn write(
        &self,
        presented: Option<String>,
        edit: impl FnOnce(&Store) -> Answer + Send + 'static,
    ) -> Answer {
        self.writer
            .run(move |store| {
                authorize(store, presented.as_deref())?;
                let response = edit(store)?;
                store.advance_serial().map_err(|e| internal(&e))?;
                Ok(response)
            })
            .await
    }

    /// Runs a read on a read connection, after authorising, in one snapshot.
    async fn read(
        &self,
        presented: Option<String>,
        view: impl FnOnce(&Store) -> Answer + Send + 'static,
    ) -> Answer {
        self.readers
            .run(move |store| {
                authorize(store, presented.as_deref())?;
                view(store)
            })
            .await
    }
}

async fn list_tokens(
    AxumState(app): AxumState<Shared>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let pairs = params(&uri, &headers, &[]);
    app.read(presented_token(&headers, &pairs), |store| {
        let tokens = store.tokens().map_err(|e| internal(&e))?;
        let list = WireTokenList {
            tokens: tokens.iter().map(WireToken::from_token).collect(),
        };
        Ok(axum::Json(list).into_response())
    })
    .await
}

async fn create_token(
    AxumState(app): AxumState<Shared>,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body_or_error(body)?;
    let pairs = params(&uri, &headers, &body);
    let presented = presented_token(&headers, &pairs);
    let limits = app.limits;
    app.write(presented, move |store| {
        let name = param(&pairs, "name").unwrap_or_default().to_owned();
        if TokenName::given(&name).is_err() {
            return Err(ApiError::bad_request(
                "a non-empty `name` parameter on one line is required",
            ));
        }
        if name.chars().count() > limits.name_chars {
            return Err(ApiError::bad_request(format!(
                "token names are at most {} characters",
                limits.name_chars
            )));
        }
        if is_default_token_name(&name) {
            return Err(ApiError::bad_request(format!(
                "`{name}` is the name of a default token and cannot be created"
            )));
        }
        let scopes = scopes_of(&pairs)?;
        if store.token(&name).map_err(|e| internal(&e))?.is_some() {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                format!("a token named `{name}` already exists"),
            ));
        }
        let description = param(&pairs, "description").unwrap_or_default();
        let meta = store.meta().map_err(|e| internal(&e))?;
        let token = meta.workspace.new_token(
            &name,
            &scopes,
            TokenKind::classify(&name, &scopes),
            description,
        );
        store.insert_token(&token).map_err(|e| internal(&e))?;
        Ok(token_json(&token))
    })
    .await
}

async fn get_token(
    AxumState(app): AxumState<Shared>,
    name: Result<UrlPath<String>, PathRejection>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let name = name_or_error(name)?;
    let pairs = params(&uri, &headers, &[]);
    app.read(presented_token(&headers, &pairs), move |store| {
        Ok(token_json(&find(store, &name)?))
    })
    .await
}

/// Writes an edited token back.
fn save(store: &Store, token: &Token) -> Result<(), ApiError> {
    store
        .update_token(token)
        .map(drop)
        .map_err(|e| internal(&e))
}

async fn put_token(
    AxumState(app): AxumState<Shared>,
    name: Result<UrlPath<String>, PathRejection>,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let name = name_or_error(name)?;
    let body = body_or_error(body)?;
    let pairs = params(&uri, &headers, &body);
    app.write(presented_token(&headers, &pairs), move |store| {
        let mut token = find(store, &name)?;
        if token.kind == TokenKind::Default {
            return Err(ApiError::bad_request(format!(
                "`{}` is a default token: its scopes cannot be changed",
                token.name
            )));
        }
        let scopes = scopes_of(&pairs)?;
        if let Some(description) = param(&pairs, "description") {
            token.description = description.to_owned();
        }
        token.kind = TokenKind::classify(&token.name, &scopes);
        token.scopes = scopes;
        token.updated_at = now_rfc3339();
        save(store, &token)?;
        Ok(token_json(&token))
    })
    .await
}

async fn delete_token(
    AxumState(app): AxumState<Shared>,
    name: Result<UrlPath<String>, PathRejection>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let name = name_or_error(name)?;
    let pairs = params(&uri, &headers, &[]);
    app.write(presented_token(&headers, &pairs), move |store| {
        let token = find(store, &name)?;
        if token.kind == TokenKind::Default {
            return Err(ApiError::bad_request(format!(
                "`{}` is a default token: default tokens cannot be deleted",
                token.name
            )));
        }
        store.delete_token(&token.name).map_err(|e| internal(&e))?;
        Ok(StatusCode::NO_CONTENT.into_response())
    })
    .await
}

async fn refresh_token(
    AxumState(app): AxumState<Shared>,
    name: Result<UrlPath<String>, PathRejection>,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let name = name_or_error(name)?;
    let body = body_or_error(body)?;
    let pairs = params(&uri, &headers, &body);
    app.write(presented_token(&headers, &pairs), move |store| {
        let mut token = find(store, &name)?;
        let meta = store.meta().map_err(|e| internal(&e))?;
        token.value = meta.workspace.new_value();
        token.updated_at = now_rfc3339();
        save(store, &token)?;
        Ok(token_json(&token))
    })
    .await
}

/// `GET /tokens`, like Tinybird Local: the default tokens' values. Programs on this machine get
/// them without a token, as from Tinybird Local; others need one with TOKENS or ADMIN. Web pages
/// get nothing, even from this machine (see `guard`).
async fn local_tokens(
    AxumState(app): AxumState<Shared>,
    ConnectInfo(connection): ConnectInfo<Connection>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    refuse_web_pages(&headers)?;
    let pairs = params(&uri, &headers, &[]);
    let presented = presented_token(&headers, &pairs);
    let loopback = connection.peer.ip().is_loopback();
    let home = app.home;
    app.readers
        .run(move |store| {
            if !loopback {
                authorize(store, presented.as_deref())?;
            }
            // The first workspace's, whoever asks: `/tokens` is Tinybird Local's, not a
            // workspace's.
            store.use_workspace(crate::workspace::store::DEFAULT_WORKSPACE);
            let value = |name: &str| -> Result<String, ApiError> {
                Ok(store
                    .token(name)
                    .map_err(|e| internal(&e))?
                    .map(|t| t.value)
                    .unwrap_or_default())
            };
            let meta = store.meta().map_err(|e| internal(&e))?;
            let user_token = value(USER_TOKEN)?;
            let admin_token = value(&admin_token_name(&meta.workspace.admin_email))?;
            store.use_workspace(home);
            let workspace_admin_token = value(WORKSPACE_ADMIN_TOKEN)?;
            Ok(axum::Json(LocalTokens {
                user_token,
                admin_token,
                workspace_admin_token,
            })
            .into_response())
        })
        .await
}

async fn not_found(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!("not found: {method} {}", uri.path()),
    )
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("{method} is not allowed on {}", uri.path()),
    )
}
