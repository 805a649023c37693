//! What each stage read, so that none silently uses stale input. A finished stage folder
//! holds `inputs.json`: a fingerprint per input (the settings that matter to the stage,
//! the catalogue, the base configuration, the adapter, and the upstream stage's own
//! fingerprint, which is the fingerprint of *its* `inputs.json`). A stage is stale when an
//! input's fingerprint differs from what the study now gives, or when its upstream stage is
//! stale; `status` shows it and a reader refuses it (`Study::require`).
//!
//! A trial is identified the same way ([`Study::trial_key`]): by its complete Flink
//! configuration, rate, repeat and the adapter's fingerprint, so that finished work is
//! recognised wherever it reappears.

use crate::study::{AdapterKind, Over, Stage, Study};
use anyhow::{Context, Result};
use flink::space::Config;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::Path;

/// The file of a finished stage folder that records what the stage read.
pub const INPUTS_FILE: &str = "inputs.json";

/// FNV-1a over `parts`, each closed by 0xff so that moving bytes between parts changes it
/// (stable across builds and Rust versions, as a fingerprint kept in a file must be).
pub fn fingerprint(parts: &[&[u8]]) -> String {
    let mut h = opt::hash::Fnv1a::new();
    for part in parts {
        h.write(part);
        h.write(&[0xff]);
    }
    format!("{:016x}", h.finish())
}

fn of_json(value: &impl Serialize) -> String {
    fingerprint(&[serde_json::to_string(value).unwrap_or_default().as_bytes()])
}

/// What a stage read: input name → fingerprint, the run's options that choose which
/// inputs apply (the search's and compare's `over`), and the files outside the study it was
/// given on the command line (absolute path → fingerprint of the contents: `adapt`'s trace).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Inputs {
    pub inputs: BTreeMap<String, String>,
    #[serde(default)]
    pub over: Option<Over>,
    // Left out when empty, so that the fingerprint of a stage that reads no such file stays
    // what it was before files were recorded.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub files: BTreeMap<String, String>,
}

/// Whether a stage's finished folder still matches the study.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Freshness {
    NotRun,
    Fresh,
    /// The inputs that changed (or the upstream stage that is stale).
    Stale(Vec<String>),
}

/// The stage each stage reads from (None: it reads only the study).
fn upstream(stage: Stage, over: Option<Over>) -> Option<Stage> {
    match stage {
        Stage::Collect => Some(Stage::Generate),
        Stage::Model => Some(Stage::Collect),
        Stage::Search | Stage::Compare if over != Some(Over::System) => Some(Stage::Model),
        Stage::Validate => Some(Stage::Search),
        _ => None,
    }
}

impl Study {
    /// The adapter's fingerprint: what decides a trial's result besides its configuration,
    /// rate and repeat.
    pub fn adapter_fingerprint(&self) -> String {
        let f = &self.file;
        let sim = (f.adapter.kind == AdapterKind::Sim).then_some(&f.sim);
        of_json(&json!({
            "kind": f.adapter.kind, "command": f.adapter.command, "timeout_s": f.adapter.timeout_s,
            "sim": sim, "duration_s": f.duration_s, "seed": f.seed,
        }))
    }

    /// The identity of a trial: its complete Flink configuration, rate, repeat and adapter.
    pub fn trial_key(&self, config: &Config, rate: u64, repeat: u64) -> String {
        let conf = serde_json::to_string(&self.effective_conf(config)).unwrap_or_default();
        fingerprint(&[
            conf.as_bytes(),
            &rate.to_le_bytes(),
            &repeat.to_le_bytes(),
            self.adapter_fingerprint().as_bytes(),
        ])
    }

    /// The settings of the study that matter to `stage`.
    fn settings(&self, stage: Stage) -> serde_json::Value {
        let f = &self.file;
        match stage {
            // `before_tune` says what reads determine's result, not what it measures.
            Stage::Determine => {
                let mut d = serde_json::to_value(&f.determine).unwrap_or_default();
                if let Some(o) = d.as_object_mut() {
                    o.remove("before_tune");
                }
                json!({"determine": d, "rates": f.rates})
            }
            // A configuration is what the catalogue, the base configuration, the seed and
            // the count make it, whatever runs it: the same generated set serves any adapter.
            // The simulator's cluster only spares generate drawing configurations it cannot
            // host; collect, whose inputs hold the adapter, judges them against the cluster
            // it runs on.
            Stage::Generate => json!({
                "samples": f.samples, "seed": f.seed, "version": f.flink_version,
            }),
            Stage::Collect => json!({"rates": f.rates, "repeats": f.repeats}),
            Stage::Model => json!({"model": f.model, "objective": f.objective, "seed": f.seed}),
            Stage::Search => {
                let mut s = serde_json::to_value(&f.search).unwrap_or_default();
                s["batch"] = json!(null);
                json!({"search": s, "objective": f.objective, "rate": self.search_rate(),
                       "repeats": f.repeats, "seed": f.seed})
            }
            Stage::Validate => json!({"validate": f.validate, "objective": f.objective,
                                      "rate": self.search_rate()}),
            // compare runs the search's optimiser (and its rivals) at the search's rate.
            Stage::Compare => json!({"search": f.search, "objective": f.objective,
                                     "rate": self.search_rate(), "repeats": f.repeats,
                                     "seed": f.seed}),
            // A replay runs the policies on the study's simulator.
            Stage::Adapt => json!({"adapt": f.adapt, "sim": f.sim, "seed": f.seed,
                                   "duration_s": f.duration_s, "objective": f.objective}),
        }
    }

    /// What `stage` would read now (`over`: the search's choice).
    pub fn inputs(&self, stage: Stage, over: Option<Over>) -> Result<Inputs> {
        // determine read the catalogue the study file names, whichever this study tunes.
        if stage == Stage::Determine && self.tunes_selected {
            return Study::load_for_screening(&self.dir)?.inputs(stage, over);
        }
        let mut inputs = BTreeMap::new();
        inputs.insert("settings".to_string(), of_json(&self.settings(stage)));
        let reads_space = !matches!(stage, Stage::Collect | Stage::Model | Stage::Validate);
        if reads_space {
            let space = json!({"catalogue": self.catalogue, "version": self.file.flink_version});
            inputs.insert("catalogue".into(), of_json(&space));
            inputs.insert("base configuration".into(), of_json(&self.base.conf));
        }
        let runs_trials = match stage {
            Stage::Search | Stage::Compare => over == Some(Over::System),
            s => matches!(s, Stage::Determine | Stage::Collect | Stage::Validate),
        };
        if runs_trials {
            inputs.insert("adapter".into(), self.adapter_fingerprint());
        }
        if let Some(up) = upstream(stage, over) {
            let fp = self.stage_fingerprint(up)?.unwrap_or_default();
            inputs.insert(up.name().to_string(), fp);
        }
        Ok(Inputs {
            inputs,
            over,
            files: BTreeMap::new(),
        })
    }

    /// Writes what `stage` read into its folder under construction `dir`.
    pub fn record_inputs(&self, stage: Stage, over: Option<Over>, dir: &Path) -> Result<()> {
        self.record_inputs_reading(stage, over, &[], dir)
    }

    /// Writes what `stage` read into `dir`, with the files outside the study it read.
    pub fn record_inputs_reading(
        &self,
        stage: Stage,
        over: Option<Over>,
        files: &[&Path],
        dir: &Path,
    ) -> Result<()> {
        let mut inputs = self.inputs(stage, over)?;
        for file in files {
            let path = std::path::absolute(file)
                .with_context(|| format!("cannot resolve {}", file.display()))?;
            let fp = file_fingerprint(&path)?;
            inputs.files.insert(path.display().to_string(), fp);
        }
        crate::fsx::write_json(&dir.join(INPUTS_FILE), &inputs)
    }

    /// What a finished stage recorded it read (None: not finished, or recorded nothing).
    fn recorded(&self, stage: Stage) -> Result<Option<Inputs>> {
        let path = self.stage_dir(stage).join(INPUTS_FILE);
        if !self.stage_dir(stage).join(stage.done_marker()).is_file() || !path.is_file() {
            return Ok(None);
        }
        crate::fsx::read_json(&path).map(Some)
    }

    /// A finished stage's own fingerprint (that of what it read).
    pub fn stage_fingerprint(&self, stage: Stage) -> Result<Option<String>> {
        Ok(self.recorded(stage)?.map(|r| of_json(&r)))
    }

    /// Whether `stage`'s finished folder matches the study and its upstream stages.
    pub fn freshness(&self, stage: Stage) -> Result<Freshness> {
        if !self.stage_dir(stage).join(stage.done_marker()).is_file() {
            return Ok(Freshness::NotRun);
        }
        let Some(recorded) = self.recorded(stage)? else {
            return Ok(Freshness::Stale(vec![
                "its inputs were not recorded".into(),
            ]));
        };
        let now = self.inputs(stage, recorded.over)?;
        let mut changed: Vec<String> = now
            .inputs
            .iter()
            .filter(|(k, v)| recorded.inputs.get(*k) != Some(v))
            .map(|(k, _)| format!("{k} changed"))
            .collect();
        for (path, recorded_fp) in &recorded.files {
            match file_fingerprint(Path::new(path)) {
                Ok(fp) if &fp == recorded_fp => {}
                Ok(_) => changed.push(format!("{path} changed")),
                Err(_) => changed.push(format!("{path} cannot be read")),
            }
        }
        if let Some(up) = upstream(stage, recorded.over)
            && changed.is_empty()
            && self.freshness(up)? != Freshness::Fresh
        {
            changed.push(format!("{} is stale", up.name()));
        }
        Ok(match changed.is_empty() {
            true => Freshness::Fresh,
            false => Freshness::Stale(changed),
        })
    }
}

/// The fingerprint of a text file's contents (read as a regular file only: a named pipe in
/// its place must not hang `status`).
fn file_fingerprint(path: &Path) -> Result<String> {
    Ok(fingerprint(&[crate::fsx::read_text(path)?.as_bytes()]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_stable() {
        assert_eq!(fingerprint(&[b"abc"]), fingerprint(&[b"abc"]));
        assert_ne!(fingerprint(&[b"ab", b"c"]), fingerprint(&[b"a", b"bc"]));
        // Pinned: a change here would orphan every interrupted run and stale every stage.
        assert_eq!(fingerprint(&[b""]), "af64724c8602eb6e");
    }
}
