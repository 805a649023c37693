//! From importances to a selection: the noise of one score, the perf share an effect
//! stands for, the noise floors' family-wise z, one method's selection rule, the vote of
//! several methods, the ranking and the rule as the report states it. Pure functions of the
//! methods' results, so the rule can be tested without running anything.

use crate::stages::determine::summary::EffectRow;
use crate::study::ScreeningMethod;
use opt::stats::{mean, median};

/// Smallest effect told apart from noise: 1% in perf.
pub(super) const MIN_EFFECT: f64 = 0.01;
/// Family-wise rate at which the noise floors let an inert parameter through.
pub(super) const FLOOR_ALPHA: f64 = 0.05;
/// The family-wise rate of the groups method's three readings — the design's first look,
/// the regression over every run and the confirmations of single moves (the other methods
/// keep FLOOR_ALPHA). Why looser: the groups are judged by their precision (the share of
/// the selected keys that act), and at 5% it stayed at 0.99–1.00 while effects of 2.9–3.3
/// standard errors (the bounds at 20% and 5% over 59 keys) went unselected; the first
/// look's verdict also withholds a key from the groups, whose runs then go to the others.
/// Over seeds 1–80 of the simulator, precision / recall 0.997 / 0.794 → 0.987 / 0.808 at
/// 16 000 rec/s and 0.997 / 0.769 → 0.991 / 0.794 at 80 000; most of the gain is the first
/// look's (BENCHMARKS.md, "A family-wise 20% bound in the groups' readings").
pub(super) const GROUPS_ALPHA: f64 = 0.2;

/// What one method found, per parameter.
pub(super) struct MethodResult {
    pub(super) importance: Vec<f64>,
    /// Per parameter: the importance noise alone stays below (family-wise, see `z_bonferroni`).
    pub(super) floor: Vec<f64>,
    /// The importance as a relative change of perf in [0, 1) (`perf_share`): what the
    /// threshold and the relative importance compare.
    pub(super) share: Vec<f64>,
}

/// An effect on the ln(perf) scale as the share of perf it changes, 1 − e^−|effect|.
///
/// Why: over a broad catalogue ln-scale effects span orders of magnitude (the buffer
/// timeout moves perf by e^7 on the simulator), so "5% of the top effect" on the ln scale
/// threw away keys that change perf by 30–50%. On this bounded scale the top is close to 1
/// and the threshold reads as a share of perf; the noise floor keeps inert keys out.
pub(super) fn perf_share(effect: f64) -> f64 {
    1.0 - (-effect.abs()).exp()
}

/// The upper quantile z of the standard normal with P(|N| > z) = alpha / comparisons: a
/// floor of z standard deviations is crossed by pure noise in any of `comparisons` with
/// probability at most alpha (Bonferroni). Bisection on erfc (no statistics crate here).
pub(super) fn z_bonferroni(alpha: f64, comparisons: usize) -> f64 {
    let p = alpha / comparisons.max(1) as f64;
    let (mut lo, mut hi) = (0.0_f64, 40.0_f64);
    for _ in 0..100 {
        let mid = 0.5 * (lo + hi);
        if libm::erfc(mid / std::f64::consts::SQRT_2) > p {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// The Bonferroni bound of [`z_bonferroni`] for a t statistic with `dof` residual degrees of
/// freedom: the normal quantile widened by the Cornish–Fisher expansion of Student's t
/// (Abramowitz & Stegun 26.7.5). Why: a design of 150 runs over 59 keys leaves some 20–90
/// degrees of freedom, where the normal bound lets a t of noise through several times as
/// often as it claims.
pub(super) fn t_bonferroni(alpha: f64, comparisons: usize, dof: usize) -> f64 {
    let z = z_bonferroni(alpha, comparisons);
    let v = dof.max(1) as f64;
    let (z3, z5, z7) = (z.powi(3), z.powi(5), z.powi(7));
    z + (z3 + z) / (4.0 * v)
        + (5.0 * z5 + 16.0 * z3 + 3.0 * z) / (96.0 * v * v)
        + (3.0 * z7 + 19.0 * z5 + 17.0 * z3 - 15.0 * z) / (384.0 * v * v * v)
}

/// Robust σ of one run's score from repeated runs of several configurations: the median
/// absolute deviation from each configuration's median, pooled, scaled to a normal σ
/// (falls back to the pooled sample SD when the MAD is 0).
fn pooled_noise(groups: &[&[f64]]) -> f64 {
    let mut dev = Vec::new();
    let mut sq = Vec::new();
    for g in groups.iter().filter(|g| g.len() >= 3) {
        let med = median(g);
        dev.extend(g.iter().map(|x| (x - med).abs()));
        let m = mean(g);
        sq.extend(g.iter().map(|x| x - m));
    }
    if dev.is_empty() {
        return 0.0;
    }
    let mad = 1.4826 * median(&dev);
    if mad > 0.0 {
        mad
    } else {
        (sq.iter().map(|d| d * d).sum::<f64>() / sq.len().max(2) as f64).sqrt()
    }
}

/// The noise of one score (the median of `repeats` runs) from the repeated runs of several
/// configurations (`pooled_noise`).
pub(super) fn score_noise(groups: &[&[f64]], repeats: u64) -> f64 {
    let sd_single = pooled_noise(groups);
    let reps = repeats as f64;
    // The noise of a median of `repeats` runs.
    sd_single * if repeats > 2 { 1.2533 } else { 1.0 } / reps.sqrt()
}

/// Marks the selected parameters of one method.
pub(super) fn select(m: &MethodResult, threshold: f64, top_k: Option<usize>) -> Vec<bool> {
    let top = m.share.iter().copied().fold(0.0_f64, f64::max);
    let above: Vec<bool> = (0..m.importance.len())
        .map(|i| m.importance[i] > m.floor[i] && m.importance[i] > 0.0)
        .collect();
    match top_k {
        Some(k) => {
            let mut order: Vec<usize> = (0..m.importance.len()).filter(|&i| above[i]).collect();
            order.sort_by(|&a, &b| m.importance[b].total_cmp(&m.importance[a]));
            let mut sel = vec![false; m.importance.len()];
            for &i in order.iter().take(k) {
                sel[i] = true;
            }
            sel
        }
        None => m
            .share
            .iter()
            .zip(&above)
            .map(|(&v, &a)| a && v >= threshold * top)
            .collect(),
    }
}

fn relative(m: &MethodResult) -> Vec<f64> {
    let top = m.share.iter().copied().fold(0.0_f64, f64::max);
    m.share
        .iter()
        .map(|&v| if top > 0.0 { (v / top).max(0.0) } else { 0.0 })
        .collect()
}

/// Sets each row's relative importance and whether it is selected — by its one method's
/// rule, or by at least two methods (then, with `top_k`, the k of highest mean relative
/// importance among those two methods put above their floors) — and its rank. Returns the
/// rows' indices by rank.
pub(super) fn choose(
    results: &[MethodResult],
    threshold: f64,
    top_k: Option<usize>,
    rows: &mut [EffectRow],
) -> Vec<usize> {
    let selections: Vec<Vec<bool>> = results
        .iter()
        .map(|m| select(m, threshold, top_k))
        .collect();
    let rel: Vec<Vec<f64>> = results.iter().map(relative).collect();
    for (i, row) in rows.iter_mut().enumerate() {
        row.relative_importance = mean(&rel.iter().map(|r| r[i]).collect::<Vec<_>>());
        let votes = selections.iter().filter(|s| s[i]).count();
        row.selected = if selections.len() == 1 {
            votes == 1
        } else {
            votes >= 2
        };
    }
    if let (Some(k), true) = (top_k, selections.len() > 1) {
        top_k_of_all(results, k, rows);
    }
    rank(rows)
}

/// Among the parameters two methods put above their floors, the k of highest rank.
fn top_k_of_all(results: &[MethodResult], k: usize, rows: &mut [EffectRow]) {
    let above: Vec<bool> = (0..rows.len())
        .map(|i| {
            results
                .iter()
                .filter(|m| m.importance[i] > m.floor[i] && m.importance[i] > 0.0)
                .count()
                >= 2
        })
        .collect();
    let mut order: Vec<usize> = (0..rows.len()).filter(|&i| above[i]).collect();
    order.sort_by(|&a, &b| {
        rows[b]
            .relative_importance
            .total_cmp(&rows[a].relative_importance)
    });
    for row in rows.iter_mut() {
        row.selected = false;
    }
    for &i in order.iter().take(k) {
        rows[i].selected = true;
    }
}

/// Ranks the rows by relative importance (ties by catalogue order); returns their indices
/// by rank.
fn rank(rows: &mut [EffectRow]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by(|&a, &b| {
        rows[b]
            .relative_importance
            .total_cmp(&rows[a].relative_importance)
            .then(a.cmp(&b))
    });
    for (rank, &i) in order.iter().enumerate() {
        rows[i].rank = rank + 1;
    }
    order
}

pub(super) fn rule_text(method: ScreeningMethod, threshold: f64, top_k: Option<usize>) -> String {
    let one = match top_k {
        Some(k) => format!("among the {k} most important parameters above the noise floor"),
        None => format!(
            "importance above the noise floor and at least {:.0}% of the top parameter's",
            threshold * 100.0
        ),
    };
    match (method, top_k) {
        (ScreeningMethod::Sobol, None) if threshold == 0.0 => {
            "total Sobol' effect above the largest effect of a random probe and above 1%, \
             in the full GP fit and in the median bootstrap refit"
                .to_string()
        }
        (ScreeningMethod::Factorial, None) if threshold == 0.0 => {
            "robust (Huber) regression effect (main, or of a pair acting together) above 1% \
             with its t statistic above a Bonferroni bound over the keys (family-wise 5%)"
                .to_string()
        }
        (ScreeningMethod::Groups, None) if threshold == 0.0 => format!(
            "robust (Huber) regression effect over every run (over the two-level design for a \
             key the design selected: it is not moved again) above 1% with its t statistic \
             above a Bonferroni bound over the keys (family-wise {alpha:.0}%), or a key's move \
             from a base, found by splitting groups of moves, changing the score on fresh runs \
             beyond Student's t bound, Bonferroni over the confirmations so far (family-wise \
             {alpha:.0}%)",
            alpha = GROUPS_ALPHA * 100.0
        ),
        (ScreeningMethod::All, Some(k)) => format!(
            "above the noise floor in at least two of oat, morris and forest, and among the {k} \
             of highest mean relative importance"
        ),
        (ScreeningMethod::All, None) => {
            format!("selected by at least two of oat, morris and forest, each: {one}")
        }
        _ => one,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_t_bound_is_wider_than_the_normal_one_at_few_degrees_of_freedom() {
        // Student's t: P(|T_10| > 2.228) = 0.05, P(|T_30| > 2.042) = 0.05.
        assert!((t_bonferroni(0.05, 1, 10) - 2.228).abs() < 0.01);
        assert!((t_bonferroni(0.05, 1, 30) - 2.042).abs() < 0.005);
        assert!((t_bonferroni(0.05, 8, 100_000) - z_bonferroni(0.05, 8)).abs() < 1e-3);
    }

    #[test]
    fn bonferroni_quantiles_match_the_normal_table() {
        // P(|N| > 1.96) = 0.05, P(|N| > 2.576) = 0.01.
        assert!((z_bonferroni(0.05, 1) - 1.95996).abs() < 1e-4);
        assert!((z_bonferroni(0.05, 5) - 2.57583).abs() < 1e-4);
        assert!(z_bonferroni(0.05, 1000) > z_bonferroni(0.05, 100));
        assert!((perf_share(0.0)).abs() < 1e-12 && perf_share(7.0) > 0.99);
    }

    #[test]
    fn selection_follows_the_stated_rule() {
        let importance = vec![2.0, 0.5, 0.05, 0.0, 0.11];
        let m = MethodResult {
            share: importance.iter().map(|&v| perf_share(v)).collect(),
            importance,
            floor: vec![0.1; 5],
        };
        assert_eq!(select(&m, 0.05, None), vec![true, true, false, false, true]);
        // 0.5 changes perf by 39%, 0.11 by 10%: against the top's 86%.
        assert_eq!(select(&m, 0.2, None), vec![true, true, false, false, false]);
        assert_eq!(
            select(&m, 0.5, None),
            vec![true, false, false, false, false]
        );
        assert_eq!(
            select(&m, 0.05, Some(2)),
            vec![true, true, false, false, false]
        );
        // top_k never takes what the noise floor rules out.
        assert_eq!(
            select(&m, 0.05, Some(9)),
            vec![true, true, false, false, true]
        );
        // Per-parameter floors.
        let m = MethodResult {
            floor: vec![0.1, 0.6, 0.0, 0.0, 0.0],
            ..m
        };
        assert_eq!(select(&m, 0.05, None), vec![true, false, true, false, true]);
    }
}
