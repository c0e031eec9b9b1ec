//! Putting a project together from PATH: for `check`, everything under PATH, with a warning on
//! what `tb deploy` leaves out; for `plan` and `apply`, exactly what `tb deploy` reads. An SDK
//! project is generated ([`super::generated`]); a folder holding several projects (a monorepo) is
//! split into them for `check` and refused for a deployment.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;

use super::discover::{
    Found, Placement, Walked, check_folder, inside_a_project, is_skipped_dir,
    is_skipped_for_deploy, kind_of, outermost, placement, relative_path, walk,
};
use super::env_file::{self, ENV_FILE};
use super::folder::{self, ProjectFolder};
use super::{
    LeftOut, NO_CONFIG, Problem, Project, ProjectConfig, ProjectError, ProjectFile, Scope,
    check_duplicates, first_line, read_and_compile,
};
use crate::sdk::{self, ProjectKind};
use crate::syntax::{Secrets, SyntaxError};

/// What PATH holds, for `check`.
#[derive(Debug)]
pub(crate) enum Loaded {
    /// One project (PATH is one, is inside one, or holds at most one).
    One(Project),
    /// A folder that is not inside a project and holds several (a monorepo): each loaded on
    /// its own, sorted by folder.
    Several(Vec<Member>),
}

/// One project of a monorepo.
#[derive(Debug)]
pub(crate) struct Member {
    /// Its folder as given (PATH joined), or for the datafiles outside every project, PATH.
    pub(crate) label: String,
    /// True for the datafiles under PATH that no project holds.
    pub(crate) outside: bool,
    pub(crate) project: Project,
}

/// Finds, reads and compiles a project. An `Err` is a project that cannot be loaded at all (a
/// missing folder; for a deployment, one without datafiles, or a folder holding several
/// projects); problems of files and folders inside it, and an SDK generator's failure, are in
/// the project. With [`Scope::Everything`], a folder of several projects is read as one.
pub(crate) fn load(config: &ProjectConfig) -> Result<Project, ProjectError> {
    match open(config, false)? {
        Loaded::One(project) => Ok(project),
        Loaded::Several(members) => {
            unreachable!("{} projects without splitting", members.len())
        }
    }
}

/// As [`load`], but a folder that is not inside a project and holds two or more (folders with a
/// Tinybird config file or a `.tinyb`) is split into them: `check` checks each on its own.
pub(crate) fn load_each(config: &ProjectConfig) -> Result<Loaded, ProjectError> {
    open(config, true)
}

fn open(config: &ProjectConfig, split: bool) -> Result<Loaded, ProjectError> {
    let given = &config.root;
    let metadata = std::fs::metadata(given).map_err(|e| ProjectError::NotFound {
        path: given.display().to_string(),
        reason: e.to_string(),
    })?;
    if config.scope == Scope::Deployment || metadata.is_dir() {
        check_folder(given)?;
    }
    // The folder PATH is, or the one that holds the file PATH names (not the one a link to
    // that file points into), resolved.
    let folder_given = if metadata.is_dir() {
        given.clone()
    } else {
        parent_of(given)
    };
    let canonical = std::fs::canonicalize(&folder_given).map_err(|e| ProjectError::NotFound {
        path: folder_given.display().to_string(),
        reason: e.to_string(),
    })?;
    // `check FILE` checks that datafile alone, whatever project it is in.
    let kind = if metadata.is_dir() {
        sdk::detect(&canonical)
    } else {
        NO_CONFIG
    };
    if let Some(project) = kind.sdk() {
        return super::generated::load(config, &canonical, project, kind).map(Loaded::One);
    }
    let folder = folder::resolve(&canonical)?;
    // Only a folder outside every project can be a monorepo: inside one, `tb` reads that one.
    let root_of_projects = metadata.is_dir() && !inside_a_project(&canonical);
    match config.scope {
        Scope::Everything => Ok(everything(
            config,
            &canonical,
            &metadata,
            &folder,
            kind,
            split && root_of_projects,
        )),
        Scope::Deployment => {
            deployment(config, &canonical, &folder, kind, root_of_projects).map(Loaded::One)
        }
    }
}

/// The folder that holds `path`, `.` for a bare file name.
fn parent_of(path: &Path) -> PathBuf {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// `check`: every datafile under PATH (or PATH alone), compiled; a warning on each one
/// `tb deploy` leaves out, which also stays out of the checks across files. `canonical` is the
/// folder PATH is or is in. With `split`, two or more projects below PATH are loaded each on its
/// own, and the datafiles outside them make one more member.
fn everything(
    config: &ProjectConfig,
    canonical: &Path,
    metadata: &std::fs::Metadata,
    folder: &ProjectFolder,
    kind: ProjectKind,
    split: bool,
) -> Loaded {
    let given = &config.root;
    let walk_root = canonical.to_path_buf();
    let (root, walked) = if metadata.is_dir() {
        (given.clone(), walk(given, &|_, name| !is_skipped_dir(name)))
    } else {
        let name = given
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let walked = match kind_of(&name) {
            Some(kind) => Ok(Walked {
                files: vec![Found {
                    // Reading a FIFO would wait forever.
                    error: (!metadata.is_file())
                        .then(|| super::discover::special(&name, metadata.file_type())),
                    file: super::DiscoveredFile {
                        path: name,
                        full_path: given.clone(),
                        kind,
                    },
                }],
                ..Walked::default()
            }),
            None => Err(ProjectError::NotADatafile {
                path: given.display().to_string(),
            }),
        };
        (parent_of(given), walked)
    };
    let mut problems = Vec::new();
    let secrets = secrets(config, &folder.path, &root, &walk_root, &mut problems);
    let mut walked = match walked {
        Ok(walked) => walked,
        Err(error) => {
            problems.push(error.into());
            Walked::default()
        }
    };
    let projects = if split {
        outermost(&walked.markers)
    } else {
        Vec::new()
    };
    let several = projects.len() >= 2;
    if several {
        let outside = |path: &str| !projects.iter().any(|p| is_under(path, p));
        walked.files.retain(|found| outside(&found.file.path));
        walked.blocked.retain(|blocked| outside(&blocked.path));
    }
    problems.extend(walked.blocked.into_iter().map(|b| Problem::from(b.error)));
    let shown_folder = shown(&folder.path, &root, &walk_root);
    let mut files: Vec<ProjectFile> = walked
        .files
        .into_par_iter()
        .map(|found| {
            let logical = walk_root.join(&found.file.path);
            let place = match logical.strip_prefix(&folder.path) {
                Ok(inside) => placement(&slashed(inside), config.max_depth),
                Err(_) => Placement::LeftOut(LeftOut::Outside {
                    folder: folder.describe(&shown_folder),
                }),
            };
            let mut file = compile(found, &secrets);
            // Vendored files stay out of the checks across files whether or not they warn.
            file.deployed = place == Placement::Deployed;
            let left_out = match place {
                Placement::Deployed => None,
                // Shared data sources are deployed as such; only their TOKEN lines are not
                // ours, so only a file that has some is worth a warning.
                Placement::Vendored => (!file.tokens.is_empty()).then_some(LeftOut::Vendored),
                Placement::LeftOut(reason) => Some(reason),
            };
            if let Some(reason) = left_out {
                let span = first_line(&file.text);
                file.problems
                    .insert(0, ProjectError::NotDeployed { reason, span }.into());
            }
            file
        })
        .collect();
    files.sort_by(|a, b| a.path.cmp(&b.path));
    check_duplicates(&mut files);
    let project = Project {
        root,
        kind: Box::new(kind),
        files,
        problems,
    };
    if !several {
        return Loaded::One(project);
    }
    let mut members: Vec<Member> = projects
        .par_iter()
        .map(|relative| member(config, &project.root, relative))
        .collect();
    if !project.files.is_empty() || !project.problems.is_empty() {
        members.push(Member {
            label: project.root.display().to_string(),
            outside: true,
            project,
        });
    }
    Loaded::Several(members)
}

/// True when `path` is `folder` or under it (both relative, `/`-separated).
fn is_under(path: &str, folder: &str) -> bool {
    path.strip_prefix(folder)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// One project of a monorepo, loaded on its own; a project that cannot be loaded at all holds
/// that error.
fn member(config: &ProjectConfig, root: &Path, relative: &str) -> Member {
    let folder = join_shown(root, relative);
    let own = ProjectConfig {
        root: folder.clone(),
        ..config.clone()
    };
    let project = load(&own).unwrap_or_else(|error| {
        let mut project = Project::empty(folder.clone());
        project.problems.push(error.into());
        project
    });
    Member {
        label: folder.display().to_string(),
        outside: false,
        project,
    }
}

/// `plan` and `apply`: the datafiles `tb deploy` reads from the project folder, a warning that
/// names those it leaves out, and an error for a project without any.
fn deployment(
    config: &ProjectConfig,
    canonical: &Path,
    folder: &ProjectFolder,
    kind: ProjectKind,
    root_of_projects: bool,
) -> Result<Project, ProjectError> {
    let root = shown(&folder.path, &config.root, canonical);
    let max_depth = config.max_depth;
    let walked = walk(&root, &|path, name| {
        !is_skipped_for_deploy(path, name, max_depth)
    })?;
    let projects = outermost(&walked.markers);
    if root_of_projects && projects.len() >= 2 {
        return Err(ProjectError::SeveralProjects {
            folder: root.display().to_string(),
            projects: projects
                .iter()
                .map(|p| join_shown(&root, p).display().to_string())
                .collect(),
        });
    }
    let mut problems = Vec::new();
    let secrets = secrets(config, &folder.path, &root, &folder.path, &mut problems);
    // What `tb` never reads cannot change the plan: only entries at levels it reads count.
    problems.extend(
        walked
            .blocked
            .into_iter()
            .filter(|b| read_by_tb(&b.path, max_depth))
            .map(|b| Problem::from(b.error)),
    );
    let mut deployed = Vec::new();
    let mut left_out = Vec::new();
    for found in walked.files {
        match placement(&found.file.path, max_depth) {
            Placement::Deployed => deployed.push(found),
            Placement::Vendored | Placement::LeftOut(LeftOut::Hidden) => {}
            Placement::LeftOut(reason) => left_out.push((found.file.path, reason)),
        }
    }
    let mut files: Vec<ProjectFile> = deployed
        .into_par_iter()
        .map(|found| without_unneeded_secrets(compile(found, &secrets)))
        .collect();
    files.sort_by(|a, b| a.path.cmp(&b.path));
    check_duplicates(&mut files);
    let errors = problems.iter().any(Problem::is_error);
    if files.is_empty() && !errors && !config.allow_empty {
        return Err(ProjectError::Empty {
            folder: folder.describe(&root),
            max_depth,
            left_out,
        });
    }
    if !left_out.is_empty() {
        problems.push(ProjectError::NotDeployedFiles { files: left_out }.into());
    }
    Ok(Project {
        root,
        kind: Box::new(kind),
        files,
        problems,
    })
}

/// `root/relative` as shown: without a leading `./`.
fn join_shown(root: &Path, relative: &str) -> PathBuf {
    if root == Path::new(".") {
        PathBuf::from(relative)
    } else {
        root.join(relative)
    }
}

/// True when `tb` would look at the entry at `path` (relative to the project folder): a folder
/// it goes into, or a file with a datafile's name at a level it reads.
fn read_by_tb(path: &str, max_depth: usize) -> bool {
    let level = path.split('/').count();
    let reachable = level < max_depth || (level == max_depth && kind_of(path).is_some());
    reachable && placement(path, usize::MAX) == Placement::Deployed
}

/// For a plan, a missing secret only matters where it stands in a TOKEN line: elsewhere (a Kafka
/// key, a bucket URI) it cannot change which tokens the file declares, and blocking the plan on
/// it would keep people from seeing token changes without production credentials.
fn without_unneeded_secrets(mut file: ProjectFile) -> ProjectFile {
    // The compiler already found the TOKEN directives; a missing secret on one of their lines
    // names a token, and so still blocks the plan.
    let token_lines: Vec<usize> = file
        .tokens
        .iter()
        .map(|t| file.position(t.span.start).line)
        .collect();
    let unneeded: Vec<usize> = (0..file.problems.len())
        .filter(|&i| match &file.problems[i] {
            Problem::Syntax(SyntaxError::MissingSecret { span, .. }) => {
                !token_lines.contains(&file.position(span.start).line)
            }
            _ => false,
        })
        .collect();
    for i in unneeded {
        if let Problem::Syntax(SyntaxError::MissingSecret { name, span, .. }) = &file.problems[i] {
            file.problems[i] = ProjectError::SecretNotNeeded {
                name: name.clone(),
                span: *span,
            }
            .into();
        }
    }
    file
}

fn compile(found: Found, secrets: &Secrets) -> ProjectFile {
    match found.error {
        Some(error) => {
            ProjectFile::unreadable(found.file.path, found.file.kind, Arc::from(""), error)
        }
        None => read_and_compile(found.file, secrets),
    }
}

/// The values for `tb_secret(...)`: `.env.local` in the project folder, then `--secret`.
/// A file that cannot be read is an error: without it, secrets would render to their defaults
/// and a TOKEN name could silently differ from Tinybird's.
pub(super) fn secrets(
    config: &ProjectConfig,
    folder: &Path,
    root: &Path,
    root_canonical: &Path,
    problems: &mut Vec<Problem>,
) -> Secrets {
    let path = folder.join(ENV_FILE);
    let shown_path = shown(&path, root, root_canonical).display().to_string();
    let mut secrets = match std::fs::read_to_string(&path) {
        Ok(text) => {
            let parsed = env_file::parse(&text, &|name| std::env::var(name).ok());
            problems.extend(parsed.bad_lines.into_iter().map(|line| {
                Problem::from(ProjectError::EnvFileLine {
                    path: shown_path.clone(),
                    line,
                })
            }));
            parsed.values
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Secrets::new(),
        Err(error) => {
            problems.push(super::discover::unreadable(&shown_path, &path, error).into());
            Secrets::new()
        }
    };
    secrets.overlay(&config.secrets);
    secrets
}

/// The values for `tb_secret(...)` of the datafiles in `folder`: its `.env.local`, then `given`.
/// For the language server, which has no report for a broken `.env.local`: `check` has one.
pub(crate) fn folder_secrets(folder: &Path, given: &Secrets) -> Secrets {
    let mut secrets = std::fs::read_to_string(folder.join(ENV_FILE))
        .map(|text| env_file::parse(&text, &|name| std::env::var(name).ok()).values)
        .unwrap_or_default();
    secrets.overlay(given);
    secrets
}

/// How to show `path` (canonical): under `root` (as given, `root_canonical` resolved) when it
/// is there, else relative to the current folder (with `..` when it is above it), so that
/// GitHub annotations made from it still find the files.
pub(super) fn shown(path: &Path, root: &Path, root_canonical: &Path) -> PathBuf {
    if let Ok(inside) = path.strip_prefix(root_canonical) {
        return if inside.as_os_str().is_empty() {
            root.to_path_buf()
        } else if root == Path::new(".") {
            inside.to_path_buf()
        } else {
            root.join(inside)
        };
    }
    match std::env::current_dir().and_then(std::fs::canonicalize) {
        Ok(cwd) => relative_to(path, &cwd),
        Err(_) => path.to_path_buf(),
    }
}

/// `path` relative to `base`, both absolute: `.` when equal, with `..` to climb.
pub(super) fn relative_to(path: &Path, base: &Path) -> PathBuf {
    let path_parts: Vec<_> = path.components().collect();
    let base_parts: Vec<_> = base.components().collect();
    let common = path_parts
        .iter()
        .zip(&base_parts)
        .take_while(|(a, b)| a == b)
        .count();
    let mut out = PathBuf::new();
    for _ in common..base_parts.len() {
        out.push("..");
    }
    for part in &path_parts[common..] {
        out.push(part);
    }
    if out.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        out
    }
}

fn slashed(path: &Path) -> String {
    relative_path(Path::new(""), path).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_climb_with_dot_dot() {
        let cases = [
            ("/a/b", "/a/b", "."),
            ("/a/b/c", "/a/b", "c"),
            ("/a", "/a/b/c", "../.."),
            ("/a/x/y", "/a/b", "../x/y"),
        ];
        for (path, base, expected) in cases {
            assert_eq!(
                relative_to(Path::new(path), Path::new(base)),
                PathBuf::from(expected),
                "{path} from {base}"
            );
        }
    }
}
