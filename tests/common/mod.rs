//! Helpers shared by the CLI tests: running the built binary and copying fixtures.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The built `tokenplan` binary.
pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_tokenplan")
}

/// A fixture folder under `fixtures/`.
pub fn fixture(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(relative)
}

/// Runs tokenplan in `dir` with `args`, without a terminal and without colour.
pub fn run_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(binary())
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("TOKENPLAN_TEST_APPLY_PAUSE_MS")
        .env_remove("GITHUB_STEP_SUMMARY")
        .output()
        .expect("tokenplan runs")
}

/// Exit code, stdout and stderr as one readable block.
pub fn describe(output: &Output) -> String {
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

/// A fresh temporary folder.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "tokenplan-test-{name}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Copies a folder tree.
pub fn copy_tree(from: &Path, to: &Path) {
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
pub fn project_copy(case: &str) -> PathBuf {
    let dir = temp_dir(case);
    copy_tree(&fixture(&format!("projects/{case}")), &dir);
    let state = dir.join("workspace.json");
    if state.exists() {
        std::fs::create_dir_all(dir.join(".tokenplan")).unwrap();
        std::fs::rename(&state, dir.join(".tokenplan/workspace.json")).unwrap();
    }
    dir
}
