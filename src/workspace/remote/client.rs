//! The HTTP side of the remote workspace: escaped targets, one call, and sending it with
//! retries and backoff.

use std::time::Duration;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::RemoteWorkspace;
use crate::workspace::WorkspaceError;
use crate::workspace::secret::random_bytes;

/// Everything but RFC 3986's unreserved characters is escaped, in paths and queries alike.
const ESCAPED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The most of an answer read; a token list of 10,000 tokens is a few MiB.
const MAX_BODY: u64 = 64 * 1024 * 1024;

/// The HTTP methods the Tokens API uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Method {
    Get,
    Post,
    Put,
    Delete,
}

impl Method {
    pub(super) const fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
        }
    }

    /// Sending it twice does no more than sending it once. A POST creates or refreshes: a retry
    /// after a lost answer could make a second token or a second new value.
    pub(super) const fn is_idempotent(self) -> bool {
        match self {
            Method::Get | Method::Put | Method::Delete => true,
            Method::Post => false,
        }
    }
}

/// One API call.
pub(super) struct Call {
    pub(super) method: Method,
    /// Path and query, already escaped.
    pub(super) target: String,
    /// What it does, for messages: "list tokens", "create token `x`".
    pub(super) action: String,
    /// The token it is about, if any.
    pub(super) name: Option<String>,
}

/// An answer with a success status.
pub(super) struct Answer {
    pub(super) body: String,
}

/// `/v0/tokens/<escaped name>`.
pub(super) fn token_path(name: &str) -> String {
    format!("/v0/tokens/{}", utf8_percent_encode(name, ESCAPED))
}

/// `?k=v&k=v` with keys and values escaped.
pub(super) fn query(pairs: &[(&str, &str)]) -> String {
    let mut text = String::new();
    for (i, (key, value)) in pairs.iter().enumerate() {
        text.push(if i == 0 { '?' } else { '&' });
        text.extend(utf8_percent_encode(key, ESCAPED));
        text.push('=');
        text.extend(utf8_percent_encode(value, ESCAPED));
    }
    text
}

impl RemoteWorkspace {
    /// Sends a call, retrying 429, 502, 503 and 504 when the method is safe to repeat. `Ok`
    /// holds a success or 404 (as `None`); every other status is an error.
    pub(super) fn send(&self, call: &Call) -> Result<Option<Answer>, WorkspaceError> {
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
}
