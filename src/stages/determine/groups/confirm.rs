//! The confirmations of the groups method: a single move that passed the screening runs
//! CONFIRM_RUNS times afresh against fresh runs of its base, judged by Student's t bound,
//! Bonferroni over the confirmations, with the noise of one run pooled over every
//! configuration run more than once; one near its bound gets a second look.

use super::{CONFIRM_RUNS, GroupRuns, MEDIAN_VAR, PRIOR_SIGMA, Test, apply, left};
use crate::stages::determine::measure::Runner;
use crate::stages::determine::select::{GROUPS_ALPHA, MIN_EFFECT, t_bonferroni};
use anyhow::Result;
use flink::space::{Config, Value};
use opt::stats::median;
use std::f64::consts::SQRT_2;

/// A confirmation that reaches this share of its bound without passing it runs again.
const MORE_FROM: f64 = 0.5;

/// The noise of one run, pooled, and its degrees of freedom.
#[derive(Clone, Copy, Debug)]
pub(super) struct Noise {
    pub(super) sigma: f64,
    pub(super) dof: usize,
}

/// Runs the single moves of tests `which` (of base `b`) CONFIRM_RUNS more times as fresh
/// runs of their own, and the base too when it has none yet; a move whose fresh runs pass
/// the bound now (Bonferroni over the confirmations so far) takes its key out of `keys`.
pub(super) fn confirm_moves(
    runner: &mut Runner<'_>,
    runs: &mut GroupRuns,
    b: usize,
    which: &[usize],
    keys: &mut Vec<usize>,
) -> Result<()> {
    let mut which = which.to_vec();
    let base_cost = if runs.fresh[b].is_none() {
        CONFIRM_RUNS
    } else {
        0
    };
    let affordable = left(runner).saturating_sub(base_cost) / CONFIRM_RUNS;
    which.truncate(affordable as usize);
    if which.is_empty() {
        return Ok(());
    }
    if runs.fresh[b].is_none() {
        let m = runner.measure_repeats(&[base_item(runs, b)], 1, CONFIRM_RUNS)?;
        runs.fresh[b] = m.into_iter().next();
    }
    let more = runner.measure_repeats(&move_items(runs, b, &which), 1, CONFIRM_RUNS)?;
    for (&t, extra) in which.iter().zip(more) {
        runs.tests[t].confirm = Some(extra);
    }
    decide(runner, runs, keys);
    confirm_more(runner, runs, b, &which, keys)
}

/// Base `b`'s configuration as a trial item.
fn base_item(runs: &GroupRuns, b: usize) -> (String, Config) {
    (format!("rg{b:03}-base"), runs.bases[b].0.clone())
}

/// The single moves of tests `which` (of base `b`) as trial items.
fn move_items(runs: &GroupRuns, b: usize, which: &[usize]) -> Vec<(String, Config)> {
    which
        .iter()
        .map(|&t| {
            let test = &runs.tests[t];
            (test.id.clone(), apply(&runs.bases[b].0, &test.moves))
        })
        .collect()
}

/// Takes the keys the confirmations so far select out of `keys`, their verdicts recorded.
fn decide(runner: &Runner<'_>, runs: &mut GroupRuns, keys: &mut Vec<usize>) {
    record_passes(runs);
    let found = effects(runs, runner.study.space.len());
    keys.retain(|&i| !found[i].selected);
}

/// Records, on each confirmation that passes its bound now, the bound it passed. Why: a
/// key whose move passed leaves the later bases' groups, and the bound at the end is
/// stricter (Bonferroni over every confirmation, not those so far): judged only then, a
/// key retired by a pass that no longer holds was neither selected nor screened again
/// (on 14 of 160 runs of the simulator, seeds 1–80 at two rates: the checkpoint interval,
/// the parallelism, the task heap, the network fraction and its minimum).
pub(super) fn record_passes(runs: &mut GroupRuns) {
    let judge = Judge::new(runs);
    let passed: Vec<Option<f64>> = runs
        .tests
        .iter()
        .map(|t| judge.of(runs, t).filter(|(d, b)| d.abs() > *b).map(|p| p.1))
        .collect();
    for (t, p) in runs.tests.iter_mut().zip(passed) {
        t.passed = t.passed.or(p);
    }
}

/// The confirmations of `which` whose key is still undecided (in `keys`), run once (3 fresh
/// runs), that reach MORE_FROM of their bound without passing it.
pub(super) fn unsure(runs: &GroupRuns, which: &[usize], keys: &[usize]) -> Vec<usize> {
    let judge = Judge::new(runs);
    let once = |t: &Test| {
        t.confirm
            .as_ref()
            .is_some_and(|c| c.runs.len() <= CONFIRM_RUNS as usize)
    };
    let near = |t: &Test| {
        judge
            .of(runs, t)
            .is_some_and(|(d, bound)| d.abs() >= MORE_FROM * bound)
    };
    which
        .iter()
        .copied()
        .filter(|&t| {
            let test = &runs.tests[t];
            keys.contains(&test.moves[0].key) && once(test) && near(test)
        })
        .collect()
}

/// The confirmations of `which` (of base `b`) that reach MORE_FROM of their bound without
/// passing it run CONFIRM_RUNS more times, and the base once more too, and are judged
/// again. Why: at 3 + 3 runs the bound is about 0.11 on the ln scale (3% noise, ~10
/// confirmations), where the simulator's task slots (0.08–0.10 where they act) and its
/// network fraction at 80 000 rec/s (0.11) sit; 6 + 6 runs bring it to about 0.08.
fn confirm_more(
    runner: &mut Runner<'_>,
    runs: &mut GroupRuns,
    b: usize,
    which: &[usize],
    keys: &mut Vec<usize>,
) -> Result<()> {
    let unsure = unsure(runs, which, keys);
    let base_once = runs.fresh[b]
        .as_ref()
        .is_some_and(|f| f.runs.len() <= CONFIRM_RUNS as usize);
    let cost = CONFIRM_RUNS * (unsure.len() + usize::from(base_once)) as u64;
    if unsure.is_empty() || left(runner) < cost {
        return Ok(());
    }
    let mut items = move_items(runs, b, &unsure);
    items.extend(base_once.then(|| base_item(runs, b)));
    let more = runner.measure_repeats(&items, 1 + CONFIRM_RUNS, CONFIRM_RUNS)?;
    for (n, extra) in more.into_iter().enumerate() {
        let to = match unsure.get(n) {
            Some(&t) => runs.tests[t].confirm.as_mut(),
            None => runs.fresh[b].as_mut(),
        };
        if let Some(m) = to {
            m.runs.extend(extra.runs);
            m.score = (!m.runs.is_empty()).then(|| median(&m.runs));
        }
    }
    decide(runner, runs, keys);
    Ok(())
}

/// The noise of one run, pooled over the bases' runs (first phase and fresh) and the
/// confirmations' fresh runs: 1.4826 × the median of |x − y| / √2 over the pairs of runs of
/// one configuration (for normal noise |x − y| / √2 is the absolute value of a draw of the
/// noise). Why pairs: the deviations from a configuration's own median include a zero for
/// every configuration run an odd number of times (3, for a confirmation), and their
/// median understated the noise threefold (0.011 on the simulator, whose runs vary by
/// 0.034), so confirmations passed at a third of their bound. PRIOR_SIGMA before any
/// configuration ran twice.
pub(super) fn noise(runs: &GroupRuns) -> Noise {
    measured_noise(runs).unwrap_or(Noise {
        sigma: PRIOR_SIGMA,
        dof: 1,
    })
}

/// `noise` from the runs alone: None before any configuration ran twice.
pub(super) fn measured_noise(runs: &GroupRuns) -> Option<Noise> {
    let bases: Vec<Vec<f64>> = runs
        .bases
        .iter()
        .zip(&runs.fresh)
        .filter_map(|((_, m), f)| {
            f.as_ref()
                .map(|f| m.runs.iter().chain(&f.runs).copied().collect())
        })
        .collect();
    let groups = bases
        .iter()
        .chain(
            runs.tests
                .iter()
                .filter_map(|t| t.confirm.as_ref().map(|c| &c.runs)),
        )
        .filter(|r| r.len() >= 2);
    let (mut dev, mut dof) = (Vec::new(), 0);
    for g in groups {
        for (i, x) in g.iter().enumerate() {
            dev.extend(g[i + 1..].iter().map(|y| (x - y).abs() / SQRT_2));
        }
        dof += g.len() - 1;
    }
    (!dev.is_empty()).then(|| Noise {
        sigma: 1.4826 * median(&dev),
        dof: dof.max(1),
    })
}

/// The variance of a median of n runs over one run's (the mean's for n ≤ 2).
fn median_var(n: usize) -> f64 {
    let n = n.max(1) as f64;
    if n <= 2.0 { 1.0 / n } else { MEDIAN_VAR / n }
}

/// What the arm found for one key.
#[derive(Clone, Debug, Default)]
pub(in crate::stages::determine) struct KeyFound {
    /// The largest |change| of the key's confirmed moves (over the confirming runs), its
    /// value and sign.
    pub(in crate::stages::determine) best: Option<(Value, f64)>,
    /// The bound of that move's confirmation.
    pub(in crate::stages::determine) bound: f64,
    pub(in crate::stages::determine) selected: bool,
    /// Single moves of the key that could not run.
    pub(in crate::stages::determine) failed: usize,
}

/// Per key (catalogue order), what its confirmed moves showed: a key is selected when the
/// median of a confirmation's fresh runs changes the score against the median of its
/// base's fresh runs beyond Student's t bound, Bonferroni over the confirmations (the
/// screening that chose them used other runs), the noise pooled over the repeated runs —
/// now or when it was judged (`record_passes`).
pub(in crate::stages::determine) fn effects(runs: &GroupRuns, k: usize) -> Vec<KeyFound> {
    let judge = Judge::new(runs);
    let mut found = vec![KeyFound::default(); k];
    for test in runs.tests.iter().filter(|t| t.moves.len() == 1) {
        let mv = &test.moves[0];
        let f = &mut found[mv.key];
        if test.m.score.is_none() {
            f.failed += 1;
            continue;
        }
        let Some((d, bound)) = judge.of(runs, test) else {
            continue;
        };
        let bound = test.passed.map_or(bound, |b| b.min(bound));
        if f.best.as_ref().is_none_or(|b| d.abs() > b.1.abs()) {
            f.best = Some((mv.value.clone(), d));
            f.bound = bound;
        }
        f.selected |= d.abs() > bound;
    }
    found
}

/// What judges the confirmations: the noise of one run, pooled over the repeated runs, and
/// Student's t quantile, Bonferroni over the confirmations at GROUPS_ALPHA.
pub(super) struct Judge {
    noise: Noise,
    t: f64,
}

impl Judge {
    pub(super) fn new(runs: &GroupRuns) -> Judge {
        let noise = noise(runs);
        let confirmations = runs.tests.iter().filter(|t| t.confirm.is_some()).count();
        let t = t_bonferroni(GROUPS_ALPHA, confirmations.max(1), noise.dof);
        Judge { noise, t }
    }

    /// A confirmed move's change (the median of its fresh runs against the median of its
    /// base's) and the bound it must pass; None before both ran.
    pub(super) fn of(&self, runs: &GroupRuns, test: &Test) -> Option<(f64, f64)> {
        let (c, base) = (test.confirm.as_ref()?, runs.fresh[test.base].as_ref()?);
        let d = c.score? - base.score?;
        let var = median_var(c.runs.len()) + median_var(base.runs.len());
        Some((d, (self.t * self.noise.sigma * var.sqrt()).max(MIN_EFFECT)))
    }
}
