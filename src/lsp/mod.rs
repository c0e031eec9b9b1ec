//! `tokenplan lsp`: a Language Server over stdio. It keeps every workspace folder compiled
//! ([`analysis`]), publishes the diagnostics of `tokenplan check` as files are opened, edited,
//! saved and closed, and answers hover and completion on datafiles.
//!
//! Stdout carries the protocol; stderr only short logs, never a token value.

pub(crate) mod analysis;
mod completion;
mod convert;
mod hover;
mod transport;

use std::path::PathBuf;
use std::time::Instant;

use lsp_server::{
    Connection, ErrorCode, Message, Notification, ProtocolError, Request, RequestId, Response,
};
use lsp_types::notification::{
    DidChangeTextDocument, DidChangeWatchedFiles, DidCloseTextDocument, DidOpenTextDocument,
    DidSaveTextDocument, Exit, Initialized, Notification as _, PublishDiagnostics,
};
use lsp_types::request::{Completion, HoverRequest, Initialize, RegisterCapability, Request as _};
use lsp_types::{
    CompletionOptions, CompletionParams, CompletionResponse, DidChangeTextDocumentParams,
    DidChangeWatchedFilesParams, DidChangeWatchedFilesRegistrationOptions,
    DidCloseTextDocumentParams, DidOpenTextDocumentParams, DidSaveTextDocumentParams,
    FileSystemWatcher, GlobPattern, HoverParams, HoverProviderCapability, InitializeParams,
    InitializeResult, PositionEncodingKind, Registration, RegistrationParams, SaveOptions,
    ServerCapabilities, ServerInfo, TextDocumentSyncCapability, TextDocumentSyncKind,
    TextDocumentSyncOptions, TextDocumentSyncSaveOptions,
};
use miette::Diagnostic;
use serde::Serialize;
use serde::de::DeserializeOwned;
use thiserror::Error;

pub use analysis::Analysis;

use crate::source::LineIndex;
use crate::syntax::Secrets;
use crate::text::escape_controls;

/// What the server needs besides what the client sends.
#[derive(Debug, Clone, Default)]
pub struct LspConfig {
    /// Values for `tb_secret(...)`, as `check --secret`.
    pub secrets: Secrets,
}

// The underlying errors are part of the messages and kept as typed fields rather than
// `#[source]`: miette prints an error's sources under it, so the same text would be shown twice.

/// Why the server stopped other than by `shutdown` and `exit`.
#[derive(Debug, Error, Diagnostic)]
pub(crate) enum LspError {
    /// The client did not speak the protocol: no `initialize` first, a malformed message, no
    /// `exit` after `shutdown`.
    #[error("the language client broke the protocol: {error}")]
    #[diagnostic(
        code(tokenplan::lsp::protocol),
        help(
            "tokenplan lsp is started by an editor, which speaks the Language Server Protocol on its stdin and stdout"
        )
    )]
    Protocol { error: ProtocolError },

    /// The `initialize` request could not be read.
    #[error("invalid initialize request: {error}")]
    #[diagnostic(code(tokenplan::lsp::initialize))]
    Initialize { error: serde_json::Error },

    /// The client sent `exit` without `shutdown` first: the protocol asks for exit code 1.
    #[error("the client asked the server to exit before shutting it down")]
    #[diagnostic(code(tokenplan::lsp::exit_without_shutdown))]
    ExitWithoutShutdown,

    /// The client closed stdin without `shutdown` and `exit`, usually because the editor died.
    #[error("the client closed the connection without shutting the server down")]
    #[diagnostic(code(tokenplan::lsp::disconnected))]
    Disconnected,

    /// A message larger than the server accepts: no editor sends one, so the input is not an
    /// editor's, and reading it could exhaust memory.
    #[error(
        "the language client sent a message of {length} bytes, more than the {limit} bytes tokenplan lsp accepts"
    )]
    #[diagnostic(
        code(tokenplan::lsp::message_too_large),
        help("tokenplan lsp is started by an editor; check what is connected to its stdin")
    )]
    MessageTooLarge {
        /// The `Content-Length` given.
        length: u64,
        /// The largest accepted.
        limit: u64,
    },

    /// A message that is not `Content-Length`-framed JSON-RPC.
    #[error("the language client sent a malformed message: {reason}")]
    #[diagnostic(
        code(tokenplan::lsp::malformed_message),
        help(
            "tokenplan lsp is started by an editor, which frames each message with a `Content-Length` header"
        )
    )]
    Malformed {
        /// What is wrong with it.
        reason: String,
    },

    /// Reading stdin or writing stdout failed.
    #[error("cannot talk to the client: {error}")]
    #[diagnostic(code(tokenplan::lsp::io))]
    Io { error: std::io::Error },
}

impl From<ProtocolError> for LspError {
    fn from(error: ProtocolError) -> Self {
        if error.channel_is_disconnected() {
            LspError::Disconnected
        } else {
            LspError::Protocol { error }
        }
    }
}

/// Serves the Language Server Protocol on stdin and stdout until the client shuts the server
/// down.
pub(crate) fn run(config: &LspConfig) -> Result<(), LspError> {
    // Not `Connection::stdio()`: its reader allocates whatever size a message claims.
    let (connection, io_threads) = transport::stdio();
    let served = serve(&connection, config);
    // The writer thread ends when the last sender goes: drop it so that joining waits for the
    // last replies to be written, not forever.
    drop(connection);
    match served {
        // The reader stopped at `exit` or at the end of stdin, so joining cannot hang.
        Ok(()) | Err(LspError::ExitWithoutShutdown | LspError::Disconnected) => {
            // A read error (a malformed message) is why the reader stopped: it says more.
            io_threads.join().and(served)
        }
        Err(
            error @ (LspError::Protocol { .. }
            | LspError::Initialize { .. }
            | LspError::Io { .. }
            | LspError::MessageTooLarge { .. }
            | LspError::Malformed { .. }),
        ) => Err(error),
    }
}

/// Runs the server on a connection: the `initialize` handshake, then messages until `shutdown`
/// and `exit`.
pub(crate) fn serve(connection: &Connection, config: &LspConfig) -> Result<(), LspError> {
    let (id, params) = wait_for_initialize(connection)?;
    let params: InitializeParams = match serde_json::from_value(params) {
        Ok(params) => params,
        Err(error) => {
            let reply = Response::new_err(id, ErrorCode::InvalidParams as i32, error.to_string());
            send(connection, reply.into())?;
            return Err(LspError::Initialize { error });
        }
    };
    let result = InitializeResult {
        capabilities: capabilities(),
        server_info: Some(ServerInfo {
            name: "tokenplan".to_owned(),
            version: Some(env!("CARGO_PKG_VERSION").to_owned()),
        }),
    };
    let result = serde_json::to_value(result).expect("capabilities serialize");
    send(connection, Response::new_ok(id, result).into())?;
    let early = wait_for_initialized(connection)?;

    let roots = workspace_roots(&params);
    let started = Instant::now();
    let (analysis, errors) = Analysis::new(roots, config.secrets.clone());
    for error in errors {
        eprintln!("tokenplan lsp: {}", escape_controls(&error.to_string()));
    }
    for folder in analysis.folders() {
        let line = format!(
            "tokenplan lsp: {}: {} datafiles compiled in {} ms",
            folder.project.root.display(),
            folder.project.files.len(),
            started.elapsed().as_millis()
        );
        eprintln!("{}", escape_controls(&line));
    }
    let mut server = Server {
        connection,
        analysis,
    };
    if watches_files(&params) {
        server.register_file_watcher()?;
    }
    for notification in early {
        server.notification(notification);
    }
    server.publish()?;
    server.main_loop()
}

/// The answer to a request the server cannot take yet. It never repeats the request, which may
/// hold a whole buffer.
fn not_initialized(request: &Request) -> Message {
    let message = format!("tokenplan lsp is not initialized yet: {}", request.method);
    Response::new_err(
        request.id.clone(),
        ErrorCode::ServerNotInitialized as i32,
        escape_controls(&message).into_owned(),
    )
    .into()
}

/// Waits for `initialize`, as the protocol says: a request before it is answered with
/// ServerNotInitialized, a notification dropped, and `exit` ends the server.
fn wait_for_initialize(
    connection: &Connection,
) -> Result<(RequestId, serde_json::Value), LspError> {
    for message in &connection.receiver {
        match message {
            Message::Request(request) if request.method == Initialize::METHOD => {
                return Ok((request.id, request.params));
            }
            Message::Request(request) => send(connection, not_initialized(&request))?,
            Message::Notification(notification) if notification.method == Exit::METHOD => {
                return Err(LspError::ExitWithoutShutdown);
            }
            Message::Notification(_) | Message::Response(_) => {}
        }
    }
    Err(LspError::Disconnected)
}

/// After the answer to `initialize`, waits for `initialized`. Notifications a client sends too
/// early (an eager `didOpen`) are kept, to be handled in order right after it, so that no buffer
/// is lost; requests are answered with ServerNotInitialized; `exit` ends the server.
fn wait_for_initialized(connection: &Connection) -> Result<Vec<Notification>, LspError> {
    let mut early = Vec::new();
    for message in &connection.receiver {
        match message {
            Message::Notification(notification) if notification.method == Initialized::METHOD => {
                return Ok(early);
            }
            Message::Notification(notification) if notification.method == Exit::METHOD => {
                return Err(LspError::ExitWithoutShutdown);
            }
            Message::Notification(notification) => early.push(notification),
            Message::Request(request) => send(connection, not_initialized(&request))?,
            Message::Response(_) => {}
        }
    }
    Err(LspError::Disconnected)
}

/// What the server offers: full text sync (with the text on save), hover, and completion that
/// a space triggers, for the permission after `TOKEN <name> `.
fn capabilities() -> ServerCapabilities {
    ServerCapabilities {
        position_encoding: Some(PositionEncodingKind::UTF16),
        text_document_sync: Some(TextDocumentSyncCapability::Options(
            TextDocumentSyncOptions {
                open_close: Some(true),
                change: Some(TextDocumentSyncKind::FULL),
                save: Some(TextDocumentSyncSaveOptions::SaveOptions(SaveOptions {
                    include_text: Some(true),
                })),
                ..TextDocumentSyncOptions::default()
            },
        )),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        completion_provider: Some(CompletionOptions {
            trigger_characters: Some(vec![" ".to_owned()]),
            ..CompletionOptions::default()
        }),
        ..ServerCapabilities::default()
    }
}

/// The workspace folders, or the older `rootUri` and `rootPath`; only local folders count.
fn workspace_roots(params: &InitializeParams) -> Vec<PathBuf> {
    if let Some(folders) = &params.workspace_folders {
        return folders
            .iter()
            .filter_map(|f| f.uri.to_file_path().ok())
            .collect();
    }
    // Clients older than workspace folders (LSP 3.6) still send these.
    #[allow(deprecated)]
    let root = params
        .root_uri
        .as_ref()
        .and_then(|uri| uri.to_file_path().ok())
        .or_else(|| params.root_path.as_ref().map(PathBuf::from));
    root.into_iter().collect()
}

/// True when the client can watch files for us: then files changed on disk by other programs
/// (a `git checkout`) are read again.
fn watches_files(params: &InitializeParams) -> bool {
    params
        .capabilities
        .workspace
        .as_ref()
        .and_then(|w| w.did_change_watched_files.as_ref())
        .and_then(|d| d.dynamic_registration)
        .unwrap_or(false)
}

fn send(connection: &Connection, message: Message) -> Result<(), LspError> {
    connection
        .sender
        .send(message)
        .map_err(|error| LspError::Io {
            // Sending fails once the writer has stopped, on a failed write to stdout.
            error: std::io::Error::other(error),
        })
}

/// The connection and the projects.
struct Server<'a> {
    connection: &'a Connection,
    analysis: Analysis,
}

impl Server<'_> {
    fn main_loop(&mut self) -> Result<(), LspError> {
        for message in &self.connection.receiver {
            match message {
                Message::Request(request) => {
                    if self.connection.handle_shutdown(&request)? {
                        return Ok(());
                    }
                    let response = self.request(request);
                    send(self.connection, response.into())?;
                }
                Message::Notification(notification) => {
                    if notification.method == Exit::METHOD {
                        return Err(LspError::ExitWithoutShutdown);
                    }
                    self.notification(notification);
                    self.publish()?;
                }
                // The only requests the server sends are registrations; their answers change
                // nothing.
                Message::Response(_) => {}
            }
        }
        Err(LspError::Disconnected)
    }

    fn request(&self, request: Request) -> Response {
        match request.method.as_str() {
            HoverRequest::METHOD => respond(request, |params: HoverParams| {
                let at = params.text_document_position_params;
                self.analysis.hover(&at.text_document.uri, at.position)
            }),
            Completion::METHOD => respond(request, |params: CompletionParams| {
                let at = params.text_document_position;
                let items = self.analysis.completion(&at.text_document.uri, at.position);
                CompletionResponse::Array(items)
            }),
            _ => Response::new_err(
                request.id,
                ErrorCode::MethodNotFound as i32,
                format!("tokenplan lsp does not handle {}", request.method),
            ),
        }
    }

    fn notification(&mut self, notification: Notification) {
        let method = notification.method.clone();
        let handled = match method.as_str() {
            DidOpenTextDocument::METHOD => {
                extract(notification, |params: DidOpenTextDocumentParams| {
                    let document = params.text_document;
                    self.analysis
                        .open(&document.uri, Some(document.version), &document.text);
                })
            }
            DidChangeTextDocument::METHOD => {
                extract(notification, |params: DidChangeTextDocumentParams| {
                    self.change(params);
                })
            }
            DidSaveTextDocument::METHOD => {
                extract(notification, |params: DidSaveTextDocumentParams| {
                    if let Some(text) = params.text {
                        self.analysis.open(&params.text_document.uri, None, &text);
                    }
                })
            }
            DidCloseTextDocument::METHOD => {
                extract(notification, |params: DidCloseTextDocumentParams| {
                    self.analysis.close(&params.text_document.uri);
                })
            }
            DidChangeWatchedFiles::METHOD => {
                extract(notification, |params: DidChangeWatchedFilesParams| {
                    for change in params.changes {
                        self.analysis.disk_changed(&change.uri);
                    }
                })
            }
            // `$/cancelRequest`, `$/setTrace`, configuration changes: nothing to do, since
            // every request is answered before the next message is read.
            _ => Ok(()),
        };
        if let Err(error) = handled {
            let line = format!("tokenplan lsp: ignoring {method}: {error}");
            eprintln!("{}", escape_controls(&line));
        }
    }

    /// Applies a change: whole texts, as the server asks for, or ranges from clients that send
    /// them anyway.
    fn change(&mut self, params: DidChangeTextDocumentParams) {
        let uri = params.text_document.uri;
        let mut text = match self.analysis.file(&uri) {
            Some((_, file)) => file.text.to_string(),
            None => String::new(),
        };
        for change in params.content_changes {
            match change.range {
                None => text = change.text,
                Some(range) => {
                    let index = LineIndex::new(&text);
                    let start =
                        index.offset_of_utf16(&text, range.start.line, range.start.character);
                    let end = index
                        .offset_of_utf16(&text, range.end.line, range.end.character)
                        .max(start);
                    text.replace_range(start..end, &change.text);
                }
            }
        }
        self.analysis
            .open(&uri, Some(params.text_document.version), &text);
    }

    /// Sends the diagnostics that changed.
    fn publish(&mut self) -> Result<(), LspError> {
        for params in self.analysis.take_diagnostics() {
            let notification = Notification::new(PublishDiagnostics::METHOD.to_owned(), params);
            send(self.connection, notification.into())?;
        }
        Ok(())
    }

    fn register_file_watcher(&self) -> Result<(), LspError> {
        const ID: &str = "tokenplan/watch-datafiles";
        let options = DidChangeWatchedFilesRegistrationOptions {
            watchers: vec![FileSystemWatcher {
                glob_pattern: GlobPattern::String("**/*.{datasource,pipe,connection}".to_owned()),
                kind: None,
            }],
        };
        let params = RegistrationParams {
            registrations: vec![Registration {
                id: ID.to_owned(),
                method: DidChangeWatchedFiles::METHOD.to_owned(),
                register_options: Some(serde_json::to_value(options).expect("options serialize")),
            }],
        };
        let request = Request::new(
            RequestId::from(ID.to_owned()),
            RegisterCapability::METHOD.to_owned(),
            params,
        );
        send(self.connection, request.into())
    }
}

/// Answers a request with the handler's result, or `InvalidParams`.
fn respond<P: DeserializeOwned, R: Serialize>(
    request: Request,
    handler: impl FnOnce(P) -> R,
) -> Response {
    match serde_json::from_value::<P>(request.params) {
        Ok(params) => Response::new_ok(request.id, handler(params)),
        Err(error) => Response::new_err(
            request.id,
            ErrorCode::InvalidParams as i32,
            error.to_string(),
        ),
    }
}

/// Runs the handler on a notification's parameters.
fn extract<P: DeserializeOwned>(
    notification: Notification,
    handler: impl FnOnce(P),
) -> Result<(), serde_json::Error> {
    serde_json::from_value::<P>(notification.params).map(handler)
}
