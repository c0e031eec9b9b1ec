//! Which workspace a command uses: command-line flags beat the environment (`TB_HOST`,
//! `TB_TOKEN`), which beats a `.tinyb` file in the project folder or a parent; with none of them,
//! the embedded state file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::remote::normalize_host;
use super::secret::Secret;
use super::{WorkspaceConfig, WorkspaceError};

/// A host and a token from one source (flags or environment), each possibly missing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Endpoint {
    /// The API base URL.
    pub host: Option<String>,
    pub token: Option<Secret>,
}

impl Endpoint {
    /// An endpoint from raw values, treating empty strings as missing (`TB_HOST=` unsets it).
    pub fn new(host: Option<String>, token: Option<String>) -> Endpoint {
        Endpoint {
            host: host.filter(|h| !h.trim().is_empty()),
            token: token.filter(|t| !t.trim().is_empty()).map(Secret::new),
        }
    }
}

/// The parts of a `.tinyb` file tokenplan reads. Its `Debug` hides the tokens.
#[derive(Clone, Default, Deserialize)]
pub struct Tinyb {
    /// The host it was written for.
    #[serde(default)]
    pub host: Option<String>,
    /// The token for `host`.
    #[serde(default)]
    pub token: Option<String>,
    /// Tokens by host.
    #[serde(default)]
    pub tokens: BTreeMap<String, String>,
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
pub struct FoundTinyb {
    pub path: PathBuf,
    pub content: Tinyb,
}

/// Looks for `.tinyb` in `start` and its parents.
pub fn find_tinyb(start: &Path) -> Result<Option<FoundTinyb>, WorkspaceError> {
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
pub struct SelectionInput {
    /// `--host`, `--token`.
    pub flags: Endpoint,
    /// `TB_HOST`, `TB_TOKEN`.
    pub env: Endpoint,
    /// `--state FILE`: asks for the embedded workspace in that file.
    pub state_flag: Option<PathBuf>,
    /// The embedded state file when none is given.
    pub default_state: PathBuf,
    /// For a new embedded workspace.
    pub admin_email: String,
}

/// The chosen workspace and, for messages, where its host came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    pub config: WorkspaceConfig,
    /// `--host`, `TB_HOST`, the `.tinyb` path, or `embedded`.
    pub origin: String,
}

/// Chooses the workspace. `tinyb` is the `.tinyb` file found from the project folder, if any.
pub fn select(
    input: &SelectionInput,
    tinyb: Option<&FoundTinyb>,
) -> Result<Selection, WorkspaceError> {
    let embedded = |state: PathBuf| Selection {
        config: WorkspaceConfig::Embedded {
            state,
            admin_email: input.admin_email.clone(),
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
    let (host, origin) = match (
        &input.flags.host,
        &input.env.host,
        tinyb.and_then(|t| t.content.host.as_ref()),
    ) {
        (Some(host), _, _) => (host, "--host".to_owned()),
        (None, Some(host), _) => (host, "TB_HOST".to_owned()),
        (None, None, Some(host)) => (host, tinyb_name.clone().unwrap_or_default()),
        (None, None, None) => {
            if input.flags.token.is_some() || input.env.token.is_some() {
                let from = if input.flags.token.is_some() {
                    "--token"
                } else {
                    "TB_TOKEN"
                };
                return Err(WorkspaceError::Config {
                    message: format!("{from} is set but no workspace host is"),
                    help: Some("pass --host URL, set TB_HOST, or write `host` in .tinyb; unset the token to use the embedded workspace".into()),
                });
            }
            return Ok(embedded(input.default_state.clone()));
        }
    };
    let host = normalize_host(host)?;
    let token = input
        .flags
        .token
        .clone()
        .or_else(|| input.env.token.clone())
        .or_else(|| tinyb.and_then(|t| t.content.token_for(&host)));
    let Some(token) = token else {
        let where_ = tinyb_name.map_or(String::new(), |p| format!(" (nor in {p} for this host)"));
        return Err(WorkspaceError::Config {
            message: format!("no token for the workspace at {host}: neither --token nor TB_TOKEN is set{where_}"),
            help: Some("pass --token, set TB_TOKEN, or add the host to `tokens` in .tinyb; the token needs the TOKENS or ADMIN scope".into()),
        });
    };
    Ok(Selection {
        config: WorkspaceConfig::Remote { host, token },
        origin,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(flags: Endpoint, env: Endpoint) -> SelectionInput {
        SelectionInput {
            flags,
            env,
            state_flag: None,
            default_state: PathBuf::from("p/.tokenplan/workspace.json"),
            admin_email: "a@b.c".into(),
        }
    }

    fn endpoint(host: Option<&str>, token: Option<&str>) -> Endpoint {
        Endpoint::new(host.map(str::to_owned), token.map(str::to_owned))
    }

    fn tinyb(host: Option<&str>, token: Option<&str>, tokens: &[(&str, &str)]) -> FoundTinyb {
        FoundTinyb {
            path: PathBuf::from("/p/.tinyb"),
            content: Tinyb {
                host: host.map(str::to_owned),
                token: token.map(str::to_owned),
                tokens: tokens
                    .iter()
                    .map(|(h, t)| (h.to_string(), t.to_string()))
                    .collect(),
            },
        }
    }

    fn remote(selection: &Selection) -> (&str, &str) {
        match &selection.config {
            WorkspaceConfig::Remote { host, token } => (host.as_str(), token.expose()),
            WorkspaceConfig::Embedded { .. } => panic!("embedded"),
        }
    }

    #[test]
    fn nothing_set_means_the_embedded_workspace() {
        let selection =
            select(&input(Endpoint::default(), endpoint(Some(""), None)), None).unwrap();
        assert_eq!(
            selection.config,
            WorkspaceConfig::Embedded {
                state: PathBuf::from("p/.tokenplan/workspace.json"),
                admin_email: "a@b.c".into()
            }
        );
    }

    #[test]
    fn flags_beat_environment_beats_tinyb() {
        let file = tinyb(Some("https://file.example"), Some("p.file"), &[]);
        let both = input(
            endpoint(Some("http://flag:1"), Some("p.flag")),
            endpoint(Some("http://env:2"), Some("p.env")),
        );
        let chosen = select(&both, Some(&file)).unwrap();
        assert_eq!(remote(&chosen), ("http://flag:1", "p.flag"));
        assert_eq!(chosen.origin, "--host");

        let env_only = input(
            Endpoint::default(),
            endpoint(Some("http://env:2/"), Some("p.env")),
        );
        let chosen = select(&env_only, Some(&file)).unwrap();
        assert_eq!(remote(&chosen), ("http://env:2", "p.env"));
        assert_eq!(chosen.origin, "TB_HOST");

        let file_only = select(
            &input(Endpoint::default(), Endpoint::default()),
            Some(&file),
        )
        .unwrap();
        assert_eq!(remote(&file_only), ("https://file.example", "p.file"));
        assert_eq!(file_only.origin, "/p/.tinyb");

        // A token flag with the host of .tinyb.
        let token_flag = input(endpoint(None, Some("p.flag")), Endpoint::default());
        assert_eq!(
            remote(&select(&token_flag, Some(&file)).unwrap()),
            ("https://file.example", "p.flag")
        );
    }

    #[test]
    fn tinyb_tokens_go_only_to_their_own_host() {
        let file = tinyb(
            Some("https://file.example"),
            Some("p.file"),
            &[("http://localhost:7181/", "p.local")],
        );
        let local = input(
            endpoint(Some("http://localhost:7181"), None),
            Endpoint::default(),
        );
        assert_eq!(
            remote(&select(&local, Some(&file)).unwrap()),
            ("http://localhost:7181", "p.local")
        );
        let other = input(
            endpoint(Some("http://elsewhere:1"), None),
            Endpoint::default(),
        );
        let error = select(&other, Some(&file)).unwrap_err();
        assert!(matches!(error, WorkspaceError::Config { .. }));
        assert!(
            error
                .to_string()
                .contains("no token for the workspace at http://elsewhere:1")
        );
    }

    #[test]
    fn state_flag_beats_environment_and_conflicts_with_host_flag() {
        let mut with_state = input(
            Endpoint::default(),
            endpoint(Some("http://env:2"), Some("p.env")),
        );
        with_state.state_flag = Some(PathBuf::from("s.json"));
        let chosen = select(&with_state, None).unwrap();
        assert!(
            matches!(chosen.config, WorkspaceConfig::Embedded { ref state, .. } if state == Path::new("s.json"))
        );
        with_state.flags.host = Some("http://flag:1".into());
        assert!(select(&with_state, None).is_err());
    }

    #[test]
    fn a_token_without_a_host_or_a_bad_host_is_an_error() {
        let error = select(
            &input(Endpoint::default(), endpoint(None, Some("p.env"))),
            None,
        )
        .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("TB_TOKEN is set but no workspace host is")
        );
        let error = select(
            &input(
                endpoint(Some("localhost:7181"), Some("t")),
                Endpoint::default(),
            ),
            None,
        )
        .unwrap_err();
        assert!(error.to_string().contains("not a workspace host URL"));
    }

    #[test]
    fn tinyb_is_found_in_a_parent_and_its_tokens_stay_hidden() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let nested = root.join("a/b");
        std::fs::create_dir_all(&nested).unwrap();
        assert!(
            find_tinyb(&nested)
                .unwrap()
                .is_none_or(|f| !f.path.starts_with(root))
        );
        std::fs::write(
            root.join(".tinyb"),
            r#"{"host": "http://localhost:7181", "token": "p.hidden", "user_email": "x"}"#,
        )
        .unwrap();
        let found = find_tinyb(&nested).unwrap().unwrap();
        assert_eq!(found.path, root.join(".tinyb"));
        assert!(!format!("{found:?}").contains("p.hidden"));
        std::fs::write(root.join("a/.tinyb"), "not json").unwrap();
        assert!(matches!(
            find_tinyb(&nested),
            Err(WorkspaceError::Config { .. })
        ));
    }
}
