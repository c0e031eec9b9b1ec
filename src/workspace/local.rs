//! `--local`: the workspace `tb --local` uses for a project, on Tinybird Local (or `tokenplan
//! local start`). As tb 5 does: the address is `http://$TB_LOCAL_HOST:$TB_LOCAL_PORT` (localhost
//! and 7181 by default), the tokens come from Local's `GET /tokens`, the workspaces are listed
//! with its admin token and created with its user token, and the project's workspace is
//! `Tinybird_Local_Build_<sha256 hex of the project's absolute path>`. No token from flags, the
//! environment or `.tinyb` is ever sent: `--local` is a credential source of its own.

use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use miette::Diagnostic;
use sha2::{Digest, Sha256};
use thiserror::Error;

use super::remote::{RemoteOptions, RemoteWorkspace, check_transport, query_string};
use super::secret::Secret;
use super::wire::{LocalTokens, WireWorkspaceList};
use super::{Snapshot, Token, TokenKind, Workspace, WorkspaceError, WorkspaceInfo};
use crate::scope::Scopes;

/// Tinybird Local's port when `TB_LOCAL_PORT` is unset.
pub(crate) const DEFAULT_LOCAL_PORT: u16 = 7181;

/// What can go wrong finding the project's workspace on Tinybird Local.
#[derive(Debug, Error, Diagnostic)]
pub enum LocalError {
    /// Nothing answers at the address.
    #[error("Tinybird Local is not running at {address}: {error}")]
    #[diagnostic(
        code(tokenplan::local::not_running),
        help(
            "start it with `tb local start` or `tokenplan local start`; if it listens elsewhere, set TB_LOCAL_HOST and TB_LOCAL_PORT as for tb"
        )
    )]
    NotRunning { address: String, error: String },

    /// `TB_LOCAL_PORT` is not a port.
    #[error("TB_LOCAL_PORT is `{value}`, not a port number")]
    #[diagnostic(
        code(tokenplan::local::port),
        help(
            "set TB_LOCAL_PORT to the port Tinybird Local listens on (7181 by default), or unset it"
        )
    )]
    Port { value: String },

    /// A change was asked of a workspace that does not exist yet, by a command that does not
    /// create it.
    #[error("Tinybird Local has no workspace {name} for this project yet")]
    #[diagnostic(
        code(tokenplan::local::missing_workspace),
        help("`tokenplan apply --local` creates it, as `tb --local build` does")
    )]
    MissingWorkspace { name: String },

    /// Local answered something other than what Tinybird Local answers.
    #[error("unexpected answer from Tinybird Local at {address} to {request}: {detail}")]
    #[diagnostic(
        code(tokenplan::local::unexpected_answer),
        help(
            "is it Tinybird Local (`tb local start`) or `tokenplan local start` listening there? restart it and try again"
        )
    )]
    Unexpected {
        address: String,
        request: &'static str,
        detail: String,
    },
}

/// Tinybird Local's address as tb computes it from `TB_LOCAL_HOST` and `TB_LOCAL_PORT` (looked up
/// with `var`), e.g. `http://localhost:7181`.
pub(crate) fn local_address(var: &dyn Fn(&str) -> Option<String>) -> Result<String, LocalError> {
    let host = var("TB_LOCAL_HOST").unwrap_or_else(|| "localhost".into());
    // tb strips a scheme the variable may carry.
    let host = host
        .strip_prefix("https://")
        .or_else(|| host.strip_prefix("http://"))
        .unwrap_or(&host)
        .to_owned();
    let port = match var("TB_LOCAL_PORT") {
        None => DEFAULT_LOCAL_PORT,
        Some(value) => value
            .trim()
            .parse::<u16>()
            .map_err(|_| LocalError::Port { value })?,
    };
    Ok(format!("http://{host}:{port}"))
}

/// The workspace `tb --local` uses for the project at `path` (absolute, as tb sees it).
pub fn build_workspace_name(path: &Path) -> String {
    let hash = Sha256::digest(path.to_string_lossy().as_bytes());
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("Tinybird_Local_Build_{hex}")
}

/// The workspace `tb --local` uses when run in the folder `project`, as tb 5 picks it: the
/// `name` of a `.tinyb` there (what `tb login` wrote), else the build workspace of the project
/// folder: a `tinybird.config.json` or `tinybird.json` here or above with `folder` (or `include`:
/// its own folder), else the `cwd` of the `.tinyb`, else the folder itself.
pub(crate) fn tb_workspace_name(project: &Path) -> String {
    // tb starts from `os.getcwd()`, which the kernel gives with symbolic links resolved.
    let start = std::fs::canonicalize(project)
        .or_else(|_| std::path::absolute(project))
        .unwrap_or_else(|_| project.to_path_buf());
    let tinyb = read_json(&start.join(".tinyb"));
    let text = |doc: &Option<serde_json::Value>, key: &str| {
        doc.as_ref()
            .and_then(|d| d.get(key))
            .and_then(|v| v.as_str())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    if let Some(name) = text(&tinyb, "name") {
        return name;
    }
    let folder = json_config_folder(&start).unwrap_or_else(|| {
        let cwd = text(&tinyb, "cwd").unwrap_or_else(|| ".".into());
        normalize(&start.join(cwd))
    });
    build_workspace_name(&folder)
}

fn read_json(path: &Path) -> Option<serde_json::Value> {
    serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
}

/// The project folder a `tinybird.config.json` (or `tinybird.json`) in `start` or above names.
fn json_config_folder(start: &Path) -> Option<PathBuf> {
    let config = start.ancestors().find_map(|dir| {
        ["tinybird.config.json", "tinybird.json"]
            .iter()
            .map(|name| dir.join(name))
            .find(|candidate| candidate.exists())
    })?;
    let raw = read_json(&config)?;
    let base = config.parent()?;
    if let Some(folder) = raw.get("folder").and_then(|v| v.as_str()).map(str::trim)
        && !folder.is_empty()
    {
        // As Python's `Path(base) / folder`: `.` parts dropped, `..` kept.
        let joined: PathBuf = base
            .join(folder)
            .components()
            .filter(|c| !matches!(c, Component::CurDir))
            .collect();
        return Some(joined);
    }
    let include = match raw.get("include") {
        Some(serde_json::Value::String(one)) => !one.trim().is_empty(),
        Some(serde_json::Value::Array(many)) => many
            .iter()
            .any(|e| e.as_str().is_some_and(|e| !e.trim().is_empty())),
        _ => false,
    };
    include.then(|| base.to_path_buf())
}

/// `os.path.normpath`: `.` parts dropped and `..` taken back, without reading the disk.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// The project's workspace on Tinybird Local: reached with its own token, or not there yet.
#[derive(Debug)]
pub(crate) struct LocalWorkspace {
    name: String,
    address: String,
    /// None when the workspace does not exist (a plan then creates everything).
    remote: Option<RemoteWorkspace>,
    /// This command created the workspace.
    created: bool,
}

/// A short connect timeout: Local is on this machine, and a missing one should fail at once.
fn agent() -> ureq::Agent {
    super::remote::token_agent(Duration::from_secs(30), Duration::from_secs(3))
}

struct Local {
    address: String,
    agent: ureq::Agent,
}

impl Local {
    fn unexpected(&self, request: &'static str, detail: impl Into<String>) -> LocalError {
        LocalError::Unexpected {
            address: self.address.clone(),
            request,
            detail: detail.into(),
        }
    }

    /// Sends a request (the token in the `Authorization` header, never in the URL) and reads a
    /// JSON answer.
    fn call<T: serde::de::DeserializeOwned>(
        &self,
        request: &'static str,
        post: bool,
        target: &str,
        token: Option<&Secret>,
    ) -> Result<T, LocalError> {
        let url = format!("{}{target}", self.address);
        let mut builder = ureq::http::Request::builder()
            .method(if post { "POST" } else { "GET" })
            .uri(&url)
            .header("Accept", "application/json");
        if let Some(token) = token {
            builder = builder.header("Authorization", format!("Bearer {}", token.expose()));
        }
        let built = builder
            .body(())
            .map_err(|e| self.unexpected(request, e.to_string()))?;
        let mut response = self.agent.run(built).map_err(|e| match e {
            ureq::Error::Io(_) | ureq::Error::ConnectionFailed | ureq::Error::HostNotFound => {
                LocalError::NotRunning {
                    address: self.address.clone(),
                    error: e.to_string(),
                }
            }
            other => self.unexpected(request, other.to_string()),
        })?;
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(16 * 1024 * 1024)
            .read_to_string()
            .map_err(|e| self.unexpected(request, e.to_string()))?;
        if !(200..300).contains(&status) {
            let message = serde_json::from_str::<super::wire::WireError>(&body)
                .map(|e| e.error)
                .unwrap_or_else(|_| format!("HTTP {status}"));
            return Err(self.unexpected(request, format!("HTTP {status}: {message}")));
        }
        serde_json::from_str(&body).map_err(|e| self.unexpected(request, e.to_string()))
    }
}

impl LocalWorkspace {
    /// Finds the workspace `name` on Local at `address`; creates it when missing and `create` is
    /// set (apply, `token create`), else leaves it missing (plan).
    pub(crate) fn open(
        address: &str,
        name: &str,
        create: bool,
        allow_insecure_http: bool,
    ) -> Result<LocalWorkspace, WorkspaceError> {
        check_transport(address, allow_insecure_http)?;
        let local = Local {
            address: address.to_owned(),
            agent: agent(),
        };
        let tokens: LocalTokens = local.call("GET /tokens", false, "/tokens", None)?;
        let admin = Secret::new(tokens.admin_token);
        let user = Secret::new(tokens.user_token);
        let list = |local: &Local| -> Result<WireWorkspaceList, LocalError> {
            local.call(
                "GET /v1/user/workspaces",
                false,
                "/v1/user/workspaces?with_organization=true",
                Some(&admin),
            )
        };
        let listed = list(&local)?;
        let mut found = listed.workspaces.into_iter().find(|w| w.name == name);
        let created = found.is_none() && create;
        if created {
            let mut pairs = vec![("name", name)];
            if let Some(organization) = &listed.organization_id {
                pairs.push(("assign_to_organization_id", organization));
            }
            let target = format!("/v1/workspaces{}", query_string(&pairs));
            local.call::<serde_json::Value>("POST /v1/workspaces", true, &target, Some(&user))?;
            found = list(&local)?
                .workspaces
                .into_iter()
                .find(|w| w.name == name);
            if found.is_none() {
                return Err(local
                    .unexpected("POST /v1/workspaces", "the new workspace is not listed")
                    .into());
            }
        }
        let remote = match found {
            Some(workspace) => Some(RemoteWorkspace::new(
                address,
                Secret::new(workspace.token),
                RemoteOptions {
                    allow_insecure_http,
                    ..RemoteOptions::default()
                },
            )?),
            None => None,
        };
        Ok(LocalWorkspace {
            name: name.to_owned(),
            address: address.to_owned(),
            remote,
            created,
        })
    }

    /// True when the workspace is there (a plan against a missing one creates everything).
    pub(crate) fn exists(&self) -> bool {
        self.remote.is_some()
    }

    fn remote(&mut self) -> Result<&mut RemoteWorkspace, WorkspaceError> {
        let name = self.name.clone();
        self.remote
            .as_mut()
            .ok_or_else(|| LocalError::MissingWorkspace { name }.into())
    }
}

impl Workspace for LocalWorkspace {
    fn info(&self) -> WorkspaceInfo {
        let missing = if self.exists() {
            ""
        } else {
            ", not created yet"
        };
        WorkspaceInfo {
            kind: "local".into(),
            location: format!(
                "{} at {} (Tinybird Local{missing})",
                self.name, self.address
            ),
        }
    }

    fn lock(&mut self, command: &str) -> Result<(), WorkspaceError> {
        self.remote()?.lock(command)
    }

    fn snapshot(&mut self) -> Result<Snapshot, WorkspaceError> {
        match &mut self.remote {
            // A workspace this command just created holds only Local's default tokens, which
            // deployments never touch: without them the snapshot is the empty one a plan saw
            // while the workspace was missing, so a plan saved then still holds.
            Some(remote) if self.created => {
                let mut snapshot = remote.snapshot()?;
                snapshot.tokens.retain(|t| t.kind != TokenKind::Default);
                Ok(snapshot)
            }
            Some(remote) => remote.snapshot(),
            None => Ok(Snapshot {
                tokens: Vec::new(),
                serial: None,
                lineage: None,
            }),
        }
    }

    fn get(&mut self, name: &str) -> Result<Option<Token>, WorkspaceError> {
        match &mut self.remote {
            Some(remote) => remote.get(name),
            None => Ok(None),
        }
    }

    fn create(
        &mut self,
        name: &str,
        scopes: &Scopes,
        kind: TokenKind,
        description: &str,
    ) -> Result<Token, WorkspaceError> {
        self.remote()?.create(name, scopes, kind, description)
    }

    fn replace_scopes(&mut self, name: &str, scopes: &Scopes) -> Result<Token, WorkspaceError> {
        self.remote()?.replace_scopes(name, scopes)
    }

    fn delete(&mut self, name: &str) -> Result<(), WorkspaceError> {
        self.remote()?.delete(name)
    }

    fn refresh(&mut self, name: &str) -> Result<Token, WorkspaceError> {
        self.remote()?.refresh(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_address_and_name_are_tbs() {
        let none = |_: &str| None;
        assert_eq!(local_address(&none).unwrap(), "http://localhost:7181");
        let set = |name: &str| match name {
            "TB_LOCAL_HOST" => Some("http://127.0.0.1".to_owned()),
            "TB_LOCAL_PORT" => Some("9000".to_owned()),
            _ => None,
        };
        assert_eq!(local_address(&set).unwrap(), "http://127.0.0.1:9000");
        let bad = |name: &str| (name == "TB_LOCAL_PORT").then(|| "x".to_owned());
        assert!(matches!(local_address(&bad), Err(LocalError::Port { .. })));
        // hashlib.sha256(b"/tmp/tbp/proj").hexdigest(), as tb 5 computes it.
        assert_eq!(
            build_workspace_name(Path::new("/tmp/tbp/proj")),
            "Tinybird_Local_Build_42fa12097c216d83e02571485d42f9b59e67aa98314a02748312521c37534ed1"
        );
    }

    #[test]
    fn tinyb_and_json_configs_pick_the_name_as_tb_does() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let project = root.join("p");
        std::fs::create_dir_all(project.join("sub")).unwrap();
        assert_eq!(tb_workspace_name(&project), build_workspace_name(&project));
        std::fs::write(project.join(".tinyb"), r#"{"cwd": "sub/.."}"#).unwrap();
        assert_eq!(tb_workspace_name(&project), build_workspace_name(&project));
        std::fs::write(project.join(".tinyb"), r#"{"cwd": "./sub"}"#).unwrap();
        assert_eq!(
            tb_workspace_name(&project),
            build_workspace_name(&project.join("sub"))
        );
        std::fs::write(root.join("tinybird.json"), r#"{"include": ["x.ts"]}"#).unwrap();
        assert_eq!(tb_workspace_name(&project), build_workspace_name(&root));
        std::fs::write(
            project.join("tinybird.config.json"),
            r#"{"folder": "./sub"}"#,
        )
        .unwrap();
        assert_eq!(
            tb_workspace_name(&project),
            build_workspace_name(&project.join("sub"))
        );
        std::fs::write(project.join(".tinyb"), r#"{"name": "my_ws", "token": "t"}"#).unwrap();
        assert_eq!(tb_workspace_name(&project), "my_ws");
    }
}
