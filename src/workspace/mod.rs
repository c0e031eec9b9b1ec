//! Workspaces and their tokens: the [`Workspace`] trait every backend implements, the token model,
//! and what tokenplan may manage.

mod config;
pub(crate) mod embedded;
pub mod local;
pub(crate) mod remote;
pub(crate) mod sdk_sources;
pub(crate) mod secret;
pub(crate) mod selection;
pub mod state;
pub(crate) mod store;
pub(crate) mod wire;

use std::fmt;
use std::path::PathBuf;

use miette::Diagnostic;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::scope::{Scope, Scopes};
pub(crate) use config::WorkspaceConfig;
use remote::TransportError;
use state::{InvalidStateReason, LockInfo};

/// What a token is for, which decides whether deployments may touch it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    /// One of the tokens every workspace has (`Workspace admin token`, `Admin <email> token`,
    /// `User token`). Never changed by tokenplan.
    Default,
    /// Only resource scopes (DATASOURCES:READ/APPEND, PIPES:READ): created, updated and destroyed
    /// from TOKEN directives.
    Resource,
    /// Workspace or organization scopes (TOKENS, ADMIN, WORKSPACE:*, ORG_DATASOURCES:READ...),
    /// managed with `tokenplan token`, never by plan and apply.
    Workspace,
}

impl TokenKind {
    /// The lower-case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            TokenKind::Default => "default",
            TokenKind::Resource => "resource",
            TokenKind::Workspace => "workspace",
        }
    }

    /// The kind of a token from its name and scopes, for backends that do not record it.
    pub(crate) fn classify(name: &str, scopes: &Scopes) -> TokenKind {
        if is_default_token_name(name) {
            TokenKind::Default
        } else if !scopes.is_empty() && scopes.iter().all(Scope::is_resource) {
            TokenKind::Resource
        } else {
            TokenKind::Workspace
        }
    }
}

impl fmt::Display for TokenKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Name of the workspace's own admin token.
pub const WORKSPACE_ADMIN_TOKEN: &str = "Workspace admin token";
/// Name of the user token.
pub(crate) const USER_TOKEN: &str = "User token";

/// The name of the admin token of the user with this email.
pub(crate) fn admin_token_name(email: &str) -> String {
    format!("Admin {email} token")
}

/// True for the names of default tokens, which no TOKEN directive may use.
pub(crate) fn is_default_token_name(name: &str) -> bool {
    name == WORKSPACE_ADMIN_TOKEN
        || name == USER_TOKEN
        || (name.starts_with("Admin ")
            && name.ends_with(" token")
            && name.len() > "Admin  token".len())
}

/// A token as a workspace holds it. Its `Debug` hides the value.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Token {
    /// Stable id.
    pub id: String,
    /// Unique name.
    pub name: String,
    /// The secret value. Never printed unless the user asks with `--show-values`.
    pub value: String,
    /// Scopes, sorted.
    pub scopes: Scopes,
    /// What the token is for.
    pub kind: TokenKind,
    #[serde(default)]
    pub description: String,
    /// RFC 3339 creation time (empty when the backend does not say).
    #[serde(default)]
    pub created_at: String,
    /// RFC 3339 time of the last change.
    #[serde(default)]
    pub updated_at: String,
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("value", &"****")
            .field("scopes", &self.scopes)
            .field("kind", &self.kind)
            .field("description", &self.description)
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .finish()
    }
}

impl Token {
    /// True when plan and apply may change or destroy this token.
    pub(crate) fn is_managed(&self) -> bool {
        self.kind == TokenKind::Resource
    }
}

/// The tokens of a workspace at one moment.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Tokens sorted by name.
    pub tokens: Vec<Token>,
    /// The state's write counter, for backends that have one.
    pub serial: Option<u64>,
    /// The state's lineage id, for backends that have one; `None` for a state not written yet.
    pub lineage: Option<String>,
}

impl Snapshot {
    /// The token with this name.
    pub(crate) fn get(&self, name: &str) -> Option<&Token> {
        self.tokens
            .binary_search_by(|t| t.name.as_str().cmp(name))
            .ok()
            .map(|i| &self.tokens[i])
    }

    /// A hash of every (name, scopes) pair: what a saved plan was made against. Values, ids and
    /// times do not count.
    pub(crate) fn fingerprint(&self) -> String {
        fingerprint(self.tokens.iter().map(|t| (t.name.as_str(), &t.scopes)))
    }
}

/// A SHA-256 over `(name, scopes)` pairs sorted by name, hex-encoded.
pub(crate) fn fingerprint<'a>(pairs: impl Iterator<Item = (&'a str, &'a Scopes)>) -> String {
    let mut pairs: Vec<(&str, &Scopes)> = pairs.collect();
    pairs.sort_unstable();
    let mut hasher = Sha256::new();
    for (name, scopes) in pairs {
        // Length prefixes keep ("a", ["b"]) and ("ab", []) apart.
        hasher.update((name.len() as u64).to_le_bytes());
        hasher.update(name.as_bytes());
        hasher.update((scopes.len() as u64).to_le_bytes());
        for scope in scopes {
            hasher.update((scope.as_str().len() as u64).to_le_bytes());
            hasher.update(scope.as_str().as_bytes());
        }
    }
    hex(&hasher.finalize())
}

/// Lower-case hex of bytes.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// Which backend, and where, for plans and messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkspaceInfo {
    /// `embedded` or `remote`.
    pub kind: String,
    /// The state file path or the API host.
    pub location: String,
}

// Underlying errors are part of the messages and kept as typed fields rather than `#[source]`:
// miette prints an error's sources under it, so the same text would be shown twice.

/// A failure talking to a workspace.
#[derive(Debug, Error, Diagnostic)]
pub enum WorkspaceError {
    /// Another process holds the write lock.
    #[error("the workspace is locked by {}", locked_by(.holder))]
    #[diagnostic(
        code(tokenplan::workspace::locked),
        help("wait for it to finish; only one apply can write a workspace at a time")
    )]
    Locked {
        /// `None` when the holder has not written who it is yet. Boxed, as in `StaleLock`.
        holder: Option<Box<LockInfo>>,
    },

    /// A lock left behind by a process that is gone.
    #[error("the workspace lock is stale: {holder} did not finish")]
    #[diagnostic(
        code(tokenplan::workspace::stale_lock),
        help("check the workspace with `tokenplan plan`, then remove the lock with `{unlock}`")
    )]
    StaleLock {
        /// Boxed to keep results with this error small.
        holder: Box<LockInfo>,
        /// The command that breaks it.
        unlock: String,
    },

    /// The state file cannot be read or written.
    #[error("{action} {}: {error}", .path.display())]
    #[diagnostic(code(tokenplan::workspace::io))]
    Io {
        /// What was being done: "cannot read", "cannot write"...
        action: &'static str,
        path: PathBuf,
        error: std::io::Error,
    },

    /// The state file is not a tokenplan state, or a damaged one. It is never written to.
    #[error("{} is not a valid workspace state: {reason}", .path.display())]
    #[diagnostic(
        code(tokenplan::workspace::invalid_state),
        help(
            "tokenplan leaves it as it is: restore it from a backup, or move it away to start a new local workspace"
        )
    )]
    InvalidState {
        path: PathBuf,
        reason: InvalidStateReason,
    },

    /// SQLite failed on the state database (a full disk, no permission, a lock held too long).
    /// SQLite's error is the source, printed under this one.
    #[error("{action} the workspace database {}", .path.display())]
    #[diagnostic(
        code(tokenplan::workspace::database),
        help(
            "check the disk (free space, permissions); `tokenplan state verify` checks the database itself"
        )
    )]
    Database {
        /// What was being done: "cannot read", "cannot write"...
        action: &'static str,
        path: PathBuf,
        /// Boxed to keep results with this error small.
        #[source]
        error: Box<rusqlite::Error>,
    },

    /// A token that is not there.
    #[error("no token named `{name}`")]
    #[diagnostic(
        code(tokenplan::workspace::not_found),
        help(
            "check the name (it is case-sensitive); `tokenplan token ls` lists the workspace's tokens"
        )
    )]
    NotFound { name: String },

    /// `--workspace NAME` names no workspace of the state database.
    #[error("the state has no workspace named `{name}`")]
    #[diagnostic(
        code(tokenplan::workspace::unknown_workspace),
        help(
            "the workspaces of a state are those `tb --local` or `POST /v1/workspaces` made on `tokenplan local start`; check the name"
        )
    )]
    UnknownWorkspace { name: String },

    /// A token name that is taken.
    #[error("a token named `{name}` already exists")]
    #[diagnostic(
        code(tokenplan::workspace::conflict),
        help(
            "someone else (another apply, a person) may have made it meanwhile: `tokenplan plan` shows the workspace as it is now"
        )
    )]
    Conflict { name: String },

    /// A change the workspace refuses (bad scope, protected token...).
    #[error("{message}")]
    #[diagnostic(code(tokenplan::workspace::refused))]
    Refused {
        message: String,
        /// What to do instead.
        #[help]
        help: Option<String>,
    },

    /// A remote workspace failed; the message says what to do.
    #[error("{message}")]
    #[diagnostic(code(tokenplan::workspace::remote))]
    Remote {
        /// What happened.
        message: String,
        /// What to do.
        #[help]
        help: Option<String>,
    },

    /// The remote workspace does not know the token it was given (HTTP 401).
    #[error("{host} did not accept the token (401 unauthorized){detail}")]
    #[diagnostic(
        code(tokenplan::workspace::unauthorized),
        help(
            "check the token given with --token, TB_TOKEN or .tinyb: it must be a token of this workspace with the TOKENS or ADMIN scope (`tokenplan local start` lists its tokens at {host}/tokens)"
        )
    )]
    Unauthorized {
        /// The API host.
        host: String,
        /// The server's reason, `: reason`, or empty.
        detail: String,
    },

    /// The token may not manage tokens (HTTP 403).
    #[error("{host} refused to let this token {refused}")]
    #[diagnostic(
        code(tokenplan::workspace::forbidden),
        help(
            "the token needs the TOKENS or ADMIN scope: use the workspace admin token, or one made with `tokenplan token create static NAME --scope TOKENS`"
        )
    )]
    Forbidden {
        /// The API host.
        host: String,
        /// What was refused and the server's reason, e.g. `list tokens (403 forbidden): ...`.
        refused: String,
    },

    /// No connection to the remote workspace.
    #[error("cannot reach {host}: {error}")]
    #[diagnostic(
        code(tokenplan::workspace::unreachable),
        help(
            "check the host given with --host, TB_HOST or .tinyb; for a local workspace, is `tokenplan local start` running?"
        )
    )]
    Unreachable {
        /// The API host.
        host: String,
        error: TransportError,
    },

    /// The remote workspace did not answer in time.
    #[error("{message}")]
    #[diagnostic(code(tokenplan::workspace::timeout))]
    Timeout {
        /// Which host did not answer, within what time, doing what.
        message: String,
        /// What to do: a create or refresh may have happened.
        #[help]
        help: &'static str,
    },

    /// The remote workspace kept answering 429.
    #[error(
        "{host} is rate limiting requests (429 after {attempts} attempts) while trying to {action}"
    )]
    #[diagnostic(
        code(tokenplan::workspace::rate_limited),
        help("wait a minute and run the command again; changes already made are kept")
    )]
    RateLimited {
        /// The API host.
        host: String,
        /// What was being done.
        action: String,
        /// Requests sent.
        attempts: u32,
    },

    /// Plain `http://` to a host off this machine: the token would cross the network in clear
    /// text.
    #[error(
        "{host} is plain http:// to a host off this machine: the token would cross the network unencrypted"
    )]
    #[diagnostic(
        code(tokenplan::workspace::insecure_http),
        help(
            "use https://; if the network between here and {host} is trusted, pass --allow-insecure-http"
        )
    )]
    InsecureHttp {
        /// The API host.
        host: String,
    },

    /// Tinybird Local (`--local`) cannot be used.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Local(#[from] local::LocalError),

    /// The workspace settings (flags, environment, `.tinyb`) do not name a usable workspace.
    #[error("{message}")]
    #[diagnostic(code(tokenplan::workspace::config))]
    Config {
        /// What is wrong.
        message: String,
        /// How to fix it.
        #[help]
        help: Option<String>,
    },
}

/// Who holds a lock, for [`WorkspaceError::Locked`].
fn locked_by(holder: &Option<Box<LockInfo>>) -> String {
    holder
        .as_ref()
        .map_or_else(|| "another process".to_owned(), |h| h.to_string())
}

/// A place that holds tokens: the embedded state file, a Tinybird workspace over the Tokens API.
pub(crate) trait Workspace {
    /// Which backend and where.
    fn info(&self) -> WorkspaceInfo;

    /// Takes the exclusive write lock for `command` (a description for whoever finds it held).
    /// Backends without a lock accept at once.
    fn lock(&mut self, command: &str) -> Result<(), WorkspaceError>;

    /// The current tokens, sorted by name.
    fn snapshot(&mut self) -> Result<Snapshot, WorkspaceError>;

    /// The current state of one token, read afresh.
    fn get(&mut self, name: &str) -> Result<Option<Token>, WorkspaceError>;

    /// Creates a static token.
    fn create(
        &mut self,
        name: &str,
        scopes: &Scopes,
        kind: TokenKind,
        description: &str,
    ) -> Result<Token, WorkspaceError>;

    /// Replaces a token's scopes, keeping its value.
    fn replace_scopes(&mut self, name: &str, scopes: &Scopes) -> Result<Token, WorkspaceError>;

    fn delete(&mut self, name: &str) -> Result<(), WorkspaceError>;

    /// Gives a token a new value, keeping name and scopes.
    fn refresh(&mut self, name: &str) -> Result<Token, WorkspaceError>;

    /// Starts recording the changes that follow as one transaction, kept by
    /// [`Workspace::commit_batch`] and forgotten by [`Workspace::rollback_batch`] (or by a crash).
    /// Returns false for a backend that records each change on its own as it is made (a remote
    /// workspace); the other two calls then do nothing. Takes the lock when not taken yet.
    fn begin_batch(&mut self) -> Result<bool, WorkspaceError> {
        Ok(false)
    }

    /// Records every change since [`Workspace::begin_batch`], all at once and durably.
    fn commit_batch(&mut self) -> Result<(), WorkspaceError> {
        Ok(())
    }

    /// Forgets every change since [`Workspace::begin_batch`].
    fn rollback_batch(&mut self) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_from_names_and_scopes() {
        let s = |v: &[&str]| v.iter().copied().collect::<Scopes>();
        assert_eq!(
            TokenKind::classify("User token", &s(&[])),
            TokenKind::Default
        );
        assert_eq!(
            TokenKind::classify("Admin a@b.c token", &s(&["ADMIN"])),
            TokenKind::Default
        );
        assert_eq!(
            TokenKind::classify("x", &s(&["DATASOURCES:READ:e", "PIPES:READ:p"])),
            TokenKind::Resource
        );
        assert_eq!(
            TokenKind::classify("x", &s(&["DATASOURCES:READ:e", "TOKENS"])),
            TokenKind::Workspace
        );
        assert_eq!(TokenKind::classify("x", &s(&[])), TokenKind::Workspace);
    }

    #[test]
    fn fingerprint_ignores_order_but_not_content() {
        let a: Scopes = ["B", "A"].into_iter().collect();
        let none = Scopes::new();
        let one = fingerprint([("t", &a), ("u", &none)].into_iter());
        let two = fingerprint([("u", &none), ("t", &a)].into_iter());
        assert_eq!(one, two);
        let three = fingerprint([("t", &a)].into_iter());
        assert_ne!(one, three);
        // The hash of today's sorted scope strings, so saved plans stay valid.
        assert_eq!(
            fingerprint([("t", &a)].into_iter()),
            "cf4554e0da84ec4384c05257c1a2104bd864ab029dd5a97b81a09dda5b298bd6"
        );
    }
}
