//! The groups method's second step: group screening of end moves around many random
//! bases — the configurations of the first (factorial) phase that ran.
//!
//! Why: on the simulator the task heap, the task slots and the framework heap act strongly
//! (0.17–0.9 on the ln scale) but only at 10–30% of random runnable bases, near the ends of
//! their ranges. Moving each key alone from a base costs ~60 runs per base, so 300 trials
//! visit each key at no more than 5 bases. Moving the undecided keys in groups costs ~7 runs
//! per base, so the same runs visit many bases; a group that changes the score is split.
//!
//! The bases, in turn (`visits`): Flink's default first (where some keys act and nowhere
//! else), then the configurations of the first phase that ran, most of the dominant keys in
//! their better half first and within a count those furthest below their peers
//! (`base_order`), with the PRESSURE_BASES nearest a full heap (by the share of
//! their runs spent in garbage collection, when the adapter reports it) first and then
//! every PRESSURE_EVERY-th. At a random base every key the first phase did not select and
//! no earlier base confirmed moves to one end of its range (`end_side`: the far end for a
//! key the first phase never saw decide run/fail, else drawn per key and base; a quarter
//! inward when the pre-check refuses the end; the other end when neither passes, or when
//! the move sank groups at earlier bases and never ran: `doomed_moves`); at
//! the default, to each of REFERENCE_LEVELS, and near a full heap to PRESSURE_LEVELS, a
//! level's moves grouped apart. The moves of a base, shuffled afresh (so keys meet
//! different partners), are dealt round-robin, the risky ones first (the first phase saw
//! them fail more often on that side), into groups of at most GROUP_SIZE that pass the
//! pre-check together (at the default, the TaskManager's memory sizes one to a group).
//! Each group runs once; the base's level is the median of its own run and its groups'
//! (most groups are inert, so a spiked run of the base does not move it), at Flink's
//! default that of its own runs alone when its groups lean (`base_level`). A group whose
//! change passes SPLIT_Z screening standard errors and 1% runs once more (`gate`) and is
//! split in halves when that run passes the same way too; a group that could not run is
//! dropped (its keys wait for other bases). Halves are split again while they pass; when
//! neither half of a group that passed does, the one carrying more than half of its change
//! goes on (`descend`). A single move that passes is confirmed: it runs CONFIRM_RUNS times
//! afresh, the base CONFIRM_RUNS times afresh (once per base; Flink's default
//! REFERENCE_RUNS times before its groups, whose screening noise they bound), and the
//! medians of those fresh runs alone judge it against Student's t bound, Bonferroni over
//! the confirmations at GROUPS_ALPHA (noise pooled over the repeated configurations); one
//! that reaches MORE_FROM of its bound without passing runs CONFIRM_RUNS times more, its
//! base too, and is judged again (`confirm_more`). A key confirmed leaves the later bases'
//! groups and stays selected (`record_passes`).
//!
//! Every run measured here also enters the final regression (`as_rows`), each base's runs
//! as a block of their own: a key moved at many bases has its main effect read from all of
//! them, which the confirmations alone, at a handful of runs each, cannot do for 1–5%
//! effects.

mod confirm;

use crate::stages::determine::forest::ForestRuns;
use crate::stages::determine::measure::{Measured, Runner, passes_precheck};
use crate::stages::determine::oat::reference_config;
use crate::stages::determine::select::MIN_EFFECT;
use crate::study::Study;
use crate::study::seed::{Purpose, derive};
use anyhow::Result;
use confirm::confirm_moves;
pub(super) use confirm::effects;
use flink::memory;
use flink::space::{Config, Kind, Value};
use opt::stats::median;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use std::collections::BTreeMap;

/// Fresh runs of a base (once, for its first confirmation) and of a confirmed move.
const CONFIRM_RUNS: u64 = 3;
/// A group is split (a single move confirmed) when its change passes this many screening
/// standard errors: a screening threshold, not a selection (a false split costs runs).
const SPLIT_Z: f64 = 2.0;
/// Moves in a group at most.
const GROUP_SIZE: usize = 8;
/// A move is risky when the first phase's configurations on its side of the key's range
/// failed this much more often than on the other side.
const RISKY: f64 = 0.05;
/// A move that sank this many first-level groups (they could not run) and was in none that
/// ran goes the other way at later bases.
const DOOMED_FAILS: usize = 2;
/// Where an end the pre-check refuses is retried, on the unit scale from that end.
const INWARD: f64 = 0.25;
/// The levels the reference's keys move to, on the unit scale: the inner levels where keys
/// act only around Flink's default (on the simulator the network minimum and the
/// TaskManager's flink size at ¾, the network fraction and the framework off-heap size at
/// ½). Why not ¼: no key acted only there, and its groups cost half of the reference's
/// trials (39 of 79 at 80 000 rec/s). Why not the ends: what acts at the default's ends
/// (the task heap's and the checkpoint interval's low ends) acts at random bases too, and
/// at 16 000 rec/s the ends' groups seldom pass; their runs visit more bases instead (with
/// the memory sizes apart, recall over seeds 1–80 0.752 → 0.767 at 16 000 rec/s and 0.762 →
/// 0.765 at 80 000, over seeds 81–160 0.709 → 0.738 and 0.744 → 0.758).
const REFERENCE_LEVELS: [f64; 2] = [0.5, 0.75];
/// Bases near a full heap (by the garbage-collection time of their runs) whose keys move
/// to PRESSURE_LEVELS, visited first and then every PRESSURE_EVERY-th (`visits`).
const PRESSURE_BASES: usize = 3;
const PRESSURE_EVERY: usize = 4;
const PRESSURE_LEVELS: [f64; 1] = [0.5];
/// Fresh runs of Flink's default before its groups (its confirmations' base runs too). Why:
/// a third of the default's groups act, so Lenth's estimate over them overstates the noise
/// of one run by a third to a half (0.045–0.050 on the simulator, whose runs vary by
/// ~0.034), and the network fraction's group at 80 000 rec/s (−0.11) then failed 2
/// standard errors on its run or its gate's half of the time; the default's repeated runs
/// hold noise alone (`screen_sigma`). Over 160 seeds of the simulator 8 runs moved recall
/// at 80 000 rec/s from 0.787 to 0.805 and at 16 000 from 0.801 to 0.799 (5 and 6 runs
/// gained less at 80 000 and lost more at 16 000; 10 and 12 no more).
pub(super) const REFERENCE_RUNS: u64 = 8;
/// How many standard errors the median of Flink's default's groups must lie from the median
/// of its own runs before its level leaves the groups out (`base_level`).
const LEAN_Z: f64 = 2.0;
/// The degrees of freedom the repeated runs' noise needs before it judges the default.
const NOISE_DOF: usize = 5;
/// A median's variance over the mean's, for a normal sample (π/2).
const MEDIAN_VAR: f64 = std::f64::consts::FRAC_PI_2;
/// The screening noise of one run before any base has given its own.
const PRIOR_SIGMA: f64 = 0.03;

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
    /// A first-level group (its run counts toward the base's level).
    pub(super) top: bool,
    /// The test it is a half of.
    pub(super) parent: Option<usize>,
    pub(super) moves: Vec<Move>,
    /// The screening's run.
    pub(super) m: Measured,
    /// A single move's confirming runs (fresh ones), when the screening passed it.
    pub(super) confirm: Option<Measured>,
    /// The gate's second run, when the first passed.
    again: Option<Measured>,
    /// The bound the confirmation passed when it was judged.
    pub(super) passed: Option<f64>,
}

/// What the arm measured.
pub(super) struct GroupRuns {
    /// The bases (configurations of the first phase that ran) and their first-phase run.
    pub(super) bases: Vec<(Config, Measured)>,
    /// Each base's fresh runs, when one of its moves went to confirmation.
    pub(super) fresh: Vec<Option<Measured>>,
    /// Each base's screening level (`base_level`).
    level: Vec<Level>,
    /// Every group tested, in the order measured.
    pub(super) tests: Vec<Test>,
    /// The first base is Flink's default, measured by the arm (not a first-phase run).
    reference_first: bool,
}

/// A base's screening level: a median, and how many runs it is the median of (what its
/// standard error shrinks with).
#[derive(Clone, Copy, Debug)]
struct Level {
    value: f64,
    runs: usize,
}

/// What a test says.
#[derive(Debug, PartialEq)]
enum Verdict {
    /// Below the bound (or too small a group that could not run): dropped.
    Drop,
    /// Above the bound, or could not run: its halves are tested.
    Split,
    /// A single move above the bound: confirm it with fresh runs.
    Confirm,
    /// A single move that could not run.
    Done,
}

/// Which end of the keys' ranges a move goes to.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Side {
    Low,
    High,
}

impl Side {
    fn of(high: bool) -> Side {
        if high { Side::High } else { Side::Low }
    }

    fn other(self) -> Side {
        match self {
            Side::Low => Side::High,
            Side::High => Side::Low,
        }
    }
}

/// The moves (key, side) that were in DOOMED_FAILS or more first-level groups that could
/// not run and in none that ran. Why: a move that fails wherever it goes (on the simulator
/// the metaspace's smallest size) sinks its group, and with it its partners' moves,
/// wherever it is drawn: at about half of the bases (9 of ~190 group runs at 80 000 rec/s).
fn doomed_moves(study: &Study, runs: &GroupRuns) -> Vec<(usize, Side)> {
    // Per (key, toward the high end): the groups it sank, and whether one with it ran.
    let mut seen: BTreeMap<(usize, bool), (usize, bool)> = BTreeMap::new();
    for t in runs.tests.iter().filter(|t| t.top) {
        let base = &runs.bases[t.base].0;
        let at = study.space.to_unit(base);
        for mv in &t.moves {
            let to = study.space.to_unit(&apply(base, std::slice::from_ref(mv)))[mv.key];
            let e = seen.entry((mv.key, to > at[mv.key])).or_default();
            match t.m.score {
                Some(_) => e.1 = true,
                None => e.0 += 1,
            }
        }
    }
    seen.into_iter()
        .filter(|(_, (sank, ran))| *sank >= DOOMED_FAILS && !ran)
        .map(|((key, high), _)| (key, Side::of(high)))
        .collect()
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

/// The end key `i` moves to from a random base whose value of it is `at` (unit scale): the
/// far end when the first phase's configurations failed about as often on either side of
/// its range (within RISKY), else one drawn at random. Why: a base from the first phase
/// sits at the key's 20% or 80% quantile, so a move to the near end spans a fifth of the
/// range and shows a fifth of a steady effect (on the simulator the checkpoint interval's
/// +0.05 from 251 ms to 600 s, and no change to 10 ms); a key that decides run/fail acts
/// near the failure boundary, which may lie at either end (the task slots, the heap sizes,
/// when the first phase saw failures).
/// Over 240 seeds of the simulator recall 0.789 → 0.790 at 16 000 rec/s (the checkpoint
/// interval missed on 22 runs instead of 34) and 0.794 → 0.801 at 80 000; over 20 seeds of
/// each synthetic problem 0.55–0.78 → 0.59–0.81.
fn end_side(contrast: &Contrasts, i: usize, at: f64, rng: &mut StdRng) -> Side {
    match contrast.fail[i].abs() <= RISKY {
        true => Side::of(at < 0.5),
        false => Side::of(rng.random::<bool>()),
    }
}

/// One base's first-level groups: each key of `keys` moved to an end (`end_side`; the
/// other one when that move is `doomed`), shuffled, the risky moves first, packed into
/// groups of at most GROUP_SIZE that pass the pre-check together (a move that breaks the
/// current group's waits for the next).
fn base_groups(
    study: &Study,
    base: &Config,
    keys: &[usize],
    contrast: &Contrasts,
    doomed: &[(usize, Side)],
    rng: &mut StdRng,
) -> Vec<Vec<Move>> {
    let at = study.space.to_unit(base);
    let moves: Vec<(bool, Move)> = keys
        .iter()
        .filter_map(|&i| {
            let chosen = end_side(contrast, i, at[i], rng);
            let side = match doomed.contains(&(i, chosen)) {
                true => chosen.other(),
                false => chosen,
            };
            let mv = end_move(study, base, i, side)
                .or_else(|| end_move(study, base, i, side.other()))?;
            let toward = study.space.to_unit(&apply(base, std::slice::from_ref(&mv)))[i] - at[i];
            Some((contrast.fail[i] * toward.signum() > RISKY, mv))
        })
        .collect();
    pack(study, base, moves, Packing::Plain, rng)
}

/// A base's first-level groups when its keys move to levels (Flink's default, the bases
/// near a full heap): each key of `keys` moved to each of `levels` on the unit scale (a
/// value the base has or a level before gave skipped, a level the pre-check refuses
/// skipped), the moves of each level packed apart. Why: some keys act only at an inner
/// level (on the simulator at 80 000 rec/s, around Flink's default, the network minimum
/// at ¾ and the network fraction at ½ of their range; near a full heap, the heap keys).
fn level_groups(
    study: &Study,
    base: &Config,
    keys: &[usize],
    levels: &[f64],
    packing: Packing,
    rng: &mut StdRng,
) -> Vec<Vec<Move>> {
    let mut used: Vec<Vec<Value>> = vec![Vec::new(); study.space.len()];
    let mut out = Vec::new();
    for &u in levels {
        let moves: Vec<(bool, Move)> = keys
            .iter()
            .filter_map(|&i| {
                let mv = Move {
                    key: i,
                    value: study.space.params[i].from_unit(u),
                };
                let fresh = base[i].as_ref() != Some(&mv.value) && !used[i].contains(&mv.value);
                let runs = passes_precheck(study, &apply(base, std::slice::from_ref(&mv)));
                (fresh && runs).then(|| {
                    used[i].push(mv.value.clone());
                    (false, mv)
                })
            })
            .collect();
        out.extend(pack(study, base, moves, packing, rng));
    }
    out
}

/// Which moves `pack` keeps apart beyond those of one option group, a share and its total.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Packing {
    Plain,
    /// Also every two of the TaskManager's memory sizes (`memory::sizes_taskmanager_memory`).
    /// Why at Flink's default only: there the network fraction acts, at ½, and only there,
    /// and beside another size carved from the same memory (the managed memory's explicit
    /// size) its change cancelled on the task heap; apart, the network fraction was missed
    /// on 33 runs of 80 at 80 000 rec/s instead of 51 and the network minimum on 6 instead
    /// of 17. Apart at every base, the ~14 sizes need twice the groups everywhere, and at
    /// 16 000 rec/s recall fell from 0.752 to 0.698 (seeds 1–80).
    MemoryApart,
}

/// Packs `moves` (risky or not) into groups of at most GROUP_SIZE that pass the pre-check
/// together.
fn pack(
    study: &Study,
    base: &Config,
    mut moves: Vec<(bool, Move)>,
    packing: Packing,
    rng: &mut StdRng,
) -> Vec<Vec<Move>> {
    moves.shuffle(rng);
    moves.sort_by_key(|m| !m.0);
    // Dealt round-robin, the risky moves first, so that each group holds as few of them
    // as it can (a group that cannot run then loses few moves; risky keys that act together
    // do not share a group); a move no group takes opens a new one.
    let count = moves.len().div_ceil(GROUP_SIZE);
    let mut out: Vec<Vec<Move>> = vec![Vec::new(); count];
    // Keys of one option group (a name up to its last dot: the network memory's fraction,
    // min and max; the JVM overhead's) set one quantity together, and moved together one
    // can hide another (a larger fraction makes the minimum moot), as do a share and the
    // total it is a share of (Flink's memory model: a larger Flink memory with a smaller
    // network fraction can leave the network memory where it was): they go to different
    // groups.
    let name = |i: usize| study.space.params[i].name.as_str();
    let family = |i: usize| name(i).rsplit_once('.').map_or(name(i), |(f, _)| f);
    let sizes = |i: usize| memory::sizes_taskmanager_memory(name(i));
    let apart = |a: usize, b: usize| packing == Packing::MemoryApart && sizes(a) && sizes(b);
    let related = |a: usize, b: usize| {
        apart(a, b)
            || family(a) == family(b)
            || memory::share_of(name(a)).contains(&name(b))
            || memory::share_of(name(b)).contains(&name(a))
    };
    for (n, (_, mv)) in moves.into_iter().enumerate() {
        let fits = |g: &Vec<Move>| {
            let mut with = g.clone();
            with.push(mv.clone());
            g.len() < GROUP_SIZE
                && !g.iter().any(|m| related(m.key, mv.key))
                && passes_precheck(study, &apply(base, &with))
        };
        let len = out.len();
        match (0..len).map(|j| (n + j) % len).find(|&j| fits(&out[j])) {
            Some(j) => out[j].push(mv),
            None => out.push(vec![mv]),
        }
    }
    out.retain(|g| !g.is_empty());
    out
}

/// The bases: the configurations of `first` that ran, those with more of the `dominant`
/// keys in their better half (by the first phase's contrast) first; within a count, those
/// that scored furthest below their peers (`below_peers`) first.
///
/// Why below their peers: a base that runs worse than the dominant keys' sides predict is
/// held back by something else (on the simulator a heap near full, or checkpoints that
/// cost), and there a move of a key the design did not select changes the score most.
/// Against a random order within a count, over seeds 1–80 recall rose from 0.767 to 0.794
/// at 16 000 rec/s (runs better / worse 20 / 9; the checkpoint interval missed on 9 runs
/// instead of 19) and from 0.765 to 0.769 at 80 000 (14 / 15), over seeds 81–160 from
/// 0.738 to 0.764 and from 0.758 to 0.766; furthest above their peers first, it fell to
/// 0.730 and 0.729.
fn base_order(
    study: &Study,
    first: &ForestRuns,
    dominant: &[usize],
    contrast: &Contrasts,
    rng: &mut StdRng,
) -> Vec<usize> {
    let space = &study.space;
    let ran: Vec<(usize, Vec<bool>, f64)> = (0..first.configs.len())
        .filter_map(|n| {
            let u = space.to_unit(&first.configs[n]);
            let sides = dominant.iter().map(|&i| u[i] >= 0.5).collect();
            Some((n, sides, first.measured[n].score?))
        })
        .collect();
    let cells: Vec<(&Vec<bool>, f64)> = ran.iter().map(|r| (&r.1, r.2)).collect();
    let mut order: Vec<(usize, usize, f64)> = ran
        .iter()
        .zip(below_peers(&cells))
        .map(|((n, sides, _), below)| {
            let good = dominant
                .iter()
                .zip(sides)
                .filter(|&(&i, &high)| high == (contrast.score[i] > 0.0))
                .count();
            (*n, good, below)
        })
        .collect();
    order.shuffle(rng);
    order.sort_by(|a, b| b.1.cmp(&a.1).then(a.2.total_cmp(&b.2)));
    order.into_iter().map(|o| o.0).collect()
}

/// Each run's score less the median score of the runs in the same cell (here: the same
/// sides of the dominant keys' ranges), the dominant keys' interactions included: negative
/// for a run held back by something the cell does not explain.
fn below_peers<C: Ord + Clone>(runs: &[(C, f64)]) -> Vec<f64> {
    let mut cells: BTreeMap<C, Vec<f64>> = BTreeMap::new();
    for (cell, score) in runs {
        cells.entry(cell.clone()).or_default().push(*score);
    }
    let medians: BTreeMap<C, f64> = cells.into_iter().map(|(c, v)| (c, median(&v))).collect();
    runs.iter()
        .map(|(cell, score)| score - medians[cell])
        .collect()
}

/// How a base's undecided keys move.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Moves {
    /// Flink's default: each to every one of REFERENCE_LEVELS, a level's moves grouped
    /// apart, the TaskManager's memory sizes one to a group (`Packing::MemoryApart`).
    Reference,
    /// Each to every one of these levels of its range (unit scale), a level's moves
    /// grouped apart.
    Levels(&'static [f64]),
    /// Each to an end of its range, per key (`end_side`).
    Ends,
}

/// The bases in the order they are visited, each with how its keys move: Flink's default
/// first when the pre-check passes it (not yet measured: None), to REFERENCE_LEVELS; then
/// the first phase's configurations in `order`, to their ends, except the PRESSURE_BASES
/// whose runs spent the largest share of their time in garbage collection (when the
/// adapter reports it), which move their keys to PRESSURE_LEVELS and are visited first and
/// then every PRESSURE_EVERY-th.
///
/// Why: next to a full heap the heap keys act most (on the simulator the task slots, the
/// framework heap and the task heap act, together, at 9 of the 20 random runnable bases
/// of the top tenth by GC time, and at none of the lower half), and there a move to the
/// middle acts more often than one to an end, which often fails (too few slots, too
/// little heap) or is where the base already sits. Visited in GC order with end moves,
/// the same bases found no more keys.
fn visits(
    study: &Study,
    first: &ForestRuns,
    mut order: Vec<usize>,
) -> Vec<(Config, Option<Measured>, Moves)> {
    let gc = |n: usize| first.measured[n].gc.unwrap_or(0.0);
    let mut pressure: Vec<usize> = order.iter().copied().filter(|&n| gc(n) > 0.0).collect();
    pressure.sort_by(|a, b| gc(*b).total_cmp(&gc(*a)));
    pressure.truncate(PRESSURE_BASES);
    order.retain(|n| !pressure.contains(n));
    for (j, &n) in pressure.iter().enumerate() {
        order.insert((j * PRESSURE_EVERY).min(order.len()), n);
    }
    let reference = reference_config(&study.space);
    let reference =
        passes_precheck(study, &reference).then_some((reference, None, Moves::Reference));
    let rest = order.into_iter().map(|n| {
        let moves = match pressure.contains(&n) {
            true => Moves::Levels(&PRESSURE_LEVELS),
            false => Moves::Ends,
        };
        (
            first.configs[n].clone(),
            Some(first.measured[n].clone()),
            moves,
        )
    });
    reference.into_iter().chain(rest).collect()
}

/// Runs the arm within what is left of the budget: base after base, its groups, their
/// splits and its confirmations, as long as the budget pays for them. Keys in `skip`
/// (selected already) are not moved; `dominant` orders the bases.
pub(super) fn measure(
    runner: &mut Runner<'_>,
    first: &ForestRuns,
    skip: &[usize],
    dominant: &[usize],
) -> Result<GroupRuns> {
    let study = runner.study;
    let mut rng = StdRng::seed_from_u64(derive(study.file.seed, Purpose::SobolPhase { phase: 7 }));
    let contrast = contrasts(study, first);
    let order = base_order(study, first, dominant, &contrast, &mut rng);
    let mut keys: Vec<usize> = (0..study.space.len())
        .filter(|i| !skip.contains(i))
        .collect();
    let mut runs = GroupRuns {
        bases: Vec::new(),
        fresh: Vec::new(),
        level: Vec::new(),
        tests: Vec::new(),
        reference_first: false,
    };
    for (base, m, moves) in visits(study, first, order) {
        if left(runner) < 2 || keys.is_empty() {
            break;
        }
        let is_reference = m.is_none();
        let m = match m {
            Some(m) => m,
            None => {
                let item = ("rg-reference".to_string(), base.clone());
                let m = runner.measure_all(&[item], 1)?.remove(0);
                if m.score.is_none() {
                    continue;
                }
                m
            }
        };
        let groups = match moves {
            Moves::Reference => {
                let packing = Packing::MemoryApart;
                level_groups(study, &base, &keys, &REFERENCE_LEVELS, packing, &mut rng)
            }
            Moves::Levels(levels) => {
                level_groups(study, &base, &keys, levels, Packing::Plain, &mut rng)
            }
            Moves::Ends => {
                let doomed = doomed_moves(study, &runs);
                base_groups(study, &base, &keys, &contrast, &doomed, &mut rng)
            }
        };
        let fresh = match is_reference {
            true => reference_runs(runner, runs.bases.len(), &base)?,
            false => None,
        };
        runs.reference_first |= is_reference;
        // Set once its groups have run (`base_level`).
        let value = m.score.unwrap_or(0.0);
        runs.level.push(Level { value, runs: 1 });
        runs.bases.push((base, m));
        runs.fresh.push(fresh);
        screen_base(runner, &mut runs, groups, &mut keys)?;
    }
    Ok(runs)
}

/// Flink's default (base `b`) run REFERENCE_RUNS times afresh, when the budget leaves
/// room for its groups too: at least three times as many runs again (its ~16 groups at two
/// levels and their gates), or the noise they measure would judge nothing.
fn reference_runs(runner: &mut Runner<'_>, b: usize, base: &Config) -> Result<Option<Measured>> {
    if left(runner) < 4 * REFERENCE_RUNS {
        return Ok(None);
    }
    let item = (format!("rg{b:03}-base"), base.clone());
    Ok(runner.measure_repeats(&[item], 1, REFERENCE_RUNS)?.pop())
}

impl GroupRuns {
    /// The configurations the arm measured, each once (its first run): Flink's default
    /// when the arm measured it, and every group. The other bases are the first phase's.
    pub(super) fn configurations(&self) -> impl Iterator<Item = &Measured> {
        let reference = self.bases.first().filter(|_| self.reference_first);
        reference
            .map(|(_, m)| m)
            .into_iter()
            .chain(self.tests.iter().map(|t| &t.m))
    }
}

/// Every run the groups measured, one row per run (a configuration run again is a
/// replicate), for the main-effect regression: the reference's own run, each group's run
/// and its gate's second run, each confirmation's fresh runs and each base's fresh runs. The first phase's runs of the bases are left out:
/// they are in the design already.
pub(super) fn as_rows(runs: &GroupRuns) -> (ForestRuns, Vec<usize>) {
    let mut configs = Vec::new();
    let mut measured = Vec::new();
    let mut block = Vec::new();
    let mut push = |c: &Config, m: &Measured, b: usize| {
        for &r in &m.runs {
            block.push(b);
            configs.push(c.clone());
            measured.push(Measured {
                score: Some(r),
                runs: vec![r],
                reason: String::new(),
                gc: None,
            });
        }
    };
    for (b, (base, m)) in runs.bases.iter().enumerate() {
        if b == 0 && runs.reference_first {
            push(base, m, b);
        }
        if let Some(f) = &runs.fresh[b] {
            push(base, f, b);
        }
    }
    for t in &runs.tests {
        let c = apply(&runs.bases[t.base].0, &t.moves);
        for m in [Some(&t.m), t.again.as_ref(), t.confirm.as_ref()]
            .into_iter()
            .flatten()
        {
            push(&c, m, t.base);
        }
    }
    let runs = ForestRuns {
        configs,
        lhs: 0,
        measured,
    };
    (runs, block)
}

/// The noise of one run the confirmations judged by (None: no configuration ran twice).
pub(super) fn run_noise(runs: &GroupRuns) -> Option<f64> {
    confirm::measured_noise(runs).map(|n| n.sigma)
}

/// Trials left in the budget.
pub(super) fn left(runner: &Runner<'_>) -> u64 {
    runner.budget.saturating_sub(runner.spent())
}

/// The last base's bifurcation: its first-level groups (as many as the budget pays for),
/// then level by level the halves of those to split, the single moves to confirm with
/// their confirmations (a key confirmed leaves `keys`).
fn screen_base(
    runner: &mut Runner<'_>,
    runs: &mut GroupRuns,
    mut groups: Vec<Vec<Move>>,
    keys: &mut Vec<usize>,
) -> Result<()> {
    let b = runs.bases.len() - 1;
    groups.truncate(left(runner) as usize);
    let from = runs.tests.len();
    let groups = groups.into_iter().map(|g| (g, None)).collect();
    measure_groups(runner, runs, b, groups, 0)?;
    runs.level[b] = base_level(runs, b);
    let mut judged: Vec<usize> = (from..runs.tests.len()).collect();
    gate(runner, runs, &mut judged)?;
    for depth in 1.. {
        let sigma = screen_sigma(runs);
        let mut next: Vec<(Vec<Move>, Option<usize>)> = Vec::new();
        let mut failed: Vec<(Vec<Move>, Option<usize>)> = Vec::new();
        let mut confirm: Vec<usize> = Vec::new();
        let mut verdicts: Vec<Verdict> = judged
            .iter()
            .map(|&t| screen(runs, &runs.tests[t], sigma))
            .collect();
        descend(runs, &judged, &mut verdicts);
        for (&t, verdict) in judged.iter().zip(verdicts) {
            let test = &runs.tests[t];
            match verdict {
                Verdict::Split => {
                    let half = test.moves.len().div_ceil(2);
                    let (x, y) = test.moves.split_at(half);
                    let to = if test.m.score.is_some() {
                        &mut next
                    } else {
                        &mut failed
                    };
                    to.push((x.to_vec(), Some(t)));
                    to.push((y.to_vec(), Some(t)));
                }
                Verdict::Confirm => confirm.push(t),
                Verdict::Drop | Verdict::Done => {}
            }
        }
        confirm_moves(runner, runs, b, &confirm, keys)?;
        next.extend(failed);
        next.retain(|g| g.0.iter().any(|m| keys.contains(&m.key)));
        // A single move also needs its confirmation's runs (and the base's).
        let mut budget = left(runner);
        let base_cost = if runs.fresh[b].is_none() {
            CONFIRM_RUNS
        } else {
            0
        };
        next.retain(|g| {
            let cost = 1 + if g.0.len() == 1 {
                CONFIRM_RUNS + base_cost
            } else {
                0
            };
            let fits = budget >= cost;
            budget -= if fits { 1 } else { 0 };
            fits
        });
        if next.is_empty() {
            break;
        }
        let from = runs.tests.len();
        measure_groups(runner, runs, b, next, depth)?;
        judged = (from..runs.tests.len()).collect();
    }
    Ok(())
}

/// The first-level groups whose run passes the screening run once more (repeat 1); those
/// whose second run does not pass the same way leave `judged` (dropped). Why: one run in
/// ~100 spikes by 1.5–5.5× on the simulator, and 5% of inert groups pass 2 standard errors;
/// each such group would send a chain of halves down to a confirmation (~12 trials), the
/// second run costs one.
fn gate(runner: &mut Runner<'_>, runs: &mut GroupRuns, judged: &mut Vec<usize>) -> Result<()> {
    let sigma = screen_sigma(runs);
    let passing: Vec<usize> = judged
        .iter()
        .copied()
        .filter(|&t| {
            runs.tests[t].m.score.is_some() && screen(runs, &runs.tests[t], sigma) != Verdict::Drop
        })
        .collect();
    let budget = left(runner) as usize;
    let passing: Vec<usize> = passing.into_iter().take(budget).collect();
    let items: Vec<(String, Config)> = passing
        .iter()
        .map(|&t| {
            let test = &runs.tests[t];
            (
                test.id.clone(),
                apply(&runs.bases[test.base].0, &test.moves),
            )
        })
        .collect();
    let again = runner.measure_repeats(&items, 1, 1)?;
    let n = runs.level[runs.bases.len() - 1].runs;
    let se = sigma * (1.0 + MEDIAN_VAR / n as f64).sqrt();
    for (&t, m) in passing.iter().zip(again) {
        runs.tests[t].again = Some(m.clone());
        let test = &runs.tests[t];
        let level = runs.level[test.base].value;
        let d1 = test.m.score.unwrap_or(level) - level;
        let holds = m
            .score
            .is_some_and(|s| (s - level) * d1.signum() > (SPLIT_Z * se).max(MIN_EFFECT));
        if !holds {
            judged.retain(|&j| j != t);
        }
    }
    Ok(())
}

/// The halves of a group that changed the score, when neither passes the screening on its
/// own run: the one whose change goes furthest the parent's way goes on (split, or
/// confirmed when single) — the parent's change lies in one of them, and a single run of
/// a half told from noise at SPLIT_Z standard errors loses a 0.1 change at each level
/// about as often as not. The confirmation keeps what noise sends down.
fn descend(runs: &GroupRuns, judged: &[usize], verdicts: &mut [Verdict]) {
    let change = |t: usize| {
        runs.tests[t]
            .m
            .score
            .map(|s| s - runs.level[runs.tests[t].base].value)
    };
    let mut parents: Vec<usize> = judged
        .iter()
        .filter_map(|&t| runs.tests[t].parent)
        .collect();
    parents.dedup();
    for p in parents {
        let Some(dp) = change(p) else { continue };
        let kids: Vec<usize> = (0..judged.len())
            .filter(|&j| runs.tests[judged[j]].parent == Some(p))
            .collect();
        if kids
            .iter()
            .any(|&j| matches!(verdicts[j], Verdict::Split | Verdict::Confirm))
        {
            continue;
        }
        let best = kids
            .iter()
            .filter_map(|&j| change(judged[j]).map(|d| (j, d * dp.signum())))
            .max_by(|a, b| a.1.total_cmp(&b.1));
        if let Some((j, toward)) = best
            && toward > dp.abs() / 2.0
        {
            verdicts[j] = match runs.tests[judged[j]].moves.len() {
                1 => Verdict::Confirm,
                _ => Verdict::Split,
            };
        }
    }
}

/// Base `b`'s screening level, once its first-level groups have run: the median of its own
/// runs and its groups' — most groups are inert, so a spiked run of the base does not move
/// it. At Flink's default, run REFERENCE_RUNS times afresh, the median of its own runs
/// alone when its groups' median lies more than LEAN_Z standard errors from theirs. Why:
/// there a third of the groups may act, mostly one way, and a median over their runs
/// leans toward them (on the simulator recall over seeds 1–400 rose from 0.793 to 0.795
/// at 16 000 rec/s and from 0.797 to 0.802 at 80 000); where they do not lean, the
/// groups' runs make the level more precise, and its own 9 runs alone had selected more
/// inert keys (the synthetic problems' precision 0.01–0.02 lower, an inert key on a job
/// no key moves; BENCHMARKS.md, "Flink's default's level from its own runs when its groups
/// lean").
fn base_level(runs: &GroupRuns, b: usize) -> Level {
    let level = |values: Vec<f64>| Level {
        value: median(&values),
        runs: values.len(),
    };
    let own = runs.bases[b].1.runs.iter().copied();
    let groups: Vec<f64> = (runs.tests.iter())
        .filter(|t| t.base == b && t.top)
        .filter_map(|t| t.m.score)
        .collect();
    let fresh = runs.fresh[b]
        .as_ref()
        .filter(|_| b == 0 && runs.reference_first);
    let (Some(fresh), Some(noise)) = (fresh, confirm::measured_noise(runs)) else {
        return level(own.chain(groups).collect());
    };
    let own: Vec<f64> = own.chain(fresh.runs.iter().copied()).collect();
    let se = noise.sigma
        * (MEDIAN_VAR / own.len() as f64 + MEDIAN_VAR / groups.len().max(1) as f64).sqrt();
    match groups.is_empty() || (median(&groups) - median(&own)).abs() > LEAN_Z * se {
        true => level(own),
        false => level(own.into_iter().chain(groups).collect()),
    }
}

/// Measures groups from base `b` once each.
fn measure_groups(
    runner: &mut Runner<'_>,
    runs: &mut GroupRuns,
    b: usize,
    groups: Vec<(Vec<Move>, Option<usize>)>,
    depth: usize,
) -> Result<()> {
    let items: Vec<(String, Config)> = groups
        .iter()
        .enumerate()
        .map(|(n, g)| {
            (
                format!("rg{b:03}-d{depth}-{n:02}"),
                apply(&runs.bases[b].0, &g.0),
            )
        })
        .collect();
    let measured = runner.measure_all(&items, 1)?;
    for (((moves, parent), m), (id, _)) in groups.into_iter().zip(measured).zip(items) {
        runs.tests.push(Test {
            id,
            base: b,
            top: depth == 0,
            parent,
            moves,
            m,
            confirm: None,
            again: None,
            passed: None,
        });
    }
    Ok(())
}

/// The screening noise of one run: 1.4826 × the median absolute deviation of the bases'
/// runs and their first-level groups' from their base's level (PRIOR_SIGMA before any); at
/// Flink's default, visited first, no more than its repeated runs' noise (REFERENCE_RUNS).
fn screen_sigma(runs: &GroupRuns) -> f64 {
    let lenth = lenth_sigma(runs);
    let at_reference = runs.reference_first && runs.bases.len() == 1;
    match confirm::measured_noise(runs) {
        Some(pure) if at_reference && pure.dof >= NOISE_DOF => lenth.min(pure.sigma),
        _ => lenth,
    }
}

/// Lenth's pseudo standard error of the bases' runs and first-level groups' deviations.
fn lenth_sigma(runs: &GroupRuns) -> f64 {
    let mut dev = Vec::new();
    for (b, (_, m)) in runs.bases.iter().enumerate() {
        let top = runs.tests.iter().filter(|t| t.base == b && t.top);
        let values: Vec<f64> = m
            .runs
            .iter()
            .copied()
            .chain(top.filter_map(|t| t.m.score))
            .collect();
        if values.len() < 3 {
            continue;
        }
        let n = values.len() as f64;
        dev.extend(
            values
                .iter()
                .map(|x| (x - runs.level[b].value).abs() * (n / (n - 1.0)).sqrt()),
        );
    }
    if dev.len() < 5 {
        return PRIOR_SIGMA;
    }
    // Lenth's pseudo standard error: the deviations are mostly noise but not only (at
    // Flink's default a third of the groups move the score), and the larger ones inflate a
    // plain median; those beyond 2.5 of its first estimate are left out of the second.
    let s0 = 1.4826 * median(&dev);
    let small: Vec<f64> = dev.into_iter().filter(|d| *d < 2.5 * s0).collect();
    1.4826 * median(&small)
}

/// The screening's verdict on a group's run: split (or, for a single move, confirm) when
/// its change from the base's level passes SPLIT_Z standard errors and 1%; a group that
/// could not run is dropped (its keys wait for other bases).
fn screen(runs: &GroupRuns, test: &Test, sigma: f64) -> Verdict {
    let single = test.moves.len() == 1;
    let se = sigma * (1.0 + MEDIAN_VAR / runs.level[test.base].runs as f64).sqrt();
    match test.m.score.map(|s| s - runs.level[test.base].value) {
        None if single => Verdict::Done,
        None => Verdict::Drop,
        Some(d) if d.abs() > (SPLIT_Z * se).max(MIN_EFFECT) => match single {
            false => Verdict::Split,
            true => Verdict::Confirm,
        },
        _ => Verdict::Drop,
    }
}

#[cfg(test)]
mod tests;
