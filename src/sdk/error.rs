//! Why an SDK project could not be generated, as typed diagnostics (`tokenplan::sdk::*`). Every
//! text that comes from the child process has been through [`super::redact`] first.

use std::io;
use std::time::Duration;

use miette::Diagnostic;
use thiserror::Error;

use super::Language;

/// A failure to turn an SDK project into datafiles. None of them means "no tokens": the caller
/// must report it and stop, never plan from an empty project.
#[derive(Debug, Error, Diagnostic)]
pub enum SdkError {
    /// `node` cannot be found.
    #[error("cannot run `{program}`: Node.js is not installed or not on PATH")]
    #[diagnostic(
        code(tokenplan::sdk::node_missing),
        help(
            "install Node.js 20 or later (https://nodejs.org), or set TOKENPLAN_NODE to the `node` program"
        )
    )]
    NodeMissing {
        /// The program tried.
        program: String,
        /// Why it could not start.
        #[source]
        source: io::Error,
    },

    /// No Python interpreter can be found.
    #[error("cannot run `{program}`: Python is not installed or not on PATH")]
    #[diagnostic(
        code(tokenplan::sdk::python_missing),
        help(
            "install Python 3.11 or later, create a `.venv` beside the config with `pip install tinybird-sdk`, or set TOKENPLAN_PYTHON to the interpreter"
        )
    )]
    PythonMissing {
        /// The program tried.
        program: String,
        /// Why it could not start.
        #[source]
        source: io::Error,
    },

    /// The interpreter exists but cannot be started (permissions, not an executable).
    #[error("cannot start `{program}`")]
    #[diagnostic(code(tokenplan::sdk::spawn_failed))]
    Spawn {
        /// The program.
        program: String,
        /// Why.
        #[source]
        source: io::Error,
    },

    /// `@tinybirdco/sdk` cannot be imported from the project folder.
    #[error("the TypeScript SDK (@tinybirdco/sdk) is not installed for {folder}")]
    #[diagnostic(
        code(tokenplan::sdk::sdk_missing),
        help(
            "run `npm install @tinybirdco/sdk` in {folder} (or in a parent folder whose node_modules it should use)"
        )
    )]
    TypeScriptSdkMissing {
        /// The config's folder, where Node.js resolves the package from.
        folder: String,
        /// What Node.js said for each import it tried.
        detail: String,
    },

    /// `tinybird_sdk` cannot be imported by the interpreter.
    #[error("the Python SDK (tinybird-sdk) is not installed for `{interpreter}`")]
    #[diagnostic(
        code(tokenplan::sdk::sdk_missing),
        help(
            "run `{interpreter} -m pip install tinybird-sdk`, or create a `.venv` beside the config and `pip install tinybird-sdk` in it, or set TOKENPLAN_PYTHON to an interpreter that has it"
        )
    )]
    PythonSdkMissing {
        /// The interpreter used.
        interpreter: String,
        /// What Python said.
        detail: String,
    },

    /// The SDK ran and reported a failure (`success: false`): a syntax error or an exception in
    /// the definitions, a bad config, a definition the generator cannot handle.
    #[error("the {language} SDK could not generate the project: {message}")]
    #[diagnostic(code(tokenplan::sdk::generate_failed))]
    GenerateFailed {
        /// Which SDK.
        language: Language,
        /// The SDK's own message.
        message: String,
        /// A fix, when the message is a known one.
        #[help]
        fix: Option<String>,
    },

    /// The generator did not finish in time and was killed.
    #[error("the {language} SDK generator did not finish within {}s and was stopped", limit.as_secs_f64())]
    #[diagnostic(
        code(tokenplan::sdk::timeout),
        help(
            "a definition may wait on the network or loop; if the project is only slow, raise the time limit with --sdk-timeout SECONDS"
        )
    )]
    Timeout {
        /// Which SDK.
        language: Language,
        /// The limit.
        limit: Duration,
    },

    /// The generator exited with an error status and no result.
    #[error(
        "the {language} SDK generator exited with {status} without a result{}",
        excerpt(stderr)
    )]
    #[diagnostic(code(tokenplan::sdk::crashed))]
    Crashed {
        /// Which SDK.
        language: Language,
        /// `status 1`, `signal 9`.
        status: String,
        /// The end of what it wrote on stderr.
        stderr: String,
    },

    /// The generator exited cleanly but printed nothing.
    #[error("the {language} SDK generator printed no result{}", excerpt(stderr))]
    #[diagnostic(
        code(tokenplan::sdk::no_output),
        help(
            "a definition may end the process while it loads (process.exit, sys.exit); `tinybird generate --json` in the project folder shows the SDK's own output"
        )
    )]
    NoOutput {
        /// Which SDK.
        language: Language,
        /// The end of what it wrote on stderr.
        stderr: String,
    },

    /// The generator's last line is not JSON.
    #[error("the {language} SDK generator printed something that is not JSON: {excerpt}")]
    #[diagnostic(code(tokenplan::sdk::invalid_json))]
    InvalidJson {
        /// Which SDK.
        language: Language,
        /// The start of the line.
        excerpt: String,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },

    /// The generator's JSON is not the result the SDK documents.
    #[error("the {language} SDK generator's result is not usable: {problem}")]
    #[diagnostic(code(tokenplan::sdk::unexpected_result))]
    UnexpectedResult {
        /// Which SDK.
        language: Language,
        /// What is wrong with it.
        problem: ResultProblem,
    },

    /// Waiting for the generator or reading its output failed.
    #[error("cannot {action} the {language} SDK generator")]
    #[diagnostic(code(tokenplan::sdk::io))]
    Io {
        /// Which SDK.
        language: Language,
        /// What was being done: `wait for`, `read the output of`.
        action: &'static str,
        /// Why.
        #[source]
        source: io::Error,
    },
}

/// What is wrong with a generator result that parsed as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ResultProblem {
    /// No boolean `success`.
    #[error("it has no `success` field")]
    NoSuccess,
    /// `success: true` without an `artifacts` list.
    #[error("it reports success but has no `artifacts` list")]
    NoArtifacts,
    /// An artifact of a type that is not a datafile kind.
    #[error("artifact `{name}` has unknown type `{kind}`")]
    UnknownType {
        /// The artifact's name.
        name: String,
        /// Its type.
        kind: String,
    },
    /// An artifact whose path is absolute, climbs out with `..` or does not match its type.
    #[error("artifact `{name}` has path `{path}`, not a relative path ending in .{kind}")]
    BadPath {
        /// The artifact's name.
        name: String,
        /// Its path.
        path: String,
        /// Its type.
        kind: String,
    },
}

/// `: <the end of stderr>` when there is one.
fn excerpt(stderr: &str) -> String {
    if stderr.trim().is_empty() {
        String::new()
    } else {
        format!(":\n{}", stderr.trim_end())
    }
}

/// A fix for an SDK message we know.
pub(crate) fn known_fix(language: Language, message: &str) -> Option<String> {
    let token_example = match language {
        Language::TypeScript => "`{ token: defineToken(\"name\"), scope: \"READ\" }`",
        Language::Python => "`{\"token\": define_token(\"name\"), \"scope\": \"READ\"}`",
    };
    if message.contains("permissions is not iterable") || message.contains("'permissions'") {
        // SDK 0.0.84 crashes on the legacy `{ name, scopes }` entry on a data source.
        return Some(format!(
            "a data source lists a legacy token entry without `permissions` (e.g. `{{ name, scopes }}`): write {token_example} instead"
        ));
    }
    if message.contains("Build failed with")
        || message.contains("SyntaxError")
        || message.contains("was never closed")
        || message.contains("invalid syntax")
    {
        return Some("fix the syntax error in the definitions named above".to_owned());
    }
    if message.contains("Include file not found")
        || message.contains("Include pattern matched no files")
    {
        return Some("check the `include` paths of the Tinybird config".to_owned());
    }
    if message.contains("is not set") && message.contains("Environment variable") {
        return Some("set that environment variable, or write the value in the config".to_owned());
    }
    if message.contains("Invalid token name") {
        return Some(
            "SDK token names start with a letter or `_` and hold only letters, digits and `_`"
                .to_owned(),
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_help() {
        let error = SdkError::TypeScriptSdkMissing {
            folder: "/p".into(),
            detail: "x".into(),
        };
        assert_eq!(
            error.code().unwrap().to_string(),
            "tokenplan::sdk::sdk_missing"
        );
        assert!(
            error
                .help()
                .unwrap()
                .to_string()
                .contains("npm install @tinybirdco/sdk")
        );
        let error = SdkError::GenerateFailed {
            language: Language::TypeScript,
            message: "token.permissions is not iterable".into(),
            fix: known_fix(Language::TypeScript, "token.permissions is not iterable"),
        };
        assert!(error.help().unwrap().to_string().contains("defineToken"));
        assert_eq!(
            error.to_string(),
            "the TypeScript SDK could not generate the project: token.permissions is not iterable"
        );
        let error = SdkError::Timeout {
            language: Language::Python,
            limit: Duration::from_millis(1500),
        };
        assert_eq!(
            error.to_string(),
            "the Python SDK generator did not finish within 1.5s and was stopped"
        );
        assert_eq!(known_fix(Language::Python, "boom"), None);
    }
}
