//! The forecasting methods, fitted to a series and forecasting from its end with normal
//! prediction intervals.

use anyhow::{Result, bail};
use serde::Serialize;

use super::holt_winters::{self, HwParams, HwState};
use crate::normal::quantile;

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
    /// Holt-Winters' level, trend and seasonals after the last value.
    Hw(HwState),
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
    Ok(match method {
        Method::SeasonalNaive => {
            let diffs: Vec<f64> = (m..y.len()).map(|t| y[t] - y[t - m]).collect();
            let sigma2 = diffs.iter().map(|d| d * d).sum::<f64>() / diffs.len() as f64;
            Fitted {
                method,
                season: m,
                params: None,
                sigma2,
                state: State::Naive {
                    last: y[y.len() - m..].to_vec(),
                },
            }
        }
        Method::HoltWinters | Method::HoltWintersDamped => {
            let damped = method == Method::HoltWintersDamped;
            let (p, sse, state) = holt_winters::fit(y, m, damped);
            Fitted {
                method,
                season: m,
                params: Some(p),
                sigma2: sse / y.len() as f64,
                state: State::Hw(state),
            }
        }
    })
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
            State::Hw(state) => {
                let p = self.params.expect("Holt-Winters has parameters");
                state.advance(later, p, m);
            }
        }
        f
    }

    /// Forecasts `horizon` steps with normal prediction intervals at `level` (e.g. 0.95).
    pub fn forecast(&self, horizon: usize, level: f64) -> Vec<Point> {
        let z = quantile(0.5 + level / 2.0);
        let m = self.season;
        (1..=horizon)
            .map(|h| {
                let (f, var) = match &self.state {
                    State::Naive { last } => {
                        let f = last[(h - 1) % m];
                        (f, self.sigma2 * ((h - 1) / m + 1) as f64)
                    }
                    State::Hw(state) => {
                        let p = self.params.expect("Holt-Winters has parameters");
                        state.predict(p, m, self.sigma2, h)
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
