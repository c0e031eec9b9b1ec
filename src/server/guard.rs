//! Which requests the server answers at all. The server is for development on this machine: a
//! web page the developer visits must not be able to read its tokens. With DNS rebinding, a page
//! of `attacker.example` gets its name pointed at 127.0.0.1 and then reads
//! `http://attacker.example:7181/tokens` as its own origin; the request reaches the server from
//! loopback, but says `Host: attacker.example`. So every route answers only requests whose host
//! is a name of this server (`localhost`, `127.0.0.1`, `[::1]`, the bound address, or the address
//! the client connected to) with the server's port, and the tokenless `GET /tokens` refuses any
//! request from a web page (one with an `Origin` header).

use std::net::{IpAddr, SocketAddr};

use axum::extract::connect_info::Connected;
use axum::extract::{ConnectInfo, Request, State as AxumState};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::serve::IncomingStream;

use super::http::ApiError;

/// Who connected, and to which of the server's addresses (which differs from the bound one when
/// the server listens on all interfaces).
#[derive(Debug, Clone, Copy)]
pub(super) struct Connection {
    pub(super) peer: SocketAddr,
    pub(super) local: Option<SocketAddr>,
}

impl Connected<IncomingStream<'_, tokio::net::TcpListener>> for Connection {
    fn connect_info(stream: IncomingStream<'_, tokio::net::TcpListener>) -> Self {
        Connection {
            peer: *stream.remote_addr(),
            local: stream.io().local_addr().ok(),
        }
    }
}

/// Refuses, with 421 Misdirected Request, every request whose `Host` (and absolute target, if
/// any) is not a name of this server.
pub(super) async fn check_host(
    AxumState(bound): AxumState<SocketAddr>,
    ConnectInfo(connection): ConnectInfo<Connection>,
    request: Request,
    next: Next,
) -> Response {
    let hosts = request.headers().get_all(header::HOST);
    let mut named: Vec<Option<&str>> = hosts.iter().map(|v| v.to_str().ok()).collect();
    if let Some(authority) = request.uri().authority() {
        named.push(Some(authority.as_str()));
    }
    let ours = !named.is_empty()
        && hosts.iter().count() <= 1
        && named
            .iter()
            .all(|h| h.is_some_and(|h| is_our_host(h, bound, connection.local)));
    if ours {
        return next.run(request).await;
    }
    let port = bound.port();
    ApiError::new(
        StatusCode::MISDIRECTED_REQUEST,
        format!(
            "this server answers only requests for localhost:{port}, 127.0.0.1:{port} or [::1]:{port}: the request names another host (DNS rebinding protection)"
        ),
    )
    .into_response()
}

/// Refuses requests made by a web page (they carry `Origin`): `GET /tokens` answers without a
/// token, for programs on this machine, never for pages in a browser.
pub(super) fn refuse_web_pages(headers: &HeaderMap) -> Result<(), ApiError> {
    if headers.contains_key(header::ORIGIN) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "GET /tokens answers programs on this machine, not web pages: requests with an Origin header are refused",
        ));
    }
    Ok(())
}

/// True when `host` (`name[:port]`) names this server: a loopback name, the bound address or the
/// address the client connected to, with the server's port (or none, when that is 80).
fn is_our_host(host: &str, bound: SocketAddr, local: Option<SocketAddr>) -> bool {
    let Some((name, port)) = split_host(host) else {
        return false;
    };
    if port.unwrap_or(80) != bound.port() {
        return false;
    }
    let name = name.to_ascii_lowercase();
    if matches!(name.as_str(), "localhost" | "127.0.0.1" | "[::1]") {
        return true;
    }
    let Ok(ip) = name
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    else {
        // Any other name could be pointed at this machine by whoever owns it.
        return false;
    };
    // An address, unlike a name, cannot be pointed elsewhere: the bound one (`0.0.0.0` too, as
    // the server prints it) and the one the client reached are ours.
    ip == bound.ip() || Some(ip) == local.map(|l| l.ip())
}

/// `name` and the port of `name[:port]`, the name of an IPv6 address in brackets; `None` when
/// malformed.
fn split_host(host: &str) -> Option<(&str, Option<u16>)> {
    let (name, port) = if host.starts_with('[') {
        let end = host.find(']')? + 1;
        match &host[end..] {
            "" => (&host[..end], None),
            rest => (&host[..end], Some(rest.strip_prefix(':')?)),
        }
    } else {
        match host.split_once(':') {
            Some((name, port)) => (name, Some(port)),
            None => (host, None),
        }
    };
    if name.is_empty() {
        return None;
    }
    let port = match port {
        Some(port) => Some(port.parse::<u16>().ok()?),
        None => None,
    };
    Some((name, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_names_of_this_server_with_its_port_are_ours() {
        let bound: SocketAddr = "127.0.0.1:7181".parse().unwrap();
        for host in [
            "localhost:7181",
            "LOCALHOST:7181",
            "127.0.0.1:7181",
            "[::1]:7181",
        ] {
            assert!(is_our_host(host, bound, None), "{host}");
        }
        for host in [
            "attacker.example",
            "attacker.example:7181",
            "localhost.attacker.example:7181",
            "localhost:7182",
            "localhost",
            "127.0.0.2:7181",
            "localhost:",
            ":7181",
            "[::1",
            "[::1]x",
            "",
        ] {
            assert!(!is_our_host(host, bound, None), "{host}");
        }
        // Listening on all interfaces: the address the client connected to is ours too.
        let any: SocketAddr = "0.0.0.0:7181".parse().unwrap();
        let local: SocketAddr = "192.168.1.5:7181".parse().unwrap();
        assert!(is_our_host("192.168.1.5:7181", any, Some(local)));
        assert!(is_our_host("0.0.0.0:7181", any, Some(local)));
        assert!(!is_our_host("192.168.1.6:7181", any, Some(local)));
        // Port 80 may go unsaid.
        let web: SocketAddr = "127.0.0.1:80".parse().unwrap();
        assert!(is_our_host("localhost", web, None));
    }
}
