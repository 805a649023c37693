//! What Demeter knows about one rate: the [`Profile`] — the configurations measured there
//! (its probes), the latency target the static maximum's measurement set — and how it
//! judges a measurement against the targets: how far it misses them, why, its penalised
//! score for BO, the profile's choice (the cheapest that meets the targets, within the
//! checkpoint cap if that costs little more) and its feasible (cost, p99) front.
//!
//! Also what one measurement is: the median of `[adapt] profile_repeats` runs
//! ([`measure`], [`combine`]), so that one run's outlier decides nothing.

use crate::adapt::policy::{Metrics, cost};
use crate::adapt::profiler::Profiler;
use anyhow::Result;
use flink::space::Config;

/// Weight of a constraint violation (in ln-cost units per unit of ln-excess).
const PENALTY: f64 = 5.0;

/// One profiled configuration.
#[derive(Clone, Debug)]
pub(super) struct Probe {
    pub(super) config: Config,
    pub(super) metrics: Option<Metrics>,
    /// Its checkpoint interval, s (0 without checkpoints).
    pub(super) checkpoint_s: f64,
    /// Whether `metrics` already combines confirmation runs.
    pub(super) confirmed: bool,
}

/// What profiling one rate found.
#[derive(Clone, Debug)]
pub struct Profile {
    pub rate: u64,
    /// C_max's p99 × (1 + slack); infinite when C_max itself could not run.
    pub latency_target_ms: f64,
    /// The longest checkpoint interval a choice should have, s.
    pub(super) checkpoint_cap_s: f64,
    /// The share more a choice within the cap may cost than one beyond it.
    pub(super) cap_premium: f64,
    pub(super) probes: Vec<Probe>,
}

impl Profile {
    /// How far a measurement misses the targets (0 = meets them all).
    pub(super) fn violation(&self, m: &Metrics, limit_s: f64) -> f64 {
        self.violation_at(m, limit_s, self.latency_target_ms)
    }

    /// The same against another latency bound.
    pub(super) fn violation_at(&self, m: &Metrics, limit_s: f64, latency_ms: f64) -> f64 {
        let excess = |v: f64, bound: f64| {
            if bound.is_finite() && v > bound {
                (v / bound).ln()
            } else {
                0.0
            }
        };
        // Backpressure, or a throughput clearly (beyond measurement noise) under the rate.
        let behind = if m.backpressured || m.throughput < 0.9 * self.rate as f64 {
            1.0
        } else {
            0.0
        };
        excess(m.latency_p99_ms, latency_ms) + excess(m.recovery_time_s, limit_s) + behind
    }

    /// Which targets a measurement misses, in words.
    pub(super) fn why(&self, m: &Metrics, limit_s: f64, latency_ms: f64) -> String {
        let mut out = Vec::new();
        if m.latency_p99_ms > latency_ms {
            out.push(format!(
                "p99 {:.0} ms > {latency_ms:.0} ms",
                m.latency_p99_ms
            ));
        }
        if m.recovery_time_s > limit_s {
            out.push(format!(
                "recovery {:.0} s > {limit_s:.0} s",
                m.recovery_time_s
            ));
        }
        if m.backpressured || m.throughput < 0.9 * self.rate as f64 {
            out.push("cannot keep up".into());
        }
        out.join(", ")
    }

    /// The penalised score BO maximises.
    pub(super) fn score(&self, m: &Metrics, limit_s: f64) -> f64 {
        -cost(m).max(1e-9).ln() - PENALTY * self.violation(m, limit_s)
    }

    /// The cheapest probe that meets the targets, else the least violating one — but when
    /// the cheapest checkpoints less often than the cap (`Demeter::checkpoint_cap_s`), the
    /// cheapest one within the cap if it costs at most `cap_premium` more.
    pub(super) fn best(&self, limit_s: f64) -> Option<(&Probe, &Metrics, f64)> {
        let order = |a: &(&Probe, &Metrics, f64), b: &(&Probe, &Metrics, f64)| {
            (a.2 > 0.0)
                .cmp(&(b.2 > 0.0))
                .then(a.2.total_cmp(&b.2))
                .then(cost(a.1).total_cmp(&cost(b.1)))
                // Equal cost (slots, checkpoint interval): the faster one, so the
                // choice is on the (cost, p99) front.
                .then(a.1.latency_p99_ms.total_cmp(&b.1.latency_p99_ms))
        };
        let measured = || {
            self.probes.iter().filter_map(|p| {
                p.metrics
                    .as_ref()
                    .map(|m| (p, m, self.violation(m, limit_s)))
            })
        };
        let best = measured().min_by(order)?;
        if best.2 > 0.0 || best.0.checkpoint_s <= self.checkpoint_cap_s {
            return Some(best);
        }
        measured()
            .filter(|c| c.2 <= 0.0 && c.0.checkpoint_s <= self.checkpoint_cap_s)
            .min_by(order)
            .filter(|c| cost(c.1) <= cost(best.1) * (1.0 + self.cap_premium))
            .or(Some(best))
    }

    /// The probes that meet the targets and are on their (cost, p99) Pareto front,
    /// cheapest first.
    pub(super) fn front(&self, limit_s: f64) -> Vec<&Config> {
        let feasible: Vec<(&Config, Vec<f64>)> = self
            .probes
            .iter()
            .filter_map(|p| {
                let m = p.metrics.as_ref()?;
                (self.violation(m, limit_s) <= 0.0)
                    .then(|| (&p.config, vec![cost(m), m.latency_p99_ms]))
            })
            .collect();
        let points: Vec<Vec<f64>> = feasible.iter().map(|f| f.1.clone()).collect();
        let mut front: Vec<(&Config, Vec<f64>)> = opt::pareto::non_dominated(&points)
            .into_iter()
            .map(|k| feasible[k].clone())
            .collect();
        front.sort_by(|a, b| a.1[0].total_cmp(&b.1[0]));
        front.into_iter().map(|f| f.0).collect()
    }

    pub fn evaluations(&self) -> usize {
        self.probes.len()
    }
}

/// `repeats` runs of `config` at `rate`, each metric their median (a majority of runs
/// must pass; the median of passing runs, backpressure by majority). The median, not the
/// mean: a run's p99 is occasionally several times the usual (a pause, a hiccup), and one
/// such run decides nothing then.
pub(super) fn measure(
    profiler: &mut dyn Profiler,
    config: &Config,
    rate: f64,
    repeats: u64,
) -> Result<Option<Metrics>> {
    let mut runs = vec![];
    for _ in 0..repeats.max(1) {
        runs.push(profiler.evaluate(config, rate)?);
    }
    Ok(combine(&runs))
}

/// Runs combined: each metric their median over the runs that passed, None unless a
/// majority passed.
pub(super) fn combine(all: &[Option<Metrics>]) -> Option<Metrics> {
    let runs: Vec<&Metrics> = all.iter().flatten().collect();
    if 2 * runs.len() <= all.len() {
        return None;
    }
    let median = |f: fn(&Metrics) -> f64| {
        let mut xs: Vec<f64> = runs.iter().map(|m| f(m)).collect();
        xs.sort_by(f64::total_cmp);
        let n = xs.len();
        if n % 2 == 1 {
            xs[n / 2]
        } else {
            (xs[n / 2 - 1] + xs[n / 2]) / 2.0
        }
    };
    Some(Metrics {
        throughput: median(|m| m.throughput),
        latency_p99_ms: median(|m| m.latency_p99_ms),
        cpu_busy: median(|m| m.cpu_busy),
        taskmanagers: median(|m| m.taskmanagers),
        cpu_requested: median(|m| m.cpu_requested),
        memory_requested_mb: median(|m| m.memory_requested_mb),
        recovery_time_s: median(|m| m.recovery_time_s),
        backpressured: 2 * runs.iter().filter(|m| m.backpressured).count() > runs.len(),
        busy: runs
            .iter()
            .all(|m| m.busy.is_some())
            .then(|| median(|m| m.busy.unwrap_or(0.0))),
    })
}
