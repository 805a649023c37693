//! ParEGO (Knowles 2006): per suggestion a random weight vector from the simplex, the
//! augmented Chebyshev scalarisation `max_i w_i f_i + ρ Σ w_i f_i` of the normalised
//! objectives, one GP on it, and expected improvement (its logarithm) over the best feasible
//! value.

use anyhow::Result;
use rand::{Rng, RngExt};

use super::criterion::{Context, Infill, MoCriterion};
use super::models::{ANCHORS, ModelKey};
use crate::acquisition::{Infill as _, LogEi};

/// ParEGO's augmentation weight ρ.
const PAREGO_RHO: f64 = 0.05;

/// ParEGO.
#[derive(Clone, Copy, Debug, Default)]
pub struct ParEgo;

impl MoCriterion for ParEgo {
    fn infill<'a>(&self, ctx: Context<'a, '_>) -> Result<Infill<'a>> {
        let models = ctx.models;
        let weights = simplex_weights(ctx.rng, models.objectives.len());
        let chebyshev = |p: &[f64]| {
            let terms = p.iter().zip(&weights).map(|(f, w)| f * w);
            terms.clone().fold(f64::NEG_INFINITY, f64::max) + PAREGO_RHO * terms.sum::<f64>()
        };
        // Maximised: the negated scalarisation.
        let ys: Vec<f64> = models.points.iter().map(|(p, _)| -chebyshev(p)).collect();
        let gp = ctx.fitter.fit(ModelKey::Parego, &models.xs, &ys, true)?;
        let best = models
            .points
            .iter()
            .zip(&ys)
            .filter(|((_, ok), _)| *ok)
            .map(|(_, y)| *y)
            .fold(f64::NEG_INFINITY, f64::max);
        let mut anchors: Vec<(f64, Vec<f64>)> = ys
            .iter()
            .zip(&models.xs)
            .map(|(y, x)| (*y, x.clone()))
            .collect();
        anchors.sort_by(|a, b| b.0.total_cmp(&a.0));
        let anchors: Vec<Vec<f64>> = anchors.into_iter().take(ANCHORS).map(|a| a.1).collect();
        let ei = LogEi { xi: 0.0 };
        // Without a feasible evaluation yet, only the probability of feasibility counts.
        let gain = move |x: &[f64]| {
            best.is_finite().then(|| {
                let (mean, var) = gp.predict(x);
                ei.score(mean, var, best)
            })
        };
        Ok(Infill {
            gain: Box::new(gain),
            anchors,
        })
    }
}

/// Weights drawn uniformly from the simplex (normalised exponential draws).
fn simplex_weights<R: Rng + ?Sized>(rng: &mut R, m: usize) -> Vec<f64> {
    let e: Vec<f64> = (0..m).map(|_| -(1.0 - rng.random::<f64>()).ln()).collect();
    let total: f64 = e.iter().sum();
    e.iter().map(|v| v / total.max(f64::MIN_POSITIVE)).collect()
}
