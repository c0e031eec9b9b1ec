//! The cost of the workspace state (issue #12): the first apply of 20,000 creates on an empty
//! embedded workspace, an apply of 100 changes on that 20,000-token workspace, and the local
//! server's create+delete writes on it with 1 and 4 clients, each with its peak memory.
//!
//! Every figure is printed beside a floor measured in the same run on the same disk: the rate of
//! 4 KiB write + fdatasync pairs (no durable write can beat it), measured right before and right
//! after each phase because a shared disk's rate moves, and `tokenplan plan` on the same project
//! and state (reading the datafiles and the workspace, which every apply does first).
//! `cargo bench --bench state` runs it in full; without `--bench` (as `cargo test --benches` runs
//! it) it makes a small run that only checks it works.
//!
//! Targets: first apply < 3 s; 100 changes < 0.5 s; server >= 500 writes/s.

mod support;

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write as _};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::{RunCost, run_measured};
use tokenplan::workspace::state::State;

// The `tokenplan` binary's allocator, so that what this measures in process allocates as the
// binary does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// No load phase runs longer than this, whatever the machine.
const PHASE: Duration = Duration::from_secs(10);

struct Sizes {
    tokens: usize,
    changes: usize,
    pairs: usize,
}

/// Writes the project: `files` data sources of `tokens / files` TOKEN lines each; token `i` is
/// `reader_i` on `events_{i % files}`, READ unless `append(i)`, left out when `skip(i)`; `extra`
/// more tokens are added at the end.
fn write_project(
    dir: &Path,
    tokens: usize,
    extra: usize,
    skip: impl Fn(usize) -> bool,
    append: impl Fn(usize) -> bool,
) {
    let files = 100.min(tokens.max(1));
    let mut texts: Vec<String> = (0..files)
        .map(|_| String::from("SCHEMA >\n    `id` Int32 `json:$.id`\n\nENGINE MergeTree\n\n"))
        .collect();
    for i in (0..tokens + extra).filter(|&i| !skip(i)) {
        let permission = if append(i) { "APPEND" } else { "READ" };
        let _ = writeln!(texts[i % files], "TOKEN reader_{i:06} {permission}");
    }
    std::fs::create_dir_all(dir.join("datasources")).expect("a project folder");
    for (f, text) in texts.iter().enumerate() {
        std::fs::write(
            dir.join(format!("datasources/events_{f:03}.datasource")),
            text,
        )
        .expect("a datafile");
    }
}

/// Writes and syncs 4 KiB blocks for half a second: syncs per second, the floor of any durable
/// write on this disk.
fn fdatasync_rate(dir: &Path) -> f64 {
    use std::os::unix::fs::FileExt;
    let path = dir.join("fsync-probe");
    let file = std::fs::File::create(&path).expect("a probe file");
    let block = [0x5au8; 4096];
    let started = Instant::now();
    let mut count = 0u64;
    while started.elapsed() < Duration::from_millis(500) {
        file.write_all_at(&block, (count % 16) * 4096)
            .expect("a write");
        file.sync_data().expect("an fdatasync");
        count += 1;
    }
    let rate = count as f64 / started.elapsed().as_secs_f64();
    let _ = std::fs::remove_file(&path);
    rate
}

fn seconds(cost: &RunCost) -> f64 {
    cost.wall.as_secs_f64()
}

fn mib(kib: i64) -> f64 {
    kib as f64 / 1024.0
}

/// A running `tokenplan local start`.
struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn start(binary: &str, state: &Path) -> Server {
        let mut child = Command::new(binary)
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
                .expect("the server prints its address")
                .expect("readable stdout");
            if let Some(url) = line.strip_prefix("Listening on ") {
                break url.trim().to_owned();
            }
        };
        std::thread::spawn(move || lines.for_each(drop));
        Server { child, url }
    }

    /// The server's peak resident memory so far (`VmHWM`), in KiB.
    fn peak_kib(&self) -> i64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("the server's /proc status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmHWM in /proc status")
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
    let _ = response.body_mut().read_to_vec();
    status
}

/// `clients` threads each make create+delete pairs until `pairs` in all or [`PHASE`]; returns
/// writes per second and the p99 write latency.
fn write_load(server: &Server, admin: &str, clients: usize, pairs: usize) -> (f64, Duration) {
    let started = Instant::now();
    let mut latencies: Vec<Duration> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..clients)
            .map(|client| {
                scope.spawn(move || {
                    let agent = agent();
                    let mut mine = Vec::new();
                    for i in 0..pairs / clients {
                        if started.elapsed() > PHASE {
                            break;
                        }
                        let name = format!("load_{clients}_{client}_{i}");
                        let create = format!(
                            "{}/v0/tokens?name={name}&scope=PIPES%3AREAD%3Ap",
                            server.url
                        );
                        let at = Instant::now();
                        assert_eq!(call(&agent, "POST", &create, admin), 200);
                        mine.push(at.elapsed());
                        let at = Instant::now();
                        let delete = format!("{}/v0/tokens/{name}", server.url);
                        assert_eq!(call(&agent, "DELETE", &delete, admin), 204);
                        mine.push(at.elapsed());
                    }
                    mine
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a client thread"))
            .collect()
    });
    let wall = started.elapsed();
    latencies.sort();
    let p99 = latencies[(latencies.len() * 99).div_ceil(100).max(1) - 1];
    (latencies.len() as f64 / wall.as_secs_f64(), p99)
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let binary = if full {
        support::release_binary()
    } else {
        env!("CARGO_BIN_EXE_tokenplan")
    };
    let sizes = if full {
        Sizes {
            tokens: 20_000,
            changes: 100,
            pairs: 2_000,
        }
    } else {
        Sizes {
            tokens: 300,
            changes: 30,
            pairs: 20,
        }
    };
    let dir = tempfile::tempdir().expect("a temporary folder");
    let project = dir.path().join("project");
    let state = dir.path().join("workspace.db");
    let floor = || fdatasync_rate(dir.path());

    // 1. The first apply: every token created, on a workspace that does not exist yet.
    let before = floor();
    write_project(&project, sizes.tokens, 0, |_| false, |_| false);
    let (p, s) = (project.as_os_str(), state.as_os_str());
    let plan = run_measured(binary, &[OsStr::new("plan"), p, OsStr::new("--state"), s]);
    let first = run_measured(
        binary,
        &[
            OsStr::new("apply"),
            p,
            OsStr::new("--auto-approve"),
            OsStr::new("--state"),
            s,
        ],
    );
    let syncs = (before + floor()) / 2.0;
    println!(
        "first apply, {} creates on an empty workspace: {:.2} s wall ({:.2} s CPU), {:.1} µs a change, peak {:.1} MiB (target < 3 s); plan of the same: {:.2} s, so apply = plan x {:.1}; floor {syncs:.0} fdatasync/s",
        sizes.tokens,
        seconds(&first),
        first.cpu.as_secs_f64(),
        seconds(&first) * 1e6 / sizes.tokens as f64,
        mib(first.peak_rss_kib),
        seconds(&plan),
        seconds(&first) / seconds(&plan)
    );

    // 2. A hundred changes on that workspace: a third created, a third narrowed, a third gone.
    let third = sizes.changes / 3;
    let step = sizes.tokens / third;
    let removed = move |i: usize| i < third * step && i.is_multiple_of(step);
    let narrowed = move |i: usize| i < third * step && i % step == 1;
    let added = sizes.changes - 2 * third;
    std::fs::remove_dir_all(&project).expect("the old project goes");
    write_project(&project, sizes.tokens, added, removed, narrowed);
    let plan = run_measured(binary, &[OsStr::new("plan"), p, OsStr::new("--state"), s]);
    let before = floor();
    let hundred = run_measured(
        binary,
        &[
            OsStr::new("apply"),
            p,
            OsStr::new("--auto-approve"),
            OsStr::new("--allow-destroy"),
            OsStr::new("--state"),
            s,
        ],
    );
    let syncs = (before + floor()) / 2.0;
    let after = State::load(&state).expect("a state").expect("a state");
    assert_eq!(after.serial as usize, sizes.tokens + sizes.changes);
    println!(
        "apply of {} changes on a {}-token workspace: {:.3} s wall ({:.3} s CPU), peak {:.1} MiB (target < 0.5 s); plan of the same: {:.3} s, so the changes cost {:.3} s = {:.1} syncs at {syncs:.0} fdatasync/s",
        sizes.changes,
        sizes.tokens + 3,
        seconds(&hundred),
        hundred.cpu.as_secs_f64(),
        mib(hundred.peak_rss_kib),
        seconds(&plan),
        (seconds(&hundred) - seconds(&plan)).max(0.0),
        (seconds(&hundred) - seconds(&plan)).max(0.0) * syncs
    );

    // 3. The server on that workspace: create+delete pairs, every write durable before its
    // answer.
    let admin = after
        .get(tokenplan::workspace::WORKSPACE_ADMIN_TOKEN)
        .expect("a default token")
        .value
        .clone();
    let tokens = after.tokens.len();
    drop(after);
    let server = Server::start(binary, &state);
    for clients in [1, 4] {
        let before = floor();
        let (rate, p99) = write_load(&server, &admin, clients, sizes.pairs);
        let syncs = (before + floor()) / 2.0;
        println!(
            "server on {tokens} tokens, create+delete, {clients} client{}: {rate:.0} writes/s, p99 {:.2} ms (target >= 500); floor {syncs:.0} fdatasync/s around it, so {:.2} writes a sync",
            if clients == 1 { "" } else { "s" },
            p99.as_secs_f64() * 1000.0,
            rate / syncs
        );
    }
    println!("server peak memory: {:.1} MiB", mib(server.peak_kib()));
    drop(server);
    let _ = std::io::stdout().flush();
}
