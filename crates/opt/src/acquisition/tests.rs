use super::*;
use crate::normal::HALF_LN_2PI;

#[test]
fn ei_hand_values() {
    let ei = Acquisition::Ei { xi: 0.0 };
    // μ=1, σ=1, f*=0 → z=1: EI = 1·Φ(1) + φ(1) = 0.8413447 + 0.2419707.
    assert!((ei.value(1.0, 1.0, 0.0) - 1.083_315_470_6).abs() < 1e-9);
    // z = 0 → EI = σ φ(0) = σ/√(2π); σ = 2.
    assert!((ei.value(3.0, 4.0, 3.0) - 2.0 / (2.0 * std::f64::consts::PI).sqrt()).abs() < 1e-12);
    // z = −1 (μ=0, f*=1): EI = −Φ(−1) + φ(1) = −0.1586553 + 0.2419707.
    assert!((ei.value(0.0, 1.0, 1.0) - 0.083_315_470_6).abs() < 1e-9);
    // ξ shifts the incumbent.
    let eix = Acquisition::Ei { xi: 1.0 };
    assert!((eix.value(2.0, 1.0, 0.0) - ei.value(1.0, 1.0, 0.0)).abs() < 1e-15);
    // σ = 0: plain improvement, no NaN.
    assert_eq!(ei.value(2.0, 0.0, 1.5), 0.5);
    assert_eq!(ei.value(1.0, 0.0, 1.5), 0.0);
    assert_eq!(ei.value(1.0, -1e-18, 1.5), 0.0);
}

#[test]
fn pi_and_ucb_hand_values() {
    let pi = Acquisition::Pi { xi: 0.0 };
    assert!((pi.value(1.0, 1.0, 0.0) - 0.841_344_746_1).abs() < 1e-10);
    assert_eq!(pi.value(1.0, 0.0, 0.0), 1.0);
    assert_eq!(pi.value(-1.0, 0.0, 0.0), 0.0);
    let ucb = Acquisition::Ucb { beta: 4.0 };
    assert!((ucb.value(1.0, 0.25, 0.0) - 2.0).abs() < 1e-15);
    assert_eq!(ucb.value(1.0, 0.0, 0.0), 1.0);
    // Score orders like value.
    assert!(pi.score(1.0, 1.0, 0.0) > pi.score(0.5, 1.0, 0.0));
    assert!(pi.score(-60.0, 1.0, 0.0).is_finite());
}

#[test]
fn log_ei_matches_ln_ei_and_is_stable_in_tail() {
    let ei = Acquisition::Ei { xi: 0.0 };
    let lei = Acquisition::LogEi { xi: 0.0 };
    // Where EI is comfortably representable, log-EI = ln(EI) computed
    // from the textbook formula.
    for i in 0..=300 {
        let z = -25.0 + 0.1 * i as f64;
        let sigma = 0.7;
        let mean = z * sigma;
        let naive = (mean * cdf(z) + sigma * pdf(z)).ln();
        let l = lei.value(mean, sigma * sigma, 0.0);
        if z > -8.0 {
            // No cancellation issue yet for the naive formula.
            assert!(
                (l - naive).abs() < 1e-9 * (1.0 + naive.abs()),
                "z={z}: {l} vs {naive}"
            );
        }
        let e = ei.value(mean, sigma * sigma, 0.0);
        if e > 1e-300 {
            assert!((l - e.ln()).abs() < 1e-9 * (1.0 + l.abs()), "z={z}");
        }
    }
    // Finite and strictly increasing in z down to −40 (and beyond).
    let mut prev = f64::NEG_INFINITY;
    for i in 0..=4500 {
        let z = -40.0 + 0.01 * i as f64;
        let l = lei.value(z, 1.0, 0.0);
        assert!(l.is_finite(), "z={z}");
        assert!(l > prev, "not monotone at z={z}: {l} <= {prev}");
        prev = l;
    }
    assert!(lei.value(-1000.0, 1.0, 0.0).is_finite());
    // Far tail against a high-precision reference (mpmath, 40 digits):
    // ln τ(−40) = ln(−40 Φ(−40) + φ(40)) = −808.29856835661996…
    assert!((log_tau(-40.0) + 808.298_568_356_62).abs() < 1e-9);
    // Asymptotics: ln τ(z) ≈ −z²/2 − ln√(2π) − 2 ln|z| for z ≪ 0.
    let z: f64 = -40.0;
    let approx = -0.5 * z * z - HALF_LN_2PI - 2.0 * z.abs().ln();
    assert!((log_tau(z) - approx).abs() < 3.0 / (z * z));
    // σ = 0 edge cases.
    assert_eq!(lei.value(2.0, 0.0, 1.0), 0.0);
    assert_eq!(lei.value(0.0, 0.0, 1.0), f64::NEG_INFINITY);
    assert!(!lei.value(0.0, 0.0, 1.0).is_nan());
}

#[test]
fn ei_score_orders_like_ei() {
    let ei = Acquisition::Ei { xi: 0.01 };
    let pts = [(0.0, 1.0), (0.5, 0.1), (1.0, 0.01), (-3.0, 4.0), (2.0, 0.0)];
    for a in pts {
        for b in pts {
            let (va, vb) = (ei.value(a.0, a.1, 0.3), ei.value(b.0, b.1, 0.3));
            let (sa, sb) = (ei.score(a.0, a.1, 0.3), ei.score(b.0, b.1, 0.3));
            if (va - vb).abs() > 1e-12 {
                assert_eq!(va > vb, sa > sb);
            }
        }
    }
}
