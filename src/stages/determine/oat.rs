//! The one-at-a-time design (the paper's "single variable" experiments) and its effects:
//! each parameter swept over its levels with the others at a base, around the reference
//! configuration and around random configurations that ran, since Flink's effects interact.
//! Importance = the largest |score(level) − score(base)| over bases and levels that ran.

use crate::stages::determine::measure::{Measured, Runner};
use crate::stages::determine::select::{
    FLOOR_ALPHA, MIN_EFFECT, MethodResult, perf_share, z_bonferroni,
};
use crate::stages::determine::summary::EffectRow;
use anyhow::{Result, bail};
use flink::space::{Config, Kind, Param, Space, Value};
use opt::stats::{mean, std_dev};
use rand::RngExt;
use rand::rngs::StdRng;

/// Random bases of the one-at-a-time sweep besides the reference, and the levels swept at
/// each: many bases with the two extremes of a numeric parameter (every choice of a bool
/// or enum) find more interactions for the runs than a few bases with every level, as
/// Flink's effects are mostly monotone between the extremes but show only in some places.
pub(super) const OAT_RANDOM_BASES: usize = 6;

/// The reference of the one-at-a-time sweep: Flink's default, with parameters that
/// replace a base key set to the value Flink derives (see the module documentation).
pub fn reference_config(space: &Space) -> Config {
    space
        .params
        .iter()
        .map(|p| {
            if p.replaces.is_empty() {
                p.default.clone()
            } else {
                Some(p.effective_default())
            }
        })
        .collect()
}

/// The values a parameter takes in the one-at-a-time sweep: `levels` points evenly
/// spread on its unit scale, distinct; every choice of a bool or enum.
pub fn sweep_values(p: &Param, levels: usize) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    match p.kind {
        Kind::Bool => return vec![Value::Bool(false), Value::Bool(true)],
        Kind::Enum => return p.values.iter().map(|v| Value::Str(v.clone())).collect(),
        Kind::Int | Kind::Float => {
            for j in 0..levels {
                let v = p.from_unit(j as f64 / (levels - 1).max(1) as f64);
                if !out.contains(&v) {
                    out.push(v);
                }
            }
        }
    }
    out
}

/// What the one-at-a-time sweep measured.
pub(super) struct OatRuns {
    /// The bases that ran, the reference first, each measured as often as the reference.
    pub(super) bases: Vec<(Config, Measured)>,
    /// Per base, per parameter: the levels run (index into the parameter's sweep values)
    /// and their measurements.
    pub(super) levels: Vec<Vec<Vec<(usize, Measured)>>>,
}

/// Runs the sweep. One at a time around several bases: Flink's effects interact (heap sizes
/// matter only when the heap is tight, the checkpoint interval only with a slow checkpoint),
/// so a sweep around the default alone misses keys that matter elsewhere. The bases are the
/// reference and random configurations that ran (drawn from `rng`), each measured
/// `noise_runs` times like the reference so that all of them estimate the noise; random
/// bases that failed go to `spent`.
pub(super) fn measure(
    runner: &mut Runner<'_>,
    values: &[Vec<Value>],
    reference: &Config,
    ref_m: &Measured,
    noise_runs: u64,
    spent: &mut Vec<Measured>,
    rng: &mut StdRng,
) -> Result<OatRuns> {
    if ref_m.score.is_none() {
        bail!(
            "Flink's default configuration (the one-at-a-time reference) fails at {} \
             records/s: {}; the one-at-a-time sweep needs a reference that runs — use \
             method = \"morris\" or \"forest\", a lower rate, or a base_conf that runs",
            runner.rate,
            ref_m.reason
        );
    }
    let study = runner.study;
    let space = &study.space;
    let k = space.len();
    let mut bases = vec![(reference.clone(), ref_m.clone())];
    for b in 1..1 + OAT_RANDOM_BASES {
        let found = runner.runnable(&format!("base{b}"), noise_runs, spent, || {
            let u: Vec<f64> = (0..k).map(|_| rng.random::<f64>()).collect();
            ((), space.from_unit(&u))
        })?;
        if let Some(((), c, m)) = found {
            bases.push((c, m));
        }
    }
    let mut levels = Vec::with_capacity(bases.len());
    for (b, (base, _)) in bases.iter().enumerate() {
        levels.push(sweep(runner, b, base, values)?);
    }
    Ok(OatRuns { bases, levels })
}

/// Every parameter swept around base `b` (0: the reference): per parameter, the levels run
/// and their measurements.
fn sweep(
    runner: &mut Runner<'_>,
    b: usize,
    base: &Config,
    values: &[Vec<Value>],
) -> Result<Vec<Vec<(usize, Measured)>>> {
    let study = runner.study;
    let space = &study.space;
    let repeats = study.file.determine.repeats;
    let mut per_param = Vec::with_capacity(values.len());
    for (i, values) in values.iter().enumerate() {
        let mut row = Vec::new();
        for (j, v) in values.iter().enumerate() {
            // At a random base only the extremes of a numeric parameter.
            let extreme = j == 0 || j + 1 == values.len();
            let numeric = matches!(space.params[i].kind, Kind::Int | Kind::Float);
            if b > 0 && numeric && !extreme {
                continue;
            }
            // The base's own value: the same configuration, nothing to learn.
            if base[i].as_ref() == Some(v) {
                continue;
            }
            let mut c = base.clone();
            c[i] = Some(v.clone());
            let id = if b == 0 {
                format!("oat-p{i:02}-l{j}")
            } else {
                format!("oat-b{b}-p{i:02}-l{j}")
            };
            row.push((j, runner.measure(&id, &c, repeats)?));
        }
        per_param.push(row);
    }
    Ok(per_param)
}

/// The sweep's effects: fills the rows' OAT columns and returns the method's result and its
/// noise floor. `repeats` is how many runs a score takes (bases are compared on as many),
/// `fail_score` what a level that could not run counts as in the "with failures" column,
/// `noise_sd` the noise of one score.
pub(super) fn effects(
    runs: &OatRuns,
    values: &[Vec<Value>],
    repeats: u64,
    fail_score: f64,
    noise_sd: f64,
    rows: &mut [EffectRow],
) -> (MethodResult, f64) {
    let k = rows.len();
    let base_scores: Vec<f64> = runs
        .bases
        .iter()
        .map(|(_, m)| m.first_repeats(repeats).unwrap_or(fail_score))
        .collect();
    let mut importance = Vec::with_capacity(k);
    let mut comparisons = 0usize;
    for (i, row) in rows.iter_mut().enumerate() {
        let (running, compared) = param_effect(runs, i, &base_scores, &values[i], fail_score, row);
        comparisons += compared;
        importance.push(running);
    }
    // The importance is the largest of all of a parameter's differences of two medians
    // (each of noise noise_sd) over bases and levels: noise alone stays below z·√2·σ in
    // all `comparisons` of all parameters but with probability FLOOR_ALPHA.
    let floor = (z_bonferroni(FLOOR_ALPHA, comparisons) * std::f64::consts::SQRT_2 * noise_sd)
        .max(MIN_EFFECT);
    let result = MethodResult {
        share: importance.iter().map(|&v| perf_share(v)).collect(),
        floor: vec![floor; k],
        importance,
    };
    (result, floor)
}

/// Parameter `i`'s effects over all bases, written to its row; returns its importance (the
/// largest change among levels that ran) and how many level-to-base comparisons it took.
fn param_effect(
    runs: &OatRuns,
    i: usize,
    base_scores: &[f64],
    values: &[Value],
    fail_score: f64,
    row: &mut EffectRow,
) -> (f64, usize) {
    let score = |m: &Measured| m.score_or(fail_score);
    let (mut running, mut with_failures, mut failed) = (0.0_f64, 0.0_f64, 0usize);
    let mut comparisons = 0usize;
    let mut spreads = Vec::new();
    for (b, per_param) in runs.levels.iter().enumerate() {
        let ms = &per_param[i];
        let r = base_scores[b];
        for (_, m) in ms {
            with_failures = with_failures.max((score(m) - r).abs());
            match m.score {
                Some(s) => {
                    running = running.max((s - r).abs());
                    comparisons += 1;
                }
                None => failed += 1,
            }
        }
        let mut all: Vec<f64> = ms.iter().map(|(_, m)| score(m)).collect();
        all.push(r);
        spreads.push(std_dev(&all));
        if b == 0 {
            let at_ref = ms
                .iter()
                .filter_map(|(_, m)| m.score)
                .fold(0.0_f64, |a, s| a.max((s - r).abs()));
            let best = ms.iter().max_by(|a, b| score(&a.1).total_cmp(&score(&b.1)));
            row.oat_effect_reference = Some(at_ref);
            row.oat_best_value = best.map(|(j, _)| values[*j].to_string());
            row.oat_best_change = best.map(|(_, m)| score(m) - r);
        }
    }
    row.oat_effect = Some(running);
    row.oat_effect_with_failures = Some(with_failures);
    row.oat_spread = Some(mean(&spreads));
    row.oat_failed_levels = Some(failed);
    (running, comparisons)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sweeps_cover_each_kind() {
        let text = include_str!("../../../configs/flink-1.11-candidates.toml");
        let (_, space) = Space::from_catalogue_text(text, "candidates").unwrap();
        let p = &space.params[space.index_of("parallelism.default").unwrap()];
        let v = sweep_values(p, 5);
        assert_eq!(v.first(), Some(&Value::Int(1)));
        assert_eq!(v.last(), Some(&Value::Int(200)));
        assert_eq!(v.len(), 5);
        let b = &space.params[space.index_of("pipeline.object-reuse").unwrap()];
        assert_eq!(sweep_values(b, 5).len(), 2);
        let e = &space.params[space.index_of("state.backend").unwrap()];
        assert_eq!(sweep_values(e, 5).len(), 3);
        let r = reference_config(&space);
        let flink = space.index_of("taskmanager.memory.flink.size").unwrap();
        assert_eq!(r[flink], Some(Value::Int(1280)));
        assert_eq!(
            r[space.index_of("parallelism.default").unwrap()],
            Some(Value::Int(1))
        );
    }
}
