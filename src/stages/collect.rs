//! The collect stage: run every (configuration, rate, repeat) trial through the adapter,
//! never losing a finished trial and never running one twice.
//!
//! Trials run from `.collect.partial/`. Each finished trial is appended to
//! `journal.jsonl` and fsynced before its worker takes the next one; the trials table is
//! derived from the journal. If the process dies (`kill -9`, a reboot), `flinktune collect`
//! resumes: trials in the journal are kept, trials that were running are run again from
//! scratch (their trial directories replaced). A torn last journal line (a crash during the
//! append) is dropped. Ctrl-C terminates the running adapters' process groups and leaves
//! the journal consistent. A lock file keeps two collects off one study. When every trial
//! has finished, the folder becomes `collect/`.
//!
//! Artifacts (`collect/`): `journal.jsonl`, `trials.csv` (one row per trial, in plan
//! order), `perf.csv` (the objective per configuration and rate over its repeats, with the
//! spread), `trials/<trial>/` (the adapter protocol's trial directories), `summary.json`.

use crate::fsx::{self, StageDir};
use crate::stages::generate::{self, Generated};
use crate::study::{AdapterKind, Stage, Study};
use crate::trial::adapter::{self, Adapter, Outcome, TrialSpec};
use anyhow::{Context, Result, bail};
use flink::objective::{Measurement, Objective};
use flink::precheck;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet, VecDeque};
use std::fs;
use std::path::Path;
use std::sync::Mutex;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The trials table.
pub const TRIALS_CSV: &str = "trials.csv";
/// The journal of finished trials.
pub const JOURNAL: &str = "journal.jsonl";
const JOURNAL_FORMAT: u32 = 1;
const PARTIAL: &str = ".collect.partial";
const LOCK: &str = ".collect.lock";

/// One row of the trials table (and one journal entry).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrialRecord {
    pub trial: String,
    pub config: String,
    pub rate: u64,
    pub repeat: u64,
    /// pass | fail (the adapter reports a FailConf) | error (the adapter misbehaved) |
    /// skipped (predicted to fail by Flink's memory rules; not run)
    pub status: String,
    pub throughput: Option<f64>,
    pub latency_p99_ms: Option<f64>,
    pub latency_p50_ms: Option<f64>,
    pub reason: String,
    /// Runs of the adapter (1 + retries of transient failures).
    pub attempts: u32,
    pub worker: usize,
    /// Wall-clock time the trial took, all attempts.
    pub seconds: f64,
}

impl TrialRecord {
    pub fn measurement(&self) -> Option<Measurement> {
        match (self.status.as_str(), self.throughput, self.latency_p99_ms) {
            ("pass", Some(throughput), Some(latency_p99_ms)) => Some(Measurement {
                throughput,
                latency_p99_ms,
            }),
            _ => None,
        }
    }
}

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
    /// Failure reasons (numbers masked), with how many trials gave each.
    pub reasons: Vec<(String, usize)>,
    /// Adapter time summed over trials, and wall time of this run.
    pub trial_seconds: f64,
    pub seconds: f64,
    pub workers: usize,
    /// Trials this run found finished in an interrupted run's journal.
    pub resumed: usize,
}

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
            grace: Duration::from_secs(study.file.adapter.kill_grace_s),
        },
    }
}

/// The id of a trial.
pub fn trial_id(config: &str, rate: u64, repeat: u64) -> String {
    format!("{config}-r{rate}-k{repeat}")
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

/// Prepares a trial directory from a configuration and runs it, retrying transient
/// failures up to the study's `retries`.
pub fn run_trial(
    adapter: &Adapter,
    study: &Study,
    generated: &Generated,
    trials_dir: &Path,
    rate: u64,
    repeat: u64,
    worker: usize,
) -> Result<TrialRecord> {
    run_trial_outcome(adapter, study, generated, trials_dir, rate, repeat, worker).map(|(r, _)| r)
}

/// [`run_trial`], also returning the adapter's full outcome (with every extra field of its
/// result, which the multi-objective search reads).
pub fn run_trial_outcome(
    adapter: &Adapter,
    study: &Study,
    generated: &Generated,
    trials_dir: &Path,
    rate: u64,
    repeat: u64,
    worker: usize,
) -> Result<(TrialRecord, Outcome)> {
    let trial = trial_id(&generated.id, rate, repeat);
    let dir = trials_dir.join(&trial);
    let started = Instant::now();
    let mut attempts = 0;
    let outcome = loop {
        attempts += 1;
        if dir.exists() {
            fs::remove_dir_all(&dir).with_context(|| format!("cannot clear {}", dir.display()))?;
        }
        fs::create_dir_all(&dir)?;
        study
            .write_config_dir(&generated.config, &dir, &format!("flinktune trial {trial}"))
            .with_context(|| format!("cannot prepare trial {trial}"))?;
        let spec = TrialSpec {
            dir: dir.clone(),
            rate,
            duration_s: study.file.duration_s,
            repeat,
            seed: study.file.seed,
            worker,
        };
        let outcome = adapter.run(&spec);
        let retry = outcome.is_transient()
            && u64::from(attempts) <= study.file.adapter.retries
            && !adapter::cancelled();
        if !retry {
            break outcome;
        }
    };
    let rec = record(
        trial,
        &generated.id,
        rate,
        repeat,
        &outcome,
        attempts,
        worker,
        started.elapsed(),
    );
    Ok((rec, outcome))
}

/// A table row for a trial's outcome.
#[allow(clippy::too_many_arguments)]
fn record(
    trial: String,
    config: &str,
    rate: u64,
    repeat: u64,
    outcome: &Outcome,
    attempts: u32,
    worker: usize,
    took: Duration,
) -> TrialRecord {
    let m = outcome.measurement();
    TrialRecord {
        trial,
        config: config.to_string(),
        rate,
        repeat,
        status: outcome.status().to_string(),
        throughput: m.map(|m| m.throughput),
        latency_p99_ms: m.map(|m| m.latency_p99_ms),
        latency_p50_ms: outcome.extra_number("latency_p50_ms"),
        reason: outcome.reason().to_string(),
        attempts,
        worker,
        seconds: took.as_secs_f64(),
    }
}

/// The journal's first line: what the trials belong to.
#[derive(Debug, Serialize, Deserialize)]
struct JournalHeader {
    journal: u32,
    /// Fingerprint of everything that decides the trials' results.
    plan: String,
    trials: usize,
}

/// FNV-1a, written out because the fingerprint must stay the same across builds and Rust
/// versions (std's hashers promise neither).
fn fingerprint(parts: &[&[u8]]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &b in part.iter().chain(&[0xff]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{h:016x}")
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

/// An open journal: appends are durable before `append` returns.
struct Journal {
    file: fs::File,
}

impl Journal {
    /// Opens or creates the journal of `dir`; returns it with the trials it holds.
    fn open(dir: &Path, header: &JournalHeader) -> Result<(Journal, Vec<TrialRecord>)> {
        let path = dir.join(JOURNAL);
        let mut records = Vec::new();
        if path.exists() {
            let (found, entries, valid_len) = read_journal(&path)?;
            if found.plan != header.plan {
                bail!(
                    "{} belongs to another plan (the configurations or the study's settings \
                     changed since it was interrupted): run `flinktune collect --restart` to \
                     discard it",
                    path.display()
                );
            }
            records = entries;
            // Drop a torn last line so the next append starts on a line of its own.
            let f = fs::OpenOptions::new().write(true).open(&path)?;
            f.set_len(valid_len)?;
            f.sync_all()?;
        } else {
            let mut line = serde_json::to_string(header)?;
            line.push('\n');
            fsx::write_atomic(&path, line.as_bytes())?;
        }
        let file = fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        Ok((Journal { file }, records))
    }

    fn append(&mut self, rec: &TrialRecord) -> Result<()> {
        fsx::append_json_line(&mut self.file, rec)
    }
}

/// Reads a journal: its header, its complete entries (first occurrence of each trial) and
/// the length of its valid prefix.
fn read_journal(path: &Path) -> Result<(JournalHeader, Vec<TrialRecord>, u64)> {
    let bytes = fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut lines = bytes.split_inclusive(|&b| b == b'\n');
    let first = lines.next().unwrap_or_default();
    let header: JournalHeader = serde_json::from_slice(first)
        .ok()
        .filter(|h: &JournalHeader| h.journal == JOURNAL_FORMAT && first.ends_with(b"\n"))
        .with_context(|| format!("{} has no valid header line", path.display()))?;
    let (entries, valid) = fsx::json_lines::<TrialRecord>(&bytes[first.len()..]);
    let mut seen = HashSet::new();
    let records = entries
        .into_iter()
        .filter(|r| seen.insert(r.trial.clone()))
        .collect();
    let valid = first.len() as u64 + valid;
    Ok((header, records, valid))
}

/// Holds `.collect.lock` (flock) for as long as it lives; the kernel releases it when the
/// process dies, however it dies.
struct StudyLock {
    _file: fs::File,
}

impl StudyLock {
    fn take(study_dir: &Path) -> Result<StudyLock> {
        use std::os::fd::AsRawFd;
        let path = study_dir.join(LOCK);
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        // SAFETY: flock on a descriptor this function owns.
        let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if r != 0 {
            bail!(
                "another flinktune is collecting in {} (it holds {})",
                study_dir.display(),
                path.display()
            );
        }
        Ok(StudyLock { _file: file })
    }
}

/// Runs the stage: resumes an interrupted run of the same plan, or starts afresh.
pub fn run(study: &Study, opts: CollectOptions) -> Result<CollectSummary> {
    let configs = generate::read_configs(study)?;
    let _lock = StudyLock::take(&study.dir)?;
    let planned = plan(study, &configs);
    let header = JournalHeader {
        journal: JOURNAL_FORMAT,
        plan: plan_fingerprint(study, &opts)?,
        trials: planned.len(),
    };
    let stage = if opts.restart {
        StageDir::begin(&study.dir, Stage::Collect.name())?
    } else {
        StageDir::resume(&study.dir, Stage::Collect.name())?
    };
    let (mut journal, mut done) = Journal::open(&stage.path, &header)?;
    let resumed = done.len();
    let finished: HashSet<String> = done.iter().map(|r| r.trial.clone()).collect();
    let trials_dir = stage.path.join("trials");
    // What a killed tuner left running must not write into trials that run again.
    if trials_dir.exists() {
        adapter::kill_strays(&trials_dir);
    }
    let adapter = adapter_of(study);

    // The table is derived from the journal: rewrite it, then append as trials end.
    let table_path = stage.path.join(TRIALS_CSV);
    let mut table = csv::Writer::from_path(&table_path)?;
    for r in &done {
        table.serialize(r)?;
    }
    table.flush()?;

    let mut queue: VecDeque<Planned> = VecDeque::new();
    for p in planned.iter().filter(|p| !finished.contains(&p.trial)) {
        let g = &configs[p.config];
        match (&g.predicted_failure, opts.run_predicted_failures) {
            (Some(why), false) => {
                let rec = TrialRecord {
                    trial: p.trial.clone(),
                    config: g.id.clone(),
                    rate: p.rate,
                    repeat: p.repeat,
                    status: "skipped".into(),
                    throughput: None,
                    latency_p99_ms: None,
                    latency_p50_ms: None,
                    reason: format!("predicted: {why}"),
                    attempts: 0,
                    worker: 0,
                    seconds: 0.0,
                };
                journal.append(&rec)?;
                table.serialize(&rec)?;
                done.push(rec);
            }
            _ => queue.push_back(p.clone()),
        }
    }
    table.flush()?;

    let workers = opts.workers.max(1).min(queue.len().max(1));
    let bar = crate::progress::bar(planned.len() as u64, "collect");
    bar.set_position(done.len() as u64);
    bar.reset_eta();
    let count = |records: &[TrialRecord], s: &str| records.iter().filter(|r| r.status == s).count();
    let started = Instant::now();
    let queue = Mutex::new(queue);
    let (tx, rx) = mpsc::channel::<Result<TrialRecord>>();
    let outcome: Result<()> = std::thread::scope(|scope| {
        for worker in 0..workers {
            let tx = tx.clone();
            let (queue, adapter, configs, trials_dir) = (&queue, &adapter, &configs, &trials_dir);
            scope.spawn(move || {
                loop {
                    if adapter::cancelled() {
                        break;
                    }
                    let next = queue.lock().map(|mut q| q.pop_front()).unwrap_or(None);
                    let Some(p) = next else { break };
                    let rec = run_trial(
                        adapter,
                        study,
                        &configs[p.config],
                        trials_dir,
                        p.rate,
                        p.repeat,
                        worker,
                    );
                    let stop = rec.is_err();
                    if tx.send(rec).is_err() || stop {
                        break;
                    }
                }
            });
        }
        drop(tx);
        for rec in rx {
            let rec = match rec {
                Ok(rec) => rec,
                Err(e) => {
                    adapter::request_cancel();
                    return Err(e);
                }
            };
            // A trial cut short by Ctrl-C is not a result: it runs again on resume.
            if adapter::cancelled() {
                continue;
            }
            journal.append(&rec)?;
            table.serialize(&rec)?;
            table.flush()?;
            done.push(rec);
            bar.set_message(format!(
                "{} pass, {} failed",
                count(&done, "pass"),
                done.len() - count(&done, "pass")
            ));
            bar.inc(1);
        }
        Ok(())
    });
    bar.finish_and_clear();
    outcome?;
    if adapter::cancelled() {
        bail!(
            "interrupted: {} of {} trials are done and journaled; run `flinktune collect {}` to \
             resume",
            done.len(),
            planned.len(),
            study.dir.display()
        );
    }

    // Plan order, whatever order the workers finished in.
    let order: BTreeMap<&str, usize> = planned
        .iter()
        .enumerate()
        .map(|(i, p)| (p.trial.as_str(), i))
        .collect();
    done.sort_by_key(|r| order.get(r.trial.as_str()).copied().unwrap_or(usize::MAX));
    let mut table = csv::Writer::from_path(&table_path)?;
    for r in &done {
        table.serialize(r)?;
    }
    table.flush()?;
    write_perf(&stage.path.join("perf.csv"), study.file.objective, &done)?;
    let mut summary = summarise(&adapter.describe(), &done, &planned_rates(&planned));
    summary.seconds = started.elapsed().as_secs_f64();
    summary.workers = workers;
    summary.resumed = resumed;
    fsx::write_json(&stage.path.join("summary.json"), &summary)?;
    stage.commit()?;
    Ok(summary)
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
        match r.status.as_str() {
            "pass" => c.pass += 1,
            "fail" => c.fail += 1,
            "skipped" => c.skipped += 1,
            _ => c.error += 1,
        }
    }
    let count = |s: &str| records.iter().filter(|r| r.status == s).count();
    CollectSummary {
        adapter: adapter.to_string(),
        trials: records.len(),
        pass: count("pass"),
        fail: count("fail"),
        error: count("error"),
        skipped: count("skipped"),
        per_rate,
        reasons: precheck::group_reasons(
            records
                .iter()
                .filter(|r| r.status != "pass")
                .map(|r| r.reason.as_str()),
        ),
        trial_seconds: records.iter().map(|r| r.seconds).sum(),
        seconds: 0.0,
        workers: 1,
        resumed: 0,
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
    let mut reader =
        csv::Reader::from_path(path).with_context(|| format!("cannot read {}", path.display()))?;
    reader
        .deserialize()
        .enumerate()
        .map(|(i, r)| r.with_context(|| format!("{}: row {}", path.display(), i + 2)))
        .collect()
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
    let configs = generate::read_configs(study)?;
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
    let (_, records, _) = read_journal(&journal)?;
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
        if s.resumed > 0 {
            format!(", {} resumed from the journal", s.resumed)
        } else {
            String::new()
        },
        s.pass,
        s.fail,
        s.error,
        s.skipped
    );
    out.push_str(&describe_rates(s));
    out
}

/// Per-rate counts and the most common failure reasons.
pub fn describe_rates(s: &CollectSummary) -> String {
    let mut out = String::new();
    for (rate, c) in &s.per_rate {
        out.push_str(&format!(
            "  rate {rate:>8} rec/s: {:>5} pass {:>5} fail {:>5} error {:>5} skipped {:>5} pending\n",
            c.pass, c.fail, c.error, c.skipped, c.pending
        ));
    }
    if !s.reasons.is_empty() {
        out.push_str("  most common failure reasons:\n");
        for (reason, n) in s.reasons.iter().take(5) {
            out.push_str(&format!("  {n:>6} × {reason}\n"));
        }
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
            status: "pass".into(),
            throughput: Some(10.0),
            latency_p99_ms: Some(2.0),
            latency_p50_ms: None,
            reason: String::new(),
            attempts: 1,
            worker: 0,
            seconds: 0.5,
        }
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
            let (mut j, found) = Journal::open(d.path(), &header).unwrap();
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
        let (mut j, found) = Journal::open(d.path(), &header).unwrap();
        assert_eq!(
            found.iter().map(|r| r.trial.as_str()).collect::<Vec<_>>(),
            ["a", "b"]
        );
        j.append(&rec("c")).unwrap();
        let (_, all, _) = read_journal(&path).unwrap();
        assert_eq!(all.len(), 3);
        // Another plan is refused.
        let other = JournalHeader {
            plan: "q".into(),
            ..header
        };
        let e = Journal::open(d.path(), &other).err().unwrap();
        assert!(e.to_string().contains("--restart"), "{e}");
    }

    #[test]
    fn aggregates_average_the_paper_objective_and_record_the_spread() {
        let mut a = rec("a");
        let mut b = rec("b");
        b.latency_p99_ms = Some(4.0);
        let mut c = rec("c");
        c.status = "error".into();
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

    #[test]
    fn fingerprints_are_stable() {
        assert_eq!(fingerprint(&[b"abc"]), fingerprint(&[b"abc"]));
        assert_ne!(fingerprint(&[b"ab", b"c"]), fingerprint(&[b"a", b"bc"]));
        // Pinned: a change here would orphan every interrupted run.
        assert_eq!(fingerprint(&[b""]), "af64724c8602eb6e");
    }
}
