//! `tokenplan plan` and `tokenplan apply` end to end on the embedded workspace: exit codes, saved
//! plans, stale plans, the destroy guard, the write lock, an apply killed midway (one
//! transaction: nothing of it is kept), and secrets.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tempfile::TempDir;
use tokenplan::workspace::state::State;

use crate::common::{self, binary, describe, project_copy, run_in};

fn state_of(dir: &Path) -> State {
    State::load(&dir.join(".tokenplan/workspace.db"))
        .expect("the state file is valid")
        .expect("the state file exists")
}

fn code(output: &std::process::Output) -> i32 {
    output.status.code().expect("exited normally")
}

fn text(output: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn exit_codes_follow_detailed_exitcode() {
    let temp = project_copy("quickstart");
    let dir = temp.path();
    assert_eq!(code(&run_in(dir, &["plan"])), 0);
    assert_eq!(code(&run_in(dir, &["plan", "--detailed-exitcode"])), 2);
    let applied = run_in(dir, &["apply", "--auto-approve", "--detailed-exitcode"]);
    assert_eq!(code(&applied), 2, "{}", describe(&applied));
    assert_eq!(code(&run_in(dir, &["plan", "--detailed-exitcode"])), 0);
    assert_eq!(
        code(&run_in(
            dir,
            &["apply", "--auto-approve", "--detailed-exitcode"]
        )),
        0
    );

    let broken_temp = project_copy("parse-error");
    let broken = broken_temp.path();
    assert_eq!(code(&run_in(broken, &["plan", "--detailed-exitcode"])), 1);
    let refused = run_in(broken, &["apply", "--auto-approve", "--allow-destroy"]);
    assert_eq!(code(&refused), 1);
    // Nothing was destroyed: the broken file's token is still there.
    assert!(state_of(broken).get("alerts").is_some());
}

#[test]
fn apply_creates_the_state_with_a_gitignore_and_converges() {
    let temp = project_copy("quickstart");
    let dir = temp.path();
    let applied = run_in(dir, &["apply", "--auto-approve"]);
    assert_eq!(code(&applied), 0, "{}", describe(&applied));
    assert!(text(&applied).contains("Apply complete! Tokens: 3 added, 0 changed, 0 destroyed."));
    assert_eq!(
        std::fs::read_to_string(dir.join(".tokenplan/.gitignore")).unwrap(),
        "*\n"
    );
    let state = state_of(dir);
    let dashboard = state.get("dashboard").unwrap();
    assert_eq!(
        dashboard.scopes,
        [
            "DATASOURCES:READ:analytics_events",
            "PIPES:READ:top_pages",
            "PIPES:READ:trend"
        ]
    );
    assert_eq!(dashboard.kind, tokenplan::workspace::TokenKind::Resource);
    assert_eq!(state.serial, 3, "one count per change");
    let again = run_in(dir, &["plan"]);
    assert!(text(&again).contains("No changes. The workspace matches the datafiles."));
}

#[test]
fn apply_without_a_terminal_needs_auto_approve() {
    let temp = project_copy("create");
    let dir = temp.path();
    let output = Command::new(binary())
        .args(["apply"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(code(&output), 1);
    assert!(
        text(&output).contains("tokenplan::apply::needs_approval"),
        "{}",
        describe(&output)
    );
    assert!(state_of(dir).get("mobile app").is_none());
}

#[test]
fn a_saved_plan_is_applied_when_it_still_holds() {
    let temp = project_copy("add-scope");
    let dir = temp.path();
    let planned = run_in(dir, &["plan", "--out", "plan.json"]);
    assert_eq!(code(&planned), 0, "{}", describe(&planned));
    let applied = run_in(dir, &["apply", "--plan", "plan.json"]);
    assert_eq!(code(&applied), 0, "{}", describe(&applied));
    assert_eq!(
        state_of(dir).get("dashboard").unwrap().scopes,
        ["PIPES:READ:top_browsers", "PIPES:READ:top_pages"]
    );
}

#[test]
fn a_stale_plan_is_refused_and_says_what_moved() {
    // The datafiles moved.
    let temp = project_copy("add-scope");
    let dir = temp.path();
    assert_eq!(code(&run_in(dir, &["plan", "--out", "plan.json"])), 0);
    std::fs::remove_file(dir.join("pipes/top_browsers.pipe")).unwrap();
    std::fs::write(
        dir.join("pipes/top_referrers.pipe"),
        "NODE r\nSQL >\n    SELECT 1\n\nTOKEN dashboard READ\n",
    )
    .unwrap();
    let refused = run_in(dir, &["apply", "--plan", "plan.json"]);
    assert_eq!(code(&refused), 1);
    let message = text(&refused);
    assert!(
        message.contains("tokenplan::apply::stale_plan"),
        "{message}"
    );
    assert!(
        message.contains("token `dashboard` is declared differently"),
        "{message}"
    );
    assert!(message.contains("pipes/top_referrers.pipe:5"), "{message}");
    assert_eq!(
        state_of(dir).get("dashboard").unwrap().scopes,
        ["PIPES:READ:top_pages"]
    );

    // The workspace moved.
    let temp = project_copy("create");
    let dir = temp.path();
    assert_eq!(code(&run_in(dir, &["plan", "--out", "plan.json"])), 0);
    let mut state = state_of(dir);
    let intruder = state.new_token(
        "mobile app",
        &["PIPES:READ:other".into()],
        tokenplan::workspace::TokenKind::Resource,
        "",
    );
    state.insert(intruder);
    state.save(&dir.join(".tokenplan/workspace.db")).unwrap();
    let refused = run_in(dir, &["apply", "--plan", "plan.json"]);
    assert_eq!(code(&refused), 1);
    let message = text(&refused);
    assert!(
        message.contains(
            "the workspace's tokens changed since the plan was made (state serial 3, now 4)"
        ),
        "{message}"
    );
    assert!(message.contains("token `mobile app`"), "{message}");
}

#[test]
fn breaking_changes_need_allow_destroy() {
    let temp = project_copy("destroy");
    let dir = temp.path();
    let refused = run_in(dir, &["apply", "--auto-approve"]);
    assert_eq!(code(&refused), 1);
    assert!(text(&refused).contains("breaking changes that were not allowed: legacy export"));
    let other = run_in(
        dir,
        &["apply", "--auto-approve", "--allow-destroy=dashboard"],
    );
    assert_eq!(code(&other), 1);
    assert!(state_of(dir).get("legacy export").is_some());
    let allowed = run_in(
        dir,
        &["apply", "--auto-approve", "--allow-destroy=legacy export"],
    );
    assert_eq!(code(&allowed), 0, "{}", describe(&allowed));
    let state = state_of(dir);
    assert!(state.get("legacy export").is_none());
    // Workspace and default tokens are never touched.
    assert!(state.get("ci deploy").is_some());
    assert!(state.get("Workspace admin token").is_some());
}

/// Starts `tokenplan apply` slowed down by the test pause, on a project with many tokens.
fn slow_apply(dir: &Path, pause_ms: &str) -> std::process::Child {
    Command::new(binary())
        .args(["apply", "--auto-approve"])
        .current_dir(dir)
        .env("TOKENPLAN_TEST_APPLY_PAUSE_MS", pause_ms)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// A project of `n` pipes, each with its own token.
fn many_tokens(n: usize) -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("pipes")).unwrap();
    for i in 0..n {
        std::fs::write(
            dir.path().join(format!("pipes/p{i:03}.pipe")),
            format!("NODE n\nSQL >\n    SELECT {i}\n\nTOKEN t{i:03} READ\n"),
        )
        .unwrap();
    }
    dir
}

/// Waits until `child` has printed `count` lines of changes made (`token "x": created`), and
/// hands its stdout back as a receiver of the lines that follow.
pub(crate) fn wait_for_changes(child: &mut Child, count: usize) -> mpsc::Receiver<String> {
    let stdout = child.stdout.take().expect("piped stdout");
    let (lines, received) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut seen = 0;
    while seen < count {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = received
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("timed out waiting for {count} changes, saw {seen}"));
        if line.starts_with("token \"") {
            seen += 1;
        }
    }
    received
}

#[test]
fn a_second_apply_fails_at_once_and_names_the_holder() {
    let temp = many_tokens(20);
    let dir = temp.path();
    let mut first = slow_apply(dir, "100");
    let rest = wait_for_changes(&mut first, 1);
    let second = run_in(dir, &["apply", "--auto-approve"]);
    assert_eq!(code(&second), 1);
    let message = text(&second);
    assert!(
        message.contains("tokenplan::workspace::locked"),
        "{message}"
    );
    assert!(message.contains("tokenplan apply ."), "{message}");
    assert!(message.contains("pid"), "{message}");
    assert!(first.wait().unwrap().success());
    drop(rest);
    assert_eq!(state_of(dir).tokens.len(), 23);
    assert!(text(&run_in(dir, &["plan"])).contains("No changes"));
}

#[test]
fn an_apply_killed_midway_leaves_the_state_as_it_was_and_a_rerun_converges() {
    let temp = many_tokens(40);
    let dir = temp.path();
    let mut apply = slow_apply(dir, "50");
    // Five changes made inside the apply's transaction.
    let rest = wait_for_changes(&mut apply, 5);
    apply.kill().unwrap();
    apply.wait().unwrap();
    drop(rest);
    // The apply is one transaction: none of its changes is kept.
    let written = state_of(dir);
    assert_eq!(written.tokens.len(), 3, "only the default tokens");
    assert_eq!(written.serial, 0);

    // The dead apply's lock is taken over, and the apply finishes the job.
    let finished = run_in(dir, &["apply", "--auto-approve"]);
    assert_eq!(code(&finished), 0, "{}", describe(&finished));
    assert!(
        text(&finished).contains("Took over the lock left by `tokenplan apply .`"),
        "{}",
        describe(&finished)
    );
    assert!(text(&finished).contains("Tokens: 40 added"));
    assert_eq!(state_of(dir).tokens.len(), 43);
    assert_eq!(state_of(dir).serial, 40);
    assert!(text(&run_in(dir, &["plan"])).contains("No changes"));
}

#[test]
fn no_output_ever_holds_a_token_value() {
    let temp = project_copy("destroy");
    let dir = temp.path();
    let mut outputs = Vec::new();
    for args in [
        vec!["check"],
        vec!["check", "--format", "json"],
        vec!["plan"],
        vec!["plan", "--format", "json", "--out", "plan.json"],
        vec!["apply", "--auto-approve", "--allow-destroy"],
        vec!["plan", "--format", "json"],
    ] {
        outputs.push(text(&run_in(dir, &args)));
    }
    outputs.push(std::fs::read_to_string(dir.join("plan.json")).unwrap());
    let fixture_state: State = serde_json::from_str(
        &std::fs::read_to_string(common::fixture("projects/destroy/workspace.json")).unwrap(),
    )
    .unwrap();
    let values: Vec<String> = fixture_state
        .tokens
        .iter()
        .chain(state_of(dir).tokens.iter())
        .map(|t| t.value.clone())
        .collect();
    assert!(values.len() > 5);
    for output in &outputs {
        for value in &values {
            assert!(
                !output.contains(value.as_str()),
                "a token value leaked into:\n{output}"
            );
            // Not even the signature part on its own.
            let signature = value.rsplit('.').next().unwrap();
            assert!(
                !output.contains(signature),
                "a token signature leaked into:\n{output}"
            );
        }
        assert!(!output.contains(&fixture_state.workspace.signing_key));
    }
}

/// On a terminal, an apply of more than a few changes draws a progress bar on stderr.
#[cfg(unix)]
#[test]
fn a_terminal_gets_a_progress_bar_for_a_long_apply() {
    let temp = many_tokens(12);
    let dir = temp.path();
    let mut command = Command::new(binary());
    command
        .args(["apply", "--auto-approve"])
        .current_dir(dir)
        .env("TOKENPLAN_TEST_APPLY_PAUSE_MS", "60");
    let (code, terminal) = common::on_terminal(command, common::TerminalStream::Stderr);
    assert_eq!(code, Some(0), "{terminal}");
    assert!(
        terminal.contains("/12 tokens"),
        "no progress bar drawn: {terminal:?}"
    );
    assert_eq!(state_of(dir).tokens.len(), 15);
}
