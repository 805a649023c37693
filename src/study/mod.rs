//! The study: its file (`flinktune.toml`), validated with errors that name the file, the
//! line and the key, and its directory, where each stage keeps its artifacts in a folder
//! of its own.

pub mod encoding;
mod file;
pub mod fingerprint;
mod keycheck;
mod load;
pub mod lock;
pub mod objectives;
pub mod regressor;
pub mod seed;
mod template;
#[cfg(test)]
mod tests;

pub use file::{
    AcquisitionKind, AdaptSection, AdapterKind, AdapterSection, DetermineSection, MoMethod,
    ModelSection, Over, ProfileMethod, ScreeningMethod, SearchSection, SimSection, StudyFile,
    ValidateSection,
};
pub use load::SELECTED_CATALOGUE;
pub use template::{init, template, template_for};

use anyhow::{Context, Result, bail};
use flink::conf::{self, BaseConf, FlatConf, FlinkVersion};
use flink::sim::ClusterMode;
use flink::space::{Catalogue, Config, Space};
use std::path::{Path, PathBuf};

/// The study file's name inside a study directory.
pub const STUDY_FILE: &str = "flinktune.toml";

/// A loaded study: its directory, its file and the resolved space and base configuration.
#[derive(Clone, Debug)]
pub struct Study {
    pub dir: PathBuf,
    pub file: StudyFile,
    pub catalogue: Catalogue,
    pub space: Space,
    pub base: BaseConf,
    /// The version whose key names the catalogue uses; its keys are translated to
    /// `file.flink_version` when a configuration is written (`flink::versions`).
    pub catalogue_version: FlinkVersion,
    /// Catalogue parameters left out of `space` because the study's Flink version lacks
    /// them (their `versions`).
    pub absent: Vec<String>,
    /// Whether `catalogue` is `determine/selected.toml` in place of the catalogue the study
    /// file names (`[determine] before_tune`).
    pub tunes_selected: bool,
}

impl Study {
    /// The complete configuration Flink reads for `config`: the study's base with the
    /// tuned values applied (an all-unset config gives the base itself, Flink's default).
    pub fn effective_conf(&self, config: &Config) -> FlatConf {
        let (from, to) = (self.catalogue_version, self.file.flink_version);
        // Load refused parameters missing in `to`, so every entry translates.
        let entries: Vec<(String, String)> = self
            .space
            .flink_entries(config)
            .iter()
            .flat_map(|(k, v)| flink::versions::translate(k, v, from, to).unwrap_or_default())
            .collect();
        let replaced: Vec<String> = self
            .space
            .replaced_keys(config)
            .iter()
            .map(|k| flink::versions::rename(k, from, to))
            .collect();
        conf::apply(&self.base.conf, &entries, &replaced)
    }

    /// The size of the cluster trials run on, where the study declares it: the simulator's
    /// cluster. A command adapter's cluster is not described in the study, so it is None.
    pub fn capacity(&self) -> Option<flink::precheck::Capacity> {
        use flink::precheck::Capacity;
        if self.file.adapter.kind != AdapterKind::Sim {
            return None;
        }
        let cluster = self.file.sim.cluster();
        Some(match cluster.mode {
            ClusterMode::Fixed => Capacity::Fixed {
                taskmanagers: cluster.taskmanagers,
            },
            ClusterMode::Kubernetes => Capacity::Reactive {
                max_taskmanagers: cluster.max_taskmanagers,
            },
        })
    }

    /// Why `config` would fail before it runs: Flink's memory rules, and the cluster's
    /// slots where its size is known (`capacity`); None when neither rejects it.
    pub fn predict_failure(&self, config: &Config) -> Option<String> {
        flink::precheck::predict_failure_on(
            &self.effective_conf(config),
            self.file.flink_version,
            self.capacity(),
        )
    }

    /// Writes a configuration as a conf directory `dir/conf/` plus the typed
    /// `dir/config.json` of the tuned values (the adapter protocol's layout).
    pub fn write_config_dir(&self, config: &Config, dir: &Path, header: &str) -> Result<()> {
        let conf_dir = dir.join("conf");
        std::fs::create_dir_all(&conf_dir)
            .with_context(|| format!("cannot create {}", conf_dir.display()))?;
        conf::write_conf_dir(
            &conf_dir,
            self.file.flink_version,
            &self.effective_conf(config),
            &self.base.extra_files,
            header,
        )?;
        crate::fsx::write_json(&dir.join("config.json"), &self.space.to_json(config))
    }

    /// Reads a `config.json` of this study's space back into a configuration.
    pub fn read_config_json(&self, path: &Path) -> Result<Config> {
        let obj: serde_json::Map<String, serde_json::Value> = crate::fsx::read_json(path)?;
        self.config_of_json(&obj, &path.display().to_string())
    }

    /// A configuration of this study's space from its JSON object (`origin` names where it
    /// came from in errors).
    pub fn config_of_json(
        &self,
        obj: &serde_json::Map<String, serde_json::Value>,
        origin: &str,
    ) -> Result<Config> {
        for key in obj.keys() {
            if self.space.index_of(key).is_none() {
                bail!("{origin}: `{key}` is not a parameter of the study");
            }
        }
        self.space
            .params
            .iter()
            .map(|p| match obj.get(&p.name) {
                None => Ok(None),
                Some(v) => {
                    let value: flink::space::Value = serde_json::from_value(v.clone())
                        .with_context(|| format!("{origin}: `{}`", p.name))?;
                    p.check_value(&value)
                        .with_context(|| format!("{origin}: `{}`", p.name))?;
                    Ok(Some(value))
                }
            })
            .collect()
    }

    /// The size of the search's initial design: `[search] initial`, else a quarter of the
    /// budget, at least 5 and at most one more than the parameters; a sixth, not below a
    /// third of the parameters, for a search whose fits are under the length-scale prior
    /// (`under_prior`: over the system, one objective; `opt::bo::default_initial`).
    pub fn search_initial(&self, under_prior: bool) -> usize {
        let s = &self.file.search;
        match s.initial {
            Some(n) => n as usize,
            None => opt::bo::default_initial(s.budget as usize, self.space.len(), under_prior),
        }
    }

    /// The rate the search tunes for.
    pub fn search_rate(&self) -> u64 {
        self.file.search.rate.unwrap_or(self.file.rates[0])
    }

    /// The folder of a stage's finished artifacts.
    pub fn stage_dir(&self, stage: Stage) -> PathBuf {
        self.dir.join(stage.name())
    }

    /// The `summary.json` of a finished stage (None when the stage has not finished).
    pub fn summary<T: serde::de::DeserializeOwned>(&self, stage: Stage) -> Result<Option<T>> {
        let path = self.stage_dir(stage).join(stage.done_marker());
        if !path.is_file() {
            return Ok(None);
        }
        crate::fsx::read_json(&path).map(Some)
    }

    /// Fails with a clear message unless `stage` has finished in this study and still
    /// matches it (see [`fingerprint`]): a stale stage is refused, naming what changed.
    pub fn require(&self, stage: Stage) -> Result<PathBuf> {
        let dir = self.require_finished(stage)?;
        if let fingerprint::Freshness::Stale(why) = self.freshness(stage)? {
            bail!(
                "the {} stage in {} is stale ({}): run `flinktune {} {}` to refresh it",
                stage.name(),
                self.dir.display(),
                why.join(", "),
                stage.name(),
                self.dir.display()
            );
        }
        Ok(dir)
    }

    /// Fails with a clear message unless `stage` has finished in this study.
    pub fn require_finished(&self, stage: Stage) -> Result<PathBuf> {
        let dir = self.stage_dir(stage);
        if !dir.join(stage.done_marker()).is_file() {
            bail!(
                "the {} stage has not run in {}: run `flinktune {} {}` first",
                stage.name(),
                self.dir.display(),
                stage.name(),
                self.dir.display()
            );
        }
        Ok(dir)
    }
}

/// The stages that keep artifacts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    Generate,
    Collect,
    Model,
    Search,
    Validate,
    Determine,
    Adapt,
    Compare,
}

impl Stage {
    pub fn name(self) -> &'static str {
        match self {
            Stage::Determine => "determine",
            Stage::Generate => "generate",
            Stage::Collect => "collect",
            Stage::Model => "model",
            Stage::Search => "search",
            Stage::Validate => "validate",
            Stage::Adapt => "adapt",
            Stage::Compare => "compare",
        }
    }

    /// The file a stage writes last; its presence means the stage finished.
    pub fn done_marker(self) -> &'static str {
        "summary.json"
    }
}
