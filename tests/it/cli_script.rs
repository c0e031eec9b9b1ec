//! The command line as scripts, pipelines, terminals and editors meet it (issue #15): cautions
//! on plans that destroy everything, `--allow-destroy` that never swallows PATH, exit codes of
//! usage errors, control characters escaped in every output meant for people, JSON on failure,
//! GitHub paths from the repository root, and the smaller frictions (summaries, confirmations,
//! masked values, dead locks, the language server, completions).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use super::common::{binary, copy_tree, describe, fixture, project_copy, temp_dir};
use lsp_types::Url;
use serde_json::{Value, json};
use tokenplan::workspace::state::State;

/// tokenplan in `dir`, without a terminal, colour, or the CI variables of whoever runs the tests.
fn tokenplan(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(binary());
    command
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("TOKENPLAN_TEST_APPLY_PAUSE_MS")
        .env_remove("GITHUB_STEP_SUMMARY")
        .env_remove("GITHUB_WORKSPACE")
        .env_remove("TB_HOST")
        .env_remove("TB_TOKEN");
    command
}

fn run(dir: &Path, args: &[&str]) -> Output {
    tokenplan(dir, args).output().expect("tokenplan runs")
}

fn code(output: &Output) -> i32 {
    output.status.code().expect("exited normally")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn state_of(dir: &Path) -> State {
    State::load(&dir.join(".tokenplan/workspace.json"))
        .expect("the state file is valid")
        .expect("the state file exists")
}

/// Rewrites every datafile under `dir` without the TOKEN lines `drop` picks.
fn drop_token_lines(dir: &Path, drop: impl Fn(&Path, &str) -> bool) {
    for entry in walkdir::WalkDir::new(dir) {
        let entry = entry.unwrap();
        let path = entry.path();
        let datafile = matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("pipe" | "datasource")
        );
        if !datafile || path.components().any(|c| c.as_os_str() == ".tokenplan") {
            continue;
        }
        let text = std::fs::read_to_string(path).unwrap();
        let kept: String = text
            .split_inclusive('\n')
            .filter(|line| !(line.starts_with("TOKEN") && drop(path, line)))
            .collect();
        std::fs::write(path, kept).unwrap();
    }
}

/// A project of `n` pipes `pipes/pNN.pipe`, each granting READ to its own token `tNN`.
fn pipes_with_tokens(name: &str, n: usize) -> super::common::Scratch {
    let dir = temp_dir(name);
    std::fs::create_dir_all(dir.join("pipes")).unwrap();
    for i in 0..n {
        std::fs::write(
            dir.join(format!("pipes/p{i:02}.pipe")),
            format!("NODE n\nSQL >\n    SELECT {i}\n\nTOKEN t{i:02} READ\n"),
        )
        .unwrap();
    }
    dir
}

fn apply_all(dir: &Path) {
    let applied = run(dir, &["apply", "--auto-approve", "--allow-destroy"]);
    assert_eq!(code(&applied), 0, "{}", describe(&applied));
}

// 2b -------------------------------------------------------------------------------------------

#[test]
fn a_plan_that_destroys_every_managed_token_says_so_first() {
    let dir_holder = project_copy("quickstart");
    let dir = dir_holder.path();
    apply_all(dir);
    drop_token_lines(dir, |_, _| true);

    let text = run(dir, &["plan"]);
    assert_eq!(code(&text), 0, "{}", describe(&text));
    let first = stdout(&text).lines().next().unwrap_or_default().to_owned();
    assert!(
        first.starts_with("Caution: this plan destroys every managed token"),
        "{}",
        describe(&text)
    );
    let markdown = stdout(&run(dir, &["plan", "--format", "markdown"]));
    assert!(
        markdown.starts_with("> [!CAUTION]\n> This plan destroys every managed token"),
        "{markdown}"
    );
    let github = stdout(&run(dir, &["plan", "--format", "github"]));
    let first = github.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("::warning title=tokenplan::This plan destroys every managed token"),
        "{github}"
    );

    // Some tokens are kept: no caution.
    let partial_holder = project_copy("destroy");
    let partial = partial_holder.path();
    let text = stdout(&run(partial, &["plan"]));
    assert!(!text.contains("Caution"), "{text}");
    // No managed token at all: nothing to caution about.
    let fresh_holder = project_copy("quickstart");
    let fresh = fresh_holder.path();
    drop_token_lines(fresh, |_, _| true);
    let text = stdout(&run(fresh, &["plan"]));
    assert!(!text.contains("Caution"), "{text}");
}

// 3 --------------------------------------------------------------------------------------------

/// A copy of the `destroy` fixture at `<parent>/proj`.
fn destroy_project_in(parent: &Path) -> PathBuf {
    let dir = parent.join("proj");
    copy_tree(&fixture("projects/destroy"), &dir);
    std::fs::create_dir_all(dir.join(".tokenplan")).unwrap();
    std::fs::rename(
        dir.join("workspace.json"),
        dir.join(".tokenplan/workspace.json"),
    )
    .unwrap();
    dir
}

#[test]
fn allow_destroy_takes_a_name_only_after_an_equals_sign() {
    // The bare flag allows everything and leaves the next word to be PATH.
    let parent = temp_dir("allow-destroy");
    let dir = destroy_project_in(&parent);
    let applied = run(
        &parent,
        &["apply", "--auto-approve", "--allow-destroy", "proj"],
    );
    assert_eq!(code(&applied), 0, "{}", describe(&applied));
    assert!(state_of(&dir).get("legacy export").is_none());
    // The advice to pass the flag is not given to whoever passed it.
    assert!(
        !stdout(&applied).contains("--allow-destroy"),
        "{}",
        describe(&applied)
    );

    let parent = temp_dir("allow-destroy-names");
    let dir = destroy_project_in(&parent);
    let plan = stdout(&run(&dir, &["plan"]));
    assert!(plan.contains("--allow-destroy='legacy export'"), "{plan}");
    let refused = run(
        &dir,
        &["apply", "--auto-approve", "--allow-destroy=dashboard"],
    );
    assert_eq!(code(&refused), 1, "{}", describe(&refused));
    assert!(
        stderr(&refused).contains("--allow-destroy='legacy export'"),
        "{}",
        describe(&refused)
    );
    assert!(state_of(&dir).get("legacy export").is_some());
    let allowed = run(
        &dir,
        &[
            "apply",
            "--auto-approve",
            "--allow-destroy=dashboard",
            "--allow-destroy=legacy export",
        ],
    );
    assert_eq!(code(&allowed), 0, "{}", describe(&allowed));
    assert!(state_of(&dir).get("legacy export").is_none());
}

// 4 --------------------------------------------------------------------------------------------

#[test]
fn usage_errors_exit_64_and_never_0_or_2() {
    let dir = temp_dir("usage");
    for args in [
        &["plan", "--bogus", "--detailed-exitcode"][..],
        &["apply", "--bogus", "--detailed-exitcode"],
        &["check", "--bogus"],
        &["plan", "--format", "yaml"],
        &["plan", "--host", "http://localhost:1", "--state", "x.json"],
        &[],
    ] {
        let output = run(&dir, args);
        assert_eq!(code(&output), 64, "{args:?}: {}", describe(&output));
    }
    for args in [&["--help"][..], &["--version"], &["plan", "--help"]] {
        let output = run(&dir, args);
        assert_eq!(code(&output), 0, "{args:?}: {}", describe(&output));
    }
    for command in ["plan", "apply", "check"] {
        let help = stdout(&run(&dir, &[command, "--help"]));
        assert!(
            help.contains("Exit codes:") && help.contains("64"),
            "{command}: {help}"
        );
    }
}

// 5 --------------------------------------------------------------------------------------------

/// A project with a control sequence in an error (and its source line), and one in a token name.
fn project_with_escapes() -> (super::common::Scratch, super::common::Scratch) {
    let broken = temp_dir("escape-broken");
    std::fs::create_dir_all(broken.join("pipes")).unwrap();
    std::fs::write(
        broken.join("pipes/evil.pipe"),
        "NODE n\nSQL >\n    SELECT 1\n\nTOKEN a WR\x1b]0;TITLE\x07\n",
    )
    .unwrap();
    let named = temp_dir("escape-named");
    std::fs::create_dir_all(named.join("pipes")).unwrap();
    std::fs::write(
        named.join("pipes/p.pipe"),
        "NODE n\nSQL >\n    SELECT 1\n\nTOKEN \"a\x1b[2Jb\u{9b}c\" READ\n",
    )
    .unwrap();
    (broken, named)
}

fn assert_no_controls(what: &str, text: &str) {
    let raw: Vec<char> = text
        .chars()
        .filter(|&c| (c.is_control() && c != '\n' && c != '\t') || c == '\u{7f}')
        .collect();
    assert!(raw.is_empty(), "{what}: raw {raw:?} in:\n{text}");
}

#[test]
fn control_characters_from_datafiles_are_escaped_in_every_output_for_people() {
    let (broken, named) = project_with_escapes();
    for args in [
        &["check"][..],
        &["plan"],
        &["plan", "--format", "markdown"],
        &["plan", "--format", "github"],
    ] {
        let output = run(&broken, args);
        let text = format!("{}{}", stdout(&output), stderr(&output));
        assert_no_controls(&format!("{args:?}"), &text);
        assert!(text.contains("WR\\x1b]0;TITLE\\x07"), "{args:?}: {text}");
    }
    for args in [
        &["plan"][..],
        &["plan", "--format", "markdown"],
        &["apply", "--auto-approve"],
    ] {
        let output = run(&named, args);
        let text = format!("{}{}", stdout(&output), stderr(&output));
        assert_no_controls(&format!("{args:?}"), &text);
        assert!(text.contains("a\\x1b[2Jb\\u{9b}c"), "{args:?}: {text}");
    }
    // JSON keeps the name exactly.
    let json: Value = serde_json::from_slice(
        &run(
            &named,
            &["plan", "--format", "json", "--state", "other.json"],
        )
        .stdout,
    )
    .unwrap();
    assert_eq!(json["changes"][0]["name"], "a\x1b[2Jb\u{9b}c");
    // `token ls` lists the name the apply created.
    let listed = stdout(&run(&named, &["token", "ls"]));
    assert_no_controls("token ls", &listed);
    assert!(listed.contains("a\\x1b[2Jb\\u{9b}c"), "{listed}");
}

#[cfg(unix)]
#[test]
fn a_terminal_gets_no_control_sequence_from_a_datafile() {
    let (broken, _) = project_with_escapes();
    let mut command = Command::new(binary());
    command
        .args(["check"])
        .current_dir(&broken)
        .env_remove("NO_COLOR");
    let (status, text) = super::common::on_terminal(command, super::common::TerminalStream::Stdout);
    assert_eq!(status, Some(1), "{text}");
    // Colours are the only escape sequences: `ESC [ ... m`.
    assert!(
        !text.contains("\x1b]") && !text.contains('\x07'),
        "{text:?}"
    );
    assert!(text.contains("\\x1b]0;TITLE\\x07"), "{text:?}");
}

// 7 --------------------------------------------------------------------------------------------

#[test]
fn a_json_plan_of_a_broken_project_prints_the_errors() {
    let dir_holder = project_copy("parse-error");
    let dir = dir_holder.path();
    let output = run(dir, &["plan", "--format", "json"]);
    assert_eq!(code(&output), 1, "{}", describe(&output));
    let document: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", describe(&output)));
    assert_eq!(document["format_version"], "1");
    let errors = document["errors"].as_array().unwrap();
    assert!(!errors.is_empty());
    // The same objects as `check --format json`, with their file.
    let check: Value =
        serde_json::from_slice(&run(dir, &["check", "--format", "json"]).stdout).unwrap();
    let mut from_check = Vec::new();
    for file in check["files"].as_array().unwrap() {
        for diagnostic in file["diagnostics"].as_array().unwrap() {
            if diagnostic["severity"] == "error" {
                let mut diagnostic = diagnostic.clone();
                diagnostic["path"] = file["path"].clone();
                from_check.push(diagnostic);
            }
        }
    }
    assert_eq!(errors, &from_check);

    // A failure with no place (no project folder) is an error too.
    let missing = run(dir, &["plan", "nowhere", "--format", "json"]);
    assert_eq!(code(&missing), 1);
    let document: Value = serde_json::from_slice(&missing.stdout).unwrap();
    assert_eq!(
        document["errors"][0]["code"],
        "tokenplan::project::not_found"
    );
    assert_eq!(document["errors"][0]["path"], Value::Null);
}

// 8 --------------------------------------------------------------------------------------------

#[test]
fn github_annotations_are_placed_from_the_repository_root_whatever_path_is_given() {
    let repo = temp_dir("repo");
    std::fs::create_dir_all(repo.join(".git")).unwrap();
    copy_tree(&fixture("projects/parse-error"), &repo.join("tinybird"));
    let elsewhere = repo.join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let absolute = repo.join("tinybird");
    let expected = "::error file=tinybird/pipes/alerts.pipe,";
    for (dir, path) in [
        (&elsewhere, absolute.to_str().unwrap()),
        (&elsewhere, "../tinybird"),
        (&repo.to_path_buf(), "./tinybird/"),
        (&absolute, "."),
    ] {
        let output = run(dir, &["plan", path, "--format", "github"]);
        assert!(
            stdout(&output).starts_with(expected),
            "{path} in {}: {}",
            dir.display(),
            describe(&output)
        );
    }
    // GITHUB_WORKSPACE is the root when set.
    let output = tokenplan(&elsewhere, &["plan", "../tinybird", "--format", "github"])
        .env("GITHUB_WORKSPACE", &absolute)
        .output()
        .unwrap();
    assert!(
        stdout(&output).starts_with("::error file=pipes/alerts.pipe,"),
        "{}",
        describe(&output)
    );
}

#[test]
fn a_scope_removal_warning_goes_where_the_scope_was_granted() {
    let dir = temp_dir("removal-place");
    std::fs::create_dir_all(dir.join("pipes")).unwrap();
    std::fs::create_dir_all(dir.join("datasources")).unwrap();
    std::fs::write(
        dir.join("pipes/a.pipe"),
        "NODE n\nSQL >\n    SELECT 1\n\nTOKEN t READ\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("pipes/b.pipe"),
        "NODE n\nSQL >\n    SELECT 1\n\nTOKEN t READ\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("datasources/events.datasource"),
        "SCHEMA >\n    `id` String\n\nTOKEN u APPEND\nTOKEN u2 READ\n",
    )
    .unwrap();
    apply_all(&dir);
    // `t` no longer reads b; `u` now reads where it appended.
    drop_token_lines(&dir, |path, _| path.ends_with("b.pipe"));
    std::fs::write(
        dir.join("datasources/events.datasource"),
        "SCHEMA >\n    `id` String\n\nTOKEN u2 READ\nTOKEN u READ\n",
    )
    .unwrap();
    let output = run(&dir, &["plan", "--format", "github"]);
    let text = stdout(&output);
    let warnings: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("::warning"))
        .collect();
    assert_eq!(warnings.len(), 2, "{}", describe(&output));
    assert!(
        warnings[0].starts_with("::warning file=pipes/b.pipe,title=Token loses access%3A t::"),
        "{text}"
    );
    assert!(
        warnings[1].starts_with(
            "::warning file=datasources/events.datasource,line=5,title=Token loses access%3A u::"
        ),
        "{text}"
    );
}

// 9 --------------------------------------------------------------------------------------------

#[test]
fn check_counts_token_lines_and_says_so() {
    let output = run(&fixture("projects/quickstart"), &["check"]);
    let last = stdout(&output)
        .lines()
        .last()
        .unwrap_or_default()
        .to_owned();
    assert!(
        last.starts_with("Checked 3 files") && last.ends_with(", 5 TOKEN lines."),
        "{last}"
    );
}

#[test]
fn the_warning_line_names_at_most_ten_tokens() {
    let dir = pipes_with_tokens("many-breaking", 26);
    apply_all(&dir);
    drop_token_lines(&dir, |path, _| !path.ends_with("p25.pipe"));
    let text = stdout(&run(&dir, &["plan"]));
    let warning = text
        .lines()
        .find(|l| l.starts_with("Warning:"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        warning.contains("(t00, t01, t02, t03, t04, t05, t06, t07, t08, t09 and 15 more)"),
        "{warning}"
    );
}

/// A folder whose embedded workspace has a workspace token `ci`.
fn workspace_with_ci(name: &str) -> super::common::Scratch {
    let dir = temp_dir(name);
    let created = run(
        &dir,
        &["token", "create", "static", "ci", "--scope", "TOKENS"],
    );
    assert_eq!(code(&created), 0, "{}", describe(&created));
    dir
}

fn value_of(dir: &Path, name: &str) -> Option<String> {
    state_of(dir).get(name).map(|t| t.value.clone())
}

#[test]
fn refresh_and_rm_need_a_yes_without_a_terminal() {
    let dir = workspace_with_ci("confirm");
    let before = value_of(&dir, "ci").unwrap();
    for args in [
        &["token", "rm", "ci"][..],
        &["token", "refresh", "ci"],
        &["token", "refresh", "Workspace admin token"],
    ] {
        let output = run(&dir, args);
        assert_eq!(code(&output), 1, "{args:?}: {}", describe(&output));
        let message = stderr(&output);
        assert!(
            message.contains("tokenplan::token::needs_confirmation") && message.contains("--yes"),
            "{message}"
        );
    }
    assert_eq!(value_of(&dir, "ci").unwrap(), before);
    let admin = value_of(&dir, "Workspace admin token").unwrap();
    let refreshed = run(&dir, &["token", "refresh", "ci", "--yes"]);
    assert_eq!(code(&refreshed), 0, "{}", describe(&refreshed));
    assert_ne!(value_of(&dir, "ci").unwrap(), before);
    assert_eq!(value_of(&dir, "Workspace admin token").unwrap(), admin);
    // Refused changes are refused before anything is asked.
    let default = run(&dir, &["token", "rm", "Workspace admin token"]);
    assert!(stderr(&default).contains("tokenplan::token::default_token"));
    let removed = run(&dir, &["token", "rm", "ci", "-y"]);
    assert_eq!(code(&removed), 0, "{}", describe(&removed));
    assert!(value_of(&dir, "ci").is_none());
}

/// Runs tokenplan with stdin on a pseudo-terminal that receives `typed`; returns the exit code
/// and stderr, where the question goes.
#[cfg(unix)]
fn answering(dir: &Path, args: &[&str], typed: &str) -> (i32, String) {
    let (mut master, slave) = super::common::pseudo_terminal();
    let mut command = tokenplan(dir, args);
    command
        .stdin(Stdio::from(slave))
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let child = command.spawn().unwrap();
    drop(command);
    master.write_all(typed.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    (code(&output), stderr(&output))
}

#[cfg(unix)]
#[test]
fn refresh_and_rm_ask_on_a_terminal() {
    let dir = workspace_with_ci("ask");
    let admin = value_of(&dir, "Workspace admin token").unwrap();
    let (status, asked) = answering(&dir, &["token", "refresh", "Workspace admin token"], "no\n");
    assert_eq!(status, 1, "{asked}");
    assert!(asked.contains("default token"), "{asked}");
    assert!(asked.contains("tokenplan::token::cancelled"), "{asked}");
    assert_eq!(value_of(&dir, "Workspace admin token").unwrap(), admin);
    let (status, asked) = answering(&dir, &["token", "rm", "ci"], "yes\n");
    assert_eq!(status, 0, "{asked}");
    assert!(asked.contains("Only 'yes'"), "{asked}");
    assert!(value_of(&dir, "ci").is_none());
}

#[test]
fn masked_values_end_with_their_last_four_characters() {
    let dir = workspace_with_ci("mask");
    let value = value_of(&dir, "ci").unwrap();
    let last_four: String = value.chars().skip(value.chars().count() - 4).collect();
    let listed = stdout(&run(&dir, &["token", "ls", "--match", "ci"]));
    assert!(listed.contains(&format!("p.eyJ…{last_four}\n")), "{listed}");
    assert!(!listed.contains(&value));
    let json: Value =
        serde_json::from_slice(&run(&dir, &["token", "ls", "--format", "json"]).stdout).unwrap();
    assert_eq!(json["tokens"][3]["name"], "ci");
    assert_eq!(json["tokens"][3]["value"], format!("p.eyJ…{last_four}"));
}

/// This machine's name, as lock files record it.
fn host_name() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

#[test]
fn apply_takes_over_a_lock_left_by_a_dead_process_on_this_host() {
    let mut gone = Command::new("true").spawn().unwrap();
    let dead_pid = gone.id();
    gone.wait().unwrap();
    let write_lock = |dir: &Path, host: &str| {
        std::fs::create_dir_all(dir.join(".tokenplan")).unwrap();
        let info = json!({"pid": dead_pid, "host": host, "command": "tokenplan apply .",
                          "started_at": "2025-01-01T00:00:00Z"});
        std::fs::write(dir.join(".tokenplan/workspace.db.lock"), info.to_string()).unwrap();
    };

    let dir_holder = project_copy("quickstart");
    let dir = dir_holder.path();
    write_lock(dir, &host_name());
    let applied = run(dir, &["apply", "--auto-approve"]);
    assert_eq!(code(&applied), 0, "{}", describe(&applied));
    assert!(
        stderr(&applied).contains("Took over the lock left by `tokenplan apply .`"),
        "{}",
        describe(&applied)
    );
    assert_eq!(state_of(dir).tokens.len(), 6);

    // A lock from another machine (a shared folder) cannot be judged from here.
    let other_holder = project_copy("quickstart");
    let other = other_holder.path();
    write_lock(other, "another-host.example");
    let blocked = run(other, &["apply", "--auto-approve"]);
    assert_eq!(code(&blocked), 1, "{}", describe(&blocked));
    assert!(stderr(&blocked).contains("tokenplan::workspace::stale_lock"));
}

#[test]
fn completion_after_scope_offers_the_scopes() {
    let output = run(&std::env::temp_dir(), &["completions", "bash"]);
    let script = stdout(&output);
    assert!(
        script.contains("WORKSPACE:READ_ALL") && script.contains("ORG_DATASOURCES:READ"),
        "{script}"
    );
    // Lower case is still accepted, as before.
    let dir = temp_dir("scope-case");
    let created = run(
        &dir,
        &[
            "token",
            "create",
            "static",
            "ci",
            "--scope",
            "workspace:read_all",
        ],
    );
    assert_eq!(code(&created), 0, "{}", describe(&created));
}

// The language server ----------------------------------------------------------------------------

/// Sends `messages` to `tokenplan lsp` in `root`, closes its stdin, and returns its exit status,
/// every message it sent and its stderr.
fn lsp_session(root: &Path, messages: &[Value]) -> (ExitStatus, Vec<Value>, String) {
    let mut child = tokenplan(root, &["lsp"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = out.read_to_end(&mut bytes);
        bytes
    });
    let err_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = err.read_to_string(&mut text);
        text
    });
    for message in messages {
        let body = message.to_string();
        // A server that stopped early closes its stdin: what it did is in its output.
        let _ = write!(stdin, "Content-Length: {}\r\n\r\n{body}", body.len());
    }
    drop(stdin);
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the language server did not exit");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let bytes = reader.join().unwrap();
    let mut received = Vec::new();
    let mut rest = &bytes[..];
    while let Some(start) = rest.windows(4).position(|w| w == b"\r\n\r\n") {
        let header = String::from_utf8_lossy(&rest[..start]).into_owned();
        let length: usize = header
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .and_then(|l| l.trim().parse().ok())
            .expect("a Content-Length header");
        let body = &rest[start + 4..start + 4 + length];
        received.push(serde_json::from_slice(body).unwrap());
        rest = &rest[start + 4 + length..];
    }
    (status, received, err_reader.join().unwrap())
}

fn initialize(root: &Path) -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
           "params": {"processId": null, "rootUri": Url::from_file_path(root).unwrap(),
                      "capabilities": {}}})
}

fn notification(method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "method": method, "params": params})
}

fn shutdown_and_exit() -> [Value; 2] {
    [
        json!({"jsonrpc": "2.0", "id": 99, "method": "shutdown"}),
        notification("exit", Value::Null),
    ]
}

/// The diagnostics last published for each URI.
fn published(messages: &[Value]) -> std::collections::BTreeMap<String, Vec<Value>> {
    messages
        .iter()
        .filter(|m| m["method"] == "textDocument/publishDiagnostics")
        .map(|m| {
            (
                m["params"]["uri"].as_str().unwrap().to_owned(),
                m["params"]["diagnostics"].as_array().unwrap().clone(),
            )
        })
        .collect()
}

#[test]
fn the_language_server_publishes_a_duplicate_on_both_files() {
    let root = temp_dir("lsp-duplicates");
    for folder in ["a", "b"] {
        std::fs::create_dir_all(root.join(folder)).unwrap();
        std::fs::write(
            root.join(folder).join("top.pipe"),
            "NODE n\nSQL >\n    SELECT 1\n",
        )
        .unwrap();
    }
    let mut messages = vec![initialize(&root), notification("initialized", json!({}))];
    messages.extend(shutdown_and_exit());
    let (status, received, log) = lsp_session(&root, &messages);
    assert!(status.success(), "{log}");
    let published = published(&received);
    for (file, other) in [("a/top.pipe", "b/top.pipe"), ("b/top.pipe", "a/top.pipe")] {
        let uri = Url::from_file_path(root.join(file)).unwrap().to_string();
        let diagnostics = published
            .get(&uri)
            .unwrap_or_else(|| panic!("nothing for {file}: {received:?}"));
        assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
        let diagnostic = &diagnostics[0];
        assert_eq!(diagnostic["code"], "tokenplan::project::duplicate_resource");
        let related = Url::from_file_path(root.join(other)).unwrap().to_string();
        assert_eq!(
            diagnostic["relatedInformation"][0]["location"]["uri"],
            related
        );
    }
}

#[test]
fn a_did_open_before_initialized_is_kept_and_never_logged() {
    let root = temp_dir("lsp-early-open");
    let file = root.join("early.pipe");
    let uri = Url::from_file_path(&file).unwrap().to_string();
    let buffer = "NODE n\nSQL >\n    SELECT 'UNSAVED-BUFFER-TEXT'\n\nTOKEN a WR\x1b]0;T\x07\n";
    let mut messages = vec![
        initialize(&root),
        notification(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "tinybird", "version": 1,
                                    "text": buffer}}),
        ),
        json!({"jsonrpc": "2.0", "id": 2, "method": "textDocument/hover",
               "params": {"textDocument": {"uri": uri}, "position": {"line": 0, "character": 0}}}),
        notification("initialized", json!({})),
    ];
    messages.extend(shutdown_and_exit());
    let (status, received, log) = lsp_session(&root, &messages);
    assert!(status.success(), "{status}: {log}");
    assert!(!log.contains("UNSAVED-BUFFER-TEXT"), "{log}");
    // A request before `initialized` is answered with ServerNotInitialized.
    let early = received.iter().find(|m| m["id"] == 2).unwrap();
    assert_eq!(early["error"]["code"], -32002, "{early}");
    // The buffer counts once the client is initialized; its messages are escaped.
    let diagnostics = &published(&received)[&uri];
    assert_eq!(
        diagnostics[0]["code"], "tokenplan::syntax::invalid_token_permission",
        "{diagnostics:?}"
    );
    let message = diagnostics[0]["message"].as_str().unwrap();
    assert!(
        message.contains("WR\\x1b]0;T\\x07") && !message.contains('\x1b'),
        "{message}"
    );
}
