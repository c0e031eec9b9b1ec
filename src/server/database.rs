//! The server's access to the state database. Writes go to one thread that owns the write
//! connection: it takes every request waiting, runs each in a savepoint of one transaction and
//! commits once (group commit), and answers each request only after that commit, so an
//! acknowledged change is on disk and concurrent writers share the cost of a sync. Reads run on
//! connections of their own, in WAL snapshots, and never wait for a write.

use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;

use axum::http::StatusCode;
use axum::response::Response;

use super::http::ApiError;
use crate::workspace::WorkspaceError;
use crate::workspace::store::Store;

/// What a request gets back.
pub(super) type Answer = Result<Response, ApiError>;

type Job = Box<dyn FnOnce(&Store) -> Answer + Send>;

/// The most requests one commit takes: a bound on how long the first of them waits.
const MAX_GROUP: usize = 256;

/// Read connections kept open between requests.
const MAX_IDLE_READERS: usize = 8;

struct Queued {
    job: Job,
    reply: tokio::sync::oneshot::Sender<Answer>,
}

/// The way to the writer thread.
pub(super) struct Writer {
    queue: mpsc::Sender<Queued>,
}

/// A database failure as the 500 a request gets. SQLite's error is named, never a value.
pub(super) fn internal(error: &WorkspaceError) -> ApiError {
    let cause = std::error::Error::source(error)
        .map(|source| format!(": {source}"))
        .unwrap_or_default();
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        format!("the workspace database failed: {error}{cause}"),
    )
}

fn not_saved(why: &str) -> ApiError {
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        format!("the change was not saved: {why}"),
    )
}

impl Writer {
    /// Starts the writer thread on `store`. The thread ends once every [`Writer`] is dropped
    /// and the requests already queued are done; join it before giving up the state's lock.
    pub(super) fn start(store: Store) -> std::io::Result<(Writer, JoinHandle<()>)> {
        let (queue, requests) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("tokenplan-writer".into())
            .spawn(move || {
                while let Ok(first) = requests.recv() {
                    let mut group = vec![first];
                    while group.len() < MAX_GROUP {
                        match requests.try_recv() {
                            Ok(next) => group.push(next),
                            Err(_) => break,
                        }
                    }
                    commit_group(&store, group);
                }
            })?;
        Ok((Writer { queue }, thread))
    }

    /// Runs `job` in the next commit and returns its answer once that commit is durable.
    pub(super) async fn run(&self, job: impl FnOnce(&Store) -> Answer + Send + 'static) -> Answer {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let queued = Queued {
            job: Box::new(job),
            reply,
        };
        if self.queue.send(queued).is_err() {
            return Err(not_saved("the writer has stopped"));
        }
        answer
            .await
            .unwrap_or_else(|_| Err(not_saved("the writer has stopped")))
    }
}

/// Runs a group of requests in one transaction, each in a savepoint (a failed one is undone
/// alone), commits, then answers them all.
fn commit_group(store: &Store, group: Vec<Queued>) {
    if let Err(error) = store.begin() {
        let refused = internal(&error);
        for queued in group {
            let _ = queued
                .reply
                .send(Err(ApiError::new(refused.status, refused.message.clone())));
        }
        return;
    }
    let mut answered = Vec::with_capacity(group.len());
    let mut broken = None;
    for queued in group {
        if broken.is_some() {
            answered.push((queued.reply, Err(not_saved("an earlier request failed"))));
            continue;
        }
        let job = queued.job;
        let run = store.savepoint(|store| {
            // A bug in one request must not stop the thread that serves every write.
            std::panic::catch_unwind(AssertUnwindSafe(|| job(store)))
                .unwrap_or_else(|_| Err(not_saved("the request failed unexpectedly")))
        });
        match run {
            Ok(answer) => answered.push((queued.reply, answer)),
            Err(error) => {
                answered.push((queued.reply, Err(internal(&error))));
                broken = Some(error);
            }
        }
    }
    let committed = match broken {
        Some(error) => Err(error),
        None => store.commit(),
    };
    if let Err(error) = committed {
        store.rollback();
        let why = internal(&error).message;
        for (reply, answer) in answered {
            // Refusals wrote nothing and stand; what was to be written was not.
            let answer = match answer {
                Ok(_) => Err(not_saved(&why)),
                refused => refused,
            };
            let _ = reply.send(answer);
        }
        return;
    }
    for (reply, answer) in answered {
        let _ = reply.send(answer);
    }
}

/// Read connections, opened as needed and kept for the next request.
pub(super) struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Store>>,
}

impl Readers {
    pub(super) fn new(path: PathBuf) -> Arc<Readers> {
        Arc::new(Readers {
            path,
            idle: Mutex::new(Vec::new()),
        })
    }

    /// Runs `job` on a read connection, in one read transaction: everything it reads is from one
    /// snapshot, the last commit when it started.
    pub(super) async fn run(
        self: &Arc<Self>,
        job: impl FnOnce(&Store) -> Answer + Send + 'static,
    ) -> Answer {
        let readers = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let idle = readers.idle.lock().ok().and_then(|mut idle| idle.pop());
            let store = match idle {
                Some(store) => store,
                None => Store::open_reader(&readers.path).map_err(|e| internal(&e))?,
            };
            store
                .conn()
                .execute_batch("BEGIN")
                .map_err(|e| internal(&store.error("cannot read", e)))?;
            let answer =
                std::panic::catch_unwind(AssertUnwindSafe(|| job(&store))).unwrap_or_else(|_| {
                    Err(ApiError::new(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "the request failed unexpectedly",
                    ))
                });
            store.rollback();
            if let Ok(mut idle) = readers.idle.lock()
                && idle.len() < MAX_IDLE_READERS
            {
                idle.push(store);
            }
            answer
        })
        .await
        .unwrap_or_else(|_| {
            Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the request failed unexpectedly",
            ))
        })
    }
}
