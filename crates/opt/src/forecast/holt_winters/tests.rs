//! The fit against statsmodels' on a fixed series (`scripts/holt_winters_reference.py`
//! wrote `statsmodels.json`: the series, the shared initial state, statsmodels' optimum
//! and forecast).

use super::*;
use serde::Deserialize;

#[derive(Deserialize)]
struct Initial {
    level: f64,
    trend: f64,
    seasonal: Vec<f64>,
}

#[derive(Deserialize)]
struct Reference {
    season: usize,
    train: Vec<f64>,
    test: Vec<f64>,
    initial: Initial,
    alpha: f64,
    beta: f64,
    gamma: f64,
    sse: f64,
    forecast: Vec<f64>,
    rmse: f64,
}

fn reference() -> Reference {
    serde_json::from_str(include_str!("statsmodels.json")).expect("statsmodels.json parses")
}

fn rmse(a: &[f64], b: &[f64]) -> f64 {
    (a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum::<f64>() / a.len() as f64).sqrt()
}

#[test]
fn the_initial_state_and_the_recursions_are_statsmodels_at_its_optimum() {
    let r = reference();
    let m = r.season;
    let init = initial_state(&r.train, m);
    assert!((init.level - r.initial.level).abs() < 1e-9 * r.initial.level.abs());
    assert!((init.trend - r.initial.trend).abs() < 1e-9);
    for (a, b) in init.seasonal.iter().zip(&r.initial.seasonal) {
        assert!((a - b).abs() < 1e-9, "{a} vs {b}");
    }
    // statsmodels' parameters are ours (its smoothing_trend is our β).
    let p = HwParams {
        alpha: r.alpha,
        beta: r.beta,
        gamma: r.gamma,
        phi: 1.0,
    };
    let (sse, level, trend, seasonal) = filter(&r.train, m, p, &init);
    assert!((sse - r.sse).abs() < 1e-9 * r.sse, "{sse} vs {}", r.sse);
    let state = HwState {
        level,
        trend,
        seasonal,
        n: r.train.len(),
    };
    // At whole seasons ahead (h = m, 2m) statsmodels 0.15 adds the seasonal from before
    // the last update, s_{T−m}; the textbook forecast (Hyndman et al. 2008, eq. 3.1:
    // s_{T+h−m(k+1)} with k = ⌊(h−1)/m⌋) adds s_T, as ours does. Every other step agrees.
    for (h, want) in (1..).zip(&r.forecast).filter(|(h, _)| h % m != 0) {
        let (f, _) = state.predict(p, m, 0.0, h);
        assert!(
            (f - want).abs() < 1e-9 * want.abs(),
            "step {h}: {f} vs {want}"
        );
    }
}

#[test]
fn the_fit_reaches_statsmodels_optimum_off_the_bounds() {
    let r = reference();
    let m = r.season;
    let (p, sse, state) = fit(&r.train, m, false);
    let forecast: Vec<f64> = (1..=r.test.len())
        .map(|h| state.predict(p, m, 0.0, h).0)
        .collect();
    let ours = rmse(&forecast, &r.test);
    eprintln!(
        "ours: α {:.4} β {:.4} γ {:.4} SSE {sse:.3} held-out RMSE {ours:.3}; statsmodels: \
         α {:.4} β {:.4} γ {:.4} SSE {:.3} RMSE {:.3}",
        p.alpha, p.beta, p.gamma, r.alpha, r.beta, r.gamma, r.sse, r.rmse
    );
    // Not worse than statsmodels' optimum by more than 0.01 %.
    assert!(
        sse <= r.sse * (1.0 + 1e-4),
        "SSE {sse} vs statsmodels' {}",
        r.sse
    );
    // The optimum has a trend: a fit stuck on β = 0 is what this guards against.
    assert!(p.beta > 0.01, "{p:?}");
    assert!(
        ours <= r.rmse * 1.01,
        "held-out RMSE {ours} vs statsmodels' {}",
        r.rmse
    );
}
