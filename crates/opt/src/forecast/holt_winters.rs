//! Additive Holt-Winters with an optionally damped trend: the error-correction recursions of
//! ETS(A,A,A) / ETS(A,Ad,A), their initial state, the parameter fit (Nelder–Mead on the
//! sum of squared one-step errors) and the forecast with its error variance.

use serde::Serialize;

use super::nelder_mead::nelder_mead_box;

/// Fitted Holt-Winters smoothing parameters (β as in the component form: the share of a
/// level change that goes into the trend).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct HwParams {
    pub alpha: f64,
    pub beta: f64,
    pub gamma: f64,
    pub phi: f64,
}

/// Level, trend and the seasonal for each position `t mod m`, after the last value; `n`
/// values were seen.
#[derive(Debug, Clone)]
pub(super) struct HwState {
    level: f64,
    trend: f64,
    seasonal: Vec<f64>,
    n: usize,
}

/// One step of the recursions at value `v`: updates level `l`, trend `b` and the seasonal
/// `s` of the value's position, and returns the one-step error.
#[inline]
fn update(l: &mut f64, b: &mut f64, s: &mut f64, v: f64, p: HwParams) -> f64 {
    let e = v - (*l + p.phi * *b + *s);
    *l += p.phi * *b + p.alpha * e;
    *b = p.phi * *b + p.alpha * p.beta * e;
    *s += p.gamma * e;
    e
}

impl HwState {
    /// The state advanced through the values observed after the ones it has seen.
    pub(super) fn advance(&mut self, later: &[f64], p: HwParams, m: usize) {
        for (i, &v) in later.iter().enumerate() {
            let j = (self.n + i) % m;
            update(
                &mut self.level,
                &mut self.trend,
                &mut self.seasonal[j],
                v,
                p,
            );
        }
        self.n += later.len();
    }

    /// The forecast `h` steps ahead and its error variance, given the one-step error
    /// variance `sigma2`.
    pub(super) fn predict(&self, p: HwParams, m: usize, sigma2: f64, h: usize) -> (f64, f64) {
        let f =
            self.level + damped_sum(p.phi, h) * self.trend + self.seasonal[(self.n - 1 + h) % m];
        let growth: f64 = (1..h)
            .map(|j| {
                let c = p.alpha * (1.0 + p.beta * damped_sum(p.phi, j))
                    + if j % m == 0 { p.gamma } else { 0.0 };
                c * c
            })
            .sum();
        (f, sigma2 * (1.0 + growth))
    }
}

/// Fits the parameters to `y` with season length `m` (best of three Nelder–Mead starts):
/// the parameters, the sum of squared one-step errors and the state after `y`.
pub(super) fn fit(y: &[f64], m: usize, damped: bool) -> (HwParams, f64, HwState) {
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
    let state = HwState {
        level,
        trend,
        seasonal,
        n: y.len(),
    };
    (p, sse, state)
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
        let e = update(&mut l, &mut b, &mut s[t % m], v, p);
        sse += e * e;
    }
    (sse, l, b, s)
}

#[cfg(test)]
mod tests;
