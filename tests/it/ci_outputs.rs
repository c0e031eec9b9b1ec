//! What pipelines read: the pull-request comment stays under its budget whatever the plan's
//! size, annotations escape awkward names and messages, the step summary stays under 1 MiB,
//! apply's quiet and non-terminal output, and shell completions.

use std::collections::BTreeMap;
use std::process::Command;

use tokenplan::desired::{DesiredSet, DesiredToken, Source};
use tokenplan::plan::plan;
use tokenplan::render::markdown::{self, COMMENT_BUDGET};
use tokenplan::source::Span;
use tokenplan::workspace::{Snapshot, Token, TokenKind, WorkspaceInfo};

use crate::common::{binary, describe, project_copy, run_in};

/// A plan of `n` tokens: a third created, a third narrowed (breaking), a third destroyed.
fn big_plan(n: usize) -> (tokenplan::plan::Plan, DesiredSet) {
    let mut desired = DesiredSet::default();
    let mut tokens = Vec::new();
    for i in 0..n {
        let name = format!("token_{i:06}");
        let pipe = format!("PIPES:READ:pipe_{i:06}");
        let source = Source::in_datafile(&format!("pipes/pipe_{i:06}.pipe"), 7, Span::default());
        match i % 3 {
            0 => {
                desired.tokens.insert(
                    name.clone(),
                    DesiredToken {
                        name,
                        scopes: BTreeMap::from([(pipe.into(), vec![source])]),
                    },
                );
            }
            1 => {
                desired.tokens.insert(
                    name.clone(),
                    DesiredToken {
                        name: name.clone(),
                        scopes: BTreeMap::from([(pipe.clone().into(), vec![source])]),
                    },
                );
                tokens.push(token(&name, &[&pipe, "DATASOURCES:READ:events"]));
            }
            _ => tokens.push(token(&name, &[&pipe])),
        }
    }
    tokens.sort_by(|a, b| a.name.cmp(&b.name));
    let snapshot = Snapshot {
        tokens,
        serial: Some(1),
        lineage: None,
    };
    let info = WorkspaceInfo {
        kind: "embedded".into(),
        location: "x".into(),
    };
    (plan(&desired, &snapshot, &info).unwrap(), desired)
}

fn token(name: &str, scopes: &[&str]) -> Token {
    Token {
        id: name.into(),
        name: name.into(),
        value: "p.x.y".into(),
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        kind: TokenKind::Resource,
        description: String::new(),
        created_at: String::new(),
        updated_at: String::new(),
    }
}

#[test]
fn a_50000_token_plan_fits_the_comment_budget_and_is_stable() {
    let (plan, desired) = big_plan(50_000);
    assert_eq!(plan.changes.len(), 50_000);
    let body = markdown::render(&plan, &desired, COMMENT_BUDGET);
    assert!(body.len() <= COMMENT_BUDGET, "{} bytes", body.len());
    assert!(body.starts_with("### tokenplan: 16667 to add, 16667 to change, 16666 to destroy\n"));
    assert!(body.contains("> [!CAUTION]\n> 33333 changes are breaking"));
    // Breaking changes come first.
    let first_breaking = body.find("will be updated in place").unwrap();
    assert!(first_breaking < body.find("will be created").unwrap_or(usize::MAX));
    let last_line = body.trim_end().lines().last().unwrap();
    assert!(
        last_line.contains("of 50000 changes not shown"),
        "{last_line}"
    );
    assert_eq!(body, markdown::render(&plan, &desired, COMMENT_BUDGET));
    // Every code fence that opens closes.
    assert_eq!(
        body.matches("```diff").count() * 2,
        body.matches("```").count()
    );
}

#[test]
fn tiny_budgets_are_respected() {
    let (plan, desired) = big_plan(30);
    for budget in [0, 50, 300, 1_000, 5_000] {
        assert!(markdown::render(&plan, &desired, budget).len() <= budget);
    }
}

#[test]
fn annotations_escape_awkward_file_names_and_messages() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    std::fs::create_dir_all(dir.join("pipes")).unwrap();
    std::fs::write(
        dir.join("pipes/we%ird, name:1.pipe"),
        "NODE n\nSQL >\n    SELECT 1\nTOKEN t WRITE\n",
    )
    .unwrap();
    let output = run_in(dir, &["plan", ".", "--format", "github"]);
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8(output.stdout.clone()).unwrap();
    insta::assert_snapshot!(stdout, @"::error file=pipes/we%25ird%2C name%3A1.pipe,line=4,col=9,endLine=4,endColumn=14,title=tokenplan%3A%3Asyntax%3A%3Ainvalid_token_permission::Invalid permission: WRITE. Only READ and APPEND are supported%0Ahelp: pipes grant READ");
}

#[test]
fn annotations_are_capped_at_ten_per_kind() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    std::fs::create_dir_all(dir.join("pipes")).unwrap();
    for i in 0..13 {
        std::fs::write(
            dir.join(format!("pipes/p{i:02}.pipe")),
            "NODE n\nSQL >\n    SELECT 1\nTOKEN t WRITE\n",
        )
        .unwrap();
    }
    let output = run_in(dir, &["plan", ".", "--format", "github"]);
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("::error ")).count(),
        10,
        "{stdout}"
    );
    assert_eq!(
        stdout.lines().last().unwrap(),
        "::notice title=tokenplan::3 more errors not shown as annotations"
    );
}

#[test]
fn the_step_summary_gets_the_comment_and_stays_under_one_mebibyte() {
    let temp = project_copy("rename-like");
    let dir = temp.path();
    let summary = dir.join("summary.md");
    std::fs::write(&summary, "# Earlier step\n").unwrap();
    let output = Command::new(binary())
        .args(["plan", ".", "--format", "github"])
        .current_dir(dir)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let written = std::fs::read_to_string(&summary).unwrap();
    // The renamed token was the only one: the caution that every token goes comes first.
    assert!(
        written.starts_with("# Earlier step\n> [!CAUTION]\n"),
        "{written}"
    );
    assert!(
        written.contains("\n### tokenplan: 1 to add, 0 to change, 1 to destroy"),
        "{written}"
    );

    // A summary that is almost full gets what fits, and never passes 1 MiB.
    let nearly_full = "x".repeat(1024 * 1024 - 2_000);
    std::fs::write(&summary, &nearly_full).unwrap();
    Command::new(binary())
        .args(["plan", ".", "--format", "github"])
        .current_dir(dir)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .output()
        .unwrap();
    let size = std::fs::metadata(&summary).unwrap().len();
    assert!(
        size > nearly_full.len() as u64 && size <= 1024 * 1024,
        "{size}"
    );
}

#[test]
fn quiet_apply_prints_only_the_final_line() {
    let temp = project_copy("quickstart");
    let dir = temp.path();
    let output = run_in(dir, &["apply", "--auto-approve", "--quiet"]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        "Apply complete! Tokens: 3 added, 0 changed, 0 destroyed.\n"
    );
    assert!(output.stderr.is_empty());
}

#[test]
fn apply_without_a_terminal_prints_a_line_per_change_and_no_progress_bar() {
    let temp = project_copy("quickstart");
    let dir = temp.path();
    let output = run_in(dir, &["apply", "--auto-approve"]);
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(stdout.contains("\ntoken \"dashboard\": created\ntoken \"public trend\": created\ntoken \"tracker\": created\n"));
    assert!(
        !stdout.contains('\x1b') && !String::from_utf8(output.stderr).unwrap().contains('\x1b')
    );
}

#[test]
fn completions_for_every_shell() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let output = run_in(&std::env::temp_dir(), &["completions", shell]);
        assert_eq!(output.status.code(), Some(0));
        let script = String::from_utf8(output.stdout).unwrap();
        assert!(
            script.contains("tokenplan") && script.contains("force-unlock"),
            "{shell}"
        );
    }
}
