//! Gaussian-process regression with a Matérn-5/2 ARD kernel.
//!
//! The surrogate model behind the Bayesian optimiser. Inputs are rows in the
//! unit cube `[0,1]^D`; targets are standardised internally (mean / population
//! std) so that hyperparameter bounds and acquisition parameters are
//! scale-free, while [`Gp::predict`] reports in the caller's units.
//!
//! Kernel: `k(x,x') = s² (1 + √5 r + 5r²/3) exp(−√5 r)` with
//! `r² = Σ_d ((x_d − x'_d)/ℓ_d)²`, plus `σ_n²` on the diagonal.
//!
//! Hyperparameters are fitted by maximising the log marginal likelihood (LML)
//! with a small box-constrained (projected) L-BFGS using the analytic
//! gradient; see [`fit`].
//!
//! - `hyper`: the hyperparameters, their bounds and the fit's options;
//! - `likelihood`: the Matérn-5/2 kernel, the Cholesky factorisation (with jitter), the LML
//!   and its gradient;
//! - `lbfgs`: the box-constrained L-BFGS the fit maximises the LML with;
//! - `prior`: a prior on the length-scales for fits that ask for one;
//! - `model`: the conditioned GP, its fit and predictions.

mod hyper;
mod lbfgs;
mod likelihood;
mod model;
mod prior;

pub use hyper::{FitOptions, Hyper};
pub use model::{Gp, fit, with_hyper};

#[cfg(test)]
mod tests;
