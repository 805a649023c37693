//! DS2 (Kalavri et al., "Three steps is all you need", OSDI 2018) with its scaling manager's
//! settings: every policy interval (here each observation) the optimal parallelism is the
//! input rate over one instance's *true* processing rate — records per second of busy time —
//! over-provisioned by the scaling factor; the manager ignores the `warm_up` intervals after a
//! reconfiguration, acts after `activation` policy runs, scales up on any increase but down
//! only by more than one instance, and — once it has converged with the source still below
//! `target_rate_ratio` of its target — adds what is missing. Defaults are the reference
//! manager's (`ds2.toml`): warm-up 2, activation 1, no over-provisioning, no final adjustment.
//! With them DS2 sizes the job to run at full utilisation: no headroom is the method, not a
//! flaw of this port.

use super::{slots, true_rate};
use crate::adapt::policy::{self, Decision, Policy, Situation};
use anyhow::Result;
use flink::space::{Config, Space};

/// DS2's scaling-manager settings.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Policy intervals ignored after a reconfiguration.
    pub warm_up: u32,
    /// Policy runs before a reconfiguration may be issued.
    pub activation: u32,
    /// Deliberate over-provisioning: `factor × 100 %` more instances than optimal.
    pub scaling_factor: f64,
    /// Target over observed source rate above which a converged DS2 adjusts once more
    /// (infinite: never).
    pub target_rate_ratio: f64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            warm_up: 2,
            activation: 1,
            scaling_factor: 0.0,
            target_rate_ratio: f64::INFINITY,
        }
    }
}

/// DS2 as a policy.
pub struct Ds2 {
    space: Space,
    start: Config,
    pub settings: Settings,
    /// Observations since the last reconfiguration, and policy runs among them.
    since_change: u32,
    runs: u32,
}

impl Ds2 {
    pub fn new(space: &Space, settings: Settings) -> Result<Ds2> {
        Ok(Ds2 {
            space: space.clone(),
            start: policy::start(space)?,
            settings,
            since_change: u32::MAX,
            runs: 0,
        })
    }

    /// Instances the rate needs at `per_instance` records/s each, over-provisioned; when the
    /// estimate equals `current` but the source still falls short of its target by more than
    /// the target rate ratio, one more.
    fn optimal(&self, rate: f64, per_instance: f64, current: u32, observed: f64) -> u32 {
        let k = &self.settings;
        let n = ((rate / per_instance) * (1.0 + k.scaling_factor))
            .ceil()
            .max(1.0) as u32;
        let short = observed > 0.0 && rate / observed > k.target_rate_ratio;
        if n == current && short { n + 1 } else { n }
    }
}

/// The reference manager's "significant change": any scale-up, a scale-down of more than one.
fn significant(current: u32, next: u32) -> bool {
    next > current || current > next + 1
}

impl Policy for Ds2 {
    fn name(&self) -> &str {
        "ds2"
    }
    fn initial(&mut self) -> Result<Config> {
        Ok(self.start.clone())
    }
    fn continuous(&self) -> bool {
        true
    }
    fn decide(&mut self, s: &Situation) -> Result<Option<Decision>> {
        self.since_change = self.since_change.saturating_add(1);
        let (Some(m), Some(&rate)) = (s.last, s.history.last()) else {
            return Ok(None);
        };
        let Some(job_rate) = true_rate(m) else {
            return Ok(None);
        };
        if self.since_change <= self.settings.warm_up {
            return Ok(None);
        }
        self.runs += 1;
        let tms = policy::taskmanagers(&self.space, s.current)?;
        let instances = tms * slots(&self.space, s.current);
        let per_instance = job_rate / instances as f64;
        let optimal = self.optimal(rate, per_instance, instances, m.throughput);
        if self.runs < self.settings.activation || !significant(instances, optimal) {
            return Ok(None);
        }
        let next = optimal.div_ceil(slots(&self.space, s.current));
        let decision = policy::scale_to(&self.space, s.current, next, |from, to| {
            format!(
                "input {rate:.0}/s at a true rate of {per_instance:.0}/s per instance: \
                 {from} → {to} TaskManagers"
            )
        })?;
        if decision.is_some() {
            self.since_change = 0;
            self.runs = 0;
        }
        Ok(decision)
    }
}
