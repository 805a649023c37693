//! What Demeter profiles with: the [`Profiler`] trait — one measurement of a configuration
//! at a rate, as many times as Demeter asks — and its two implementations, the study's
//! simulator in-process ([`SimProfiler`], for a replay) and the study's adapter, one trial
//! per run ([`AdapterProfiler`], for a live run).
//!
//! Below Demeter, which only knows the trait, and beside `crate::adapt::measure`, whose
//! simulator the replay's profiler runs on: the `adapt` command picks one and hands it over.

use crate::adapt::measure::{Measure, SimMeasure};
use crate::adapt::policy::Metrics;
use crate::study::Study;
use crate::trial::runner::{FirstTrials, Runner, Trial};
use anyhow::Result;
use flink::space::Config;
use std::path::{Path, PathBuf};

/// Measures a configuration at a rate for profiling.
pub trait Profiler {
    fn evaluate(&mut self, config: &Config, rate: f64) -> Result<Option<Metrics>>;
}

/// Profiles on the simulator, with noise seeds of their own (profiling runs are not the
/// replayed steps).
pub struct SimProfiler {
    measure: SimMeasure,
    runs: usize,
}

impl SimProfiler {
    pub fn new(study: &Study) -> Result<SimProfiler> {
        Ok(SimProfiler {
            measure: SimMeasure::new(study)?,
            runs: 0,
        })
    }
}

impl Profiler for SimProfiler {
    fn evaluate(&mut self, config: &Config, rate: f64) -> Result<Option<Metrics>> {
        self.runs += 1;
        self.measure.measure(config, rate, usize::MAX - self.runs)
    }
}

/// Profiles through the study's adapter: one trial per evaluation, in `dir`.
pub struct AdapterProfiler {
    study: Study,
    dir: PathBuf,
    runs: usize,
    /// The first profiles' outcomes: an adapter failing from the start stops adapt.
    first: FirstTrials,
}

impl AdapterProfiler {
    /// Trials go in `dir` (`adapt-live/profiles/` in a live run).
    pub fn new(study: &Study, dir: &Path) -> AdapterProfiler {
        AdapterProfiler {
            study: study.clone(),
            dir: dir.to_path_buf(),
            runs: 0,
            first: FirstTrials::default(),
        }
    }
}

impl Profiler for AdapterProfiler {
    fn evaluate(&mut self, config: &Config, rate: f64) -> Result<Option<Metrics>> {
        self.runs += 1;
        let runner = Runner::continuing(&self.study, self.dir.clone(), self.first.clone());
        let id = format!("p{:05}", self.runs);
        let trial = Trial {
            config_id: &id,
            config,
            rate: rate.round() as u64,
            repeat: 0,
        };
        let (_, outcome) = runner.run_outcome(trial, 0)?;
        Ok(Metrics::of(&outcome))
    }
}
