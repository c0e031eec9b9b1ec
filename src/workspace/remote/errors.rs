//! Failures of the remote workspace turned into diagnostics that say what to do: HTTP statuses,
//! transport errors, answers that are not token documents.

use std::fmt;

use super::RemoteWorkspace;
use super::client::{Call, Method};
use crate::workspace::wire::{WireError, WireToken};
use crate::workspace::{Token, WorkspaceError};

/// Why the remote workspace could not be reached, for [`WorkspaceError::Unreachable`]. Boxed to
/// keep results with a [`WorkspaceError`] small.
#[derive(Debug)]
pub struct TransportError(pub Box<ureq::Error>);

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.0 {
            ureq::Error::Io(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                f.write_str("connection refused")
            }
            ureq::Error::Io(e) => write!(f, "{e}"),
            ureq::Error::HostNotFound => f.write_str("host name not found"),
            ureq::Error::ConnectionFailed => f.write_str("connection failed"),
            ureq::Error::Tls(reason) => write!(f, "TLS: {reason}"),
            ureq::Error::Rustls(e) => write!(f, "TLS: {e}"),
            other => write!(f, "{other}"),
        }
    }
}

impl std::error::Error for TransportError {}

impl RemoteWorkspace {
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

    pub(super) fn status_error(
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

    pub(super) fn transport_error(&self, call: &Call, error: ureq::Error) -> WorkspaceError {
        let host = self.host.clone();
        match error {
            // The connection was made and then lost: a create or refresh may have happened.
            ureq::Error::Io(e)
                if e.kind() != std::io::ErrorKind::ConnectionRefused
                    && !call.method.is_idempotent() =>
            {
                WorkspaceError::Remote {
                    message: format!("lost the connection to {host} while trying to {}: {e}", call.action),
                    help: Some(
                        "the change may or may not have been made: check with `tokenplan token ls` or `tokenplan plan` before running the command again".into(),
                    ),
                }
            }
            error @ (ureq::Error::Io(_)
            | ureq::Error::HostNotFound
            | ureq::Error::ConnectionFailed
            | ureq::Error::Tls(_)
            | ureq::Error::Rustls(_)) => WorkspaceError::Unreachable {
                host,
                error: TransportError(Box::new(error)),
            },
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

    pub(super) fn parse_token(&self, call: &Call, body: &str) -> Result<Token, WorkspaceError> {
        serde_json::from_str::<WireToken>(body)
            .map(WireToken::into_token)
            .map_err(|e| self.invalid_answer(call, &e))
    }

    pub(super) fn invalid_answer(&self, call: &Call, error: &serde_json::Error) -> WorkspaceError {
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
}
