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
//! With `--by-gc KEY,KEY…` it prints instead, per tenth of the bases ordered by their share
//! of time in garbage collection (most first), at how many of them each named key (a suffix
//! of its name) moves ln perf by ≥ 1% with some level, at how many both of its ends fail,
//! and at how many all the named keys act: where heap keys act, and why `determine` moves
//! them to the middle there.
//!
//! cargo run --release --example screening_truth -- STUDY [BASES] > truth.csv
//! cargo run --release --example screening_truth -- STUDY 200 --by-gc numberOfTaskSlots,framework.heap.size

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
        .context("usage: screening_truth STUDY [BASES] [--by-gc KEY,KEY…]")?;
    let bases: usize = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(40);
    let study = Study::load(std::path::Path::new(dir))?;
    let run = sim_run(&study);
    let score = |c: &Config| run(c).map(|r| r.0);
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
    if let Some(keys) = args.iter().position(|a| a == "--by-gc") {
        let keys = args.get(keys + 1).context("--by-gc needs KEY,KEY…")?;
        return by_gc(&study, &base_configs[1..], keys, &run);
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

/// Per tenth of `bases` by GC share (most first): the share's range, and per key of `keys`
/// the bases where it acts (≥ 1% at some level) and where both its ends fail.
fn by_gc(
    study: &Study,
    bases: &[Config],
    keys: &str,
    run: &impl Fn(&Config) -> Option<(f64, f64)>,
) -> Result<()> {
    let keys: Vec<(&str, usize)> = keys
        .split(',')
        .map(|k| {
            let i = study.space.params.iter().position(|p| p.name.ends_with(k));
            i.map(|i| (k, i))
                .with_context(|| format!("no key ends with {k}"))
        })
        .collect::<Result<_>>()?;
    // Per base: its GC share and, per key, (acts, both ends fail).
    let mut rows: Vec<(f64, Vec<(bool, bool)>)> = bases
        .iter()
        .filter_map(|b| {
            let (s0, gc) = run(b)?;
            let per_key = keys.iter().map(|&(_, i)| {
                let levels = sweep_values(&study.space.params[i], 5);
                let at = |v: &Value| {
                    let mut c = b.clone();
                    c[i] = Some(v.clone());
                    run(&c).map(|r| (r.0 - s0).abs())
                };
                let changes: Vec<Option<f64>> = levels.iter().map(at).collect();
                let acts = changes.iter().flatten().any(|&e| e >= 0.01);
                let ends_fail = changes[0].is_none() && changes[changes.len() - 1].is_none();
                (acts, ends_fail)
            });
            Some((gc, per_key.collect()))
        })
        .collect();
    rows.sort_by(|a, b| b.0.total_cmp(&a.0));
    let names: Vec<String> = keys
        .iter()
        .flat_map(|(k, _)| [format!("{k}_acts"), format!("{k}_ends_fail")])
        .collect();
    println!("tenth,bases,gc_min,gc_max,{},all_act", names.join(","));
    let n = rows.len();
    for t in 0..10 {
        let part = &rows[t * n / 10..(t + 1) * n / 10];
        let Some((first, last)) = part.first().zip(part.last()) else {
            continue;
        };
        let count = |f: &dyn Fn(&(bool, bool)) -> bool, j: usize| {
            part.iter().filter(|r| f(&r.1[j])).count().to_string()
        };
        let cells: Vec<String> = (0..keys.len())
            .flat_map(|j| [count(&|k| k.0, j), count(&|k| k.1, j)])
            .collect();
        let all = part.iter().filter(|r| r.1.iter().all(|k| k.0)).count();
        println!(
            "{t},{},{:.4},{:.4},{},{all}",
            part.len(),
            last.0,
            first.0,
            cells.join(",")
        );
    }
    Ok(())
}

/// The study's objective score of a configuration on the simulator, noise-free, and its
/// share of time in garbage collection (None: it fails).
fn sim_run(study: &Study) -> impl Fn(&Config) -> Option<(f64, f64)> + '_ {
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
        SimOutcome::Pass(m) => Some((
            objective.score(objective.run_value(&Measurement {
                throughput: m.throughput,
                latency_p99_ms: m.latency_p99_ms,
            })),
            m.gc_time_fraction,
        )),
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
