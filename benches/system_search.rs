//! The sample-efficiency target, measured: `search --over system` with a budget of
//! 40 evaluations against the best of 2000 random evaluations, on the simulator, for the
//! quick-start study (wordcount) at 16 000 and 160 000 records/s, over 5 seeds. Prints, per
//! rate, each seed's ratio best(BO) / best(random 2000) and their median (the target is a
//! median ≥ 0.9).
//!
//! Run with `cargo bench --bench system_search` (a few minutes; every evaluation is a
//! simulated trial through the adapter protocol, as in a real search).

use flinktune::stages::search::record;
use flinktune::stages::search::single::{self, Evaluator};
use flinktune::study::Study;
use rand::SeedableRng;

const BUDGET: usize = 40;
const RANDOM: usize = 2000;
const SEEDS: u64 = 5;
/// Random configurations evaluated at once (one thread each).
const CHUNK: usize = 16;

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn study(dir: &std::path::Path, rate: u64, seed: u64) -> Study {
    let text = include_str!("../examples/quickstart/flinktune.toml")
        .replace("rates = [16000, 80000]", &format!("rates = [{rate}]"))
        .replace("rate = 16000", &format!("rate = {rate}\nover = \"system\""))
        .replace("budget = 80", &format!("budget = {BUDGET}"))
        .replace("seed = 7", &format!("seed = {seed}"));
    std::fs::write(dir.join("flinktune.toml"), text).unwrap();
    Study::load(dir).unwrap()
}

/// Best perf of `search --over system` and of 2000 random configurations, one seed.
fn one(rate: u64, seed: u64) -> (f64, f64) {
    let tmp = tempfile::tempdir().unwrap();
    let study = study(tmp.path(), rate, seed);
    let objective = study.file.objective;
    let evaluator = Evaluator::new(&study, None, rate, tmp.path().join("bo-trials"));
    let steps = single::optimise(
        &study.space,
        objective,
        &evaluator,
        single::bo_options(&study, seed, &evaluator),
        BUDGET,
        1,
        vec![],
        |_| Ok(()),
    )
    .unwrap();
    let bo = record::best_step(&steps, objective)
        .map(|i| steps[i].evaluation.perf.unwrap_or_default())
        .unwrap_or(0.0);

    let domain = flinktune::study::encoding::domain(&study.space);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed ^ 0x5eed);
    let random = Evaluator::new(&study, None, rate, tmp.path().join("random-trials"));
    let mut best = f64::NEG_INFINITY;
    for start in (0..RANDOM).step_by(CHUNK) {
        let n = CHUNK.min(RANDOM - start);
        let configs: Vec<_> = (0..n)
            .map(|_| {
                flinktune::study::encoding::decode(
                    &study.space,
                    &domain,
                    &domain.random_point(&mut rng),
                )
            })
            .collect();
        let ids: Vec<String> = (start..start + n).map(|i| format!("r{i:05}")).collect();
        for e in random.evaluate(&ids, &configs).unwrap() {
            if e.feasible()
                && let Some(p) = e.perf
            {
                best = best.max(p);
            }
        }
        // Trial directories are not needed afterwards; keep the disk footprint small.
        let _ = std::fs::remove_dir_all(tmp.path().join("random-trials"));
    }
    (bo, best)
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    for rate in [16_000, 160_000] {
        let mut ratios = Vec::new();
        for seed in 0..SEEDS {
            let (bo, random) = one(rate, seed);
            let ratio = bo / random;
            println!(
                "rate {rate}, seed {seed}: BO ({BUDGET}) {bo:.1}, random ({RANDOM}) {random:.1}, ratio {ratio:.3}"
            );
            ratios.push(ratio);
        }
        println!(
            "rate {rate}: median ratio over {SEEDS} seeds {:.3} (target ≥ 0.9)",
            median(ratios)
        );
    }
}
