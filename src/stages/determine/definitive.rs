//! A definitive screening design (Jones & Nachtsheim 2011) inside the runnable region: the
//! groups method's first phase opens with it.
//!
//! Over k keys the design has 2m + 1 runs: the rows of a conference matrix C of order
//! m ≥ k (zero diagonal, ±1 elsewhere, C Cᵀ = (m − 1) I), their mirrors −C and the centre.
//! Each key takes a column: ±1 are its two levels of the two-level design and 0 their
//! midpoint. Whole, its main effects are orthogonal to one another and to every quadratic
//! and two-key effect, and each key sits at its midpoint in two runs besides the centre.
//!
//! Why inside the runnable region: with every key at a level at once, Flink's memory rules
//! refuse most rows (on `flink-1.11-candidates` 41–55 of 121 pass the best of
//! ASSIGNMENTS assignments of keys to columns and signs). So the design is what passes of
//! the assignment most rows pass with, and the two-level design's runnable draws fill the
//! phase after it. What ran is no longer orthogonal, and a key is at its midpoint in 0–3
//! of its rows, so the regression reads a midpoint as 0 and offers the strongest keys'
//! squares beside their products (`factorial`). Measured on the simulator over 560 seeds
//! against foldover pairs in its place: recall 0.797 → 0.809 at 16 000 rec/s and 0.803 →
//! 0.807 at 80 000 (BENCHMARKS.md, "A definitive screening design opens the first phase").
//!
//! The conference matrix is Paley's first construction from a prime q ≡ 3 (mod 4), of
//! order q + 1: written here because no maintained crate builds one (they are a few lines
//! of quadratic residues).

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, RngExt};

/// Assignments of keys to the design's columns and signs tried for the most runnable rows.
const ASSIGNMENTS: usize = 200;

/// Paley's conference matrix of order q + 1 for a prime q ≡ 3 (mod 4): row and column 0
/// the all-ones border (−1 below the corner), the rest the Jacobsthal matrix
/// Q[i][j] = χ(j − i), χ the quadratic character mod q.
fn conference(q: usize) -> Vec<Vec<i8>> {
    let residue: Vec<bool> = (0..q).map(|a| (1..q).any(|x| x * x % q == a)).collect();
    let chi = |a: usize| match a {
        0 => 0,
        a if residue[a] => 1,
        _ => -1,
    };
    let m = q + 1;
    (0..m)
        .map(|i| {
            (0..m)
                .map(|j| match (i, j) {
                    (0, 0) => 0,
                    (0, _) => 1,
                    (_, 0) => -1,
                    _ => chi((j + q - i) % q),
                })
                .collect()
        })
        .collect()
}

fn is_prime(n: usize) -> bool {
    n >= 2
        && (2..n)
            .take_while(|d| d * d <= n)
            .all(|d| !n.is_multiple_of(d))
}

/// The smallest prime q ≡ 3 (mod 4) with q ≥ k: its conference matrix has a column for
/// each of k keys.
fn order_for(k: usize) -> usize {
    (k.max(3)..)
        .find(|&q| is_prime(q) && q % 4 == 3)
        .expect("primes ≡ 3 mod 4 are unbounded")
}

/// The whole design's rows over the conference matrix's q + 1 columns: each row of C, its
/// mirror, and last the centre.
fn design(k: usize) -> Vec<Vec<i8>> {
    let c = conference(order_for(k));
    let m = c.len();
    let mut rows = Vec::with_capacity(2 * m + 1);
    for r in c {
        let mirror = r.iter().map(|v| -v).collect();
        rows.push(r);
        rows.push(mirror);
    }
    rows.push(vec![0; m]);
    rows
}

/// The design's rows over k keys as unit points, each key at its `levels` (low, high) or
/// their midpoint, that `passes` admits: of ASSIGNMENTS random assignments of keys to
/// columns and of signs, the one most rows pass with (the first of equals), rows in the
/// design's order.
pub(super) fn runnable_rows(
    rng: &mut StdRng,
    levels: &[(f64, f64)],
    passes: &dyn Fn(&[f64]) -> bool,
) -> Vec<Vec<f64>> {
    if levels.is_empty() {
        return Vec::new();
    }
    let rows = design(levels.len());
    let mut best: Vec<Vec<f64>> = Vec::new();
    for _ in 0..ASSIGNMENTS {
        let points = assigned(&rows, levels, rng);
        let kept: Vec<Vec<f64>> = points.into_iter().filter(|u| passes(u)).collect();
        if kept.len() > best.len() {
            best = kept;
        }
    }
    best
}

/// The rows as unit points under one random assignment of keys to columns and signs.
fn assigned(rows: &[Vec<i8>], levels: &[(f64, f64)], rng: &mut impl Rng) -> Vec<Vec<f64>> {
    let mut cols: Vec<usize> = (0..rows[0].len()).collect();
    cols.shuffle(rng);
    let signs: Vec<i8> = levels
        .iter()
        .map(|_| if rng.random::<bool>() { 1 } else { -1 })
        .collect();
    rows.iter()
        .map(|row| {
            levels
                .iter()
                .enumerate()
                .map(|(i, &(lo, hi))| match row[cols[i]] * signs[i] {
                    1 => hi,
                    -1 => lo,
                    _ => (lo + hi) / 2.0,
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn paleys_matrix_is_a_conference_matrix() {
        for q in [3, 7, 11, 19, 59] {
            let c = conference(q);
            for i in 0..=q {
                assert_eq!(c[i][i], 0);
                for j in 0..=q {
                    let dot: i64 = (0..=q).map(|t| i64::from(c[i][t] * c[j][t])).sum();
                    assert_eq!(dot, if i == j { q as i64 } else { 0 }, "q {q} rows {i} {j}");
                    if i != j {
                        assert_eq!(c[i][j].abs(), 1);
                    }
                }
            }
        }
    }

    #[test]
    fn the_order_fits_the_keys() {
        assert_eq!(order_for(59), 59);
        assert_eq!(order_for(60), 67);
        assert_eq!(order_for(16), 19);
        assert_eq!(order_for(1), 3);
    }

    /// The whole design's main-effect columns are orthogonal to one another and to every
    /// key's square, and each key sits at its midpoint in exactly three runs.
    #[test]
    fn main_effects_are_clear_of_each_other_and_of_curvature() {
        let rows = design(10);
        let m = rows[0].len();
        assert_eq!(rows.len(), 2 * m + 1);
        for a in 0..m {
            let zeros = rows.iter().filter(|r| r[a] == 0).count();
            assert_eq!(zeros, 3);
            for b in 0..m {
                let dot: i64 = rows.iter().map(|r| i64::from(r[a] * r[b])).sum();
                let square: i64 = rows.iter().map(|r| i64::from(r[a] * r[b] * r[b])).sum();
                assert_eq!(square, 0);
                if a != b {
                    assert_eq!(dot, 0);
                }
            }
        }
    }

    #[test]
    fn rows_outside_the_region_are_left_out_and_the_best_assignment_kept() {
        let levels = vec![(0.2, 0.8); 12];
        let mut rng = StdRng::seed_from_u64(1);
        let all = runnable_rows(&mut rng, &levels, &|_| true);
        // 12 keys take 12 of the 20 columns of the order-19 matrix.
        assert_eq!(all.len(), 2 * 20 + 1);
        assert!(all.iter().flatten().all(|&v| [0.2, 0.5, 0.8].contains(&v)));
        // Two keys both high is refused: the kept rows never have it, and the assignment
        // chosen keeps at least three quarters of the rows.
        let passes = |u: &[f64]| !(u[0] == 0.8 && u[1] == 0.8);
        let kept = runnable_rows(&mut rng, &levels, &passes);
        assert!(kept.iter().all(|u| passes(u)));
        assert!(kept.len() >= all.len() * 3 / 4, "{}", kept.len());
        assert!(kept.len() < all.len());
    }
}
