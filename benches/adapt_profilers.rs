//! Demeter's two profilers (`[adapt] profiler = "rgpe" | "ehvi"`) side by side over several
//! traces: the shipped example's (`examples/demeter`, seed 0) and 4-day traces generated
//! like it (`flinktune trace --days 4 --step-s 300 --min 80000 --max 700000 --seed N`),
//! each replayed on the simulator (the last day) with the static maximum as the
//! near-optimal reference. Prints one row per trace and profiler — latency, % of
//! near-optimal, resources, reconfigurations (of which rescales), recovery, profiling
//! evaluations and the wall time of the replay (profiling included) — and the means.
//!
//! Run with `cargo bench --bench adapt_profilers` (optionally `-- <traces> [--from <seed>]`,
//! default 6 traces from seed 0). Seeds 0..=5 are the set Demeter's rules were tuned on;
//! `-- 6 --from 6` is a held-out set to check a change on. `--noise R` replays each trace
//! R times with different profiling noise (the replayed steps' noise stays the same): one
//! profiling run's noise moves a trace's result by a few points, so compare policies over
//! several. `--set 'key = value'` adds an `[adapt]` setting to every replay.

use anyhow::Result;
use flink::space::Config;
use flinktune::adapt::demeter::Demeter;
use flinktune::adapt::measure::{Measure, SimMeasure};
use flinktune::adapt::policy::{Metrics, Static};
use flinktune::adapt::profiler::Profiler;
use flinktune::adapt::replay::{self, Summary};
use flinktune::adapt::replay_cmd::replay_options;
use flinktune::adapt::trace::{DEFAULT_START, TraceSpec};
use flinktune::study::{STUDY_FILE, Study};
use std::path::Path;
use std::time::Instant;

/// Profiles on the simulator, each run with its own noise seed (as `adapt` does); the
/// third field shifts the seeds to another noise stream (`--noise`).
struct Sim(SimMeasure, usize, usize);

impl Profiler for Sim {
    fn evaluate(&mut self, config: &Config, rate: f64) -> Result<Option<Metrics>> {
        self.1 += 1;
        self.0
            .measure(config, rate, usize::MAX - self.1 - self.2 * 1_000_000)
    }
}

fn study(dir: &Path, profiler: &str, repeats: Option<u64>, set: &[String]) -> Result<Study> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut adapt = format!("[adapt]\nprofiler = \"{profiler}\"");
    for line in set {
        adapt.push_str(&format!("\n{line}"));
    }
    if let Some(k) = repeats {
        adapt.push_str(&format!("\nprofile_repeats = {k}"));
    }
    let mut text = std::fs::read_to_string(root.join("examples/demeter").join(STUDY_FILE))?;
    if repeats.is_some() {
        // The example's own setting gives way to the one asked for.
        text = text
            .lines()
            .filter(|l| !l.trim_start().starts_with("profile_repeats"))
            .collect::<Vec<_>>()
            .join("\n");
    }
    let text = text.replace("[adapt]", &adapt);
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join(STUDY_FILE), text)?;
    Study::load(dir)
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let from: u64 = args
        .iter()
        .position(|a| a == "--from")
        .and_then(|i| args.get(i + 1)?.parse().ok())
        .unwrap_or(0);
    let noise: usize = args
        .iter()
        .position(|a| a == "--noise")
        .and_then(|i| args.get(i + 1)?.parse().ok())
        .unwrap_or(1);
    // `--repeats K`: profile_repeats for every replay (default: the example's setting);
    // `--only rgpe|ehvi`: one profiler.
    let repeats: Option<u64> = args
        .iter()
        .position(|a| a == "--repeats")
        .and_then(|i| args.get(i + 1)?.parse().ok());
    // `--set 'key = value'` (repeatable): an extra [adapt] setting for every replay, e.g.
    // `--set 'checkpoint_cap = true' --set 'confirm_misses = true'`.
    let set: Vec<String> = args
        .iter()
        .enumerate()
        .filter(|(i, _)| *i > 0 && args[i - 1] == "--set")
        .map(|(_, a)| a.clone())
        .collect();
    let only: Option<String> = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1).cloned());
    // The first number not the value of `--from` (cargo bench may pass `--bench` too).
    let traces: u64 = args
        .iter()
        .enumerate()
        .filter(|(i, _)| *i == 0 || !args[i - 1].starts_with("--"))
        .find_map(|(_, a)| a.parse().ok())
        .unwrap_or(6);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp = tempfile::tempdir()?;
    println!(
        "| trace | profiler | mean latency (ms) | % of near-optimal | mean cores | mean memory (GiB) \
         | reconfigurations | rescales | mean recovery (s) | recovery > limit | profiling evaluations | wall (s) |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut totals: Vec<(&str, Vec<[f64; 10]>)> = vec![("rgpe", vec![]), ("ehvi", vec![])];
    totals.retain(|(name, _)| only.as_deref().is_none_or(|o| o == *name));
    for (seed, stream) in (from..from + traces).flat_map(|s| (0..noise).map(move |r| (s, r))) {
        let tr = if seed == 0 {
            flinktune::adapt::trace::read(&root.join("examples/demeter/rates.csv"))?
        } else {
            flinktune::adapt::trace::generate(&TraceSpec {
                days: 4,
                step_s: 300,
                min: 80_000.0,
                max: 700_000.0,
                seed,
                start: DEFAULT_START,
            })?
        };
        for (name, rows) in totals.iter_mut() {
            let study = study(
                &tmp.path().join(format!("{name}-{seed}-{stream}")),
                name,
                repeats,
                &set,
            )?;
            let opts = replay_options(
                &study,
                tr.step_s,
                tr.rates.len() - (86_400.0 / tr.step_s).round() as usize,
            );
            let mut measure = SimMeasure::new(&study)?;
            let mut reference = Static::new(&study.space)?;
            let (steps, _) =
                replay::replay(&study.space, &mut reference, &tr.rates, &opts, &mut measure)?;
            let mut summaries = vec![replay::summarise(&steps, &opts)];
            let profiler = Sim(SimMeasure::new(&study)?, 0, stream);
            let mut demeter = Demeter::new(&study, tr.step_s, Box::new(profiler))?;
            let started = Instant::now();
            let (steps, _) =
                replay::replay(&study.space, &mut demeter, &tr.rates, &opts, &mut measure)?;
            let wall = started.elapsed().as_secs_f64();
            summaries.push(replay::summarise(&steps, &opts));
            replay::relate(&mut summaries, "static");
            let s: &Summary = &summaries[1];
            let evaluations: usize = demeter.profiles().map(|p| p.evaluations()).sum();
            let row = [
                s.mean_latency_ms,
                s.near_optimal_pct,
                s.mean_cpu_requested,
                s.mean_memory_requested_gb,
                s.reconfigurations as f64,
                s.rescales as f64,
                s.mean_recovery_s,
                s.recovery_violations as f64,
                evaluations as f64,
                wall,
            ];
            let label = if noise > 1 {
                format!("{seed}/{stream}")
            } else {
                seed.to_string()
            };
            println!("| {label} | {name} | {} |", cells(&row));
            rows.push(row);
        }
    }
    for (name, rows) in &totals {
        let n = rows.len().max(1) as f64;
        let mean: Vec<f64> = (0..10)
            .map(|k| rows.iter().map(|r| r[k]).sum::<f64>() / n)
            .collect();
        println!("| mean | {name} | {} |", cells(&mean));
        let min: Vec<f64> = (0..10)
            .map(|k| rows.iter().map(|r| r[k]).fold(f64::INFINITY, f64::min))
            .collect();
        println!("| min | {name} | {} |", cells(&min));
    }
    Ok(())
}

fn cells(r: &[f64]) -> String {
    format!(
        "{:.1} | {:.1}% | {:.1} | {:.1} | {:.1} | {:.1} | {:.0} | {:.1} | {:.0} | {:.2}",
        r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9]
    )
}
