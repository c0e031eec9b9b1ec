//! Which folder is the project, found from PATH the way `tb` (5.0.3, `cli.py`) finds it from the
//! folder it runs in: the `folder` of the nearest `tinybird.config.json` or `tinybird.json`, or
//! that file's own folder when it has an `include`; else the `cwd` of the nearest `.tinyb`,
//! relative to the `.tinyb`; else PATH itself.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use super::ProjectError;

/// The JSON project files `tb` looks for in each folder, in this order.
const CONFIG_FILES: &[&str] = &["tinybird.config.json", "tinybird.json"];

/// The project folder and what named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProjectFolder {
    /// The folder, canonical (symbolic links resolved).
    pub(crate) path: PathBuf,
    /// The file and key that named it, when not PATH itself.
    pub(crate) named_by: Option<(PathBuf, &'static str)>,
}

impl ProjectFolder {
    /// The folder and what named it, for messages.
    pub(crate) fn describe(&self, shown: &Path) -> String {
        match &self.named_by {
            None => shown.display().to_string(),
            Some((file, key)) => format!(
                "{} (named by `{key}` in {})",
                shown.display(),
                file.display()
            ),
        }
    }
}

/// Finds the project folder for `start`, a canonical folder.
pub(crate) fn resolve(start: &Path) -> Result<ProjectFolder, ProjectError> {
    let named = from_config(start).or_else(|| from_tinyb(start));
    let Some((path, file, key)) = named else {
        return Ok(ProjectFolder {
            path: start.to_path_buf(),
            named_by: None,
        });
    };
    let error = |source: std::io::Error| ProjectError::ConfiguredFolder {
        path: path.display().to_string(),
        config: file.display().to_string(),
        key,
        source: Arc::new(source),
    };
    let canonical = std::fs::canonicalize(&path).map_err(error)?;
    if !canonical.is_dir() {
        return Err(error(std::io::Error::new(
            std::io::ErrorKind::NotADirectory,
            "not a folder",
        )));
    }
    Ok(ProjectFolder {
        path: canonical,
        named_by: Some((file, key)),
    })
}

/// `tinybird.config.json` or `tinybird.json`: the first found from `start` up. A file that
/// cannot be read as a JSON object names no folder, as in `tb`.
fn from_config(start: &Path) -> Option<(PathBuf, PathBuf, &'static str)> {
    let file = start.ancestors().find_map(|folder| {
        CONFIG_FILES
            .iter()
            .map(|name| folder.join(name))
            .find(|candidate| candidate.exists())
    })?;
    let text = std::fs::read_to_string(&file).ok()?;
    let config: serde_json::Value = serde_json::from_str(&text).ok()?;
    let base = file.parent()?.to_path_buf();
    if let Some(folder) = config.get("folder").and_then(|f| f.as_str())
        && !folder.trim().is_empty()
    {
        return Some((base.join(folder.trim()), file, "folder"));
    }
    // An SDK project (TypeScript or Python) lists its sources under `include`, and its
    // datafiles are generated into the config's own folder.
    let includes = match config.get("include") {
        Some(serde_json::Value::String(one)) => vec![one.as_str()],
        Some(serde_json::Value::Array(many)) => many.iter().filter_map(|v| v.as_str()).collect(),
        _ => Vec::new(),
    };
    if includes.iter().any(|entry| !entry.trim().is_empty()) {
        return Some((base, file, "include"));
    }
    None
}

/// The `cwd` of the nearest `.tinyb` from `start` up, relative to the `.tinyb`'s folder.
fn from_tinyb(start: &Path) -> Option<(PathBuf, PathBuf, &'static str)> {
    let file = start
        .ancestors()
        .map(|folder| folder.join(".tinyb"))
        .find(|candidate| candidate.is_file())?;
    // A `.tinyb` that cannot be read names no folder; choosing the workspace reports it.
    let text = std::fs::read_to_string(&file).ok()?;
    let config: serde_json::Value = serde_json::from_str(&text).ok()?;
    let cwd = config.get("cwd")?.as_str()?;
    let base = file.parent()?;
    // `tb` joins with os.path.normpath, which resolves `..` by the letter.
    Some((normalize(&base.join(cwd)), file, "cwd"))
}

/// `path` with `.` dropped and `..` taken back by the letter, as os.path.normpath does.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp() -> tempfile::TempDir {
        tempfile::tempdir().expect("temporary folder")
    }

    fn canonical(path: &Path) -> PathBuf {
        std::fs::canonicalize(path).unwrap()
    }

    #[test]
    fn plain_folder_is_its_own_project() {
        let dir = temp();
        let root = canonical(dir.path());
        let folder = resolve(&root).unwrap();
        assert_eq!(folder.path, root);
        assert_eq!(folder.named_by, None);
    }

    #[test]
    fn config_folder_wins_over_tinyb() {
        let dir = temp();
        let root = canonical(dir.path());
        std::fs::create_dir_all(root.join("tb/sub")).unwrap();
        std::fs::write(root.join("tinybird.json"), r#"{"folder": " tb "}"#).unwrap();
        std::fs::write(root.join(".tinyb"), r#"{"cwd": "elsewhere"}"#).unwrap();
        let folder = resolve(&root.join("tb/sub")).unwrap();
        assert_eq!(folder.path, root.join("tb"));
        assert_eq!(
            folder.named_by,
            Some((root.join("tinybird.json"), "folder"))
        );
    }

    #[test]
    fn config_with_include_is_its_own_folder() {
        let dir = temp();
        let root = canonical(dir.path());
        std::fs::create_dir_all(root.join("src")).unwrap();
        std::fs::write(
            root.join("tinybird.config.json"),
            r#"{"include": ["src/*.ts"]}"#,
        )
        .unwrap();
        assert_eq!(resolve(&root.join("src")).unwrap().path, root);
    }

    #[test]
    fn config_without_folder_falls_back_to_tinyb_cwd() {
        let dir = temp();
        let root = canonical(dir.path());
        std::fs::create_dir_all(root.join("a/project")).unwrap();
        std::fs::write(root.join("tinybird.json"), "not json").unwrap();
        std::fs::write(root.join("a/.tinyb"), r#"{"cwd": "./project/../project"}"#).unwrap();
        let folder = resolve(&root.join("a")).unwrap();
        assert_eq!(folder.path, root.join("a/project"));
        assert_eq!(folder.named_by, Some((root.join("a/.tinyb"), "cwd")));
    }

    #[test]
    fn tinyb_without_cwd_keeps_the_start() {
        let dir = temp();
        let root = canonical(dir.path());
        std::fs::create_dir_all(root.join("a")).unwrap();
        std::fs::write(root.join(".tinyb"), r#"{"host": "h"}"#).unwrap();
        assert_eq!(resolve(&root.join("a")).unwrap().path, root.join("a"));
    }

    #[test]
    fn a_missing_named_folder_is_an_error_naming_the_config() {
        let dir = temp();
        let root = canonical(dir.path());
        std::fs::write(root.join("tinybird.json"), r#"{"folder": "nope"}"#).unwrap();
        let error = resolve(&root).unwrap_err();
        assert!(
            matches!(&error, ProjectError::ConfiguredFolder { key: "folder", config, .. } if config.ends_with("tinybird.json")),
            "{error:?}"
        );
    }
}
