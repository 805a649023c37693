//! Parallel collecting: the wall time of `collect` with a slow shell adapter (each trial
//! sleeps 0.25 s, then the simulator measures) at 1 and at 4 workers, measured in the
//! same run. Prints the times and their ratio (ideal: 4×).
//!
//! Run with `cargo bench --bench workers`.

use flinktune::stages::collect::{self, CollectOptions};
use flinktune::stages::generate::{self, GenerateOptions};
use flinktune::study::{Study, template};
use std::time::Instant;

const TRIALS: usize = 16;
const SLEEP_S: f64 = 0.25;

fn study(dir: &std::path::Path) -> Study {
    let script = dir.join("slow.sh");
    std::fs::write(
        &script,
        format!(
            "sleep {SLEEP_S}\nexec '{}' sim-adapter\n",
            env!("CARGO_BIN_EXE_flinktune")
        ),
    )
    .unwrap();
    let text = template(Some(&format!("sh '{}'", script.display())))
        .replace("samples = 200", &format!("samples = {TRIALS}"))
        .replace("rates = [16000, 80000]", "rates = [16000]");
    std::fs::write(dir.join("flinktune.toml"), text).unwrap();
    let s = Study::load(dir).unwrap();
    generate::run(&s, GenerateOptions::default()).unwrap();
    s
}

fn collect_seconds(study: &Study, workers: usize) -> f64 {
    let started = Instant::now();
    collect::run(
        study,
        CollectOptions {
            workers,
            restart: true,
            ..CollectOptions::default()
        },
    )
    .unwrap();
    started.elapsed().as_secs_f64()
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn main() {
    // `cargo test` runs benches with --bench only under `cargo bench`; skip otherwise.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let study = study(dir.path());
    let runs = 3;
    let one = median((0..runs).map(|_| collect_seconds(&study, 1)).collect());
    let four = median((0..runs).map(|_| collect_seconds(&study, 4)).collect());
    println!(
        "collect of {TRIALS} trials of {SLEEP_S} s: 1 worker {one:.2} s, 4 workers {four:.2} s \
         (median of {runs}); speedup {:.2}x",
        one / four
    );
}
