//! SDK projects (TypeScript and Python) through the command line: the three quickstarts plan the
//! same tokens, plan and apply end to end, a failed generator stops everything, TOKEN scopes point
//! at their SDK lines, monorepos, the SDK's credentials, and the language server leaving
//! generators alone.
//!
//! The SDKs are those pinned at the repository root (`npm ci`, and a `.venv` from
//! `requirements-sdk.txt`, as `.ci/run` installs them). Node.js resolves `@tinybirdco/sdk` by
//! walking up from the project folder, and the Python interpreter is the nearest `.venv`: so
//! fixtures run in place (with `--state` in a temporary folder), and copies go to a temporary
//! folder under the target folder, inside the repository. No test skips when a tool is missing:
//! it fails saying what to install.

mod credentials;
mod editors;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use crate::common::{binary, copy_tree, describe, fixture};

const SETUP: &str = "the SDK tests need Node.js 20+ with the pinned @tinybirdco/sdk (`npm ci` at the repository root) and Python 3.11+ with the pinned tinybird-sdk (`python3 -m venv .venv && .venv/bin/pip install -r requirements-sdk.txt` at the repository root)";

/// Runs tokenplan in `dir`, without colour and without any workspace credentials but `env`.
fn run(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(binary())
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("TB_HOST")
        .env_remove("TB_TOKEN")
        .env_remove("TINYBIRD_URL")
        .env_remove("TINYBIRD_TOKEN")
        .env_remove("GITHUB_STEP_SUMMARY")
        .env_remove("TOKENPLAN_TEST_APPLY_PAUSE_MS")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("tokenplan runs")
}

/// The output of a command expected to succeed; a missing SDK fails with what to install.
fn succeeds(output: Output) -> Output {
    if output.status.code() != Some(0) {
        let text = describe(&output);
        let missing = ["node_missing", "python_missing", "sdk_missing"]
            .iter()
            .any(|code| text.contains(code));
        panic!("{text}{}", if missing { SETUP } else { "" });
    }
    output
}

fn code(output: &Output) -> Option<i32> {
    output.status.code()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A temporary folder under the target folder, inside the repository: an SDK project copied
/// there finds the repository's `node_modules` and `.venv`, as it does in place.
fn scratch() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("sdk-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap()
}

/// A copy of `fixtures/<relative>` in `dir/<name>`.
fn copy(relative: &str, dir: &Path, name: &str) -> PathBuf {
    let to = dir.join(name);
    copy_tree(&fixture(relative), &to);
    to
}

fn json(output: &Output) -> Value {
    serde_json::from_str(&stdout(output)).unwrap_or_else(|e| panic!("{e}: {}", describe(output)))
}

/// A plan document without what only says where its lines are or what the project is: the
/// TOKEN lines (datafile or SDK source), the project, and the hash of the names.
fn without_sources(mut plan: Value) -> Value {
    let document = plan.as_object_mut().unwrap();
    document.remove("project");
    document.remove("desired_hash");
    // Each plan had a state file of its own.
    plan["workspace"]
        .as_object_mut()
        .unwrap()
        .remove("location");
    for change in plan["changes"].as_array_mut().unwrap() {
        for added in change["scopes_added"].as_array_mut().unwrap() {
            added.as_object_mut().unwrap().remove("sources");
        }
    }
    plan
}

#[test]
fn the_three_quickstarts_plan_the_same_tokens_but_one_name() {
    let state = tempfile::tempdir().unwrap();
    let plan = |case: &str| {
        let state = state.path().join(format!("{case}.json"));
        let output = succeeds(run(
            &fixture("projects").join(case),
            &[
                "plan",
                ".",
                "--format",
                "json",
                "--state",
                state.to_str().unwrap(),
            ],
            &[],
        ));
        json(&output)
    };
    let datafiles = plan("quickstart");
    let typescript = plan("quickstart-ts");
    let python = plan("quickstart-py");
    assert_eq!(datafiles["project"]["kind"], "datafiles");
    assert_eq!(typescript["project"]["kind"], "typescript");
    assert_eq!(python["project"]["kind"], "python");
    assert_eq!(typescript["project"]["config"], "tinybird.config.json");
    // The two SDKs declare exactly the same tokens, so the same hash.
    assert_eq!(typescript["desired_hash"], python["desired_hash"]);
    assert_eq!(without_sources(typescript.clone()), without_sources(python));
    // The datafiles differ in one name: SDK token names cannot hold a space.
    let names = |plan: &Value| -> Vec<String> {
        plan["changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names(&datafiles), ["dashboard", "public trend", "tracker"]);
    assert_eq!(names(&typescript), ["dashboard", "public_trend", "tracker"]);
    let renamed: Value = serde_json::from_str(
        &serde_json::to_string(&without_sources(datafiles))
            .unwrap()
            .replace("\"public trend\"", "\"public_trend\""),
    )
    .unwrap();
    assert_eq!(renamed, without_sources(typescript));
}

/// Plan, apply (embedded state in the copy's default place), then a plan with nothing to do.
fn end_to_end(case: &str, tokens_source: &str) {
    let dir = scratch();
    let project = copy(&format!("projects/{case}"), dir.path(), case);
    let plan = succeeds(run(&project, &["plan"], &[]));
    let text = stdout(&plan);
    assert!(
        text.contains("Plan: 3 to add, 0 to change, 0 to destroy."),
        "{text}"
    );
    assert!(text.contains(tokens_source), "{text}");
    let applied = succeeds(run(&project, &["apply", "--auto-approve"], &[]));
    assert!(
        stdout(&applied).contains("Apply complete! Tokens: 3 added, 0 changed, 0 destroyed."),
        "{}",
        describe(&applied)
    );
    assert!(project.join(".tokenplan/workspace.db").is_file());
    let again = succeeds(run(&project, &["plan", "--detailed-exitcode"], &[]));
    assert!(
        stdout(&again).contains("No changes. The workspace matches the datafiles."),
        "{}",
        describe(&again)
    );
    let listed = succeeds(run(&project, &["token", "ls", "--format", "json"], &[]));
    let listed = json(&listed);
    let names: Vec<&str> = listed["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["kind"] == "resource")
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["dashboard", "public_trend", "tracker"]);
}

#[test]
fn a_typescript_project_plans_applies_and_then_has_nothing_to_do() {
    end_to_end(
        "quickstart-ts",
        "+ PIPES:READ:trend  # tinybird/pipes.ts:45",
    );
}

#[test]
fn a_python_project_plans_applies_and_then_has_nothing_to_do() {
    end_to_end(
        "quickstart-py",
        "+ PIPES:READ:trend  # analytics/pipes.py:55",
    );
}

/// The bytes of the state file, or none.
fn state_bytes(path: &Path) -> Option<Vec<u8>> {
    std::fs::read(path).ok()
}

/// A generator that fails: exit 1, the SDK's code, no plan on stdout, and nothing written.
fn assert_refused(project: &Path, state: &Path, expected_code: &str) {
    let before = state_bytes(state);
    let state_arg = state.to_str().unwrap();
    for args in [
        vec!["plan", ".", "--state", state_arg],
        vec![
            "apply",
            ".",
            "--state",
            state_arg,
            "--auto-approve",
            "--allow-destroy",
        ],
    ] {
        let output = run(project, &args, &[]);
        let text = describe(&output);
        assert_eq!(code(&output), Some(1), "{text}");
        assert!(stderr(&output).contains(expected_code), "{text}");
        assert!(stderr(&output).contains("No plan was made"), "{text}");
        assert!(stdout(&output).is_empty(), "no plan at all: {text}");
        assert!(
            !text.contains("0 tokens"),
            "never read as no tokens: {text}"
        );
        assert_eq!(state_bytes(state), before, "the state is untouched: {text}");
    }
}

#[test]
fn a_typescript_syntax_error_or_a_python_exception_means_no_plan() {
    let state = tempfile::tempdir().unwrap();
    for case in ["sdk/ts-syntax-error", "sdk/py-exception"] {
        assert_refused(
            &fixture(case),
            &state.path().join("workspace.json"),
            "tokenplan::sdk::generate_failed",
        );
    }
    // After an apply, a broken definition must not read as "every token gone".
    let dir = scratch();
    for (case, file, breaking) in [
        ("quickstart-ts", "tinybird/tokens.ts", "export const = ;\n"),
        (
            "quickstart-py",
            "analytics/tokens.py",
            "raise RuntimeError('boom')\n",
        ),
    ] {
        let project = copy(&format!("projects/{case}"), dir.path(), case);
        let state = dir.path().join(format!("{case}.json"));
        let state_arg = state.to_str().unwrap();
        succeeds(run(
            &project,
            &["apply", ".", "--state", state_arg, "--auto-approve"],
            &[],
        ));
        let path = project.join(file);
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str(breaking);
        std::fs::write(&path, text).unwrap();
        assert_refused(&project, &state, "tokenplan::sdk::generate_failed");
    }
}

#[test]
fn a_slow_generator_is_stopped_at_the_time_limit() {
    let dir = scratch();
    let project = copy("projects/quickstart-py", dir.path(), "slow");
    let tokens = project.join("analytics/tokens.py");
    let mut text = std::fs::read_to_string(&tokens).unwrap();
    text.push_str("import time\ntime.sleep(60)\n");
    std::fs::write(&tokens, text).unwrap();
    let started = std::time::Instant::now();
    let output = run(&project, &["plan", "--sdk-timeout", "2"], &[]);
    assert_eq!(code(&output), Some(1), "{}", describe(&output));
    assert!(stderr(&output).contains("tokenplan::sdk::timeout"));
    assert!(started.elapsed().as_secs() < 30, "stopped at the limit");
}

/// The plan of a fixture in every format, for a snapshot; no generated path may show.
fn plans_of(case: &str) -> String {
    let state = tempfile::tempdir().unwrap();
    let state = state.path().join("workspace.json");
    let state = state.to_str().unwrap();
    let dir = fixture(case);
    let mut out = String::new();
    for format in ["text", "markdown", "github"] {
        let output = succeeds(run(
            &dir,
            &["plan", ".", "--state", state, "--format", format],
            &[],
        ));
        // The state is in a fresh folder: its path is the one thing that differs per run.
        let database = std::path::Path::new(state).with_extension("db");
        let text = stdout(&output).replace(database.to_str().unwrap(), "[state]");
        assert!(
            !text.contains(".datasource") && !text.contains(".pipe:"),
            "only SDK sources: {text}"
        );
        out.push_str(&format!("## {format}\n{text}\n"));
    }
    out
}

#[test]
fn tokens_point_at_their_sdk_lines_through_constants_and_across_files() {
    snapshot!("trace_ts", plans_of("sdk/trace-ts"));
    snapshot!("trace_py", plans_of("sdk/trace-py"));
    let state = tempfile::tempdir().unwrap();
    let state = state.path().join("workspace.json");
    let output = succeeds(run(
        &fixture("sdk/trace-ts"),
        &[
            "plan",
            ".",
            "--format",
            "json",
            "--state",
            state.to_str().unwrap(),
        ],
        &[],
    ));
    let plan = json(&output);
    let sources = |token: &str| -> Vec<Value> {
        let change = plan["changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == token)
            .unwrap();
        change["scopes_added"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|a| a["sources"].as_array().unwrap().clone())
            .collect()
    };
    // A constant entry (`READ_ACCESS`) points at the line that uses it, in each file.
    assert_eq!(
        sources("reader"),
        [
            serde_json::json!({"path": "resources/datasources.ts", "line": 26}),
            serde_json::json!({"path": "resources/datasources.ts", "line": 9}),
            serde_json::json!({"path": "resources/pipes.ts", "line": 9}),
        ]
    );
    // Entries built by code: the resource's definition, said to be untraced.
    assert_eq!(
        sources("audit"),
        [
            serde_json::json!({"path": "resources/datasources.ts", "line": 32, "untraced": "resource_definition"})
        ]
    );
}

#[test]
fn a_breaking_change_is_annotated_at_its_sdk_line() {
    let dir = scratch();
    let project = copy("sdk/trace-ts", dir.path(), "trace");
    let state = dir.path().join("workspace.json");
    let state = state.to_str().unwrap();
    succeeds(run(
        &project,
        &["apply", ".", "--state", state, "--auto-approve"],
        &[],
    ));
    // `ingest` no longer appends to `orders`: the warning goes on the definition of `orders`.
    let definitions = project.join("resources/datasources.ts");
    let text = std::fs::read_to_string(&definitions).unwrap();
    let edited = text.replacen("    { token: ingest, scope: \"APPEND\" },\n", "", 1);
    assert_ne!(text, edited);
    std::fs::write(&definitions, edited).unwrap();
    let github = succeeds(run(
        &project,
        &["plan", ".", "--state", state, "--format", "github"],
        &[],
    ));
    let annotations = stdout(&github);
    assert!(
        annotations.contains("datasources.ts,line=7,title=Token loses access%3A ingest::"),
        "{annotations}"
    );
    let text = succeeds(run(&project, &["plan", ".", "--state", state], &[]));
    assert!(
        stdout(&text).contains("- DATASOURCES:APPEND:orders"),
        "{}",
        describe(&text)
    );
}

#[test]
fn a_problem_in_generated_text_names_the_sdk_definition() {
    let dir = scratch();
    let project = copy("projects/quickstart-ts", dir.path(), "template");
    let pipes = project.join("tinybird/pipes.ts");
    let text = std::fs::read_to_string(&pipes).unwrap();
    std::fs::write(&pipes, text.replacen("{% end %}", "", 1)).unwrap();
    let check = run(&project, &["check"], &[]);
    let text = describe(&check);
    assert_eq!(code(&check), Some(1), "{text}");
    assert!(
        text.contains("Project: TypeScript SDK project (tinybird.config.json)"),
        "{text}"
    );
    assert!(text.contains("tokenplan::syntax::template_error"), "{text}");
    assert!(
        text.contains("pipes/top_pages.pipe is not on disk: it was generated by the TypeScript SDK from the definition at tinybird/pipes.ts:4"),
        "{text}"
    );
    assert!(
        text.contains("Checked 3 generated files: 1 error"),
        "{text}"
    );
    let report = json(&run(&project, &["check", "--format", "json"], &[]));
    let file = &report["files"][1];
    assert_eq!(file["path"], "pipes/top_pages.pipe");
    assert_eq!(
        file["generated"],
        serde_json::json!({"sdk": "typescript", "definition": {"path": "tinybird/pipes.ts", "line": 4}})
    );
    assert_eq!(
        file["tokens"][0]["source"],
        serde_json::json!({"path": "tinybird/pipes.ts", "line": 27})
    );
    // Annotations go to the SDK file, which is in the repository; the generated one is not.
    let github = run(&project, &["plan", "--format", "github"], &[]);
    let annotations = stdout(&github);
    assert!(
        annotations.contains("::error file=tinybird/pipes.ts,line=4,")
            || annotations.contains("/tinybird/pipes.ts,line=4,"),
        "{}",
        describe(&github)
    );
}

/// A folder holding a TypeScript project and a datafile project, both defining
/// `analytics_events`, and a pipe that belongs to neither.
fn monorepo(dir: &Path) -> PathBuf {
    let mono = dir.join("mono");
    copy("projects/quickstart-ts", &mono, "web");
    copy("projects/quickstart", &mono, "analytics");
    std::fs::remove_file(mono.join("analytics/CASE.md")).unwrap();
    std::fs::write(mono.join("analytics/tinybird.json"), r#"{"folder": "."}"#).unwrap();
    std::fs::create_dir_all(mono.join("scripts")).unwrap();
    std::fs::write(
        mono.join("scripts/trend.pipe"),
        "NODE n\nSQL >\n    SELECT 1\n\nTOKEN stray READ\n",
    )
    .unwrap();
    mono
}

#[test]
fn a_monorepo_is_checked_project_by_project_and_never_planned_whole() {
    let dir = scratch();
    monorepo(dir.path());
    let check = succeeds(run(dir.path(), &["check", "mono"], &[]));
    snapshot!("monorepo_check", stdout(&check));
    let report = json(&succeeds(run(
        dir.path(),
        &["check", "mono", "--format", "json"],
        &[],
    )));
    let projects: Vec<(&str, &str)> = report["projects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["path"].as_str().unwrap(),
                p["project"]["kind"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        projects,
        [
            ("mono/analytics", "datafiles"),
            ("mono/web", "typescript"),
            ("mono", "datafiles")
        ]
    );
    assert_eq!(report["projects"][2]["outside"], true);
    assert_eq!(report["summary"]["errors"], 0, "not a duplicate resource");
    assert_eq!(report["summary"]["projects"], 2);
    for command in [
        vec!["plan", "mono"],
        vec!["apply", "mono", "--auto-approve"],
    ] {
        let output = run(dir.path(), &command, &[]);
        let text = describe(&output);
        assert_eq!(code(&output), Some(1), "{text}");
        assert!(
            text.contains("tokenplan::project::several_projects"),
            "{text}"
        );
        assert!(
            text.contains("mono holds 2 projects: mono/analytics, mono/web"),
            "{text}"
        );
        assert!(text.contains("tokenplan plan mono/analytics"), "{text}");
        assert!(!dir.path().join("mono/.tokenplan/workspace.db").exists());
    }
    // Each one on its own is a project like any other.
    succeeds(run(dir.path(), &["plan", "mono/web"], &[]));
    succeeds(run(dir.path(), &["plan", "mono/analytics"], &[]));
}

#[test]
fn the_repository_quickstart_commands_work() {
    // README's SDK commands, run as written (with a throwaway state).
    let state = tempfile::tempdir().unwrap();
    let state = state.path().join("workspace.json");
    for case in [
        "fixtures/projects/quickstart-ts",
        "fixtures/projects/quickstart-py",
    ] {
        let output = succeeds(run(
            root(),
            &["plan", case, "--state", state.to_str().unwrap()],
            &[],
        ));
        assert!(stdout(&output).contains("SDK project (tinybird.config.json)"));
    }
}
