//! The problems a project has as a whole or in one of its files, besides the compiler's.

use std::fmt;
use std::sync::Arc;

use miette::{Diagnostic, NamedSource, Severity};
use thiserror::Error;

use crate::model::DatafileKind;
use crate::sdk::SdkError;
use crate::source::Span;
use crate::syntax::SyntaxError;

/// Most left-out files a message names; the rest are counted, so that a big tree stays readable.
const NAMED_AT_MOST: usize = 10;

/// What counts as a datafile, for messages.
pub(super) const DATAFILES: &str = ".datasource, .pipe and .connection files";

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

    /// The project folder a `tinybird.config.json`, `tinybird.json` or `.tinyb` names does not
    /// exist or is not a folder.
    #[error("cannot read project folder {path}, named by `{key}` in {config}")]
    #[diagnostic(
        code(tokenplan::project::not_found),
        help("`tb` reads the project from that folder too: fix `{key}` in {config}")
    )]
    ConfiguredFolder {
        /// The folder.
        path: String,
        /// The file that names it.
        config: String,
        /// The key that names it: `folder` or `cwd`.
        key: &'static str,
        /// Why it cannot be read.
        #[source]
        source: Arc<std::io::Error>,
    },

    /// `check FILE` on a file that is not a datafile.
    #[error("{path} is not a datafile")]
    #[diagnostic(
        code(tokenplan::project::not_a_datafile),
        help("pass a folder, or one of its {DATAFILES}")
    )]
    NotADatafile {
        /// The file.
        path: String,
    },

    /// A file or folder that cannot be read: no permission, a broken symbolic link, a FIFO, an
    /// I/O error. An error, so that no plan reads it as declaring no tokens.
    #[error("cannot read {path}")]
    #[diagnostic(code(tokenplan::project::unreadable))]
    Unreadable {
        /// The file or folder, relative to the project.
        path: String,
        /// What it is and what to do, when known.
        #[help]
        help: Option<String>,
        /// Why.
        #[source]
        source: Arc<std::io::Error>,
    },

    /// A symbolic link to a folder that contains it: following it would never end.
    #[error("symbolic link {path} leads back to {ancestor}, a folder that contains it")]
    #[diagnostic(
        code(tokenplan::project::symlink_loop),
        help(
            "remove the link or point it elsewhere: `tb` would read the same files again through it"
        )
    )]
    SymlinkLoop {
        /// The link, relative to the project.
        path: String,
        /// The folder it leads back to, relative to the project (`the top folder` for the
        /// project itself).
        ancestor: String,
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

    /// `check` reads a datafile that `tb deploy` leaves out.
    #[error("{}", .reason.sentence())]
    #[diagnostic(code(tokenplan::project::not_deployed), severity(Warning), help("{}", .reason.help()))]
    NotDeployed {
        /// Why.
        reason: LeftOut,
        /// The first line of the file.
        #[label(primary, "not deployed")]
        span: Span,
    },

    /// `plan` and `apply` leave out the datafiles `tb deploy` leaves out, and name them.
    #[error("`tb deploy` leaves out {}, whose TOKEN lines are not planned: {}", count(.files.len()), list(.files))]
    #[diagnostic(
        code(tokenplan::project::not_deployed),
        severity(Warning),
        help("move them up, or raise --max-depth (and `tb --max-depth N deploy` alike)")
    )]
    NotDeployedFiles {
        /// Each file, relative to the project, and why.
        files: Vec<(String, LeftOut)>,
    },

    /// `plan` or `apply` on a folder without any datafile: the plan would destroy every token.
    #[error("no datafiles in {folder}: a plan from it would destroy every managed token")]
    #[diagnostic(code(tokenplan::project::empty), help("{}", empty_help(*.max_depth, .left_out)))]
    Empty {
        /// The folder searched.
        folder: String,
        /// `--max-depth`.
        max_depth: usize,
        /// Datafiles found but left out, as in [`ProjectError::NotDeployedFiles`].
        left_out: Vec<(String, LeftOut)>,
    },

    /// `plan` and `apply`: a secret without a value, in a file whose TOKEN lines do not use it.
    /// The tokens are read whole, so the plan goes on; `check` and `tb deploy` still fail.
    #[error("tb_secret('{name}') has no value; no TOKEN line uses it, so the tokens are planned")]
    #[diagnostic(
        code(tokenplan::project::secret_not_needed),
        severity(Warning),
        help("`tb deploy` needs it: pass `--secret {name}=VALUE` or set it in .env.local")
    )]
    SecretNotNeeded {
        name: String,
        #[label(primary, "no value for this secret")]
        span: Span,
    },

    /// An SDK project's generator failed: there are no datafiles, and so no plan, rather than
    /// a plan that reads the project as declaring no tokens.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Sdk(GeneratorFailure),

    /// `plan` or `apply` on an SDK project whose generator made no datafiles.
    #[error(
        "the {project} at {folder} defines no resources: a plan from it would destroy every managed token"
    )]
    #[diagnostic(
        code(tokenplan::project::empty),
        help(
            "define data sources and pipes in the files the config's `include` names, or pass --allow-empty to plan from none on purpose"
        )
    )]
    GeneratedNothing {
        /// `TypeScript SDK project (tinybird.config.json)`.
        project: String,
        /// Its folder.
        folder: String,
    },

    /// `plan` or `apply` on a folder that holds several projects (a monorepo).
    #[error("{folder} holds {} projects: {}", .projects.len(), .projects.join(", "))]
    #[diagnostic(
        code(tokenplan::project::several_projects),
        help("{}", several_help(.folder, .projects))
    )]
    SeveralProjects {
        /// The folder given.
        folder: String,
        /// Each project's folder as given (PATH joined), sorted.
        projects: Vec<String>,
    },

    /// A line of `.env.local` that is not `KEY=value`. Its text is never shown: it may hold a
    /// secret.
    #[error("line {line} of {path} is not `KEY=value`: it is ignored, as `tb` does")]
    #[diagnostic(
        code(tokenplan::project::env_file),
        severity(Warning),
        help("write `KEY=value`, `KEY='value'` or `KEY=\"value\"`, or start the line with `#`")
    )]
    EnvFileLine {
        /// The file.
        path: String,
        /// 1-based line.
        line: usize,
    },
}

/// Why `tb deploy` leaves a datafile out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeftOut {
    /// More levels down than `--max-depth` (files right in the project folder are at level 1).
    TooDeep {
        /// The file's level.
        level: usize,
        /// `--max-depth`.
        max_depth: usize,
    },
    /// Under `vendor/`: data sources shared from other workspaces, whose tokens are theirs.
    Vendored,
    /// A path that starts with `vendor` without being under `vendor/` (`vendors/x.pipe`): `tb`
    /// leaves out every path that starts with `<project>/vendor`.
    VendorPrefix,
    /// A name, or a folder on the way, that starts with `.`: `tb`'s glob never matches those.
    Hidden,
    /// Not inside the project folder at all.
    Outside {
        /// The project folder and what named it.
        folder: String,
    },
}

impl fmt::Display for LeftOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LeftOut::TooDeep { level, max_depth } => {
                write!(
                    f,
                    "it is at level {level}, deeper than --max-depth {max_depth}"
                )
            }
            LeftOut::Vendored => write!(
                f,
                "it is under vendor/, data sources shared from other workspaces"
            ),
            LeftOut::VendorPrefix => write!(
                f,
                "its path starts with `vendor`, and tb leaves out every such path"
            ),
            LeftOut::Hidden => write!(f, "its name or a folder on its way starts with `.`"),
            LeftOut::Outside { folder } => write!(f, "it is outside the project folder {folder}"),
        }
    }
}

impl LeftOut {
    /// The whole message of [`ProjectError::NotDeployed`].
    fn sentence(&self) -> String {
        match self {
            LeftOut::Vendored => "`tb deploy` sends this file as a data source shared from another workspace (it is under vendor/): its TOKEN lines are not planned".into(),
            other => format!("`tb deploy` leaves this file out: {other}"),
        }
    }

    fn help(&self) -> String {
        match self {
            LeftOut::TooDeep { level, .. } => format!(
                "move it up, or pass --max-depth {level} to plan and apply, and to tb (`tb --max-depth {level} deploy`)"
            ),
            LeftOut::Vendored => {
                "declare tokens of shared data sources in the workspace that owns them".into()
            }
            LeftOut::VendorPrefix => "rename it or the folder it is in".into(),
            LeftOut::Hidden => "rename it, or the folder it is in, without the leading `.`".into(),
            LeftOut::Outside { .. } => {
                "plan and apply read the project folder: move the file there, or check that folder"
                    .into()
            }
        }
    }

    /// A short form for lists.
    fn short(&self) -> String {
        match self {
            LeftOut::TooDeep { level, .. } => format!("level {level}"),
            LeftOut::Vendored => "vendored".into(),
            LeftOut::VendorPrefix => "starts with `vendor`".into(),
            LeftOut::Hidden => "hidden".into(),
            LeftOut::Outside { .. } => "outside the project".into(),
        }
    }
}

fn count(n: usize) -> String {
    if n == 1 {
        "1 datafile".into()
    } else {
        format!("{n} datafiles")
    }
}

fn list(files: &[(String, LeftOut)]) -> String {
    let mut named: Vec<String> = files
        .iter()
        .take(NAMED_AT_MOST)
        .map(|(path, why)| format!("{path} ({})", why.short()))
        .collect();
    if files.len() > NAMED_AT_MOST {
        named.push(format!("and {} more", files.len() - NAMED_AT_MOST));
    }
    named.join(", ")
}

fn empty_help(max_depth: usize, left_out: &[(String, LeftOut)]) -> String {
    let mut help = format!(
        "datafiles are {DATAFILES} at most {max_depth} levels down (--max-depth), not under vendor/; pass the project folder, or --allow-empty to plan from no datafiles on purpose"
    );
    if !left_out.is_empty() {
        help.push_str(&format!(
            "; left out: {}, {}",
            count(left_out.len()),
            list(left_out)
        ));
    }
    help
}

fn several_help(folder: &str, projects: &[String]) -> String {
    let example = projects.first().map_or("", String::as_str);
    format!(
        "plan and apply take one project, as `tb deploy` does: pass one of them, e.g. `tokenplan plan {example}`; `tokenplan check {folder}` checks them all"
    )
}

/// An SDK generator's failure, shared so that problems can be cloned: the diagnostic is the
/// [`SdkError`]'s own (`tokenplan::sdk::*`).
#[derive(Debug, Clone)]
pub struct GeneratorFailure(pub Arc<SdkError>);

impl fmt::Display for GeneratorFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.0, f)
    }
}

impl std::error::Error for GeneratorFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

impl Diagnostic for GeneratorFailure {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.0.code()
    }
    fn severity(&self) -> Option<Severity> {
        self.0.severity()
    }
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.0.help()
    }
    fn url<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.0.url()
    }
}

/// The message of an error followed by its causes (`cannot read x: permission denied`), for the
/// outputs that have one line per problem; miette's report lists the causes itself.
pub(crate) fn message_with_causes(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut cause = error.source();
    while let Some(next) = cause {
        if !says_cause(&message, next) {
            message.push_str(": ");
            message.push_str(&next.to_string());
        }
        cause = next.source();
    }
    message
}

/// True when `message` already ends with `cause` (`cannot read plan.json: {source}`), which is
/// then not said again under it.
pub(crate) fn says_cause(message: &str, cause: &dyn std::fmt::Display) -> bool {
    message.ends_with(&format!(": {cause}"))
}

/// The other end of a duplicate: where a resource was first defined.
#[derive(Debug, Clone, Error, Diagnostic)]
#[error("first defined in {path}")]
#[diagnostic(severity(Advice))]
pub struct DefinedHere {
    /// Its path.
    pub(crate) path: String,
    /// Its text.
    #[source_code]
    pub(crate) text: NamedSource<Arc<str>>,
    /// Its first line.
    #[label("first defined here")]
    pub(crate) span: Span,
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
    pub(crate) fn severity(&self) -> Severity {
        Diagnostic::severity(self).unwrap_or(Severity::Error)
    }

    /// True for errors.
    pub(crate) fn is_error(&self) -> bool {
        self.severity() == Severity::Error
    }

    /// The code, e.g. `tokenplan::syntax::unknown_directive`.
    pub fn code_string(&self) -> String {
        Diagnostic::code(self)
            .map(|c| c.to_string())
            .unwrap_or_default()
    }

    /// The help text, if any.
    pub(crate) fn help_string(&self) -> Option<String> {
        Diagnostic::help(self).map(|h| h.to_string())
    }

    /// The message with its causes, for one-line outputs.
    pub(crate) fn message(&self) -> String {
        message_with_causes(self)
    }

    /// True for problems that involve other files (a duplicate resource): they change when
    /// another file is added or removed, so [`super::Project::recheck_across_files`] recomputes
    /// them.
    pub(crate) fn is_cross_file(&self) -> bool {
        matches!(
            self,
            Problem::Project(ProjectError::DuplicateResource { .. })
        )
    }

    /// The primary span, when the problem has a place in the file.
    pub(crate) fn span(&self) -> Option<Span> {
        match self {
            Problem::Syntax(e) => Some(e.span()),
            Problem::Project(
                ProjectError::NotUtf8 { span }
                | ProjectError::DuplicateResource { span, .. }
                | ProjectError::NotDeployed { span, .. }
                | ProjectError::SecretNotNeeded { span, .. },
            ) => Some(*span),
            Problem::Project(_) => None,
        }
    }
}
