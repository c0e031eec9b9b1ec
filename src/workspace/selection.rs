//! Which workspace a command uses: command-line flags beat the environment (`TB_HOST`,
//! `TB_TOKEN`), which beats a `.tinyb` file in the project folder or a parent; with none of them,
//! the embedded state file.
//!
//! A credential from one source (flags, environment, `.tinyb`) only ever goes to a host from the
//! same source: a `.tinyb` can be added by a pull request, and must not be able to send the CI's
//! `TB_TOKEN` to a host of its choosing. The one crossing allowed is the other way round: `.tinyb`
//! names its tokens by host, so `--host H` or `TB_HOST=H` may use the `.tinyb` token for `H`.
//!
//! An SDK project adds its own sources between the environment and `.tinyb`
//! ([`super::sdk_sources`]): `TINYBIRD_URL`/`TINYBIRD_TOKEN` in the environment, then in
//! `.env.local`, then a config's literal `baseUrl`/`token`, each again a pair from one place.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::remote::{check_transport, normalize_host};
use super::secret::Secret;
use super::{WorkspaceConfig, WorkspaceError};

/// A host and a token from one source (flags or environment), each possibly missing.
#[derive(Debug, Clone, Default)]
pub(crate) struct Endpoint {
    /// The API base URL.
    pub(crate) host: Option<String>,
    pub(crate) token: Option<Secret>,
}

impl Endpoint {
    /// An endpoint from raw values, treating empty strings as missing (`TB_HOST=` unsets it).
    pub(crate) fn new(host: Option<String>, token: Option<String>) -> Endpoint {
        Endpoint {
            host: host.filter(|h| !h.trim().is_empty()),
            token: token.filter(|t| !t.trim().is_empty()).map(Secret::new),
        }
    }
}

/// A host and a token from one place an SDK project names, with their names for messages.
#[derive(Debug, Clone)]
pub(crate) struct NamedEndpoint {
    pub(crate) endpoint: Endpoint,
    /// `TINYBIRD_URL`, `TINYBIRD_URL in app/.env.local`, `` `baseUrl` in app/tinybird.json ``.
    pub(crate) host_name: String,
    /// `TINYBIRD_TOKEN`, ...
    pub(crate) token_name: String,
    /// `the environment`, `app/.env.local`, `app/tinybird.json`.
    pub(crate) place: String,
}

/// The parts of a `.tinyb` file tokenplan reads. Its `Debug` hides the tokens.
#[derive(Clone, Default, Deserialize)]
pub(crate) struct Tinyb {
    /// The host it was written for.
    #[serde(default)]
    pub(crate) host: Option<String>,
    /// The token for `host`.
    #[serde(default)]
    pub(crate) token: Option<String>,
    /// Tokens by host.
    #[serde(default)]
    pub(crate) tokens: BTreeMap<String, String>,
}

impl std::fmt::Debug for Tinyb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tinyb")
            .field("host", &self.host)
            .field("hosts_with_tokens", &self.tokens.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Tinyb {
    /// The token this file holds for `host`: from `tokens`, or `token` when `host` is the file's
    /// own host. A token is never sent to a host the file does not name it for.
    fn token_for(&self, host: &str) -> Option<Secret> {
        let same = |other: &str| other.trim().trim_end_matches('/') == host;
        self.tokens
            .iter()
            .find(|(h, _)| same(h))
            .map(|(_, t)| t.clone())
            .or_else(|| {
                self.token
                    .clone()
                    .filter(|_| self.host.as_deref().is_some_and(same))
            })
            .filter(|t| !t.trim().is_empty())
            .map(Secret::new)
    }
}

/// A `.tinyb` file found and read.
#[derive(Debug, Clone)]
pub(crate) struct FoundTinyb {
    pub(crate) path: PathBuf,
    pub(crate) content: Tinyb,
}

/// Looks for `.tinyb` in `start` and its parents.
pub(crate) fn find_tinyb(start: &Path) -> Result<Option<FoundTinyb>, WorkspaceError> {
    let start = std::path::absolute(start).unwrap_or_else(|_| start.to_path_buf());
    for folder in start.ancestors() {
        let path = folder.join(".tinyb");
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) if e.kind() == std::io::ErrorKind::IsADirectory => continue,
            Err(error) => {
                return Err(WorkspaceError::Io {
                    action: "cannot read",
                    path,
                    error,
                });
            }
        };
        let content: Tinyb = serde_json::from_str(&text).map_err(|e| WorkspaceError::Config {
            message: format!("{} is not a valid .tinyb file: {e}", path.display()),
            help: Some(
                "it must be a JSON object with `host` and `token` (and optionally `tokens`)".into(),
            ),
        })?;
        return Ok(Some(FoundTinyb { path, content }));
    }
    Ok(None)
}

/// Everything the choice depends on, as plain values.
#[derive(Debug, Clone)]
pub(crate) struct SelectionInput {
    /// `--host`, `--token`.
    pub(crate) flags: Endpoint,
    /// `TB_HOST`, `TB_TOKEN`.
    pub(crate) env: Endpoint,
    /// An SDK project's own sources, in order (none for a datafile project).
    pub(crate) sdk: Vec<NamedEndpoint>,
    /// `--state FILE`: asks for the embedded workspace in that file.
    pub(crate) state_flag: Option<PathBuf>,
    /// The embedded state file when none is given.
    pub(crate) default_state: PathBuf,
    /// For a new embedded workspace.
    pub(crate) admin_email: String,
    /// `--allow-insecure-http`: plain `http://` to a host off this machine.
    pub(crate) allow_insecure_http: bool,
}

/// Where a host or a token was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Flags,
    Environment,
    /// The SDK project's source at this index of [`SelectionInput::sdk`].
    Sdk(usize),
    Tinyb,
}

impl Source {
    /// The names of the host and the token of this source, for messages.
    fn names(self, input: &SelectionInput) -> (&str, &str) {
        match self {
            Source::Flags => ("--host", "--token"),
            Source::Environment => ("TB_HOST", "TB_TOKEN"),
            Source::Sdk(i) => (&input.sdk[i].host_name, &input.sdk[i].token_name),
            Source::Tinyb => ("`host` in .tinyb", "`token` in .tinyb"),
        }
    }
}

/// The chosen workspace and, for messages, where its host came from.
#[derive(Debug, Clone)]
pub(crate) struct Selection {
    pub(crate) config: WorkspaceConfig,
    /// `--host`, `TB_HOST`, the `.tinyb` path, or `embedded`.
    pub(crate) origin: String,
}

/// Chooses the workspace. `tinyb` is the `.tinyb` file found from the project folder, if any.
pub(crate) fn select(
    input: &SelectionInput,
    tinyb: Option<&FoundTinyb>,
) -> Result<Selection, WorkspaceError> {
    let embedded = |state: PathBuf| Selection {
        config: WorkspaceConfig::Embedded {
            state,
            admin_email: input.admin_email.clone(),
            workspace: None,
        },
        origin: "embedded".into(),
    };
    if let Some(state) = &input.state_flag {
        if input.flags.host.is_some() {
            return Err(WorkspaceError::Config {
                message: "--state and --host name two different workspaces".into(),
                help: Some(
                    "--state is for the embedded workspace, --host for a remote one: pass only one"
                        .into(),
                ),
            });
        }
        // A flag beats the environment and .tinyb.
        return Ok(embedded(state.clone()));
    }
    let tinyb_name = tinyb.map(|t| t.path.display().to_string());
    let sdk_host = input
        .sdk
        .iter()
        .enumerate()
        .find_map(|(i, s)| s.endpoint.host.as_ref().map(|host| (i, host)));
    let (host, origin, source) = match (
        &input.flags.host,
        &input.env.host,
        sdk_host,
        tinyb.and_then(|t| t.content.host.as_ref()),
    ) {
        (Some(host), _, _, _) => (host, "--host".to_owned(), Source::Flags),
        (None, Some(host), _, _) => (host, "TB_HOST".to_owned(), Source::Environment),
        (None, None, Some((i, host)), _) => (host, input.sdk[i].host_name.clone(), Source::Sdk(i)),
        (None, None, None, Some(host)) => {
            (host, tinyb_name.clone().unwrap_or_default(), Source::Tinyb)
        }
        (None, None, None, None) => {
            if input.flags.token.is_some() || input.env.token.is_some() {
                let from = if input.flags.token.is_some() {
                    "--token"
                } else {
                    "TB_TOKEN"
                };
                return Err(WorkspaceError::Config {
                    message: format!("{from} is set but no workspace host is"),
                    help: Some("pass --host URL with --token, or set TB_HOST with TB_TOKEN; unset the token to use the embedded workspace".into()),
                });
            }
            if let Some(sdk) = input.sdk.iter().find(|s| s.endpoint.token.is_some()) {
                return Err(WorkspaceError::Config {
                    message: format!(
                        "{} is set but no workspace host is ({} is not)",
                        sdk.token_name, sdk.host_name
                    ),
                    help: Some(format!(
                        "set {} with {}: a token only goes to a host from the same place (a config's `baseUrl` never gets a token from elsewhere); or pass --state FILE to plan against the embedded workspace",
                        sdk.host_name, sdk.token_name
                    )),
                });
            }
            return Ok(embedded(input.default_state.clone()));
        }
    };
    let host = normalize_host(host)?;
    check_transport(&host, input.allow_insecure_http)?;
    // The token of the host's own source, or the other source whose token may not go there.
    // Flags beat the environment: with --host and --token, TB_TOKEN is not used.
    let flag_token = input.flags.token.as_ref().map(|_| Source::Flags);
    let env_token = input.env.token.as_ref().map(|_| Source::Environment);
    let (own, other) = match source {
        Source::Flags => (
            input.flags.token.as_ref(),
            env_token.filter(|_| input.flags.token.is_none()),
        ),
        Source::Environment => (input.env.token.as_ref(), flag_token),
        // An SDK token found before this host's place was meant for another host.
        Source::Sdk(i) => (
            input.sdk[i].endpoint.token.as_ref(),
            flag_token.or(env_token).or_else(|| {
                input.sdk[..i]
                    .iter()
                    .position(|s| s.endpoint.token.is_some())
                    .map(Source::Sdk)
            }),
        ),
        // SDK tokens without a host of their own are the SDK's business: not a conflict.
        Source::Tinyb => (None, flag_token.or(env_token)),
    };
    let token = match (other, own) {
        (Some(other), _) => return Err(mismatch(other, source, &host, &origin, input)),
        (None, Some(token)) => token.clone(),
        // `.tinyb` says which host each of its tokens is for; an SDK place's host takes only
        // that place's token.
        (None, None) => match tinyb
            .filter(|_| !matches!(source, Source::Sdk(_)))
            .and_then(|t| t.content.token_for(&host))
        {
            Some(token) => token,
            None => {
                let where_ = match source {
                    Source::Sdk(_) => String::new(),
                    Source::Flags | Source::Environment | Source::Tinyb => {
                        tinyb_name.map_or(String::new(), |p| format!(" (nor in {p} for this host)"))
                    }
                };
                let (host_name, token_name) = source.names(input);
                return Err(WorkspaceError::Config {
                    message: format!(
                        "no token for the workspace at {host} (from {origin}): {token_name} is not set{where_}"
                    ),
                    help: Some(match source {
                        Source::Flags => "pass --token with --host, or add the host to `tokens` in .tinyb; the token needs the TOKENS or ADMIN scope".into(),
                        Source::Environment => "set TB_TOKEN with TB_HOST, or add the host to `tokens` in .tinyb; the token needs the TOKENS or ADMIN scope".into(),
                        Source::Sdk(_) => format!("set {token_name} with {host_name}; the token needs the TOKENS or ADMIN scope"),
                        Source::Tinyb => "write the host's token in .tinyb (`token`, or `tokens` by host), or pass both --host and --token; the token needs the TOKENS or ADMIN scope".into(),
                    }),
                });
            }
        },
    };
    Ok(Selection {
        config: WorkspaceConfig::Remote {
            host,
            token,
            allow_insecure_http: input.allow_insecure_http,
        },
        origin,
    })
}

/// The error for a token of one source with a host of another.
fn mismatch(
    token_source: Source,
    host_source: Source,
    host: &str,
    origin: &str,
    input: &SelectionInput,
) -> WorkspaceError {
    let (token_host, token_name) = token_source.names(input);
    let from = match token_source {
        Source::Flags => "the command line",
        Source::Environment | Source::Tinyb => "the environment",
        Source::Sdk(i) => &input.sdk[i].place,
    };
    let drop = match token_source {
        Source::Flags => "drop --token".to_owned(),
        Source::Environment | Source::Tinyb => "unset TB_TOKEN".to_owned(),
        Source::Sdk(_) => format!("remove {token_name}"),
    };
    let own = match host_source {
        Source::Flags => "pass --token with --host".to_owned(),
        Source::Environment => "set TB_TOKEN with TB_HOST and drop --token".to_owned(),
        Source::Sdk(i) => format!(
            "set {} with {} and {drop}",
            input.sdk[i].token_name, input.sdk[i].host_name
        ),
        Source::Tinyb => format!("{drop} to use the token {origin} holds for {host}"),
    };
    WorkspaceError::Config {
        message: format!(
            "{token_name} is set, but the workspace host {host} comes from {origin}: a token from {from} is only sent to a host from {from}"
        ),
        help: Some(format!(
            "give {token_host} with {token_name}, naming the workspace the token is for; or {own}"
        )),
    }
}

#[cfg(test)]
#[path = "selection_tests.rs"]
mod tests;
