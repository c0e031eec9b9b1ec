//! `tokenplan lsp` driven through its stdio with real JSON-RPC messages, as an editor would:
//! initialize, didOpen, didChange, didClose, hover, completion, shutdown and exit. Replies and
//! notifications are snapshotted with the temporary project folder redacted to `/ROOT`.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use lsp_types::Url;
use serde_json::{Value, json};

use crate::common;

/// How long to wait for any one message. Generous: the machine may be busy with other builds,
/// and a healthy server answers in milliseconds, so only a hung server ever waits this long.
const DEADLINE: Duration = Duration::from_secs(60);

/// Part of every token value in the state fixture: none may ever reach the client or the log.
const SECRET_MARKER: &str = "FIXTURE-SECRET";

/// Snapshots a JSON value as pretty JSON.
macro_rules! json_snapshot {
    ($name:expr, $value:expr) => {
        snapshot!($name, serde_json::to_string_pretty(&$value).unwrap())
    };
}

fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/lsp")
        .join(path)
}

/// A fresh copy of the fixture project for one test.
fn project(test: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("lsp-{test}"));
    let _ = std::fs::remove_dir_all(&root);
    common::copy_tree(&fixture("project"), &root);
    root
}

fn uri(path: &Path) -> String {
    Url::from_file_path(path).unwrap().to_string()
}

/// Reads one `Content-Length`-framed message; `None` at the end of the stream.
fn read_message(reader: &mut impl BufRead) -> Option<Value> {
    let mut length = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(value) = line.strip_prefix("Content-Length: ") {
            length = value.parse::<usize>().ok();
        }
    }
    let mut body = vec![0; length.expect("a Content-Length header")];
    reader.read_exact(&mut body).ok()?;
    Some(serde_json::from_slice(&body).expect("a JSON body"))
}

/// A running `tokenplan lsp` and what it has sent.
struct Server {
    child: Child,
    stdin: Option<ChildStdin>,
    messages: Receiver<Value>,
    stderr: Option<JoinHandle<String>>,
    next_id: i64,
    /// Notifications received while waiting for a response, in order.
    notifications: VecDeque<Value>,
    /// Every message received, for the check that no secret leaks.
    received: Vec<String>,
    /// Replacements that make snapshots independent of where the test runs.
    redactions: Vec<(String, String)>,
}

impl Server {
    fn start(root: &Path) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tokenplan"))
            .arg("lsp")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("tokenplan starts");
        let stdout = child.stdout.take().unwrap();
        let (sender, messages) = channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            while let Some(message) = read_message(&mut reader) {
                if sender.send(message).is_err() {
                    break;
                }
            }
        });
        let mut stderr = child.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        let root_uri = uri(root);
        Server {
            stdin: child.stdin.take(),
            child,
            messages,
            stderr: Some(stderr),
            next_id: 1,
            notifications: VecDeque::new(),
            received: Vec::new(),
            redactions: vec![
                (format!("{root_uri}/"), "file:///ROOT/".to_owned()),
                (format!("{}/", root.display()), "/ROOT/".to_owned()),
            ],
        }
    }

    /// Starts a server on `root` and goes through initialize and initialized; returns the
    /// initialize result.
    fn initialized(root: &Path) -> (Server, Value) {
        let mut server = Server::start(root);
        let root_uri = uri(root);
        let result = server.request(
            "initialize",
            json!({
                "processId": null,
                "rootUri": root_uri,
                "workspaceFolders": [{"uri": root_uri, "name": "project"}],
                "capabilities": {}
            }),
        );
        server.notify("initialized", json!({}));
        (server, result)
    }

    fn send(&mut self, message: Value) {
        let body = message.to_string();
        let stdin = self.stdin.as_mut().expect("stdin is open");
        write!(stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
        stdin.flush().unwrap();
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// The next message, or a failure after [`DEADLINE`].
    fn receive(&mut self, waiting_for: &str) -> Value {
        let started = Instant::now();
        match self.messages.recv_timeout(DEADLINE) {
            Ok(message) => {
                self.received.push(message.to_string());
                message
            }
            Err(RecvTimeoutError::Timeout) => panic!(
                "no message from the server in {:?} while waiting for {waiting_for}",
                started.elapsed()
            ),
            Err(RecvTimeoutError::Disconnected) => {
                panic!("the server closed stdout while waiting for {waiting_for}")
            }
        }
    }

    /// Sends a request and returns its whole response message; notifications that arrive first
    /// are kept for [`Server::drain`].
    fn raw_request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let message = self.receive(method);
            if message.get("id") == Some(&json!(id)) && message.get("method").is_none() {
                return message;
            }
            self.notifications.push_back(message);
        }
    }

    /// Sends a request and returns its result, redacted.
    fn request(&mut self, method: &str, params: Value) -> Value {
        let response = self.raw_request(method, params);
        assert!(
            response.get("error").is_none(),
            "{method} failed: {response}"
        );
        self.redact(&response["result"])
    }

    /// Every notification the server sent before answering a request sent now. The server
    /// handles messages in order, so this is everything the messages sent so far caused.
    fn drain(&mut self) -> Vec<Value> {
        let response = self.raw_request("tokenplan/test-barrier", json!(null));
        assert_eq!(
            response["error"]["code"],
            json!(-32601),
            "an unknown request is refused as MethodNotFound"
        );
        let notifications: Vec<Value> = self.notifications.drain(..).collect();
        notifications.iter().map(|n| self.redact(n)).collect()
    }

    fn redact(&self, value: &Value) -> Value {
        let mut text = value.to_string();
        for (from, to) in &self.redactions {
            text = text.replace(from, to);
        }
        serde_json::from_str(&text).unwrap()
    }

    fn hover(&mut self, path: &Path, line: u32, character: u32) -> Value {
        self.request(
            "textDocument/hover",
            json!({"textDocument": {"uri": uri(path)}, "position": {"line": line, "character": character}}),
        )
    }

    fn completion(&mut self, path: &Path, line: u32, character: u32) -> Value {
        self.request(
            "textDocument/completion",
            json!({"textDocument": {"uri": uri(path)}, "position": {"line": line, "character": character}}),
        )
    }

    fn open(&mut self, path: &Path, text: &str) {
        let language = path.extension().unwrap().to_string_lossy().into_owned();
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri(path), "languageId": language, "version": 1, "text": text}}),
        );
    }

    fn change(&mut self, path: &Path, version: i32, text: &str) {
        self.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri(path), "version": version}, "contentChanges": [{"text": text}]}),
        );
    }

    fn close(&mut self, path: &Path) {
        self.notify(
            "textDocument/didClose",
            json!({"textDocument": {"uri": uri(path)}}),
        );
    }

    /// Shuts the server down as the protocol says, checks its exit status and that no token
    /// value reached stdout or stderr, and returns stderr.
    fn shutdown(mut self) -> String {
        let reply = self.raw_request("shutdown", json!(null));
        assert_eq!(reply["result"], json!(null), "{reply}");
        self.notify("exit", json!(null));
        drop(self.stdin.take());
        // The server closes stdout when it exits.
        let started = Instant::now();
        match self.messages.recv_timeout(DEADLINE) {
            Err(RecvTimeoutError::Disconnected) => {}
            Ok(message) => panic!("unexpected message after exit: {message}"),
            Err(RecvTimeoutError::Timeout) => {
                panic!("the server did not exit within {:?}", started.elapsed())
            }
        }
        let status: ExitStatus = self.child.wait().unwrap();
        let stderr = self.stderr.take().unwrap().join().unwrap();
        assert!(status.success(), "exit status {status}, stderr:\n{stderr}");
        for message in &self.received {
            assert!(
                !message.contains(SECRET_MARKER),
                "a secret was sent: {message}"
            );
        }
        assert!(
            !stderr.contains(SECRET_MARKER),
            "a secret was logged: {stderr}"
        );
        stderr
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // A failed test must not leave a server behind.
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

const INVALID_PIPE: &str = "\
NODE top_pages
SQL >
    SELECT 1

TYPE endpoint
TOKEN \"lectura_ñ😀\" WRITE
TOKEN dashboard APPEND
";

const VALID_PIPE: &str = "\
NODE top_pages
SQL >
    SELECT 1

TYPE endpoint
TOKEN \"lectura_ñ😀\" READ
TOKEN dashboard READ
";

#[test]
fn diagnostics_of_an_invalid_file_and_their_clearing() {
    let root = project("diagnostics");
    let (mut server, capabilities) = Server::initialized(&root);
    let mut capabilities = capabilities;
    capabilities["serverInfo"]["version"] = json!("[version]");
    json_snapshot!("initialize_result", capabilities);
    assert_eq!(
        server.drain(),
        Vec::<Value>::new(),
        "a clean project publishes nothing"
    );

    let pipe = root.join("pipes/top_pages.pipe");
    server.open(&pipe, INVALID_PIPE);
    let invalid = server.drain();
    json_snapshot!("invalid_pipe_diagnostics", invalid);
    // `WRITE` follows `TOKEN "lectura_ñ😀" `: 20 UTF-16 code units, 23 bytes, 19 characters.
    let write = &invalid[0]["params"]["diagnostics"][0];
    assert_eq!(write["range"]["start"], json!({"line": 5, "character": 20}));
    assert_eq!(write["range"]["end"], json!({"line": 5, "character": 25}));

    // The same file through `tokenplan check`: same codes, severities, messages and lines.
    let check_root = project("diagnostics-check");
    std::fs::write(check_root.join("pipes/top_pages.pipe"), INVALID_PIPE).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_tokenplan"))
        .args(["check", "--format", "json"])
        .arg(&check_root)
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let checked = report["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "pipes/top_pages.pipe")
        .unwrap()["diagnostics"]
        .as_array()
        .unwrap()
        .clone();
    let published = invalid[0]["params"]["diagnostics"].as_array().unwrap();
    assert_eq!(published.len(), checked.len());
    for (lsp, check) in published.iter().zip(&checked) {
        assert_eq!(lsp["code"], check["code"]);
        assert_eq!(lsp["severity"], json!(1), "{check}");
        assert_eq!(check["severity"], "error");
        let message = match check["help"].as_str() {
            Some(help) => format!("{}\nhelp: {help}", check["message"].as_str().unwrap()),
            None => check["message"].as_str().unwrap().to_owned(),
        };
        assert_eq!(lsp["message"], json!(message));
        assert_eq!(
            lsp["range"]["start"]["line"],
            json!(check["line"].as_u64().unwrap() - 1)
        );
    }

    server.change(&pipe, 2, VALID_PIPE);
    let fixed = server.drain();
    json_snapshot!("fixed_pipe_diagnostics", fixed);

    // A save carries the saved text, which is checked too; the buffer keeps its version.
    server.change(&pipe, 3, INVALID_PIPE);
    assert_eq!(
        server.drain()[0]["params"]["diagnostics"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    server.notify(
        "textDocument/didSave",
        json!({"textDocument": {"uri": uri(&pipe)}, "text": VALID_PIPE}),
    );
    let saved = server.drain();
    assert_eq!(saved[0]["params"]["diagnostics"], json!([]));
    assert_eq!(saved[0]["params"]["version"], json!(3));

    // Broken again in the buffer, then closed: the valid file on disk counts again.
    server.change(&pipe, 4, INVALID_PIPE);
    assert_eq!(
        server.drain()[0]["params"]["diagnostics"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    server.close(&pipe);
    let closed = server.drain();
    assert_eq!(
        closed,
        vec![json!({
            "jsonrpc": "2.0",
            "method": "textDocument/publishDiagnostics",
            "params": {"uri": "file:///ROOT/pipes/top_pages.pipe", "diagnostics": []}
        })]
    );
    let stderr = server.shutdown();
    assert!(stderr.contains("2 datafiles compiled"), "{stderr}");
}

#[test]
fn duplicate_resource_across_two_files() {
    let root = project("duplicates");
    let (mut server, _) = Server::initialized(&root);
    // An unsaved buffer that sorts before the file on disk: the file on disk, which is not
    // open, becomes the second definition.
    let archive = root.join("archive/events.datasource");
    let text = std::fs::read_to_string(root.join("datasources/events.datasource")).unwrap();
    server.open(&archive, &text);
    let duplicate = server.drain();
    json_snapshot!("duplicate_resource", duplicate);

    server.close(&archive);
    let cleared = server.drain();
    json_snapshot!("duplicate_resource_cleared", cleared);
    server.shutdown();
}

#[test]
fn hover_on_token_lines_with_and_without_a_state_file() {
    let root = project("hover");
    let (mut server, _) = Server::initialized(&root);
    let pipe = root.join("pipes/top_pages.pipe");
    let datasource = root.join("datasources/events.datasource");
    server.open(&pipe, &std::fs::read_to_string(&pipe).unwrap());

    // `TOKEN dashboard READ` is line 12: over the name, then over the permission.
    let without_state = server.hover(&pipe, 11, 8);
    json_snapshot!("hover_without_state", without_state);
    assert_eq!(
        server.hover(&pipe, 11, 17)["contents"],
        without_state["contents"]
    );
    assert_eq!(
        server.hover(&pipe, 4, 2),
        json!(null),
        "no hover off TOKEN lines"
    );
    let quarantine = server.hover(&datasource, 11, 7);
    json_snapshot!("hover_quarantine", quarantine);

    std::fs::create_dir_all(root.join(".tokenplan")).unwrap();
    std::fs::copy(
        fixture("workspace.json"),
        root.join(".tokenplan/workspace.json"),
    )
    .unwrap();
    let with_state = server.hover(&pipe, 11, 8);
    json_snapshot!("hover_with_state", with_state);
    let unchanged = server.hover(&datasource, 10, 7);
    json_snapshot!("hover_with_state_unchanged", unchanged);

    // While a file has errors there is no plan, as with `tokenplan plan`.
    server.change(&pipe, 2, INVALID_PIPE);
    let broken = server.hover(&datasource, 11, 7);
    let text = broken["contents"]["value"].as_str().unwrap();
    assert!(
        text.ends_with("none while 1 file has errors; fix them first."),
        "{text}"
    );
    assert!(!text.contains("PIPES:READ:top_pages`"), "{text}");
    server.shutdown();
}

#[test]
fn completion_at_line_start_and_after_a_token_name() {
    let root = project("completion");
    let (mut server, _) = Server::initialized(&root);
    let pipe = root.join("pipes/new.pipe");
    server.open(
        &pipe,
        "DESCRIPTION x\n\nNODE n\nSQL >\n    SELECT 1\n    \nTYPE endpoint\nTOKEN app \nTo\n",
    );

    let labels = |reply: &Value| -> Vec<String> {
        reply
            .as_array()
            .unwrap()
            .iter()
            .map(|item| item["label"].as_str().unwrap().to_owned())
            .collect()
    };
    let before_node = server.completion(&pipe, 1, 0);
    json_snapshot!("completion_pipe_before_node", before_node);
    let after_node = labels(&server.completion(&pipe, 8, 2));
    json_snapshot!("completion_pipe_after_node_labels", after_node);
    assert!(
        after_node.contains(&"SQL".to_owned()) && !labels(&before_node).contains(&"SQL".to_owned())
    );
    assert_eq!(
        server.completion(&pipe, 5, 4),
        json!([]),
        "nothing inside SQL"
    );
    assert_eq!(
        server.completion(&pipe, 4, 4),
        json!([]),
        "nothing inside SQL"
    );

    let pipe_permissions = server.completion(&pipe, 7, 10);
    json_snapshot!("completion_pipe_permission", pipe_permissions);

    let datasource = root.join("datasources/events.datasource");
    let text = std::fs::read_to_string(&datasource).unwrap() + "TOKEN \"backfill job\" ";
    server.open(&datasource, &text);
    let datasource_permissions = server.completion(&datasource, 12, 21);
    json_snapshot!("completion_datasource_permission", datasource_permissions);
    assert_eq!(labels(&datasource_permissions), ["READ", "APPEND"]);
    server.shutdown();
}

#[test]
fn a_file_outside_the_workspace_is_checked_alone() {
    let root = project("alone");
    let outside =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("lsp-outside-alone/events.datasource");
    let (mut server, _) = Server::initialized(&root);
    // The same resource name as a project file: alone, it is no duplicate.
    server.open(&outside, "SCHEMA >\n    `id` String\n\nTOKEN app WRITE\n");
    let published = server.drain();
    assert_eq!(published.len(), 1, "{published:?}");
    assert_eq!(published[0]["params"]["uri"], json!(uri(&outside)));
    let codes: Vec<&Value> = published[0]["params"]["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| &d["code"])
        .collect();
    assert_eq!(
        codes,
        [&json!("tokenplan::syntax::invalid_token_permission")]
    );
    server.close(&outside);
    assert_eq!(server.drain()[0]["params"]["diagnostics"], json!([]));
    server.shutdown();
}
