//! The Matérn-5/2 kernel, the kernel matrix's Cholesky factorisation (with jitter
//! escalation), the log marginal likelihood and its analytic gradient.

use anyhow::{Result, bail, ensure};
use faer::linalg::solvers::DenseSolveCore;
use faer::{Mat, Side};

use crate::normal::HALF_LN_2PI;

const SQRT5: f64 = 2.236_067_977_499_79;

/// Matérn-5/2 correlation as a function of the scaled distance `r`.
#[inline]
pub(super) fn matern52(r: f64) -> f64 {
    (1.0 + SQRT5 * r + 5.0 / 3.0 * r * r) * (-SQRT5 * r).exp()
}

/// Scaled distance `r` between two rows.
#[inline]
pub(super) fn scaled_dist(a: &[f64], b: &[f64], inv_ls: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .zip(inv_ls)
        .map(|((p, q), il)| {
            let t = (p - q) * il;
            t * t
        })
        .sum::<f64>()
        .sqrt()
}

/// `aᵀb`.
#[inline]
pub(super) fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(p, q)| p * q).sum()
}

/// Jitter levels (relative to the mean diagonal) tried in turn when the
/// Cholesky factorisation fails or is numerically singular.
const JITTERS: [f64; 10] = [0.0, 1e-10, 1e-9, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2];

/// Smallest accepted squared pivot of the Cholesky factor, relative to the
/// mean diagonal. A factorisation that "succeeds" with a pivot below this
/// would make `α = K⁻¹y` explode, so it is treated as a failure.
const MIN_REL_PIVOT: f64 = 1e-12;

/// Everything derived from one Cholesky factorisation of `K + σ_n² I`.
pub(super) struct Factorised {
    /// Noise-free kernel matrix (row-major).
    kf: Vec<f64>,
    /// Scaled distances (row-major), reused by the gradient.
    r: Vec<f64>,
    /// Row-major lower Cholesky factor.
    pub(super) chol: Vec<f64>,
    /// faer's factorisation, kept for the explicit inverse in the gradient.
    llt: faer::linalg::solvers::Llt<f64>,
    /// `(K + σ_n² I)⁻¹ y`.
    pub(super) alpha: Vec<f64>,
    pub(super) jitter: f64,
    pub(super) lml: f64,
}

/// The noise-free kernel matrix `s² k(xᵢ, xⱼ)` and the scaled distances, row-major.
fn kernel_matrix(x: &[Vec<f64>], inv_ls: &[f64], s2: f64) -> (Vec<f64>, Vec<f64>) {
    let n = x.len();
    let mut kf = vec![0.0; n * n];
    let mut r = vec![0.0; n * n];
    for i in 0..n {
        kf[i * n + i] = s2;
        for j in 0..i {
            let rij = scaled_dist(&x[i], &x[j], inv_ls);
            let k = s2 * matern52(rij);
            kf[i * n + j] = k;
            kf[j * n + i] = k;
            r[i * n + j] = rij;
            r[j * n + i] = rij;
        }
    }
    (kf, r)
}

/// Builds, factorises (with jitter escalation) and solves for `α`.
pub(super) fn factorise(x: &[Vec<f64>], ys: &[f64], theta: &[f64]) -> Result<Factorised> {
    let n = x.len();
    let d = theta.len() - 2;
    ensure!(
        theta.iter().all(|t| t.is_finite()),
        "GP hyperparameters must be finite"
    );
    let inv_ls: Vec<f64> = theta[..d].iter().map(|t| (-t).exp()).collect();
    let s2 = theta[d].exp();
    let noise = theta[d + 1].exp();
    ensure!(
        s2.is_finite() && s2 > 0.0 && noise.is_finite(),
        "GP signal/noise variance out of range"
    );

    let (kf, r) = kernel_matrix(x, &inv_ls, s2);
    let scale = s2 + noise;
    for rel in JITTERS {
        let jitter = rel * scale;
        let a = Mat::from_fn(n, n, |i, j| {
            kf[i * n + j] + if i == j { noise + jitter } else { 0.0 }
        });
        let Ok(llt) = a.llt(Side::Lower) else {
            continue;
        };
        let l = llt.L();
        let mut chol = vec![0.0; n * n];
        let mut ok = true;
        for i in 0..n {
            for j in 0..=i {
                chol[i * n + j] = l[(i, j)];
            }
            let p = chol[i * n + i];
            if !(p.is_finite() && p * p >= MIN_REL_PIVOT * scale) {
                ok = false;
                break;
            }
        }
        if !ok {
            continue;
        }
        let alpha = chol_solve(&chol, n, ys);
        if !alpha.iter().all(|v| v.is_finite()) {
            continue;
        }
        let fit_term: f64 = ys.iter().zip(&alpha).map(|(a, b)| a * b).sum();
        let log_det_half: f64 = (0..n).map(|i| chol[i * n + i].ln()).sum();
        let lml = -0.5 * fit_term - log_det_half - n as f64 * HALF_LN_2PI;
        if !lml.is_finite() {
            continue;
        }
        return Ok(Factorised {
            kf,
            r,
            chol,
            llt,
            alpha,
            jitter,
            lml,
        });
    }
    bail!("Cholesky factorisation of the GP kernel matrix failed even with jitter")
}

/// Solves `L v = b` for row-major lower-triangular `L`.
pub(super) fn forward_solve(l: &[f64], n: usize, b: &[f64]) -> Vec<f64> {
    let mut v = b.to_vec();
    for i in 0..n {
        let row = &l[i * n..i * n + i];
        let s: f64 = row.iter().zip(&v[..i]).map(|(a, b)| a * b).sum();
        v[i] = (v[i] - s) / l[i * n + i];
    }
    v
}

/// Solves `L L^T a = b`.
pub(super) fn chol_solve(l: &[f64], n: usize, b: &[f64]) -> Vec<f64> {
    let mut v = forward_solve(l, n, b);
    for i in (0..n).rev() {
        let mut s = v[i];
        for j in i + 1..n {
            s -= l[j * n + i] * v[j];
        }
        v[i] = s / l[i * n + i];
    }
    v
}

/// LML of the standardised targets and its gradient w.r.t.
/// `θ = [ln ℓ_1..ln ℓ_D, ln s², ln σ_n²]`.
///
/// Uses `∂LML/∂θ = ½ tr((ααᵀ − K⁻¹) ∂K/∂θ)` with
/// `∂k/∂ln ℓ_d = s² (5/3)(1+√5 r) e^{−√5 r} Δ_d²/ℓ_d²`,
/// `∂K/∂ln s² = K_f` and `∂K/∂ln σ_n² = σ_n² I`. Jitter is treated as a
/// constant.
pub(super) fn lml_and_grad(x: &[Vec<f64>], ys: &[f64], theta: &[f64]) -> Result<(f64, Vec<f64>)> {
    let n = x.len();
    let d = theta.len() - 2;
    let f = factorise(x, ys, theta)?;
    let kinv = f.llt.inverse();
    let s2 = theta[d].exp();
    let noise = theta[d + 1].exp();
    let inv_ls: Vec<f64> = theta[..d].iter().map(|t| (-t).exp()).collect();

    let mut grad = vec![0.0; d + 2];
    let mut g_s2 = 0.0;
    let mut tr_w = 0.0;
    for i in 0..n {
        let wii = f.alpha[i] * f.alpha[i] - kinv[(i, i)];
        tr_w += wii;
        g_s2 += wii * f.kf[i * n + i];
        for j in 0..i {
            let wij = f.alpha[i] * f.alpha[j] - kinv[(i, j)];
            // Off-diagonal pairs appear twice in the trace.
            g_s2 += 2.0 * wij * f.kf[i * n + j];
            let r = f.r[i * n + j];
            // ½ · 2 (symmetry) · W_ij · common factor of ∂k/∂ln ℓ_d.
            let c = wij * s2 * (5.0 / 3.0) * (1.0 + SQRT5 * r) * (-SQRT5 * r).exp();
            if c == 0.0 {
                continue;
            }
            for (dd, g) in grad[..d].iter_mut().enumerate() {
                let t = (x[i][dd] - x[j][dd]) * inv_ls[dd];
                *g += c * t * t;
            }
        }
    }
    grad[d] = 0.5 * g_s2;
    grad[d + 1] = 0.5 * noise * tr_w;
    Ok((f.lml, grad))
}
