//! Multi-objective Bayesian optimisation with outcome constraints.
//!
//! An evaluation yields a vector of metric values; the [`Problem`] names, by index into it,
//! two or more objectives to minimise or maximise and constraints bounding metrics. Every
//! objective and every constrained metric gets its own Gaussian process, fitted on the
//! evaluations that ran; metrics whose observed values are all positive are modelled on a
//! log scale (latencies and resource amounts span decades), and maximised ones are negated,
//! so everything is minimised.
//!
//! Two criteria ([`MoCriterion`], chosen by [`Method`]):
//! - [`Ehvi`] (default): expected hypervolume improvement over the front of the evaluations
//!   that met the constraints, by Monte Carlo over the objectives' independent GP
//!   posteriors ([`mc_samples`] draws: fewer as the objectives grow), on objectives normalised to [0, 1] over the evaluations that ran,
//!   reference point [`REFERENCE`];
//! - [`ParEgo`] (Knowles 2006): per suggestion a random weight vector from the simplex, the
//!   augmented Chebyshev scalarisation of the normalised objectives, one GP on it, and
//!   expected improvement over the best feasible value.
//!
//! Either is multiplied by Π P(constraint met) (each from its GP: Φ of the standardised
//! distance to the bound) and by P(run) — a caller's prior ([`Prior`]) times the learnt
//! classifier of passes and failures ([`crate::bo::PassModel`]). Scores are summed
//! logarithms, so nothing underflows to a flat zero. The domain, the candidate search and
//! the no-repeat rule are [`crate::bo`]'s ([`crate::bo::BayesOpt::ask_scored`]).
//!
//! A batch of `q` suggestions fits the GPs once; with EHVI each suggestion's predicted
//! objectives join the front for the rest of the batch (a believer, without refitting), with
//! ParEGO each gets its own weights.
//!
//! - `problem`: objectives, constraints, normalisation and common hypervolumes;
//! - `models`: the batch's GPs, the probability of feasibility, the front anchors;
//! - `criterion`, `ehvi`, `parego`: the criteria;
//! - `optimiser`: [`Mobo`], the ask/tell optimiser.

mod criterion;
mod ehvi;
mod models;
mod optimiser;
mod parego;
mod problem;

pub use criterion::{Context, Gain, Infill, MoCriterion};
pub use ehvi::{Ehvi, mc_draws, mc_samples};
pub use models::{Fitter, ModelKey, Models, Prior};
pub use optimiser::{Method, MoOptions, Mobo};
pub use parego::ParEgo;
pub use problem::{
    Bound, Constraint, Objective, Problem, REFERENCE, Sense, common_hypervolumes,
    normalised_objectives,
};

#[cfg(test)]
mod tests;
