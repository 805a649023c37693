//! What the model stage measured (`model/summary.json`) and which regressor it saves.

use crate::stages::model::regressors::Comparison;
use crate::study::regressor::{Regressor, SavedRegressor};
use flink::objective::Objective;
use serde::{Deserialize, Serialize};

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
    pub comparison: Vec<Comparison>,
    /// The regressor the comparison chose (lowest CV MAPE) or the study file names.
    pub chosen: Regressor,
    /// The regressor saved in model.json and used by `search` (see [`choose_saved`]).
    pub saved: Regressor,
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

/// The regressor to save and why: the one the study names, or (`best`, the default) the
/// savable regressor with the lowest cross-validated MAPE. A GP may win: the search
/// optimises its lower confidence bound (`PESSIMISM`), not its extrapolating mean.
pub fn choose_saved(comparison: &[Comparison], configured: SavedRegressor) -> (Regressor, String) {
    if let SavedRegressor::Named(name) = configured {
        return (
            name,
            format!("`[model] regressor = \"{name}\"` in the study file"),
        );
    }
    let best = comparison
        .iter()
        .filter(|c| c.regressor.savable() && c.cv_mape_percent.is_finite())
        .min_by(|a, b| a.cv_mape_percent.total_cmp(&b.cv_mape_percent));
    match best {
        Some(c) => (
            c.regressor,
            format!(
                "the lowest cross-validated MAPE ({:.1}%) among the savable regressors ({})",
                c.cv_mape_percent,
                Regressor::savable_names()
            ),
        ),
        None => (
            Regressor::Forest,
            "no savable regressor could be cross-validated; the forest by default".to_string(),
        ),
    }
}
