//! A project: discovering the datafiles under a folder, reading and compiling them in parallel,
//! and the problems that involve several files (two resources with one name).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use miette::{Diagnostic, NamedSource, Severity};
use rayon::prelude::*;
use thiserror::Error;

use crate::model::{DatafileKind, TokenDirective};
use crate::source::{LineColumn, LineIndex, Span};
use crate::syntax::{self, Secrets, SyntaxError};

/// Folders never searched for datafiles, besides hidden ones.
const SKIPPED_DIRS: &[&str] = &["target", "node_modules"];

/// What to load.
#[derive(Debug, Clone, Default)]
pub struct ProjectConfig {
    /// The project folder.
    pub root: PathBuf,
    /// Values for `tb_secret(...)`.
    pub secrets: Secrets,
}

/// A problem with the project or one of its files.
#[derive(Debug, Clone, Error, Diagnostic)]
pub enum ProjectError {
    /// The project folder does not exist or cannot be read.
    #[error("cannot read project folder {path}: {reason}")]
    #[diagnostic(
        code(tokenplan::project::not_found),
        help("pass the folder that holds your .datasource and .pipe files")
    )]
    NotFound {
        /// The folder.
        path: String,
        /// Why.
        reason: String,
    },

    /// A datafile that cannot be read.
    #[error("cannot read {path}: {reason}")]
    #[diagnostic(code(tokenplan::project::unreadable))]
    Unreadable {
        /// The file, relative to the project.
        path: String,
        /// Why.
        reason: String,
    },

    /// A datafile that is not UTF-8.
    #[error("file is not valid UTF-8")]
    #[diagnostic(code(tokenplan::project::not_utf8), help("save the file as UTF-8"))]
    NotUtf8 {
        /// The first invalid byte.
        #[label(primary, "invalid UTF-8 here")]
        span: Span,
    },

    /// Two files of one kind define the same resource.
    #[error("{kind} `{resource}` is defined twice")]
    #[diagnostic(
        code(tokenplan::project::duplicate_resource),
        help(
            "resource names come from file names and must be unique: rename or remove one of the files"
        )
    )]
    DuplicateResource {
        /// The kind.
        kind: DatafileKind,
        /// The resource name.
        resource: String,
        /// The start of this file.
        #[label(primary, "this file defines `{resource}` again")]
        span: Span,
        /// The other file's path.
        other_path: String,
        /// The other file, labelled.
        #[related]
        first: Vec<DefinedHere>,
    },
}

/// The other end of a duplicate: where a resource was first defined.
#[derive(Debug, Clone, Error, Diagnostic)]
#[error("first defined in {path}")]
#[diagnostic(severity(Advice))]
pub struct DefinedHere {
    /// Its path.
    pub path: String,
    /// Its text.
    #[source_code]
    pub text: NamedSource<Arc<str>>,
    /// Its first line.
    #[label("first defined here")]
    pub span: Span,
}

/// Any problem tokenplan reports about a file.
#[derive(Debug, Clone, Error, Diagnostic)]
pub enum Problem {
    /// From the compiler.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Syntax(#[from] SyntaxError),
    /// From the project.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Project(#[from] ProjectError),
}

impl Problem {
    /// Error, warning or advice.
    pub fn severity(&self) -> Severity {
        Diagnostic::severity(self).unwrap_or(Severity::Error)
    }

    /// True for errors.
    pub fn is_error(&self) -> bool {
        self.severity() == Severity::Error
    }

    /// The code, e.g. `tokenplan::syntax::unknown_directive`.
    pub fn code_string(&self) -> String {
        Diagnostic::code(self)
            .map(|c| c.to_string())
            .unwrap_or_default()
    }

    /// The help text, if any.
    pub fn help_string(&self) -> Option<String> {
        Diagnostic::help(self).map(|h| h.to_string())
    }

    /// True for problems that involve other files (a duplicate resource): they change when
    /// another file is added or removed, so [`Project::recheck_across_files`] recomputes them.
    pub fn is_cross_file(&self) -> bool {
        match self {
            Problem::Project(ProjectError::DuplicateResource { .. }) => true,
            Problem::Project(
                ProjectError::NotFound { .. }
                | ProjectError::Unreadable { .. }
                | ProjectError::NotUtf8 { .. },
            )
            | Problem::Syntax(_) => false,
        }
    }

    /// The primary span, when the problem has a place in the file.
    pub fn span(&self) -> Option<Span> {
        match self {
            Problem::Syntax(e) => Some(e.span()),
            Problem::Project(ProjectError::NotUtf8 { span })
            | Problem::Project(ProjectError::DuplicateResource { span, .. }) => Some(*span),
            Problem::Project(ProjectError::NotFound { .. } | ProjectError::Unreadable { .. }) => {
                None
            }
        }
    }
}

/// One datafile of a project, read and compiled.
#[derive(Debug)]
pub struct ProjectFile {
    /// Path relative to the project folder, `/`-separated.
    pub path: String,
    /// Kind, from the extension.
    pub kind: DatafileKind,
    /// Resource name, the file stem.
    pub resource: String,
    /// The text as read (empty when unreadable).
    pub text: Arc<str>,
    /// The file's TOKEN directives in file order (none when it could not be read). The rest of
    /// the compiled model is dropped once the file is checked: nothing after the compiler needs
    /// it, and on a large project it is most of the memory.
    pub tokens: Vec<TokenDirective>,
    /// Problems, sorted by position.
    pub problems: Vec<Problem>,
    line_index: OnceLock<LineIndex>,
}

impl ProjectFile {
    /// Compiles `text` as the file at `path` (relative, `/`-separated).
    pub fn compile(path: String, kind: DatafileKind, text: Arc<str>, secrets: &Secrets) -> Self {
        let resource = resource_name(&path).to_owned();
        let compiled = syntax::compile(kind, &resource, &text, secrets);
        ProjectFile {
            path,
            kind,
            resource,
            text,
            tokens: compiled.datafile.tokens,
            problems: compiled.problems.into_iter().map(Problem::from).collect(),
            line_index: OnceLock::new(),
        }
    }

    fn unreadable(path: String, kind: DatafileKind, text: Arc<str>, problem: ProjectError) -> Self {
        let resource = resource_name(&path).to_owned();
        ProjectFile {
            path,
            kind,
            resource,
            text,
            tokens: Vec::new(),
            problems: vec![problem.into()],
            line_index: OnceLock::new(),
        }
    }

    /// The line index of the text, built on first use.
    pub fn line_index(&self) -> &LineIndex {
        self.line_index.get_or_init(|| LineIndex::new(&self.text))
    }

    /// 1-based line and column of a byte offset.
    pub fn position(&self, offset: usize) -> LineColumn {
        self.line_index().position(&self.text, offset)
    }

    /// The text as a miette source named by the path.
    pub fn named_source(&self) -> NamedSource<Arc<str>> {
        NamedSource::new(&self.path, Arc::clone(&self.text))
    }

    /// True when some problem is an error.
    pub fn has_errors(&self) -> bool {
        self.problems.iter().any(Problem::is_error)
    }
}

/// The resource a path defines: its file stem.
pub fn resource_name(path: &str) -> &str {
    let file = path.rsplit('/').next().unwrap_or(path);
    file.rsplit_once('.').map_or(file, |(stem, _)| stem)
}

/// A project's datafiles, sorted by path.
#[derive(Debug)]
pub struct Project {
    /// The folder.
    pub root: PathBuf,
    /// Files sorted by path.
    pub files: Vec<ProjectFile>,
}

impl Project {
    /// Number of error-level problems.
    pub fn error_count(&self) -> usize {
        self.problems().filter(|p| p.is_error()).count()
    }

    /// Number of warnings.
    pub fn warning_count(&self) -> usize {
        self.problems()
            .filter(|p| p.severity() == Severity::Warning)
            .count()
    }

    /// Number of TOKEN directives.
    pub fn token_count(&self) -> usize {
        self.files.iter().map(|f| f.tokens.len()).sum()
    }

    /// True when some file has an error.
    pub fn has_errors(&self) -> bool {
        self.files.iter().any(ProjectFile::has_errors)
    }

    fn problems(&self) -> impl Iterator<Item = &Problem> {
        self.files.iter().flat_map(|f| f.problems.iter())
    }

    /// Compiles the given files (path relative to `root`, text) as one project: each file on its
    /// own, in parallel, then the checks across files.
    pub fn from_texts(
        root: PathBuf,
        texts: Vec<(String, DatafileKind, Arc<str>)>,
        secrets: &Secrets,
    ) -> Project {
        let mut files: Vec<ProjectFile> = texts
            .into_par_iter()
            .map(|(path, kind, text)| ProjectFile::compile(path, kind, text, secrets))
            .collect();
        files.sort_by(|a, b| a.path.cmp(&b.path));
        check_duplicates(&mut files);
        Project { root, files }
    }

    /// Runs the checks across files again after files were replaced, added or removed (an
    /// editor's buffers): drops every cross-file problem and adds the current ones, so that the
    /// project is what loading it afresh would give. Returns the indices of the files that had
    /// or now have such a problem, sorted; the others are untouched.
    pub fn recheck_across_files(&mut self) -> Vec<usize> {
        let mut touched = std::collections::BTreeSet::new();
        for (i, file) in self.files.iter_mut().enumerate() {
            let before = file.problems.len();
            file.problems.retain(|p| !p.is_cross_file());
            if file.problems.len() != before {
                touched.insert(i);
            }
        }
        touched.extend(check_duplicates(&mut self.files));
        touched.into_iter().collect()
    }
}

/// A datafile found on disk.
#[derive(Debug, Clone)]
pub struct DiscoveredFile {
    /// Relative, `/`-separated path.
    pub path: String,
    /// Absolute or root-joined path to read.
    pub full_path: PathBuf,
    /// Kind from the extension.
    pub kind: DatafileKind,
}

/// Finds every datafile under `root`, skipping `.git`, `target`, `node_modules` and hidden
/// folders. Sorted by path.
pub fn discover(root: &Path) -> Result<Vec<DiscoveredFile>, ProjectError> {
    let metadata = std::fs::metadata(root).map_err(|e| ProjectError::NotFound {
        path: root.display().to_string(),
        reason: e.to_string(),
    })?;
    if !metadata.is_dir() {
        return Err(ProjectError::NotFound {
            path: root.display().to_string(),
            reason: "not a folder".into(),
        });
    }
    let walker = walkdir::WalkDir::new(root)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|entry| {
            entry.depth() == 0
                || !entry.file_type().is_dir()
                || !is_skipped_dir(&entry.file_name().to_string_lossy())
        });
    let mut files = Vec::new();
    for entry in walker {
        // Unreadable sub-folders are skipped, as `find` would; the files we can see are checked.
        let Ok(entry) = entry else { continue };
        if !entry.file_type().is_file() {
            continue;
        }
        let Some(kind) = entry
            .path()
            .extension()
            .and_then(|e| e.to_str())
            .and_then(DatafileKind::from_extension)
        else {
            continue;
        };
        let Some(path) = relative_path(root, entry.path()) else {
            continue;
        };
        files.push(DiscoveredFile {
            path,
            full_path: entry.path().to_path_buf(),
            kind,
        });
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

/// `path` relative to `root`, `/`-separated, as projects name their files; `None` when `path` is
/// not inside `root`.
pub fn relative_path(root: &Path, path: &Path) -> Option<String> {
    let relative = path.strip_prefix(root).ok()?;
    let parts: Vec<_> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect();
    Some(parts.join("/"))
}

/// True when [`discover`] looks at a file at this relative, `/`-separated path: none of the
/// folders on the way is skipped.
pub fn is_discoverable(path: &str) -> bool {
    let folders = path.rsplit_once('/').map_or("", |(folders, _)| folders);
    folders
        .split('/')
        .filter(|folder| !folder.is_empty())
        .all(|folder| !is_skipped_dir(folder))
}

fn is_skipped_dir(name: &str) -> bool {
    name.starts_with('.') || SKIPPED_DIRS.contains(&name)
}

/// Discovers, reads and compiles a project.
pub fn load(config: &ProjectConfig) -> Result<Project, ProjectError> {
    let discovered = discover(&config.root)?;
    Ok(load_files(config, discovered, &BTreeMap::new()))
}

/// Reads and compiles discovered files; `overlay` replaces the text of files by relative path
/// (editors' unsaved buffers) and adds files that are not on disk yet.
pub fn load_files(
    config: &ProjectConfig,
    discovered: Vec<DiscoveredFile>,
    overlay: &BTreeMap<String, String>,
) -> Project {
    let mut seen = std::collections::BTreeSet::new();
    let mut files: Vec<ProjectFile> = discovered
        .into_par_iter()
        .map(|file| {
            if let Some(text) = overlay.get(&file.path) {
                return ProjectFile::compile(
                    file.path,
                    file.kind,
                    Arc::from(text.as_str()),
                    &config.secrets,
                );
            }
            read_and_compile(file, &config.secrets)
        })
        .collect();
    for file in &files {
        seen.insert(file.path.clone());
    }
    for (path, text) in overlay {
        let kind = path
            .rsplit_once('.')
            .and_then(|(_, ext)| DatafileKind::from_extension(ext));
        if let Some(kind) = kind
            && !seen.contains(path)
        {
            files.push(ProjectFile::compile(
                path.clone(),
                kind,
                Arc::from(text.as_str()),
                &config.secrets,
            ));
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    check_duplicates(&mut files);
    Project {
        root: config.root.clone(),
        files,
    }
}

/// Reads one discovered file and compiles it; a file that cannot be read or is not UTF-8 gets
/// that problem instead.
pub fn read_and_compile(file: DiscoveredFile, secrets: &Secrets) -> ProjectFile {
    match std::fs::read(&file.full_path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => ProjectFile::compile(file.path, file.kind, Arc::from(text), secrets),
            Err(error) => {
                let at = error.utf8_error().valid_up_to();
                let text = String::from_utf8_lossy(error.as_bytes()).into_owned();
                ProjectFile::unreadable(
                    file.path,
                    file.kind,
                    Arc::from(text),
                    ProjectError::NotUtf8 {
                        span: Span::new(at, at + 1),
                    },
                )
            }
        },
        Err(error) => {
            let path = file.path.clone();
            ProjectFile::unreadable(
                file.path,
                file.kind,
                Arc::from(""),
                ProjectError::Unreadable {
                    path,
                    reason: error.to_string(),
                },
            )
        }
    }
}

/// Adds a duplicate-resource error to every file after the first that defines the same resource
/// of the same kind, and returns their indices. `files` is sorted by path.
fn check_duplicates(files: &mut [ProjectFile]) -> Vec<usize> {
    let mut first: BTreeMap<(DatafileKind, &str), usize> = BTreeMap::new();
    let mut duplicates = Vec::new();
    for (i, file) in files.iter().enumerate() {
        match first.get(&(file.kind, file.resource.as_str())) {
            Some(&original) => duplicates.push((i, original)),
            None => {
                first.insert((file.kind, file.resource.as_str()), i);
            }
        }
    }
    let indices = duplicates.iter().map(|&(i, _)| i).collect();
    for (i, original) in duplicates {
        let first_file = &files[original];
        let defined_here = DefinedHere {
            path: first_file.path.clone(),
            text: first_file.named_source(),
            span: first_line(&first_file.text),
        };
        let other_path = first_file.path.clone();
        let file = &mut files[i];
        let problem = ProjectError::DuplicateResource {
            kind: file.kind,
            resource: file.resource.clone(),
            span: first_line(&file.text),
            other_path,
            first: vec![defined_here],
        };
        file.problems.insert(0, problem.into());
    }
    indices
}

fn first_line(text: &str) -> Span {
    Span::new(0, text.find(['\n', '\r']).unwrap_or(text.len()))
}
