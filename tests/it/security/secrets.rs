//! Secret values never reach a diagnostic: a problem inside a rendered `tb_secret(...)` names
//! the secret and never quotes it, in any output (issue #11, item 3).

use std::path::Path;

use proptest::prelude::*;
use serde_json::Value;

use super::{common, run_with_env};

/// A project where secret values land in every kind of place a problem can be found: a
/// multi-line value that starts lines of its own, a value checked against a list, a column type,
/// an import schedule, and a well-formed setting.
fn secret_project(name: &str) -> tempfile::TempDir {
    let holder = tempfile::Builder::new().prefix(name).tempdir().unwrap();
    let dir = holder.path();
    std::fs::write(
        dir.join("kafka_prod.connection"),
        "TYPE kafka\nKAFKA_BOOTSTRAP_SERVERS broker:9092\n\
         KAFKA_KEY {{ tb_secret('kafka_key') }}\nKAFKA_SECRET {{ tb_secret('kafka_secret') }}\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("events.datasource"),
        "TOKEN reader READ\n\nSCHEMA >\n    `id` UInt64 `json:$.id`,\n    \
         `note` {{ tb_secret('note_type') }} `json:$.note`\n\n\
         ENGINE MergeTree\nENGINE_SORTING_KEY id\nBACKFILL {{ tb_secret('backfill') }}\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("imports.datasource"),
        "SCHEMA >\n    `id` UInt64\n\nENGINE MergeTree\nENGINE_SORTING_KEY id\n\
         IMPORT_CONNECTION_NAME s3\nIMPORT_BUCKET_URI s3://bucket/*.csv\n\
         IMPORT_SCHEDULE {{ tb_secret('schedule') }}\n",
    )
    .unwrap();
    holder
}

/// Everything tokenplan prints about a project with these secrets: `check` in text and JSON,
/// `plan` in every format (stdout and stderr), and the language server's diagnostics.
fn every_output(dir: &Path, secrets: &[(&str, String)]) -> Vec<(String, String)> {
    let mut secret_args = Vec::new();
    for (name, value) in secrets {
        secret_args.push("--secret".to_owned());
        secret_args.push(format!("{name}={value}"));
    }
    let state = dir.join("state").join("ws.json");
    let state = state.to_str().unwrap();
    let project = dir.to_str().unwrap();
    let commands: [&[&str]; 6] = [
        &["check", project],
        &["check", project, "--format", "json"],
        &["plan", project, "--state", state],
        &["plan", project, "--state", state, "--format", "json"],
        &["plan", project, "--state", state, "--format", "markdown"],
        &["plan", project, "--state", state, "--format", "github"],
    ];
    let mut outputs = Vec::new();
    for command in commands {
        let mut args: Vec<&str> = command.to_vec();
        args.extend(secret_args.iter().map(String::as_str));
        let output = run_with_env(dir, &args, &[]);
        outputs.push((command.join(" "), common::describe(&output)));
    }
    let secrets: tokenplan::syntax::Secrets = secrets
        .iter()
        .map(|(name, value)| (name.to_string(), value.clone()))
        .collect();
    let (mut analysis, _) = tokenplan::lsp::Analysis::new(vec![dir.to_path_buf()], secrets);
    let published = serde_json::to_string(&analysis.take_diagnostics()).unwrap();
    outputs.push(("lsp".to_owned(), published));
    outputs
}

/// The parts of a secret that must never be printed: every line and every word of at least 6
/// characters, lower-cased (messages upper-case command words).
fn secret_parts(value: &str) -> Vec<String> {
    let lines = value.lines().map(str::trim);
    let words = value.split_whitespace();
    lines
        .chain(words)
        .filter(|part| part.len() >= 6)
        .map(str::to_lowercase)
        .collect()
}

fn assert_no_secret(outputs: &[(String, String)], secrets: &[(&str, String)]) {
    for (command, output) in outputs {
        let lower = output.to_lowercase();
        for (name, value) in secrets {
            for part in secret_parts(value) {
                assert!(
                    !lower.contains(&part),
                    "`{command}` printed part of tb_secret('{name}'), `{part}`:\n{output}"
                );
            }
        }
    }
}

#[test]
fn a_multi_line_secret_is_named_in_diagnostics_and_never_quoted() {
    let holder = secret_project("secret-diagnostics");
    let dir = holder.path().to_path_buf();
    let pem = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\nMzEfYyjiWA4R4/M2bS1GB4t7NXp98C3S";
    let secrets = [
        ("kafka_key", pem.to_owned()),
        ("kafka_secret", "hunter2-swordfish".to_owned()),
        ("note_type", "Strang3Typ3".to_owned()),
        ("backfill", "neverXYZZY".to_owned()),
        ("schedule", "@weekly-PLUGH".to_owned()),
    ];
    let outputs = every_output(&dir, &secrets);
    assert_no_secret(&outputs, &secrets);
    let check = &outputs[0].1;
    assert!(
        check.contains("the value of tb_secret('kafka_key')"),
        "{check}"
    );
    for name in ["note_type", "backfill", "schedule"] {
        assert!(
            check.contains(&format!("the value of tb_secret('{name}')")),
            "{name}: {check}"
        );
    }
    let json: Value = serde_json::from_str(
        outputs[1]
            .1
            .split_once("--- stdout\n")
            .unwrap()
            .1
            .split("--- stderr")
            .next()
            .unwrap(),
    )
    .unwrap();
    let codes: Vec<&str> = json["files"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| f["diagnostics"].as_array().unwrap())
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert!(
        codes.contains(&"tokenplan::syntax::invalid_secret_value"),
        "{codes:?}"
    );
}

/// A value that looks like a secret: base64 lines, one to four of them.
fn secret_value(max_lines: usize) -> impl Strategy<Value = String> {
    prop::collection::vec("[A-Za-z0-9+/]{8,40}", 1..=max_lines).prop_map(|lines| lines.join("\n"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn random_secret_values_never_appear_in_any_output(
        kafka_key in secret_value(4),
        kafka_secret in secret_value(3),
        note_type in "[A-Za-z][A-Za-z0-9_]{7,20}",
        backfill in "[A-Za-z0-9@_-]{8,20}",
        schedule in "[A-Za-z0-9@/ ]{8,20}",
    ) {
        let holder = secret_project("secret-proptest");
    let dir = holder.path().to_path_buf();
        let secrets = [
            ("kafka_key", kafka_key),
            ("kafka_secret", kafka_secret),
            ("note_type", note_type),
            ("backfill", backfill),
            ("schedule", schedule),
        ];
        let outputs = every_output(&dir, &secrets);
        let _ = std::fs::remove_dir_all(&dir);
        assert_no_secret(&outputs, &secrets);
    }
}
