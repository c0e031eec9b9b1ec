//! End to end over HTTP: `tokenplan local start` on 127.0.0.1 with port 0, and plan, apply and
//! `tokenplan token` against it with `--host`/`--token`; auth, limits, concurrency, stale plans,
//! kill -9 durability, a clean SIGTERM stop, and no token value in any output.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokenplan::workspace::state::State;

use crate::common;

const BIN: &str = env!("CARGO_BIN_EXE_tokenplan");
/// Generous: the machine may be busy with other builds.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(60);

pub(crate) fn quickstart(dir: &Path) -> PathBuf {
    let project = dir.join("project");
    common::copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/projects/quickstart"),
        &project,
    );
    project
}

/// Numbers the server logs of one test run.
static SERVERS: AtomicUsize = AtomicUsize::new(0);

/// A running `tokenplan local start`.
pub(crate) struct Server {
    child: Child,
    pub(crate) url: String,
    log: PathBuf,
    stdout: Arc<Mutex<String>>,
}

impl Server {
    pub(crate) fn start(dir: &Path, state: &Path, extra: &[&str]) -> Server {
        let log = dir.join(format!(
            "server-{}.log",
            SERVERS.fetch_add(1, Ordering::Relaxed)
        ));
        let mut child = Command::new(BIN)
            .args(["local", "start", "--port", "0", "--state"])
            .arg(state)
            .args(extra)
            .current_dir(dir)
            .env_remove("TB_LOCAL_WORKSPACE_TOKEN")
            .env_remove("TB_LOCAL_USER_TOKEN")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let stdout = Arc::new(Mutex::new(String::new()));
        let (lines, ready) = mpsc::channel();
        let pipe = child.stdout.take().unwrap();
        let collected = Arc::clone(&stdout);
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                collected.lock().unwrap().push_str(&format!("{line}\n"));
                let _ = lines.send(line);
            }
        });
        let deadline = Instant::now() + TIMEOUT;
        let url = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match ready.recv_timeout(left) {
                Ok(line) => {
                    if let Some(url) = line.strip_prefix("Listening on ") {
                        break url.trim().to_owned();
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    panic!(
                        "the server did not say it listens: {}",
                        std::fs::read_to_string(&log).unwrap_or_default()
                    );
                }
            }
        };
        Server {
            child,
            url,
            log,
            stdout,
        }
    }

    pub(crate) fn local_tokens(&self) -> Value {
        let (status, body) = request("GET", &format!("{}/tokens", self.url), None);
        assert_eq!(status, 200, "{body}");
        body
    }

    fn admin_token(&self) -> String {
        self.local_tokens()["workspace_admin_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap()
    }

    pub(crate) fn terminate(mut self) -> (ExitStatus, String) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let exit = wait(&mut self.child);
        let log = self.log();
        (exit, log)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn wait(child: &mut Child) -> ExitStatus {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "the process did not stop in time"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(TIMEOUT))
        .build()
        .into()
}

/// An HTTP request; the answer's status and JSON body (Null when empty).
pub(crate) fn request(method: &str, url: &str, token: Option<&str>) -> (u16, Value) {
    request_with_body(method, url, token, "")
}

fn request_with_body(method: &str, url: &str, token: Option<&str>, body: &str) -> (u16, Value) {
    let mut builder = ureq::http::Request::builder().method(method).uri(url);
    if let Some(token) = token {
        builder = builder.header("Authorization", format!("Bearer {token}"));
    }
    let mut response = agent().run(builder.body(body.to_owned()).unwrap()).unwrap();
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap();
    let value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
    };
    (status, value)
}

/// What a command printed.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs tokenplan commands and keeps everything they print, to look for secrets at the end.
#[derive(Default)]
struct Session {
    printed: Vec<String>,
}

impl Session {
    fn run(&mut self, cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
        let output = Command::new(BIN)
            .args(args)
            .current_dir(cwd)
            .env_remove("TB_HOST")
            .env_remove("TB_TOKEN")
            .env("NO_COLOR", "1")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let run = Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8(output.stdout).unwrap(),
            stderr: String::from_utf8(output.stderr).unwrap(),
        };
        self.printed.push(run.stdout.clone());
        self.printed.push(run.stderr.clone());
        run
    }

    /// Runs and expects exit code `code`.
    fn expect(&mut self, cwd: &Path, args: &[&str], code: i32) -> Run {
        let run = self.run(cwd, args, &[]);
        assert_eq!(
            run.code, code,
            "tokenplan {args:?}\nstdout:\n{}\nstderr:\n{}",
            run.stdout, run.stderr
        );
        run
    }
}

/// Every secret of the state: token values and the signing key.
fn state_values(state: &Path) -> BTreeSet<String> {
    let state = State::load(state).unwrap().unwrap();
    let mut values: BTreeSet<String> = state.tokens.iter().map(|t| t.value.clone()).collect();
    values.insert(state.workspace.signing_key.clone());
    values
}

/// A token of the state as the wire shows it (scopes as plain strings).
fn state_token(state: &Path, name: &str) -> Option<Value> {
    let state = State::load(state).unwrap().unwrap();
    state
        .get(name)
        .map(|token| serde_json::to_value(token).unwrap())
}

fn redact(text: &str, server: &Server, dir: &Path) -> String {
    text.replace(&server.url, "http://127.0.0.1:PORT")
        .replace(&dir.display().to_string(), "[TMP]")
}

fn remote_args<'a>(server: &'a Server, token: &'a str) -> [&'a str; 4] {
    ["--host", &server.url, "--token", token]
}

#[test]
fn apply_edit_refresh_and_remove_over_http_without_printing_a_secret() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    let project = quickstart(dir);
    let project_arg = project.to_str().unwrap();
    let state = dir.join("ws.json");
    let server = Server::start(dir, &state, &[]);
    let admin = server.admin_token();
    let remote = remote_args(&server, &admin);
    let mut session = Session::default();
    let mut values = state_values(&state);
    let cwd = dir;

    let plan = session.expect(cwd, &[&["plan", project_arg][..], &remote].concat(), 0);
    snapshot!("remote_plan_create", redact(&plan.stdout, &server, dir));
    let apply = session.expect(
        cwd,
        &[&["apply", project_arg, "--auto-approve"][..], &remote].concat(),
        0,
    );
    assert!(
        apply
            .stdout
            .contains("Apply complete! Tokens: 3 added, 0 changed, 0 destroyed.")
    );
    values.extend(state_values(&state));
    assert_eq!(
        state_token(&state, "tracker").unwrap()["scopes"],
        serde_json::json!(["DATASOURCES:APPEND:analytics_events"])
    );
    session.expect(
        cwd,
        &[&["plan", project_arg, "--detailed-exitcode"][..], &remote].concat(),
        0,
    );

    // `public trend` goes away, `tracker` also reads the trend pipe.
    let trend = project.join("pipes/trend.pipe");
    let text = std::fs::read_to_string(&trend).unwrap();
    std::fs::write(
        &trend,
        text.replace("TOKEN \"public trend\" READ", "TOKEN tracker READ"),
    )
    .unwrap();
    let plan = session.expect(
        cwd,
        &[&["plan", project_arg, "--detailed-exitcode"][..], &remote].concat(),
        2,
    );
    snapshot!("remote_plan_after_edit", redact(&plan.stdout, &server, dir));
    let refused = session.expect(
        cwd,
        &[&["apply", project_arg, "--auto-approve"][..], &remote].concat(),
        1,
    );
    assert!(
        refused.stderr.contains("public trend"),
        "{}",
        refused.stderr
    );
    let apply = session.expect(
        cwd,
        &[
            &[
                "apply",
                project_arg,
                "--auto-approve",
                "--allow-destroy=public trend",
            ][..],
            &remote,
        ]
        .concat(),
        0,
    );
    assert!(
        apply
            .stdout
            .contains("Tokens: 0 added, 1 changed, 1 destroyed."),
        "{}",
        apply.stdout
    );
    assert!(state_token(&state, "public trend").is_none());
    session.expect(
        cwd,
        &[&["plan", project_arg, "--detailed-exitcode"][..], &remote].concat(),
        0,
    );

    let created = session.expect(
        cwd,
        &[
            &["token", "create", "static", "ci", "--scope", "TOKENS"][..],
            &remote,
        ]
        .concat(),
        0,
    );
    snapshot!("token_create", created.stdout);
    values.extend(state_values(&state));
    let ls = session.expect(cwd, &[&["token", "ls"][..], &remote].concat(), 0);
    // Masked values end with their last four characters, which differ from run to run.
    let masked: String = ls
        .stdout
        .lines()
        .map(|line| match line.find("p.eyJ…") {
            Some(at) => format!("{}p.eyJ…****\n", &line[..at]),
            None => format!("{line}\n"),
        })
        .collect();
    snapshot!("token_ls", masked);
    let json = session.expect(
        cwd,
        &[
            &["token", "ls", "--format", "json", "--match", "CI"][..],
            &remote,
        ]
        .concat(),
        0,
    );
    let json: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(json["values_shown"], false);
    assert_eq!(json["tokens"][0]["name"], "ci");
    let masked = json["tokens"][0]["value"].as_str().unwrap();
    assert!(
        masked.starts_with("p.eyJ…") && masked.chars().count() == 10,
        "{masked}"
    );

    let before = state_token(&state, "ci").unwrap();
    let refreshed = session.expect(
        cwd,
        &[&["token", "refresh", "ci", "--yes"][..], &remote].concat(),
        0,
    );
    assert!(refreshed.stdout.starts_with("Refreshed token \"ci\""));
    let after = state_token(&state, "ci").unwrap();
    assert_ne!(before["value"], after["value"]);
    assert_eq!(before["scopes"], after["scopes"]);
    values.extend(state_values(&state));

    let resource = session.expect(
        cwd,
        &[&["token", "rm", "dashboard"][..], &remote].concat(),
        1,
    );
    snapshot!("token_rm_resource", resource.stderr);
    let default = session.expect(
        cwd,
        &[&["token", "rm", "Workspace admin token"][..], &remote].concat(),
        1,
    );
    assert!(
        default.stderr.contains("tokenplan::token::default_token"),
        "{}",
        default.stderr
    );
    let scope = session.expect(
        cwd,
        &[
            &[
                "token",
                "create",
                "static",
                "x",
                "--scope",
                "PIPES:READ:top_pages",
            ][..],
            &remote,
        ]
        .concat(),
        1,
    );
    assert!(
        scope
            .stderr
            .contains("declare resource-scoped tokens in the datafiles with a TOKEN directive")
    );
    session.expect(
        cwd,
        &[&["token", "rm", "ci", "--yes"][..], &remote].concat(),
        0,
    );
    assert!(state_token(&state, "ci").is_none());

    // Only --show-values prints values; it is left out of the session on purpose.
    let shown = Command::new(BIN)
        .args(
            [
                &["token", "ls", "--show-values", "--match", "workspace admin"][..],
                &remote,
            ]
            .concat(),
        )
        .output()
        .unwrap();
    assert!(String::from_utf8(shown.stdout).unwrap().contains(&admin));

    let server_stdout = server.stdout.lock().unwrap().clone();
    let (exit, log) = server.terminate();
    assert!(exit.success(), "{exit:?}\n{log}");
    assert!(
        log.contains("POST /v0/tokens?name=ci&scope=TOKENS 200"),
        "{log}"
    );
    session.printed.push(server_stdout);
    session.printed.push(log);
    values.extend(state_values(&state));
    assert!(values.len() > 8);
    for text in &session.printed {
        for value in &values {
            assert!(
                !text.contains(value.as_str()),
                "a secret was printed:\n{text}"
            );
        }
    }
}

#[test]
fn requests_without_a_token_or_with_a_read_only_token_are_refused() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    let state = dir.join("ws.json");
    let server = Server::start(dir, &state, &[]);
    let admin = server.admin_token();
    let user = server.local_tokens()["user_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let url = &server.url;

    let (status, body) = request("GET", &format!("{url}/v0/tokens"), None);
    assert_eq!(
        (
            status,
            body["error"].as_str().unwrap().starts_with("missing token")
        ),
        (401, true)
    );
    let (status, body) = request("GET", &format!("{url}/v0/tokens"), Some("p.not-a-token"));
    assert_eq!(
        (
            status,
            body["error"].as_str().unwrap().starts_with("invalid token")
        ),
        (401, true)
    );

    let (status, reader) = request(
        "POST",
        &format!("{url}/v0/tokens?name=reader&scope=WORKSPACE%3AREAD_ALL"),
        Some(&admin),
    );
    assert_eq!(status, 200, "{reader}");
    assert_eq!(
        reader["scopes"],
        serde_json::json!([{"type": "WORKSPACE:READ_ALL"}])
    );
    let reader = reader["token"].as_str().unwrap().to_owned();
    let calls = [
        ("GET", "/v0/tokens"),
        ("POST", "/v0/tokens?name=x&scope=TOKENS"),
        ("GET", "/v0/tokens/reader"),
        ("PUT", "/v0/tokens/reader?scope=ADMIN"),
        ("DELETE", "/v0/tokens/reader"),
        ("POST", "/v0/tokens/reader/refresh"),
    ];
    for (method, path) in calls {
        for token in [&reader, &user] {
            let (status, body) = request(method, &format!("{url}{path}"), Some(token));
            assert_eq!(status, 403, "{method} {path}: {body}");
            assert!(
                body["error"].as_str().unwrap().contains("TOKENS or ADMIN"),
                "{body}"
            );
        }
        let (status, _) = request(method, &format!("{url}{path}"), None);
        assert_eq!(status, 401, "{method} {path}");
    }

    // The CLI says what to do.
    let mut session = Session::default();
    let denied = session.expect(dir, &["token", "ls", "--host", url, "--token", &reader], 1);
    snapshot!("forbidden", redact(&denied.stderr, &server, dir));
    let unknown = session.expect(
        dir,
        &["plan", "--allow-empty", "--host", url, "--token", "p.wrong"],
        1,
    );
    assert!(
        unknown
            .stderr
            .contains("tokenplan::workspace::unauthorized"),
        "{}",
        unknown.stderr
    );

    // What deployments refuse, and malformed requests.
    let cases: [(&str, String, u16, &str); 9] = [
        (
            "DELETE",
            format!("{url}/v0/tokens/Workspace%20admin%20token"),
            400,
            "default tokens cannot be deleted",
        ),
        (
            "PUT",
            format!("{url}/v0/tokens/User%20token?scope=ADMIN"),
            400,
            "default token",
        ),
        (
            "POST",
            format!("{url}/v0/tokens?name=reader&scope=ADMIN"),
            409,
            "already exists",
        ),
        (
            "POST",
            format!("{url}/v0/tokens?name=y&scope=WRITE"),
            400,
            "unknown scope",
        ),
        (
            "POST",
            format!("{url}/v0/tokens?scope=ADMIN"),
            400,
            "`name`",
        ),
        (
            "POST",
            format!("{url}/v0/tokens?name=Admin%20x%20token&scope=ADMIN"),
            400,
            "default token",
        ),
        ("GET", format!("{url}/v0/tokens/nobody"), 404, "not found"),
        ("GET", format!("{url}/v1/nothing"), 404, "not found"),
        ("PATCH", format!("{url}/v0/tokens"), 405, "not allowed"),
    ];
    for (method, target, expected, text) in cases {
        let (status, body) = request(method, &target, Some(&admin));
        assert_eq!(status, expected, "{method} {target}: {body}");
        assert!(
            body["error"].as_str().unwrap().contains(text),
            "{method} {target}: {body}"
        );
    }
    let (status, body) = request(
        "GET",
        &format!("{url}/v0/tokens?pad={}", "a".repeat(20_000)),
        Some(&admin),
    );
    assert_eq!((status, body["error"].is_string()), (414, true));
    let (status, body) = request_with_body(
        "POST",
        &format!("{url}/v0/tokens?name=big&scope=ADMIN"),
        Some(&admin),
        &"a".repeat(100_000),
    );
    assert_eq!((status, body["error"].is_string()), (413, true));

    // `?token=` works like the Tinybird CLI's, and never reaches the log.
    let (status, _) = request("GET", &format!("{url}/v0/tokens?token={admin}"), None);
    assert_eq!(status, 200);
    let log = server.log();
    assert!(log.contains("GET /v0/tokens?token=**** 200"), "{log}");
    for secret in state_values(&state) {
        assert!(!log.contains(&secret), "{log}");
    }
}

/// A project with `count` resource tokens.
fn many_tokens_project(dir: &Path, count: usize) -> PathBuf {
    let project = dir.join("many");
    std::fs::create_dir_all(project.join("datasources")).unwrap();
    let mut text = String::from("SCHEMA >\n    `id` Int32 `json:$.id`\n\nENGINE MergeTree\n\n");
    for i in 0..count {
        text.push_str(&format!("TOKEN reader_{i:04} READ\n"));
    }
    std::fs::write(project.join("datasources/events.datasource"), text).unwrap();
    project
}

#[test]
fn two_concurrent_applies_end_consistent() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    let state = dir.join("ws.json");
    let server = Server::start(dir, &state, &[]);
    let admin = server.admin_token();
    let project = many_tokens_project(dir, 12);
    let spawn = || {
        Command::new(BIN)
            .args(["apply", project.to_str().unwrap(), "--auto-approve"])
            .args(remote_args(&server, &admin))
            .env("TOKENPLAN_TEST_APPLY_PAUSE_MS", "15")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (first, second) = (spawn(), spawn());
    let outputs = [
        first.wait_with_output().unwrap(),
        second.wait_with_output().unwrap(),
    ];
    let succeeded = outputs.iter().filter(|o| o.status.success()).count();
    assert!(succeeded >= 1, "neither apply finished");
    for output in &outputs {
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let clear = stderr.contains("changed since the plan was made")
                || stderr.contains("already exists");
            assert!(clear && stderr.contains("stopped after"), "{stderr}");
        }
    }
    let mut session = Session::default();
    let project_arg = project.to_str().unwrap();
    session.expect(
        dir,
        &[
            &["plan", project_arg, "--detailed-exitcode"][..],
            &remote_args(&server, &admin),
        ]
        .concat(),
        0,
    );
    let ls = session.expect(
        dir,
        &[
            &["token", "ls", "--match", "reader_", "--format", "json"][..],
            &remote_args(&server, &admin),
        ]
        .concat(),
        0,
    );
    let listed: Value = serde_json::from_str(&ls.stdout).unwrap();
    assert_eq!(listed["tokens"].as_array().unwrap().len(), 12);
}

#[test]
fn a_saved_plan_made_stale_by_an_out_of_band_change_is_refused() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    let project = quickstart(dir);
    let project_arg = project.to_str().unwrap();
    let state = dir.join("ws.json");
    let server = Server::start(dir, &state, &[]);
    let admin = server.admin_token();
    let remote = remote_args(&server, &admin);
    let mut session = Session::default();
    let cwd = dir;
    let saved = dir.join("plan.json");
    let saved_arg = saved.to_str().unwrap();

    session.expect(
        cwd,
        &[&["plan", project_arg, "--out", saved_arg][..], &remote].concat(),
        0,
    );
    session.expect(
        cwd,
        &[
            &["token", "create", "static", "ci", "--scope", "TOKENS"][..],
            &remote,
        ]
        .concat(),
        0,
    );
    let refused = session.expect(
        cwd,
        &[&["apply", project_arg, "--plan", saved_arg][..], &remote].concat(),
        1,
    );
    assert!(
        refused.stderr.contains("the saved plan is stale"),
        "{}",
        refused.stderr
    );
    assert!(
        refused
            .stderr
            .contains("the workspace's tokens changed since the plan was made")
    );
    assert!(
        state_token(&state, "dashboard").is_none(),
        "nothing was applied"
    );

    // A token the plan creates appears meanwhile, straight through the API.
    session.expect(
        cwd,
        &[&["plan", project_arg, "--out", saved_arg][..], &remote].concat(),
        0,
    );
    let (status, _) = request(
        "POST",
        &format!(
            "{}/v0/tokens?name=tracker&scope=DATASOURCES%3AREAD%3Aanalytics_events",
            server.url
        ),
        Some(&admin),
    );
    assert_eq!(status, 200);
    let refused = session.expect(
        cwd,
        &[&["apply", project_arg, "--plan", saved_arg][..], &remote].concat(),
        1,
    );
    snapshot!("stale_plan", refused.stderr);
    // A fresh plan applies; it replaces the scope given meanwhile, a breaking change.
    session.expect(
        cwd,
        &[&["plan", project_arg, "--out", saved_arg][..], &remote].concat(),
        0,
    );
    session.expect(
        cwd,
        &[
            &[
                "apply",
                project_arg,
                "--plan",
                saved_arg,
                "--allow-destroy=tracker",
            ][..],
            &remote,
        ]
        .concat(),
        0,
    );
    session.expect(
        cwd,
        &[&["plan", project_arg, "--detailed-exitcode"][..], &remote].concat(),
        0,
    );
}

#[test]
fn an_acknowledged_write_survives_kill_9() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    let state = dir.join("ws.json");
    let mut server = Server::start(dir, &state, &[]);
    let admin = server.admin_token();
    let (status, created) = request(
        "POST",
        &format!(
            "{}/v0/tokens?name=durable&scope=PIPES%3AREAD%3Atop",
            server.url
        ),
        Some(&admin),
    );
    assert_eq!(status, 200, "{created}");
    server.child.kill().unwrap();
    server.child.wait().unwrap();

    let restarted = Server::start(dir, &state, &[]);
    assert!(
        restarted
            .log()
            .contains("Took over the lock left by `tokenplan local start")
    );
    let (status, token) = request(
        "GET",
        &format!("{}/v0/tokens/durable", restarted.url),
        Some(&admin),
    );
    assert_eq!(status, 200);
    assert_eq!(token["token"], created["token"]);
    assert_eq!(
        token["scopes"],
        serde_json::json!([{"type": "PIPES:READ", "resource": "top"}])
    );
}

#[test]
fn sigterm_stops_cleanly_and_releases_the_state_for_embedded_use() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    let project = quickstart(dir);
    let state = dir.join("ws.json");
    let state_arg = state.to_str().unwrap();
    let project_arg = project.to_str().unwrap();
    let server = Server::start(dir, &state, &[]);
    let mut session = Session::default();

    let locked = session.expect(
        dir,
        &["apply", project_arg, "--state", state_arg, "--auto-approve"],
        1,
    );
    assert!(
        locked
            .stderr
            .contains("the workspace is locked by `tokenplan local start --port 0`"),
        "{}",
        locked.stderr
    );
    let (exit, log) = server.terminate();
    assert!(exit.success(), "{exit:?}\n{log}");
    assert!(
        log.contains("received SIGTERM") && log.contains("stopped"),
        "{log}"
    );
    session.expect(
        dir,
        &["apply", project_arg, "--state", state_arg, "--auto-approve"],
        0,
    );
    let ls = session.expect(
        dir,
        &["token", "ls", "--state", state_arg, "--match", "tracker"],
        0,
    );
    assert!(ls.stdout.contains("tracker  resource"), "{}", ls.stdout);
}

#[test]
fn generated_tokens_become_the_workspace_and_user_tokens() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    let mut session = Session::default();
    let generated = session.expect(dir, &["local", "generate-tokens", "--format", "json"], 0);
    let generated: Value = serde_json::from_str(&generated.stdout).unwrap();
    let workspace = generated["workspace_token"].as_str().unwrap();
    let user = generated["user_token"].as_str().unwrap();
    assert!(workspace.starts_with("p.") && user.starts_with("p.") && workspace != user);
    assert_eq!(workspace.matches('.').count(), 2);

    let state = dir.join("ws.json");
    let server = Server::start(
        dir,
        &state,
        &["--workspace-token", workspace, "--user-token", user],
    );
    let tokens = server.local_tokens();
    assert_eq!(tokens["workspace_admin_token"], workspace);
    assert_eq!(tokens["user_token"], user);
    let (status, _) = request("GET", &format!("{}/v0/tokens", server.url), Some(workspace));
    assert_eq!(status, 200);
    let stdout = server.stdout.lock().unwrap().clone();
    assert!(
        !stdout.contains(workspace) && !stdout.contains(user),
        "{stdout}"
    );
}

#[test]
fn tinyb_and_environment_select_the_remote_workspace() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    let project = quickstart(dir);
    let project_arg = project.to_str().unwrap();
    let state = dir.join("ws.json");
    let server = Server::start(dir, &state, &[]);
    let admin = server.admin_token();
    let mut session = Session::default();

    let tinyb = serde_json::json!({"host": server.url, "token": admin, "name": "local"});
    std::fs::write(dir.join(".tinyb"), tinyb.to_string()).unwrap();
    // The project is a subfolder: .tinyb is found in its parent.
    let plan = session.expect(dir, &["plan", project_arg, "--format", "json"], 0);
    let origin = format!(
        "Using the workspace at {} (from {}).",
        server.url,
        dir.join(".tinyb").display()
    );
    assert!(plan.stderr.contains(&origin), "{}", plan.stderr);
    let plan: Value = serde_json::from_str(&plan.stdout).unwrap();
    assert_eq!(plan["workspace"]["kind"], "remote");
    // The environment beats .tinyb: a host where nothing listens.
    let dead = session.run(
        dir,
        &["plan", project_arg],
        &[("TB_HOST", "http://127.0.0.1:9"), ("TB_TOKEN", "x")],
    );
    assert_eq!(dead.code, 1);
    assert!(
        dead.stderr.contains("tokenplan::workspace::unreachable"),
        "{}",
        dead.stderr
    );
    assert!(
        dead.stderr.contains("connection refused"),
        "{}",
        dead.stderr
    );
    // And flags beat the environment.
    let flags = session.run(
        dir,
        &[
            &["plan", project_arg, "--format", "json"][..],
            &remote_args(&server, &admin),
        ]
        .concat(),
        &[("TB_HOST", "http://127.0.0.1:9"), ("TB_TOKEN", "x")],
    );
    assert_eq!(flags.code, 0, "{}", flags.stderr);
    // --state asks for the embedded workspace whatever .tinyb says.
    let embedded_state = dir.join("embedded.json");
    let embedded = session.expect(
        dir,
        &[
            "plan",
            project_arg,
            "--format",
            "json",
            "--state",
            embedded_state.to_str().unwrap(),
        ],
        0,
    );
    let embedded: Value = serde_json::from_str(&embedded.stdout).unwrap();
    assert_eq!(embedded["workspace"]["kind"], "embedded");
    for text in &session.printed {
        assert!(!text.contains(&admin));
    }
}
