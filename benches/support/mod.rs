//! What the benchmarks share: a deterministic generator of realistic datafiles, and running the
//! release binary with its wall time, CPU time and peak memory measured.

#![allow(dead_code)]

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tokenplan::model::DatafileKind;

/// A small deterministic generator, so that every run and machine measures the same files.
pub(crate) struct Rng(pub u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub(crate) fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
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

/// How a synthetic file names its tokens: file number, token number on the file → name.
pub(crate) type TokenNames = fn(usize, usize) -> String;

/// Token names unique to each file, as in a project where every endpoint has its own token.
pub(crate) fn names_per_file(i: usize, t: usize) -> String {
    format!("service {i} token {t}")
}

fn datasource(rng: &mut Rng, i: usize, names: TokenNames) -> String {
    let mut text = String::with_capacity(2048);
    let _ = writeln!(
        text,
        "DESCRIPTION >\n    Events of stream {i}, one row per event, ingested from the tracker.\n"
    );
    for t in 0..1 + rng.below(3) {
        let permission = if t == 1 { "APPEND" } else { "READ" };
        let _ = writeln!(text, "TOKEN \"{}\" {permission}", names(i, t));
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

fn pipe(rng: &mut Rng, i: usize, names: TokenNames) -> String {
    let mut text = String::with_capacity(2048);
    let _ = writeln!(
        text,
        "DESCRIPTION >\n    Endpoint {i}: aggregated events with optional filters.\n"
    );
    for t in 0..1 + rng.below(3) {
        let _ = writeln!(text, "TOKEN \"{}\" READ", names(i, t));
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
pub(crate) fn synthetic_file(i: usize, names: TokenNames) -> (String, DatafileKind, String) {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (i as u64 + 1).wrapping_mul(0x1000_0000_01b3));
    // A few hundred files a folder, as in a large real project.
    let folder = i / 500;
    if i.is_multiple_of(2) {
        let path = format!("datasources/{folder:04}/events_{i:06}.datasource");
        (
            path,
            DatafileKind::Datasource,
            datasource(&mut rng, i, names),
        )
    } else {
        let path = format!("pipes/{folder:04}/endpoint_{i:06}.pipe");
        (path, DatafileKind::Pipe, pipe(&mut rng, i, names))
    }
}

/// CPU time of the calling thread: unlike wall time it does not count the time other processes
/// (a parallel build) hold the core, so single-thread figures stay comparable on a busy machine.
pub(crate) fn thread_cpu_time() -> Duration {
    // SAFETY: timespec is plain old data; clock_gettime fills it in.
    let mut now: libc::timespec = unsafe { std::mem::zeroed() };
    // SAFETY: `now` is a live, writable timespec.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    assert_eq!(rc, 0, "clock_gettime: {}", std::io::Error::last_os_error());
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

/// Writes a synthetic project of `count` files; returns the bytes written.
pub(crate) fn write_project(root: &Path, count: usize, names: TokenNames) -> usize {
    let mut bytes = 0;
    for i in 0..count {
        let (path, _, text) = synthetic_file(i, names);
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
pub(crate) struct RunCost {
    pub wall: Duration,
    /// User plus system CPU time of the child, to tell parallel work from waiting.
    pub cpu: Duration,
    /// Peak resident memory of the child, in KiB.
    pub peak_rss_kib: i64,
}

fn cpu_time(time: libc::timeval) -> Duration {
    Duration::from_secs(time.tv_sec as u64) + Duration::from_micros(time.tv_usec as u64)
}

/// The floor for reading a project: every file under `root` read whole by a plain loop on one
/// thread, best of `runs` with the page cache warm. File I/O on these machines varies several-fold
/// from run to run, so a command's time says something only beside this floor, taken in the same
/// run.
pub(crate) fn read_floor(root: &Path, runs: usize) -> Duration {
    (0..runs)
        .map(|_| {
            let start = Instant::now();
            let mut bytes = 0;
            for entry in walkdir::WalkDir::new(root) {
                let entry = entry.expect("walk the project");
                if entry.file_type().is_file() {
                    bytes += std::fs::read(entry.path()).expect("read a file").len();
                }
            }
            std::hint::black_box(bytes);
            start.elapsed()
        })
        .min()
        .expect("at least one run")
}

/// Runs the binary with `args`, stdout to /dev/null, and measures it.
pub(crate) fn run_measured(binary: &str, args: &[&std::ffi::OsStr]) -> RunCost {
    let start = Instant::now();
    let child = Command::new(binary)
        .args(args)
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
        "tokenplan {args:?} failed on the synthetic project (status {status})"
    );
    RunCost {
        wall: elapsed,
        cpu: cpu_time(usage.ru_utime) + cpu_time(usage.ru_stime),
        peak_rss_kib: usage.ru_maxrss,
    }
}

/// Project sizes from `BENCH_FILES` (comma-separated), or `default`.
pub(crate) fn sizes(default: &[usize]) -> Vec<usize> {
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
        Err(_) => default.to_vec(),
    }
}

/// The release binary, or a panic that says how to get one.
pub(crate) fn release_binary() -> &'static str {
    let binary = env!("CARGO_BIN_EXE_tokenplan");
    let release = Path::new(binary)
        .components()
        .any(|c| c.as_os_str() == "release");
    assert!(
        release && !cfg!(debug_assertions),
        "{binary} is not a release build: run it with `cargo bench`"
    );
    binary
}
