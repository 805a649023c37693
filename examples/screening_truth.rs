//! The simulator's ground truth for screening: for every parameter of a study's catalogue,
//! the largest |change of ln perf| its one-at-a-time levels make, noise-free, at the
//! reference configuration and at random configurations that pass Flink's memory rules
//! (both ends running), and how often a level flips run/fail. `determine`'s selections are
//! judged against it (`benches/screening.rs` computes precision and recall).
//!
//! Columns: `max_effect` (the truth: active when ≥ 0.01), `reference_effect`, `flips`,
//! `bases_over_1pct` (at how many of the bases some level moves ln perf by ≥ 1%: a key
//! active at one base only is active around that configuration alone), `median_effect`
//! (over the bases), `max_at_level` (the sweep level of the largest effect, of the
//! last: 0 is the low end of the range) and `reference_at_level` (the same at the
//! reference). Levels compare with the base, so `reference_effect` is what a move of the
//! key alone from Flink's default to that level changes, noise-free.
//!
//! cargo run --release --example screening_truth -- STUDY [BASES] > truth.csv

use anyhow::{Context, Result};
use flink::objective::Measurement;
use flink::sim::{self, SimJob, SimOutcome};
use flink::space::{Config, Value};
use flinktune::stages::determine::{reference_config, sweep_values};
use flinktune::study::Study;
use rand::{RngExt, SeedableRng};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let dir = args
        .get(1)
        .context("usage: screening_truth STUDY [BASES]")?;
    let bases: usize = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(40);
    let study = Study::load(std::path::Path::new(dir))?;
    let score = sim_score(&study);
    // The reference and random runnable configurations.
    let mut rng = rand::rngs::StdRng::seed_from_u64(study.file.seed);
    let mut base_configs = vec![reference_config(&study.space)];
    while base_configs.len() < bases + 1 {
        let u: Vec<f64> = (0..study.space.len())
            .map(|_| rng.random::<f64>())
            .collect();
        let c = study.space.from_unit(&u);
        if score(&c).is_some() {
            base_configs.push(c);
        }
    }
    println!(
        "param,max_effect,reference_effect,flips,bases_over_1pct,median_effect,max_at_level,\
         reference_at_level"
    );
    for (i, p) in study.space.params.iter().enumerate() {
        let levels = sweep_values(p, study.file.determine.levels as usize);
        let t = key_truth(i, &levels, &base_configs, &score);
        let last = levels.len().saturating_sub(1);
        let over = t.per_base.iter().filter(|&&e| e >= 0.01).count();
        let median = match t.per_base.is_empty() {
            true => 0.0,
            false => opt::stats::median(&t.per_base),
        };
        println!(
            "{},{:.5},{:.5},{},{over},{median:.5},{}/{last},{}/{last}",
            p.name, t.max, t.at_ref, t.flips, t.max_level, t.ref_level,
        );
    }
    Ok(())
}

/// The study's objective score of a configuration on the simulator, noise-free (None: it
/// fails).
fn sim_score(study: &Study) -> impl Fn(&Config) -> Option<f64> + '_ {
    let objective = study.file.objective;
    let job = SimJob {
        workload: study.file.sim.workload,
        rate: study
            .file
            .determine
            .rate
            .unwrap_or_else(|| study.search_rate()) as f64,
        duration_s: study.file.duration_s as f64,
        repeat: 0,
        seed: study.file.seed,
        noise: 0.0,
        flink: study.file.flink_version,
    };
    let cluster = sim::Cluster::default();
    move |c: &Config| match sim::simulate(&study.effective_conf(c), &cluster, &job) {
        SimOutcome::Pass(m) => Some(objective.score(objective.run_value(&Measurement {
            throughput: m.throughput,
            latency_p99_ms: m.latency_p99_ms,
        }))),
        SimOutcome::Fail { .. } => None,
    }
}

/// What one key's sweep does across the bases (the first is the reference).
struct KeyTruth {
    /// The largest |change| anywhere, and at the reference.
    max: f64,
    at_ref: f64,
    /// Levels that flip run/fail.
    flips: usize,
    /// Each base's largest change (bases where something ran).
    per_base: Vec<f64>,
    /// The sweep level of the largest change, anywhere and at the reference.
    max_level: usize,
    ref_level: usize,
}

fn key_truth(
    i: usize,
    levels: &[Value],
    bases: &[Config],
    score: &impl Fn(&Config) -> Option<f64>,
) -> KeyTruth {
    let mut t = KeyTruth {
        max: 0.0,
        at_ref: 0.0,
        flips: 0,
        per_base: Vec::new(),
        max_level: 0,
        ref_level: 0,
    };
    for (b, base) in bases.iter().enumerate() {
        let s0 = score(base);
        let mut here = None::<f64>;
        for (l, v) in levels.iter().enumerate() {
            let mut c = base.clone();
            c[i] = Some(v.clone());
            match (s0, score(&c)) {
                (Some(a), Some(x)) => {
                    let e = (x - a).abs();
                    if e > t.max {
                        t.max_level = l;
                    }
                    t.max = t.max.max(e);
                    here = Some(here.unwrap_or(0.0).max(e));
                    if b == 0 && e > t.at_ref {
                        t.at_ref = e;
                        t.ref_level = l;
                    }
                }
                (Some(_), None) | (None, Some(_)) => t.flips += 1,
                (None, None) => {}
            }
        }
        t.per_base.extend(here);
    }
    t
}
