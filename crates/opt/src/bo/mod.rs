//! Mixed-domain Bayesian optimisation with an ask/tell interface.
//!
//! Every parameter lives in a *relaxed* unit cube: a continuous or integer
//! variable takes one dimension in `[0,1]`, a categorical variable one
//! dimension per choice (one-hot). [`Domain::project`] maps any relaxed point
//! to a valid one (integers snap to their grid, categoricals become the
//! one-hot of the argmax).
//!
//! Discrete variables are handled *inside* the acquisition optimisation, in
//! the style of Garrido-Merchán & Hernández-Lobato (2020): the GP is trained
//! on projected points and the acquisition is always evaluated at
//! `project(z)`, so the optimiser sees the true piecewise-constant surface
//! instead of rounding a continuous optimum afterwards.
//!
//! Maximisation convention throughout: higher `y` is better.
//!
//! - `domain`: the variables, the relaxed cube and the projection;
//! - `options`: the optimiser's options;
//! - `optimiser`: [`BayesOpt`], the ask/tell loop over a surrogate (one GP or the RGPE
//!   ensemble), its design phase and kriging-believer batches;
//! - `observations`: what the objective's GP is fitted on (observations capped at their
//!   median, failures imputed at that floor, a batch's provisional points);
//! - `feasibility`: the caller's probability of success and the one learnt from failures;
//! - `transfer`: the base models of earlier tasks and the ensemble;
//! - `scoring`: what the maximiser ranks points by (the weighted acquisition, or a caller's
//!   score for [`BayesOpt::ask_scored`]);
//! - `maximiser` and `candidates`: the acquisition maximiser (enumeration, random
//!   candidates around the best points, hill-climbing);
//! - `seen`: the points never suggested again, in the caller's canonical form if any.

mod candidates;
mod domain;
mod feasibility;
mod maximiser;
mod observations;
mod optimiser;
mod options;
mod scoring;
mod seen;
mod transfer;

pub use crate::ask_tell::Suggestion;
pub use domain::{Condition, Domain, Var};
pub use feasibility::{Feasibility, PassModel, Precheck};
pub use optimiser::BayesOpt;
pub use options::{BoOptions, SEARCH_PRIOR_TAU, default_initial};
pub use scoring::Score;
pub use seen::Canonical;

#[cfg(test)]
mod tests;
