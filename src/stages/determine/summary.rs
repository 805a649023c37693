//! What the determine stage reports: one row of `effects.csv` per parameter (each method's
//! measures of its effect, whether it was selected and its rank) and the stage's summary
//! (`summary.json`, and the human summary the CLI prints). Plain data, shared by the
//! methods that fill the rows and the writers that print them.

use crate::study::ScreeningMethod;
use serde::{Deserialize, Serialize};

/// What one method found for one parameter.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Effect {
    pub importance: f64,
    pub selected: bool,
}

/// One row of `effects.csv`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct EffectRow {
    pub rank: usize,
    pub param: String,
    pub selected: bool,
    /// The ranking score: the method's importance relative to its top parameter (mean over
    /// methods for `all`).
    pub relative_importance: f64,
    /// The largest |change of score| against its base among the levels that ran, over all
    /// bases (the reference and random configurations that ran).
    pub oat_effect: Option<f64>,
    /// The same at the reference only.
    pub oat_effect_reference: Option<f64>,
    /// The same with failing levels counted as ten times worse than the worst that ran.
    pub oat_effect_with_failures: Option<f64>,
    /// Standard deviation of the scores over the levels and the base, mean over bases.
    pub oat_spread: Option<f64>,
    /// Levels that could not run, over all bases.
    pub oat_failed_levels: Option<usize>,
    /// The level with the best score at the reference and its change against it.
    pub oat_best_value: Option<String>,
    pub oat_best_change: Option<f64>,
    /// Mean |elementary effect| over the steps where both configurations ran.
    pub morris_mu_star: Option<f64>,
    pub morris_mu: Option<f64>,
    pub morris_sigma: Option<f64>,
    /// Steps whose end could not run (no elementary effect; the trajectory stayed put).
    pub morris_failed_steps: Option<usize>,
    /// Elementary effects measured (steps whose both ends ran).
    pub morris_effects: Option<usize>,
    pub forest_importance: Option<f64>,
    /// sobol: the effect √(12·V_Ti) on the ln(perf) scale (the range of a linear effect
    /// of the key's total Sobol' variance in the GP), its bootstrap standard deviation,
    /// and the total and first-order indices (shares of the GP's variance).
    pub sobol_effect: Option<f64>,
    pub sobol_effect_sd: Option<f64>,
    pub sobol_total_index: Option<f64>,
    pub sobol_first_index: Option<f64>,
    /// sobol: whether the configurations that ran covered both halves of the key's range
    /// (false: it could not be judged, and is not selected).
    pub judged: Option<bool>,
    /// sobol: the failure share of the upper half of the key's range minus the lower half's
    /// (design and pre-checked draws), and whether that difference is significant.
    pub fail_influence: Option<f64>,
    pub decides_run: Option<bool>,
}

/// What the stage found.
#[derive(Debug, Serialize, Deserialize)]
pub struct DetermineSummary {
    pub method: ScreeningMethod,
    pub objective: flink::objective::Objective,
    pub rate: u64,
    pub repeats: u64,
    pub candidates: usize,
    /// Catalogue parameters the study's Flink version lacks (not screened).
    pub absent: Vec<String>,
    pub selected: Vec<String>,
    pub unselected: Vec<String>,
    pub rule: String,
    pub configurations: usize,
    pub trials: usize,
    pub failed_configurations: usize,
    /// Score of the reference configuration (None: it failed).
    pub reference_score: Option<f64>,
    /// The noise of one score (sd on the ln scale), from the configurations run more than
    /// once (None: none was).
    pub noise_sd: Option<f64>,
    /// Bases of the one-at-a-time sweep that ran (the reference and random ones).
    pub oat_bases: Option<usize>,
    pub noise_floor_oat: Option<f64>,
    pub noise_floor_morris: Option<f64>,
    pub noise_floor_forest: Option<f64>,
    /// sobol: the effect floor (the largest effect of a random probe, at least 1%).
    #[serde(default)]
    pub noise_floor_sobol: Option<f64>,
    /// Keys the configurations that ran did not cover (not selected, not judged).
    #[serde(default)]
    pub not_judged: Vec<String>,
    /// Keys whose value decides whether a configuration runs (reported apart).
    #[serde(default)]
    pub decides_run: Vec<String>,
    /// The trial budget, the adapter workers, and the trials found finished in the journal
    /// of an interrupted run.
    #[serde(default)]
    pub budget: u64,
    #[serde(default)]
    pub workers: usize,
    #[serde(default)]
    pub resumed: usize,
    pub seconds: f64,
}

/// A human summary.
pub fn describe(s: &DetermineSummary) -> String {
    format!(
        "determine ({:?}): {} configurations, {} trials in {:.1}s; selected {} of {} parameters \
         ({}):\n  {}\n",
        s.method,
        s.configurations,
        s.trials,
        s.seconds,
        s.selected.len(),
        s.candidates,
        s.rule,
        s.selected.join("\n  ")
    ) + &if s.decides_run.is_empty() {
        String::new()
    } else {
        format!(
            "keys that decide whether a configuration runs: {}\n",
            s.decides_run.join(", ")
        )
    } + &if s.not_judged.is_empty() {
        String::new()
    } else {
        format!(
            "could not be judged (too few configurations ran across their range): {}\n",
            s.not_judged.join(", ")
        )
    }
}
