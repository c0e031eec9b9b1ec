//! The embedded workspace: reading writes nothing, the lock migrates a JSON state, a change is a
//! transaction of its own and a batch is kept whole or not at all.

use super::*;
use crate::workspace::state::State;

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = walkdir::WalkDir::new(dir)
        .min_depth(1)
        .into_iter()
        .map(|e| {
            e.unwrap()
                .path()
                .strip_prefix(dir)
                .unwrap()
                .display()
                .to_string()
        })
        .collect();
    names.sort();
    names
}

#[test]
fn reading_a_new_or_json_state_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".tokenplan/workspace.db");
    let mut workspace = EmbeddedWorkspace::open(&path, "a@b.c", "unlock").unwrap();
    let snapshot = workspace.snapshot().unwrap();
    assert_eq!(snapshot.tokens.len(), 3);
    assert_eq!((snapshot.serial, snapshot.lineage), (Some(0), None));
    assert!(workspace.get("User token").unwrap().is_some());
    assert!(files(dir.path()).is_empty());

    let mut state = State::new("a@b.c");
    state.serial = 4;
    let json = dir.path().join("old.json");
    std::fs::write(&json, serde_json::to_vec(&state).unwrap()).unwrap();
    let mut workspace = EmbeddedWorkspace::open(&json, "a@b.c", "unlock").unwrap();
    let snapshot = workspace.snapshot().unwrap();
    assert_eq!(snapshot.serial, Some(4));
    assert_eq!(snapshot.lineage.as_deref(), Some(state.lineage.as_str()));
    assert_eq!(files(dir.path()), ["old.json"]);
    assert_eq!(
        workspace.info().location,
        dir.path().join("old.db").display().to_string()
    );
}

#[test]
fn the_lock_migrates_a_json_state_and_the_first_change_creates_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let mut state = State::new("a@b.c");
    state.serial = 4;
    let json = dir.path().join("ws.json");
    std::fs::write(&json, serde_json::to_vec(&state).unwrap()).unwrap();
    let mut workspace = EmbeddedWorkspace::open(&json, "x@y.z", "unlock").unwrap();
    workspace.lock("test").unwrap();
    assert!(!json.exists());
    assert!(dir.path().join("ws.json.migrated").exists());
    assert_eq!(workspace.state().unwrap(), state);
    workspace
        .create("t", &["PIPES:READ:p"].into(), TokenKind::Resource, "")
        .unwrap();
    assert_eq!(State::load(&json).unwrap().unwrap().serial, 5);
    drop(workspace);

    // A new workspace: the database appears with the first change, with the tokens read.
    let path = dir.path().join("new.db");
    let mut workspace = EmbeddedWorkspace::open(&path, "a@b.c", "unlock").unwrap();
    let before = workspace.snapshot().unwrap();
    workspace.lock("test").unwrap();
    assert!(!path.exists(), "the lock alone creates nothing");
    workspace.delete("nobody").unwrap_err();
    workspace
        .create("t", &["PIPES:READ:p"].into(), TokenKind::Resource, "")
        .unwrap();
    let after = workspace.snapshot().unwrap();
    assert_eq!(after.serial, Some(1));
    assert!(after.lineage.is_some());
    let value = |s: &Snapshot| s.get("User token").unwrap().value.clone();
    assert_eq!(value(&before), value(&after));
}

#[test]
fn a_batch_is_kept_whole_or_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ws.db");
    let scopes: Scopes = ["PIPES:READ:p"].into();
    let mut workspace = EmbeddedWorkspace::open(&path, "a@b.c", "unlock").unwrap();
    assert!(workspace.begin_batch().unwrap());
    for name in ["a", "b", "c"] {
        workspace
            .create(name, &scopes, TokenKind::Resource, "")
            .unwrap();
    }
    // Inside the batch the changes are seen; outside, not yet.
    assert!(workspace.get("b").unwrap().is_some());
    assert_eq!(State::load(&path).unwrap().unwrap().tokens.len(), 3);
    workspace.rollback_batch();
    assert!(workspace.get("b").unwrap().is_none());
    assert_eq!(workspace.snapshot().unwrap().serial, Some(0));

    workspace.begin_batch().unwrap();
    for name in ["a", "b", "c"] {
        workspace
            .create(name, &scopes, TokenKind::Resource, "")
            .unwrap();
    }
    workspace
        .replace_scopes("a", &["PIPES:READ:q"].into())
        .unwrap();
    workspace.delete("c").unwrap();
    workspace.commit_batch().unwrap();
    let state = State::load(&path).unwrap().unwrap();
    assert_eq!(state.serial, 5, "one count a change");
    assert_eq!(state.get("a").unwrap().scopes, ["PIPES:READ:q"]);
    assert!(state.get("c").is_none());

    // Dropped with a batch open, as a crash: forgotten.
    workspace.begin_batch().unwrap();
    workspace
        .create("d", &scopes, TokenKind::Resource, "")
        .unwrap();
    drop(workspace);
    assert!(State::load(&path).unwrap().unwrap().get("d").is_none());
}
