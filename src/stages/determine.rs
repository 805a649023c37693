//! The determine stage: screening experiments that find which parameters of a broad
//! catalogue matter, run through the study's adapter (the paper's "single variable"
//! experiments and two more), and the selected key parameters written as a catalogue.
//!
//! Every screening configuration runs `[determine] repeats` times at one rate (the search
//! rate unless `[determine] rate` says otherwise); its *score* is the median of the
//! repeats' log-scale objective (`objective::Objective::score`), so a one-off p99 outlier
//! does not make a parameter look important. Importance measures performance: effects are
//! taken between configurations that ran. A configuration that cannot run (fewer than half
//! its repeats pass, or Flink's memory rules refuse it before it runs) is counted apart
//! (failed levels / steps); the OAT table also shows the effect with such a level scored as
//! ten times worse than the worst configuration that ran.
//!
//! The methods (`[determine] method`):
//! - **oat** (one at a time, the paper's): a reference configuration — Flink's default,
//!   with the parameters that replace a base key (`*.memory.flink.size`) set to the value
//!   Flink derives, as generated configurations have them — and each parameter swept over
//!   `levels` values evenly spread on its scale with the others at the reference; then the
//!   same around 6 random configurations that ran (the extremes of numeric parameters),
//!   since Flink's effects interact. Importance = the largest |score(level) − score(base)|
//!   over bases and levels that ran.
//! - **morris**: elementary effects over `trajectories` one-factor-at-a-time paths through
//!   a 4-level grid of the unit cube (step Δ = 2/3), kept inside the runnable region: each
//!   starts at a grid point that ran; a step whose end cannot run (pre-check or run) is
//!   retried as a half step, else skipped with the path staying put. Importance = μ* (mean
//!   |EE|); σ of the EEs shows interactions and non-linearity.
//! - **forest**: permutation importance of a random forest fitted on `samples`
//!   configurations that ran — half a Latin hypercube, half random configurations a
//!   forest fitted on the first half's ran / failed predicts to run (all pre-checked) —
//!   by 5-fold cross-validation, with random probe features for the noise floor.
//! - **all**: the three; a parameter is selected when at least two select it, ranked by
//!   the mean of its importance relative to each method's top.
//!
//! Selection rule of one method: a parameter is selected when its importance is above the
//! method's noise floor and its perf share (1 − e^−effect) at least `threshold` × the top
//! parameter's, or, with `top_k`, when it is among the k most important above the floor.
//! The floors come from the reference and the OAT bases measured several times, with a
//! Bonferroni z so that noise passes for none of the parameters but with probability 5%.
//!
//! Artifacts (`determine/`): `selected.toml` (a catalogue of the selected parameters,
//! usable as a study's `catalogue`), `effects.csv`, `effects.svg`, `report.md`,
//! `trials.csv`, `trials/<trial>/` (adapter protocol directories), `summary.json`.

use crate::fsx::{self, StageDir};
use crate::report::plot;
use crate::stages::collect::{self, TrialRecord};
use crate::stages::generate::Generated;
use crate::study::{ScreeningMethod, Stage, Study};
use crate::trial::adapter::{self, Adapter};
use anyhow::{Context, Result, bail};
use flink::precheck;
use flink::space::sample_configs;
use flink::space::{Catalogue, Config, Kind, Param, Space, Value};
use ndarray::Array2;
use opt::stats::{mean, median, std_dev};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};
use smartcore::ensemble::random_forest_regressor::{
    RandomForestRegressor, RandomForestRegressorParameters,
};
use smartcore::linalg::basic::matrix::DenseMatrix;
use std::collections::BTreeMap;
use std::path::Path;

/// Morris grid levels and step.
const MORRIS_LEVELS: f64 = 4.0;
const MORRIS_DELTA: f64 = MORRIS_LEVELS / (2.0 * (MORRIS_LEVELS - 1.0));
/// A failing configuration scores this much (ln 10) below the worst that ran.
const FAIL_PENALTY: f64 = std::f64::consts::LN_10;
/// Runs of the reference configuration that measure the noise (at least).
const NOISE_RUNS: u64 = 6;
/// Smallest effect told apart from noise: 1% in perf.
const MIN_EFFECT: f64 = 0.01;
const FOREST_TREES: usize = 100;
const FOREST_FOLDS: usize = 5;
const PERMUTATIONS: usize = 5;
const PROBES: usize = 10;
/// Random bases of the one-at-a-time sweep besides the reference, and the levels swept at
/// each: many bases with the two extremes of a numeric parameter (every choice of a bool
/// or enum) find more interactions for the runs than a few bases with every level, as
/// Flink's effects are mostly monotone between the extremes but show only in some places.
const OAT_RANDOM_BASES: usize = 6;
/// Random pre-checked configurations the forest's run/fail predictor looks at per sample
/// of the design's second half.
const FEASIBILITY_DRAWS: usize = 50;

/// One measured screening configuration.
#[derive(Clone, Debug)]
struct Measured {
    /// Median score of the passing repeats; None: the configuration cannot run.
    score: Option<f64>,
    /// Scores of the passing repeats.
    runs: Vec<f64>,
    /// Why it failed, if it did.
    reason: String,
}

/// Runs screening configurations through the adapter.
struct Runner<'a> {
    study: &'a Study,
    adapter: Adapter,
    trials_dir: std::path::PathBuf,
    rate: u64,
    records: Vec<TrialRecord>,
    bar: indicatif::ProgressBar,
}

impl Runner<'_> {
    fn measure(&mut self, id: &str, config: &Config, runs: u64) -> Result<Measured> {
        if adapter::cancelled() {
            bail!("interrupted: determine stopped before finishing (nothing was written)");
        }
        let objective = self.study.file.objective;
        if let Some(why) = self.study.predict_failure(config) {
            for repeat in 0..runs {
                self.records.push(TrialRecord {
                    trial: collect::trial_id(id, self.rate, repeat),
                    config: id.to_string(),
                    rate: self.rate,
                    repeat,
                    status: "skipped".into(),
                    throughput: None,
                    latency_p99_ms: None,
                    latency_p50_ms: None,
                    reason: why.clone(),
                    attempts: 0,
                    worker: 0,
                    seconds: 0.0,
                });
            }
            self.bar.inc(1);
            return Ok(Measured {
                score: None,
                runs: vec![],
                reason: why,
            });
        }
        let generated = Generated {
            id: id.to_string(),
            config: config.clone(),
            predicted_failure: None,
        };
        let mut scores = Vec::new();
        let mut reason = String::new();
        for repeat in 0..runs {
            let rec = collect::run_trial(
                &self.adapter,
                self.study,
                &generated,
                &self.trials_dir,
                self.rate,
                repeat,
                0,
            )?;
            match rec.measurement() {
                Some(m) => scores.push(objective.score(objective.run_value(&m))),
                None => reason = rec.reason.clone(),
            }
            self.records.push(rec);
        }
        self.bar.inc(1);
        let passed = scores.len() as u64 * 2 >= runs;
        Ok(Measured {
            score: passed.then(|| median(&scores)),
            runs: scores,
            reason,
        })
    }
}

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

/// Whether Flink's memory rules and the cluster's slots let `config` start (a predicted
/// FailConf costs no run).
fn passes_precheck(study: &Study, config: &Config) -> bool {
    study.predict_failure(config).is_none()
}

/// Draws of a random point until one passes the pre-check (free: nothing runs).
const PRECHECK_DRAWS: usize = 1000;
/// Measured draws of a runnable start or base before giving up on it: a point that passes
/// the pre-check may still fail when it runs (on the simulator: parallelism above the
/// cluster's slots, metaspace too small), and each such draw costs its runs.
const RUNNABLE_ATTEMPTS: usize = 20;

/// A Morris start on the 4-level grid and the direction each factor moves: {0, 1/3} going
/// up, {2/3, 1} going down, so every step stays inside the unit cube.
pub fn morris_start(k: usize, rng: &mut StdRng) -> (Vec<f64>, Vec<f64>) {
    let step = 1.0 / (MORRIS_LEVELS - 1.0);
    let mut x = Vec::with_capacity(k);
    let mut dirs = Vec::with_capacity(k);
    for _ in 0..k {
        let low = rng.random_range(0..2) as f64 * step;
        let up = rng.random_bool(0.5);
        x.push(if up { low } else { low + MORRIS_DELTA });
        dirs.push(if up { 1.0 } else { -1.0 });
    }
    (x, dirs)
}

/// One step of a Morris trajectory as run.
#[derive(Clone, Debug)]
struct MorrisStep {
    factor: usize,
    /// The signed step on the unit scale.
    delta: f64,
    /// The score before and after the step (steps whose end could not run are only
    /// counted: the trajectory stayed where it was).
    before: f64,
    after: f64,
}

/// What one method found for one parameter.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Effect {
    pub importance: f64,
    pub selected: bool,
}

/// One row of `effects.csv`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct EffectRow {
    pub rank: usize,
    pub param: String,
    pub selected: bool,
    /// The ranking score: the method's importance relative to its top parameter (mean over
    /// methods for `all`).
    pub relative_importance: f64,
    /// The largest |change of score| against its base among the levels that ran, over all
    /// bases (the reference and random configurations that ran).
    pub oat_effect: Option<f64>,
    /// The same at the reference only.
    pub oat_effect_reference: Option<f64>,
    /// The same with failing levels counted as ten times worse than the worst that ran.
    pub oat_effect_with_failures: Option<f64>,
    /// Standard deviation of the scores over the levels and the base, mean over bases.
    pub oat_spread: Option<f64>,
    /// Levels that could not run, over all bases.
    pub oat_failed_levels: Option<usize>,
    /// The level with the best score at the reference and its change against it.
    pub oat_best_value: Option<String>,
    pub oat_best_change: Option<f64>,
    /// Mean |elementary effect| over the steps where both configurations ran.
    pub morris_mu_star: Option<f64>,
    pub morris_mu: Option<f64>,
    pub morris_sigma: Option<f64>,
    /// Steps whose end could not run (no elementary effect; the trajectory stayed put).
    pub morris_failed_steps: Option<usize>,
    /// Elementary effects measured (steps whose both ends ran).
    pub morris_effects: Option<usize>,
    pub forest_importance: Option<f64>,
}

/// What the stage found.
#[derive(Debug, Serialize, Deserialize)]
pub struct DetermineSummary {
    pub method: ScreeningMethod,
    pub objective: flink::objective::Objective,
    pub rate: u64,
    pub repeats: u64,
    pub candidates: usize,
    /// Catalogue parameters the study's Flink version lacks (not screened).
    pub absent: Vec<String>,
    pub selected: Vec<String>,
    pub unselected: Vec<String>,
    pub rule: String,
    pub configurations: usize,
    pub trials: usize,
    pub failed_configurations: usize,
    /// Score of the reference configuration (None: it failed) and the noise of one score.
    pub reference_score: Option<f64>,
    pub noise_sd: f64,
    /// Bases of the one-at-a-time sweep that ran (the reference and random ones).
    pub oat_bases: Option<usize>,
    pub noise_floor_oat: Option<f64>,
    pub noise_floor_morris: Option<f64>,
    pub noise_floor_forest: Option<f64>,
    pub seconds: f64,
}

struct MethodResult {
    importance: Vec<f64>,
    /// Per parameter: the importance noise alone stays below (family-wise, see `z_bonferroni`).
    floor: Vec<f64>,
    /// The importance as a relative change of perf in [0, 1) (`perf_share`): what the
    /// threshold and the relative importance compare.
    share: Vec<f64>,
}

/// An effect on the ln(perf) scale as the share of perf it changes, 1 − e^−|effect|.
///
/// Why: over a broad catalogue ln-scale effects span orders of magnitude (the buffer
/// timeout moves perf by e^7 on the simulator), so "5% of the top effect" on the ln scale
/// threw away keys that change perf by 30–50%. On this bounded scale the top is close to 1
/// and the threshold reads as a share of perf; the noise floor keeps inert keys out.
fn perf_share(effect: f64) -> f64 {
    1.0 - (-effect.abs()).exp()
}

/// The upper quantile z of the standard normal with P(|N| > z) = alpha / comparisons: a
/// floor of z standard deviations is crossed by pure noise in any of `comparisons` with
/// probability at most alpha (Bonferroni). Bisection on erfc (no statistics crate here).
fn z_bonferroni(alpha: f64, comparisons: usize) -> f64 {
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

/// Family-wise rate at which the noise floors let an inert parameter through.
const FLOOR_ALPHA: f64 = 0.05;

/// Marks the selected parameters of one method.
fn select(m: &MethodResult, threshold: f64, top_k: Option<usize>) -> Vec<bool> {
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

impl Runner<'_> {
    /// A random configuration that ran: points from `draw` that pass the pre-check are
    /// measured until one runs (at most RUNNABLE_ATTEMPTS of them; the failures are kept
    /// in `spent` so their cost shows). None when none ran.
    fn runnable<T: Clone>(
        &mut self,
        id: &str,
        runs: u64,
        spent: &mut Vec<Measured>,
        mut draw: impl FnMut() -> (T, Config),
    ) -> Result<Option<(T, Config, Measured)>> {
        for attempt in 0..RUNNABLE_ATTEMPTS {
            let Some((t, c)) = (0..PRECHECK_DRAWS)
                .map(|_| draw())
                .find(|(_, c)| passes_precheck(self.study, c))
            else {
                return Ok(None);
            };
            let m = self.measure(&format!("{id}-a{attempt}"), &c, runs)?;
            if m.score.is_some() {
                return Ok(Some((t, c, m)));
            }
            spent.push(m);
        }
        Ok(None)
    }
}

/// Runs the stage.
pub fn run(study: &Study) -> Result<DetermineSummary> {
    let started = std::time::Instant::now();
    let cfg = &study.file.determine;
    let space = &study.space;
    let k = space.len();
    let rate = cfg.rate.unwrap_or_else(|| study.search_rate());
    let method = cfg.method;
    let (oat, morris, forest) = match method {
        ScreeningMethod::Oat => (true, false, false),
        ScreeningMethod::Morris => (false, true, false),
        ScreeningMethod::Forest => (false, false, true),
        ScreeningMethod::All => (true, true, true),
    };
    let levels = cfg.levels as usize;
    let oat_values: Vec<Vec<Value>> = space
        .params
        .iter()
        .map(|p| sweep_values(p, levels))
        .collect();
    let bases = 1 + OAT_RANDOM_BASES;
    // An estimate for the progress bar (levels equal to a base's value are not run).
    let total =
        1 + if oat {
            bases * oat_values.iter().map(Vec::len).sum::<usize>()
        } else {
            0
        } + if morris {
            cfg.trajectories as usize * (k + 1)
        } else {
            0
        } + if forest { cfg.samples as usize } else { 0 };

    let stage = StageDir::begin(&study.dir, Stage::Determine.name())?;
    let mut runner = Runner {
        study,
        adapter: collect::adapter_of(study),
        trials_dir: stage.path.join("trials"),
        rate,
        records: Vec::new(),
        bar: crate::progress::bar(total as u64, "determine"),
    };
    std::fs::create_dir_all(&runner.trials_dir)?;
    let mut rng = StdRng::seed_from_u64(study.file.seed ^ 0x6465_7465);
    // Configurations that cost runs but gave no effect (failed random starts and bases).
    let mut spent: Vec<Measured> = Vec::new();

    // The reference, measured often enough to estimate the noise of one score.
    let reference = reference_config(space);
    let noise_runs = (2 * cfg.repeats).max(NOISE_RUNS);
    let ref_m = runner.measure("ref", &reference, noise_runs)?;
    // Compared with the same repeats as every other configuration, so a parameter the job
    // ignores shows exactly no effect.
    let first_repeats = |m: &Measured| {
        m.score
            .map(|_| median(&m.runs[..(cfg.repeats as usize).min(m.runs.len())]))
    };
    let ref_score = first_repeats(&ref_m);

    // One at a time around several bases: Flink's effects interact (heap sizes matter only
    // when the heap is tight, the checkpoint interval only with a slow checkpoint), so a
    // sweep around the default alone misses keys that matter elsewhere. The bases are the
    // reference and random configurations that ran, each measured as often as the
    // reference so that all of them estimate the noise.
    let mut oat_bases: Vec<(Config, Measured)> = Vec::new();
    let mut oat_m: Vec<Vec<Vec<(usize, Measured)>>> = Vec::new();
    if oat {
        if ref_m.score.is_none() {
            bail!(
                "Flink's default configuration (the one-at-a-time reference) fails at {rate} \
                 records/s: {}; the one-at-a-time sweep needs a reference that runs — use \
                 method = \"morris\" or \"forest\", a lower rate, or a base_conf that runs",
                ref_m.reason
            );
        }
        oat_bases.push((reference.clone(), ref_m.clone()));
        for b in 1..bases {
            let found = runner.runnable(&format!("base{b}"), noise_runs, &mut spent, || {
                let u: Vec<f64> = (0..k).map(|_| rng.random::<f64>()).collect();
                ((), space.from_unit(&u))
            })?;
            if let Some(((), c, m)) = found {
                oat_bases.push((c, m));
            }
        }
        for (b, (base, _)) in oat_bases.iter().enumerate() {
            let mut per_param = Vec::with_capacity(k);
            for (i, values) in oat_values.iter().enumerate() {
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
                    row.push((j, runner.measure(&id, &c, cfg.repeats)?));
                }
                per_param.push(row);
            }
            oat_m.push(per_param);
        }
    }

    // Morris trajectories kept inside the runnable region: each starts at a grid point
    // that ran, and a step whose end cannot run (predicted by the pre-check: no run spent;
    // or measured) gives no elementary effect but does not end the trajectory — it stays
    // at the last point that ran and moves the next factor from there. Before, one failing
    // point cost both its steps and most points of a random trajectory failed.
    let mut morris_m: Vec<Measured> = Vec::new();
    let mut morris_steps: Vec<MorrisStep> = Vec::new();
    let mut morris_failed = vec![0usize; k];
    if morris {
        let mut trng = StdRng::seed_from_u64(study.file.seed ^ 0x6d6f_7272);
        for t in 0..cfg.trajectories as usize {
            let found = runner.runnable(
                &format!("morris-t{t:02}-s00"),
                cfg.repeats,
                &mut spent,
                || {
                    let (x, dirs) = morris_start(k, &mut trng);
                    let c = space.from_unit(&x);
                    ((x, dirs), c)
                },
            )?;
            let Some(((mut x, dirs), _, start)) = found else {
                continue;
            };
            let mut here = start.score.unwrap_or(f64::NAN);
            morris_m.push(start);
            let mut order: Vec<usize> = (0..k).collect();
            order.shuffle(&mut trng);
            for (s, &i) in order.iter().enumerate() {
                // The full step Δ; if its end cannot run, one grid level (Δ/2) instead:
                // e.g. parallelism one level up may still fit the cluster's slots.
                let mut moved = None;
                for (a, span) in [MORRIS_DELTA, 0.5 * MORRIS_DELTA].into_iter().enumerate() {
                    let mut next = x.clone();
                    next[i] = (next[i] + dirs[i] * span).clamp(0.0, 1.0);
                    let c = space.from_unit(&next);
                    let id = format!(
                        "morris-t{t:02}-s{:02}{}",
                        s + 1,
                        if a == 0 { "" } else { "h" }
                    );
                    let m = runner.measure(&id, &c, cfg.repeats)?;
                    let sc = m.score;
                    morris_m.push(m);
                    if let Some(sc) = sc {
                        moved = Some((next, sc, dirs[i] * span));
                        break;
                    }
                }
                match moved {
                    Some((next, sc, delta)) => {
                        morris_steps.push(MorrisStep {
                            factor: i,
                            delta,
                            before: here,
                            after: sc,
                        });
                        x = next;
                        here = sc;
                    }
                    None => morris_failed[i] += 1,
                }
            }
        }
    }

    // The forest's design: Latin hypercube configurations that pass the pre-check; then,
    // with half of them measured, a forest fitted on ran / failed predicts which of further
    // random pre-checked configurations would run, and only those likely to run are spent.
    let mut forest_configs: Vec<Config> = Vec::new();
    let mut forest_m: Vec<Measured> = Vec::new();
    if forest {
        let n = cfg.samples as usize;
        let first = n.div_ceil(2);
        let mut srng = StdRng::seed_from_u64(study.file.seed ^ 0x5eed);
        let random_runnable = |rng: &mut StdRng| -> Option<Config> {
            (0..PRECHECK_DRAWS)
                .map(|_| {
                    let u: Vec<f64> = (0..k).map(|_| rng.random::<f64>()).collect();
                    space.from_unit(&u)
                })
                .find(|c| passes_precheck(study, c))
        };
        for c in sample_configs(space, first, study.file.seed ^ 0x7266) {
            let c = if passes_precheck(study, &c) {
                c
            } else {
                random_runnable(&mut srng).unwrap_or(c)
            };
            forest_configs.push(c);
        }
        for (n, c) in forest_configs.iter().enumerate() {
            forest_m.push(runner.measure(&format!("rf-{n:04}"), c, cfg.repeats)?);
        }
        let ran: Vec<f64> = forest_m
            .iter()
            .map(|m| if m.score.is_some() { 1.0 } else { 0.0 })
            .collect();
        let feasibility = runs_predictor(space, &forest_configs, &ran, study.file.seed)?;
        for n in first..n {
            let mut chosen = None;
            for _ in 0..FEASIBILITY_DRAWS {
                let Some(c) = random_runnable(&mut srng) else {
                    break;
                };
                let likely = feasibility.as_ref().is_none_or(|f| f(&c) >= 0.5);
                if likely {
                    chosen = Some(c);
                    break;
                }
                chosen.get_or_insert(c);
            }
            let Some(c) = chosen else { break };
            forest_m.push(runner.measure(&format!("rf-{n:04}"), &c, cfg.repeats)?);
            forest_configs.push(c);
        }
    }
    runner.bar.finish_and_clear();

    let all_measured = || {
        std::iter::once(&ref_m)
            .chain(oat_bases.iter().skip(1).map(|(_, m)| m))
            .chain(oat_m.iter().flatten().flatten().map(|(_, m)| m))
            .chain(morris_m.iter())
            .chain(forest_m.iter())
            .chain(spent.iter())
    };
    let worst = all_measured()
        .filter_map(|m| m.score)
        .fold(f64::INFINITY, f64::min);
    if !worst.is_finite() {
        let reasons = precheck::group_reasons(all_measured().map(|m| m.reason.as_str()));
        bail!(
            "no screening configuration ran at {rate} records/s; failure reasons: {}",
            reasons
                .iter()
                .map(|(r, n)| format!("{r} ({n}×)"))
                .collect::<Vec<_>>()
                .join("; ")
        );
    }
    let fail_score = worst - FAIL_PENALTY;
    let score = |m: &Measured| m.score.unwrap_or(fail_score);

    // The noise of one run, pooled over the repeated runs of the reference and the bases.
    let mut groups: Vec<&[f64]> = vec![&ref_m.runs];
    groups.extend(oat_bases.iter().skip(1).map(|(_, m)| m.runs.as_slice()));
    let sd_single = pooled_noise(&groups);
    let reps = cfg.repeats as f64;
    // The noise of a median of `repeats` runs.
    let noise_sd = sd_single * if cfg.repeats > 2 { 1.2533 } else { 1.0 } / reps.sqrt();

    let mut rows: Vec<EffectRow> = space
        .params
        .iter()
        .map(|p| EffectRow {
            param: p.name.clone(),
            ..EffectRow::default()
        })
        .collect();
    let mut results: Vec<MethodResult> = Vec::new();
    let mut floors = (None, None, None);

    if oat {
        let base_scores: Vec<f64> = oat_bases
            .iter()
            .map(|(_, m)| first_repeats(m).unwrap_or(fail_score))
            .collect();
        let mut importance = Vec::with_capacity(k);
        let mut comparisons = 0usize;
        for i in 0..k {
            let (mut running, mut with_failures, mut failed) = (0.0_f64, 0.0_f64, 0usize);
            let mut spreads = Vec::new();
            for (b, per_param) in oat_m.iter().enumerate() {
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
                    rows[i].oat_effect_reference = Some(at_ref);
                    rows[i].oat_best_value = best.map(|(j, _)| oat_values[i][*j].to_string());
                    rows[i].oat_best_change = best.map(|(_, m)| score(m) - r);
                }
            }
            let row = &mut rows[i];
            row.oat_effect = Some(running);
            row.oat_effect_with_failures = Some(with_failures);
            row.oat_spread = Some(mean(&spreads));
            row.oat_failed_levels = Some(failed);
            importance.push(running);
        }
        // The importance is the largest of all of a parameter's differences of two medians
        // (each of noise noise_sd) over bases and levels: noise alone stays below z·√2·σ in
        // all `comparisons` of all parameters but with probability FLOOR_ALPHA.
        let floor = (z_bonferroni(FLOOR_ALPHA, comparisons) * std::f64::consts::SQRT_2 * noise_sd)
            .max(MIN_EFFECT);
        floors.0 = Some(floor);
        results.push(MethodResult {
            share: importance.iter().map(|&v| perf_share(v)).collect(),
            floor: vec![floor; k],
            importance,
        });
    }
    if morris {
        let mut ee: Vec<Vec<f64>> = vec![Vec::new(); k];
        // Per effect, the SD noise gives it: √2·σ/|step| (a half step doubles it).
        let mut ee_noise: Vec<Vec<f64>> = vec![Vec::new(); k];
        for s in &morris_steps {
            ee[s.factor].push((s.after - s.before) / s.delta);
            ee_noise[s.factor].push(std::f64::consts::SQRT_2 * noise_sd / s.delta.abs());
        }
        // μ* of n elementary effects of pure noise (each N(0, s_j)) has mean √(2/π)·mean(s)
        // and SD √((1 − 2/π)·mean(s²)/n): the floor is that mean plus z SDs, per parameter
        // (they have different numbers of effects and steps), z over all parameters.
        let z = z_bonferroni(2.0 * FLOOR_ALPHA, k);
        let two_over_pi = 2.0 / std::f64::consts::PI;
        let mut importance = Vec::with_capacity(k);
        let mut floor = Vec::with_capacity(k);
        for i in 0..k {
            let abs: Vec<f64> = ee[i].iter().map(|e| e.abs()).collect();
            let n = abs.len().max(1) as f64;
            let s_full = std::f64::consts::SQRT_2 * noise_sd / MORRIS_DELTA;
            let (s_mean, s_sq) = if ee_noise[i].is_empty() {
                (s_full, s_full * s_full)
            } else {
                let sq: Vec<f64> = ee_noise[i].iter().map(|s| s * s).collect();
                (mean(&ee_noise[i]), mean(&sq))
            };
            let row = &mut rows[i];
            row.morris_mu_star = Some(mean(&abs));
            row.morris_mu = Some(mean(&ee[i]));
            row.morris_sigma = Some(std_dev(&ee[i]));
            row.morris_failed_steps = Some(morris_failed[i]);
            row.morris_effects = Some(ee[i].len());
            importance.push(mean(&abs));
            floor.push(
                (two_over_pi.sqrt() * s_mean + z * ((1.0 - two_over_pi) * s_sq / n).sqrt())
                    .max(MIN_EFFECT / MORRIS_DELTA),
            );
        }
        floors.1 = Some(median(&floor));
        results.push(MethodResult {
            share: importance
                .iter()
                .map(|&v| perf_share(v * MORRIS_DELTA))
                .collect(),
            floor,
            importance,
        });
    }
    if forest {
        let ran: Vec<usize> = (0..forest_m.len())
            .filter(|&n| forest_m[n].score.is_some())
            .collect();
        if ran.len() < 2 * FOREST_FOLDS {
            bail!(
                "only {} of the {} random configurations ran; the forest needs at least {} \
                 (raise [determine] samples)",
                ran.len(),
                forest_m.len(),
                2 * FOREST_FOLDS
            );
        }
        let configs: Vec<Config> = ran.iter().map(|&n| forest_configs[n].clone()).collect();
        let y: Vec<f64> = ran.iter().map(|&n| score(&forest_m[n])).collect();
        let (importance, probe, se) = permutation_importance(space, &configs, &y, study.file.seed)?;
        for (row, v) in rows.iter_mut().zip(&importance) {
            row.forest_importance = Some(*v);
        }
        floors.2 = Some(probe);
        results.push(MethodResult {
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
        });
    }

    let threshold = cfg.threshold;
    let top_k = cfg.top_k.map(|k| k as usize);
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
        // Among the parameters two methods put above their floors, the k of highest rank.
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
    let selected: Vec<String> = rows
        .iter()
        .filter(|r| r.selected)
        .map(|r| r.param.clone())
        .collect();
    if selected.is_empty() {
        bail!(
            "no parameter's effect rose above the noise floor at {rate} records/s; \
             nothing to select (see the measurements in {})",
            stage.path.display()
        );
    }
    let rule = rule_text(method, threshold, top_k);

    // Artifacts.
    let dir = &stage.path;
    let mut w = csv::Writer::from_path(dir.join("trials.csv"))?;
    for r in &runner.records {
        w.serialize(r)?;
    }
    w.flush()?;
    let mut w = csv::Writer::from_path(dir.join("effects.csv"))?;
    for &i in &order {
        w.serialize(&rows[i])?;
    }
    w.flush()?;
    write_selected(study, &rows, &rule, &dir.join("selected.toml"))?;
    let bars: Vec<plot::Bar> = order
        .iter()
        .map(|&i| plot::Bar {
            label: rows[i].param.clone(),
            value: rows[i].relative_importance,
            spread: match method {
                ScreeningMethod::Morris => {
                    let top = results[0].importance.iter().copied().fold(0.0, f64::max);
                    rows[i]
                        .morris_sigma
                        .map(|s| if top > 0.0 { s / top } else { 0.0 })
                }
                ScreeningMethod::Oat => {
                    let top = results[0].importance.iter().copied().fold(0.0, f64::max);
                    rows[i]
                        .oat_spread
                        .map(|s| if top > 0.0 { s / top } else { 0.0 })
                }
                _ => None,
            },
            highlight: rows[i].selected,
        })
        .collect();
    plot::bar_chart(
        &dir.join("effects.svg"),
        &format!("Screening: importance relative to the top parameter ({method:?})"),
        "relative importance",
        &bars,
        (top_k.is_none() && results.len() == 1).then_some(threshold),
    )?;
    let failed_configurations = all_measured().filter(|m| m.score.is_none()).count();
    let configurations = all_measured().count();
    let summary = DetermineSummary {
        method,
        objective: study.file.objective,
        rate,
        repeats: cfg.repeats,
        candidates: k,
        absent: study.absent.clone(),
        unselected: rows
            .iter()
            .filter(|r| !r.selected)
            .map(|r| r.param.clone())
            .collect(),
        selected,
        rule,
        configurations,
        trials: runner.records.len(),
        failed_configurations,
        reference_score: ref_score,
        noise_sd,
        oat_bases: oat.then_some(oat_bases.len()),
        noise_floor_oat: floors.0,
        noise_floor_morris: floors.1,
        noise_floor_forest: floors.2,
        seconds: started.elapsed().as_secs_f64(),
    };
    std::fs::write(dir.join("report.md"), report_md(&summary, &rows, &order))?;
    fsx::write_json(&dir.join("summary.json"), &summary)?;
    stage.commit()?;
    Ok(summary)
}

fn rule_text(method: ScreeningMethod, threshold: f64, top_k: Option<usize>) -> String {
    let one = match top_k {
        Some(k) => format!("among the {k} most important parameters above the noise floor"),
        None => format!(
            "importance above the noise floor and at least {:.0}% of the top parameter's",
            threshold * 100.0
        ),
    };
    match (method, top_k) {
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
        .with_seed(seed ^ 0x6665_6173);
    let forest = RandomForestRegressor::fit(&DenseMatrix::from_ndarray2(&x), &ran.to_vec(), params)
        .map_err(|e| anyhow::anyhow!("fitting the run/fail predictor failed: {e}"))?;
    Ok(Some(move |c: &Config| {
        let row = Array2::from_shape_vec((1, d), space.features(c)).ok();
        row.and_then(|r| forest.predict(&DenseMatrix::from_ndarray2(&r)).ok())
            .and_then(|p| p.first().copied())
            .unwrap_or(1.0)
    }))
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
    let mut rng = StdRng::seed_from_u64(seed ^ 0x7065_726d);
    let mut x = Array2::<f64>::zeros((n, d));
    for (r, c) in configs.iter().enumerate() {
        for (j, v) in space.features(c).into_iter().enumerate() {
            x[[r, j]] = v;
        }
        for j in k..d {
            x[[r, j]] = rng.random::<f64>();
        }
    }
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
        let xt = x.select(ndarray::Axis(0), &train);
        let yt: Vec<f64> = train.iter().map(|&i| y[i]).collect();
        let params = RandomForestRegressorParameters::default()
            .with_n_trees(FOREST_TREES)
            .with_m(d)
            .with_seed(seed.wrapping_add(f as u64));
        let forest = RandomForestRegressor::fit(&DenseMatrix::from_ndarray2(&xt), &yt, params)
            .map_err(|e| anyhow::anyhow!("fitting the screening forest failed: {e}"))?;
        let predict = |m: &Array2<f64>| -> Result<Vec<f64>> {
            forest
                .predict(&DenseMatrix::from_ndarray2(m))
                .map_err(|e| anyhow::anyhow!("prediction failed: {e}"))
        };
        let xs = x.select(ndarray::Axis(0), &test);
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
        for (j, imp) in importance.iter_mut().enumerate() {
            let mut sum = 0.0;
            for _ in 0..PERMUTATIONS {
                let mut xp = xs.clone();
                let mut col: Vec<f64> = xp.column(j).to_vec();
                col.shuffle(&mut rng);
                for (r, v) in col.into_iter().enumerate() {
                    xp[[r, j]] = v;
                }
                sum += mse(&predict(&xp)?) - base;
            }
            *imp += sum / PERMUTATIONS as f64 / folds as f64;
            per_fold[j].push(sum / PERMUTATIONS as f64);
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

/// Writes the selected parameters as a catalogue `generate` can use.
fn write_selected(study: &Study, rows: &[EffectRow], rule: &str, path: &Path) -> Result<()> {
    let by_name: BTreeMap<&str, &EffectRow> = rows.iter().map(|r| (r.param.as_str(), r)).collect();
    let params: Vec<Param> = study
        .space
        .params
        .iter()
        .filter(|p| by_name.get(p.name.as_str()).is_some_and(|r| r.selected))
        .cloned()
        .collect();
    let cat = Catalogue {
        description: format!(
            "key parameters selected by `flinktune determine` from '{}' ({} of {})",
            study.file.catalogue,
            params.len(),
            study.space.len()
        ),
        flink_version: study.catalogue.flink_version.clone(),
        params,
    };
    let body = toml::to_string_pretty(&cat).context("cannot write the selected catalogue")?;
    let text = format!(
        "# Written by `flinktune determine`: the parameters of '{}' whose screening effect\n\
         # passed the rule: {rule}.\n# Use it with catalogue = \"determine/selected.toml\".\n\n{body}",
        study.file.catalogue
    );
    // It must load as a catalogue.
    Space::from_catalogue_text(&text, &path.display().to_string())?;
    fsx::write_atomic(path, text.as_bytes())
}

fn fmt_opt(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.3}")).unwrap_or_else(|| "–".into())
}

fn report_md(s: &DetermineSummary, rows: &[EffectRow], order: &[usize]) -> String {
    let mut out = String::new();
    out.push_str("# Key parameters (determine)\n\n![Screening effects](effects.svg)\n\n");
    out.push_str(&format!(
        "Screening by **{:?}** at {} records/s, `{}` objective, median of {} run(s) per \
         configuration: {} configurations, {} trials, {} configurations could not run. \
         **{} of {} parameters selected**: {}.\n\n",
        s.method,
        s.rate,
        s.objective,
        s.repeats,
        s.configurations,
        s.trials,
        s.failed_configurations,
        s.selected.len(),
        s.candidates,
        s.rule
    ));
    out.push_str(&format!(
        "Effects are changes of the score ln(perf) (0.1 ≈ 10%) among configurations that ran: \
         importance measures performance; a level or step that could not run is counted apart \
         (failed levels / steps) and, in the OAT column in brackets, as ten times worse than the \
         worst configuration that ran. Noise of one score (from the \
         reference measured repeatedly): {:.4}; noise floors: oat {}, morris {}, forest {}.\n\n",
        s.noise_sd,
        fmt_opt(s.noise_floor_oat),
        fmt_opt(s.noise_floor_morris),
        fmt_opt(s.noise_floor_forest)
    ));
    if !s.absent.is_empty() {
        out.push_str(&format!(
            "Not screened (the study's Flink version lacks them): {}.\n\n",
            s.absent.join(", ")
        ));
    }
    out.push_str(
        "| rank | parameter | selected | relative importance | OAT effect (with failures) | \
         OAT spread | OAT failed levels | best OAT value (change) | Morris μ* | Morris σ | forest importance |\n\
         |---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for &i in order {
        let r = &rows[i];
        out.push_str(&format!(
            "| {} | `{}` | {} | {:.3} | {} ({}) | {} | {} | {} | {} | {} | {} |\n",
            r.rank,
            r.param,
            if r.selected { "**yes**" } else { "no" },
            r.relative_importance,
            fmt_opt(r.oat_effect),
            fmt_opt(r.oat_effect_with_failures),
            fmt_opt(r.oat_spread),
            r.oat_failed_levels
                .map(|n| n.to_string())
                .unwrap_or_else(|| "–".into()),
            match (&r.oat_best_value, r.oat_best_change) {
                (Some(v), Some(c)) => format!("{v} ({c:+.3})"),
                _ => "–".into(),
            },
            fmt_opt(r.morris_mu_star),
            fmt_opt(r.morris_sigma),
            r.forest_importance
                .map(|v| format!("{v:.4}"))
                .unwrap_or_else(|| "–".into()),
        ));
    }
    out.push_str(
        "\nFiles: `selected.toml` (the selected catalogue), `effects.csv` (this table), \
         `trials.csv` and `trials/` (every screening trial).\n",
    );
    out
}

/// A human summary.
pub fn describe(s: &DetermineSummary) -> String {
    format!(
        "determine ({:?}): {} configurations, {} trials in {:.1}s; selected {} of {} parameters \
         ({}):\n  {}\n",
        s.method,
        s.configurations,
        s.trials,
        s.seconds,
        s.selected.len(),
        s.candidates,
        s.rule,
        s.selected.join("\n  ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn morris_starts_leave_room_for_a_full_step() {
        let mut rng = StdRng::seed_from_u64(1);
        for _ in 0..50 {
            let (x, dirs) = morris_start(7, &mut rng);
            for (xi, d) in x.iter().zip(&dirs) {
                let end = xi + d * MORRIS_DELTA;
                assert!((-1e-12..=1.0 + 1e-12).contains(&end), "{xi} {d}");
                // On the 4-level grid.
                assert!((xi * 3.0 - (xi * 3.0).round()).abs() < 1e-9);
            }
        }
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

    #[test]
    fn sweeps_cover_each_kind() {
        let text = include_str!("../../configs/flink-1.11-candidates.toml");
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
