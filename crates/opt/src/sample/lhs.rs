//! Latin hypercubes: each axis cut into `n` strata with one point in each, placed uniformly
//! within its stratum.

use rand::seq::SliceRandom;
use rand::{Rng, RngExt};

use super::Sampler;

/// One Latin hypercube (see [`latin_hypercube`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct LatinHypercube;

impl Sampler for LatinHypercube {
    fn sample(&self, n: usize, d: usize, rng: &mut dyn Rng) -> Vec<Vec<f64>> {
        latin_hypercube(n, d, rng)
    }
}

/// One Latin hypercube: `n` points in `[0,1]^d`, each axis cut into `n` strata with one
/// point in each, placed uniformly within its stratum. The strata of an axis are the previous
/// axis's order shuffled again.
pub fn latin_hypercube<R: Rng + ?Sized>(n: usize, d: usize, rng: &mut R) -> Vec<Vec<f64>> {
    let mut points = vec![Vec::with_capacity(d); n];
    let mut order: Vec<usize> = (0..n).collect();
    for _ in 0..d {
        order.shuffle(rng);
        for (point, &stratum) in points.iter_mut().zip(&order) {
            point.push((stratum as f64 + rng.random::<f64>()) / n as f64);
        }
    }
    points
}

/// The Bayesian optimiser's initial design (see [`bo_latin_hypercube`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct BoLatinHypercube;

impl Sampler for BoLatinHypercube {
    fn sample(&self, n: usize, d: usize, rng: &mut dyn Rng) -> Vec<Vec<f64>> {
        bo_latin_hypercube(n, d, rng)
    }
}

/// A Latin hypercube of `n` points in `[0,1]^d` as the Bayesian optimiser draws its initial
/// design: per axis a fresh permutation (Fisher–Yates from the identity), then the offsets
/// within the strata. The same kind of design as [`latin_hypercube`] from other draws; kept
/// apart so that optimiser runs reproduce.
pub fn bo_latin_hypercube<R: Rng + ?Sized>(n: usize, d: usize, rng: &mut R) -> Vec<Vec<f64>> {
    let mut pts = vec![vec![0.0; d]; n];
    for j in 0..d {
        let mut perm: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            perm.swap(i, rng.random_range(0..=i));
        }
        for (i, p) in pts.iter_mut().enumerate() {
            p[j] = (perm[i] as f64 + rng.random::<f64>()) / n as f64;
        }
    }
    pts
}
