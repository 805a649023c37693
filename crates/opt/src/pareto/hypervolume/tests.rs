use super::*;
use crate::pareto::tests::random_points;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// Inclusion–exclusion over every subset: exact, exponential, the first oracle.
fn inclusion_exclusion(points: &[Vec<f64>], r: &[f64]) -> f64 {
    let pts: Vec<&Vec<f64>> = points.iter().filter(|p| strictly_inside(p, r)).collect();
    let n = pts.len();
    let mut v = 0.0;
    for mask in 1u32..(1 << n) {
        let chosen: Vec<&Vec<f64>> = (0..n)
            .filter(|i| mask >> i & 1 == 1)
            .map(|i| pts[i])
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

/// The second oracle, for fronts too large to enumerate subsets: on integer points with
/// reference (k, …, k), the number of unit cells of the grid some point dominates.
fn grid_count(points: &[Vec<f64>], k: usize, m: usize) -> f64 {
    let cells = k.pow(m as u32);
    (0..cells)
        .filter(|&c| {
            let corner: Vec<f64> = (0..m).map(|d| ((c / k.pow(d as u32)) % k) as f64).collect();
            points
                .iter()
                .any(|p| p.iter().zip(&corner).all(|(a, b)| a <= b))
        })
        .count() as f64
}

/// Integer points near the plane Σ = k·m/2 (many mutually non-dominated, as fronts are),
/// with some dominated and some duplicated ones.
fn integer_front(rng: &mut StdRng, n: usize, m: usize, k: usize) -> Vec<Vec<f64>> {
    (0..n)
        .map(|_| {
            let mut p: Vec<f64> = (0..m).map(|_| rng.random_range(0..k) as f64).collect();
            let sum: f64 = p.iter().sum();
            let target = (k * m / 2) as f64;
            if sum < target - 1.0 {
                let d = rng.random_range(0..m);
                p[d] = (p[d] + target - sum).min(k as f64 - 1.0);
            }
            p
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
    assert_eq!(improvement(&[], &[3.0, 3.0], &r2), 1.0);
}

#[test]
fn hypervolume_and_improvement_match_inclusion_exclusion_in_1_to_6_objectives() {
    let mut rng = StdRng::seed_from_u64(7);
    for case in 0..600 {
        let m = 1 + case % 6;
        let n = 1 + rng.random_range(0..10);
        let pts = random_points(&mut rng, n, m);
        let r = vec![1.0; m];
        let (got, want) = (hypervolume(&pts, &r), inclusion_exclusion(&pts, &r));
        assert!(
            (got - want).abs() < 1e-9,
            "m {m}: {got} vs {want} for {pts:?}"
        );
        // improvement = HV(front ∪ {y}) − HV(front).
        let y = random_points(&mut rng, 1, m).remove(0);
        let mut with = pts.clone();
        with.push(y.clone());
        let inc = improvement(&pts, &y, &r);
        let want_inc = inclusion_exclusion(&with, &r) - want;
        assert!(
            (inc - want_inc).abs() < 1e-9,
            "{y:?} on {pts:?}: {inc} vs {want_inc}"
        );
    }
}

#[test]
fn hypervolume_and_improvement_of_integer_fronts_of_4_to_6_objectives_count_their_cells() {
    let mut rng = StdRng::seed_from_u64(13);
    for case in 0..90 {
        let m = 4 + case % 3;
        let k = if m == 6 { 4 } else { 5 };
        let n = 10 + rng.random_range(0..25);
        let pts = integer_front(&mut rng, n, m, k);
        let r = vec![k as f64; m];
        let (got, want) = (hypervolume(&pts, &r), grid_count(&pts, k, m));
        assert_eq!(got, want, "m {m}, {n} points: {pts:?}");
        let y = integer_front(&mut rng, 1, m, k).remove(0);
        let mut with = pts.clone();
        with.push(y.clone());
        let inc = improvement(&pts, &y, &r);
        assert_eq!(inc, grid_count(&with, k, m) - want, "{y:?} on {pts:?}");
    }
}

#[test]
fn hypervolume_never_decreases_when_points_are_added() {
    let mut rng = StdRng::seed_from_u64(3);
    for m in 2..=5 {
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
fn non_finite_and_mismatched_points_add_nothing() {
    let r = [1.0, 1.0, 1.0, 1.0];
    let good = vec![0.5; 4];
    let pts = vec![good.clone(), vec![f64::NAN, 0.0, 0.0, 0.0], vec![0.0; 3]];
    assert_eq!(hypervolume(&pts, &r), 0.0625);
    assert_eq!(improvement(&pts, &[f64::INFINITY, 0.0, 0.0, 0.0], &r), 0.0);
    assert_eq!(improvement(&pts, &[0.5, 0.5, 0.5, 0.25], &r), 0.0625 * 0.5);
}
