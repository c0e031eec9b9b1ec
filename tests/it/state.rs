//! The state database end to end: a JSON state migrated by the first command that writes (and
//! only then), `state verify` on sound, damaged and foreign files (never written), and a 20,000
//! token apply killed with `kill -9` that a rerun finishes with nothing lost or duplicated.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};

use tokenplan::workspace::state::State;

use crate::cli_apply::wait_for_changes;
use crate::common::{binary, describe, project_copy, run_in};

fn text(output: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn plan_json(dir: &Path) -> serde_json::Value {
    let output = run_in(dir, &["plan", "--format", "json"]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn a_json_state_is_migrated_by_the_first_command_that_writes_and_said_once() {
    let temp = project_copy("create");
    let dir = temp.path();
    let json = dir.join(".tokenplan/workspace.json");
    let database = dir.join(".tokenplan/workspace.db");
    let before = std::fs::read(&json).unwrap();

    // Reading leaves the JSON state as it is.
    let planned = plan_json(dir);
    assert_eq!(std::fs::read(&json).unwrap(), before);
    assert!(!database.exists());
    let verified = run_in(dir, &["state", "verify"]);
    assert_eq!(verified.status.code(), Some(0), "{}", describe(&verified));
    assert!(
        text(&verified).contains("a JSON state of"),
        "{}",
        text(&verified)
    );

    let applied = run_in(dir, &["apply", "--auto-approve"]);
    assert_eq!(applied.status.code(), Some(0), "{}", describe(&applied));
    let said = String::from_utf8_lossy(&applied.stderr);
    assert_eq!(
        said.matches("Migrated the workspace state").count(),
        1,
        "{said}"
    );
    assert!(said.contains("workspace.json.migrated"), "{said}");
    assert!(!json.exists());
    assert_eq!(
        std::fs::read(dir.join(".tokenplan/workspace.json.migrated")).unwrap(),
        before
    );
    // The same workspace: its lineage goes on, its serial counted the change.
    let after = plan_json(dir);
    assert_eq!(
        after["workspace"]["lineage"],
        planned["workspace"]["lineage"]
    );
    assert_eq!(
        after["workspace"]["serial"],
        planned["workspace"]["serial"].as_u64().unwrap() + 1
    );
    let again = run_in(
        dir,
        &["token", "create", "static", "ci", "--scope", "TOKENS"],
    );
    assert_eq!(again.status.code(), Some(0), "{}", describe(&again));
    assert!(!text(&again).contains("Migrated"), "said once only");

    // `--state FILE.json` names the database beside it.
    let by_json = run_in(
        dir,
        &[
            "token",
            "ls",
            "--state",
            ".tokenplan/workspace.json",
            "--match",
            "ci",
        ],
    );
    let listed = String::from_utf8_lossy(&by_json.stdout);
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with("ci ") && l.contains("TOKENS")),
        "{listed}"
    );
}

#[test]
fn verify_passes_a_sound_state_and_damaged_or_foreign_files_are_refused_untouched() {
    let temp = project_copy("quickstart");
    let dir = temp.path();
    let applied = run_in(dir, &["apply", "--auto-approve"]);
    assert_eq!(applied.status.code(), Some(0), "{}", describe(&applied));
    let verified = run_in(dir, &["state", "verify"]);
    assert_eq!(verified.status.code(), Some(0), "{}", describe(&verified));
    let stdout = String::from_utf8_lossy(&verified.stdout);
    assert!(
        stdout.ends_with(": ok (integrity check passed; schema version 2, serial 3, 6 tokens)\n"),
        "{stdout}"
    );

    let database = dir.join(".tokenplan/workspace.db");
    for (what, bytes) in [
        (
            "not a database",
            b"garbage that is not SQLite at all".to_vec(),
        ),
        ("foreign", foreign_database(dir)),
    ] {
        std::fs::write(&database, &bytes).unwrap();
        for args in [
            vec!["state", "verify"],
            vec!["plan"],
            vec!["apply", "--auto-approve"],
            vec!["token", "create", "static", "ci", "--scope", "TOKENS"],
        ] {
            let refused = run_in(dir, &args);
            assert_eq!(refused.status.code(), Some(1), "{what} {args:?}");
            assert!(
                text(&refused).contains("tokenplan::workspace::invalid_state"),
                "{what} {args:?}: {}",
                describe(&refused)
            );
            assert_eq!(std::fs::read(&database).unwrap(), bytes, "{what} {args:?}");
        }
    }
}

/// The bytes of an SQLite database of another program.
fn foreign_database(dir: &Path) -> Vec<u8> {
    let path = dir.join("other.sqlite");
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch("CREATE TABLE notes (text); INSERT INTO notes VALUES ('mine');")
        .unwrap();
    drop(conn);
    std::fs::read(&path).unwrap()
}

/// A project whose one data source declares `count` tokens.
fn many_tokens(dir: &Path, count: usize) {
    std::fs::create_dir_all(dir.join("datasources")).unwrap();
    let mut text = String::from("SCHEMA >\n    `id` Int32 `json:$.id`\n\nENGINE MergeTree\n\n");
    for i in 0..count {
        text.push_str(&format!("TOKEN reader_{i:05} READ\n"));
    }
    std::fs::write(dir.join("datasources/events.datasource"), text).unwrap();
}

fn apply(dir: &Path, pause_ms: Option<&str>) -> std::process::Child {
    let mut command = Command::new(binary());
    command
        .args(["apply", "--auto-approve"])
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    match pause_ms {
        Some(pause) => command.env("TOKENPLAN_TEST_APPLY_PAUSE_MS", pause),
        None => command.env_remove("TOKENPLAN_TEST_APPLY_PAUSE_MS"),
    };
    command.spawn().unwrap()
}

fn kill_after(dir: &Path, pause_ms: Option<&str>, changes: usize) {
    let mut child = apply(dir, pause_ms);
    let rest = wait_for_changes(&mut child, changes);
    child.kill().unwrap();
    child.wait().unwrap();
    drop(rest);
    // The next command would report the dead apply's lock as stale.
    let unlocked = run_in(dir, &["force-unlock", "."]);
    assert_eq!(unlocked.status.code(), Some(0), "{}", describe(&unlocked));
    let verified = run_in(dir, &["state", "verify"]);
    assert_eq!(verified.status.code(), Some(0), "{}", describe(&verified));
}

/// 20,000 tokens even in a debug build: about 3 s for the whole apply there.
const MANY: usize = 20_000;

#[test]
fn a_20000_token_apply_killed_midway_is_all_or_nothing_and_a_rerun_converges() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    many_tokens(dir, MANY);
    let state = || State::load(&dir.join(".tokenplan/workspace.db")).unwrap();

    // Killed a thousand changes in (slowed down so that the kill lands midway for sure).
    kill_after(dir, Some("1"), 1000);
    let killed = state().expect("the apply created the database before its changes");
    assert_eq!(
        killed.tokens.len(),
        3,
        "nothing of the killed apply is kept"
    );
    assert_eq!(killed.serial, 0);

    // Killed at full speed, late: all of it or none of it.
    kill_after(dir, None, MANY * 3 / 4);
    let killed = state().unwrap();
    assert!(
        [3, MANY + 3].contains(&killed.tokens.len()),
        "a partial apply was kept: {} tokens",
        killed.tokens.len()
    );

    let finished = run_in(dir, &["apply", "--auto-approve"]);
    assert_eq!(finished.status.code(), Some(0), "{}", describe(&finished));
    let state = state().unwrap();
    assert_eq!(state.tokens.len(), MANY + 3);
    assert_eq!(state.serial, MANY as u64, "each token made once");
    let ids: BTreeSet<&str> = state.tokens.iter().map(|t| t.id.as_str()).collect();
    let values: BTreeSet<&str> = state.tokens.iter().map(|t| t.value.as_str()).collect();
    assert_eq!((ids.len(), values.len()), (MANY + 3, MANY + 3));
    for i in [0, MANY / 2, MANY - 1] {
        assert_eq!(
            state.get(&format!("reader_{i:05}")).unwrap().scopes,
            ["DATASOURCES:READ:events"]
        );
    }
    let plan = run_in(dir, &["plan", "--detailed-exitcode"]);
    assert_eq!(plan.status.code(), Some(0), "{}", describe(&plan));
}
