//! The Flink Kubernetes Operator's job autoscaler (the `flink-autoscaler` module, defaults of
//! operator release 1.15.0), at the simulator's granularity: one vertex whose parallelism is
//! TaskManagers × slots.
//!
//! What it does, as the operator does it:
//! - **Target capacity** = backlog catch-up rate + restart catch-up rate + input rate at the
//!   target utilisation: `lag / catch_up + rate × restart / catch_up + rate / target`, the
//!   input rate averaged over the metrics window.
//! - **When**: only when the true processing rate leaves the band between the capacity at the
//!   upper utilisation (target + boundary; no restart term) and at the lower one (target −
//!   boundary; with it). While the source holds more than `lag_threshold` of backlog the band
//!   is [1, 0]: scale up only when overloaded, never down.
//! - **How far**: parallelism × capacity / true rate, rounded up, the factor bounded by the
//!   maximum scale-down and scale-up factors, then aligned to a divisor of the key groups for a
//!   keyed job (the next one up; if none fits, the smallest parallelism that keeps the keys per
//!   subtask, but never against the direction of the change).
//! - **Pacing**: after a rescale no metrics are trusted for the stabilisation interval, and a
//!   full metrics window must follow; a scale-down must be recommended for the whole
//!   scale-down interval (the largest recommendation in it wins), a scale-up runs at once.
//!
//! Simplified: one vertex instead of per-vertex parallelism (the simulated job scales as a
//! whole); the backlog is what the last step could not process (the replay carries no queue
//! across steps); the restart time is the configured one (the operator's default; tracking
//! observed restarts is off by default); memory tuning, quotas and the detection of
//! ineffective scale-ups are off, as by default.

use super::{slots, true_rate};
use crate::adapt::policy::{self, Decision, Policy, Situation};
use anyhow::Result;
use flink::space::{Config, Space};

/// The autoscaler's settings (`job.autoscaler.*`), defaults of operator release 1.15.0.
#[derive(Clone, Debug)]
pub struct Settings {
    /// `utilization.target`.
    pub target: f64,
    /// `target.utilization.boundary`: the band around the target where nothing changes.
    pub boundary: f64,
    /// `metrics.window`, seconds: the input rate is averaged over it.
    pub window_s: f64,
    /// `stabilization.interval`, seconds after a rescale before metrics count.
    pub stabilization_s: f64,
    /// `scale-down.interval`, seconds a scale-down must be recommended before it runs.
    pub scale_down_interval_s: f64,
    /// `scale-down.max-factor`: at most this fraction of the parallelism goes at once.
    pub max_scale_down: f64,
    /// `scale-up.max-factor`.
    pub max_scale_up: f64,
    /// `catch-up.duration`, seconds to work off a backlog (and a restart's) after scaling.
    pub catch_up_s: f64,
    /// `restart.time`, seconds the job is expected to stand still on a rescale.
    pub restart_s: f64,
    /// `backlog-processing.lag-threshold`, seconds of input.
    pub lag_threshold_s: f64,
    /// `vertex.min-parallelism`, `vertex.max-parallelism`.
    pub min_parallelism: u32,
    pub max_parallelism: u32,
    /// Key groups of a keyed job (Flink's default maximum parallelism, 128, for jobs up to
    /// parallelism 85); None for a job without a keyed exchange, which needs no alignment.
    pub key_groups: Option<u32>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            target: 0.7,
            boundary: 0.3,
            window_s: 900.0,
            stabilization_s: 300.0,
            scale_down_interval_s: 3600.0,
            max_scale_down: 0.6,
            max_scale_up: 100_000.0,
            catch_up_s: 1800.0,
            restart_s: 300.0,
            lag_threshold_s: 300.0,
            min_parallelism: 1,
            max_parallelism: 200,
            key_groups: Some(128),
        }
    }
}

/// What the autoscaler would do with one observation, before its pacing.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    /// The input rate averaged over the metrics window, records/s.
    pub rate: f64,
    /// Records the source is behind.
    pub lag: f64,
    /// The job's true processing rate.
    pub true_rate: f64,
    /// The processing capacity it scales to.
    pub target_capacity: f64,
    /// The band of true processing rates in which nothing changes.
    pub band: (f64, f64),
    pub parallelism: u32,
    /// The parallelism it recommends.
    pub recommended: u32,
}

impl Evaluation {
    fn outside_band(&self) -> bool {
        self.true_rate < self.band.0 || self.true_rate > self.band.1
    }
}

/// The operator's autoscaler as a policy.
pub struct Autoscaler {
    space: Space,
    start: Config,
    pub settings: Settings,
    /// When the last rescale ran (None: the job has been running long enough).
    last_change_s: Option<f64>,
    /// Scale-down recommendations since the first one still pending: (time, parallelism).
    pending_down: Vec<(f64, u32)>,
}

impl Autoscaler {
    pub fn new(space: &Space, settings: Settings) -> Result<Autoscaler> {
        Ok(Autoscaler {
            space: space.clone(),
            start: policy::start(space)?,
            settings,
            last_change_s: None,
            pending_down: Vec::new(),
        })
    }

    /// The autoscaler's view of one observation (None when it measured nothing to scale
    /// from): input rate over the window, backlog, true rate, target capacity, the band and
    /// the recommended parallelism.
    pub fn evaluate(&self, s: &Situation) -> Result<Option<Evaluation>> {
        let (Some(m), Some(&last_rate)) = (s.last, s.history.last()) else {
            return Ok(None);
        };
        let Some(true_rate) = true_rate(m) else {
            return Ok(None);
        };
        let k = &self.settings;
        let steps = ((k.window_s / s.step_s).ceil() as usize).clamp(1, s.history.len());
        let window = &s.history[s.history.len() - steps..];
        let rate = window.iter().sum::<f64>() / steps as f64;
        let lag = (last_rate - m.throughput).max(0.0) * s.step_s;
        let backlog = lag / rate.max(f64::MIN_POSITIVE) > k.lag_threshold_s;
        let (upper, lower) = if backlog {
            (1.0, 0.0)
        } else {
            (k.target + k.boundary, k.target - k.boundary)
        };
        let band = (
            self.capacity(rate, lag, upper, false),
            self.capacity(rate, lag, lower, true),
        );
        let target_capacity = self.capacity(rate, lag, k.target, true);
        let tms = policy::taskmanagers(&self.space, s.current)?;
        let parallelism = tms * slots(&self.space, s.current);
        let recommended = self.scale(parallelism, target_capacity / true_rate);
        Ok(Some(Evaluation {
            rate,
            lag,
            true_rate,
            target_capacity,
            band,
            parallelism,
            recommended,
        }))
    }

    /// The processing capacity that runs `rate` at `utilisation`, catches up `lag` and (with
    /// `restart`) the input of a restart within the catch-up duration.
    fn capacity(&self, rate: f64, lag: f64, utilisation: f64, restart: bool) -> f64 {
        let k = &self.settings;
        let utilisation = utilisation.clamp(0.0, 1.0);
        if utilisation == 0.0 {
            return f64::INFINITY;
        }
        let catch_up = |records: f64| {
            if k.catch_up_s > 0.0 {
                records / k.catch_up_s
            } else {
                0.0
            }
        };
        let restart_records = if restart { rate * k.restart_s } else { 0.0 };
        (catch_up(lag) + catch_up(restart_records) + rate / utilisation).round()
    }

    /// The parallelism for a scale factor: bounded, rounded up, within the limits, aligned.
    fn scale(&self, p: u32, factor: f64) -> u32 {
        let k = &self.settings;
        let factor = factor.clamp(1.0 - k.max_scale_down, 1.0 + k.max_scale_up);
        let lower = p.min(k.min_parallelism);
        let upper = p.max(k.max_parallelism);
        let wanted = ((factor * p as f64).ceil().min(u32::MAX as f64) as u32).clamp(lower, upper);
        match k.key_groups {
            Some(groups) if wanted != p => align(p, wanted, groups, lower, upper),
            _ => wanted,
        }
    }

    /// The scale-down interval: whether a recommendation of `p` at `time_s` runs now, and at
    /// what parallelism (the largest recommended within the interval).
    fn delayed_down(&mut self, time_s: f64, p: u32) -> Option<u32> {
        let interval = self.settings.scale_down_interval_s;
        if interval <= 0.0 {
            return Some(p);
        }
        self.pending_down.push((time_s, p));
        let first = self.pending_down[0].0;
        if time_s - first < interval {
            return None;
        }
        let since = time_s - interval;
        self.pending_down
            .iter()
            .filter(|(t, _)| *t >= since)
            .map(|(_, p)| *p)
            .max()
    }

    /// Still settling after the last rescale: stabilisation, then a full metrics window.
    fn settling(&self, time_s: f64) -> bool {
        let k = &self.settings;
        self.last_change_s
            .is_some_and(|t| time_s - t < k.stabilization_s + k.window_s)
    }
}

/// Aligns a parallelism to the key groups (`scaling.key-group.partitions.adjust.mode` =
/// EVENLY_SPREAD): the next divisor of `groups` up from `wanted`; failing that, the smallest
/// parallelism with as few keys per subtask as `wanted`; `p` when that would reverse the change.
fn align(p: u32, wanted: u32, groups: u32, lower: u32, upper: u32) -> u32 {
    let up = wanted > p;
    let ceiling = if up {
        groups.min(upper)
    } else {
        p.min(groups.min(upper))
    };
    if let Some(d) = (wanted..=ceiling).find(|d| groups.is_multiple_of(*d)) {
        return d;
    }
    let per_task = groups / wanted;
    let q = match (1..=wanted).rev().find(|q| groups / q > per_task) {
        Some(q) if !groups.is_multiple_of(q) => q + 1,
        Some(q) => q,
        None => 0,
    }
    .max(lower);
    if (up && q <= p) || (!up && q >= p) {
        p
    } else {
        q
    }
}

impl Policy for Autoscaler {
    fn name(&self) -> &str {
        "autoscaler"
    }
    fn initial(&mut self) -> Result<Config> {
        Ok(self.start.clone())
    }
    fn continuous(&self) -> bool {
        true
    }
    fn decide(&mut self, s: &Situation) -> Result<Option<Decision>> {
        if self.settling(s.time_s) {
            return Ok(None);
        }
        let Some(e) = self.evaluate(s)? else {
            return Ok(None);
        };
        let next = if e.recommended == e.parallelism {
            self.pending_down.clear();
            None
        } else if e.recommended > e.parallelism {
            self.pending_down.clear();
            Some(e.recommended)
        } else {
            self.delayed_down(s.time_s, e.recommended)
        };
        let Some(p) = next.filter(|_| e.outside_band()) else {
            return Ok(None);
        };
        let tms = p.div_ceil(slots(&self.space, s.current));
        let decision = policy::scale_to(&self.space, s.current, tms, |from, to| {
            format!(
                "true rate {:.0}/s outside [{:.0}, {:.0}] for {:.0}/s in, {:.0} behind: \
                 capacity {:.0}/s, {from} → {to} TaskManagers",
                e.true_rate, e.band.0, e.band.1, e.rate, e.lag, e.target_capacity
            )
        })?;
        if decision.is_some() {
            self.last_change_s = Some(s.time_s);
            self.pending_down.clear();
        }
        Ok(decision)
    }
}
