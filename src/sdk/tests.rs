//! End-to-end tests: the fixture SDK projects (`fixtures/projects/quickstart-{ts,py}`,
//! `fixtures/sdk/*`) generated with the SDKs pinned at the repository root (`npm ci`, and a
//! `.venv` from `requirements-sdk.txt`, as `.ci/run` installs them), their TOKEN lines compiled
//! and traced; then each way a generator fails. A missing tool fails a test with the command to
//! run; no test skips.

use super::error::ResultProblem;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use miette::Diagnostic;

use super::*;
use crate::model::DatafileKind;
use crate::project::ProjectFile;
use crate::syntax::Secrets;

const TS_SETUP: &str = "the TypeScript SDK tests need Node.js 20+ and the pinned @tinybirdco/sdk: run `npm ci` at the repository root";
const PY_SETUP: &str = "the Python SDK tests need Python 3.11+ and the pinned tinybird-sdk: run `python3 -m venv .venv && .venv/bin/pip install -r requirements-sdk.txt` at the repository root";

fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(path)
}

fn setup(language: Language) -> &'static str {
    match language {
        Language::TypeScript => TS_SETUP,
        Language::Python => PY_SETUP,
    }
}

fn sdk_project(path: &Path) -> SdkProject {
    detect(path)
        .sdk()
        .unwrap_or_else(|| panic!("{} is not an SDK project", path.display()))
}

/// Generates a fixture project, failing with the setup to run when a tool is missing.
fn generate_fixture(path: &str) -> (SdkProject, Generated) {
    let project = sdk_project(&fixture(path));
    match generate(&project, &GenerateOptions::default()) {
        Ok(generated) => (project, generated),
        Err(error) => panic!(
            "{path}: {:?}\n{}",
            miette::Report::new(error),
            setup(project.language)
        ),
    }
}

/// The error generating `project` gives; a missing interpreter or SDK fails the test with the
/// setup to run, unless that is the error expected.
fn failure(project: &SdkProject, options: &GenerateOptions, tools_expected: bool) -> SdkError {
    let error = match generate(project, options) {
        Ok(generated) => panic!("generated {:?}", generated.artifacts),
        Err(error) => error,
    };
    let tool_missing = matches!(
        error,
        SdkError::NodeMissing { .. }
            | SdkError::PythonMissing { .. }
            | SdkError::TypeScriptSdkMissing { .. }
            | SdkError::PythonSdkMissing { .. }
    );
    if tool_missing && !tools_expected {
        panic!(
            "{:?}\n{}",
            miette::Report::new(error),
            setup(project.language)
        );
    }
    error
}

/// Every TOKEN line of the generated datafiles, compiled, with its trace:
/// `pipes/x.pipe: TOKEN a READ <- resources/pipes.ts:9 (declared shared/tokens.ts:3)`.
fn traced_tokens(project: &SdkProject, generated: &Generated) -> String {
    let sources = Sources::scan(project);
    let mut lines = Vec::new();
    for artifact in &generated.artifacts {
        let file = ProjectFile::compile(
            artifact.relative_path.clone(),
            artifact.kind,
            artifact.content.clone(),
            &Secrets::default(),
        );
        assert!(
            !file.has_errors(),
            "{}: {:?}\n{}",
            file.path,
            file.problems,
            artifact.content
        );
        assert_eq!(file.resource, artifact.resource);
        for token in &file.tokens {
            let trace = sources.locate(file.kind, &file.resource, &token.name, token.permission);
            let origin = match &trace.origin {
                Origin::Entry(at) => at.to_string(),
                Origin::Resource(at) => format!("untraced, {at}"),
                Origin::Unknown => "unknown".to_owned(),
            };
            let declared = trace
                .declared
                .map_or(String::new(), |at| format!(" (declared {at})"));
            lines.push(format!(
                "{}: TOKEN {} {} <- {origin}{declared}",
                file.path, token.name, token.permission
            ));
        }
    }
    lines.join("\n")
}

/// The (kind, resource, token, permission) set of datafiles.
fn token_set<'a>(
    files: impl IntoIterator<Item = (String, DatafileKind, std::sync::Arc<str>)> + 'a,
) -> BTreeSet<String> {
    let mut set = BTreeSet::new();
    for (path, kind, text) in files {
        let file = ProjectFile::compile(path, kind, text, &Secrets::default());
        for token in file.tokens {
            set.insert(format!(
                "{kind} {}: {} {}",
                file.resource, token.name, token.permission
            ));
        }
    }
    set
}

/// The quickstart written as datafiles declares the same tokens, except `public trend`: SDK
/// token names cannot hold a space, so the SDK projects call it `public_trend`.
fn assert_same_tokens_as_the_datafile_quickstart(generated: &Generated) {
    let root = fixture("projects/quickstart");
    let datafiles = [
        "datasources/analytics_events.datasource",
        "pipes/top_pages.pipe",
        "pipes/trend.pipe",
    ]
    .map(|path| {
        let kind = DatafileKind::from_extension(path.rsplit('.').next().unwrap()).unwrap();
        let text = std::fs::read_to_string(root.join(path)).unwrap();
        (
            path.to_owned(),
            kind,
            text.replace("\"public trend\"", "public_trend").into(),
        )
    });
    let sdk = generated
        .artifacts
        .iter()
        .map(|a| (a.relative_path.clone(), a.kind, a.content.clone()));
    assert_eq!(token_set(sdk), token_set(datafiles));
}

#[test]
fn quickstart_in_typescript() {
    let (project, generated) = generate_fixture("projects/quickstart-ts");
    assert_eq!(project.language, Language::TypeScript);
    assert_eq!(
        detect(&fixture("projects/quickstart-ts")).to_string(),
        "TypeScript SDK project (tinybird.config.json)"
    );
    assert_same_tokens_as_the_datafile_quickstart(&generated);
    assert_eq!(
        traced_tokens(&project, &generated),
        "\
datasources/analytics_events.datasource: TOKEN tracker APPEND <- tinybird/datasources.ts:18 (declared tinybird/tokens.ts:6)
datasources/analytics_events.datasource: TOKEN dashboard READ <- tinybird/datasources.ts:19 (declared tinybird/tokens.ts:7)
pipes/top_pages.pipe: TOKEN dashboard READ <- tinybird/pipes.ts:27 (declared tinybird/tokens.ts:7)
pipes/trend.pipe: TOKEN dashboard READ <- tinybird/pipes.ts:44 (declared tinybird/tokens.ts:7)
pipes/trend.pipe: TOKEN public_trend READ <- tinybird/pipes.ts:45 (declared tinybird/tokens.ts:9)"
    );
}

#[test]
fn quickstart_in_python() {
    let (project, generated) = generate_fixture("projects/quickstart-py");
    assert_eq!(project.language, Language::Python);
    assert_eq!(
        detect(&fixture("projects/quickstart-py")).to_string(),
        "Python SDK project (tinybird.config.json)"
    );
    assert_same_tokens_as_the_datafile_quickstart(&generated);
    assert_eq!(
        traced_tokens(&project, &generated),
        "\
datasources/analytics_events.datasource: TOKEN tracker APPEND <- analytics/datasources.py:23 (declared analytics/tokens.py:6)
datasources/analytics_events.datasource: TOKEN dashboard READ <- analytics/datasources.py:24 (declared analytics/tokens.py:7)
pipes/top_pages.pipe: TOKEN dashboard READ <- analytics/pipes.py:32 (declared analytics/tokens.py:7)
pipes/trend.pipe: TOKEN dashboard READ <- analytics/pipes.py:54 (declared analytics/tokens.py:7)
pipes/trend.pipe: TOKEN public_trend READ <- analytics/pipes.py:55 (declared analytics/tokens.py:9)"
    );
    // Generating left nothing behind in the project.
    assert!(!fixture("projects/quickstart-py/analytics/__pycache__").exists());
}

#[test]
fn tracing_in_typescript() {
    let (project, generated) = generate_fixture("sdk/trace-ts");
    // Only exported definitions of included files are generated; artifacts come sorted.
    let artifacts: Vec<(&str, &str, DatafileKind)> = generated
        .artifacts
        .iter()
        .map(|a| (a.relative_path.as_str(), a.resource.as_str(), a.kind))
        .collect();
    assert_eq!(
        artifacts,
        vec![
            (
                "datasources/events.datasource",
                "events",
                DatafileKind::Datasource
            ),
            (
                "datasources/metrics.datasource",
                "metrics",
                DatafileKind::Datasource
            ),
            (
                "datasources/orders.datasource",
                "orders",
                DatafileKind::Datasource
            ),
            ("pipes/events_api.pipe", "events_api", DatafileKind::Pipe),
            ("pipes/orders_api.pipe", "orders_api", DatafileKind::Pipe),
        ]
    );
    assert_eq!(
        traced_tokens(&project, &generated),
        "\
datasources/events.datasource: TOKEN reader READ <- resources/datasources.ts:26 (declared shared/tokens.ts:3)
datasources/events.datasource: TOKEN ingest APPEND <- resources/datasources.ts:26 (declared shared/tokens.ts:4)
datasources/events.datasource: TOKEN legacy_reader READ <- resources/datasources.ts:26 (declared resources/datasources.ts:26)
datasources/metrics.datasource: TOKEN audit READ <- untraced, resources/datasources.ts:32 (declared resources/datasources.ts:4)
datasources/orders.datasource: TOKEN reader READ <- resources/datasources.ts:9 (declared shared/tokens.ts:3)
datasources/orders.datasource: TOKEN ingest APPEND <- resources/datasources.ts:10 (declared shared/tokens.ts:4)
pipes/events_api.pipe: TOKEN legacy_reader READ <- resources/pipes.ts:15 (declared resources/pipes.ts:15)
pipes/orders_api.pipe: TOKEN reader READ <- resources/pipes.ts:9 (declared shared/tokens.ts:3)
pipes/orders_api.pipe: TOKEN ingest READ <- resources/pipes.ts:9 (declared shared/tokens.ts:4)"
    );
}

#[test]
fn tracing_in_python() {
    let (project, generated) = generate_fixture("sdk/trace-py");
    assert_eq!(
        traced_tokens(&project, &generated),
        "\
datasources/events.datasource: TOKEN reader READ <- resources/datasources.py:25 (declared shared/tokens.py:4)
datasources/events.datasource: TOKEN ingest APPEND <- resources/datasources.py:25 (declared shared/tokens.py:5)
datasources/events.datasource: TOKEN legacy_reader READ <- resources/datasources.py:25 (declared resources/datasources.py:25)
datasources/metrics.datasource: TOKEN audit READ <- untraced, resources/datasources.py:34 (declared resources/datasources.py:5)
datasources/orders.datasource: TOKEN reader READ <- resources/datasources.py:12 (declared shared/tokens.py:4)
datasources/orders.datasource: TOKEN ingest APPEND <- resources/datasources.py:13 (declared shared/tokens.py:5)
pipes/events_api.pipe: TOKEN legacy_reader READ <- resources/pipes.py:16 (declared resources/pipes.py:16)
pipes/orders_api.pipe: TOKEN reader READ <- resources/pipes.py:10 (declared shared/tokens.py:4)
pipes/orders_api.pipe: TOKEN ingest READ <- resources/pipes.py:10 (declared shared/tokens.py:5)"
    );
}

#[test]
fn a_typescript_syntax_error_is_the_sdk_message() {
    let project = sdk_project(&fixture("sdk/ts-syntax-error"));
    match failure(&project, &GenerateOptions::default(), false) {
        SdkError::GenerateFailed { message, fix, .. } => {
            assert!(message.contains("definitions.ts:9"), "{message}");
            assert!(fix.unwrap().contains("syntax error"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_python_exception_names_its_line() {
    let project = sdk_project(&fixture("sdk/py-exception"));
    match failure(&project, &GenerateOptions::default(), false) {
        SdkError::GenerateFailed { message, .. } => {
            assert_eq!(message, "definitions.py:7: KeyError: 'orders'");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn legacy_scopes_on_a_data_source_fail_rather_than_declare_nothing() {
    let project = sdk_project(&fixture("sdk/ts-legacy-scopes"));
    let error = failure(&project, &GenerateOptions::default(), false);
    assert_eq!(
        error.code().unwrap().to_string(),
        "tokenplan::sdk::generate_failed"
    );
    assert!(
        error
            .to_string()
            .contains("token.permissions is not iterable")
    );
    assert!(error.help().unwrap().to_string().contains("defineToken"));
}

/// A project in a temporary folder (outside the repository, so no SDK is found above it).
fn temp_project(files: &[(&str, &str)]) -> (tempfile::TempDir, SdkProject) {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        std::fs::write(dir.path().join(path), text).unwrap();
    }
    let project = sdk_project(dir.path());
    (dir, project)
}

#[test]
fn a_missing_typescript_sdk_says_what_to_install() {
    let (_dir, project) = temp_project(&[
        (
            "tinybird.config.json",
            r#"{"include": ["a.ts"], "token": "t"}"#,
        ),
        ("a.ts", ""),
    ]);
    let error = failure(&project, &GenerateOptions::default(), true);
    if let SdkError::NodeMissing { .. } = error {
        panic!("{error}\n{TS_SETUP}");
    }
    assert!(
        matches!(error, SdkError::TypeScriptSdkMissing { .. }),
        "{error:?}"
    );
    assert!(
        error
            .help()
            .unwrap()
            .to_string()
            .contains("npm install @tinybirdco/sdk")
    );
}

#[test]
fn missing_interpreters_say_what_to_install() {
    let (_dir, project) = temp_project(&[("tinybird.config.mjs", "")]);
    let options = GenerateOptions {
        node: Some(PathBuf::from("/nonexistent/node")),
        ..GenerateOptions::default()
    };
    let error = failure(&project, &options, true);
    assert!(matches!(error, SdkError::NodeMissing { .. }), "{error:?}");
    assert!(
        error
            .help()
            .unwrap()
            .to_string()
            .contains("install Node.js")
    );

    let (_dir, project) = temp_project(&[("tinybird.config.py", "")]);
    let options = GenerateOptions {
        python: Some(PathBuf::from("/nonexistent/python3")),
        ..GenerateOptions::default()
    };
    let error = failure(&project, &options, true);
    assert!(matches!(error, SdkError::PythonMissing { .. }), "{error:?}");
    assert!(error.help().unwrap().to_string().contains("install Python"));
}

#[cfg(unix)]
mod fake_interpreters {
    //! The generator's failures, with a shell script standing in for Python.

    use std::os::unix::fs::PermissionsExt;

    use super::*;

    const CONFIG: (&str, &str) = (
        "tinybird.config.py",
        "config = {\"include\": [], \"token\": \"${TOKENPLAN_TEST_UNSET_TOKEN}\"}\n",
    );

    /// Runs the project with a fake interpreter whose body is `script`.
    fn run_fake(script: &str, timeout: Duration) -> Result<Generated, SdkError> {
        let (dir, project) = temp_project(&[CONFIG]);
        let fake = dir.path().join("fake-python");
        std::fs::write(&fake, format!("#!/bin/sh\n{script}\n")).unwrap();
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        let options = GenerateOptions {
            timeout,
            python: Some(fake),
            ..GenerateOptions::default()
        };
        // Another test's fork may briefly hold the new script open for writing ("text file
        // busy"); that passes.
        for _ in 0..20 {
            match generate(&project, &options) {
                Err(SdkError::Spawn { source, .. }) if source.raw_os_error() == Some(26) => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                result => return result,
            }
        }
        generate(&project, &options)
    }

    fn fake_error(script: &str) -> SdkError {
        run_fake(script, Duration::from_secs(20)).expect_err(script)
    }

    #[test]
    fn a_slow_generator_is_stopped_at_the_limit() {
        let started = Instant::now();
        let error = run_fake("exec sleep 30", Duration::from_millis(300)).unwrap_err();
        assert!(matches!(error, SdkError::Timeout { .. }), "{error:?}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn output_that_is_not_the_result() {
        let error = fake_error("echo 'Traceback: not json'");
        assert!(matches!(error, SdkError::InvalidJson { .. }), "{error:?}");
        assert!(error.to_string().contains("Traceback: not json"));

        let error = fake_error("exit 0");
        assert!(matches!(error, SdkError::NoOutput { .. }), "{error:?}");

        let error = fake_error("echo '{\"artifacts\": []}'");
        assert!(
            matches!(
                error,
                SdkError::UnexpectedResult {
                    problem: ResultProblem::NoSuccess,
                    ..
                }
            ),
            "{error:?}"
        );
        let error = fake_error("echo '{\"success\": true}'");
        assert!(
            matches!(
                error,
                SdkError::UnexpectedResult {
                    problem: ResultProblem::NoArtifacts,
                    ..
                }
            ),
            "{error:?}"
        );
        let error = fake_error(
            r#"echo '{"success": true, "artifacts": [{"type": "table", "name": "a", "relative_path": "a.table", "content": ""}]}'"#,
        );
        assert!(matches!(
            error,
            SdkError::UnexpectedResult {
                problem: ResultProblem::UnknownType { .. },
                ..
            }
        ));
        let error = fake_error(
            r#"echo '{"success": true, "artifacts": [{"type": "pipe", "name": "a", "relative_path": "../a.pipe", "content": ""}]}'"#,
        );
        assert!(matches!(
            error,
            SdkError::UnexpectedResult {
                problem: ResultProblem::BadPath { .. },
                ..
            }
        ));
    }

    #[test]
    fn a_crash_repeats_stderr_without_credentials() {
        let token = "p.eyJ1IjogImFiY2RlZiJ9.c2lnbmF0dXJlLWJ5dGVz";
        let error = fake_error(&format!("echo 'Traceback: token {token}' >&2; exit 1"));
        assert!(matches!(error, SdkError::Crashed { .. }), "{error:?}");
        let text = error.to_string();
        assert!(text.contains("exited with status 1"), "{text}");
        assert!(text.contains("Traceback: token [redacted]"), "{text}");
        assert!(!text.contains(token));
    }

    #[test]
    fn the_child_runs_in_the_project_with_placeholder_credentials() {
        // The interpreter gets `-c <bridge> <project folder>`, runs in the project folder and
        // sees a placeholder for the config's token variable, which we do not have.
        assert!(std::env::var_os("TOKENPLAN_TEST_UNSET_TOKEN").is_none());
        let error = fake_error(
            r#"printf '{"success": false, "error": "%s|%s|%s|%s"}\n' "$1" "$3" "$(pwd -P)" "$TOKENPLAN_TEST_UNSET_TOKEN""#,
        );
        let SdkError::GenerateFailed { message, .. } = error else {
            panic!("{error:?}");
        };
        let parts: Vec<&str> = message.split('|').collect();
        assert_eq!(parts[0], "-c");
        // `detect` resolves the folder, as `pwd -P` does.
        assert_eq!(parts[1], parts[2]);
        assert_eq!(parts[3], "tokenplan-placeholder-not-a-token");
    }

    #[test]
    fn a_successful_empty_project_has_no_artifacts() {
        let generated = run_fake(
            r#"echo 'log line'; echo '{"success": true, "artifacts": []}'"#,
            Duration::from_secs(20),
        )
        .unwrap();
        assert!(generated.artifacts.is_empty());
    }

    #[test]
    fn a_python_without_the_sdk_says_what_to_install() {
        // `-S` leaves site-packages out, so the SDK cannot be there.
        let error = fake_error("exec python3 -S \"$@\"");
        match &error {
            SdkError::PythonSdkMissing { detail, .. } => {
                assert!(detail.contains("tinybird_sdk"), "{detail}")
            }
            SdkError::Crashed { stderr, .. } if stderr.contains("not found") => {
                panic!("{error}\n{PY_SETUP}")
            }
            other => panic!("{other:?}"),
        }
        assert!(
            error
                .help()
                .unwrap()
                .to_string()
                .contains("pip install tinybird-sdk")
        );
    }
}
