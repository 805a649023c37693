//! The "reactive" baseline: Kubernetes' horizontal pod autoscaler (autoscaling/v2) scaling the
//! TaskManagers on CPU utilisation, with its defaults — `desired = ceil(current × utilisation
//! / target)`, no change within a 10 % tolerance, a scale-down only to the highest
//! recommendation of the last 5 minutes (the scale-down stabilisation window), scale-ups at
//! once but by at most 100 % or 4 pods, whichever is more, per sync (the default scale-up
//! policies; the replay observes once a step, so that is one sync a step).
//!
//! The target is 60 % CPU: a platform engineer leaves headroom for catching up after a
//! failure, and 60 % is about where a recovery on the simulated cluster still meets a
//! 3-minute limit (see `examples/demeter`).

use crate::adapt::policy::{self, Decision, Policy, Situation};
use anyhow::Result;
use flink::space::{Config, Space};

/// The HPA's settings.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Target CPU utilisation (busy / requested).
    pub target: f64,
    /// No change while |utilisation / target − 1| is within this (kube-controller-manager's
    /// `--horizontal-pod-autoscaler-tolerance`, 0.1).
    pub tolerance: f64,
    /// Seconds of recommendations a scale-down takes the highest of (`behavior.scaleDown.
    /// stabilizationWindowSeconds`, 300).
    pub down_window_s: f64,
    /// The default scale-up policies: +100 % or +4 pods per period, the larger.
    pub up_percent: f64,
    pub up_pods: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            target: 0.6,
            tolerance: 0.1,
            down_window_s: 300.0,
            up_percent: 100.0,
            up_pods: 4,
        }
    }
}

/// Kubernetes' HPA as a policy.
pub struct Reactive {
    space: Space,
    start: Config,
    pub settings: Settings,
    /// Recommendations within the scale-down window: (time, TaskManagers).
    recent: Vec<(f64, u32)>,
}

impl Reactive {
    pub fn new(space: &Space, settings: Settings) -> Result<Reactive> {
        Ok(Reactive {
            space: space.clone(),
            start: policy::start(space)?,
            settings,
            recent: Vec::new(),
        })
    }

    /// The HPA's rule: the replica count the utilisation asks for.
    fn desired(&self, current: u32, utilisation: f64) -> u32 {
        let ratio = utilisation / self.settings.target;
        if (ratio - 1.0).abs() <= self.settings.tolerance {
            current
        } else {
            ((current as f64 * ratio).ceil() as u32).max(1)
        }
    }

    /// What the behaviour allows: up at once (no scale-up window) by at most the policies'
    /// limit; down only to the window's highest recommendation, never above `current`.
    fn stabilised(&mut self, time_s: f64, current: u32, desired: u32) -> u32 {
        let k = &self.settings;
        // The previous observation is exactly a step old: it still counts, as the syncs in
        // between would have recommended from it.
        self.recent.retain(|(t, _)| time_s - t <= k.down_window_s);
        self.recent.push((time_s, desired));
        if desired > current {
            let by_percent = (current as f64 * (1.0 + k.up_percent / 100.0)).ceil() as u32;
            return desired.min(by_percent.max(current + k.up_pods));
        }
        // Never above the running count: a scale-up is the branch above, with its limit.
        let highest = self.recent.iter().map(|(_, n)| *n).max().unwrap_or(current);
        highest.min(current)
    }
}

impl Policy for Reactive {
    fn name(&self) -> &str {
        "reactive"
    }
    fn initial(&mut self) -> Result<Config> {
        Ok(self.start.clone())
    }
    fn continuous(&self) -> bool {
        true
    }
    fn decide(&mut self, s: &Situation) -> Result<Option<Decision>> {
        let current = policy::taskmanagers(&self.space, s.current)?;
        let Some(m) = s.last.filter(|m| m.cpu_requested > 0.0) else {
            return Ok(None);
        };
        let utilisation = (m.cpu_busy / m.cpu_requested).min(1.0);
        let desired = self.desired(current, utilisation);
        let next = self.stabilised(s.time_s, current, desired);
        let target = self.settings.target;
        policy::scale_to(&self.space, s.current, next, |from, to| {
            format!(
                "CPU utilisation {:.0}% vs target {:.0}%: {from} → {to} TaskManagers",
                utilisation * 100.0,
                target * 100.0
            )
        })
    }
}
