//! Space-filling designs over the unit cube behind the [`Sampler`] trait:
//!
//! - [`LatinHypercube`]: every axis cut into `n` strata with one point in each;
//! - [`MaximinLatinHypercube`]: the Latin hypercube with the largest minimum pairwise
//!   distance out of several, so the samples cover every parameter's range evenly and avoid
//!   clumps;
//! - [`Uniform`]: independent uniform draws (the baseline a Latin hypercube improves on);
//! - [`BoLatinHypercube`]: the Bayesian optimiser's initial design, a Latin hypercube drawn
//!   in its own order.
//!
//! The functions of the same names are the designs with a generic random source.

use rand::Rng;

mod lhs;
mod maximin;
mod uniform;

pub use lhs::{BoLatinHypercube, LatinHypercube, bo_latin_hypercube, latin_hypercube};
pub use maximin::{MaximinLatinHypercube, maximin_latin_hypercube, min_distance2};
pub use uniform::{Uniform, uniform};

/// A design: `n` points in `[0,1]^d` drawn from `rng`.
pub trait Sampler {
    /// The design's points.
    fn sample(&self, n: usize, d: usize, rng: &mut dyn Rng) -> Vec<Vec<f64>>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn every_stratum_of_every_axis_holds_one_point() {
        let mut rng = StdRng::seed_from_u64(7);
        let (n, d) = (50, 6);
        for sampler in [&LatinHypercube as &dyn Sampler, &BoLatinHypercube] {
            let pts = sampler.sample(n, d, &mut rng);
            assert_eq!(pts.len(), n);
            for j in 0..d {
                let mut strata: Vec<usize> =
                    pts.iter().map(|p| (p[j] * n as f64) as usize).collect();
                strata.sort_unstable();
                assert_eq!(strata, (0..n).collect::<Vec<_>>(), "axis {j}");
                assert!(pts.iter().all(|p| (0.0..1.0).contains(&p[j])));
            }
        }
    }

    #[test]
    fn maximin_spreads_points_better_than_uniform_and_is_reproducible() {
        let a = maximin_latin_hypercube(40, 5, 10, &mut StdRng::seed_from_u64(1));
        let b = maximin_latin_hypercube(40, 5, 10, &mut StdRng::seed_from_u64(1));
        assert_eq!(a, b);
        let c = MaximinLatinHypercube { tries: 10 }.sample(40, 5, &mut StdRng::seed_from_u64(1));
        assert_eq!(a, c, "the trait and the function draw the same design");
        let mut worse = 0;
        for seed in 0..10 {
            let u = uniform(40, 5, &mut StdRng::seed_from_u64(100 + seed));
            if min_distance2(&u) >= min_distance2(&a) {
                worse += 1;
            }
        }
        assert!(
            worse <= 1,
            "uniform designs beat maximin LHS {worse} times in 10"
        );
    }
}
