//! The generate stage: sample configurations inside the parameter ranges (a maximin Latin
//! hypercube, seeded) and write each as a complete Flink conf directory, plus a table.
//!
//! Artifacts (`generate/`): `configs.csv` (one row per configuration, typed values),
//! `configs/<id>/conf/<flink-conf.yaml|config.yaml>`, `configs/<id>/config.json`,
//! `summary.json`.

use crate::fsx::{self, StageDir};
use crate::sample;
use crate::space::{Config, Space};
use crate::study::{Stage, Study};
use anyhow::{Context, Result, bail};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// The table of generated configurations.
pub const CONFIGS_CSV: &str = "configs.csv";
// Candidate hypercubes the maximin criterion chooses from.
const MAXIMIN_TRIES: usize = 8;

/// A generated configuration.
#[derive(Clone, Debug)]
pub struct Generated {
    pub id: String,
    pub config: Config,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct GenerateSummary {
    pub configs: usize,
    pub parameters: usize,
    pub flink_version: String,
    pub conf_file: String,
    pub sampler: String,
    pub seed: u64,
}

/// The id of the i-th configuration.
pub fn config_id(i: usize) -> String {
    format!("c{i:04}")
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

/// Runs the stage.
pub fn run(study: &Study) -> Result<GenerateSummary> {
    let n = study.file.samples as usize;
    let configs = sample_configs(&study.space, n, study.file.seed);
    let stage = StageDir::begin(&study.dir, Stage::Generate.name())?;
    let mut table = csv::Writer::from_path(stage.path.join(CONFIGS_CSV))?;
    let mut header = vec!["config".to_string()];
    header.extend(study.space.params.iter().map(|p| p.name.clone()));
    table.write_record(&header)?;
    let bar = crate::progress::bar(n as u64, "generate");
    for (i, config) in configs.iter().enumerate() {
        let id = config_id(i);
        study
            .write_config_dir(
                config,
                &stage.path.join("configs").join(&id),
                &format!("flinktune configuration {id}"),
            )
            .with_context(|| format!("configuration {id}"))?;
        let mut row = vec![id];
        row.extend(
            config
                .iter()
                .map(|v| v.as_ref().map(|v| v.to_string()).unwrap_or_default()),
        );
        table.write_record(&row)?;
        bar.inc(1);
    }
    bar.finish_and_clear();
    table.flush()?;
    let summary = GenerateSummary {
        configs: n,
        parameters: study.space.len(),
        flink_version: study.file.flink_version.to_string(),
        conf_file: study.file.flink_version.conf_file().to_string(),
        sampler: format!("maximin Latin hypercube (best of {MAXIMIN_TRIES})"),
        seed: study.file.seed,
    };
    fsx::write_json(&stage.path.join("summary.json"), &summary)?;
    stage.commit()?;
    Ok(summary)
}

/// Reads the generated configurations back (for the stages after this one).
pub fn read_configs(study: &Study) -> Result<Vec<Generated>> {
    let dir = study.require(Stage::Generate)?;
    let path = dir.join(CONFIGS_CSV);
    let origin = path.display().to_string();
    let mut reader =
        csv::Reader::from_path(&path).with_context(|| format!("cannot read {origin}"))?;
    let header = reader.headers()?.clone();
    let names: Vec<&str> = header.iter().skip(1).collect();
    let expected: Vec<&str> = study.space.params.iter().map(|p| p.name.as_str()).collect();
    if names != expected {
        bail!(
            "{origin} was generated for other parameters than the study's catalogue: \
             run `flinktune generate` again"
        );
    }
    let mut out = Vec::new();
    for (row_no, record) in reader.records().enumerate() {
        let record = record.with_context(|| format!("{origin}: row {}", row_no + 2))?;
        let id = record.get(0).unwrap_or_default().to_string();
        let mut config = Config::new();
        for (p, cell) in study.space.params.iter().zip(record.iter().skip(1)) {
            config.push(if cell.is_empty() {
                None
            } else {
                Some(
                    p.parse_value(cell)
                        .with_context(|| format!("{origin}:{}: column `{}`", row_no + 2, p.name))?,
                )
            });
        }
        out.push(Generated { id, config });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::space::Space;

    fn space() -> Space {
        let text = include_str!("../configs/flink-1.11-key-params.toml");
        Space::from_catalogue_text(text, "t").unwrap().1
    }

    #[test]
    fn samples_are_reproducible_distinct_and_in_range() {
        let s = space();
        let a = sample_configs(&s, 60, 3);
        assert_eq!(a, sample_configs(&s, 60, 3));
        assert_ne!(a, sample_configs(&s, 60, 4));
        let distinct: HashSet<String> = a.iter().map(|c| format!("{c:?}")).collect();
        assert_eq!(distinct.len(), 60);
        for c in &a {
            for (p, v) in s.params.iter().zip(c) {
                p.check_value(v.as_ref().unwrap()).unwrap();
            }
        }
    }

    #[test]
    fn samples_cover_each_range() {
        let s = space();
        let configs = sample_configs(&s, 100, 9);
        let i = s.index_of("execution.checkpointing.interval").unwrap();
        let units: Vec<f64> = configs.iter().map(|c| s.to_unit(c)[i]).collect();
        // A Latin hypercube puts a tenth of the points in each tenth of the (log) range.
        for decile in 0..10 {
            let lo = decile as f64 / 10.0;
            let count = units
                .iter()
                .filter(|&&u| u >= lo - 0.02 && u < lo + 0.12)
                .count();
            assert!(count >= 6, "decile {decile} holds {count}");
        }
    }
}
