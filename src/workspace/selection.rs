//! Which workspace a command uses: command-line flags beat the environment (`TB_HOST`,
//! `TB_TOKEN`), which beats a `.tinyb` file in the project folder or a parent; with none of them,
//! the embedded state file.
//!
//! A credential from one source (flags, environment, `.tinyb`) only ever goes to a host from the
//! same source: a `.tinyb` can be added by a pull request, and must not be able to send the CI's
//! `TB_TOKEN` to a host of its choosing. The one crossing allowed is the other way round: `.tinyb`
//! names its tokens by host, so `--host H` or `TB_HOST=H` may use the `.tinyb` token for `H`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::remote::{check_transport, normalize_host};
use super::secret::Secret;
use super::{WorkspaceConfig, WorkspaceError};

/// A host and a token from one source (flags or environment), each possibly missing.
#[derive(Debug, Clone, Default)]
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
    /// `--allow-insecure-http`: plain `http://` to a host off this machine.
    pub allow_insecure_http: bool,
}

/// Where a host or a token was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Flags,
    Environment,
    Tinyb,
}

impl Source {
    /// The names of the host and the token of this source, for messages.
    const fn names(self) -> (&'static str, &'static str) {
        match self {
            Source::Flags => ("--host", "--token"),
            Source::Environment => ("TB_HOST", "TB_TOKEN"),
            Source::Tinyb => ("`host` in .tinyb", "`token` in .tinyb"),
        }
    }
}

/// The chosen workspace and, for messages, where its host came from.
#[derive(Debug, Clone)]
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
    let (host, origin, source) = match (
        &input.flags.host,
        &input.env.host,
        tinyb.and_then(|t| t.content.host.as_ref()),
    ) {
        (Some(host), _, _) => (host, "--host".to_owned(), Source::Flags),
        (None, Some(host), _) => (host, "TB_HOST".to_owned(), Source::Environment),
        (None, None, Some(host)) => (host, tinyb_name.clone().unwrap_or_default(), Source::Tinyb),
        (None, None, None) => {
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
        Source::Tinyb => (None, flag_token.or(env_token)),
    };
    let token = match (other, own) {
        (Some(other), _) => return Err(mismatch(other, source, &host, &origin)),
        (None, Some(token)) => token.clone(),
        // `.tinyb` says which host each of its tokens is for.
        (None, None) => match tinyb.and_then(|t| t.content.token_for(&host)) {
            Some(token) => token,
            None => {
                let where_ =
                    tinyb_name.map_or(String::new(), |p| format!(" (nor in {p} for this host)"));
                let (_, token_name) = source.names();
                return Err(WorkspaceError::Config {
                    message: format!(
                        "no token for the workspace at {host} (from {origin}): {token_name} is not set{where_}"
                    ),
                    help: Some(match source {
                        Source::Flags => "pass --token with --host, or add the host to `tokens` in .tinyb; the token needs the TOKENS or ADMIN scope".into(),
                        Source::Environment => "set TB_TOKEN with TB_HOST, or add the host to `tokens` in .tinyb; the token needs the TOKENS or ADMIN scope".into(),
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
fn mismatch(token_source: Source, host_source: Source, host: &str, origin: &str) -> WorkspaceError {
    let (token_host, token_name) = token_source.names();
    let from = match token_source {
        Source::Flags => "the command line",
        Source::Environment | Source::Tinyb => "the environment",
    };
    let own = match host_source {
        Source::Flags => "pass --token with --host".to_owned(),
        Source::Environment => "set TB_TOKEN with TB_HOST and drop --token".to_owned(),
        Source::Tinyb => {
            let drop = match token_source {
                Source::Flags => "drop --token",
                Source::Environment | Source::Tinyb => "unset TB_TOKEN",
            };
            format!("{drop} to use the token {origin} holds for {host}")
        }
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
mod tests {
    use super::*;

    fn input(flags: Endpoint, env: Endpoint) -> SelectionInput {
        SelectionInput {
            flags,
            env,
            state_flag: None,
            default_state: PathBuf::from("p/.tokenplan/workspace.json"),
            admin_email: "a@b.c".into(),
            allow_insecure_http: false,
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
            WorkspaceConfig::Remote { host, token, .. } => (host.as_str(), token.expose()),
            WorkspaceConfig::Embedded { .. } => panic!("embedded"),
        }
    }

    #[test]
    fn nothing_set_means_the_embedded_workspace() {
        let selection =
            select(&input(Endpoint::default(), endpoint(Some(""), None)), None).unwrap();
        assert!(matches!(
            selection.config,
            WorkspaceConfig::Embedded { ref state, ref admin_email }
                if state == Path::new("p/.tokenplan/workspace.json") && admin_email == "a@b.c"
        ));
    }

    #[test]
    fn flags_beat_environment_beats_tinyb() {
        let file = tinyb(Some("https://file.example"), Some("p.file"), &[]);
        let both = input(
            endpoint(Some("https://flag:1"), Some("p.flag")),
            endpoint(Some("https://env:2"), Some("p.env")),
        );
        let chosen = select(&both, Some(&file)).unwrap();
        assert_eq!(remote(&chosen), ("https://flag:1", "p.flag"));
        assert_eq!(chosen.origin, "--host");

        let env_only = input(
            Endpoint::default(),
            endpoint(Some("https://env:2/"), Some("p.env")),
        );
        let chosen = select(&env_only, Some(&file)).unwrap();
        assert_eq!(remote(&chosen), ("https://env:2", "p.env"));
        assert_eq!(chosen.origin, "TB_HOST");

        let file_only = select(
            &input(Endpoint::default(), Endpoint::default()),
            Some(&file),
        )
        .unwrap();
        assert_eq!(remote(&file_only), ("https://file.example", "p.file"));
        assert_eq!(file_only.origin, "/p/.tinyb");
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
            endpoint(Some("https://elsewhere:1"), None),
            Endpoint::default(),
        );
        let error = select(&other, Some(&file)).unwrap_err();
        assert!(matches!(error, WorkspaceError::Config { .. }));
        assert!(
            error
                .to_string()
                .contains("no token for the workspace at https://elsewhere:1")
        );
    }

    #[test]
    fn credentials_only_go_to_a_host_from_their_own_source() {
        let host_only = tinyb(Some("http://127.0.0.1:9"), None, &[]);
        let with_token = tinyb(Some("http://127.0.0.1:9"), Some("p.file"), &[]);
        let refused = |input: &SelectionInput, file: Option<&FoundTinyb>, words: &[&str]| {
            let error = select(input, file).unwrap_err();
            assert!(matches!(error, WorkspaceError::Config { .. }), "{error:?}");
            let text = format!(
                "{error} {:?}",
                miette::Diagnostic::help(&error).map(|h| h.to_string())
            );
            for word in words {
                assert!(text.contains(word), "{word}: {text}");
            }
            assert!(
                !text.contains("p.env") && !text.contains("p.flag"),
                "{text}"
            );
        };
        let env_token = input(Endpoint::default(), endpoint(None, Some("p.env")));
        let flag_token = input(endpoint(None, Some("p.flag")), Endpoint::default());
        // A .tinyb host gets no token from the environment or the flags, even with its own.
        for file in [&host_only, &with_token] {
            refused(
                &env_token,
                Some(file),
                &["TB_TOKEN", "http://127.0.0.1:9", "/p/.tinyb"],
            );
            refused(
                &flag_token,
                Some(file),
                &["--token", "http://127.0.0.1:9", "/p/.tinyb"],
            );
        }
        // Flags and environment do not mix either.
        refused(
            &input(
                endpoint(Some("https://h:1"), None),
                endpoint(None, Some("p.env")),
            ),
            None,
            &["TB_TOKEN", "https://h:1", "--host"],
        );
        refused(
            &input(
                endpoint(None, Some("p.flag")),
                endpoint(Some("https://h:1"), Some("p.env")),
            ),
            None,
            &["--token", "https://h:1", "TB_HOST"],
        );
        // A complete pair of flags beats the environment.
        let both = input(
            endpoint(Some("https://flag:1"), Some("p.flag")),
            endpoint(None, Some("p.env")),
        );
        assert_eq!(
            remote(&select(&both, None).unwrap()),
            ("https://flag:1", "p.flag")
        );
        // .tinyb names its tokens by host: --host or TB_HOST may use the one for their host.
        let named = tinyb(None, None, &[("https://h:1", "p.file")]);
        for chosen in [
            input(endpoint(Some("https://h:1"), None), Endpoint::default()),
            input(Endpoint::default(), endpoint(Some("https://h:1"), None)),
        ] {
            assert_eq!(
                remote(&select(&chosen, Some(&named)).unwrap()),
                ("https://h:1", "p.file")
            );
        }
    }

    #[test]
    fn plain_http_off_this_machine_needs_the_flag() {
        let mut plain = input(
            endpoint(Some("http://10.0.0.7:7181"), Some("p.flag")),
            Endpoint::default(),
        );
        assert!(matches!(
            select(&plain, None),
            Err(WorkspaceError::InsecureHttp { .. })
        ));
        plain.allow_insecure_http = true;
        let chosen = select(&plain, None).unwrap();
        assert!(matches!(
            chosen.config,
            WorkspaceConfig::Remote {
                allow_insecure_http: true,
                ..
            }
        ));
    }

    #[test]
    fn state_flag_beats_environment_and_conflicts_with_host_flag() {
        let mut with_state = input(
            Endpoint::default(),
            endpoint(Some("https://env:2"), Some("p.env")),
        );
        with_state.state_flag = Some(PathBuf::from("s.json"));
        let chosen = select(&with_state, None).unwrap();
        assert!(
            matches!(chosen.config, WorkspaceConfig::Embedded { ref state, .. } if state == Path::new("s.json"))
        );
        with_state.flags.host = Some("https://flag:1".into());
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
