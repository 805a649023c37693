//! Space-filling designs over the unit cube behind the [`Sampler`] trait:
//!
//! - [`LatinHypercube`]: every axis cut into `n` strata with one point in each;
//! - [`MaximinLatinHypercube`]: the Latin hypercube with the largest minimum pairwise
//!   distance out of several, so the samples cover every parameter's range evenly and avoid
//!   clumps;
//! - [`Uniform`]: independent uniform draws (the baseline a Latin hypercube improves on);
//! - [`BoLatinHypercube`]: the Bayesian optimiser's initial design, a Latin hypercube drawn
//!   in its own order;
//! - [`GrowingMaximin`]: a design that grows without moving: the points of `n` are the first
//!   `n` of the design of any larger size, drawn as maximin Latin hypercube batches.
//!
//! The functions of the same names are the designs with a generic random source.

use rand::seq::SliceRandom;
use rand::{Rng, RngExt};

/// A design: `n` points in `[0,1]^d` drawn from `rng`.
pub trait Sampler {
    /// The design's points.
    fn sample(&self, n: usize, d: usize, rng: &mut dyn Rng) -> Vec<Vec<f64>>;
}

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

/// The first `n` points of an endless design drawn batch by batch (see [`growing_maximin`]).
#[derive(Clone, Copy, Debug)]
pub struct GrowingMaximin {
    /// Points per batch (at least one).
    pub batch: usize,
    /// Latin hypercubes each batch is chosen from.
    pub tries: usize,
}

impl Sampler for GrowingMaximin {
    fn sample(&self, n: usize, d: usize, rng: &mut dyn Rng) -> Vec<Vec<f64>> {
        growing_maximin(n, d, self.batch, self.tries, rng)
    }
}

/// The first `n` points of an endless design: batches of `batch` points, each the Latin
/// hypercube (of `tries`) whose points lie farthest from each other and from the batches
/// before it, its points ordered farthest-first. A batch depends only on the ones before it
/// and on `rng`, so the design of `n` points is the start of the design of `n + k` from the
/// same random source: a plan grows without redrawing what it holds, and the farthest-first
/// order keeps a partial last batch spread out.
pub fn growing_maximin<R: Rng + ?Sized>(
    n: usize,
    d: usize,
    batch: usize,
    tries: usize,
    rng: &mut R,
) -> Vec<Vec<f64>> {
    let batch = batch.max(1);
    let mut points: Vec<Vec<f64>> = Vec::with_capacity(n.div_ceil(batch) * batch);
    while points.len() < n {
        let mut best = latin_hypercube(batch, d, rng);
        let mut best_score = min_distance2(&best).min(min_cross_distance2(&best, &points));
        for _ in 1..tries {
            let candidate = latin_hypercube(batch, d, rng);
            let score = min_distance2(&candidate).min(min_cross_distance2(&candidate, &points));
            if score > best_score {
                best = candidate;
                best_score = score;
            }
        }
        farthest_first(best, &mut points);
    }
    points.truncate(n);
    points
}

fn distance2(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// The smallest squared distance from a point of `a` to a point of `b` (infinite if either
/// is empty).
fn min_cross_distance2(a: &[Vec<f64>], b: &[Vec<f64>]) -> f64 {
    a.iter()
        .flat_map(|p| b.iter().map(move |q| distance2(p, q)))
        .fold(f64::INFINITY, f64::min)
}

/// Appends `batch` to `points` one by one, each time the point farthest from all points
/// placed so far (the batch's first point when nothing is placed yet).
fn farthest_first(mut batch: Vec<Vec<f64>>, points: &mut Vec<Vec<f64>>) {
    // Each remaining point's squared distance to its nearest placed point.
    let mut nearest: Vec<f64> = batch
        .iter()
        .map(|p| {
            points
                .iter()
                .map(|q| distance2(p, q))
                .fold(f64::INFINITY, f64::min)
        })
        .collect();
    while !batch.is_empty() {
        let mut pick = 0;
        for (i, &d) in nearest.iter().enumerate() {
            if d > nearest[pick] {
                pick = i;
            }
        }
        let p = batch.swap_remove(pick);
        nearest.swap_remove(pick);
        for (q, d) in batch.iter().zip(nearest.iter_mut()) {
            *d = d.min(distance2(&p, q));
        }
        points.push(p);
    }
}

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
    fn a_growing_design_keeps_its_points_and_stays_spread() {
        let draw = |n| growing_maximin(n, 4, 16, 8, &mut StdRng::seed_from_u64(5));
        let (small, large) = (draw(8), draw(41));
        assert_eq!(small[..], large[..8], "the first 8 points do not move");
        assert_eq!(draw(40)[..], large[..40]);
        assert_eq!(large.len(), 41);
        // Each full batch is a Latin hypercube.
        for batch in large[..32].chunks(16) {
            for j in 0..4 {
                let mut strata: Vec<usize> = batch.iter().map(|p| (p[j] * 16.0) as usize).collect();
                strata.sort_unstable();
                assert_eq!(strata, (0..16).collect::<Vec<_>>());
            }
        }
        // Farthest-first: a partial batch spreads better than uniform draws do.
        let mut worse = 0;
        for seed in 0..10 {
            let u = uniform(8, 4, &mut StdRng::seed_from_u64(100 + seed));
            if min_distance2(&u) >= min_distance2(&small) {
                worse += 1;
            }
        }
        assert!(
            worse <= 2,
            "uniform beat the first 8 points {worse} times in 10"
        );
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
