//! The [`Demeter`] policy's state — the study and its `[adapt]` settings, the profiler, the
//! profiles by rate, the scheduler, what the latency budget has spent — and the small
//! helpers every part of a decision uses: a configuration's id for the schedule, the
//! recovery limit and the checkpoint cap choices are planned against, the profiled rate a
//! demand rounds up to, and one profiling measurement.
//!
//! The parts of the policy add their methods in their own files (`profiling`, `ehvi`,
//! `cap`, `budget`, `decide`); none of those is needed here.

use super::profile::{Probe, Profile, measure};
use crate::adapt::policy::Metrics;
use crate::adapt::profiler::Profiler;
use crate::adapt::schedule::{self, Scheduler};
use crate::study::{AdaptSection, Study};
use anyhow::Result;
use flink::space::Config;
use std::collections::{BTreeMap, HashMap, VecDeque};

/// The policy.
pub struct Demeter {
    pub(super) study: Study,
    pub(super) settings: AdaptSection,
    pub(super) step_s: f64,
    pub(super) profiler: Box<dyn Profiler>,
    pub(super) profiles: BTreeMap<u64, Profile>,
    /// Configurations by the id the schedule knows them by.
    pub(super) ids: HashMap<String, Config>,
    pub(super) scheduler: Scheduler,
    /// Why the running configuration missed a target at the last assessment.
    pub(super) missed: String,
    /// The demand rate of the last decision (forecast peak × (1 + margin)).
    pub(super) demand: Option<f64>,
    /// The forecast peak of the last decision.
    pub(super) forecast: Option<f64>,
    /// The current rate and time (s) of the decision being made.
    pub(super) rate_now: f64,
    pub(super) time_now: f64,
    /// What the last day's switches and steady state spent of the latency budget:
    /// (time s, ms × s over the static maximum's latency), oldest first.
    pub(super) spent: VecDeque<(f64, f64)>,
}

impl Demeter {
    pub fn new(study: &Study, step_s: f64, profiler: Box<dyn Profiler>) -> Result<Demeter> {
        crate::adapt::policy::taskmanagers(&study.space, &study.space.default_config())?;
        let a = study.file.adapt.clone();
        let scheduler = Scheduler::new(
            schedule::Policy {
                demand: schedule::Demand::Margin(a.margin),
                min_gain: a.min_gain,
                // A configuration chosen for the forecast horizon runs for it, unless it
                // would break a target.
                min_dwell_steps: ((a.horizon_s / a.interval_s).ceil() as usize).max(1),
            },
            None,
            0,
        )?;
        Ok(Demeter {
            study: study.clone(),
            settings: a,
            step_s,
            profiler,
            profiles: BTreeMap::new(),
            ids: HashMap::new(),
            scheduler,
            missed: String::new(),
            demand: None,
            forecast: None,
            rate_now: 0.0,
            time_now: 0.0,
            spent: VecDeque::new(),
        })
    }

    /// The rate the last decision provisioned for (the forecast peak over the horizon ×
    /// (1 + margin)); None before the first decision. Lets a replay tell forecast error
    /// from the rest (`examples/demeter_diagnose.rs`).
    pub fn demand(&self) -> Option<f64> {
        self.demand
    }

    /// The profiles made so far.
    pub fn profiles(&self) -> impl Iterator<Item = &Profile> {
        self.profiles.values()
    }

    pub(super) fn id_of(&mut self, config: &Config) -> String {
        let id = self.study.space.to_json(config).to_string();
        self.ids.entry(id.clone()).or_insert_with(|| config.clone());
        id
    }

    /// The recovery limit configurations are chosen against: the limit less the safety
    /// margin, so that measurement noise and forecast error do not push the chosen one over
    /// the real limit, which is what the running configuration is judged by.
    pub(super) fn plan_limit(&self) -> f64 {
        self.settings.recovery_limit_s * (1.0 - self.settings.margin)
    }

    /// The longest checkpoint interval the profile's choice should have (with `[adapt]
    /// checkpoint_cap`; unbounded without): an in-place
    /// rescale restarts from the latest checkpoint and reprocesses what came since (half an
    /// interval's input on average, up to a whole interval's at full load), so beyond
    /// 2 × (`restart_s` − `rescale_s`) a rescale may stop the job longer than the restart it
    /// is meant to save — and the added delay grows with the square of the stop. A long
    /// interval saves no resources (it only thins the checkpoint stalls), so the cap costs
    /// nothing but the odd extra measurement (`Demeter::within_cap`).
    pub(super) fn checkpoint_cap_s(&self) -> f64 {
        if !self.settings.checkpoint_cap {
            return f64::INFINITY;
        }
        2.0 * (self.settings.restart_s - self.settings.rescale_s).max(0.0)
    }

    pub(super) fn probe(&self, config: Config, metrics: Option<Metrics>) -> Probe {
        Probe {
            checkpoint_s: crate::adapt::policy::checkpoint_interval_s(&self.study.space, &config)
                .unwrap_or(0.0),
            config,
            metrics,
            confirmed: false,
        }
    }

    pub(super) fn bucket(&self, rate: f64) -> u64 {
        let step = self.settings.rate_step.max(1);
        ((rate.max(1.0) / step as f64).ceil() as u64).max(1) * step
    }

    /// One profiling measurement: `profile_repeats` runs combined.
    pub(super) fn evaluate(&mut self, config: &Config, rate: f64) -> Result<Option<Metrics>> {
        measure(
            self.profiler.as_mut(),
            config,
            rate,
            self.settings.profile_repeats,
        )
    }
}
