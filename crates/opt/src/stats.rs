//! Small statistics every layer needs: the median (and the lower median the optimiser caps
//! its observations at), the mean and sample SD, and the accuracy measures the model stage
//! reports (MAPE, median APE, R²). One implementation each, so two stages never disagree on
//! what "the median" of an even count is.

/// The median (the mean of the two middle values for an even count); NaN when empty.
pub fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut s = values.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        0.5 * (s[n / 2 - 1] + s[n / 2])
    }
}

/// The lower median: the smaller of the two middle values for an even count (the middle
/// one for an odd count), always one of `values`; NaN when empty.
pub fn lower_median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut s = values.to_vec();
    s.sort_by(f64::total_cmp);
    s[(s.len() - 1) / 2]
}

/// Mean absolute percentage error, in percent.
pub fn mape(actual: &[f64], predicted: &[f64]) -> f64 {
    let n = actual.len().max(1) as f64;
    100.0
        * actual
            .iter()
            .zip(predicted)
            .map(|(a, p)| ((a - p) / a).abs())
            .sum::<f64>()
        / n
}

/// Median absolute percentage error, in percent (0 when empty).
pub fn median_ape(actual: &[f64], predicted: &[f64]) -> f64 {
    let errors: Vec<f64> = actual
        .iter()
        .zip(predicted)
        .map(|(a, p)| 100.0 * ((a - p) / a).abs())
        .collect();
    if errors.is_empty() {
        0.0
    } else {
        median(&errors)
    }
}

/// Coefficient of determination.
pub fn r2(actual: &[f64], predicted: &[f64]) -> f64 {
    let mean = actual.iter().sum::<f64>() / actual.len().max(1) as f64;
    let ss_tot: f64 = actual.iter().map(|a| (a - mean).powi(2)).sum();
    let ss_res: f64 = actual
        .iter()
        .zip(predicted)
        .map(|(a, p)| (a - p).powi(2))
        .sum();
    if ss_tot == 0.0 {
        0.0
    } else {
        1.0 - ss_res / ss_tot
    }
}

/// The arithmetic mean; 0 when empty.
pub fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len().max(1) as f64
}

/// The sample standard deviation (n − 1 in the denominator); 0 for fewer than two values.
pub fn std_dev(values: &[f64]) -> f64 {
    if values.len() < 2 {
        return 0.0;
    }
    let m = mean(values);
    (values.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (values.len() - 1) as f64).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_of_an_even_count_is_the_mean_of_the_middle_two() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn the_lower_median_of_an_even_count_is_the_lower_middle_value() {
        assert_eq!(lower_median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(lower_median(&[4.0, 1.0, 3.0, 2.0]), 2.0);
        assert!(lower_median(&[]).is_nan());
    }

    #[test]
    fn accuracy_measures_by_hand() {
        let actual = [100.0, 200.0, 400.0];
        let predicted = [110.0, 180.0, 400.0];
        assert!((mape(&actual, &predicted) - 100.0 * (0.1 + 0.1 + 0.0) / 3.0).abs() < 1e-12);
        assert!((median_ape(&actual, &predicted) - 10.0).abs() < 1e-12);
        assert_eq!(r2(&actual, &actual), 1.0);
        assert_eq!(r2(&[1.0, 1.0], &[2.0, 0.0]), 0.0);
    }

    #[test]
    fn mape_median_ape_and_r2_by_hand() {
        assert!((mape(&[100.0, 200.0], &[110.0, 150.0]) - 17.5).abs() < 1e-9);
        assert!((median_ape(&[100.0, 200.0, 10.0], &[110.0, 150.0, 100.0]) - 25.0).abs() < 1e-9);
        assert!((r2(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0]) - 1.0).abs() < 1e-12);
        assert!((r2(&[1.0, 2.0, 3.0], &[2.0, 2.0, 2.0])).abs() < 1e-12);
    }
}
