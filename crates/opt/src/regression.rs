//! Ordinary least squares with an intercept, and each coefficient's standard error: the
//! analysis of a two-level screening design, where a key's main effect is twice its
//! coefficient on a ±1 column and its t statistic says whether noise alone explains it.

use faer::linalg::solvers::DenseSolveCore;
use faer::{Mat, Side};

/// The ridge added to the Gram matrix's diagonal, per row: far below what shifts a
/// coefficient of an independent column, enough to invert one with dependent columns.
const RIDGE: f64 = 1e-9;

/// A least-squares fit of y on the columns of x and an intercept.
#[derive(Clone, Debug)]
pub struct Ols {
    pub intercept: f64,
    /// One coefficient per column of x.
    pub coef: Vec<f64>,
    /// Their standard errors (σ̂ √((XᵀX)⁻¹)ⱼⱼ).
    pub se: Vec<f64>,
    /// y minus the fit, per row.
    pub residuals: Vec<f64>,
    /// Residual degrees of freedom (rows − columns − 1).
    pub dof: usize,
}

impl Ols {
    /// Coefficient j over its standard error (0 when the error is 0).
    pub fn t(&self, j: usize) -> f64 {
        if self.se[j] > 0.0 {
            self.coef[j] / self.se[j]
        } else {
            0.0
        }
    }
}

/// Fits y on the rows of x (all of one length) and an intercept. None when there are not
/// more rows than columns + 1. Columns that depend on each other (two keys a runnable
/// region ties together) get a vanishing ridge, so the fit exists and their coefficients'
/// standard errors are huge rather than the fit failing.
pub fn ols(x: &[Vec<f64>], y: &[f64]) -> Option<Ols> {
    let n = x.len();
    let p = x.first().map_or(0, Vec::len) + 1;
    if n <= p || y.len() != n {
        return None;
    }
    let row = |r: usize, j: usize| if j == 0 { 1.0 } else { x[r][j - 1] };
    let mut xtx = vec![0.0; p * p];
    let mut xty = vec![0.0; p];
    for (r, &yr) in y.iter().enumerate() {
        for i in 0..p {
            let a = row(r, i);
            xty[i] += a * yr;
            for j in i..p {
                xtx[i * p + j] += a * row(r, j);
            }
        }
    }
    let ridge = RIDGE * n as f64;
    let gram = Mat::from_fn(p, p, |i, j| {
        xtx[i.min(j) * p + i.max(j)] + if i == j && i > 0 { ridge } else { 0.0 }
    });
    let inv = gram.llt(Side::Lower).ok()?.inverse();
    let beta: Vec<f64> = (0..p)
        .map(|i| (0..p).map(|j| inv[(i, j)] * xty[j]).sum())
        .collect();
    let residuals: Vec<f64> = (0..n)
        .map(|r| y[r] - (0..p).map(|j| row(r, j) * beta[j]).sum::<f64>())
        .collect();
    let dof = n - p;
    let sigma2 = residuals.iter().map(|e| e * e).sum::<f64>() / dof as f64;
    let se = (1..p)
        .map(|j| (sigma2 * inv[(j, j)].max(0.0)).sqrt())
        .collect();
    Some(Ols {
        intercept: beta[0],
        coef: beta[1..].to_vec(),
        se,
        residuals,
        dof,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_coefficients_and_their_errors() {
        // y = 1 + 2 a − 0.5 b on a full 2² factorial, repeated, with ±0.1 noise on b's sign.
        let mut x = Vec::new();
        let mut y = Vec::new();
        for rep in 0..4 {
            for (a, b) in [(-1.0, -1.0), (-1.0, 1.0), (1.0, -1.0), (1.0, 1.0)] {
                let e = if rep % 2 == 0 { 0.1 } else { -0.1 };
                x.push(vec![a, b]);
                y.push(1.0 + 2.0 * a - 0.5 * b + e);
            }
        }
        let f = ols(&x, &y).unwrap();
        assert!((f.intercept - 1.0).abs() < 1e-6);
        assert!((f.coef[0] - 2.0).abs() < 1e-6 && (f.coef[1] + 0.5).abs() < 1e-6);
        // σ̂² = 16 · 0.01 / 13; (XᵀX)⁻¹ = 1/16 on the diagonal.
        let se = (0.01 * 16.0 / 13.0 / 16.0_f64).sqrt();
        assert!((f.se[0] - se).abs() < 1e-6, "{}", f.se[0]);
        assert_eq!(f.dof, 13);
        assert!(ols(&x[..3], &y[..3]).is_none());
        // Two identical columns: the fit exists, and neither coefficient is told apart.
        let dependent: Vec<Vec<f64>> = x.iter().map(|r| vec![r[0], r[0]]).collect();
        let f = ols(&dependent, &y).unwrap();
        assert!((f.coef[0] + f.coef[1] - 2.0).abs() < 1e-3, "{:?}", f.coef);
        assert!(f.t(0).abs() < 1.0 && f.t(1).abs() < 1.0, "{:?}", f.se);
    }
}
