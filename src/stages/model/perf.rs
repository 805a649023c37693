//! The saved model (`model/model.json`): the performance regressor and the forest that
//! estimates whether a configuration runs, as the search reloads them.

use crate::fsx;
use crate::stages::model::check;
use crate::stages::model::dataset::Dataset;
use crate::stages::model::forest::{Forest, fit_forest, predict_forest};
use crate::stages::model::regressors::{self, Fitted};
use crate::study::regressor::Regressor;
use crate::study::seed::{Purpose, derive};
use anyhow::{Context, Result, bail};
use flink::objective::Objective;
use ndarray::Axis;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Bumped when the saved model's layout changes; smartcore's own layout is tied to its
/// version, so that is recorded too and checked on load.
const MODEL_FORMAT: u32 = 3;
const SMARTCORE_VERSION: &str = "0.7";
/// Standard deviations the search takes off the predicted score of a regressor with a
/// predictive distribution (the GP): far from the measured configurations a GP's mean
/// extrapolates, and the optimiser finds exactly those points; its lower confidence bound
/// stays near what was measured unless the data vouch for more.
pub const PESSIMISM: f64 = 2.0;

/// Whether a configuration runs: a forest fitted on 0/1, whose mean over trees is the
/// share of similar configurations that ran; constant when every row agreed.
#[derive(Serialize, Deserialize)]
pub enum Feasibility {
    Constant(f64),
    Forest(Box<Forest>),
}

/// The fitted models, as saved in `model/model.json`.
#[derive(Serialize, Deserialize)]
pub struct PerfModel {
    pub format: u32,
    pub smartcore: String,
    pub objective: Objective,
    pub features: Vec<String>,
    /// Which regressor predicts the performance (one of `Regressor::SAVABLE`).
    pub regressor_name: Regressor,
    /// The lowest and highest perf among the rows the model was fitted on.
    pub observed_perf: (f64, f64),
    regressor: Fitted,
    feasibility: Feasibility,
}

impl PerfModel {
    /// Fits the performance regressor `regressor` (one of `Regressor::SAVABLE`) and the
    /// feasibility forest on every row of the dataset.
    pub fn fit(
        data: &Dataset,
        objective: Objective,
        names: Vec<String>,
        seed: u64,
        regressor: Regressor,
    ) -> Result<PerfModel> {
        let pass = data.passing();
        let x_pass = data.x.select(Axis(0), &pass);
        let y: Vec<f64> = pass
            .iter()
            .map(|&i| objective.score(data.perf[i].unwrap_or_default()))
            .collect();
        let fitted = regressors::fit(regressor, &x_pass, &y, seed)?;
        let perfs = pass.iter().map(|&i| data.perf[i].unwrap_or_default());
        let observed_perf = perfs.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
            (lo.min(p), hi.max(p))
        });
        let labels: Vec<f64> = data.perf.iter().map(|p| f64::from(p.is_some())).collect();
        let share = labels.iter().sum::<f64>() / labels.len().max(1) as f64;
        let feasibility = if share == 0.0 || share == 1.0 {
            Feasibility::Constant(share)
        } else {
            Feasibility::Forest(Box::new(fit_forest(
                &data.x,
                &labels,
                derive(seed, Purpose::Feasibility),
            )?))
        };
        Ok(PerfModel {
            format: MODEL_FORMAT,
            smartcore: SMARTCORE_VERSION.to_string(),
            objective,
            features: names,
            regressor_name: regressor,
            observed_perf,
            regressor: fitted,
            feasibility,
        })
    }

    /// Predicted scores (log scale, higher is better) of feature rows.
    pub fn predict_score(&self, rows: &[Vec<f64>]) -> Result<Vec<f64>> {
        self.regressor.predict(rows)
    }

    /// What the search optimises, per row: the predicted score, less [`PESSIMISM`]
    /// standard deviations when the regressor has a predictive distribution; with the
    /// predicted (mean) score.
    pub fn predict_search_score(&self, rows: &[Vec<f64>]) -> Result<Vec<(f64, f64)>> {
        let (mean, sd) = self.regressor.predict_with_sd(rows)?;
        Ok(match sd {
            Some(sd) => mean
                .into_iter()
                .zip(sd)
                .map(|(m, s)| (m - PESSIMISM * s, m))
                .collect(),
            None => mean.into_iter().map(|m| (m, m)).collect(),
        })
    }

    /// Whether the search score is pessimistic (the regressor has a predictive sd).
    pub fn is_pessimistic(&self) -> bool {
        self.regressor.has_sd()
    }

    /// Predicted perf of feature rows.
    pub fn predict_perf(&self, rows: &[Vec<f64>]) -> Result<Vec<f64>> {
        Ok(self
            .predict_score(rows)?
            .into_iter()
            .map(|s| self.objective.perf_of_score(s))
            .collect())
    }

    /// Predicted probability that each row's configuration runs.
    pub fn predict_pass(&self, rows: &[Vec<f64>]) -> Result<Vec<f64>> {
        match &self.feasibility {
            Feasibility::Constant(p) => Ok(vec![*p; rows.len()]),
            Feasibility::Forest(f) => Ok(predict_forest(f, rows)?
                .into_iter()
                .map(|p| p.clamp(0.0, 1.0))
                .collect()),
        }
    }

    pub fn save(&self, path: &Path) -> Result<()> {
        fsx::write_json(path, self)
    }

    /// Loads a saved model, refusing one written by another layout and a damaged one
    /// (see [`check::structure`]), naming the file.
    pub fn load(path: &Path) -> Result<PerfModel> {
        let text = fsx::read_text(path)?;
        let damaged = || format!("{} is damaged", path.display());
        let value: serde_json::Value = serde_json::from_str(&text).with_context(damaged)?;
        #[derive(Deserialize)]
        struct Header {
            format: u32,
            smartcore: String,
            features: Vec<String>,
        }
        let h = Header::deserialize(&value)
            .with_context(|| format!("{} is not a flinktune model", path.display()))?;
        if h.format != MODEL_FORMAT || h.smartcore != SMARTCORE_VERSION {
            bail!(
                "{} was written by another flinktune (format {}, smartcore {}): run `flinktune model` again",
                path.display(),
                h.format,
                h.smartcore
            );
        }
        check::structure(&value, h.features.len())
            .map_err(|why| anyhow::anyhow!("{}: {why}", damaged()))?;
        let model: PerfModel = serde_json::from_value(value).with_context(damaged)?;
        // One prediction proves what the checks cannot see (e.g. a row count smartcore
        // stores apart from its rows).
        let row = vec![vec![0.5; h.features.len()]];
        model
            .predict_search_score(&row)
            .and_then(|_| model.predict_pass(&row))
            .with_context(damaged)?;
        Ok(model)
    }
}
