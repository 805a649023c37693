//! Demeter's decision, each time the policy is asked: **forecast** the next `horizon_s`
//! (Holt-Winters on the rate history) and take its peak × (1 + margin) as the **demand**;
//! the **choice** at the demand is the profiled constrained best, or the running
//! configuration's shape rescaled in place to the fewest TaskManagers that meet the targets
//! when the restart would not pay (or, for a violation, the latency budget cannot afford
//! it); `crate::adapt::schedule` decides whether to switch, judging the running
//! configuration at the same rate (a latency miss confirmed by more runs first).
//!
//! `Profiles` is the schedule's `Oracle` over Demeter's profiles; the `Policy` impl is what
//! a replay or a live run calls.

use super::profile::{Profile, combine};
use super::state::Demeter;
use crate::adapt::policy::{self, Change, Decision, Metrics, Policy, Situation, change, cost};
use crate::adapt::schedule::{self, Assessment, Choice, Oracle, Scheduler};
use anyhow::{Result, bail};
use flink::space::Config;
use opt::forecast::{self, Method, Point};

impl Demeter {
    /// The forecast peak over the horizon as one point for the schedule.
    fn demand_point(&self, history: &[f64]) -> Point {
        let current = history.last().copied().unwrap_or(0.0);
        let season = (86_400.0 / self.step_s).round() as usize;
        let horizon = ((self.settings.horizon_s / self.step_s).ceil() as usize).max(1);
        let flat = Point {
            step: 1,
            forecast: current,
            lower: current,
            upper: current,
        };
        if season < 2 || history.len() < 2 * season {
            return flat;
        }
        // Four seasons are plenty for the level, trend and seasonal pattern and keep each
        // fit cheap.
        let recent = &history[history.len().saturating_sub(4 * season)..];
        match forecast::fit(recent, Method::HoltWinters, season) {
            Ok(f) => {
                let pts = f.forecast(horizon, 0.8);
                let peak = |g: fn(&Point) -> f64| pts.iter().map(g).fold(current, f64::max);
                Point {
                    step: 1,
                    forecast: peak(|p| p.forecast),
                    lower: peak(|p| p.lower),
                    upper: peak(|p| p.upper),
                }
            }
            Err(_) => flat,
        }
    }

    /// How the running `config` does at `bucket`, judged with the margin on both targets
    /// (configurations are chosen without it): one chosen at the edge of a target must not
    /// be switched away from on the next measurement's noise. With `[adapt] confirm_misses`
    /// a miss on one measurement is confirmed before it counts: two more runs, their median
    /// with the first kept as the configuration's measurement (a run's p99 or recovery is
    /// now and then far above the usual). Remembers why it misses.
    pub(super) fn judge(&mut self, config: &Config, bucket: u64) -> Result<(Option<Metrics>, f64)> {
        let mut metrics = self.measured(config, bucket)?;
        let k = self.profiles[&bucket]
            .probes
            .iter()
            .position(|q| &q.config == config)
            .expect("measured above");
        let limit = self.settings.recovery_limit_s;
        let latency_ms = self.profiles[&bucket].latency_target_ms * (1.0 + self.settings.margin);
        // Only a latency or throughput miss is confirmed: recovery is the hard constraint,
        // and one slow recovery is evidence enough to act on.
        let misses = |p: &Profile, m: &Option<Metrics>| {
            m.as_ref().is_some_and(|m| {
                m.recovery_time_s <= limit && p.violation_at(m, limit, latency_ms) > 0.0
            })
        };
        if self.settings.confirm_misses
            && !self.profiles[&bucket].probes[k].confirmed
            && misses(&self.profiles[&bucket], &metrics)
        {
            let mut runs = vec![metrics];
            for _ in 0..2 {
                runs.push(self.evaluate(config, bucket as f64)?);
            }
            metrics = combine(&runs);
            let q = &mut self.profiles.get_mut(&bucket).expect("profiled").probes[k];
            q.metrics = metrics.clone();
            q.confirmed = true;
        }
        let p = &self.profiles[&bucket];
        let (missed, violation) = match &metrics {
            Some(m) => (
                p.why(m, limit, latency_ms),
                p.violation_at(m, limit, latency_ms),
            ),
            None => ("it does not run".into(), f64::INFINITY),
        };
        self.missed = missed;
        Ok((metrics, violation))
    }

    /// The running configuration's shape (slots, CPU, memory, checkpoints) with the fewest
    /// TaskManagers that meets the targets at `bucket` — reachable by an in-place rescale
    /// instead of a restart. Bisection over the scale-out: more TaskManagers of one shape
    /// only add capacity and spare capacity for recovery, so meeting the targets is taken
    /// to be monotone in their number. None when even the most does not meet them.
    fn rescaled(&mut self, running: &Config, bucket: u64) -> Result<Option<(Config, f64)>> {
        let limit = self.plan_limit();
        let space = self.study.space.clone();
        let (mut lo, mut hi) = policy::taskmanager_range(&space)?;
        let meets = |d: &mut Demeter, n: u32| -> Result<Option<(Config, f64)>> {
            let config = policy::with_taskmanagers(&space, running, n)?;
            let metrics = d.measured(&config, bucket)?;
            let p = &d.profiles[&bucket];
            Ok(metrics
                .filter(|m| p.violation(m, limit) <= 0.0)
                .map(|m| (config, cost(&m))))
        };
        let Some(mut found) = meets(self, hi)? else {
            return Ok(None);
        };
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match meets(self, mid)? {
                Some(f) => {
                    found = f;
                    hi = mid;
                }
                None => lo = mid + 1,
            }
        }
        Ok(Some(found))
    }
}

/// The schedule's view of the profiles.
struct Profiles<'a>(&'a mut Demeter);

impl Oracle for Profiles<'_> {
    fn best(&mut self, rate: f64) -> Result<Choice> {
        let limit = self.0.plan_limit();
        let bucket = self.0.bucket(rate);
        self.0.profile(bucket)?;
        self.0.within_cap(bucket)?;
        let p = &self.0.profiles[&bucket];
        let Some((probe, m, violation)) = p.best(limit) else {
            bail!("no configuration ran at {bucket} records/s while profiling");
        };
        let (mut config, mut objective, mut meets) =
            (probe.config.clone(), cost(m), violation <= 0.0);
        // A restart stops the job several times longer than an in-place rescale, and the
        // added delay grows with the square of the stop (see `crate::adapt::replay`). When the
        // running configuration misses a target, rescaling its shape is the fix (a cheaper
        // shape can wait for a switch for gain); otherwise the profile's best must beat
        // the rescaled shape by `min_gain` — Demeter's "worth a restart".
        // The scheduler still holds the running configuration while it decides.
        let running = self.0.scheduler.current().map(|id| self.0.ids[id].clone());
        if let Some(running) = running
            && change(&self.0.study.space, &running, &config) == Change::Restart
            && let Some((rescaled, c)) = self.0.rescaled(&running, bucket)?
        {
            let violates = self.0.judge(&running, bucket)?.1 > 0.0;
            // A violation is fixed by the rescale unless the restart is worth it and the
            // latency budget affords it: rescaling a shape chosen for a lower rate can cost
            // far more than the profile's best (bigger TaskManagers need more spare
            // capacity to recover in time), and a gain restart back later would pay twice.
            let worth = objective <= c * (1.0 - self.0.settings.min_gain);
            if !meets || !worth || (violates && !self.0.affords(&running, &config)) {
                (config, objective, meets) = (rescaled, c, true);
            }
        }
        Ok(Choice {
            config: self.0.id_of(&config),
            objective,
            meets_constraints: meets,
        })
    }

    /// A switch for gain must fit Demeter's latency budget: over the last day, the delays
    /// switches added plus the running configurations' p99 over the static maximum's must
    /// stay within `[adapt] latency_budget` of the static maximum's latency.
    fn affordable(&mut self, from: &str, to: &Choice) -> Result<bool> {
        let (from, to) = (self.0.ids[from].clone(), self.0.ids[&to.config].clone());
        Ok(self.0.affords(&from, &to))
    }

    fn assess(&mut self, id: &str, rate: f64) -> Result<Assessment> {
        let bucket = self.0.bucket(rate);
        let config = self.0.ids[id].clone();
        let (metrics, violation) = self.0.judge(&config, bucket)?;
        Ok(Assessment {
            // One that would not run at all is as bad as it gets.
            objective: metrics.as_ref().map_or(f64::MAX, cost),
            meets_constraints: violation <= 0.0,
        })
    }
}

impl Policy for Demeter {
    fn name(&self) -> &str {
        "demeter"
    }

    fn forecast(&self) -> Option<f64> {
        self.forecast
    }

    fn initial(&mut self) -> Result<Config> {
        // Demeter starts from the static maximum.
        let cmax = self.study.space.default_config();
        let id = self.id_of(&cmax);
        // As if it had run for long: the first decision may already switch for gain.
        self.scheduler = Scheduler::new(self.scheduler.policy, Some(id), usize::MAX / 2)?;
        Ok(cmax)
    }

    fn decide(&mut self, s: &Situation) -> Result<Option<Decision>> {
        let point = self.demand_point(s.history);
        self.forecast = Some(point.forecast);
        let since = s.time_s - self.time_now;
        self.rate_now = s.history.last().copied().unwrap_or(0.0);
        self.time_now = s.time_s;
        self.charge_steady_state(s.last, since);
        let current = self.id_of(s.current);
        // A live run whose switch failed still runs the old configuration.
        if self.scheduler.current() != Some(current.as_str()) {
            self.scheduler = Scheduler::new(self.scheduler.policy, Some(current), 0)?;
        }
        let mut scheduler = self.scheduler.clone();
        let d = scheduler.decide(&mut Profiles(self), &point);
        self.scheduler = scheduler;
        let d = d?;
        self.demand = Some(d.rate);
        if !d.switch {
            return Ok(None);
        }
        let config = self.ids[&d.config].clone();
        let delay = self.switch_delay(s.current, &config);
        self.spent.push_back((s.time_s, delay));
        Ok(Some(Decision {
            config,
            reason: format!(
                "{:?}: demand {:.0}/s (forecast peak {:.0}/s){}{}",
                d.reason,
                d.rate,
                point.forecast,
                d.gain
                    .map(|g| format!(", cost gain {:.0}%", g * 100.0))
                    .unwrap_or_default(),
                if d.reason == schedule::Reason::Violation {
                    format!("; the running one: {}", self.missed)
                } else {
                    String::new()
                }
            ),
        }))
    }
}
