//! The stdio transport of `tokenplan lsp`: `Content-Length` frames read with limits checked
//! before anything is allocated for them, and messages written as they come.
//!
//! lsp-server's own stdio reader allocates whatever a `Content-Length` says, so
//! `Content-Length: 99999999999999` aborts the process. Here the frames are read with bounds, and
//! lsp-server only provides the channels, the message types and their writing.

use std::io::{self, BufRead, Read};
use std::thread::JoinHandle;

use lsp_server::{Connection, Message};

use super::LspError;

/// The largest message accepted. Editors send whole documents on each change, and datafiles are
/// kilobytes: 64 MiB is far beyond any real one and still fits in memory.
pub(crate) const MAX_MESSAGE_BYTES: u64 = 64 * 1024 * 1024;

/// The longest header line, and the most header lines, of one message (editors send one or two
/// short ones).
const MAX_HEADER_LINE: u64 = 1024;
const MAX_HEADERS: usize = 32;

/// The reader and writer threads.
pub(super) struct Transport {
    reader: JoinHandle<Result<(), LspError>>,
    writer: JoinHandle<io::Result<()>>,
}

/// A connection over stdin and stdout. Reading stops after `exit`, at the end of stdin, or at the
/// first malformed or oversized message, whose error [`Transport::join`] returns.
pub(super) fn stdio() -> (Connection, Transport) {
    let (server, client) = Connection::memory();
    let Connection { sender, receiver } = client;
    let reader = std::thread::Builder::new()
        .name("tokenplan-lsp-reader".into())
        .spawn(move || {
            let mut input = io::stdin().lock();
            while let Some(message) = read_message(&mut input, MAX_MESSAGE_BYTES)? {
                let exit = matches!(&message, Message::Notification(n) if n.method == "exit");
                // A closed channel means the server has stopped: nothing more to read for.
                if sender.send(message).is_err() || exit {
                    break;
                }
            }
            Ok(())
        })
        .expect("the reader thread starts");
    let writer = std::thread::Builder::new()
        .name("tokenplan-lsp-writer".into())
        .spawn(move || {
            let mut output = io::stdout().lock();
            // Ends when the server's side of the connection is dropped.
            for message in receiver {
                message.write(&mut output)?;
            }
            Ok(())
        })
        .expect("the writer thread starts");
    (server, Transport { reader, writer })
}

impl Transport {
    /// Waits for both threads: the reader's error first, as it says why the server stopped.
    pub(super) fn join(self) -> Result<(), LspError> {
        let read = self
            .reader
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        let written = self
            .writer
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        read?;
        written.map_err(|error| LspError::Io { error })
    }
}

/// Reads one message; `None` at the end of the input between messages.
pub(super) fn read_message(
    input: &mut impl BufRead,
    limit: u64,
) -> Result<Option<Message>, LspError> {
    let malformed = |reason: String| LspError::Malformed { reason };
    let mut length = None;
    let mut headers = 0;
    loop {
        let mut line = Vec::new();
        let read = input
            .by_ref()
            .take(MAX_HEADER_LINE)
            .read_until(b'\n', &mut line)
            .map_err(|error| LspError::Io { error })?;
        if read == 0 && headers == 0 {
            return Ok(None);
        }
        let Some(line) = line.strip_suffix(b"\r\n") else {
            return Err(malformed(format!(
                "a header line is longer than {MAX_HEADER_LINE} bytes, does not end with CRLF, or the input ended in the headers"
            )));
        };
        headers += 1;
        if headers > MAX_HEADERS {
            return Err(malformed(format!(
                "a message has more than {MAX_HEADERS} header lines"
            )));
        }
        if line.is_empty() {
            break;
        }
        let line = String::from_utf8_lossy(line);
        let Some((name, value)) = line.split_once(':') else {
            return Err(malformed(format!("`{line}` is not a header")));
        };
        if name.trim().eq_ignore_ascii_case("content-length") {
            let value = value.trim();
            let parsed = value.parse::<u64>().map_err(|_| {
                malformed(format!("Content-Length `{value}` is not a number of bytes"))
            })?;
            length = Some(parsed);
        }
    }
    let length = length.ok_or_else(|| malformed("a message has no Content-Length".into()))?;
    if length > limit {
        return Err(LspError::MessageTooLarge { length, limit });
    }
    // At most `limit` bytes: checked above.
    let mut body = Vec::with_capacity(length as usize);
    input
        .by_ref()
        .take(length)
        .read_to_end(&mut body)
        .map_err(|error| LspError::Io { error })?;
    if body.len() as u64 != length {
        return Err(malformed(format!(
            "the input ended {} bytes into a message of {length}",
            body.len()
        )));
    }
    serde_json::from_slice(&body)
        .map(Some)
        .map_err(|error| malformed(format!("the message is not JSON-RPC: {error}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(input: &str, limit: u64) -> Result<Option<Message>, LspError> {
        read_message(&mut io::Cursor::new(input.as_bytes().to_vec()), limit)
    }

    #[test]
    fn frames_are_read_within_limits() {
        let body = r#"{"jsonrpc":"2.0","method":"exit"}"#;
        let frame = format!(
            "Content-Length: {}\r\nContent-Type: x\r\n\r\n{body}",
            body.len()
        );
        assert!(matches!(
            read(&frame, 1_000),
            Ok(Some(Message::Notification(n))) if n.method == "exit"
        ));
        assert!(matches!(read("", 1_000), Ok(None)));
        assert!(matches!(
            read(&frame, 10),
            Err(LspError::MessageTooLarge {
                length: 33,
                limit: 10
            })
        ));
        assert!(matches!(
            read("Content-Length: 99999999999999\r\n\r\n{", MAX_MESSAGE_BYTES),
            Err(LspError::MessageTooLarge { .. })
        ));
        for bad in [
            "Content-Length: 5\r\n\r\n{",
            "Content-Length: lots\r\n\r\n",
            "Content-Length: 99999999999999999999999\r\n\r\n",
            "\r\n{}",
            "Content-Length: 2\n\n{}",
            "Content-Length 2\r\n\r\n{}",
            "Content-Length: 2\r\n\r\n{}",
        ] {
            assert!(
                matches!(read(bad, 1_000), Err(LspError::Malformed { .. })),
                "{bad:?}"
            );
        }
        let long_header = format!("X: {}\r\n", "x".repeat(2_000));
        assert!(matches!(
            read(&long_header, 1_000),
            Err(LspError::Malformed { .. })
        ));
    }
}
