//! The season length of a series, from its autocorrelation.

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
