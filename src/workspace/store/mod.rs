//! The SQLite database that holds a local workspace (embedded, or served by `tokenplan local
//! start`): one file, in WAL mode with `synchronous=FULL`, readable by its owner only.
//!
//! Here: where the database of a `--state` path is, opening one (a damaged or foreign file is
//! refused before anything is written to it), creating one (never over an existing file), and
//! SQLite's errors as [`WorkspaceError`]s. The schema and its migrations are in `schema`, token
//! reads and writes in `tokens`, the JSON state of earlier versions in `legacy`, and `tokenplan
//! state verify` in `verify`.

pub(crate) mod legacy;
mod schema;
mod tokens;
pub(crate) mod verify;
mod workspaces;

use std::cell::Cell;
use std::ffi::OsString;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags};

use super::WorkspaceError;
use super::state::{InvalidStateReason, State, ensure_parent};
pub(crate) use schema::{APPLICATION_ID, SCHEMA_VERSION};

pub(crate) use workspaces::{DEFAULT_WORKSPACE, WorkspaceRow};

/// The first 16 bytes of every SQLite database.
const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// How long a statement waits for another connection's lock (a checkpoint, a reader starting)
/// before failing. Writers never wait for each other: the state's lock lets one in at a time.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The files of a state path: the database, and the JSON state an earlier tokenplan kept there.
///
/// `--state FILE.json` names the JSON state: its database is `FILE.db` beside it. Any other path
/// is the database itself; for `FILE.db` the JSON state is `FILE.json`. So the default
/// `.tokenplan/workspace.db` and `--state .tokenplan/workspace.json` are the same workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StatePaths {
    /// The SQLite database.
    pub(crate) database: PathBuf,
    /// Where a JSON state to migrate may be.
    pub(crate) legacy: Option<PathBuf>,
}

impl StatePaths {
    /// The files of the state path `path`.
    pub(crate) fn resolve(path: &Path) -> StatePaths {
        match path.extension().and_then(|e| e.to_str()) {
            Some("json") => StatePaths {
                database: path.with_extension("db"),
                legacy: Some(path.to_path_buf()),
            },
            Some("db") => StatePaths {
                database: path.to_path_buf(),
                legacy: Some(path.with_extension("json")),
            },
            _ => StatePaths {
                database: path.to_path_buf(),
                legacy: None,
            },
        }
    }

    /// The JSON state to migrate: there, and no database yet.
    pub(crate) fn pending_legacy(&self) -> Option<&Path> {
        if exists(&self.database) {
            return None;
        }
        self.legacy.as_deref().filter(|legacy| exists(legacy))
    }
}

/// True when something is at `path` (a broken symbolic link too: it must not be written through).
pub(crate) fn exists(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok()
}

/// `path` with `suffix` added to its file name.
pub(crate) fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = OsString::from(path.as_os_str());
    name.push(suffix);
    PathBuf::from(name)
}

/// A connection to a workspace database.
#[derive(Debug)]
pub(crate) struct Store {
    conn: Connection,
    /// The workspace token reads and writes act on: [`DEFAULT_WORKSPACE`] unless
    /// [`Store::use_workspace`] picked another. Per connection, as each serves one request at a
    /// time.
    workspace: Cell<i64>,
    /// The database file, for messages (the JSON state's path for an in-memory copy of one).
    path: PathBuf,
}

/// What [`Store::create`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Creation {
    /// The database was made now.
    Created,
    /// Another process made it first; nothing was written.
    AlreadyThere,
}

impl Store {
    /// Opens an existing database for reading and writing: checks that it is a tokenplan state of
    /// a schema this build reads, and brings an older schema up to date.
    pub(crate) fn open(path: &Path) -> Result<Store, WorkspaceError> {
        let store = Store::open_checked(path)?;
        schema::migrate(&store)?;
        store.configure()?;
        Ok(store)
    }

    /// Opens an existing database for reading only, as the server's readers do: the same checks,
    /// and no migration (the writer did it).
    pub(crate) fn open_reader(path: &Path) -> Result<Store, WorkspaceError> {
        let store = Store::open_checked(path)?;
        let version = schema::version(&store)?;
        if version != SCHEMA_VERSION {
            return Err(store.invalid(InvalidStateReason::SchemaVersion { found: version }));
        }
        store.configure()?;
        Ok(store)
    }

    /// The checks that come before any write: a file that is not an SQLite database, or a
    /// database of another program, or one of a newer tokenplan, is left exactly as it is.
    fn open_checked(path: &Path) -> Result<Store, WorkspaceError> {
        check_header(path)?;
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_NOFOLLOW;
        let conn = Connection::open_with_flags(path, flags)
            .map_err(|e| sql_error(path, "cannot open", e))?;
        let store = Store {
            conn,
            path: path.to_path_buf(),
            workspace: Cell::new(DEFAULT_WORKSPACE),
        };
        store
            .conn
            .busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| store.error("cannot open", e))?;
        let application_id = store.pragma_i32("application_id")?;
        if application_id != APPLICATION_ID {
            return Err(store.invalid(InvalidStateReason::Foreign { application_id }));
        }
        let version = schema::version(&store)?;
        if version > SCHEMA_VERSION {
            return Err(store.invalid(InvalidStateReason::SchemaVersion { found: version }));
        }
        Ok(store)
    }

    /// Settings every connection needs; WAL mode is kept in the file, the others are per
    /// connection.
    fn configure(&self) -> Result<(), WorkspaceError> {
        let mode: String = self
            .conn
            .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
            .map_err(|e| self.error("cannot open", e))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(self.invalid(InvalidStateReason::Damaged {
                detail: format!("it cannot be put in WAL mode (journal mode {mode})"),
            }));
        }
        self.conn
            .execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")
            .map_err(|e| self.error("cannot open", e))
    }

    /// Makes a new database at `path` holding `state`, never over a file already there: it is
    /// written to a temporary file (mode 0600) in the same folder, synced, and linked into place
    /// only if nothing is there yet, then the folder is synced. Two processes creating the same
    /// workspace at once end with one database, the first one's.
    pub(crate) fn create(path: &Path, state: &State) -> Result<Creation, WorkspaceError> {
        ensure_parent(path)?;
        let dir = match path.parent().filter(|p| !p.as_os_str().is_empty()) {
            Some(dir) => dir.to_path_buf(),
            None => PathBuf::from("."),
        };
        let io = |action, error| WorkspaceError::Io {
            action,
            path: path.to_path_buf(),
            error,
        };
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "workspace.db".into());
        let temporary = tempfile::Builder::new()
            .prefix(&format!(".{file_name}."))
            .suffix(".tmp")
            .tempfile_in(&dir)
            .map_err(|e| io("cannot create", e))?;
        {
            let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
                | OpenFlags::SQLITE_OPEN_NOFOLLOW;
            let conn = Connection::open_with_flags(temporary.path(), flags)
                .map_err(|e| sql_error(path, "cannot create", e))?;
            let store = Store {
                conn,
                path: path.to_path_buf(),
                workspace: Cell::new(DEFAULT_WORKSPACE),
            };
            // No journal while the file is private: a crash leaves a temporary file, not a state.
            store
                .conn
                .execute_batch("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;")
                .map_err(|e| store.error("cannot create", e))?;
            schema::create(&store)?;
            store.write_state(state)?;
            // Kept in the file: every later connection is in WAL mode.
            store
                .conn
                .query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
                .map_err(|e| store.error("cannot create", e))?;
            store
                .conn
                .close()
                .map_err(|(_, e)| sql_error(path, "cannot create", e))?;
        }
        temporary
            .as_file()
            .sync_all()
            .map_err(|e| io("cannot write", e))?;
        match temporary.persist_noclobber(path) {
            Ok(_) => {}
            Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => {
                return Ok(Creation::AlreadyThere);
            }
            Err(e) => return Err(io("cannot create", e.error)),
        }
        // The new name is durable only once the folder is.
        File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io("cannot write", e))?;
        Ok(Creation::Created)
    }

    /// A database in memory holding `state`: how a workspace that has no database yet (a new
    /// one, or a JSON state not migrated) is read without writing anything. `path` is the file
    /// it stands for, for messages.
    pub(crate) fn in_memory(path: &Path, state: &State) -> Result<Store, WorkspaceError> {
        let conn = Connection::open_in_memory().map_err(|e| sql_error(path, "cannot read", e))?;
        let store = Store {
            conn,
            path: path.to_path_buf(),
            workspace: Cell::new(DEFAULT_WORKSPACE),
        };
        schema::create(&store)?;
        store.write_state(state)?;
        Ok(store)
    }

    /// The database file (or the file an in-memory copy stands for).
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Starts a write transaction, taking SQLite's write lock at once.
    pub(crate) fn begin(&self) -> Result<(), WorkspaceError> {
        self.conn
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(|e| self.error("cannot write", e))
    }

    /// Commits: durable once this returns (`synchronous=FULL` syncs the WAL).
    pub(crate) fn commit(&self) -> Result<(), WorkspaceError> {
        self.conn
            .execute_batch("COMMIT")
            .map_err(|e| self.error("cannot write", e))
    }

    /// Forgets everything since [`Store::begin`]. A failure here (the transaction is already
    /// gone) leaves nothing to undo, so it is ignored.
    pub(crate) fn rollback(&self) {
        if !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }

    /// True inside a transaction.
    pub(crate) fn in_transaction(&self) -> bool {
        !self.conn.is_autocommit()
    }

    /// Runs `work` inside a savepoint, undone alone when it fails: one request of a group commit
    /// that fails leaves the others' changes.
    pub(crate) fn savepoint<T, E>(
        &self,
        work: impl FnOnce(&Store) -> Result<T, E>,
    ) -> Result<Result<T, E>, WorkspaceError> {
        self.conn
            .execute_batch("SAVEPOINT request")
            .map_err(|e| self.error("cannot write", e))?;
        let result = work(self);
        let end = if result.is_ok() {
            "RELEASE request"
        } else {
            "ROLLBACK TO request; RELEASE request"
        };
        self.conn
            .execute_batch(end)
            .map_err(|e| self.error("cannot write", e))?;
        Ok(result)
    }

    /// `PRAGMA quick_check`: every page of the file is well formed. What a writer runs once
    /// before its first change, so that it never writes into a damaged database; it reads the
    /// whole file, as a plan does, and does not compare indexes with their tables (`tokenplan
    /// state verify` does).
    pub(crate) fn check_pages(&self) -> Result<(), WorkspaceError> {
        let problems: Vec<String> = self
            .conn
            .prepare("PRAGMA quick_check(5)")
            .and_then(|mut statement| {
                statement
                    .query_map([], |row| row.get::<_, String>(0))?
                    .collect()
            })
            .map_err(|e| self.error("cannot read", e))?;
        if problems.iter().all(|p| p == "ok") {
            Ok(())
        } else {
            Err(self.invalid(InvalidStateReason::Damaged {
                detail: problems.join("; "),
            }))
        }
    }

    fn pragma_i32(&self, name: &str) -> Result<i32, WorkspaceError> {
        self.conn
            .pragma_query_value(None, name, |row| row.get(0))
            .map_err(|e| self.error("cannot read", e))
    }

    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    /// A SQLite error of this database.
    pub(crate) fn error(&self, action: &'static str, error: rusqlite::Error) -> WorkspaceError {
        sql_error(&self.path, action, error)
    }

    pub(crate) fn invalid(&self, reason: InvalidStateReason) -> WorkspaceError {
        WorkspaceError::InvalidState {
            path: self.path.clone(),
            reason,
        }
    }
}

/// Refuses, before SQLite touches it, a file that is not a database: empty, a JSON state under
/// another name, or anything else.
fn check_header(path: &Path) -> Result<(), WorkspaceError> {
    let invalid = |reason| WorkspaceError::InvalidState {
        path: path.to_path_buf(),
        reason,
    };
    let mut start = Vec::with_capacity(SQLITE_HEADER.len());
    File::open(path)
        .and_then(|f| f.take(SQLITE_HEADER.len() as u64).read_to_end(&mut start))
        .map_err(|error| WorkspaceError::Io {
            action: "cannot read",
            path: path.to_path_buf(),
            error,
        })?;
    if start.as_slice() == SQLITE_HEADER {
        Ok(())
    } else if start.is_empty() {
        Err(invalid(InvalidStateReason::Empty))
    } else if start.trim_ascii_start().starts_with(b"{") {
        Err(invalid(InvalidStateReason::JsonState))
    } else {
        Err(invalid(InvalidStateReason::NotADatabase))
    }
}

/// A SQLite error as a workspace error: a damaged file is an invalid state, the rest (a full
/// disk, permissions) a database error that keeps SQLite's as its source.
pub(crate) fn sql_error(
    path: &Path,
    action: &'static str,
    error: rusqlite::Error,
) -> WorkspaceError {
    let invalid = |reason| WorkspaceError::InvalidState {
        path: path.to_path_buf(),
        reason,
    };
    match &error {
        rusqlite::Error::FromSqlConversionFailure(..)
        | rusqlite::Error::InvalidColumnType(..)
        | rusqlite::Error::IntegralValueOutOfRange(..) => invalid(InvalidStateReason::Damaged {
            detail: format!("a value cannot be read: {error}"),
        }),
        _ => match error.sqlite_error_code() {
            Some(ErrorCode::DatabaseCorrupt) => invalid(InvalidStateReason::Damaged {
                detail: error.to_string(),
            }),
            Some(ErrorCode::NotADatabase) => invalid(InvalidStateReason::NotADatabase),
            _ => WorkspaceError::Database {
                action,
                path: path.to_path_buf(),
                error: Box::new(error),
            },
        },
    }
}

/// Reads the whole state at a state path: the database, else a JSON state not migrated yet;
/// `Ok(None)` when there is neither.
pub(crate) fn load_state(path: &Path) -> Result<Option<State>, WorkspaceError> {
    let paths = StatePaths::resolve(path);
    if exists(&paths.database) {
        return Store::open(&paths.database)?.read_state().map(Some);
    }
    match &paths.legacy {
        Some(legacy) => legacy::read_json(legacy),
        None => Ok(None),
    }
}

/// Writes `state` whole at a state path: a new database, or the existing one's first workspace
/// replaced in one transaction (its other workspaces are kept). For imports and tests: a change of one token goes through
/// [`crate::workspace::embedded::EmbeddedWorkspace`] and costs one token, not the whole state.
pub(crate) fn save_state(path: &Path, state: &State) -> Result<(), WorkspaceError> {
    let paths = StatePaths::resolve(path);
    if !exists(&paths.database) && Store::create(&paths.database, state)? == Creation::Created {
        return Ok(());
    }
    let store = Store::open(&paths.database)?;
    store.begin()?;
    let replaced = store.replace_state(state).and_then(|()| store.commit());
    if replaced.is_err() {
        store.rollback();
    }
    replaced
}

#[cfg(test)]
mod tests;
