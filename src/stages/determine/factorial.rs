//! The factorial method's reading of a two-level design: least squares of the score on every
//! key's ±1 column (its main effect, low → high end of its range, is twice the coefficient),
//! then a forward search for the pairs of keys that act together, each key judged by its
//! t statistic against a Bonferroni bound over the keys.
//!
//! Why a two-level design read by regression: over 60 keys each one-at-a-time comparison
//! of two runs carries the noise of both, while a regression over N configurations in which
//! every key moves estimates every main effect from all N at once, with a standard error of
//! about 2σ/√N (0.4% for 3% noise and 300 runs) — the only way a budget of a few hundred
//! runs sees effects of 1%. The foldover pairs (a corner and its mirror) keep the main
//! effects free of two-key interactions and of curvature; pairs that act only together
//! (no main effect) are found afterwards among the residuals.

use crate::stages::determine::analysis::{Analysis, MIN_RAN, judged};
use crate::stages::determine::forest::ForestRuns;
use crate::stages::determine::select::{FLOOR_ALPHA, MIN_EFFECT, z_bonferroni};
use crate::study::Study;
use anyhow::{Result, bail};
use opt::regression::{Ols, ols};
use opt::stats::median;

/// Residuals further than this many robust standard deviations are pulled back to it before
/// the final fit: a rare latency spike would otherwise be read as an effect of whichever
/// keys single that configuration out.
const OUTLIER_Z: f64 = 4.0;
/// At most this many pairs of keys acting together are added to the model.
const MAX_PAIRS: usize = 4;
/// A key is fitted when at least this many rows that ran have it at each level.
const MIN_LEVEL_ROWS: usize = 3;

/// The model's columns: main effects of the judged keys (positions in `free`), then pairs.
struct Model {
    mains: Vec<usize>,
    pairs: Vec<(usize, usize)>,
}

impl Model {
    fn row(&self, x: &[f64]) -> Vec<f64> {
        self.mains
            .iter()
            .map(|&j| x[j])
            .chain(self.pairs.iter().map(|&(a, b)| x[a] * x[b]))
            .collect()
    }

    fn fit(&self, x: &[Vec<f64>], y: &[f64]) -> Result<Ols> {
        let rows: Vec<Vec<f64>> = x.iter().map(|r| self.row(r)).collect();
        match ols(&rows, y) {
            Some(f) => Ok(f),
            None => bail!(
                "the factorial design has {} configurations that ran for {} effects: too few \
                 (raise [determine] budget, or fix what makes them fail: see determine's trials)",
                y.len(),
                rows.first().map_or(0, Vec::len) + 1
            ),
        }
    }
}

/// The keys' unit values as ±1 levels: below the middle of the values a key took in the
/// rows, its low level (where the design put it, or where an int, a power of two, an enum
/// or a bool rounds it to); a key that took one value only is 0 throughout.
fn levels(u: &[Vec<f64>], k: usize) -> Vec<Vec<f64>> {
    let mid: Vec<Option<f64>> = (0..k)
        .map(|j| {
            let lo = u.iter().map(|r| r[j]).fold(f64::INFINITY, f64::min);
            let hi = u.iter().map(|r| r[j]).fold(f64::NEG_INFINITY, f64::max);
            (hi > lo).then_some(0.5 * (lo + hi))
        })
        .collect();
    u.iter()
        .map(|r| {
            r.iter()
                .zip(&mid)
                .map(|(&v, m)| match m {
                    Some(m) if v > *m => 1.0,
                    Some(_) => -1.0,
                    None => 0.0,
                })
                .collect()
        })
        .collect()
}

/// Whether a key's column has at least MIN_LEVEL_ROWS rows at each level (else it cannot
/// be fitted and is left out of the model).
fn varies(x: &[Vec<f64>], j: usize) -> bool {
    let high = x.iter().filter(|r| r[j] > 0.0).count();
    let low = x.iter().filter(|r| r[j] < 0.0).count();
    high.min(low) >= MIN_LEVEL_ROWS
}

/// Reads the configurations of `phases` that ran, over the keys `free`.
pub(super) fn analyse(study: &Study, phases: &[&ForestRuns], free: &[usize]) -> Result<Analysis> {
    let space = &study.space;
    let (mut u, mut y, mut total) = (Vec::new(), Vec::new(), 0);
    for runs in phases {
        for (c, m) in runs.configs.iter().zip(&runs.measured) {
            total += 1;
            if let Some(score) = m.score {
                let unit = space.to_unit(c);
                u.push(free.iter().map(|&i| unit[i]).collect::<Vec<f64>>());
                y.push(score);
            }
        }
    }
    if u.len() < MIN_RAN {
        bail!(
            "only {} of the {total} screening configurations ran; the factorial method needs \
             at least {MIN_RAN} (raise [determine] budget, lower the rate, or fix what makes \
             them fail: see determine's trials)",
            u.len()
        );
    }
    let k = free.len();
    let x = levels(&u, k);
    // Judged: enough rows at each level for the effect to stand for the key (it is fitted
    // with fewer, so that its variance does not land on the other keys).
    let judged: Vec<bool> = judged(
        &x.iter()
            .map(|r| r.iter().map(|v| 0.5 * (v + 1.0)).collect())
            .collect::<Vec<Vec<f64>>>(),
        k,
    );
    let mut model = Model {
        mains: (0..k).filter(|&j| varies(&x, j)).collect(),
        pairs: Vec::new(),
    };
    let y = without_outliers(&model.fit(&x, &y)?, &y);
    add_pairs(&mut model, &x, &y)?;
    let fit = model.fit(&x, &y)?;
    Ok(read(&model, &fit, &y, free, judged))
}

/// The scores with residuals beyond OUTLIER_Z robust standard deviations (1.4826 × the
/// median absolute residual) pulled back to that distance.
fn without_outliers(fit: &Ols, y: &[f64]) -> Vec<f64> {
    let abs: Vec<f64> = fit.residuals.iter().map(|r| r.abs()).collect();
    let bound = OUTLIER_Z * 1.4826 * median(&abs);
    y.iter()
        .zip(&fit.residuals)
        .map(|(&v, &r)| match r.abs() > bound && bound > 0.0 {
            true => v - r + bound * r.signum(),
            false => v,
        })
        .collect()
}

/// Adds, one at a time, the pair of main-effect keys whose product best explains what the
/// model leaves, while its t statistic passes a Bonferroni bound over all pairs.
fn add_pairs(model: &mut Model, x: &[Vec<f64>], y: &[f64]) -> Result<()> {
    let m = model.mains.len();
    let z = z_bonferroni(FLOOR_ALPHA, (m * m.saturating_sub(1) / 2).max(1));
    for _ in 0..MAX_PAIRS {
        let fit = model.fit(x, y)?;
        let sigma = (fit.residuals.iter().map(|e| e * e).sum::<f64>() / fit.dof as f64).sqrt();
        let mut best: Option<((usize, usize), f64)> = None;
        for (ia, &a) in model.mains.iter().enumerate() {
            for &b in &model.mains[ia + 1..] {
                if model.pairs.contains(&(a, b)) {
                    continue;
                }
                let t = pair_t(x, &fit.residuals, a, b, sigma).abs();
                if best.is_none_or(|(_, bt)| t > bt) {
                    best = Some(((a, b), t));
                }
            }
        }
        match best {
            Some((pair, t)) if t > z => model.pairs.push(pair),
            _ => break,
        }
    }
    Ok(())
}

/// The t statistic of the residuals' slope on the centred product of keys a and b.
fn pair_t(x: &[Vec<f64>], resid: &[f64], a: usize, b: usize, sigma: f64) -> f64 {
    let prod: Vec<f64> = x.iter().map(|r| r[a] * r[b]).collect();
    let mean = prod.iter().sum::<f64>() / prod.len() as f64;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (p, e) in prod.iter().zip(resid) {
        sxy += (p - mean) * e;
        sxx += (p - mean) * (p - mean);
    }
    if sxx <= 0.0 || sigma <= 0.0 {
        return 0.0;
    }
    (sxy / sxx) / (sigma / sxx.sqrt())
}

/// Per free key: its effect (twice its main coefficient, or its largest pair's, on the ln
/// scale), the effect's standard error, its share of the scores' variance (main effect;
/// with its pairs), and whether its t statistic passes the Bonferroni bound over the keys
/// with an effect of at least MIN_EFFECT.
fn read(model: &Model, fit: &Ols, y: &[f64], free: &[usize], judged: Vec<bool>) -> Analysis {
    let k = free.len();
    let z = z_bonferroni(FLOOR_ALPHA, k);
    let n = y.len() as f64;
    let ybar = y.iter().sum::<f64>() / n;
    let var = (y.iter().map(|v| (v - ybar).powi(2)).sum::<f64>() / n).max(f64::MIN_POSITIVE);
    let mut a = Analysis {
        free: free.to_vec(),
        effect: vec![0.0; k],
        robust: vec![0.0; k],
        sd: vec![0.0; k],
        total_index: vec![0.0; k],
        first_index: vec![0.0; k],
        judged,
        selected: vec![false; k],
        floor_of: vec![MIN_EFFECT; k],
        floor: MIN_EFFECT,
    };
    let m = model.mains.len();
    for (c, &j) in model.mains.iter().enumerate() {
        a.effect[j] = 2.0 * fit.coef[c].abs();
        a.sd[j] = 2.0 * fit.se[c];
        a.first_index[j] = fit.coef[c].powi(2) / var;
        a.total_index[j] = a.first_index[j];
        a.floor_of[j] = (z * a.sd[j]).max(MIN_EFFECT);
        a.selected[j] = a.judged[j] && fit.t(c).abs() > z && a.effect[j] > MIN_EFFECT;
    }
    for (p, &(i, j)) in model.pairs.iter().enumerate() {
        let c = m + p;
        let effect = 2.0 * fit.coef[c].abs();
        for key in [i, j] {
            a.total_index[key] += fit.coef[c].powi(2) / var;
            if a.judged[key] && effect > a.effect[key] && effect > MIN_EFFECT {
                // The pair passed its own bound (over all pairs) when it was added.
                a.effect[key] = effect;
                a.sd[key] = 2.0 * fit.se[c];
                a.floor_of[key] = MIN_EFFECT;
                a.selected[key] = true;
            }
        }
    }
    for j in 0..k {
        if a.judged[j] {
            a.robust[j] = a.effect[j];
        }
    }
    a.floor = a.floor_of.iter().copied().fold(MIN_EFFECT, f64::max);
    a
}
