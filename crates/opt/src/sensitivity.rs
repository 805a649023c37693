//! Variance-based sensitivity of a function on the unit cube: how much of the variance of
//! `f(X)`, X uniform on `[0,1]^d`, each input explains alone (first-order Sobol' index) and
//! with all its interactions (total index).
//!
//! The estimators are the ones Saltelli et al. (2010, "Variance based sensitivity analysis
//! of model output", Comput. Phys. Commun. 181) recommend: two independent samples A and B,
//! and for each input i the sample A_B^(i) — A with its column i taken from B. Then
//! - first-order variance V_i = E[f(B) · (f(A_B^(i)) − f(A))],
//! - total variance (Jansen 1999) V_Ti = E[(f(A) − f(A_B^(i)))²] / 2,
//!
//! at a cost of n·(d + 2) evaluations. Meant for cheap functions (a fitted surrogate),
//! never for the measured system. Variances are returned unnormalised too, since a screening
//! rule asks "how large is the effect" as well as "how large a share".

use rand::Rng;

use crate::sample::latin_hypercube;

/// What the analysis found.
#[derive(Clone, Debug, PartialEq)]
pub struct Indices {
    /// The variance of f over the cube (from both samples).
    pub variance: f64,
    /// Per input, the first-order variance V_i (may come out slightly negative by
    /// Monte-Carlo error when it is near zero).
    pub first: Vec<f64>,
    /// Per input, the total variance V_Ti (never negative).
    pub total: Vec<f64>,
}

impl Indices {
    /// The first-order indices V_i / V (0 when f is constant).
    pub fn first_order(&self) -> Vec<f64> {
        self.first
            .iter()
            .map(|v| ratio(*v, self.variance))
            .collect()
    }

    /// The total indices V_Ti / V (0 when f is constant).
    pub fn total_order(&self) -> Vec<f64> {
        self.total
            .iter()
            .map(|v| ratio(*v, self.variance))
            .collect()
    }
}

fn ratio(v: f64, total: f64) -> f64 {
    if total > 0.0 { v / total } else { 0.0 }
}

/// Sobol' indices of `f` over `[0,1]^d` from `n` base points per sample (A and B are Latin
/// hypercubes, which lowers the estimators' variance against plain random samples). `f`
/// takes a batch of points and returns their values, so a caller can evaluate in bulk.
pub fn sobol<R: Rng + ?Sized>(
    f: &dyn Fn(&[Vec<f64>]) -> Vec<f64>,
    d: usize,
    n: usize,
    rng: &mut R,
) -> Indices {
    let n = n.max(2);
    let a = latin_hypercube(n, d, rng);
    let b = latin_hypercube(n, d, rng);
    let fa = f(&a);
    let fb = f(&b);
    let all: Vec<f64> = fa.iter().chain(&fb).copied().collect();
    let mean = all.iter().sum::<f64>() / all.len() as f64;
    let variance = all.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / all.len() as f64;
    let mut first = Vec::with_capacity(d);
    let mut total = Vec::with_capacity(d);
    for i in 0..d {
        let ab: Vec<Vec<f64>> = a
            .iter()
            .zip(&b)
            .map(|(ra, rb)| {
                let mut r = ra.clone();
                r[i] = rb[i];
                r
            })
            .collect();
        let fab = f(&ab);
        let nf = n as f64;
        first.push(
            fb.iter()
                .zip(&fa)
                .zip(&fab)
                .map(|((yb, ya), yab)| yb * (yab - ya))
                .sum::<f64>()
                / nf,
        );
        total.push(
            fa.iter()
                .zip(&fab)
                .map(|(ya, yab)| (ya - yab).powi(2))
                .sum::<f64>()
                / (2.0 * nf),
        );
    }
    Indices {
        variance,
        first,
        total,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn batch(g: impl Fn(&[f64]) -> f64) -> impl Fn(&[Vec<f64>]) -> Vec<f64> {
        move |xs: &[Vec<f64>]| xs.iter().map(|x| g(x)).collect()
    }

    #[test]
    fn a_linear_function_has_the_textbook_indices() {
        // f = 2·x0 + x1: V0 = 4/12, V1 = 1/12, x2 inert.
        let f = batch(|x| 2.0 * x[0] + x[1]);
        let s = sobol(&f, 3, 4000, &mut StdRng::seed_from_u64(1));
        assert!((s.variance - 5.0 / 12.0).abs() < 0.01, "{s:?}");
        let t = s.total_order();
        let f1 = s.first_order();
        assert!(
            (t[0] - 0.8).abs() < 0.03 && (t[1] - 0.2).abs() < 0.03,
            "{t:?}"
        );
        assert!(
            (f1[0] - 0.8).abs() < 0.05 && (f1[1] - 0.2).abs() < 0.05,
            "{f1:?}"
        );
        assert_eq!(s.total[2], 0.0);
    }

    #[test]
    fn a_pure_interaction_shows_in_the_total_index_only() {
        // f = (x0 − ½)(x1 − ½): no main effect, all variance in the interaction.
        let f = batch(|x| (x[0] - 0.5) * (x[1] - 0.5));
        let s = sobol(&f, 3, 4000, &mut StdRng::seed_from_u64(2));
        let (t, f1) = (s.total_order(), s.first_order());
        assert!(t[0] > 0.9 && t[1] > 0.9, "{t:?}");
        assert!(f1[0].abs() < 0.1 && f1[1].abs() < 0.1, "{f1:?}");
        assert_eq!(t[2], 0.0);
    }

    #[test]
    fn a_constant_has_no_indices() {
        let f = batch(|_| 3.0);
        let s = sobol(&f, 2, 50, &mut StdRng::seed_from_u64(3));
        assert_eq!(s.total_order(), vec![0.0, 0.0]);
        assert_eq!(s.first_order(), vec![0.0, 0.0]);
    }
}
