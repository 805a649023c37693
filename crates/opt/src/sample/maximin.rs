//! Maximin Latin hypercubes: the best of several by the smallest pairwise distance.

use rand::Rng;

use super::Sampler;
use super::lhs::latin_hypercube;

/// The best of `tries` Latin hypercubes by the maximin criterion (see
/// [`maximin_latin_hypercube`]).
#[derive(Clone, Copy, Debug)]
pub struct MaximinLatinHypercube {
    /// Latin hypercubes drawn (at least one is).
    pub tries: usize,
}

impl Sampler for MaximinLatinHypercube {
    fn sample(&self, n: usize, d: usize, rng: &mut dyn Rng) -> Vec<Vec<f64>> {
        maximin_latin_hypercube(n, d, self.tries, rng)
    }
}

/// The smallest squared distance between two points of a design.
pub fn min_distance2(points: &[Vec<f64>]) -> f64 {
    let mut best = f64::INFINITY;
    for (i, a) in points.iter().enumerate() {
        for b in &points[i + 1..] {
            let d: f64 = a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum();
            best = best.min(d);
        }
    }
    best
}

/// The best of `tries` Latin hypercubes by the maximin criterion.
pub fn maximin_latin_hypercube<R: Rng + ?Sized>(
    n: usize,
    d: usize,
    tries: usize,
    rng: &mut R,
) -> Vec<Vec<f64>> {
    let mut best = latin_hypercube(n, d, rng);
    let mut best_score = min_distance2(&best);
    for _ in 1..tries {
        let candidate = latin_hypercube(n, d, rng);
        let score = min_distance2(&candidate);
        if score > best_score {
            best = candidate;
            best_score = score;
        }
    }
    best
}
