//! The compiler on hand-written datafiles: every file in `fixtures/check/valid` compiles without a
//! problem and its tokens and model are snapshotted; every file in `fixtures/check/invalid` gets
//! the diagnostics snapshotted, as people (plain text) and programs (JSON) see them.
//!
//! Invalid fixtures whose name starts with `warning_` must get warnings and no error: the Tinybird
//! CLI accepts them (or tokenplan deliberately does), but something in them deserves a look.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use serde_json::Value;
use tokenplan::model::{Datafile, DatafileKind};
use tokenplan::project::ProjectFile;
use tokenplan::render::TextStyle;
use tokenplan::render::diagnostics::{diagnostic_report, render_problem};
use tokenplan::syntax::{self, Secrets};

/// Compiles a fixture as a one-file project, named by its file name so that snapshots do not
/// depend on where the repository is checked out.
fn compile(path: &Path) -> ProjectFile {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .expect("fixture names are UTF-8")
        .to_owned();
    let kind = path
        .extension()
        .and_then(|e| e.to_str())
        .and_then(DatafileKind::from_extension)
        .unwrap_or_else(|| panic!("{name}: not a datafile extension"));
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{name}: {e}"));
    ProjectFile::compile(name, kind, Arc::from(text), &Secrets::new())
}

/// The full typed model of a fixture, which a project keeps only the tokens of.
fn model(file: &ProjectFile) -> Datafile {
    syntax::compile(file.kind, &file.resource, &file.text, &Secrets::new()).datafile
}

/// `line:column` of a byte offset, 1-based.
fn at(file: &ProjectFile, offset: usize) -> String {
    let position = file.position(offset);
    format!("{}:{}", position.line, position.column)
}

/// Replaces every serialized span (`{"start": n, "end": m}`) by `line:column-line:column`, so the
/// model reads like an editor shows the file.
fn readable_spans(file: &ProjectFile, value: &mut Value) {
    match value {
        Value::Object(map) => {
            let is_span = map.len() == 2
                && map.get("start").is_some_and(Value::is_u64)
                && map.get("end").is_some_and(Value::is_u64);
            if is_span {
                let offset = |key: &str| map[key].as_u64().expect("checked above") as usize;
                let (start, end) = (offset("start"), offset("end"));
                *value = Value::String(format!("{}-{}", at(file, start), at(file, end)));
            } else {
                map.values_mut().for_each(|v| readable_spans(file, v));
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| readable_spans(file, v)),
        _ => {}
    }
}

fn tokens_section(file: &ProjectFile) -> String {
    let mut out = String::from("## Tokens\n\n");
    let tokens = file.tokens.iter();
    let mut any = false;
    for token in tokens {
        any = true;
        writeln!(
            out,
            "- {:?} {} (at {})",
            token.name,
            token.permission,
            at(file, token.name_span.start)
        )
        .expect("write to a String");
    }
    if !any {
        out.push_str("(none)\n");
    }
    out
}

#[test]
fn valid() {
    insta::glob!("../../fixtures/check/valid", "*.*", |path| {
        let file = compile(path);
        let problems: Vec<String> = file.problems.iter().map(ToString::to_string).collect();
        assert!(
            problems.is_empty(),
            "{}: a valid fixture must compile without any problem, got {problems:?}",
            file.path
        );
        let mut model = serde_json::to_value(model(&file)).expect("the model serializes");
        readable_spans(&file, &mut model);
        let model = serde_json::to_string_pretty(&model).expect("JSON");
        let snapshot = format!(
            "# {}\n\n{}\n## Model\n\n```json\n{model}\n```\n",
            file.path,
            tokens_section(&file)
        );
        snapshot!("valid", snapshot);
    });
}

#[test]
fn invalid() {
    insta::glob!("../../fixtures/check/invalid", "*.*", |path| {
        let file = compile(path);
        assert!(
            !file.problems.is_empty(),
            "{}: an invalid fixture must get at least one problem",
            file.path
        );
        let warning_only = file.path.starts_with("warning_");
        assert_eq!(
            file.has_errors(),
            !warning_only,
            "{}: fixtures named warning_* get warnings only, the others at least one error",
            file.path
        );
        let mut snapshot = format!("# {}\n\n## Diagnostics\n\n", file.path);
        for problem in &file.problems {
            snapshot.push_str(&render_problem(&file, problem, TextStyle::PLAIN));
            snapshot.push('\n');
        }
        let reports: Vec<_> = file
            .problems
            .iter()
            .map(|p| diagnostic_report(&file, p))
            .collect();
        let json = serde_json::to_string_pretty(&reports).expect("JSON");
        write!(snapshot, "## JSON\n\n```json\n{json}\n```\n\n").expect("write to a String");
        snapshot.push_str(&tokens_section(&file));
        snapshot!("invalid", snapshot);
    });
}

/// Every diagnostic code the compiler defines is shown by at least one invalid fixture, so a new
/// diagnostic cannot land without a snapshot of how it reads.
#[test]
fn every_syntax_code_has_an_invalid_fixture() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let source = std::fs::read_to_string(root.join("src/syntax/diagnostic.rs"))
        .expect("src/syntax/diagnostic.rs");
    let defined: BTreeSet<String> = source
        .split("code(")
        .skip(1)
        .filter_map(|rest| rest.split(')').next())
        .filter(|code| code.starts_with("tokenplan::syntax::"))
        .map(str::to_owned)
        .collect();
    assert!(
        defined.len() > 20,
        "found only {} codes in diagnostic.rs: has its format changed?",
        defined.len()
    );
    let mut shown = BTreeSet::new();
    let dir = root.join("fixtures/check/invalid");
    for entry in std::fs::read_dir(&dir).expect("fixtures/check/invalid") {
        let file = compile(&entry.expect("directory entry").path());
        shown.extend(file.problems.iter().map(|p| p.code_string()));
    }
    let missing: Vec<&String> = defined.difference(&shown).collect();
    assert!(missing.is_empty(), "no invalid fixture shows {missing:?}");
}

/// A connection's settings are often credentials: the serialized model never shows their values.
#[test]
fn connection_settings_are_masked_when_serialized() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/check/valid/kafka_prod.connection");
    let file = compile(&path);
    let json = serde_json::to_string(&model(&file)).expect("JSON");
    for secret in [
        "hunter2-not-a-real-secret",
        "svc-tokenplan",
        "broker-1.example.com",
    ] {
        assert!(
            file.text.contains(secret),
            "the fixture should hold {secret:?} for this test to mean anything"
        );
        assert!(!json.contains(secret), "{secret:?} leaked into {json}");
    }
    assert!(json.contains("\"***\""), "{json}");
}
