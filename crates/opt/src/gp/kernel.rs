//! The Matérn-5/2 correlation, the scaled distance it is a function of, and the dot product.

pub(super) const SQRT5: f64 = 2.236_067_977_499_79;

/// Matérn-5/2 correlation as a function of the scaled distance `r`.
#[inline]
pub(super) fn matern52(r: f64) -> f64 {
    (1.0 + SQRT5 * r + 5.0 / 3.0 * r * r) * (-SQRT5 * r).exp()
}

/// Scaled distance `r` between two rows.
#[inline]
pub(super) fn scaled_dist(a: &[f64], b: &[f64], inv_ls: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .zip(inv_ls)
        .map(|((p, q), il)| {
            let t = (p - q) * il;
            t * t
        })
        .sum::<f64>()
        .sqrt()
}

/// `aᵀb`.
#[inline]
pub(super) fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(p, q)| p * q).sum()
}
