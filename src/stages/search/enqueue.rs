//! Known configurations a search evaluates first (`[search] enqueue`, `--enqueue FILE`), as
//! Optuna's `enqueue_trial`: production's configuration, Flink's default, an expert's.
//!
//! A file is a TOML table of the study's parameters (`"taskmanager.numberOfTaskSlots" = 4`,
//! or the same keys as nested tables) or a search's `best/config.json`; a parameter it does
//! not name keeps Flink's (effective) default, so an empty file is Flink's default.

use crate::study::Study;
use anyhow::{Context, Result, bail};
use flink::space::Config;
use std::path::{Path, PathBuf};

/// The files `[search] enqueue` names (relative to the study directory), in order.
pub fn files(study: &Study) -> Vec<PathBuf> {
    let s = &study.file.search;
    s.enqueue.iter().map(|f| study.dir.join(f)).collect()
}

/// The configurations of `paths`, each checked against the study's parameters and its
/// pre-check (an enqueued configuration that cannot run is refused, not skipped).
pub fn load(study: &Study, paths: &[PathBuf]) -> Result<Vec<Config>> {
    paths
        .iter()
        .map(|path| {
            let config = read(study, path)?;
            if let Some(why) = study.predict_failure(&config) {
                bail!("{}: this configuration cannot run: {why}", path.display());
            }
            Ok(config)
        })
        .collect()
}

/// One file's configuration.
fn read(study: &Study, path: &Path) -> Result<Config> {
    if path.extension().is_some_and(|e| e == "json") {
        return study.read_config_json(path);
    }
    let origin = path.display();
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {origin}"))?;
    let table: toml::Table = toml::from_str(&text).with_context(|| format!("{origin}"))?;
    let mut entries = Vec::new();
    flatten("", &table, &mut entries);
    let mut config: Config = vec![None; study.space.len()];
    for (key, value) in entries {
        let Some(i) = study.space.index_of(&key) else {
            bail!("{origin}: `{key}` is not a parameter of the study");
        };
        let text = match value {
            toml::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let param = &study.space.params[i];
        let value = param
            .parse_value(&text)
            .with_context(|| format!("{origin}: `{key}`"))?;
        config[i] = Some(value);
    }
    Ok(config)
}

/// The leaves of a TOML table under their dotted keys: Flink's keys contain dots, which
/// TOML reads as nested tables unless quoted; both spellings mean the same key.
fn flatten<'a>(prefix: &str, table: &'a toml::Table, out: &mut Vec<(String, &'a toml::Value)>) {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(t) => flatten(&key, t, out),
            leaf => out.push((key, leaf)),
        }
    }
}
