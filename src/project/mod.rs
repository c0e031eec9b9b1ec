//! A project: discovering the datafiles under a folder, reading and compiling them in parallel,
//! and the problems that involve several files (two resources with one name).
//!
//! Submodules by concern: [`folder`] finds the project folder as `tb` does, [`discover`] walks
//! it, [`env_file`] reads `.env.local`, `load` puts a project together for `check` or for a
//! deployment (and splits a monorepo into its projects), `generated` compiles an SDK project's
//! generated datafiles, and `error` holds the diagnostics.
//!
//! An SDK project (TypeScript or Python, [`crate::sdk`]) is a project like any other once
//! loaded: its files are the datafiles its generator made, compiled in memory at the paths the
//! SDK gives them, each with [`GeneratedFrom`] saying which SDK source it and its TOKEN
//! directives come from. Only `load` runs generators; the language server never does.

mod discover;
pub(crate) mod env_file;
mod error;
pub(crate) mod folder;
mod generated;
mod load;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use miette::{NamedSource, Severity};
use rayon::prelude::*;

use crate::model::{DatafileKind, TokenDirective};
use crate::sdk::{GenerateOptions, ProjectKind};
use crate::source::{LineColumn, LineIndex, Span};
use crate::syntax::{self, Secrets};

pub(crate) use discover::{
    DEFAULT_MAX_DEPTH, DiscoveredFile, discover, is_discoverable, relative_path,
};
pub(crate) use error::{
    DefinedHere, GeneratorFailure, LeftOut, Problem, ProjectError, message_with_causes, says_cause,
};
pub(crate) use generated::{Fallback, GeneratedFrom, TokenSource};
pub(crate) use load::{Loaded, Member, folder_secrets, load, load_each};

/// Which datafiles a project is made of.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Scope {
    /// `check`: every datafile under PATH (PATH may be one file), less `target`,
    /// `node_modules` and hidden folders; those `tb deploy` leaves out get a warning.
    #[default]
    Everything,
    /// `plan` and `apply`: exactly the datafiles `tb deploy` reads from the project folder
    /// found from PATH, at most `max_depth` levels down and not under `vendor/`.
    Deployment,
}

/// What to load.
#[derive(Debug, Clone)]
pub struct ProjectConfig {
    /// PATH: the project folder, or a folder or file inside it or above it.
    pub root: PathBuf,
    /// Values for `tb_secret(...)` (`--secret`); they win over `.env.local`.
    pub secrets: Secrets,
    /// Which datafiles.
    pub scope: Scope,
    /// How many levels down `tb deploy` reads (`--max-depth`); files right in the project
    /// folder are at level 1.
    pub max_depth: usize,
    /// For [`Scope::Deployment`]: a project without datafiles is no error (`--allow-empty`).
    pub allow_empty: bool,
    /// How an SDK project's generator runs (time limit, interpreters).
    pub generate: GenerateOptions,
}

impl Default for ProjectConfig {
    fn default() -> Self {
        ProjectConfig {
            root: PathBuf::from("."),
            secrets: Secrets::new(),
            scope: Scope::default(),
            max_depth: DEFAULT_MAX_DEPTH,
            allow_empty: false,
            generate: GenerateOptions::default(),
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
    /// False for a file `tb deploy` leaves out, which `check` reads anyway: it takes no part in
    /// the checks across files, which are about the deployed resources.
    pub(crate) deployed: bool,
    /// For a datafile an SDK generated (in memory, never on disk): the SDK source it comes from.
    pub(crate) generated: Option<Box<GeneratedFrom>>,
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
            deployed: true,
            generated: None,
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
            deployed: true,
            generated: None,
            line_index: OnceLock::new(),
        }
    }

    /// The line index of the text, built on first use.
    pub(crate) fn line_index(&self) -> &LineIndex {
        self.line_index.get_or_init(|| LineIndex::new(&self.text))
    }

    /// 1-based line and column of a byte offset.
    pub fn position(&self, offset: usize) -> LineColumn {
        self.line_index().position(&self.text, offset)
    }

    /// The text as a miette source named by the path.
    pub(crate) fn named_source(&self) -> NamedSource<Arc<str>> {
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
    /// The folder file paths are relative to.
    pub(crate) root: PathBuf,
    /// Datafiles, or an SDK project and its config (boxed: projects travel in errors).
    pub(crate) kind: Box<ProjectKind>,
    /// Files sorted by path.
    pub files: Vec<ProjectFile>,
    /// Problems of no one datafile, in a fixed order: `.env.local` by line, then folders that
    /// cannot be read and symbolic link loops by path, then the datafiles a deployment leaves
    /// out.
    pub(crate) problems: Vec<Problem>,
}

impl Project {
    /// A datafile project without files or problems.
    pub(crate) fn empty(root: PathBuf) -> Project {
        Project {
            root,
            kind: Box::new(NO_CONFIG),
            files: Vec::new(),
            problems: Vec::new(),
        }
    }

    /// The config file that decided the project's kind, relative to its folder and
    /// `/`-separated (`tinybird.config.json`, `../tinybird.json`); none without one.
    pub(crate) fn config_path(&self) -> Option<String> {
        let config = self.kind.config()?;
        let root = std::fs::canonicalize(&self.root).unwrap_or_else(|_| self.root.clone());
        let relative = load::relative_to(config, &root);
        Some(relative.to_string_lossy().replace('\\', "/"))
    }

    /// True for an SDK project, whose files were generated.
    pub(crate) fn is_sdk(&self) -> bool {
        self.kind.sdk().is_some()
    }

    /// Number of error-level problems.
    pub(crate) fn error_count(&self) -> usize {
        self.problems().filter(|p| p.is_error()).count()
    }

    /// Number of warnings.
    pub(crate) fn warning_count(&self) -> usize {
        self.problems()
            .filter(|p| p.severity() == Severity::Warning)
            .count()
    }

    /// Number of TOKEN directives.
    pub fn token_count(&self) -> usize {
        self.files.iter().map(|f| f.tokens.len()).sum()
    }

    /// True when the project or some file has an error.
    pub fn has_errors(&self) -> bool {
        self.problems.iter().any(Problem::is_error)
            || self.files.iter().any(ProjectFile::has_errors)
    }

    fn problems(&self) -> impl Iterator<Item = &Problem> {
        self.problems
            .iter()
            .chain(self.files.iter().flat_map(|f| f.problems.iter()))
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
        Project {
            root,
            kind: Box::new(NO_CONFIG),
            files,
            problems: Vec::new(),
        }
    }

    /// Runs the checks across files again after files were replaced, added or removed (an
    /// editor's buffers): drops every cross-file problem and adds the current ones, so that the
    /// project is what loading it afresh would give. Returns the indices of the files that had
    /// or now have such a problem, sorted; the others are untouched.
    pub(crate) fn recheck_across_files(&mut self) -> Vec<usize> {
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

/// Reads and compiles discovered files; `overlay` replaces the text of files by relative path
/// (editors' unsaved buffers) and adds files that are not on disk yet.
pub(crate) fn load_files(
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
        kind: Box::new(NO_CONFIG),
        files,
        problems: Vec::new(),
    }
}

/// The kind of a project of datafiles that no config file describes.
const NO_CONFIG: ProjectKind = ProjectKind::Datafiles {
    config: None,
    folder: None,
};

/// Reads one discovered file and compiles it; a file that cannot be read or is not UTF-8 gets
/// that problem instead.
pub(crate) fn read_and_compile(file: DiscoveredFile, secrets: &Secrets) -> ProjectFile {
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
            let problem = discover::unreadable(&file.path, &file.full_path, error);
            ProjectFile::unreadable(file.path, file.kind, Arc::from(""), problem)
        }
    }
}

/// Adds a duplicate-resource error to every file after the first that defines the same resource
/// of the same kind, and returns their indices. `files` is sorted by path.
fn check_duplicates(files: &mut [ProjectFile]) -> Vec<usize> {
    let mut first: BTreeMap<(DatafileKind, &str), usize> = BTreeMap::new();
    let mut duplicates = Vec::new();
    for (i, file) in files.iter().enumerate().filter(|(_, f)| f.deployed) {
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
