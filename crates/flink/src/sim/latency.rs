//! Latency composition: a record's latency as a sum of independent parts (fixed, uniform,
//! queueing, pauses, lognormal), each with a mean, median and p99, and their combination into
//! percentiles of the sum. Apart because it is arithmetic on distributions that knows nothing
//! of Flink; `record_latency` says which parts a record meets.

/// One independent part of a record's latency, ms.
#[derive(Clone, Copy, Default)]
pub(super) struct Part {
    pub(super) mean: f64,
    pub(super) p50: f64,
    pub(super) p99: f64,
}

impl Part {
    pub(super) fn fixed(ms: f64) -> Part {
        Part {
            mean: ms,
            p50: ms,
            p99: ms,
        }
    }

    pub(super) fn uniform(max_ms: f64) -> Part {
        Part {
            mean: 0.5 * max_ms,
            p50: 0.5 * max_ms,
            p99: 0.99 * max_ms,
        }
    }

    /// Waiting time of a G/G/1-like queue with mean `w` and utilisation `rho`:
    /// P(W > t) = ρ·exp(−ρ t / w).
    pub(super) fn queue(w_ms: f64, rho: f64) -> Part {
        if w_ms <= 0.0 || rho <= 0.0 {
            return Part::default();
        }
        let q = |p: f64| {
            if rho > p {
                w_ms * (rho / p).ln() / rho
            } else {
                0.0
            }
        };
        Part {
            mean: w_ms,
            p50: q(0.5),
            p99: q(0.01),
        }
    }

    /// Pauses of `pause_ms` at `freq` per second; a record is delayed if it arrives during a
    /// pause or while the backlog drains (stretched by 1/(1−ρ)), by up to the pause.
    pub(super) fn pauses(pause_ms: f64, freq: f64, rho: f64) -> Part {
        if pause_ms <= 0.0 || freq <= 0.0 {
            return Part::default();
        }
        let affected = (freq * pause_ms / 1000.0 / (1.0 - rho.min(0.99))).min(1.0);
        let q = |p: f64| {
            if affected > p {
                pause_ms * (1.0 - p / affected)
            } else {
                0.0
            }
        };
        Part {
            mean: affected * pause_ms / 2.0,
            p50: q(0.5),
            p99: q(0.01),
        }
    }

    pub(super) fn lognormal(p50: f64, p99: f64) -> Part {
        if p50 <= 0.0 {
            return Part::default();
        }
        let sigma = (p99.max(p50) / p50).ln() / 2.326;
        Part {
            mean: p50 * (0.5 * sigma * sigma).exp(),
            p50,
            p99: p99.max(p50),
        }
    }
}

pub(super) fn combine(parts: &[Part]) -> (f64, f64) {
    let mean: f64 = parts.iter().map(|p| p.mean).sum();
    let up = parts
        .iter()
        .map(|p| (p.p99 - p.mean).max(0.0).powi(2))
        .sum::<f64>()
        .sqrt();
    let down = parts
        .iter()
        .map(|p| (p.mean - p.p50).max(0.0).powi(2))
        .sum::<f64>()
        .sqrt();
    let max_p50 = parts.iter().map(|p| p.p50).fold(0.0, f64::max);
    let p99 = mean + up;
    let p50 = (mean - down).max(max_p50).min(p99);
    (p50, p99)
}
