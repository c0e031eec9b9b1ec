//! The language server's picture of the projects: every workspace folder compiled file by file
//! and kept in step with the editor's buffers, and the diagnostics last sent for each file.
//!
//! A folder's [`Project`] is always what [`project::load_files`] would give with the open buffers
//! as overlay; an edit recompiles one file and re-runs only the checks across files.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use lsp_types::{CompletionItem, Hover, Position, PublishDiagnosticsParams, Url};

use super::{completion, convert, hover};
use crate::model::DatafileKind;
use crate::project::{self, DiscoveredFile, Project, ProjectConfig, ProjectError, ProjectFile};
use crate::syntax::Secrets;

/// A project the server keeps compiled: a workspace folder, or one file outside every folder.
#[derive(Debug)]
pub struct Folder {
    /// The compiled files, sorted by path, cross-file problems included.
    pub project: Project,
    /// True for a workspace folder (read from disk, with an embedded workspace); false for a
    /// file checked alone.
    pub(crate) is_workspace_folder: bool,
    /// Values for `tb_secret(...)`: the folder's `.env.local`, then the server's `--secret`s.
    secrets: Secrets,
    /// Paths with an open buffer, and the buffer's version.
    open: BTreeMap<String, i32>,
    /// The URI the client used for each path it opened: diagnostics go back under the same
    /// spelling even after the file is closed, or the client would keep the old ones.
    uris: BTreeMap<String, Url>,
}

impl Folder {
    fn new(project: Project, is_workspace_folder: bool, secrets: Secrets) -> Folder {
        Folder {
            project,
            is_workspace_folder,
            secrets,
            open: BTreeMap::new(),
            uris: BTreeMap::new(),
        }
    }

    fn index(&self, path: &str) -> Result<usize, usize> {
        self.project
            .files
            .binary_search_by(|f| f.path.as_str().cmp(path))
    }

    /// The compiled file at this relative path.
    pub(crate) fn file(&self, path: &str) -> Option<&ProjectFile> {
        self.index(path).ok().map(|i| &self.project.files[i])
    }

    /// The URI of the file at this relative path.
    pub(crate) fn uri(&self, path: &str) -> Option<Url> {
        match self.uris.get(path) {
            Some(uri) => Some(uri.clone()),
            None => Url::from_file_path(self.project.root.join(path)).ok(),
        }
    }

    fn put(&mut self, file: ProjectFile) {
        match self.index(&file.path) {
            Ok(i) => self.project.files[i] = file,
            Err(i) => self.project.files.insert(i, file),
        }
    }

    fn remove(&mut self, path: &str) {
        if let Ok(i) = self.index(path) {
            self.project.files.remove(i);
        }
    }

    /// Reads the file at `path` from disk again, or forgets it when it is gone.
    fn reload(&mut self, path: &str, kind: DatafileKind) {
        let full_path = self.project.root.join(path);
        if full_path.is_file() {
            let discovered = DiscoveredFile {
                path: path.to_owned(),
                full_path,
                kind,
            };
            self.put(project::read_and_compile(discovered, &self.secrets));
        } else {
            self.remove(path);
        }
    }
}

/// Where a document belongs.
enum Home {
    /// To the workspace folder at this index, at this relative path.
    Folder(usize, String),
    /// To no folder: it is checked alone.
    Alone,
}

/// Every project the server knows, the diagnostics last published, and which files may need new
/// ones.
#[derive(Debug)]
pub struct Analysis {
    secrets: Secrets,
    /// Workspace folders, deepest first, so that a file belongs to the innermost one.
    folders: Vec<Folder>,
    /// Open files outside every folder (or in a folder discovery skips), by URI.
    alone: BTreeMap<Url, Folder>,
    /// What the client was last sent, for files with at least one diagnostic.
    published: BTreeMap<Url, Vec<lsp_types::Diagnostic>>,
    /// Files whose diagnostics may differ from what was published.
    dirty: BTreeSet<Url>,
}

impl Analysis {
    /// Reads and compiles every datafile of these workspace folders. A folder that cannot be read
    /// is kept empty (buffers opened in it are still checked) and its problem returned.
    pub fn new(roots: Vec<PathBuf>, secrets: Secrets) -> (Analysis, Vec<ProjectError>) {
        let mut errors = Vec::new();
        let mut folders: Vec<Folder> = roots
            .into_iter()
            .map(|root| {
                let root = std::path::absolute(&root).unwrap_or(root);
                let config = ProjectConfig {
                    root: root.clone(),
                    secrets: project::folder_secrets(&root, &secrets),
                    ..ProjectConfig::default()
                };
                let project = match project::discover(&root) {
                    Ok(discovered) => project::load_files(&config, discovered, &BTreeMap::new()),
                    Err(error) => {
                        errors.push(error);
                        Project::empty(root)
                    }
                };
                Folder::new(project, true, config.secrets)
            })
            .collect();
        folders.sort_by_key(|f| std::cmp::Reverse(f.project.root.components().count()));
        let mut analysis = Analysis {
            secrets,
            folders,
            alone: BTreeMap::new(),
            published: BTreeMap::new(),
            dirty: BTreeSet::new(),
        };
        let with_problems: Vec<Url> = analysis
            .folders
            .iter()
            .flat_map(|folder| {
                let files = folder
                    .project
                    .files
                    .iter()
                    .filter(|f| !f.problems.is_empty())
                    .filter_map(|f| folder.uri(&f.path));
                let partners = convert::duplicate_partners(folder)
                    .into_iter()
                    .filter_map(|path| folder.uri(&path));
                files.chain(partners).collect::<Vec<_>>()
            })
            .collect();
        analysis.dirty.extend(with_problems);
        (analysis, errors)
    }

    /// The workspace folders, deepest first.
    pub fn folders(&self) -> &[Folder] {
        &self.folders
    }

    /// Takes an editor's buffer for this document (on open and on every change): it replaces the
    /// file on disk until [`Analysis::close`]. `version` is the buffer's, when the client gave
    /// one (a save keeps the last). Documents that are not datafiles are ignored.
    pub fn open(&mut self, uri: &Url, version: Option<i32>, text: &str) {
        let Some((kind, home)) = self.home(uri) else {
            return;
        };
        match home {
            Home::Folder(i, path) => {
                let folder = &mut self.folders[i];
                let file =
                    ProjectFile::compile(path.clone(), kind, Arc::from(text), &folder.secrets);
                set_version(&mut folder.open, &path, version);
                folder.uris.insert(path, uri.clone());
                folder.put(file);
                self.recheck(i);
            }
            Home::Alone => {
                let name = file_name(uri);
                let root = uri
                    .to_file_path()
                    .ok()
                    .and_then(|p| p.parent().map(Path::to_path_buf))
                    .unwrap_or_default();
                let file = ProjectFile::compile(name.clone(), kind, Arc::from(text), &self.secrets);
                let folder = self.alone.entry(uri.clone()).or_insert_with(|| {
                    Folder::new(Project::empty(root), false, self.secrets.clone())
                });
                set_version(&mut folder.open, &name, version);
                folder.uris.insert(name, uri.clone());
                folder.put(file);
            }
        }
        self.dirty.insert(uri.clone());
    }

    /// Drops the editor's buffer: the file on disk counts again (a file that is not on disk any
    /// more leaves the project), and a file outside every folder is forgotten.
    pub(crate) fn close(&mut self, uri: &Url) {
        let Some((kind, home)) = self.home(uri) else {
            return;
        };
        match home {
            Home::Folder(i, path) => {
                let folder = &mut self.folders[i];
                folder.open.remove(&path);
                folder.reload(&path, kind);
                self.recheck(i);
            }
            Home::Alone => {
                self.alone.remove(uri);
            }
        }
        self.dirty.insert(uri.clone());
    }

    /// A file changed, appeared or disappeared on disk. An open buffer still wins over the disk.
    pub(crate) fn disk_changed(&mut self, uri: &Url) {
        let Some((kind, Home::Folder(i, path))) = self.home(uri) else {
            return;
        };
        let folder = &mut self.folders[i];
        if folder.open.contains_key(&path) {
            return;
        }
        folder.reload(&path, kind);
        self.recheck(i);
        if let Some(uri) = self.folders[i].uri(&path) {
            self.dirty.insert(uri);
        }
    }

    /// The diagnostics to publish: one entry for every file whose diagnostics differ from what was
    /// last published (an empty list clears a file's), in URI order.
    pub fn take_diagnostics(&mut self) -> Vec<PublishDiagnosticsParams> {
        let mut out = Vec::new();
        for uri in std::mem::take(&mut self.dirty) {
            let (diagnostics, version) = match self.file(&uri) {
                Some((folder, file)) => (
                    convert::diagnostics(folder, file),
                    folder.open.get(&file.path).copied(),
                ),
                None => (Vec::new(), None),
            };
            let before = self.published.get(&uri).map_or(&[][..], Vec::as_slice);
            if before == diagnostics.as_slice() {
                continue;
            }
            if diagnostics.is_empty() {
                self.published.remove(&uri);
            } else {
                self.published.insert(uri.clone(), diagnostics.clone());
            }
            out.push(PublishDiagnosticsParams {
                uri,
                diagnostics,
                version,
            });
        }
        out
    }

    /// The compiled document and the project it belongs to.
    pub(crate) fn file(&self, uri: &Url) -> Option<(&Folder, &ProjectFile)> {
        match self.home(uri)?.1 {
            Home::Folder(i, path) => {
                let folder = &self.folders[i];
                folder.file(&path).map(|file| (folder, file))
            }
            Home::Alone => {
                let folder = self.alone.get(uri)?;
                folder.project.files.first().map(|file| (folder, file))
            }
        }
    }

    /// What a TOKEN line at this position grants, who else declares it, and what a plan would do.
    pub(crate) fn hover(&self, uri: &Url, position: Position) -> Option<Hover> {
        let (folder, file) = self.file(uri)?;
        hover::hover(folder, file, position)
    }

    /// The directives, or the permissions, that may be written at this position.
    pub(crate) fn completion(&self, uri: &Url, position: Position) -> Vec<CompletionItem> {
        match self.file(uri) {
            Some((_, file)) => completion::completion(file, position),
            None => Vec::new(),
        }
    }

    /// The kind of a datafile URI, and where it belongs; `None` for other documents.
    fn home(&self, uri: &Url) -> Option<(DatafileKind, Home)> {
        let kind = Path::new(uri.path())
            .extension()
            .and_then(|e| e.to_str())
            .and_then(DatafileKind::from_extension)?;
        let Ok(path) = uri.to_file_path() else {
            return Some((kind, Home::Alone));
        };
        for (i, folder) in self.folders.iter().enumerate() {
            let Some(relative) = project::relative_path(&folder.project.root, &path) else {
                continue;
            };
            // `check` would not see a file in a skipped folder (`target/`, `.git/`), so it must
            // not take part in the project's checks either.
            if project::is_discoverable(&relative) {
                return Some((kind, Home::Folder(i, relative)));
            }
            break;
        }
        Some((kind, Home::Alone))
    }

    /// Runs the cross-file checks of a folder again and marks the files they touch: those that
    /// report a duplicate, and the files the duplicates point at, before and after.
    fn recheck(&mut self, i: usize) {
        let mut partners = convert::duplicate_partners(&self.folders[i]);
        let folder = &mut self.folders[i];
        let touched = folder.project.recheck_across_files();
        let folder = &self.folders[i];
        partners.extend(convert::duplicate_partners(folder));
        self.dirty.extend(
            touched
                .into_iter()
                .map(|index| folder.project.files[index].path.clone())
                .chain(partners)
                .filter_map(|path| folder.uri(&path)),
        );
    }
}

/// Records a buffer's version; a change without one (a save) keeps the last.
fn set_version(open: &mut BTreeMap<String, i32>, path: &str, version: Option<i32>) {
    match version {
        Some(version) => {
            open.insert(path.to_owned(), version);
        }
        None => {
            open.entry(path.to_owned()).or_insert(0);
        }
    }
}

/// The last segment of a URI's path: the name a file checked alone is known by.
fn file_name(uri: &Url) -> String {
    if let Ok(path) = uri.to_file_path()
        && let Some(name) = path.file_name()
    {
        return name.to_string_lossy().into_owned();
    }
    uri.path_segments()
        .and_then(|mut segments| segments.next_back())
        .unwrap_or_default()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `files` written to a fresh temporary folder, removed on drop.
    struct TempProject {
        root: PathBuf,
        _dir: tempfile::TempDir,
    }

    impl TempProject {
        fn new(files: &[(&str, &str)]) -> TempProject {
            let dir = tempfile::tempdir().unwrap();
            let root = dir.path().to_path_buf();
            for (path, text) in files {
                let full = root.join(path);
                std::fs::create_dir_all(full.parent().unwrap()).unwrap();
                std::fs::write(full, text).unwrap();
            }
            TempProject { root, _dir: dir }
        }

        fn uri(&self, path: &str) -> Url {
            Url::from_file_path(self.root.join(path)).unwrap()
        }
    }

    /// Every file's path, text and problems (code, span, message), comparable.
    fn summary(project: &Project) -> Vec<(String, String, Vec<String>)> {
        project
            .files
            .iter()
            .map(|f| {
                let problems = f
                    .problems
                    .iter()
                    .map(|p| format!("{} {:?} {p}", p.code_string(), p.span()))
                    .collect();
                (f.path.clone(), f.text.to_string(), problems)
            })
            .collect()
    }

    const EVENTS: &str = "SCHEMA >\n    `id` String\n\nTOKEN ingest APPEND\n";

    #[test]
    fn edits_keep_the_project_equal_to_a_fresh_load() {
        let temp = TempProject::new(&[
            ("a/events.datasource", EVENTS),
            ("b/events.datasource", EVENTS),
            (
                "pipes/top.pipe",
                "NODE n\nSQL >\n    SELECT 1\n\nTOKEN app READ\n",
            ),
            (
                "broken.pipe",
                "NODE n\nSQL >\n    SELECT 1\nTOKEN x WRITE\n",
            ),
            ("target/ignored.pipe", "NOT A PIPE\n"),
        ]);
        let (mut analysis, errors) = Analysis::new(vec![temp.root.clone()], Secrets::new());
        assert!(errors.is_empty());
        let mut overlay = BTreeMap::new();
        let check = |analysis: &Analysis, overlay: &BTreeMap<String, String>, step: &str| {
            let config = ProjectConfig {
                root: temp.root.clone(),
                secrets: Secrets::new(),
                ..ProjectConfig::default()
            };
            let fresh =
                project::load_files(&config, project::discover(&temp.root).unwrap(), overlay);
            assert_eq!(
                summary(&analysis.folders()[0].project),
                summary(&fresh),
                "after {step}"
            );
        };
        check(&analysis, &overlay, "loading");

        let steps: &[(&str, &str, Option<&str>)] = &[
            (
                "open an invalid buffer",
                "pipes/top.pipe",
                Some("NODE n\nTOKEN app APPEND\n"),
            ),
            (
                "open a new duplicate that sorts first",
                "c/top.pipe",
                Some("NODE m\nSQL >\n    SELECT 2\n"),
            ),
            (
                "edit the first line of a first definition",
                "a/events.datasource",
                Some("\n\nSCHEMA >\n    `id` String\n"),
            ),
            ("close a buffer with a disk version", "pipes/top.pipe", None),
            ("close a buffer without one", "c/top.pipe", None),
            (
                "open a duplicate in a skipped folder",
                "target/events.datasource",
                Some(EVENTS),
            ),
        ];
        for (step, path, text) in steps {
            let uri = temp.uri(path);
            match text {
                Some(text) => {
                    analysis.open(&uri, Some(1), text);
                    if !path.starts_with("target/") {
                        overlay.insert((*path).to_owned(), (*text).to_owned());
                    }
                }
                None => {
                    analysis.close(&uri);
                    overlay.remove(*path);
                }
            }
            check(&analysis, &overlay, step);
        }
        // The file in a skipped folder is checked alone, not as part of the project.
        let alone = temp.uri("target/events.datasource");
        let (folder, _) = analysis.file(&alone).unwrap();
        assert!(!folder.is_workspace_folder);
    }

    #[test]
    fn diagnostics_are_published_when_they_change_and_cleared_when_gone() {
        let temp = TempProject::new(&[("events.datasource", EVENTS)]);
        let (mut analysis, _) = Analysis::new(vec![temp.root.clone()], Secrets::new());
        assert!(
            analysis.take_diagnostics().is_empty(),
            "a clean project publishes nothing"
        );
        let uri = temp.uri("events.datasource");
        analysis.open(&uri, Some(1), "TOKEN x WRITE\n");
        let published = analysis.take_diagnostics();
        assert_eq!(published.len(), 1);
        assert_eq!(published[0].version, Some(1));
        let codes: Vec<_> = published[0]
            .diagnostics
            .iter()
            .map(|d| d.code.clone())
            .collect();
        assert_eq!(
            codes,
            [
                Some(lsp_types::NumberOrString::String(
                    "tokenplan::syntax::missing_schema".into()
                )),
                Some(lsp_types::NumberOrString::String(
                    "tokenplan::syntax::invalid_token_permission".into()
                )),
            ]
        );
        // The same problems again: nothing to send.
        analysis.open(&uri, Some(2), "TOKEN x WRITE\n\n");
        assert!(analysis.take_diagnostics().is_empty());
        analysis.close(&uri);
        let cleared = analysis.take_diagnostics();
        assert_eq!(cleared.len(), 1);
        assert!(cleared[0].diagnostics.is_empty() && cleared[0].version.is_none());
    }

    #[test]
    fn secrets_come_from_the_folders_env_local_and_the_server_wins() {
        let datasource = "SCHEMA >\n    `a` Int32\n\nTOKEN {{ tb_secret('NAME') }} READ\n";
        let temp = TempProject::new(&[
            ("events.datasource", datasource),
            (".env.local", "NAME=from_env_local\n"),
        ]);
        let token_names = |analysis: &Analysis| -> Vec<String> {
            let file = &analysis.folders()[0].project.files[0];
            assert!(file.problems.is_empty(), "{:?}", file.problems);
            file.tokens.iter().map(|t| t.name.clone()).collect()
        };
        let (mut analysis, errors) = Analysis::new(vec![temp.root.clone()], Secrets::new());
        assert!(errors.is_empty());
        assert_eq!(token_names(&analysis), ["from_env_local"]);
        // An edited buffer is compiled with the same values.
        analysis.open(&temp.uri("events.datasource"), Some(1), datasource);
        assert_eq!(token_names(&analysis), ["from_env_local"]);

        let given: Secrets = [("NAME".to_owned(), "from_flag".to_owned())]
            .into_iter()
            .collect();
        let (analysis, _) = Analysis::new(vec![temp.root.clone()], given);
        assert_eq!(token_names(&analysis), ["from_flag"]);
    }
}
