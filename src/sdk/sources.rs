//! Which files an SDK project's definitions live in: those its config's `include` names, and the
//! local modules they import (a tokens module outside `include`, say), read and scanned.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Component, Path, PathBuf};

use serde_json::Value;

use super::lex::Tok;
use super::scan::Facts;
use super::{Language, glob};

/// A project never needs more; the bound keeps a runaway import graph cheap.
const MAX_FILES: usize = 2000;

/// Source extensions per language. TypeScript projects may import JavaScript modules.
const TYPESCRIPT_EXTENSIONS: &[&str] = &["ts", "tsx", "mts", "cts", "js", "mjs", "cjs", "jsx"];
const PYTHON_EXTENSIONS: &[&str] = &["py"];

/// Raw datafiles an `include` may list beside SDK files.
const DATAFILE_EXTENSIONS: &[&str] = &["datasource", "pipe", "connection"];

/// One file of the project.
#[derive(Debug)]
pub(crate) struct SourceFile {
    /// Relative to the project root, `/`-separated (`../` when outside it).
    pub(crate) path: String,
    /// Named by the config's `include` (rather than only imported).
    pub(crate) included: bool,
    /// Its text, for raw datafiles; SDK files are kept as [`Facts`].
    pub(crate) text: String,
    /// What it says (empty for raw datafiles).
    pub(crate) facts: Facts,
    /// The files its imports resolve to, by module as written.
    pub(crate) resolved: BTreeMap<String, usize>,
}

impl SourceFile {
    pub(crate) fn is_datafile(&self) -> bool {
        extension(&self.path).is_some_and(|e| DATAFILE_EXTENSIONS.contains(&e))
    }
}

/// Reads the project's source files: `include` entries from the config (a JSON config's list,
/// or the string list after `include` in a code config; every source file under the root when
/// none can be read), then, breadth first, the local modules they import.
pub(crate) fn collect(language: Language, config: &Path) -> Vec<SourceFile> {
    let root = config.parent().unwrap_or(Path::new("/"));
    let mut queue: VecDeque<(PathBuf, bool)> = include_files(language, config)
        .into_iter()
        .map(|p| (p, true))
        .collect();
    let mut seen: BTreeSet<PathBuf> = BTreeSet::new();
    // Each file with the paths its imports resolve to, turned into indices once all are read.
    let mut read: Vec<(PathBuf, SourceFile, BTreeMap<String, PathBuf>)> = Vec::new();
    while let Some((full, included)) = queue.pop_front() {
        if read.len() >= MAX_FILES || !seen.insert(full.clone()) {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&full) else {
            continue;
        };
        let path = relative(root, &full);
        let datafile = extension(&path).is_some_and(|e| DATAFILE_EXTENSIONS.contains(&e));
        let facts = if datafile {
            Facts::default()
        } else {
            Facts::scan(&text, language)
        };
        let mut targets = BTreeMap::new();
        for module in &facts.modules {
            if let Some(target) = resolve_module(language, root, &full, module) {
                targets.insert(module.clone(), target.clone());
                queue.push_back((target, false));
            }
        }
        let file = SourceFile {
            path,
            included,
            text: if datafile { text } else { String::new() },
            facts,
            resolved: BTreeMap::new(),
        };
        read.push((full, file, targets));
    }
    let index: BTreeMap<PathBuf, usize> = read
        .iter()
        .enumerate()
        .map(|(i, (full, _, _))| (full.clone(), i))
        .collect();
    read.into_iter()
        .map(|(_, mut file, targets)| {
            file.resolved = targets
                .into_iter()
                .filter_map(|(module, target)| Some((module, *index.get(&target)?)))
                .collect();
            file
        })
        .collect()
}

/// The files `include` names, sorted.
fn include_files(language: Language, config: &Path) -> Vec<PathBuf> {
    let root = config.parent().unwrap_or(Path::new("/"));
    let text = std::fs::read_to_string(config).unwrap_or_default();
    let entries = match include_entries(config, &text, language) {
        Some(entries) => entries,
        // A config that computes its include list: every source file may be one.
        None => vec![".".to_owned()],
    };
    let wanted = |path: &Path| {
        extension(&path.to_string_lossy()).is_some_and(|e| {
            source_extensions(language).contains(&e) || DATAFILE_EXTENSIONS.contains(&e)
        })
    };
    let mut files = BTreeSet::new();
    for entry in entries {
        for path in glob::expand(root, &entry) {
            if path.is_dir() {
                let walker = walkdir::WalkDir::new(&path).into_iter().filter_entry(|e| {
                    e.depth() == 0
                        || !(e.file_type().is_dir()
                            && skipped_dir(&e.file_name().to_string_lossy()))
                });
                // Hidden files too are skipped: the TypeScript SDK bundles each definition file
                // to a `.tinybird-entities-*.mjs` beside it while it generates.
                files.extend(
                    walker
                        .flatten()
                        .filter(|e| {
                            e.file_type().is_file()
                                && !e.file_name().to_string_lossy().starts_with('.')
                                && wanted(e.path())
                                && e.path() != config
                        })
                        .map(|e| e.into_path()),
                );
            } else if path.is_file() && wanted(&path) && path != config {
                files.insert(path);
            }
        }
    }
    files.into_iter().collect()
}

/// Folders never searched for definitions.
fn skipped_dir(name: &str) -> bool {
    name.starts_with('.')
        || matches!(
            name,
            "node_modules" | "__pycache__" | "venv" | "target" | "dist"
        )
}

/// The `include` entries of a config (and its legacy `schema` path), or `None` when they
/// cannot be read from its text.
fn include_entries(config: &Path, text: &str, language: Language) -> Option<Vec<String>> {
    if config.extension().is_some_and(|e| e == "json") {
        let Value::Object(raw) = serde_json::from_str(text).ok()? else {
            return None;
        };
        let mut entries: Vec<String> = match raw.get("include") {
            Some(Value::String(entry)) => vec![entry.clone()],
            Some(Value::Array(list)) => list
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            _ => Vec::new(),
        };
        if let Some(schema) = raw.get("schema").and_then(Value::as_str) {
            entries.push(schema.to_owned());
        }
        return (!entries.is_empty()).then_some(entries);
    }
    // A code config (in the project's language): the first `include` key followed by a list
    // of plain strings.
    let facts = Facts::scan(text, language);
    let tokens = &facts.tokens;
    for (i, tok) in tokens.iter().enumerate() {
        let key = matches!(&tok.tok, Tok::Word(w) | Tok::Str(w) if w == "include");
        // `include: [...]`, `"include": [...]`, `dict(include=[...])`.
        if !key
            || !tokens
                .get(i + 1)
                .is_some_and(|t| t.is_punct(':') || t.is_punct('='))
        {
            continue;
        }
        let open = i + 2;
        if !tokens.get(open).is_some_and(|t| t.is_punct('[')) {
            return None;
        }
        let mut entries = Vec::new();
        for (start, end) in facts.elements(open) {
            match (end - start, tokens[start].string()) {
                (1, Some(entry)) => entries.push(entry.to_owned()),
                _ => return None,
            }
        }
        return Some(entries);
    }
    None
}

fn source_extensions(language: Language) -> &'static [&'static str] {
    match language {
        Language::TypeScript => TYPESCRIPT_EXTENSIONS,
        Language::Python => PYTHON_EXTENSIONS,
    }
}

fn extension(path: &str) -> Option<&str> {
    let name = path.rsplit('/').next()?;
    name.rsplit_once('.').map(|(_, e)| e)
}

/// The local file a module name refers to, if it is one: a relative specifier (`./tokens`,
/// `../shared/tokens.js`) in TypeScript; in Python a dotted module under the root (which the
/// bridge puts on `sys.path`) or, with leading dots, next to the importing file.
fn resolve_module(language: Language, root: &Path, from: &Path, module: &str) -> Option<PathBuf> {
    let dir = from.parent()?;
    let candidates: Vec<PathBuf> = match language {
        Language::TypeScript => {
            if !(module.starts_with("./") || module.starts_with("../")) {
                return None;
            }
            let base = normalize(&dir.join(module));
            let mut candidates = vec![base.clone()];
            // TypeScript's ESM convention imports `./x.js` for `./x.ts`.
            for (written, source) in [
                ("js", "ts"),
                ("js", "tsx"),
                ("mjs", "mts"),
                ("cjs", "cts"),
                ("jsx", "tsx"),
            ] {
                if base.extension().is_some_and(|e| e == written) {
                    candidates.push(base.with_extension(source));
                }
            }
            for e in TYPESCRIPT_EXTENSIONS {
                candidates.push(PathBuf::from(format!("{}.{e}", base.display())));
            }
            for e in TYPESCRIPT_EXTENSIONS {
                candidates.push(base.join(format!("index.{e}")));
            }
            candidates
        }
        Language::Python => {
            let dots = module.chars().take_while(|c| *c == '.').count();
            let rest = &module[dots..];
            let mut base = if dots == 0 {
                root.to_path_buf()
            } else {
                (1..dots).fold(dir.to_path_buf(), |d, _| {
                    d.parent().map(Path::to_path_buf).unwrap_or(d)
                })
            };
            for part in rest.split('.').filter(|p| !p.is_empty()) {
                base.push(part);
            }
            vec![base.with_extension("py"), base.join("__init__.py")]
        }
    };
    candidates.into_iter().find(|c| c.is_file())
}

/// `a/./b/../c` as `a/c`, without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// `path` relative to `root`, `/`-separated, with `../` when it is outside.
pub(crate) fn relative(root: &Path, path: &Path) -> String {
    let root = normalize(root);
    let path = normalize(path);
    let root_parts: Vec<_> = root.components().collect();
    let path_parts: Vec<_> = path.components().collect();
    let common = root_parts
        .iter()
        .zip(&path_parts)
        .take_while(|(a, b)| a == b)
        .count();
    let mut parts: Vec<String> = vec!["..".to_owned(); root_parts.len() - common];
    parts.extend(
        path_parts[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    parts.join("/")
}
