use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use super::hyper::{FitOptions, Hyper};
use super::likelihood::{dot, factorise, lml_and_grad, matern52, scaled_dist};
use super::model::{fit, standardise, with_hyper};
use super::prior::add_lengthscale_prior;

fn hyper_1d(ls: f64, s2: f64, noise: f64) -> Hyper {
    Hyper {
        log_lengthscales: vec![ls.ln()],
        log_signal_var: s2.ln(),
        log_noise_var: noise.ln(),
    }
}

/// `n` points drawn uniformly from the unit square.
fn uniform_2d(rng: &mut StdRng, n: usize) -> Vec<Vec<f64>> {
    (0..n)
        .map(|_| vec![rng.random::<f64>(), rng.random::<f64>()])
        .collect()
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
    let x = uniform_2d(&mut rng, 30);
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
    let x = uniform_2d(&mut rng, 8);
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

#[test]
fn the_lengthscale_prior_peaks_at_its_scale_and_its_gradient_is_exact() {
    let tau: f64 = 3.0;
    let density = |th: f64| {
        let (mut l, mut g) = (0.0, vec![0.0; 3]);
        add_lengthscale_prior(&[th, 0.0, 0.0], 1, tau, &mut l, &mut g);
        (l, g[0])
    };
    // The mode over ln ℓ is at ℓ = τ^{−½}: the gradient vanishes there, and the density
    // falls on either side.
    let mode = -0.5 * tau.ln();
    assert!(density(mode).1.abs() < 1e-12);
    assert!(density(mode).0 > density(mode + 0.5).0);
    assert!(density(mode).0 > density(mode - 0.5).0);
    for th in [-2.5, -1.0, 0.3, 2.0] {
        let h = 1e-6;
        let fd = (density(th + h).0 - density(th - h).0) / (2.0 * h);
        assert!(
            (fd - density(th).1).abs() < 1e-6,
            "θ {th}: {fd} vs {}",
            density(th).1
        );
    }
}

#[test]
fn the_lengthscale_prior_pulls_an_inert_input_towards_its_scale() {
    let mut rng = StdRng::seed_from_u64(5);
    let x = uniform_2d(&mut rng, 12);
    // The second input is inert and the measurements noisy: maximum likelihood leaves the
    // inert input long, and the data say too little against a shorter one to outweigh
    // the prior.
    let y: Vec<f64> = x
        .iter()
        .map(|r| (5.0 * r[0]).sin() + 0.3 * (rng.random::<f64>() - 0.5))
        .collect();
    let inert_ls =
        |opts: &FitOptions| fit(&x, &y, opts, None).unwrap().hyper().log_lengthscales[1].exp();
    let ml = inert_ls(&FitOptions::default());
    let map = inert_ls(&FitOptions {
        lengthscale_prior: Some(3.0),
        ..FitOptions::default()
    });
    // Maximum likelihood: 4.2; under the prior: 1.4, towards 3^{−½} ≈ 0.58.
    assert!(ml > 3.0, "maximum likelihood: {ml}");
    assert!(map < 0.5 * ml && map > 0.58, "with the prior: {map}");
}
