//! Which workspace a command uses, as plain configuration, and opening it.

use super::secret::Secret;
use super::{Workspace, WorkspaceError, embedded, local, remote};

/// Which workspace to use, as plain configuration.
#[derive(Debug, Clone)]
pub(crate) enum WorkspaceConfig {
    /// The embedded workspace in a state file.
    Embedded {
        /// The state file.
        state: std::path::PathBuf,
        /// Email in the name of the default admin token of a new workspace.
        admin_email: String,
        /// One of the database's workspaces by name (`--workspace`); the first one when unset.
        workspace: Option<String>,
    },
    /// The project's workspace on Tinybird Local (`--local`), as `tb --local` finds it.
    Local {
        /// Local's address, e.g. `http://localhost:7181`.
        address: String,
        /// The workspace's name.
        name: String,
        /// Create the workspace when missing (apply, `token create`; never plan).
        create: bool,
        /// Plain `http://` is allowed to a host off this machine.
        allow_insecure_http: bool,
    },
    /// A Tinybird workspace (or `tokenplan local start`) over the Tokens API.
    Remote {
        /// The API base URL, e.g. `https://api.tinybird.co` or `http://localhost:7181`.
        host: String,
        /// A token with the TOKENS or ADMIN scope.
        token: Secret,
        /// Plain `http://` is allowed to a host off this machine.
        allow_insecure_http: bool,
    },
}

impl WorkspaceConfig {
    /// Opens the workspace. `unlock_command` is the command line that breaks a stale lock, for
    /// messages.
    pub(crate) fn open(&self, unlock_command: &str) -> Result<Box<dyn Workspace>, WorkspaceError> {
        match self {
            WorkspaceConfig::Embedded {
                state,
                admin_email,
                workspace,
            } => {
                let mut opened =
                    embedded::EmbeddedWorkspace::open(state, admin_email, unlock_command)?;
                if let Some(name) = workspace {
                    opened.use_workspace(name)?;
                }
                Ok(Box::new(opened))
            }
            WorkspaceConfig::Local {
                address,
                name,
                create,
                allow_insecure_http,
            } => {
                let workspace =
                    local::LocalWorkspace::open(address, name, *create, *allow_insecure_http)?;
                if !workspace.exists() {
                    // A note rather than an error: the plan is then "create everything".
                    let line = format!(
                        "Note: Tinybird Local has no workspace {name} for this project yet: \
                         every token is to create, and `tokenplan apply --local` creates it."
                    );
                    eprintln!("{}", crate::text::escape_controls(&line));
                }
                Ok(Box::new(workspace))
            }
            WorkspaceConfig::Remote {
                host,
                token,
                allow_insecure_http,
            } => Ok(Box::new(remote::RemoteWorkspace::new(
                host,
                token.clone(),
                remote::RemoteOptions {
                    allow_insecure_http: *allow_insecure_http,
                    ..remote::RemoteOptions::default()
                },
            )?)),
        }
    }
}
