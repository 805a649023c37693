//! The collect stage: run every (configuration, rate, repeat) trial through the adapter,
//! never losing a finished trial and never running one twice.
//!
//! Trials run from `.collect.partial/`. Each finished trial is appended to
//! `journal.jsonl` and fsynced before its worker takes the next one; the trials table is
//! derived from the journal. If the process dies (`kill -9`, a reboot), `flinktune collect`
//! resumes: trials in the journal are kept, trials that were running are run again from
//! scratch (their trial directories replaced). A torn last journal line (a crash during the
//! append) is dropped. Ctrl-C terminates the running adapters' process groups and leaves
//! the journal consistent (the study's lock, taken by the command line, keeps a second
//! writer out). When every trial has finished, the folder becomes `collect/`.
//!
//! Artifacts (`collect/`): `journal.jsonl`, `trials.csv` (one row per trial, in plan
//! order), `perf.csv` (the objective per configuration and rate over its repeats, with the
//! spread), `trials/<trial>/` (the adapter protocol's trial directories), `summary.json`.

use crate::fsx::{self, StageDir};
use crate::stages::generate::{self, Generated};
use crate::study::fingerprint::fingerprint;
use crate::study::{Stage, Study};
use crate::trial::journal::{self, Journal};
use crate::trial::record::TrialRecord;
use crate::trial::record::{TrialStatus, trial_id};
use crate::trial::runner::{Runner, Trial, adapter_of};
use anyhow::{Context, Result, bail};
use flink::objective::{Measurement, Objective};
use flink::precheck;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet, VecDeque};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::mpsc;
use std::time::Instant;

/// The trials table.
pub const TRIALS_CSV: &str = "trials.csv";
/// The journal of finished trials.
pub const JOURNAL: &str = "journal.jsonl";
const JOURNAL_FORMAT: u32 = 1;
const PARTIAL: &str = ".collect.partial";
/// An interrupted run of another plan, set aside while its finished trials are reused.
const DONOR: &str = ".collect.donor";

/// Options of the stage.
#[derive(Clone, Copy, Debug)]
pub struct CollectOptions {
    /// Trials run at once, each with its own `FLINKTUNE_WORKER`.
    pub workers: usize,
    /// Discard an interrupted run instead of resuming it.
    pub restart: bool,
    /// Run configurations the pre-check predicts to fail instead of skipping them.
    pub run_predicted_failures: bool,
}

impl Default for CollectOptions {
    fn default() -> Self {
        CollectOptions {
            workers: 1,
            restart: false,
            run_predicted_failures: false,
        }
    }
}

/// Counts per rate.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct RateCounts {
    pub pass: usize,
    pub fail: usize,
    pub error: usize,
    pub skipped: usize,
    pub pending: usize,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct CollectSummary {
    pub adapter: String,
    pub trials: usize,
    pub pass: usize,
    pub fail: usize,
    pub error: usize,
    pub skipped: usize,
    pub per_rate: BTreeMap<u64, RateCounts>,
    /// Failure reasons grouped by kind, with how many trials gave each.
    pub reasons: Vec<precheck::ReasonGroup>,
    /// Adapter time summed over trials, and wall time of this run.
    pub trial_seconds: f64,
    pub seconds: f64,
    pub workers: usize,
    /// Trials this run found finished in an interrupted run's journal.
    pub resumed: usize,
    /// Trials this run took over, already finished, from an earlier plan's run.
    #[serde(default)]
    pub reused: usize,
}

/// One trial of the plan.
#[derive(Clone, Debug)]
struct Planned {
    config: usize,
    rate: u64,
    repeat: u64,
    trial: String,
}

fn plan(study: &Study, configs: &[Generated]) -> Vec<Planned> {
    let mut out = Vec::new();
    for (i, g) in configs.iter().enumerate() {
        for &rate in &study.file.rates {
            for repeat in 0..study.file.repeats {
                out.push(Planned {
                    config: i,
                    rate,
                    repeat,
                    trial: trial_id(&g.id, rate, repeat),
                });
            }
        }
    }
    out
}

/// The journal's first line: what the trials belong to.
#[derive(Debug, Serialize, Deserialize)]
struct JournalHeader {
    journal: u32,
    /// Fingerprint of everything that decides the trials' results.
    plan: String,
    trials: usize,
}

fn plan_fingerprint(study: &Study, opts: &CollectOptions) -> Result<String> {
    let configs = fs::read(study.stage_dir(Stage::Generate).join(generate::CONFIGS_CSV))?;
    let f = &study.file;
    let settings = serde_json::json!({
        "rates": f.rates, "repeats": f.repeats, "duration_s": f.duration_s, "seed": f.seed,
        "flink_version": f.flink_version, "adapter": f.adapter, "sim": f.sim,
        "run_predicted_failures": opts.run_predicted_failures,
        "base": study.base.conf,
    });
    Ok(fingerprint(&[&configs, settings.to_string().as_bytes()]))
}

/// Opens the journal of `dir`, refusing one of another plan; returns it with the trials it
/// holds (the first entry of each trial).
fn open_journal(dir: &Path, header: &JournalHeader) -> Result<(Journal, Vec<TrialRecord>)> {
    let (journal, entries) = Journal::open(
        &dir.join(JOURNAL),
        Some(header),
        |path, found: Option<JournalHeader>, _: &[TrialRecord]| {
            let found = found
                .filter(|h| h.journal == JOURNAL_FORMAT)
                .with_context(|| format!("{} has no valid header line", path.display()))?;
            if found.plan != header.plan {
                bail!(
                    "{} belongs to another plan (the configurations or the study's settings \
                     changed since it was interrupted): run `flinktune collect --restart` to \
                     discard it",
                    path.display()
                );
            }
            Ok(())
        },
    )?;
    Ok((journal, first_of_each_trial(entries)))
}

/// The trials a journal holds: the first entry of each.
fn read_journal(path: &Path) -> Result<Vec<TrialRecord>> {
    let contents = journal::read::<JournalHeader, TrialRecord>(path, true)?;
    Ok(first_of_each_trial(contents.entries))
}

fn first_of_each_trial(entries: Vec<TrialRecord>) -> Vec<TrialRecord> {
    let mut seen = HashSet::new();
    entries
        .into_iter()
        .filter(|r| seen.insert(r.trial.clone()))
        .collect()
}

/// Runs the stage: resumes an interrupted run of the same plan, or starts afresh reusing
/// every finished trial (of the finished stage or an interrupted run of another plan) that
/// is still in the plan.
pub fn run(study: &Study, opts: CollectOptions) -> Result<CollectSummary> {
    let configs = generate::read_configs(study)?;
    let planned = plan(study, &configs);
    let header = JournalHeader {
        journal: JOURNAL_FORMAT,
        plan: plan_fingerprint(study, &opts)?,
        trials: planned.len(),
    };
    // What a killed run left running must not write into trials that run again.
    crate::trial::runner::end_orphans(study);
    let stage = open_stage(study, &header, opts.restart)?;
    let (journal, done) = open_journal(&stage.path, &header)?;
    let resumed = done.len();
    let trials_dir = stage.path.join("trials");
    let mut book = Book::open(&stage.path, journal, done)?;
    let reused = match opts.restart {
        true => 0,
        false => book.reuse(study, &planned, &configs)?,
    };
    let queue = book.skip_predicted(study, &planned, &configs, opts.run_predicted_failures)?;
    let runner = Runner::new(study, trials_dir);
    let workers = opts.workers.max(1).min(queue.len().max(1));
    let started = Instant::now();
    run_queue(&runner, &configs, queue, workers, &mut book, planned.len())?;
    if crate::trial::process::cancelled() {
        bail!(
            "interrupted: {} of {} trials are done and journaled; run `flinktune collect {}` to \
             resume",
            book.done.len(),
            planned.len(),
            study.dir.display()
        );
    }
    let mut summary = book.finish(study, &planned, &runner.adapter.describe())?;
    summary.seconds = started.elapsed().as_secs_f64();
    summary.workers = workers;
    summary.resumed = resumed;
    summary.reused = reused;
    study.record_inputs(Stage::Collect, None, &stage.path)?;
    fsx::write_json(&stage.path.join("summary.json"), &summary)?;
    stage.commit()?;
    Ok(summary)
}

/// The run's folder: the interrupted run's when it is of this plan, else a fresh one (an
/// interrupted run of another plan is set aside as `.collect.donor/` for its trials to be
/// reused; `restart` discards it).
fn open_stage(study: &Study, header: &JournalHeader, restart: bool) -> Result<StageDir> {
    let (partial, donor) = (study.dir.join(PARTIAL), study.dir.join(DONOR));
    if restart {
        remove_dir(&donor)?;
        return StageDir::begin(&study.dir, Stage::Collect.name());
    }
    let journal = partial.join(JOURNAL);
    if journal.is_file() {
        let found = journal::read::<JournalHeader, TrialRecord>(&journal, true)?.header;
        if found.is_some_and(|h| h.journal == JOURNAL_FORMAT && h.plan == header.plan) {
            return StageDir::resume(&study.dir, Stage::Collect.name());
        }
        remove_dir(&donor)?;
        fs::rename(&partial, &donor)
            .with_context(|| format!("cannot set {} aside", partial.display()))?;
        fsx::sync_dir(&study.dir)?;
    }
    StageDir::begin(&study.dir, Stage::Collect.name())
}

fn remove_dir(dir: &Path) -> Result<()> {
    if dir.exists() {
        fs::remove_dir_all(dir).with_context(|| format!("cannot remove {}", dir.display()))?;
    }
    Ok(())
}

/// The finished trials (not skipped, with a key) of the finished stage and of an interrupted
/// run set aside, by key, with the folder holding their trial directories.
fn donors(study: &Study) -> Result<BTreeMap<String, (TrialRecord, PathBuf)>> {
    let mut out = BTreeMap::new();
    for dir in [study.stage_dir(Stage::Collect), study.dir.join(DONOR)] {
        let path = dir.join(JOURNAL);
        if !path.is_file() {
            continue;
        }
        for r in read_journal(&path)? {
            if !r.key.is_empty() && r.status != TrialStatus::Skipped {
                out.insert(r.key.clone(), (r, dir.join("trials")));
            }
        }
    }
    Ok(out)
}

/// The finished trials of a run, kept in three places at once: the journal (durable, what
/// a resume reads), the trials table (derived, for people and tools) and memory.
struct Book {
    journal: Journal,
    table: csv::Writer<fs::File>,
    dir: std::path::PathBuf,
    done: Vec<TrialRecord>,
}

impl Book {
    /// Rewrites the table from the journal's trials, to append to as trials end.
    fn open(dir: &Path, journal: Journal, done: Vec<TrialRecord>) -> Result<Book> {
        let mut table = csv::Writer::from_path(dir.join(TRIALS_CSV))?;
        for r in &done {
            table.serialize(r)?;
        }
        table.flush()?;
        Ok(Book {
            journal,
            table,
            dir: dir.to_path_buf(),
            done,
        })
    }

    fn record(&mut self, rec: TrialRecord) -> Result<()> {
        self.journal.append(&rec)?;
        self.table.serialize(&rec)?;
        self.table.flush()?;
        self.done.push(rec);
        Ok(())
    }

    /// Records every unfinished planned trial a donor (see [`donors`]) already ran, its
    /// trial directory linked in under the plan's id; returns how many.
    fn reuse(
        &mut self,
        study: &Study,
        planned: &[Planned],
        configs: &[Generated],
    ) -> Result<usize> {
        let donors = donors(study)?;
        let finished: HashSet<String> = self.done.iter().map(|r| r.trial.clone()).collect();
        let mut reused = 0;
        for p in planned.iter().filter(|p| !finished.contains(&p.trial)) {
            let g = &configs[p.config];
            let key = study.trial_key(&g.config, p.rate, p.repeat);
            let Some((found, trials)) = donors.get(&key) else {
                continue;
            };
            let from = trials.join(&found.trial);
            if from.is_dir() {
                fsx::link_tree(&from, &self.dir.join("trials").join(&p.trial))?;
            }
            let mut rec = found.clone();
            rec.trial = p.trial.clone();
            rec.config = g.id.clone();
            self.record(rec)?;
            reused += 1;
        }
        remove_dir(&study.dir.join(DONOR))?;
        Ok(reused)
    }

    /// Records the unfinished trials of configurations predicted to fail as skipped
    /// (unless they are to run anyway); returns the trials left to run. The prediction is
    /// made again here, against the cluster this study runs on (`Study::predict_failure`):
    /// the generated set does not depend on the adapter, so a set generated beside another
    /// cluster (or none) is screened for this one.
    fn skip_predicted(
        &mut self,
        study: &Study,
        planned: &[Planned],
        configs: &[Generated],
        run_predicted_failures: bool,
    ) -> Result<VecDeque<Planned>> {
        let finished: HashSet<String> = self.done.iter().map(|r| r.trial.clone()).collect();
        let mut queue = VecDeque::new();
        for p in planned.iter().filter(|p| !finished.contains(&p.trial)) {
            let g = &configs[p.config];
            let predicted = g
                .predicted_failure
                .clone()
                .or_else(|| study.predict_failure(&g.config));
            match (&predicted, run_predicted_failures) {
                (Some(why), false) => {
                    let reason = format!("predicted: {why}");
                    self.record(TrialRecord::skipped(&g.id, p.rate, p.repeat, reason))?
                }
                _ => queue.push_back(p.clone()),
            }
        }
        Ok(queue)
    }

    fn passed(&self) -> usize {
        self.done.iter().filter(|r| r.passed()).count()
    }

    /// Puts the trials in plan order (whatever order the workers finished in), rewrites
    /// the table and the perf table, and sums them up.
    fn finish(
        mut self,
        study: &Study,
        planned: &[Planned],
        adapter: &str,
    ) -> Result<CollectSummary> {
        let order: BTreeMap<&str, usize> = planned
            .iter()
            .enumerate()
            .map(|(i, p)| (p.trial.as_str(), i))
            .collect();
        let done = &mut self.done;
        done.sort_by_key(|r| order.get(r.trial.as_str()).copied().unwrap_or(usize::MAX));
        let mut table = csv::Writer::from_path(self.dir.join(TRIALS_CSV))?;
        for r in done.iter() {
            table.serialize(r)?;
        }
        table.flush()?;
        write_perf(&self.dir.join("perf.csv"), study.file.objective, done)?;
        Ok(summarise(adapter, done, &planned_rates(planned)))
    }
}

/// Runs the queue on `workers` threads, each its own adapter worker, recording each trial
/// as it ends. An error stops every worker; Ctrl-C stops them after their trials, which
/// are not recorded (they run again on resume).
fn run_queue(
    runner: &Runner<'_>,
    configs: &[Generated],
    queue: VecDeque<Planned>,
    workers: usize,
    book: &mut Book,
    planned: usize,
) -> Result<()> {
    let bar = crate::progress::bar(planned as u64, "collect");
    bar.set_position(book.done.len() as u64);
    bar.reset_eta();
    let queue = Mutex::new(queue);
    let (tx, rx) = mpsc::channel::<Result<TrialRecord>>();
    let outcome: Result<()> = std::thread::scope(|scope| {
        for worker in 0..workers {
            let (tx, queue) = (tx.clone(), &queue);
            scope.spawn(move || work(runner, configs, queue, worker, tx));
        }
        drop(tx);
        for rec in rx {
            let rec = rec.inspect_err(|_| crate::trial::process::request_cancel())?;
            // A trial cut short by Ctrl-C is not a result: it runs again on resume.
            if crate::trial::process::cancelled() {
                continue;
            }
            book.record(rec)?;
            let passed = book.passed();
            bar.set_message(format!(
                "{passed} pass, {} failed",
                book.done.len() - passed
            ));
            bar.inc(1);
        }
        Ok(())
    });
    bar.finish_and_clear();
    outcome
}

/// One worker: takes planned trials off the queue until it is empty, an error occurs or
/// the run is cancelled, sending each result.
fn work(
    runner: &Runner<'_>,
    configs: &[Generated],
    queue: &Mutex<VecDeque<Planned>>,
    worker: usize,
    tx: mpsc::Sender<Result<TrialRecord>>,
) {
    while !crate::trial::process::cancelled() {
        let next = queue.lock().map(|mut q| q.pop_front()).unwrap_or(None);
        let Some(p) = next else { break };
        let g = &configs[p.config];
        let trial = Trial {
            config_id: &g.id,
            config: &g.config,
            rate: p.rate,
            repeat: p.repeat,
        };
        let rec = runner.run(trial, worker);
        let stop = rec.is_err();
        if tx.send(rec).is_err() || stop {
            break;
        }
    }
}

fn planned_rates(planned: &[Planned]) -> Vec<u64> {
    planned.iter().map(|p| p.rate).collect()
}

/// Counts and groups the outcomes of a set of trials; `planned` lists the rate of every
/// planned trial, so what is not in `records` counts as pending.
pub fn summarise(adapter: &str, records: &[TrialRecord], planned: &[u64]) -> CollectSummary {
    let mut per_rate: BTreeMap<u64, RateCounts> = BTreeMap::new();
    for &rate in planned {
        per_rate.entry(rate).or_default().pending += 1;
    }
    for r in records {
        let c = per_rate.entry(r.rate).or_default();
        c.pending = c.pending.saturating_sub(1);
        match r.status {
            TrialStatus::Pass => c.pass += 1,
            TrialStatus::Fail => c.fail += 1,
            TrialStatus::Skipped => c.skipped += 1,
            TrialStatus::Error => c.error += 1,
        }
    }
    let count = |s: TrialStatus| records.iter().filter(|r| r.status == s).count();
    CollectSummary {
        adapter: adapter.to_string(),
        trials: records.len(),
        pass: count(TrialStatus::Pass),
        fail: count(TrialStatus::Fail),
        error: count(TrialStatus::Error),
        skipped: count(TrialStatus::Skipped),
        per_rate,
        reasons: precheck::group_reasons(
            records
                .iter()
                .filter(|r| !r.passed())
                .map(|r| r.reason.as_str()),
        ),
        trial_seconds: records.iter().map(|r| r.seconds).sum(),
        seconds: 0.0,
        workers: 1,
        resumed: 0,
        reused: 0,
    }
}

/// The objective of one (configuration, rate) over its repeats.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PerfRow {
    pub config: String,
    pub rate: u64,
    pub runs: usize,
    pub passed: usize,
    /// The mean of the per-run objective (the paper's perf); None when no run passed.
    pub perf: Option<f64>,
    /// The standard deviation of the per-run objective.
    pub perf_std: Option<f64>,
    pub throughput_mean: Option<f64>,
    pub latency_p99_mean_ms: Option<f64>,
    pub latency_p99_std_ms: Option<f64>,
}

fn mean_std(xs: &[f64]) -> (Option<f64>, Option<f64>) {
    if xs.is_empty() {
        return (None, None);
    }
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
    (Some(mean), Some(var.sqrt()))
}

/// Aggregates trials per (configuration, rate), in (configuration, rate) order.
pub fn aggregate(objective: Objective, trials: &[TrialRecord]) -> Vec<PerfRow> {
    let mut groups: BTreeMap<(&str, u64), Vec<&TrialRecord>> = BTreeMap::new();
    for t in trials {
        groups.entry((&t.config, t.rate)).or_default().push(t);
    }
    groups
        .into_iter()
        .map(|((config, rate), runs)| {
            let passing: Vec<Measurement> = runs.iter().filter_map(|r| r.measurement()).collect();
            let values: Vec<f64> = passing.iter().map(|m| objective.run_value(m)).collect();
            let p99: Vec<f64> = passing.iter().map(|m| m.latency_p99_ms).collect();
            let tput: Vec<f64> = passing.iter().map(|m| m.throughput).collect();
            let (perf, perf_std) = mean_std(&values);
            let (latency_p99_mean_ms, latency_p99_std_ms) = mean_std(&p99);
            PerfRow {
                config: config.to_string(),
                rate,
                runs: runs.len(),
                passed: passing.len(),
                perf,
                perf_std,
                throughput_mean: mean_std(&tput).0,
                latency_p99_mean_ms,
                latency_p99_std_ms,
            }
        })
        .collect()
}

fn write_perf(path: &Path, objective: Objective, trials: &[TrialRecord]) -> Result<()> {
    let mut w = csv::Writer::from_path(path)?;
    for row in aggregate(objective, trials) {
        w.serialize(row)?;
    }
    w.flush()?;
    Ok(())
}

/// Reads the trials table of the finished collect stage.
pub fn read_trials(study: &Study) -> Result<Vec<TrialRecord>> {
    let dir = study.require(Stage::Collect)?;
    read_trials_csv(&dir.join(TRIALS_CSV))
}

/// Reads a trials table.
pub fn read_trials_csv(path: &Path) -> Result<Vec<TrialRecord>> {
    crate::fsx::read_csv(path)
}

/// Where collecting stands, finished or interrupted.
#[derive(Debug)]
pub struct Progress {
    pub finished: bool,
    pub planned: usize,
    pub records: Vec<TrialRecord>,
    pub summary: CollectSummary,
}

/// Reads the state of collecting from the finished folder or an interrupted run's journal
/// (None when collecting has not started).
pub fn progress(study: &Study) -> Result<Option<Progress>> {
    // Fresh or not: status shows stale stages too.
    let table = study
        .require_finished(Stage::Generate)?
        .join(generate::CONFIGS_CSV);
    let configs = generate::read_configs_csv(study, &table)?;
    let planned = plan(study, &configs);
    let rates = planned_rates(&planned);
    let finished_dir = study.stage_dir(Stage::Collect);
    let (finished, dir) = if finished_dir.join("summary.json").is_file() {
        (true, finished_dir)
    } else {
        (false, study.dir.join(PARTIAL))
    };
    let journal = dir.join(JOURNAL);
    if !journal.is_file() {
        return Ok(None);
    }
    let records = read_journal(&journal)?;
    let summary = summarise(&adapter_of(study).describe(), &records, &rates);
    Ok(Some(Progress {
        finished,
        planned: planned.len(),
        records,
        summary,
    }))
}

/// A human summary.
pub fn describe(s: &CollectSummary) -> String {
    let mut out = format!(
        "collected {} trials with {} in {:.1} s ({} worker{}{}): {} passed, {} FailConf, \
         {} adapter errors, {} skipped as predicted FailConf\n",
        s.trials,
        s.adapter,
        s.seconds,
        s.workers,
        if s.workers == 1 { "" } else { "s" },
        match (s.resumed, s.reused) {
            (0, 0) => String::new(),
            (n, 0) => format!(", {n} resumed from the journal"),
            (0, m) => format!(", {m} already finished, reused"),
            (n, m) => format!(", {n} resumed from the journal, {m} already finished, reused"),
        },
        s.pass,
        s.fail,
        s.error,
        s.skipped
    );
    out.push_str(&describe_rates(s, crate::progress::verbose()));
    out
}

/// Per-rate counts and the failure reasons (`full`: every kind, each whole; see
/// [`crate::stages::reasons::describe`]).
pub fn describe_rates(s: &CollectSummary, full: bool) -> String {
    let mut out = String::new();
    for (rate, c) in &s.per_rate {
        out.push_str(&format!(
            "  rate {rate:>8} rec/s: {:>5} pass {:>5} fail {:>5} error {:>5} skipped {:>5} pending\n",
            c.pass, c.fail, c.error, c.skipped, c.pending
        ));
    }
    if !s.reasons.is_empty() {
        out.push_str("  failure reasons:\n");
        out.push_str(&crate::stages::reasons::describe(&s.reasons, full));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn rec(trial: &str) -> TrialRecord {
        TrialRecord {
            trial: trial.into(),
            config: "c0000".into(),
            rate: 10,
            repeat: 0,
            status: TrialStatus::Pass,
            throughput: Some(10.0),
            latency_p99_ms: Some(2.0),
            latency_p50_ms: None,
            gc_time_fraction: None,
            reason: String::new(),
            attempts: 1,
            worker: 0,
            seconds: 0.5,
            key: String::new(),
        }
    }

    #[test]
    fn a_trials_table_from_before_the_gc_column_still_reads() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join(TRIALS_CSV);
        let old = "trial,config,rate,repeat,status,throughput,latency_p99_ms,latency_p50_ms,\
                   reason,attempts,worker,seconds,key\n\
                   c0-r10-k0,c0,10,0,pass,10.0,2.0,,,1,0,0.5,abc\n";
        std::fs::write(&path, old).unwrap();
        let rows = read_trials_csv(&path).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].gc_time_fraction, None);
        assert_eq!(rows[0].latency_p99_ms, Some(2.0));
    }

    #[test]
    fn a_torn_journal_line_is_dropped_and_duplicates_ignored() {
        let d = tempfile::tempdir().unwrap();
        let header = JournalHeader {
            journal: JOURNAL_FORMAT,
            plan: "p".into(),
            trials: 3,
        };
        {
            let (mut j, found) = open_journal(d.path(), &header).unwrap();
            assert!(found.is_empty());
            j.append(&rec("a")).unwrap();
            j.append(&rec("b")).unwrap();
            j.append(&rec("a")).unwrap();
        }
        // A crash in the middle of the next append.
        let path = d.path().join(JOURNAL);
        let mut f = fs::OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"trial\":\"c\",\"con").unwrap();
        drop(f);
        let (mut j, found) = open_journal(d.path(), &header).unwrap();
        assert_eq!(
            found.iter().map(|r| r.trial.as_str()).collect::<Vec<_>>(),
            ["a", "b"]
        );
        j.append(&rec("c")).unwrap();
        let all = read_journal(&path).unwrap();
        assert_eq!(all.len(), 3);
        // Another plan is refused.
        let other = JournalHeader {
            plan: "q".into(),
            ..header
        };
        let e = open_journal(d.path(), &other).err().unwrap();
        assert!(e.to_string().contains("--restart"), "{e}");
    }

    #[test]
    fn aggregates_average_the_paper_objective_and_record_the_spread() {
        let mut a = rec("a");
        let mut b = rec("b");
        b.latency_p99_ms = Some(4.0);
        let mut c = rec("c");
        c.status = TrialStatus::Error;
        a.repeat = 0;
        b.repeat = 1;
        c.repeat = 2;
        let rows = aggregate(Objective::Ratio, &[a, b, c]);
        assert_eq!(rows.len(), 1);
        let r = &rows[0];
        assert_eq!((r.runs, r.passed), (3, 2));
        // (10/2 + 10/4) / 2 = 3.75, spread 1.25.
        assert_eq!(r.perf, Some(3.75));
        assert_eq!(r.perf_std, Some(1.25));
        assert_eq!(r.latency_p99_mean_ms, Some(3.0));
    }
}
