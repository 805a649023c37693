//! A prior on the length-scales, for fits that ask for one.
//!
//! SAASBO's half-Cauchy (Eriksson & Jankowiak 2021) on each inverse squared length-scale
//! `ρ_d = ℓ_d⁻²` at a fixed global scale `τ`, as a density over the fitted `θ_d = ln ℓ_d`
//! (with the Jacobian of `ρ = e^{−2θ}`): `ln ρ − ln(1 + ρ²/τ²)` up to a constant. Over
//! `ln ℓ` it peaks at `ℓ₀ = τ^{−½}` and falls off as `(ℓ/ℓ₀)^{∓2}` either side, so it pulls
//! the length-scales the data say little about towards `ℓ₀` instead of leaving them at the
//! box's 10 (inert). SAASBO integrates `τ` out by MCMC, which a search's per-evaluation
//! budget does not pay for; fitted jointly as a point estimate, `τ` follows the inert
//! majority down and the model goes flat (BENCHMARKS.md, "A sparse-axis prior").

/// Adds the prior's log density at `theta` (length-scales first, `d` of them) to `lml` and
/// its gradient to `grad`.
pub(super) fn add_lengthscale_prior(
    theta: &[f64],
    d: usize,
    tau: f64,
    lml: &mut f64,
    grad: &mut [f64],
) {
    for (th, g) in theta[..d].iter().zip(&mut grad[..d]) {
        let rho = (-2.0 * th).exp();
        let q = rho * rho / (tau * tau);
        *lml += rho.ln() - q.ln_1p();
        *g += -2.0 + 4.0 * q / (1.0 + q);
    }
}
