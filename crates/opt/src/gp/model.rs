//! The conditioned Gaussian process: its fit by maximum marginal likelihood, conditioning
//! with fixed hyperparameters, and predictions.

use anyhow::{Result, bail, ensure};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use super::hyper::{FitOptions, Hyper, theta_bounds};
use super::lbfgs::minimize_box;
use super::likelihood::{dot, factorise, forward_solve, lml_and_grad, matern52, scaled_dist};
use super::prior::add_lengthscale_prior;

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

/// Validates the training data and returns its dimension.
pub(super) fn check_data(x: &[Vec<f64>], y: &[f64]) -> Result<usize> {
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
pub(super) fn standardise(y: &[f64]) -> (f64, f64, Vec<f64>) {
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

/// Fits the GP hyperparameters by maximising the LML (plus the length-scale prior's log
/// density when `opts` asks for it) and conditions on the data.
///
/// Hyperparameters are kept inside hard box bounds:
/// `ℓ_d ∈ [0.01, 10]`, `s² ∈ [0.01, 100]`, `σ_n² ∈ [1e-6, 1]` (the last two
/// relative to the standardised target variance). Starts: `warm` (clamped
/// into the box) if given, then `opts.restarts` cold starts (a deterministic
/// default, then random log-uniform draws from a central part of the box).
/// The start with the highest optimised LML wins. Errors only if the
/// data are invalid or no start could be evaluated at all.
pub fn fit(x: &[Vec<f64>], y: &[f64], opts: &FitOptions, warm: Option<&Hyper>) -> Result<Gp> {
    let d = check_data(x, y)?;
    let (_, _, ys) = standardise(y);
    let (lo, hi) = theta_bounds(d, opts.min_lengthscale);
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
            lml_and_grad(x, &ys, t).ok().map(|(mut l, mut g)| {
                if let Some(tau) = opts.lengthscale_prior {
                    add_lengthscale_prior(t, d, tau, &mut l, &mut g);
                }
                (-l, g.into_iter().map(|v| -v).collect())
            })
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

    /// The posterior mean alone at `x`, in the original y units: O(n·d), without the
    /// variance's triangular solve, for callers that predict at many points (a
    /// variance-based sensitivity analysis reads the mean at thousands).
    ///
    /// # Panics
    /// If `x.len()` differs from the training dimension.
    pub fn mean(&self, x: &[f64]) -> f64 {
        assert_eq!(x.len(), self.dim, "GP mean: wrong input dimension");
        let mean_s: f64 = self
            .x
            .iter()
            .zip(&self.alpha)
            .map(|(xi, a)| a * self.signal_var * matern52(scaled_dist(xi, x, &self.inv_ls)))
            .sum();
        if mean_s.is_finite() {
            self.y_mean + self.y_std * mean_s
        } else {
            self.y_mean
        }
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
