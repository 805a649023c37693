//! The kernel's hyperparameters, the box they are fitted in, and the fit's options.

use serde::{Deserialize, Serialize};

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
    pub(super) fn to_theta(&self) -> Vec<f64> {
        let mut t = self.log_lengthscales.clone();
        t.push(self.log_signal_var);
        t.push(self.log_noise_var);
        t
    }

    pub(super) fn from_theta(theta: &[f64]) -> Self {
        let d = theta.len() - 2;
        Hyper {
            log_lengthscales: theta[..d].to_vec(),
            log_signal_var: theta[d],
            log_noise_var: theta[d + 1],
        }
    }
}

/// Options for [`fit`](super::fit).
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
    /// The shortest length-scale the fit may choose (inputs on `[0,1]`, clamped into the
    /// box): the box's own lower bound, 0.01, unless the caller wants a smoother model.
    pub min_lengthscale: f64,
    /// The global scale `τ` of a half-Cauchy prior on each inverse squared length-scale
    /// (a MAP fit; see `prior`): it pulls the length-scales towards `τ^{−½}`. `None`: a
    /// maximum-likelihood fit.
    #[serde(default)]
    pub lengthscale_prior: Option<f64>,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            restarts: 3,
            max_iters: 100,
            seed: 0,
            min_lengthscale: LS_BOUNDS.0,
            lengthscale_prior: None,
        }
    }
}

/// Lower/upper bounds on θ for `d` input dimensions, the length-scales at least `min_ls`.
pub(super) fn theta_bounds(d: usize, min_ls: f64) -> (Vec<f64>, Vec<f64>) {
    let min_ls = min_ls.clamp(LS_BOUNDS.0, LS_BOUNDS.1);
    let mut lo = vec![min_ls.ln(); d];
    let mut hi = vec![LS_BOUNDS.1.ln(); d];
    lo.push(SIGNAL_BOUNDS.0.ln());
    hi.push(SIGNAL_BOUNDS.1.ln());
    lo.push(NOISE_BOUNDS.0.ln());
    hi.push(NOISE_BOUNDS.1.ln());
    (lo, hi)
}
