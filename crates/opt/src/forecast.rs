//! Multi-step-ahead forecasts of an input rate, with prediction intervals and an honest
//! error on a held-out tail.
//!
//! Methods:
//! - **Holt-Winters, additive** (level, trend, seasonal), and the same with a **damped
//!   trend** (φ ∈ [0.8, 0.98]). α, β, γ (and φ) minimise the sum of squared one-step-ahead
//!   errors over the training data (box-bounded Nelder-Mead, below). The recursions are
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

use anyhow::{Result, bail};
use serde::Serialize;

/// A forecasting method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    HoltWinters,
    HoltWintersDamped,
    SeasonalNaive,
}

impl Method {
    pub const ALL: [Method; 3] = [
        Method::HoltWinters,
        Method::HoltWintersDamped,
        Method::SeasonalNaive,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Method::HoltWinters => "holt-winters",
            Method::HoltWintersDamped => "holt-winters-damped",
            Method::SeasonalNaive => "seasonal-naive",
        }
    }
}

/// Fitted Holt-Winters smoothing parameters (β as in the component form: the share of a
/// level change that goes into the trend).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct HwParams {
    pub alpha: f64,
    pub beta: f64,
    pub gamma: f64,
    pub phi: f64,
}

/// One forecast step.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Point {
    /// Steps after the last observation (1 = the next step).
    pub step: usize,
    pub forecast: f64,
    pub lower: f64,
    pub upper: f64,
}

/// A method fitted to a series, ready to forecast from its end.
#[derive(Debug, Clone)]
pub struct Fitted {
    pub method: Method,
    pub season: usize,
    /// Holt-Winters parameters (None for seasonal naive).
    pub params: Option<HwParams>,
    /// Variance of the one-step-ahead error.
    pub sigma2: f64,
    state: State,
}

#[derive(Debug, Clone)]
enum State {
    /// Level, trend and the seasonal for each position `t mod m`, after the last value;
    /// `n` values were seen.
    Hw {
        level: f64,
        trend: f64,
        seasonal: Vec<f64>,
        n: usize,
    },
    /// The last season of values.
    Naive { last: Vec<f64> },
}

/// Fits `method` with season length `m` to `y` (needs at least two seasons).
pub fn fit(y: &[f64], method: Method, m: usize) -> Result<Fitted> {
    if m < 2 {
        bail!("the season length must be at least 2 steps, not {m}");
    }
    if y.len() < 2 * m {
        bail!(
            "{} values are fewer than two seasons of {m} steps: too short to fit",
            y.len()
        );
    }
    if y.iter().any(|v| !v.is_finite()) {
        bail!("the series has a value that is not a finite number");
    }
    match method {
        Method::SeasonalNaive => {
            let diffs: Vec<f64> = (m..y.len()).map(|t| y[t] - y[t - m]).collect();
            let sigma2 = diffs.iter().map(|d| d * d).sum::<f64>() / diffs.len() as f64;
            Ok(Fitted {
                method,
                season: m,
                params: None,
                sigma2,
                state: State::Naive {
                    last: y[y.len() - m..].to_vec(),
                },
            })
        }
        Method::HoltWinters | Method::HoltWintersDamped => {
            let damped = method == Method::HoltWintersDamped;
            let init = initial_state(y, m);
            let scale = y.iter().map(|v| v * v).sum::<f64>() / y.len() as f64;
            let sse = |u: &[f64]| {
                let p = params_of(u, damped);
                let s = filter(y, m, p, &init).0;
                // Scale-free objective, so the optimiser's tolerances mean the same for
                // rates of 10 and of 10⁶ records/s.
                if s.is_finite() {
                    s / scale.max(1e-300)
                } else {
                    f64::MAX
                }
            };
            let dim = if damped { 4 } else { 3 };
            let mut best: Option<(Vec<f64>, f64)> = None;
            for start in [
                [0.3, 0.1, 0.1, 0.5],
                [0.7, 0.05, 0.3, 0.9],
                [0.1, 0.3, 0.05, 0.2],
            ] {
                let (u, f) = nelder_mead_box(&sse, &start[..dim], 600);
                if best.as_ref().is_none_or(|b| f < b.1) {
                    best = Some((u, f));
                }
            }
            let (u, _) = best.expect("three starts ran");
            let p = params_of(&u, damped);
            let (sse, level, trend, seasonal) = filter(y, m, p, &init);
            Ok(Fitted {
                method,
                season: m,
                params: Some(p),
                sigma2: sse / y.len() as f64,
                state: State::Hw {
                    level,
                    trend,
                    seasonal,
                    n: y.len(),
                },
            })
        }
    }
}

impl Fitted {
    /// The same model (parameters and error variance kept) with its state advanced through
    /// the values observed after the ones it was fitted to: forecasting from a later origin
    /// without refitting.
    pub fn extend(&self, later: &[f64]) -> Fitted {
        let mut f = self.clone();
        let m = self.season;
        match &mut f.state {
            State::Naive { last } => {
                last.extend_from_slice(later);
                let cut = last.len() - m;
                last.drain(..cut);
            }
            State::Hw {
                level,
                trend,
                seasonal,
                n,
            } => {
                let p = self.params.expect("Holt-Winters has parameters");
                for (i, &v) in later.iter().enumerate() {
                    let j = (*n + i) % m;
                    let e = v - (*level + p.phi * *trend + seasonal[j]);
                    *level += p.phi * *trend + p.alpha * e;
                    *trend = p.phi * *trend + p.alpha * p.beta * e;
                    seasonal[j] += p.gamma * e;
                }
                *n += later.len();
            }
        }
        f
    }

    /// Forecasts `horizon` steps with normal prediction intervals at `level` (e.g. 0.95).
    pub fn forecast(&self, horizon: usize, level: f64) -> Vec<Point> {
        let z = normal_quantile(0.5 + level / 2.0);
        let m = self.season;
        (1..=horizon)
            .map(|h| {
                let (f, var) = match &self.state {
                    State::Naive { last } => {
                        let f = last[(h - 1) % m];
                        (f, self.sigma2 * ((h - 1) / m + 1) as f64)
                    }
                    State::Hw {
                        level,
                        trend,
                        seasonal,
                        n,
                    } => {
                        let p = self.params.expect("Holt-Winters has parameters");
                        let f = level + damped_sum(p.phi, h) * trend + seasonal[(n - 1 + h) % m];
                        let growth: f64 = (1..h)
                            .map(|j| {
                                let c = p.alpha * (1.0 + p.beta * damped_sum(p.phi, j))
                                    + if j % m == 0 { p.gamma } else { 0.0 };
                                c * c
                            })
                            .sum();
                        (f, self.sigma2 * (1.0 + growth))
                    }
                };
                let half = z * var.sqrt();
                Point {
                    step: h,
                    forecast: f.max(0.0),
                    lower: (f - half).max(0.0),
                    upper: (f + half).max(0.0),
                }
            })
            .collect()
    }
}

/// φ + φ² + … + φ^h (h when φ = 1).
fn damped_sum(phi: f64, h: usize) -> f64 {
    if phi == 1.0 {
        return h as f64;
    }
    phi * (1.0 - phi.powi(h as i32)) / (1.0 - phi)
}

/// The unit-box point `u` as parameters: α = u₀, β = u₁, γ = u₂(1 − α), φ = 0.8 + 0.18u₃.
fn params_of(u: &[f64], damped: bool) -> HwParams {
    let alpha = u[0];
    HwParams {
        alpha,
        beta: u[1],
        gamma: u[2] * (1.0 - alpha),
        phi: if damped { 0.8 + 0.18 * u[3] } else { 1.0 },
    }
}

/// The state before the first value, from the first (up to four) seasons: a line through
/// the season means gives the trend and level, the mean detrended value at each position
/// the seasonal. Exact for a noiseless linear trend plus a fixed seasonal pattern.
struct Init {
    level: f64,
    trend: f64,
    seasonal: Vec<f64>,
}

fn initial_state(y: &[f64], m: usize) -> Init {
    let k = (y.len() / m).min(4);
    let means: Vec<f64> = (0..k)
        .map(|i| y[i * m..(i + 1) * m].iter().sum::<f64>() / m as f64)
        .collect();
    let xbar = (k as f64 - 1.0) / 2.0;
    let ybar = means.iter().sum::<f64>() / k as f64;
    let (sxy, sxx) = means
        .iter()
        .enumerate()
        .fold((0.0, 0.0), |(sxy, sxx), (i, v)| {
            let dx = i as f64 - xbar;
            (sxy + dx * (v - ybar), sxx + dx * dx)
        });
    let per_season = sxy / sxx;
    let trend = per_season / m as f64;
    let first_mean = ybar - per_season * xbar;
    // Level at t: a + trend·t, with season 0's mean at its middle, t = (m − 1)/2.
    let a = first_mean - trend * (m as f64 - 1.0) / 2.0;
    let mut seasonal: Vec<f64> = (0..m)
        .map(|j| {
            (0..k)
                .map(|i| {
                    let t = i * m + j;
                    y[t] - (a + trend * t as f64)
                })
                .sum::<f64>()
                / k as f64
        })
        .collect();
    let mean = seasonal.iter().sum::<f64>() / m as f64;
    seasonal.iter_mut().for_each(|s| *s -= mean);
    Init {
        level: a - trend,
        trend,
        seasonal,
    }
}

/// Runs the recursions over `y`: (sum of squared one-step errors, level, trend, seasonal).
fn filter(y: &[f64], m: usize, p: HwParams, init: &Init) -> (f64, f64, f64, Vec<f64>) {
    let (mut l, mut b) = (init.level, init.trend);
    let mut s = init.seasonal.clone();
    let mut sse = 0.0;
    for (t, &v) in y.iter().enumerate() {
        let j = t % m;
        let e = v - (l + p.phi * b + s[j]);
        sse += e * e;
        l += p.phi * b + p.alpha * e;
        b = p.phi * b + p.alpha * p.beta * e;
        s[j] += p.gamma * e;
    }
    (sse, l, b, s)
}

/// Minimises `f` over the unit box by Nelder-Mead with trial points clamped into the box.
///
/// Hand-written because the problem is tiny (3–4 parameters, a cheap objective without a
/// gradient) and bounded; argmin's Nelder-Mead has no bounds (a sigmoid transform would
/// flatten the objective near α, γ → 0, where fits often land) and is not a dependency.
fn nelder_mead_box(f: &dyn Fn(&[f64]) -> f64, x0: &[f64], max_evals: usize) -> (Vec<f64>, f64) {
    let d = x0.len();
    let clamp = |v: Vec<f64>| v.into_iter().map(|x| x.clamp(0.0, 1.0)).collect::<Vec<_>>();
    let mut simplex: Vec<(Vec<f64>, f64)> = Vec::with_capacity(d + 1);
    let x0 = clamp(x0.to_vec());
    simplex.push((x0.clone(), f(&x0)));
    for i in 0..d {
        let mut x = x0.clone();
        x[i] = if x[i] + 0.2 <= 1.0 {
            x[i] + 0.2
        } else {
            x[i] - 0.2
        };
        let fx = f(&x);
        simplex.push((x, fx));
    }
    let mut evals = d + 1;
    while evals < max_evals {
        simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
        let spread = simplex[d].1 - simplex[0].1;
        if spread <= 1e-12 * (1.0 + simplex[0].1.abs()) {
            break;
        }
        let centroid: Vec<f64> = (0..d)
            .map(|i| simplex[..d].iter().map(|p| p.0[i]).sum::<f64>() / d as f64)
            .collect();
        let toward = |t: f64| -> Vec<f64> {
            clamp(
                (0..d)
                    .map(|i| centroid[i] + t * (simplex[d].0[i] - centroid[i]))
                    .collect(),
            )
        };
        let xr = toward(-1.0);
        let fr = f(&xr);
        evals += 1;
        if fr < simplex[0].1 {
            let xe = toward(-2.0);
            let fe = f(&xe);
            evals += 1;
            simplex[d] = if fe < fr { (xe, fe) } else { (xr, fr) };
        } else if fr < simplex[d - 1].1 {
            simplex[d] = (xr, fr);
        } else {
            let xc = if fr < simplex[d].1 {
                toward(-0.5)
            } else {
                toward(0.5)
            };
            let fc = f(&xc);
            evals += 1;
            if fc < fr.min(simplex[d].1) {
                simplex[d] = (xc, fc);
            } else {
                // Shrink toward the best point.
                let best = simplex[0].0.clone();
                for p in simplex.iter_mut().skip(1) {
                    let x: Vec<f64> = (0..d).map(|i| best[i] + 0.5 * (p.0[i] - best[i])).collect();
                    p.1 = f(&x);
                    p.0 = x;
                }
                evals += d;
            }
        }
    }
    simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
    simplex.swap_remove(0)
}

/// The standard normal quantile, by bisection on libm's erf (accurate to 1e-12; no
/// statistics crate is a dependency for this one number).
pub fn normal_quantile(p: f64) -> f64 {
    let cdf = |x: f64| 0.5 * (1.0 + libm::erf(x / std::f64::consts::SQRT_2));
    let (mut lo, mut hi) = (-40.0, 40.0);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if cdf(mid) < p {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// The season length of `y`: the lag of the highest autocorrelation peak (at most n/2,
/// so two cycles are seen) after the autocorrelation of the linearly detrended series
/// first drops below zero, with its autocorrelation; None when no peak reaches 0.3.
///
/// With `step_s` known, a peak within 2 % (at least one step) of a day's or a week's
/// steps is taken to be that calendar period: input rates follow the clock, and on a few
/// noisy days the highest peak can land a step off (287 instead of 288 five-minute steps).
pub fn detect_season(y: &[f64], step_s: Option<f64>) -> Option<(usize, f64)> {
    let n = y.len();
    if n < 8 {
        return None;
    }
    let xbar = (n as f64 - 1.0) / 2.0;
    let ybar = y.iter().sum::<f64>() / n as f64;
    let (sxy, sxx) = y.iter().enumerate().fold((0.0, 0.0), |(a, b), (t, v)| {
        let dx = t as f64 - xbar;
        (a + dx * (v - ybar), b + dx * dx)
    });
    let slope = sxy / sxx;
    let r: Vec<f64> = y
        .iter()
        .enumerate()
        .map(|(t, v)| v - ybar - slope * (t as f64 - xbar))
        .collect();
    let c0: f64 = r.iter().map(|v| v * v).sum();
    if c0 <= 0.0 {
        return None;
    }
    let max_lag = n / 2;
    let acf: Vec<f64> = (0..=max_lag + 1)
        .map(|l| {
            if l >= n {
                return 0.0;
            }
            r[..n - l]
                .iter()
                .zip(&r[l..])
                .map(|(a, b)| a * b)
                .sum::<f64>()
                / c0
        })
        .collect();
    let first_negative = (1..=max_lag).find(|&l| acf[l] < 0.0)?;
    let peak = (first_negative + 1..=max_lag)
        .filter(|&l| acf[l] >= acf[l - 1] && acf[l] >= acf[l + 1] && acf[l] >= 0.3)
        .max_by(|&a, &b| acf[a].total_cmp(&acf[b]).then(b.cmp(&a)))?;
    let calendar = step_s
        .filter(|s| *s > 0.0)
        .into_iter()
        .flat_map(|s| [86_400.0 / s, 7.0 * 86_400.0 / s])
        .filter(|d| d.fract() == 0.0 && *d as usize <= max_lag)
        .map(|d| d as usize)
        .find(|&d| peak.abs_diff(d) as f64 <= (0.02 * d as f64).max(1.0));
    let l = calendar.unwrap_or(peak);
    Some((l, acf[l]))
}

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
    let mut methods = Vec::new();
    for method in Method::ALL {
        let f = fit(train, method, m)?;
        let points = f.forecast(holdout, level);
        // Rolling origins: windows of `horizon` steps tiling the tail (the last one cut).
        let (mut actual, mut rolled) = (Vec::new(), Vec::new());
        for start in (0..holdout).step_by(horizon) {
            let h = horizon.min(holdout - start);
            rolled.extend(f.extend(&test[..start]).forecast(h, level));
            actual.extend_from_slice(&test[start..start + h]);
        }
        methods.push(MethodEvaluation {
            method,
            errors: errors(test, &points),
            rmse_vs_seasonal_naive: f64::NAN,
            rolling: errors(&actual, &rolled),
            rolling_rmse_vs_seasonal_naive: f64::NAN,
            params: f.params,
            points,
        });
    }
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
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{RngExt, SeedableRng};

    fn pattern(m: usize) -> Vec<f64> {
        (0..m)
            .map(|j| {
                30.0 * (2.0 * std::f64::consts::PI * j as f64 / m as f64).sin() + (j % 3) as f64
            })
            .collect()
    }

    /// level + slope·t + a fixed seasonal pattern + N(0, noise²).
    fn series(n: usize, m: usize, slope: f64, noise: f64, seed: u64) -> Vec<f64> {
        let p = pattern(m);
        let mut rng = StdRng::seed_from_u64(seed);
        (0..n)
            .map(|t| {
                let u1: f64 = rng.random::<f64>().max(1e-300);
                let u2: f64 = rng.random();
                let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
                500.0 + slope * t as f64 + p[t % m] + noise * z
            })
            .collect()
    }

    #[test]
    fn a_noiseless_seasonal_series_is_recovered_exactly() {
        let m = 24;
        for slope in [0.0, 1.5] {
            let y = series(6 * m + 5, m, slope, 0.0, 0);
            let truth = series(6 * m + 5 + 40, m, slope, 0.0, 0);
            let f = fit(&y, Method::HoltWinters, m).unwrap();
            assert!(f.sigma2 < 1e-18, "one-step errors {}", f.sigma2);
            for p in f.forecast(40, 0.95) {
                let want = truth[y.len() - 1 + p.step];
                assert!(
                    (p.forecast - want).abs() < 1e-8,
                    "{}: {} vs {want}",
                    p.step,
                    p.forecast
                );
                assert!(p.upper - p.lower < 1e-6, "no noise, no interval width");
            }
        }
        // Without a trend the damped model recovers it too.
        let y = series(5 * m, m, 0.0, 0.0, 0);
        let f = fit(&y, Method::HoltWintersDamped, m).unwrap();
        for p in f.forecast(30, 0.95) {
            assert!((p.forecast - (500.0 + pattern(m)[(5 * m - 1 + p.step) % m])).abs() < 1e-8);
        }
    }

    #[test]
    fn holt_winters_beats_seasonal_naive_on_a_noisy_trend() {
        let (m, n, k) = (24, 10 * 24, 48);
        let mut wins = 0;
        for seed in 0..5 {
            let y = series(n, m, 0.8, 6.0, seed);
            let ev = evaluate(&y, m, k, 12, 0.95).unwrap();
            let get = |meth| ev.methods.iter().find(|e| e.method == meth).unwrap();
            let hw = get(Method::HoltWinters).errors;
            let sn = get(Method::SeasonalNaive).errors;
            assert!(hw.rmse < sn.rmse, "seed {seed}: {} vs {}", hw.rmse, sn.rmse);
            assert!(hw.mape < sn.mape && hw.smape < sn.smape);
            let (hr, sr) = (
                get(Method::HoltWinters).rolling,
                get(Method::SeasonalNaive).rolling,
            );
            assert!(
                hr.rmse < sr.rmse,
                "seed {seed}: rolling {} vs {}",
                hr.rmse,
                sr.rmse
            );
            assert_ne!(ev.chosen, Method::SeasonalNaive);
            // The 95 % interval covers most held-out values.
            wins += usize::from(hw.coverage >= 0.85);
        }
        assert!(wins >= 4, "interval coverage too low in {} of 5", 5 - wins);
    }

    #[test]
    fn errors_come_from_the_held_out_tail_only() {
        // A seasonal series whose last 24 steps are shifted up by exactly 50: a method
        // fitted on the training part alone forecasts the unshifted pattern, so every
        // held-out error is 50. Fitting on the tail or scoring the training part would
        // give something else.
        let m = 24;
        let mut y = series(6 * m, m, 0.0, 0.0, 0);
        let n = y.len();
        for v in &mut y[n - m..] {
            *v += 50.0;
        }
        let ev = evaluate(&y, m, m, m, 0.95).unwrap();
        for e in &ev.methods {
            assert!(
                (e.errors.rmse - 50.0).abs() < 1e-6,
                "{:?}: {}",
                e.method,
                e.errors.rmse
            );
        }
        // And the fitted parameters do not depend on the held-out values.
        let mut z = y.clone();
        for v in &mut z[n - m..] {
            *v *= 3.0;
        }
        let ev2 = evaluate(&z, m, m, m, 0.95).unwrap();
        for (a, b) in ev.methods.iter().zip(&ev2.methods) {
            assert_eq!(a.params, b.params);
            assert_eq!(a.points, b.points);
        }
    }

    #[test]
    fn extending_a_fit_equals_fitting_through_the_new_values() {
        let m = 24;
        let y = series(7 * m, m, 1.5, 0.0, 0);
        let truth = series(9 * m, m, 1.5, 0.0, 0);
        let f = fit(&y[..5 * m], Method::HoltWinters, m).unwrap();
        let g = f.extend(&y[5 * m..]);
        for p in g.forecast(30, 0.95) {
            assert!((p.forecast - truth[7 * m - 1 + p.step]).abs() < 1e-8);
        }
        let noisy = series(7 * m, m, 0.5, 3.0, 4);
        let f = fit(&noisy[..5 * m], Method::SeasonalNaive, m).unwrap();
        let p = f.extend(&noisy[5 * m..6 * m + 3]).forecast(2, 0.9);
        assert_eq!(p[0].forecast, noisy[5 * m + 3].max(0.0));
        assert_eq!(p[1].forecast, noisy[5 * m + 4].max(0.0));
    }

    #[test]
    fn the_season_is_detected() {
        let y = series(8 * 48, 48, 0.3, 4.0, 1);
        assert_eq!(detect_season(&y, None).map(|s| s.0), Some(48));
        let mut rng = StdRng::seed_from_u64(9);
        let noise: Vec<f64> = (0..400).map(|_| rng.random::<f64>()).collect();
        assert_eq!(detect_season(&noise, None), None);
        // A 47-step cycle at 30-minute steps is snapped to the day (48 steps); at 20-minute
        // steps (a day is 72) it is not.
        let y = series(8 * 47, 47, 0.3, 2.0, 1);
        assert_eq!(detect_season(&y, None).map(|s| s.0), Some(47));
        assert_eq!(detect_season(&y, Some(1800.0)).map(|s| s.0), Some(48));
        assert_eq!(detect_season(&y, Some(1200.0)).map(|s| s.0), Some(47));
    }

    #[test]
    fn intervals_widen_with_the_horizon_and_use_the_quantile() {
        assert!((normal_quantile(0.975) - 1.959_963_985).abs() < 1e-8);
        let y = series(8 * 24, 24, 0.5, 5.0, 2);
        for method in Method::ALL {
            let f = fit(&y, method, 24).unwrap();
            let pts = f.forecast(72, 0.95);
            let w = |p: &Point| p.upper - p.lower;
            assert!(w(&pts[71]) > w(&pts[0]), "{method:?}");
            let p80 = f.forecast(1, 0.8)[0];
            assert!(w(&p80) < w(&pts[0]));
        }
        // Seasonal naive's one-step variance is the seasonal differences' mean square.
        let f = fit(&y, Method::SeasonalNaive, 24).unwrap();
        let sd: f64 = ((24..y.len())
            .map(|t| (y[t] - y[t - 24]).powi(2))
            .sum::<f64>()
            / (y.len() - 24) as f64)
            .sqrt();
        let p = f.forecast(1, 0.95)[0];
        assert!(((p.upper - p.lower) / 2.0 - normal_quantile(0.975) * sd).abs() < 1e-9);
        assert_eq!(p.forecast, y[y.len() - 24]);
    }

    #[test]
    fn too_short_or_bad_input_is_an_error() {
        assert!(fit(&[1.0; 30], Method::HoltWinters, 24).is_err());
        assert!(fit(&[f64::NAN; 60], Method::HoltWinters, 24).is_err());
        assert!(evaluate(&series(60, 24, 0.0, 1.0, 0), 24, 20, 5, 0.95).is_err());
        let opts = Options {
            horizon: 0,
            season: Some(24),
            holdout: None,
            level: 0.95,
            step_s: None,
        };
        assert!(run(&series(100, 24, 0.0, 1.0, 0), &opts).is_err());
    }

    #[test]
    fn nelder_mead_finds_a_box_minimum() {
        let f = |u: &[f64]| (u[0] - 0.3).powi(2) + (u[1] - 1.4).powi(2);
        let (u, _) = nelder_mead_box(&f, &[0.5, 0.5], 500);
        assert!(
            (u[0] - 0.3).abs() < 1e-4 && (u[1] - 1.0).abs() < 1e-6,
            "{u:?}"
        );
    }
}
