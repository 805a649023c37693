//! The bifurcation method's second step: group screening of end moves by sequential
//! bifurcation, around two bases — Flink's default (the one-at-a-time reference) and the
//! best configuration the first (factorial) phase ran.
//!
//! Why: a two-level design kept in the runnable region never takes a key to the ends of its
//! range, where the heap sizes, the task slots or the checkpoint interval act on the
//! simulator, and keys that act only around Flink's default are never seen from elsewhere.
//! Moving each key alone to each end costs about two configurations per key and base —
//! one base's worth of the budget. Moving a *group* of keys at once to their ends and
//! comparing with the base costs one configuration per group; a group whose change passes
//! the bound is split in halves, one that does not is dropped with all its keys, so the
//! budget goes to the few keys that act, around both bases.
//!
//! The groups: per base, the moves of every key the first phase did not select, to its
//! low end (the first value of a bool or an enum) and to its high end (the last), in
//! separate groups — a key's two ends move perf in opposite directions and a key's low
//! end with another's high end more often cancel. Within a side, the moves are ordered by
//! the change the first phase's two-level contrast predicts (so moves likely to act the
//! same way share groups), and cut into groups of at most GROUP_SIZE that pass the
//! pre-check together. An end the pre-check refuses for the key alone is retried a quarter
//! of the range inward.
//!
//! The tests, in two stages. Screening: a group runs GROUP_RUNS times (the second only
//! when the first ran) and its change is the median of its runs against the median of the
//! base's BASE_RUNS; it is split when the change passes SPLIT_Z standard errors and 1% (the
//! noise pooled over every configuration measured more than once, robustly: the median
//! absolute deviation), dropped otherwise. A screening threshold, not a selection: a false
//! split costs a few runs, never a key. A group that cannot run is split too (last: its
//! halves wait behind those of groups that showed a change). Confirmation: a single move
//! the screening passes runs CONFIRM_RUNS times afresh, and only those runs judge it — the
//! median against the base's, Student's t bound Bonferroni over the confirmations (the
//! screening that chose them used other runs, so noise passes for none of them but with
//! probability 5%). One run in ~100 has a latency spike of 1.5–5.5× on the simulator (more
//! on real Flink): a group holding one is split for nothing, but a spike does not pass the
//! confirmation's median.
//!
//! The budget: the groups are tested most promising first (their parent's change in
//! standard errors), a single move with its confirmation's runs set aside, so the budget
//! does not end between a move's screening and its confirmation. Runs left when nothing is
//! pending give the dropped groups that came closest to the threshold (RETRY_Z) a second
//! chance with GROUP_RUNS more runs; what is still left goes back to the two-level design
//! (`sobol::measure`).

use crate::stages::determine::forest::ForestRuns;
use crate::stages::determine::measure::{Measured, Runner, passes_precheck};
use crate::stages::determine::oat::reference_config;
use crate::stages::determine::select::{FLOOR_ALPHA, MIN_EFFECT, t_bonferroni};
use crate::study::Study;
use anyhow::Result;
use flink::space::{Config, Kind, Value};
use opt::stats::median;

/// Runs of each base.
const BASE_RUNS: u64 = 8;
/// Runs of each group.
const GROUP_RUNS: u64 = 2;
/// Fresh runs of a single move the screening passes, which alone judge it.
const CONFIRM_RUNS: u64 = 3;
/// A group is split (a single move confirmed) when its change passes this many standard
/// errors: a screening threshold, not a selection (a false split costs runs, not a key).
const SPLIT_Z: f64 = 2.0;
/// A dropped group whose change reached this many standard errors gets a second chance
/// when the budget has runs left over.
const RETRY_Z: f64 = 1.0;
/// Moves in a group at most.
const GROUP_SIZE: usize = 12;
/// A move is risky when the first phase's configurations on its side of the key's range
/// failed this much more often than on the other side.
const RISKY: f64 = 0.05;
/// Where an end the pre-check refuses is retried, on the unit scale from that end.
const INWARD: f64 = 0.25;
/// A median's variance over the mean's, for a normal sample (π/2).
const MEDIAN_VAR: f64 = std::f64::consts::FRAC_PI_2;

/// One key moved from a base to a new value.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Move {
    pub(super) key: usize,
    pub(super) value: Value,
}

/// One tested group: its configuration's id, its base (index into `GroupRuns::bases`),
/// its moves, its runs.
pub(super) struct Test {
    pub(super) id: String,
    pub(super) base: usize,
    pub(super) moves: Vec<Move>,
    /// The screening's runs.
    pub(super) m: Measured,
    /// A single move's confirming runs (fresh ones), when the screening passed it.
    pub(super) confirm: Option<Measured>,
    /// The repeats its screening spent (its confirmation's follow them).
    pub(super) repeats: u64,
}

/// What the arm measured.
pub(super) struct GroupRuns {
    /// The bases that ran, and their runs.
    pub(super) bases: Vec<(Config, Measured)>,
    /// Every group tested, in the order measured (a confirmed move's runs all in one).
    pub(super) tests: Vec<Test>,
}

/// The noise of one run, pooled, and its degrees of freedom.
#[derive(Clone, Copy, Debug)]
struct Noise {
    sigma: f64,
    dof: usize,
}

/// What a test says.
#[derive(Debug, PartialEq)]
enum Verdict {
    /// Below the bound: every move in it is dropped.
    Drop,
    /// Above the bound, or could not run: its halves are tested.
    Split,
    /// A single move above the bound on its first runs: run it again.
    Confirm,
    /// A single move judged on all its runs (or one that could not run).
    Done,
}

/// Which end of the keys' ranges a group moves them to.
#[derive(Clone, Copy, PartialEq)]
enum Side {
    Low,
    High,
}

/// `base` with the moves applied.
fn apply(base: &Config, moves: &[Move]) -> Config {
    let mut c = base.clone();
    for mv in moves {
        c[mv.key] = Some(mv.value.clone());
    }
    c
}

/// Key `i`'s move to one end from `base`: that end (the first or last value of a bool or
/// an enum), or, for a number the pre-check refuses there, the value INWARD of the range
/// from it; None when that is the base's value or neither passes.
fn end_move(study: &Study, base: &Config, i: usize, side: Side) -> Option<Move> {
    let p = &study.space.params[i];
    let end = if side == Side::Low { 0.0 } else { 1.0 };
    let mut tries = vec![end];
    if matches!(p.kind, Kind::Int | Kind::Float) {
        tries.push((end - INWARD).abs());
    }
    tries.into_iter().find_map(|u| {
        let mv = Move {
            key: i,
            value: p.from_unit(u),
        };
        let fresh = base[i].as_ref() != Some(&mv.value);
        (fresh && passes_precheck(study, &apply(base, std::slice::from_ref(&mv)))).then_some(mv)
    })
}

/// Per key, from the first phase's configurations: the two-level contrast of the score
/// (the mean score of those that ran with the key in the upper half of its range minus the
/// lower half's) and of failing (the share that could not run in the upper half minus the
/// lower half's).
struct Contrasts {
    score: Vec<f64>,
    fail: Vec<f64>,
}

fn contrasts(study: &Study, first: &ForestRuns) -> Contrasts {
    let space = &study.space;
    let all: Vec<(Vec<f64>, Option<f64>)> = first
        .configs
        .iter()
        .zip(&first.measured)
        .map(|(c, m)| (space.to_unit(c), m.score))
        .collect();
    let mean = |v: Vec<f64>| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let half = |i: usize, high: bool, f: &dyn Fn(&Option<f64>) -> Option<f64>| {
        let in_half = all.iter().filter(|r| (r.0[i] >= 0.5) == high);
        mean(in_half.filter_map(|r| f(&r.1)).collect())
    };
    let score = |s: &Option<f64>| *s;
    let failed = |s: &Option<f64>| Some(f64::from(u8::from(s.is_none())));
    let k = space.len();
    Contrasts {
        score: (0..k)
            .map(|i| half(i, true, &score) - half(i, false, &score))
            .collect(),
        fail: (0..k)
            .map(|i| half(i, true, &failed) - half(i, false, &failed))
            .collect(),
    }
}

/// The groups of one base and side: the moves of the keys not in `skip`, those the first
/// phase saw fail more often on their side (by RISKY) last, each part ordered by the change
/// the contrasts predict (largest gain first); cut into groups of at most GROUP_SIZE that
/// pass the pre-check together (a move that breaks the current group's waits for the next).
/// Why the risky moves apart: a group that cannot run says nothing about the others in it,
/// and finding which move broke it costs a trial per half.
fn side_groups(
    study: &Study,
    base: &Config,
    side: Side,
    skip: &[usize],
    contrast: &Contrasts,
) -> Vec<Vec<Move>> {
    let at = study.space.to_unit(base);
    let target = if side == Side::Low { 0.0 } else { 1.0 };
    let mut moves: Vec<(bool, f64, Move)> = (0..study.space.len())
        .filter(|i| !skip.contains(i))
        .filter_map(|i| end_move(study, base, i, side))
        .map(|mv| {
            let toward = target - at[mv.key];
            let risky = contrast.fail[mv.key] * toward > RISKY;
            (risky, contrast.score[mv.key] * toward, mv)
        })
        .collect();
    moves.sort_by(|a, b| {
        (a.0.cmp(&b.0))
            .then(b.1.total_cmp(&a.1))
            .then(a.2.key.cmp(&b.2.key))
    });
    let mut rest: Vec<Move> = moves.into_iter().map(|m| m.2).collect();
    let mut out = Vec::new();
    while !rest.is_empty() {
        let (mut group, mut later) = (Vec::new(), Vec::new());
        for mv in rest {
            let mut with = group.clone();
            with.push(mv.clone());
            match group.len() < GROUP_SIZE && passes_precheck(study, &apply(base, &with)) {
                true => group = with,
                false => later.push(mv),
            }
        }
        // Each move passes alone, so every pass takes at least one.
        out.push(group);
        rest = later;
    }
    out
}

/// The bases: Flink's default and the best configuration of `first` that ran (when it
/// differs), each passing the pre-check.
fn base_configs(study: &Study, first: &ForestRuns) -> Vec<Config> {
    let reference = reference_config(&study.space);
    let best = first
        .configs
        .iter()
        .zip(&first.measured)
        .filter_map(|(c, m)| m.score.map(|s| (c, s)))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(c, _)| c.clone());
    std::iter::once(reference)
        .chain(best)
        .filter(|c| passes_precheck(study, c))
        .fold(Vec::new(), |mut out, c| {
            if !out.contains(&c) {
                out.push(c);
            }
            out
        })
}

/// Runs the arm within what is left of the budget: the bases, then the groups level by
/// level (confirmations first), as long as the budget pays for them; a group the budget
/// cannot pay for is left untested. Keys in `skip` (selected already) are not moved.
pub(super) fn measure(
    runner: &mut Runner<'_>,
    first: &ForestRuns,
    skip: &[usize],
) -> Result<GroupRuns> {
    let study = runner.study;
    let configs = base_configs(study, first);
    let affordable = (left(runner) / BASE_RUNS) as usize;
    let items: Vec<(String, Config)> = configs
        .into_iter()
        .take(affordable)
        .enumerate()
        .map(|(b, c)| (format!("gs{b}-base"), c))
        .collect();
    let measured = runner.measure_all(&items, BASE_RUNS)?;
    let bases: Vec<(Config, Measured)> = items
        .into_iter()
        .zip(measured)
        .filter(|(_, m)| m.score.is_some())
        .map(|((_, c), m)| (c, m))
        .collect();
    let contrast = contrasts(study, first);
    let mut pending: Vec<Pending> = Vec::new();
    for (b, (base, _)) in bases.iter().enumerate() {
        for side in [Side::Low, Side::High] {
            let groups = side_groups(study, base, side, skip, &contrast);
            pending.extend(groups.into_iter().map(|g| (b, g, f64::INFINITY)));
        }
    }
    let mut runs = GroupRuns {
        bases,
        tests: Vec::new(),
    };
    bisect(runner, &mut runs, pending)?;
    Ok(runs)
}

/// Trials left in the budget.
pub(super) fn left(runner: &Runner<'_>) -> u64 {
    runner.budget.saturating_sub(runner.spent())
}

/// A group waiting to be tested: its base, its moves, and its priority (its parent's
/// |change| in standard errors; 0 when the parent could not run).
type Pending = (usize, Vec<Move>, f64);

/// The rounds of the bifurcation: each measures the confirmations, then the pending groups
/// the budget pays for, most promising first, each single move with the runs of its
/// possible confirmation set aside (so the budget does not end between a move's screening
/// and its confirmation); then judges the groups: splits, confirmations and drops. When
/// nothing is pending and budget is left, the dropped groups that came closest to the
/// threshold get a second chance with GROUP_RUNS more runs (`second_chance`).
fn bisect(runner: &mut Runner<'_>, runs: &mut GroupRuns, mut pending: Vec<Pending>) -> Result<()> {
    let mut confirm: Vec<usize> = Vec::new();
    for round in 0.. {
        let mut budget = left(runner);
        confirm.retain(|_| {
            let fits = budget >= CONFIRM_RUNS;
            budget -= if fits { CONFIRM_RUNS } else { 0 };
            fits
        });
        afford(runner.study, runs, &mut pending, &mut budget);
        let retry = match confirm.is_empty() && pending.is_empty() {
            true => second_chance(runs, budget),
            false => Vec::new(),
        };
        if confirm.is_empty() && pending.is_empty() && retry.is_empty() {
            break;
        }
        confirm_moves(runner, runs, &confirm)?;
        measure_again(runner, runs, &retry)?;
        let from = runs.tests.len();
        let tested = std::mem::take(&mut pending);
        measure_groups(
            runner,
            runs,
            tested.into_iter().map(|p| (p.0, p.1)).collect(),
            round,
        )?;
        let judged: Vec<usize> = retry.into_iter().chain(from..runs.tests.len()).collect();
        confirm = judge(runs, &judged, &mut pending);
    }
    Ok(())
}

/// Keeps the pending groups the budget pays for, most promising first (a group the
/// pre-check refuses costs nothing; a single move also sets its confirmation's runs aside).
fn afford(study: &Study, runs: &GroupRuns, pending: &mut Vec<Pending>, budget: &mut u64) {
    pending.sort_by(|a, b| b.2.total_cmp(&a.2));
    pending.retain(|(b, g, _)| {
        let runnable = passes_precheck(study, &apply(&runs.bases[*b].0, g));
        let reserve = if g.len() == 1 { CONFIRM_RUNS } else { 0 };
        let cost = if runnable { GROUP_RUNS + reserve } else { 0 };
        let fits = *budget >= cost;
        *budget -= if fits { cost } else { 0 };
        fits
    });
}

/// The tests `judged` screened: the halves of those to split go to `pending` (their
/// priority the parent's |change| in standard errors); returns the single moves to confirm.
fn judge(runs: &GroupRuns, judged: &[usize], pending: &mut Vec<Pending>) -> Vec<usize> {
    let noise = noise(runs);
    let mut confirm = Vec::new();
    for &t in judged {
        let test = &runs.tests[t];
        match screen(runs, test, noise) {
            Verdict::Split => {
                let priority = z_of(runs, test, noise);
                let half = test.moves.len().div_ceil(2);
                let (a, b) = test.moves.split_at(half);
                pending.push((test.base, a.to_vec(), priority));
                pending.push((test.base, b.to_vec(), priority));
            }
            Verdict::Confirm => confirm.push(t),
            Verdict::Drop | Verdict::Done => {}
        }
    }
    confirm
}

/// A test's |change| in standard errors (0 when it could not run).
fn z_of(runs: &GroupRuns, test: &Test, noise: Noise) -> f64 {
    let (d, se) = change(runs, test.base, &test.m, noise);
    d.map_or(0.0, |d| d.abs() / se.max(f64::MIN_POSITIVE))
}

/// The dropped tests, not yet run again, whose change reached RETRY_Z standard errors,
/// closest to the threshold first, as many as `budget` pays for (GROUP_RUNS more runs
/// each, and a single move's confirmation set aside).
fn second_chance(runs: &GroupRuns, mut budget: u64) -> Vec<usize> {
    let noise = noise(runs);
    let mut candidates: Vec<(usize, f64)> = (0..runs.tests.len())
        .filter(|&t| {
            let test = &runs.tests[t];
            test.repeats == GROUP_RUNS && screen(runs, test, noise) == Verdict::Drop
        })
        .map(|t| (t, z_of(runs, &runs.tests[t], noise)))
        .filter(|c| c.1 >= RETRY_Z)
        .collect();
    candidates.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut out = Vec::new();
    for (t, _) in candidates {
        let single = runs.tests[t].moves.len() == 1;
        let cost = GROUP_RUNS + if single { CONFIRM_RUNS } else { 0 };
        if budget >= cost {
            budget -= cost;
            out.push(t);
        }
    }
    out
}

/// Runs the tests `which` GROUP_RUNS more times, their screening then over all their runs.
fn measure_again(runner: &mut Runner<'_>, runs: &mut GroupRuns, which: &[usize]) -> Result<()> {
    let items: Vec<(String, Config)> = which
        .iter()
        .map(|&t| {
            let test = &runs.tests[t];
            (
                test.id.clone(),
                apply(&runs.bases[test.base].0, &test.moves),
            )
        })
        .collect();
    let more = runner.measure_repeats(&items, GROUP_RUNS, GROUP_RUNS)?;
    for (&t, extra) in which.iter().zip(more) {
        let test = &mut runs.tests[t];
        test.m.runs.extend(extra.runs);
        test.repeats += GROUP_RUNS;
        test.m.score = (test.m.runs.len() as u64 * 2 >= test.repeats).then(|| median(&test.m.runs));
    }
    Ok(())
}

/// Measures the groups `pending` (base, moves): one run each, then the rest of their
/// GROUP_RUNS for those whose first run passed (a group that cannot run spends one trial).
fn measure_groups(
    runner: &mut Runner<'_>,
    runs: &mut GroupRuns,
    pending: Vec<(usize, Vec<Move>)>,
    round: usize,
) -> Result<()> {
    let items: Vec<(String, Config)> = pending
        .iter()
        .enumerate()
        .map(|(n, (b, g))| {
            (
                format!("gs{b}-r{round}-{n:03}"),
                apply(&runs.bases[*b].0, g),
            )
        })
        .collect();
    let mut measured = runner.measure_all(&items, 1)?;
    let again: Vec<usize> = (0..items.len())
        .filter(|&n| measured[n].score.is_some())
        .collect();
    let more_items: Vec<(String, Config)> = again.iter().map(|&n| items[n].clone()).collect();
    let more = runner.measure_repeats(&more_items, 1, GROUP_RUNS - 1)?;
    for (&n, extra) in again.iter().zip(more) {
        let m = &mut measured[n];
        m.runs.extend(extra.runs);
        m.score = (m.runs.len() as u64 * 2 >= GROUP_RUNS).then(|| median(&m.runs));
    }
    for (((base, moves), m), (id, _)) in pending.into_iter().zip(measured).zip(items) {
        runs.tests.push(Test {
            id,
            base,
            moves,
            m,
            confirm: None,
            repeats: GROUP_RUNS,
        });
    }
    Ok(())
}

/// Runs the single moves of tests `which` CONFIRM_RUNS more times, as fresh runs of their
/// own (`Test::confirm`).
fn confirm_moves(runner: &mut Runner<'_>, runs: &mut GroupRuns, which: &[usize]) -> Result<()> {
    let items: Vec<(String, Config)> = which
        .iter()
        .map(|&t| {
            let test = &runs.tests[t];
            (
                test.id.clone(),
                apply(&runs.bases[test.base].0, &test.moves),
            )
        })
        .collect();
    // Each test's confirmation follows its screening's repeats (GROUP_RUNS, or twice that
    // after a second chance): a batch per count, so every trial keeps its repeat.
    for from in [GROUP_RUNS, 2 * GROUP_RUNS] {
        let batch: Vec<usize> = (0..which.len())
            .filter(|&n| runs.tests[which[n]].repeats == from)
            .collect();
        let part: Vec<(String, Config)> = batch.iter().map(|&n| items[n].clone()).collect();
        let more = runner.measure_repeats(&part, from, CONFIRM_RUNS)?;
        for (&n, extra) in batch.iter().zip(more) {
            runs.tests[which[n]].confirm = Some(extra);
        }
    }
    Ok(())
}

/// The noise of one run, pooled over the bases and every test measured more than once:
/// 1.4826 × the median absolute deviation from each configuration's median, each deviation
/// scaled by √(n / (n − 1)) for the median fitted on its own n runs (exact for pairs).
fn noise(runs: &GroupRuns) -> Noise {
    let groups = runs
        .bases
        .iter()
        .map(|b| &b.1.runs)
        .chain(runs.tests.iter().map(|t| &t.m.runs))
        .chain(
            runs.tests
                .iter()
                .filter_map(|t| t.confirm.as_ref().map(|c| &c.runs)),
        )
        .filter(|r| r.len() >= 2);
    let (mut dev, mut dof) = (Vec::new(), 0);
    for g in groups {
        let (med, n) = (median(g), g.len() as f64);
        dev.extend(g.iter().map(|x| (x - med).abs() * (n / (n - 1.0)).sqrt()));
        dof += g.len() - 1;
    }
    let sigma = match dev.is_empty() {
        true => 0.0,
        false => 1.4826 * median(&dev),
    };
    Noise { sigma, dof }
}

/// The variance of a median of n runs over one run's (the mean's for n ≤ 2).
fn median_var(n: usize) -> f64 {
    let n = n.max(1) as f64;
    if n <= 2.0 { 1.0 / n } else { MEDIAN_VAR / n }
}

/// The change of measurement `m` against base `base` (median against median; None: it
/// could not run) and its standard error.
fn change(runs: &GroupRuns, base: usize, m: &Measured, noise: Noise) -> (Option<f64>, f64) {
    let base = &runs.bases[base].1;
    let se = noise.sigma * (median_var(m.runs.len()) + median_var(base.runs.len())).sqrt();
    (m.score.map(|s| s - median(&base.runs)), se)
}

/// The screening's verdict on a group's first runs: split (or, for a single move, confirm)
/// when its change passes SPLIT_Z standard errors and 1%, or when it could not run.
fn screen(runs: &GroupRuns, test: &Test, noise: Noise) -> Verdict {
    let single = test.moves.len() == 1;
    match change(runs, test.base, &test.m, noise) {
        (None, _) if single => Verdict::Done,
        (None, _) => Verdict::Split,
        (Some(d), se) if d.abs() > (SPLIT_Z * se).max(MIN_EFFECT) => match single {
            false => Verdict::Split,
            true => Verdict::Confirm,
        },
        _ => Verdict::Drop,
    }
}

/// What the arm found for one key.
#[derive(Clone, Debug, Default)]
pub(super) struct KeyFound {
    /// The largest |change| of the key's confirmed moves (over the confirming runs), its
    /// value and sign.
    pub(super) best: Option<(Value, f64)>,
    /// The bound of that move's confirmation.
    pub(super) bound: f64,
    pub(super) selected: bool,
    /// Single moves of the key that could not run.
    pub(super) failed: usize,
}

/// Per key (catalogue order), what its confirmed moves showed: a key is selected when the
/// median of a confirmation's fresh runs changes the score against its base beyond
/// Student's t bound, Bonferroni over the confirmations (the screening that chose them
/// used other runs), with the noise pooled over everything the arm measured.
pub(super) fn effects(runs: &GroupRuns, k: usize) -> Vec<KeyFound> {
    let noise = noise(runs);
    let confirmations = runs.tests.iter().filter(|t| t.confirm.is_some()).count();
    let t = t_bonferroni(FLOOR_ALPHA, confirmations, noise.dof);
    let mut found = vec![KeyFound::default(); k];
    for test in runs.tests.iter().filter(|t| t.moves.len() == 1) {
        let mv = &test.moves[0];
        let f = &mut found[mv.key];
        let m = test.confirm.as_ref().unwrap_or(&test.m);
        match change(runs, test.base, m, noise) {
            (None, _) => f.failed += 1,
            (Some(d), se) => {
                let bound = (t * se).max(MIN_EFFECT);
                if f.best.as_ref().is_none_or(|b| d.abs() > b.1.abs()) {
                    f.best = Some((mv.value.clone(), d));
                    f.bound = bound;
                }
                f.selected |= test.confirm.is_some() && d.abs() > bound;
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic stand-in for 3% noise (a fixed pseudo-random pattern, sd ≈ 0.03).
    fn noise_at(n: usize) -> f64 {
        0.03 * 1.7 * (((n * 7919 + 13) % 101) as f64 / 50.0 - 1.0)
    }

    fn measured(runs: Vec<f64>) -> Measured {
        Measured {
            score: Some(median(&runs)),
            runs,
            reason: String::new(),
        }
    }

    fn test_of(keys: std::ops::Range<usize>, runs: Vec<f64>, confirm: Option<Vec<f64>>) -> Test {
        let moves = keys
            .map(|key| Move {
                key,
                value: Value::Int(0),
            })
            .collect();
        Test {
            id: String::new(),
            base: 0,
            moves,
            m: measured(runs),
            confirm: confirm.map(measured),
            repeats: GROUP_RUNS,
        }
    }

    /// A base measured 8 times around 1.0, 30 inert groups of 4
    /// measured twice (the pooled noise), and single moves: key 1 confirmed at +20%, key 2
    /// screened on a 5× latency spike its confirming runs do not share, key 3 confirmed
    /// inert, key 4 a 20% change not confirmed (the budget ended).
    fn runs() -> GroupRuns {
        let base = measured((0..8).map(|n| 1.0 + noise_at(n)).collect());
        let mut tests = vec![
            test_of(1..2, vec![1.2, 1.23], Some(vec![1.19, 1.21, 1.22])),
            test_of(
                2..3,
                vec![1.0 - 5f64.ln(), 1.01],
                Some(vec![0.99, 1.02, 1.0]),
            ),
            test_of(3..4, vec![1.04, 1.06], Some(vec![1.01, 0.98, 1.02])),
            test_of(4..5, vec![1.2, 1.21], None),
        ];
        for n in 0..30 {
            let r = vec![1.0 + noise_at(100 + 2 * n), 1.0 + noise_at(101 + 2 * n)];
            tests.push(test_of(10..14, r, None));
        }
        GroupRuns {
            bases: vec![(vec![], base)],
            tests,
        }
    }

    #[test]
    fn a_confirmed_strong_move_is_selected_and_neither_a_spike_nor_an_inert_key() {
        let r = runs();
        let found = effects(&r, 20);
        assert!(found[1].selected, "{:?}", found[1]);
        assert!((found[1].best.as_ref().unwrap().1 - 0.21).abs() < 0.03);
        assert!(!found[2].selected && !found[3].selected);
        // Not confirmed: not selected, though its screening change is as large.
        assert!(!found[4].selected);
        assert!((5..20).all(|i| !found[i].selected));
        let nz = noise(&r);
        assert!(nz.sigma > 0.015 && nz.sigma < 0.06, "{nz:?}");
        // Bonferroni over the 3 confirmations: above the noise, below 20%.
        assert!(
            found[1].bound > 0.04 && found[1].bound < 0.2,
            "{}",
            found[1].bound
        );
    }

    #[test]
    fn groups_split_or_drop_and_single_moves_go_to_confirmation() {
        let r = runs();
        let nz = noise(&r);
        let group = |runs: Vec<f64>| test_of(20..28, runs, None);
        assert_eq!(screen(&r, &group(vec![1.3, 1.28]), nz), Verdict::Split);
        assert_eq!(screen(&r, &group(vec![1.01, 0.99]), nz), Verdict::Drop);
        let mut failed = group(vec![]);
        failed.m.score = None;
        assert_eq!(screen(&r, &failed, nz), Verdict::Split);
        failed.moves.truncate(1);
        assert_eq!(screen(&r, &failed, nz), Verdict::Done);
        assert_eq!(screen(&r, &r.tests[3], nz), Verdict::Confirm);
        assert_eq!(screen(&r, &r.tests[4], nz), Verdict::Drop);
        // The halves of a split wait with their parent's |change| in standard errors.
        let mut pending = Vec::new();
        let mut with_group = runs();
        with_group.tests.push(group(vec![1.3, 1.28]));
        let last = with_group.tests.len() - 1;
        assert_eq!(judge(&with_group, &[3, last], &mut pending), vec![3]);
        assert_eq!(pending.len(), 2);
        assert_eq!(pending[0].1.len(), 4);
        assert!(pending[0].2 > SPLIT_Z);
    }
}
