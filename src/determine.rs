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
//!   `levels` values evenly spread on its scale with the others at the reference.
//!   Importance = the largest |score(level) − score(reference)| over levels that ran.
//! - **morris**: elementary effects over `trajectories` random one-factor-at-a-time paths
//!   through a 4-level grid of the unit cube (step Δ = 2/3), r·(k+1) configurations; each
//!   trajectory is the best of 200 random ones by steps that pass Flink's memory rules.
//!   Importance = μ* (mean |EE| over steps whose both ends ran); σ of the EEs shows
//!   interactions and non-linearity. In a broad space most random points cannot run (on
//!   the simulator: parallelism above the cluster's slots), so few steps give an EE.
//! - **forest**: permutation importance of a random forest fitted on `samples` Latin
//!   hypercube configurations (predicted memory failures redrawn), fitted on those that
//!   ran, by 5-fold cross-validation, with three random probe features whose importance is
//!   the noise floor.
//! - **all**: the three; a parameter is selected when at least two select it, ranked by
//!   the mean of its importance relative to each method's top.
//!
//! Selection rule of one method: a parameter is selected when its importance is above the
//! method's noise floor and at least `threshold` × the top parameter's importance, or, with
//! `top_k`, when it is among the k most important above the noise floor. The noise floor
//! of oat and morris comes from the reference configuration measured several times.
//!
//! Artifacts (`determine/`): `selected.toml` (a catalogue of the selected parameters,
//! usable as a study's `catalogue`), `effects.csv`, `effects.svg`, `report.md`,
//! `trials.csv`, `trials/<trial>/` (adapter protocol directories), `summary.json`.

use crate::adapter::{self, Adapter};
use crate::collect::{self, TrialRecord};
use crate::fsx::{self, StageDir};
use crate::generate::{Generated, sample_configs};
use crate::plot;
use crate::precheck;
use crate::space::{Catalogue, Config, Kind, Param, Space, Value};
use crate::study::{ScreeningMethod, Stage, Study};
use anyhow::{Context, Result, bail};
use ndarray::Array2;
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
const PROBES: usize = 3;

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

fn median(v: &[f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        0.5 * (s[n / 2 - 1] + s[n / 2])
    }
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

fn std_dev(v: &[f64]) -> f64 {
    if v.len() < 2 {
        return 0.0;
    }
    let m = mean(v);
    (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64).sqrt()
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

/// A Morris trajectory: its k+1 points and, per step, the factor moved and its direction.
pub type Trajectory = (Vec<Vec<f64>>, Vec<(usize, f64)>);

/// Morris trajectories: each a start point on the 4-level grid and the order and
/// direction of the one-factor steps. Returns, per trajectory, the k+1 points and for
/// each step the factor moved and its direction (+1 / −1).
pub fn morris_trajectories(k: usize, r: usize, seed: u64) -> Vec<Trajectory> {
    let mut rng = StdRng::seed_from_u64(seed);
    let step = 1.0 / (MORRIS_LEVELS - 1.0);
    (0..r)
        .map(|_| {
            let mut x: Vec<f64> = Vec::with_capacity(k);
            let mut dirs = Vec::with_capacity(k);
            for _ in 0..k {
                // Start where the step stays inside the cube: {0, 1/3} going up,
                // {2/3, 1} going down.
                let low = rng.random_range(0..2) as f64 * step;
                let up = rng.random_bool(0.5);
                x.push(if up { low } else { low + MORRIS_DELTA });
                dirs.push(if up { 1.0 } else { -1.0 });
            }
            let mut order: Vec<usize> = (0..k).collect();
            order.shuffle(&mut rng);
            let mut points = vec![x.clone()];
            let mut steps = Vec::with_capacity(k);
            for &i in &order {
                x[i] = (x[i] + dirs[i] * MORRIS_DELTA).clamp(0.0, 1.0);
                points.push(x.clone());
                steps.push((i, dirs[i]));
            }
            (points, steps)
        })
        .collect()
}

/// Candidate trajectories drawn per kept one: the kept one has the most steps whose both
/// configurations pass Flink's memory rules (most random points of a broad space do not).
const TRAJECTORY_DRAWS: usize = 200;

fn runnable_trajectories(study: &Study, r: usize, seed: u64) -> Vec<Trajectory> {
    let space = &study.space;
    let k = space.len();
    let candidates = morris_trajectories(k, r * TRAJECTORY_DRAWS, seed);
    let runs = |p: &Vec<f64>| study.predict_failure(&space.from_unit(p)).is_none();
    candidates
        .chunks(TRAJECTORY_DRAWS)
        .map(|group| {
            group
                .iter()
                .max_by_key(|(points, _)| {
                    let ok: Vec<bool> = points.iter().map(runs).collect();
                    ok.windows(2).filter(|w| w[0] && w[1]).count()
                })
                .cloned()
                .unwrap_or_default()
        })
        .collect()
}

/// A Latin hypercube sample whose configurations pass Flink's memory rules (the others
/// redrawn at random, as `generate` does).
fn runnable_sample(study: &Study, n: usize, seed: u64) -> Vec<Config> {
    let space = &study.space;
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed);
    let runs = |c: &Config| study.predict_failure(c).is_none();
    sample_configs(space, n, seed)
        .into_iter()
        .map(|c| {
            if runs(&c) {
                return c;
            }
            (0..1000)
                .map(|_| {
                    let u: Vec<f64> = (0..space.len()).map(|_| rng.random::<f64>()).collect();
                    space.from_unit(&u)
                })
                .find(|c| runs(c))
                .unwrap_or(c)
        })
        .collect()
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
    /// The largest |change of score| against the reference among the levels that ran.
    pub oat_effect: Option<f64>,
    /// The same with failing levels counted as ten times worse than the worst that ran.
    pub oat_effect_with_failures: Option<f64>,
    /// Standard deviation of the scores over the levels and the reference.
    pub oat_spread: Option<f64>,
    pub oat_failed_levels: Option<usize>,
    /// The level with the best score and its change against the reference.
    pub oat_best_value: Option<String>,
    pub oat_best_change: Option<f64>,
    /// Mean |elementary effect| over the steps where both configurations ran.
    pub morris_mu_star: Option<f64>,
    pub morris_mu: Option<f64>,
    pub morris_sigma: Option<f64>,
    /// Steps where either configuration could not run (no elementary effect).
    pub morris_failed_steps: Option<usize>,
    pub forest_importance: Option<f64>,
}

/// What the stage found.
#[derive(Debug, Serialize, Deserialize)]
pub struct DetermineSummary {
    pub method: ScreeningMethod,
    pub objective: crate::objective::Objective,
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
    pub noise_floor_oat: Option<f64>,
    pub noise_floor_morris: Option<f64>,
    pub noise_floor_forest: Option<f64>,
    pub seconds: f64,
}

struct MethodResult {
    importance: Vec<f64>,
    floor: f64,
}

/// Marks the selected parameters of one method.
fn select(m: &MethodResult, threshold: f64, top_k: Option<usize>) -> Vec<bool> {
    let top = m.importance.iter().copied().fold(0.0_f64, f64::max);
    let above: Vec<bool> = m
        .importance
        .iter()
        .map(|&v| v > m.floor && v > 0.0)
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
            .importance
            .iter()
            .zip(&above)
            .map(|(&v, &a)| a && v >= threshold * top)
            .collect(),
    }
}

fn relative(m: &MethodResult) -> Vec<f64> {
    let top = m.importance.iter().copied().fold(0.0_f64, f64::max);
    m.importance
        .iter()
        .map(|&v| if top > 0.0 { (v / top).max(0.0) } else { 0.0 })
        .collect()
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
    let total =
        1 + if oat {
            oat_values.iter().map(Vec::len).sum::<usize>()
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

    // The reference, measured often enough to estimate the noise of one score.
    let reference = reference_config(space);
    let noise_runs = (2 * cfg.repeats).max(NOISE_RUNS);
    let ref_m = runner.measure("ref", &reference, noise_runs)?;
    let sd_single = if ref_m.runs.len() >= 3 {
        let med = median(&ref_m.runs);
        let dev: Vec<f64> = ref_m.runs.iter().map(|x| (x - med).abs()).collect();
        // Median absolute deviation, scaled to a normal σ; falls back to the sample SD.
        let mad = 1.4826 * median(&dev);
        if mad > 0.0 { mad } else { std_dev(&ref_m.runs) }
    } else {
        0.0
    };
    let reps = cfg.repeats as f64;
    // The noise of a median of `repeats` runs.
    let noise_sd = sd_single * if cfg.repeats > 2 { 1.2533 } else { 1.0 } / reps.sqrt();
    // Compared with the same repeats as every other configuration, so a parameter the job
    // ignores shows exactly no effect.
    let ref_score = ref_m
        .score
        .map(|_| median(&ref_m.runs[..(cfg.repeats as usize).min(ref_m.runs.len())]));

    // Every configuration's measurement, scored after all are in (failures need the worst).
    let mut oat_m: Vec<Vec<Measured>> = Vec::new();
    if oat {
        if ref_m.score.is_none() {
            bail!(
                "Flink's default configuration (the one-at-a-time reference) fails at {rate} \
                 records/s: {}; the one-at-a-time sweep needs a reference that runs — use \
                 method = \"morris\" or \"forest\", a lower rate, or a base_conf that runs",
                ref_m.reason
            );
        }
        for (i, values) in oat_values.iter().enumerate() {
            let mut row = Vec::new();
            for (j, v) in values.iter().enumerate() {
                let mut c = reference.clone();
                c[i] = Some(v.clone());
                row.push(runner.measure(&format!("oat-p{i:02}-l{j}"), &c, cfg.repeats)?);
            }
            oat_m.push(row);
        }
    }
    let trajectories = if morris {
        runnable_trajectories(
            study,
            cfg.trajectories as usize,
            study.file.seed ^ 0x6d6f_7272,
        )
    } else {
        vec![]
    };
    let mut morris_m: Vec<Vec<Measured>> = Vec::new();
    for (t, (points, _)) in trajectories.iter().enumerate() {
        let mut row = Vec::new();
        for (s, p) in points.iter().enumerate() {
            let c = space.from_unit(p);
            row.push(runner.measure(&format!("morris-t{t:02}-s{s:02}"), &c, cfg.repeats)?);
        }
        morris_m.push(row);
    }
    let forest_configs = if forest {
        runnable_sample(study, cfg.samples as usize, study.file.seed ^ 0x7266)
    } else {
        vec![]
    };
    let mut forest_m = Vec::new();
    for (n, c) in forest_configs.iter().enumerate() {
        forest_m.push(runner.measure(&format!("rf-{n:04}"), c, cfg.repeats)?);
    }
    runner.bar.finish_and_clear();

    let all_measured = || {
        std::iter::once(&ref_m)
            .chain(oat_m.iter().flatten())
            .chain(morris_m.iter().flatten())
            .chain(forest_m.iter())
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
        let r = ref_score.unwrap_or(fail_score);
        let mut importance = Vec::with_capacity(k);
        for (i, ms) in oat_m.iter().enumerate() {
            let changes: Vec<f64> = ms.iter().map(|m| score(m) - r).collect();
            let effect = changes.iter().fold(0.0_f64, |a, c| a.max(c.abs()));
            let running = ms
                .iter()
                .filter_map(|m| m.score)
                .fold(0.0_f64, |a, s| a.max((s - r).abs()));
            let mut all: Vec<f64> = ms.iter().map(score).collect();
            all.push(r);
            let best = (0..ms.len()).max_by(|&a, &b| changes[a].total_cmp(&changes[b]));
            let row = &mut rows[i];
            row.oat_effect = Some(running);
            row.oat_effect_with_failures = Some(effect);
            row.oat_spread = Some(std_dev(&all));
            row.oat_failed_levels = Some(ms.iter().filter(|m| m.score.is_none()).count());
            row.oat_best_value = best.map(|b| oat_values[i][b].to_string());
            row.oat_best_change = best.map(|b| changes[b]);
            importance.push(running);
        }
        // The largest of up to `levels` differences of two medians, each of noise noise_sd.
        let floor = (3.5 * std::f64::consts::SQRT_2 * noise_sd).max(MIN_EFFECT);
        floors.0 = Some(floor);
        results.push(MethodResult { importance, floor });
    }
    if morris {
        let mut ee: Vec<Vec<f64>> = vec![Vec::new(); k];
        let mut failed_steps = vec![0usize; k];
        for ((_, steps), ms) in trajectories.iter().zip(&morris_m) {
            for (s, &(i, dir)) in steps.iter().enumerate() {
                match (ms[s].score, ms[s + 1].score) {
                    (Some(a), Some(b)) => ee[i].push(dir * (b - a) / MORRIS_DELTA),
                    _ => failed_steps[i] += 1,
                }
            }
        }
        let mut importance = Vec::with_capacity(k);
        for i in 0..k {
            let abs: Vec<f64> = ee[i].iter().map(|e| e.abs()).collect();
            let row = &mut rows[i];
            row.morris_mu_star = Some(mean(&abs));
            row.morris_mu = Some(mean(&ee[i]));
            row.morris_sigma = Some(std_dev(&ee[i]));
            row.morris_failed_steps = Some(failed_steps[i]);
            importance.push(mean(&abs));
        }
        let floor = (3.0 * std::f64::consts::SQRT_2 * noise_sd / MORRIS_DELTA)
            .max(MIN_EFFECT / MORRIS_DELTA);
        floors.1 = Some(floor);
        results.push(MethodResult { importance, floor });
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
        let (importance, probe) = permutation_importance(space, &configs, &y, study.file.seed)?;
        for (row, v) in rows.iter_mut().zip(&importance) {
            row.forest_importance = Some(*v);
        }
        floors.2 = Some(probe);
        results.push(MethodResult {
            importance,
            floor: probe,
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
                    .filter(|m| m.importance[i] > m.floor && m.importance[i] > 0.0)
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

/// Permutation importance of each parameter (increase of the held-out mean squared error
/// when its column is shuffled) by k-fold cross-validation, and the largest importance of
/// the random probe features (the noise floor).
fn permutation_importance(
    space: &Space,
    configs: &[Config],
    y: &[f64],
    seed: u64,
) -> Result<(Vec<f64>, f64)> {
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
        }
    }
    let probe = importance[k..].iter().copied().fold(0.0_f64, f64::max);
    importance.truncate(k);
    Ok((importance, probe))
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
    fn morris_trajectories_move_one_factor_by_delta_each_step() {
        let t = morris_trajectories(5, 4, 1);
        assert_eq!(t.len(), 4);
        for (points, steps) in &t {
            assert_eq!(points.len(), 6);
            let mut moved: Vec<usize> = steps.iter().map(|s| s.0).collect();
            moved.sort();
            assert_eq!(moved, vec![0, 1, 2, 3, 4]);
            for (s, &(i, dir)) in steps.iter().enumerate() {
                for (j, (after, before)) in points[s + 1].iter().zip(&points[s]).enumerate() {
                    let d = after - before;
                    if j == i {
                        assert!((d - dir * MORRIS_DELTA).abs() < 1e-12);
                    } else {
                        assert_eq!(d, 0.0);
                    }
                }
            }
            assert!(points.iter().flatten().all(|x| (0.0..=1.0).contains(x)));
        }
    }

    #[test]
    fn selection_follows_the_stated_rule() {
        let m = MethodResult {
            importance: vec![2.0, 0.5, 0.05, 0.0, 0.11],
            floor: 0.1,
        };
        assert_eq!(select(&m, 0.05, None), vec![true, true, false, false, true]);
        assert_eq!(select(&m, 0.2, None), vec![true, true, false, false, false]);
        assert_eq!(
            select(&m, 0.05, Some(2)),
            vec![true, true, false, false, false]
        );
        // top_k never takes what the noise floor rules out.
        assert_eq!(
            select(&m, 0.05, Some(9)),
            vec![true, true, false, false, true]
        );
    }

    #[test]
    fn sweeps_cover_each_kind() {
        let text = include_str!("../configs/flink-1.11-candidates.toml");
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
