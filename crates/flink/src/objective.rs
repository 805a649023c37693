//! The objective a study optimises and the paper's speedup metric.
//!
//! The paper's combined objective for one (configuration, rate) with n repeats is
//! `perf = (1/n) Σ throughput_i / p99_i` (higher is better). Models and the search work on
//! a *score*: the natural log of perf, negated for latency, so "higher is better" always
//! holds and values spanning decades (saturated configurations reach p99s of seconds)
//! stay on a scale a regression model and a Gaussian process handle well.

use serde::{Deserialize, Serialize};
use std::fmt;

/// What one passing trial measured.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    /// Records per second over the measured window.
    pub throughput: f64,
    /// 99th-percentile end-to-end latency, milliseconds.
    pub latency_p99_ms: f64,
}

/// The objective of a study.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Objective {
    /// Mean of throughput / p99 latency (the paper's; maximise).
    #[default]
    Ratio,
    /// Mean p99 latency in ms (minimise).
    Latency,
    /// Mean throughput in records/s (maximise).
    Throughput,
}

impl fmt::Display for Objective {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Objective::Ratio => "ratio",
            Objective::Latency => "latency",
            Objective::Throughput => "throughput",
        })
    }
}

// Keeps ln() finite for a zero throughput; far below any real measurement.
const FLOOR: f64 = 1e-12;

impl Objective {
    /// perf over repeated measurements (None when there are none).
    pub fn perf(self, runs: &[Measurement]) -> Option<f64> {
        if runs.is_empty() {
            return None;
        }
        let n = runs.len() as f64;
        Some(runs.iter().map(|m| self.run_value(m)).sum::<f64>() / n)
    }

    /// The objective's value for a single run.
    pub fn run_value(self, m: &Measurement) -> f64 {
        match self {
            Objective::Ratio => m.throughput / m.latency_p99_ms,
            Objective::Latency => m.latency_p99_ms,
            Objective::Throughput => m.throughput,
        }
    }

    pub fn higher_is_better(self) -> bool {
        self != Objective::Latency
    }

    /// perf → score (higher is better, log scale).
    pub fn score(self, perf: f64) -> f64 {
        let l = perf.max(FLOOR).ln();
        if self.higher_is_better() { l } else { -l }
    }

    /// score → perf, the inverse of [`Objective::score`].
    pub fn perf_of_score(self, score: f64) -> f64 {
        if self.higher_is_better() {
            score.exp()
        } else {
            (-score).exp()
        }
    }

    /// The paper's speedup of `tuned` over `default` (> 1 means better).
    pub fn speedup(self, tuned: f64, default: f64) -> f64 {
        if self.higher_is_better() {
            tuned / default
        } else {
            default / tuned
        }
    }

    /// A short label with the unit, for tables.
    pub fn label(self) -> &'static str {
        match self {
            Objective::Ratio => "throughput/p99 (rec/s per ms)",
            Objective::Latency => "p99 latency (ms)",
            Objective::Throughput => "throughput (rec/s)",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(t: f64, l: f64) -> Measurement {
        Measurement {
            throughput: t,
            latency_p99_ms: l,
        }
    }

    #[test]
    fn perf_is_the_mean_of_per_run_ratios() {
        let runs = [m(1000.0, 10.0), m(1000.0, 20.0)];
        // (100 + 50) / 2, not 2000 / 30.
        assert_eq!(Objective::Ratio.perf(&runs), Some(75.0));
        assert_eq!(Objective::Latency.perf(&runs), Some(15.0));
        assert_eq!(Objective::Throughput.perf(&runs), Some(1000.0));
        assert_eq!(Objective::Ratio.perf(&[]), None);
    }

    #[test]
    fn scores_put_better_higher_and_invert() {
        assert!(Objective::Latency.score(5.0) > Objective::Latency.score(10.0));
        assert!(Objective::Ratio.score(10.0) > Objective::Ratio.score(5.0));
        for o in [Objective::Ratio, Objective::Latency, Objective::Throughput] {
            let p = 42.5;
            assert!((o.perf_of_score(o.score(p)) - p).abs() < 1e-9);
        }
        assert!(Objective::Ratio.score(0.0).is_finite());
    }

    #[test]
    fn speedup_follows_the_direction() {
        assert_eq!(Objective::Latency.speedup(10.0, 25.0), 2.5);
        assert_eq!(Objective::Ratio.speedup(300.0, 100.0), 3.0);
    }
}
