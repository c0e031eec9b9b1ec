//! `tokenplan check` as people and CI run it: the built binary on the projects in
//! `fixtures/check/projects/<case>/`, each copied to a temporary folder first so that a test can
//! add what git cannot keep (a `.git` folder) and so that no path of this machine shows in the
//! output. One snapshot per case holds the exit code, stdout and stderr.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tempfile::TempDir;

use crate::common;

const BIN: &str = env!("CARGO_BIN_EXE_tokenplan");

fn fixture(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/check/projects")
        .join(case)
}

/// A temporary copy of a fixture project.
fn project(case: &str) -> TempDir {
    let dir = tempfile::tempdir().expect("temporary folder");
    common::copy_tree(&fixture(case), dir.path());
    dir
}

/// The command, run from `dir` on `.`, with no colour setting inherited from the test's
/// environment.
fn tokenplan(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command
        .current_dir(dir)
        .arg("check")
        .args(args)
        .env_remove("NO_COLOR");
    command
}

/// Exit code, stdout and stderr as one text. Output that goes to a pipe must be plain: every run
/// checks that it holds no ANSI escape.
fn describe(output: &Output) -> String {
    for (name, bytes) in [("stdout", &output.stdout), ("stderr", &output.stderr)] {
        assert!(
            !bytes.contains(&0x1b),
            "{name} is not a terminal but holds an escape sequence:\n{}",
            String::from_utf8_lossy(bytes)
        );
    }
    format!(
        "exit code: {}\n--- stdout ---\n{}--- stderr ---\n{}",
        output
            .status
            .code()
            .map_or_else(|| "signal".to_owned(), |c| c.to_string()),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    )
}

fn run(case: &str, args: &[&str]) -> (Output, String) {
    let dir = project(case);
    let mut full = vec!["."];
    full.extend_from_slice(args);
    let output = tokenplan(dir.path(), &full)
        .output()
        .expect("run tokenplan");
    let text = describe(&output);
    (output, text)
}

#[test]
fn clean_project_exits_0() {
    let (output, text) = run("clean", &[]);
    assert_eq!(output.status.code(), Some(0), "{text}");
    snapshot!("clean", text);
}

#[test]
fn an_error_exits_1() {
    let (output, text) = run("error", &[]);
    assert_eq!(output.status.code(), Some(1), "{text}");
    snapshot!("error", text);
}

#[test]
fn warnings_only_exit_0() {
    let (output, text) = run("warnings_only", &[]);
    assert_eq!(output.status.code(), Some(0), "{text}");
    assert!(
        text.contains("0 errors, 2 warnings"),
        "the summary counts the warnings: {text}"
    );
    snapshot!("warnings_only", text);
}

#[test]
fn json_document() {
    let (output, text) = run("json", &["--format", "json"]);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(output.stderr.is_empty(), "{text}");
    let report: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("stdout is one JSON document");
    assert_eq!(report["format_version"], "1");
    let paths: Vec<&str> = report["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| f["path"].as_str().expect("path"))
        .collect();
    // Sorted as strings with `/` separators: `api.pipe` before the folder `api/`.
    assert_eq!(
        paths,
        [
            "datasources/events.datasource",
            "pipes/api.pipe",
            "pipes/api/top.pipe"
        ]
    );
    let first_token = &report["files"][0]["tokens"][0];
    assert_eq!(
        (&first_token["line"], &first_token["column"]),
        (&1.into(), &7.into()),
        "tokens have 1-based positions"
    );
    let summary = &report["summary"];
    assert_eq!(
        (&summary["files"], &summary["errors"], &summary["warnings"]),
        (&3.into(), &2.into(), &1.into()),
        "{summary}"
    );
    snapshot!("json", text);
}

#[test]
fn discovery_skips_tool_and_hidden_folders_and_incl_files() {
    let dir = project("discovery");
    // Each of these holds a broken datafile: if it were checked, the run would fail.
    for skipped in [".git", "target", "node_modules", ".hidden", "pipes/.cache"] {
        let folder = dir.path().join(skipped);
        std::fs::create_dir_all(&folder).expect("create folder");
        std::fs::write(folder.join("broken.pipe"), "NODE\nTOKEN x WRITE\n").expect("write");
        std::fs::write(folder.join("broken.datasource"), "SCHEMA\n").expect("write");
    }
    let output = tokenplan(dir.path(), &["."])
        .output()
        .expect("run tokenplan");
    let text = describe(&output);
    assert_eq!(output.status.code(), Some(0), "{text}");
    assert!(
        text.contains("Checked 2 files"),
        "only pipes/visible.pipe and a/b/c/d/deep.datasource are datafiles: {text}"
    );
    snapshot!("discovery", text);
}

#[test]
fn same_stem_and_kind_is_a_duplicate_resource() {
    let (output, text) = run("duplicate", &[]);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(
        text.contains("tokenplan::project::duplicate_resource"),
        "{text}"
    );
    // Both files are labelled; the pipe of the same name is another kind and no conflict.
    assert!(text.contains("[legacy/events.datasource:1:1]"), "{text}");
    assert!(
        text.contains("[datasources/events.datasource:1:1]"),
        "{text}"
    );
    assert!(!text.contains("pipes/events.pipe"), "{text}");
    snapshot!("duplicate", text);
}

#[test]
fn file_that_is_not_utf8_is_reported() {
    let (output, text) = run("not_utf8", &[]);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("tokenplan::project::not_utf8"), "{text}");
    snapshot!("not_utf8", text);
}

#[test]
fn missing_path_exits_1_with_a_diagnostic_on_stderr() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let output = tokenplan(dir.path(), &["no-such-project"])
        .output()
        .expect("run tokenplan");
    let text = describe(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(output.stdout.is_empty(), "{text}");
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("tokenplan::project::not_found"),
        "{text}"
    );
    snapshot!("missing_path", text);
}

#[cfg(unix)]
mod terminal {
    //! On a terminal the report is decorated: Unicode drawing, and colour unless `NO_COLOR` is
    //! set. A pseudo-terminal stands in for a person's terminal.

    use super::*;

    /// Runs the check with stdout on a pseudo-terminal.
    fn on_terminal(case: &str, no_color: bool) -> (Option<i32>, String) {
        let dir = project(case);
        let mut command = tokenplan(dir.path(), &["."]);
        if no_color {
            command.env("NO_COLOR", "1");
        }
        common::on_terminal(command, common::TerminalStream::Stdout)
    }

    #[test]
    fn terminal_output_is_coloured() {
        let (code, text) = on_terminal("error", false);
        assert_eq!(code, Some(1), "{text}");
        assert!(text.contains("\u{1b}["), "no colour on a terminal: {text}");
    }

    #[test]
    fn no_color_keeps_unicode_and_drops_colour() {
        let (code, text) = on_terminal("error", true);
        assert_eq!(code, Some(1), "{text}");
        assert!(!text.contains('\u{1b}'), "NO_COLOR is set: {text:?}");
        assert!(
            text.contains('╭') || text.contains('×'),
            "a terminal still gets Unicode drawing: {text}"
        );
    }
}
