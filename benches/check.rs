//! How fast `tokenplan check` is on a large synthetic project.
//!
//! `cargo bench --bench check` prints:
//! - the single-thread throughput of the compiler (`syntax::compile`, parse and lowering) over
//!   in-memory files, in MB/s and files/s of thread CPU time, best of several runs;
//! - the wall time and peak memory of the release binary checking a project of N files on disk,
//!   for each N in `BENCH_FILES` (comma-separated, default `2000,100000`; empty for none, to
//!   profile the compiler alone).
//!
//! Targets: at least 100 MB/s single-thread; 100,000 files in under 2 s on 2 cores.
//!
//! The files are realistic: data sources with 10-column schemas, JSON paths, engine settings and
//! 1-3 TOKEN lines; pipes with 2-3 nodes of templated SQL and 1-3 TOKEN lines; 1-2 KB each.

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tokenplan::model::DatafileKind;
use tokenplan::syntax::{self, Secrets};

const DEFAULT_SIZES: &[usize] = &[2_000, 100_000];
const THROUGHPUT_FILES: usize = 4_000;
const THROUGHPUT_RUNS: usize = 5;

/// A small deterministic generator, so that every run and machine measures the same files.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const COLUMN_NAMES: &[&str] = &[
    "user_id",
    "session_id",
    "event",
    "url",
    "referrer",
    "country",
    "device",
    "browser",
    "duration_ms",
    "price",
    "quantity",
    "campaign",
    "status",
    "latency",
];

const COLUMN_TYPES: &[&str] = &[
    "String",
    "LowCardinality(String)",
    "UInt32",
    "Int64",
    "Float64",
    "Nullable(String)",
    "Array(String)",
    "Decimal(18, 4)",
    "LowCardinality(Nullable(String))",
    "Map(String, String)",
];

fn datasource(rng: &mut Rng, i: usize) -> String {
    let mut text = String::with_capacity(2048);
    let _ = writeln!(
        text,
        "DESCRIPTION >\n    Events of stream {i}, one row per event, ingested from the tracker.\n"
    );
    for t in 0..1 + rng.below(3) {
        let permission = if t == 1 { "APPEND" } else { "READ" };
        let _ = writeln!(text, "TOKEN \"service {i} token {t}\" {permission}");
    }
    text.push_str("\nSCHEMA >\n    `timestamp` DateTime64(3) `json:$.timestamp`,\n");
    for c in 0..9 {
        let name = rng.pick(COLUMN_NAMES);
        let ty = rng.pick(COLUMN_TYPES);
        let default = match (rng.below(4), ty) {
            (0, "UInt32" | "Int64" | "Float64") => " DEFAULT 0",
            (0, "String" | "LowCardinality(String)") => " DEFAULT ''",
            _ => "",
        };
        let separator = if c == 8 { "" } else { "," };
        let _ = writeln!(
            text,
            "    `{name}_{c}` {ty} `json:$.payload.{name}_{c}`{default}{separator}"
        );
    }
    text.push_str(
        "\nENGINE MergeTree\nENGINE_PARTITION_KEY toYYYYMM(timestamp)\nENGINE_SORTING_KEY timestamp\n",
    );
    text.push_str("ENGINE_TTL toDateTime(timestamp) + INTERVAL 180 DAY\n");
    text.push_str("ENGINE_SETTINGS index_granularity = 8192\n");
    text
}

fn pipe(rng: &mut Rng, i: usize) -> String {
    let mut text = String::with_capacity(2048);
    let _ = writeln!(
        text,
        "DESCRIPTION >\n    Endpoint {i}: aggregated events with optional filters.\n"
    );
    for t in 0..1 + rng.below(3) {
        let _ = writeln!(text, "TOKEN \"dashboard {i} reader {t}\" READ");
    }
    let nodes = 2 + rng.below(2);
    for n in 0..nodes {
        let source = if n == 0 {
            format!("events_{}", i % 97)
        } else {
            format!("node_{}", n - 1)
        };
        let column = rng.pick(COLUMN_NAMES);
        let _ = write!(
            text,
            "\nNODE node_{n}\nDESCRIPTION step {n}\nSQL >\n    %\n    SELECT\n        toStartOfHour(timestamp) AS hour,\n        {column},\n        count() AS hits\n    FROM {source}\n    WHERE 1\n    {{% if defined(date_from) %}}\n        AND timestamp >= {{{{ DateTime(date_from, '2024-01-01 00:00:00') }}}}\n    {{% end %}}\n    {{% if defined({column}) %}}\n        AND {column} = {{{{ String({column}) }}}}\n    {{% else %}}\n        AND {column} != ''\n    {{% end %}}\n    GROUP BY hour, {column}\n    ORDER BY hour DESC\n    LIMIT {{{{ Int32(limit, 100) }}}}\n"
        );
    }
    text.push_str("\nTYPE endpoint\n");
    text
}

/// File `i` of a synthetic project: its relative path, kind and text.
fn synthetic_file(i: usize) -> (String, DatafileKind, String) {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (i as u64 + 1).wrapping_mul(0x1000_0000_01b3));
    // A few hundred files a folder, as in a large real project.
    let folder = i / 500;
    if i.is_multiple_of(2) {
        let path = format!("datasources/{folder:04}/events_{i:06}.datasource");
        (path, DatafileKind::Datasource, datasource(&mut rng, i))
    } else {
        let path = format!("pipes/{folder:04}/endpoint_{i:06}.pipe");
        (path, DatafileKind::Pipe, pipe(&mut rng, i))
    }
}

/// CPU time of the calling thread: unlike wall time it does not count the time other processes
/// (a parallel build) hold the core, so single-thread figures stay comparable on a busy machine.
fn thread_cpu_time() -> Duration {
    // SAFETY: timespec is plain old data; clock_gettime fills it in.
    let mut now: libc::timespec = unsafe { std::mem::zeroed() };
    // SAFETY: `now` is a live, writable timespec.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    assert_eq!(rc, 0, "clock_gettime: {}", std::io::Error::last_os_error());
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

fn throughput() {
    let files: Vec<(String, DatafileKind, String)> =
        (0..THROUGHPUT_FILES).map(synthetic_file).collect();
    let bytes: usize = files.iter().map(|(_, _, t)| t.len()).sum();
    let secrets = Secrets::new();
    for (path, kind, text) in &files {
        let compiled = syntax::compile(*kind, "r", text, &secrets);
        assert!(
            compiled.problems.is_empty(),
            "the synthetic {path} must be valid: {:?}\n{text}",
            compiled.problems
        );
    }
    let mut best = Duration::MAX;
    for _ in 0..THROUGHPUT_RUNS {
        let start = thread_cpu_time();
        let mut tokens = 0;
        for (_, kind, text) in &files {
            let compiled = syntax::compile(*kind, "r", text, &secrets);
            tokens += std::hint::black_box(compiled).datafile.tokens.len();
        }
        best = best.min(thread_cpu_time() - start);
        std::hint::black_box(tokens);
    }
    let seconds = best.as_secs_f64();
    println!(
        "compile, single thread: {} files, {:.2} MB (avg {} bytes/file), best of {THROUGHPUT_RUNS}: {:.1} ms of CPU",
        files.len(),
        bytes as f64 / 1e6,
        bytes / files.len(),
        seconds * 1e3
    );
    println!(
        "  {:.1} MB/s, {:.0} files/s (target: >= 100 MB/s)",
        bytes as f64 / 1e6 / seconds,
        files.len() as f64 / seconds
    );
}

/// Writes a synthetic project of `count` files; returns the bytes written.
fn write_project(root: &Path, count: usize) -> usize {
    let mut bytes = 0;
    for i in 0..count {
        let (path, _, text) = synthetic_file(i);
        let path = root.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create folder");
        }
        std::fs::write(&path, &text).expect("write datafile");
        bytes += text.len();
    }
    bytes
}

/// What one run of the binary cost.
struct RunCost {
    wall: Duration,
    /// User plus system CPU time of the child, to tell parallel work from waiting.
    cpu: Duration,
    /// Peak resident memory of the child, in KiB.
    peak_rss_kib: i64,
}

fn cpu_time(time: libc::timeval) -> Duration {
    Duration::from_secs(time.tv_sec as u64) + Duration::from_micros(time.tv_usec as u64)
}

/// Runs the binary on `root` with stdout to /dev/null.
fn run_check(binary: &str, root: &Path) -> RunCost {
    let start = Instant::now();
    let child = Command::new(binary)
        .arg("check")
        .arg(root)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn tokenplan");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain old data that wait4 fills in; zeroed is a valid value for it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // wait4 reaps this one child and reports its own resource use (ru_maxrss in KiB on Linux),
    // which `Child::wait` cannot; `child` is not waited on afterwards.
    // SAFETY: pid is our child's; status and usage point to live, writable values.
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let elapsed = start.elapsed();
    assert_eq!(reaped, pid, "wait4: {}", std::io::Error::last_os_error());
    drop(child);
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "tokenplan check failed on the synthetic project (status {status})"
    );
    RunCost {
        wall: elapsed,
        cpu: cpu_time(usage.ru_utime) + cpu_time(usage.ru_stime),
        peak_rss_kib: usage.ru_maxrss,
    }
}

fn whole_process(binary: &str, count: usize) {
    let dir = tempfile::tempdir().expect("temporary folder");
    let started = Instant::now();
    let bytes = write_project(dir.path(), count);
    println!(
        "tokenplan check, {count} files ({:.1} MB, written in {:.1} s):",
        bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    // The first run also warms the page cache; the best of the rest is reported, with the
    // first for reference.
    let runs = if count > 20_000 { 3 } else { 5 };
    let costs: Vec<RunCost> = (0..runs).map(|_| run_check(binary, dir.path())).collect();
    let best = costs
        .iter()
        .min_by_key(|c| c.wall)
        .expect("at least one run");
    let peak_rss = costs.iter().map(|c| c.peak_rss_kib).max().unwrap_or(0);
    println!(
        "  wall: best {:.3} s (CPU {:.3} s), first {:.3} s ({runs} runs); {:.0} files/s; peak RSS {:.1} MiB (target for 100,000 files: < 2 s)",
        best.wall.as_secs_f64(),
        best.cpu.as_secs_f64(),
        costs[0].wall.as_secs_f64(),
        count as f64 / best.wall.as_secs_f64(),
        peak_rss as f64 / 1024.0
    );
}

fn sizes() -> Vec<usize> {
    match std::env::var("BENCH_FILES") {
        Ok(value) => value
            .split(',')
            .filter(|n| !n.trim().is_empty())
            .map(|n| {
                n.trim()
                    .replace('_', "")
                    .parse()
                    .unwrap_or_else(|e| panic!("BENCH_FILES: `{n}` is not a number: {e}"))
            })
            .collect(),
        Err(_) => DEFAULT_SIZES.to_vec(),
    }
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument has no meaning here.
    let binary = env!("CARGO_BIN_EXE_tokenplan");
    let release = Path::new(binary)
        .components()
        .any(|c| c.as_os_str() == "release");
    assert!(
        release && !cfg!(debug_assertions),
        "{binary} is not a release build: run `cargo bench --bench check`"
    );
    println!(
        "machine: {} cores available",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    throughput();
    for count in sizes() {
        whole_process(binary, count);
    }
}
