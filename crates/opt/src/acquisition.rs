//! Acquisition functions for Bayesian optimisation (maximisation convention).
//!
//! All functions take the GP posterior `mean` and `var` at a point and the
//! best observed value `best` (f*). With `σ = √var` and
//! `z = (mean − best − ξ)/σ`:
//!
//! * EI  = (mean − best − ξ) Φ(z) + σ φ(z) = σ τ(z), `τ(z) = zΦ(z) + φ(z)`
//! * LogEI = ln σ + ln τ(z), computed without underflow for very negative z
//! * PI  = Φ(z)
//! * UCB = mean + √β σ
//!
//! `σ = 0` is handled explicitly (the limits of the formulas), so no
//! function returns NaN for finite inputs.

use serde::{Deserialize, Serialize};

/// `1/√(2π)`.
const INV_SQRT_2PI: f64 = 0.398_942_280_401_432_7;
/// `0.5 · ln(2π)`.
const HALF_LN_2PI: f64 = 0.918_938_533_204_672_7;
/// Below `z = −TAIL_Z` the erfc-based formulas lose too much to underflow /
/// cancellation and asymptotic series take over (they are accurate to
/// ~1e-16 relative there).
const TAIL_Z: f64 = 10.0;

/// Standard normal density φ(z).
pub fn pdf(z: f64) -> f64 {
    INV_SQRT_2PI * (-0.5 * z * z).exp()
}

/// Standard normal CDF Φ(z) = ½ erfc(−z/√2); erfc keeps full relative
/// accuracy in the lower tail (unlike `1 − ½ erfc(z/√2)` or `½(1+erf)`).
pub fn cdf(z: f64) -> f64 {
    0.5 * libm::erfc(-z / std::f64::consts::SQRT_2)
}

/// Asymptotic (Mills-ratio) series `S(t) = Σ_{k≥0} (−1)^k (2k−1)!! / t^{2k}`
/// (so `t Φ(−t)/φ(t) ≈ S`). Returns `S` or, with `one_minus`, `1 − S`
/// summed term by term (no cancellation). Stops at the smallest term, as
/// usual for a divergent asymptotic series; for t ≥ 10 the error is far
/// below f64 precision.
fn mills_series(t: f64, one_minus: bool) -> f64 {
    let inv_t2 = 1.0 / (t * t);
    let mut term = 1.0;
    let mut sum = if one_minus { 0.0 } else { 1.0 };
    for k in 1..200 {
        let next = -term * (2 * k - 1) as f64 * inv_t2;
        if next.abs() >= term.abs() {
            break;
        }
        term = next;
        sum += if one_minus { -term } else { term };
        if term.abs() < 1e-18 * sum.abs() {
            break;
        }
    }
    sum
}

/// ln Φ(z), finite for all finite z (no underflow in the lower tail).
pub fn log_cdf(z: f64) -> f64 {
    if z > -TAIL_Z {
        cdf(z).ln()
    } else {
        // Φ(z) = φ(z)/t · (1 − 1/t² + 3/t⁴ − …), t = −z (Mills ratio series).
        let t = -z;
        -0.5 * z * z - HALF_LN_2PI - t.ln() + mills_series(t, false).ln()
    }
}

/// ln τ(z) with `τ(z) = zΦ(z) + φ(z)` (EI for σ = 1), finite for all finite z.
pub fn log_tau(z: f64) -> f64 {
    if z >= 0.0 {
        // No cancellation: both terms are positive.
        (z * cdf(z) + pdf(z)).ln()
    } else {
        // τ(z) = φ(z) · g(t), g(t) = 1 − t Φ(−t)/φ(t), t = −z > 0.
        // Factoring out φ avoids underflow; g is computed directly (relative
        // error ~t²·ε from cancellation, harmless for t ≤ 10) or by its
        // asymptotic series g ≈ 1/t² − 3/t⁴ + 15/t⁶ − … for large t.
        let t = -z;
        let g = if t <= TAIL_Z {
            let mills = 0.5 * libm::erfc(t / std::f64::consts::SQRT_2) / pdf(t);
            1.0 - t * mills
        } else {
            mills_series(t, true)
        };
        -0.5 * z * z - HALF_LN_2PI + g.ln()
    }
}

/// An acquisition function (higher is better), with its parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Acquisition {
    /// Expected improvement over `best + xi`.
    Ei {
        /// Improvement margin ξ ≥ 0 (same units as `mean`).
        xi: f64,
    },
    /// Logarithm of expected improvement (same argmax as EI, but keeps
    /// signal where EI underflows).
    LogEi {
        /// Improvement margin ξ ≥ 0.
        xi: f64,
    },
    /// Probability of improvement over `best + xi`.
    Pi {
        /// Improvement margin ξ ≥ 0.
        xi: f64,
    },
    /// Upper confidence bound `mean + √β σ`.
    Ucb {
        /// Exploration weight β ≥ 0.
        beta: f64,
    },
}

impl Acquisition {
    /// The acquisition value at a point with posterior `mean`, `var` given
    /// the incumbent `best`. Negative `var` is treated as 0.
    ///
    /// Never NaN for finite inputs. LogEI is `−∞` only when `σ = 0` and there
    /// is no improvement (EI is exactly 0 there); otherwise finite.
    pub fn value(&self, mean: f64, var: f64, best: f64) -> f64 {
        let sigma = var.max(0.0).sqrt();
        match *self {
            Acquisition::Ei { xi } => {
                let imp = mean - best - xi;
                if sigma <= 0.0 {
                    imp.max(0.0)
                } else {
                    let z = imp / sigma;
                    if z >= 0.0 {
                        imp * cdf(z) + sigma * pdf(z)
                    } else {
                        // Via the log: avoids the cancellation of the two
                        // terms for negative z (underflows gracefully to 0).
                        sigma * log_tau(z).exp()
                    }
                }
            }
            Acquisition::LogEi { xi } => log_ei(mean, sigma, best, xi),
            Acquisition::Pi { xi } => {
                let imp = mean - best - xi;
                if sigma <= 0.0 {
                    if imp > 0.0 { 1.0 } else { 0.0 }
                } else {
                    cdf(imp / sigma)
                }
            }
            Acquisition::Ucb { beta } => mean + beta.max(0.0).sqrt() * sigma,
        }
    }

    /// A strictly monotone transform of [`Acquisition::value`] that is better
    /// behaved for optimisation: EI and PI are ranked by their logarithms
    /// (which do not underflow to a flat 0 far from the incumbent), LogEI
    /// and UCB by their value. Only the ordering is meaningful.
    pub fn score(&self, mean: f64, var: f64, best: f64) -> f64 {
        let sigma = var.max(0.0).sqrt();
        match *self {
            Acquisition::Ei { xi } | Acquisition::LogEi { xi } => log_ei(mean, sigma, best, xi),
            Acquisition::Pi { xi } => {
                let imp = mean - best - xi;
                if sigma <= 0.0 {
                    if imp > 0.0 { 0.0 } else { f64::NEG_INFINITY }
                } else {
                    log_cdf(imp / sigma)
                }
            }
            Acquisition::Ucb { .. } => self.value(mean, var, best),
        }
    }
}

/// ln EI, stable in the far tail.
fn log_ei(mean: f64, sigma: f64, best: f64, xi: f64) -> f64 {
    let imp = mean - best - xi;
    if sigma <= 0.0 {
        if imp > 0.0 {
            imp.ln()
        } else {
            f64::NEG_INFINITY
        }
    } else {
        sigma.ln() + log_tau(imp / sigma)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_pdf_cdf_hand_values() {
        assert!((pdf(0.0) - 0.398_942_280_4).abs() < 1e-10);
        assert!((pdf(1.0) - 0.241_970_724_5).abs() < 1e-10);
        assert!((cdf(0.0) - 0.5).abs() < 1e-15);
        assert!((cdf(1.0) - 0.841_344_746_1).abs() < 1e-10);
        // Lower tail keeps relative accuracy: Φ(−10) ≈ 7.619853e-24.
        assert!((cdf(-10.0) / 7.619_853_024_160_527e-24 - 1.0).abs() < 1e-10);
        // log_cdf is continuous across the series switch and right far out:
        // ln Φ(−40) ≈ −804.608442013754 (−z²/2 − ln(√(2π)·40) + ln(1 − 1/1600 + …)).
        assert!((log_cdf(-10.0 - 1e-9) - cdf(-10.0).ln()).abs() < 1e-7);
        assert!((log_cdf(-40.0) + 804.608_442_013_754).abs() < 1e-9);
    }

    #[test]
    fn ei_hand_values() {
        let ei = Acquisition::Ei { xi: 0.0 };
        // μ=1, σ=1, f*=0 → z=1: EI = 1·Φ(1) + φ(1) = 0.8413447 + 0.2419707.
        assert!((ei.value(1.0, 1.0, 0.0) - 1.083_315_470_6).abs() < 1e-9);
        // z = 0 → EI = σ φ(0) = σ/√(2π); σ = 2.
        assert!(
            (ei.value(3.0, 4.0, 3.0) - 2.0 / (2.0 * std::f64::consts::PI).sqrt()).abs() < 1e-12
        );
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
}
