//! The forest method: permutation importance of a random forest fitted on configurations
//! that ran — half a Latin hypercube, half random configurations a forest fitted on the
//! first half's ran / failed predicts to run (all pre-checked) — by k-fold
//! cross-validation, with random probe features for the noise floor.

use crate::stages::determine::definitive;
use crate::stages::determine::measure::{Measured, PRECHECK_DRAWS, Runner, passes_precheck};
use crate::stages::determine::select::{FLOOR_ALPHA, MethodResult, perf_share, z_bonferroni};
use crate::stages::determine::summary::EffectRow;
use crate::study::Study;
use crate::study::seed::{Purpose, derive};
use anyhow::{Result, bail};
use flink::space::sample_configs;
use flink::space::{Config, Space, Value};
use ndarray::Array2;
use opt::stats::{mean, std_dev};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use smartcore::ensemble::random_forest_regressor::{
    RandomForestRegressor, RandomForestRegressorParameters,
};
use smartcore::linalg::basic::matrix::DenseMatrix;

const FOREST_TREES: usize = 100;
const FOREST_FOLDS: usize = 5;
const PERMUTATIONS: usize = 5;
const PROBES: usize = 10;
/// Random pre-checked configurations the forest's run/fail predictor looks at per sample
/// of the design's second half.
const FEASIBILITY_DRAWS: usize = 50;
/// The low level of a two-level design on a key's unit scale (the high one is 1 minus it):
/// inside the range, since with every key at an end of its range at once most
/// configurations break Flink's memory rules or the cluster's slots.
const TWO_LEVEL_LOW: f64 = 0.2;

/// What the forest's design measured: its configurations and their measurements, in order.
/// The design is shared with the sobol method, which reads it through a GP instead.
pub(super) struct ForestRuns {
    pub(super) configs: Vec<Config>,
    /// How many of them, first, are the Latin hypercube half (with pre-check replacements).
    pub(super) lhs: usize,
    pub(super) measured: Vec<Measured>,
}

/// A space-filling design to run: how many configurations, their ids' tag, a salt for its
/// random streams (0: the forest's own), and keys held at fixed values.
pub(super) struct Design<'d> {
    pub(super) samples: usize,
    pub(super) tag: &'d str,
    pub(super) salt: u64,
    pub(super) fixed: &'d [(usize, Value)],
    pub(super) opening: Opening,
}

/// How a design's first half is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Opening {
    /// A Latin hypercube: every key anywhere in its range.
    Spread,
    /// A two-level screening design: every key at one end of its range, in foldover pairs.
    TwoLevel,
    /// The two-level design opened by a definitive screening design's runnable rows
    /// (`definitive`), however many pass, in place of its foldover pairs.
    Definitive,
}

/// Runs a design of `samples` configurations: Latin hypercube configurations that pass the
/// pre-check; then, with half of them measured, a forest fitted on ran / failed predicts
/// which of further random pre-checked configurations would run, and only those likely to
/// run are spent. The design's fixed keys are set before the pre-check.
pub(super) fn measure(runner: &mut Runner<'_>, design: &Design<'_>) -> Result<ForestRuns> {
    let study = runner.study;
    let repeats = study.file.determine.repeats;
    let (samples, tag) = (design.samples, design.tag);
    let first = samples.div_ceil(2);
    let fix = |c: Config| with_held(design.fixed, c);
    let seed = study.file.seed ^ design.salt;
    let mut srng = StdRng::seed_from_u64(derive(seed, Purpose::Screening));
    let levels =
        (design.opening != Opening::Spread).then(|| runnable_levels(study, &mut srng, &fix));
    let configs = match (design.opening, &levels) {
        (Opening::Definitive, Some(l)) => definitive_rows(study, samples, &mut srng, l, &fix),
        (_, Some(l)) => foldover_pairs(study, first, &mut srng, l, &fix),
        (_, None) => first_half(study, first, seed, &mut srng, &fix),
    };
    // The definitive design's rows take the first half's place, however many passed.
    let first = if design.opening == Opening::Definitive {
        configs.len()
    } else {
        first
    };
    let ids = |from: usize, n: usize| (from..from + n).map(|i| format!("{tag}-{i:04}"));
    let items: Vec<(String, Config)> = ids(0, first).zip(configs.iter().cloned()).collect();
    let mut runs = ForestRuns {
        measured: runner.measure_all(&items, repeats)?,
        lhs: configs.len(),
        configs,
    };
    let ran: Vec<f64> = runs
        .measured
        .iter()
        .map(|m| if m.score.is_some() { 1.0 } else { 0.0 })
        .collect();
    let feasibility = runs_predictor(&study.space, &runs.configs, &ran, seed)?;
    let mut second = Vec::new();
    for _ in first..samples {
        let draw: Draw<'_> = (levels.as_deref(), &fix);
        let Some(c) = likely_runnable(study, &mut srng, feasibility.as_ref(), draw) else {
            break;
        };
        second.push(c);
    }
    let items: Vec<(String, Config)> = ids(first, second.len())
        .zip(second.iter().cloned())
        .collect();
    runs.measured.extend(runner.measure_all(&items, repeats)?);
    runs.configs.extend(second);
    Ok(runs)
}

/// The design's first half: a Latin hypercube (seeded from `seed`), each point that fails
/// the pre-check replaced by a random one that passes (kept when none does).
fn first_half(
    study: &Study,
    first: usize,
    seed: u64,
    srng: &mut StdRng,
    fix: &dyn Fn(Config) -> Config,
) -> Vec<Config> {
    sample_configs(&study.space, first, derive(seed, Purpose::ScreeningSample))
        .into_iter()
        .map(|c| {
            let c = fix(c);
            if passes_precheck(study, &c) {
                c
            } else {
                random_runnable(study, srng, (None, fix)).unwrap_or(c)
            }
        })
        .collect()
}

/// How a random configuration is drawn: whether at the ends of the keys' ranges only
/// (two-level), and the keys the design holds.
type Draw<'f> = (Option<&'f [(f64, f64)]>, &'f dyn Fn(Config) -> Config);

/// A random point of the unit cube, or with `levels`, each key at one of its two levels.
fn unit_point(rng: &mut StdRng, k: usize, levels: Option<&[(f64, f64)]>) -> Vec<f64> {
    (0..k)
        .map(|i| match levels {
            Some(l) if rng.random::<bool>() => l[i].1,
            Some(l) => l[i].0,
            None => rng.random::<f64>(),
        })
        .collect()
}

/// Each key's two levels on its unit scale: for a number, the TWO_LEVEL_LOW and 1 −
/// TWO_LEVEL_LOW quantiles of its values among random configurations that pass the
/// pre-check (the runnable region: with the parallelism at 80% of its range most
/// configurations need more slots than the cluster has); for a bool or an enum, its ends.
fn runnable_levels(
    study: &Study,
    rng: &mut StdRng,
    fix: &dyn Fn(Config) -> Config,
) -> Vec<(f64, f64)> {
    let k = study.space.len();
    let mut cols: Vec<Vec<f64>> = vec![Vec::new(); k];
    for _ in 0..PRECHECK_DRAWS {
        let u = unit_point(rng, k, None);
        if passes_precheck(study, &fix(study.space.from_unit(&u))) {
            for (col, v) in cols.iter_mut().zip(&u) {
                col.push(*v);
            }
        }
    }
    let ends = (TWO_LEVEL_LOW, 1.0 - TWO_LEVEL_LOW);
    let quantile = |col: &[f64], q: f64| col[((col.len() - 1) as f64 * q).round() as usize];
    study
        .space
        .params
        .iter()
        .zip(cols.iter_mut())
        .map(|(p, col)| match p.kind {
            flink::space::Kind::Int | flink::space::Kind::Float if col.len() >= 10 => {
                col.sort_by(f64::total_cmp);
                (quantile(col, ends.0), quantile(col, ends.1))
            }
            _ => ends,
        })
        .collect()
}

/// `c` with the keys `fixed` at their held values.
fn with_held(fixed: &[(usize, Value)], mut c: Config) -> Config {
    for (i, v) in fixed {
        c[*i] = Some(v.clone());
    }
    c
}

/// Whether some random configuration with the keys `fixed` held passes the pre-check: the
/// values a first phase picks for several keys can together leave no runnable
/// configuration (a parallelism above what the held slots give), and a phase drawn under
/// them would run nothing.
pub(super) fn holdable(study: &Study, fixed: &[(usize, Value)]) -> bool {
    let mut rng = StdRng::seed_from_u64(derive(study.file.seed, Purpose::Screening));
    let fix = |c: Config| with_held(fixed, c);
    random_runnable(study, &mut rng, (None, &fix)).is_some()
}

/// A random configuration that passes the pre-check (None after PRECHECK_DRAWS draws).
fn random_runnable(study: &Study, rng: &mut StdRng, (levels, fix): Draw<'_>) -> Option<Config> {
    let k = study.space.len();
    (0..PRECHECK_DRAWS)
        .map(|_| fix(study.space.from_unit(&unit_point(rng, k, levels))))
        .find(|c| passes_precheck(study, c))
}

/// A two-level design of `n` configurations that pass the pre-check, in foldover pairs: a
/// random corner of the cube and its mirror (every key at its other end), so that in the
/// pairs every key's main effect is free of all two-key interactions and of curvature. A
/// corner whose mirror the pre-check refuses is kept alone.
fn foldover_pairs(
    study: &Study,
    n: usize,
    rng: &mut StdRng,
    levels: &[(f64, f64)],
    fix: &dyn Fn(Config) -> Config,
) -> Vec<Config> {
    let k = study.space.len();
    let mut out = Vec::with_capacity(n);
    for _ in 0..n * PRECHECK_DRAWS {
        if out.len() >= n {
            break;
        }
        let u = unit_point(rng, k, Some(levels));
        let c = fix(study.space.from_unit(&u));
        if !passes_precheck(study, &c) {
            continue;
        }
        let mirror: Vec<f64> = u.iter().zip(levels).map(|(x, l)| l.0 + l.1 - x).collect();
        let m = fix(study.space.from_unit(&mirror));
        out.push(c);
        if out.len() < n && passes_precheck(study, &m) {
            out.push(m);
        }
    }
    out
}

/// The definitive screening design's rows that pass the pre-check (at most `samples`), as
/// configurations.
fn definitive_rows(
    study: &Study,
    samples: usize,
    rng: &mut StdRng,
    levels: &[(f64, f64)],
    fix: &dyn Fn(Config) -> Config,
) -> Vec<Config> {
    let config = |u: &[f64]| fix(study.space.from_unit(u));
    let passes = |u: &[f64]| passes_precheck(study, &config(u));
    let mut rows = definitive::runnable_rows(rng, levels, &passes);
    rows.truncate(samples);
    rows.iter().map(|u| config(u)).collect()
}

/// A configuration of the design's second half: the first of FEASIBILITY_DRAWS random
/// pre-checked ones the predictor gives at least even odds to run, else the first drawn.
fn likely_runnable(
    study: &Study,
    srng: &mut StdRng,
    feasibility: Option<&impl Fn(&Config) -> f64>,
    draw: Draw<'_>,
) -> Option<Config> {
    let mut chosen = None;
    for _ in 0..FEASIBILITY_DRAWS {
        let Some(c) = random_runnable(study, srng, draw) else {
            break;
        };
        let likely = feasibility.is_none_or(|f| f(&c) >= 0.5);
        if likely {
            chosen = Some(c);
            break;
        }
        chosen.get_or_insert(c);
    }
    chosen
}

/// A predictor of whether a configuration runs: a regression forest on 1 (ran) / 0 (failed)
/// over the configurations measured so far, its prediction the share of trees' votes. None
/// when all of them ran or all failed (nothing to learn; then nothing is filtered).
fn runs_predictor<'a>(
    space: &'a Space,
    configs: &[Config],
    ran: &[f64],
    seed: u64,
) -> Result<Option<impl Fn(&Config) -> f64 + 'a>> {
    if ran.iter().all(|&r| r == ran[0]) {
        return Ok(None);
    }
    let d = space.len();
    let mut x = Array2::<f64>::zeros((configs.len(), d));
    for (r, c) in configs.iter().enumerate() {
        for (j, v) in space.features(c).into_iter().enumerate() {
            x[[r, j]] = v;
        }
    }
    let params = RandomForestRegressorParameters::default()
        .with_n_trees(FOREST_TREES)
        .with_seed(derive(seed, Purpose::ScreeningForest));
    let forest = RandomForestRegressor::fit(&DenseMatrix::from_ndarray2(&x), &ran.to_vec(), params)
        .map_err(|e| anyhow::anyhow!("fitting the run/fail predictor failed: {e}"))?;
    Ok(Some(move |c: &Config| {
        let row = Array2::from_shape_vec((1, d), space.features(c)).ok();
        row.and_then(|r| forest.predict(&DenseMatrix::from_ndarray2(&r)).ok())
            .and_then(|p| p.first().copied())
            .unwrap_or(1.0)
    }))
}

/// The forest's effects over the configurations that ran: fills the rows' forest column and
/// returns the method's result and its noise floor (the probes'). Fails when fewer than
/// 2 × FOREST_FOLDS ran.
pub(super) fn effects(
    runs: &ForestRuns,
    space: &Space,
    seed: u64,
    rows: &mut [EffectRow],
) -> Result<(MethodResult, f64)> {
    let ran: Vec<usize> = (0..runs.measured.len())
        .filter(|&n| runs.measured[n].score.is_some())
        .collect();
    if ran.len() < 2 * FOREST_FOLDS {
        bail!(
            "only {} of the {} random configurations ran; the forest needs at least {} \
             (raise [determine] samples)",
            ran.len(),
            runs.measured.len(),
            2 * FOREST_FOLDS
        );
    }
    let configs: Vec<Config> = ran.iter().map(|&n| runs.configs[n].clone()).collect();
    let y: Vec<f64> = ran.iter().filter_map(|&n| runs.measured[n].score).collect();
    let (importance, probe, se) = permutation_importance(space, &configs, &y, seed)?;
    for (row, v) in rows.iter_mut().zip(&importance) {
        row.forest_importance = Some(*v);
    }
    let k = space.len();
    let result = MethodResult {
        // Permutation importance is a mean squared change of the score: its root is
        // on the ln scale.
        share: importance
            .iter()
            .map(|&v| perf_share(v.max(0.0).sqrt()))
            .collect(),
        // Above the probes' floor by z standard errors of its own estimate over the
        // folds: an inert key the forest split on by chance in one fold varies a lot.
        floor: se
            .iter()
            .map(|e| probe + z_bonferroni(2.0 * FLOOR_ALPHA, k) * e)
            .collect(),
        importance,
    };
    Ok((result, probe))
}

/// Permutation importance of each parameter (increase of the held-out mean squared error
/// when its column is shuffled) by k-fold cross-validation, and the largest importance of
/// the random probe features (the noise floor).
fn permutation_importance(
    space: &Space,
    configs: &[Config],
    y: &[f64],
    seed: u64,
) -> Result<(Vec<f64>, f64, Vec<f64>)> {
    let n = configs.len();
    let k = space.len();
    let d = k + PROBES;
    let mut rng = StdRng::seed_from_u64(derive(seed, Purpose::ScreeningImportance));
    let x = features_with_probes(space, configs, d, &mut rng);
    let mut idx: Vec<usize> = (0..n).collect();
    idx.shuffle(&mut rng);
    let folds = FOREST_FOLDS.min(n);
    let mut importance = vec![0.0; d];
    // Each fold's estimate, for the standard error of the mean over folds.
    let mut per_fold: Vec<Vec<f64>> = vec![Vec::new(); d];
    for f in 0..folds {
        let test: Vec<usize> = idx.iter().copied().skip(f).step_by(folds).collect();
        let train: Vec<usize> = idx.iter().copied().filter(|i| !test.contains(i)).collect();
        if train.is_empty() || test.is_empty() {
            continue;
        }
        let fold_seed = seed.wrapping_add(f as u64);
        let fold = fold_importance(&x, y, (&train, &test), fold_seed, &mut rng)?;
        for (j, v) in fold.into_iter().enumerate() {
            importance[j] += v / folds as f64;
            per_fold[j].push(v);
        }
    }
    // The floor: what a feature unrelated to the score reaches — the probes' mean plus z
    // of their SDs, z so that none of the k parameters would pass by chance but with
    // probability FLOOR_ALPHA (the largest of a few probes alone let inert keys through).
    let probes = &importance[k..];
    let probe = (mean(probes) + z_bonferroni(2.0 * FLOOR_ALPHA, k) * std_dev(probes))
        .max(probes.iter().copied().fold(0.0_f64, f64::max));
    importance.truncate(k);
    let se: Vec<f64> = per_fold[..k]
        .iter()
        .map(|f| std_dev(f) / (f.len().max(1) as f64).sqrt())
        .collect();
    Ok((importance, probe, se))
}

/// The design matrix: each configuration's features, then `d − k` random probe columns
/// (drawn row by row from `rng`).
fn features_with_probes(
    space: &Space,
    configs: &[Config],
    d: usize,
    rng: &mut StdRng,
) -> Array2<f64> {
    let k = space.len();
    let mut x = Array2::<f64>::zeros((configs.len(), d));
    for (r, c) in configs.iter().enumerate() {
        for (j, v) in space.features(c).into_iter().enumerate() {
            x[[r, j]] = v;
        }
        for j in k..d {
            x[[r, j]] = rng.random::<f64>();
        }
    }
    x
}

/// One fold: a forest fitted on the `train` rows, and per column of `x` the mean increase
/// of its mean squared error on the `test` rows over PERMUTATIONS shuffles of that column.
fn fold_importance(
    x: &Array2<f64>,
    y: &[f64],
    (train, test): (&[usize], &[usize]),
    seed: u64,
    rng: &mut StdRng,
) -> Result<Vec<f64>> {
    let d = x.ncols();
    let xt = x.select(ndarray::Axis(0), train);
    let yt: Vec<f64> = train.iter().map(|&i| y[i]).collect();
    let params = RandomForestRegressorParameters::default()
        .with_n_trees(FOREST_TREES)
        .with_m(d)
        .with_seed(seed);
    let forest = RandomForestRegressor::fit(&DenseMatrix::from_ndarray2(&xt), &yt, params)
        .map_err(|e| anyhow::anyhow!("fitting the screening forest failed: {e}"))?;
    let predict = |m: &Array2<f64>| -> Result<Vec<f64>> {
        forest
            .predict(&DenseMatrix::from_ndarray2(m))
            .map_err(|e| anyhow::anyhow!("prediction failed: {e}"))
    };
    let xs = x.select(ndarray::Axis(0), test);
    let ys: Vec<f64> = test.iter().map(|&i| y[i]).collect();
    let mse = |p: &[f64]| {
        mean(
            &p.iter()
                .zip(&ys)
                .map(|(a, b)| (a - b).powi(2))
                .collect::<Vec<_>>(),
        )
    };
    let base = mse(&predict(&xs)?);
    let mut out = Vec::with_capacity(d);
    for j in 0..d {
        let mut sum = 0.0;
        for _ in 0..PERMUTATIONS {
            let mut xp = xs.clone();
            let mut col: Vec<f64> = xp.column(j).to_vec();
            col.shuffle(rng);
            for (r, v) in col.into_iter().enumerate() {
                xp[[r, j]] = v;
            }
            sum += mse(&predict(&xp)?) - base;
        }
        out.push(sum / PERMUTATIONS as f64);
    }
    Ok(out)
}
