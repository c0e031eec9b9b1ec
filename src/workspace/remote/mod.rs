//! The remote workspace: a Tinybird workspace, or `tokenplan local start`, over the Tokens API,
//! with timeouts, retries of the requests that are safe to repeat, and failures turned into
//! diagnostics that say what to do. The token it authenticates with never leaves the
//! `Authorization` header.

use std::time::Duration;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::secret::{Secret, random_bytes};
use super::wire::{WireError, WireToken, WireTokenList};
use super::{Snapshot, Token, TokenKind, Workspace, WorkspaceError, WorkspaceInfo};

/// Everything but RFC 3986's unreserved characters is escaped, in paths and queries alike.
const ESCAPED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The most of an answer read; a token list of 10,000 tokens is a few MiB.
const MAX_BODY: u64 = 64 * 1024 * 1024;

/// Timeouts and retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemoteOptions {
    /// The most one request may take, connection included.
    pub timeout: Duration,
    /// The most connecting may take.
    pub connect_timeout: Duration,
    /// Requests sent at most for one call that is safe to repeat (1 = no retry).
    pub max_attempts: u32,
    /// The wait before the first retry; it doubles on each retry.
    pub backoff: Duration,
    /// The longest wait between two attempts, `Retry-After` included.
    pub max_backoff: Duration,
}

impl Default for RemoteOptions {
    fn default() -> Self {
        RemoteOptions {
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            max_attempts: 4,
            backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(8),
        }
    }
}

/// A workspace reached over the Tokens API.
pub struct RemoteWorkspace {
    host: String,
    token: Secret,
    agent: ureq::Agent,
    options: RemoteOptions,
}

impl std::fmt::Debug for RemoteWorkspace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteWorkspace")
            .field("host", &self.host)
            .field("token", &self.token)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// The HTTP methods the Tokens API uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    Get,
    Post,
    Put,
    Delete,
}

impl Method {
    const fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
        }
    }

    /// Sending it twice does no more than sending it once. A POST creates or refreshes: a retry
    /// after a lost answer could make a second token or a second new value.
    const fn is_idempotent(self) -> bool {
        match self {
            Method::Get | Method::Put | Method::Delete => true,
            Method::Post => false,
        }
    }
}

/// One API call.
struct Call {
    method: Method,
    /// Path and query, already escaped.
    target: String,
    /// What it does, for messages: "list tokens", "create token `x`".
    action: String,
    /// The token it is about, if any.
    name: Option<String>,
}

/// An answer with a success status.
struct Answer {
    body: String,
}

/// `/v0/tokens/<escaped name>`.
fn token_path(name: &str) -> String {
    format!("/v0/tokens/{}", utf8_percent_encode(name, ESCAPED))
}

/// `?k=v&k=v` with keys and values escaped.
fn query(pairs: &[(&str, &str)]) -> String {
    let mut text = String::new();
    for (i, (key, value)) in pairs.iter().enumerate() {
        text.push(if i == 0 { '?' } else { '&' });
        text.extend(utf8_percent_encode(key, ESCAPED));
        text.push('=');
        text.extend(utf8_percent_encode(value, ESCAPED));
    }
    text
}

/// Checks and normalises an API base URL: a scheme, a host, no trailing slash, no query.
pub fn normalize_host(host: &str) -> Result<String, WorkspaceError> {
    let trimmed = host.trim().trim_end_matches('/');
    let rest = trimmed
        .strip_prefix("https://")
        .or_else(|| trimmed.strip_prefix("http://"));
    let valid = rest.is_some_and(|r| !r.is_empty() && !r.contains(['?', '#', ' ', '@']));
    if !valid {
        return Err(WorkspaceError::Config {
            message: format!("`{host}` is not a workspace host URL"),
            help: Some(
                "give the API base URL with its scheme, e.g. https://api.tinybird.co or http://localhost:7181".into(),
            ),
        });
    }
    Ok(trimmed.to_owned())
}

impl RemoteWorkspace {
    /// A client for the workspace at `host` (e.g. `http://localhost:7181`), authenticating with
    /// `token`.
    pub fn new(
        host: &str,
        token: Secret,
        options: RemoteOptions,
    ) -> Result<RemoteWorkspace, WorkspaceError> {
        let host = normalize_host(host)?;
        if token.expose().trim().is_empty() || token.expose().contains(['\r', '\n']) {
            return Err(WorkspaceError::Config {
                message: "the workspace token is empty or not a single line".into(),
                help: Some("pass a token with --token, TB_TOKEN or .tinyb".into()),
            });
        }
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(options.timeout))
            .timeout_connect(Some(options.connect_timeout))
            .http_status_as_error(false)
            // A redirect is a wrong host; following it could send the token elsewhere.
            .max_redirects(0)
            .user_agent(concat!("tokenplan/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Ok(RemoteWorkspace {
            host,
            token,
            agent,
            options,
        })
    }

    /// The API base URL.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Sends a call, retrying 429, 502, 503 and 504 when the method is safe to repeat. `Ok`
    /// holds a success or 404 (as `None`); every other status is an error.
    fn send(&self, call: &Call) -> Result<Option<Answer>, WorkspaceError> {
        let url = format!("{}{}", self.host, call.target);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let request = ureq::http::Request::builder()
                .method(call.method.as_str())
                .uri(&url)
                .header("Authorization", format!("Bearer {}", self.token.expose()))
                .header("Accept", "application/json")
                .body(())
                .map_err(|e| WorkspaceError::Config {
                    message: format!("cannot make a request to {}: {e}", self.host),
                    help: Some("check the host URL".into()),
                })?;
            let mut response = match self.agent.run(request) {
                Ok(response) => response,
                Err(error) => return Err(self.transport_error(call, error)),
            };
            let status = response.status().as_u16();
            let retryable = matches!(status, 429 | 502 | 503 | 504);
            if retryable && call.method.is_idempotent() && attempt < self.options.max_attempts {
                let retry_after = response
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(Duration::from_secs);
                std::thread::sleep(self.backoff(attempt, retry_after));
                continue;
            }
            let body = response
                .body_mut()
                .with_config()
                .limit(MAX_BODY)
                .read_to_string()
                .map_err(|e| self.transport_error(call, e))?;
            return match status {
                200..=299 => Ok(Some(Answer { body })),
                // A DELETE retried after a lost answer finds the token already gone.
                404 if call.method == Method::Delete && attempt > 1 => Ok(Some(Answer { body })),
                404 if call.name.is_some() => Ok(None),
                _ => Err(self.status_error(call, status, &body, attempt, response.headers())),
            };
        }
    }

    /// The wait before retry number `attempt`: doubling from the base, at least what the server
    /// asked for, at most the cap, with up to a quarter of jitter so that clients spread out.
    fn backoff(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let doubling = self
            .options
            .backoff
            .saturating_mul(1u32 << (attempt - 1).min(16));
        let jitter = u64::from(random_bytes::<1>()[0]) * doubling.as_millis() as u64 / 1020;
        let wait = (doubling + Duration::from_millis(jitter)).max(retry_after.unwrap_or_default());
        wait.min(self.options.max_backoff)
    }

    fn detail(&self, body: &str) -> String {
        let reason = serde_json::from_str::<WireError>(body)
            .map(|e| e.error)
            .unwrap_or_else(|_| body.to_owned());
        // A server echoing the request must not make this message carry the token.
        let reason = reason.replace(self.token.expose(), "****");
        let reason: String = reason.split_whitespace().collect::<Vec<_>>().join(" ");
        let reason: String = if reason.chars().count() > 300 {
            reason.chars().take(300).chain("…".chars()).collect()
        } else {
            reason
        };
        if reason.is_empty() {
            String::new()
        } else {
            format!(": {reason}")
        }
    }

    fn status_error(
        &self,
        call: &Call,
        status: u16,
        body: &str,
        attempts: u32,
        headers: &ureq::http::HeaderMap,
    ) -> WorkspaceError {
        let host = self.host.clone();
        let detail = self.detail(body);
        let maybe_done = !call.method.is_idempotent();
        match status {
            401 => WorkspaceError::Unauthorized { host, detail },
            403 => WorkspaceError::Forbidden {
                host,
                refused: format!("{} (403 forbidden){detail}", call.action),
            },
            404 => WorkspaceError::Remote {
                message: format!(
                    "{host} has no Tokens API at {} {} (404){detail}",
                    call.method.as_str(),
                    call.target.split('?').next().unwrap_or_default()
                ),
                help: Some("check the host: it must be the workspace's API base URL, e.g. https://api.tinybird.co".into()),
            },
            409 => match &call.name {
                Some(name) if call.method == Method::Post => WorkspaceError::Conflict { name: name.clone() },
                _ => WorkspaceError::Refused {
                    message: format!("{host} refused to {} (409 conflict){detail}", call.action),
                    help: Some("somebody else changed the workspace at the same time: run the command again".into()),
                },
            },
            429 => WorkspaceError::RateLimited {
                host,
                action: call.action.clone(),
                attempts,
            },
            300..=399 => {
                let location = headers
                    .get("location")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("another address");
                WorkspaceError::Remote {
                    message: format!("{host} answered {status} (a redirect to {location}) when asked to {}", call.action),
                    help: Some(
                        "give the final address as the host (for example https:// rather than http://); tokenplan does not follow redirects with a token".into(),
                    ),
                }
            }
            400..=499 => WorkspaceError::Refused {
                message: format!("{host} refused to {} ({status}){detail}", call.action),
                help: None,
            },
            _ => WorkspaceError::Remote {
                message: format!(
                    "{host} failed to {} ({status}{}){detail}",
                    call.action,
                    if attempts > 1 { format!(", {attempts} attempts") } else { String::new() }
                ),
                help: Some(if maybe_done {
                    "the change may or may not have been made: check with `tokenplan token ls` or `tokenplan plan`, then run the command again".into()
                } else {
                    "the workspace is failing: try again later; changes already made are kept".into()
                }),
            },
        }
    }

    fn transport_error(&self, call: &Call, error: ureq::Error) -> WorkspaceError {
        let host = self.host.clone();
        let unreachable = |reason: String| WorkspaceError::Unreachable {
            host: host.clone(),
            reason,
        };
        match error {
            ureq::Error::Io(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                unreachable("connection refused".into())
            }
            // The connection was made and then lost: a create or refresh may have happened.
            ureq::Error::Io(e) if !call.method.is_idempotent() => WorkspaceError::Remote {
                message: format!("lost the connection to {host} while trying to {}: {e}", call.action),
                help: Some(
                    "the change may or may not have been made: check with `tokenplan token ls` or `tokenplan plan` before running the command again".into(),
                ),
            },
            ureq::Error::Io(e) => unreachable(e.to_string()),
            ureq::Error::HostNotFound => unreachable("host name not found".into()),
            ureq::Error::ConnectionFailed => unreachable("connection failed".into()),
            ureq::Error::Tls(reason) => unreachable(format!("TLS: {reason}")),
            ureq::Error::Rustls(e) => unreachable(format!("TLS: {e}")),
            ureq::Error::Timeout(_) => WorkspaceError::Timeout {
                message: format!(
                    "{host} did not answer within {} s while trying to {}",
                    self.options.timeout.as_secs().max(1),
                    call.action
                ),
                help: if call.method.is_idempotent() {
                    "the workspace may be overloaded: run the command again later"
                } else {
                    "the change may or may not have been made: check with `tokenplan token ls` or `tokenplan plan` before running the command again"
                },
            },
            ureq::Error::BadUri(reason) => WorkspaceError::Config {
                message: format!("`{host}` is not a usable host URL: {reason}"),
                help: Some("give the API base URL, e.g. https://api.tinybird.co".into()),
            },
            other => WorkspaceError::Remote {
                message: format!("cannot {} on {host}: {other}", call.action),
                help: Some("check the host and run the command again".into()),
            },
        }
    }

    fn parse_token(&self, call: &Call, body: &str) -> Result<Token, WorkspaceError> {
        serde_json::from_str::<WireToken>(body)
            .map(WireToken::into_token)
            .map_err(|e| self.invalid_answer(call, &e))
    }

    fn invalid_answer(&self, call: &Call, error: &serde_json::Error) -> WorkspaceError {
        WorkspaceError::Remote {
            message: format!(
                "{} answered `{}` with something that is not a token document: {error}",
                self.host, call.action
            ),
            help: Some(
                "check that the host is a Tinybird API (e.g. https://api.tinybird.co)".into(),
            ),
        }
    }

    /// Every token of the workspace, sorted by name.
    pub fn list(&self) -> Result<Vec<Token>, WorkspaceError> {
        let call = Call {
            method: Method::Get,
            target: "/v0/tokens".into(),
            action: "list tokens".into(),
            name: None,
        };
        let answer = self
            .send(&call)?
            .expect("404 is an error when no token is named");
        let list: WireTokenList =
            serde_json::from_str(&answer.body).map_err(|e| self.invalid_answer(&call, &e))?;
        let mut tokens: Vec<Token> = list.tokens.into_iter().map(WireToken::into_token).collect();
        tokens.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(tokens)
    }

    fn expect_token(&self, call: &Call) -> Result<Token, WorkspaceError> {
        match self.send(call)? {
            Some(answer) => self.parse_token(call, &answer.body),
            None => Err(WorkspaceError::NotFound {
                name: call.name.clone().unwrap_or_default(),
            }),
        }
    }
}

impl Workspace for RemoteWorkspace {
    fn info(&self) -> WorkspaceInfo {
        WorkspaceInfo {
            kind: "remote".into(),
            location: self.host.clone(),
        }
    }

    fn lock(&mut self, _command: &str) -> Result<(), WorkspaceError> {
        // The Tokens API has no lock: apply checks each token before changing it instead.
        Ok(())
    }

    fn snapshot(&mut self) -> Result<Snapshot, WorkspaceError> {
        Ok(Snapshot {
            tokens: self.list()?,
            serial: None,
            lineage: None,
        })
    }

    fn get(&mut self, name: &str) -> Result<Option<Token>, WorkspaceError> {
        let call = Call {
            method: Method::Get,
            target: token_path(name),
            action: format!("read token `{name}`"),
            name: Some(name.to_owned()),
        };
        match self.send(&call)? {
            Some(answer) => self.parse_token(&call, &answer.body).map(Some),
            None => Ok(None),
        }
    }

    fn create(
        &mut self,
        name: &str,
        scopes: &[String],
        _kind: TokenKind,
        description: &str,
    ) -> Result<Token, WorkspaceError> {
        let mut pairs = vec![("name", name)];
        pairs.extend(scopes.iter().map(|s| ("scope", s.as_str())));
        if !description.is_empty() {
            pairs.push(("description", description));
        }
        let call = Call {
            method: Method::Post,
            target: format!("/v0/tokens{}", query(&pairs)),
            action: format!("create token `{name}`"),
            name: Some(name.to_owned()),
        };
        match self.send(&call)? {
            Some(answer) => self.parse_token(&call, &answer.body),
            None => Err(self.status_error(&call, 404, "", 1, &ureq::http::HeaderMap::new())),
        }
    }

    fn replace_scopes(&mut self, name: &str, scopes: &[String]) -> Result<Token, WorkspaceError> {
        let pairs: Vec<(&str, &str)> = scopes.iter().map(|s| ("scope", s.as_str())).collect();
        let call = Call {
            method: Method::Put,
            target: format!("{}{}", token_path(name), query(&pairs)),
            action: format!("change the scopes of token `{name}`"),
            name: Some(name.to_owned()),
        };
        self.expect_token(&call)
    }

    fn delete(&mut self, name: &str) -> Result<(), WorkspaceError> {
        let call = Call {
            method: Method::Delete,
            target: token_path(name),
            action: format!("delete token `{name}`"),
            name: Some(name.to_owned()),
        };
        match self.send(&call)? {
            Some(_) => Ok(()),
            None => Err(WorkspaceError::NotFound {
                name: name.to_owned(),
            }),
        }
    }

    fn refresh(&mut self, name: &str) -> Result<Token, WorkspaceError> {
        let call = Call {
            method: Method::Post,
            target: format!("{}/refresh", token_path(name)),
            action: format!("refresh token `{name}`"),
            name: Some(name.to_owned()),
        };
        self.expect_token(&call)
    }
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;
    use std::sync::{Arc, Mutex};

    use super::*;

    /// A one-thread HTTP server answering each request with the next canned answer, recording
    /// the request lines and headers it got.
    struct FakeServer {
        host: String,
        seen: Arc<Mutex<Vec<String>>>,
        thread: Option<std::thread::JoinHandle<()>>,
    }

    impl FakeServer {
        fn start(answers: Vec<(u16, &'static str)>) -> FakeServer {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let host = format!("http://{}", listener.local_addr().unwrap());
            let seen = Arc::new(Mutex::new(Vec::new()));
            let record = Arc::clone(&seen);
            let thread = std::thread::spawn(move || {
                for (status, body) in answers {
                    let (stream, _) = listener.accept().unwrap();
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut head = String::new();
                    let mut length = 0usize;
                    loop {
                        let mut line = String::new();
                        reader.read_line(&mut line).unwrap();
                        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                            length = v.trim().parse().unwrap();
                        }
                        if line == "\r\n" || line.is_empty() {
                            break;
                        }
                        head.push_str(&line);
                    }
                    let mut body_in = vec![0u8; length];
                    reader.read_exact(&mut body_in).unwrap();
                    record.lock().unwrap().push(head);
                    let mut stream = stream;
                    let _ = write!(
                        stream,
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                }
            });
            FakeServer {
                host,
                seen,
                thread: Some(thread),
            }
        }

        fn requests(mut self) -> Vec<String> {
            self.thread.take().unwrap().join().unwrap();
            self.seen.lock().unwrap().clone()
        }
    }

    fn fast() -> RemoteOptions {
        RemoteOptions {
            timeout: Duration::from_secs(20),
            connect_timeout: Duration::from_secs(10),
            max_attempts: 3,
            backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(50),
        }
    }

    fn client(host: &str) -> RemoteWorkspace {
        RemoteWorkspace::new(host, Secret::new("p.sekret-value"), fast()).unwrap()
    }

    const TOKEN: &str = r#"{"id": "1", "name": "a b", "token": "p.x", "scopes": [{"type": "PIPES:READ", "resource": "p"}]}"#;

    #[test]
    fn gets_are_retried_on_503_and_send_the_bearer_token_with_escaped_names() {
        let server = FakeServer::start(vec![(503, "{}"), (502, "{}"), (200, TOKEN)]);
        let mut remote = client(&server.host);
        let token = remote.get("a b/c").unwrap().unwrap();
        assert_eq!(token.kind, TokenKind::Resource);
        let requests = server.requests();
        assert_eq!(requests.len(), 3);
        assert!(
            requests[2].starts_with("GET /v0/tokens/a%20b%2Fc HTTP/1.1"),
            "{}",
            requests[2]
        );
        assert!(
            requests[2].contains("authorization: Bearer p.sekret-value")
                || requests[2].contains("Authorization: Bearer p.sekret-value")
        );
    }

    #[test]
    fn creates_are_not_retried_and_scopes_are_escaped() {
        let server = FakeServer::start(vec![(503, r#"{"error": "busy"}"#)]);
        let mut remote = client(&server.host);
        let scopes = vec![
            "DATASOURCES:READ:events".to_owned(),
            "PIPES:READ:top".to_owned(),
        ];
        let error = remote
            .create("new one", &scopes, TokenKind::Resource, "")
            .unwrap_err();
        let requests = server.requests();
        assert_eq!(requests.len(), 1);
        assert!(
            requests[0].starts_with(
                "POST /v0/tokens?name=new%20one&scope=DATASOURCES%3AREAD%3Aevents&scope=PIPES%3AREAD%3Atop "
            ),
            "{}",
            requests[0]
        );
        match error {
            WorkspaceError::Remote { message, help } => {
                assert!(
                    message.contains("failed to create token `new one` (503): busy"),
                    "{message}"
                );
                assert!(help.unwrap().contains("may or may not have been made"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn retries_give_up_after_the_last_attempt() {
        let server = FakeServer::start(vec![(429, "{}"), (429, "{}"), (429, "{}")]);
        let mut remote = client(&server.host);
        match remote.snapshot().unwrap_err() {
            WorkspaceError::RateLimited { attempts, .. } => assert_eq!(attempts, 3),
            other => panic!("{other:?}"),
        }
        assert_eq!(server.requests().len(), 3);
    }

    #[test]
    fn statuses_become_diagnostics_that_never_show_the_token() {
        let server = FakeServer::start(vec![
            (401, r#"{"error": "invalid token p.sekret-value"}"#),
            (403, r#"{"error": "needs TOKENS or ADMIN scope"}"#),
            (404, r#"{"error": "not found"}"#),
            (409, r#"{"error": "exists"}"#),
            (400, r#"{"error": "default tokens cannot be deleted"}"#),
        ]);
        let mut remote = client(&server.host);
        let unauthorized = remote.snapshot().unwrap_err();
        assert!(matches!(unauthorized, WorkspaceError::Unauthorized { .. }));
        let text = format!("{unauthorized} {unauthorized:?}");
        assert!(!text.contains("sekret"), "{text}");
        assert!(text.contains("invalid token ****"), "{text}");
        let help = miette::Diagnostic::help(&unauthorized).unwrap().to_string();
        assert!(help.contains("TOKENS or ADMIN"));
        let forbidden = remote.snapshot().unwrap_err();
        assert!(
            forbidden
                .to_string()
                .contains("refused to let this token list tokens (403 forbidden)")
        );
        assert!(matches!(
            remote.delete("gone"),
            Err(WorkspaceError::NotFound { .. })
        ));
        assert!(matches!(
            remote.create("taken", &["TOKENS".into()], TokenKind::Workspace, ""),
            Err(WorkspaceError::Conflict { .. })
        ));
        let refused = remote.delete("User token").unwrap_err();
        assert!(
            refused
                .to_string()
                .contains("default tokens cannot be deleted"),
            "{refused}"
        );
        assert!(!format!("{remote:?}").contains("sekret"));
        server.requests();
    }

    #[test]
    fn connection_refused_says_to_check_the_host_or_start_the_server() {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut remote = client(&format!("http://127.0.0.1:{port}/"));
        assert_eq!(remote.host(), format!("http://127.0.0.1:{port}"));
        let error = remote.snapshot().unwrap_err();
        assert!(
            matches!(error, WorkspaceError::Unreachable { .. }),
            "{error:?}"
        );
        let help = miette::Diagnostic::help(&error).unwrap().to_string();
        assert!(help.contains("tokenplan local start"));
    }

    #[test]
    fn a_silent_server_times_out_and_a_timed_out_create_may_have_happened() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let host = format!("http://{}", listener.local_addr().unwrap());
        let holder = std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            // Holds the connection open without answering until the client gives up.
            let mut buffer = [0u8; 1024];
            while matches!((&stream).read(&mut buffer), Ok(n) if n > 0) {}
        });
        let options = RemoteOptions {
            timeout: Duration::from_millis(300),
            ..fast()
        };
        let mut remote =
            RemoteWorkspace::new(&host, Secret::new("p.sekret-value"), options).unwrap();
        let error = remote
            .create("t", &["TOKENS".into()], TokenKind::Workspace, "")
            .unwrap_err();
        match &error {
            WorkspaceError::Timeout { message, help } => {
                assert!(
                    message.contains("while trying to create token `t`"),
                    "{message}"
                );
                assert!(help.contains("may or may not have been made"));
            }
            other => panic!("{other:?}"),
        }
        drop(remote);
        holder.join().unwrap();
    }

    #[test]
    fn a_connection_lost_during_a_create_says_it_may_have_happened() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let host = format!("http://{}", listener.local_addr().unwrap());
        let closer = std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream);
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap() > 2 {
                line.clear();
            }
        });
        let mut remote = client(&host);
        let error = remote.refresh("t").unwrap_err();
        closer.join().unwrap();
        match error {
            WorkspaceError::Remote { message, help } => {
                assert!(message.starts_with("lost the connection to"), "{message}");
                assert!(help.unwrap().contains("may or may not have been made"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn hosts_need_a_scheme() {
        assert!(normalize_host("api.tinybird.co").is_err());
        assert_eq!(
            normalize_host("https://api.tinybird.co/").unwrap(),
            "https://api.tinybird.co"
        );
        assert!(RemoteWorkspace::new("http://localhost:7181", Secret::new(" "), fast()).is_err());
    }
}
