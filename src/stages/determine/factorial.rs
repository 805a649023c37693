//! The factorial method's reading of a two-level design: a Huber regression (least squares
//! with each residual's weight bounded, so a latency spike counts as one large residual, not
//! as an effect) of the score on every key's ±1 column (its main effect, low → high end of
//! its range, is twice the coefficient),
//! then a forward search for the pairs of keys that act together (in the groups method's
//! readings, first for the products of the strongest keys), each key judged by its t
//! statistic against a Bonferroni bound over the keys.
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
use crate::stages::determine::select::{FLOOR_ALPHA, GROUPS_ALPHA, MIN_EFFECT, t_bonferroni};
use crate::study::Study;
use anyhow::{Result, bail};
use opt::regression::{Ols, ols};
use opt::stats::median;

/// Huber's tuning constant, in robust standard deviations: residuals beyond it count with
/// a bounded weight (95% of least squares' efficiency under normal noise).
const HUBER_C: f64 = 1.345;
/// Iterations of the Huber fit (it settles in a few; the rest changes nothing).
const HUBER_ITERS: usize = 30;
/// At most this many pairs of keys acting together are added to the model.
const MAX_PAIRS: usize = 4;
/// The keys whose products may enter the design's rows as columns, and the bound their
/// slope passes (`add_strongest_products`): a screening bound (a product that explains
/// little costs a degree of freedom), not a selection.
const STRONGEST: usize = 3;
const PRODUCT_Z: f64 = 2.0;
/// A key is fitted when at least this many rows that ran have it at each level.
const MIN_LEVEL_ROWS: usize = 3;

/// The model's columns: main effects of the judged keys (positions in `free`), then pairs,
/// then x's columns from `blocks` on: one level per block of rows measured around one base
/// (0/1), and the strongest keys' products (`add_strongest_products`).
struct Model {
    mains: Vec<usize>,
    pairs: Vec<(usize, usize)>,
    blocks: usize,
}

impl Model {
    fn row(&self, x: &[f64]) -> Vec<f64> {
        self.mains
            .iter()
            .map(|&j| x[j])
            .chain(self.pairs.iter().map(|&(a, b)| x[a] * x[b]))
            .chain(x[self.blocks..].iter().copied())
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
/// first `design` rows (the two-level design's), its low level (where the design put it, or
/// where an int, a power of two, an enum or a bool rounds it to); a key that took one value
/// only there is 0 throughout. In the design's rows a value nearer the middle than a
/// quarter of the span is 0 (a definitive screening design's midpoint: coded by its side it
/// would read curvature as a main effect). Rows after the design's (moves to the ends of a
/// range, to inner levels) take the level of the side of the middle they are on.
fn levels(u: &[Vec<f64>], k: usize, design: usize) -> Vec<Vec<f64>> {
    let d = &u[..design.min(u.len())];
    let span: Vec<Option<(f64, f64)>> = (0..k)
        .map(|j| {
            let lo = d.iter().map(|r| r[j]).fold(f64::INFINITY, f64::min);
            let hi = d.iter().map(|r| r[j]).fold(f64::NEG_INFINITY, f64::max);
            (hi > lo).then_some((0.5 * (lo + hi), 0.25 * (hi - lo)))
        })
        .collect();
    u.iter()
        .enumerate()
        .map(|(i, r)| {
            r.iter()
                .zip(&span)
                .map(|(&v, s)| match s {
                    Some((m, q)) if i < design && (v - m).abs() < *q => 0.0,
                    Some((m, _)) if v > *m => 1.0,
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

/// Reads the configurations of `phases` that ran, over the keys `free`, as `reader` reads
/// a design. `Reader::Groups` is the groups method's first look: the keys it selects are
/// never moved again, so its verdict on them is final, and without the error scaling it
/// let an inert key through on 50 of 160 runs of the simulator (the design's misfit, the
/// dominant keys' interactions, widens the inert keys' t statistics as the groups' runs
/// do); with it, on 3.
pub(super) fn analyse(
    study: &Study,
    phases: &[&ForestRuns],
    free: &[usize],
    reader: Reader,
) -> Result<Analysis> {
    let (u, y, block) = ran_rows(study, phases, None, free)?;
    fit_design(&u, &y, free, &block, reader)
}

/// Runs beside a two-level design, measured in blocks around bases: `block[n]` is the
/// base of `runs`' n-th configuration.
pub(super) struct Blocked<'r> {
    pub(super) runs: &'r ForestRuns,
    pub(super) block: &'r [usize],
}

/// Reads the configurations of the two-level design's `phases` and of `extra` that ran.
/// An extra run's keys are coded by the side of the design's middle they are on, and each
/// of its blocks has a level of its own. Why the blocks: a base's runs share whatever of
/// the base the main effects do not explain (Flink's default, with its 100 ms buffer
/// timeout, is far from any linear model), and without its own level that shared misfit
/// lands on the keys whose values mark the base. Read as `Reader::Groups`: the main
/// effects' errors are scaled by their median |t| (`inflate`), since the runs of one base
/// share more than the noise.
pub(super) fn analyse_with(
    study: &Study,
    phases: &[&ForestRuns],
    extra: Blocked<'_>,
    free: &[usize],
) -> Result<Analysis> {
    let (u, y, block) = ran_rows(study, phases, Some(extra), free)?;
    fit_design(&u, &y, free, &block, Reader::Groups)
}

/// The rows that ran of `phases` and of `extra`: the keys `free` in unit values, the
/// scores, and each row's block (None: the two-level design's).
type Rows = (Vec<Vec<f64>>, Vec<f64>, Vec<Option<usize>>);

/// Collects [`Rows`]; too few that ran for a regression is an error naming the fix.
fn ran_rows(
    study: &Study,
    phases: &[&ForestRuns],
    extra: Option<Blocked<'_>>,
    free: &[usize],
) -> Result<Rows> {
    let space = &study.space;
    let (mut u, mut y, mut total) = (Vec::new(), Vec::new(), 0);
    let mut block: Vec<Option<usize>> = Vec::new();
    let rows = phases
        .iter()
        .flat_map(|r| r.configs.iter().zip(&r.measured).map(|cm| (cm, None)));
    let more = extra.iter().flat_map(|e| {
        let cm = e.runs.configs.iter().zip(&e.runs.measured);
        cm.zip(e.block.iter().map(|&b| Some(b)))
    });
    for ((c, m), b) in rows.chain(more) {
        total += 1;
        if let Some(score) = m.score {
            let unit = space.to_unit(c);
            u.push(free.iter().map(|&i| unit[i]).collect::<Vec<f64>>());
            y.push(score);
            block.push(b);
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
    Ok((u, y, block))
}

/// How a design's rows are read.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Reader {
    /// The factorial method's: main effects, and the pairs that pass their bound.
    Factorial,
    /// The groups method's: the strongest keys' products that explain the design's rows
    /// too (`add_strongest_products`), and the main effects' errors scaled by their median
    /// |t| (`inflate`), which also guards against a product fitted to noise.
    Groups,
}

impl Reader {
    /// The family-wise rate at which a reading's bound lets an inert key through.
    fn alpha(self) -> f64 {
        match self {
            Reader::Factorial => FLOOR_ALPHA,
            Reader::Groups => GROUPS_ALPHA,
        }
    }
}

/// Reads the rows that ran (unit values of the keys `free`, and their scores); rows with a
/// `block` are not the two-level design's, and each block has a level of its own.
fn fit_design(
    u: &[Vec<f64>],
    y: &[f64],
    free: &[usize],
    block: &[Option<usize>],
    reader: Reader,
) -> Result<Analysis> {
    let k = free.len();
    let design = block.iter().take_while(|b| b.is_none()).count();
    let mut x = levels(u, k, design);
    let blocks: Vec<usize> = {
        let mut b: Vec<usize> = block.iter().flatten().copied().collect();
        b.sort_unstable();
        b.dedup();
        b
    };
    for (row, b) in x.iter_mut().zip(block) {
        row.extend(blocks.iter().map(|c| f64::from(u8::from(Some(*c) == *b))));
    }
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
        blocks: k,
    };
    let (first, y_star) = huber(&model, &x, y)?;
    if reader == Reader::Groups {
        add_strongest_products(&model, &first, &mut x, &y_star, design)?;
    }
    add_pairs(&mut model, &x, &y_star)?;
    let (mut fit, y_star) = huber(&model, &x, y)?;
    if reader == Reader::Groups {
        inflate(&mut fit, model.mains.len());
    }
    let y = y_star;
    Ok(read(&model, &fit, &y, free, judged, reader.alpha()))
}

/// Adds to the design's rows (the first `design` of `x`) products of the STRONGEST keys
/// of largest |t| in `first` — a pair or the triple — one at a time, the product that best
/// explains what the model leaves while the residuals' slope on it passes PRODUCT_Z
/// standard errors; the other rows take 0 in its column.
///
/// Why: the strongest keys act by large factors and together (on the simulator the buffer
/// timeout, the segment size and the parallelism, by e² to e⁷), so the main effects leave
/// their interactions in the design's residuals, several times the noise, and the pair and
/// triple products are aliased with other keys' columns in the design's random half (a
/// triple in its foldover half too). Modelled, that misfit leaves the residuals and the
/// other keys' t statistics. Why 0 in the other rows: they are the groups' runs, and each
/// base's runs have a level of their own, which holds the products of keys the groups do
/// not move. Measured over 80 seeds of the simulator: recall 0.723 → 0.745 at 16 000 rec/s
/// and 0.737 → 0.748 at 80 000, precision unchanged (1.00); every product at once gained
/// as much or more (0.757, 0.748) but cost precision (0.99) and recall on synthetic
/// problems where the strongest keys do not act together, and the products of the four
/// strongest cost precision more (0.97).
/// Only in the groups' readings, whose inflated errors absorb a product fitted to noise: in
/// the factorial method's plain reading of a real-Flink design (32 runs, 8 keys; the test
/// fixture) they made the web UI's refresh interval, which a trial never reads, an effect
/// of 0.34 ± 0.09.
fn add_strongest_products(
    model: &Model,
    first: &Ols,
    x: &mut [Vec<f64>],
    y: &[f64],
    design: usize,
) -> Result<()> {
    let mut by_t: Vec<(usize, f64)> = (model.mains.iter().copied())
        .zip((0..model.mains.len()).map(|c| first.t(c).abs()))
        .collect();
    by_t.sort_by(|a, b| b.1.total_cmp(&a.1));
    let top: Vec<usize> = by_t.iter().take(STRONGEST).map(|&(j, _)| j).collect();
    let mut candidates: Vec<Vec<f64>> = (1u32..1 << top.len())
        .filter(|mask| mask.count_ones() >= 2)
        .map(|mask| {
            let keys: Vec<usize> = (0..top.len())
                .filter(|b| mask & (1 << b) != 0)
                .map(|b| top[b])
                .collect();
            let product = |(r, row): (usize, &Vec<f64>)| match r < design {
                true => keys.iter().map(|&j| row[j]).product(),
                false => 0.0,
            };
            x.iter().enumerate().map(product).collect()
        })
        .collect();
    candidates.extend(top.iter().filter_map(|&j| square(x, j, design)));
    while !candidates.is_empty() {
        let fit = model.fit(x, y)?;
        let sigma = residual_sd(&fit);
        let t = |c: &Vec<f64>| slope_t(c, &fit.residuals, sigma).abs();
        let (best, t_best) = (candidates.iter().map(t).enumerate())
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .expect("candidates is not empty");
        if t_best <= PRODUCT_Z {
            break;
        }
        let column = candidates.swap_remove(best);
        for (row, v) in x.iter_mut().zip(column) {
            row.push(v);
        }
    }
    Ok(())
}

/// Key j's square over the design's rows (0 elsewhere), when at least MIN_LEVEL_ROWS of
/// them have it at its midpoint (a definitive screening design's): its curvature, which a
/// strongest key's midpoint runs carry and no main effect explains.
fn square(x: &[Vec<f64>], j: usize, design: usize) -> Option<Vec<f64>> {
    let mids = x.iter().take(design).filter(|r| r[j] == 0.0).count();
    (mids >= MIN_LEVEL_ROWS).then(|| {
        (x.iter().enumerate())
            .map(|(r, row)| if r < design { row[j] * row[j] } else { 0.0 })
            .collect()
    })
}

/// Huber's M-estimate of the model, by iterated pseudo-observations: each score's residual
/// is clipped to ±HUBER_C robust standard deviations (1.4826 × the median absolute
/// residual) around the fit and the model refitted on the clipped scores, until the fit
/// settles. Returns the fit, its standard errors scaled to the M-estimate's asymptotic
/// ones (Huber's K / the share of unclipped residuals), and the clipped scores.
///
/// Why: real p99 latencies have spikes of 10–100× (a GC pause or a checkpoint in a 10 s
/// window). Least squares spreads one spike over every key that singles its configuration
/// out and inflates σ̂ for all of them; a one-step outlier cut measured on those smeared
/// residuals keeps most of the spike. The Huber fit gives a spike the weight of a residual
/// of HUBER_C σ, and its σ̂ is that of the bulk of the runs.
fn huber(model: &Model, x: &[Vec<f64>], y: &[f64]) -> Result<(Ols, Vec<f64>)> {
    let mut y_star = y.to_vec();
    let mut fit = model.fit(x, &y_star)?;
    let mut inside = 1.0;
    for _ in 0..HUBER_ITERS {
        let fitted: Vec<f64> = y_star
            .iter()
            .zip(&fit.residuals)
            .map(|(v, r)| v - r)
            .collect();
        let resid: Vec<f64> = y.iter().zip(&fitted).map(|(v, f)| v - f).collect();
        let bound = HUBER_C * 1.4826 * median(&resid.iter().map(|r| r.abs()).collect::<Vec<_>>());
        if bound <= 0.0 {
            break;
        }
        let next: Vec<f64> = fitted
            .iter()
            .zip(&resid)
            .map(|(f, r)| f + r.clamp(-bound, bound))
            .collect();
        inside = resid.iter().filter(|r| r.abs() <= bound).count() as f64 / y.len() as f64;
        let moved = next
            .iter()
            .zip(&y_star)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        y_star = next;
        fit = model.fit(x, &y_star)?;
        if moved < 1e-9 {
            break;
        }
    }
    // Var(β̂) ≈ K² · Σψ²/(n − p) / E[ψ']² · (XᵀX)⁻¹ (Huber 1981, 7.6), with ψ' the
    // indicator of an unclipped residual: the clipped fit's σ̂ is Σψ²/(n − p).
    let (n, p) = (y.len() as f64, (fit.coef.len() + 1) as f64);
    let m = inside.max(1.0 / n);
    let k = 1.0 + p / n * (1.0 - m) / m;
    let scale = k / m;
    for se in &mut fit.se {
        *se *= scale;
    }
    Ok((fit, y_star))
}

/// Scales the main effects' standard errors by the inflation of their t statistics (the
/// median |t| over the normal's, 0.6745, when above it). Why: most keys are inert, so
/// their t statistics are draws from the null, and the median's excess says how much the
/// errors understate the spread.
fn inflate(fit: &mut Ols, mains: usize) {
    let t: Vec<f64> = (0..mains).map(|c| fit.t(c).abs()).collect();
    let lambda = (median(&t) / 0.6745).max(1.0);
    for se in &mut fit.se[..mains] {
        *se *= lambda;
    }
}

/// Adds, one at a time, the pair of main-effect keys whose product best explains what the
/// model leaves, while its t statistic passes a Bonferroni bound over all pairs.
fn add_pairs(model: &mut Model, x: &[Vec<f64>], y: &[f64]) -> Result<()> {
    let m = model.mains.len();
    let pairs = (m * m.saturating_sub(1) / 2).max(1);
    for _ in 0..MAX_PAIRS {
        let fit = model.fit(x, y)?;
        let z = t_bonferroni(FLOOR_ALPHA, pairs, fit.dof);
        let sigma = residual_sd(&fit);
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
    slope_t(&prod, resid, sigma)
}

/// The t statistic of the residuals' slope on a centred column, given the residuals' sd.
fn slope_t(column: &[f64], resid: &[f64], sigma: f64) -> f64 {
    let mean = column.iter().sum::<f64>() / column.len() as f64;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (p, e) in column.iter().zip(resid) {
        sxy += (p - mean) * e;
        sxx += (p - mean) * (p - mean);
    }
    if sxx <= 0.0 || sigma <= 0.0 {
        return 0.0;
    }
    (sxy / sxx) / (sigma / sxx.sqrt())
}

/// The residuals' standard deviation, on the fit's degrees of freedom.
fn residual_sd(fit: &Ols) -> f64 {
    (fit.residuals.iter().map(|e| e * e).sum::<f64>() / fit.dof as f64).sqrt()
}

/// Per free key: its effect (twice its main coefficient, or its largest pair's, on the ln
/// scale), the effect's standard error, its share of the scores' variance (main effect;
/// with its pairs), and whether its t statistic passes the Bonferroni bound at family-wise
/// rate `alpha` over the keys with an effect of at least MIN_EFFECT.
fn read(
    model: &Model,
    fit: &Ols,
    y: &[f64],
    free: &[usize],
    judged: Vec<bool>,
    alpha: f64,
) -> Analysis {
    let k = free.len();
    let z = t_bonferroni(alpha, k, fit.dof);
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Real trials: a two-level screening of 8 keys on a local Flink 1.20 cluster (the
    /// wordcount job at 20 000 rec/s, 10 s windows; `examples/flink-local-screening` run once
    /// per configuration on a loaded machine), 32 configurations of which 28 ran, with p99
    /// spikes of 10–100× (719, 1117, 1205 ms).
    const REAL: &str = include_str!("../../../tests/fixtures/flink-local-screening-trials.csv");

    /// The fixture's keys, and per configuration that ran its values and −ln p99.
    fn real_trials() -> (Vec<String>, Vec<Vec<f64>>, Vec<f64>) {
        let mut lines = REAL.lines();
        let header: Vec<&str> = lines.next().unwrap().split(',').collect();
        let keys: Vec<String> = header[1..header.len() - 2]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let (mut u, mut y) = (Vec::new(), Vec::new());
        for line in lines {
            let f: Vec<&str> = line.split(',').collect();
            if f[f.len() - 2] != "pass" {
                continue;
            }
            u.push(
                f[1..f.len() - 2]
                    .iter()
                    .map(|v| v.parse().unwrap())
                    .collect(),
            );
            y.push(-f[f.len() - 1].parse::<f64>().unwrap().ln());
        }
        (keys, u, y)
    }

    #[test]
    fn real_flink_spikes_select_no_inert_key_and_keep_the_buffer_timeout_first() {
        let (keys, u, y) = real_trials();
        assert_eq!(u.len(), 28);
        let k = keys.len();
        let free: Vec<usize> = (0..k).collect();
        let a = fit_design(&u, &y, &free, &vec![None; u.len()], Reader::Factorial).unwrap();
        let at = |name: &str| keys.iter().position(|key| key == name).unwrap();
        // The two keys a 10 s trial does not read are never selected, spikes or not.
        assert!(!a.selected[at("blob.fetch.backlog")]);
        assert!(!a.selected[at("web.refresh-interval")]);
        // Of the main effects, the buffer timeout's stands out most from the noise, in
        // the right direction (a longer timeout, a higher p99: a lower score).
        let x = levels(&u, k, u.len());
        let model = Model {
            mains: free.clone(),
            pairs: Vec::new(),
            blocks: k,
        };
        let (fit, _) = huber(&model, &x, &y).unwrap();
        let bt = at("execution.buffer-timeout");
        assert!(fit.coef[bt] < 0.0);
        assert!((0..k).all(|j| j == bt || fit.t(j).abs() < fit.t(bt).abs()));
    }

    /// Real trials on a quiet machine: the same 8 keys and job, 32 configurations run 3
    /// times each (`repeats = 3`, `budget = 96`), all of which ran; the median p99 of a
    /// configuration's runs ranges from 4.0 to 176 ms, and single runs spike up to 5.6×
    /// their configuration's median. Made from the stage's `determine/trials/*/config.json`
    /// and `result.json`, one row per configuration.
    const REAL_REPEATS: &str =
        include_str!("../../../tests/fixtures/flink-local-screening-repeats.csv");

    #[test]
    fn real_flink_medians_of_three_select_the_buffer_timeout_and_no_inert_key() {
        let mut lines = REAL_REPEATS.lines();
        let header: Vec<&str> = lines.next().unwrap().split(',').collect();
        let status = header.iter().position(|h| *h == "status").unwrap();
        let keys = &header[1..status];
        let (mut u, mut y) = (Vec::<Vec<f64>>::new(), Vec::new());
        for line in lines {
            let f: Vec<&str> = line.split(',').collect();
            assert_eq!(f[status], "pass");
            u.push(f[1..status].iter().map(|v| v.parse().unwrap()).collect());
            let p99: Vec<f64> = f[status + 1..].iter().map(|v| v.parse().unwrap()).collect();
            y.push(-opt::stats::median(&p99).ln());
        }
        assert_eq!(u.len(), 32);
        let free: Vec<usize> = (0..keys.len()).collect();
        let a = fit_design(&u, &y, &free, &vec![None; u.len()], Reader::Factorial).unwrap();
        let at = |name: &str| keys.iter().position(|key| *key == name).unwrap();
        assert!(a.selected[at("execution.buffer-timeout")]);
        // The two keys a 10 s trial does not read.
        assert!(!a.selected[at("blob.fetch.backlog")]);
        assert!(!a.selected[at("web.refresh-interval")]);
    }

    /// `rows` random two-level rows in `keys` keys (unit values 0 or 1), from a xorshift
    /// stream started at `state`.
    fn random_design(mut state: u64, rows: usize, keys: usize) -> Vec<Vec<f64>> {
        let mut bit = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            ((state >> 33) & 1) as f64
        };
        (0..rows)
            .map(|_| (0..keys).map(|_| bit()).collect())
            .collect()
    }

    /// A fixed, evenly spread noise of ±1% for row `r`.
    fn noise(r: usize) -> f64 {
        0.01 * (((r * 7919 + 13) % 101) as f64 / 50.0 - 1.0)
    }

    /// A unit value 0 / 1 as the level −1 / +1.
    fn pm(v: f64) -> f64 {
        2.0 * v - 1.0
    }

    /// The first look's reading (`Reader::Groups`): on a design whose dominant keys act together
    /// beyond pairs (a three-key product the model has no column for), the inert keys' t
    /// statistics spread wider than a normal's; the inflated reading widens every main
    /// effect's error by that excess, keeps the dominant keys and selects no key the plain
    /// reading does not.
    #[test]
    fn the_first_looks_errors_are_inflated_and_its_selection_only_narrows() {
        let u = random_design(0x2545_f491_4f6c_dd1d, 96, 24);
        let y: Vec<f64> = (u.iter().enumerate())
            .map(|(r, x)| {
                0.5 * pm(x[0])
                    + 0.8 * pm(x[1])
                    + 0.8 * pm(x[2])
                    + 0.6 * pm(x[1]) * pm(x[2]) * pm(x[3])
                    + noise(r)
            })
            .collect();
        let free: Vec<usize> = (0..24).collect();
        let none = vec![None; u.len()];
        let plain = fit_design(&u, &y, &free, &none, Reader::Factorial).unwrap();
        let inflated = fit_design(&u, &y, &free, &none, Reader::Groups).unwrap();
        // One factor for every main effect: the median |t|'s excess (1.18 here).
        assert!(
            plain.sd.iter().zip(&inflated.sd).all(|(p, i)| *i > 1.1 * p),
            "{:?} {:?}",
            plain.sd,
            inflated.sd
        );
        for k in 0..3 {
            assert!(inflated.selected[k], "key {k}: {:?}", inflated.selected);
        }
        for k in 0..24 {
            assert!(!inflated.selected[k] || plain.selected[k], "key {k}");
        }
    }

    #[test]
    fn the_strongest_keys_triple_joins_the_design_rows_and_a_weak_key_shows() {
        // 96 random two-level rows in 24 keys, then 8 runs around one base with key 5
        // moved. Keys 0–2 act strongly and together (a triple product of 0.5); key 5 by
        // 0.06 (an effect of 0.12); 1% noise.
        let mut u = random_design(0x9e37_79b9_7f4a_7c15, 96, 24);
        for n in 0..8 {
            let mut row = u[3].clone();
            row[5] = (n % 2) as f64;
            u.push(row);
        }
        let y: Vec<f64> = (u.iter().enumerate())
            .map(|(r, x)| {
                1.0 * pm(x[0])
                    + 0.8 * pm(x[1])
                    + 0.7 * pm(x[2])
                    + 0.5 * pm(x[0]) * pm(x[1]) * pm(x[2])
                    + 0.06 * pm(x[5])
                    + noise(r)
            })
            .collect();
        let block: Vec<Option<usize>> = (0..104).map(|r| (r >= 96).then_some(0)).collect();
        let mut x = levels(&u, 24, 96);
        for (row, b) in x.iter_mut().zip(&block) {
            row.push(f64::from(u8::from(b.is_some())));
        }
        let model = Model {
            mains: (0..24).collect(),
            pairs: Vec::new(),
            blocks: 24,
        };
        let (first, y_star) = huber(&model, &x, &y).unwrap();
        // The triple's misfit drowns key 5.
        assert!(first.t(5).abs() < 3.0, "{}", first.t(5));
        add_strongest_products(&model, &first, &mut x, &y_star, 96).unwrap();
        let triple = |r: &Vec<f64>| r[0] * r[1] * r[2];
        assert!(x[0].len() > 25, "no product added");
        let col = (25..x[0].len())
            .find(|&c| x[..96].iter().all(|r| r[c] == triple(r)))
            .expect("the triple's column");
        assert!(
            x[96..].iter().all(|r| r[col] == 0.0),
            "the base's rows take 0"
        );
        let (fit, _) = huber(&model, &x, &y).unwrap();
        assert!(fit.t(5).abs() > 5.0, "{}", fit.t(5));
        // Read end to end: the three strong keys and key 5, no other.
        let a = fit_design(&u, &y, &(0..24).collect::<Vec<_>>(), &block, Reader::Groups).unwrap();
        let selected: Vec<usize> = (0..24).filter(|&k| a.selected[k]).collect();
        assert_eq!(selected, [0, 1, 2, 5]);
    }

    /// A definitive design's midpoints as the pre-check leaves them: 96 random two-level rows
    /// in 24 keys, then 16 rows with key 0 at its midpoint (0.5), all with inert key 2 high
    /// (the rows that passed). Key 0 acts by 0.5 and bends: its midpoint scores 0.8 above
    /// the line between its ends; key 1 acts by 0.1; ±5% noise. The midpoints read as 0 and
    /// key 0's square joins the design's rows, so key 2 does not carry the bend (without the
    /// square: an effect of 0.032 ± 0.012, selected).
    #[test]
    fn a_strong_keys_midpoints_read_as_0_and_its_bend_as_its_square() {
        let mut u = random_design(0x5851_f42d_4c95_7f2d, 96, 24);
        for n in 0..16 {
            let mut row = u[n].clone();
            row[0] = 0.5;
            row[2] = 1.0;
            u.push(row);
        }
        let bent = |x: &[f64]| if x[0] == 0.5 { 0.8 } else { 0.5 * pm(x[0]) };
        let y: Vec<f64> = (u.iter().enumerate())
            .map(|(r, x)| bent(x) + 0.1 * pm(x[1]) + 5.0 * noise(r))
            .collect();
        let x = levels(&u, 24, 112);
        assert!(x[96..].iter().all(|r| r[0] == 0.0 && r[2] == 1.0));
        assert!(square(&x, 0, 112).is_some() && square(&x, 1, 112).is_none());
        let keys: Vec<usize> = (0..24).collect();
        let a = fit_design(&u, &y, &keys, &[None; 112], Reader::Groups).unwrap();
        let selected: Vec<usize> = (0..24).filter(|&k| a.selected[k]).collect();
        assert_eq!(selected, [0, 1]);
        assert!(
            a.effect[2].abs() < 2.0 * a.sd[2],
            "{} ± {}",
            a.effect[2],
            a.sd[2]
        );
        assert!((a.effect[0] - 1.0).abs() < 0.05, "{}", a.effect[0]);
    }

    /// A 32-run two-level design in 6 keys (key 0 acting by 0.3, 1% noise), then 24 runs
    /// around one base of the design: its runs, and key 0 or key 1 moved to its other level.
    /// Every run around the base sits 0.4 above what the main effects give (the base is
    /// far from the linear model). Returns the unit values, the scores and the blocks.
    fn design_and_base() -> (Vec<Vec<f64>>, Vec<f64>, Vec<Option<usize>>) {
        let mut u: Vec<Vec<f64>> = (0..32_usize)
            .map(|r| {
                (0..6)
                    .map(|b| (((r * [1, 3, 5, 7, 11, 13][b]) >> b) & 1) as f64)
                    .collect()
            })
            .collect();
        let base = u[5].clone();
        for n in 0..24 {
            let mut row = base.clone();
            if n % 3 > 0 {
                row[n % 3 - 1] = 1.0 - row[n % 3 - 1];
            }
            u.push(row);
        }
        let y: Vec<f64> = u
            .iter()
            .enumerate()
            .map(|(r, row)| 0.3 * row[0] + noise(r) + if r >= 32 { 0.4 } else { 0.0 })
            .collect();
        let block = (0..u.len()).map(|r| (r >= 32).then_some(0)).collect();
        (u, y, block)
    }

    #[test]
    fn a_base_level_of_its_own_keeps_a_base_misfit_off_the_keys_that_mark_it() {
        let (u, y, block) = design_and_base();
        let free: Vec<usize> = (0..6).collect();
        let blocked = fit_design(&u, &y, &free, &block, Reader::Groups).unwrap();
        assert_eq!(blocked.selected, [true, false, false, false, false, false]);
        assert!(
            (blocked.effect[0] - 0.3).abs() < 0.05,
            "{}",
            blocked.effect[0]
        );
        // Read as design rows, the base's misfit lands on the keys at its levels.
        let plain = fit_design(&u, &y, &free, &vec![None; u.len()], Reader::Factorial).unwrap();
        assert!(
            plain.selected[1..].iter().any(|&s| s),
            "{:?}",
            plain.selected
        );
    }

    #[test]
    fn the_errors_grow_by_the_inflation_of_the_median_t() {
        let mut fit = Ols {
            intercept: 0.0,
            coef: vec![0.2, 1.349, -1.349, 0.1349, 5.0],
            se: vec![1.0; 5],
            residuals: vec![],
            dof: 100,
        };
        // |t| of the four mains: 0.2, 1.349, 1.349, 0.1349 → median 0.7745; λ = 1.148.
        inflate(&mut fit, 4);
        let lambda = 0.7745 / 0.6745;
        assert!(
            fit.se[..4].iter().all(|se| (se - lambda).abs() < 1e-9),
            "{:?}",
            fit.se
        );
        assert_eq!(fit.se[4], 1.0);
        // Below the normal's median nothing shrinks.
        let mut calm = Ols {
            coef: vec![0.1; 4],
            se: vec![1.0; 4],
            ..fit
        };
        inflate(&mut calm, 4);
        assert_eq!(calm.se, vec![1.0; 4]);
    }

    #[test]
    fn the_groups_readings_select_an_effect_of_3_1_errors_the_factorial_one_does_not() {
        // 59 keys, one with t = 3.1 on 200 residual degrees of freedom: between the
        // Bonferroni bounds at 20% (2.95) and 5% (3.36).
        let k = 59;
        let mut coef = vec![0.0; k];
        coef[0] = 0.031;
        let fit = Ols {
            intercept: 0.0,
            coef,
            se: vec![0.01; k],
            residuals: vec![],
            dof: 200,
        };
        let model = Model {
            mains: (0..k).collect(),
            pairs: Vec::new(),
            blocks: k,
        };
        let free: Vec<usize> = (0..k).collect();
        let y: Vec<f64> = (0..300).map(|r| f64::from(r % 7)).collect();
        let read_at = |reader: Reader| read(&model, &fit, &y, &free, vec![true; k], reader.alpha());
        let (groups, factorial) = (read_at(Reader::Groups), read_at(Reader::Factorial));
        assert!(groups.selected[0] && !factorial.selected[0]);
        assert!(groups.floor_of[0] < 0.062 && factorial.floor_of[0] > 0.062);
        assert!(!groups.selected[1..].iter().any(|&s| s));
    }

    #[test]
    fn the_huber_fit_ignores_a_spike_least_squares_reads_as_an_effect() {
        // A 16-run two-level design in 4 keys (a full factorial), key 0 with an effect of
        // 0.5, 2% noise, and one run 100× slower (ln 100 ≈ 4.6) at key 3's high level.
        let mut u = Vec::new();
        let mut y = Vec::new();
        for r in 0..16_usize {
            let row: Vec<f64> = (0..4).map(|b| ((r >> b) & 1) as f64).collect();
            let noise = 0.02 * (((r * 7919) % 13) as f64 / 6.0 - 1.0);
            y.push(0.5 * row[0] + noise - if r == 9 { 4.6 } else { 0.0 });
            u.push(row);
        }
        let model = Model {
            mains: (0..4).collect(),
            pairs: Vec::new(),
            blocks: 4,
        };
        let x = levels(&u, 4, u.len());
        let ls = model.fit(&x, &y).unwrap();
        let (rob, _) = huber(&model, &x, &y).unwrap();
        // Least squares: key 3 looks like a 0.57 effect and key 0's t drowns.
        assert!(2.0 * ls.coef[3].abs() > 0.5 && ls.t(0).abs() < 3.0);
        // Huber: key 0's effect is back near 0.5, clearly significant; key 3 is not.
        assert!((2.0 * rob.coef[0] - 0.5).abs() < 0.1, "{}", rob.coef[0]);
        assert!(rob.t(0).abs() > 5.0 && rob.t(3).abs() < 3.0);
    }
}
