//! The embedded workspace: a state file on disk, the default backend, so that tokenplan works on
//! a fresh machine with no account.

use std::path::{Path, PathBuf};

use super::secret::now_rfc3339;
use super::state::{State, StateLock};
use super::{Snapshot, Token, TokenKind, Workspace, WorkspaceError, WorkspaceInfo};
use crate::scope::Scopes;

/// A local workspace kept in a state file.
#[derive(Debug)]
pub struct EmbeddedWorkspace {
    path: PathBuf,
    state: State,
    written: bool,
    lock: Option<StateLock>,
    unlock_command: String,
}

impl EmbeddedWorkspace {
    /// Opens the state at `path`; a missing file is a new workspace with the default tokens
    /// (written on the first change). `unlock_command` is shown when a stale lock is found.
    pub fn open(
        path: &Path,
        admin_email: &str,
        unlock_command: &str,
    ) -> Result<Self, WorkspaceError> {
        let loaded = State::load(path)?;
        let written = loaded.is_some();
        Ok(EmbeddedWorkspace {
            path: path.to_path_buf(),
            state: loaded.unwrap_or_else(|| State::new(admin_email)),
            written,
            lock: None,
            unlock_command: unlock_command.to_owned(),
        })
    }

    /// The state as last read or written.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// The state file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Edits an existing token and records when.
    fn update(
        &mut self,
        name: &str,
        edit: impl FnOnce(&State, &mut Token),
    ) -> Result<Token, WorkspaceError> {
        self.change(|state| {
            let mut token = state
                .get(name)
                .cloned()
                .ok_or_else(|| WorkspaceError::NotFound {
                    name: name.to_owned(),
                })?;
            edit(state, &mut token);
            token.updated_at = now_rfc3339();
            state.insert(token.clone());
            Ok(token)
        })
    }

    fn change<T>(
        &mut self,
        edit: impl FnOnce(&mut State) -> Result<T, WorkspaceError>,
    ) -> Result<T, WorkspaceError> {
        if self.lock.is_none() {
            self.lock("tokenplan")?;
        }
        let mut next = self.state.clone();
        let result = edit(&mut next)?;
        next.save(&self.path)?;
        self.state = next;
        self.written = true;
        Ok(result)
    }
}

impl Workspace for EmbeddedWorkspace {
    fn info(&self) -> WorkspaceInfo {
        WorkspaceInfo {
            kind: "embedded".into(),
            location: self.path.display().to_string(),
        }
    }

    fn lock(&mut self, command: &str) -> Result<(), WorkspaceError> {
        if self.lock.is_some() {
            return Ok(());
        }
        let lock = StateLock::acquire(&self.path, command, &self.unlock_command)?;
        // Another writer may have changed the state between our read and the lock.
        if let Some(state) = State::load(&self.path)? {
            self.state = state;
            self.written = true;
        }
        self.lock = Some(lock);
        Ok(())
    }

    fn snapshot(&mut self) -> Result<Snapshot, WorkspaceError> {
        Ok(Snapshot {
            tokens: self.state.tokens.clone(),
            serial: Some(self.state.serial),
            lineage: self.written.then(|| self.state.lineage.clone()),
        })
    }

    fn get(&mut self, name: &str) -> Result<Option<Token>, WorkspaceError> {
        Ok(self.state.get(name).cloned())
    }

    fn create(
        &mut self,
        name: &str,
        scopes: &Scopes,
        kind: TokenKind,
        description: &str,
    ) -> Result<Token, WorkspaceError> {
        self.change(|state| {
            if state.get(name).is_some() {
                return Err(WorkspaceError::Conflict {
                    name: name.to_owned(),
                });
            }
            let token = state.new_token(name, scopes, kind, description);
            state.insert(token.clone());
            Ok(token)
        })
    }

    fn replace_scopes(&mut self, name: &str, scopes: &Scopes) -> Result<Token, WorkspaceError> {
        self.update(name, |_, token| token.scopes = scopes.clone())
    }

    fn delete(&mut self, name: &str) -> Result<(), WorkspaceError> {
        self.change(|state| {
            state
                .remove(name)
                .map(drop)
                .ok_or_else(|| WorkspaceError::NotFound {
                    name: name.to_owned(),
                })
        })
    }

    fn refresh(&mut self, name: &str) -> Result<Token, WorkspaceError> {
        self.update(name, |state, token| token.value = state.new_value())
    }
}
