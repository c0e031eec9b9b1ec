//! `tokenplan local start`: a local workspace served over the Tinybird Tokens API, on the same
//! state file as the embedded workspace. It holds the state's write lock while it runs, checks
//! every request's token, writes each change durably before answering, and logs requests
//! without secrets.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path as UrlPath, Request, State as AxumState};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use miette::Diagnostic;
use thiserror::Error;

use crate::workspace::secret::{Secret, new_signing_key, now_rfc3339, token_value, uuid_v4};
use crate::workspace::state::{State, StateLock};
use crate::workspace::wire::{LocalTokens, WireError, WireToken, WireTokenList, check_scope};
use crate::workspace::{
    TokenKind, USER_TOKEN, WORKSPACE_ADMIN_TOKEN, WorkspaceError, admin_token_name,
    is_default_token_name,
};

/// Writes one line to the log (stderr). Unlike `eprintln!`, a closed stderr (`... 2>&1 | head`)
/// does not panic the request that logs.
macro_rules! log_line {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock(), $($arg)*);
    }};
}

/// The port Tinybird Local listens on.
pub const DEFAULT_PORT: u16 = 7181;

/// Size limits and the shutdown grace period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest request body accepted.
    pub body_bytes: usize,
    /// The longest query string accepted.
    pub query_bytes: usize,
    /// The longest name accepted for a token.
    pub name_chars: usize,
    /// How long a stop waits for requests in flight.
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            body_bytes: 64 * 1024,
            query_bytes: 16 * 1024,
            name_chars: 256,
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// How to run the server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to listen on.
    pub bind: IpAddr,
    /// Port; 0 picks a free one.
    pub port: u16,
    /// The state file.
    pub state: PathBuf,
    /// Email in the name of the default admin token of a new workspace.
    pub admin_email: String,
    /// Becomes the value of the `Workspace admin token`.
    pub workspace_token: Option<Secret>,
    /// Becomes the value of the `User token`.
    pub user_token: Option<Secret>,
    /// Size limits.
    pub limits: Limits,
}

/// What a started server tells its caller.
#[derive(Debug, Clone)]
pub struct Ready {
    /// The address actually bound.
    pub address: SocketAddr,
    /// The state file.
    pub state: PathBuf,
    /// True when the state file was created now.
    pub created: bool,
    /// Who held the lock the server took over (a server that died), if anyone.
    pub took_over: Option<String>,
}

/// Why the server could not start or stopped with an error.
#[derive(Debug, Error, Diagnostic)]
pub enum ServerError {
    /// The state file or its lock.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Workspace(#[from] WorkspaceError),

    /// The address cannot be listened on.
    #[error("cannot listen on {address}: {reason}")]
    #[diagnostic(
        code(tokenplan::server::bind),
        help(
            "is another server using this port? pick another with --port, or --port 0 for any free port"
        )
    )]
    Bind {
        /// The address.
        address: String,
        /// Why.
        reason: String,
    },

    /// A token given with --workspace-token or --user-token cannot be used.
    #[error("the {which} cannot be used: {reason}")]
    #[diagnostic(
        code(tokenplan::server::invalid_token),
        help(
            "pass a value without spaces, different for each token; `tokenplan local generate-tokens` makes a pair"
        )
    )]
    InvalidToken {
        /// Which option.
        which: &'static str,
        /// Why.
        reason: String,
    },

    /// The async runtime failed.
    #[error("the server failed: {reason}")]
    #[diagnostic(code(tokenplan::server::runtime))]
    Runtime {
        /// Why.
        reason: String,
    },
}

/// A new workspace token and user token in the static `p.` format, each signed with its own
/// random key: `(workspace_token, user_token)`.
pub fn generate_tokens() -> (Secret, Secret) {
    let make = || {
        Secret::new(token_value(
            &uuid_v4(),
            &uuid_v4(),
            None,
            &new_signing_key(),
        ))
    };
    (make(), make())
}

/// Runs the server until SIGTERM or Ctrl-C. `on_ready` is called once it listens.
pub fn serve(config: ServerConfig, on_ready: impl FnOnce(&Ready)) -> Result<(), ServerError> {
    let command = format!("{SERVER_COMMAND} --port {}", config.port);
    let unlock = format!("tokenplan force-unlock --state {}", config.state.display());
    let (lock, took_over) = match StateLock::acquire(&config.state, &command, &unlock) {
        Ok(lock) => (lock, None),
        // Every write of the server is a whole, synced state: a server killed midway leaves
        // nothing half-done, so its lock can be taken over. A dead apply's lock cannot.
        Err(WorkspaceError::StaleLock { holder, .. })
            if holder.starts_with(&format!("`{SERVER_COMMAND}")) =>
        {
            StateLock::force_unlock(&config.state)?;
            (
                StateLock::acquire(&config.state, &command, &unlock)?,
                Some(holder),
            )
        }
        Err(error) => return Err(error.into()),
    };
    let (state, created) = prepare_state(&config)?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| ServerError::Runtime {
            reason: e.to_string(),
        })?;
    let result = runtime.block_on(async move {
        let stop = stop_signal().map_err(|e| ServerError::Runtime {
            reason: format!("cannot listen for signals: {e}"),
        })?;
        let address = SocketAddr::new(config.bind, config.port);
        let listener =
            tokio::net::TcpListener::bind(address)
                .await
                .map_err(|e| ServerError::Bind {
                    address: address.to_string(),
                    reason: e.to_string(),
                })?;
        let bound = listener.local_addr().map_err(|e| ServerError::Bind {
            address: address.to_string(),
            reason: e.to_string(),
        })?;
        let app = Arc::new(App {
            store: tokio::sync::Mutex::new(state),
            path: config.state.clone(),
            limits: config.limits,
        });
        on_ready(&Ready {
            address: bound,
            state: config.state.clone(),
            created,
            took_over,
        });
        run(listener, router(app), stop, config.limits.shutdown_grace).await
    });
    drop(lock);
    result
}

const SERVER_COMMAND: &str = "tokenplan local start";

/// Loads or creates the state and sets the given token values; writes it when anything changed.
fn prepare_state(config: &ServerConfig) -> Result<(State, bool), ServerError> {
    let loaded = State::load(&config.state)?;
    let created = loaded.is_none();
    let mut state = loaded.unwrap_or_else(|| State::new(&config.admin_email));
    let mut changed = created;
    let given = [
        (
            "--workspace-token",
            WORKSPACE_ADMIN_TOKEN,
            &config.workspace_token,
        ),
        ("--user-token", USER_TOKEN, &config.user_token),
    ];
    for (which, name, value) in given {
        let Some(value) = value else { continue };
        let value = value.expose();
        if value.is_empty() || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(ServerError::InvalidToken {
                which,
                reason: "it is empty or has spaces".into(),
            });
        }
        if state
            .tokens
            .iter()
            .any(|t| t.name != name && t.value == value)
        {
            return Err(ServerError::InvalidToken {
                which,
                reason: "another token of the workspace has this value".into(),
            });
        }
        let Ok(index) = state.position(name) else {
            return Err(ServerError::InvalidToken {
                which,
                reason: format!("the workspace has no `{name}` to give it to"),
            });
        };
        if state.tokens[index].value != value {
            state.tokens[index].value = value.to_owned();
            state.tokens[index].updated_at = now_rfc3339();
            changed = true;
        }
    }
    if changed {
        state.save(&config.state)?;
    }
    Ok((state, created))
}

/// Resolves when SIGTERM or SIGINT (Ctrl-C) arrives. The handlers are installed now, so that a
/// signal sent right after the server says it listens is not lost.
#[cfg(unix)]
fn stop_signal() -> std::io::Result<impl std::future::Future<Output = &'static str>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = terminate.recv() => "SIGTERM",
            _ = interrupt.recv() => "Ctrl-C",
        }
    })
}

#[cfg(not(unix))]
fn stop_signal() -> std::io::Result<impl std::future::Future<Output = &'static str>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
        "Ctrl-C"
    })
}

async fn run(
    listener: tokio::net::TcpListener,
    router: Router,
    stop: impl std::future::Future<Output = &'static str> + Send + 'static,
    grace: Duration,
) -> Result<(), ServerError> {
    let (stopping, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        let which = stop.await;
        log_line!(
            "{} received {which}: finishing requests in flight, then stopping",
            now_rfc3339()
        );
        let _ = stopping.send(true);
    });
    let mut graceful = stopped.clone();
    let mut deadline = stopped;
    let server = axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        let _ = graceful.wait_for(|stop| *stop).await;
    });
    tokio::select! {
        result = async { server.await } => result.map_err(|e| ServerError::Runtime { reason: e.to_string() })?,
        () = async {
            let _ = deadline.wait_for(|stop| *stop).await;
            tokio::time::sleep(grace).await;
        } => log_line!("{} requests still open after {} s: stopping anyway", now_rfc3339(), grace.as_secs()),
    }
    log_line!("{} stopped", now_rfc3339());
    Ok(())
}

/// The shared state of the handlers: one lock around the workspace, so that requests are
/// serialised and each sees the last acknowledged write.
struct App {
    store: tokio::sync::Mutex<State>,
    path: PathBuf,
    limits: Limits,
}

type Shared = Arc<App>;

fn router(app: Shared) -> Router {
    Router::new()
        .route("/v0/tokens", get(list_tokens).post(create_token))
        .route(
            "/v0/tokens/{name}",
            get(get_token).put(put_token).delete(delete_token),
        )
        .route("/v0/tokens/{name}/refresh", post(refresh_token))
        .route("/tokens", get(local_tokens))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(app.limits.body_bytes))
        .layer(middleware::from_fn_with_state(
            Arc::clone(&app),
            log_and_limit,
        ))
        .with_state(app)
}

/// An API error: a status and `{"error": "..."}`.
#[derive(Debug)]
struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
        }
    }

    fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            axum::Json(WireError {
                error: self.message,
            }),
        )
            .into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// Logs every request (method, path, query with `token=` values masked, status, duration) and
/// refuses oversized queries and declared bodies before any handler runs. Headers are never
/// logged: they carry the token.
async fn log_and_limit(
    AxumState(app): AxumState<Shared>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let target = redacted_target(request.uri());
    let query_len = request.uri().query().map_or(0, str::len);
    let declared_body = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    let response = if query_len > app.limits.query_bytes {
        ApiError::new(
            StatusCode::URI_TOO_LONG,
            format!(
                "the query string is longer than {} bytes",
                app.limits.query_bytes
            ),
        )
        .into_response()
    } else if declared_body > app.limits.body_bytes {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the request body is larger than {} bytes",
                app.limits.body_bytes
            ),
        )
        .into_response()
    } else {
        next.run(request).await
    };
    log_line!(
        "{} {method} {target} {} {:.1}ms",
        now_rfc3339(),
        response.status().as_u16(),
        started.elapsed().as_secs_f64() * 1000.0
    );
    response
}

/// The path and query of a request with every `token=` value replaced by `****`.
pub fn redacted_target(uri: &Uri) -> String {
    let path = uri.path();
    let Some(query) = uri.query() else {
        return path.to_owned();
    };
    let redacted: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) if key.eq_ignore_ascii_case("token") => format!("{key}=****"),
            _ => pair.to_owned(),
        })
        .collect();
    format!("{path}?{}", redacted.join("&"))
}

/// Query parameters, and those of a form body, in order.
fn params(uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> =
        form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if is_form {
        pairs.extend(form_urlencoded::parse(body).into_owned());
    }
    pairs
}

fn param<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// The token a request presents: `Authorization: Bearer`, or `?token=` as the Tinybird CLI also
/// sends.
fn presented_token(headers: &HeaderMap, pairs: &[(String, String)]) -> Option<String> {
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

/// Compares without stopping at the first difference, so that answer times tell nothing about
/// how much of a guessed token is right.
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Checks that the request's token belongs to the workspace (401) and may manage tokens (403).
fn authorize(state: &State, presented: Option<&str>) -> Result<(), ApiError> {
    let Some(presented) = presented else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "missing token: send `Authorization: Bearer <token>` with a token that has the TOKENS or ADMIN scope",
        ));
    };
    let mut found = None;
    for token in &state.tokens {
        if same_secret(&token.value, presented) {
            found = Some(token);
        }
    }
    let Some(token) = found else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid token: it is not a token of this workspace",
        ));
    };
    if token.scopes.iter().any(|s| s == "ADMIN" || s == "TOKENS") {
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

fn body_or_error(body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|rejection| ApiError::new(rejection.status(), rejection.body_text()))
}

fn name_or_error(name: Result<UrlPath<String>, PathRejection>) -> Result<String, ApiError> {
    name.map(|UrlPath(name)| name)
        .map_err(|rejection| ApiError::bad_request(rejection.body_text()))
}

/// The index of a token by name, or else by id.
fn find(state: &State, name_or_id: &str) -> Result<usize, ApiError> {
    state
        .position(name_or_id)
        .ok()
        .or_else(|| state.tokens.iter().position(|t| t.id == name_or_id))
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                format!("token `{name_or_id}` not found"),
            )
        })
}

fn scopes_of(pairs: &[(String, String)]) -> Result<Vec<String>, ApiError> {
    let mut scopes: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| k == "scope")
        .map(|(_, v)| v.clone())
        .collect();
    if scopes.is_empty() {
        return Err(ApiError::bad_request(
            "at least one `scope` parameter is required",
        ));
    }
    for scope in &scopes {
        check_scope(scope).map_err(ApiError::bad_request)?;
    }
    scopes.sort();
    scopes.dedup();
    Ok(scopes)
}

fn token_json(token: &crate::workspace::Token) -> Response {
    axum::Json(WireToken::from_token(token)).into_response()
}

impl App {
    /// Runs a change under the lock: authorises, edits a copy, writes it durably, and only then
    /// makes it the current state. A failed write leaves the state as it was.
    async fn write(
        &self,
        presented: Option<String>,
        edit: impl FnOnce(&mut State) -> Result<Response, ApiError>,
    ) -> Result<Response, ApiError> {
        let mut current = self.store.lock().await;
        authorize(&current, presented.as_deref())?;
        let mut next = current.clone();
        let response = edit(&mut next)?;
        let path = self.path.clone();
        let saved = tokio::task::spawn_blocking(move || next.save(&path).map(|()| next)).await;
        match saved {
            Ok(Ok(next)) => {
                *current = next;
                Ok(response)
            }
            Ok(Err(error)) => Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("the change was not saved: {error}"),
            )),
            Err(error) => Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("the change was not saved: {error}"),
            )),
        }
    }

    async fn read(
        &self,
        presented: Option<String>,
        view: impl FnOnce(&State) -> Result<Response, ApiError>,
    ) -> Result<Response, ApiError> {
        let current = self.store.lock().await;
        authorize(&current, presented.as_deref())?;
        view(&current)
    }
}

async fn list_tokens(
    AxumState(app): AxumState<Shared>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let pairs = params(&uri, &headers, &[]);
    app.read(presented_token(&headers, &pairs), |state| {
        let list = WireTokenList {
            tokens: state.tokens.iter().map(WireToken::from_token).collect(),
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
    app.write(presented, |state| {
        let name = param(&pairs, "name").unwrap_or_default().to_owned();
        if name.trim().is_empty() || name.chars().any(char::is_control) {
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
        if state.get(&name).is_some() {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                format!("a token named `{name}` already exists"),
            ));
        }
        let description = param(&pairs, "description").unwrap_or_default();
        let token = state.new_token(
            &name,
            &scopes,
            TokenKind::classify(&name, &scopes),
            description,
        );
        state.insert(token.clone());
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
    app.read(presented_token(&headers, &pairs), |state| {
        let index = find(state, &name)?;
        Ok(token_json(&state.tokens[index]))
    })
    .await
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
    app.write(presented_token(&headers, &pairs), |state| {
        let index = find(state, &name)?;
        let token = &mut state.tokens[index];
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
        Ok(token_json(token))
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
    app.write(presented_token(&headers, &pairs), |state| {
        let index = find(state, &name)?;
        if state.tokens[index].kind == TokenKind::Default {
            return Err(ApiError::bad_request(format!(
                "`{}` is a default token: default tokens cannot be deleted",
                state.tokens[index].name
            )));
        }
        state.tokens.remove(index);
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
    app.write(presented_token(&headers, &pairs), |state| {
        let index = find(state, &name)?;
        let value = state.new_value();
        let token = &mut state.tokens[index];
        token.value = value;
        token.updated_at = now_rfc3339();
        Ok(token_json(token))
    })
    .await
}

/// `GET /tokens`, like Tinybird Local: the default tokens' values. Clients on this machine get
/// them without a token, as from Tinybird Local; others need one with TOKENS or ADMIN.
async fn local_tokens(
    AxumState(app): AxumState<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let pairs = params(&uri, &headers, &[]);
    let current = app.store.lock().await;
    if !peer.ip().is_loopback() {
        authorize(&current, presented_token(&headers, &pairs).as_deref())?;
    }
    let value = |name: &str| {
        current
            .get(name)
            .map(|t| t.value.clone())
            .unwrap_or_default()
    };
    Ok(axum::Json(LocalTokens {
        user_token: value(USER_TOKEN),
        admin_token: value(&admin_token_name(&current.workspace.admin_email)),
        workspace_admin_token: value(WORKSPACE_ADMIN_TOKEN),
    })
    .into_response())
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

/// The state file `tokenplan local start` uses when none is given: the embedded workspace's,
/// in the current folder.
pub fn default_state_path() -> PathBuf {
    Path::new(crate::workspace::state::DEFAULT_STATE_PATH).to_path_buf()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_query_values_are_redacted_in_logs() {
        let uri: Uri = "/v0/tokens?name=a&token=p.secret&TOKEN=x&scope=ADMIN"
            .parse()
            .unwrap();
        assert_eq!(
            redacted_target(&uri),
            "/v0/tokens?name=a&token=****&TOKEN=****&scope=ADMIN"
        );
        assert_eq!(redacted_target(&"/tokens".parse().unwrap()), "/tokens");
    }

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

    #[test]
    fn given_tokens_replace_the_default_values_and_must_be_distinct() {
        let dir = std::env::temp_dir().join(format!("tokenplan-server-{}", uuid_v4()));
        let (workspace, user) = generate_tokens();
        let mut config = ServerConfig {
            bind: IpAddr::from([127, 0, 0, 1]),
            port: 0,
            state: dir.join("workspace.json"),
            admin_email: "a@b.c".into(),
            workspace_token: Some(workspace.clone()),
            user_token: Some(user.clone()),
            limits: Limits::default(),
        };
        let (state, created) = prepare_state(&config).unwrap();
        assert!(created);
        assert_eq!(
            state.get(WORKSPACE_ADMIN_TOKEN).unwrap().value,
            workspace.expose()
        );
        assert_eq!(state.get(USER_TOKEN).unwrap().value, user.expose());
        assert_eq!(State::load(&config.state).unwrap().unwrap(), state);
        config.user_token = Some(workspace);
        assert!(matches!(
            prepare_state(&config),
            Err(ServerError::InvalidToken { .. })
        ));
        config.user_token = Some(Secret::new("has space"));
        assert!(matches!(
            prepare_state(&config),
            Err(ServerError::InvalidToken { .. })
        ));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
