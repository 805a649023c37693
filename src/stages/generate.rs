//! The generate stage: sample configurations inside the parameter ranges (maximin Latin
//! hypercube batches, seeded) and write each as a complete Flink conf directory, plus a table.
//!
//! The plan grows without moving: the configurations of `samples = n` are the first `n` of
//! `samples = n + k` (same seed, catalogue and base configuration), every step that draws —
//! the batches, the replacement of a configuration predicted to fail or repeated — depending
//! only on the configurations before it. So raising `samples` keeps every configuration
//! `collect` already ran, and running `generate` again with the same settings changes nothing.
//!
//! Configurations that Flink's memory rules reject (`precheck`), or that need more task slots
//! than the study's cluster has (where its size is known, `Study::capacity`), are FailConfs
//! known before running: they are replaced by random draws that pass, or, on request, kept and marked in
//! the `predicted_failure` column so `collect` can skip or run them.
//!
//! Artifacts (`generate/`): `configs.csv` (one row per configuration, typed values, and the
//! predicted failure if any), `configs/<id>/conf/<flink-conf.yaml|config.yaml>`,
//! `configs/<id>/config.json`, `summary.json`.

use crate::fsx::{self, StageDir};
use crate::study::seed::{Purpose, derive};
use crate::study::{Stage, Study};
use anyhow::{Context, Result, bail};
use flink::precheck;
use flink::space::{Config, MAXIMIN_TRIES, PLAN_BATCH, plan_configs};
use opt::sample;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// The table of generated configurations.
pub const CONFIGS_CSV: &str = "configs.csv";
/// Its last column: why Flink would refuse the configuration (empty: it should start).
pub const PREDICTED_FAILURE: &str = "predicted_failure";
// Random draws tried to replace one predicted FailConf before giving up.
const MAX_REDRAWS: usize = 10_000;

/// A generated configuration.
#[derive(Clone, Debug)]
pub struct Generated {
    pub id: String,
    pub config: Config,
    /// Why Flink would refuse it, when the pre-check predicts it cannot start.
    pub predicted_failure: Option<String>,
}

/// Options of the stage.
#[derive(Clone, Copy, Debug, Default)]
pub struct GenerateOptions {
    /// Keep configurations predicted to fail (marked) instead of replacing them.
    pub keep_predicted_failures: bool,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct GenerateSummary {
    pub configs: usize,
    pub parameters: usize,
    pub flink_version: String,
    pub conf_file: String,
    pub sampler: String,
    pub seed: u64,
    /// Sampled configurations that Flink's memory rules or the cluster's slots reject.
    pub predicted_failures: usize,
    /// How many of them were replaced (the rest are kept, marked).
    pub replaced: usize,
    /// Their reasons, grouped.
    pub predicted_failure_reasons: Vec<precheck::ReasonGroup>,
}

/// The id of the i-th configuration.
pub fn config_id(i: usize) -> String {
    format!("c{i:04}")
}

/// Screens sampled configurations with the pre-check: returns them with their predicted
/// failure, predicted FailConfs replaced by passing random draws unless kept, and repeats
/// (rounding can merge points of a small discrete space) replaced always. Each replacement
/// depends only on the configurations before it, so the screened plan grows as the sampled
/// one does.
fn screen(
    study: &Study,
    configs: Vec<Config>,
    keep: bool,
) -> Result<(Vec<Generated>, Vec<String>)> {
    let mut rng = StdRng::seed_from_u64(derive(study.file.seed, Purpose::Generate));
    let mut seen: HashSet<String> = HashSet::new();
    let mut reasons = Vec::new();
    let mut out = Vec::with_capacity(configs.len());
    for (i, config) in configs.into_iter().enumerate() {
        let mut generated = Generated {
            id: config_id(i),
            config,
            predicted_failure: None,
        };
        let repeated = seen.contains(&format!("{:?}", generated.config));
        let why = study.predict_failure(&generated.config);
        if let Some(why) = &why {
            reasons.push(why.clone());
        }
        match why {
            Some(why) if keep && !repeated => generated.predicted_failure = Some(why),
            None if !repeated => {}
            why => generated.config = replacement(study, &seen, &mut rng, why.as_deref())?,
        }
        seen.insert(format!("{:?}", generated.config));
        out.push(generated);
    }
    Ok((out, reasons))
}

/// A random configuration not in `seen` that the pre-check passes (`why`: what was wrong
/// with the one it replaces, if the pre-check rejected it).
fn replacement(
    study: &Study,
    seen: &HashSet<String>,
    rng: &mut StdRng,
    why: Option<&str>,
) -> Result<Config> {
    let space = &study.space;
    let found = (0..MAX_REDRAWS).find_map(|_| {
        let p = sample::uniform(1, space.len(), rng).remove(0);
        let c = space.from_unit(&p);
        let fresh = !seen.contains(&format!("{c:?}"));
        (fresh && study.predict_failure(&c).is_none()).then_some(c)
    });
    found.with_context(|| {
        format!(
            "{MAX_REDRAWS} random configurations in a row break Flink's memory or slot rules \
             or repeat one already drawn (last replaced: {}); check the catalogue's ranges and \
             the base configuration",
            why.unwrap_or("a repeat")
        )
    })
}

/// Runs the stage.
pub fn run(study: &Study, opts: GenerateOptions) -> Result<GenerateSummary> {
    study.require_screened("generate")?;
    let n = study.file.samples as usize;
    let sampled = plan_configs(&study.space, n, study.file.seed);
    let (configs, reasons) = screen(study, sampled, opts.keep_predicted_failures)?;
    let stage = StageDir::begin(&study.dir, Stage::Generate.name())?;
    let mut table = csv::Writer::from_path(stage.path.join(CONFIGS_CSV))?;
    let mut header = vec!["config".to_string()];
    header.extend(study.space.params.iter().map(|p| p.name.clone()));
    header.push(PREDICTED_FAILURE.to_string());
    table.write_record(&header)?;
    let bar = crate::progress::bar(n as u64, "generate");
    for g in &configs {
        let id = g.id.clone();
        study
            .write_config_dir(
                &g.config,
                &stage.path.join("configs").join(&id),
                &format!("flinktune configuration {id}"),
            )
            .with_context(|| format!("configuration {id}"))?;
        let mut row = vec![id];
        row.extend(
            g.config
                .iter()
                .map(|v| v.as_ref().map(|v| v.to_string()).unwrap_or_default()),
        );
        row.push(g.predicted_failure.clone().unwrap_or_default());
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
        sampler: format!(
            "maximin Latin hypercubes of {PLAN_BATCH}, each the best of {MAXIMIN_TRIES}"
        ),
        seed: study.file.seed,
        predicted_failures: reasons.len(),
        replaced: if opts.keep_predicted_failures {
            0
        } else {
            reasons.len()
        },
        predicted_failure_reasons: precheck::group_reasons(reasons.iter().map(String::as_str)),
    };
    study.record_inputs(Stage::Generate, None, &stage.path)?;
    fsx::write_json(&stage.path.join("summary.json"), &summary)?;
    stage.commit()?;
    Ok(summary)
}

/// A human summary.
pub fn describe(s: &GenerateSummary) -> String {
    let mut out = format!(
        "generated {} configurations of {} parameters ({}, {})\n",
        s.configs, s.parameters, s.conf_file, s.sampler
    );
    if s.predicted_failures > 0 {
        out.push_str(&format!(
            "  {} sampled configurations break Flink's memory or slot rules ({}):\n",
            s.predicted_failures,
            if s.replaced > 0 {
                "replaced by ones that pass"
            } else {
                "kept, marked in configs.csv"
            }
        ));
        out.push_str(&crate::stages::reasons::describe(
            &s.predicted_failure_reasons,
            crate::progress::verbose(),
        ));
    }
    out
}

/// Reads the generated configurations back (for the stages after this one).
pub fn read_configs(study: &Study) -> Result<Vec<Generated>> {
    let dir = study.require(Stage::Generate)?;
    read_configs_csv(study, &dir.join(CONFIGS_CSV))
}

/// Reads a configurations table of the study's space, fresh or not.
pub fn read_configs_csv(study: &Study, path: &std::path::Path) -> Result<Vec<Generated>> {
    let origin = path.display().to_string();
    let mut reader =
        csv::Reader::from_path(path).with_context(|| format!("cannot read {origin}"))?;
    let header = reader.headers()?.clone();
    let names: Vec<&str> = header.iter().skip(1).collect();
    let mut expected: Vec<&str> = study.space.params.iter().map(|p| p.name.as_str()).collect();
    expected.push(PREDICTED_FAILURE);
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
        let predicted_failure = record
            .get(study.space.len() + 1)
            .filter(|c| !c.is_empty())
            .map(String::from);
        out.push(Generated {
            id,
            config,
            predicted_failure,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flink::space::{Space, sample_configs};

    fn space() -> Space {
        let text = include_str!("../../configs/flink-1.11-key-params.toml");
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
    fn a_plan_grows_without_moving() {
        let s = space();
        let plan = plan_configs(&s, 75, 3);
        assert_eq!(plan_configs(&s, 75, 3), plan);
        assert_eq!(plan_configs(&s, 8, 3)[..], plan[..8]);
        assert_eq!(plan_configs(&s, 40, 3)[..], plan[..40]);
        assert_ne!(plan_configs(&s, 8, 4)[..], plan[..8]);
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
