//! Where Demeter's latency over the static maximum's comes from, trace by trace: the
//! traces of `benches/adapt_profilers.rs` (seed 0 = the shipped example's, others generated
//! like it), each replayed on the simulator for static and Demeter (RGPE), and the mean
//! latency gap split by cause from the replay's per-step records:
//!
//! - **restart** / **rescale**: the delay reconfigurations add (by kind);
//! - **p99 over demand**: the steady-state p99 gap in steps whose rate exceeds what the
//!   last decision provisioned for (forecast peak × (1 + margin)) — forecast error;
//! - **p99 in slack** / **p99 beyond slack**: the p99 gap in the other steps, the part of
//!   each step's gap up to C_max's p99 × `latency_slack` and the rest — the profile's
//!   choice using the slack it is allowed, and running slower than that;
//! - the same p99 gap by the running configuration's load (rate / capacity).
//!
//! Failures are not in the ranked latency (the replay reports them on their own), so they
//! are not a cause here; recovery violations are printed.
//!
//! `cargo run --release --example demeter_diagnose -- [traces] [--from N] [--steps SEED]
//! [--stream R]` (default: 6 traces from seed 0; `--steps` prints every step of one trace;
//! `--stream` the profiling-noise stream, as the bench's `--noise` numbers them).

use anyhow::Result;
use flink::space::Config;
use flinktune::adapt::demeter::Demeter;
use flinktune::adapt::measure::{Measure, SimMeasure};
use flinktune::adapt::policy::{Decision, Metrics, Policy, Situation, Static};
use flinktune::adapt::profiler::Profiler;
use flinktune::adapt::replay::{self, DecisionRecord, Step, Summary};
use flinktune::adapt::replay_cmd::replay_options;
use flinktune::adapt::trace::{DEFAULT_START, RateHistory, TraceSpec};
use flinktune::study::{STUDY_FILE, Study};
use std::path::Path;

/// Profiles on the simulator; the third field picks the profiling-noise stream as
/// `benches/adapt_profilers.rs --noise` numbers them (`--stream R`).
struct Sim(SimMeasure, usize, usize);

impl Profiler for Sim {
    fn evaluate(&mut self, config: &Config, rate: f64) -> Result<Option<Metrics>> {
        self.1 += 1;
        self.0
            .measure(config, rate, usize::MAX - self.1 - self.2 * 1_000_000)
    }
}

/// Demeter, remembering the demand of each decision by replay step.
struct Recorded {
    inner: Demeter,
    demands: Vec<(usize, f64)>,
    /// The configuration run from each replay step on (the initial one from step 0).
    configs: Vec<(usize, Config)>,
}

impl Recorded {
    fn config_at(&self, k: usize) -> &Config {
        &self
            .configs
            .iter()
            .rev()
            .find(|(at, _)| *at <= k)
            .expect("initial")
            .1
    }
}

impl Policy for Recorded {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn initial(&mut self) -> Result<Config> {
        let c = self.inner.initial()?;
        self.configs.push((0, c.clone()));
        Ok(c)
    }
    fn decide(&mut self, s: &Situation) -> Result<Option<Decision>> {
        let d = self.inner.decide(s)?;
        let k = (s.time_s / s.step_s).round() as usize;
        if let Some(rate) = self.inner.demand() {
            self.demands.push((k, rate));
        }
        if let Some(d) = &d {
            self.configs.push((k, d.config.clone()));
        }
        Ok(d)
    }
}

/// The command line: how many traces from which seed, the trace whose steps to print, the
/// profiling-noise stream.
struct Args {
    traces: u64,
    from: u64,
    steps_of: Option<u64>,
    stream: usize,
}

fn args() -> Args {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse::<u64>().ok())
    };
    let from = flag("--from").unwrap_or(0);
    let steps_of = flag("--steps");
    let stream = flag("--stream").unwrap_or(0) as usize;
    let traces = args
        .iter()
        .enumerate()
        .find(|(i, a)| (*i == 0 || !args[i - 1].starts_with("--")) && a.parse::<u64>().is_ok())
        .and_then(|(_, a)| a.parse().ok())
        .unwrap_or(6);
    Args {
        traces,
        from,
        steps_of,
        stream,
    }
}

/// Trace `seed`: the shipped example's for 0, else one generated like the bench's.
fn trace(root: &Path, seed: u64) -> Result<RateHistory> {
    if seed == 0 {
        flinktune::adapt::trace::read(&root.join("examples/demeter/rates.csv"))
    } else {
        flinktune::adapt::trace::generate(&TraceSpec {
            days: 4,
            step_s: 300,
            min: 80_000.0,
            max: 700_000.0,
            seed,
            start: DEFAULT_START,
        })
    }
}

/// One trace replayed for static and for Demeter, over the same measurements.
struct Replayed {
    static_steps: Vec<Step>,
    demeter_steps: Vec<Step>,
    decisions: Vec<DecisionRecord>,
    /// Demeter's demands and configurations by step.
    recorded: Recorded,
    /// The replays' measure, for the running configurations' capacities.
    measure: SimMeasure,
    /// The two summaries, Demeter's related to static's.
    sums: Vec<Summary>,
}

impl Replayed {
    /// The rate the last decision before step `k` provisioned for.
    fn demand_at(&self, k: usize) -> f64 {
        self.recorded
            .demands
            .iter()
            .rev()
            .find(|(at, _)| *at <= k)
            .map(|d| d.1)
            // Before the first decision C_max runs, provisioned for anything.
            .unwrap_or(f64::INFINITY)
    }
}

/// Replays the last day of `tr` for static, then for Demeter profiling on noise `stream`.
fn replay_both(study: &Study, tr: &RateHistory, stream: usize) -> Result<Replayed> {
    let opts = replay_options(
        study,
        tr.step_s,
        tr.rates.len() - (86_400.0 / tr.step_s).round() as usize,
    );
    let mut measure = SimMeasure::new(study)?;
    let mut reference = Static::new(&study.space)?;
    let (st, _) = replay::replay(&study.space, &mut reference, &tr.rates, &opts, &mut measure)?;
    let profiler = Sim(SimMeasure::new(study)?, 0, stream);
    let mut demeter = Recorded {
        inner: Demeter::new(study, tr.step_s, Box::new(profiler))?,
        demands: Vec::new(),
        configs: Vec::new(),
    };
    let (dm, decisions) =
        replay::replay(&study.space, &mut demeter, &tr.rates, &opts, &mut measure)?;
    let mut sums = vec![replay::summarise(&st, &opts), replay::summarise(&dm, &opts)];
    replay::relate(&mut sums, "static");
    Ok(Replayed {
        static_steps: st,
        demeter_steps: dm,
        decisions,
        recorded: demeter,
        measure,
        sums,
    })
}

/// Demeter's latency gap over static, summed over the steps by cause (ms; divide by the
/// steps for the mean).
#[derive(Default)]
struct Gap {
    restart: f64,
    rescale: f64,
    /// In steps whose rate exceeded the demand, and how many.
    over: f64,
    over_steps: usize,
    in_slack: f64,
    beyond: f64,
    /// By the running configuration's load: < 0.45, 0.45–0.55, 0.55–0.65, ≥ 0.65.
    by_load: [(f64, usize); 4],
}

fn split_gap(r: &mut Replayed, latency_slack: f64) -> Result<Gap> {
    let mut g = Gap::default();
    for (k, (s, d)) in r.static_steps.iter().zip(&r.demeter_steps).enumerate() {
        if d.reconfigured {
            if d.rescaled {
                g.rescale += d.disruption_ms;
            } else {
                g.restart += d.disruption_ms;
            }
        }
        let gap = d.latency_p99_ms - s.latency_p99_ms;
        if d.rate > r.demand_at(k) {
            g.over += gap;
            g.over_steps += 1;
        } else {
            let slack = s.latency_p99_ms * latency_slack;
            g.in_slack += gap.min(slack);
            g.beyond += (gap - slack).max(0.0);
        }
        let rho = d.rate / r.measure.capacity(r.recorded.config_at(k))?;
        let bin = [0.45, 0.55, 0.65].iter().filter(|b| rho >= **b).count();
        g.by_load[bin].0 += gap;
        g.by_load[bin].1 += 1;
    }
    Ok(g)
}

fn print_header() {
    println!(
        "| trace | % of near-optimal | gap (ms) | restart | rescale | p99 over demand (steps) \
         | p99 in slack | p99 beyond slack | p99 gap by load <0.45 / 0.45-0.55 / 0.55-0.65 / ≥0.65 \
         (steps) | mean cores | violations |"
    );
    println!("|---|---:|---:|---:|---:|---|---:|---:|---|---:|---:|");
}

fn print_row(seed: u64, r: &Replayed, g: &Gap) {
    let n = r.demeter_steps.len() as f64;
    let sums = &r.sums;
    let total = sums[1].mean_latency_ms - sums[0].mean_latency_ms;
    println!(
        "| {seed} | {:.1}% | {:.2} | {:.2} | {:.2} | {:.2} ({}) | {:.2} | {:.2} | {} | {:.1} | {} |",
        sums[1].near_optimal_pct,
        total,
        g.restart / n,
        g.rescale / n,
        g.over / n,
        g.over_steps,
        g.in_slack / n,
        g.beyond / n,
        g.by_load
            .iter()
            .map(|(g, c)| format!("{:.2} ({c})", g / n))
            .collect::<Vec<_>>()
            .join(" / "),
        sums[1].mean_cpu_requested,
        sums[1].recovery_violations,
    );
}

/// Every step of one trace: rate, demand, what ran and its load, both p99s, and the
/// decision or failure in it.
fn print_steps(study: &Study, r: &mut Replayed) -> Result<()> {
    println!(
        "\nstep | rate | demand | TMs | cores | load | p99 static | p99 demeter | disruption | event"
    );
    for (k, (s, d)) in r.static_steps.iter().zip(&r.demeter_steps).enumerate() {
        let event = r
            .decisions
            .iter()
            .find(|e| e.step == k)
            .map(|e| {
                format!(
                    "{:?}: {} → {}",
                    e.change,
                    e.reason,
                    study.space.to_json(r.recorded.config_at(k))
                )
            })
            .unwrap_or_default();
        let event = if d.failure {
            format!("failure, recovery {:.0} s {event}", d.recovery_time_s)
        } else {
            event
        };
        println!(
            "{k} | {:.0} | {:.0} | {} | {} | {:.2} | {:.1} | {:.1} | {:.1} | {event}",
            d.rate,
            r.demand_at(k),
            d.taskmanagers,
            d.cpu_requested,
            d.rate / r.measure.capacity(r.recorded.config_at(k))?,
            s.latency_p99_ms,
            d.latency_p99_ms,
            d.disruption_ms
        );
    }
    println!();
    Ok(())
}

fn main() -> Result<()> {
    let args = args();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp = tempfile::tempdir()?;
    let text = std::fs::read_to_string(root.join("examples/demeter").join(STUDY_FILE))?;
    std::fs::write(tmp.path().join(STUDY_FILE), text)?;
    let study = Study::load(tmp.path())?;
    print_header();
    for seed in args.from..args.from + args.traces {
        let tr = trace(root, seed)?;
        let mut r = replay_both(&study, &tr, args.stream)?;
        let gap = split_gap(&mut r, study.file.adapt.latency_slack)?;
        print_row(seed, &r, &gap);
        if args.steps_of == Some(seed) {
            print_steps(&study, &mut r)?;
        }
    }
    Ok(())
}
