//! GitHub pull requests: which pull request an Actions run is for ([`Context`]), a small REST
//! client ([`api`]) and the one comment per project, with its labels, that tokenplan keeps up to
//! date there ([`comment`]). The comment's text comes from the caller; this module only posts it.

pub(crate) mod api;
pub(crate) mod comment;

use std::path::PathBuf;

use miette::Diagnostic;
use serde::Deserialize;
use thiserror::Error;

use crate::workspace::secret::Secret;

/// Where the REST API is when `GITHUB_API_URL` is not set.
pub(crate) const DEFAULT_API_URL: &str = "https://api.github.com";

/// The pull request of this run, and what it takes to talk about it.
#[derive(Debug)]
pub(crate) struct PullRequest {
    /// The REST API's base URL, without a final slash.
    pub(crate) api_url: String,
    /// `owner/name`.
    pub(crate) repository: String,
    pub(crate) number: u64,
    /// `GITHUB_TOKEN`; `Secret` keeps it out of every `Debug`.
    pub(crate) token: Secret,
}

/// What kind of run this is.
#[derive(Debug)]
pub(crate) enum Context {
    /// A `pull_request` or `pull_request_target` run.
    PullRequest(PullRequest),
    /// Any other run, or no GitHub Actions at all: the event's name, if any.
    Other(Option<String>),
}

impl Context {
    /// Reads the run from the environment GitHub Actions sets (`env` looks a variable up).
    pub(crate) fn from_env(env: impl Fn(&str) -> Option<String>) -> Result<Context, GithubError> {
        let event = env("GITHUB_EVENT_NAME").filter(|e| !e.is_empty());
        if !matches!(
            event.as_deref(),
            Some("pull_request" | "pull_request_target")
        ) {
            return Ok(Context::Other(event));
        }
        let required = |name: &'static str| {
            env(name)
                .filter(|v| !v.trim().is_empty())
                .ok_or(GithubError::MissingEnvironment { name })
        };
        let event_path = PathBuf::from(required("GITHUB_EVENT_PATH")?);
        let repository = required("GITHUB_REPOSITORY")?;
        if !valid_repository(&repository) {
            return Err(GithubError::Environment {
                message: format!("GITHUB_REPOSITORY `{repository}` is not `owner/name`"),
            });
        }
        let token = Secret::new(required("GITHUB_TOKEN")?.trim());
        let api_url = env("GITHUB_API_URL")
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_API_URL.to_owned());
        let number = pull_request_number(&event_path)?;
        Ok(Context::PullRequest(PullRequest {
            api_url: api_url.trim().trim_end_matches('/').to_owned(),
            repository,
            number,
            token,
        }))
    }
}

/// `owner/name` with the characters GitHub allows: nothing that could change the URL's path.
fn valid_repository(repository: &str) -> bool {
    let ok = |part: &str| {
        !part.is_empty()
            && part != "."
            && part != ".."
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    matches!(repository.split_once('/'), Some((owner, name)) if ok(owner) && ok(name))
}

/// The pull request's number from the event payload (`pull_request.number`, or `number`).
fn pull_request_number(path: &std::path::Path) -> Result<u64, GithubError> {
    #[derive(Deserialize)]
    struct Event {
        number: Option<u64>,
        pull_request: Option<Numbered>,
    }
    #[derive(Deserialize)]
    struct Numbered {
        number: u64,
    }
    let failed = |reason: String| GithubError::Event {
        path: path.display().to_string(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| failed(e.to_string()))?;
    let event: Event = serde_json::from_str(&text).map_err(|e| failed(e.to_string()))?;
    event
        .pull_request
        .map(|p| p.number)
        .or(event.number)
        .ok_or_else(|| failed("it names no pull request number".into()))
}

const PERMISSION_HELP: &str = "give the job `permissions: pull-requests: write`; a pull request \
from a fork only gets a read-only token";

/// A failure to read the run or to talk to GitHub. No message ever holds the token.
#[derive(Debug, Error, Diagnostic)]
pub(crate) enum GithubError {
    /// A variable GitHub Actions sets on pull-request runs is missing.
    #[error("{name} is not set: cannot comment on the pull request")]
    #[diagnostic(
        code(tokenplan::github::missing_environment),
        help(
            "run in GitHub Actions and pass the token to the step: `env: GITHUB_TOKEN: ${{{{ github.token }}}}`"
        )
    )]
    MissingEnvironment { name: &'static str },
    /// A variable is set to something unusable.
    #[error("{message}")]
    #[diagnostic(code(tokenplan::github::environment))]
    Environment { message: String },
    /// The event payload cannot be read.
    #[error("cannot read the pull request from the event file {path}: {reason}")]
    #[diagnostic(code(tokenplan::github::event))]
    Event { path: String, reason: String },
    /// `GITHUB_API_URL` is plain http to a host off this machine.
    #[error(
        "the GitHub API URL {url} is plain http: the token would cross the network unencrypted"
    )]
    #[diagnostic(
        code(tokenplan::github::insecure_url),
        help("use https:// (plain http is only allowed on this machine)")
    )]
    InsecureUrl { url: String },
    /// The API cannot be reached.
    #[error("cannot reach the GitHub API at {url} to {action}: {reason}")]
    #[diagnostic(code(tokenplan::github::unreachable))]
    Unreachable {
        url: String,
        action: String,
        reason: String,
    },
    /// 401: the token is not valid.
    #[error("GitHub refused the token (401) when asked to {action}{detail}")]
    #[diagnostic(
        code(tokenplan::github::unauthorized),
        help("pass the job's token: `env: GITHUB_TOKEN: ${{{{ github.token }}}}`")
    )]
    Unauthorized { action: String, detail: String },
    /// 403 (or 404 on the pull request): the token may not do this.
    #[error("GitHub did not allow the token to {action} ({status}){detail}")]
    #[diagnostic(code(tokenplan::github::forbidden), help("{}", PERMISSION_HELP))]
    Forbidden {
        action: String,
        status: u16,
        detail: String,
    },
    /// 403 or 429 with the rate limit used up.
    #[error("GitHub's rate limit is used up: cannot {action}")]
    #[diagnostic(code(tokenplan::github::rate_limited), help("run the job again later"))]
    RateLimited { action: String },
    /// Any other failing status.
    #[error("GitHub answered {status} when asked to {action}{detail}")]
    #[diagnostic(code(tokenplan::github::http))]
    Status {
        action: String,
        status: u16,
        detail: String,
    },
    /// A success whose body is not what the API documents.
    #[error("GitHub's answer to {action} cannot be read: {reason}")]
    #[diagnostic(code(tokenplan::github::invalid_answer))]
    InvalidAnswer { action: String, reason: String },
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn context(vars: &[(&str, &str)]) -> Result<Context, GithubError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Context::from_env(|name| vars.get(name).cloned())
    }

    #[test]
    fn a_push_is_no_pull_request() {
        assert!(matches!(
            context(&[("GITHUB_EVENT_NAME", "push")]),
            Ok(Context::Other(Some(e))) if e == "push"
        ));
        assert!(matches!(context(&[]), Ok(Context::Other(None))));
    }

    #[test]
    fn a_pull_request_run_needs_its_variables() {
        let error = context(&[("GITHUB_EVENT_NAME", "pull_request")]).unwrap_err();
        assert!(error.to_string().contains("GITHUB_EVENT_PATH"), "{error}");
    }

    #[test]
    fn the_number_comes_from_the_event_and_the_url_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let event = dir.path().join("event.json");
        std::fs::write(
            &event,
            r#"{"action":"opened","pull_request":{"number":42}}"#,
        )
        .unwrap();
        let found = context(&[
            ("GITHUB_EVENT_NAME", "pull_request_target"),
            ("GITHUB_EVENT_PATH", event.to_str().unwrap()),
            ("GITHUB_REPOSITORY", "acme/app"),
            ("GITHUB_TOKEN", "ghs_secret"),
        ])
        .unwrap();
        let Context::PullRequest(pr) = found else {
            panic!("a pull request")
        };
        assert_eq!(
            (pr.number, pr.api_url.as_str()),
            (42, "https://api.github.com")
        );
        assert!(!format!("{pr:?}").contains("ghs_secret"));
    }

    #[test]
    fn repositories_cannot_reach_other_paths() {
        assert!(valid_repository("acme/app.web"));
        for bad in ["acme", "acme/app/x", "../x", "acme/..", "a b/c", "acme/"] {
            assert!(!valid_repository(bad), "{bad}");
        }
    }
}
