//! What a search records: each evaluation (`Step`), the journal of a search over the
//! system, `history.csv`, the stage's summary, and the readers other stages use
//! (`read_best` for validate, `read_journal` for transfer). Kept apart from the optimiser
//! so that readers of a finished search do not depend on how it searched.

use crate::fsx;
use crate::stages::search::system;
use crate::study::{Over, Stage, Study};
use crate::trial::journal;
use crate::trial::record::TrialStatus;
use anyhow::{Context, Result, bail};
use flink::objective::Objective;
use flink::space::{Config, Space};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// What evaluating one configuration gave.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Evaluation {
    /// The objective's perf (predicted over the model, measured over the system); None
    /// when the configuration did not run.
    pub perf: Option<f64>,
    /// Over a model whose search score is pessimistic (the GP: mean − k·σ, see
    /// `model::PESSIMISM`), `perf` is that bound and this the model's mean prediction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predicted_mean: Option<f64>,
    /// Probability it runs (the feasibility forest's over the model; 1 or 0 measured).
    pub p_pass: f64,
    /// pass | fail | error | skipped, and why not pass.
    pub status: TrialStatus,
    pub reason: String,
}

impl Evaluation {
    /// Whether the optimiser learns the objective from it.
    pub fn feasible(&self) -> bool {
        self.perf.is_some() && self.p_pass >= 0.5
    }
}

/// One evaluation of the search.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Step {
    /// The point in the optimiser's relaxed coordinates.
    pub x: Vec<f64>,
    pub config: Config,
    pub initial: bool,
    /// The acquisition value and the GP's posterior at the point (None in the
    /// space-filling initial design).
    pub acquisition: Option<f64>,
    pub gp_mean: Option<f64>,
    pub gp_std: Option<f64>,
    pub evaluation: Evaluation,
}

impl Step {
    /// The log-scale score told to the optimiser (None: infeasible).
    pub fn score(&self, objective: Objective) -> Option<f64> {
        self.evaluation
            .feasible()
            .then(|| objective.score(self.evaluation.perf.unwrap_or_default()))
    }
}

/// A base model of an RGPE transfer and its weight at the end of the search.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TransferModel {
    /// The source (study directory, and what of it: search or collect at a rate).
    pub name: String,
    pub rate: Option<u64>,
    /// Observations its GP was fitted on.
    pub points: usize,
    pub weight: f64,
    /// Dropped by the dilution guard (ranked the target worse than the target's own model
    /// in most bootstrap samples).
    pub discarded: bool,
}

/// The index of the best feasible step (highest score; of equals, the latest).
pub fn best_step(steps: &[Step], objective: Objective) -> Option<usize> {
    ranked_steps(steps, objective, 1).first().copied()
}

/// The indices of the `k` best feasible steps, best first (of equal scores, the latest
/// first).
pub fn ranked_steps(steps: &[Step], objective: Objective, k: usize) -> Vec<usize> {
    let mut scored: Vec<(usize, f64)> = steps
        .iter()
        .enumerate()
        .filter_map(|(i, s)| s.score(objective).map(|y| (i, y)))
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(b.0.cmp(&a.0)));
    scored.into_iter().take(k).map(|(i, _)| i).collect()
}

/// The search's best configurations, best first (`search/ranked.json`): validate measures
/// the next when a better one fails its first run, since a model's best may sit just past
/// a failure boundary it did not see (an OOM at a heap the forest thought enough).
pub const RANKED: &str = "ranked.json";
/// How many configurations `ranked.json` keeps.
pub const RANKED_KEEP: usize = 5;

/// One of the search's best configurations.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Ranked {
    /// Its evaluation in `history.csv`.
    pub iteration: usize,
    /// Predicted (over the model) or measured (over the system).
    pub perf: f64,
    pub p_pass: f64,
    pub config: serde_json::Value,
}

/// Writes `ranked.json`: the best [`RANKED_KEEP`] feasible steps, best first.
pub fn write_ranked(dir: &Path, space: &Space, objective: Objective, steps: &[Step]) -> Result<()> {
    let ranked: Vec<Ranked> = ranked_steps(steps, objective, RANKED_KEEP)
        .into_iter()
        .map(|i| Ranked {
            iteration: i,
            perf: steps[i].evaluation.perf.unwrap_or_default(),
            p_pass: steps[i].evaluation.p_pass,
            config: space.to_json(&steps[i].config),
        })
        .collect();
    fsx::write_json(&dir.join(RANKED), &ranked)
}

/// The finished search's best configurations, best first: `ranked.json`, or the best alone
/// where the search wrote none (a multi-objective search's constrained best).
pub fn read_ranked(study: &Study) -> Result<Vec<Config>> {
    let dir = study.require(Stage::Search)?;
    let path = dir.join(RANKED);
    if !path.exists() {
        return Ok(vec![read_best(study)?.0]);
    }
    let ranked: Vec<Ranked> = fsx::read_json(&path)?;
    let origin = |i: usize| format!("{}, entry {}", path.display(), i + 1);
    let configs = ranked
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let obj = r
                .config
                .as_object()
                .with_context(|| format!("{}: `config` is not a table of parameters", origin(i)))?;
            study.config_of_json(obj, &origin(i))
        })
        .collect::<Result<Vec<_>>>()?;
    if configs.is_empty() {
        bail!("{} lists no configuration", path.display());
    }
    Ok(configs)
}

/// Options of the stage (the study's `[search]` settings, overridable on the command line).
#[derive(Clone, Copy, Debug)]
pub struct SearchOptions {
    pub over: Over,
    pub batch: usize,
    /// Discard an interrupted search over the system instead of resuming it.
    pub restart: bool,
}

impl SearchOptions {
    pub fn of(study: &Study) -> SearchOptions {
        SearchOptions {
            over: study.file.search.over,
            batch: study.file.search.batch as usize,
            restart: false,
        }
    }
}

/// What the stage found.
#[derive(Debug, Serialize, Deserialize)]
pub struct SearchSummary {
    pub objective: Objective,
    pub over: Over,
    pub rate: u64,
    pub budget: usize,
    pub initial: usize,
    pub evaluations: usize,
    pub failed_evaluations: usize,
    pub best_iteration: usize,
    /// The best configuration's perf: predicted (model) or measured (system).
    pub best_perf: f64,
    /// The model's prediction for Flink's default (over the model only).
    pub predicted_default: Option<f64>,
    pub predicted_speedup: Option<f64>,
    pub best: serde_json::Value,
    pub seconds: f64,
    /// RGPE base models and their final weights (empty without transfer).
    #[serde(default)]
    pub transfer: Vec<TransferModel>,
    /// The target model's final weight in the ensemble (None without transfer).
    #[serde(default)]
    pub target_weight: Option<f64>,
    /// Configurations the pre-check (Flink's memory rules, the cluster's slots) rejected
    /// before they were suggested: never run, not counted in the budget or `evaluations`.
    #[serde(default)]
    pub precheck_rejected: usize,
}

pub const JOURNAL: &str = system::SINGLE_OBJECTIVE_JOURNAL;

/// The evaluations of a study's finished search over the system (its journal),
/// read-only; empty if it has none.
pub fn read_journal(study: &Study) -> Result<Vec<Step>> {
    let path = study.stage_dir(Stage::Search).join(JOURNAL);
    if !path.exists() {
        return Ok(vec![]);
    }
    let steps = journal::read::<serde_json::Value, Step>(&path, true)?.entries;
    if steps.iter().any(|s| s.config.len() != study.space.len()) {
        bail!(
            "{} belongs to a search of another parameter space than {}'s",
            path.display(),
            study.dir.display()
        );
    }
    Ok(steps)
}

pub fn write_history(
    path: &Path,
    space: &Space,
    objective: Objective,
    steps: &[Step],
) -> Result<()> {
    let mut table = csv::Writer::from_path(path)?;
    let mut header: Vec<String> = [
        "iteration",
        "phase",
        "acquisition",
        "gp_mean",
        "gp_std",
        "perf",
        "predicted_mean",
        "p_pass",
        "status",
        "reason",
        "best_perf_so_far",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    header.extend(space.params.iter().map(|p| p.name.clone()));
    table.write_record(&header)?;
    let mut best = f64::NEG_INFINITY;
    for (i, s) in steps.iter().enumerate() {
        if let Some(y) = s.score(objective) {
            best = best.max(y);
        }
        let mut row = vec![
            i.to_string(),
            if s.initial { "initial" } else { "bo" }.to_string(),
            opt(s.acquisition),
            opt(s.gp_mean),
            opt(s.gp_std),
            opt(s.evaluation.perf),
            opt(s.evaluation.predicted_mean),
            s.evaluation.p_pass.to_string(),
            s.evaluation.status.to_string(),
            s.evaluation.reason.clone(),
            if best.is_finite() {
                objective.perf_of_score(best).to_string()
            } else {
                String::new()
            },
        ];
        row.extend(config_cells(&s.config));
        table.write_record(&row)?;
    }
    table.flush()?;
    Ok(())
}

/// A configuration's values as table cells, in parameter order (unset: empty).
pub fn config_cells(config: &Config) -> Vec<String> {
    config
        .iter()
        .map(|v| v.as_ref().map(|v| v.to_string()).unwrap_or_default())
        .collect()
}

fn opt(x: Option<f64>) -> String {
    x.map(|v| v.to_string()).unwrap_or_default()
}

/// The best configuration of the finished search stage.
pub fn read_best(study: &Study) -> Result<(Config, SearchSummary)> {
    let dir = study.require(Stage::Search)?;
    let config = study.read_config_json(&dir.join("best").join("config.json"))?;
    let summary: SearchSummary = fsx::read_json(&dir.join("summary.json"))?;
    Ok((config, summary))
}

/// A human summary.
pub fn describe(s: &SearchSummary) -> String {
    let what = match s.over {
        Over::Model => "the model",
        Over::System => "the system",
    };
    let mut out = format!(
        "searched {what} at {} rec/s with {} evaluations ({} initial, {} failed) in {:.1} s: best {} {:.4}",
        s.rate, s.evaluations, s.initial, s.failed_evaluations, s.seconds, s.objective, s.best_perf
    );
    if let (Some(d), Some(x)) = (s.predicted_default, s.predicted_speedup) {
        out.push_str(&format!(" vs default {d:.4} ({x:.2}x predicted)"));
    }
    out.push('\n');
    if s.precheck_rejected > 0 {
        out.push_str(&format!(
            "{} configuration{} rejected by the pre-check, never run (not counted in the budget)\n",
            s.precheck_rejected,
            if s.precheck_rejected == 1 { "" } else { "s" }
        ));
    }
    if !s.transfer.is_empty() {
        out.push_str(&format!(
            "transfer (RGPE): this search's own model weighs {:.2}\n",
            s.target_weight.unwrap_or(0.0)
        ));
        for m in &s.transfer {
            out.push_str(&format!(
                "  {:.2}  {} ({} evaluations){}\n",
                m.weight,
                m.name,
                m.points,
                if m.discarded { ", discarded" } else { "" }
            ));
        }
    }
    out
}
