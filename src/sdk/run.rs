//! Running a child process with a time limit, its stdout and stderr captured by reader threads
//! so that a child writing more than a pipe holds cannot block on us while we wait for it.

use std::io::{self, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// How long to keep reading after the child exits: a grandchild it started (esbuild's service)
/// may hold the pipes open a moment longer, or for good when it was orphaned.
const DRAIN_GRACE: Duration = Duration::from_secs(2);

/// The longest pause between two checks of whether the child has exited.
const POLL: Duration = Duration::from_millis(10);

/// A child that exited.
#[derive(Debug)]
pub(crate) struct Finished {
    pub(crate) status: ExitStatus,
    pub(crate) stdout: Vec<u8>,
    pub(crate) stderr: Vec<u8>,
}

/// Why a run did not finish.
#[derive(Debug)]
pub(crate) enum RunError {
    /// The program could not be started.
    Spawn(io::Error),
    /// Waiting for it failed.
    Wait(io::Error),
    /// It ran past the limit and was killed.
    TimedOut,
}

enum Chunk {
    Out(Vec<u8>),
    Err(Vec<u8>),
    /// One of the two pipes reached its end.
    Closed,
}

/// Runs `command` (stdin empty, stdout and stderr captured) for at most `limit`.
pub(crate) fn run(mut command: Command, limit: Duration) -> Result<Finished, RunError> {
    let started = Instant::now();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(RunError::Spawn)?;
    let (sender, chunks) = mpsc::channel();
    if let Some(pipe) = child.stdout.take() {
        spawn_reader(pipe, sender.clone(), Chunk::Out);
    }
    if let Some(pipe) = child.stderr.take() {
        spawn_reader(pipe, sender, Chunk::Err);
    }
    let mut output = Output::default();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(error) => {
                stop(&mut child);
                return Err(RunError::Wait(error));
            }
        }
        let elapsed = started.elapsed();
        if elapsed >= limit {
            stop(&mut child);
            return Err(RunError::TimedOut);
        }
        // Collect output while waiting; this is also the pause between checks.
        output.take(&chunks, (limit - elapsed).min(POLL));
    };
    let deadline = Instant::now() + DRAIN_GRACE;
    while output.open > 0 {
        let now = Instant::now();
        if now >= deadline || !output.take(&chunks, deadline - now) {
            break;
        }
    }
    Ok(Finished {
        status,
        stdout: output.stdout,
        stderr: output.stderr,
    })
}

/// What the reader threads sent so far.
struct Output {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    /// Pipes not yet at their end.
    open: usize,
}

impl Default for Output {
    fn default() -> Self {
        Output {
            stdout: Vec::new(),
            stderr: Vec::new(),
            open: 2,
        }
    }
}

impl Output {
    /// Takes the chunks that arrive within `wait`; false when the readers are all gone.
    fn take(&mut self, chunks: &mpsc::Receiver<Chunk>, wait: Duration) -> bool {
        let mut next = chunks.recv_timeout(wait);
        loop {
            match next {
                Ok(Chunk::Out(bytes)) => self.stdout.extend_from_slice(&bytes),
                Ok(Chunk::Err(bytes)) => self.stderr.extend_from_slice(&bytes),
                Ok(Chunk::Closed) => self.open = self.open.saturating_sub(1),
                Err(mpsc::RecvTimeoutError::Timeout) => return true,
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    self.open = 0;
                    return false;
                }
            }
            next = chunks.try_recv().map_err(|e| match e {
                mpsc::TryRecvError::Empty => mpsc::RecvTimeoutError::Timeout,
                mpsc::TryRecvError::Disconnected => mpsc::RecvTimeoutError::Disconnected,
            });
        }
    }
}

fn spawn_reader(
    mut pipe: impl Read + Send + 'static,
    sender: mpsc::Sender<Chunk>,
    wrap: fn(Vec<u8>) -> Chunk,
) {
    thread::spawn(move || {
        let mut buffer = [0u8; 8192];
        loop {
            match pipe.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => {
                    if sender.send(wrap(buffer[..n].to_vec())).is_err() {
                        // Nobody listens any more (the run timed out): stop reading.
                        return;
                    }
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        let _ = sender.send(Chunk::Closed);
    });
}

/// Kills the child and reaps it, so that no zombie outlives the run.
fn stop(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn sh(script: &str) -> Command {
        let mut command = Command::new("sh");
        command.args(["-c", script]);
        command
    }

    #[test]
    fn captures_both_streams_and_the_status() {
        let finished = run(
            sh("echo out; echo err >&2; exit 3"),
            Duration::from_secs(20),
        )
        .unwrap();
        assert_eq!(finished.stdout, b"out\n");
        assert_eq!(finished.stderr, b"err\n");
        assert_eq!(finished.status.code(), Some(3));
    }

    #[test]
    fn a_chatty_child_does_not_block() {
        // Far more than a pipe buffer on both streams.
        let script = "head -c 1000000 /dev/zero; head -c 1000000 /dev/zero >&2";
        let finished = run(sh(script), Duration::from_secs(20)).unwrap();
        assert_eq!(
            (finished.stdout.len(), finished.stderr.len()),
            (1_000_000, 1_000_000)
        );
    }

    #[test]
    fn a_slow_child_is_killed_at_the_limit() {
        let started = Instant::now();
        let result = run(sh("exec sleep 30"), Duration::from_millis(200));
        assert!(matches!(result, Err(RunError::TimedOut)), "{result:?}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn an_orphan_holding_the_pipes_does_not_hold_us() {
        // The shell exits at once; the background sleep keeps stdout open.
        let started = Instant::now();
        let finished = run(sh("echo done; sleep 4 &"), Duration::from_secs(20)).unwrap();
        assert_eq!(finished.stdout, b"done\n");
        assert!(started.elapsed() < DRAIN_GRACE + Duration::from_secs(2));
    }

    #[test]
    fn a_missing_program_fails_to_spawn() {
        let result = run(Command::new("/nonexistent/program"), Duration::from_secs(1));
        match result {
            Err(RunError::Spawn(error)) => assert_eq!(error.kind(), io::ErrorKind::NotFound),
            other => panic!("{other:?}"),
        }
    }
}
