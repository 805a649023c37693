//! The trait every acquisition criterion implements.

use anyhow::Result;

/// An acquisition criterion: how promising a point is, from the posterior there.
pub trait Infill {
    /// The acquisition value at a point with posterior `mean`, `var` given the incumbent
    /// `best`. Negative `var` is treated as 0. Never NaN for finite inputs.
    fn value(&self, mean: f64, var: f64, best: f64) -> f64;

    /// A strictly monotone transform of [`Infill::value`] that is better behaved for
    /// optimisation (no flat zero far from the incumbent). Only the ordering is meaningful.
    fn score(&self, mean: f64, var: f64, best: f64) -> f64;

    /// The score weighted by a probability of success `p` (constrained acquisition):
    /// `score + ln p`, `p` floored at 1e-12, by default.
    fn weighted(&self, score: f64, p: f64) -> f64 {
        score + p.clamp(1e-12, 1.0).ln()
    }

    /// Checks the parameters (finite, in range).
    fn check(&self) -> Result<()>;
}
