//! The model stage's data: one feature row per (configuration, rate) with the objective's
//! perf over the passing repeats, and the splits by configuration that keep a
//! configuration from being on both sides (a configuration seen in training at one rate
//! would leak into the test at another).

use crate::stages::collect;
use crate::stages::generate;
use crate::trial::record::TrialRecord;
use anyhow::{Context, Result};
use flink::objective::Objective;
use flink::space::{Config, Space};
use ndarray::Array2;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use std::collections::{BTreeMap, BTreeSet};

/// The feature appended to the parameters: ln(input rate).
pub const RATE_FEATURE: &str = "input.rate";
/// Share of configurations held out to measure accuracy (the paper's 20%).
const TEST_SHARE: f64 = 0.2;

/// All (configuration, rate) observations of a study, aggregated over repeats.
#[derive(Clone, Debug)]
pub struct Dataset {
    /// One row per (configuration, rate): the parameter features and ln(rate).
    pub x: Array2<f64>,
    /// The objective's perf over the passing repeats (None: no repeat passed).
    pub perf: Vec<Option<f64>>,
    pub configs: Vec<String>,
    pub rates: Vec<u64>,
}

/// The feature row of a configuration at a rate.
pub fn features(space: &Space, config: &Config, rate: u64) -> Vec<f64> {
    let mut row = space.features(config);
    row.push((rate.max(1) as f64).ln());
    row
}

/// The feature names, in row order.
pub fn feature_names(space: &Space) -> Vec<String> {
    let mut names: Vec<String> = space.params.iter().map(|p| p.name.clone()).collect();
    names.push(RATE_FEATURE.to_string());
    names
}

impl Dataset {
    /// Joins configurations and trials (aggregated per configuration and rate by
    /// `collect::aggregate`, so the objective is the paper's mean over repeats).
    pub fn build(
        space: &Space,
        objective: Objective,
        configs: &[generate::Generated],
        trials: &[TrialRecord],
    ) -> Result<Dataset> {
        let by_id: BTreeMap<&str, &Config> =
            configs.iter().map(|g| (g.id.as_str(), &g.config)).collect();
        let rows = collect::aggregate(objective, trials);
        let mut flat = Vec::with_capacity(rows.len() * (space.len() + 1));
        for row in &rows {
            let config = by_id.get(row.config.as_str()).with_context(|| {
                format!(
                    "trial of configuration {}, which generate did not write",
                    row.config
                )
            })?;
            flat.extend(features(space, config, row.rate));
        }
        Ok(Dataset {
            x: Array2::from_shape_vec((rows.len(), space.len() + 1), flat)?,
            perf: rows.iter().map(|r| r.perf).collect(),
            configs: rows.iter().map(|r| r.config.clone()).collect(),
            rates: rows.iter().map(|r| r.rate).collect(),
        })
    }

    pub fn len(&self) -> usize {
        self.perf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.perf.is_empty()
    }

    /// Rows whose configuration ran.
    pub fn passing(&self) -> Vec<usize> {
        (0..self.len())
            .filter(|&i| self.perf[i].is_some())
            .collect()
    }
}

/// Splits the rows by configuration, so no configuration is on both sides (a config seen
/// in training at one rate would leak into the test at another).
pub fn split_by_config(configs: &[String], rows: &[usize], seed: u64) -> (Vec<usize>, Vec<usize>) {
    let ids = shuffled_configs(configs, rows, seed);
    let n_test = ((ids.len() as f64) * TEST_SHARE).round().max(1.0) as usize;
    let test_ids: BTreeSet<&String> = ids.into_iter().take(n_test).collect();
    rows.iter()
        .copied()
        .partition(|&i| !test_ids.contains(&configs[i]))
}

/// The distinct configurations of `rows`, in a seeded random order.
pub fn shuffled_configs<'a>(configs: &'a [String], rows: &[usize], seed: u64) -> Vec<&'a String> {
    let mut ids: Vec<&String> = rows
        .iter()
        .map(|&i| &configs[i])
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    ids.shuffle(&mut StdRng::seed_from_u64(seed));
    ids
}
