//! What the acquisition maximiser ranks points by: the surrogate's acquisition weighted by
//! the probability of success ([`Scorer`]), or a caller's score taken whole ([`Whole`]).

use crate::acquisition::{Acquisition, Infill};
use crate::surrogate::Surrogate;

use super::feasibility::{Feasibility, PassModel};

/// An acquisition a caller computes at a projected point (higher is better).
pub type Score<'a> = &'a dyn Fn(&[f64]) -> f64;

/// What the acquisition maximiser ranks points by (higher is better), split so that a
/// probability-of-success weight, often the expensive part, is evaluated only where it can
/// matter: the full score never exceeds the base.
pub(super) trait Scoring {
    /// The score without the weight at a projected point (NaN counts as −∞).
    fn base(&self, p: &[f64]) -> f64;
    /// Full scores of `points` given their base scores, each at most its base.
    fn full_many(&self, points: &[Vec<f64>], bases: &[f64]) -> Vec<f64>;
}

/// The surrogate's acquisition on the standardised scale (the *base* score) and, from it,
/// the full score weighted by the probability of success.
pub(super) struct Scorer<'a> {
    pub(super) surrogate: &'a dyn Surrogate,
    pub(super) acquisition: &'a Acquisition,
    /// The incumbent on the standardised scale.
    pub(super) best: f64,
    pub(super) feasibility: Option<&'a Feasibility>,
    pub(super) pass_model: Option<&'a PassModel>,
}

impl Scoring for Scorer<'_> {
    fn base(&self, p: &[f64]) -> f64 {
        let (m, v) = self.surrogate.posterior(p);
        let s = self.acquisition.score(m, v, self.best);
        if s.is_nan() { f64::NEG_INFINITY } else { s }
    }

    /// The criterion's weighting ([`Infill::weighted`]: `ln(EI) + ln(p)` for EI, log-EI
    /// and PI; UCB drops points with `p < 0.5`). The caller's feasibility is asked for all
    /// points at once (it may predict a batch faster than point by point).
    fn full_many(&self, points: &[Vec<f64>], bases: &[f64]) -> Vec<f64> {
        if self.feasibility.is_none() && self.pass_model.is_none() {
            return bases.to_vec();
        }
        let given = self.feasibility.map(|f| f(points));
        points
            .iter()
            .zip(bases)
            .enumerate()
            .map(|(i, (p, &s))| {
                let mut w = given
                    .as_ref()
                    .map_or(1.0, |g| g.get(i).copied().unwrap_or(1.0));
                if let Some(m) = self.pass_model {
                    w *= m.probability(p);
                }
                let w = if w.is_nan() { 0.0 } else { w };
                self.acquisition.weighted(s, w)
            })
            .collect()
    }
}

/// A caller's score ([`BayesOpt::ask_scored`](super::BayesOpt::ask_scored)) taken whole: it
/// has no weight to defer.
pub(super) struct Whole<'a>(pub(super) Score<'a>);

impl Scoring for Whole<'_> {
    fn base(&self, p: &[f64]) -> f64 {
        let s = (self.0)(p);
        if s.is_nan() { f64::NEG_INFINITY } else { s }
    }

    fn full_many(&self, _points: &[Vec<f64>], bases: &[f64]) -> Vec<f64> {
        bases.to_vec()
    }
}
