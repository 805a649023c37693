//! Acquisition functions for Bayesian optimisation (maximisation convention), one file per
//! criterion behind the [`Infill`] trait:
//!
//! - [`Ei`]: EI = (mean − best − ξ) Φ(z) + σ φ(z) = σ τ(z), `τ(z) = zΦ(z) + φ(z)`;
//! - [`LogEi`]: ln σ + ln τ(z), computed without underflow for very negative z;
//! - [`Pi`]: Φ(z), the probability of improvement;
//! - [`Ucb`]: mean + √β σ,
//!
//! with the GP posterior `mean` and `var` at a point, the best observed value `best` (f*),
//! `σ = √var` and `z = (mean − best − ξ)/σ`. `σ = 0` is handled explicitly (the limits of the
//! formulas), so no function returns NaN for finite inputs.
//!
//! [`Acquisition`] is the configuration value (what a study names and the optimiser's options
//! hold); it implements [`Infill`] as the criterion it names.

use anyhow::Result;
use serde::{Deserialize, Serialize};

mod ei;
mod infill;
mod log_ei;
mod pi;
mod ucb;

pub use crate::normal::{cdf, log_cdf, log_tau, pdf};
pub use ei::Ei;
pub use infill::Infill;
pub use log_ei::LogEi;
pub use pi::Pi;
pub use ucb::Ucb;

/// An acquisition function (higher is better), with its parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Acquisition {
    /// Expected improvement over `best + xi`.
    Ei {
        /// Improvement margin ξ ≥ 0 (same units as `mean`).
        xi: f64,
    },
    /// Logarithm of expected improvement (same argmax as EI, but keeps
    /// signal where EI underflows).
    LogEi {
        /// Improvement margin ξ ≥ 0.
        xi: f64,
    },
    /// Probability of improvement over `best + xi`.
    Pi {
        /// Improvement margin ξ ≥ 0.
        xi: f64,
    },
    /// Upper confidence bound `mean + √β σ`.
    Ucb {
        /// Exploration weight β ≥ 0.
        beta: f64,
    },
}

impl Acquisition {
    /// Calls `f` with the criterion this value names.
    fn with<T>(&self, f: impl FnOnce(&dyn Infill) -> T) -> T {
        match *self {
            Acquisition::Ei { xi } => f(&Ei { xi }),
            Acquisition::LogEi { xi } => f(&LogEi { xi }),
            Acquisition::Pi { xi } => f(&Pi { xi }),
            Acquisition::Ucb { beta } => f(&Ucb { beta }),
        }
    }
}

/// The named criterion's: EI and PI are ranked by their logarithms, LogEI and UCB by their
/// value.
impl Infill for Acquisition {
    fn value(&self, mean: f64, var: f64, best: f64) -> f64 {
        self.with(|c| c.value(mean, var, best))
    }

    fn score(&self, mean: f64, var: f64, best: f64) -> f64 {
        self.with(|c| c.score(mean, var, best))
    }

    fn weighted(&self, score: f64, p: f64) -> f64 {
        self.with(|c| c.weighted(score, p))
    }

    fn check(&self) -> Result<()> {
        self.with(|c| c.check())
    }
}

#[cfg(test)]
mod tests;
