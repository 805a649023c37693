//! The collect stage: run every (configuration, rate, repeat) trial through the adapter
//! and record what it measured.
//!
//! Artifacts (`collect/`): `trials.csv` (one row per trial, appended and flushed as each
//! trial ends), `trials/<trial>/` (the trial directory of the adapter protocol: `conf/`,
//! `config.json`, `result.json`, the adapter's logs) and `summary.json`.

use crate::adapter::{Adapter, Outcome, TrialSpec};
use crate::fsx::{self, StageDir};
use crate::generate::{self, Generated};
use crate::objective::Measurement;
use crate::study::{AdapterKind, Stage, Study};
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

/// The trials table.
pub const TRIALS_CSV: &str = "trials.csv";

/// One row of the trials table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrialRecord {
    pub trial: String,
    pub config: String,
    pub rate: u64,
    pub repeat: u64,
    /// pass | fail (the adapter reports a FailConf) | error (the adapter misbehaved)
    pub status: String,
    pub throughput: Option<f64>,
    pub latency_p99_ms: Option<f64>,
    pub latency_p50_ms: Option<f64>,
    pub reason: String,
    /// Wall-clock time the trial took.
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

/// Counts per rate.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct RateCounts {
    pub pass: usize,
    pub fail: usize,
    pub error: usize,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct CollectSummary {
    pub adapter: String,
    pub trials: usize,
    pub pass: usize,
    pub fail: usize,
    pub error: usize,
    pub per_rate: BTreeMap<u64, RateCounts>,
    /// Failure reasons (first line), with how many trials gave each.
    pub reasons: Vec<(String, usize)>,
    pub seconds: f64,
}

/// The adapter a study names.
pub fn adapter_of(study: &Study) -> Adapter {
    match study.file.adapter.kind {
        AdapterKind::Sim => Adapter::Sim {
            cluster: Default::default(),
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

/// Prepares a trial directory from a generated configuration and runs it.
pub fn run_trial(
    adapter: &Adapter,
    study: &Study,
    generated: &Generated,
    trials_dir: &Path,
    rate: u64,
    repeat: u64,
) -> Result<TrialRecord> {
    let trial = trial_id(&generated.id, rate, repeat);
    let dir = trials_dir.join(&trial);
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    study
        .write_config_dir(&generated.config, &dir, &format!("flinktune trial {trial}"))
        .with_context(|| format!("cannot prepare trial {trial}"))?;
    let spec = TrialSpec {
        dir,
        rate,
        duration_s: study.file.duration_s,
        repeat,
        seed: study.file.seed,
        worker: 0,
    };
    let started = Instant::now();
    let outcome = adapter.run(&spec);
    Ok(record(
        trial,
        &generated.id,
        rate,
        repeat,
        &outcome,
        started.elapsed(),
    ))
}

/// A table row for a trial's outcome.
pub fn record(
    trial: String,
    config: &str,
    rate: u64,
    repeat: u64,
    outcome: &Outcome,
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
        seconds: took.as_secs_f64(),
    }
}

/// Runs the stage.
pub fn run(study: &Study) -> Result<CollectSummary> {
    let configs = generate::read_configs(study)?;
    let adapter = adapter_of(study);
    let stage = StageDir::begin(&study.dir, Stage::Collect.name())?;
    let trials_dir = stage.path.join("trials");
    let mut table = csv::Writer::from_path(stage.path.join(TRIALS_CSV))?;
    let total = configs.len() * study.file.rates.len() * study.file.repeats as usize;
    let bar = crate::progress::bar(total as u64, "collect");
    let started = Instant::now();
    let mut records = Vec::with_capacity(total);
    for generated in &configs {
        for &rate in &study.file.rates {
            for repeat in 0..study.file.repeats {
                let rec = run_trial(&adapter, study, generated, &trials_dir, rate, repeat)?;
                table.serialize(&rec)?;
                table.flush()?;
                records.push(rec);
                let failed = records.iter().filter(|r| r.status != "pass").count();
                bar.set_message(format!("{failed} failed"));
                bar.inc(1);
            }
        }
    }
    bar.finish_and_clear();
    drop(table);
    let summary = summarise(&adapter.describe(), &records, started.elapsed());
    fsx::write_json(&stage.path.join("summary.json"), &summary)?;
    stage.commit()?;
    Ok(summary)
}

/// Counts and groups the outcomes of a set of trials.
pub fn summarise(adapter: &str, records: &[TrialRecord], took: Duration) -> CollectSummary {
    let mut per_rate: BTreeMap<u64, RateCounts> = BTreeMap::new();
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    for r in records {
        let c = per_rate.entry(r.rate).or_default();
        match r.status.as_str() {
            "pass" => c.pass += 1,
            "fail" => c.fail += 1,
            _ => c.error += 1,
        }
        if r.status != "pass" {
            *reasons.entry(reason_kind(&r.reason)).or_default() += 1;
        }
    }
    let mut reasons: Vec<(String, usize)> = reasons.into_iter().collect();
    reasons.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let count = |s: &str| records.iter().filter(|r| r.status == s).count();
    CollectSummary {
        adapter: adapter.to_string(),
        trials: records.len(),
        pass: count("pass"),
        fail: count("fail"),
        error: records.len() - count("pass") - count("fail"),
        per_rate,
        reasons,
        seconds: took.as_secs_f64(),
    }
}

/// A failure reason without its numbers, so alike failures group together.
fn reason_kind(reason: &str) -> String {
    let first = reason.lines().next().unwrap_or("");
    let mut out = String::new();
    for c in first.chars() {
        if c.is_ascii_digit() || (c == '.' && out.ends_with('#')) {
            if !out.ends_with('#') {
                out.push('#');
            }
        } else {
            out.push(c);
        }
    }
    out.chars().take(90).collect()
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

/// A human summary.
pub fn describe(s: &CollectSummary) -> String {
    let mut out = format!(
        "collected {} trials with {} in {:.1} s: {} passed, {} FailConf, {} adapter errors\n",
        s.trials, s.adapter, s.seconds, s.pass, s.fail, s.error
    );
    for (rate, c) in &s.per_rate {
        out.push_str(&format!(
            "  rate {rate:>8} rec/s: {:>5} pass {:>5} fail {:>5} error\n",
            c.pass, c.fail, c.error
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

    #[test]
    fn reasons_group_without_their_numbers() {
        assert_eq!(
            reason_kind("Insufficient number of network buffers: required 4096, but only 28"),
            reason_kind("Insufficient number of network buffers: required 17, but only 3")
        );
    }
}
