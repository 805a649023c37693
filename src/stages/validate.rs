//! The validate stage: measure the search's best configuration and Flink's default through
//! the study's adapter, R repeats each at the search rate, and report the paper's speedups
//! (p99 latency, throughput, and their ratio). When the best fails its first run, the
//! search's next best configurations are tried in order (`[validate] candidates`), so a
//! model's best just past a failure boundary it could not see is not the answer.
//!
//! Artifacts (`validate/`): `trials.csv`, `trials/<best|rankN|default>-k<r>/`, `report.md`,
//! `summary.json`, and `best/` (conf directory and `config.json`) when the configuration
//! validated is not the search's best.

use crate::fsx::{self, StageDir};
use crate::stages::collect;
use crate::stages::search::record::{self, SearchSummary};
use crate::study::{Stage, Study};
use crate::trial::record::TrialRecord;
use crate::trial::runner::{Runner, Trial};
use anyhow::{Context, Result};
use flink::objective::{Measurement, Objective};
use flink::space::Config;
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// Averages of one configuration's repeats.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Measured {
    pub runs: usize,
    pub passed: usize,
    pub throughput: Option<f64>,
    pub latency_p99_ms: Option<f64>,
    /// The paper's ratio objective: mean of throughput / p99.
    pub ratio: Option<f64>,
    pub failures: Vec<String>,
}

impl Measured {
    fn of(records: &[TrialRecord]) -> Measured {
        let runs: Vec<Measurement> = records
            .iter()
            .filter_map(TrialRecord::measurement)
            .collect();
        let mean = |f: fn(&Measurement) -> f64| {
            (!runs.is_empty()).then(|| runs.iter().map(f).sum::<f64>() / runs.len() as f64)
        };
        Measured {
            runs: records.len(),
            passed: runs.len(),
            throughput: mean(|m| m.throughput),
            latency_p99_ms: mean(|m| m.latency_p99_ms),
            ratio: Objective::Ratio.perf(&runs),
            failures: records
                .iter()
                .filter(|r| !r.passed())
                .map(failure)
                .collect(),
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ValidateSummary {
    pub objective: Objective,
    pub rate: u64,
    pub repeats: u64,
    pub best: Measured,
    pub default: Measured,
    /// default p99 / best p99 (> 1: the best is faster).
    pub speedup_latency_p99: Option<f64>,
    /// best throughput / default throughput.
    pub speedup_throughput: Option<f64>,
    /// best ratio / default ratio.
    pub speedup_ratio: Option<f64>,
    /// The speedup of the study's objective.
    pub speedup_objective: Option<f64>,
    /// The speedup the model predicted (searches over the model only).
    pub predicted_speedup: Option<f64>,
    /// Which of the search's best configurations was validated (1: its best; more when
    /// the better ones failed their first run, see `rejected`). Its configuration is then
    /// in `validate/best/`.
    #[serde(default = "first_rank")]
    pub rank: usize,
    /// The failed first runs of the search's other best configurations tried.
    #[serde(default)]
    pub rejected: Vec<String>,
    pub seconds: f64,
}

fn first_rank() -> usize {
    1
}

/// The adapter runs of one validation, each written to `trials.csv` as it ends.
struct Session<'a> {
    runner: Runner<'a>,
    table: csv::Writer<std::fs::File>,
    bar: indicatif::ProgressBar,
    rate: u64,
}

impl Session<'_> {
    fn run(&mut self, name: &str, config: &Config, repeat: u64) -> Result<TrialRecord> {
        let trial = Trial {
            config_id: name,
            config,
            rate: self.rate,
            repeat,
        };
        let rec = self
            .runner
            .run(trial, 0)
            .with_context(|| format!("validating the {name} configuration"))?;
        if crate::trial::process::cancelled() {
            anyhow::bail!("interrupted");
        }
        self.table.serialize(&rec)?;
        self.table.flush()?;
        self.bar.inc(1);
        Ok(rec)
    }

    /// The first run of the search's best configurations in order until one passes:
    /// (its index, its record, the failed first runs of the others tried). When all fail,
    /// the search's best stands (index 0).
    fn choose(&mut self, ranked: &[Config]) -> Result<(usize, TrialRecord, Vec<TrialRecord>)> {
        let mut tried = Vec::new();
        for (i, config) in ranked.iter().enumerate() {
            if i > 0 {
                self.bar.inc_length(1);
            }
            let rec = self.run(&candidate_name(i), config, 0)?;
            if rec.passed() {
                return Ok((i, rec, tried));
            }
            tried.push(rec);
        }
        // Every one failed: the search's best stands (`ranked` is never empty).
        anyhow::ensure!(
            !tried.is_empty(),
            "the search left no configuration to validate"
        );
        let best = tried.remove(0);
        Ok((0, best, tried))
    }
}

/// The trial name of the search's `i`-th best configuration (0: `best`).
fn candidate_name(i: usize) -> String {
    match i {
        0 => "best".into(),
        _ => format!("rank{}", i + 1),
    }
}

/// Runs the stage.
pub fn run(study: &Study) -> Result<ValidateSummary> {
    let (_, predicted) = record::read_best(study)?;
    let mut ranked = record::read_ranked(study)?;
    ranked.truncate(study.file.validate.candidates as usize);
    let repeats = study.file.validate.repeats;
    let stage = StageDir::begin(&study.dir, Stage::Validate.name())?;
    let started = Instant::now();
    let mut session = Session {
        runner: Runner::new(study, stage.path.join("trials")),
        table: csv::Writer::from_path(stage.path.join(collect::TRIALS_CSV))?,
        bar: crate::progress::bar(2 * repeats, "validate"),
        rate: predicted.rate,
    };
    let default = study.space.default_config();
    let (chosen, first, rejected) = session.choose(&ranked)?;
    let name = candidate_name(chosen);
    let mut records = [vec![first], vec![session.run("default", &default, 0)?]];
    // Interleave best and default so slow drift of a real cluster hits both alike.
    for repeat in 1..repeats {
        records[0].push(session.run(&name, &ranked[chosen], repeat)?);
        records[1].push(session.run("default", &default, repeat)?);
    }
    session.bar.finish_and_clear();
    drop(session);
    if chosen > 0 {
        let header = format!(
            "flinktune: the search's rank-{} configuration, validated at {} rec/s after the better ones failed",
            chosen + 1,
            predicted.rate
        );
        study.write_config_dir(&ranked[chosen], &stage.path.join("best"), &header)?;
    }
    let summary = summarise(study, &records, &predicted, chosen + 1, &rejected, started);
    std::fs::write(stage.path.join("report.md"), report_md(&summary))?;
    study.record_inputs(Stage::Validate, None, &stage.path)?;
    fsx::write_json(&stage.path.join("summary.json"), &summary)?;
    stage.commit()?;
    Ok(summary)
}

/// The speedups of the measured runs of (the best, the default).
/// `rank`: which of the search's best was measured; `rejected`: the others tried.
fn summarise(
    study: &Study,
    records: &[Vec<TrialRecord>; 2],
    search: &SearchSummary,
    rank: usize,
    rejected: &[TrialRecord],
    started: Instant,
) -> ValidateSummary {
    let best_m = Measured::of(&records[0]);
    let default_m = Measured::of(&records[1]);
    let ratio_of = |a: Option<f64>, b: Option<f64>| a.zip(b).map(|(a, b)| a / b);
    let objective = study.file.objective;
    let speedup_latency_p99 = ratio_of(default_m.latency_p99_ms, best_m.latency_p99_ms);
    let speedup_throughput = ratio_of(best_m.throughput, default_m.throughput);
    let speedup_ratio = ratio_of(best_m.ratio, default_m.ratio);
    ValidateSummary {
        objective,
        rate: search.rate,
        repeats: study.file.validate.repeats,
        speedup_objective: match objective {
            Objective::Ratio => speedup_ratio,
            Objective::Latency => speedup_latency_p99,
            Objective::Throughput => speedup_throughput,
        },
        best: best_m,
        default: default_m,
        speedup_latency_p99,
        speedup_throughput,
        speedup_ratio,
        predicted_speedup: search.predicted_speedup,
        rank,
        rejected: rejected.iter().map(failure).collect(),
        seconds: started.elapsed().as_secs_f64(),
    }
}

impl ValidateSummary {
    /// Whether a runner-up was measured because the search's best failed its first run.
    pub fn runner_up(&self) -> bool {
        self.rank > 1
    }
}

/// A failed trial as the report lists it.
fn failure(r: &TrialRecord) -> String {
    format!("{}: {}", r.trial, r.reason)
}

fn fmt(x: Option<f64>, digits: usize) -> String {
    x.map(|v| format!("{v:.digits$}"))
        .unwrap_or_else(|| "failed".into())
}

fn fmt_speedup(x: Option<f64>) -> String {
    x.map(|v| format!("{v:.2}x"))
        .unwrap_or_else(|| "n/a".into())
}

fn report_md(s: &ValidateSummary) -> String {
    let mut out = format!(
        "# Validation at {} rec/s ({} trials of each configuration)\n\n\
         | | default | best | speedup |\n|---|---|---|---|\n\
         | p99 latency (ms) | {} | {} | {} |\n\
         | throughput (rec/s) | {} | {} | {} |\n\
         | throughput / p99 | {} | {} | {} |\n\n\
         {}\n",
        s.rate,
        s.repeats,
        fmt(s.default.latency_p99_ms, 2),
        fmt(s.best.latency_p99_ms, 2),
        fmt_speedup(s.speedup_latency_p99),
        fmt(s.default.throughput, 0),
        fmt(s.best.throughput, 0),
        fmt_speedup(s.speedup_throughput),
        fmt(s.default.ratio, 2),
        fmt(s.best.ratio, 2),
        fmt_speedup(s.speedup_ratio),
        match s.predicted_speedup {
            Some(x) => format!(
                "The model predicted a speedup of {x:.2}x for the `{}` objective.",
                s.objective
            ),
            None => "The search measured the system directly.".to_string(),
        },
    );
    if s.runner_up() {
        out.push_str(&format!(
            "\nThe search's best configuration failed its first run; its rank-{} configuration \
             was validated instead (in `validate/best/`).\n",
            s.rank
        ));
    }
    for f in s.rejected.iter() {
        out.push_str(&format!("\n- rejected: {f}"));
    }
    for f in s.best.failures.iter().chain(&s.default.failures) {
        out.push_str(&format!("\n- failed: {f}"));
    }
    out
}

/// A human summary: the report's table.
pub fn describe(s: &ValidateSummary) -> String {
    let mut out = report_md(s);
    out.push('\n');
    out.push_str(&format!(
        "measured speedup of the best configuration over Flink's default ({}): {}\n",
        s.objective,
        fmt_speedup(s.speedup_objective)
    ));
    out
}
