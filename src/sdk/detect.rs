//! Which kind of project a folder is — datafiles, TypeScript SDK or Python SDK — decided by
//! the nearest Tinybird config file, as tb 5.0.3 decides it
//! (`get_project_type_from_tinybird_config` in `tinybird/tb/modules/cli.py`).

use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{Language, SdkProject, glob};

/// The config files, in the order tb looks for them in each folder from the project upward.
pub const CONFIG_FILES: [&str; 6] = [
    "tinybird.config.py",
    "tinybird_config.py",
    "tinybird.config.mjs",
    "tinybird.config.cjs",
    "tinybird.config.json",
    "tinybird.json",
];

/// tb classifies a JSON config by the files its `folder` and `include` paths hold: Python
/// files first, then TypeScript ones.
const PYTHON_EXTENSIONS: &[&str] = &["py"];
const TYPESCRIPT_EXTENSIONS: &[&str] = &["ts", "tsx", "mts", "cts"];

/// Folders tb's scan skips.
const SCAN_SKIPPED_DIRS: &[&str] = &[
    ".git",
    ".hg",
    ".svn",
    "__pycache__",
    ".venv",
    "venv",
    ".e",
    "node_modules",
    ".pytest_cache",
    ".mypy_cache",
];

/// tb gives up (and calls the project a datafile one) after this many files in one scan.
const SCAN_MAX_FILES: usize = 5000;

/// What a project folder holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProjectKind {
    /// `.datasource`, `.pipe` and `.connection` files, read as they are.
    Datafiles {
        /// The JSON config that said so, when there is one (no SDK files under its paths).
        config: Option<PathBuf>,
        /// Where tb looks for the datafiles when that config names a place: its `folder`, else
        /// the config's own folder when `include` is set
        /// (`get_project_folder_from_tinybird_config`).
        folder: Option<PathBuf>,
    },
    /// Resources defined in TypeScript with `@tinybirdco/sdk`.
    TypeScript {
        /// The config file (absolute).
        config: PathBuf,
    },
    /// Resources defined in Python with `tinybird-sdk`.
    Python {
        /// The config file (absolute).
        config: PathBuf,
    },
}

impl ProjectKind {
    /// The SDK project to generate, when this is one.
    pub fn sdk(&self) -> Option<SdkProject> {
        match self {
            ProjectKind::Datafiles { .. } => None,
            ProjectKind::TypeScript { config } => Some(SdkProject {
                language: Language::TypeScript,
                config: config.clone(),
            }),
            ProjectKind::Python { config } => Some(SdkProject {
                language: Language::Python,
                config: config.clone(),
            }),
        }
    }

    /// The config file that decided the kind, if any.
    pub(crate) fn config(&self) -> Option<&Path> {
        match self {
            ProjectKind::Datafiles { config, .. } => config.as_deref(),
            ProjectKind::TypeScript { config } | ProjectKind::Python { config } => Some(config),
        }
    }

    /// A short stable name for machine-readable output: `datafiles`, `typescript`, `python`.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            ProjectKind::Datafiles { .. } => "datafiles",
            ProjectKind::TypeScript { .. } => Language::TypeScript.name(),
            ProjectKind::Python { .. } => Language::Python.name(),
        }
    }
}

/// `TypeScript SDK project (tinybird.config.json)`, `datafile project`, ...
impl fmt::Display for ProjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self {
            ProjectKind::Datafiles { .. } => "datafile project",
            ProjectKind::TypeScript { .. } => "TypeScript SDK project",
            ProjectKind::Python { .. } => "Python SDK project",
        };
        f.write_str(what)?;
        match self.config().and_then(Path::file_name) {
            Some(name) => write!(f, " ({})", name.to_string_lossy()),
            None => Ok(()),
        }
    }
}

/// The kind of the project at `path` (a folder, or a file in it): the first config file found
/// from there upward decides, `.mjs`/`.cjs` meaning TypeScript and `.py` Python; a JSON config is
/// Python when the paths under its `folder` and `include` hold `.py` files, TypeScript when they
/// hold `.ts`/`.tsx`/`.mts`/`.cts` ones, and a datafile project otherwise, as is a folder with no
/// config (or an unreadable JSON one). Never fails: what cannot be read is not an SDK project.
pub fn detect(path: &Path) -> ProjectKind {
    let start = if path.is_file() {
        path.parent().unwrap_or(path)
    } else {
        path
    };
    // tb resolves the folder first, so a symlinked project finds the configs above its target.
    let start = std::fs::canonicalize(start)
        .or_else(|_| std::path::absolute(start))
        .unwrap_or_else(|_| start.to_path_buf());
    let Some(config) = find_config(&start) else {
        return ProjectKind::Datafiles {
            config: None,
            folder: None,
        };
    };
    let name = config
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    match name.as_str() {
        "tinybird.config.mjs" | "tinybird.config.cjs" => ProjectKind::TypeScript { config },
        "tinybird.config.py" | "tinybird_config.py" => ProjectKind::Python { config },
        _ => classify_json(config),
    }
}

/// The first config file in `start` or a parent.
fn find_config(start: &Path) -> Option<PathBuf> {
    start.ancestors().find_map(|dir| {
        CONFIG_FILES
            .iter()
            .map(|name| dir.join(name))
            .find(|candidate| candidate.exists())
    })
}

fn classify_json(config: PathBuf) -> ProjectKind {
    let raw = std::fs::read_to_string(&config)
        .ok()
        .and_then(|text| serde_json::from_str::<Value>(&text).ok());
    let Some(Value::Object(raw)) = raw else {
        return ProjectKind::Datafiles {
            config: Some(config),
            folder: None,
        };
    };
    let base = config.parent().unwrap_or(Path::new("/")).to_path_buf();
    let folder = raw
        .get("folder")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|f| !f.is_empty());
    let include: Vec<&str> = match raw.get("include") {
        Some(Value::String(entry)) => vec![entry],
        Some(Value::Array(entries)) => entries.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let mut targets: Vec<PathBuf> = Vec::new();
    if let Some(folder) = folder {
        targets.push(base.join(folder));
    }
    for entry in &include {
        let entry = entry.trim();
        if entry.is_empty() {
            continue;
        }
        if glob::is_pattern(entry) {
            targets.extend(glob::expand(&base, entry));
        } else {
            targets.push(base.join(entry));
        }
    }
    targets.dedup();
    if holds_extension(&targets, PYTHON_EXTENSIONS) {
        return ProjectKind::Python { config };
    }
    if holds_extension(&targets, TYPESCRIPT_EXTENSIONS) {
        return ProjectKind::TypeScript { config };
    }
    let folder = match folder {
        Some(folder) => Some(base.join(folder)),
        None if include.iter().any(|e| !e.trim().is_empty()) => Some(base.clone()),
        None => None,
    };
    ProjectKind::Datafiles {
        config: Some(config),
        folder,
    }
}

/// Whether one of `paths`, or a file under one, has one of `extensions` (case-insensitive),
/// giving up after [`SCAN_MAX_FILES`] files like tb's `_paths_contain_extensions`.
fn holds_extension(paths: &[PathBuf], extensions: &[&str]) -> bool {
    let matches = |path: &Path| {
        path.extension()
            .map(|e| e.to_string_lossy().to_lowercase())
            .is_some_and(|e| extensions.contains(&e.as_str()))
    };
    let mut scanned = 0;
    for path in paths {
        if path.is_file() {
            if matches(path) {
                return true;
            }
            scanned += 1;
            if scanned > SCAN_MAX_FILES {
                return false;
            }
            continue;
        }
        if !path.is_dir() {
            continue;
        }
        let walker = walkdir::WalkDir::new(path).into_iter().filter_entry(|e| {
            e.depth() == 0
                || !(e.file_type().is_dir()
                    && SCAN_SKIPPED_DIRS.contains(&&*e.file_name().to_string_lossy()))
        });
        for entry in walker.flatten() {
            if !entry.file_type().is_file() {
                continue;
            }
            scanned += 1;
            if scanned > SCAN_MAX_FILES {
                return false;
            }
            if matches(entry.path()) {
                return true;
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A temporary folder with these files (path, content).
    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, content) in files {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, content).unwrap();
        }
        dir
    }

    fn kind_of(files: &[(&str, &str)], from: &str) -> (String, Option<String>) {
        let dir = tree(files);
        let root = std::fs::canonicalize(dir.path()).unwrap();
        let kind = detect(&dir.path().join(from));
        let config = kind.config().map(|c| {
            c.strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/")
        });
        (kind.to_string(), config)
    }

    fn assert_kind(files: &[(&str, &str)], from: &str, display: &str, config: Option<&str>) {
        assert_eq!(
            kind_of(files, from),
            (display.to_owned(), config.map(str::to_owned)),
            "{files:?} from {from}"
        );
    }

    #[test]
    fn code_configs_decide_by_their_name() {
        for (name, display) in [
            ("tinybird.config.mjs", "TypeScript SDK project"),
            ("tinybird.config.cjs", "TypeScript SDK project"),
            ("tinybird.config.py", "Python SDK project"),
            ("tinybird_config.py", "Python SDK project"),
        ] {
            assert_kind(
                &[(name, ""), ("datasources/a.datasource", "")],
                ".",
                &format!("{display} ({name})"),
                Some(name),
            );
        }
    }

    #[test]
    fn a_json_config_decides_by_the_files_its_paths_hold() {
        let ts = r#"{"include": ["src/tinybird/*.ts"], "token": "${TINYBIRD_TOKEN}"}"#;
        assert_kind(
            &[("tinybird.config.json", ts), ("src/tinybird/a.ts", "")],
            ".",
            "TypeScript SDK project (tinybird.config.json)",
            Some("tinybird.config.json"),
        );
        // Python wins when both are there, as in tb.
        let both = r#"{"include": ["lib", "src/x.mts"]}"#;
        assert_kind(
            &[
                ("tinybird.json", both),
                ("lib/deep/a.py", ""),
                ("src/x.mts", ""),
            ],
            ".",
            "Python SDK project (tinybird.json)",
            Some("tinybird.json"),
        );
        // `include` may be one string; `folder` is scanned too.
        assert_kind(
            &[("tinybird.json", r#"{"include": "a.cts"}"#), ("a.cts", "")],
            ".",
            "TypeScript SDK project (tinybird.json)",
            Some("tinybird.json"),
        );
        assert_kind(
            &[
                ("tinybird.json", r#"{"folder": " defs "}"#),
                ("defs/x.py", ""),
            ],
            ".",
            "Python SDK project (tinybird.json)",
            Some("tinybird.json"),
        );
    }

    #[test]
    fn a_json_config_without_sdk_files_is_a_datafile_project() {
        for config in [
            r#"{"include": ["tinybird/**/*.datasource"]}"#,
            r#"{"include": ["missing.ts"]}"#,
            r#"{"include": ["tinybird"]}"#,
            r#"{}"#,
            r#"[1, 2]"#,
            "{ not json",
        ] {
            assert_kind(
                &[
                    ("tinybird.config.json", config),
                    ("tinybird/a.datasource", ""),
                    ("node_modules/x/y.ts", ""),
                ],
                ".",
                "datafile project (tinybird.config.json)",
                Some("tinybird.config.json"),
            );
        }
        assert_kind(
            &[("datasources/a.datasource", "")],
            ".",
            "datafile project",
            None,
        );
    }

    #[test]
    fn the_nearest_folder_wins_and_its_first_config() {
        let files = [
            ("tinybird.config.py", ""),
            ("app/tinybird.json", r#"{"include": ["x.ts"]}"#),
            ("app/tinybird.config.json", r#"{"include": ["y.py"]}"#),
            ("app/x.ts", ""),
            ("app/y.py", ""),
            ("app/sub/deeper/z.ts", ""),
        ];
        assert_kind(
            &files,
            "app/sub/deeper",
            "Python SDK project (tinybird.config.json)",
            Some("app/tinybird.config.json"),
        );
        assert_kind(
            &files,
            "app/x.ts",
            "Python SDK project (tinybird.config.json)",
            Some("app/tinybird.config.json"),
        );
        assert_kind(
            &files,
            ".",
            "Python SDK project (tinybird.config.py)",
            Some("tinybird.config.py"),
        );
    }

    #[test]
    fn datafile_projects_keep_the_folder_tb_would_read() {
        let dir = tree(&[
            ("tinybird.json", r#"{"folder": "tb", "include": ["x"]}"#),
            ("tb/a.datasource", ""),
        ]);
        let root = std::fs::canonicalize(dir.path()).unwrap();
        match detect(dir.path()) {
            ProjectKind::Datafiles { folder, .. } => assert_eq!(folder, Some(root.join("tb"))),
            other => panic!("{other:?}"),
        }
        let dir = tree(&[("tinybird.json", r#"{"include": ["a.datasource"]}"#)]);
        let root = std::fs::canonicalize(dir.path()).unwrap();
        match detect(dir.path()) {
            ProjectKind::Datafiles { folder, .. } => assert_eq!(folder, Some(root)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn names_for_output() {
        let kind = ProjectKind::TypeScript {
            config: PathBuf::from("/p/tinybird.config.mjs"),
        };
        assert_eq!(kind.name(), "typescript");
        assert_eq!(kind.sdk().unwrap().language, Language::TypeScript);
        let kind = ProjectKind::Datafiles {
            config: None,
            folder: None,
        };
        assert_eq!((kind.name(), kind.sdk()), ("datafiles", None));
    }
}
