//! Morris elementary effects: one-factor-at-a-time trajectories through a 4-level grid of
//! the unit cube (step Δ = 2/3), kept inside the runnable region, and their effects —
//! importance μ* (mean |EE|), with σ of the EEs showing interactions and non-linearity.

use crate::stages::determine::measure::{Measured, Runner};
use crate::stages::determine::select::{
    FLOOR_ALPHA, MIN_EFFECT, MethodResult, perf_share, z_bonferroni,
};
use crate::stages::determine::summary::EffectRow;
use crate::study::seed::{Purpose, derive};
use anyhow::Result;
use opt::stats::{mean, median, std_dev};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};

/// Morris grid levels and step.
const MORRIS_LEVELS: f64 = 4.0;
const MORRIS_DELTA: f64 = MORRIS_LEVELS / (2.0 * (MORRIS_LEVELS - 1.0));

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

/// What the trajectories measured.
pub(super) struct MorrisRuns {
    /// Every configuration measured on a trajectory (starts and step ends, run or not).
    pub(super) measured: Vec<Measured>,
    steps: Vec<MorrisStep>,
    /// Per parameter: steps whose end could not run.
    failed: Vec<usize>,
}

/// Runs `trajectories` Morris trajectories kept inside the runnable region: each starts at
/// a grid point that ran, and a step whose end cannot run (predicted by the pre-check: no
/// run spent; or measured) gives no elementary effect but does not end the trajectory — it
/// stays at the last point that ran and moves the next factor from there. Before, one
/// failing point cost both its steps and most points of a random trajectory failed.
/// Starts that failed go to `spent`.
pub(super) fn measure(
    runner: &mut Runner<'_>,
    trajectories: usize,
    spent: &mut Vec<Measured>,
) -> Result<MorrisRuns> {
    let study = runner.study;
    let k = study.space.len();
    let mut runs = MorrisRuns {
        measured: Vec::new(),
        steps: Vec::new(),
        failed: vec![0usize; k],
    };
    let mut trng = StdRng::seed_from_u64(derive(study.file.seed, Purpose::Morris));
    for t in 0..trajectories {
        trajectory(runner, t, &mut trng, spent, &mut runs)?;
    }
    Ok(runs)
}

/// Trajectory `t`: a runnable start, then every factor in a random order.
fn trajectory(
    runner: &mut Runner<'_>,
    t: usize,
    trng: &mut StdRng,
    spent: &mut Vec<Measured>,
    runs: &mut MorrisRuns,
) -> Result<()> {
    let study = runner.study;
    let space = &study.space;
    let k = space.len();
    let repeats = study.file.determine.repeats;
    let found = runner.runnable(&format!("morris-t{t:02}-s00"), repeats, spent, || {
        let (x, dirs) = morris_start(k, &mut *trng);
        let c = space.from_unit(&x);
        ((x, dirs), c)
    })?;
    let Some(((mut x, dirs), _, start)) = found else {
        return Ok(());
    };
    let mut here = start.score.unwrap_or(f64::NAN);
    runs.measured.push(start);
    let mut order: Vec<usize> = (0..k).collect();
    order.shuffle(trng);
    for (s, &i) in order.iter().enumerate() {
        let id = format!("morris-t{t:02}-s{:02}", s + 1);
        match step(runner, &id, &x, i, dirs[i], &mut runs.measured)? {
            Some((next, sc, delta)) => {
                runs.steps.push(MorrisStep {
                    factor: i,
                    delta,
                    before: here,
                    after: sc,
                });
                x = next;
                here = sc;
            }
            None => runs.failed[i] += 1,
        }
    }
    Ok(())
}

/// Moves factor `i` of `x` in direction `dir`: the full step Δ; if its end cannot run, one
/// grid level (Δ/2) instead: e.g. parallelism one level up may still fit the cluster's
/// slots. Returns the point reached, its score and the signed step, or None when neither
/// ran. Every configuration tried goes to `measured`.
fn step(
    runner: &mut Runner<'_>,
    id: &str,
    x: &[f64],
    i: usize,
    dir: f64,
    measured: &mut Vec<Measured>,
) -> Result<Option<(Vec<f64>, f64, f64)>> {
    let study = runner.study;
    for (a, span) in [MORRIS_DELTA, 0.5 * MORRIS_DELTA].into_iter().enumerate() {
        let mut next = x.to_vec();
        next[i] = (next[i] + dir * span).clamp(0.0, 1.0);
        let c = study.space.from_unit(&next);
        let id = format!("{id}{}", if a == 0 { "" } else { "h" });
        let m = runner.measure(&id, &c, study.file.determine.repeats)?;
        let sc = m.score;
        measured.push(m);
        if let Some(sc) = sc {
            return Ok(Some((next, sc, dir * span)));
        }
    }
    Ok(None)
}

/// The trajectories' effects: fills the rows' Morris columns and returns the method's
/// result and its noise floor (the median of the per-parameter floors). `noise_sd` is the
/// noise of one score.
pub(super) fn effects(
    runs: &MorrisRuns,
    noise_sd: f64,
    rows: &mut [EffectRow],
) -> (MethodResult, f64) {
    let k = rows.len();
    let mut ee: Vec<Vec<f64>> = vec![Vec::new(); k];
    // Per effect, the SD noise gives it: √2·σ/|step| (a half step doubles it).
    let mut ee_noise: Vec<Vec<f64>> = vec![Vec::new(); k];
    for s in &runs.steps {
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
    for (i, row) in rows.iter_mut().enumerate() {
        let abs: Vec<f64> = ee[i].iter().map(|e| e.abs()).collect();
        let n = abs.len().max(1) as f64;
        let s_full = std::f64::consts::SQRT_2 * noise_sd / MORRIS_DELTA;
        let (s_mean, s_sq) = if ee_noise[i].is_empty() {
            (s_full, s_full * s_full)
        } else {
            let sq: Vec<f64> = ee_noise[i].iter().map(|s| s * s).collect();
            (mean(&ee_noise[i]), mean(&sq))
        };
        row.morris_mu_star = Some(mean(&abs));
        row.morris_mu = Some(mean(&ee[i]));
        row.morris_sigma = Some(std_dev(&ee[i]));
        row.morris_failed_steps = Some(runs.failed[i]);
        row.morris_effects = Some(ee[i].len());
        importance.push(mean(&abs));
        floor.push(
            (two_over_pi.sqrt() * s_mean + z * ((1.0 - two_over_pi) * s_sq / n).sqrt())
                .max(MIN_EFFECT / MORRIS_DELTA),
        );
    }
    let reported = median(&floor);
    let result = MethodResult {
        share: importance
            .iter()
            .map(|&v| perf_share(v * MORRIS_DELTA))
            .collect(),
        floor,
        importance,
    };
    (result, reported)
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
}
