use super::nelder_mead::nelder_mead_box;
use super::*;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

fn pattern(m: usize) -> Vec<f64> {
    (0..m)
        .map(|j| 30.0 * (2.0 * std::f64::consts::PI * j as f64 / m as f64).sin() + (j % 3) as f64)
        .collect()
}

/// level + slope·t + a fixed seasonal pattern + N(0, noise²).
fn series(n: usize, m: usize, slope: f64, noise: f64, seed: u64) -> Vec<f64> {
    let p = pattern(m);
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|t| {
            let z = crate::normal::sample(&mut rng);
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
