//! Every method measured on a held-out tail, and the one to forecast with.

use anyhow::{Result, bail};
use serde::Serialize;

use super::holt_winters::HwParams;
use super::model::{Method, Point, fit};

/// Errors of a forecast against the actual values.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Errors {
    /// Mean absolute percentage error, % (steps whose actual value is 0 are left out).
    pub mape: f64,
    /// Symmetric MAPE, % (2|a − f| / (|a| + |f|)).
    pub smape: f64,
    pub rmse: f64,
    /// Share of actual values inside the prediction interval.
    pub coverage: f64,
}

/// The errors of `points` against `actual` (equal lengths).
pub fn errors(actual: &[f64], points: &[Point]) -> Errors {
    let n = actual.len().min(points.len()).max(1) as f64;
    let pairs = || actual.iter().zip(points);
    let ape: Vec<f64> = pairs()
        .filter(|(a, _)| **a != 0.0)
        .map(|(a, p)| ((a - p.forecast) / a).abs())
        .collect();
    let smape: Vec<f64> = pairs()
        .filter(|(a, p)| a.abs() + p.forecast.abs() > 0.0)
        .map(|(a, p)| 2.0 * (a - p.forecast).abs() / (a.abs() + p.forecast.abs()))
        .collect();
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    Errors {
        mape: 100.0 * mean(&ape),
        smape: 100.0 * mean(&smape),
        rmse: (pairs().map(|(a, p)| (a - p.forecast).powi(2)).sum::<f64>() / n).sqrt(),
        coverage: pairs()
            .filter(|(a, p)| **a >= p.lower && **a <= p.upper)
            .count() as f64
            / n,
    }
}

/// One method's result on the held-out tail.
#[derive(Debug, Clone, Serialize)]
pub struct MethodEvaluation {
    pub method: Method,
    pub errors: Errors,
    /// RMSE relative to seasonal naive's (< 1: better than the baseline).
    pub rmse_vs_seasonal_naive: f64,
    /// Rolling origin over the tail: forecasts `horizon` steps from every `horizon`-th
    /// held-out step, the state advanced through the actual values before it (parameters
    /// still from the training part) — the errors of forecasting as `adapt` does.
    pub rolling: Errors,
    /// The rolling RMSE relative to seasonal naive's.
    pub rolling_rmse_vs_seasonal_naive: f64,
    /// Parameters fitted on the training part (Holt-Winters only).
    pub params: Option<HwParams>,
    /// The forecasts of the held-out steps.
    #[serde(skip)]
    pub points: Vec<Point>,
}

/// Every method on the held-out tail, and the chosen one.
#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    pub season: usize,
    pub train_len: usize,
    pub holdout: usize,
    pub interval_level: f64,
    /// The forecast horizon of the rolling-origin errors.
    pub horizon: usize,
    pub methods: Vec<MethodEvaluation>,
    /// The method with the lowest rolling-origin RMSE at the horizon.
    pub chosen: Method,
}

/// Fits every method on `y` without its last `holdout` values and measures each on them:
/// from the end of the training part over the whole tail, and from rolling origins at
/// `horizon` steps (see [`MethodEvaluation::rolling`]).
pub fn evaluate(
    y: &[f64],
    m: usize,
    holdout: usize,
    horizon: usize,
    level: f64,
) -> Result<Evaluation> {
    if horizon == 0 {
        bail!("the horizon must be at least 1 step");
    }
    if holdout == 0 || holdout >= y.len() {
        bail!(
            "the held-out tail must be 1 … {} steps, not {holdout}",
            y.len() - 1
        );
    }
    let (train, test) = y.split_at(y.len() - holdout);
    if train.len() < 2 * m {
        bail!(
            "holding out {holdout} of {} steps leaves {} to train on, fewer than two seasons \
             of {m}: use a smaller --holdout or a longer history",
            y.len(),
            train.len()
        );
    }
    let methods = Method::ALL
        .into_iter()
        .map(|method| evaluate_method(train, test, method, m, horizon, level))
        .collect::<Result<Vec<_>>>()?;
    let methods = relative_to_seasonal_naive(methods);
    // Lowest rolling RMSE at the horizon that will be forecast; on a tie the baseline
    // (listed last) is preferred, being simpler.
    let chosen = methods
        .iter()
        .rev()
        .min_by(|a, b| a.rolling.rmse.total_cmp(&b.rolling.rmse))
        .map(|e| e.method)
        .expect("methods evaluated");
    Ok(Evaluation {
        season: m,
        train_len: train.len(),
        holdout,
        interval_level: level,
        horizon,
        methods,
        chosen,
    })
}

/// Fits `method` on `train` and measures it on `test`: from the end of `train` over the
/// whole tail, and from rolling origins every `horizon` steps.
fn evaluate_method(
    train: &[f64],
    test: &[f64],
    method: Method,
    m: usize,
    horizon: usize,
    level: f64,
) -> Result<MethodEvaluation> {
    let holdout = test.len();
    let f = fit(train, method, m)?;
    let points = f.forecast(holdout, level);
    // Rolling origins: windows of `horizon` steps tiling the tail (the last one cut).
    let (mut actual, mut rolled) = (Vec::new(), Vec::new());
    for start in (0..holdout).step_by(horizon) {
        let h = horizon.min(holdout - start);
        rolled.extend(f.extend(&test[..start]).forecast(h, level));
        actual.extend_from_slice(&test[start..start + h]);
    }
    Ok(MethodEvaluation {
        method,
        errors: errors(test, &points),
        rmse_vs_seasonal_naive: f64::NAN,
        rolling: errors(&actual, &rolled),
        rolling_rmse_vs_seasonal_naive: f64::NAN,
        params: f.params,
        points,
    })
}

/// The methods' RMSEs (whole tail and rolling) relative to seasonal naive's.
fn relative_to_seasonal_naive(mut methods: Vec<MethodEvaluation>) -> Vec<MethodEvaluation> {
    let (base, rolling_base) = methods
        .iter()
        .find(|e| e.method == Method::SeasonalNaive)
        .map(|e| (e.errors.rmse, e.rolling.rmse))
        .expect("seasonal naive is evaluated");
    let ratio = |x: f64, base: f64| {
        if base > 0.0 {
            x / base
        } else if x == 0.0 {
            1.0
        } else {
            f64::INFINITY
        }
    };
    for e in &mut methods {
        e.rmse_vs_seasonal_naive = ratio(e.errors.rmse, base);
        e.rolling_rmse_vs_seasonal_naive = ratio(e.rolling.rmse, rolling_base);
    }
    methods
}
