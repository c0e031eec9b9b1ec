//! Finding datafiles on disk: walking a folder (following symbolic links), and where a datafile
//! stands for `tb deploy` (deployed, vendored, or left out and why).

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{LeftOut, ProjectError};
use crate::model::DatafileKind;

/// Folders `check` never searches for datafiles, besides hidden ones.
const SKIPPED_DIRS: &[&str] = &["target", "node_modules"];

/// The folder under the project folder that holds data sources shared from other workspaces.
const VENDOR: &str = "vendor";

/// How many levels `tb` reads under `vendor/`, whatever `--max-depth` says.
const VENDOR_DEPTH: usize = 3;

/// `tb`'s default `--max-depth`: files right in the project folder, and one and two folders down.
pub(crate) const DEFAULT_MAX_DEPTH: usize = 3;

/// A datafile found on disk.
#[derive(Debug, Clone)]
pub(crate) struct DiscoveredFile {
    /// Relative, `/`-separated path.
    pub(crate) path: String,
    /// Absolute or root-joined path to read.
    pub(crate) full_path: PathBuf,
    /// Kind from the extension.
    pub(crate) kind: DatafileKind,
}

/// A file with a datafile's name found by [`walk`].
#[derive(Debug)]
pub(super) struct Found {
    /// The file.
    pub(crate) file: DiscoveredFile,
    /// Why it cannot be read, when that is known without reading it (a broken link, a FIFO).
    pub(crate) error: Option<ProjectError>,
}

/// An entry [`walk`] could not go through: a folder that cannot be read, a broken link, a loop.
#[derive(Debug)]
pub(super) struct Blocked {
    /// Relative, `/`-separated path.
    pub(crate) path: String,
    /// The problem.
    pub(crate) error: ProjectError,
}

/// What [`walk`] found, each list sorted by path.
#[derive(Debug, Default)]
pub(super) struct Walked {
    pub(crate) files: Vec<Found>,
    pub(crate) blocked: Vec<Blocked>,
    /// Folders below the root that hold a Tinybird config file or a `.tinyb`: projects of their
    /// own, when the root is not inside one (a monorepo). Relative, `/`-separated, sorted.
    pub(crate) markers: Vec<String>,
}

/// Whether a file makes its folder a project: one of tb's config files, or the `.tinyb` that
/// `tb login` writes.
fn is_marker(name: &str) -> bool {
    name == ".tinyb" || crate::sdk::CONFIG_FILES.contains(&name)
}

/// True when `folder` or a parent holds a Tinybird config file or a `.tinyb`: PATH is inside a
/// project, which `tb` run there would read, whatever folders below it hold.
pub(super) fn inside_a_project(folder: &Path) -> bool {
    folder.ancestors().any(|dir| {
        dir.join(".tinyb").is_file()
            || crate::sdk::CONFIG_FILES
                .iter()
                .any(|name| dir.join(name).is_file())
    })
}

/// The markers not inside another one: the projects, each with whatever is below it.
pub(super) fn outermost(markers: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for marker in markers {
        let nested = out.iter().any(|outer| {
            marker.starts_with(outer.as_str()) && marker[outer.len()..].starts_with('/')
        });
        if !nested {
            out.push(marker.clone());
        }
    }
    out
}

/// Walks `root`, a folder, following symbolic links to files and folders. `enter(path, name)`
/// says whether to go into the folder at that relative path. Entries with a datafile's name that
/// cannot be read are files with an error; other entries that cannot be read are blocked.
pub(super) fn walk(
    root: &Path,
    enter: &dyn Fn(&str, &str) -> bool,
) -> Result<Walked, ProjectError> {
    let walker = walkdir::WalkDir::new(root)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|entry| {
            entry.depth() == 0
                || !entry.file_type().is_dir()
                || relative_path(root, entry.path())
                    .is_some_and(|path| enter(&path, &entry.file_name().to_string_lossy()))
        });
    let mut walked = Walked::default();
    for entry in walker {
        let entry = match entry {
            Ok(entry) => entry,
            Err(error) => {
                if error.depth() == 0 {
                    return Err(ProjectError::NotFound {
                        path: root.display().to_string(),
                        reason: error.to_string(),
                    });
                }
                let Some(path) = error.path().and_then(|p| relative_path(root, p)) else {
                    continue;
                };
                match (error.loop_ancestor(), kind_of(&path)) {
                    (Some(ancestor), _) => {
                        let ancestor = relative_path(root, ancestor).filter(|a| !a.is_empty());
                        walked.blocked.push(Blocked {
                            error: ProjectError::SymlinkLoop {
                                path: path.clone(),
                                ancestor: ancestor.unwrap_or_else(|| "the top folder".into()),
                            },
                            path,
                        });
                    }
                    (None, Some(kind)) => {
                        let full_path = root.join(&path);
                        let error = unreadable(&path, &full_path, walk_error(error));
                        walked.files.push(Found {
                            file: DiscoveredFile {
                                path,
                                full_path,
                                kind,
                            },
                            error: Some(error),
                        });
                    }
                    (None, None) => {
                        let full_path = root.join(&path);
                        walked.blocked.push(Blocked {
                            error: unreadable(&path, &full_path, walk_error(error)),
                            path,
                        });
                    }
                }
                continue;
            }
        };
        if entry.depth() == 0 || entry.file_type().is_dir() {
            continue;
        }
        let Some(path) = relative_path(root, entry.path()) else {
            continue;
        };
        let Some(kind) = kind_of(&path) else {
            // A package's own config (under node_modules) makes no project of ours.
            if let Some((folder, name)) = path.rsplit_once('/')
                && is_marker(name)
                && !folder.split('/').any(|part| SKIPPED_DIRS.contains(&part))
                && walked.markers.last().is_none_or(|last| last != folder)
            {
                walked.markers.push(folder.to_owned());
            }
            continue;
        };
        // Reading a FIFO would wait forever, and a device is no datafile.
        let error = (!entry.file_type().is_file()).then(|| special(&path, entry.file_type()));
        walked.files.push(Found {
            file: DiscoveredFile {
                path,
                full_path: entry.path().to_path_buf(),
                kind,
            },
            error,
        });
    }
    walked.files.sort_by(|a, b| a.file.path.cmp(&b.file.path));
    walked.blocked.sort_by(|a, b| a.path.cmp(&b.path));
    walked.markers.sort();
    walked.markers.dedup();
    Ok(walked)
}

fn walk_error(error: walkdir::Error) -> io::Error {
    let message = error.to_string();
    error
        .into_io_error()
        .unwrap_or_else(|| io::Error::other(message))
}

/// An unreadable entry, with a help that says what it is when a look at the link tells.
pub(super) fn unreadable(path: &str, full_path: &Path, source: io::Error) -> ProjectError {
    let help = match std::fs::read_link(full_path) {
        Ok(target) if source.kind() == io::ErrorKind::NotFound => Some(format!(
            "it is a symbolic link to {}, which does not exist: fix the link or remove it",
            target.display()
        )),
        _ if source.kind() == io::ErrorKind::PermissionDenied => {
            Some("give read permission to the user running tokenplan, or remove it".into())
        }
        _ => None,
    };
    ProjectError::Unreadable {
        path: path.to_owned(),
        help,
        source: Arc::new(source),
    }
}

/// The error for an entry with a datafile's name that is a FIFO, socket or device.
pub(super) fn special(path: &str, file_type: std::fs::FileType) -> ProjectError {
    ProjectError::Unreadable {
        path: path.to_owned(),
        help: Some("datafiles are regular files: remove it or replace it with one".into()),
        source: Arc::new(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("it is {}, not a regular file", special_kind(file_type)),
        )),
    }
}

#[cfg(unix)]
fn special_kind(file_type: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if file_type.is_fifo() {
        "a FIFO"
    } else if file_type.is_socket() {
        "a socket"
    } else if file_type.is_block_device() || file_type.is_char_device() {
        "a device"
    } else {
        "a special file"
    }
}

#[cfg(not(unix))]
fn special_kind(_: std::fs::FileType) -> &'static str {
    "a special file"
}

/// The kind of datafile a relative path names by its extension, if any.
pub(super) fn kind_of(path: &str) -> Option<DatafileKind> {
    let name = path.rsplit('/').next().unwrap_or(path);
    Path::new(name)
        .extension()
        .and_then(|e| e.to_str())
        .and_then(DatafileKind::from_extension)
}

/// Where a datafile stands for `tb deploy`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Placement {
    /// Deployed: its TOKEN lines are planned.
    Deployed,
    /// Sent as a data source shared from another workspace: its TOKEN lines are not ours.
    Vendored,
    /// Not read at all.
    LeftOut(LeftOut),
}

/// Where the datafile at `path` (relative to the project folder, `/`-separated) stands, as
/// `tb`'s `Project.get_project_files` and `get_vendored_files` decide: globs `*.ext`, `*/*.ext`,
/// ... up to `max_depth` levels, which never match names that start with `.`, less every path
/// that starts with `<project>/vendor` (a plain string test in `tb`, so `vendors/` too), plus
/// `vendor/` up to three levels down.
pub(crate) fn placement(path: &str, max_depth: usize) -> Placement {
    let parts: Vec<&str> = path.split('/').collect();
    if parts.iter().any(|part| part.starts_with('.')) {
        return Placement::LeftOut(LeftOut::Hidden);
    }
    if parts.len() > 1 && parts[0] == VENDOR {
        return if parts.len() - 1 <= VENDOR_DEPTH {
            Placement::Vendored
        } else {
            Placement::LeftOut(LeftOut::TooDeep {
                level: parts.len(),
                max_depth: VENDOR_DEPTH + 1,
            })
        };
    }
    if path.starts_with(VENDOR) {
        return Placement::LeftOut(LeftOut::VendorPrefix);
    }
    if parts.len() > max_depth {
        return Placement::LeftOut(LeftOut::TooDeep {
            level: parts.len(),
            max_depth,
        });
    }
    Placement::Deployed
}

/// Finds every datafile under `root` as `check` and editors see a folder: following symbolic
/// links, skipping `target`, `node_modules` and hidden folders, and leaving out entries that
/// cannot be read (loading reports those). Sorted by path.
pub(crate) fn discover(root: &Path) -> Result<Vec<DiscoveredFile>, ProjectError> {
    check_folder(root)?;
    let walked = walk(root, &|_, name| !is_skipped_dir(name))?;
    Ok(walked
        .files
        .into_iter()
        .filter(|found| found.error.is_none())
        .map(|found| found.file)
        .collect())
}

/// An error unless `root` is a folder that exists.
pub(super) fn check_folder(root: &Path) -> Result<(), ProjectError> {
    let metadata = std::fs::metadata(root).map_err(|e| ProjectError::NotFound {
        path: root.display().to_string(),
        reason: e.to_string(),
    })?;
    if metadata.is_dir() {
        Ok(())
    } else {
        Err(ProjectError::NotFound {
            path: root.display().to_string(),
            reason: "not a folder".into(),
        })
    }
}

/// `path` relative to `root`, `/`-separated, as projects name their files; `None` when `path` is
/// not inside `root`.
pub(crate) fn relative_path(root: &Path, path: &Path) -> Option<String> {
    let relative = path.strip_prefix(root).ok()?;
    let parts: Vec<_> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect();
    Some(parts.join("/"))
}

/// True when [`discover`] looks at a file at this relative, `/`-separated path: none of the
/// folders on the way is skipped.
pub(crate) fn is_discoverable(path: &str) -> bool {
    let folders = path.rsplit_once('/').map_or("", |(folders, _)| folders);
    folders
        .split('/')
        .filter(|folder| !folder.is_empty())
        .all(|folder| !is_skipped_dir(folder))
}

/// True for the folders `check` skips: hidden ones, `target` and `node_modules`.
pub(super) fn is_skipped_dir(name: &str) -> bool {
    name.starts_with('.') || SKIPPED_DIRS.contains(&name)
}

/// True for the folders `plan` does not go into: hidden ones (no glob of `tb` matches them),
/// `vendor/` right in the project folder (its files declare no tokens of ours), and, below the
/// levels `tb` reads, `target` and `node_modules` (the walk only goes on there to name the
/// datafiles left out, and tool folders hold none of the project's).
pub(super) fn is_skipped_for_deploy(path: &str, name: &str, max_depth: usize) -> bool {
    let level = path.split('/').count();
    name.starts_with('.') || path == VENDOR || (level >= max_depth && SKIPPED_DIRS.contains(&name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_outermost_projects_count() {
        let markers: Vec<String> = ["a", "a/b", "ab", "c/d", "c/d/e/f"]
            .into_iter()
            .map(String::from)
            .collect();
        assert_eq!(outermost(&markers), ["a", "ab", "c/d"]);
    }

    #[test]
    fn placement_follows_tb_globs() {
        let deployed = [
            "a.pipe",
            "pipes/a.pipe",
            "a/b/c.datasource",
            "target/t.pipe",
        ];
        for path in deployed {
            assert_eq!(placement(path, 3), Placement::Deployed, "{path}");
        }
        assert_eq!(
            placement("a/b/c/d.pipe", 3),
            Placement::LeftOut(LeftOut::TooDeep {
                level: 4,
                max_depth: 3
            })
        );
        assert_eq!(placement("a/b/c/d.pipe", 4), Placement::Deployed);
        assert_eq!(
            placement("a.pipe", 0),
            Placement::LeftOut(LeftOut::TooDeep {
                level: 1,
                max_depth: 0
            })
        );
        assert_eq!(
            placement("vendor/ws/datasources/x.datasource", 3),
            Placement::Vendored
        );
        assert_eq!(placement("vendor/x.datasource", 1), Placement::Vendored);
        for path in ["vendors/x.pipe", "vendor.pipe", "vendor_old/a/x.pipe"] {
            assert_eq!(
                placement(path, 3),
                Placement::LeftOut(LeftOut::VendorPrefix),
                "{path}"
            );
        }
        for path in [".x.pipe", "a/.hidden/x.pipe"] {
            assert_eq!(
                placement(path, 3),
                Placement::LeftOut(LeftOut::Hidden),
                "{path}"
            );
        }
    }

    #[test]
    fn deploy_walk_skips_tool_folders_only_below_tb_levels() {
        assert!(!is_skipped_for_deploy("target", "target", 3));
        assert!(!is_skipped_for_deploy("a/node_modules", "node_modules", 3));
        assert!(is_skipped_for_deploy("a/b/node_modules", "node_modules", 3));
        assert!(is_skipped_for_deploy("vendor", "vendor", 3));
        assert!(!is_skipped_for_deploy("a/vendor", "vendor", 3));
        assert!(is_skipped_for_deploy("a/.git", ".git", 3));
    }
}
