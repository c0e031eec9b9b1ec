//! The JSON state file of earlier tokenplan versions (`workspace.json`): read as it is by
//! commands that only read, and migrated into the database by the first one that writes.

use std::path::Path;

use super::{Creation, StatePaths, Store, with_suffix};
use crate::workspace::WorkspaceError;
use crate::workspace::state::{InvalidStateReason, STATE_FORMAT_VERSION, State};

/// What a migrated JSON state is renamed to: kept, and no longer read.
pub(crate) const MIGRATED_SUFFIX: &str = ".migrated";

/// Reads a JSON state file; `Ok(None)` when there is none.
pub(crate) fn read_json(path: &Path) -> Result<Option<State>, WorkspaceError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => {
            return Err(WorkspaceError::Io {
                action: "cannot read",
                path: path.to_path_buf(),
                error,
            });
        }
    };
    let invalid = |reason| WorkspaceError::InvalidState {
        path: path.to_path_buf(),
        reason,
    };
    let state: State =
        serde_json::from_slice(&bytes).map_err(|e| invalid(InvalidStateReason::Json(e)))?;
    if state.format_version != STATE_FORMAT_VERSION {
        return Err(invalid(InvalidStateReason::UnsupportedVersion {
            found: state.format_version,
        }));
    }
    let sorted = state.tokens.windows(2).all(|w| w[0].name < w[1].name);
    if !sorted {
        return Err(invalid(InvalidStateReason::Unsorted));
    }
    Ok(Some(state))
}

/// Where a migration went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Migrated {
    /// The JSON state, renamed to [`Migrated::kept`].
    pub(crate) from: std::path::PathBuf,
    /// The database made from it.
    pub(crate) to: std::path::PathBuf,
    /// The JSON state's new name.
    pub(crate) kept: std::path::PathBuf,
}

impl std::fmt::Display for Migrated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Migrated the workspace state {} to the database {} (the JSON file is kept as {}).",
            self.from.display(),
            self.to.display(),
            self.kept.display()
        )
    }
}

/// Moves a JSON state into a new database when there is one to migrate, and says so on stderr,
/// once: the JSON file is then renamed, with [`MIGRATED_SUFFIX`], and never read again. Call it
/// holding the state's lock. Lineage, serial, identity and every token are kept, so plans saved
/// against the JSON state still apply.
pub(crate) fn migrate(paths: &StatePaths) -> Result<Option<Migrated>, WorkspaceError> {
    let Some(legacy) = paths.pending_legacy() else {
        return Ok(None);
    };
    let Some(state) = read_json(legacy)? else {
        return Ok(None);
    };
    // Another process that got there first made the same database from the same file.
    let _: Creation = Store::create(&paths.database, &state)?;
    let kept = with_suffix(legacy, MIGRATED_SUFFIX);
    match std::fs::rename(legacy, &kept) {
        Ok(()) => {}
        // Renamed by that other process.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => {
            return Err(WorkspaceError::Io {
                action: "cannot rename",
                path: legacy.to_path_buf(),
                error,
            });
        }
    }
    let migrated = Migrated {
        from: legacy.to_path_buf(),
        to: paths.database.clone(),
        kept,
    };
    eprintln!("{migrated}");
    Ok(Some(migrated))
}
