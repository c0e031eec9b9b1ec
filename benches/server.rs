//! Load benchmark of `tokenplan local start` on loopback: requests per second and latency of
//! `GET /v0/tokens` with 1,000 tokens and of create+delete pairs, and the wall time of applying
//! 1,000 changes over HTTP. `cargo bench --bench server` runs it in full; without `--bench`
//! (as `cargo test --benches` runs it) it makes a small run that only checks it works.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokenplan::workspace::TokenKind;
use tokenplan::workspace::state::State;

// The `tokenplan` binary's allocator, so that what this measures in process allocates as the
// binary does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const BIN: &str = env!("CARGO_BIN_EXE_tokenplan");

/// No part of the benchmark runs longer than this, whatever the machine.
const DEADLINE: Duration = Duration::from_secs(120);

struct Sizes {
    tokens: usize,
    gets: usize,
    pairs: usize,
    changes: usize,
    clients: usize,
}

struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn start(state: &Path) -> Server {
        let mut child = Command::new(BIN)
            .args(["local", "start", "--port", "0", "--state"])
            .arg(state)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the tokenplan binary starts");
        let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
        let url = loop {
            let line = lines
                .next()
                .expect("the server prints its address before anything else ends")
                .expect("readable stdout");
            if let Some(url) = line.strip_prefix("Listening on ") {
                break url.trim().to_owned();
            }
        };
        // Keep draining stdout so that the server never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Server { child, url }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

fn call(agent: &ureq::Agent, method: &str, url: &str, token: &str) -> u16 {
    let request = ureq::http::Request::builder()
        .method(method)
        .uri(url)
        .header("Authorization", format!("Bearer {token}"))
        .body(())
        .expect("a valid request");
    let mut response = agent.run(request).expect("the server answers");
    let status = response.status().as_u16();
    response
        .body_mut()
        .with_config()
        .limit(64 * 1024 * 1024)
        .read_to_vec()
        .expect("a readable body");
    status
}

/// Requests per second, p50 and p99 of a set of latencies measured over `wall`.
fn report(what: &str, latencies: &mut [Duration], wall: Duration) {
    latencies.sort();
    let at = |q: f64| {
        latencies[((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len()) - 1]
    };
    println!(
        "{what}: {} requests in {:.2} s = {:.0} requests/s; p50 {:.2} ms, p99 {:.2} ms",
        latencies.len(),
        wall.as_secs_f64(),
        latencies.len() as f64 / wall.as_secs_f64(),
        at(0.50).as_secs_f64() * 1000.0,
        at(0.99).as_secs_f64() * 1000.0
    );
}

/// Runs `per_client` rounds of `round` on each of `clients` threads; returns every latency a
/// round reports and the wall time.
fn load(
    clients: usize,
    per_client: usize,
    round: impl Fn(&ureq::Agent, usize, usize) -> Vec<Duration> + Sync,
) -> (Vec<Duration>, Duration) {
    let started = Instant::now();
    let latencies = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..clients)
            .map(|client| {
                let round = &round;
                scope.spawn(move || {
                    let agent = agent();
                    let mut mine = Vec::with_capacity(per_client);
                    for i in 0..per_client {
                        if started.elapsed() > DEADLINE {
                            break;
                        }
                        mine.extend(round(&agent, client, i));
                    }
                    mine
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a client thread"))
            .collect::<Vec<_>>()
    });
    (latencies, started.elapsed())
}

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tokenplan-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temporary folder");
    dir
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let sizes = if full {
        Sizes {
            tokens: 1000,
            gets: 2000,
            pairs: 400,
            changes: 1000,
            clients: 4,
        }
    } else {
        Sizes {
            tokens: 50,
            gets: 20,
            pairs: 10,
            changes: 20,
            clients: 2,
        }
    };
    let dir = temp_dir();

    // A workspace with `tokens` resource tokens, written directly: the benchmark is of serving.
    let state_path = dir.join("big.json");
    let mut state = State::new("admin@localhost");
    for i in 0..sizes.tokens {
        let scopes = [
            format!("PIPES:READ:pipe_{i:04}").into(),
            format!("DATASOURCES:READ:ds_{i:04}").into(),
        ];
        let token = state.new_token(&format!("token_{i:04}"), &scopes, TokenKind::Resource, "");
        state.insert(token);
    }
    state.save(&state_path).expect("the state is written");
    let admin = state
        .get(tokenplan::workspace::WORKSPACE_ADMIN_TOKEN)
        .expect("a default token")
        .value
        .clone();
    let server = Server::start(&state_path);
    let list_url = format!("{}/v0/tokens", server.url);

    let per_client = sizes.gets / sizes.clients;
    let (mut latencies, wall) = load(sizes.clients, per_client, |agent, _, _| {
        let started = Instant::now();
        assert_eq!(call(agent, "GET", &list_url, &admin), 200);
        vec![started.elapsed()]
    });
    report(
        &format!(
            "GET /v0/tokens ({} tokens, {} clients)",
            sizes.tokens + 3,
            sizes.clients
        ),
        &mut latencies,
        wall,
    );

    let per_client = sizes.pairs / sizes.clients;
    let (mut latencies, wall) = load(sizes.clients, per_client, |agent, client, i| {
        let name = format!("pair_{client}_{i}");
        let started = Instant::now();
        let create = format!(
            "{}/v0/tokens?name={name}&scope=PIPES%3AREAD%3Ap",
            server.url
        );
        assert_eq!(call(agent, "POST", &create, &admin), 200);
        let created = started.elapsed();
        let delete = format!("{}/v0/tokens/{name}", server.url);
        assert_eq!(call(agent, "DELETE", &delete, &admin), 204);
        vec![created, started.elapsed() - created]
    });
    println!(
        "create+delete pairs ({} tokens, {} clients): {} pairs in {:.2} s = {:.0} pairs/s",
        sizes.tokens + 3,
        sizes.clients,
        latencies.len() / 2,
        wall.as_secs_f64(),
        (latencies.len() / 2) as f64 / wall.as_secs_f64()
    );
    report("  of which single writes", &mut latencies, wall);
    drop(server);

    // Apply `changes` creates to a new workspace, over HTTP.
    let project = dir.join("project");
    std::fs::create_dir_all(project.join("datasources")).expect("a project folder");
    let mut datafile = String::from("SCHEMA >\n    `id` Int32 `json:$.id`\n\nENGINE MergeTree\n\n");
    for i in 0..sizes.changes {
        datafile.push_str(&format!("TOKEN reader_{i:04} READ\n"));
    }
    std::fs::write(project.join("datasources/events.datasource"), datafile).expect("a datafile");
    let fresh = dir.join("fresh.json");
    let mut fresh_state = State::new("admin@localhost");
    fresh_state.save(&fresh).expect("the state is written");
    let admin = fresh_state
        .get(tokenplan::workspace::WORKSPACE_ADMIN_TOKEN)
        .expect("a default token")
        .value
        .clone();
    let server = Server::start(&fresh);
    let started = Instant::now();
    let apply = Command::new(BIN)
        .arg("apply")
        .arg(&project)
        .args(["--auto-approve", "--host", &server.url, "--token", &admin])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .status()
        .expect("apply runs");
    let wall = started.elapsed();
    assert!(apply.success(), "apply failed");
    println!(
        "apply {} creates over HTTP: {:.2} s ({:.2} ms a change)",
        sizes.changes,
        wall.as_secs_f64(),
        wall.as_secs_f64() * 1000.0 / sizes.changes as f64
    );
    let check = Command::new(BIN)
        .arg("plan")
        .arg(&project)
        .args([
            "--detailed-exitcode",
            "--host",
            &server.url,
            "--token",
            &admin,
        ])
        .stdout(Stdio::null())
        .status()
        .expect("plan runs");
    assert_eq!(
        check.code(),
        Some(0),
        "the workspace does not match after apply"
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
