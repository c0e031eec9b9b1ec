//! `tokenplan local start`: a local workspace served over the Tinybird Tokens API, on the same
//! state database as the embedded workspace. It holds the state's write lock while it runs,
//! checks every request's token, commits each change durably before answering, and logs requests
//! without secrets.
//!
//! Here: startup, taking over a dead server's lock, configuration and the public API; requests
//! and responses are in `http`, tokens in `auth`, routes in `handlers`, the writer thread and the
//! readers in `database`, and which requests are answered at all (the host they name, DNS
//! rebinding) in `guard`.

mod auth;
mod database;
mod guard;
mod handlers;
mod http;
mod workspaces;

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use miette::Diagnostic;
use thiserror::Error;

use crate::workspace::secret::{
    Secret, new_signing_key, now_rfc3339, same_secret, token_value, uuid_v4,
};
use crate::workspace::state::{LockInfo, State, StateLock};
use crate::workspace::store::{Creation, DEFAULT_WORKSPACE, StatePaths, Store, exists, legacy};
use crate::workspace::{USER_TOKEN, WORKSPACE_ADMIN_TOKEN, WorkspaceError};
use database::{Readers, Writer};
use handlers::{App, router};
use http::log_line;

/// The port Tinybird Local listens on.
pub(crate) const DEFAULT_PORT: u16 = 7181;

/// Size limits and the shutdown grace period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    /// The largest request body accepted.
    pub(crate) body_bytes: usize,
    /// The longest query string accepted.
    pub(crate) query_bytes: usize,
    /// The longest name accepted for a token.
    pub(crate) name_chars: usize,
    /// How long a stop waits for requests in flight.
    pub(crate) shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            body_bytes: 64 * 1024,
            query_bytes: 16 * 1024,
            name_chars: 256,
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// How to run the server.
#[derive(Debug, Clone)]
pub(crate) struct ServerConfig {
    pub(crate) bind: IpAddr,
    /// 0 picks a free port.
    pub(crate) port: u16,
    /// The state file.
    pub(crate) state: PathBuf,
    /// Email in the name of the default admin token of a new workspace.
    pub(crate) admin_email: String,
    /// Becomes the value of the `Workspace admin token`.
    pub(crate) workspace_token: Option<Secret>,
    /// Becomes the value of the `User token`.
    pub(crate) user_token: Option<Secret>,
    /// The workspace, by name, whose `Workspace admin token` `GET /tokens` gives and
    /// `workspace_token` sets; created at start when missing. The first one when unset.
    pub(crate) workspace: Option<String>,
    pub(crate) limits: Limits,
}

/// What a started server tells its caller.
#[derive(Debug, Clone)]
pub(crate) struct Ready {
    /// The address actually bound.
    pub(crate) address: SocketAddr,
    /// The state database.
    pub(crate) state: PathBuf,
    /// True when the state database was created now.
    pub(crate) created: bool,
    /// Who held the lock the server took over (a server that died), if anyone.
    pub(crate) took_over: Option<LockInfo>,
}

// The underlying errors below are part of the message, as before, and kept as typed fields
// rather than `#[source]`: miette prints an error's sources under it, so the same text would be
// shown twice.

/// Why the server could not start or stopped with an error.
#[derive(Debug, Error, Diagnostic)]
pub(crate) enum ServerError {
    /// The state file or its lock.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Workspace(#[from] WorkspaceError),

    /// The address cannot be listened on.
    #[error("cannot listen on {address}: {error}")]
    #[diagnostic(
        code(tokenplan::server::bind),
        help(
            "is another server using this port? pick another with --port, or --port 0 for any free port"
        )
    )]
    Bind {
        address: SocketAddr,
        error: std::io::Error,
    },

    /// A token given with --workspace-token or --user-token cannot be used.
    #[error("the {which} cannot be used: {reason}")]
    #[diagnostic(
        code(tokenplan::server::invalid_token),
        help(
            "pass a value without spaces, different for each token; `tokenplan local generate-tokens` makes a pair"
        )
    )]
    InvalidToken {
        /// The option that gave it.
        which: &'static str,
        reason: InvalidTokenReason,
    },

    /// The async runtime failed.
    #[error("the server failed: {error}")]
    #[diagnostic(code(tokenplan::server::runtime))]
    Runtime { error: std::io::Error },

    /// The stop signals (SIGTERM, Ctrl-C) cannot be listened for.
    #[error("the server failed: cannot listen for signals: {error}")]
    #[diagnostic(code(tokenplan::server::runtime))]
    Signals { error: std::io::Error },
}

/// Why a token given on the command line cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub(crate) enum InvalidTokenReason {
    #[error("it is empty or has spaces")]
    Blank,
    #[error("another token of the workspace has this value")]
    Duplicate,
    /// The state has no default token of that name to give the value to.
    #[error("the workspace has no `{name}` to give it to")]
    NoSuchToken { name: &'static str },
}

/// A new workspace token and user token in the static `p.` format, each signed with its own
/// random key: `(workspace_token, user_token)`.
pub fn generate_tokens() -> (Secret, Secret) {
    let make = || {
        Secret::new(token_value(
            &uuid_v4(),
            &uuid_v4(),
            None,
            &new_signing_key(),
        ))
    };
    (make(), make())
}

/// Runs the server until SIGTERM or Ctrl-C. `on_ready` is called once it listens.
pub(crate) fn serve(
    config: ServerConfig,
    on_ready: impl FnOnce(&Ready),
) -> Result<(), ServerError> {
    let (lock, took_over) = take_lock(&config)?;
    let (store, created, home) = prepare_state(&config)?;
    let database = store.path().to_path_buf();
    let (writer, writer_thread) =
        Writer::start(store).map_err(|error| ServerError::Runtime { error })?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|error| ServerError::Runtime { error })?;
    let result = runtime.block_on(async move {
        let stop = stop_signal().map_err(|error| ServerError::Signals { error })?;
        let address = SocketAddr::new(config.bind, config.port);
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .map_err(|error| ServerError::Bind { address, error })?;
        let bound = listener
            .local_addr()
            .map_err(|error| ServerError::Bind { address, error })?;
        let app = Arc::new(App {
            writer,
            readers: Readers::new(database.clone()),
            limits: config.limits,
            bound,
            home,
        });
        on_ready(&Ready {
            address: bound,
            state: database,
            created,
            took_over,
        });
        run(listener, router(app), stop, config.limits.shutdown_grace).await
    });
    release(runtime, writer_thread, lock);
    result
}

/// Shuts the runtime down, waits for the writer thread, then gives up the state's lock.
/// Requests still open after the grace period and their reads run until the runtime is dropped,
/// which waits for them; that drops the last way to the writer, which then finishes the writes
/// already queued and ends: only then may another process take the lock and write.
fn release(runtime: tokio::runtime::Runtime, writer: std::thread::JoinHandle<()>, lock: StateLock) {
    drop(runtime);
    let _ = writer.join();
    drop(lock);
}

const SERVER_COMMAND: &str = "tokenplan local start";

/// Takes the state's write lock, taking over one left by a server that died. Returns the lock
/// and, after a takeover, who held it.
fn take_lock(config: &ServerConfig) -> Result<(StateLock, Option<LockInfo>), ServerError> {
    let command = format!("{SERVER_COMMAND} --port {}", config.port);
    let unlock = format!("tokenplan force-unlock --state {}", config.state.display());
    match StateLock::acquire(&config.state, &command, &unlock) {
        Ok(lock) => Ok((lock, None)),
        // Every write of the server is a committed transaction: a server killed midway leaves
        // nothing half-done, so its lock can be taken over. A dead apply's lock is reported.
        Err(WorkspaceError::StaleLock { holder, .. })
            if holder.command.starts_with(SERVER_COMMAND) =>
        {
            StateLock::force_unlock(&config.state)?;
            let lock = StateLock::acquire(&config.state, &command, &unlock)?;
            Ok((lock, Some(*holder)))
        }
        Err(error) => Err(error.into()),
    }
}

/// Opens the state database (migrating a JSON state, creating a new workspace) and sets the given
/// token values, in one transaction counted as one change when anything changed. Returns the
/// store, the writer's connection, whether the database was created now, and the key of the
/// workspace `--workspace` names (created now when missing).
fn prepare_state(config: &ServerConfig) -> Result<(Store, bool, i64), ServerError> {
    let paths = StatePaths::resolve(&config.state);
    legacy::migrate(&paths)?;
    let created = !exists(&paths.database)
        && Store::create(&paths.database, &State::new(&config.admin_email))? == Creation::Created;
    let store = Store::open(&paths.database)?;
    // Before the first write: a damaged database is refused, never written.
    store.check_pages()?;
    store.begin()?;
    let prepared = home_workspace(&store, config)
        .and_then(|(home, added)| Ok((home, set_given_tokens(&store, config, home)? || added)));
    let home = match prepared {
        Ok((home, true)) => {
            let committed = store.advance_serial().and_then(|()| store.commit());
            if let Err(error) = committed {
                store.rollback();
                return Err(error.into());
            }
            home
        }
        Ok((home, false)) => {
            store.rollback();
            home
        }
        Err(error) => {
            store.rollback();
            return Err(error);
        }
    };
    store.use_workspace(DEFAULT_WORKSPACE);
    Ok((store, created, home))
}

/// The key of the workspace `--workspace` names, made now (with its own default tokens) when
/// missing, and whether it was made.
fn home_workspace(store: &Store, config: &ServerConfig) -> Result<(i64, bool), ServerError> {
    let Some(name) = &config.workspace else {
        return Ok((DEFAULT_WORKSPACE, false));
    };
    if let Some(row) = store.workspace_named(name)? {
        return Ok((row.key, false));
    }
    store.use_workspace(DEFAULT_WORKSPACE);
    let first = store.meta()?.workspace;
    let mut state = State::new(&first.admin_email);
    state.workspace.name = name.clone();
    state.workspace.owner = first.owner;
    Ok((store.insert_workspace(&state)?, true))
}

/// Gives the default tokens the values given on the command line (the workspace token to the
/// `home` workspace's, the user token to the first one's); true when any changed.
fn set_given_tokens(store: &Store, config: &ServerConfig, home: i64) -> Result<bool, ServerError> {
    let mut changed = false;
    let given = [
        (
            "--workspace-token",
            WORKSPACE_ADMIN_TOKEN,
            &config.workspace_token,
            home,
        ),
        (
            "--user-token",
            USER_TOKEN,
            &config.user_token,
            DEFAULT_WORKSPACE,
        ),
    ];
    for (which, name, value, workspace) in given {
        store.use_workspace(workspace);
        let Some(value) = value else { continue };
        let value = value.expose();
        let refused = |reason| ServerError::InvalidToken { which, reason };
        if value.is_empty() || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(refused(InvalidTokenReason::Blank));
        }
        // Across workspaces: a value must name one token, or requests could act on the wrong one.
        if store
            .token_anywhere(value)?
            .is_some_and(|(workspace, holder)| {
                workspace != store.current_workspace() || holder.name != name
            })
        {
            return Err(refused(InvalidTokenReason::Duplicate));
        }
        let Some(mut token) = store.token(name)? else {
            return Err(refused(InvalidTokenReason::NoSuchToken { name }));
        };
        if !same_secret(&token.value, value) {
            token.value = value.to_owned();
            token.updated_at = now_rfc3339();
            store.update_token(&token)?;
            changed = true;
        }
    }
    Ok(changed)
}

/// Resolves when SIGTERM or SIGINT (Ctrl-C) arrives. The handlers are installed now, so that a
/// signal sent right after the server says it listens is not lost.
#[cfg(unix)]
fn stop_signal() -> std::io::Result<impl std::future::Future<Output = &'static str>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = terminate.recv() => "SIGTERM",
            _ = interrupt.recv() => "Ctrl-C",
        }
    })
}

#[cfg(not(unix))]
fn stop_signal() -> std::io::Result<impl std::future::Future<Output = &'static str>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
        "Ctrl-C"
    })
}

async fn run(
    listener: tokio::net::TcpListener,
    router: Router,
    stop: impl std::future::Future<Output = &'static str> + Send + 'static,
    grace: Duration,
) -> Result<(), ServerError> {
    let (stopping, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        let which = stop.await;
        log_line(format_args!(
            "{} received {which}: finishing requests in flight, then stopping",
            now_rfc3339()
        ));
        let _ = stopping.send(true);
    });
    let mut graceful = stopped.clone();
    let mut deadline = stopped;
    let server = axum::serve(
        listener,
        router.into_make_service_with_connect_info::<guard::Connection>(),
    )
    .with_graceful_shutdown(async move {
        let _ = graceful.wait_for(|stop| *stop).await;
    });
    tokio::select! {
        result = async { server.await } => result.map_err(|error| ServerError::Runtime { error })?,
        () = async {
            let _ = deadline.wait_for(|stop| *stop).await;
            tokio::time::sleep(grace).await;
        } => log_line(format_args!("{} requests still open after {} s: stopping anyway", now_rfc3339(), grace.as_secs())),
    }
    log_line(format_args!("{} stopped", now_rfc3339()));
    Ok(())
}

/// The state `tokenplan local start` uses when none is given: the embedded workspace's, in the
/// current folder.
pub(crate) fn default_state_path() -> PathBuf {
    Path::new(crate::workspace::state::DEFAULT_STATE_PATH).to_path_buf()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_tokens_replace_the_default_values_and_must_be_distinct() {
        let dir = tempfile::tempdir().unwrap();
        let (workspace, user) = generate_tokens();
        let mut config = ServerConfig {
            bind: IpAddr::from([127, 0, 0, 1]),
            port: 0,
            state: dir.path().join("workspace.json"),
            admin_email: "a@b.c".into(),
            workspace_token: Some(workspace.clone()),
            user_token: Some(user.clone()),
            workspace: None,
            limits: Limits::default(),
        };
        let (store, created, _) = prepare_state(&config).unwrap();
        assert!(created);
        assert_eq!(store.path(), dir.path().join("workspace.db"));
        let value = |name: &str| store.token(name).unwrap().unwrap().value;
        assert_eq!(value(WORKSPACE_ADMIN_TOKEN), workspace.expose());
        assert_eq!(value(USER_TOKEN), user.expose());
        let state = store.read_state().unwrap();
        assert_eq!(state.serial, 1, "setting the values is one change");
        drop(store);
        assert_eq!(State::load(&config.state).unwrap().unwrap(), state);
        // The same values again change nothing.
        let (store, created, _) = prepare_state(&config).unwrap();
        assert!(!created);
        assert_eq!(store.read_state().unwrap(), state);
        drop(store);
        config.user_token = Some(workspace);
        assert!(matches!(
            prepare_state(&config),
            Err(ServerError::InvalidToken {
                reason: InvalidTokenReason::Duplicate,
                ..
            })
        ));
        config.user_token = Some(Secret::new("has space"));
        assert!(matches!(
            prepare_state(&config),
            Err(ServerError::InvalidToken {
                reason: InvalidTokenReason::Blank,
                ..
            })
        ));
        assert_eq!(State::load(&config.state).unwrap().unwrap(), state);
    }

    #[test]
    fn the_lock_is_held_until_the_writer_has_finished() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("workspace.db");
        let lock = StateLock::acquire(&state, "tokenplan local start", "unlock").unwrap();
        Store::create(&state, &State::new("a@b.c")).unwrap();
        let (writer, thread) = Writer::start(Store::open(&state).unwrap()).unwrap();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        // A write still queued when the server stops, like one after the grace period.
        let (report, held) = std::sync::mpsc::channel();
        let path = state.clone();
        let (started, running) = std::sync::mpsc::channel();
        runtime.spawn(async move {
            let _ = writer
                .run(move |_| {
                    started.send(()).unwrap();
                    std::thread::sleep(Duration::from_millis(300));
                    let locked = matches!(
                        StateLock::acquire(&path, "tokenplan apply", "unlock"),
                        Err(WorkspaceError::Locked { .. })
                    );
                    report.send(locked).unwrap();
                    Err(http::ApiError::bad_request("done"))
                })
                .await;
        });
        running.recv().unwrap();
        release(runtime, thread, lock);
        assert!(
            held.recv().unwrap(),
            "the lock was free while the writer still ran a write"
        );
    }

    #[test]
    fn a_dead_servers_lock_is_taken_over_and_a_dead_applys_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let config = ServerConfig {
            bind: IpAddr::from([127, 0, 0, 1]),
            port: 0,
            state: dir.path().join("workspace.json"),
            admin_email: "a@b.c".into(),
            workspace_token: None,
            user_token: None,
            workspace: None,
            limits: Limits::default(),
        };
        let lock_file = crate::workspace::state::lock_path(&config.state);
        let left_by = |command: &str| {
            let info = LockInfo {
                pid: 1,
                host: "h".into(),
                command: command.into(),
                started_at: "t".into(),
            };
            std::fs::write(&lock_file, serde_json::to_string(&info).unwrap()).unwrap();
            info
        };
        let dead_server = left_by("tokenplan local start --port 7181");
        let (lock, took_over) = take_lock(&config).unwrap();
        assert_eq!(took_over, Some(dead_server));
        drop(lock);
        let dead_apply = left_by("tokenplan apply");
        match take_lock(&config) {
            Err(ServerError::Workspace(WorkspaceError::StaleLock { holder, .. })) => {
                assert_eq!(*holder, dead_apply)
            }
            other => panic!("{other:?}"),
        }
    }
}
