//! Where the acquisition maximiser looks: random candidates, half of them near the anchors
//! (the best observations), and a random unseen point when nothing better is found.

use anyhow::{Result, bail, ensure};
use rand::RngExt;
use rand::rngs::StdRng;

use super::domain::{Domain, Var, choose, chosen, nearest};
use super::feasibility::Precheck;
use super::seen::Seen;

/// Discrete domains with at most this many points are enumerated exhaustively
/// when random search cannot find an unseen point.
const ENUMERATION_LIMIT: u128 = 100_000;
/// Coordinates a local candidate moves, on average.
const LOCAL_MOVES: f64 = 4.0;
/// Step sizes of local candidates (relaxed scale).
const LOCAL_SIGMAS: [f64; 4] = [0.02, 0.05, 0.1, 0.25];
/// The smallest step (relaxed scale) to a grid neighbour that [`neighbours`] offers: a
/// twentieth of the range (a power-of-two size, a few slots, one to two threads).
const MIN_NEIGHBOUR_GAP: f64 = 0.05;
/// Random draws tried before falling back to enumeration.
const RANDOM_TRIES: usize = 1_000;
/// Random draws tried when a precheck may reject them: a space where fewer than about 1
/// in 2 000 configurations pass is refused rather than searched.
const PRECHECK_TRIES: usize = 20_000;

/// `n` relaxed candidates. Half are uniform; half perturb the anchors (the best
/// observations, best first), each moving a few coordinates by a step of random size (as
/// trust-region methods do in high dimensions, where moving every coordinate at once is a
/// jump, not a step), so the incumbent's neighbourhood is examined at several scales. The
/// incumbent's discrete neighbours are [`neighbours`].
pub(super) fn candidates(
    domain: &Domain,
    rng: &mut StdRng,
    anchors: &[Vec<f64>],
    n: usize,
) -> Vec<Vec<f64>> {
    let dims = domain.dims();
    let n_local = if anchors.is_empty() { 0 } else { n / 2 };
    let move_prob = (LOCAL_MOVES / dims as f64).min(1.0);
    let mut zs: Vec<Vec<f64>> = Vec::with_capacity(n);
    for i in 0..n {
        let z: Vec<f64> = if i < n_local {
            // The incumbent gets half of the local candidates.
            let base = if i % 2 == 0 {
                &anchors[0]
            } else {
                &anchors[(i / 2) % anchors.len()]
            };
            let sigma = LOCAL_SIGMAS[i % LOCAL_SIGMAS.len()];
            let mut z = base.clone();
            let mut moved = false;
            for v in z.iter_mut() {
                if rng.random::<f64>() < move_prob {
                    *v = (*v + sigma * crate::normal::sample_complement(rng)).clamp(0.0, 1.0);
                    moved = true;
                }
            }
            if !moved {
                let d = rng.random_range(0..dims);
                z[d] = (z[d] + sigma * crate::normal::sample_complement(rng)).clamp(0.0, 1.0);
            }
            z
        } else {
            (0..dims).map(|_| rng.random::<f64>()).collect()
        };
        zs.push(z);
    }
    zs
}

/// The one-step discrete neighbours of `z`: each categorical at each of its other
/// choices, each coarse grid variable a level up and a level down (a level at least
/// [`MIN_NEIGHBOUR_GAP`] away), the rest of `z` unchanged.
///
/// Why: a Gaussian step in the relaxed cube rarely lands on another choice of a one-hot
/// categorical, so the random candidates leave the incumbent's alternatives untried;
/// scoring all of them (a few dozen in a 30-parameter space) costs little and finds a
/// better choice next to the incumbent as soon as the model sees it. The next level of a
/// fine grid (one MiB more of a memory size) is a near copy of the incumbent: under
/// noise, the model rates it as high as the incumbent's lucky measurement, and the search
/// would spend its evaluations re-measuring that.
pub(super) fn neighbours(domain: &Domain, z: &[f64]) -> Vec<Vec<f64>> {
    let mut out = Vec::new();
    for (var, o) in domain.vars.iter().zip(domain.offsets()) {
        match var {
            Var::Grid { points } if points.len() > 1 => {
                let k = nearest(points, z[o].clamp(0.0, 1.0));
                for level in [k.checked_sub(1), Some(k + 1)].into_iter().flatten() {
                    if let Some(&p) = points.get(level)
                        && (p - points[k]).abs() >= MIN_NEIGHBOUR_GAP
                    {
                        let mut n = z.to_vec();
                        n[o] = p;
                        out.push(n);
                    }
                }
            }
            Var::Continuous | Var::Grid { .. } => {}
            Var::Categorical { choices } => {
                let block = o..o + *choices as usize;
                let current = chosen(&z[block.clone()]);
                for c in (0..*choices as usize).filter(|&c| c != current) {
                    let mut n = z.to_vec();
                    choose(&mut n[block.clone()], c);
                    out.push(n);
                }
            }
        }
    }
    out
}

/// A random point not seen before that the precheck (if any) admits; enumerates small
/// discrete domains if random draws keep hitting seen points. Counts the draws the
/// precheck rejected into `rejected`.
pub(super) fn random_unseen(
    domain: &Domain,
    rng: &mut StdRng,
    seen: &Seen,
    precheck: Option<&Precheck>,
    rejected: &mut usize,
) -> Result<Vec<f64>> {
    let admits = |p: &[f64]| precheck.is_none_or(|f| f(p));
    let tries = if precheck.is_some() {
        PRECHECK_TRIES
    } else {
        RANDOM_TRIES
    };
    let before = *rejected;
    for _ in 0..tries {
        let p = domain.random_point(rng);
        if seen.contains(&p) {
            continue;
        }
        if admits(&p) {
            return Ok(p);
        }
        *rejected += 1;
    }
    if *rejected - before > tries / 2 {
        bail!(nearly_all_rejected(*rejected - before, tries));
    }
    match domain.cardinality() {
        Some(c) if c <= ENUMERATION_LIMIT => {
            let unseen: Vec<Vec<f64>> = domain
                .enumerate()
                .into_iter()
                .filter(|p| !seen.contains(p) && admits(p))
                .collect();
            ensure!(
                !unseen.is_empty(),
                "search domain exhausted: no unseen point left that the pre-check admits"
            );
            let i = rng.random_range(0..unseen.len());
            Ok(unseen[i].clone())
        }
        _ => bail!("could not find a point that has not been evaluated yet"),
    }
}

/// The error of a space whose configurations the pre-check (nearly) all rejects.
pub(super) fn nearly_all_rejected(rejected: usize, drawn: usize) -> String {
    format!(
        "the pre-check (Flink's memory rules, the cluster's slots) rejected {rejected} of \
         {drawn} configurations drawn at random: the space holds (nearly) no configuration \
         that can run; widen the memory ranges or narrow parallelism and slots"
    )
}
