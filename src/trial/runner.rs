//! The one way a trial runs, for every stage: prepare its directory from a configuration,
//! run the study's adapter on it (retrying transient failures up to `[adapter] retries`),
//! and record the outcome. When the first trials (`[adapter] fail_fast`) all end in an
//! adapter error, the next trial is refused with an error naming the command and the start
//! of its stderr: a missing or broken adapter stops the stage instead of failing every
//! trial of its plan. The failed trials were handed back, so the stage has journaled them.

use crate::study::{AdapterKind, Study};
use crate::trial::adapter::{
    Adapter, Outcome, STDERR_LOG, STDERR_TAIL_MARK, TrialSpec, resolve_command,
};
use crate::trial::record::{TrialRecord, trial_id};
use anyhow::{Context, Result};
use flink::space::Config;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How many lines of the first failed trial's stderr the fail-fast error quotes.
const STDERR_LINES: usize = 8;

/// The adapter a study names.
pub fn adapter_of(study: &Study) -> Adapter {
    match study.file.adapter.kind {
        AdapterKind::Sim => Adapter::Sim {
            cluster: study.file.sim.cluster(),
            workload: study.file.sim.workload,
            noise: study.file.sim.noise,
            flink: study.file.flink_version,
        },
        AdapterKind::Command => Adapter::Command {
            command: resolve_command(
                study.file.adapter.command.as_deref().unwrap_or_default(),
                &study.dir,
            ),
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
        crate::progress::info(format_args!(
            "ended {ended} processes a killed earlier run left running"
        ));
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
    first: FirstTrials,
}

/// The fail-fast stop: a stage's adapter failed its first trials, so every later one would
/// fail too. A type of its own so that loops which outlive one failure (adapt's intervals)
/// still stop for it.
#[derive(Debug)]
pub struct AdapterFailing(String);

impl std::fmt::Display for AdapterFailing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for AdapterFailing {}

impl AdapterFailing {
    /// Whether `e` is, or was caused by, a fail-fast stop.
    pub fn caused(e: &anyhow::Error) -> bool {
        e.chain().any(|c| c.is::<AdapterFailing>())
    }
}

/// The trial directories of the first trials to end, each with its adapter error's reason
/// (None: no adapter error), up to `[adapter] fail_fast` of them. Shared by the runners of
/// one stage that makes a runner per trial (adapt's profiler), so fail-fast sees them all.
#[derive(Clone, Default)]
pub struct FirstTrials(Arc<Mutex<Vec<FirstTrial>>>);

/// A first trial's directory and its adapter error's reason (None: no adapter error).
type FirstTrial = (PathBuf, Option<String>);

impl<'a> Runner<'a> {
    /// A runner through the study's adapter, once what a killed earlier run left running
    /// is ended.
    pub fn new(study: &'a Study, trials_dir: PathBuf) -> Runner<'a> {
        Self::continuing(study, trials_dir, FirstTrials::default())
    }

    /// [`Runner::new`], counting towards fail-fast the first trials other runners of the
    /// same stage already ran.
    pub fn continuing(study: &'a Study, trials_dir: PathBuf, first: FirstTrials) -> Runner<'a> {
        end_orphans(study);
        Runner {
            study,
            adapter: adapter_of(study),
            trials_dir,
            first,
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
        self.check_fail_fast()?;
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
        self.note_first(&dir, &outcome);
        let mut rec = record(id, trial, &outcome, attempts, worker, started.elapsed());
        rec.key = self.study.trial_key(trial.config, trial.rate, trial.repeat);
        Ok((rec, outcome))
    }

    /// Runs `trials` on `workers` threads, each its own adapter worker (`FLINKTUNE_WORKER`),
    /// handing every finished trial to `done` on the calling thread, with its index in
    /// `trials`, in the order they end (so `done` can journal each before the next is
    /// handed on). An error — of a trial or of `done` — stops every worker; after Ctrl-C the
    /// trials cut short are not handed on (they are to run again on resume).
    pub fn run_parallel(
        &self,
        trials: &[Trial<'_>],
        workers: usize,
        mut done: impl FnMut(usize, TrialRecord) -> Result<()>,
    ) -> Result<()> {
        let next = std::sync::atomic::AtomicUsize::new(0);
        let (tx, rx) = std::sync::mpsc::channel::<(usize, Result<TrialRecord>)>();
        std::thread::scope(|scope| {
            for worker in 0..workers.clamp(1, trials.len().max(1)) {
                let (tx, next) = (tx.clone(), &next);
                scope.spawn(move || {
                    while !crate::trial::process::cancelled() {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        let Some(trial) = trials.get(i) else { break };
                        let rec = self.run(*trial, worker);
                        let stop = rec.is_err();
                        if tx.send((i, rec)).is_err() || stop {
                            break;
                        }
                    }
                });
            }
            drop(tx);
            for (i, rec) in rx {
                let handed = rec.and_then(|rec| match crate::trial::process::cancelled() {
                    true => Ok(()),
                    false => done(i, rec),
                });
                handed.inspect_err(|_| crate::trial::process::request_cancel())?;
            }
            Ok(())
        })
    }

    /// Counts a finished trial among the first ones (a cancelled one says nothing).
    fn note_first(&self, dir: &Path, outcome: &Outcome) {
        let limit = self.study.file.adapter.fail_fast as usize;
        if crate::trial::process::cancelled() {
            return;
        }
        if let Ok(mut first) = self.first.0.lock()
            && first.len() < limit
        {
            let error = matches!(outcome, Outcome::Error { .. }).then(|| outcome.reason());
            first.push((dir.to_path_buf(), error.map(str::to_string)));
        }
    }

    /// Refuses to run another trial when the first `fail_fast` all ended in an adapter
    /// error, saying which command failed and how its first trial's stderr begins.
    fn check_fail_fast(&self) -> Result<()> {
        let limit = self.study.file.adapter.fail_fast as usize;
        let first = self.first.0.lock().map(|f| f.clone()).unwrap_or_default();
        if limit == 0 || first.len() < limit || first.iter().any(|(_, e)| e.is_none()) {
            return Ok(());
        }
        let (dir, reason) = &first[0];
        // The reason ends with the end of stderr; its beginning is quoted below instead.
        let reason = reason.as_deref().unwrap_or_default();
        let reason = reason.split(STDERR_TAIL_MARK).next().unwrap_or(reason);
        let stderr = fs::read(dir.join(STDERR_LOG)).unwrap_or_default();
        let head: Vec<String> = String::from_utf8_lossy(&stderr)
            .lines()
            .filter(|l| !l.trim().is_empty())
            .take(STDERR_LINES)
            .map(|l| format!("  | {l}"))
            .collect();
        let mut msg = format!(
            "stopped: the first {limit} trials all failed with an adapter error \
             (they are journaled; `[adapter] fail_fast = 0` runs on regardless)\n\
             adapter: {}\nfirst trial: {}",
            self.adapter.describe(),
            dir.display()
        );
        msg.push_str(&format!("\nits reason: {reason}"));
        if !head.is_empty() {
            msg.push_str(&format!("\nits stderr begins:\n{}", head.join("\n")));
        }
        Err(AdapterFailing(msg).into())
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
        gc_time_fraction: outcome.metrics().and_then(|m| m.gc_time_fraction),
        reason: outcome.reason().to_string(),
        attempts,
        worker,
        seconds: took.as_secs_f64(),
        key: String::new(),
    }
}
