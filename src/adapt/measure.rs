//! What a replay measures configurations with: the [`Measure`] trait (one step's
//! measurement of a configuration at a rate, and the most it sustains) and [`SimMeasure`],
//! the study's simulator run in-process.
//!
//! Its own module, below both the replay that charges steps by it and Demeter, whose
//! profilers and tests measure on the same simulator: neither has to reach into the other
//! (or into the `adapt` command) for it.

use crate::adapt::policy::Metrics;
use crate::study::Study;
use crate::study::seed::{Purpose, derive};
use crate::trial::adapter::{self, Adapter};
use anyhow::{Result, bail};
use flink::sim::{Cluster, SimJob, Workload};
use flink::space::Config;
use std::collections::HashMap;

/// Measures a configuration at a rate; the step number seeds the measurement noise so that
/// every policy meets the same noise (common random numbers).
pub trait Measure {
    fn measure(&mut self, config: &Config, rate: f64, step: usize) -> Result<Option<Metrics>>;
    /// Records/s the configuration sustains at most.
    fn capacity(&mut self, config: &Config) -> Result<f64>;
}

/// Measures configurations on the study's simulator in-process: a replay asks thousands of
/// times, far too many for trial directories.
pub struct SimMeasure {
    study: Study,
    cluster: Cluster,
    workload: Workload,
    noise: f64,
    capacities: HashMap<String, f64>,
}

impl SimMeasure {
    pub fn new(study: &Study) -> Result<SimMeasure> {
        match crate::trial::runner::adapter_of(study) {
            Adapter::Sim {
                cluster,
                workload,
                noise,
                ..
            } => Ok(SimMeasure {
                study: study.clone(),
                cluster,
                workload,
                noise,
                capacities: HashMap::new(),
            }),
            Adapter::Command { .. } => bail!(
                "a replay measures every step on the built-in simulator, but this study's \
                 adapter is a command; for a real cluster run `adapt --hook`"
            ),
        }
    }
}

impl Measure for SimMeasure {
    fn measure(&mut self, config: &Config, rate: f64, step: usize) -> Result<Option<Metrics>> {
        let job = SimJob {
            workload: self.workload,
            rate,
            duration_s: self.study.file.duration_s as f64,
            repeat: 0,
            seed: derive(
                self.study.file.seed,
                Purpose::ReplayStep { step: step as u64 },
            ),
            noise: self.noise,
            flink: self.study.file.flink_version,
        };
        let conf = self.study.effective_conf(config);
        let Some(mut m) = Metrics::of(&adapter::simulate(&conf, &self.cluster, &job)) else {
            return Ok(None);
        };
        // The bottleneck's busy time, as Flink reports it: the share of its capacity in use.
        let capacity = self.capacity(config)?;
        m.busy = (capacity > 0.0).then(|| (m.throughput / capacity).min(1.0));
        Ok(Some(m))
    }

    fn capacity(&mut self, config: &Config) -> Result<f64> {
        let key = format!("{config:?}");
        if let Some(&c) = self.capacities.get(&key) {
            return Ok(c);
        }
        let conf = self.study.effective_conf(config);
        let c = flink::sim::capacity(
            &conf,
            &self.cluster,
            self.workload,
            self.study.file.flink_version,
        )
        .unwrap_or(0.0);
        self.capacities.insert(key, c);
        Ok(c)
    }
}
