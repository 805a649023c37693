//! What one trial left behind, as every stage records it: its status and its measurement.
//! The status is an enum everywhere inside; it becomes a word only in files (`trials.csv`,
//! the journals), where it reads `pass`, `fail`, `error` or `skipped`.

use flink::objective::Measurement;
use serde::{Deserialize, Serialize};
use std::fmt;

/// How a trial ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TrialStatus {
    /// The job ran and was measured.
    Pass,
    /// The adapter reports that the configuration cannot run (a FailConf).
    Fail,
    /// The adapter misbehaved (crashed, hung, or wrote no valid result).
    Error,
    /// Predicted to fail by Flink's memory rules or the cluster's slots; not run.
    Skipped,
}

impl TrialStatus {
    pub fn name(self) -> &'static str {
        match self {
            TrialStatus::Pass => "pass",
            TrialStatus::Fail => "fail",
            TrialStatus::Error => "error",
            TrialStatus::Skipped => "skipped",
        }
    }
}

impl fmt::Display for TrialStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

/// One row of the trials table (and one journal entry).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrialRecord {
    pub trial: String,
    pub config: String,
    pub rate: u64,
    pub repeat: u64,
    pub status: TrialStatus,
    pub throughput: Option<f64>,
    pub latency_p99_ms: Option<f64>,
    pub latency_p50_ms: Option<f64>,
    /// Share of the window spent in garbage collection, when the adapter reports it (a
    /// study's trials from before the column read as unknown).
    #[serde(default)]
    pub gc_time_fraction: Option<f64>,
    pub reason: String,
    /// Runs of the adapter (1 + retries of transient failures).
    pub attempts: u32,
    pub worker: usize,
    /// Wall-clock time the trial took, all attempts.
    pub seconds: f64,
    /// What the trial ran (`Study::trial_key`: configuration, rate, repeat, adapter), by
    /// which finished work is recognised when the plan changes; empty when unknown.
    #[serde(default)]
    pub key: String,
}

impl TrialRecord {
    /// The measurement of a passing trial.
    pub fn measurement(&self) -> Option<Measurement> {
        match (self.status, self.throughput, self.latency_p99_ms) {
            (TrialStatus::Pass, Some(throughput), Some(latency_p99_ms)) => Some(Measurement {
                throughput,
                latency_p99_ms,
            }),
            _ => None,
        }
    }

    pub fn passed(&self) -> bool {
        self.status == TrialStatus::Pass
    }

    /// The record of a trial not run because its configuration is predicted to fail.
    pub fn skipped(config: &str, rate: u64, repeat: u64, reason: String) -> TrialRecord {
        TrialRecord {
            trial: trial_id(config, rate, repeat),
            config: config.to_string(),
            rate,
            repeat,
            status: TrialStatus::Skipped,
            throughput: None,
            latency_p99_ms: None,
            latency_p50_ms: None,
            gc_time_fraction: None,
            reason,
            attempts: 0,
            worker: 0,
            seconds: 0.0,
            key: String::new(),
        }
    }
}

/// The id (and directory name) of a configuration's trial at a rate and repeat.
pub fn trial_id(config: &str, rate: u64, repeat: u64) -> String {
    format!("{config}-r{rate}-k{repeat}")
}
