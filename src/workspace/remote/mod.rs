//! The remote workspace: a Tinybird workspace, or `tokenplan local start`, over the Tokens API,
//! with timeouts, retries of the requests that are safe to repeat, and failures turned into
//! diagnostics that say what to do. The token it authenticates with never leaves the
//! `Authorization` header.
//!
//! Here: the options, the client and its [`Workspace`] methods; sending with retries is in
//! `client`, failures turned into [`WorkspaceError`]s in `errors`.

mod client;
mod errors;
#[cfg(test)]
mod tests;

use std::time::Duration;

use super::secret::Secret;
use super::wire::{WireToken, WireTokenList};
use super::{Snapshot, Token, TokenKind, Workspace, WorkspaceError, WorkspaceInfo};
use crate::scope::Scopes;
use client::{Call, Method, query, token_path};

pub(crate) use errors::TransportError;

/// `?k=v&k=v` with keys and values escaped, for the other APIs of a host.
pub(crate) fn query_string(pairs: &[(&str, &str)]) -> String {
    query(pairs)
}

/// Timeouts, retries and transport security.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RemoteOptions {
    /// The most one request may take, connection included.
    pub(crate) timeout: Duration,
    /// The most connecting may take.
    pub(crate) connect_timeout: Duration,
    /// Requests sent at most for one call that is safe to repeat (1 = no retry).
    pub(crate) max_attempts: u32,
    /// The wait before the first retry; it doubles on each retry.
    pub(crate) backoff: Duration,
    /// The longest wait between two attempts, `Retry-After` included.
    pub(crate) max_backoff: Duration,
    /// Plain `http://` is allowed to a host off this machine (`--allow-insecure-http`).
    pub(crate) allow_insecure_http: bool,
}

impl Default for RemoteOptions {
    fn default() -> Self {
        RemoteOptions {
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            max_attempts: 4,
            backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(8),
            allow_insecure_http: false,
        }
    }
}

/// A workspace reached over the Tokens API.
pub(crate) struct RemoteWorkspace {
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

/// Checks and normalises an API base URL: a scheme, a host, no trailing slash, no query.
pub(crate) fn normalize_host(host: &str) -> Result<String, WorkspaceError> {
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

/// Refuses plain `http://` to a host off this machine unless `allow_insecure_http`: the token
/// travels in every request. Loopback (`localhost`, `127.0.0.0/8`, `[::1]`, and `0.0.0.0`) never
/// leaves the machine, so `tokenplan local start` and Tinybird Local need no flag. `host` is
/// normalised.
pub(crate) fn check_transport(host: &str, allow_insecure_http: bool) -> Result<(), WorkspaceError> {
    let Some(rest) = host.strip_prefix("http://") else {
        return Ok(());
    };
    if allow_insecure_http || is_loopback_authority(rest) {
        return Ok(());
    }
    Err(WorkspaceError::InsecureHttp {
        host: host.to_owned(),
    })
}

/// The HTTP client for every request that carries a token (a workspace's, GitHub's): answers
/// of any status come back as values, a redirect is never followed (it could take the token to
/// another host), and certificates are checked by the operating system's verifier, so that a
/// corporate CA (a TLS-inspecting proxy) works as in other programs on the machine.
pub(crate) fn token_agent(timeout: Duration, connect_timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .timeout_connect(Some(connect_timeout))
        .http_status_as_error(false)
        .max_redirects(0)
        .user_agent(concat!("tokenplan/", env!("CARGO_PKG_VERSION")))
        .tls_config(
            ureq::tls::TlsConfig::builder()
                .root_certs(ureq::tls::RootCerts::PlatformVerifier)
                .build(),
        )
        .build()
        .into()
}

/// True for `localhost`, a `127.x.y.z` address, `[::1]` or `0.0.0.0` (which reaches this
/// machine, and is what `local start --bind 0.0.0.0` prints), with or without a port and path.
fn is_loopback_authority(rest: &str) -> bool {
    let authority = rest.split('/').next().unwrap_or_default();
    let name = if let Some(bracketed) = authority.strip_prefix('[') {
        // `[::1]:7181`: the address is inside the brackets.
        bracketed.split(']').next().unwrap_or_default()
    } else {
        authority.split(':').next().unwrap_or_default()
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback() || ip.is_unspecified())
}

impl RemoteWorkspace {
    /// A client for the workspace at `host` (e.g. `http://localhost:7181`), authenticating with
    /// `token`.
    pub(crate) fn new(
        host: &str,
        token: Secret,
        options: RemoteOptions,
    ) -> Result<RemoteWorkspace, WorkspaceError> {
        let host = normalize_host(host)?;
        check_transport(&host, options.allow_insecure_http)?;
        if token.expose().trim().is_empty() || token.expose().contains(['\r', '\n']) {
            return Err(WorkspaceError::Config {
                message: "the workspace token is empty or not a single line".into(),
                help: Some("pass a token with --token, TB_TOKEN or .tinyb".into()),
            });
        }
        let agent = token_agent(options.timeout, options.connect_timeout);
        Ok(RemoteWorkspace {
            host,
            token,
            agent,
            options,
        })
    }

    /// The API base URL.
    #[cfg(test)]
    pub(crate) fn host(&self) -> &str {
        &self.host
    }

    /// Every token of the workspace, sorted by name.
    pub(crate) fn list(&self) -> Result<Vec<Token>, WorkspaceError> {
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
        scopes: &Scopes,
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

    fn replace_scopes(&mut self, name: &str, scopes: &Scopes) -> Result<Token, WorkspaceError> {
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
