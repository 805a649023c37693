//! Upper confidence bound.

use anyhow::{Result, ensure};

use super::infill::Infill;

/// `mean + √β σ`, ranked by its value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ucb {
    /// Exploration weight β ≥ 0.
    pub beta: f64,
}

impl Infill for Ucb {
    fn value(&self, mean: f64, var: f64, _best: f64) -> f64 {
        let sigma = var.max(0.0).sqrt();
        mean + self.beta.max(0.0).sqrt() * sigma
    }

    fn score(&self, mean: f64, var: f64, best: f64) -> f64 {
        self.value(mean, var, best)
    }

    /// A bound has no logarithm to add a probability to: points that more likely fail
    /// than run (`p < 0.5`) are dropped, the others keep their score.
    fn weighted(&self, score: f64, p: f64) -> f64 {
        if p < 0.5 { f64::NEG_INFINITY } else { score }
    }

    fn check(&self) -> Result<()> {
        ensure!(
            self.beta.is_finite() && self.beta >= 0.0,
            "UCB beta must be finite and ≥ 0"
        );
        Ok(())
    }
}
