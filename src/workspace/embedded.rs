//! The embedded workspace: a state database on disk, the default backend, so that tokenplan works
//! on a fresh machine with no account.
//!
//! A workspace with no database yet (a new one, or a JSON state of an earlier version) is read
//! from an in-memory copy, so that commands that only read write nothing. The first command that
//! takes the lock migrates a JSON state; the first change creates a new database. A change is one
//! transaction of its own, or part of the batch an apply opens: then all of the apply's changes
//! are kept at once, or none.

use std::path::Path;

use super::secret::now_rfc3339;
use super::state::{State, StateLock, WorkspaceMeta};
use super::store::{StatePaths, Store, exists, legacy};
use super::{Snapshot, Token, TokenKind, Workspace, WorkspaceError, WorkspaceInfo};
use crate::scope::Scopes;

/// A local workspace kept in a state database.
#[derive(Debug)]
pub(crate) struct EmbeddedWorkspace {
    paths: StatePaths,
    store: Store,
    /// The store is the database file (else an in-memory copy of a state not on disk).
    on_disk: bool,
    /// The state was read from a file (database or JSON), so it has a lineage of its own.
    from_file: bool,
    meta: WorkspaceMeta,
    admin_email: String,
    lock: Option<StateLock>,
    /// A batch is open on the store.
    batch: bool,
    /// The workspace of the database worked on, by name (`--workspace`); the first when unset.
    workspace: Option<String>,
    unlock_command: String,
}

/// The store of a state path as it is now, and whether it is the database file and whether it
/// came from a file at all.
fn open_store(
    paths: &StatePaths,
    admin_email: &str,
) -> Result<(Store, bool, bool), WorkspaceError> {
    if exists(&paths.database) {
        return Ok((Store::open(&paths.database)?, true, true));
    }
    if let Some(legacy) = paths.pending_legacy()
        && let Some(state) = legacy::read_json(legacy)?
    {
        return Ok((Store::in_memory(legacy, &state)?, false, true));
    }
    let state = State::new(admin_email);
    Ok((Store::in_memory(&paths.database, &state)?, false, false))
}

/// Turns the store to the workspace named `name` (the first one when `None`).
fn select_workspace(store: &Store, name: Option<&str>) -> Result<(), WorkspaceError> {
    let Some(name) = name else { return Ok(()) };
    let row = store
        .workspaces()?
        .into_iter()
        .find(|w| w.meta.name == name)
        .ok_or_else(|| WorkspaceError::UnknownWorkspace {
            name: name.to_owned(),
        })?;
    store.use_workspace(row.key);
    Ok(())
}

impl EmbeddedWorkspace {
    /// Opens the state at `path` (see [`StatePaths`] for the names it takes); a missing one is a
    /// new workspace with the default tokens, written on the first change. `unlock_command` is
    /// shown when a stale lock is found.
    pub(crate) fn open(
        path: &Path,
        admin_email: &str,
        unlock_command: &str,
    ) -> Result<Self, WorkspaceError> {
        let paths = StatePaths::resolve(path);
        let (store, on_disk, from_file) = open_store(&paths, admin_email)?;
        let meta = store.meta()?.workspace;
        Ok(EmbeddedWorkspace {
            paths,
            store,
            on_disk,
            from_file,
            meta,
            admin_email: admin_email.to_owned(),
            lock: None,
            batch: false,
            unlock_command: unlock_command.to_owned(),
            workspace: None,
        })
    }

    /// Works on the database's workspace `name` from now on, not the first one.
    pub(crate) fn use_workspace(&mut self, name: &str) -> Result<(), WorkspaceError> {
        self.workspace = Some(name.to_owned());
        select_workspace(&self.store, self.workspace.as_deref())?;
        self.meta = self.store.meta()?.workspace;
        Ok(())
    }

    /// The whole state as it is now.
    #[cfg(test)]
    pub(crate) fn state(&self) -> Result<State, WorkspaceError> {
        self.store.read_state()
    }

    /// Reads the state again: another process may have written it before the lock was taken.
    /// A new workspace with no file yet keeps the identity and values already read.
    fn reopen(&mut self) -> Result<(), WorkspaceError> {
        if !self.on_disk && !exists(&self.paths.database) && self.paths.pending_legacy().is_none() {
            return Ok(());
        }
        let (store, on_disk, from_file) = open_store(&self.paths, &self.admin_email)?;
        select_workspace(&store, self.workspace.as_deref())?;
        self.meta = store.meta()?.workspace;
        self.store = store;
        self.on_disk = on_disk;
        self.from_file = from_file;
        Ok(())
    }

    /// Makes the database file when there is none yet, from the in-memory copy (the same
    /// identity and default tokens that were read), and works on it from now on.
    fn ensure_on_disk(&mut self) -> Result<(), WorkspaceError> {
        if self.on_disk {
            return Ok(());
        }
        if !exists(&self.paths.database) {
            let state = self.store.read_state()?;
            Store::create(&self.paths.database, &state)?;
        }
        self.store = Store::open(&self.paths.database)?;
        select_workspace(&self.store, self.workspace.as_deref())?;
        self.meta = self.store.meta()?.workspace;
        self.on_disk = true;
        self.from_file = true;
        Ok(())
    }

    /// Runs one change: in the open batch, or in a transaction of its own. Every change counts
    /// one in the serial.
    fn change<T>(
        &mut self,
        edit: impl FnOnce(&Store, &WorkspaceMeta) -> Result<T, WorkspaceError>,
    ) -> Result<T, WorkspaceError> {
        if self.lock.is_none() {
            self.lock("tokenplan")?;
        }
        self.ensure_on_disk()?;
        let own = !self.batch;
        if own {
            self.store.begin()?;
        }
        let result = edit(&self.store, &self.meta)
            .and_then(|value| self.store.advance_serial().map(|()| value));
        if own {
            match &result {
                Ok(_) => {
                    if let Err(error) = self.store.commit() {
                        self.store.rollback();
                        return Err(error);
                    }
                }
                Err(_) => self.store.rollback(),
            }
        }
        result
    }

    /// Edits an existing token and records when.
    fn update(
        &mut self,
        name: &str,
        edit: impl FnOnce(&WorkspaceMeta, &mut Token),
    ) -> Result<Token, WorkspaceError> {
        self.change(|store, meta| {
            let mut token = store.token(name)?.ok_or_else(|| WorkspaceError::NotFound {
                name: name.to_owned(),
            })?;
            edit(meta, &mut token);
            token.updated_at = now_rfc3339();
            store.update_token(&token)?;
            Ok(token)
        })
    }
}

impl Workspace for EmbeddedWorkspace {
    fn info(&self) -> WorkspaceInfo {
        WorkspaceInfo {
            kind: "embedded".into(),
            location: self.paths.database.display().to_string(),
        }
    }

    fn lock(&mut self, command: &str) -> Result<(), WorkspaceError> {
        if self.lock.is_some() {
            return Ok(());
        }
        let lock = StateLock::acquire(&self.paths.database, command, &self.unlock_command)?;
        legacy::migrate(&self.paths)?;
        self.reopen()?;
        if self.on_disk {
            // Damage SQLite would only meet on the pages a change touches is found before any.
            self.store.check_pages()?;
        }
        self.lock = Some(lock);
        Ok(())
    }

    fn snapshot(&mut self) -> Result<Snapshot, WorkspaceError> {
        let state = self.store.read_state()?;
        Ok(Snapshot {
            tokens: state.tokens,
            serial: Some(state.serial),
            lineage: self.from_file.then_some(state.lineage),
        })
    }

    fn get(&mut self, name: &str) -> Result<Option<Token>, WorkspaceError> {
        self.store.token(name)
    }

    fn create(
        &mut self,
        name: &str,
        scopes: &Scopes,
        kind: TokenKind,
        description: &str,
    ) -> Result<Token, WorkspaceError> {
        self.change(|store, meta| {
            if store.token(name)?.is_some() {
                return Err(WorkspaceError::Conflict {
                    name: name.to_owned(),
                });
            }
            let token = meta.new_token(name, scopes, kind, description);
            store.insert_token(&token)?;
            Ok(token)
        })
    }

    fn replace_scopes(&mut self, name: &str, scopes: &Scopes) -> Result<Token, WorkspaceError> {
        self.update(name, |_, token| token.scopes = scopes.clone())
    }

    fn delete(&mut self, name: &str) -> Result<(), WorkspaceError> {
        self.change(|store, _| {
            if store.delete_token(name)? {
                Ok(())
            } else {
                Err(WorkspaceError::NotFound {
                    name: name.to_owned(),
                })
            }
        })
    }

    fn refresh(&mut self, name: &str) -> Result<Token, WorkspaceError> {
        self.update(name, |meta, token| token.value = meta.new_value())
    }

    fn begin_batch(&mut self) -> Result<bool, WorkspaceError> {
        if self.lock.is_none() {
            self.lock("tokenplan")?;
        }
        self.ensure_on_disk()?;
        if !self.batch {
            self.store.begin()?;
            self.batch = true;
        }
        Ok(true)
    }

    fn commit_batch(&mut self) -> Result<(), WorkspaceError> {
        if !self.batch {
            return Ok(());
        }
        self.batch = false;
        let committed = self.store.commit();
        if committed.is_err() {
            self.store.rollback();
        }
        committed
    }

    fn rollback_batch(&mut self) {
        if self.batch {
            self.batch = false;
            self.store.rollback();
        }
    }
}

impl Drop for EmbeddedWorkspace {
    fn drop(&mut self) {
        // An open batch is forgotten, as a crash would forget it, before the lock goes.
        self.rollback_batch();
    }
}

#[cfg(test)]
mod tests;
