//! The remote workspace against canned HTTP answers: retries, escaping, statuses, timeouts and
//! lost connections.

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
        allow_insecure_http: false,
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
    let scopes = ["DATASOURCES:READ:events", "PIPES:READ:top"].into();
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
        remote.create("taken", &["TOKENS"].into(), TokenKind::Workspace, ""),
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
    assert_eq!(
        error.to_string(),
        format!("cannot reach http://127.0.0.1:{port}: connection refused")
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
    let mut remote = RemoteWorkspace::new(&host, Secret::new("p.sekret-value"), options).unwrap();
    let error = remote
        .create("t", &["TOKENS"].into(), TokenKind::Workspace, "")
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

#[test]
fn plain_http_stays_on_this_machine_unless_allowed() {
    for host in [
        "http://localhost:7181",
        "http://LOCALHOST",
        "http://127.0.0.1:7181",
        "http://127.8.0.1",
        "http://[::1]:7181",
        "http://0.0.0.0:7181",
        "https://api.tinybird.co",
        "https://10.0.0.7:443",
    ] {
        assert!(check_transport(host, false).is_ok(), "{host}");
    }
    for host in [
        "http://api.tinybird.co",
        "http://10.0.0.7:7181",
        "http://localhost.example.com",
        "http://127.0.0.1.example.com",
        "http://[::2]:7181",
    ] {
        let error = check_transport(host, false).unwrap_err();
        assert!(
            matches!(&error, WorkspaceError::InsecureHttp { host: h } if h == host),
            "{error:?}"
        );
        assert!(check_transport(host, true).is_ok(), "{host}");
    }
    let refused = RemoteWorkspace::new("http://10.0.0.7:7181", Secret::new("p.x"), fast());
    assert!(matches!(refused, Err(WorkspaceError::InsecureHttp { .. })));
    let allowed = RemoteOptions {
        allow_insecure_http: true,
        ..fast()
    };
    assert!(RemoteWorkspace::new("http://10.0.0.7:7181", Secret::new("p.x"), allowed).is_ok());
}

#[test]
fn certificates_are_checked_by_the_platform_verifier() {
    // The operating system's store: a corporate CA installed there is trusted, as by other
    // programs on the machine.
    let remote = client("https://api.tinybird.co");
    assert!(matches!(
        remote.agent.config().tls_config().root_certs(),
        ureq::tls::RootCerts::PlatformVerifier
    ));
}
