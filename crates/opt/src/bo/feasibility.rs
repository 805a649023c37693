//! Feasibility: the probability that a point can be evaluated at all, given by the caller
//! ([`Feasibility`]) or learnt from the points told as failures ([`PassModel`]). The
//! acquisition is weighted by it, so the search avoids configurations expected to fail.

use anyhow::Result;

use crate::gp::{self, FitOptions, Gp, Hyper};
use crate::normal::cdf;

/// The probability that each of a batch of (projected) points can be evaluated at all
/// (one value per point): EI is multiplied by it, so the search avoids configurations
/// expected to fail. Batched because a model predicts many rows faster than one by one.
pub type Feasibility = Box<dyn Fn(&[Vec<f64>]) -> Vec<f64> + Send + Sync>;

/// Whether a (projected) point may be evaluated at all: a hard rule the caller knows
/// before running anything (Flink's memory rules, the cluster's slots). The optimiser never
/// suggests a point it rejects — not in the design, not from the acquisition, not at
/// random — so a rejected configuration costs no evaluation of the budget.
pub type Precheck = Box<dyn Fn(&[f64]) -> bool + Send + Sync>;

/// The probability that a point runs, learnt from the outcomes so far: a GP regression on
/// labels +1 (ran) and −1 (failed) with its own ARD length-scales, read as the probability
/// that the predicted label is positive, `Φ(m / √(v + σ_n²))` (least-squares
/// classification with a probit read-out, Rasmussen & Williams §6.5).
///
/// Why a GP and not the share of passing neighbours: whether a Flink configuration starts
/// depends on a few parameters (memory sizes, slots against parallelism); the fitted
/// length-scales find those, while a Euclidean neighbourhood in 30+ dimensions is
/// dominated by the irrelevant ones and calls everything near a passing point safe.
#[derive(Clone, Debug)]
pub struct PassModel {
    gp: Gp,
    /// Label noise variance `σ_n²` in label units.
    noise: f64,
}

impl PassModel {
    /// Fits the model, or `None` unless both outcomes occurred (a constant probability
    /// would not change the ranking of candidates).
    pub fn fit(
        passed: &[Vec<f64>],
        failed: &[Vec<f64>],
        opts: &FitOptions,
        warm: Option<&Hyper>,
    ) -> Result<Option<PassModel>> {
        if passed.is_empty() || failed.is_empty() {
            return Ok(None);
        }
        let x: Vec<Vec<f64>> = passed.iter().chain(failed).cloned().collect();
        let labels: Vec<f64> = (0..x.len())
            .map(|i| if i < passed.len() { 1.0 } else { -1.0 })
            .collect();
        let gp = match gp::fit(&x, &labels, opts, warm) {
            Ok(gp) => gp,
            Err(_) if warm.is_some() => gp::fit(&x, &labels, opts, None)?,
            Err(e) => return Err(e),
        };
        let (_, label_std) = gp.standardisation();
        let noise = gp.hyper().log_noise_var.exp() * label_std * label_std;
        Ok(Some(PassModel { gp, noise }))
    }

    /// The probability that `x` runs, in `[0, 1]`, never NaN.
    pub fn probability(&self, x: &[f64]) -> f64 {
        let (m, v) = self.gp.predict(x);
        let sd = (v + self.noise).max(1e-12).sqrt();
        let p = cdf(m / sd);
        if p.is_nan() { 0.5 } else { p.clamp(0.0, 1.0) }
    }

    /// The fitted hyperparameters (warm start for the next fit).
    pub fn hyper(&self) -> &Hyper {
        self.gp.hyper()
    }
}
