//! Multi-step-ahead forecasts of an input rate, with prediction intervals and an honest
//! error on a held-out tail.
//!
//! Methods:
//! - **Holt-Winters, additive** (level, trend, seasonal), and the same with a **damped
//!   trend** (φ ∈ [0.8, 0.98]). α, β, γ (and φ) minimise the sum of squared one-step-ahead
//!   errors over the training data (Nelder–Mead with the box folded in by
//!   reflection, restarted from its best vertex; checked against statsmodels' optimum). The recursions are
//!   the error-correction form of ETS(A,A,A) / ETS(A,Ad,A) (Hyndman et al., *Forecasting
//!   with Exponential Smoothing*, 2008): with e_t = y_t − (ℓ + φb + s_{t−m}),
//!   ℓ ← ℓ + φb + αe, b ← φb + αβe, s_t = s_{t−m} + γe; γ is bounded by 1 − α.
//! - **Seasonal naive**: the value one season earlier; the baseline every method is
//!   measured against.
//!
//! **Prediction intervals** grow with the horizon as the forecast-error variance of the
//! state-space model does: v_h = σ²(1 + Σ_{j<h} c_j²) with c_j = α(1 + βφ_j) + γ·[m | j],
//! φ_j = φ + … + φ^j (j without damping), σ² the mean squared one-step residual of the fit;
//! for seasonal naive v_h = σ²(⌊(h−1)/m⌋ + 1) with σ² from the seasonal differences.
//! Intervals are normal, at the requested level; forecasts and bounds are clipped at 0.
//!
//! **Evaluation**: every method is fitted on the history minus its last `holdout` steps.
//! It forecasts (a) the whole tail from the end of the training part (one origin, horizons
//! 1 … holdout) and (b) the tail in windows of the forecast horizon, each from an origin
//! whose state has been advanced through the actual values before it with the training
//! parameters (rolling origin: how `adapt` forecasts). MAPE, sMAPE, RMSE and interval
//! coverage are computed on the held-out steps only. The method with the lowest rolling
//! RMSE is chosen and refitted on the whole history for the forecast.
//!
//! The season length is given or detected as the highest autocorrelation peak after the
//! autocorrelation of the detrended training data first drops below zero.
//!
//! - `model`: the methods, fitted and forecasting with intervals;
//! - `holt_winters`: its recursions, initial state and parameter fit;
//! - `nelder_mead`: the Nelder–Mead over the unit box (by reflection) the fit uses;
//! - `season`: the season length from the autocorrelation;
//! - `evaluate`: the errors on the held-out tail and the choice of method.

use anyhow::{Result, bail};

mod evaluate;
mod holt_winters;
mod model;
mod nelder_mead;
mod season;

pub use crate::normal::quantile as normal_quantile;
pub use evaluate::{Errors, Evaluation, MethodEvaluation, errors, evaluate};
pub use holt_winters::HwParams;
pub use model::{Fitted, Method, Point, fit};
pub use season::detect_season;

/// What to forecast.
#[derive(Debug, Clone)]
pub struct Options {
    pub horizon: usize,
    /// The season length in steps; detected when None.
    pub season: Option<usize>,
    /// Held-out steps; default: max(horizon, one season), capped to leave two seasons.
    pub holdout: Option<usize>,
    /// Prediction-interval level, in (0, 1).
    pub level: f64,
    /// Seconds per step, if known: a detected season within 2 % of a day or a week is
    /// taken to be exactly that.
    pub step_s: Option<f64>,
}

/// A forecast from a history.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub season: usize,
    /// The autocorrelation at the detected season, when it was detected.
    pub season_acf: Option<f64>,
    pub evaluation: Evaluation,
    /// The chosen method fitted on the whole history.
    pub fitted: Fitted,
    pub points: Vec<Point>,
}

/// Evaluates every method on a held-out tail, chooses one, refits it on all of `y` and
/// forecasts `horizon` steps.
pub fn run(y: &[f64], opts: &Options) -> Result<Outcome> {
    if opts.horizon == 0 {
        bail!("--horizon must be at least 1 step");
    }
    if !(opts.level > 0.0 && opts.level < 1.0) {
        bail!("the interval level must be in (0, 1), not {}", opts.level);
    }
    let n = y.len();
    let default_holdout = |m: usize| opts.horizon.max(m).min(n.saturating_sub(2 * m));
    let (season, season_acf) = match opts.season {
        Some(m) => (m, None),
        None => {
            // The held-out tail depends on m, and the tail must not steer m: detect on what
            // a first guess of the tail leaves, and again without the tail the detected m
            // implies, until that tail was hidden from the detection.
            let mut hidden = opts.holdout.unwrap_or(opts.horizon).min(n);
            let mut settled = None;
            for _ in 0..8 {
                let (m, acf) = detect_season(&y[..n - hidden], opts.step_s).ok_or_else(|| {
                    anyhow::anyhow!(
                        "no seasonality found in the history (no autocorrelation peak ≥ 0.3): \
                         give the season length with --season"
                    )
                })?;
                let need = opts.holdout.unwrap_or_else(|| default_holdout(m));
                if need <= hidden {
                    settled = Some((m, acf));
                    break;
                }
                hidden = need.min(n);
            }
            let (m, acf) = settled.ok_or_else(|| {
                anyhow::anyhow!("the detected season did not settle: give it with --season")
            })?;
            (m, Some(acf))
        }
    };
    if n < 2 * season + 1 {
        bail!(
            "the history has {n} steps; forecasting with a season of {season} steps needs \
             more than two seasons ({} steps)",
            2 * season + 1
        );
    }
    let holdout = opts.holdout.unwrap_or_else(|| default_holdout(season));
    let evaluation = evaluate(y, season, holdout, opts.horizon, opts.level)?;
    let fitted = fit(y, evaluation.chosen, season)?;
    let points = fitted.forecast(opts.horizon, opts.level);
    Ok(Outcome {
        season,
        season_acf,
        evaluation,
        fitted,
        points,
    })
}

#[cfg(test)]
mod tests;
