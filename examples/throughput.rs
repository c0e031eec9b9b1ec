use std::time::Instant;
fn main() {
    let root = std::env::args().nth(1).unwrap();
    let files = tokenplan::project::discover(std::path::Path::new(&root)).unwrap();
    let texts: Vec<(tokenplan::model::DatafileKind, String, String)> = files
        .iter()
        .map(|f| {
            (
                f.kind,
                f.path.clone(),
                std::fs::read_to_string(&f.full_path).unwrap(),
            )
        })
        .collect();
    let secrets = Default::default();
    for kind in [
        tokenplan::model::DatafileKind::Datasource,
        tokenplan::model::DatafileKind::Pipe,
    ] {
        let subset: Vec<_> = texts.iter().filter(|t| t.0 == kind).collect();
        let bytes: usize = subset.iter().map(|t| t.2.len()).sum();
        let mut best = f64::MAX;
        for _ in 0..3 {
            let start = Instant::now();
            for (k, p, t) in &subset {
                std::hint::black_box(tokenplan::syntax::compile(*k, p, t, &secrets));
            }
            best = best.min(start.elapsed().as_secs_f64());
        }
        println!(
            "{kind}: {} files {:.1} MB in {:.3}s = {:.1} MB/s",
            subset.len(),
            bytes as f64 / 1e6,
            best,
            bytes as f64 / 1e6 / best
        );
    }
}
