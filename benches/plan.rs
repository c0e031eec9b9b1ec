//! How fast `tokenplan plan` is on a large project against a large workspace.
//!
//! `cargo bench --bench plan` writes a project of 100,000 realistic datafiles whose TOKEN lines
//! (about 150,000) name 20,000 distinct tokens, and an embedded workspace of 20,000 tokens that
//! mostly matches them (some tokens to create, some to update, some to destroy). It prints the
//! wall time, CPU time and peak memory of the release binary planning it, as text and as JSON.
//! `BENCH_FILES` sets other project sizes (comma-separated).
//!
//! Targets: the whole process under 2 s wall on 2 cores and under 1 GiB peak memory.

mod support;

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::sync::Arc;
use std::time::Instant;

use support::{read_floor, release_binary, run_measured, sizes, synthetic_file, write_project};
use tokenplan::desired::DesiredSet;
use tokenplan::project::Project;
use tokenplan::syntax::Secrets;
use tokenplan::workspace::TokenKind;
use tokenplan::workspace::state::State;

// The `tokenplan` binary's allocator, so that what this measures in process allocates as the
// binary does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const DEFAULT_SIZES: &[usize] = &[100_000];
const DISTINCT_TOKENS: usize = 20_000;

/// Spreads the TOKEN lines of file `i` over a pool of 20,000 names.
fn pooled_names(i: usize, t: usize) -> String {
    format!("token {:05}", (i * 7 + t * 7919) % DISTINCT_TOKENS)
}

/// A workspace of 20,000 managed tokens for the desired set: one in twenty missing (to create),
/// one in twenty with an extra scope (to update), and as many undeclared ones (to destroy).
fn workspace_for(desired: &DesiredSet) -> State {
    let mut state = State::new("bench@example.com");
    let mut kept = 0;
    for (i, token) in desired.tokens.values().enumerate() {
        if i % 20 == 0 {
            continue;
        }
        let mut scopes = token.scope_list();
        if i % 20 == 1 {
            scopes.insert("PIPES:READ:retired_endpoint".into());
        }
        let token = state.new_token(&token.name, &scopes, TokenKind::Resource, "");
        state.insert(token);
        kept += 1;
    }
    for i in 0..DISTINCT_TOKENS.saturating_sub(kept) {
        let token = state.new_token(
            &format!("legacy {i:05}"),
            &["PIPES:READ:retired_endpoint".into()],
            TokenKind::Resource,
            "",
        );
        state.insert(token);
    }
    state
}

fn bench(binary: &str, count: usize) {
    let dir = tempfile::tempdir().expect("temporary folder");
    let started = Instant::now();
    let bytes = write_project(dir.path(), count, pooled_names);
    let texts = (0..count)
        .map(|i| {
            let (path, kind, text) = synthetic_file(i, pooled_names);
            (path, kind, Arc::from(text))
        })
        .collect();
    let project = Project::from_texts(dir.path().to_path_buf(), texts, &Secrets::new());
    assert!(!project.has_errors(), "the synthetic project must be valid");
    let desired = DesiredSet::from_project(&project);
    let mut state = workspace_for(&desired);
    let state_path = dir.path().join("workspace.json");
    state.save(&state_path).expect("write the workspace");
    let kinds: BTreeMap<&str, usize> = state.tokens.iter().fold(BTreeMap::new(), |mut m, t| {
        *m.entry(t.kind.as_str()).or_default() += 1;
        m
    });
    println!(
        "tokenplan plan, {count} files ({:.1} MB, {} TOKEN lines, {} distinct tokens), workspace of {} tokens {kinds:?} (set up in {:.1} s):",
        bytes as f64 / 1e6,
        desired.directive_count(),
        desired.tokens.len(),
        state.tokens.len(),
        started.elapsed().as_secs_f64()
    );
    let floor = read_floor(dir.path(), 3);
    println!(
        "  floor, the project's files read by a plain loop on one thread: {:.3} s",
        floor.as_secs_f64()
    );
    for format in ["text", "json"] {
        let args = [
            OsStr::new("plan"),
            dir.path().as_os_str(),
            OsStr::new("--state"),
            state_path.as_os_str(),
            OsStr::new("--format"),
            OsStr::new(format),
        ];
        // The first run warms the page cache; the best of the others is reported.
        let costs: Vec<_> = (0..3).map(|_| run_measured(binary, &args)).collect();
        let best = costs.iter().min_by_key(|c| c.wall).expect("three runs");
        let peak = costs.iter().map(|c| c.peak_rss_kib).max().unwrap_or(0);
        println!(
            "  --format {format}: wall best {:.3} s (CPU {:.3} s), first {:.3} s, {:.1}x the floor; peak RSS {:.1} MiB (targets: < 2 s, < 1024 MiB)",
            best.wall.as_secs_f64(),
            best.cpu.as_secs_f64(),
            costs[0].wall.as_secs_f64(),
            best.wall.as_secs_f64() / floor.as_secs_f64(),
            peak as f64 / 1024.0
        );
    }
}

fn main() {
    let binary = release_binary();
    for count in sizes(DEFAULT_SIZES) {
        bench(binary, count);
    }
}
