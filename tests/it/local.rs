//! Tinybird Local, both ways: the real Tinybird CLI (`tb --local`, pinned in requirements-tb.txt,
//! installed into `.venv-tb` by scripts/test.sh) against `tokenplan local start`, then `tokenplan
//! --local` in the same folder, on the same workspace. tb is kept offline: no version check, no
//! telemetry, a fresh HOME.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::common;
use crate::server::{Server, quickstart, request};

/// The `tb` of `.venv-tb`; a missing one fails the test, never skips it.
fn tb_binary() -> PathBuf {
    let tb = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv-tb/bin/tb");
    assert!(
        tb.exists(),
        "the Tinybird Local tests need the pinned Tinybird CLI in .venv-tb: run `bash scripts/test.sh` (or `python3 -m venv .venv-tb && .venv-tb/bin/pip install -r requirements-tb.txt`) at the repository root"
    );
    tb
}

/// The port of a server's URL.
fn port(server: &Server) -> String {
    server.url.rsplit(':').next().unwrap().to_owned()
}

/// The environment of both CLIs: Local at the server, nothing from the machine's own setup, and
/// tb offline (`TB_VERSION_WARNING=0` skips the PyPI version check, `TB_CLI_TELEMETRY_OPTOUT`
/// the telemetry).
fn local_env(command: &mut Command, server: &Server, home: &Path) {
    command
        .env("TB_LOCAL_HOST", "127.0.0.1")
        .env("TB_LOCAL_PORT", port(server))
        .env("TB_VERSION_WARNING", "0")
        .env("TB_CLI_TELEMETRY_OPTOUT", "1")
        .env("HOME", home)
        .env("NO_COLOR", "1")
        .env_remove("TB_TOKEN")
        .env_remove("TB_HOST")
        .env_remove("TINYBIRD_TOKEN")
        .env_remove("TINYBIRD_URL");
}

fn tb(project: &Path, server: &Server, home: &Path, args: &[&str]) -> Output {
    let mut command = Command::new(tb_binary());
    command.args(args).current_dir(project);
    local_env(&mut command, server, home);
    let output = command.output().expect("tb runs");
    assert!(
        output.status.success(),
        "tb {args:?}: {}",
        common::describe(&output)
    );
    output
}

fn tokenplan(project: &Path, server: &Server, home: &Path, args: &[&str]) -> Output {
    let mut command = Command::new(common::binary());
    command.args(args).current_dir(project);
    local_env(&mut command, server, home);
    command.output().expect("tokenplan runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The workspace tb uses for `project`.
fn workspace_name(project: &Path) -> String {
    tokenplan::workspace::local::build_workspace_name(&project.canonicalize().unwrap())
}

fn token_names(listing: &Output) -> Vec<String> {
    let tokens: Value = serde_json::from_slice(&listing.stdout).unwrap();
    tokens["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn tb_local_token_commands_and_tokenplan_local_share_one_workspace() {
    let dir = common::temp_dir("local-tb");
    let project = quickstart(&dir);
    let home = dir.join("home");
    std::fs::create_dir(&home).unwrap();
    let server = Server::start(&dir, &dir.join("ws.db"), &[]);

    let listed = tb(&project, &server, &home, &["--local", "token", "ls"]);
    assert!(stdout(&listed).contains("Workspace admin token"));
    tb(
        &project,
        &server,
        &home,
        &[
            "--local",
            "token",
            "create",
            "static",
            "ci_reader",
            "--scope",
            "DATASOURCES:READ",
            "--resource",
            "events",
        ],
    );
    let scopes = tb(
        &project,
        &server,
        &home,
        &["--local", "token", "scopes", "ci_reader"],
    );
    assert!(stdout(&scopes).contains("DATASOURCES:READ"), "{scopes:?}");
    tb(
        &project,
        &server,
        &home,
        &["--local", "token", "refresh", "ci_reader", "--yes"],
    );
    tb(
        &project,
        &server,
        &home,
        &["--local", "token", "rm", "ci_reader", "--yes"],
    );
    tb(
        &project,
        &server,
        &home,
        &[
            "--local", "token", "create", "static", "ci_admin", "--scope", "TOKENS",
        ],
    );

    // One workspace besides the first, the one named after this folder.
    let admin = server.local_tokens()["admin_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, workspaces) = request(
        "GET",
        &format!("{}/v1/user/workspaces", server.url),
        Some(&admin),
    );
    assert_eq!(status, 200, "{workspaces}");
    let names: Vec<&str> = workspaces["workspaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["name"].as_str().unwrap())
        .collect();
    let name = workspace_name(&project);
    assert_eq!(names, ["local", name.as_str()]);

    // tokenplan sees the same workspace and tokens.
    let listing = tokenplan(
        &project,
        &server,
        &home,
        &["token", "ls", "--local", "--format", "json"],
    );
    assert!(listing.status.success(), "{}", common::describe(&listing));
    let names = token_names(&listing);
    assert!(names.contains(&"ci_admin".to_owned()), "{names:?}");
    assert!(!names.contains(&"ci_reader".to_owned()), "{names:?}");
    assert!(String::from_utf8_lossy(&listing.stderr).contains(&name));

    let plan = tokenplan(&project, &server, &home, &["plan", "--local"]);
    let plan_text = stdout(&plan);
    assert!(plan.status.success(), "{}", common::describe(&plan));
    assert!(plan_text.contains(&name), "{plan_text}");
    assert!(plan_text.contains("will be created"), "{plan_text}");

    // Apply, then tb lists what tokenplan created.
    let apply = tokenplan(
        &project,
        &server,
        &home,
        &["apply", "--local", "--auto-approve"],
    );
    assert!(apply.status.success(), "{}", common::describe(&apply));
    let after = tokenplan(
        &project,
        &server,
        &home,
        &["token", "ls", "--local", "--format", "json"],
    );
    let created: Vec<String> = token_names(&after)
        .into_iter()
        .filter(|n| !names.contains(n))
        .collect();
    assert!(!created.is_empty(), "{}", common::describe(&after));
    let listed = stdout(&tb(&project, &server, &home, &["--local", "token", "ls"]));
    for token in &created {
        assert!(listed.contains(token.as_str()), "{token}: {listed}");
    }
    // No value on tokenplan's outputs.
    for output in [&plan, &apply] {
        assert!(!String::from_utf8_lossy(&output.stdout).contains("p.ey"));
        assert!(!String::from_utf8_lossy(&output.stderr).contains("p.ey"));
    }
}

#[test]
fn plan_local_without_the_workspace_plans_everything_and_creates_nothing() {
    let dir = common::temp_dir("local-missing");
    let project = quickstart(&dir);
    let home = dir.join("home");
    std::fs::create_dir(&home).unwrap();
    let server = Server::start(&dir, &dir.join("ws.db"), &[]);
    let plan = tokenplan(&project, &server, &home, &["plan", "--local"]);
    assert!(plan.status.success(), "{}", common::describe(&plan));
    let stderr = String::from_utf8_lossy(&plan.stderr);
    assert!(
        stderr.contains("Note: Tinybird Local has no workspace"),
        "{stderr}"
    );
    assert!(stdout(&plan).contains("not created yet"));
    let admin = server.local_tokens()["admin_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, workspaces) = request(
        "GET",
        &format!("{}/v1/user/workspaces", server.url),
        Some(&admin),
    );
    assert_eq!(workspaces["workspaces"].as_array().unwrap().len(), 1);
    // A token from the environment is never sent with --local, nor does it conflict.
    let with_token = {
        let mut command = Command::new(common::binary());
        command
            .args(["token", "ls", "--local"])
            .current_dir(&project);
        local_env(&mut command, &server, &home);
        command.env("TB_TOKEN", "p.not-sent").output().unwrap()
    };
    assert!(
        with_token.status.success(),
        "{}",
        common::describe(&with_token)
    );
    assert!(!server.log().contains("not-sent"));

    // A plan saved now applies once apply has created the workspace, which then matches.
    let saved = tokenplan(
        &project,
        &server,
        &home,
        &["plan", "--local", "--out", "plan.json"],
    );
    assert!(saved.status.success(), "{}", common::describe(&saved));
    let apply = tokenplan(
        &project,
        &server,
        &home,
        &["apply", "--local", "--plan", "plan.json"],
    );
    assert!(apply.status.success(), "{}", common::describe(&apply));
    let (_, workspaces) = request(
        "GET",
        &format!("{}/v1/user/workspaces", server.url),
        Some(&admin),
    );
    assert_eq!(
        workspaces["workspaces"][1]["name"],
        workspace_name(&project)
    );
    let again = tokenplan(&project, &server, &home, &["plan", "--local"]);
    assert!(again.status.success(), "{}", common::describe(&again));
    assert!(
        !stdout(&again).contains("will be created"),
        "{}",
        stdout(&again)
    );
}

#[test]
fn an_answer_local_does_not_give_is_a_typed_error() {
    let dir = common::temp_dir("local-odd");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for stream in listener.incoming().take(4) {
            let Ok(mut stream) = stream else { break };
            let _ = stream.read(&mut [0; 4096]);
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnope");
        }
    });
    let output = Command::new(common::binary())
        .args(["plan", "--local"])
        .current_dir(&dir)
        .env("TB_LOCAL_HOST", "127.0.0.1")
        .env("TB_LOCAL_PORT", &port)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("tokenplan::local::unexpected_answer"),
        "{stderr}"
    );
    assert!(stderr.contains("GET /tokens"), "{stderr}");
}

#[test]
fn local_not_running_is_a_typed_error_with_the_way_out() {
    let dir = common::temp_dir("local-down");
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = free.local_addr().unwrap().port().to_string();
    drop(free);
    let output = Command::new(common::binary())
        .args(["plan", "--local"])
        .current_dir(&dir)
        .env("TB_LOCAL_HOST", "127.0.0.1")
        .env("TB_LOCAL_PORT", &port)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("tokenplan::local::not_running"), "{stderr}");
    assert!(stderr.contains("tb local start"), "{stderr}");
    assert!(stderr.contains("tokenplan local start"), "{stderr}");
}

#[test]
fn tokens_from_tb_local_generate_tokens_start_tokenplan_local() {
    let dir = common::temp_dir("local-generate");
    let home = dir.join("home");
    std::fs::create_dir(&home).unwrap();
    let generated = Command::new(tb_binary())
        .args(["--output", "json", "local", "generate-tokens"])
        .current_dir(&dir)
        .env("TB_VERSION_WARNING", "0")
        .env("TB_CLI_TELEMETRY_OPTOUT", "1")
        .env("HOME", &home)
        .output()
        .unwrap();
    assert!(
        generated.status.success(),
        "{}",
        common::describe(&generated)
    );
    let text = stdout(&generated);
    let json = &text[text.find('{').unwrap()..=text.rfind('}').unwrap()];
    let tokens: Value = serde_json::from_str(json).unwrap();
    let workspace = tokens["workspace_token"].as_str().unwrap();
    let user = tokens["user_token"].as_str().unwrap();
    let server = Server::start(
        &dir,
        &dir.join("ws.db"),
        &["--workspace-token", workspace, "--user-token", user],
    );
    let local = server.local_tokens();
    assert_eq!(local["workspace_admin_token"], workspace);
    assert_eq!(local["user_token"], user);
    // The user token creates the project's workspace, as tb does with Tinybird Local's.
    let project = dir.join("project");
    std::fs::create_dir(&project).unwrap();
    tb(&project, &server, &home, &["--local", "token", "ls"]);
    let (status, _) = request("GET", &format!("{}/v0/tokens", server.url), Some(workspace));
    assert_eq!(status, 200);
}

#[test]
fn local_start_and_token_ls_address_one_workspace_by_name() {
    let dir = common::temp_dir("local-named");
    let state = dir.join("ws.db");
    let (workspace_token, _) = tokenplan::server::generate_tokens();
    let given = workspace_token.expose().to_owned();
    let server = Server::start(
        &dir,
        &state,
        &["--workspace", "ci_ws", "--workspace-token", &given],
    );
    let local = server.local_tokens();
    assert_eq!(local["workspace_admin_token"], given.as_str());
    let (status, body) = request(
        "POST",
        &format!(
            "{}/v0/tokens?name=reader&scope=WORKSPACE:READ_ALL",
            server.url
        ),
        Some(&given),
    );
    assert_eq!(status, 200, "{body}");
    let admin = local["admin_token"].as_str().unwrap().to_owned();
    let (_, workspaces) = request(
        "GET",
        &format!("{}/v1/user/workspaces", server.url),
        Some(&admin),
    );
    let names: Vec<&str> = workspaces["workspaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["local", "ci_ws"]);
    let (exit, _) = server.terminate();
    assert!(exit.success());

    let state_arg = state.to_str().unwrap();
    let named = common::run_in(
        &dir,
        &[
            "token",
            "ls",
            "--state",
            state_arg,
            "--workspace",
            "ci_ws",
            "--format",
            "json",
        ],
    );
    assert!(named.status.success(), "{}", common::describe(&named));
    assert!(token_names(&named).contains(&"reader".to_owned()));
    let first = common::run_in(
        &dir,
        &["token", "ls", "--state", state_arg, "--format", "json"],
    );
    assert!(!token_names(&first).contains(&"reader".to_owned()));
    let unknown = common::run_in(
        &dir,
        &["token", "ls", "--state", state_arg, "--workspace", "nope"],
    );
    assert!(!unknown.status.success());
    assert!(
        String::from_utf8_lossy(&unknown.stderr)
            .contains("tokenplan::workspace::unknown_workspace")
    );
}

#[test]
fn workspace_routes_follow_tinybirds_auth_rules() {
    let dir = common::temp_dir("local-auth");
    let server = Server::start(&dir, &dir.join("ws.db"), &[]);
    let tokens = server.local_tokens();
    let token = |name: &str| tokens[name].as_str().unwrap().to_owned();
    let (user, admin, first) = (
        token("user_token"),
        token("admin_token"),
        token("workspace_admin_token"),
    );
    let url = |path: &str| format!("{}{path}", server.url);
    // Listing: user or admin token; a workspace admin token is not a user's.
    assert_eq!(request("GET", &url("/v1/user/workspaces"), None).0, 401);
    assert_eq!(
        request("GET", &url("/v1/user/workspaces"), Some(&first)).0,
        403
    );
    assert_eq!(
        request("GET", &url("/v1/user/workspaces"), Some(&user)).0,
        200
    );
    // Creating: the user token only.
    assert_eq!(
        request("POST", &url("/v1/workspaces?name=a_ws"), Some(&admin)).0,
        403
    );
    let (status, created) = request("POST", &url("/v1/workspaces?name=a_ws"), Some(&user));
    assert_eq!(status, 200, "{created}");
    assert_eq!(
        request("POST", &url("/v1/workspaces?name=a_ws"), Some(&user)).0,
        409
    );
    assert_eq!(
        request("POST", &url("/v1/workspaces?name=a%20b"), Some(&user)).0,
        400
    );
    // A workspace's token sees its own tokens only.
    let own = created["token"].as_str().unwrap().to_owned();
    let made = request(
        "POST",
        &url("/v0/tokens?name=only_here&scope=WORKSPACE:READ_ALL"),
        Some(&own),
    );
    assert_eq!(made.0, 200, "{}", made.1);
    assert_eq!(
        request("GET", &url("/v0/tokens/only_here"), Some(&own)).0,
        200
    );
    assert_eq!(
        request("GET", &url("/v0/tokens/only_here"), Some(&first)).0,
        404
    );
    // Deleting: the user token, with the confirmation, never the first workspace.
    let id = created["id"].as_str().unwrap();
    let (_, list) = request("GET", &url("/v1/user/workspaces"), Some(&admin));
    let first_id = list["workspaces"][0]["id"].as_str().unwrap().to_owned();
    let delete = |path: String, token: &str| request("DELETE", &url(&path), Some(token)).0;
    assert_eq!(delete(format!("/v1/workspaces/{id}"), &user), 400);
    let confirmed = format!("/v1/workspaces/{id}?hard_delete_confirmation=yes");
    assert_eq!(delete(confirmed.clone(), &admin), 403);
    let first_path = format!("/v1/workspaces/{first_id}?hard_delete_confirmation=yes");
    assert_eq!(delete(first_path, &user), 400);
    assert_eq!(delete(confirmed.clone(), &user), 204);
    assert_eq!(delete(confirmed, &user), 404);
    assert_eq!(request("GET", &url("/v0/tokens"), Some(&own)).0, 401);
    let log = server.log();
    for secret in [&user, &admin, &first, &own] {
        assert!(!log.contains(secret.as_str()));
    }
}

#[test]
fn token_create_local_creates_the_workspace_and_token_ls_does_not() {
    let dir = common::temp_dir("local-create");
    let project = dir.join("project");
    let home = dir.join("home");
    std::fs::create_dir(&project).unwrap();
    std::fs::create_dir(&home).unwrap();
    let server = Server::start(&dir, &dir.join("ws.db"), &[]);
    let admin = server.local_tokens()["admin_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let count = || {
        let (_, list) = request(
            "GET",
            &format!("{}/v1/user/workspaces", server.url),
            Some(&admin),
        );
        list["workspaces"].as_array().unwrap().len()
    };
    let listed = tokenplan(&project, &server, &home, &["token", "ls", "--local"]);
    assert!(listed.status.success(), "{}", common::describe(&listed));
    assert_eq!(count(), 1);
    let created = tokenplan(
        &project,
        &server,
        &home,
        &[
            "token", "create", "static", "ci", "--scope", "TOKENS", "--local",
        ],
    );
    assert!(created.status.success(), "{}", common::describe(&created));
    assert_eq!(count(), 2);
    let listed = tokenplan(
        &project,
        &server,
        &home,
        &["token", "ls", "--local", "--format", "json"],
    );
    assert!(token_names(&listed).contains(&"ci".to_owned()));
}
