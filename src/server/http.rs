//! Request and response plumbing: JSON errors, the query and body limits, form parameters,
//! rejections turned into API errors, and the request log.

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path as UrlPath, Request, State as AxumState};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::Limits;
use crate::workspace::secret::now_rfc3339;
use crate::workspace::wire::WireError;

/// Writes one line to the log (stderr). Unlike `eprintln!`, a closed stderr (`... 2>&1 | head`)
/// does not panic the request that logs.
pub(super) fn log_line(line: std::fmt::Arguments<'_>) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// An API error: a status and `{"error": "..."}`.
#[derive(Debug)]
pub(super) struct ApiError {
    pub(super) status: StatusCode,
    pub(super) message: String,
}

impl ApiError {
    pub(super) fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
        }
    }

    pub(super) fn bad_request(message: impl Into<String>) -> ApiError {
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

/// Logs every request (method, path, query with `token` values masked, status, duration) and
/// refuses oversized queries and declared bodies before any handler runs. Headers are never
/// logged: they carry the token.
pub(super) async fn log_and_limit(
    AxumState(limits): AxumState<Limits>,
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
    let response = if query_len > limits.query_bytes {
        ApiError::new(
            StatusCode::URI_TOO_LONG,
            format!(
                "the query string is longer than {} bytes",
                limits.query_bytes
            ),
        )
        .into_response()
    } else if declared_body > limits.body_bytes {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the request body is larger than {} bytes",
                limits.body_bytes
            ),
        )
        .into_response()
    } else {
        next.run(request).await
    };
    log_line(format_args!(
        "{} {method} {target} {} {:.1}ms",
        now_rfc3339(),
        response.status().as_u16(),
        started.elapsed().as_secs_f64() * 1000.0
    ));
    response
}

/// The most of a path, and of a query, that is logged: a rejected 16 KiB query is not worth
/// 16 KiB of log.
const LOGGED_PATH_BYTES: usize = 256;
const LOGGED_QUERY_BYTES: usize = 512;

/// The path and query of a request, for the log: the value of every parameter whose name decodes
/// to `token` (in any case: `%74oken=` authenticates as well as `token=`) replaced by `****`, and
/// both parts cut short.
pub(crate) fn redacted_target(uri: &Uri) -> String {
    let path = shortened(uri.path(), LOGGED_PATH_BYTES);
    let Some(query) = uri.query() else {
        return path;
    };
    let redacted: Vec<String> = query
        .split('&')
        .map(|pair| {
            let raw_key = pair.split_once('=').map_or(pair, |(key, _)| key);
            // Decoded as the lookup decodes it.
            let key = form_urlencoded::parse(raw_key.as_bytes())
                .next()
                .map(|(key, _)| key.into_owned())
                .unwrap_or_default();
            if key.trim().eq_ignore_ascii_case("token") {
                format!("{raw_key}=****")
            } else {
                pair.to_owned()
            }
        })
        .collect();
    format!(
        "{path}?{}",
        shortened(&redacted.join("&"), LOGGED_QUERY_BYTES)
    )
}

/// `text` cut to at most `limit` bytes, saying how much was left out.
fn shortened(text: &str, limit: usize) -> String {
    if text.len() <= limit {
        return text.to_owned();
    }
    let cut = crate::source::clamp_to_char_boundary(text, limit);
    format!("{}…(+{} bytes)", &text[..cut], text.len() - cut)
}

/// Query parameters, and those of a form body, in order.
pub(super) fn params(uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Vec<(String, String)> {
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

pub(super) fn param<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

pub(super) fn body_or_error(body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|rejection| ApiError::new(rejection.status(), rejection.body_text()))
}

pub(super) fn name_or_error(
    name: Result<UrlPath<String>, PathRejection>,
) -> Result<String, ApiError> {
    name.map(|UrlPath(name)| name)
        .map_err(|rejection| ApiError::bad_request(rejection.body_text()))
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
    fn token_parameters_are_recognised_after_decoding_and_long_targets_cut() {
        let uri: Uri = "/v0/tokens?%74oken=p.a&tok%65n=p.b&+token+=p.c&token&x=token"
            .parse()
            .unwrap();
        assert_eq!(
            redacted_target(&uri),
            "/v0/tokens?%74oken=****&tok%65n=****&+token+=****&token=****&x=token"
        );
        let long: Uri = format!("/{}?pad={}", "p".repeat(1_000), "a".repeat(20_000))
            .parse()
            .unwrap();
        let logged = redacted_target(&long);
        assert!(logged.len() < 1_000, "{logged}");
        assert!(logged.contains("…(+745 bytes)?pad="), "{logged}");
        assert!(logged.ends_with("…(+19492 bytes)"), "{logged}");
    }
}
