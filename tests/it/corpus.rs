//! The Tinybird CLI's own verdict on 1,000+ real datafiles (`../shared/corpus/EXPECTED.jsonl`):
//! every file it accepts must compile without error and declare the same tokens in the same order;
//! every file it rejects (except for a missing workspace secret) should get at least one error.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use tokenplan::model::DatafileKind;
use tokenplan::project::resource_name;
use tokenplan::syntax::{self, Secrets};

#[derive(Deserialize)]
struct Expected {
    path: String,
    kind: String,
    ok: bool,
    error: Option<String>,
    tokens: Vec<(String, String)>,
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus")
}

#[test]
fn corpus_matches_the_tinybird_cli() {
    let dir = corpus_dir();
    let expected = std::fs::read_to_string(dir.join("EXPECTED.jsonl")).unwrap_or_else(|e| {
        panic!(
            "the corpus is expected at {}: {e}",
            dir.join("EXPECTED.jsonl").display()
        )
    });
    let secrets = Secrets::new();
    let mut accepted = 0;
    let mut accepted_failures = Vec::new();
    let mut rejected = 0;
    let mut rejected_caught = 0;
    let mut rejected_missed = Vec::new();
    for line in expected.lines().filter(|l| !l.trim().is_empty()) {
        let case: Expected = serde_json::from_str(line).expect("EXPECTED.jsonl line");
        let kind = DatafileKind::from_extension(&case.kind).expect("known kind");
        let text = std::fs::read_to_string(dir.join(&case.path)).expect("corpus file");
        let compiled = syntax::compile(kind, resource_name(&case.path), &text, &secrets);
        let errors: Vec<String> = compiled
            .problems
            .iter()
            .filter(|p| {
                miette::Diagnostic::severity(*p).unwrap_or(miette::Severity::Error)
                    == miette::Severity::Error
            })
            .map(|p| format!("{p} at {:?}", p.span()))
            .collect();
        let tokens: Vec<(String, String)> = compiled
            .datafile
            .tokens
            .iter()
            .map(|t| (t.name.clone(), t.permission.as_str().to_owned()))
            .collect();
        if case.ok {
            accepted += 1;
            if !errors.is_empty() {
                accepted_failures.push(format!("{}: unexpected errors {errors:?}", case.path));
            } else if tokens != case.tokens {
                accepted_failures.push(format!(
                    "{}: tokens {tokens:?}, expected {:?}",
                    case.path, case.tokens
                ));
            }
        } else if !case
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("Cannot access secret")
        {
            rejected += 1;
            if errors.is_empty() {
                rejected_missed.push(format!("{}: {}", case.path, case.error.unwrap_or_default()));
            } else {
                rejected_caught += 1;
            }
        }
    }
    println!(
        "accepted by the CLI: {}/{accepted} without error and with the same tokens",
        accepted - accepted_failures.len()
    );
    println!(
        "rejected by the CLI: {rejected_caught}/{rejected} rejected by tokenplan ({:.1}%)",
        100.0 * rejected_caught as f64 / rejected.max(1) as f64
    );
    for missed in &rejected_missed {
        println!("  missed: {missed}");
    }
    assert!(
        accepted > 900,
        "the corpus looks incomplete: {accepted} accepted files"
    );
    assert!(
        accepted_failures.is_empty(),
        "{} accepted files disagree:\n{}",
        accepted_failures.len(),
        accepted_failures.join("\n")
    );
    // Every rejection in the corpus is caught today; a regression shows here.
    assert!(
        rejected_missed.is_empty(),
        "{} rejected files got no error",
        rejected_missed.len()
    );
}
