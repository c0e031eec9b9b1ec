//! The tables of a workspace database and how an older one is brought up to date.
//!
//! `PRAGMA application_id` marks the file as a tokenplan state (a database of another program is
//! refused, never written), `PRAGMA user_version` is the schema version: [`MIGRATIONS`]`[v]` takes
//! a database from version `v` to `v + 1`, all of them in one transaction.

use super::Store;
use crate::workspace::WorkspaceError;

/// "tkpl": what `PRAGMA application_id` says in every tokenplan state.
pub(crate) const APPLICATION_ID: i32 = 0x746b_706c;

/// The schema this build reads and writes.
pub(crate) const SCHEMA_VERSION: i32 = 2;

/// Version 1: the workspace's identity and write counter (one row), its tokens, and their scopes.
/// Names sort as Rust strings do (SQLite's default BINARY collation compares UTF-8 bytes), so the
/// order of `ORDER BY name` is the order of the plan. `value_sha256` finds the token a request
/// presents without comparing every value: see the server's `auth`.
const V1: &str = "
CREATE TABLE workspace (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    lineage TEXT NOT NULL,
    serial INTEGER NOT NULL CHECK (serial >= 0),
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    owner TEXT NOT NULL,
    admin_email TEXT NOT NULL,
    signing_key TEXT NOT NULL
) STRICT;
CREATE TABLE tokens (
    token INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    id TEXT NOT NULL,
    value TEXT NOT NULL,
    value_sha256 BLOB NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('default', 'resource', 'workspace')),
    description TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;
CREATE INDEX tokens_by_id ON tokens (id);
CREATE INDEX tokens_by_value ON tokens (value_sha256);
CREATE TABLE scopes (
    token INTEGER NOT NULL REFERENCES tokens (token) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    PRIMARY KEY (token, scope)
) STRICT, WITHOUT ROWID;
";

/// Version 2: several workspaces, as Tinybird Local serves one per project. The `workspace` row
/// stays the database's (lineage, serial) and the first workspace's identity, key 0; the others
/// are rows of `workspaces`. Token names are unique per workspace, so `tokens` is rebuilt (SQLite
/// cannot drop a column's UNIQUE); the tokens of a version 1 database are workspace 0's. `scopes`
/// is copied too: dropping the old `tokens` would delete its rows through the foreign key, and
/// renaming a table updates the references to it.
const V2: &str = "
CREATE TABLE workspaces (
    workspace INTEGER PRIMARY KEY CHECK (workspace > 0),
    id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL UNIQUE,
    owner TEXT NOT NULL,
    admin_email TEXT NOT NULL,
    signing_key TEXT NOT NULL
) STRICT;
CREATE TABLE tokens_v2 (
    token INTEGER PRIMARY KEY,
    workspace INTEGER NOT NULL DEFAULT 0,
    name TEXT NOT NULL,
    id TEXT NOT NULL,
    value TEXT NOT NULL,
    value_sha256 BLOB NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('default', 'resource', 'workspace')),
    description TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (workspace, name)
) STRICT;
INSERT INTO tokens_v2 (token, workspace, name, id, value, value_sha256, kind, description,
    created_at, updated_at)
    SELECT token, 0, name, id, value, value_sha256, kind, description, created_at, updated_at
    FROM tokens;
CREATE TABLE scopes_v2 (
    token INTEGER NOT NULL REFERENCES tokens_v2 (token) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    PRIMARY KEY (token, scope)
) STRICT, WITHOUT ROWID;
INSERT INTO scopes_v2 (token, scope) SELECT token, scope FROM scopes;
DROP TABLE scopes;
DROP TABLE tokens;
ALTER TABLE tokens_v2 RENAME TO tokens;
ALTER TABLE scopes_v2 RENAME TO scopes;
CREATE INDEX tokens_by_id ON tokens (workspace, id);
CREATE INDEX tokens_by_value ON tokens (value_sha256);
";

/// `MIGRATIONS[v]` takes version `v` to `v + 1`; version 0 is an empty file.
pub(super) const MIGRATIONS: &[&str] = &[V1, V2];

const _: () = assert!(MIGRATIONS.len() == SCHEMA_VERSION as usize);

/// The schema version of the database.
pub(super) fn version(store: &Store) -> Result<i32, WorkspaceError> {
    store.pragma_i32("user_version")
}

/// Writes the current schema into a new, empty database.
pub(super) fn create(store: &Store) -> Result<(), WorkspaceError> {
    let sql = format!(
        "PRAGMA application_id = {APPLICATION_ID}; {}; PRAGMA user_version = {SCHEMA_VERSION};",
        MIGRATIONS.join("\n")
    );
    store
        .conn
        .execute_batch(&sql)
        .map_err(|e| store.error("cannot create", e))
}

/// Brings an older schema up to date, in one transaction; a database already current is left
/// alone without a write.
pub(super) fn migrate(store: &Store) -> Result<(), WorkspaceError> {
    if version(store)? == SCHEMA_VERSION {
        return Ok(());
    }
    store.begin()?;
    let migrated = (|| {
        // Read again under the write lock: another process may have migrated meanwhile.
        let from = version(store)?;
        for (at, step) in MIGRATIONS.iter().enumerate().skip(from.max(0) as usize) {
            let sql = format!("{step}; PRAGMA user_version = {};", at + 1);
            store
                .conn
                .execute_batch(&sql)
                .map_err(|e| store.error("cannot migrate", e))?;
        }
        store.commit()
    })();
    if migrated.is_err() {
        store.rollback();
    }
    migrated
}
