//! The workspaces of one database, as Tinybird Local keeps one per project: the first (key 0,
//! the `workspace` row) and any others (rows of `workspaces`), and which one a connection's token
//! reads and writes act on.

use rusqlite::{OptionalExtension, params};

use super::Store;
use crate::workspace::WorkspaceError;
use crate::workspace::state::{InvalidStateReason, State, WorkspaceMeta};

/// The key of the first workspace: the one a database of one workspace holds.
pub(crate) const DEFAULT_WORKSPACE: i64 = 0;

/// A workspace of the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WorkspaceRow {
    /// Its key in the database.
    pub(crate) key: i64,
    pub(crate) meta: WorkspaceMeta,
}

const IDENTITY: &str = "id, name, owner, admin_email, signing_key";

fn identity_from(row: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<WorkspaceMeta> {
    Ok(WorkspaceMeta {
        id: row.get(at)?,
        name: row.get(at + 1)?,
        owner: row.get(at + 2)?,
        admin_email: row.get(at + 3)?,
        signing_key: row.get(at + 4)?,
    })
}

impl Store {
    /// Token reads and writes act on workspace `key` from now on.
    pub(crate) fn use_workspace(&self, key: i64) {
        self.workspace.set(key);
    }

    /// The workspace token reads and writes act on.
    pub(crate) fn current_workspace(&self) -> i64 {
        self.workspace.get()
    }

    /// Every workspace, the first one first, then by name.
    pub(crate) fn workspaces(&self) -> Result<Vec<WorkspaceRow>, WorkspaceError> {
        let sql = format!(
            "SELECT 0, {IDENTITY} FROM workspace UNION ALL \
             SELECT * FROM (SELECT workspace, {IDENTITY} FROM workspaces ORDER BY name)"
        );
        self.conn
            .prepare_cached(&sql)
            .and_then(|mut statement| {
                statement
                    .query_map([], |row| {
                        Ok(WorkspaceRow {
                            key: row.get(0)?,
                            meta: identity_from(row, 1)?,
                        })
                    })?
                    .collect()
            })
            .map_err(|e| self.error("cannot read", e))
    }

    /// The workspace with this name, else the one with this id.
    pub(crate) fn workspace_named(
        &self,
        name_or_id: &str,
    ) -> Result<Option<WorkspaceRow>, WorkspaceError> {
        Ok(self
            .workspaces()?
            .into_iter()
            .find(|w| w.meta.name == name_or_id || w.meta.id == name_or_id))
    }

    /// The identity of workspace `key` (not the first one).
    pub(super) fn workspace_identity(&self, key: i64) -> Result<WorkspaceMeta, WorkspaceError> {
        let sql = format!("SELECT {IDENTITY} FROM workspaces WHERE workspace = ?1");
        self.conn
            .prepare_cached(&sql)
            .and_then(|mut statement| {
                statement
                    .query_row([key], |row| identity_from(row, 0))
                    .optional()
            })
            .map_err(|e| self.error("cannot read", e))?
            .ok_or_else(|| {
                self.invalid(InvalidStateReason::Damaged {
                    detail: format!("it has no workspace {key}"),
                })
            })
    }

    /// Writes a workspace's identity (not the first one's).
    pub(super) fn update_identity(
        &self,
        key: i64,
        meta: &WorkspaceMeta,
    ) -> Result<(), WorkspaceError> {
        self.conn
            .execute(
                "UPDATE workspaces SET id = ?2, name = ?3, owner = ?4, admin_email = ?5, \
                 signing_key = ?6 WHERE workspace = ?1",
                params![
                    key,
                    meta.id,
                    meta.name,
                    meta.owner,
                    meta.admin_email,
                    meta.signing_key
                ],
            )
            .map(drop)
            .map_err(|e| self.error("cannot write", e))
    }

    /// Sets the database's serial.
    pub(super) fn set_serial(&self, serial: u64) -> Result<(), WorkspaceError> {
        let serial = i64::try_from(serial).map_err(|_| {
            self.invalid(InvalidStateReason::Damaged {
                detail: format!("serial {serial} is too large"),
            })
        })?;
        self.conn
            .execute("UPDATE workspace SET serial = ?1", [serial])
            .map(drop)
            .map_err(|e| self.error("cannot write", e))
    }

    /// Adds a workspace holding `state`'s identity and tokens (its name must be free), and
    /// returns its key; the workspace in use stays the same.
    pub(crate) fn insert_workspace(&self, state: &State) -> Result<i64, WorkspaceError> {
        let meta = &state.workspace;
        self.conn
            .execute(
                "INSERT INTO workspaces (workspace, id, name, owner, admin_email, signing_key) \
                 VALUES ((SELECT COALESCE(MAX(workspace), 0) + 1 FROM workspaces), \
                 ?1, ?2, ?3, ?4, ?5)",
                params![
                    meta.id,
                    meta.name,
                    meta.owner,
                    meta.admin_email,
                    meta.signing_key
                ],
            )
            .map_err(|e| self.error("cannot write", e))?;
        let key = self.conn.last_insert_rowid();
        let previous = self.current_workspace();
        self.use_workspace(key);
        let inserted = state.tokens.iter().try_for_each(|t| self.insert_token(t));
        self.use_workspace(previous);
        inserted.map(|()| key)
    }

    /// Removes workspace `key` (not the first one) and its tokens. Returns false when there is
    /// none.
    pub(crate) fn delete_workspace(&self, key: i64) -> Result<bool, WorkspaceError> {
        self.conn
            .execute(
                "DELETE FROM scopes WHERE token IN (SELECT token FROM tokens WHERE workspace = ?1)",
                [key],
            )
            .and_then(|_| {
                self.conn
                    .execute("DELETE FROM tokens WHERE workspace = ?1", [key])
            })
            .and_then(|_| {
                self.conn
                    .execute("DELETE FROM workspaces WHERE workspace = ?1", [key])
            })
            .map(|deleted| deleted > 0)
            .map_err(|e| self.error("cannot write", e))
    }
}
