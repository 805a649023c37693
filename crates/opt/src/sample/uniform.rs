//! Independent uniform draws: the baseline a Latin hypercube improves on.

use rand::{Rng, RngExt};

use super::Sampler;

/// `n` points drawn uniformly at random (see [`uniform`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct Uniform;

impl Sampler for Uniform {
    fn sample(&self, n: usize, d: usize, rng: &mut dyn Rng) -> Vec<Vec<f64>> {
        uniform(n, d, rng)
    }
}

/// `n` points drawn uniformly at random (the baseline a Latin hypercube improves on).
pub fn uniform<R: Rng + ?Sized>(n: usize, d: usize, rng: &mut R) -> Vec<Vec<f64>> {
    (0..n)
        .map(|_| (0..d).map(|_| rng.random::<f64>()).collect())
        .collect()
}
