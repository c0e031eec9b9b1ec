//! Helpers shared by the CLI tests: running the built binary and copying fixtures.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tempfile::TempDir;

/// A fresh folder, removed when dropped, that reads as the `Path` it is.
pub(crate) struct Scratch(TempDir);

impl AsRef<Path> for Scratch {
    fn as_ref(&self) -> &Path {
        self.0.path()
    }
}

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        self.0.path()
    }
}

/// A fresh folder whose name starts with `name`, to tell tests' folders apart.
pub(crate) fn temp_dir(name: &str) -> Scratch {
    Scratch(tempfile::Builder::new().prefix(name).tempdir().unwrap())
}

pub(crate) fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_tokenplan")
}

/// A fixture folder under `fixtures/`.
pub(crate) fn fixture(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(relative)
}

/// Runs tokenplan in `dir` with `args`, without a terminal and without colour.
pub(crate) fn run_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(binary())
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("TOKENPLAN_TEST_APPLY_PAUSE_MS")
        .env_remove("GITHUB_STEP_SUMMARY")
        // Annotation paths are from GITHUB_WORKSPACE when it is set, as in CI.
        .env_remove("GITHUB_WORKSPACE")
        .output()
        .expect("tokenplan runs")
}

/// Exit code, stdout and stderr as one readable block.
pub(crate) fn describe(output: &Output) -> String {
    format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        output
            .status
            .code()
            .map_or("signal".to_owned(), |c| c.to_string()),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

pub(crate) fn copy_tree(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.unwrap();
        let target = to.join(entry.path().strip_prefix(from).unwrap());
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A temporary copy of `fixtures/projects/<case>`, with its `workspace.json` (if any) moved to
/// the default state place `.tokenplan/workspace.json`.
pub(crate) fn project_copy(case: &str) -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    copy_tree(&fixture(&format!("projects/{case}")), root);
    let state = root.join("workspace.json");
    if state.exists() {
        std::fs::create_dir_all(root.join(".tokenplan")).unwrap();
        std::fs::rename(&state, root.join(".tokenplan/workspace.json")).unwrap();
    }
    dir
}

/// Which stream of a command goes to a pseudo-terminal.
#[cfg(unix)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TerminalStream {
    Stdout,
    Stderr,
}

/// A new pseudo-terminal: the near end to read and write, and the far end to give a command.
#[cfg(unix)]
pub(crate) fn pseudo_terminal() -> (std::fs::File, std::os::fd::OwnedFd) {
    use std::os::fd::{FromRawFd, OwnedFd};

    let (mut master, mut slave) = (0, 0);
    // SAFETY: openpty writes two new descriptors into the integers it is given; the name,
    // termios and window size arguments may be null.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors were just opened by openpty and are owned by nobody else.
    unsafe {
        (
            std::fs::File::from_raw_fd(master),
            OwnedFd::from_raw_fd(slave),
        )
    }
}

/// Runs `command` with one stream on a pseudo-terminal (standing in for a person's terminal)
/// and the other discarded; returns the exit code and what the terminal received.
#[cfg(unix)]
pub(crate) fn on_terminal(mut command: Command, stream: TerminalStream) -> (Option<i32>, String) {
    use std::io::Read;
    use std::process::Stdio;

    let (mut master, slave) = pseudo_terminal();
    match stream {
        TerminalStream::Stdout => command.stdout(Stdio::from(slave)).stderr(Stdio::null()),
        TerminalStream::Stderr => command.stderr(Stdio::from(slave)).stdout(Stdio::null()),
    };
    let mut child = command.spawn().expect("run tokenplan");
    // The parent's copy of the terminal's far end goes with the command, so that reading ends
    // when the child exits.
    drop(command);
    let mut received = Vec::new();
    let mut buffer = [0; 4096];
    loop {
        match master.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => received.extend_from_slice(&buffer[..n]),
            // Linux reports the closed far end of a pseudo-terminal as EIO.
            Err(e) if e.raw_os_error() == Some(libc::EIO) => break,
            Err(e) => panic!("reading the terminal: {e}"),
        }
    }
    let status = child.wait().expect("wait for tokenplan");
    (
        status.code(),
        String::from_utf8_lossy(&received).into_owned(),
    )
}
