//! Expected improvement.

use anyhow::{Result, ensure};

use super::infill::Infill;
use super::log_ei::log_ei;
use crate::normal::{cdf, log_tau, pdf};

/// Expected improvement over `best + xi`, ranked by its logarithm.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ei {
    /// Improvement margin ξ ≥ 0 (same units as `mean`).
    pub xi: f64,
}

impl Infill for Ei {
    fn value(&self, mean: f64, var: f64, best: f64) -> f64 {
        let sigma = var.max(0.0).sqrt();
        let imp = mean - best - self.xi;
        if sigma <= 0.0 {
            imp.max(0.0)
        } else {
            let z = imp / sigma;
            if z >= 0.0 {
                imp * cdf(z) + sigma * pdf(z)
            } else {
                // Via the log: avoids the cancellation of the two
                // terms for negative z (underflows gracefully to 0).
                sigma * log_tau(z).exp()
            }
        }
    }

    fn score(&self, mean: f64, var: f64, best: f64) -> f64 {
        log_ei(mean, var.max(0.0).sqrt(), best, self.xi)
    }

    fn check(&self) -> Result<()> {
        ensure!(self.xi.is_finite(), "acquisition xi must be finite");
        Ok(())
    }
}
