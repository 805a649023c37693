//! Gaussian-process regression with a Matérn-5/2 ARD kernel.
//!
//! The surrogate model behind the Bayesian optimiser. Inputs are rows in the
//! unit cube `[0,1]^D`; targets are standardised internally (mean / population
//! std) so that hyperparameter bounds and acquisition parameters are
//! scale-free, while [`Gp::predict`] reports in the caller's units.
//!
//! Kernel: `k(x,x') = s² (1 + √5 r + 5r²/3) exp(−√5 r)` with
//! `r² = Σ_d ((x_d − x'_d)/ℓ_d)²`, plus `σ_n²` on the diagonal.
//!
//! Hyperparameters are fitted by maximising the log marginal likelihood (LML)
//! with a small box-constrained (projected) L-BFGS using the analytic
//! gradient; see [`fit`].

use anyhow::{Result, bail, ensure};
use faer::linalg::solvers::DenseSolveCore;
use faer::{Mat, Side};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

const SQRT5: f64 = 2.236_067_977_499_79;
/// `0.5 · ln(2π)`.
const HALF_LN_2PI: f64 = 0.918_938_533_204_672_7;

/// Jitter levels (relative to the mean diagonal) tried in turn when the
/// Cholesky factorisation fails or is numerically singular.
const JITTERS: [f64; 10] = [0.0, 1e-10, 1e-9, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2];

/// Smallest accepted squared pivot of the Cholesky factor, relative to the
/// mean diagonal. A factorisation that "succeeds" with a pivot below this
/// would make `α = K⁻¹y` explode, so it is treated as a failure.
const MIN_REL_PIVOT: f64 = 1e-12;

/// Box bounds on the log-hyperparameters (standardised-y units, x in [0,1]).
/// Lengthscales: 0.01 … 10 (10 ≫ the cube's width, i.e. "irrelevant").
const LS_BOUNDS: (f64, f64) = (0.01, 10.0);
/// Signal variance: generous around 1 (y is standardised).
const SIGNAL_BOUNDS: (f64, f64) = (1e-2, 1e2);
/// Noise variance: ≥ 1e-6 of the standardised variance keeps K well
/// conditioned; ≤ 1 (pure noise).
const NOISE_BOUNDS: (f64, f64) = (1e-6, 1.0);

/// Kernel hyperparameters, all on the log scale (standardised-y units).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Hyper {
    /// `ln ℓ_d`, one per input dimension.
    pub log_lengthscales: Vec<f64>,
    /// `ln s²` (signal variance of the standardised targets).
    pub log_signal_var: f64,
    /// `ln σ_n²` (noise variance of the standardised targets).
    pub log_noise_var: f64,
}

impl Hyper {
    /// A neutral default for `dim` inputs: `ℓ = √(D/6)` (so that a typical
    /// pair of uniform points is about one lengthscale apart), `s² = 1`,
    /// `σ_n² = 0.01`; clamped to the fitting bounds.
    pub fn default_for(dim: usize) -> Self {
        let ls = (dim as f64 / 6.0).sqrt().clamp(LS_BOUNDS.0, LS_BOUNDS.1);
        Hyper {
            log_lengthscales: vec![ls.ln(); dim],
            log_signal_var: 0.0,
            log_noise_var: 0.01f64.ln(),
        }
    }

    /// Number of input dimensions these hyperparameters describe.
    pub fn dim(&self) -> usize {
        self.log_lengthscales.len()
    }

    /// Flatten to `[ln ℓ_1..ln ℓ_D, ln s², ln σ_n²]`.
    fn to_theta(&self) -> Vec<f64> {
        let mut t = self.log_lengthscales.clone();
        t.push(self.log_signal_var);
        t.push(self.log_noise_var);
        t
    }

    fn from_theta(theta: &[f64]) -> Self {
        let d = theta.len() - 2;
        Hyper {
            log_lengthscales: theta[..d].to_vec(),
            log_signal_var: theta[d],
            log_noise_var: theta[d + 1],
        }
    }
}

/// Options for [`fit`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FitOptions {
    /// Number of cold starts (the first is a deterministic default, the rest
    /// random). The `warm` start, if given, comes on top. With `restarts == 0`
    /// only the warm start (or, without one, the default) is optimised.
    pub restarts: usize,
    /// Maximum L-BFGS iterations per start.
    pub max_iters: u64,
    /// Seed for the random starts.
    pub seed: u64,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            restarts: 3,
            max_iters: 100,
            seed: 0,
        }
    }
}

/// A conditioned Gaussian process, ready for prediction.
#[derive(Clone, Debug)]
pub struct Gp {
    x: Vec<Vec<f64>>,
    dim: usize,
    hyper: Hyper,
    /// Precomputed `1/ℓ_d`.
    inv_ls: Vec<f64>,
    signal_var: f64,
    y_mean: f64,
    y_std: f64,
    /// The standardised targets.
    ys: Vec<f64>,
    /// `(K + σ_n² I)⁻¹ y_std`.
    alpha: Vec<f64>,
    /// Lower Cholesky factor, row-major `n × n`.
    chol: Vec<f64>,
    jitter: f64,
    lml: f64,
}

/// Matérn-5/2 correlation as a function of the scaled distance `r`.
#[inline]
fn matern52(r: f64) -> f64 {
    (1.0 + SQRT5 * r + 5.0 / 3.0 * r * r) * (-SQRT5 * r).exp()
}

/// Scaled distance `r` between two rows.
#[inline]
fn scaled_dist(a: &[f64], b: &[f64], inv_ls: &[f64]) -> f64 {
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

/// Validates the training data and returns its dimension.
fn check_data(x: &[Vec<f64>], y: &[f64]) -> Result<usize> {
    ensure!(!x.is_empty(), "GP needs at least one observation");
    ensure!(
        x.len() == y.len(),
        "GP got {} inputs but {} targets",
        x.len(),
        y.len()
    );
    let d = x[0].len();
    ensure!(d > 0, "GP inputs must have at least one dimension");
    for (i, row) in x.iter().enumerate() {
        ensure!(
            row.len() == d,
            "GP input row {i} has dimension {} (expected {d})",
            row.len()
        );
        ensure!(
            row.iter().all(|v| v.is_finite()),
            "GP input row {i} is not finite"
        );
    }
    ensure!(y.iter().all(|v| v.is_finite()), "GP targets must be finite");
    Ok(d)
}

/// Mean and population std of `y`; a (near-)constant `y` gets std 1 so the
/// standardised targets are simply zero.
fn standardise(y: &[f64]) -> (f64, f64, Vec<f64>) {
    let n = y.len() as f64;
    let mean = y.iter().sum::<f64>() / n;
    let var = y.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    let mut std = var.sqrt();
    // Written to also catch a NaN std.
    if std.is_nan() || std <= 1e-12 * mean.abs().max(1.0) {
        std = 1.0;
    }
    let ys = y.iter().map(|v| (v - mean) / std).collect();
    (mean, std, ys)
}

/// Everything derived from one Cholesky factorisation of `K + σ_n² I`.
struct Factorised {
    /// Noise-free kernel matrix (row-major).
    kf: Vec<f64>,
    /// Scaled distances (row-major), reused by the gradient.
    r: Vec<f64>,
    /// Row-major lower Cholesky factor.
    chol: Vec<f64>,
    /// faer's factorisation, kept for the explicit inverse in the gradient.
    llt: faer::linalg::solvers::Llt<f64>,
    alpha: Vec<f64>,
    jitter: f64,
    lml: f64,
}

/// Builds, factorises (with jitter escalation) and solves for `α`.
fn factorise(x: &[Vec<f64>], ys: &[f64], theta: &[f64]) -> Result<Factorised> {
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

    let mut kf = vec![0.0; n * n];
    let mut r = vec![0.0; n * n];
    for i in 0..n {
        kf[i * n + i] = s2;
        for j in 0..i {
            let rij = scaled_dist(&x[i], &x[j], &inv_ls);
            let k = s2 * matern52(rij);
            kf[i * n + j] = k;
            kf[j * n + i] = k;
            r[i * n + j] = rij;
            r[j * n + i] = rij;
        }
    }

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
fn forward_solve(l: &[f64], n: usize, b: &[f64]) -> Vec<f64> {
    let mut v = b.to_vec();
    for i in 0..n {
        let row = &l[i * n..i * n + i];
        let s: f64 = row.iter().zip(&v[..i]).map(|(a, b)| a * b).sum();
        v[i] = (v[i] - s) / l[i * n + i];
    }
    v
}

/// Solves `L L^T a = b`.
fn chol_solve(l: &[f64], n: usize, b: &[f64]) -> Vec<f64> {
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
fn lml_and_grad(x: &[Vec<f64>], ys: &[f64], theta: &[f64]) -> Result<(f64, Vec<f64>)> {
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

/// Lower/upper bounds on θ for `d` input dimensions.
fn theta_bounds(d: usize) -> (Vec<f64>, Vec<f64>) {
    let mut lo = vec![LS_BOUNDS.0.ln(); d];
    let mut hi = vec![LS_BOUNDS.1.ln(); d];
    lo.push(SIGNAL_BOUNDS.0.ln());
    hi.push(SIGNAL_BOUNDS.1.ln());
    lo.push(NOISE_BOUNDS.0.ln());
    hi.push(NOISE_BOUNDS.1.ln());
    (lo, hi)
}

/// Box-constrained minimisation by projected L-BFGS with Armijo backtracking
/// along the projected path.
///
/// Why not argmin's L-BFGS: it is unconstrained, so bounds would need either
/// a sigmoid reparametrisation (whose saturation stalls the search when an
/// irrelevant lengthscale runs to its bound — exactly the ARD case) or a
/// penalty with a kink at the bound; its first step is the raw `−∇f`, which
/// badly overshoots on LML surfaces; and its split cost/gradient traits would
/// repeat the O(n³) factorisation. This version projects onto the box, caps
/// the step, keeps the best point seen, and cannot error out.
///
/// `f` returns `None` where the objective cannot be evaluated; such trial
/// points are treated as "too far" and the step is shortened.
fn minimize_box<F>(
    mut f: F,
    x0: &[f64],
    lo: &[f64],
    hi: &[f64],
    max_iters: u64,
) -> Option<(Vec<f64>, f64)>
where
    F: FnMut(&[f64]) -> Option<(f64, Vec<f64>)>,
{
    const MEMORY: usize = 8;
    /// Max change of any log-hyperparameter in one step (e² ≈ 7.4×).
    const MAX_STEP: f64 = 2.0;
    let m = x0.len();
    let project = |v: &mut [f64]| {
        for ((v, l), h) in v.iter_mut().zip(lo).zip(hi) {
            *v = v.clamp(*l, *h);
        }
    };
    let mut x = x0.to_vec();
    project(&mut x);
    let (mut fx, mut g) = f(&x)?;
    let mut hist: VecDeque<(Vec<f64>, Vec<f64>, f64)> = VecDeque::new();

    for _ in 0..max_iters {
        // Active set: variables at a bound with the gradient pushing outward.
        let active: Vec<bool> = (0..m)
            .map(|i| (x[i] <= lo[i] && g[i] > 0.0) || (x[i] >= hi[i] && g[i] < 0.0))
            .collect();
        let pg_max = (0..m)
            .filter(|&i| !active[i])
            .map(|i| g[i].abs())
            .fold(0.0, f64::max);
        if pg_max < 1e-6 {
            break;
        }
        // Two-loop recursion on the free variables.
        let mut q: Vec<f64> = (0..m).map(|i| if active[i] { 0.0 } else { g[i] }).collect();
        let mut alphas = Vec::with_capacity(hist.len());
        for (s, y, rho) in hist.iter().rev() {
            let a = rho * dot(s, &q);
            for i in 0..m {
                q[i] -= a * y[i];
            }
            alphas.push(a);
        }
        let gamma = hist
            .back()
            .map(|(s, y, _)| dot(s, y) / dot(y, y))
            .unwrap_or(1.0);
        for qi in q.iter_mut() {
            *qi *= gamma;
        }
        for ((s, y, rho), a) in hist.iter().zip(alphas.iter().rev()) {
            let b = rho * dot(y, &q);
            for i in 0..m {
                q[i] += s[i] * (a - b);
            }
        }
        let mut dir: Vec<f64> = (0..m)
            .map(|i| if active[i] { 0.0 } else { -q[i] })
            .collect();
        let slope = dot(&dir, &g);
        if slope.is_nan() || slope >= 0.0 || dir.iter().any(|v| !v.is_finite()) {
            // Curvature information is useless here: restart from steepest
            // descent.
            hist.clear();
            dir = (0..m)
                .map(|i| if active[i] { 0.0 } else { -g[i] })
                .collect();
        }
        let dmax = dir.iter().fold(0.0f64, |a, v| a.max(v.abs()));
        if dmax > MAX_STEP {
            for v in dir.iter_mut() {
                *v *= MAX_STEP / dmax;
            }
        }

        // Backtracking along the projected path.
        let mut t = 1.0;
        let mut accepted = None;
        while t > 1e-10 {
            let mut xn: Vec<f64> = x.iter().zip(&dir).map(|(a, b)| a + t * b).collect();
            project(&mut xn);
            let decrease: f64 = g
                .iter()
                .zip(xn.iter().zip(&x))
                .map(|(gi, (a, b))| gi * (a - b))
                .sum();
            if let Some((fnew, gnew)) = f(&xn)
                && fnew.is_finite()
                && fnew <= fx + 1e-4 * decrease
            {
                accepted = Some((xn, fnew, gnew));
                break;
            }
            t *= 0.5;
        }
        let Some((xn, fnew, gnew)) = accepted else {
            break;
        };
        let s: Vec<f64> = xn.iter().zip(&x).map(|(a, b)| a - b).collect();
        let y: Vec<f64> = gnew.iter().zip(&g).map(|(a, b)| a - b).collect();
        let sy = dot(&s, &y);
        // Only keep pairs with positive curvature so H stays positive definite.
        if sy > 1e-10 * dot(&y, &y).sqrt() * dot(&s, &s).sqrt() && sy > 0.0 {
            hist.push_back((s, y, 1.0 / sy));
            if hist.len() > MEMORY {
                hist.pop_front();
            }
        }
        let converged = (fx - fnew).abs() <= 1e-10 * (1.0 + fx.abs());
        x = xn;
        fx = fnew;
        g = gnew;
        if converged {
            break;
        }
    }
    Some((x, fx))
}

#[inline]
fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(p, q)| p * q).sum()
}

/// Fits the GP hyperparameters by maximising the LML and conditions on the
/// data.
///
/// Hyperparameters are kept inside hard box bounds (no prior):
/// `ℓ_d ∈ [0.01, 10]`, `s² ∈ [0.01, 100]`, `σ_n² ∈ [1e-6, 1]` (the last two
/// relative to the standardised target variance). Starts: `warm` (clamped
/// into the box) if given, then `opts.restarts` cold starts (a deterministic
/// default, then random log-uniform draws from a central part of the box).
/// The start with the highest optimised LML wins. Errors only if the
/// data are invalid or no start could be evaluated at all.
pub fn fit(x: &[Vec<f64>], y: &[f64], opts: &FitOptions, warm: Option<&Hyper>) -> Result<Gp> {
    let d = check_data(x, y)?;
    let (_, _, ys) = standardise(y);
    let (lo, hi) = theta_bounds(d);
    let mut rng = StdRng::seed_from_u64(opts.seed);

    let mut starts: Vec<Vec<f64>> = Vec::new();
    if let Some(w) = warm {
        ensure!(
            w.dim() == d,
            "warm-start hyperparameters have dimension {} (data: {d})",
            w.dim()
        );
        if w.to_theta().iter().all(|v| v.is_finite()) {
            starts.push(w.to_theta());
        }
    }
    if opts.restarts > 0 || starts.is_empty() {
        starts.push(Hyper::default_for(d).to_theta());
    }
    let ls0 = Hyper::default_for(d).log_lengthscales[0];
    for _ in 1..opts.restarts {
        let mut t: Vec<f64> = (0..d)
            .map(|_| rng.random_range(ls0 - 5f64.ln()..ls0 + 3f64.ln()))
            .collect();
        t.push(rng.random_range(0.3f64.ln()..3f64.ln()));
        t.push(rng.random_range(1e-4f64.ln()..0.1f64.ln()));
        starts.push(t);
    }

    let mut best: Option<(Vec<f64>, f64)> = None;
    for start in starts {
        let obj = |t: &[f64]| {
            lml_and_grad(x, &ys, t)
                .ok()
                .map(|(l, g)| (-l, g.into_iter().map(|v| -v).collect()))
        };
        if let Some((t, fval)) = minimize_box(obj, &start, &lo, &hi, opts.max_iters)
            && best.as_ref().is_none_or(|(_, b)| fval < *b)
        {
            best = Some((t, fval));
        }
    }
    let Some((theta, _)) = best else {
        bail!("GP fit failed: the likelihood could not be evaluated at any start")
    };
    with_hyper(x, y, Hyper::from_theta(&theta))
}

/// Conditions a GP on the data with fixed hyperparameters (no fitting and no
/// clamping to the fitting bounds).
pub fn with_hyper(x: &[Vec<f64>], y: &[f64], hyper: Hyper) -> Result<Gp> {
    let d = check_data(x, y)?;
    ensure!(
        hyper.dim() == d,
        "hyperparameters have dimension {} (data: {d})",
        hyper.dim()
    );
    let (y_mean, y_std, ys) = standardise(y);
    let theta = hyper.to_theta();
    let f = factorise(x, &ys, &theta)?;
    Ok(Gp {
        x: x.to_vec(),
        dim: d,
        inv_ls: hyper.log_lengthscales.iter().map(|t| (-t).exp()).collect(),
        signal_var: hyper.log_signal_var.exp(),
        hyper,
        y_mean,
        y_std,
        ys,
        alpha: f.alpha,
        chol: f.chol,
        jitter: f.jitter,
        lml: f.lml,
    })
}

impl Gp {
    /// Posterior mean and variance of the latent function at `x`, in the
    /// original y units. The variance excludes observation noise, is clamped
    /// to `[0, s²·std_y²]` and is never NaN.
    ///
    /// # Panics
    /// If `x.len()` differs from the training dimension.
    pub fn predict(&self, x: &[f64]) -> (f64, f64) {
        assert_eq!(x.len(), self.dim, "GP predict: wrong input dimension");
        let n = self.x.len();
        let k: Vec<f64> = self
            .x
            .iter()
            .map(|xi| self.signal_var * matern52(scaled_dist(xi, x, &self.inv_ls)))
            .collect();
        let mean_s = dot(&k, &self.alpha);
        let v = forward_solve(&self.chol, n, &k);
        let mut var_s = self.signal_var - dot(&v, &v);
        // Round-off can push the variance slightly negative; NaN cannot
        // normally occur but must never leak to the optimiser.
        if !var_s.is_finite() {
            var_s = self.signal_var;
        }
        let var_s = var_s.clamp(0.0, self.signal_var);
        let mean = if mean_s.is_finite() {
            self.y_mean + self.y_std * mean_s
        } else {
            self.y_mean
        };
        (mean, var_s * self.y_std * self.y_std)
    }

    /// Leave-one-out posterior means at the training points, in the original y units:
    /// entry `i` is what the GP conditioned on every point but `i` (same
    /// hyperparameters) predicts at `x_i`. Closed form (Rasmussen & Williams §5.4.2):
    /// `μ₋ᵢ = yᵢ − αᵢ / [K⁻¹]ᵢᵢ`, with `[K⁻¹]ᵢᵢ = Σₖ (L⁻¹)ₖᵢ²` from the Cholesky factor.
    pub fn loo_means(&self) -> Vec<f64> {
        let n = self.x.len();
        let mut kinv_diag = vec![0.0; n];
        let mut e = vec![0.0; n];
        // Column k of L⁻¹ is L⁻¹eₖ, and [K⁻¹]ₖₖ is its squared norm.
        for k in 0..n {
            e.iter_mut().for_each(|v| *v = 0.0);
            e[k] = 1.0;
            let col = forward_solve(&self.chol, n, &e);
            kinv_diag[k] = dot(&col, &col);
        }
        (0..n)
            .map(|i| {
                let d = kinv_diag[i];
                let m = if d.is_finite() && d > 0.0 {
                    self.ys[i] - self.alpha[i] / d
                } else {
                    0.0
                };
                self.y_mean + self.y_std * if m.is_finite() { m } else { 0.0 }
            })
            .collect()
    }

    /// [`Gp::predict`] for many points.
    pub fn predict_many(&self, xs: &[Vec<f64>]) -> Vec<(f64, f64)> {
        xs.iter().map(|x| self.predict(x)).collect()
    }

    /// The hyperparameters this GP was conditioned with.
    pub fn hyper(&self) -> &Hyper {
        &self.hyper
    }

    /// Log marginal likelihood of the *standardised* targets (the quantity
    /// maximised by [`fit`]).
    pub fn log_marginal_likelihood(&self) -> f64 {
        self.lml
    }

    /// `(mean, std)` used to standardise the targets: the model works on
    /// `(y − mean)/std`.
    pub fn standardisation(&self) -> (f64, f64) {
        (self.y_mean, self.y_std)
    }

    /// Diagonal jitter that was needed for a stable Cholesky factorisation
    /// (0 in the normal case).
    pub fn jitter(&self) -> f64 {
        self.jitter
    }

    /// Input dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Number of training points.
    pub fn len(&self) -> usize {
        self.x.len()
    }

    /// Always false (a GP needs at least one observation); provided for
    /// API symmetry with [`Gp::len`].
    pub fn is_empty(&self) -> bool {
        self.x.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hyper_1d(ls: f64, s2: f64, noise: f64) -> Hyper {
        Hyper {
            log_lengthscales: vec![ls.ln()],
            log_signal_var: s2.ln(),
            log_noise_var: noise.ln(),
        }
    }

    #[test]
    fn posterior_matches_hand_computation() {
        // Two points x = 0.25, 0.75 with y = 3, 1: mean 2, population std 1,
        // so the standardised targets are ±1 and original = 2 + standardised.
        let x = vec![vec![0.25], vec![0.75]];
        let y = [3.0, 1.0];
        let noise = 1e-6;
        let gp = with_hyper(&x, &y, hyper_1d(0.5, 1.0, noise)).unwrap();

        let m52 = |r: f64| (1.0 + 5f64.sqrt() * r + 5.0 * r * r / 3.0) * (-(5f64.sqrt()) * r).exp();
        // Distance 0.5 / ℓ 0.5 → r = 1: k = (1 + √5 + 5/3) e^{−√5} ≈ 0.523994.
        let k = m52(1.0);
        assert!((k - 0.523_994_108_8).abs() < 1e-9);
        // K = [[a, k], [k, a]] with a = 1 + σ_n²; K⁻¹ = [[a, −k], [−k, a]] / (a² − k²).
        let a = 1.0 + noise;
        let det = a * a - k * k;
        // y_s = (1, −1) is an eigenvector of K with eigenvalue a − k, so α = y_s/(a − k).
        let alpha = 1.0 / (a - k);

        // At the training point x = 0.25: k* = (1, k).
        // mean_s = 1·α − k·α = (1 − k)/(a − k) ≈ 0.9999979
        let mean_s = (1.0 - k) * alpha;
        // var = 1 − k*ᵀK⁻¹k* = 1 − (a·1 − 2k·k + a·k²)/det ≈ 1e-6 (≈ σ_n²)
        let var = 1.0 - (a - 2.0 * k * k + a * k * k) / det;
        let (m, v) = gp.predict(&[0.25]);
        assert!((m - (2.0 + mean_s)).abs() < 1e-9, "{m}");
        assert!((m - 2.999_997_899).abs() < 1e-8);
        assert!((v - var).abs() < 1e-9, "{v} vs {var}");
        assert!((v - 1e-6).abs() < 1e-8);

        // Midpoint x = 0.5: r = 0.5 to both, c = (1 + √5/2 + 5/12) e^{−√5/2} ≈ 0.828649.
        let c = m52(0.5);
        // mean_s = c·α − c·α = 0 → mean = 2
        // var = 1 − (a c² − 2k c² + a c²)/det = 1 − 2c²/(a + k) ≈ 0.098869
        let var_mid = 1.0 - 2.0 * c * c / (a + k);
        let (m, v) = gp.predict(&[0.5]);
        assert!((m - 2.0).abs() < 1e-9);
        assert!((v - var_mid).abs() < 1e-9);
        assert!((v - 0.098_869_284_7).abs() < 1e-8);

        // Asymmetric point x = 0.4: r₁ = 0.15/0.5 = 0.3, r₂ = 0.35/0.5 = 0.7.
        let (k1, k2) = (m52(0.3), m52(0.7));
        // mean_s = (k1 − k2)·α; var = 1 − (a k1² − 2k k1 k2 + a k2²)/det
        let (m, v) = gp.predict(&[0.4]);
        assert!((m - (2.0 + (k1 - k2) * alpha)).abs() < 1e-9);
        assert!((m - 2.470_629_029).abs() < 1e-8);
        let var4 = 1.0 - (a * k1 * k1 - 2.0 * k * k1 * k2 + a * k2 * k2) / det;
        assert!((v - var4).abs() < 1e-9);
        assert!((v - 0.067_116_464_6).abs() < 1e-8);
    }

    #[test]
    fn analytic_gradient_matches_finite_differences() {
        let mut rng = StdRng::seed_from_u64(7);
        let (n, d) = (10, 3);
        let x: Vec<Vec<f64>> = (0..n)
            .map(|_| (0..d).map(|_| rng.random::<f64>()).collect())
            .collect();
        let y: Vec<f64> = (0..n).map(|_| rng.random::<f64>() * 4.0 - 1.0).collect();
        let (_, _, ys) = standardise(&y);
        for _ in 0..5 {
            let mut theta: Vec<f64> = (0..d).map(|_| rng.random_range(-2.0..1.0)).collect();
            theta.push(rng.random_range(-1.0..1.0));
            theta.push(rng.random_range(-6.0..-1.0));
            let (_, g) = lml_and_grad(&x, &ys, &theta).unwrap();
            for i in 0..theta.len() {
                let h = 1e-5;
                let mut tp = theta.clone();
                tp[i] += h;
                let mut tm = theta.clone();
                tm[i] -= h;
                let fd = (lml_and_grad(&x, &ys, &tp).unwrap().0
                    - lml_and_grad(&x, &ys, &tm).unwrap().0)
                    / (2.0 * h);
                assert!(
                    (fd - g[i]).abs() <= 1e-5 * (1.0 + fd.abs()),
                    "param {i}: analytic {} vs fd {fd}",
                    g[i]
                );
            }
        }
    }

    #[test]
    fn fit_recovers_smooth_function_and_ard() {
        let mut rng = StdRng::seed_from_u64(3);
        let f = |x0: f64| (6.0 * x0).sin() + 0.5 * x0;
        let x: Vec<Vec<f64>> = (0..30)
            .map(|_| vec![rng.random::<f64>(), rng.random::<f64>()])
            .collect();
        // Second input is irrelevant.
        let y: Vec<f64> = x.iter().map(|r| 10.0 + 3.0 * f(r[0])).collect();
        let gp = fit(&x, &y, &FitOptions::default(), None).unwrap();
        let mut se = 0.0;
        let m = 50;
        for i in 0..m {
            let t = i as f64 / (m - 1) as f64;
            let (mu, var) = gp.predict(&[t, rng.random::<f64>()]);
            assert!(var >= 0.0 && var.is_finite());
            se += (mu - (10.0 + 3.0 * f(t))).powi(2);
        }
        let rmse = (se / m as f64).sqrt();
        assert!(rmse < 0.05, "rmse {rmse}");
        let ls: Vec<f64> = gp
            .hyper()
            .log_lengthscales
            .iter()
            .map(|v| v.exp())
            .collect();
        assert!(ls[1] > 5.0 * ls[0] && ls[1] > 2.0, "lengthscales {ls:?}");

        // A warm start from the optimum stays (at least) as good.
        let opts = FitOptions {
            restarts: 0,
            ..FitOptions::default()
        };
        let warm = fit(&x, &y, &opts, Some(gp.hyper())).unwrap();
        assert!(warm.log_marginal_likelihood() >= gp.log_marginal_likelihood() - 1e-6);
    }

    #[test]
    fn cholesky_survives_duplicate_rows() {
        // Exact duplicates with (practically) zero noise: K is singular and
        // needs jitter.
        let x = vec![
            vec![0.3, 0.3],
            vec![0.3, 0.3],
            vec![0.7, 0.1],
            vec![0.3, 0.3],
        ];
        let y = [1.0, 1.2, 0.0, 0.8];
        let hyper = Hyper {
            log_lengthscales: vec![0.0, 0.0],
            log_signal_var: 0.0,
            log_noise_var: -40.0,
        };
        let gp = with_hyper(&x, &y, hyper).unwrap();
        assert!(gp.jitter() > 0.0);
        let (m, v) = gp.predict(&[0.3, 0.3]);
        assert!(m.is_finite() && v.is_finite() && v >= 0.0);
        // The duplicates are averaged.
        assert!((m - 1.0).abs() < 1e-3, "{m}");
        // Fitting on duplicated data works too.
        let gp = fit(&x, &y, &FitOptions::default(), None).unwrap();
        let (m, v) = gp.predict(&[0.5, 0.5]);
        assert!(m.is_finite() && v.is_finite() && v >= 0.0);
    }

    #[test]
    fn loo_means_match_refitting_without_the_point() {
        let mut rng = StdRng::seed_from_u64(11);
        let x: Vec<Vec<f64>> = (0..8)
            .map(|_| vec![rng.random::<f64>(), rng.random::<f64>()])
            .collect();
        let y: Vec<f64> = x.iter().map(|r| (4.0 * r[0]).sin() + r[1]).collect();
        let hyper = Hyper {
            log_lengthscales: vec![0.4f64.ln(), 0.7f64.ln()],
            log_signal_var: 0.0,
            log_noise_var: 0.01f64.ln(),
        };
        let gp = with_hyper(&x, &y, hyper.clone()).unwrap();
        let (mean, std) = gp.standardisation();
        let loo = gp.loo_means();
        for i in 0..x.len() {
            // The same prior on the same standardised scale, conditioned on the rest: a GP
            // on the rest's raw y would restandardise, so condition on standardised y and
            // map back.
            let xs: Vec<Vec<f64>> = (0..x.len())
                .filter(|&j| j != i)
                .map(|j| x[j].clone())
                .collect();
            let ys: Vec<f64> = (0..x.len())
                .filter(|&j| j != i)
                .map(|j| (y[j] - mean) / std)
                .collect();
            let theta = hyper.to_theta();
            let f = factorise(&xs, &ys, &theta).unwrap();
            let inv_ls: Vec<f64> = hyper.log_lengthscales.iter().map(|t| (-t).exp()).collect();
            let k: Vec<f64> = xs
                .iter()
                .map(|r| matern52(scaled_dist(r, &x[i], &inv_ls)))
                .collect();
            let direct = mean + std * dot(&k, &f.alpha);
            assert!(
                (loo[i] - direct).abs() < 1e-8,
                "{i}: {} vs {direct}",
                loo[i]
            );
        }
    }

    #[test]
    fn constant_targets_and_single_point() {
        let x = vec![vec![0.1], vec![0.9]];
        let gp = fit(&x, &[5.0, 5.0], &FitOptions::default(), None).unwrap();
        let (m, v) = gp.predict(&[0.5]);
        assert!((m - 5.0).abs() < 1e-9 && v.is_finite() && v >= 0.0);
        let gp = fit(&x[..1], &[2.0], &FitOptions::default(), None).unwrap();
        assert!(gp.predict(&[0.4]).0.is_finite());
        assert!(fit(&x, &[1.0, f64::NAN], &FitOptions::default(), None).is_err());
        assert!(fit(&x, &[1.0], &FitOptions::default(), None).is_err());
    }
}
