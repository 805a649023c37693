//! Pareto fronts of objective vectors, all objectives minimised (the caller negates what
//! it maximises): dominance and non-dominated filtering, the reference point, the knee of
//! a front and the constrained best.
//!
//! - `hypervolume`: exact hypervolume and the hypervolume a point adds, in any dimension.

mod hypervolume;

pub use hypervolume::{hypervolume, improvement};

/// `a` against `b` objective by objective, the first difference deciding.
fn lexicographic(a: &[f64], b: &[f64]) -> std::cmp::Ordering {
    a.iter()
        .zip(b)
        .map(|(x, y)| x.total_cmp(y))
        .find(|o| o.is_ne())
        .unwrap_or(std::cmp::Ordering::Equal)
}

/// Whether `a` Pareto-dominates `b`: no worse in every objective, better in one.
pub fn dominates(a: &[f64], b: &[f64]) -> bool {
    let mut better = false;
    for (x, y) in a.iter().zip(b) {
        if x > y {
            return false;
        }
        better |= x < y;
    }
    better
}

/// Indices of the non-dominated points, in input order. Equal points do not dominate each
/// other, so duplicates on the front are all kept.
pub fn non_dominated(points: &[Vec<f64>]) -> Vec<usize> {
    (0..points.len())
        .filter(|&i| !points.iter().any(|q| dominates(q, &points[i])))
        .collect()
}

/// A reference point a little worse than the nadir of `points`: per objective the worst
/// value plus `margin` times the range (plus `margin` when the range is 0), so the
/// extreme points of the front still contribute volume. None for no points.
pub fn reference_point(points: &[Vec<f64>], margin: f64) -> Option<Vec<f64>> {
    let m = points.first()?.len();
    Some(
        (0..m)
            .map(|i| {
                let (lo, hi) = points
                    .iter()
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |acc, p| {
                        (acc.0.min(p[i]), acc.1.max(p[i]))
                    });
                let range = hi - lo;
                hi + margin * if range > 0.0 { range } else { 1.0 }
            })
            .collect(),
    )
}

/// becomes 0).
pub fn normalise(points: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let Some(m) = points.first().map(Vec::len) else {
        return vec![];
    };
    let bounds: Vec<(f64, f64)> = (0..m)
        .map(|i| {
            points
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |acc, p| {
                    (acc.0.min(p[i]), acc.1.max(p[i]))
                })
        })
        .collect();
    points
        .iter()
        .map(|p| {
            p.iter()
                .zip(&bounds)
                .map(|(v, (lo, hi))| if hi > lo { (v - lo) / (hi - lo) } else { 0.0 })
                .collect()
        })
        .collect()
}

/// The knee of a front: with each objective normalised to [0, 1] over the front, the point
/// farthest below the hyperplane Σ f = 1 through the normalised extremes (the line through
/// the two extremes in 2-D), i.e. the one with the smallest normalised sum — the best
/// balanced trade-off. Index into `front`; None for an empty front.
pub fn knee(front: &[Vec<f64>]) -> Option<usize> {
    normalise(front)
        .iter()
        .map(|p| p.iter().sum::<f64>())
        .enumerate()
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(i, _)| i)
}

/// The constrained best: among the points with no constraint violation (`violation` 0),
/// the best in the first objective, ties broken by the next objectives (objectives are
/// listed in order of priority); when none satisfies the constraints, the point with the
/// least violation. Index into `points`; None when there are none.
pub fn constrained_best(points: &[Vec<f64>], violation: &[f64]) -> Option<usize> {
    (0..points.len())
        .filter(|&i| violation[i] <= 0.0)
        .min_by(|&a, &b| lexicographic(&points[a], &points[b]))
        .or_else(|| {
            (0..points.len()).min_by(|&a, &b| {
                violation[a]
                    .total_cmp(&violation[b])
                    .then_with(|| lexicographic(&points[a], &points[b]))
            })
        })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{RngExt, SeedableRng};

    /// Points with coarse coordinates, so ties and duplicates occur (the hypervolume's
    /// tests share them).
    pub(crate) fn random_points(rng: &mut StdRng, n: usize, m: usize) -> Vec<Vec<f64>> {
        (0..n)
            .map(|_| {
                (0..m)
                    // Coarse values so ties and duplicates occur.
                    .map(|_| (rng.random::<f64>() * 8.0).floor() / 8.0)
                    .collect()
            })
            .collect()
    }

    #[test]
    fn the_front_is_exactly_the_non_dominated_points() {
        let mut rng = StdRng::seed_from_u64(11);
        for case in 0..100 {
            let m = 2 + case % 3;
            let pts = random_points(&mut rng, 30, m);
            let front = non_dominated(&pts);
            assert!(!front.is_empty());
            for (i, p) in pts.iter().enumerate() {
                let dominated = pts.iter().any(|q| dominates(q, p));
                // Every front point is dominated by no evaluated point; every point left
                // out is dominated by one.
                assert_eq!(front.contains(&i), !dominated, "{p:?}");
            }
            // The front alone has the whole set's hypervolume.
            let r = vec![1.0; m];
            let fp: Vec<Vec<f64>> = front.iter().map(|&i| pts[i].clone()).collect();
            assert!((hypervolume(&fp, &r) - hypervolume(&pts, &r)).abs() < 1e-12);
        }
        assert!(dominates(&[1.0, 2.0], &[1.0, 3.0]));
        assert!(!dominates(&[1.0, 2.0], &[1.0, 2.0]));
        assert!(!dominates(&[0.0, 3.0], &[1.0, 2.0]));
    }

    #[test]
    fn reference_knee_and_constrained_best() {
        let pts = vec![vec![1.0, 10.0], vec![2.0, 3.0], vec![5.0, 1.0]];
        let r = reference_point(&pts, 0.1).unwrap();
        assert!(
            (r[0] - 5.4).abs() < 1e-12 && (r[1] - 10.9).abs() < 1e-12,
            "{r:?}"
        );
        assert_eq!(
            reference_point(&[vec![2.0, 2.0]], 0.1).unwrap(),
            vec![2.1, 2.1]
        );
        assert!(reference_point(&[], 0.1).is_none());
        // Normalised: (0,1), (0.25, 2/9), (1, 0): the middle one is the knee.
        assert_eq!(knee(&pts), Some(1));
        assert_eq!(knee(&[]), None);
        // Feasible first, then the first objective; else the least violation.
        assert_eq!(constrained_best(&pts, &[1.0, 0.0, 0.0]), Some(1));
        assert_eq!(constrained_best(&pts, &[0.0, 0.0, 0.0]), Some(0));
        assert_eq!(constrained_best(&pts, &[3.0, 2.0, 5.0]), Some(1));
        let tie = vec![vec![1.0, 5.0], vec![1.0, 4.0]];
        assert_eq!(constrained_best(&tie, &[0.0, 0.0]), Some(1));
        assert_eq!(constrained_best(&[], &[]), None);
    }
}
