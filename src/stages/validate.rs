//! The validate stage: measure the search's best configuration and Flink's default through
//! the study's adapter, R repeats each at the search rate, and report the paper's speedups
//! (p99 latency, throughput, and their ratio).
//!
//! Artifacts (`validate/`): `trials.csv`, `trials/<best|default>-k<r>/`, `report.md`,
//! `summary.json`.

use crate::fsx::{self, StageDir};
use crate::stages::collect;
use crate::stages::search::record;
use crate::study::{Stage, Study};
use crate::trial::record::TrialRecord;
use crate::trial::runner::{Runner, Trial};
use anyhow::{Context, Result};
use flink::objective::{Measurement, Objective};
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
                .map(|r| format!("{}: {}", r.trial, r.reason))
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
    pub seconds: f64,
}

/// Runs the stage.
pub fn run(study: &Study) -> Result<ValidateSummary> {
    let (best, predicted) = record::read_best(study)?;
    let rate = predicted.rate;
    let repeats = study.file.validate.repeats;
    let stage = StageDir::begin(&study.dir, Stage::Validate.name())?;
    let runner = Runner::new(study, stage.path.join("trials"));
    let mut table = csv::Writer::from_path(stage.path.join(collect::TRIALS_CSV))?;
    let started = Instant::now();
    let bar = crate::progress::bar(2 * repeats, "validate");
    let mut records: [Vec<TrialRecord>; 2] = [vec![], vec![]];
    // Interleave best and default so slow drift of a real cluster hits both alike.
    for repeat in 0..repeats {
        for (slot, (name, config)) in [("best", &best), ("default", &study.space.default_config())]
            .into_iter()
            .enumerate()
        {
            let trial = Trial {
                config_id: name,
                config,
                rate,
                repeat,
            };
            let rec = runner
                .run(trial, 0)
                .with_context(|| format!("validating the {name} configuration"))?;
            if crate::trial::process::cancelled() {
                anyhow::bail!("interrupted");
            }
            table.serialize(&rec)?;
            table.flush()?;
            records[slot].push(rec);
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    drop(table);
    let best_m = Measured::of(&records[0]);
    let default_m = Measured::of(&records[1]);
    let ratio_of = |a: Option<f64>, b: Option<f64>| a.zip(b).map(|(a, b)| a / b);
    let objective = study.file.objective;
    let speedup_latency_p99 = ratio_of(default_m.latency_p99_ms, best_m.latency_p99_ms);
    let speedup_throughput = ratio_of(best_m.throughput, default_m.throughput);
    let speedup_ratio = ratio_of(best_m.ratio, default_m.ratio);
    let summary = ValidateSummary {
        objective,
        rate,
        repeats,
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
        predicted_speedup: predicted.predicted_speedup,
        seconds: started.elapsed().as_secs_f64(),
    };
    std::fs::write(stage.path.join("report.md"), report_md(&summary))?;
    study.record_inputs(Stage::Validate, None, &stage.path)?;
    fsx::write_json(&stage.path.join("summary.json"), &summary)?;
    stage.commit()?;
    Ok(summary)
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
