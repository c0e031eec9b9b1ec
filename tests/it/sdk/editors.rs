//! The language server reads the datafiles on disk and in buffers: it never runs an SDK
//! project's generator.

use std::process::{Command, Stdio};

use super::{code, copy, describe, run, scratch, stderr};
use crate::common::binary;

#[cfg(unix)]
#[test]
fn the_language_server_never_runs_a_generator() {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;

    let dir = scratch();
    let project = copy("projects/quickstart-ts", dir.path(), "web");
    // A `node` that leaves a mark: proof that a command ran the generator.
    let mark = dir.path().join("node-ran");
    let node = dir.path().join("node");
    std::fs::write(
        &node,
        format!("#!/bin/sh\ntouch '{}'\nexit 1\n", mark.display()),
    )
    .unwrap();
    std::fs::set_permissions(&node, std::fs::Permissions::from_mode(0o755)).unwrap();
    let node_env = [("TOKENPLAN_NODE", node.to_str().unwrap())];

    let uri = format!("file://{}", project.display());
    let messages = [
        serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"processId": null, "rootUri": uri, "capabilities": {},
                       "workspaceFolders": [{"uri": uri, "name": "web"}]}}),
        serde_json::json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}),
        serde_json::json!({"jsonrpc": "2.0", "id": 2, "method": "shutdown"}),
        serde_json::json!({"jsonrpc": "2.0", "method": "exit"}),
    ];
    let mut child = Command::new(binary())
        .arg("lsp")
        .current_dir(&project)
        .envs(node_env)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    for message in &messages {
        let body = message.to_string();
        write!(stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
    }
    drop(stdin);
    let output = child.wait_with_output().unwrap();
    assert_eq!(code(&output), Some(0), "{}", describe(&output));
    assert!(!mark.exists(), "the language server ran the generator");

    // The same `node` under `plan` leaves its mark, and the plan fails with the SDK's error.
    let plan = run(&project, &["plan"], &node_env);
    assert_eq!(code(&plan), Some(1), "{}", describe(&plan));
    assert!(mark.exists(), "plan runs the generator");
    assert!(
        stderr(&plan).contains("tokenplan::sdk::"),
        "{}",
        describe(&plan)
    );
}
