//! Space-filling designs over the unit cube: Latin hypercubes, improved by keeping the one
//! with the largest minimum pairwise distance (maximin) out of several candidates, so the
//! samples cover every parameter's range evenly and avoid clumps.

use rand::seq::SliceRandom;
use rand::{Rng, RngExt};

/// One Latin hypercube: `n` points in `[0,1]^d`, each axis cut into `n` strata with one
/// point in each, placed uniformly within its stratum.
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
        let pts = latin_hypercube(n, d, &mut rng);
        assert_eq!(pts.len(), n);
        for j in 0..d {
            let mut strata: Vec<usize> = pts.iter().map(|p| (p[j] * n as f64) as usize).collect();
            strata.sort_unstable();
            assert_eq!(strata, (0..n).collect::<Vec<_>>(), "axis {j}");
            assert!(pts.iter().all(|p| (0.0..1.0).contains(&p[j])));
        }
    }

    #[test]
    fn maximin_spreads_points_better_than_uniform_and_is_reproducible() {
        let a = maximin_latin_hypercube(40, 5, 10, &mut StdRng::seed_from_u64(1));
        let b = maximin_latin_hypercube(40, 5, 10, &mut StdRng::seed_from_u64(1));
        assert_eq!(a, b);
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
