//! Which datafiles tokenplan reads (issue #15): `plan` and `apply` read what `tb deploy` reads
//! (the project folder found as `tb` finds it, `--max-depth` levels, not `vendor/`), every
//! entry that cannot be read stops the plan, a folder without datafiles is an error unless
//! `--allow-empty`, `tb_secret` values come from `.env.local`, and `check` takes one file.
//!
//! Each test builds its project in a temporary folder and runs the built binary there on `.`,
//! so that no path of this machine shows in the output.

use std::path::Path;
use std::process::Output;

use super::common::{describe, run_in};
use tokenplan::workspace::state::State;

const DATASOURCE: &str = "SCHEMA >\n    `a` Int32\n\nTOKEN {} APPEND\n";
const PIPE: &str = "NODE n\nSQL >\n    SELECT 1\n\nTOKEN {} READ\n";

/// Writes `text` at `relative` under `dir`, creating folders.
fn write(dir: &Path, relative: &str, text: &str) {
    let path = dir.join(relative);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A datafile at `relative` declaring the token `token`.
fn datafile(dir: &Path, relative: &str, token: &str) {
    let template = if relative.ends_with(".pipe") {
        PIPE
    } else {
        DATASOURCE
    };
    write(dir, relative, &template.replace("{}", token));
}

#[cfg(unix)]
fn symlink(target: &str, dir: &Path, link: &str) {
    let path = dir.join(link);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(target, path).unwrap();
}

fn code(output: &Output) -> i32 {
    output.status.code().expect("exited normally")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The names of the tokens a `plan --format json` creates, changes or destroys.
fn planned(dir: &Path, args: &[&str]) -> Vec<String> {
    let mut full = vec!["plan", ".", "--format", "json"];
    full.extend_from_slice(args);
    let output = run_in(dir, &full);
    assert_eq!(code(&output), 0, "{}", describe(&output));
    let plan: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect()
}

fn state_of(dir: &Path) -> State {
    State::load(&dir.join(".tokenplan/workspace.json"))
        .expect("the state file is valid")
        .expect("the state file exists")
}

/// The layout of the issue: a vendored data source, a pipe five levels down, and the rest at
/// levels `tb` reads.
fn layered_project() -> tempfile::TempDir {
    let dir_holder = tempfile::tempdir().unwrap();
    let dir = dir_holder.path();
    datafile(dir, "datasources/events.datasource", "ingest");
    datafile(dir, "a/b/top.pipe", "level_three");
    datafile(dir, "vendor/ws/datasources/shared.datasource", "vendored");
    datafile(dir, "a/b/c/d/deep.pipe", "deep");
    dir_holder
}

#[test]
fn plan_reads_what_tb_deploy_reads_and_names_what_it_leaves_out() {
    let dir_holder = layered_project();
    let dir = dir_holder.path();
    assert_eq!(planned(dir, &[]), ["ingest", "level_three"]);
    let output = run_in(dir, &["plan", "."]);
    assert_eq!(code(&output), 0, "{}", describe(&output));
    let text = stderr(&output);
    assert!(text.contains("tokenplan::project::not_deployed"), "{text}");
    assert!(text.contains("a/b/c/d/deep.pipe (level 5)"), "{text}");
    // Vendored files are shared data sources: not "left out", and not named.
    assert!(!text.contains("vendor/"), "{text}");
    snapshot!("plan_layered", describe(&output));
}

#[test]
fn max_depth_is_the_same_flag_as_tb() {
    let dir_holder = layered_project();
    let dir = dir_holder.path();
    assert_eq!(
        planned(dir, &["--max-depth", "5"]),
        ["deep", "ingest", "level_three"]
    );
    assert_eq!(planned(dir, &["--max-depth", "2"]), ["ingest"]);
    // Nothing right in the folder: no datafiles at level 1, and the error names those below.
    let output = run_in(dir, &["plan", ".", "--max-depth", "1"]);
    assert_eq!(code(&output), 1, "{}", describe(&output));
    let text = stderr(&output);
    assert!(text.contains("tokenplan::project::empty"), "{text}");
    assert!(
        text.contains("datasources/events.datasource (level 2)"),
        "{text}"
    );
}

#[test]
fn apply_reads_the_same_datafiles_as_plan() {
    let dir_holder = layered_project();
    let dir = dir_holder.path();
    let applied = run_in(dir, &["apply", ".", "--auto-approve"]);
    assert_eq!(code(&applied), 0, "{}", describe(&applied));
    let state = state_of(dir);
    assert!(state.get("ingest").is_some());
    assert!(state.get("level_three").is_some());
    assert!(
        state.get("vendored").is_none(),
        "vendored files declare no tokens of ours"
    );
    assert!(state.get("deep").is_none(), "deeper than --max-depth");
}

#[test]
fn check_still_reads_everything_and_warns_on_what_is_not_deployed() {
    let dir_holder = layered_project();
    let dir = dir_holder.path();
    write(
        dir,
        "vendor/ws/pipes/no_tokens.pipe",
        "NODE n\nSQL >\n    SELECT 1\n",
    );
    let output = run_in(dir, &["check", ".", "--format", "json"]);
    assert_eq!(code(&output), 0, "{}", describe(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let warned: Vec<(&str, &str)> = report["files"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| {
            f["diagnostics"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |d| (f["path"].as_str().unwrap(), d["code"].as_str().unwrap()))
        })
        .collect();
    assert_eq!(
        warned,
        [
            ("a/b/c/d/deep.pipe", "tokenplan::project::not_deployed"),
            (
                "vendor/ws/datasources/shared.datasource",
                "tokenplan::project::not_deployed"
            ),
        ],
        "a vendored file without TOKEN lines is deployed as tb means it: no warning"
    );
    assert_eq!(report["summary"]["files"], 5);
    let text = run_in(dir, &["check", "."]);
    snapshot!("check_layered", describe(&text));
}

#[test]
fn check_max_depth_moves_the_warning() {
    let dir_holder = layered_project();
    let dir = dir_holder.path();
    let output = run_in(dir, &["check", ".", "--max-depth", "5"]);
    assert_eq!(code(&output), 0, "{}", describe(&output));
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("0 errors, 1 warning"),
        "only the vendored file is left: {}",
        describe(&output)
    );
}

#[test]
fn the_project_folder_is_found_as_tb_finds_it() {
    let dir_holder = tempfile::tempdir().unwrap();
    let dir = dir_holder.path();
    datafile(dir, "tinybird/pipes/top.pipe", "in_project");
    datafile(dir, "scripts/other.pipe", "outside");
    write(dir, "tinybird.json", r#"{"folder": "tinybird"}"#);
    assert_eq!(planned(dir, &[]), ["in_project"]);
    // From a folder inside the project, the config above it still names the project.
    assert_eq!(planned(&dir.join("tinybird/pipes"), &[]), ["in_project"]);
    let check = run_in(dir, &["check", "."]);
    let text = describe(&check);
    assert!(
        text.contains("outside the project folder tinybird"),
        "{text}"
    );

    // Without a config, a `.tinyb`'s `cwd` names it, relative to the `.tinyb`.
    std::fs::remove_file(dir.join("tinybird.json")).unwrap();
    write(dir, ".tinyb", r#"{"cwd": "tinybird"}"#);
    assert_eq!(planned(dir, &[]), ["in_project"]);
}

#[test]
fn a_missing_configured_folder_is_an_error() {
    let dir_holder = tempfile::tempdir().unwrap();
    let dir = dir_holder.path();
    datafile(dir, "pipes/top.pipe", "x");
    write(dir, "tinybird.json", r#"{"folder": "tb"}"#);
    let output = run_in(dir, &["plan", "."]);
    assert_eq!(code(&output), 1, "{}", describe(&output));
    let text = stderr(&output);
    assert!(text.contains("tokenplan::project::not_found"), "{text}");
    assert!(text.contains("named by `folder`"), "{text}");
}

#[cfg(unix)]
#[test]
fn symbolic_links_to_files_and_folders_are_followed() {
    let base_holder = tempfile::tempdir().unwrap();
    let base = base_holder.path();
    let dir = &base.join("project");
    datafile(base, "shared/trend.pipe", "trend");
    datafile(base, "shared_pipes/top.pipe", "top");
    datafile(dir, "datasources/events.datasource", "ingest");
    symlink("../../shared/trend.pipe", dir, "pipes/trend.pipe");
    symlink("../shared_pipes", dir, "more");
    assert_eq!(planned(dir, &[]), ["ingest", "top", "trend"]);
    let check = run_in(dir, &["check", "."]);
    assert!(
        String::from_utf8_lossy(&check.stdout).contains("Checked 3 files"),
        "{}",
        describe(&check)
    );
}

/// A project applied with every file readable; then `breaking` makes something unreadable, and
/// neither plan nor apply may read that as "declares no tokens".
#[cfg(unix)]
fn unreadable_after_apply(breaking: impl FnOnce(&Path)) -> (tempfile::TempDir, Output) {
    let dir_holder = tempfile::tempdir().unwrap();
    let dir = dir_holder.path();
    datafile(dir, "datasources/events.datasource", "ingest");
    datafile(dir, "pipes/trend.pipe", "trend");
    let applied = run_in(dir, &["apply", ".", "--auto-approve"]);
    assert_eq!(code(&applied), 0, "{}", describe(&applied));
    breaking(dir);
    let refused = run_in(dir, &["apply", ".", "--auto-approve", "--allow-destroy"]);
    assert_eq!(code(&refused), 1, "{}", describe(&refused));
    assert!(
        state_of(dir).get("trend").is_some(),
        "nothing was destroyed"
    );
    let plan = run_in(dir, &["plan", "."]);
    assert_eq!(code(&plan), 1, "{}", describe(&plan));
    assert!(
        stderr(&plan).contains("No plan was made"),
        "{}",
        describe(&plan)
    );
    (dir_holder, plan)
}

#[cfg(unix)]
#[test]
fn a_broken_link_to_a_datafile_is_an_error() {
    let (_, plan) = unreadable_after_apply(|dir| {
        std::fs::remove_file(dir.join("pipes/trend.pipe")).unwrap();
        symlink("../../gone/trend.pipe", dir, "pipes/trend.pipe");
    });
    snapshot!("broken_link", describe(&plan));
}

#[cfg(unix)]
#[test]
fn a_broken_link_to_a_folder_is_an_error() {
    let (_, plan) = unreadable_after_apply(|dir| {
        std::fs::remove_dir_all(dir.join("pipes")).unwrap();
        symlink("../nowhere", dir, "pipes");
    });
    let text = stderr(&plan);
    assert!(text.contains("tokenplan::project::unreadable"), "{text}");
    assert!(text.contains("cannot read pipes"), "{text}");
    assert!(
        text.contains("No such file or directory"),
        "the cause is shown: {text}"
    );
}

#[cfg(unix)]
#[test]
fn a_fifo_named_like_a_datafile_is_an_error_not_a_hang() {
    let (_, plan) = unreadable_after_apply(|dir| {
        let path = dir.join("pipes/trend.pipe");
        std::fs::remove_file(&path).unwrap();
        let c_path = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path and a mode.
        assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o644) }, 0);
    });
    let text = stderr(&plan);
    assert!(text.contains("cannot read pipes/trend.pipe"), "{text}");
    assert!(text.contains("it is a FIFO, not a regular file"), "{text}");
}

#[cfg(unix)]
#[test]
fn a_symbolic_link_loop_is_an_error_naming_the_cycle() {
    let (_, plan) = unreadable_after_apply(|dir| {
        symlink("..", dir, "pipes/up");
    });
    let text = stderr(&plan);
    assert!(text.contains("tokenplan::project::symlink_loop"), "{text}");
    assert!(
        text.contains("symbolic link pipes/up leads back to the top folder"),
        "{text}"
    );
}

/// Tests run as root here, and root reads a folder without read permission: the test says so
/// instead of passing for the wrong reason. As another user it checks the real thing.
#[cfg(unix)]
#[test]
fn a_folder_without_read_permission_is_an_error() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let holder = tempfile::tempdir().unwrap();
    let dir = holder.path();
    datafile(dir, "datasources/events.datasource", "ingest");
    datafile(dir, "pipes/trend.pipe", "trend");
    let mode = |path: &Path, mode: u32| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap()
    };
    for path in [dir, &dir.join("datasources")] {
        mode(path, 0o755);
    }
    mode(&dir.join("datasources/events.datasource"), 0o644);
    mode(&dir.join("pipes"), 0o000);
    let mut command = std::process::Command::new(super::common::binary());
    command.current_dir(dir).args(["check", "."]);
    // Root reads any folder: the binary runs as `nobody`, for whom `pipes/` is closed.
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } == 0 {
        command.uid(65534).gid(65534);
    }
    let check = command.output().unwrap();
    mode(&dir.join("pipes"), 0o755);
    assert_eq!(code(&check), 1, "{}", describe(&check));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        stderr(&check)
    );
    assert!(text.contains("tokenplan::project::unreadable"), "{text}");
    assert!(text.contains("pipes"), "{text}");
}

#[test]
fn a_folder_without_datafiles_is_an_error_for_plan_and_apply() {
    let dir_holder = tempfile::tempdir().unwrap();
    let dir = dir_holder.path();
    write(dir, "README.md", "not a datafile\n");
    datafile(dir, "vendor/ws/datasources/shared.datasource", "vendored");
    let plan = run_in(dir, &["plan", "."]);
    assert_eq!(code(&plan), 1, "{}", describe(&plan));
    let apply = run_in(dir, &["apply", ".", "--auto-approve"]);
    assert_eq!(code(&apply), 1, "{}", describe(&apply));
    for output in [&plan, &apply] {
        let text = stderr(output);
        assert!(text.contains("tokenplan::project::empty"), "{text}");
        assert!(
            text.contains(".datasource, .pipe and .connection"),
            "{text}"
        );
        assert!(text.contains("--max-depth"), "{text}");
        assert!(text.contains("--allow-empty"), "{text}");
    }
    snapshot!("empty", describe(&plan));
    // `check` is a linter: no datafiles is no problem.
    assert_eq!(code(&run_in(dir, &["check", "."])), 0);
}

#[test]
fn allow_empty_plans_destroying_every_token() {
    let dir_holder = tempfile::tempdir().unwrap();
    let dir = dir_holder.path();
    datafile(dir, "pipes/trend.pipe", "trend");
    let applied = run_in(dir, &["apply", ".", "--auto-approve"]);
    assert_eq!(code(&applied), 0, "{}", describe(&applied));
    std::fs::remove_file(dir.join("pipes/trend.pipe")).unwrap();
    assert_eq!(code(&run_in(dir, &["plan", "."])), 1);
    assert_eq!(planned(dir, &["--allow-empty"]), ["trend"]);
    let destroyed = run_in(
        dir,
        &[
            "apply",
            ".",
            "--auto-approve",
            "--allow-empty",
            "--allow-destroy",
        ],
    );
    assert_eq!(code(&destroyed), 0, "{}", describe(&destroyed));
    assert!(state_of(dir).get("trend").is_none());
}

/// A data source whose token name is a secret.
fn secret_project() -> tempfile::TempDir {
    let dir_holder = tempfile::tempdir().unwrap();
    let dir = dir_holder.path();
    write(
        dir,
        "datasources/events.datasource",
        "SCHEMA >\n    `a` Int32\n\nTOKEN {{ tb_secret('TOKEN_NAME') }} APPEND\n",
    );
    dir_holder
}

#[test]
fn env_local_gives_secrets_and_the_flag_wins() {
    let dir_holder = secret_project();
    let dir = dir_holder.path();
    write(
        dir,
        ".env.local",
        "# local values\nexport TOKEN_NAME='from_env_local'  # a comment\nOTHER=never-shown\n",
    );
    assert_eq!(planned(dir, &[]), ["from_env_local"]);
    assert_eq!(
        planned(dir, &["--secret", "TOKEN_NAME=from_flag"]),
        ["from_flag"]
    );
    let check = run_in(dir, &["check", "."]);
    assert_eq!(code(&check), 0, "{}", describe(&check));
}

#[test]
fn a_missing_secret_blocks_a_plan_only_where_a_token_line_uses_it() {
    let holder = tempfile::tempdir().unwrap();
    let dir = holder.path();
    write(
        dir,
        "connections/kafka.connection",
        "TYPE kafka\nKAFKA_BOOTSTRAP_SERVERS broker:9092\nKAFKA_KEY {{ tb_secret('KAFKA_KEY') }}\n",
    );
    datafile(dir, "datasources/events.datasource", "ingest");
    // The tokens do not depend on the Kafka key: planned, with a warning naming the secret.
    let plan = run_in(dir, &["plan", ".", "--format", "json"]);
    assert_eq!(code(&plan), 0, "{}", describe(&plan));
    assert!(
        stderr(&plan).contains("tokenplan::project::secret_not_needed"),
        "{}",
        describe(&plan)
    );
    assert!(stderr(&plan).contains("KAFKA_KEY"), "{}", describe(&plan));
    assert_eq!(planned(dir, &[]), ["ingest"]);
    // `check` keeps it an error, as Tinybird does.
    let check = run_in(dir, &["check", "."]);
    assert_eq!(code(&check), 1, "{}", describe(&check));
    assert!(describe(&check).contains("tokenplan::syntax::missing_secret"));
    // A token name from a missing secret is not known: no plan.
    write(
        dir,
        "datasources/named.datasource",
        "SCHEMA >\n    `a` Int32\n\nTOKEN {{ tb_secret('TOKEN_NAME') }} APPEND\n",
    );
    let blocked = run_in(dir, &["plan", "."]);
    assert_eq!(code(&blocked), 1, "{}", describe(&blocked));
    assert!(describe(&blocked).contains("tokenplan::syntax::missing_secret"));
}

#[test]
fn env_local_problems_never_show_its_values() {
    let dir_holder = secret_project();
    let dir = dir_holder.path();
    write(
        dir,
        ".env.local",
        "TOKEN_NAME=ok\nthis line leaks-s3cr3t-value\nPASSWORD='s3cr3t-too\n",
    );
    let plan = run_in(dir, &["plan", "."]);
    assert_eq!(code(&plan), 0, "{}", describe(&plan));
    let check = run_in(dir, &["check", ".", "--format", "json"]);
    for output in [&plan, &check] {
        let text = describe(output);
        assert!(text.contains("tokenplan::project::env_file"), "{text}");
        assert!(text.contains("line 2 of .env.local"), "{text}");
        assert!(text.contains("line 3 of .env.local"), "{text}");
        assert!(
            !text.contains("s3cr3t"),
            "a value of .env.local is shown: {text}"
        );
    }

    // A file that cannot be read stops the plan: its secrets could name the tokens.
    std::fs::write(dir.join(".env.local"), b"TOKEN_NAME=\xff\n").unwrap();
    let plan = run_in(dir, &["plan", "."]);
    assert_eq!(code(&plan), 1, "{}", describe(&plan));
    assert!(
        stderr(&plan).contains("cannot read .env.local"),
        "{}",
        describe(&plan)
    );
}

#[test]
fn check_takes_one_file() {
    let dir_holder = tempfile::tempdir().unwrap();
    let dir = dir_holder.path();
    datafile(dir, "pipes/good.pipe", "good");
    write(
        dir,
        "pipes/bad.pipe",
        "NODE n\nSQL >\n    SELECT 1\nTOKEN x WRITE\n",
    );
    write(dir, "notes.txt", "hello\n");
    let good = run_in(dir, &["check", "pipes/good.pipe"]);
    assert_eq!(code(&good), 0, "{}", describe(&good));
    assert!(
        String::from_utf8_lossy(&good.stdout).contains("Checked 1 file: 0 errors"),
        "{}",
        describe(&good)
    );
    let bad = run_in(dir, &["check", "pipes/bad.pipe"]);
    assert_eq!(code(&bad), 1, "{}", describe(&bad));
    snapshot!("check_one_file", describe(&bad));
    let not_datafile = run_in(dir, &["check", "notes.txt"]);
    assert_eq!(code(&not_datafile), 1, "{}", describe(&not_datafile));
    assert!(
        describe(&not_datafile).contains("tokenplan::project::not_a_datafile"),
        "{}",
        describe(&not_datafile)
    );
    // plan still wants the project folder.
    assert_eq!(code(&run_in(dir, &["plan", "pipes/good.pipe"])), 1);
}
