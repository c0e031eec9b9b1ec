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

mod support;

use std::time::{Duration, Instant};

use support::{
    names_per_file, read_floor, release_binary, run_measured, sizes, synthetic_file,
    thread_cpu_time, write_project,
};

use tokenplan::model::DatafileKind;
use tokenplan::syntax::{self, Secrets};

// The `tokenplan` binary's allocator, so that what this measures in process allocates as the
// binary does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const DEFAULT_SIZES: &[usize] = &[2_000, 100_000];
const THROUGHPUT_FILES: usize = 4_000;
const THROUGHPUT_RUNS: usize = 5;

fn throughput() {
    let files: Vec<(String, DatafileKind, String)> = (0..THROUGHPUT_FILES)
        .map(|i| synthetic_file(i, names_per_file))
        .collect();
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

fn whole_process(binary: &str, count: usize) {
    let dir = tempfile::tempdir().expect("temporary folder");
    let started = Instant::now();
    let bytes = write_project(dir.path(), count, names_per_file);
    println!(
        "tokenplan check, {count} files ({:.1} MB, written in {:.1} s):",
        bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    // The first run also warms the page cache; the best of the rest is reported, with the
    // first for reference.
    let runs = if count > 20_000 { 3 } else { 5 };
    let args = [std::ffi::OsStr::new("check"), dir.path().as_os_str()];
    let costs: Vec<_> = (0..runs).map(|_| run_measured(binary, &args)).collect();
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
    let floor = read_floor(dir.path(), runs);
    println!(
        "  floor, the same files read by a plain loop on one thread: {:.3} s; check takes {:.1}x the floor",
        floor.as_secs_f64(),
        best.wall.as_secs_f64() / floor.as_secs_f64()
    );
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument has no meaning here.
    let binary = release_binary();
    println!(
        "machine: {} cores available",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    throughput();
    for count in sizes(DEFAULT_SIZES) {
        whole_process(binary, count);
    }
}
