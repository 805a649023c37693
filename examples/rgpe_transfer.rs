//! RGPE transfer between input rates, measured on the simulator (wordcount, the default
//! cluster, the 30 key parameters):
//!
//! 1. earlier searches: GP-EI over the system at 8 000, 16 000 and 32 000 rec/s
//!    (`SOURCE_BUDGET` evaluations each, the study seed);
//! 2. at each new rate (24 000 and 48 000 rec/s) and for every seed: a cold-start GP-EI
//!    search and an RGPE search transferring from the three earlier ones, same budget;
//! 3. the quality target: within 5 % of the best perf a long cold search (`LONG_BUDGET`)
//!    or any of the runs found at that rate.
//!
//! Prints, per rate and method, the evaluations needed to reach the target (median over
//! seeds; "never" counts as budget + 1) and the median best-so-far perf at budgets 10, 20
//! and 40.
//!
//! `cargo run --release --example rgpe_transfer [seeds]` (default 5 seeds; a few minutes).

use anyhow::{Context, Result};
use flink::objective::Objective;
use flinktune::stages::search::record;
use flinktune::stages::search::record::SearchOptions;
use flinktune::stages::search::single::{self, Evaluator};
use flinktune::stages::search::transfer;
use flinktune::study::{Over, Study};
use opt::rgpe::Task;
use std::path::Path;

const SOURCES: [u64; 3] = [8_000, 16_000, 32_000];
const TARGETS: [u64; 2] = [24_000, 48_000];
const SOURCE_BUDGET: u64 = 40;
const BUDGET: usize = 40;
const LONG_BUDGET: usize = 150;
const INITIAL: u64 = 10;

/// Writes a study of the built-in template at one rate, searched over the system.
fn study(dir: &Path, rate: u64, budget: u64, transfer_from: &[&str]) -> Result<Study> {
    std::fs::create_dir_all(dir)?;
    let from: Vec<String> = transfer_from.iter().map(|s| format!("{s:?}")).collect();
    let text = flinktune::study::template(None)
        .replace("rates = [16000, 80000]", &format!("rates = [{rate}]"))
        .replace("budget = 100", &format!("budget = {budget}"))
        .replace("# initial = 25", &format!("initial = {INITIAL}"))
        .replace("over = \"model\"", "over = \"system\"")
        .replace(
            "# transfer_from = [\"../study-8k\", \"../study-16k\"]",
            &format!("transfer_from = [{}]", from.join(", ")),
        );
    std::fs::write(dir.join("flinktune.toml"), text)?;
    Study::load(dir)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

/// Best score so far after each evaluation (NEG_INFINITY until something ran).
fn curve(steps: &[record::Step], study: &Study) -> Vec<f64> {
    let mut best = f64::NEG_INFINITY;
    steps
        .iter()
        .map(|s| {
            if let Some(y) = s.score(study.file.objective) {
                best = best.max(y);
            }
            best
        })
        .collect()
}

/// Step 1: the earlier searches, at each of `SOURCES`; returns the studies' names as a target
/// study transfers from them.
fn search_sources(root: &Path) -> Result<Vec<String>> {
    for rate in SOURCES {
        let s = study(
            &root.join(format!("study-{}k", rate / 1000)),
            rate,
            SOURCE_BUDGET,
            &[],
        )?;
        let summary = single::run(
            &s,
            SearchOptions {
                over: Over::System,
                batch: 1,
                restart: true,
            },
        )?;
        eprintln!("source {rate} rec/s: best ratio {:.1}", summary.best_perf);
    }
    Ok(SOURCES
        .iter()
        .map(|r| format!("../study-{}k", r / 1000))
        .collect())
}

/// What the searches at one target rate found: each run's best-so-far curve by method, and
/// each seed's RGPE weights (the base models', the target's).
struct Runs {
    curves: Vec<(&'static str, Vec<f64>)>,
    weights: Vec<(Vec<record::TransferModel>, Option<f64>)>,
}

/// Step 2: for every seed, a cold-start GP-EI search and an RGPE search transferring from
/// `tasks`, same budget.
fn search_target(
    target: &Study,
    evaluator: &Evaluator,
    tasks: &[Task],
    seeds: u64,
) -> Result<Runs> {
    let objective = target.file.objective;
    let mut runs = Runs {
        curves: Vec::new(),
        weights: Vec::new(),
    };
    for seed in 0..seeds {
        let opts = single::bo_options(target, seed, evaluator);
        let cold = single::optimise(
            &target.space,
            objective,
            evaluator,
            opts.clone(),
            BUDGET,
            1,
            vec![],
            |_| Ok(()),
        )?;
        runs.curves.push(("cold GP-EI", curve(&cold, target)));
        let mut warm_opts = opts;
        warm_opts.initial = target.file.search.transfer_initial as usize;
        let found = single::optimise_with_transfer(
            &target.space,
            objective,
            evaluator,
            warm_opts,
            BUDGET,
            1,
            vec![],
            tasks,
            |_| Ok(()),
        )?;
        runs.curves.push(("RGPE", curve(&found.steps, target)));
        runs.weights.push((found.transfer, found.target_weight));
    }
    Ok(runs)
}

/// Step 3: the quality target, as a score — within 5 % of the best perf a long cold search
/// or any of the runs found at this rate.
fn quality_target(target: &Study, evaluator: &Evaluator, runs: &Runs, rate: u64) -> Result<f64> {
    let objective = target.file.objective;
    let long = single::optimise(
        &target.space,
        objective,
        evaluator,
        single::bo_options(target, 1000, evaluator),
        LONG_BUDGET,
        1,
        vec![],
        |_| Ok(()),
    )?;
    let best = runs
        .curves
        .iter()
        .map(|(_, c)| c[c.len() - 1])
        .chain(std::iter::once(curve(&long, target)[LONG_BUDGET - 1]))
        .fold(f64::NEG_INFINITY, f64::max);
    let goal = objective.score(0.95 * objective.perf_of_score(best));
    eprintln!(
        "{rate} rec/s: best ratio {:.1}, target {:.1}",
        objective.perf_of_score(best),
        objective.perf_of_score(goal)
    );
    Ok(goal)
}

/// One table row: `method`'s evaluations to reach `goal` (median; per seed) and its median
/// best-so-far perf at budgets 10, 20 and 40.
fn print_row(rate: u64, method: &str, runs: &Runs, goal: f64, objective: Objective) {
    let mine: Vec<&Vec<f64>> = runs
        .curves
        .iter()
        .filter(|(m, _)| *m == method)
        .map(|(_, c)| c)
        .collect();
    let reach: Vec<f64> = mine
        .iter()
        .map(|c| {
            c.iter()
                .position(|&y| y >= goal)
                .map_or(BUDGET as f64 + 1.0, |i| i as f64 + 1.0)
        })
        .collect();
    let at = |b: usize| objective.perf_of_score(median(mine.iter().map(|c| c[b - 1]).collect()));
    let per_seed: Vec<String> = reach
        .iter()
        .map(|&r| {
            if r > BUDGET as f64 {
                "never".to_string()
            } else {
                format!("{r}")
            }
        })
        .collect();
    println!(
        "| {rate} | {method} | {} ({}) | {:.1} | {:.1} | {:.1} |",
        median(reach),
        per_seed.join(", "),
        at(10),
        at(20),
        at(40)
    );
}

/// The first seed's RGPE weights, on stderr.
fn print_weights(rate: u64, runs: &Runs) {
    for (models, target_weight) in runs.weights.iter().take(1) {
        eprintln!(
            "{rate} rec/s, seed 0: target weight {:.2}; {}",
            target_weight.unwrap_or(0.0),
            models
                .iter()
                .map(|m| format!(
                    "{} {:.2}",
                    m.name.rsplit('/').next().unwrap_or(""),
                    m.weight
                ))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
}

fn main() -> Result<()> {
    let seeds: u64 = match std::env::args().nth(1) {
        Some(s) => s.parse().context("the argument is the number of seeds")?,
        None => 5,
    };
    let tmp = tempfile::tempdir()?;
    let root = tmp.path();
    let names = search_sources(root)?;
    let names: Vec<&str> = names.iter().map(String::as_str).collect();

    println!(
        "| rate | method | evaluations to 95 % of the best (median; per seed) | best at 10 | best at 20 | best at 40 |"
    );
    println!("|---|---|---|---|---|---|");
    for rate in TARGETS {
        let dir = root.join(format!("target-{}k", rate / 1000));
        let target = study(&dir, rate, BUDGET as u64, &names)?;
        let tasks = transfer::sources(&target)?;
        let evaluator = Evaluator::new(&target, None, rate, dir.join("trials"));
        let runs = search_target(&target, &evaluator, &tasks, seeds)?;
        let goal = quality_target(&target, &evaluator, &runs, rate)?;
        for method in ["cold GP-EI", "RGPE"] {
            print_row(rate, method, &runs, goal, target.file.objective);
        }
        print_weights(rate, &runs);
    }
    Ok(())
}
