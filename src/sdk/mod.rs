//! SDK projects: Tinybird resources defined in TypeScript (`@tinybirdco/sdk`) or Python
//! (`tinybird-sdk`) instead of datafiles. This module owns telling them apart, running the SDK's
//! own generator to get their datafiles, and tracing each generated `TOKEN` line back to the
//! SDK source that declares it.
//!
//! # Using it
//!
//! ```no_run
//! use tokenplan::sdk::{self, GenerateOptions, Sources};
//! # fn compile(_: &str, _: tokenplan::model::DatafileKind, _: &str) -> Vec<(String, tokenplan::model::TokenPermission)> { vec![] }
//!
//! # fn main() -> miette::Result<()> {
//! let kind = sdk::detect(std::path::Path::new("."));
//! println!("{kind}"); // "TypeScript SDK project (tinybird.config.json)", "datafile project"
//! if let Some(project) = kind.sdk() {
//!     // Fails with a `tokenplan::sdk::*` diagnostic; never an empty project on failure.
//!     let generated = sdk::generate(&project, &GenerateOptions::default())?;
//!     let sources = Sources::scan(&project);
//!     for artifact in &generated.artifacts {
//!         // Compile `artifact.content` as `artifact.relative_path` (kind `artifact.kind`) with
//!         // the datafile compiler, then trace each of its TOKEN directives:
//!         for (token, permission) in compile(&artifact.relative_path, artifact.kind, &artifact.content) {
//!             let trace = sources.locate(artifact.kind, &artifact.resource, &token, permission);
//!             // trace.origin: Entry(path:line) | Resource(path:line, untraced) | Unknown
//!             // trace.declared: the defineToken("...") line
//!         }
//!     }
//! }
//! # Ok(())
//! # }
//! ```
//!
//! [`crate::project::load`] does all of this for `check`, `plan` and `apply` (its `generated`
//! module); the language server never runs a generator. For the integrator:
//! - [`detect`] a path (a folder or a file in it) → [`ProjectKind`]: `Datafiles { config,
//!   folder }` (load datafiles as before; `folder` is where tb would read them when a JSON config
//!   names a place), `TypeScript { config }` or `Python { config }`. Its `Display` is the name to
//!   print; [`ProjectKind::name`] (`datafiles`/`typescript`/`python`) and
//!   [`ProjectKind::config`] are for JSON output.
//! - [`generate`] an [`SdkProject`] ([`ProjectKind::sdk`]) with [`GenerateOptions`] (time limit,
//!   default 120 s; interpreters, default from `TOKENPLAN_NODE` / `TOKENPLAN_PYTHON`, a
//!   `.venv`, then PATH) → [`Generated`] with [`Artifact`]s sorted by path. Compile them in memory
//!   with `crate::project::ProjectFile::compile(artifact.relative_path, artifact.kind,
//!   artifact.content, secrets)` (or `Project::from_texts` with the project root
//!   [`SdkProject::root`]); the paths are virtual, relative to the root.
//! - [`Sources::scan`] once, then [`Sources::locate`] per TOKEN directive → [`TokenTrace`] with
//!   [`SourceLocation`]s relative to the root, `/`-separated. [`Origin::Resource`] means the
//!   entry could not be traced: say so rather than point at it as the entry.
//! - Errors are [`SdkError`], miette diagnostics coded `tokenplan::sdk::<problem>`; what they
//!   repeat from the child has credentials redacted.
//!
//! # What it mirrors
//!
//! tb 5.0.3 (`tinybird/tb/modules/cli.py`, `ts_project.py`, `py_project.py`): the config files
//! and their order, the JSON classification by the files under `folder`/`include` (Python
//! first, at most 5000 files scanned), and the generator bridges — `node --input-type=module -e
//! <script> -- <folder>` importing `runGenerate` from `TB_SDK_PATH` or
//! `@tinybirdco/sdk/cli/commands/generate` as Node resolves it from the folder (so
//! `node_modules` there or in any parent), and `python -c <script> <folder>` importing
//! `tinybird_sdk.cli.commands.generate.run_generate` with the folder first on `sys.path`. Unlike
//! tb, the child runs in the config's folder (tb uses its own working folder), has a time limit,
//! and gets placeholder credentials: generating never calls Tinybird, yet both SDKs refuse to
//! start without a token.

mod detect;
mod error;
mod generate;
mod glob;
mod imports;
mod lex;
mod redact;
mod run;
mod scan;
mod sources;
mod trace;

#[cfg(test)]
mod tests;

use std::fmt;
use std::path::{Path, PathBuf};

pub use detect::{CONFIG_FILES, ProjectKind, detect};
pub(crate) use error::SdkError;
pub use generate::{Artifact, DEFAULT_TIMEOUT, GenerateOptions, Generated, generate};
pub use trace::{Origin, SourceLocation, Sources, TokenTrace};

/// The language of an SDK project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Language {
    /// `@tinybirdco/sdk`, run with Node.js.
    TypeScript,
    /// `tinybird-sdk`, run with Python.
    Python,
}

impl Language {
    /// `typescript` or `python`, for machine-readable output.
    pub(crate) const fn name(self) -> &'static str {
        match self {
            Language::TypeScript => "typescript",
            Language::Python => "python",
        }
    }
}

/// `TypeScript` or `Python`.
impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Language::TypeScript => "TypeScript",
            Language::Python => "Python",
        })
    }
}

/// An SDK project: its language and its config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdkProject {
    /// The SDK it uses.
    pub(crate) language: Language,
    /// The config file, absolute.
    pub(crate) config: PathBuf,
}

impl SdkProject {
    /// The project root: the config's folder, where the generator runs and paths start.
    pub fn root(&self) -> &Path {
        self.config.parent().unwrap_or(Path::new("/"))
    }
}
