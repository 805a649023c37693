//! What the acquisition asks of a model of the objective: a posterior on the target's
//! standardised scale (so acquisition parameters are scale-free), the incumbent on that
//! scale, and the posterior in the target's own units for reports. Implemented by a single
//! GP ([`Gp`]) and by the RGPE ensemble of earlier tasks' GPs and the target's
//! ([`crate::rgpe::Ensemble`]).

use crate::gp::Gp;

/// A posterior model of the objective being maximised.
pub trait Surrogate {
    /// Posterior mean and variance at `x` on the target's standardised scale.
    fn posterior(&self, x: &[f64]) -> (f64, f64);

    /// The incumbent the acquisition improves on, on the standardised scale, given the
    /// target's observations `(xs, ys)` in its own units.
    fn incumbent(&self, xs: &[Vec<f64>], ys: &[f64]) -> f64;

    /// Posterior mean and standard deviation at `x` in the target's own units, when it has a
    /// scale yet.
    fn in_units(&self, x: &[f64]) -> Option<(f64, f64)>;
}

/// The largest of `ys` (−∞ when empty).
pub(crate) fn best_of(ys: &[f64]) -> f64 {
    ys.iter().copied().fold(f64::NEG_INFINITY, f64::max)
}

/// A GP on its own standardisation: the scale of the observations it was fitted on.
impl Surrogate for Gp {
    fn posterior(&self, x: &[f64]) -> (f64, f64) {
        let (m, v) = self.predict(x);
        let (mean, std) = self.standardisation();
        ((m - mean) / std, v / (std * std))
    }

    /// The best observation, standardised.
    fn incumbent(&self, _xs: &[Vec<f64>], ys: &[f64]) -> f64 {
        let (mean, std) = self.standardisation();
        (best_of(ys) - mean) / std
    }

    fn in_units(&self, x: &[f64]) -> Option<(f64, f64)> {
        let (m, v) = self.predict(x);
        Some((m, v.sqrt()))
    }
}
