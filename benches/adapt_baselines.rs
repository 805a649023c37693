//! Demeter against the scaling baselines a Flink user would run instead — the Flink
//! Kubernetes Operator's autoscaler, Kubernetes' HPA ("reactive") and DS2 — over the shipped
//! trace and traces generated like it (`flinktune trace --days 4 --step-s 300 --min 80000
//! --max 700000 --seed N`), each replaying its last day on the simulator of
//! `examples/demeter`, with the static maximum as the near-optimal reference and the same
//! failures injected for every policy (a trace's own seed).
//!
//! Prints, per policy, the mean and the worst over the traces of: % of near-optimal latency,
//! mean cores, mean memory, reconfigurations, recoveries over the limit, saturated steps.
//! Run with `cargo bench --bench adapt_baselines` (optionally `-- <traces> [--from <seed>]`,
//! default 6 traces from seed 0: the shipped trace and seeds 1–5, the set Demeter's rules were
//! tuned on; `-- 6 --from 6` is a held-out set).

use anyhow::Result;
use flinktune::adapt::measure::SimMeasure;
use flinktune::adapt::policy_kind::{PolicyKind, make_policy};
use flinktune::adapt::replay::{self, Summary};
use flinktune::adapt::replay_cmd::replay_options;
use flinktune::adapt::trace::{self, DEFAULT_START, RateHistory, TraceSpec};
use flinktune::study::Study;
use std::path::Path;

fn arg<T: std::str::FromStr>(args: &[String], flag: &str) -> Option<T> {
    let i = args.iter().position(|a| a == flag)?;
    args.get(i + 1)?.parse().ok()
}

fn rates(root: &Path, seed: u64) -> Result<RateHistory> {
    if seed == 0 {
        return trace::read(&root.join("examples/demeter/rates.csv"));
    }
    trace::generate(&TraceSpec {
        days: 4,
        step_s: 300,
        min: 80_000.0,
        max: 700_000.0,
        seed,
        start: DEFAULT_START,
    })
}

/// Every policy's summary over the last day of one trace.
fn replay_all(study: &Study, tr: &RateHistory, seed: u64) -> Result<Vec<Summary>> {
    let warmup = tr.rates.len() - (86_400.0 / tr.step_s).round() as usize;
    let mut opts = replay_options(study, tr.step_s, warmup);
    opts.seed = opts.seed.wrapping_add(seed);
    let mut summaries = Vec::new();
    for kind in PolicyKind::all() {
        let mut policy = make_policy(study, kind, tr.step_s, None)?;
        let mut measure = SimMeasure::new(study)?;
        let (steps, _) = replay::replay(
            &study.space,
            policy.as_mut(),
            &tr.rates,
            &opts,
            &mut measure,
        )?;
        summaries.push(replay::summarise(&steps, &opts));
    }
    replay::relate(&mut summaries, "static");
    Ok(summaries)
}

const COLUMNS: usize = 6;

fn row(s: &Summary) -> [f64; COLUMNS] {
    [
        s.near_optimal_pct,
        s.mean_cpu_requested,
        s.mean_memory_requested_gb,
        s.reconfigurations as f64,
        s.recovery_violations as f64,
        s.saturated_steps as f64,
    ]
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let from: u64 = arg(&args, "--from").unwrap_or(0);
    let traces: u64 = args
        .iter()
        .enumerate()
        .filter(|(i, _)| *i == 0 || !args[i - 1].starts_with("--"))
        .find_map(|(_, a)| a.parse().ok())
        .unwrap_or(6);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let study = Study::load(&root.join("examples/demeter"))?;
    let mut rows: Vec<(String, Vec<[f64; COLUMNS]>)> = Vec::new();
    for seed in from..from + traces {
        let tr = rates(root, seed)?;
        for s in replay_all(&study, &tr, seed)? {
            eprintln!("trace {seed}: {} {:.1}%", s.policy, s.near_optimal_pct);
            match rows.iter_mut().find(|(p, _)| *p == s.policy) {
                Some((_, r)) => r.push(row(&s)),
                None => rows.push((s.policy.clone(), vec![row(&s)])),
            }
        }
    }
    println!(
        "| policy | % of near-optimal mean (worst) | mean cores | mean memory (GiB) \
         | reconfigurations | recovery > limit mean (worst) | saturated steps mean (worst) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (policy, r) in &rows {
        let n = r.len() as f64;
        let mean = |k: usize| r.iter().map(|x| x[k]).sum::<f64>() / n;
        let worst_low = |k: usize| r.iter().map(|x| x[k]).fold(f64::INFINITY, f64::min);
        let worst_high = |k: usize| r.iter().map(|x| x[k]).fold(0.0, f64::max);
        println!(
            "| {policy} | {:.1} ({:.1}) | {:.1} | {:.1} | {:.1} | {:.1} ({:.0}) | {:.1} ({:.0}) |",
            mean(0),
            worst_low(0),
            mean(1),
            mean(2),
            mean(3),
            mean(4),
            worst_high(4),
            mean(5),
            worst_high(5)
        );
    }
    Ok(())
}
