//! Where RGPE transfer learns from: earlier studies of the same parameter space, at other
//! input rates or on other clusters (`[search] transfer_from`, `search --transfer-from`).
//!
//! Each source study gives one task per thing it measured: its search over the system
//! (the journal, at the search's rate) and its collected data, one task per collected
//! rate. Everything is read through the owning stage's public reader
//! (`record::read_journal`, `generate::read_configs`, `collect::read_trials`) and mapped
//! into this study's optimiser domain; scores are the source's objective on the log scale,
//! higher is better. The ensemble (`rgpe`) standardises each task on its own, so only how
//! a source ranks configurations carries over.

use crate::stages::collect;
use crate::stages::generate;
use crate::stages::search::record;
use crate::study::encoding;
use crate::study::{Stage, Study};
use anyhow::{Context, Result, bail};
use flink::space::{Param, Space};
use opt::rgpe::Task;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The source directories of a study: `[search] transfer_from`, relative to the study.
pub fn source_dirs(study: &Study) -> Vec<PathBuf> {
    study
        .file
        .search
        .transfer_from
        .iter()
        .map(|p| study.dir.join(p))
        .collect()
}

/// The tasks of every source of `study` (none without `transfer_from`).
pub fn sources(study: &Study) -> Result<Vec<Task>> {
    let mut tasks = Vec::new();
    for dir in source_dirs(study) {
        tasks.extend(tasks_of(study, &dir)?);
    }
    Ok(tasks)
}

/// Why two parameters differ for the search, if they do.
fn param_difference(a: &Param, b: &Param) -> Option<String> {
    if a.name != b.name {
        return Some(format!("'{}' where this study has '{}'", b.name, a.name));
    }
    let what = if a.kind != b.kind {
        "kind"
    } else if a.min != b.min || a.max != b.max {
        "range"
    } else if a.log != b.log || a.power_of_two != b.power_of_two {
        "scale"
    } else if a.values != b.values {
        "choices"
    } else {
        return None;
    };
    Some(format!("'{}' has another {what}", a.name))
}

/// Checks that a source searched the same space (same parameters, order, kinds, ranges,
/// scales and choices): its points mean the same configurations.
fn check_space(target: &Space, source: &Space, dir: &Path) -> Result<()> {
    let names = |s: &Space| s.params.len();
    if names(target) != names(source) {
        bail!(
            "transfer source {}: its parameter space has {} parameters, this study's {}; \
             transfer needs the same space",
            dir.display(),
            source.len(),
            target.len()
        );
    }
    for (a, b) in target.params.iter().zip(&source.params) {
        if let Some(why) = param_difference(a, b) {
            bail!(
                "transfer source {}: its parameter space differs from this study's: {why}",
                dir.display()
            );
        }
    }
    Ok(())
}

/// The tasks of one source study.
pub fn tasks_of(study: &Study, dir: &Path) -> Result<Vec<Task>> {
    let source = Study::load(dir).with_context(|| format!("transfer source {}", dir.display()))?;
    check_space(&study.space, &source.space, dir)?;
    let domain = encoding::domain(&study.space);
    let objective = source.file.objective;
    let label = dir.display().to_string();
    let mut tasks = Vec::new();

    let steps =
        record::read_journal(&source).with_context(|| format!("transfer source {label}"))?;
    if !steps.is_empty() {
        let rate = match source.summary::<record::SearchSummary>(Stage::Search) {
            Ok(Some(s)) => s.rate,
            _ => source.search_rate(),
        };
        let (mut xs, mut ys, mut failures) = (vec![], vec![], vec![]);
        for s in &steps {
            let x = encoding::encode(&study.space, &domain, &s.config);
            match s.score(objective) {
                Some(y) => {
                    xs.push(x);
                    ys.push(y);
                }
                None => failures.push(x),
            }
        }
        tasks.push(Task {
            name: format!("{label} search @ {rate}"),
            rate: Some(rate),
            xs,
            ys,
            failures,
        });
    }

    if source
        .summary::<serde_json::Value>(Stage::Collect)?
        .is_some()
    {
        let configs: BTreeMap<String, _> = generate::read_configs(&source)
            .with_context(|| format!("transfer source {label}"))?
            .into_iter()
            .map(|g| (g.id, g.config))
            .collect();
        let trials =
            collect::read_trials(&source).with_context(|| format!("transfer source {label}"))?;
        let mut by_rate: BTreeMap<u64, (Vec<Vec<f64>>, Vec<f64>)> = BTreeMap::new();
        for row in collect::aggregate(objective, &trials) {
            let (Some(perf), Some(config)) = (row.perf, configs.get(&row.config)) else {
                continue;
            };
            let entry = by_rate.entry(row.rate).or_default();
            entry
                .0
                .push(encoding::encode(&study.space, &domain, config));
            entry.1.push(objective.score(perf));
        }
        for (rate, (xs, ys)) in by_rate {
            tasks.push(Task {
                name: format!("{label} collect @ {rate}"),
                rate: Some(rate),
                xs,
                ys,
                failures: vec![],
            });
        }
    }
    // A task with fewer than two runs carries no ranking.
    tasks.retain(|t| t.ys.len() >= 2);
    if tasks.is_empty() {
        bail!(
            "transfer source {label} has no search over the system and no collected data to \
             learn from: run `flinktune search {label} --over system` or `flinktune collect \
             {label}` first"
        );
    }
    Ok(tasks)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn space(text: &str) -> Space {
        Space::from_catalogue_text(text, "t").unwrap().1
    }

    #[test]
    fn a_source_of_another_space_is_refused_by_name() {
        let a = space(include_str!("../../../configs/flink-1.11-key-params.toml"));
        assert!(check_space(&a, &a.clone(), Path::new("same")).is_ok());
        let mut b = a.clone();
        b.params[2].max = b.params[2].max.map(|m| m * 2.0 + 1.0);
        let e = check_space(&a, &b, Path::new("../study-8k"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("../study-8k") && e.contains(&a.params[2].name),
            "{e}"
        );
        let mut c = a.clone();
        c.params.pop();
        let e = check_space(&a, &c, Path::new("x")).unwrap_err().to_string();
        assert!(e.contains("parameters"), "{e}");
    }

    #[test]
    fn encoding_a_decoded_point_gives_it_back() {
        use rand::SeedableRng;
        let s = space(include_str!("../../../configs/flink-1.11-key-params.toml"));
        let d = encoding::domain(&s);
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        for _ in 0..100 {
            let z = d.random_point(&mut rng);
            // The first round trip snaps wide integer ranges (searched as continuous) to
            // their values; from then on it is the identity, up to rounding.
            let back = encoding::encode(&s, &d, &encoding::decode(&s, &d, &z));
            let again = encoding::encode(&s, &d, &encoding::decode(&s, &d, &back));
            for (a, b) in back.iter().zip(&again) {
                assert!((a - b).abs() < 1e-9, "{back:?} vs {again:?}");
            }
            assert_eq!(back.len(), z.len());
        }
    }
}
