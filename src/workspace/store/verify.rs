//! `tokenplan state verify`: SQLite's own check of every page and index, then tokenplan's of
//! what the rows mean, without writing anything.

use std::path::PathBuf;

use super::{StatePaths, Store, exists, legacy};
use crate::workspace::WorkspaceError;
use crate::workspace::state::InvalidStateReason;

/// What `state verify` found in a sound state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verified {
    /// A database that passed every check.
    Database {
        path: PathBuf,
        schema_version: i32,
        serial: u64,
        tokens: usize,
    },
    /// A JSON state not migrated yet, which reads as a valid state.
    Json { path: PathBuf, tokens: usize },
    /// Nothing at that path: a new workspace.
    Missing { path: PathBuf },
}

impl std::fmt::Display for Verified {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Verified::Database {
                path,
                schema_version,
                serial,
                tokens,
            } => write!(
                f,
                "{}: ok (integrity check passed; schema version {schema_version}, serial {serial}, {tokens} tokens)",
                path.display()
            ),
            Verified::Json { path, tokens } => write!(
                f,
                "{}: ok (a JSON state of {tokens} tokens, migrated to a database by the next command that writes)",
                path.display()
            ),
            Verified::Missing { path } => write!(
                f,
                "{}: no state yet (the first change creates it)",
                path.display()
            ),
        }
    }
}

/// Checks the state at a state path: `PRAGMA integrity_check` and `foreign_key_check`, then that
/// there is one workspace row and every token reads back. A problem is
/// [`WorkspaceError::InvalidState`] naming the first few.
pub(crate) fn verify(path: &std::path::Path) -> Result<Verified, WorkspaceError> {
    let paths = StatePaths::resolve(path);
    if !exists(&paths.database) {
        if let Some(legacy) = paths.pending_legacy() {
            let tokens = legacy::read_json(legacy)?.map_or(0, |s| s.tokens.len());
            return Ok(Verified::Json {
                path: legacy.to_path_buf(),
                tokens,
            });
        }
        return Ok(Verified::Missing {
            path: paths.database,
        });
    }
    let store = Store::open_reader(&paths.database)?;
    let mut problems = Vec::new();
    for pragma in ["integrity_check", "foreign_key_check"] {
        let mut statement = store
            .conn
            .prepare(&format!("PRAGMA {pragma}"))
            .map_err(|e| store.error("cannot verify", e))?;
        let count = statement.column_count();
        let rows = statement
            .query_map([], |row| {
                (0..count)
                    .map(|i| {
                        row.get::<_, rusqlite::types::Value>(i)
                            .map(|value| match value {
                                rusqlite::types::Value::Text(text) => text,
                                rusqlite::types::Value::Integer(n) => n.to_string(),
                                other => format!("{other:?}"),
                            })
                    })
                    .collect::<rusqlite::Result<Vec<String>>>()
                    .map(|cells| cells.join(" "))
            })
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<String>>>())
            .map_err(|e| store.error("cannot verify", e))?;
        problems.extend(
            rows.into_iter()
                .filter(|line| line != "ok")
                .map(|line| format!("{pragma}: {line}")),
        );
    }
    if problems.is_empty() {
        // The rows mean what they should: the workspace row is there and every token reads.
        let state = store.read_state()?;
        return Ok(Verified::Database {
            path: paths.database,
            schema_version: super::SCHEMA_VERSION,
            serial: state.serial,
            tokens: state.tokens.len(),
        });
    }
    let shown = problems.len().min(5);
    let mut detail = problems[..shown].join("; ");
    if problems.len() > shown {
        detail.push_str(&format!("; and {} more", problems.len() - shown));
    }
    Err(store.invalid(InvalidStateReason::Damaged { detail }))
}
