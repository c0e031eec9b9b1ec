//! The credentials an SDK project names choose a remote workspace, each host with the token of
//! its own place only; the environment's token never goes to a host a file in the project names.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

use super::{code, copy, describe, json, run, scratch, stderr, succeeds};
use crate::common::binary;

/// A local workspace server on a free port: its URL and admin token.
struct Local {
    child: std::process::Child,
    url: String,
    admin: String,
}

impl Local {
    fn start(state: &Path) -> Local {
        use std::io::{BufRead, BufReader};
        let mut child = Command::new(binary())
            .args(["local", "start", "--port", "0", "--state"])
            .arg(state)
            .env_remove("TB_LOCAL_WORKSPACE_TOKEN")
            .env_remove("TB_LOCAL_USER_TOKEN")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let url = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(url) = line.strip_prefix("Listening on ") {
                        break url.trim().to_owned();
                    }
                }
                _ => {
                    let _ = child.kill();
                    panic!("the local server did not start");
                }
            }
        };
        // Keep reading, so that the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        let tokens: Value = ureq::get(&format!("{url}/tokens"))
            .call()
            .unwrap()
            .body_mut()
            .read_json()
            .unwrap();
        let admin = tokens["workspace_admin_token"].as_str().unwrap().to_owned();
        Local { child, url, admin }
    }
}

impl Drop for Local {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn the_sdk_credentials_choose_the_workspace_each_with_its_own_host() {
    let dir = scratch();
    let project = copy("projects/quickstart-ts", dir.path(), "web");
    let local = Local::start(&dir.path().join("server.json"));
    let remote_plan = |env: &[(&str, &str)], origin: &str| {
        let output = succeeds(run(&project, &["plan", "--format", "json"], env));
        let text = describe(&output);
        assert_eq!(json(&output)["workspace"]["kind"], "remote", "{text}");
        assert!(
            stderr(&output).contains(&format!(
                "Using the workspace at {} (from {origin}).",
                local.url
            )),
            "{text}"
        );
        assert!(!text.contains(&local.admin), "{text}");
    };
    remote_plan(
        &[
            ("TINYBIRD_URL", &local.url),
            ("TINYBIRD_TOKEN", &local.admin),
        ],
        "TINYBIRD_URL",
    );
    let env_local = project.join(".env.local");
    std::fs::write(
        &env_local,
        format!(
            "TINYBIRD_URL={}\nTINYBIRD_TOKEN={}\n",
            local.url, local.admin
        ),
    )
    .unwrap();
    remote_plan(&[], "TINYBIRD_URL in ./.env.local");

    // A host from .env.local (which a pull request can add) never gets the environment's token,
    // nor does a config's `baseUrl`: a listener there must receive nothing.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let trap = format!("http://{}", listener.local_addr().unwrap());
    std::fs::write(&env_local, format!("TINYBIRD_URL={trap}\n")).unwrap();
    let secret = "p.environment-token-never-sent";
    let refused = run(&project, &["plan"], &[("TINYBIRD_TOKEN", secret)]);
    let text = describe(&refused);
    assert_eq!(code(&refused), Some(1), "{text}");
    assert!(text.contains("tokenplan::workspace::config"), "{text}");
    assert!(text.contains("TINYBIRD_TOKEN is set"), "{text}");
    assert!(text.contains("TINYBIRD_URL in ./.env.local"), "{text}");
    assert!(!text.contains(secret), "{text}");
    std::fs::remove_file(&env_local).unwrap();
    let config = project.join("tinybird.config.json");
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("https://api.tinybird.co", &trap);
    std::fs::write(&config, text).unwrap();
    let refused = run(&project, &["plan"], &[("TINYBIRD_TOKEN", secret)]);
    let text = describe(&refused);
    assert_eq!(code(&refused), Some(1), "{text}");
    assert!(text.contains("no workspace host is"), "{text}");
    assert!(!text.contains(secret), "{text}");
    assert!(
        matches!(listener.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "nothing connected to the trap"
    );
    // Without any credentials, the embedded workspace, as for datafiles.
    let embedded = succeeds(run(&project, &["plan", "--format", "json"], &[]));
    assert_eq!(json(&embedded)["workspace"]["kind"], "embedded");
}
