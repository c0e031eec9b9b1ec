//! The plan of every fixture project (`fixtures/projects/<case>/`, described by its `CASE.md`),
//! as text, JSON, a pull-request comment and GitHub annotations, against the case's
//! `workspace.json` (a new workspace when there is none).

use crate::common::{describe, run_in};

#[test]
fn plans() {
    insta::glob!("../../fixtures/projects", "*/CASE.md", |case| {
        let dir = case.parent().unwrap();
        let state = dir.join("workspace.json");
        let state = state.to_str().unwrap();
        let text = run_in(dir, &["plan", ".", "--state", state]);
        let json = run_in(dir, &["plan", ".", "--state", state, "--format", "json"]);
        let markdown = run_in(
            dir,
            &["plan", ".", "--state", state, "--format", "markdown"],
        );
        // The fixture folder as the repository root: paths in annotations stay as in the case.
        let github = std::process::Command::new(super::common::binary())
            .args(["plan", ".", "--state", state, "--format", "github"])
            .current_dir(dir)
            .env("NO_COLOR", "1")
            .env_remove("GITHUB_STEP_SUMMARY")
            .env("GITHUB_WORKSPACE", dir)
            .output()
            .unwrap();
        let description = std::fs::read_to_string(case).unwrap();
        snapshot!(
            "plans",
            format!(
                "## Case\n{description}\n## Plan\n{}\n## Plan as JSON\n{}\n## Plan as Markdown\n{}\n## GitHub annotations\n{}",
                describe(&text),
                describe(&json),
                describe(&markdown),
                describe(&github)
            )
        );
    });
}
