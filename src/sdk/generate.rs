//! Generating an SDK project's datafiles: running the SDK's own generator in a child process
//! (Node.js for TypeScript, Python for Python) through a small bridge script, as tb does, and
//! reading its result into [`Artifact`]s.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use super::error::{ResultProblem, SdkError, known_fix};
use super::redact::Redactor;
use super::run::{self, RunError};
use super::{Language, SdkProject};
use crate::model::DatafileKind;

/// How long a generator may run by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// The value given to a credential variable the config needs but the environment lacks:
/// generating never calls Tinybird, yet both SDKs refuse to start without a token.
const PLACEHOLDER_TOKEN: &str = "tokenplan-placeholder-not-a-token";
const PLACEHOLDER_URL: &str = "https://api.tinybird.co";

/// How much of a child's stderr an error repeats.
const STDERR_EXCERPT: usize = 2000;

const NODE_BRIDGE: &str = include_str!("bridge.mjs");
const PYTHON_BRIDGE: &str = include_str!("bridge.py");

/// How to run a generator.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    /// The longest a generator may run before it is killed.
    pub(crate) timeout: Duration,
    /// The `node` program; when unset, `TOKENPLAN_NODE`, else `node` from PATH.
    pub(crate) node: Option<PathBuf>,
    /// The Python interpreter; when unset, `TOKENPLAN_PYTHON`, else `.venv/bin/python` or
    /// `venv/bin/python` in the config's folder or a parent, else `python3` from PATH.
    pub(crate) python: Option<PathBuf>,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        GenerateOptions {
            timeout: DEFAULT_TIMEOUT,
            node: None,
            python: None,
        }
    }
}

/// One generated datafile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    /// Where the SDK would write it, relative and `/`-separated:
    /// `datasources/<name>.datasource`, `pipes/<name>.pipe`, `connections/<name>.connection`.
    pub relative_path: String,
    /// Its kind, from the SDK's `type`.
    pub kind: DatafileKind,
    /// The resource's name (the first argument of `defineDatasource(...)` and the like).
    pub resource: String,
    /// The datafile text.
    pub content: Arc<str>,
}

/// What a generator produced.
#[derive(Debug, Clone)]
pub struct Generated {
    /// The datafiles, sorted by path.
    pub artifacts: Vec<Artifact>,
}

/// Runs the SDK's generator on `project` and returns its datafiles. Needs no credentials: a
/// token variable the config names and the environment lacks gets a placeholder in the child's
/// environment only. Any failure is an error, never an empty result.
pub fn generate(project: &SdkProject, options: &GenerateOptions) -> Result<Generated, SdkError> {
    let language = project.language;
    // The child gets the folder as an argument and runs in it: a relative path would resolve
    // twice.
    let root = std::path::absolute(project.root()).unwrap_or_else(|_| project.root().into());
    let root = root.as_path();
    let program = program(language, root, options);
    let mut command = Command::new(&program);
    match language {
        Language::TypeScript => {
            command.args(["--input-type=module", "-e", NODE_BRIDGE, "--"]);
        }
        Language::Python => {
            command.args(["-c", PYTHON_BRIDGE]);
            // Loading definitions must not leave __pycache__ folders in the project.
            command.env("PYTHONDONTWRITEBYTECODE", "1");
            command.env("PYTHONIOENCODING", "utf-8");
        }
    }
    command.arg(root).current_dir(root).env("NO_COLOR", "1");
    for (name, value) in placeholders(&project.config, |name| std::env::var_os(name)) {
        command.env(name, value);
    }
    let redactor = Redactor::for_project(root);
    let program_name = program.to_string_lossy().into_owned();
    let finished = run::run(command, options.timeout).map_err(|error| match error {
        RunError::Spawn(source) => spawn_error(language, program_name.clone(), source),
        RunError::Wait(source) => SdkError::Io {
            language,
            action: "wait for",
            source,
        },
        RunError::TimedOut => SdkError::Timeout {
            language,
            limit: options.timeout,
        },
    })?;
    let stdout = String::from_utf8_lossy(&finished.stdout);
    let stderr = excerpt(&redactor.redact(&String::from_utf8_lossy(&finished.stderr)));
    let Some(line) = stdout.lines().rev().find(|l| !l.trim().is_empty()) else {
        return Err(if finished.status.success() {
            SdkError::NoOutput { language, stderr }
        } else {
            SdkError::Crashed {
                language,
                status: status_text(&finished.status),
                stderr,
            }
        });
    };
    let output: Output = serde_json::from_str(line).map_err(|source| SdkError::InvalidJson {
        language,
        excerpt: redactor.redact(&line.chars().take(200).collect::<String>()),
        source,
    })?;
    let artifacts = read_output(language, output, root, &program_name, &redactor)?;
    Ok(Generated { artifacts })
}

/// The bridge's one line of output: the SDK's result, or the import failure.
#[derive(Debug, Deserialize)]
struct Output {
    success: Option<bool>,
    artifacts: Option<Vec<RawArtifact>>,
    error: Option<String>,
    tokenplan_sdk_missing: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RawArtifact {
    #[serde(rename = "type")]
    kind: String,
    name: String,
    #[serde(rename = "relativePath", alias = "relative_path")]
    relative_path: String,
    content: String,
}

fn read_output(
    language: Language,
    output: Output,
    root: &Path,
    program: &str,
    redactor: &Redactor,
) -> Result<Vec<Artifact>, SdkError> {
    if let Some(detail) = output.tokenplan_sdk_missing {
        let detail = redactor.redact(&detail);
        return Err(match language {
            Language::TypeScript => SdkError::TypeScriptSdkMissing {
                folder: root.display().to_string(),
                detail,
            },
            Language::Python => SdkError::PythonSdkMissing {
                interpreter: program.to_owned(),
                detail,
            },
        });
    }
    let unexpected = |problem| SdkError::UnexpectedResult { language, problem };
    match output.success {
        None => return Err(unexpected(ResultProblem::NoSuccess)),
        Some(false) => {
            let message = redactor.redact(
                output
                    .error
                    .as_deref()
                    .unwrap_or("it reported a failure without a message"),
            );
            return Err(SdkError::GenerateFailed {
                language,
                fix: known_fix(language, &message),
                message,
            });
        }
        Some(true) => {}
    }
    let raw = output
        .artifacts
        .ok_or_else(|| unexpected(ResultProblem::NoArtifacts))?;
    let mut artifacts = Vec::with_capacity(raw.len());
    for artifact in raw {
        let Some(kind) = DatafileKind::from_extension(&artifact.kind) else {
            return Err(unexpected(ResultProblem::UnknownType {
                name: artifact.name,
                kind: artifact.kind,
            }));
        };
        let path = artifact.relative_path.replace('\\', "/");
        let inside = !path.starts_with('/')
            && !path.contains(':')
            && path.split('/').all(|part| !part.is_empty() && part != "..");
        if !inside || !path.ends_with(&format!(".{}", kind.as_str())) {
            return Err(unexpected(ResultProblem::BadPath {
                name: artifact.name,
                path,
                kind: kind.as_str().to_owned(),
            }));
        }
        artifacts.push(Artifact {
            relative_path: path,
            kind,
            resource: artifact.name,
            content: artifact.content.into(),
        });
    }
    artifacts.sort_by(|a, b| a.relative_path.cmp(&b.relative_path));
    Ok(artifacts)
}

/// The interpreter to run, as [`GenerateOptions`] documents.
pub(crate) fn program(language: Language, root: &Path, options: &GenerateOptions) -> PathBuf {
    match language {
        Language::TypeScript => options
            .node
            .clone()
            .or_else(|| non_empty_env("TOKENPLAN_NODE"))
            .unwrap_or_else(|| PathBuf::from("node")),
        Language::Python => options
            .python
            .clone()
            .or_else(|| non_empty_env("TOKENPLAN_PYTHON"))
            .or_else(|| virtualenv_python(root))
            .unwrap_or_else(|| PathBuf::from("python3")),
    }
}

fn non_empty_env(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// `.venv/bin/python` or `venv/bin/python` (`Scripts\python.exe` on Windows) in `folder` or
/// the nearest parent that has one.
pub(crate) fn virtualenv_python(folder: &Path) -> Option<PathBuf> {
    let interpreter: &[&str] = if cfg!(windows) {
        &["Scripts", "python.exe"]
    } else {
        &["bin", "python"]
    };
    folder.ancestors().find_map(|dir| {
        [".venv", "venv"].iter().find_map(|venv| {
            let candidate = interpreter
                .iter()
                .fold(dir.join(venv), |path, part| path.join(part));
            candidate.is_file().then_some(candidate)
        })
    })
}

fn spawn_error(language: Language, program: String, source: std::io::Error) -> SdkError {
    match (source.kind(), language) {
        (std::io::ErrorKind::NotFound, Language::TypeScript) => {
            SdkError::NodeMissing { program, source }
        }
        (std::io::ErrorKind::NotFound, Language::Python) => {
            SdkError::PythonMissing { program, source }
        }
        _ => SdkError::Spawn { program, source },
    }
}

/// The environment variables to give the child: for each variable the config's token (or base
/// URL) refers to, and `TINYBIRD_TOKEN` (the Python SDK's fallback), a placeholder when `lookup`
/// finds it unset or empty. Sorted by name.
pub(crate) fn placeholders(
    config: &Path,
    lookup: impl Fn(&str) -> Option<OsString>,
) -> Vec<(String, &'static str)> {
    let text = std::fs::read_to_string(config).unwrap_or_default();
    let mut names = config_env_names(config, &text);
    names.push("TINYBIRD_TOKEN".to_owned());
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter(|name| lookup(name).is_none_or(|v| v.is_empty()))
        .map(|name| {
            let upper = name.to_ascii_uppercase();
            let value = if upper.contains("URL") || upper.contains("HOST") {
                PLACEHOLDER_URL
            } else {
                PLACEHOLDER_TOKEN
            };
            (name, value)
        })
        .collect()
}

/// The environment variables a config's `token` and base URL refer to: `${NAME}` in a JSON
/// config's `token`, `baseUrl` and `base_url`; in a code config, `${NAME}`, `process.env.NAME`,
/// `process.env["NAME"]`, `os.environ["NAME"]`, `os.environ.get("NAME")` and `os.getenv("NAME")`
/// on the lines that mention a token or a URL.
fn config_env_names(config: &Path, text: &str) -> Vec<String> {
    let mut names = Vec::new();
    if config.extension().is_some_and(|e| e == "json") {
        if let Ok(serde_json::Value::Object(raw)) = serde_json::from_str(text) {
            for key in ["token", "baseUrl", "base_url"] {
                if let Some(value) = raw.get(key).and_then(|v| v.as_str()) {
                    names.extend(interpolated_names(value));
                }
            }
        }
        return names;
    }
    for line in text.lines() {
        let lower = line.to_ascii_lowercase();
        if !(lower.contains("token") || lower.contains("url") || lower.contains("host")) {
            continue;
        }
        names.extend(interpolated_names(line));
        for prefix in [
            "process.env.",
            "process.env[",
            "os.environ[",
            "os.environ.get(",
            "os.getenv(",
            "environ.get(",
        ] {
            let mut rest = line;
            while let Some(at) = rest.find(prefix) {
                rest = &rest[at + prefix.len()..];
                let name: String = rest
                    .trim_start_matches(['"', '\''])
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    names.push(name);
                }
            }
        }
    }
    names
}

/// The `NAME`s of `${NAME}` in a string, as both SDKs interpolate them.
fn interpolated_names(value: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = value;
    while let Some(at) = rest.find("${") {
        rest = &rest[at + 2..];
        let Some(end) = rest.find('}') else { break };
        if end > 0 {
            names.push(rest[..end].to_owned());
        }
        rest = &rest[end + 1..];
    }
    names
}

/// The end of a child's stderr, at most [`STDERR_EXCERPT`] bytes, cut at a line start.
fn excerpt(stderr: &str) -> String {
    let stderr = stderr.trim_end();
    if stderr.len() <= STDERR_EXCERPT {
        return stderr.to_owned();
    }
    let mut start = stderr.len() - STDERR_EXCERPT;
    while !stderr.is_char_boundary(start) {
        start += 1;
    }
    let tail = &stderr[start..];
    let tail = tail.find('\n').map_or(tail, |n| &tail[n + 1..]);
    format!("...\n{tail}")
}

fn status_text(status: &std::process::ExitStatus) -> String {
    if let Some(code) = status.code() {
        return format!("status {code}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return format!("signal {signal}");
        }
    }
    status.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names_for(file: &str, text: &str) -> Vec<(String, &'static str)> {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join(file);
        std::fs::write(&config, text).unwrap();
        placeholders(&config, |name| {
            (name == "ALREADY_SET").then(|| OsString::from("value"))
        })
    }

    #[test]
    fn placeholders_for_unset_token_variables_only() {
        assert_eq!(
            names_for(
                "tinybird.config.json",
                r#"{"token": "${MY_TOKEN}", "baseUrl": "${TB_URL}", "include": ["${NOT_ME}"]}"#
            ),
            vec![
                ("MY_TOKEN".to_owned(), PLACEHOLDER_TOKEN),
                ("TB_URL".to_owned(), PLACEHOLDER_URL),
                ("TINYBIRD_TOKEN".to_owned(), PLACEHOLDER_TOKEN),
            ]
        );
        assert_eq!(
            names_for(
                "tinybird.config.json",
                r#"{"token": "${ALREADY_SET}", "include": []}"#
            ),
            vec![("TINYBIRD_TOKEN".to_owned(), PLACEHOLDER_TOKEN)]
        );
        assert_eq!(
            names_for(
                "tinybird.config.mjs",
                "export default {\n  include: [process.env.NOT_ME],\n  token: process.env.JS_TOKEN,\n  baseUrl: process.env['JS_URL'],\n};\n"
            ),
            vec![
                ("JS_TOKEN".to_owned(), PLACEHOLDER_TOKEN),
                ("JS_URL".to_owned(), PLACEHOLDER_URL),
                ("TINYBIRD_TOKEN".to_owned(), PLACEHOLDER_TOKEN),
            ]
        );
        assert_eq!(
            names_for(
                "tinybird.config.py",
                "import os\nconfig = {\n    \"token\": os.environ[\"PY_TOKEN\"],\n    \"base_url\": os.getenv('PY_HOST'),\n    \"x\": os.environ.get(\"ALREADY_SET\"),\n}\n"
            ),
            vec![
                ("PY_HOST".to_owned(), PLACEHOLDER_URL),
                ("PY_TOKEN".to_owned(), PLACEHOLDER_TOKEN),
                ("TINYBIRD_TOKEN".to_owned(), PLACEHOLDER_TOKEN),
            ]
        );
    }

    #[test]
    fn virtualenvs_are_found_upward() {
        let dir = tempfile::tempdir().unwrap();
        let interpreter = if cfg!(windows) {
            dir.path().join("venv/Scripts/python.exe")
        } else {
            dir.path().join("venv/bin/python")
        };
        std::fs::create_dir_all(interpreter.parent().unwrap()).unwrap();
        std::fs::write(&interpreter, "").unwrap();
        std::fs::create_dir_all(dir.path().join("a/b")).unwrap();
        assert_eq!(
            virtualenv_python(&dir.path().join("a/b")),
            Some(interpreter)
        );
    }

    #[test]
    fn stderr_excerpts_keep_the_end() {
        let long = (0..1000).map(|i| format!("line {i}\n")).collect::<String>();
        let cut = excerpt(&long);
        assert!(cut.starts_with("...\nline "));
        assert!(cut.ends_with("line 999"));
        assert!(cut.len() <= STDERR_EXCERPT + 4);
        assert_eq!(excerpt("short\n"), "short");
    }
}
