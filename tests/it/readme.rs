//! README.md keeps its promises: it opens with the newcomer commands (an SDK project's too), `.ci/run` runs its test
//! command, and every diagnostic code in the source is listed.

use std::path::Path;

fn read(relative: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)).unwrap()
}

/// The commands of README's `n`th `sh` block, comments cut.
fn commands_of_block(readme: &str, n: usize) -> Vec<String> {
    readme
        .split("```sh\n")
        .nth(n)
        .unwrap()
        .split("```")
        .next()
        .unwrap()
        .lines()
        .map(|l| l.split('#').next().unwrap().trim().to_owned())
        .collect()
}

#[test]
fn readme_opens_with_the_main_job_and_the_test_command() {
    let readme = read("README.md");
    let commands = commands_of_block(&readme, 1);
    assert_eq!(
        commands[0],
        "cargo run --release -- plan fixtures/projects/quickstart"
    );
    assert_eq!(commands[1], "bash scripts/test.sh");
    assert!(read(".ci/run").lines().any(|l| l.trim() == commands[1]));
    // An SDK project's two commands right after; `sdk::the_repository_quickstart_commands_work`
    // runs them.
    assert_eq!(
        commands_of_block(&readme, 2),
        [
            "npm ci",
            "cargo run --release -- plan fixtures/projects/quickstart-ts"
        ]
    );
}

#[test]
fn every_diagnostic_code_is_documented() {
    let readme = read("README.md");
    let mut missing = Vec::new();
    let mut count = 0;
    for entry in walkdir::WalkDir::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("src")) {
        let entry = entry.unwrap();
        if entry.path().extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(entry.path()).unwrap();
        for (at, _) in text.match_indices("code(tokenplan::") {
            let code: String = text[at + 5..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            count += 1;
            if !readme.contains(&format!("| `{code}` |")) {
                missing.push(code);
            }
        }
    }
    assert!(count > 40, "found only {count} codes");
    assert!(
        missing.is_empty(),
        "codes missing from README.md: {missing:?}"
    );
}
