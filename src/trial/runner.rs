//! The one way a trial runs, for every stage: prepare its directory from a configuration,
//! run the study's adapter on it (retrying transient failures up to `[adapter] retries`),
//! and record the outcome.

use crate::study::{AdapterKind, Study};
use crate::trial::adapter::{Adapter, Outcome, TrialSpec};
use crate::trial::record::{TrialRecord, trial_id};
use anyhow::{Context, Result};
use flink::space::Config;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The adapter a study names.
pub fn adapter_of(study: &Study) -> Adapter {
    match study.file.adapter.kind {
        AdapterKind::Sim => Adapter::Sim {
            cluster: study.file.sim.cluster(),
            workload: study.file.sim.workload,
            noise: study.file.sim.noise,
        },
        AdapterKind::Command => Adapter::Command {
            command: study.file.adapter.command.clone().unwrap_or_default(),
            timeout: Duration::from_secs(study.file.adapter.timeout_s),
            grace: kill_grace(study),
            ledger: ledger_dir(&study.dir),
        },
    }
}

/// Where a study's running adapters are recorded: in the study folder, not a stage's, so
/// that a stage started afresh (which clears its folder) still finds what a killed run of
/// it left running.
pub fn ledger_dir(study_dir: &Path) -> PathBuf {
    study_dir.join(".running")
}

fn kill_grace(study: &Study) -> Duration {
    Duration::from_secs(study.file.adapter.kill_grace_s)
}

/// Ends the adapters (and all they started) that a killed earlier run of any stage left
/// running in this study, so none of them writes into a trial directory about to be
/// reused. A study has one writer at a time, so what a dead run recorded is no one's.
pub fn end_orphans(study: &Study) {
    let ended = crate::trial::tree::end_orphans(&ledger_dir(&study.dir), kill_grace(study));
    if ended > 0 {
        eprintln!("ended {ended} processes a killed earlier run left running");
    }
}

/// One trial to run: a configuration (by its id) at a rate, one repeat.
#[derive(Clone, Copy, Debug)]
pub struct Trial<'c> {
    /// The configuration's id (the trial's id derives from it, the rate and the repeat).
    pub config_id: &'c str,
    pub config: &'c Config,
    pub rate: u64,
    pub repeat: u64,
}

/// Runs trials of one study through its adapter into one folder of trial directories.
pub struct Runner<'a> {
    pub study: &'a Study,
    pub adapter: Adapter,
    /// Where the trial directories go.
    pub trials_dir: PathBuf,
}

impl<'a> Runner<'a> {
    /// A runner through the study's adapter, once what a killed earlier run left running
    /// is ended.
    pub fn new(study: &'a Study, trials_dir: PathBuf) -> Runner<'a> {
        end_orphans(study);
        Runner {
            study,
            adapter: adapter_of(study),
            trials_dir,
        }
    }

    /// Prepares the trial's directory and runs it as adapter worker `worker`, retrying
    /// transient failures up to the study's `retries`.
    pub fn run(&self, trial: Trial<'_>, worker: usize) -> Result<TrialRecord> {
        self.run_outcome(trial, worker).map(|(r, _)| r)
    }

    /// [`Runner::run`], also returning the adapter's full outcome (with every extra field
    /// of its result, which the multi-objective search reads).
    pub fn run_outcome(&self, trial: Trial<'_>, worker: usize) -> Result<(TrialRecord, Outcome)> {
        let id = trial_id(trial.config_id, trial.rate, trial.repeat);
        let dir = self.trials_dir.join(&id);
        let started = Instant::now();
        let mut attempts = 0;
        let outcome = loop {
            attempts += 1;
            self.prepare(&dir, trial.config, &id)?;
            let spec = TrialSpec {
                dir: dir.clone(),
                rate: trial.rate,
                duration_s: self.study.file.duration_s,
                repeat: trial.repeat,
                seed: self.study.file.seed,
                worker,
            };
            let outcome = self.adapter.run(&spec);
            let retry = outcome.is_transient()
                && u64::from(attempts) <= self.study.file.adapter.retries
                && !crate::trial::process::cancelled();
            if !retry {
                break outcome;
            }
        };
        let rec = record(id, trial, &outcome, attempts, worker, started.elapsed());
        Ok((rec, outcome))
    }

    /// A fresh trial directory holding the configuration as a Flink conf directory.
    fn prepare(&self, dir: &Path, config: &Config, id: &str) -> Result<()> {
        if dir.exists() {
            fs::remove_dir_all(dir).with_context(|| format!("cannot clear {}", dir.display()))?;
        }
        fs::create_dir_all(dir)?;
        self.study
            .write_config_dir(config, dir, &format!("flinktune trial {id}"))
            .with_context(|| format!("cannot prepare trial {id}"))
    }
}

/// A table row for a trial's outcome.
fn record(
    id: String,
    trial: Trial<'_>,
    outcome: &Outcome,
    attempts: u32,
    worker: usize,
    took: Duration,
) -> TrialRecord {
    let m = outcome.measurement();
    TrialRecord {
        trial: id,
        config: trial.config_id.to_string(),
        rate: trial.rate,
        repeat: trial.repeat,
        status: outcome.status(),
        throughput: m.map(|m| m.throughput),
        latency_p99_ms: m.map(|m| m.latency_p99_ms),
        latency_p50_ms: outcome.metrics().and_then(|m| m.latency_p50_ms),
        reason: outcome.reason().to_string(),
        attempts,
        worker,
        seconds: took.as_secs_f64(),
    }
}
