//! Sampling a space: distinct configurations from a maximin Latin hypercube, so an initial
//! design covers the space evenly, and a study's plan that grows without redrawing. Apart because it is the only part of the space that draws
//! random numbers.

use std::collections::HashSet;

use opt::sample;
use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::space::catalogue::{Config, Space};

/// Candidate hypercubes the maximin criterion chooses from.
pub const MAXIMIN_TRIES: usize = 8;

/// Points per batch of a growing plan ([`plan_configs`]).
pub const PLAN_BATCH: usize = 32;

/// The first `n` configurations of the study plan drawn from `seed`: maximin Latin
/// hypercube batches of [`PLAN_BATCH`] (see [`sample::growing_maximin`]), so the plan of `n`
/// is the start of the plan of `n + k`. Rounding can make two of them equal in a small
/// discrete space; the caller replaces repeats.
pub fn plan_configs(space: &Space, n: usize, seed: u64) -> Vec<Config> {
    let mut rng = StdRng::seed_from_u64(seed);
    sample::growing_maximin(n, space.len(), PLAN_BATCH, MAXIMIN_TRIES, &mut rng)
        .iter()
        .map(|p| space.from_unit(p))
        .collect()
}

/// Samples `n` distinct configurations of `space`.
pub fn sample_configs(space: &Space, n: usize, seed: u64) -> Vec<Config> {
    let mut rng = StdRng::seed_from_u64(seed);
    let design = sample::maximin_latin_hypercube(n, space.len(), MAXIMIN_TRIES, &mut rng);
    let mut seen = HashSet::new();
    let mut configs = Vec::with_capacity(n);
    for point in design {
        let mut config = space.from_unit(&point);
        // Rounding can merge two points of a small discrete space: redraw those at random.
        let mut tries = 0;
        while !seen.insert(format!("{config:?}")) && tries < 100 {
            let p = sample::uniform(1, space.len(), &mut rng).remove(0);
            config = space.from_unit(&p);
            tries += 1;
        }
        configs.push(config);
    }
    configs
}
