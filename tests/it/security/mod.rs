//! The security properties of SECURITY.md, one test per hazard of issue #11: credentials only go
//! to a host from their own source, plain HTTP stays on this machine, state writes never follow a
//! planted file, secrets never show in `Debug`, and the language server refuses absurd messages;
//! the local server's host check and log are in `security/server.rs`, secret values in
//! diagnostics in `security/secrets.rs`.

mod secrets;
mod server;

use super::common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Generous: the machine may be busy with other builds.
const TIMEOUT: Duration = Duration::from_secs(60);

/// Runs tokenplan in `dir` with `args` and exactly the environment variables `env` among those
/// that choose a workspace.
fn run_with_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(common::binary())
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("TB_HOST")
        .env_remove("TB_TOKEN")
        .env_remove("GITHUB_STEP_SUMMARY")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("tokenplan runs")
}

/// A listener on loopback that records every byte any client sends it, and answers nothing.
struct Recorder {
    url: String,
    received: Arc<Mutex<Vec<u8>>>,
    connections: Arc<Mutex<usize>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Recorder {
    fn start() -> Recorder {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let received = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(Mutex::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (received, connections, stop) =
                (received.clone(), connections.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    match listener.accept() {
                        Ok((mut stream, _)) => {
                            *connections.lock().unwrap() += 1;
                            stream.set_nonblocking(false).unwrap();
                            stream
                                .set_read_timeout(Some(Duration::from_millis(500)))
                                .unwrap();
                            let mut buffer = [0; 4096];
                            while let Ok(n) = stream.read(&mut buffer) {
                                if n == 0 {
                                    break;
                                }
                                received.lock().unwrap().extend_from_slice(&buffer[..n]);
                            }
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(10)),
                    }
                }
            })
        };
        Recorder {
            url,
            received,
            connections,
            stop,
            thread: Some(thread),
        }
    }

    /// Stops listening; what was received and how many connections were made.
    fn finish(mut self) -> (String, usize) {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.take().unwrap().join().unwrap();
        let received = String::from_utf8_lossy(&self.received.lock().unwrap()).into_owned();
        let connections = *self.connections.lock().unwrap();
        (received, connections)
    }
}

/// A project folder (a copy of the quickstart fixture) inside a fresh folder, which is returned
/// too: a `.tinyb` there is in the project's parent, where a pull request can add one.
fn project_in_parent(name: &str) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let holder = tempfile::Builder::new().prefix(name).tempdir().unwrap();
    let parent = holder.path().to_path_buf();
    let project = parent.join("project");
    common::copy_tree(&common::fixture("projects/quickstart"), &project);
    (holder, parent, project)
}

/// Arguments, environment, and the token source the refusal must name.
type Case<'a> = (Vec<&'a str>, Vec<(&'a str, &'a str)>, &'a str);

/// Runs each case in `dir`, expecting `tokenplan::workspace::config` naming the case's token
/// source and each of `named` (the host found, where it was found), and never `token`.
fn expect_refused(dir: &Path, cases: &[Case<'_>], named: &[&str], token: &str) {
    for (args, env, source) in cases {
        let output = run_with_env(dir, args, env);
        let text = common::describe(&output);
        assert_eq!(output.status.code(), Some(1), "{args:?} {env:?}\n{text}");
        assert!(text.contains("tokenplan::workspace::config"), "{text}");
        // The message says which host and which token source were found.
        for word in named.iter().chain([source]) {
            assert!(text.contains(word), "{word}: {text}");
        }
        assert!(!text.contains(token), "{text}");
    }
}

#[test]
fn an_environment_or_flag_token_never_goes_to_a_host_named_by_tinyb() {
    const CI_TOKEN: &str = "p.ci-secret-never-sent";
    let recorder = Recorder::start();
    let (_holder, parent, project) = project_in_parent("tinyb-host");
    // What a pull request can add: a host, and no token of its own.
    let tinyb = serde_json::json!({ "host": recorder.url, "name": "attacker" });
    std::fs::write(parent.join(".tinyb"), tinyb.to_string()).unwrap();
    let project_arg = project.to_str().unwrap();

    let cases: [Case<'_>; 3] = [
        (
            vec!["plan", project_arg],
            vec![("TB_TOKEN", CI_TOKEN)],
            "TB_TOKEN",
        ),
        (
            vec!["token", "ls", "--project", project_arg],
            vec![("TB_TOKEN", CI_TOKEN), ("TB_HOST", "")],
            "TB_TOKEN",
        ),
        (
            vec!["plan", project_arg, "--token", CI_TOKEN],
            vec![],
            "--token",
        ),
    ];
    expect_refused(&parent, &cases, &[&recorder.url, ".tinyb"], CI_TOKEN);
    let (received, connections) = recorder.finish();
    assert_eq!((connections, received.as_str()), (0, ""));
}

#[test]
fn a_host_and_a_token_from_different_sources_are_never_paired() {
    const CI_TOKEN: &str = "p.ci-secret-never-sent";
    let recorder = Recorder::start();
    let (_holder, parent, project) = project_in_parent("mixed-sources");
    let project_arg = project.to_str().unwrap();
    let url = recorder.url.clone();
    let cases: [Case<'_>; 2] = [
        (
            vec!["plan", project_arg, "--host", &url],
            vec![("TB_TOKEN", CI_TOKEN)],
            "TB_TOKEN",
        ),
        (
            vec!["plan", project_arg, "--token", CI_TOKEN],
            vec![("TB_HOST", &url)],
            "--token",
        ),
    ];
    expect_refused(&parent, &cases, &[&url], CI_TOKEN);
    let (received, connections) = recorder.finish();
    assert_eq!((connections, received.as_str()), (0, ""));
}

#[test]
fn plain_http_is_refused_for_a_host_off_this_machine() {
    let (_holder, parent, project) = project_in_parent("insecure-http");
    let project_arg = project.to_str().unwrap();
    // TEST-NET-2: never routed, so nothing could answer even if a request went out.
    let args = [
        "plan",
        project_arg,
        "--host",
        "http://198.51.100.7:7181",
        "--token",
        "p.secret",
    ];
    let output = run_with_env(&parent, &args, &[]);
    let text = common::describe(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(
        text.contains("tokenplan::workspace::insecure_http"),
        "{text}"
    );
    assert!(text.contains("--allow-insecure-http"), "{text}");
}

#[test]
fn state_writes_never_follow_a_planted_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("workspace.json");
    let victim = dir.path().join("victim");
    std::fs::write(&victim, "untouched\n").unwrap();
    // The names a writer would pick for its temporary file if they could be predicted.
    #[cfg(unix)]
    for name in [
        format!(".workspace.json.tmp-{}", std::process::id()),
        ".workspace.json.tmp".to_owned(),
    ] {
        std::os::unix::fs::symlink(&victim, dir.path().join(name)).unwrap();
    }
    tokenplan::workspace::state::write_atomically(&state, b"{}\n").unwrap();
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "untouched\n");
    let written = std::fs::symlink_metadata(&state).unwrap();
    assert!(written.file_type().is_file(), "{written:?}");
    assert_eq!(std::fs::read_to_string(&state).unwrap(), "{}\n");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(written.permissions().mode() & 0o777, 0o600);
    }
}

#[test]
fn secret_values_never_show_in_debug_output() {
    const VALUE: &str = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC";
    let secrets: tokenplan::syntax::Secrets = [("kafka_key".to_owned(), VALUE.to_owned())]
        .into_iter()
        .collect();
    let config = tokenplan::lsp::LspConfig {
        secrets: secrets.clone(),
    };
    let project = tokenplan::project::ProjectConfig {
        root: PathBuf::from("."),
        secrets,
        ..Default::default()
    };
    for debug in [format!("{config:?}"), format!("{project:?}")] {
        assert!(!debug.contains(VALUE), "{debug}");
        assert!(debug.contains("kafka_key"), "{debug}");
    }
}

#[test]
fn the_language_server_refuses_an_absurd_content_length() {
    let mut child = Command::new(common::binary())
        .arg("lsp")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // Written and left open: the server must not wait for (or make room for) 90 TB.
    stdin
        .write_all(b"Content-Length: 99999999999999\r\n\r\n{")
        .unwrap();
    let deadline = Instant::now() + TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("tokenplan lsp did not stop");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    drop(stdin);
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(status.code(), Some(1), "{status:?}: {stderr}");
    assert!(
        stderr.contains("tokenplan::lsp::message_too_large"),
        "{stderr}"
    );
}
