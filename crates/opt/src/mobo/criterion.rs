//! How a multi-objective search scores candidates: a [`MoCriterion`] turns the batch's
//! models into what the candidate search maximises for the next suggestion (its gain, to
//! which the log-probability of feasibility is added, and where to look).

use rand::rngs::StdRng;

use anyhow::Result;

use super::models::{Fitter, Models};

/// What a criterion works with for one suggestion.
pub struct Context<'a, 'b> {
    /// The batch's models.
    pub models: &'a Models,
    /// The predicted objectives of the batch's earlier suggestions.
    pub believed: &'b [Vec<f64>],
    /// The search's random source.
    pub rng: &'b mut StdRng,
    /// Fits the criterion's own GPs, if it has any.
    pub fitter: &'b mut Fitter,
}

/// A criterion's log-gain at a point (higher is better; None: no gain to offer yet, only
/// feasibility counts).
pub type Gain<'a> = Box<dyn Fn(&[f64]) -> Option<f64> + 'a>;

/// What the candidate search maximises for one suggestion.
pub struct Infill<'a> {
    /// The log-gain at a point.
    pub gain: Gain<'a>,
    /// Good points whose neighbourhoods the candidate search examines, best first.
    pub anchors: Vec<Vec<f64>>,
}

/// A multi-objective acquisition criterion.
pub trait MoCriterion {
    /// The infill of the next suggestion of a batch.
    fn infill<'a>(&self, ctx: Context<'a, '_>) -> Result<Infill<'a>>;
}
