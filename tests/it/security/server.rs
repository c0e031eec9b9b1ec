//! The local server answers only requests for its own host names, and its log never holds a
//! token (issue #11, items 2 and 4).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use tokenplan::workspace::state::State;

use super::TIMEOUT;
use crate::server::Server;

/// What these tests ask of the server beyond what [`Server`] offers.
trait Probe {
    fn address(&self) -> SocketAddr;
    /// The values of every token in the state: none may ever be answered to a stranger or
    /// logged.
    fn values(&self, dir: &Path) -> Vec<String>;
    fn admin_token(&self, dir: &Path) -> String;
    /// Sends `head` (request line and headers, without the blank line) as written, and returns
    /// the status and the body.
    fn raw(&self, head: &str) -> (u16, String);
}

impl Probe for Server {
    fn address(&self) -> SocketAddr {
        self.url.strip_prefix("http://").unwrap().parse().unwrap()
    }

    fn values(&self, dir: &Path) -> Vec<String> {
        let state = State::load(&dir.join("ws.json")).unwrap().unwrap();
        state.tokens.iter().map(|t| t.value.clone()).collect()
    }

    fn admin_token(&self, dir: &Path) -> String {
        let state = State::load(&dir.join("ws.json")).unwrap().unwrap();
        state.get("Workspace admin token").unwrap().value.clone()
    }

    fn raw(&self, head: &str) -> (u16, String) {
        let mut stream = TcpStream::connect(self.address()).unwrap();
        stream.set_read_timeout(Some(TIMEOUT)).unwrap();
        write!(stream, "{head}\r\nConnection: close\r\n\r\n").unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        let status = answer
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("not an HTTP answer: {answer:?}"));
        let body = answer
            .split_once("\r\n\r\n")
            .map_or(String::new(), |(_, b)| b.to_owned());
        (status, body)
    }
}

/// `tokenplan local start` on a free port with its state in `dir`.
fn start(dir: &Path) -> Server {
    Server::start(dir, &dir.join("ws.json"), &[])
}

#[test]
fn the_local_server_answers_only_requests_for_its_own_host() {
    let holder = tempfile::Builder::new()
        .prefix("rebinding")
        .tempdir()
        .unwrap();
    let dir = holder.path().to_path_buf();
    let server = start(&dir);
    let port = server.address().port();
    let values = server.values(&dir);
    let admin = server.admin_token(&dir);

    let refused = [
        // DNS rebinding: a page of attacker.example whose name now points at 127.0.0.1.
        "GET /tokens HTTP/1.1\r\nHost: attacker.example".to_owned(),
        format!("GET /tokens HTTP/1.1\r\nHost: attacker.example:{port}"),
        format!("GET /tokens HTTP/1.1\r\nHost: localhost.attacker.example:{port}"),
        // Another port is another origin.
        format!("GET /tokens HTTP/1.1\r\nHost: localhost:{}", port ^ 1),
        // No Host at all.
        "GET /tokens HTTP/1.0".to_owned(),
        // An absolute target names the host too.
        format!("GET http://attacker.example/tokens HTTP/1.1\r\nHost: 127.0.0.1:{port}"),
        // A page in a browser, whatever its origin: the tokenless route is for programs.
        format!(
            "GET /tokens HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nOrigin: http://attacker.example"
        ),
        format!(
            "GET /tokens HTTP/1.1\r\nHost: localhost:{port}\r\nOrigin: http://localhost:{port}"
        ),
        // Every route checks the host, even with a valid token.
        format!(
            "GET /v0/tokens HTTP/1.1\r\nHost: attacker.example\r\nAuthorization: Bearer {admin}"
        ),
    ];
    for head in &refused {
        let (status, body) = server.raw(head);
        assert!(matches!(status, 403 | 421), "{head}: {status} {body}");
        let error: serde_json::Value =
            serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
        assert!(error["error"].is_string(), "{body}");
        for value in &values {
            assert!(!body.contains(value.as_str()), "{head}: {body}");
        }
    }

    let accepted = [
        format!("GET /tokens HTTP/1.1\r\nHost: 127.0.0.1:{port}"),
        format!("GET /tokens HTTP/1.1\r\nHost: localhost:{port}"),
        format!("GET /tokens HTTP/1.1\r\nHost: LocalHost:{port}"),
        format!("GET /tokens HTTP/1.1\r\nHost: [::1]:{port}"),
        format!(
            "GET /v0/tokens HTTP/1.1\r\nHost: localhost:{port}\r\nAuthorization: Bearer {admin}\r\nOrigin: http://localhost:{port}"
        ),
    ];
    for head in &accepted {
        let (status, body) = server.raw(head);
        assert_eq!(status, 200, "{head}: {body}");
    }
}

#[test]
fn the_server_log_masks_tokens_after_decoding_and_truncates_queries() {
    let holder = tempfile::Builder::new().prefix("log").tempdir().unwrap();
    let dir = holder.path().to_path_buf();
    let server = start(&dir);
    let port = server.address().port();
    let admin = server.admin_token(&dir);
    // `%74oken` decodes to `token`, which authenticates: it must be masked too.
    for key in ["%74oken", "TOKEN", "tok%65n"] {
        let (status, body) = server.raw(&format!(
            "GET /v0/tokens?{key}={admin} HTTP/1.1\r\nHost: 127.0.0.1:{port}"
        ));
        if key != "TOKEN" {
            assert_eq!(status, 200, "{key}: {body}");
        }
    }
    // A token given url-encoded, in a part of its value.
    let encoded: String = admin.bytes().map(|b| format!("%{b:02X}")).collect();
    server.raw(&format!(
        "GET /v0/tokens?token={encoded} HTTP/1.1\r\nHost: 127.0.0.1:{port}"
    ));
    // A rejected 20 KiB query is logged shortened.
    let long = "a".repeat(20_000);
    let (status, _) = server.raw(&format!(
        "GET /v0/tokens?pad={long} HTTP/1.1\r\nHost: 127.0.0.1:{port}"
    ));
    assert_eq!(status, 414);
    // The log is written after the answer: wait for the last line.
    let deadline = Instant::now() + TIMEOUT;
    while !server.log().contains(" 414 ") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let log = server.log();
    for value in server.values(&dir) {
        assert!(!log.contains(&value), "{log}");
    }
    assert!(!log.contains(&encoded), "{log}");
    assert!(!log.contains(&long[..2_000]), "{log}");
    for line in log.lines() {
        assert!(line.len() < 1_024, "{line}");
    }
}
