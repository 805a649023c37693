//! `flinktune status`: where a study stands — which stages have finished, how collecting is
//! going (per rate: passed, failed, skipped, pending; failure reasons; time spent and
//! expected), and each finished stage's headline figure.

use crate::stages::collect::{self, CollectSummary};
use crate::stages::generate::GenerateSummary;
use crate::stages::model::ModelSummary;
use crate::stages::search::record::SearchSummary;
use crate::stages::validate::ValidateSummary;
use crate::study::fingerprint::{self, Freshness};
use crate::study::{Stage, Study};
use crate::trial::record::TrialStatus;
use anyhow::Result;
use serde::Serialize;

/// Everything `status` shows, also printed as JSON with `--json`.
#[derive(Debug, Serialize)]
pub struct StatusReport {
    pub study: String,
    pub flink_version: String,
    pub objective: String,
    pub adapter: String,
    pub generate: Option<GenerateSummary>,
    pub collect: Option<CollectStatus>,
    pub model: Option<ModelSummary>,
    pub search: Option<SearchSummary>,
    pub validate: Option<ValidateSummary>,
    /// The finished stages that no longer match the study, with what changed.
    pub stale: Vec<StaleStage>,
}

/// A finished stage whose inputs changed since it ran.
#[derive(Debug, Serialize)]
pub struct StaleStage {
    pub stage: String,
    pub changed: Vec<String>,
    /// The command that refreshes it.
    pub refresh: String,
}

/// The finished stages that are stale.
fn stale(study: &Study) -> Result<Vec<StaleStage>> {
    let stages = [
        Stage::Determine,
        Stage::Generate,
        Stage::Collect,
        Stage::Model,
        Stage::Search,
        Stage::Validate,
        Stage::Compare,
        Stage::Adapt,
    ];
    let mut out = Vec::new();
    for stage in stages {
        if let Freshness::Stale(changed) = study.freshness(stage)? {
            out.push(StaleStage {
                stage: stage.name().into(),
                changed,
                refresh: refresh_command(study, stage)?,
            });
        }
    }
    Ok(out)
}

/// The command that runs `stage` again as it last ran: compare with its evaluator, budget
/// and seeds, a replay with its trace and days (from the stages' summaries).
fn refresh_command(study: &Study, stage: Stage) -> Result<String> {
    let mut command = format!("flinktune {} {}", stage.name(), study.dir.display());
    let summary: Option<serde_json::Value> = study.summary(stage)?;
    let Some(summary) = summary else {
        return Ok(command);
    };
    match stage {
        Stage::Compare => {
            let over = summary["over"].as_str().unwrap_or("model");
            let (budget, seeds) = (&summary["budget"], &summary["seeds"]);
            command.push_str(&format!(" --over {over} --budget {budget} --seeds {seeds}"));
        }
        Stage::Adapt => {
            // The trace as recorded, absolute (the summary keeps it as it was given).
            let path = study.stage_dir(stage).join(fingerprint::INPUTS_FILE);
            let inputs: fingerprint::Inputs = crate::fsx::read_json(&path)?;
            let trace = match inputs.files.keys().next() {
                Some(trace) => trace.clone(),
                None => summary["trace"].as_str().unwrap_or_default().to_string(),
            };
            let options = &summary["options"];
            let steps = summary["policies"][0]["steps"].as_f64().unwrap_or_default();
            let days = steps * options["step_s"].as_f64().unwrap_or_default() / 86_400.0;
            command.push_str(&format!(" --trace {trace} --replay-days {days}"));
        }
        _ => {}
    }
    Ok(command)
}

#[derive(Debug, Serialize)]
pub struct CollectStatus {
    /// finished | interrupted
    pub state: String,
    pub planned: usize,
    pub done: usize,
    pub counts: CollectSummary,
    /// Adapter time spent so far, seconds.
    pub spent_s: f64,
    /// Pending trials × the mean time of the trials that ran, for one worker.
    pub remaining_s: f64,
}

/// Gathers the report.
pub fn report(study: &Study) -> Result<StatusReport> {
    let generate: Option<GenerateSummary> = study.summary(Stage::Generate)?;
    let collect = match generate {
        Some(_) => collect::progress(study)?.map(|p| {
            let ran: Vec<f64> = p
                .records
                .iter()
                .filter(|r| r.status != TrialStatus::Skipped)
                .map(|r| r.seconds)
                .collect();
            let mean = if ran.is_empty() {
                0.0
            } else {
                ran.iter().sum::<f64>() / ran.len() as f64
            };
            let pending = p.planned.saturating_sub(p.records.len());
            CollectStatus {
                state: if p.finished {
                    "finished"
                } else {
                    "interrupted"
                }
                .into(),
                planned: p.planned,
                done: p.records.len(),
                spent_s: ran.iter().sum(),
                remaining_s: pending as f64 * mean,
                counts: p.summary,
            }
        }),
        None => None,
    };
    Ok(StatusReport {
        study: study.dir.display().to_string(),
        flink_version: study.file.flink_version.to_string(),
        objective: study.file.objective.to_string(),
        adapter: crate::trial::runner::adapter_of(study).describe(),
        generate,
        collect,
        model: study.summary(Stage::Model)?,
        search: study.summary(Stage::Search)?,
        validate: study.summary(Stage::Validate)?,
        stale: stale(study)?,
    })
}

fn duration(s: f64) -> String {
    let s = s.round() as u64;
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min {} s", s / 60, s % 60),
        _ => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}

/// The report for people.
pub fn describe(r: &StatusReport) -> String {
    let not_run = |stage: &str| format!("{stage:>9}: not run\n");
    let mut out = format!(
        "study {} (Flink {}, objective {}, adapter {})\n",
        r.study, r.flink_version, r.objective, r.adapter
    );
    match &r.generate {
        Some(g) => out.push_str(&format!(
            " generate: {} configurations of {} parameters; {} predicted FailConf {}\n",
            g.configs,
            g.parameters,
            g.predicted_failures,
            if g.replaced > 0 { "replaced" } else { "kept" }
        )),
        None => out.push_str(&not_run("generate")),
    }
    match &r.collect {
        Some(c) => {
            out.push_str(&format!(
                "  collect: {} — {} of {} trials done; {} spent, about {} to go at one worker\n",
                c.state,
                c.done,
                c.planned,
                duration(c.spent_s),
                duration(c.remaining_s)
            ));
            out.push_str(&collect::describe_rates(&c.counts, true));
        }
        None => out.push_str(&not_run("collect")),
    }
    match &r.model {
        Some(m) => out.push_str(&format!(
            "    model: test MAPE {:.1}%, R² {:.3} ({} rows)\n",
            m.test_mape_percent, m.test_r2, m.passing_rows
        )),
        None => out.push_str(&not_run("model")),
    }
    match &r.search {
        Some(s) => out.push_str(&format!(
            "   search: best {} {:.4} at {} rec/s after {} evaluations{}\n",
            s.objective,
            s.best_perf,
            s.rate,
            s.evaluations,
            s.predicted_speedup
                .map(|x| format!(", {x:.2}x the default predicted"))
                .unwrap_or_default()
        )),
        None => out.push_str(&not_run("search")),
    }
    match &r.validate {
        Some(v) => out.push_str(&format!(
            " validate: measured {} speedup {}\n",
            v.objective,
            v.speedup_objective
                .map(|x| format!("{x:.2}x"))
                .unwrap_or_else(|| "n/a (a configuration failed)".into())
        )),
        None => out.push_str(&not_run("validate")),
    }
    for s in &r.stale {
        out.push_str(&format!(
            "{:>9}: STALE ({}): run `{}`\n",
            s.stage,
            s.changed.join(", "),
            s.refresh
        ));
    }
    out
}
