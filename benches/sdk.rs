//! What an SDK project costs `tokenplan plan`: the TypeScript SDK's generator dominates, and
//! tokenplan's own work (compiling the generated text, tracing TOKEN lines to the source,
//! planning) should add little.
//!
//! `cargo bench --bench sdk` writes a TypeScript SDK project of 200 resources (100 data sources
//! and 100 endpoints over 10 files each, 300 token entries naming 20 tokens) in a temporary
//! folder under the target folder (inside the repository, so that Node.js finds the pinned
//! `@tinybirdco/sdk` in its `node_modules`: run `npm ci` first), and the same 200 resources as
//! datafiles (the generator's own output written to disk). It prints the wall time of the
//! generator alone (through the library, as `plan` runs it), of the release binary planning the
//! SDK project, and of it planning the datafiles, with the ratios, and tokenplan's own work on
//! the generated text measured in process. `BENCH_RUNS` sets the number of runs of each (default
//! 5; the best and the median are printed).

mod support;

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use support::{release_binary, run_measured};
use tokenplan::project::Project;
use tokenplan::sdk::{self, GenerateOptions};
use tokenplan::syntax::Secrets;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const FILES: usize = 10;
const PER_FILE: usize = 10;
const TOKENS: usize = 20;

/// Writes the TypeScript project: a tokens module, 10 files of data sources, 10 of endpoints.
fn write_project(root: &Path) {
    let src = root.join("src");
    std::fs::create_dir_all(&src).expect("create the project");
    let mut includes = Vec::new();
    let mut tokens = String::from("import { defineToken } from \"@tinybirdco/sdk\";\n\n");
    for t in 0..TOKENS {
        let _ = writeln!(
            tokens,
            "export const token{t} = defineToken(\"token_{t:02}\");"
        );
    }
    std::fs::write(src.join("tokens.ts"), tokens).expect("write tokens.ts");
    for f in 0..FILES {
        let mut datasources = String::from(
            "import { defineDatasource, engine, t } from \"@tinybirdco/sdk\";\nimport * as tokens from \"./tokens\";\n\n",
        );
        let mut pipes = String::from(
            "import { defineEndpoint, node, t } from \"@tinybirdco/sdk\";\nimport * as tokens from \"./tokens\";\n\n",
        );
        for r in 0..PER_FILE {
            let i = f * PER_FILE + r;
            let (a, b, c) = (i % TOKENS, (i * 7 + 3) % TOKENS, (i * 13 + 5) % TOKENS);
            let _ = write!(
                datasources,
                "export const events{i} = defineDatasource(\"events_{i:03}\", {{\n  description: \"Events of stream {i}.\",\n  schema: {{\n    timestamp: t.dateTime().jsonPath(\"$.timestamp\"),\n    session_id: t.string().jsonPath(\"$.session_id\"),\n    action: t.string().lowCardinality().jsonPath(\"$.action\"),\n    value: t.float64().jsonPath(\"$.value\"),\n  }},\n  engine: engine.mergeTree({{ partitionKey: \"toYYYYMM(timestamp)\", sortingKey: [\"timestamp\", \"session_id\"] }}),\n  tokens: [\n    {{ token: tokens.token{a}, scope: \"APPEND\" }},\n    {{ token: tokens.token{b}, scope: \"READ\" }},\n  ],\n}});\n\n"
            );
            let _ = write!(
                pipes,
                "export const endpoint{i} = defineEndpoint(\"endpoint_{i:03}\", {{\n  nodes: [\n    node({{\n      name: \"totals\",\n      sql: `\n        SELECT action, count() AS hits, sum(value) AS total\n        FROM events_{i:03}\n        GROUP BY action\n        ORDER BY hits DESC\n      `,\n    }}),\n  ],\n  output: {{ action: t.string(), hits: t.uint64(), total: t.float64() }},\n  tokens: [{{ token: tokens.token{c}, scope: \"READ\" }}],\n}});\n\n"
            );
        }
        std::fs::write(src.join(format!("datasources_{f}.ts")), datasources)
            .expect("write data sources");
        std::fs::write(src.join(format!("pipes_{f}.ts")), pipes).expect("write pipes");
        includes.push(format!("\"src/datasources_{f}.ts\""));
        includes.push(format!("\"src/pipes_{f}.ts\""));
    }
    std::fs::write(
        root.join("tinybird.config.json"),
        format!(
            "{{\n  \"include\": [{}],\n  \"token\": \"${{TINYBIRD_TOKEN}}\",\n  \"baseUrl\": \"https://api.tinybird.co\"\n}}\n",
            includes.join(", ")
        ),
    )
    .expect("write the config");
}

fn refs(args: &[std::ffi::OsString; 4]) -> [&OsStr; 4] {
    args.each_ref().map(|a| a.as_os_str())
}

/// Best and median of some durations.
fn best_and_median(mut times: Vec<Duration>) -> (f64, f64) {
    times.sort();
    (times[0].as_secs_f64(), times[times.len() / 2].as_secs_f64())
}

fn main() {
    let binary = release_binary();
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|n| n.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(5);
    let scratch = tempfile::Builder::new()
        .prefix("bench-sdk-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("temporary folder under the target folder");
    let typescript = scratch.path().join("typescript");
    write_project(&typescript);
    let project = sdk::detect(&typescript)
        .sdk()
        .expect("the written project is a TypeScript SDK project");

    // The generator's output becomes the datafile project.
    let generate = || {
        sdk::generate(&project, &GenerateOptions::default()).unwrap_or_else(|e| {
            panic!(
                "{:?}\nrun `npm ci` at the repository root",
                miette::Report::new(e)
            )
        })
    };
    let generated = generate();
    let datafiles = scratch.path().join("datafiles");
    for artifact in &generated.artifacts {
        let path = datafiles.join(&artifact.relative_path);
        std::fs::create_dir_all(path.parent().expect("a folder")).expect("create a folder");
        std::fs::write(&path, artifact.content.as_bytes()).expect("write a datafile");
    }
    let state = scratch.path().join("workspace.json");
    let plan_args = |folder: &Path| {
        [
            OsStr::new("plan").to_owned(),
            folder.as_os_str().to_owned(),
            OsStr::new("--state").to_owned(),
            state.as_os_str().to_owned(),
        ]
    };
    let (sdk_args, datafile_args) = (plan_args(&typescript), plan_args(&datafiles));
    // One run of each first, to warm the page cache (and Node.js's compile cache); then the
    // runs interleaved, so that each sees the same machine.
    run_measured(binary, &refs(&sdk_args));
    run_measured(binary, &refs(&datafile_args));
    let (mut generator, mut sdk_plan, mut datafile_plan, mut own) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        let started = Instant::now();
        generate();
        generator.push(started.elapsed());
        sdk_plan.push(run_measured(binary, &refs(&sdk_args)).wall);
        datafile_plan.push(run_measured(binary, &refs(&datafile_args)).wall);
        own.push(own_work(&project, &generated));
    }

    let (gen_best, gen_median) = best_and_median(generator);
    let (sdk_best, sdk_median) = best_and_median(sdk_plan);
    let (df_best, df_median) = best_and_median(datafile_plan);
    let (own_best, own_median) = best_and_median(own);
    println!(
        "TypeScript SDK project of {} resources ({} generated datafiles), {runs} runs each:",
        FILES * PER_FILE * 2,
        generated.artifacts.len()
    );
    println!(
        "  generator alone (node + @tinybirdco/sdk): best {gen_best:.3} s, median {gen_median:.3} s"
    );
    println!(
        "  tokenplan plan, SDK project:              best {sdk_best:.3} s, median {sdk_median:.3} s ({:.2}x the generator)",
        sdk_median / gen_median,
    );
    println!(
        "  tokenplan plan, the same as datafiles:    best {df_best:.3} s, median {df_median:.3} s (the SDK project takes {:.0}x as long)",
        sdk_median / df_median
    );
    println!(
        "  tokenplan's own work on the generated text (compile, scan and trace the sources): best {:.1} ms, median {:.1} ms ({:.1}% of the generator)",
        own_best * 1000.0,
        own_median * 1000.0,
        own_median / gen_median * 100.0
    );
}

/// What `plan` does with an SDK project besides running its generator: compile the generated
/// text, read the SDK sources and trace every TOKEN line.
fn own_work(project: &sdk::SdkProject, generated: &sdk::Generated) -> Duration {
    let started = Instant::now();
    let texts = generated
        .artifacts
        .iter()
        .map(|a| (a.relative_path.clone(), a.kind, a.content.clone()))
        .collect();
    let compiled = Project::from_texts(project.root().to_path_buf(), texts, &Secrets::new());
    let sources = sdk::Sources::scan(project);
    let mut traced = 0;
    for (file, artifact) in compiled.files.iter().zip(&generated.artifacts) {
        for token in &file.tokens {
            let trace =
                sources.locate(file.kind, &artifact.resource, &token.name, token.permission);
            traced += usize::from(trace.origin.is_traced());
        }
    }
    assert_eq!(traced, compiled.token_count(), "every TOKEN line traced");
    started.elapsed()
}
