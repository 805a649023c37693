//! Expected hypervolume improvement over the feasible front, by Monte Carlo over the
//! objectives' independent GP posteriors (common random numbers, so candidates are compared
//! on the same draws), on objectives normalised to [0, 1] over the evaluations that ran,
//! reference point [`REFERENCE`]. A batch's earlier suggestions join the front at their
//! predicted objectives (a believer, without refitting).
//!
//! Monte Carlo, not the exact EHVI of a box decomposition: the decomposition's boxes grow
//! as n^⌊m/2⌋ with the front's n points in m objectives, where a draw's exact improvement
//! costs one WFG volume of the front limited by the draw, mostly a handful of points. The
//! draws per candidate fall with the objectives ([`mc_samples`]) so a candidate's cost
//! stays bounded as each improvement grows dearer; they are quasi-random ([`mc_draws`]),
//! which keeps the estimate's error down at those counts; its relative error (against
//! 4096 draws) is measured by the crate's `benches/hypervolume.rs` (BENCHMARKS.md), and the draws are
//! common to every candidate of a suggestion, so candidates are compared on the same draws.

use anyhow::Result;
use rand::RngExt;
use rand::rngs::StdRng;

use super::criterion::{Context, Infill, MoCriterion};
use super::problem::REFERENCE;
use crate::{normal, pareto};

/// Monte Carlo draws of the objectives per EHVI evaluation with `objectives` objectives:
/// 64 up to 3, 32 for 4, 16 from 5 (see the module's notes).
pub fn mc_samples(objectives: usize) -> usize {
    match objectives {
        0..=3 => 64,
        4 => 32,
        _ => 16,
    }
}

/// The standard normal draws of one suggestion's EHVI ([`mc_samples`] of them): an
/// Owen-scrambled Sobol' sequence (its scramble seeded from `rng`) through the normal
/// quantile. Quasi-random points cover the objectives' joint normal more evenly than
/// independent draws, so at the same count the estimate varies less (the crate's
/// `benches/hypervolume.rs` measures it), and the counts are powers of two, where a Sobol'
/// sequence is balanced. Beyond the sequence's dimensions (256 objectives) a dimension is
/// reused with another scramble: independent of the others, only less even.
pub fn mc_draws(objectives: usize, rng: &mut StdRng) -> Vec<Vec<f64>> {
    let seed: u32 = rng.random();
    let dims = sobol_burley::NUM_DIMENSIONS;
    (0..mc_samples(objectives) as u32)
        .map(|i| {
            (0..objectives as u32)
                .map(|d| {
                    let scramble = seed.wrapping_add(d / dims);
                    let u = f64::from(sobol_burley::sample(i, d % dims, scramble));
                    // The sequence's values are multiples of 2⁻²⁴ in [0, 1): the middle of
                    // each step keeps the quantile finite.
                    normal::quantile(u + HALF_STEP)
                })
                .collect()
        })
        .collect()
}

/// Half the step of the Sobol' sequence's values (2⁻²⁵).
const HALF_STEP: f64 = 1.0 / (1u64 << 25) as f64;

/// Expected hypervolume improvement.
#[derive(Clone, Copy, Debug, Default)]
pub struct Ehvi;

impl MoCriterion for Ehvi {
    fn infill<'a>(&self, ctx: Context<'a, '_>) -> Result<Infill<'a>> {
        let models = ctx.models;
        let m = models.objectives.len();
        let mut front: Vec<Vec<f64>> = models
            .points
            .iter()
            .filter(|(_, ok)| *ok)
            .map(|(p, _)| p.clone())
            .collect();
        front.extend(ctx.believed.iter().cloned());
        let keep = pareto::non_dominated(&front);
        let front: Vec<Vec<f64>> = keep.into_iter().map(|k| front[k].clone()).collect();
        let reference = vec![REFERENCE; m];
        let draws = mc_draws(m, ctx.rng);
        let samples = draws.len();
        let gain = move |x: &[f64]| {
            let post: Vec<(f64, f64)> = models
                .objectives
                .iter()
                .map(|gp| {
                    let (mean, var) = gp.predict(x);
                    (mean, var.max(0.0).sqrt())
                })
                .collect();
            let mut y = vec![0.0; m];
            let total: f64 = draws
                .iter()
                .map(|eps| {
                    for k in 0..m {
                        y[k] = post[k].0 + post[k].1 * eps[k];
                    }
                    pareto::improvement(&front, &y, &reference)
                })
                .sum();
            let ehvi = total / samples as f64;
            Some(ehvi.ln())
        };
        Ok(Infill {
            gain: Box::new(gain),
            anchors: models.front_anchors(),
        })
    }
}
