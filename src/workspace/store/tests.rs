//! The database: creation and its file, the files it refuses (and never writes), the JSON
//! migration, `state verify`, and the token queries.

use std::path::Path;

use super::verify::{Verified, verify};
use super::*;
use crate::workspace::state::{InvalidStateReason, State};
use crate::workspace::{TokenKind, WORKSPACE_ADMIN_TOKEN};

fn reason(result: Result<impl std::fmt::Debug, WorkspaceError>) -> InvalidStateReason {
    match result {
        Err(WorkspaceError::InvalidState { reason, .. }) => reason,
        other => panic!("{other:?}"),
    }
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn a_json_path_names_the_database_beside_it() {
    let resolved = StatePaths::resolve(Path::new("a/ws.json"));
    assert_eq!(resolved.database, Path::new("a/ws.db"));
    assert_eq!(resolved.legacy.as_deref(), Some(Path::new("a/ws.json")));
    let resolved = StatePaths::resolve(Path::new(".tokenplan/workspace.db"));
    assert_eq!(resolved.database, Path::new(".tokenplan/workspace.db"));
    assert_eq!(
        resolved.legacy.as_deref(),
        Some(Path::new(".tokenplan/workspace.json"))
    );
    let resolved = StatePaths::resolve(Path::new("state"));
    assert_eq!(resolved.database, Path::new("state"));
    assert_eq!(resolved.legacy, None);
}

#[test]
fn a_new_database_is_private_in_wal_mode_and_holds_the_state() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".tokenplan/workspace.db");
    let state = State::new("a@b.c");
    assert_eq!(Store::create(&path, &state).unwrap(), Creation::Created);
    assert_eq!(
        std::fs::read_to_string(dir.path().join(".tokenplan/.gitignore")).unwrap(),
        "*\n"
    );
    let store = Store::open(&path).unwrap();
    assert_eq!(store.read_state().unwrap(), state);
    let pragma = |name: &str| -> String {
        store
            .conn()
            .query_row(&format!("PRAGMA {name}"), [], |row| {
                row.get::<_, rusqlite::types::Value>(0)
            })
            .map(|v| format!("{v:?}"))
            .unwrap()
    };
    assert_eq!(pragma("journal_mode"), r#"Text("wal")"#);
    // 2 is FULL: every commit syncs the WAL.
    assert_eq!(pragma("synchronous"), "Integer(2)");
    assert_eq!(pragma("user_version"), format!("Integer({SCHEMA_VERSION})"));
    assert_eq!(
        pragma("application_id"),
        format!("Integer({APPLICATION_ID})")
    );
    store.begin().unwrap();
    let token = state.new_token("t", &["PIPES:READ:p".into()], TokenKind::Resource, "");
    store.insert_token(&token).unwrap();
    store.commit().unwrap();
    #[cfg(unix)]
    {
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&with_suffix(&path, "-wal")), 0o600);
    }
    // Nothing left behind by the creation.
    let names: Vec<String> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(names.is_empty(), "{names:?}");
}

#[test]
fn creation_never_replaces_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("workspace.db");
    std::fs::write(&path, "mine\n").unwrap();
    assert_eq!(
        Store::create(&path, &State::new("a@b.c")).unwrap(),
        Creation::AlreadyThere
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "mine\n");
}

#[test]
fn damaged_and_foreign_files_are_refused_and_left_as_they_are() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("workspace.db");
    let refused = |bytes: &[u8]| {
        std::fs::write(&path, bytes).unwrap();
        let reason = reason(Store::open(&path));
        assert_eq!(std::fs::read(&path).unwrap(), bytes, "the file was written");
        reason
    };
    assert!(matches!(refused(b""), InvalidStateReason::Empty));
    assert!(matches!(
        refused(b"  {\"format_version\": 1}"),
        InvalidStateReason::JsonState
    ));
    assert!(matches!(
        refused(b"not a database at all, long enough"),
        InvalidStateReason::NotADatabase
    ));

    // An SQLite database of another program.
    let other = dir.path().join("other.db");
    let conn = rusqlite::Connection::open(&other).unwrap();
    conn.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
        .unwrap();
    drop(conn);
    let before = std::fs::read(&other).unwrap();
    let foreign = reason(Store::open(&other));
    assert!(matches!(
        foreign,
        InvalidStateReason::Foreign { application_id: 0 }
    ));
    assert_eq!(
        foreign.to_string(),
        "it is an SQLite database of another program (application id 0x0)"
    );
    assert!(matches!(
        reason(verify(&other)),
        InvalidStateReason::Foreign { .. }
    ));
    assert_eq!(std::fs::read(&other).unwrap(), before);
    assert!(!with_suffix(&other, "-wal").exists());

    // One of a newer tokenplan.
    let newer = dir.path().join("newer.db");
    Store::create(&newer, &State::new("a@b.c")).unwrap();
    let conn = rusqlite::Connection::open(&newer).unwrap();
    conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .unwrap();
    drop(conn);
    assert!(matches!(
        reason(Store::open(&newer)),
        InvalidStateReason::SchemaVersion { found } if found == SCHEMA_VERSION + 1
    ));
}

/// A database of a few hundred tokens with one page in the middle overwritten.
fn damaged_database(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("damaged.db");
    let mut state = State::new("a@b.c");
    for i in 0..400 {
        let token = state.new_token(
            &format!("token {i:04}"),
            &[format!("PIPES:READ:pipe_{i}").into()],
            TokenKind::Resource,
            "",
        );
        state.insert(token);
    }
    Store::create(&path, &state).unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    let page = 4096;
    assert!(bytes.len() > 8 * page, "{}", bytes.len());
    for (i, byte) in bytes[5 * page..6 * page].iter_mut().enumerate() {
        *byte = (i * 7 + 3) as u8;
    }
    std::fs::write(&path, &bytes).unwrap();
    path
}

#[test]
fn verify_passes_a_sound_database_and_names_damage() {
    let dir = tempfile::tempdir().unwrap();
    let sound = dir.path().join("ws.json");
    let mut state = State::new("a@b.c");
    state.save(&sound).unwrap();
    let verified = verify(&sound).unwrap();
    assert_eq!(
        verified,
        Verified::Database {
            path: dir.path().join("ws.db"),
            schema_version: SCHEMA_VERSION,
            serial: 1,
            tokens: 3,
        }
    );
    assert!(
        verified
            .to_string()
            .ends_with(": ok (integrity check passed; schema version 2, serial 1, 3 tokens)")
    );
    assert!(matches!(
        verify(&dir.path().join("none.db")).unwrap(),
        Verified::Missing { .. }
    ));

    let damaged = damaged_database(dir.path());
    let before = std::fs::read(&damaged).unwrap();
    let error = verify(&damaged).unwrap_err();
    assert!(
        matches!(
            &error,
            WorkspaceError::InvalidState {
                reason: InvalidStateReason::Damaged { .. },
                ..
            }
        ),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("the database is damaged"),
        "{error}"
    );
    // A writer finds the damage before its first change, and writes nothing.
    use crate::workspace::Workspace;
    let locked = crate::workspace::embedded::EmbeddedWorkspace::open(&damaged, "a@b.c", "unlock")
        .and_then(|mut workspace| workspace.lock("test"));
    assert!(
        matches!(
            locked,
            Err(WorkspaceError::InvalidState {
                reason: InvalidStateReason::Damaged { .. },
                ..
            })
        ),
        "{locked:?}"
    );
    assert_eq!(std::fs::read(&damaged).unwrap(), before);
}

#[test]
fn a_json_state_is_read_as_it_is_and_migrated_once() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("workspace.json");
    let mut state = State::new("a@b.c");
    state.serial = 7;
    std::fs::write(&json, serde_json::to_vec_pretty(&state).unwrap()).unwrap();
    let paths = StatePaths::resolve(&dir.path().join("workspace.db"));
    assert_eq!(load_state(&json).unwrap().unwrap(), state);
    assert!(!paths.database.exists(), "reading wrote a database");
    let migrated = legacy::migrate(&paths).unwrap().unwrap();
    assert_eq!(migrated.to, paths.database);
    assert_eq!(migrated.kept, dir.path().join("workspace.json.migrated"));
    assert!(!json.exists());
    assert_eq!(load_state(&json).unwrap().unwrap(), state);
    assert_eq!(legacy::migrate(&paths).unwrap(), None, "said once");
    assert!(matches!(
        verify(&json).unwrap(),
        Verified::Database { serial: 7, .. }
    ));
}

#[test]
fn a_failed_request_in_a_group_is_undone_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ws.db");
    let state = State::new("a@b.c");
    Store::create(&path, &state).unwrap();
    let store = Store::open(&path).unwrap();
    store.begin().unwrap();
    let kept = state.new_token("kept", &["ADMIN".into()], TokenKind::Workspace, "");
    let undone = state.new_token("undone", &["ADMIN".into()], TokenKind::Workspace, "");
    let ok: Result<(), ()> = store
        .savepoint(|s| {
            s.insert_token(&kept).unwrap();
            Ok(())
        })
        .unwrap();
    assert!(ok.is_ok());
    let failed: Result<(), &str> = store
        .savepoint(|s| {
            s.insert_token(&undone).unwrap();
            Err("refused")
        })
        .unwrap();
    assert!(failed.is_err());
    store.commit().unwrap();
    assert!(store.token("kept").unwrap().is_some());
    assert!(store.token("undone").unwrap().is_none());
}

#[test]
fn tokens_are_found_by_name_id_and_value() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ws.db");
    let state = State::new("a@b.c");
    Store::create(&path, &state).unwrap();
    let store = Store::open(&path).unwrap();
    let admin = state.get(WORKSPACE_ADMIN_TOKEN).unwrap().clone();
    assert_eq!(
        store.token(WORKSPACE_ADMIN_TOKEN).unwrap(),
        Some(admin.clone())
    );
    assert_eq!(
        store.token_by_name_or_id(&admin.id).unwrap(),
        Some(admin.clone())
    );
    assert_eq!(
        store.token_by_value(&admin.value).unwrap(),
        Some(admin.clone())
    );
    assert_eq!(store.token_by_value("p.nope").unwrap(), None);
    let mut refreshed = admin.clone();
    refreshed.value = state.new_value();
    refreshed.scopes = ["ADMIN", "TOKENS"].into();
    assert!(store.update_token(&refreshed).unwrap());
    assert_eq!(store.token_by_value(&admin.value).unwrap(), None);
    assert_eq!(
        store.token_by_value(&refreshed.value).unwrap(),
        Some(refreshed.clone())
    );
    assert!(store.delete_token(WORKSPACE_ADMIN_TOKEN).unwrap());
    assert!(!store.delete_token(WORKSPACE_ADMIN_TOKEN).unwrap());
    let scopes: i64 = store
        .conn()
        .query_row("SELECT count(*) FROM scopes", [], |row| row.get(0))
        .unwrap();
    assert_eq!(scopes, 1, "the deleted token's scopes went with it");
}

#[test]
fn the_list_is_every_token_with_its_scopes_in_name_order_without_a_sort() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ws.db");
    let mut state = State::new("a@b.c");
    for (name, scopes) in [
        (
            "b",
            vec!["PIPES:READ:x", "DATASOURCES:READ:y", "PIPES:READ:a"],
        ),
        ("a", vec![]),
        ("é", vec!["PIPES:READ:z"]),
        ("Z", vec!["TOKENS"]),
    ] {
        let scopes: Vec<crate::scope::Scope> = scopes.into_iter().map(Into::into).collect();
        let token = state.new_token(name, &scopes, TokenKind::Resource, "");
        state.insert(token);
    }
    Store::create(&path, &state).unwrap();
    let store = Store::open(&path).unwrap();
    let listed = store.tokens().unwrap();
    assert_eq!(listed, state.tokens, "the order of Rust strings");
    for token in &listed {
        assert_eq!(store.token(&token.name).unwrap().as_ref(), Some(token));
    }
    let plan: Vec<String> = store
        .conn()
        .prepare(
            "EXPLAIN QUERY PLAN SELECT t.token, s.scope FROM tokens t \
             LEFT JOIN scopes s ON s.token = t.token WHERE t.workspace = ?1 \
             ORDER BY t.name, s.scope",
        )
        .unwrap()
        .query_map([0], |row| row.get::<_, String>(3))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(
        plan.iter().all(|step| !step.contains("TEMP B-TREE")),
        "{plan:?}"
    );
}

#[test]
fn a_version_1_database_becomes_the_first_workspace_and_others_keep_their_own_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ws.db");
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(&format!(
        "PRAGMA application_id = {APPLICATION_ID}; {}; PRAGMA user_version = 1;
         INSERT INTO workspace VALUES (1, 'l', 4, 'id0', 'local', 'o', 'a@b.c', 'k');
         INSERT INTO tokens VALUES (7, 'reader', 'tid', 'p.v', x'00', 'workspace', '', 't', 't');
         INSERT INTO scopes VALUES (7, 'WORKSPACE:READ_ALL');",
        super::schema::MIGRATIONS[0]
    ))
    .unwrap();
    drop(conn);
    let store = Store::open(&path).unwrap();
    let reader = store.token("reader").unwrap().unwrap();
    assert_eq!(reader.scopes.len(), 1);
    assert_eq!(store.meta().unwrap().serial, 4);

    let other = State::new("a@b.c");
    let mut other_state = other.clone();
    other_state.workspace.name = "Tinybird_Local_Build_x".into();
    let key = store.insert_workspace(&other_state).unwrap();
    let names: Vec<String> = store
        .workspaces()
        .unwrap()
        .into_iter()
        .map(|w| w.meta.name)
        .collect();
    assert_eq!(names, ["local", "Tinybird_Local_Build_x"]);
    assert!(store.token("reader").unwrap().is_some());
    store.use_workspace(key);
    assert!(store.token("reader").unwrap().is_none());
    assert_eq!(store.tokens().unwrap(), other_state.tokens);
    assert_eq!(
        store.meta().unwrap().workspace.name,
        "Tinybird_Local_Build_x"
    );
    let admin = &other_state.tokens[0].value;
    assert_eq!(store.token_anywhere(admin).unwrap().unwrap().0, key);
    store.use_workspace(DEFAULT_WORKSPACE);
    assert!(store.token_by_value(admin).unwrap().is_none());
    assert!(store.delete_workspace(key).unwrap());
    assert_eq!(store.workspaces().unwrap().len(), 1);
    assert!(store.token_anywhere(admin).unwrap().is_none());
}
