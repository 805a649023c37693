//! Pareto fronts of objective vectors, all objectives minimised (the caller negates what
//! it maximises): dominance and non-dominated filtering, exact hypervolume with a reference
//! point, the hypervolume a new point adds, the knee of a front and the constrained best.
//!
//! Hypervolume is exact in every dimension: a sweep in 2-D, slices of 2-D sweeps in 3-D,
//! and the WFG recursion (While, Bradstreet & Barone 2012: the volume a point adds beyond
//! the points after it, computed on the others *limited* by it) for more objectives.
//! Written here because the fronts are small (tens of points) and no maintained crate
//! offers exact hypervolume; the tests check every path against inclusion–exclusion.

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

/// The volume dominated by `points` and bounded by `reference`. Points not strictly better
/// than the reference in every objective add nothing; non-finite points are ignored.
pub fn hypervolume(points: &[Vec<f64>], reference: &[f64]) -> f64 {
    let inside: Vec<Vec<f64>> = points
        .iter()
        .filter(|p| {
            p.len() == reference.len()
                && p.iter().zip(reference).all(|(v, r)| v.is_finite() && v < r)
        })
        .cloned()
        .collect();
    volume(inside, reference)
}

/// The hypervolume `y` adds to `front`: the volume of the box between `y` and the
/// reference that the front does not already dominate.
pub fn improvement(front: &[Vec<f64>], y: &[f64], reference: &[f64]) -> f64 {
    if y.len() != reference.len() || !y.iter().zip(reference).all(|(v, r)| v.is_finite() && v < r) {
        return 0.0;
    }
    let limited: Vec<Vec<f64>> = front
        .iter()
        .filter(|p| p.len() == y.len() && p.iter().all(|v| v.is_finite()))
        .map(|p| p.iter().zip(y).map(|(a, b)| a.max(*b)).collect())
        .collect();
    (box_volume(y, reference) - hypervolume(&limited, reference)).max(0.0)
}

fn box_volume(p: &[f64], reference: &[f64]) -> f64 {
    p.iter().zip(reference).map(|(v, r)| r - v).product()
}

/// Hypervolume of points all strictly inside the reference box.
fn volume(mut points: Vec<Vec<f64>>, reference: &[f64]) -> f64 {
    match (points.len(), reference.len()) {
        (0, _) | (_, 0) => 0.0,
        (1, _) => box_volume(&points[0], reference),
        (_, 1) => reference[0] - points.iter().map(|p| p[0]).fold(f64::INFINITY, f64::min),
        (_, 2) => volume_2d(&mut points, reference),
        (_, 3) => volume_3d(points, reference),
        _ => volume_wfg(points, reference),
    }
}

/// 2-D sweep: ascending in the first objective, each point adds the strip between it and
/// the lowest second objective seen so far.
fn volume_2d(points: &mut [Vec<f64>], reference: &[f64]) -> f64 {
    points.sort_by(|a, b| a[0].total_cmp(&b[0]).then(a[1].total_cmp(&b[1])));
    let mut floor = reference[1];
    let mut v = 0.0;
    for p in points.iter() {
        if p[1] < floor {
            v += (reference[0] - p[0]) * (floor - p[1]);
            floor = p[1];
        }
    }
    v
}

/// 3-D: slices between consecutive third-objective values, each the 2-D volume of the
/// points at or below the slice.
fn volume_3d(mut points: Vec<Vec<f64>>, reference: &[f64]) -> f64 {
    points.sort_by(|a, b| a[2].total_cmp(&b[2]));
    let mut v = 0.0;
    let mut slice: Vec<Vec<f64>> = Vec::with_capacity(points.len());
    for (i, p) in points.iter().enumerate() {
        slice.push(vec![p[0], p[1]]);
        let top = points.get(i + 1).map_or(reference[2], |q| q[2]);
        if top > p[2] {
            v += volume_2d(&mut slice, &reference[..2]) * (top - p[2]);
        }
    }
    v
}

/// WFG: the sum over points (sorted worst-first in the last objective) of what each adds
/// beyond the points after it.
fn volume_wfg(mut points: Vec<Vec<f64>>, reference: &[f64]) -> f64 {
    let last = reference.len() - 1;
    points.sort_by(|a, b| b[last].total_cmp(&a[last]));
    let mut v = 0.0;
    for i in 0..points.len() {
        let p = &points[i];
        let limited: Vec<Vec<f64>> = points[i + 1..]
            .iter()
            .map(|q| q.iter().zip(p).map(|(a, b)| a.max(*b)).collect())
            .collect();
        let keep = non_dominated(&limited);
        let limited: Vec<Vec<f64>> = keep.into_iter().map(|k| limited[k].clone()).collect();
        v += box_volume(p, reference) - volume(limited, reference);
    }
    v
}

/// Each objective of `points` scaled to [0, 1] over the points (a constant objective
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
    let lexicographic = |a: &Vec<f64>, b: &Vec<f64>| {
        a.iter()
            .zip(b)
            .map(|(x, y)| x.total_cmp(y))
            .find(|o| o.is_ne())
            .unwrap_or(std::cmp::Ordering::Equal)
    };
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
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{RngExt, SeedableRng};

    /// Inclusion–exclusion over every subset: exact, exponential, the oracle.
    fn oracle(points: &[Vec<f64>], r: &[f64]) -> f64 {
        let pts: Vec<&Vec<f64>> = points
            .iter()
            .filter(|p| p.iter().zip(r).all(|(v, r)| v < r))
            .collect();
        let n = pts.len();
        let mut v = 0.0;
        for mask in 1u32..(1 << n) {
            let chosen: Vec<&&Vec<f64>> = (0..n)
                .filter(|i| mask >> i & 1 == 1)
                .map(|i| &pts[i])
                .collect();
            let corner: Vec<f64> = (0..r.len())
                .map(|d| {
                    chosen
                        .iter()
                        .map(|p| p[d])
                        .fold(f64::NEG_INFINITY, f64::max)
                })
                .collect();
            let sign = if chosen.len() % 2 == 1 { 1.0 } else { -1.0 };
            v += sign * box_volume(&corner, r);
        }
        v
    }

    fn random_points(rng: &mut StdRng, n: usize, m: usize) -> Vec<Vec<f64>> {
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
    fn hypervolume_of_hand_computed_fronts() {
        let r2 = [4.0, 4.0];
        // One point: a 3 × 2 box.
        assert_eq!(hypervolume(&[vec![1.0, 2.0]], &r2), 6.0);
        // Staircase (1,3), (2,2), (3,1): 3 + 2 + 1 (strips) = 6.
        let stairs = vec![vec![1.0, 3.0], vec![2.0, 2.0], vec![3.0, 1.0]];
        assert_eq!(hypervolume(&stairs, &r2), 6.0);
        // A dominated point and a point outside the box change nothing.
        let mut more = stairs.clone();
        more.push(vec![3.0, 3.0]);
        more.push(vec![0.5, 4.0]);
        assert_eq!(hypervolume(&more, &r2), 6.0);
        // 3-D: unit cube corner at (1,1,1) with reference (2,2,2), plus (0,1.5,1.5):
        // 1 + 2·0.5·0.5 − overlap [1,2]×[1.5,2]×[1.5,2] = 1 + 0.5 − 0.25.
        let r3 = [2.0, 2.0, 2.0];
        let v = hypervolume(&[vec![1.0, 1.0, 1.0], vec![0.0, 1.5, 1.5]], &r3);
        assert!((v - 1.25).abs() < 1e-12, "{v}");
        // 4-D through WFG, by hand:
        // a = (1,1,1,1) → 1; b = (0,0,1.5,1.5) → 4·0.25 = 1; overlap (1,1,1.5,1.5) → 0.25.
        let r4 = [2.0; 4];
        let v = hypervolume(&[vec![1.0; 4], vec![0.0, 0.0, 1.5, 1.5]], &r4);
        assert!((v - 1.75).abs() < 1e-12, "{v}");
        assert_eq!(hypervolume(&[], &r2), 0.0);
        // What a point adds.
        assert_eq!(improvement(&stairs, &[1.0, 1.0], &r2), 3.0);
        assert_eq!(improvement(&stairs, &[2.0, 2.0], &r2), 0.0);
        assert_eq!(improvement(&stairs, &[5.0, 0.0], &r2), 0.0);
    }

    #[test]
    fn hypervolume_matches_inclusion_exclusion_in_2_to_5_dimensions() {
        let mut rng = StdRng::seed_from_u64(7);
        for case in 0..200 {
            let m = 2 + case % 4;
            let n = 1 + rng.random_range(0..9);
            let pts = random_points(&mut rng, n, m);
            let r = vec![1.0; m];
            let (got, want) = (hypervolume(&pts, &r), oracle(&pts, &r));
            assert!(
                (got - want).abs() < 1e-9,
                "m {m}: {got} vs {want} for {pts:?}"
            );
            // The WFG fallback agrees with the special cases too.
            let inside: Vec<Vec<f64>> = pts
                .iter()
                .filter(|p| p.iter().all(|v| *v < 1.0))
                .cloned()
                .collect();
            let wfg = if inside.len() > 1 {
                volume_wfg(inside, &r)
            } else {
                got
            };
            assert!((wfg - want).abs() < 1e-9, "wfg m {m}: {wfg} vs {want}");
            // improvement = HV(front ∪ {y}) − HV(front).
            let y = random_points(&mut rng, 1, m).remove(0);
            let mut with = pts.clone();
            with.push(y.clone());
            let inc = improvement(&pts, &y, &r);
            assert!(
                (inc - (oracle(&with, &r) - want)).abs() < 1e-9,
                "{y:?} on {pts:?}"
            );
        }
    }

    #[test]
    fn hypervolume_never_decreases_when_points_are_added() {
        let mut rng = StdRng::seed_from_u64(3);
        for m in 2..=4 {
            let r = vec![1.0; m];
            let mut pts = Vec::new();
            let mut last = 0.0;
            for _ in 0..25 {
                pts.push(random_points(&mut rng, 1, m).remove(0));
                let v = hypervolume(&pts, &r);
                assert!(v >= last - 1e-12, "{v} < {last}");
                last = v;
            }
            assert!(last > 0.0);
        }
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
