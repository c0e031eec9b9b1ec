//! The state of a local workspace (embedded, or served by `tokenplan local start`): the model of a
//! whole state (and its JSON form, which earlier versions kept on disk), atomic file writes, and
//! the exclusive write lock. The state itself lives in an SQLite database: see
//! [`super::store`].

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::secret::{new_signing_key, now_rfc3339, token_value, uuid_v4};
use super::{
    Token, TokenKind, USER_TOKEN, WORKSPACE_ADMIN_TOKEN, WorkspaceError, admin_token_name,
};
use crate::scope::{Scope, ScopeKind};

/// The version of the JSON state format: the files earlier versions wrote, which this one
/// migrates.
pub(crate) const STATE_FORMAT_VERSION: u32 = 1;

/// The state database's default place inside a project.
pub(crate) const DEFAULT_STATE_PATH: &str = ".tokenplan/workspace.db";

/// Why a file is not a valid state.
#[derive(Debug, Error)]
pub enum InvalidStateReason {
    /// A JSON state that is not JSON, or not the state's shape.
    #[error("{0}")]
    Json(serde_json::Error),
    /// A JSON state of another format version.
    #[error(
        "format version {found} is not supported (this tokenplan reads version {})",
        STATE_FORMAT_VERSION
    )]
    UnsupportedVersion { found: u32 },
    /// A JSON state whose tokens are out of order or repeated.
    #[error("tokens are not sorted by unique name")]
    Unsorted,
    /// An empty file where the database should be.
    #[error("the file is empty")]
    Empty,
    /// Not an SQLite database at all.
    #[error("it is not an SQLite database")]
    NotADatabase,
    /// A JSON state where the database should be.
    #[error(
        "it is a JSON state of an earlier tokenplan, not a database: pass it as `--state FILE.json` to migrate it to `FILE.db`"
    )]
    JsonState,
    /// An SQLite database of another program.
    #[error("it is an SQLite database of another program (application id {application_id:#x})")]
    Foreign { application_id: i32 },
    /// A database of a schema this build does not read.
    #[error(
        "schema version {found} is not supported (this tokenplan reads version {}); a newer tokenplan wrote it",
        super::store::SCHEMA_VERSION
    )]
    SchemaVersion { found: i32 },
    /// A database that is damaged: SQLite or tokenplan found it inconsistent.
    #[error("the database is damaged: {detail}")]
    Damaged { detail: String },
}

/// The whole state of a local workspace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// Always [`STATE_FORMAT_VERSION`].
    pub(crate) format_version: u32,
    /// Random id of this state's history: a different lineage is a different workspace.
    pub(crate) lineage: String,
    /// Grows by one on every write.
    pub serial: u64,
    pub workspace: WorkspaceMeta,
    /// Tokens sorted by name.
    pub tokens: Vec<Token>,
}

/// Identity of a local workspace. Its `Debug` hides the signing key.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkspaceMeta {
    pub(crate) id: String,
    pub(crate) name: String,
    /// The owner's user id, written into token values.
    pub(crate) owner: String,
    /// The admin's email, in the name of their admin token.
    pub(crate) admin_email: String,
    /// Key that signs token values. A secret, like the values.
    pub signing_key: String,
}

impl WorkspaceMeta {
    /// A token of this workspace with a fresh id and value, its scopes sorted and deduplicated.
    pub(crate) fn new_token(
        &self,
        name: &str,
        scopes: &[Scope],
        kind: TokenKind,
        description: &str,
    ) -> Token {
        let id = uuid_v4();
        let now = now_rfc3339();
        Token {
            value: token_value(&self.owner, &id, None, &self.signing_key),
            id,
            name: name.to_owned(),
            scopes: scopes.iter().cloned().collect(),
            kind,
            description: description.to_owned(),
            created_at: now.clone(),
            updated_at: now,
        }
    }

    /// A fresh value for an existing token. The id inside a value is new each time, so that a
    /// refreshed value never equals the old one.
    pub(crate) fn new_value(&self) -> String {
        token_value(&self.owner, &uuid_v4(), None, &self.signing_key)
    }
}

impl std::fmt::Debug for WorkspaceMeta {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkspaceMeta")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("owner", &self.owner)
            .field("admin_email", &self.admin_email)
            .field("signing_key", &"****")
            .finish()
    }
}

impl State {
    /// A new workspace with only the three default tokens.
    pub fn new(admin_email: &str) -> State {
        let mut state = State {
            format_version: STATE_FORMAT_VERSION,
            lineage: uuid_v4(),
            serial: 0,
            workspace: WorkspaceMeta {
                id: uuid_v4(),
                name: "local".into(),
                owner: uuid_v4(),
                admin_email: admin_email.to_owned(),
                signing_key: new_signing_key(),
            },
            tokens: Vec::new(),
        };
        for (name, scopes) in [
            (
                WORKSPACE_ADMIN_TOKEN.to_owned(),
                vec![ScopeKind::Admin.into()],
            ),
            (admin_token_name(admin_email), vec![ScopeKind::Admin.into()]),
            (USER_TOKEN.to_owned(), Vec::new()),
        ] {
            let token = state.new_token(&name, &scopes, TokenKind::Default, "");
            state.insert(token);
        }
        state
    }

    /// Reads the whole state at a state path (see [`StatePaths`](super::store::StatePaths)): the
    /// database, else a JSON state not migrated yet; `Ok(None)` when there is neither.
    pub fn load(path: &Path) -> Result<Option<State>, WorkspaceError> {
        super::store::load_state(path)
    }

    /// Writes the whole state, with the serial advanced by one, into the database of a state
    /// path, in one transaction. For imports, tests and benchmarks: the workspaces change one
    /// token at a time.
    pub fn save(&mut self, path: &Path) -> Result<(), WorkspaceError> {
        self.serial += 1;
        super::store::save_state(path, self)
    }

    /// A token with a fresh id and value (not inserted), its scopes sorted and deduplicated.
    pub fn new_token(
        &self,
        name: &str,
        scopes: &[Scope],
        kind: TokenKind,
        description: &str,
    ) -> Token {
        self.workspace.new_token(name, scopes, kind, description)
    }

    /// A fresh value for an existing token.
    #[cfg(test)]
    pub(crate) fn new_value(&self) -> String {
        self.workspace.new_value()
    }

    /// Index of a token by name.
    pub(crate) fn position(&self, name: &str) -> Result<usize, usize> {
        self.tokens.binary_search_by(|t| t.name.as_str().cmp(name))
    }

    /// The token with this name.
    pub fn get(&self, name: &str) -> Option<&Token> {
        self.position(name).ok().map(|i| &self.tokens[i])
    }

    /// Inserts or replaces a token, keeping the order.
    pub fn insert(&mut self, token: Token) {
        match self.position(&token.name) {
            Ok(i) => self.tokens[i] = token,
            Err(i) => self.tokens.insert(i, token),
        }
    }
}

fn io_error(action: &'static str, path: &Path, error: std::io::Error) -> WorkspaceError {
    WorkspaceError::Io {
        action,
        path: path.to_path_buf(),
        error,
    }
}

/// Creates the folder of `path` when missing, with a `.gitignore` of `*` in a folder tokenplan
/// creates: the state holds secrets and must not be committed.
pub(crate) fn ensure_parent(path: &Path) -> Result<(), WorkspaceError> {
    let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) else {
        return Ok(());
    };
    if parent.is_dir() {
        return Ok(());
    }
    std::fs::create_dir_all(parent).map_err(|e| io_error("cannot create", parent, e))?;
    let gitignore = parent.join(".gitignore");
    write_atomically(&gitignore, b"*\n").map_err(|e| io_error("cannot write", &gitignore, e))
}

/// Writes `bytes` to `path` atomically and durably, readable by its owner only (it may hold
/// secrets).
///
/// The temporary file is made with `O_EXCL` under a random name (`tempfile`), mode 0600: a name
/// that could be predicted lets anyone who can write to the folder plant a symlink there, and the
/// state would be written through it (to their file, or over one of ours).
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(dir) => dir.to_path_buf(),
        None => PathBuf::from("."),
    };
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "state".into());
    // Dropped (and so removed) on any error below.
    let mut temporary = tempfile::Builder::new()
        .prefix(&format!(".{file_name}."))
        .suffix(".tmp")
        .tempfile_in(&dir)?;
    temporary.write_all(bytes)?;
    temporary.as_file().sync_all()?;
    temporary.persist(path).map_err(|e| e.error)?;
    // The rename is durable only once the folder is.
    File::open(&dir)?.sync_all()
}

/// Who holds a write lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    pub(crate) pid: u32,
    pub(crate) host: String,
    /// The command that took it.
    pub(crate) command: String,
    /// RFC 3339 start time.
    pub(crate) started_at: String,
}

impl std::fmt::Display for LockInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`{}` (pid {} on {}, since {})",
            self.command, self.pid, self.host, self.started_at
        )
    }
}

impl LockInfo {
    /// True when the holder ran on this host and is no longer running. On Linux `/proc` says
    /// which processes run; elsewhere the operating system's lock, found free, already says the
    /// holder is gone.
    pub(crate) fn is_dead_on_this_host(&self) -> bool {
        let proc = Path::new("/proc");
        let running = proc.join("self").exists() && proc.join(self.pid.to_string()).exists();
        self.host == host_name() && !running
    }
}

/// The exclusive write lock of a state file: `<state>.lock`, locked with the operating system's
/// file lock (released by the kernel if the holder dies) and holding a [`LockInfo`] while held.
/// A lock file that still holds a [`LockInfo`] but is not locked was left by a process that died.
#[derive(Debug)]
pub(crate) struct StateLock {
    file: File,
}

/// The lock file of a state path: `<database>.lock`, whichever name of the state was given.
pub(crate) fn lock_path(state: &Path) -> PathBuf {
    let mut name = super::store::StatePaths::resolve(state)
        .database
        .into_os_string();
    name.push(".lock");
    PathBuf::from(name)
}

/// True when the state path has a state: its database, or a JSON state to migrate.
pub(crate) fn exists(state: &Path) -> bool {
    let paths = super::store::StatePaths::resolve(state);
    super::store::exists(&paths.database) || paths.pending_legacy().is_some()
}

fn open_lock(state: &Path) -> Result<(File, PathBuf), WorkspaceError> {
    ensure_parent(state)?;
    let path = lock_path(state);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| io_error("cannot open", &path, e))?;
    Ok((file, path))
}

/// Opens the lock file and takes the operating system's lock on it, or fails at once saying who
/// holds it.
fn lock_file(state: &Path) -> Result<(File, PathBuf), WorkspaceError> {
    let (mut file, path) = open_lock(state)?;
    match file.try_lock() {
        Ok(()) => Ok((file, path)),
        Err(std::fs::TryLockError::WouldBlock) => Err(WorkspaceError::Locked {
            holder: read_info(&mut file).map(Box::new),
        }),
        Err(std::fs::TryLockError::Error(e)) => Err(io_error("cannot lock", &path, e)),
    }
}

fn read_info(file: &mut File) -> Option<LockInfo> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.read_to_string(&mut text).ok()?;
    if text.trim().is_empty() {
        return None;
    }
    Some(serde_json::from_str(&text).unwrap_or_else(|_| LockInfo {
        pid: 0,
        host: "an unknown host".into(),
        command: "an unknown command".into(),
        started_at: "an unknown time".into(),
    }))
}

fn host_name() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

impl StateLock {
    /// Takes the lock for `command`, or fails at once saying who holds it. `unlock_command` is
    /// the command line that breaks a stale lock, for the message.
    pub(crate) fn acquire(
        state: &Path,
        command: &str,
        unlock_command: &str,
    ) -> Result<StateLock, WorkspaceError> {
        let (mut file, path) = lock_file(state)?;
        if let Some(previous) = read_info(&mut file) {
            let _ = file.unlock();
            return Err(WorkspaceError::StaleLock {
                holder: Box::new(previous),
                unlock: unlock_command.to_owned(),
            });
        }
        let info = LockInfo {
            pid: std::process::id(),
            host: host_name(),
            command: command.to_owned(),
            started_at: now_rfc3339(),
        };
        let write = (|| {
            file.set_len(0)?;
            file.seek(SeekFrom::Start(0))?;
            file.write_all(
                serde_json::to_string(&info)
                    .expect("lock info serializes")
                    .as_bytes(),
            )?;
            file.sync_all()
        })();
        if let Err(e) = write {
            let _ = file.unlock();
            return Err(io_error("cannot write", &path, e));
        }
        Ok(StateLock { file })
    }

    /// Breaks a stale lock. Refuses while a live process holds it. Returns who held it.
    pub(crate) fn force_unlock(state: &Path) -> Result<Option<LockInfo>, WorkspaceError> {
        let path = lock_path(state);
        if !path.exists() {
            return Ok(None);
        }
        let (mut file, path) = lock_file(state)?;
        let previous = read_info(&mut file);
        let cleared = file.set_len(0).and_then(|()| file.sync_all());
        let _ = file.unlock();
        cleared.map_err(|e| io_error("cannot write", &path, e))?;
        Ok(previous)
    }
}

impl Drop for StateLock {
    fn drop(&mut self) {
        // An empty lock file is a free lock; the file stays so that no two processes ever lock
        // different files of the same name.
        let _ = self.file.set_len(0);
        let _ = self.file.sync_all();
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_state_has_the_three_default_tokens() {
        let state = State::new("ana@example.com");
        let names: Vec<&str> = state.tokens.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "Admin ana@example.com token",
                "User token",
                "Workspace admin token"
            ]
        );
        assert!(
            state
                .tokens
                .iter()
                .all(|t| t.kind == TokenKind::Default && t.value.starts_with("p."))
        );
    }

    #[test]
    fn save_and_load_round_trip_and_advance_the_serial() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".tokenplan/workspace.db");
        let mut state = State::new("a@b.c");
        assert!(!exists(&path));
        state.save(&path).unwrap();
        state.save(&path).unwrap();
        assert!(exists(&path));
        let loaded = State::load(&path).unwrap().unwrap();
        assert_eq!(loaded.serial, 2);
        assert_eq!(loaded, state);
        // The JSON name of the same state reads the same database.
        let by_json = State::load(&dir.path().join(".tokenplan/workspace.json")).unwrap();
        assert_eq!(by_json, Some(state));
        assert_eq!(
            lock_path(&dir.path().join("x.json")),
            dir.path().join("x.db.lock")
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join(".tokenplan/.gitignore")).unwrap(),
            "*\n"
        );
    }

    #[test]
    fn unreadable_and_invalid_states_say_why() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("workspace.json");
        let reason = |text: &str| {
            std::fs::write(&path, text).unwrap();
            match State::load(&path) {
                Err(WorkspaceError::InvalidState { reason, .. }) => reason,
                other => panic!("{other:?}"),
            }
        };
        assert!(matches!(reason("{"), InvalidStateReason::Json(_)));
        let mut state = serde_json::to_value(State::new("a@b.c")).unwrap();
        state["format_version"] = 9.into();
        let error = reason(&state.to_string());
        assert!(matches!(
            error,
            InvalidStateReason::UnsupportedVersion { found: 9 }
        ));
        assert_eq!(
            error.to_string(),
            "format version 9 is not supported (this tokenplan reads version 1)"
        );
        match State::load(dir.path()) {
            Err(error @ WorkspaceError::Io { .. }) => {
                assert!(
                    error
                        .to_string()
                        .starts_with(&format!("cannot read {}: ", dir.path().display())),
                    "{error}"
                );
                // In the message, so not a source too: miette would print it twice.
                assert!(std::error::Error::source(&error).is_none());
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_second_lock_fails_and_a_dead_holder_leaves_a_stale_lock() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("workspace.json");
        let held = StateLock::acquire(&path, "apply one", "unlock").unwrap();
        // flock locks belong to open files: a second open in this process conflicts too.
        match StateLock::acquire(&path, "apply two", "unlock") {
            Err(WorkspaceError::Locked {
                holder: Some(holder),
            }) => {
                assert_eq!(holder.command, "apply one");
                assert_eq!(holder.pid, std::process::id());
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            WorkspaceError::Locked { holder: None }.to_string(),
            "the workspace is locked by another process"
        );
        drop(held);
        // Released cleanly: free again.
        drop(StateLock::acquire(&path, "apply three", "unlock").unwrap());
        // A holder that died leaves its info in a lock file nobody has locked.
        let stale_dir = tempfile::tempdir().unwrap();
        let stale_state = stale_dir.path().join("workspace.json");
        std::fs::write(
            lock_path(&stale_state),
            r#"{"pid":1,"host":"h","command":"tokenplan apply","started_at":"t"}"#,
        )
        .unwrap();
        let dead = LockInfo {
            pid: 1,
            host: "h".into(),
            command: "tokenplan apply".into(),
            started_at: "t".into(),
        };
        match StateLock::acquire(&stale_state, "apply four", "tokenplan force-unlock") {
            Err(WorkspaceError::StaleLock { holder, unlock }) => {
                assert_eq!(*holder, dead);
                assert_eq!(
                    holder.to_string(),
                    "`tokenplan apply` (pid 1 on h, since t)"
                );
                assert_eq!(unlock, "tokenplan force-unlock");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(StateLock::force_unlock(&stale_state).unwrap(), Some(dead));
        drop(StateLock::acquire(&stale_state, "apply five", "unlock").unwrap());
    }
}
