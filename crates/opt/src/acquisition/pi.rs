//! Probability of improvement.

use anyhow::{Result, ensure};

use super::infill::Infill;
use crate::normal::{cdf, log_cdf};

/// The probability of improving on `best + xi`, ranked by its logarithm.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pi {
    /// Improvement margin ξ ≥ 0.
    pub xi: f64,
}

impl Infill for Pi {
    fn value(&self, mean: f64, var: f64, best: f64) -> f64 {
        let sigma = var.max(0.0).sqrt();
        let imp = mean - best - self.xi;
        if sigma <= 0.0 {
            if imp > 0.0 { 1.0 } else { 0.0 }
        } else {
            cdf(imp / sigma)
        }
    }

    fn score(&self, mean: f64, var: f64, best: f64) -> f64 {
        let sigma = var.max(0.0).sqrt();
        let imp = mean - best - self.xi;
        if sigma <= 0.0 {
            if imp > 0.0 { 0.0 } else { f64::NEG_INFINITY }
        } else {
            log_cdf(imp / sigma)
        }
    }

    fn check(&self) -> Result<()> {
        ensure!(self.xi.is_finite(), "acquisition xi must be finite");
        Ok(())
    }
}
