//! How long `tokenplan lsp` takes to re-diagnose after an edit: the edited file recompiled, the
//! checks across files run again and the changed diagnostics computed, as the server does
//! before it publishes. Run with `cargo bench --bench lsp`; the target is under 10 ms for a
//! 1,000-line file.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use lsp_types::Url;
use tokenplan::lsp::Analysis;
use tokenplan::syntax::Secrets;

// The `tokenplan` binary's allocator, so that what this measures in process allocates as the
// binary does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Edits measured per case, after as many for warm-up.
const EDITS: usize = 200;

/// Edits and project size of a smoke run (`cargo test --benches`, which passes no `--bench`):
/// enough to see that every case works, in a debug build, in seconds.
const SMOKE_EDITS: usize = 3;
const SMOKE_PROJECT_FILES: usize = 20;

/// A pipe of about `lines` lines: nodes of SQL, each followed by a TOKEN line.
fn long_pipe(lines: usize) -> String {
    let mut text = String::from("DESCRIPTION >\n    A long pipe.\n\n");
    let mut node = 0;
    while text.lines().count() + 10 <= lines {
        text.push_str(&format!(
            "NODE node_{node}\nSQL >\n    SELECT toDate(timestamp) AS day, count() AS hits\n    FROM events\n    WHERE pathname = '/page/{node}'\n    GROUP BY day\n    ORDER BY day\n\nTOKEN reader_{node} READ\n\n"
        ));
        node += 1;
    }
    while text.lines().count() < lines {
        text.push_str("# padding\n");
    }
    text
}

/// A data source of about `lines` lines: a long schema, then tokens.
fn long_datasource(lines: usize) -> String {
    let mut text = String::from("SCHEMA >\n");
    let columns = lines.saturating_sub(6);
    for i in 0..columns {
        let comma = if i + 1 < columns { "," } else { "" };
        text.push_str(&format!(
            "    `column_{i}` String `json:$.column_{i}`{comma}\n"
        ));
    }
    text.push_str("\nENGINE MergeTree\nENGINE_SORTING_KEY column_0\n\nTOKEN ingest APPEND\n");
    text
}

fn small_datasource(i: usize) -> String {
    format!(
        "DESCRIPTION >\n    Events of shard {i}.\n\nSCHEMA >\n    `timestamp` DateTime `json:$.timestamp`,\n    `session_id` String `json:$.session_id`,\n    `pathname` String `json:$.pathname`\n\nENGINE MergeTree\nENGINE_PARTITION_KEY toYYYYMM(timestamp)\nENGINE_SORTING_KEY timestamp, session_id\n\nTOKEN ingest_{i} APPEND\nTOKEN dashboard READ\n"
    )
}

fn small_pipe(i: usize) -> String {
    format!(
        "DESCRIPTION >\n    Top pages of shard {i}.\n\nNODE top_pages\nSQL >\n    SELECT pathname, count() AS visits\n    FROM events_{i}\n    GROUP BY pathname\n    ORDER BY visits DESC\n    LIMIT 10\n\nTYPE endpoint\n\nTOKEN dashboard READ\n"
    )
}

/// Writes a project of these files into a fresh folder.
fn write_project(name: &str, files: &[(String, String)]) -> PathBuf {
    let root =
        std::env::temp_dir().join(format!("tokenplan-bench-lsp-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    for (path, text) in files {
        let full = root.join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, text).unwrap();
    }
    root
}

/// Opens `path` and times `EDITS` edits of one TOKEN line, alternately breaking and fixing it,
/// so that every edit changes the diagnostics to publish.
fn measure(
    name: &str,
    root: &Path,
    path: &str,
    text: &str,
    token_line: &str,
    edits: usize,
) -> Vec<Duration> {
    let started = Instant::now();
    let (mut analysis, errors) = Analysis::new(vec![root.to_path_buf()], Secrets::new());
    assert!(errors.is_empty());
    let files = analysis.folders()[0].project.files.len();
    println!(
        "{name}: {files} files loaded in {:.1} ms",
        started.elapsed().as_secs_f64() * 1e3
    );
    let uri = Url::from_file_path(root.join(path)).unwrap();
    analysis.open(&uri, Some(0), text);
    analysis.take_diagnostics();
    let broken_line = token_line
        .replace(" READ", " WRITE")
        .replace(" APPEND", " WRITE");
    let broken = text.replacen(token_line, &broken_line, 1);
    assert_ne!(broken, text, "the edit changes the text");
    let mut times = Vec::with_capacity(edits);
    for edit in 0..2 * edits {
        let next = if edit % 2 == 0 { &broken } else { text };
        let started = Instant::now();
        analysis.open(&uri, Some(edit as i32 + 1), next);
        let published = black_box(analysis.take_diagnostics());
        let elapsed = started.elapsed();
        assert_eq!(
            published.len(),
            1,
            "each edit changes the file's diagnostics"
        );
        if edit >= edits {
            times.push(elapsed);
        }
    }
    times
}

/// The same edits compiled alone, without the server: what the server adds is the difference.
fn compile_only(path: &str, text: &str, token_line: &str, edits: usize) -> Vec<Duration> {
    let kind =
        tokenplan::model::DatafileKind::from_extension(path.rsplit('.').next().unwrap()).unwrap();
    let broken = text.replacen(
        token_line,
        &token_line
            .replace(" READ", " WRITE")
            .replace(" APPEND", " WRITE"),
        1,
    );
    (0..2 * edits)
        .map(|edit| {
            let next = if edit % 2 == 0 { &broken } else { text };
            let started = Instant::now();
            black_box(tokenplan::syntax::compile(kind, "r", next, &Secrets::new()));
            started.elapsed()
        })
        .skip(edits)
        .collect()
}

fn report(name: &str, lines: usize, mut times: Vec<Duration>) {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let mean = times.iter().map(|d| ms(*d)).sum::<f64>() / times.len() as f64;
    let p95 = times[times.len() * 95 / 100];
    println!(
        "{name} ({lines} lines edited): median {:.2} ms, mean {mean:.2} ms, p95 {:.2} ms, min {:.2} ms over {} edits",
        ms(times[times.len() / 2]),
        ms(p95),
        ms(times[0]),
        times.len()
    );
}

fn main() {
    // `cargo test --benches` runs benchmarks with `--bench` missing: a quick smoke run then.
    let full = std::env::args().any(|a| a == "--bench");
    let (edits, project_files) = if full {
        (EDITS, 2000)
    } else {
        (SMOKE_EDITS, SMOKE_PROJECT_FILES)
    };

    let pipe = long_pipe(1000);
    let root = write_project("pipe", &[("pipes/long.pipe".into(), pipe.clone())]);
    let times = measure(
        "1,000-line pipe",
        &root,
        "pipes/long.pipe",
        &pipe,
        "TOKEN reader_50 READ",
        edits,
    );
    report("1,000-line pipe alone", pipe.lines().count(), times);
    let times = compile_only("long.pipe", &pipe, "TOKEN reader_50 READ", edits);
    report("  its compilation only", pipe.lines().count(), times);
    let _ = std::fs::remove_dir_all(&root);

    let datasource = long_datasource(1000);
    let root = write_project(
        "datasource",
        &[("datasources/wide.datasource".into(), datasource.clone())],
    );
    let times = measure(
        "1,000-line data source",
        &root,
        "datasources/wide.datasource",
        &datasource,
        "TOKEN ingest APPEND",
        edits,
    );
    report(
        "1,000-line data source alone",
        datasource.lines().count(),
        times,
    );
    let times = compile_only("wide.datasource", &datasource, "TOKEN ingest APPEND", edits);
    report("  its compilation only", datasource.lines().count(), times);
    let _ = std::fs::remove_dir_all(&root);

    let mut files: Vec<(String, String)> = (0..project_files / 2)
        .flat_map(|i| {
            [
                (
                    format!("datasources/events_{i}.datasource"),
                    small_datasource(i),
                ),
                (format!("pipes/top_pages_{i}.pipe"), small_pipe(i)),
            ]
        })
        .collect();
    files.pop();
    files.push(("pipes/long.pipe".into(), pipe.clone()));
    let root = write_project("project", &files);
    let small = small_pipe(7);
    let times = measure(
        &format!("{project_files}-file project"),
        &root,
        "pipes/top_pages_7.pipe",
        &small,
        "TOKEN dashboard READ",
        edits,
    );
    report(
        &format!("{project_files}-file project, small pipe"),
        small.lines().count(),
        times,
    );
    let times = measure(
        &format!("{project_files}-file project"),
        &root,
        "pipes/long.pipe",
        &pipe,
        "TOKEN reader_50 READ",
        edits,
    );
    report(
        &format!("{project_files}-file project, 1,000-line pipe"),
        pipe.lines().count(),
        times,
    );
    let _ = std::fs::remove_dir_all(&root);
}
