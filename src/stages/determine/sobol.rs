//! The sobol method: a space-filling design kept in the runnable region (the
//! forest's: a maximin Latin hypercube of configurations that pass the pre-check, then
//! random pre-checked configurations a run/fail forest predicts to run), a GP with one
//! lengthscale per key (ARD) fitted on the scores of the configurations that ran, and the
//! GP's mean read through variance-based sensitivity: each key's total Sobol' variance
//! V_Ti (its effect with all its interactions). The effect is reported on the scale of the
//! one-at-a-time truth, √(12·V_Ti) — the range of a linear effect of that variance — with
//! its uncertainty from bootstrap refits of the GP.
//!
//! Why this way: over 60 keys a one-at-a-time sweep spends its runs on keys that do nothing
//! and sees an interaction only where it happens to sweep; every configuration of a
//! space-filling design moves every key at once, and the total index counts a key's
//! interactions (a key that matters only when another is small) as well as its main effect.
//!
//! In two phases, since a few dominant keys (the buffer timeout moves perf by e^7 on the
//! simulator) take most of the variance and hide 1% effects: the first half of the budget
//! screens every key; the keys it selects with an effect of at least 10% are then held at
//! at Flink's default, and the second half screens the rest
//! with that variance gone (with no dominant key, the second half extends the first).
//!
//! The noise floor: random probe columns, unrelated to the score, are fitted with the keys;
//! a key is selected when its effect, in the full fit and in the median bootstrap refit,
//! is above the largest effect any probe reaches and above 1% of perf. Run/fail influence
//! is measured apart: per key, the failure share of configurations in the lower and the
//! upper half of its range (the design's and many free pre-checked draws), by a
//! two-proportion z-test at a family-wise 5%.

use crate::stages::determine::analysis::{Analysis, MIN_RAN, judged};
use crate::stages::determine::factorial::{self, Reader};
use crate::stages::determine::forest::{self, Design, ForestRuns, Opening};
use crate::stages::determine::groups::{self, GroupRuns};
use crate::stages::determine::measure::{Runner, passes_precheck};
use crate::stages::determine::oat;
use crate::stages::determine::select::{
    FLOOR_ALPHA, MIN_EFFECT, MethodResult, perf_share, z_bonferroni,
};
use crate::stages::determine::summary::EffectRow;
use crate::study::Study;
use crate::study::seed::{Purpose, derive};
use anyhow::{Result, bail};
use flink::space::Value;
use opt::gp::{self, FitOptions, Gp};
use opt::sensitivity;
use opt::stats::{median, std_dev};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// Random probe columns fitted with the keys (the noise floor), of three kinds, since a GP
/// reads a two-valued input differently from a continuous one: per kind, how many, and
/// how many levels their values take on [0, 1] (0: continuous).
const PROBE_KINDS: [(usize, usize); 3] = [(6, 0), (4, 2), (4, 3)];
/// Scores further than this many robust standard deviations from the GP's leave-one-out
/// prediction are pulled back to it before the final fit: the simulator, like a real p99,
/// has rare latency spikes, and a GP chasing one spike reads effects into whatever keys
/// single it out.
const OUTLIER_Z: f64 = 4.0;
/// Bootstrap refits of the GP (the effects' uncertainty).
const BOOTSTRAPS: usize = 6;
/// Base points of the Sobol' estimators (n·(d + 2) GP means each).
const SOBOL_POINTS: usize = 256;
/// Free pre-checked draws added to the run/fail influence.
const PRECHECK_SAMPLE: usize = 2000;
/// The smallest difference of failure shares between a key's halves that counts.
const MIN_FAIL_SHIFT: f64 = 0.05;

/// The fewest configurations the groups method adds to its two-level design with the
/// budget the group screening left.
const MIN_EXTENSION: usize = 10;

/// The groups method's first phase grows to half the budget when fewer of its
/// configurations than this ran (the regression over ~60 keys needs the degrees of freedom).
const FIRST_RAN: usize = 90;

/// The groups method's first phase has at least this many configurations (or half
/// the budget): fewer leave the regression over ~60 keys without degrees of freedom.
const FIRST_MIN: usize = 100;

/// Keys selected in the first phase with at least this effect are held fixed in the second.
const DOMINANT: f64 = 0.1;

/// One phase's design and the keys it held fixed.
pub(super) struct Phase {
    pub(super) runs: ForestRuns,
    fixed: Vec<(usize, Value)>,
}

/// What the method measured, and the first phase's analysis.
pub(super) struct SobolRuns {
    pub(super) phases: Vec<Phase>,
    first: Analysis,
    reading: Reading,
    /// The groups method's group screening, in place of the second phase.
    pub(super) groups: Option<GroupRuns>,
}

/// Phase `phase` (0 or 1) of a design of `samples` configurations, read by `reading`, with
/// the keys `fixed` held.
fn phase_design(
    samples: usize,
    phase: usize,
    fixed: &[(usize, Value)],
    reading: Reading,
) -> Design<'_> {
    Design {
        samples,
        tag: match reading {
            Reading::Gp => ["sb0", "sb1"][phase],
            Reading::Regression => ["ff0", "ff1"][phase],
        },
        salt: match phase {
            0 => 0,
            p => derive(0, Purpose::SobolPhase { phase: p as u64 }),
        },
        fixed,
        opening: match reading {
            Reading::Regression => Opening::TwoLevel,
            Reading::Gp => Opening::Spread,
        },
    }
}

/// Runs the two phases of a design of `samples` configurations.
pub(super) fn measure(
    runner: &mut Runner<'_>,
    samples: usize,
    reading: Reading,
) -> Result<SobolRuns> {
    let study = runner.study;
    let all: Vec<usize> = (0..study.space.len()).collect();
    let n0 = samples.div_ceil(2);
    let p0 = forest::measure(runner, &phase_design(n0, 0, &[], reading))?;
    let first = analyse(study, &[&p0], &all, 0, reading)?;
    let mut fixed = dominant(study, &first, &p0, reading);
    while !fixed.is_empty() && !forest::holdable(study, &fixed) {
        fixed.pop();
    }
    let p1 = forest::measure(runner, &phase_design(samples - n0, 1, &fixed, reading))?;
    Ok(SobolRuns {
        phases: vec![
            Phase {
                runs: p0,
                fixed: vec![],
            },
            Phase { runs: p1, fixed },
        ],
        first,
        reading,
        groups: None,
    })
}

/// The groups method: its two-level first phase, opened by a definitive screening design's
/// runnable rows (`definitive`) — 110 of 300 configurations (enough for the
/// regression to find the dominant keys; the rest visits more bases in groups), at least
/// FIRST_MIN (or half the budget), grown to half the budget when fewer than FIRST_RAN ran —
/// then the group screening with what is left, and what that leaves extends the design.
pub(super) fn measure_groups(runner: &mut Runner<'_>, samples: usize) -> Result<SobolRuns> {
    let study = runner.study;
    let reading = Reading::Regression;
    let n0 = (samples * 11)
        .div_ceil(30)
        .max(FIRST_MIN.min(samples.div_ceil(2)));
    let design = forest::Design {
        opening: Opening::Definitive,
        ..phase_design(n0, 0, &[], reading)
    };
    let p0 = forest::measure(runner, &design)?;
    let ran = p0.measured.iter().filter(|m| m.score.is_some()).count();
    let mut phases = vec![Phase {
        runs: p0,
        fixed: vec![],
    }];
    if ran < FIRST_RAN {
        let extra = samples.div_ceil(2).saturating_sub(n0);
        let runs = forest::measure(runner, &phase_design(extra, 1, &[], reading))?;
        phases.push(Phase {
            runs,
            fixed: vec![],
        });
    }
    let first = first_look(study, &phases)?;
    // The first look covers every key, in catalogue order.
    let skip: Vec<usize> = (0..study.space.len())
        .filter(|&i| first.selected[i])
        .collect();
    let dominant: Vec<usize> = skip
        .iter()
        .copied()
        .filter(|&i| first.effect[i].abs() >= DOMINANT)
        .collect();
    let groups = Some(groups::measure(runner, &phases[0].runs, &skip, &dominant)?);
    // What the groups left of the budget extends the two-level design (read with every run).
    let extra = (groups::left(runner) / study.file.determine.repeats) as usize;
    if extra >= MIN_EXTENSION && phases.len() == 1 {
        let runs = forest::measure(runner, &phase_design(extra, 1, &[], reading))?;
        phases.push(Phase {
            runs,
            fixed: vec![],
        });
    }
    Ok(SobolRuns {
        phases,
        first,
        reading,
        groups,
    })
}

/// The groups method's reading of its first phase(s), which steers the groups (the keys
/// it selects are not moved, its dominant keys order the bases) and is the verdict on the
/// keys it selects (the regression over every run has nothing new on them): a regression
/// over every key, its errors inflated as that one's are, or, when too few configurations
/// ran for one (a small budget), nothing selected — the regression over every run judges
/// the keys at the end.
fn first_look(study: &Study, phases: &[Phase]) -> Result<Analysis> {
    let k = study.space.len();
    let all: Vec<usize> = (0..k).collect();
    let runs: Vec<&ForestRuns> = phases.iter().map(|p| &p.runs).collect();
    let ran = runs
        .iter()
        .flat_map(|r| &r.measured)
        .filter(|m| m.score.is_some())
        .count();
    if ran > k + 1 {
        return factorial::analyse(study, &runs, &all, Reader::Groups);
    }
    Ok(Analysis {
        free: all,
        effect: vec![0.0; k],
        robust: vec![0.0; k],
        sd: vec![0.0; k],
        total_index: vec![0.0; k],
        first_index: vec![0.0; k],
        judged: vec![false; k],
        selected: vec![false; k],
        floor_of: vec![MIN_EFFECT; k],
        floor: MIN_EFFECT,
    })
}

/// The first phase's selected keys with an effect of at least DOMINANT (strongest first,
/// so that a hold the pre-check cannot meet drops the weakest), each held, for the
/// factorial reading, at the median of its values among the configurations that ran in the
/// better half of its range (the half with the higher mean score); for the GP's, at its
/// value in the one-at-a-time reference (Flink's default).
///
/// Why the better half: a dominant key at a poor value hides the others. On the simulator
/// the buffer timeout at Flink's default (100 ms) makes the p99 latency ~100 ms, and what
/// the heap sizes or the checkpoint interval add to it (GC pauses, alignment) is below 1%;
/// with the timeout where the job is fast those effects are tens of percent. It is also
/// where a search will look, so the keys that matter there are the ones to keep. Measured
/// on the screening benchmark (5 seeds), it raised the factorial method's recall on the
/// simulator from 0.45 / 0.41 to 0.47 / 0.45 (16 000 / 80 000 rec/s) and its precision
/// from 0.91 / 0.96 to 0.95 / 0.95; the GP's precision fell (0.88 / 0.95 to 0.78 / 0.82),
/// so the sobol method keeps the reference.
fn dominant(
    study: &Study,
    a: &Analysis,
    runs: &ForestRuns,
    reading: Reading,
) -> Vec<(usize, Value)> {
    let space = &study.space;
    let reference = oat::reference_config(space);
    let ran: Vec<(Vec<f64>, f64)> = runs
        .configs
        .iter()
        .zip(&runs.measured)
        .filter_map(|(c, m)| m.score.map(|s| (space.to_unit(c), s)))
        .collect();
    let mut order: Vec<usize> = (0..a.free.len())
        .filter(|&j| a.selected[j] && a.effect[j] >= DOMINANT)
        .collect();
    order.sort_by(|&x, &y| a.effect[y].total_cmp(&a.effect[x]));
    order
        .into_iter()
        .map(|j| a.free[j])
        .filter_map(|i| {
            let half = |high: bool| -> Vec<&(Vec<f64>, f64)> {
                ran.iter().filter(|r| (r.0[i] >= 0.5) == high).collect()
            };
            let mean = |h: &[&(Vec<f64>, f64)]| h.iter().map(|r| r.1).sum::<f64>() / h.len() as f64;
            let (low, high) = (half(false), half(true));
            if reading == Reading::Gp || low.is_empty() || high.is_empty() {
                return reference[i].clone().map(|v| (i, v));
            }
            let better = if mean(&high) > mean(&low) { high } else { low };
            let u = median(&better.iter().map(|r| r.0[i]).collect::<Vec<f64>>());
            Some((i, space.params[i].from_unit(u)))
        })
        .collect()
}

/// How a design is drawn and read: a space-filling design through a GP's Sobol' indices,
/// or a two-level design through least squares (`factorial`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Reading {
    Gp,
    Regression,
}

/// What the method found, per key and overall.
pub(super) struct SobolFound {
    pub(super) result: MethodResult,
    /// The effect floor of the analysis that judged the most keys.
    pub(super) floor: f64,
}

/// The method's effects: the second phase analysed (on its own over the keys it did not
/// hold, or pooled with the first when it held none); each key reported from the analysis
/// that selected it, else the last; fills the rows' sobol and run/fail columns.
pub(super) fn effects(
    study: &Study,
    runs: &SobolRuns,
    rows: &mut [EffectRow],
) -> Result<SobolFound> {
    let k = study.space.len();
    let held: Vec<usize> = runs
        .phases
        .get(1)
        .map_or(vec![], |p| p.fixed.iter().map(|f| f.0).collect());
    let last = match &runs.groups {
        Some(g) => Some(pooled_analysis(study, runs, g)?),
        None => last_analysis(study, runs, &held)?,
    };
    let last = last.as_ref().unwrap_or(&runs.first);
    let fail = fail_influence(study, runs);
    let (mut importance, mut floor) = (vec![0.0; k], vec![0.0; k]);
    // A key the first analysis selected and then held (the sobol method's second phase) or
    // never moved (the groups') keeps its verdict unless the last analysis selects it too:
    // the last has nothing new on it. With the groups, the parallelism (its effect at the
    // design's two levels, lost among every run's) and the segment size were missed 36
    // times in 160 runs of the simulator (80 seeds, two rates) without this, 8 with it.
    let first_stays =
        |i: usize| runs.first.selected[i] && (!held.is_empty() || runs.groups.is_some());
    for (i, row) in rows.iter_mut().enumerate() {
        // The first analysis covers every key, in catalogue order.
        let (a, j) = match last.free.iter().position(|&f| f == i) {
            Some(j) if last.selected[j] || !first_stays(i) => (last, j),
            _ => (&runs.first, i),
        };
        row.sobol_effect = Some(a.effect[j]);
        row.sobol_effect_sd = Some(a.sd[j]);
        row.sobol_total_index = Some(a.total_index[j]);
        row.sobol_first_index = Some(a.first_index[j]);
        row.judged = Some(a.judged[j]);
        importance[i] = a.robust[j];
        floor[i] = a.floor_of[j];
    }
    for (i, row) in rows.iter_mut().enumerate() {
        row.fail_influence = Some(fail[i].0);
        row.decides_run = Some(fail[i].1);
    }
    if let Some(g) = &runs.groups {
        add_groups(g, rows, &mut importance, &mut floor);
    }
    let result = MethodResult {
        share: importance.iter().map(|&v| perf_share(v)).collect(),
        floor,
        importance,
    };
    Ok(SobolFound {
        result,
        floor: last.floor,
    })
}

/// The second phase's analysis: on its own over the keys it did not hold (`held`), or
/// pooled with the first when it held none; None without a second phase.
fn last_analysis(study: &Study, runs: &SobolRuns, held: &[usize]) -> Result<Option<Analysis>> {
    let k = study.space.len();
    let Some(second) = runs.phases.get(1) else {
        return Ok(None);
    };
    let (phases, free): (Vec<&ForestRuns>, Vec<usize>) = match held.is_empty() {
        true => (vec![&runs.phases[0].runs, &second.runs], (0..k).collect()),
        false => (
            vec![&second.runs],
            (0..k).filter(|i| !held.contains(i)).collect(),
        ),
    };
    analyse(study, &phases, &free, 1, runs.reading).map(Some)
}

/// The groups method's main effects, read from every run: its two-level design's
/// phases and every run of the group screening (bases, groups, confirmations), each coded
/// by the side of the design's middle its keys are on. Why: the design alone holds ~110 of
/// the 300 runs; the groups' runs move the undecided keys to their ends from many bases,
/// which is what a main effect needs, and leaving them out cost 0.1–0.24 recall on the
/// synthetic main effects.
fn pooled_analysis(study: &Study, runs: &SobolRuns, g: &GroupRuns) -> Result<Analysis> {
    let all: Vec<usize> = (0..study.space.len()).collect();
    let design: Vec<&ForestRuns> = runs.phases.iter().map(|p| &p.runs).collect();
    let (rows, block) = groups::as_rows(g);
    let extra = factorial::Blocked {
        runs: &rows,
        block: &block,
    };
    factorial::analyse_with(study, &design, extra, &all)
}

/// The group screening's effects into the rows' one-at-a-time columns (a key's largest
/// change by a single move, against its base); a key the groups select and the factorial
/// phase did not is judged by that change and its bound.
fn add_groups(g: &GroupRuns, rows: &mut [EffectRow], importance: &mut [f64], floor: &mut [f64]) {
    let found = groups::effects(g, rows.len());
    for (i, (row, f)) in rows.iter_mut().zip(found).enumerate() {
        if let Some((value, change)) = &f.best {
            row.oat_effect = Some(change.abs());
            row.oat_best_value = Some(value.to_string());
            row.oat_best_change = Some(*change);
        }
        if f.failed > 0 {
            row.oat_failed_levels = Some(f.failed);
        }
        if f.selected && importance[i] <= floor[i] {
            importance[i] = f.best.as_ref().map_or(0.0, |b| b.1.abs());
            floor[i] = f.bound;
        }
    }
}

/// Fits the GP on the configurations of `phases` that ran, over the keys `free` and the
/// probes, and reads it through the Sobol' estimators. `salt` keeps the analyses' random
/// streams apart. Fails when fewer than MIN_RAN configurations ran.
fn analyse(
    study: &Study,
    phases: &[&ForestRuns],
    free: &[usize],
    salt: u64,
    reading: Reading,
) -> Result<Analysis> {
    match reading {
        Reading::Gp => analyse_gp(study, phases, free, salt),
        Reading::Regression => factorial::analyse(study, phases, free, Reader::Factorial),
    }
}

/// The GP's analysis (see `analyse`).
fn analyse_gp(
    study: &Study,
    phases: &[&ForestRuns],
    free: &[usize],
    salt: u64,
) -> Result<Analysis> {
    let space = &study.space;
    let seed = derive(study.file.seed, Purpose::ScreeningImportance) ^ salt;
    let mut rng = StdRng::seed_from_u64(seed);
    let (mut x, mut y, mut total) = (Vec::new(), Vec::new(), 0);
    for runs in phases {
        for (c, m) in runs.configs.iter().zip(&runs.measured) {
            total += 1;
            // Probes for every configuration, in order, so they do not depend on which ran.
            let probes = draw_probes(&mut rng);
            if let Some(score) = m.score {
                let u = space.to_unit(c);
                let mut row: Vec<f64> = free.iter().map(|&i| u[i]).collect();
                row.extend(probes);
                x.push(row);
                y.push(score);
            }
        }
    }
    if x.len() < MIN_RAN {
        bail!(
            "only {} of the {total} screening configurations ran; the sobol method needs at \
             least {MIN_RAN} (raise [determine] budget, lower the rate, or fix what makes \
             them fail: see determine's trials)",
            x.len()
        );
    }
    let k = free.len();
    let (full, boot) = total_effects(&x, &y, seed)?;
    let floors = probe_floors(&full, &boot, k);
    let level_kind: Vec<usize> = free.iter().map(|&i| probe_kind(&space.params[i])).collect();
    let floor = floors.iter().copied().fold(MIN_EFFECT, f64::max);
    let judged = judged(&x, k);
    let mut a = Analysis {
        free: free.to_vec(),
        effect: full.effect[..k].to_vec(),
        robust: vec![0.0; k],
        sd: vec![0.0; k],
        total_index: full.total_index[..k].to_vec(),
        first_index: full.first_index[..k].to_vec(),
        judged,
        selected: vec![false; k],
        floor_of: vec![floor; k],
        floor,
    };
    for j in 0..k {
        let reps: Vec<f64> = boot.iter().map(|b| b.effect[j]).collect();
        a.sd[j] = std_dev(&reps);
        // In the full fit and the median refit; a key the design could not move through
        // its range is not selected on a guess.
        if a.judged[j] {
            a.robust[j] = full.effect[j].min(median(&reps));
        }
        a.floor_of[j] = floors[level_kind[j]].max(MIN_EFFECT);
        a.selected[j] = a.robust[j] > a.floor_of[j];
    }
    Ok(a)
}

/// One fit's sensitivity: per input (keys, then probes) the effect √(12·V_Ti) and the
/// total and first-order indices.
struct Sensitivity {
    effect: Vec<f64>,
    total_index: Vec<f64>,
    first_index: Vec<f64>,
}

fn sensitivity_of(gp: &Gp, d: usize, points: usize, seed: u64) -> Sensitivity {
    let mut rng = StdRng::seed_from_u64(seed);
    let f = |xs: &[Vec<f64>]| -> Vec<f64> { xs.iter().map(|x| gp.mean(x)).collect() };
    let s = sensitivity::sobol(&f, d, points, &mut rng);
    Sensitivity {
        effect: s.total.iter().map(|v| (12.0 * v.max(0.0)).sqrt()).collect(),
        total_index: s.total_order(),
        first_index: s.first_order(),
    }
}

/// The scores with those further than OUTLIER_Z robust standard deviations (1.4826 × the
/// median absolute leave-one-out residual) from the GP's leave-one-out prediction pulled
/// back to that distance.
fn without_outliers(gp: &Gp, y: &[f64]) -> Vec<f64> {
    let loo = gp.loo_means();
    let resid: Vec<f64> = y.iter().zip(&loo).map(|(a, b)| a - b).collect();
    let sigma = 1.4826 * median(&resid.iter().map(|r| r.abs()).collect::<Vec<_>>());
    let bound = OUTLIER_Z * sigma;
    y.iter()
        .zip(&loo)
        .zip(&resid)
        .map(|((&v, &m), &r)| {
            if r.abs() > bound && bound > 0.0 {
                m + bound * r.signum()
            } else {
                v
            }
        })
        .collect()
}

/// The GP fitted on all configurations that ran and BOOTSTRAPS refits on resamples (warm
/// started from the full fit), each read through the Sobol' estimators.
fn total_effects(x: &[Vec<f64>], y: &[f64], seed: u64) -> Result<(Sensitivity, Vec<Sensitivity>)> {
    let d = x[0].len();
    let opts = FitOptions {
        restarts: 2,
        max_iters: 80,
        seed,
        ..FitOptions::default()
    };
    let first = gp::fit(x, y, &opts, None)?;
    let y = &without_outliers(&first, y);
    let gp = gp::fit(x, y, &opts, Some(first.hyper()))?;
    let full = sensitivity_of(&gp, d, SOBOL_POINTS, seed);
    let mut rng = StdRng::seed_from_u64(seed ^ 0xb007);
    let warm = FitOptions {
        restarts: 0,
        max_iters: 30,
        seed,
        ..FitOptions::default()
    };
    let mut boot = Vec::with_capacity(BOOTSTRAPS);
    for b in 0..BOOTSTRAPS {
        let pick: Vec<usize> = (0..x.len()).map(|_| rng.random_range(0..x.len())).collect();
        let xb: Vec<Vec<f64>> = pick.iter().map(|&i| x[i].clone()).collect();
        let yb: Vec<f64> = pick.iter().map(|&i| y[i]).collect();
        let g = gp::fit(&xb, &yb, &warm, Some(gp.hyper()))?;
        boot.push(sensitivity_of(
            &g,
            d,
            SOBOL_POINTS / 2,
            seed.wrapping_add(b as u64 + 1),
        ));
    }
    Ok((full, boot))
}

/// One configuration's probe values, kind after kind (PROBE_KINDS).
fn draw_probes(rng: &mut StdRng) -> Vec<f64> {
    let mut out = Vec::new();
    for (count, levels) in PROBE_KINDS {
        for _ in 0..count {
            let u = rng.random::<f64>();
            out.push(match levels {
                0 => u,
                l => (u * l as f64).floor().min(l as f64 - 1.0) / (l as f64 - 1.0),
            });
        }
    }
    out
}

/// Which kind of probe calibrates a key: 1 for a bool, 2 for an enum, 0 otherwise.
fn probe_kind(p: &flink::space::Param) -> usize {
    match p.kind {
        flink::space::Kind::Bool => 1,
        flink::space::Kind::Enum => 2,
        _ => 0,
    }
}

/// Per kind of probe, the largest effect a probe of that kind (an input unrelated to the
/// score) reaches in the full fit or any refit: what noise and the GP's flexibility alone
/// give an inert key of that kind.
fn probe_floors(full: &Sensitivity, boot: &[Sensitivity], k: usize) -> Vec<f64> {
    let mut from = k;
    PROBE_KINDS
        .iter()
        .map(|&(count, _)| {
            let range = from..from + count;
            from += count;
            std::iter::once(full)
                .chain(boot)
                .flat_map(|s| s.effect[range.clone()].iter().copied())
                .fold(0.0_f64, f64::max)
        })
        .collect()
}

/// Per key: the failure share of the upper half of its range minus the lower half's, over
/// the Latin hypercube halves of the design where the key was not held (failed = could not
/// run) and
/// PRECHECK_SAMPLE free random draws (failed = the pre-check refuses), and whether that
/// difference passes a two-proportion z-test at a family-wise FLOOR_ALPHA over the keys and
/// is at least MIN_FAIL_SHIFT.
fn fail_influence(study: &Study, runs: &SobolRuns) -> Vec<(f64, bool)> {
    let space = &study.space;
    let k = space.len();
    let mut rng = StdRng::seed_from_u64(derive(study.file.seed, Purpose::ScreeningForest));
    // (unit values, held keys, failed)
    let mut outcomes: Vec<(Vec<f64>, Vec<usize>, bool)> = Vec::new();
    for phase in &runs.phases {
        let held: Vec<usize> = phase.fixed.iter().map(|f| f.0).collect();
        let design = phase.runs.configs.iter().zip(&phase.runs.measured);
        // Only the Latin hypercube halves: the second halves are chosen by the run/fail
        // forest, and choosing on predicted runs ties the keys' values to each other.
        for (c, m) in design.take(phase.runs.lhs) {
            outcomes.push((space.to_unit(c), held.clone(), m.score.is_none()));
        }
    }
    for _ in 0..PRECHECK_SAMPLE {
        let u: Vec<f64> = (0..k).map(|_| rng.random::<f64>()).collect();
        let failed = !passes_precheck(study, &space.from_unit(&u));
        outcomes.push((u, vec![], failed));
    }
    let z = z_bonferroni(FLOOR_ALPHA, k);
    (0..k)
        .map(|i| {
            let (mut n, mut f) = ([0.0_f64; 2], [0.0_f64; 2]);
            for (u, _, failed) in outcomes.iter().filter(|o| !o.1.contains(&i)) {
                let half = usize::from(u[i] >= 0.5);
                n[half] += 1.0;
                f[half] += f64::from(u8::from(*failed));
            }
            if n[0] == 0.0 || n[1] == 0.0 {
                return (0.0, false);
            }
            let (p0, p1) = (f[0] / n[0], f[1] / n[1]);
            let p = (f[0] + f[1]) / (n[0] + n[1]);
            let se = (p * (1.0 - p) * (1.0 / n[0] + 1.0 / n[1])).sqrt();
            let decides =
                se > 0.0 && ((p1 - p0) / se).abs() > z && (p1 - p0).abs() >= MIN_FAIL_SHIFT;
            (p1 - p0, decides)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidates_study(dir: &std::path::Path) -> Study {
        let text = crate::study::template(None)
            .replace("\"flink-1.11-key-params\"", "\"flink-1.11-candidates\"");
        std::fs::write(dir.join("flinktune.toml"), text).unwrap();
        Study::load(dir).unwrap()
    }

    #[test]
    fn holds_the_pre_check_cannot_meet_are_told_apart_from_those_it_can() {
        let d = tempfile::tempdir().unwrap();
        let study = candidates_study(d.path());
        let at = |name: &str| study.space.index_of(name).unwrap();
        let (p, slots) = (
            at("parallelism.default"),
            at("taskmanager.numberOfTaskSlots"),
        );
        assert!(forest::holdable(&study, &[]));
        assert!(forest::holdable(&study, &[(p, Value::Int(1))]));
        // 200 parallel tasks in one slot per TaskManager: more than the cluster offers.
        let over = [(p, Value::Int(200)), (slots, Value::Int(1))];
        assert!(!forest::holdable(&study, &over));
    }
}
