//! Sampling a space: distinct configurations from a maximin Latin hypercube, so an initial
//! design covers the space evenly. Apart because it is the only part of the space that draws
//! random numbers.

use std::collections::HashSet;

use opt::sample;
use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::space::catalogue::{Config, Space};

/// Candidate hypercubes the maximin criterion chooses from.
pub const MAXIMIN_TRIES: usize = 8;

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
