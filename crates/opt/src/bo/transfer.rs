//! Transfer from earlier tasks (RGPE): their base models, fitted as the target's GP is, and
//! the rank-weighted ensemble of those and the target GP the acquisition then asks.

use anyhow::{Result, ensure};

use crate::gp::{FitOptions, Gp};
use crate::rgpe::{self, BaseModel, Ensemble, Task};

use super::domain::Domain;
use super::observations::{Observations, at_floor, capped};

/// One base model per task: a GP fitted on its observations projected into `domain`,
/// capped at their median and with its failures at the floor (like the target's), each
/// with its own seed derived from `fit`'s.
pub(super) fn fit_bases(
    domain: &Domain,
    tasks: &[Task],
    fit: &FitOptions,
) -> Result<Vec<BaseModel>> {
    let dims = domain.dims();
    let mut bases = Vec::with_capacity(tasks.len());
    for (i, t) in tasks.iter().enumerate() {
        ensure!(
            t.xs.iter().all(|x| x.len() == dims),
            "transfer source {}: points have another dimension than the search domain ({dims})",
            t.name
        );
        let xs: Vec<Vec<f64>> = t.xs.iter().map(|x| domain.project(x)).collect();
        let failures: Vec<Vec<f64>> = t.failures.iter().map(|x| domain.project(x)).collect();
        let (xs, ys) = at_floor(xs, capped(&t.ys), &failures);
        let task = Task {
            xs,
            ys,
            failures: vec![],
            ..t.clone()
        };
        let opts = FitOptions {
            seed: fit.seed.wrapping_add(1000 + i as u64),
            ..fit.clone()
        };
        bases.push(BaseModel::fit(&task, &opts)?);
    }
    Ok(bases)
}

/// The ensemble of `bases` and the target GP, weighted by how they rank the real
/// observations (capped), not a batch's provisional ones.
pub(super) fn ensemble<'a>(
    bases: &'a [BaseModel],
    target: Option<&'a Gp>,
    obs: &Observations,
    seed: u64,
) -> Ensemble<'a> {
    let (xs, ys) = obs.real();
    let ranked = if ys.is_empty() { vec![] } else { capped(ys) };
    Ensemble::new(bases, target, xs, &ranked, rgpe::DEFAULT_SAMPLES, seed)
}
