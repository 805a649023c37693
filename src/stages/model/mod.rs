//! The model stage: a random-forest performance model `perf = f(config, input rate)`
//! fitted on the collected trials, with its accuracy measured as MAPE on held-out
//! configurations, and a second forest estimating the probability that a configuration
//! runs at all (trained on PassConf / FailConf).
//!
//! The performance forest is fitted on the objective's log-scale score (see
//! `objective`): perf spans decades (a saturated job's p99 is seconds, a tuned one's a
//! few ms), and trees fitted on the raw values spend their splits on the extremes.
//! MAPE is reported on the perf scale, as in the paper.
//!
//! Artifacts (`model/`): `model.json` (both forests, reloaded by `search`),
//! `test_predictions.csv`, `report.md` and `summary.json`.

pub mod regressors;

use crate::fsx::{self, StageDir};
use crate::stages::collect::{self, TrialRecord};
use crate::stages::generate;
use crate::study::{Stage, Study};
use anyhow::{Context, Result, bail};
use flink::objective::Objective;
use flink::space::{Config, Space};
use ndarray::{Array2, Axis};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use smartcore::ensemble::random_forest_regressor::{
    RandomForestRegressor, RandomForestRegressorParameters,
};
use smartcore::linalg::basic::matrix::DenseMatrix;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Bumped when the saved model's layout changes; smartcore's own layout is tied to its
/// version, so that is recorded too and checked on load.
const MODEL_FORMAT: u32 = 3;
const SMARTCORE_VERSION: &str = "0.7";
/// The feature appended to the parameters: ln(input rate).
pub const RATE_FEATURE: &str = "input.rate";
/// Share of configurations held out to measure accuracy (the paper's 20%).
const TEST_SHARE: f64 = 0.2;
const TREES: usize = 100;
const MIN_CONFIGS: usize = 5;
/// Standard deviations the search takes off the predicted score of a regressor with a
/// predictive distribution (the GP): far from the measured configurations a GP's mean
/// extrapolates, and the optimiser finds exactly those points; its lower confidence bound
/// stays near what was measured unless the data vouch for more.
pub const PESSIMISM: f64 = 2.0;

pub type Forest = RandomForestRegressor<f64, f64, DenseMatrix<f64>, Vec<f64>>;

/// All (configuration, rate) observations of a study, aggregated over repeats.
#[derive(Clone, Debug)]
pub struct Dataset {
    /// One row per (configuration, rate): the parameter features and ln(rate).
    pub x: Array2<f64>,
    /// The objective's perf over the passing repeats (None: no repeat passed).
    pub perf: Vec<Option<f64>>,
    pub configs: Vec<String>,
    pub rates: Vec<u64>,
}

/// The feature row of a configuration at a rate.
pub fn features(space: &Space, config: &Config, rate: u64) -> Vec<f64> {
    let mut row = space.features(config);
    row.push((rate.max(1) as f64).ln());
    row
}

/// The feature names, in row order.
pub fn feature_names(space: &Space) -> Vec<String> {
    let mut names: Vec<String> = space.params.iter().map(|p| p.name.clone()).collect();
    names.push(RATE_FEATURE.to_string());
    names
}

impl Dataset {
    /// Joins configurations and trials (aggregated per configuration and rate by
    /// `collect::aggregate`, so the objective is the paper's mean over repeats).
    pub fn build(
        space: &Space,
        objective: Objective,
        configs: &[generate::Generated],
        trials: &[TrialRecord],
    ) -> Result<Dataset> {
        let by_id: BTreeMap<&str, &Config> =
            configs.iter().map(|g| (g.id.as_str(), &g.config)).collect();
        let rows = collect::aggregate(objective, trials);
        let mut flat = Vec::with_capacity(rows.len() * (space.len() + 1));
        for row in &rows {
            let config = by_id.get(row.config.as_str()).with_context(|| {
                format!(
                    "trial of configuration {}, which generate did not write",
                    row.config
                )
            })?;
            flat.extend(features(space, config, row.rate));
        }
        Ok(Dataset {
            x: Array2::from_shape_vec((rows.len(), space.len() + 1), flat)?,
            perf: rows.iter().map(|r| r.perf).collect(),
            configs: rows.iter().map(|r| r.config.clone()).collect(),
            rates: rows.iter().map(|r| r.rate).collect(),
        })
    }

    pub fn len(&self) -> usize {
        self.perf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.perf.is_empty()
    }

    /// Rows whose configuration ran.
    pub fn passing(&self) -> Vec<usize> {
        (0..self.len())
            .filter(|&i| self.perf[i].is_some())
            .collect()
    }
}

/// Splits the rows by configuration, so no configuration is on both sides (a config seen
/// in training at one rate would leak into the test at another).
pub fn split_by_config(configs: &[String], rows: &[usize], seed: u64) -> (Vec<usize>, Vec<usize>) {
    let ids = shuffled_configs(configs, rows, seed);
    let n_test = ((ids.len() as f64) * TEST_SHARE).round().max(1.0) as usize;
    let test_ids: BTreeSet<&String> = ids.into_iter().take(n_test).collect();
    rows.iter()
        .copied()
        .partition(|&i| !test_ids.contains(&configs[i]))
}

/// The distinct configurations of `rows`, in a seeded random order.
pub fn shuffled_configs<'a>(configs: &'a [String], rows: &[usize], seed: u64) -> Vec<&'a String> {
    let mut ids: Vec<&String> = rows
        .iter()
        .map(|&i| &configs[i])
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    ids.shuffle(&mut StdRng::seed_from_u64(seed));
    ids
}

/// Mean absolute percentage error, in percent.
pub fn mape(actual: &[f64], predicted: &[f64]) -> f64 {
    let n = actual.len().max(1) as f64;
    100.0
        * actual
            .iter()
            .zip(predicted)
            .map(|(a, p)| ((a - p) / a).abs())
            .sum::<f64>()
        / n
}

/// Median absolute percentage error, in percent.
pub fn median_ape(actual: &[f64], predicted: &[f64]) -> f64 {
    let mut e: Vec<f64> = actual
        .iter()
        .zip(predicted)
        .map(|(a, p)| 100.0 * ((a - p) / a).abs())
        .collect();
    if e.is_empty() {
        return 0.0;
    }
    e.sort_by(f64::total_cmp);
    let n = e.len();
    if n % 2 == 1 {
        e[n / 2]
    } else {
        (e[n / 2 - 1] + e[n / 2]) / 2.0
    }
}

/// Coefficient of determination.
pub fn r2(actual: &[f64], predicted: &[f64]) -> f64 {
    let mean = actual.iter().sum::<f64>() / actual.len().max(1) as f64;
    let ss_tot: f64 = actual.iter().map(|a| (a - mean).powi(2)).sum();
    let ss_res: f64 = actual
        .iter()
        .zip(predicted)
        .map(|(a, p)| (a - p).powi(2))
        .sum();
    if ss_tot == 0.0 {
        0.0
    } else {
        1.0 - ss_res / ss_tot
    }
}

fn forest_params(seed: u64, features: usize) -> RandomForestRegressorParameters {
    // smartcore's defaults (10 trees, √d features per split) lose much accuracy here.
    RandomForestRegressorParameters::default()
        .with_n_trees(TREES)
        .with_m(features)
        .with_seed(seed)
}

pub fn fit_forest(x: &Array2<f64>, y: &[f64], seed: u64) -> Result<Forest> {
    let m = DenseMatrix::from_ndarray2(x);
    Forest::fit(&m, &y.to_vec(), forest_params(seed, x.ncols()))
        .map_err(|e| anyhow::anyhow!("fitting the forest failed: {e}"))
}

pub fn predict_forest(forest: &Forest, rows: &[Vec<f64>]) -> Result<Vec<f64>> {
    if rows.is_empty() {
        return Ok(vec![]);
    }
    let m = DenseMatrix::from_2d_vec(&rows.to_vec())
        .map_err(|e| anyhow::anyhow!("bad feature rows: {e}"))?;
    forest
        .predict(&m)
        .map_err(|e| anyhow::anyhow!("prediction failed: {e}"))
}

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
    /// Which regressor predicts the performance (`regressors::SAVABLE`).
    pub regressor_name: String,
    /// The lowest and highest perf among the rows the model was fitted on.
    pub observed_perf: (f64, f64),
    regressor: crate::stages::model::regressors::Fitted,
    feasibility: Feasibility,
}

impl PerfModel {
    /// Fits the performance regressor `regressor` (one of `regressors::SAVABLE`) and the
    /// feasibility forest on every row of the dataset.
    pub fn fit(
        data: &Dataset,
        objective: Objective,
        names: Vec<String>,
        seed: u64,
        regressor: &str,
    ) -> Result<PerfModel> {
        let pass = data.passing();
        let x_pass = data.x.select(Axis(0), &pass);
        let y: Vec<f64> = pass
            .iter()
            .map(|&i| objective.score(data.perf[i].unwrap_or_default()))
            .collect();
        let fitted = crate::stages::model::regressors::fit(regressor, &x_pass, &y, seed)?;
        let perfs = pass.iter().map(|&i| data.perf[i].unwrap_or_default());
        let observed_perf = perfs.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
            (lo.min(p), hi.max(p))
        });
        let labels: Vec<f64> = data.perf.iter().map(|p| f64::from(p.is_some())).collect();
        let share = labels.iter().sum::<f64>() / labels.len().max(1) as f64;
        let feasibility = if share == 0.0 || share == 1.0 {
            Feasibility::Constant(share)
        } else {
            Feasibility::Forest(Box::new(fit_forest(&data.x, &labels, seed ^ 0x5eed)?))
        };
        Ok(PerfModel {
            format: MODEL_FORMAT,
            smartcore: SMARTCORE_VERSION.to_string(),
            objective,
            features: names,
            regressor_name: regressor.to_string(),
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

    /// Loads a saved model, refusing one written by another layout.
    pub fn load(path: &Path) -> Result<PerfModel> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        #[derive(Deserialize)]
        struct Header {
            format: u32,
            smartcore: String,
        }
        let h: Header = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a flinktune model", path.display()))?;
        if h.format != MODEL_FORMAT || h.smartcore != SMARTCORE_VERSION {
            bail!(
                "{} was written by another flinktune (format {}, smartcore {}): run `flinktune model` again",
                path.display(),
                h.format,
                h.smartcore
            );
        }
        serde_json::from_str(&text).with_context(|| format!("{} is damaged", path.display()))
    }
}

/// What the stage measured.
#[derive(Debug, Serialize, Deserialize)]
pub struct ModelSummary {
    pub objective: Objective,
    pub rows: usize,
    pub passing_rows: usize,
    pub failing_rows: usize,
    pub train_rows: usize,
    pub test_rows: usize,
    pub train_configs: usize,
    pub test_configs: usize,
    pub trees: usize,
    pub features: usize,
    /// MAPE of the forest fitted on the training configurations, on the test ones (the
    /// paper's metric; a few badly predicted tiny values dominate it).
    pub test_mape_percent: f64,
    /// The median absolute percentage error on the same rows (robust to those).
    pub test_median_ape_percent: f64,
    pub test_r2: f64,
    /// Share of (configuration, rate) pairs that ran.
    pub pass_share: f64,
    pub note: String,
    /// Every regressor's accuracy on the same split and by cross-validation.
    #[serde(default)]
    pub comparison: Vec<crate::stages::model::regressors::Comparison>,
    /// The regressor the comparison chose (lowest CV MAPE) or the study file names.
    #[serde(default)]
    pub chosen: String,
    /// The regressor saved in model.json and used by `search` (see [`choose_saved`]).
    #[serde(default)]
    pub saved: String,
    /// Why that one.
    #[serde(default)]
    pub saved_because: String,
    /// Whether the search optimises the saved model's lower confidence bound.
    #[serde(default)]
    pub pessimistic_search: bool,
    /// Cross-validation folds (by configuration).
    #[serde(default)]
    pub folds: usize,
}

/// Runs the stage.
pub fn run(study: &Study) -> Result<ModelSummary> {
    let trials = collect::read_trials(study)?;
    let configs = generate::read_configs(study)?;
    let objective = study.file.objective;
    let data = Dataset::build(&study.space, objective, &configs, &trials)?;
    let pass = data.passing();
    let passing_configs: BTreeSet<&String> = pass.iter().map(|&i| &data.configs[i]).collect();
    if passing_configs.len() < MIN_CONFIGS {
        bail!(
            "only {} configurations ran successfully; a model needs at least {MIN_CONFIGS} \
             (see collect/summary.json for why trials failed)",
            passing_configs.len()
        );
    }
    let seed = study.file.seed;
    let (train, test) = split_by_config(&data.configs, &pass, seed);
    let folds = study.file.model.folds.unwrap_or(5) as usize;
    let comparison =
        crate::stages::model::regressors::compare(&data, objective, &train, &test, folds, seed)?;
    let (saved, why) = choose_saved(&comparison, study.file.model.regressor.as_deref());
    // The most accurate of all (also those that cannot be saved) shows its importance
    // and scatter.
    let chosen = comparison
        .iter()
        .filter(|c| c.cv_mape_percent.is_finite())
        .min_by(|a, b| a.cv_mape_percent.total_cmp(&b.cv_mape_percent))
        .map(|c| c.regressor.clone())
        .unwrap_or_else(|| saved.clone());
    let (_, _, predicted) =
        crate::stages::model::regressors::evaluate(&saved, &data, objective, &train, &test, seed)?;
    let actual: Vec<f64> = test
        .iter()
        .map(|&i| data.perf[i].unwrap_or_default())
        .collect();

    let model = PerfModel::fit(&data, objective, feature_names(&study.space), seed, &saved)?;
    let stage = StageDir::begin(&study.dir, Stage::Model.name())?;
    model.save(&stage.path.join("model.json"))?;
    let mut table = csv::Writer::from_path(stage.path.join("test_predictions.csv"))?;
    table.write_record(["config", "rate", "measured", "predicted"])?;
    for ((&i, a), p) in test.iter().zip(&actual).zip(&predicted) {
        table.write_record([
            data.configs[i].clone(),
            data.rates[i].to_string(),
            a.to_string(),
            p.to_string(),
        ])?;
    }
    table.flush()?;
    let distinct = |rows: &[usize]| {
        rows.iter()
            .map(|&i| &data.configs[i])
            .collect::<BTreeSet<_>>()
            .len()
    };
    let summary = ModelSummary {
        objective,
        rows: data.len(),
        passing_rows: pass.len(),
        failing_rows: data.len() - pass.len(),
        train_rows: train.len(),
        test_rows: test.len(),
        train_configs: distinct(&train),
        test_configs: distinct(&test),
        trees: TREES,
        features: data.x.ncols(),
        test_mape_percent: mape(&actual, &predicted),
        test_median_ape_percent: median_ape(&actual, &predicted),
        test_r2: r2(&actual, &predicted),
        pass_share: pass.len() as f64 / data.len().max(1) as f64,
        note: format!(
            "accuracy of the saved regressor ({saved}) fitted on 80% of the configurations \
             and tested on the other 20%; the saved model is refitted on all of them"
        ),
        comparison: vec![],
        chosen: String::new(),
        saved: saved.clone(),
        saved_because: why,
        pessimistic_search: model.is_pessimistic(),
        folds: 0,
    };
    let mut summary = summary;
    let curve =
        crate::stages::model::regressors::learning_curve(&data, objective, &train, &test, seed)?;
    let importance = crate::stages::model::regressors::permutation_importance(
        &saved, &data, objective, &train, &test, seed,
    )?;
    write_comparison(
        &stage.path,
        &comparison,
        &curve,
        &saved,
        &importance,
        &feature_names(&study.space),
        &actual,
        &predicted,
    )?;
    summary.comparison = comparison;
    summary.chosen = chosen;
    summary.folds = folds;
    std::fs::write(stage.path.join("report.md"), report_md(&summary))?;
    fsx::write_json(&stage.path.join("summary.json"), &summary)?;
    stage.commit()?;
    Ok(summary)
}

/// The regressor to save and why: the one the study names, or (`best`, the default) the
/// savable regressor with the lowest cross-validated MAPE. A GP may win: the search
/// optimises its lower confidence bound (`PESSIMISM`), not its extrapolating mean.
pub fn choose_saved(
    comparison: &[crate::stages::model::regressors::Comparison],
    configured: Option<&str>,
) -> (String, String) {
    if let Some(name) = configured.filter(|r| *r != BEST) {
        return (
            name.to_string(),
            format!("`[model] regressor = \"{name}\"` in the study file"),
        );
    }
    let best = comparison
        .iter()
        .filter(|c| {
            crate::stages::model::regressors::SAVABLE.contains(&c.regressor.as_str())
                && c.cv_mape_percent.is_finite()
        })
        .min_by(|a, b| a.cv_mape_percent.total_cmp(&b.cv_mape_percent));
    match best {
        Some(c) => (
            c.regressor.clone(),
            format!(
                "the lowest cross-validated MAPE ({:.1}%) among the savable regressors ({})",
                c.cv_mape_percent,
                crate::stages::model::regressors::SAVABLE.join(", ")
            ),
        ),
        None => (
            "forest".to_string(),
            "no savable regressor could be cross-validated; the forest by default".to_string(),
        ),
    }
}

/// `[model] regressor` value that saves the most accurate savable regressor.
pub const BEST: &str = "best";

/// Writes the comparison's tables and figures.
#[allow(clippy::too_many_arguments)]
fn write_comparison(
    dir: &Path,
    comparison: &[crate::stages::model::regressors::Comparison],
    curve: &[crate::stages::model::regressors::CurvePoint],
    chosen: &str,
    importance: &[f64],
    names: &[String],
    actual: &[f64],
    predicted: &[f64],
) -> Result<()> {
    let mut w = csv::Writer::from_path(dir.join("comparison.csv"))?;
    for c in comparison {
        w.serialize(c)?;
    }
    w.flush()?;
    let mut w = csv::Writer::from_path(dir.join("learning_curve.csv"))?;
    for p in curve {
        w.serialize(p)?;
    }
    w.flush()?;
    let series: Vec<crate::report::plot::Series> = crate::study::REGRESSORS
        .iter()
        .map(|r| crate::report::plot::Series {
            name: r.to_string(),
            points: curve
                .iter()
                .filter(|p| p.regressor == *r && p.test_mape_percent.is_finite())
                .map(|p| (p.train_configs as f64, p.test_mape_percent))
                .collect(),
        })
        .collect();
    crate::report::plot::line_chart_log_y(
        &dir.join("learning_curve.svg"),
        "Learning curve: test MAPE vs training configurations",
        "training configurations",
        "test MAPE (%, log scale)",
        &series,
    )?;
    let mut order: Vec<usize> = (0..importance.len()).collect();
    order.sort_by(|&a, &b| importance[b].total_cmp(&importance[a]));
    let mut w = csv::Writer::from_path(dir.join("importance.csv"))?;
    w.write_record(["feature", "permutation_importance"])?;
    for &i in &order {
        w.write_record([names[i].clone(), importance[i].to_string()])?;
    }
    w.flush()?;
    let top = importance.iter().copied().fold(0.0_f64, f64::max);
    let bars: Vec<crate::report::plot::Bar> = order
        .iter()
        .map(|&i| crate::report::plot::Bar {
            label: names[i].clone(),
            value: importance[i].max(0.0),
            spread: None,
            highlight: importance[i] >= 0.05 * top && top > 0.0,
        })
        .collect();
    crate::report::plot::bar_chart(
        &dir.join("importance.svg"),
        &format!("Permutation importance ({chosen}): increase of test MSE of ln perf"),
        "increase of the test MSE",
        &bars,
        None,
    )?;
    let points: Vec<(f64, f64)> = actual
        .iter()
        .copied()
        .zip(predicted.iter().copied())
        .collect();
    crate::report::plot::scatter_log(
        &dir.join("predicted_vs_measured.svg"),
        &format!("{chosen}: predicted vs measured perf (held-out configurations)"),
        "measured",
        "predicted",
        &points,
    )
}

/// Loads the model of the finished model stage.
pub fn load(study: &Study) -> Result<PerfModel> {
    let dir = study.require(Stage::Model)?;
    PerfModel::load(&dir.join("model.json"))
}

fn report_md(s: &ModelSummary) -> String {
    let mut table = String::from(
        "| regressor | hold-out MAPE | hold-out R² | CV MAPE (± sd) | CV R² | fit + predict (s) |\n\
         |---|---|---|---|---|---|\n",
    );
    for c in &s.comparison {
        table.push_str(&format!(
            "| {}{} | {:.1}% | {:.3} | {:.1}% (± {:.1}) | {:.3} | {:.2} |\n",
            c.regressor,
            if c.regressor == s.saved {
                " **(saved)**"
            } else {
                ""
            },
            c.holdout_mape_percent,
            c.holdout_r2,
            c.cv_mape_percent,
            c.cv_mape_sd,
            c.cv_r2,
            c.fit_seconds
        ));
    }
    let search = if s.pessimistic_search {
        format!(
            "It has a predictive standard deviation, so `search` optimises its lower \
             confidence bound, mean − {}·σ of the log-scale score: far from the measured \
             configurations a GP's mean extrapolates, and an optimiser finds exactly those \
             points; the bound stays near what was measured unless the data vouch for more.",
            PESSIMISM
        )
    } else {
        "`search` optimises its prediction (trees never predict beyond the performance they \
         were fitted on)."
            .to_string()
    };
    format!(
        "# Performance model\n\n![Learning curve](learning_curve.svg)\n\n\
         ## Regressors compared\n\nSame 80/20 split by configuration, and {}-fold \
         cross-validation by configuration; MAPE and R² on the perf scale. The GP is fitted on \
         at most {} training rows.\n\n{}\n\
         The most accurate regressor by CV MAPE is `{}`. **The saved model (`model.json`, used \
         by `search`) is `{}`**, chosen by {}. {}\n\n\
         Learning curve (test MAPE vs training configurations, log scale): \
         `learning_curve.csv`. Predicted vs measured for `{}` on the held-out \
         configurations:\n\n\
         ![Predicted vs measured](predicted_vs_measured.svg)\n\n\
         Feature importance of `{}` (permutation, `importance.csv`):\n\n\
         ![Importance](importance.svg)\n\n{}",
        s.folds,
        crate::stages::model::regressors::GP_MAX_ROWS,
        table,
        s.chosen,
        s.saved,
        s.saved_because,
        search,
        s.saved,
        s.saved,
        saved_md(s)
    )
}

fn saved_md(s: &ModelSummary) -> String {
    format!(
        "## The saved model\n\n\
         `{}` on {} features (forests: {} trees, all features per split) of the `{}` \
         objective.\n\n\
         | | |\n|---|---|\n\
         | (config, rate) rows | {} ({} ran, {} failed) |\n\
         | training rows / configurations | {} / {} |\n\
         | test rows / configurations | {} / {} |\n\
         | **test MAPE** | **{:.1}%** |\n\
         | test median APE | {:.1}% |\n\
         | test R² | {:.3} |\n\n{}\n\nMeasured vs predicted on the test rows: `test_predictions.csv`.\n",
        s.saved,
        s.features,
        s.trees,
        s.objective,
        s.rows,
        s.passing_rows,
        s.failing_rows,
        s.train_rows,
        s.train_configs,
        s.test_rows,
        s.test_configs,
        s.test_mape_percent,
        s.test_median_ape_percent,
        s.test_r2,
        s.note
    )
}

/// A human summary.
pub fn describe(s: &ModelSummary) -> String {
    let mut out = format!(
        "{} on {} rows ({} configurations train / {} test): test MAPE {:.1}% \
         (median APE {:.1}%), R² {:.3}\n",
        s.saved,
        s.passing_rows,
        s.train_configs,
        s.test_configs,
        s.test_mape_percent,
        s.test_median_ape_percent,
        s.test_r2
    );
    if !s.saved_because.is_empty() {
        out.push_str(&format!(
            "  saved {}: {}{}\n",
            s.saved,
            s.saved_because,
            if s.pessimistic_search {
                format!("; search optimises mean − {PESSIMISM}·σ")
            } else {
                String::new()
            }
        ));
    }
    if !s.comparison.is_empty() {
        out.push_str(&format!(
            "  {:<8} {:>14} {:>11} {:>16}\n",
            "regressor", "hold-out MAPE", "R²", "CV MAPE (folds)"
        ));
        for c in &s.comparison {
            let pct = |x: f64| {
                if x.is_finite() {
                    format!("{x:.1}%")
                } else {
                    "failed".into()
                }
            };
            out.push_str(&format!(
                "  {:<8} {:>14} {:>11} {:>16}{}\n",
                c.regressor,
                pct(c.holdout_mape_percent),
                if c.holdout_r2.is_finite() {
                    format!("{:.3}", c.holdout_r2)
                } else {
                    "-".into()
                },
                pct(c.cv_mape_percent),
                if c.regressor == s.saved {
                    "  (saved)"
                } else {
                    ""
                }
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_split_never_puts_a_configuration_on_both_sides() {
        let configs: Vec<String> = (0..50)
            .flat_map(|c| [format!("c{c}"), format!("c{c}")])
            .collect();
        let rows: Vec<usize> = (0..configs.len()).collect();
        let (train, test) = split_by_config(&configs, &rows, 1);
        assert_eq!(train.len() + test.len(), rows.len());
        let tr: BTreeSet<&String> = train.iter().map(|&i| &configs[i]).collect();
        let te: BTreeSet<&String> = test.iter().map(|&i| &configs[i]).collect();
        assert!(tr.is_disjoint(&te));
        assert_eq!(te.len(), 10);
    }

    #[test]
    fn mape_and_r2_by_hand() {
        assert!((mape(&[100.0, 200.0], &[110.0, 150.0]) - 17.5).abs() < 1e-9);
        assert!((median_ape(&[100.0, 200.0, 10.0], &[110.0, 150.0, 100.0]) - 25.0).abs() < 1e-9);
        assert!((r2(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0]) - 1.0).abs() < 1e-12);
        assert!((r2(&[1.0, 2.0, 3.0], &[2.0, 2.0, 2.0])).abs() < 1e-12);
    }

    #[test]
    fn best_saves_the_savable_regressor_of_lowest_cv_mape() {
        let row = |name: &str, cv: f64| crate::stages::model::regressors::Comparison {
            regressor: name.into(),
            holdout_mape_percent: 0.0,
            holdout_r2: 0.0,
            cv_mape_percent: cv,
            cv_mape_sd: 0.0,
            cv_r2: 0.0,
            fit_seconds: 0.0,
        };
        // svr is most accurate but cannot be saved; gp failed to cross-validate.
        let cmp = vec![
            row("forest", 40.0),
            row("gbrt", 35.0),
            row("svr", 10.0),
            row("gp", f64::NAN),
        ];
        let (saved, why) = choose_saved(&cmp, None);
        assert_eq!(saved, "gbrt");
        assert!(why.contains("35.0%"), "{why}");
        assert_eq!(choose_saved(&cmp, Some(BEST)).0, "gbrt");
        let (saved, why) = choose_saved(&cmp, Some("forest"));
        assert_eq!(saved, "forest");
        assert!(why.contains("study file"), "{why}");
        assert_eq!(choose_saved(&[], None).0, "forest");
    }

    #[test]
    fn a_gp_is_searched_by_its_lower_bound_and_trees_by_their_prediction() {
        let n = 40;
        let x = Array2::from_shape_fn((n, 2), |(i, j)| ((i * 7 + j * 5) % 13) as f64 / 26.0);
        let data = Dataset {
            perf: (0..n).map(|i| Some(1.0 + x[[i, 0]] + x[[i, 1]])).collect(),
            x,
            configs: (0..n).map(|i| format!("c{i}")).collect(),
            rates: vec![1; n],
        };
        let names = vec!["a".to_string(), "b".to_string()];
        // Inside the data (the lower half of the cube) and far outside it.
        let rows = vec![vec![0.2, 0.2], vec![1.0, 1.0]];
        let gp = PerfModel::fit(&data, Objective::Ratio, names.clone(), 1, "gp").unwrap();
        assert!(gp.is_pessimistic());
        let s = gp.predict_search_score(&rows).unwrap();
        assert!(s.iter().all(|(bound, mean)| bound < mean), "{s:?}");
        // Less certain away from the data: a wider gap.
        assert!(s[1].1 - s[1].0 > 2.0 * (s[0].1 - s[0].0), "{s:?}");
        let forest = PerfModel::fit(&data, Objective::Ratio, names, 1, "forest").unwrap();
        assert!(!forest.is_pessimistic());
        for (bound, mean) in forest.predict_search_score(&rows).unwrap() {
            assert_eq!(bound, mean);
        }
        let (lo, hi) = forest.observed_perf;
        assert!(lo >= 1.0 && hi <= 2.0 && lo < hi);
    }

    #[test]
    fn a_saved_forest_predicts_identically_after_reload() {
        let x = Array2::from_shape_fn((60, 3), |(i, j)| ((i * 7 + j * 3) % 11) as f64 / 11.0);
        let perf: Vec<Option<f64>> = (0..60)
            .map(|i| {
                if i % 9 == 0 {
                    None
                } else {
                    Some(1.0 + x[[i, 0]] * 5.0 + x[[i, 1]])
                }
            })
            .collect();
        let data = Dataset {
            x: x.clone(),
            perf,
            configs: (0..60).map(|i| format!("c{i}")).collect(),
            rates: vec![1000; 60],
        };
        let names = vec!["a".into(), "b".into(), "c".into()];
        let rows: Vec<Vec<f64>> = (0..10).map(|i| x.row(i).to_vec()).collect();
        let d = tempfile::tempdir().unwrap();
        for name in crate::stages::model::regressors::SAVABLE {
            let m = PerfModel::fit(&data, Objective::Ratio, names.clone(), 3, name).unwrap();
            let p = d.path().join(format!("{name}.json"));
            m.save(&p).unwrap();
            let again = PerfModel::load(&p).unwrap();
            assert_eq!(again.regressor_name, *name);
            let (a, b) = (
                m.predict_perf(&rows).unwrap(),
                again.predict_perf(&rows).unwrap(),
            );
            for (x, y) in a.iter().zip(&b) {
                assert!((x - y).abs() <= 1e-9 * x.abs(), "{name}: {x} vs {y}");
            }
        }
        let model = PerfModel::fit(&data, Objective::Ratio, names, 3, "forest").unwrap();
        let p = d.path().join("m.json");
        model.save(&p).unwrap();
        let again = PerfModel::load(&p).unwrap();
        assert_eq!(
            model.predict_perf(&rows).unwrap(),
            again.predict_perf(&rows).unwrap()
        );
        assert_eq!(
            model.predict_pass(&rows).unwrap(),
            again.predict_pass(&rows).unwrap()
        );
        // The forest learned the signal: the best row is predicted above the worst.
        let pr = model.predict_perf(&rows).unwrap();
        let truth: Vec<f64> = (0..10).map(|i| 1.0 + x[[i, 0]] * 5.0 + x[[i, 1]]).collect();
        let argmax = |v: &[f64]| (0..v.len()).max_by(|&a, &b| v[a].total_cmp(&v[b])).unwrap();
        let argmin = |v: &[f64]| (0..v.len()).min_by(|&a, &b| v[a].total_cmp(&v[b])).unwrap();
        assert!(pr[argmax(&truth)] > pr[argmin(&truth)]);
    }
}
