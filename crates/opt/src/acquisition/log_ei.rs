//! The logarithm of expected improvement.

use anyhow::{Result, ensure};

use super::infill::Infill;
use crate::normal::log_tau;

/// ln EI over `best + xi`: the same argmax as EI, but keeps signal where EI underflows.
/// `−∞` only when `σ = 0` and there is no improvement (EI is exactly 0 there).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LogEi {
    /// Improvement margin ξ ≥ 0.
    pub xi: f64,
}

impl Infill for LogEi {
    fn value(&self, mean: f64, var: f64, best: f64) -> f64 {
        log_ei(mean, var.max(0.0).sqrt(), best, self.xi)
    }

    fn score(&self, mean: f64, var: f64, best: f64) -> f64 {
        log_ei(mean, var.max(0.0).sqrt(), best, self.xi)
    }

    fn check(&self) -> Result<()> {
        ensure!(self.xi.is_finite(), "acquisition xi must be finite");
        Ok(())
    }
}

/// ln EI, stable in the far tail.
pub(super) fn log_ei(mean: f64, sigma: f64, best: f64, xi: f64) -> f64 {
    let imp = mean - best - xi;
    if sigma <= 0.0 {
        if imp > 0.0 {
            imp.ln()
        } else {
            f64::NEG_INFINITY
        }
    } else {
        sigma.ln() + log_tau(imp / sigma)
    }
}
