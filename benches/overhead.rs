//! Tuner overhead per evaluation: 60 evaluations of a cheap 30-dimensional function with 10
//! initial points (so the time is the optimiser's, not the system's), our GP-EI against
//! scikit-optimize's `gp_minimize` on the same problem, measured in the same run when
//! `python3 -c 'import skopt'` works (`scripts/skopt_overhead.py`).
//!
//! Run with `cargo bench --bench overhead`.

use opt::bo::{BayesOpt, BoOptions, Domain, Var};
use std::process::Command;
use std::time::Instant;

const DIMS: usize = 30;
const CALLS: usize = 60;
const INITIAL: usize = 10;

fn objective(x: &[f64]) -> f64 {
    -(x[0] - 0.3).powi(2) - 2.0 * (x[1] - 0.7).powi(2) + (3.0 * x[2]).sin() + 0.1 * x[3]
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn ours(seed: u64) -> (f64, f64) {
    let mut bo = BayesOpt::new(
        Domain::new(vec![Var::Continuous; DIMS]),
        BoOptions {
            initial: INITIAL,
            seed,
            ..BoOptions::default()
        },
    )
    .unwrap();
    let mut per_eval = Vec::new();
    for i in 0..CALLS {
        let started = Instant::now();
        let s = bo.ask().unwrap();
        let y = objective(&s.x);
        bo.tell(s.x, y).unwrap();
        if i >= INITIAL {
            per_eval.push(started.elapsed().as_secs_f64());
        }
    }
    let mean = per_eval.iter().sum::<f64>() / per_eval.len() as f64;
    (median(per_eval), mean)
}

fn skopt(seed: u64) -> Option<(f64, f64)> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/skopt_overhead.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(seed.to_string())
        .output()
        .ok()?;
    if !out.status.success() {
        eprintln!(
            "skopt not measured: {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        );
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    Some((v["median_s"].as_f64()?, v["mean_s"].as_f64()?))
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let seeds = 3;
    let runs: Vec<(f64, f64)> = (0..seeds).map(ours).collect();
    let (m, a) = (
        median(runs.iter().map(|r| r.0).collect()),
        median(runs.iter().map(|r| r.1).collect()),
    );
    println!(
        "flinktune GP-EI: {:.1} ms median, {:.1} ms mean per model-based evaluation \
         ({CALLS} evaluations, {DIMS} dims, median of {seeds} seeds)",
        m * 1e3,
        a * 1e3
    );
    let theirs: Vec<(f64, f64)> = (0..seeds).filter_map(skopt).collect();
    if theirs.len() == seeds as usize {
        let (tm, ta) = (
            median(theirs.iter().map(|r| r.0).collect()),
            median(theirs.iter().map(|r| r.1).collect()),
        );
        println!(
            "scikit-optimize gp_minimize: {:.1} ms median, {:.1} ms mean; flinktune is {:.1}x faster (median)",
            tm * 1e3,
            ta * 1e3,
            tm / m
        );
    }
}
