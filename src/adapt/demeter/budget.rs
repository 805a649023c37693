//! The latency budget (`[adapt] latency_budget`): over the last day, the delay the switches
//! added (`crate::adapt::policy::delay_area`) plus the running configurations' steady-state
//! p99 over the static maximum's may come to `latency_budget` of the static maximum's
//! latency. A switch for gain — and a restart for a violation instead of the rescale that
//! would fix it — must fit what is left; steady state below the static maximum's latency
//! earns budget back.

use super::state::Demeter;
use crate::adapt::policy::{self, Metrics, change};
use flink::space::Config;

/// The window the latency budget is kept over, s: a day, as Demeter compares days.
const BUDGET_WINDOW_S: f64 = 86_400.0;

impl Demeter {
    /// The static maximum's p99 latency, ms: the median of its measurements at the rates
    /// profiled so far (None before the first profile or when it never ran).
    fn reference_latency_ms(&self) -> Option<f64> {
        let mut xs: Vec<f64> = self
            .profiles
            .values()
            .map(|p| p.latency_target_ms / (1.0 + self.settings.latency_slack))
            .filter(|x| x.is_finite())
            .collect();
        xs.sort_by(f64::total_cmp);
        (!xs.is_empty()).then(|| xs[xs.len() / 2])
    }

    /// The latency budget over the window, ms × s, and what of it is spent (None: no budget).
    pub(super) fn budget(&mut self) -> Option<(f64, f64)> {
        let reference = self.reference_latency_ms()?;
        if !self.settings.latency_budget.is_finite() {
            return None;
        }
        let now = self.time_now;
        while self
            .spent
            .front()
            .is_some_and(|(t, _)| *t <= now - BUDGET_WINDOW_S)
        {
            self.spent.pop_front();
        }
        let allowance = self.settings.latency_budget * reference * BUDGET_WINDOW_S;
        Some((allowance, self.spent.iter().map(|(_, x)| x).sum()))
    }

    /// Charges the running configuration's steady-state p99 over the static maximum's for
    /// the `since` seconds since the last decision, from the last measurement (clipped to
    /// ± the latency slack: one run's p99 is now and then several times the usual, and it
    /// stands for a whole interval here). Below the static maximum's earns budget back.
    pub(super) fn charge_steady_state(&mut self, last: Option<&Metrics>, since: f64) {
        if !self.settings.latency_budget.is_finite() || since <= 0.0 {
            return;
        }
        let (Some(m), Some(reference)) = (last, self.reference_latency_ms()) else {
            return;
        };
        let bound = self.settings.latency_slack * reference;
        let excess = (m.latency_p99_ms - reference).clamp(-bound, bound);
        self.spent.push_back((self.time_now, excess * since));
    }

    /// Whether the latency budget affords switching from `from` to `to` now.
    pub(super) fn affords(&mut self, from: &Config, to: &Config) -> bool {
        let Some((allowance, spent)) = self.budget() else {
            return true;
        };
        spent + self.switch_delay(from, to) <= allowance
    }

    /// The delay switching from `from` to `to` at the current rate adds (ms × s; see
    /// `crate::adapt::policy::delay_area`), with `to`'s load estimated from its profiling
    /// measurement at the demand: its busy share of the cores it requests, scaled to the
    /// current rate.
    pub(super) fn switch_delay(&self, from: &Config, to: &Config) -> f64 {
        let space = &self.study.space;
        let kind = change(space, from, to);
        let bucket = self.bucket(self.demand.unwrap_or(self.rate_now));
        let load = self
            .profiles
            .get(&bucket)
            .and_then(|p| p.probes.iter().find(|q| &q.config == to))
            .and_then(|q| q.metrics.as_ref())
            .filter(|m| m.cpu_requested > 0.0)
            .map_or(0.5, |m| {
                m.cpu_busy / m.cpu_requested * self.rate_now / bucket as f64
            })
            .clamp(0.0, 0.95);
        let interval_s = policy::checkpoint_interval_s(space, to).unwrap_or(0.0);
        let stop = policy::stop_s(
            kind,
            self.settings.restart_s,
            self.settings.rescale_s,
            interval_s,
            load,
        );
        1000.0 * policy::delay_area(stop, load)
    }
}
