//! The study: its file (`flinktune.toml`), validated with errors that name the file, the
//! line and the key, and its directory, where each stage keeps its artifacts in a folder
//! of its own.

pub mod encoding;
pub mod objectives;
pub mod regressor;

use anyhow::{Context, Result, bail};
use flink::conf::{self, BaseConf, FlatConf, FlinkVersion};
use flink::objective::Objective;
use flink::sim::{Cluster, ClusterMode, Workload};
use flink::space::{Catalogue, Config, Space};
use flink::toml_error::{line_of_key, toml_error};
use regressor::SavedRegressor;
use serde::{Deserialize, Deserializer, Serialize};
use std::path::{Path, PathBuf};

/// The study file's name inside a study directory.
pub const STUDY_FILE: &str = "flinktune.toml";

/// Catalogues and base configurations shipped inside the binary, by name.
const BUILTIN_CATALOGUES: &[(&str, &str)] = &[
    (
        "flink-1.11-key-params",
        include_str!("../../configs/flink-1.11-key-params.toml"),
    ),
    (
        "flink-1.11-candidates",
        include_str!("../../configs/flink-1.11-candidates.toml"),
    ),
    (
        "demeter-resources",
        include_str!("../../configs/demeter-resources.toml"),
    ),
];
// By Flink version; "2" serves every 2.x release.
const BUILTIN_BASE_CONFS: &[(&str, &str)] = &[
    (
        "1.11",
        include_str!("../../configs/flink-1.11-default-conf.yaml"),
    ),
    (
        "1.20",
        include_str!("../../configs/flink-1.20-default-config.yaml"),
    ),
    (
        "2",
        include_str!("../../configs/flink-2-default-config.yaml"),
    ),
];

/// The study file.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudyFile {
    /// The Flink version whose file format and key names the configs use.
    pub flink_version: FlinkVersion,
    /// A built-in catalogue name, or a path (relative to the study directory).
    pub catalogue: String,
    /// A base configuration file or conf directory (relative to the study directory);
    /// absent: the configuration Flink ships for `flink_version`.
    #[serde(default)]
    pub base_conf: Option<String>,
    /// Input rates to measure every configuration at, records/s.
    #[serde(deserialize_with = "rates")]
    pub rates: Vec<u64>,
    /// Repetitions of every (configuration, rate) trial.
    #[serde(default = "one", deserialize_with = "positive")]
    pub repeats: u64,
    /// How long the measured part of each trial lasts, seconds.
    #[serde(default = "sixty", deserialize_with = "positive")]
    pub duration_s: u64,
    #[serde(default)]
    pub objective: Objective,
    /// How many configurations `generate` samples.
    #[serde(deserialize_with = "positive")]
    pub samples: u64,
    /// Seed of every random choice of the study.
    #[serde(default)]
    pub seed: u64,
    pub adapter: AdapterSection,
    #[serde(default)]
    pub sim: SimSection,
    #[serde(default)]
    pub search: SearchSection,
    #[serde(default)]
    pub validate: ValidateSection,
    #[serde(default)]
    pub determine: DetermineSection,
    #[serde(default)]
    pub model: ModelSection,
    #[serde(default)]
    pub adapt: AdaptSection,
}

/// Settings of `flinktune adapt`, the run-time loop (Demeter).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdaptSection {
    /// Seconds between two decisions.
    #[serde(deserialize_with = "positive_f64")]
    pub interval_s: f64,
    /// How far ahead the forecast looks, seconds.
    #[serde(deserialize_with = "positive_f64")]
    pub horizon_s: f64,
    /// Head-room on the forecast rate a configuration is chosen for (0.1 = 10%).
    #[serde(deserialize_with = "fraction")]
    pub margin: f64,
    /// A switch must promise at least this relative gain (Demeter: 5%).
    #[serde(deserialize_with = "fraction")]
    pub min_gain: f64,
    /// The recovery-time constraint, seconds.
    #[serde(deserialize_with = "positive_f64")]
    pub recovery_limit_s: f64,
    /// Latency may exceed the best seen at a rate by this share (0.05 = 5%).
    #[serde(deserialize_with = "fraction")]
    pub latency_slack: f64,
    /// Evaluations of the profiling search at each new rate.
    #[serde(deserialize_with = "positive")]
    pub profile_budget: u64,
    /// Profiled rates are rounded up to a multiple of this, records/s.
    #[serde(deserialize_with = "positive")]
    pub rate_step: u64,
    /// Downtime of a reconfiguration (savepoint + restart) in a replay, seconds.
    #[serde(deserialize_with = "non_negative_f64")]
    pub restart_s: f64,
    /// Downtime of an in-place rescale (only the TaskManager count changes) in a replay,
    /// seconds; the reprocessing since the last checkpoint is added to it.
    #[serde(deserialize_with = "non_negative_f64")]
    pub rescale_s: f64,
    /// Mean time between injected TaskManager failures in a replay, seconds (0 = none).
    #[serde(deserialize_with = "non_negative_f64")]
    pub mean_time_between_failures_s: f64,
    /// How each rate is profiled.
    pub profiler: ProfileMethod,
    /// Runs behind each profiling measurement, combined by their median: one run's p99
    /// outlier would otherwise set a rate's latency target or trigger a switch.
    #[serde(deserialize_with = "positive")]
    pub profile_repeats: u64,
    /// Choose configurations that checkpoint at most every 2 × (`restart_s` − `rescale_s`):
    /// a rescale reprocesses what came since the last checkpoint, so beyond that interval it
    /// can stop the job longer than a restart (on by default: see the README's replays).
    pub checkpoint_cap: bool,
    /// Confirm a running configuration's latency or throughput miss on one measurement with
    /// two more runs (their median) before switching for it; a recovery miss counts at once
    /// (on by default: noise-driven switches were the worst replays' main cost).
    pub confirm_misses: bool,
    /// Demeter's latency budget: over any day, the delays its switches add plus its
    /// configurations' p99 over the static maximum's may come to this share of the static
    /// maximum's latency; a switch for gain that would overspend waits (`inf`: no budget;
    /// a switch for a violation always goes).
    #[serde(deserialize_with = "non_negative_or_inf")]
    pub latency_budget: f64,
}

/// How Demeter profiles a rate (`[adapt] profiler`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProfileMethod {
    /// Single-objective BO on a penalised ln(cost), RGPE ensemble of the earlier rates:
    /// the default, as it held latency closer to the static maximum's in the replays of
    /// `benches/adapt_profilers.rs` (EHVI's choices are cheaper but run nearer the limits,
    /// which the switches' rescales then pay for).
    #[default]
    Rgpe,
    /// Constrained EHVI over (cost, p99), warm-started from the earlier rates' fronts.
    Ehvi,
}

impl Default for AdaptSection {
    fn default() -> Self {
        AdaptSection {
            interval_s: 900.0,
            horizon_s: 3600.0,
            margin: 0.1,
            min_gain: 0.05,
            recovery_limit_s: 180.0,
            latency_slack: 0.05,
            profile_budget: 30,
            rate_step: 5000,
            restart_s: 30.0,
            rescale_s: 5.0,
            mean_time_between_failures_s: 2700.0,
            profiler: ProfileMethod::default(),
            profile_repeats: 1,
            checkpoint_cap: true,
            confirm_misses: true,
            latency_budget: 0.03,
        }
    }
}

/// Which screening experiments `determine` runs and how it selects the key parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScreeningMethod {
    /// One at a time: each parameter swept over `levels` values, the rest at default.
    Oat,
    /// Morris elementary effects over `trajectories` random trajectories.
    Morris,
    /// Permutation importance of a forest fitted on `samples` random configurations.
    Forest,
    /// All three; a parameter is selected when at least two of them select it.
    All,
}

/// Settings of the determine stage.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetermineSection {
    #[serde(default = "oat")]
    pub method: ScreeningMethod,
    /// Values per parameter in the one-at-a-time sweep (evenly spread on its scale).
    #[serde(default = "five", deserialize_with = "at_least_two")]
    pub levels: u64,
    /// Morris trajectories (each costs parameters + 1 configurations).
    #[serde(default = "ten", deserialize_with = "positive")]
    pub trajectories: u64,
    /// Random (Latin hypercube) configurations for the forest's permutation importance.
    #[serde(default = "two_hundred", deserialize_with = "at_least_two")]
    pub samples: u64,
    /// Runs of every screening configuration; their median is used (robust to outliers).
    #[serde(default = "three", deserialize_with = "positive")]
    pub repeats: u64,
    /// A parameter is selected when its importance is at least this share of the top
    /// parameter's (and above the noise floor).
    #[serde(default = "threshold_default", deserialize_with = "fraction")]
    pub threshold: f64,
    /// Select the k most important parameters (above the noise floor) instead.
    #[serde(default, deserialize_with = "positive_opt")]
    pub top_k: Option<u64>,
    /// The input rate of the screening trials; absent: the search rate.
    #[serde(default)]
    pub rate: Option<u64>,
}

impl Default for DetermineSection {
    fn default() -> Self {
        DetermineSection {
            method: oat(),
            levels: five(),
            trajectories: ten(),
            samples: two_hundred(),
            repeats: three(),
            threshold: threshold_default(),
            top_k: None,
            rate: None,
        }
    }
}

/// Settings of the model stage.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSection {
    /// The regressor saved for `search`: best (the savable one with the lowest CV MAPE,
    /// the default) | forest | gbrt | gp.
    #[serde(default)]
    pub regressor: SavedRegressor,
    /// Folds of the cross-validation (by configuration).
    #[serde(default, deserialize_with = "at_least_two_opt")]
    pub folds: Option<u64>,
}

/// Which adapter runs a trial.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdapterSection {
    /// `sim` for the built-in simulator, or `command` for a shell command.
    pub kind: AdapterKind,
    /// The shell command (kind = "command"), run with `sh -c` in the trial directory.
    #[serde(default)]
    pub command: Option<String>,
    /// Wall-clock limit of one trial, seconds.
    #[serde(default = "timeout_default", deserialize_with = "positive")]
    pub timeout_s: u64,
    /// Seconds between SIGTERM and SIGKILL when an adapter's process group is stopped.
    #[serde(default = "grace_default")]
    pub kill_grace_s: u64,
    /// Extra attempts of a trial whose failure looks transient (a timeout, an exit without
    /// any result) before it counts as failed.
    #[serde(default = "one")]
    pub retries: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AdapterKind {
    Sim,
    Command,
}

/// Settings of the built-in simulator.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimSection {
    #[serde(default = "wordcount")]
    pub workload: Workload,
    /// Relative measurement noise (0 = none).
    #[serde(default = "noise_default", deserialize_with = "fraction")]
    pub noise: f64,
    /// `fixed`: four 8-core TaskManagers; `kubernetes`: TaskManager pods as each
    /// configuration asks for, in Flink's reactive mode (see `flink::sim`).
    // Left out of the serialised section when default, so the collect plan's fingerprint
    // of existing studies stays the same.
    #[serde(default, skip_serializing_if = "is_fixed")]
    pub cluster: ClusterMode,
    /// (kubernetes) Most TaskManager pods the cluster runs; default 24.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "positive_opt"
    )]
    pub max_taskmanagers: Option<u64>,
    /// (kubernetes) Seconds until a replacement pod runs a registered TaskManager; default 12.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "seconds_opt"
    )]
    pub pod_startup_s: Option<f64>,
}

impl Default for SimSection {
    fn default() -> Self {
        SimSection {
            workload: wordcount(),
            noise: noise_default(),
            cluster: ClusterMode::Fixed,
            max_taskmanagers: None,
            pod_startup_s: None,
        }
    }
}

impl SimSection {
    /// The simulated cluster this section describes.
    pub fn cluster(&self) -> Cluster {
        match self.cluster {
            ClusterMode::Fixed => Cluster::default(),
            ClusterMode::Kubernetes => {
                let mut c = Cluster::kubernetes();
                if let Some(n) = self.max_taskmanagers {
                    c.max_taskmanagers = n.min(u64::from(u32::MAX)) as u32;
                }
                if let Some(s) = self.pod_startup_s {
                    c.tm_replacement_s = s;
                }
                c
            }
        }
    }
}

fn is_fixed(mode: &ClusterMode) -> bool {
    *mode == ClusterMode::Fixed
}

/// Settings of the search stage.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchSection {
    /// Evaluations of the model in total, including the initial design.
    #[serde(default = "budget_default", deserialize_with = "positive")]
    pub budget: u64,
    /// Space-filling evaluations before the Gaussian process takes over.
    #[serde(default = "initial_default", deserialize_with = "positive")]
    pub initial: u64,
    /// The input rate to tune for; absent: the first of `rates`.
    #[serde(default)]
    pub rate: Option<u64>,
    /// What the search evaluates: the fitted model, or the system itself (the adapter).
    #[serde(default)]
    pub over: Over,
    /// The acquisition function.
    #[serde(default)]
    pub acquisition: AcquisitionKind,
    /// Suggestions evaluated at once (kriging believer); with `over = "system"` they run
    /// in parallel, each on its own worker.
    #[serde(default = "one", deserialize_with = "positive")]
    pub batch: u64,
    /// Random candidates scored per suggestion before local refinement.
    #[serde(default = "candidates_default", deserialize_with = "positive")]
    pub candidates: u64,
    /// Earlier studies (paths relative to this study's directory) whose searches and
    /// collected data at other rates seed this search (RGPE transfer).
    #[serde(default)]
    pub transfer_from: Vec<String>,
    /// Space-filling evaluations before the ensemble takes over when transferring
    /// (replaces `initial` then: the base models already know the space).
    #[serde(default = "transfer_initial_default")]
    pub transfer_initial: u64,
    /// Two or more `"<metric>:min|max"` entries make the search multi-objective
    /// (`crate::stages::search::multi`, over the system): result fields such as `latency_p99_ms`,
    /// `cpu_requested`, `recovery_time_s`.
    #[serde(default)]
    pub objectives: Vec<String>,
    /// Outcome constraints of the multi-objective search, `"<metric> <= <number>"` or
    /// `"<metric> >= <number>"`.
    #[serde(default)]
    pub constraints: Vec<String>,
    /// The multi-objective acquisition: expected hypervolume improvement or ParEGO.
    #[serde(default)]
    pub multi_objective: MoMethod,
}

impl Default for SearchSection {
    fn default() -> Self {
        SearchSection {
            budget: budget_default(),
            initial: initial_default(),
            rate: None,
            over: Over::default(),
            acquisition: AcquisitionKind::default(),
            batch: 1,
            candidates: candidates_default(),
            transfer_from: Vec::new(),
            transfer_initial: transfer_initial_default(),
            objectives: vec![],
            constraints: vec![],
            multi_objective: MoMethod::default(),
        }
    }
}

/// What the search evaluates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Over {
    /// The fitted performance model (the paper): hundreds of evaluations in seconds.
    #[default]
    Model,
    /// The system, through the adapter: every evaluation is a journaled trial.
    System,
}

/// The acquisition of the multi-objective search.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum MoMethod {
    /// Expected hypervolume improvement (Monte Carlo over the objectives' GPs).
    #[default]
    Ehvi,
    /// ParEGO: EI on a random augmented-Chebyshev scalarisation per suggestion.
    Parego,
}

/// The acquisition function of the search.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum AcquisitionKind {
    /// Expected improvement (the paper's).
    #[default]
    Ei,
    /// Logarithm of EI (ranks like EI, keeps signal far from the incumbent).
    Logei,
    /// Probability of improvement.
    Pi,
    /// Upper confidence bound.
    Ucb,
}

/// Settings of the validate stage.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidateSection {
    /// Repetitions of the best and of the default configuration.
    #[serde(default = "three", deserialize_with = "positive")]
    pub repeats: u64,
}

impl Default for ValidateSection {
    fn default() -> Self {
        ValidateSection { repeats: 3 }
    }
}

fn one() -> u64 {
    1
}
fn three() -> u64 {
    3
}
fn sixty() -> u64 {
    60
}
fn timeout_default() -> u64 {
    900
}
fn candidates_default() -> u64 {
    2000
}
fn grace_default() -> u64 {
    5
}
fn budget_default() -> u64 {
    100
}
fn initial_default() -> u64 {
    20
}
fn transfer_initial_default() -> u64 {
    2
}
fn noise_default() -> f64 {
    0.03
}
fn five() -> u64 {
    5
}
fn ten() -> u64 {
    10
}
fn two_hundred() -> u64 {
    200
}
fn threshold_default() -> f64 {
    0.05
}
fn oat() -> ScreeningMethod {
    ScreeningMethod::Oat
}
fn wordcount() -> Workload {
    Workload::Wordcount
}

fn positive<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let v = u64::deserialize(d)?;
    if v == 0 {
        return Err(serde::de::Error::custom("must be at least 1"));
    }
    Ok(v)
}

fn at_least_two<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let v = u64::deserialize(d)?;
    if v < 2 {
        return Err(serde::de::Error::custom("must be at least 2"));
    }
    Ok(v)
}

fn at_least_two_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    at_least_two(d).map(Some)
}

fn positive_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    positive(d).map(Some)
}

fn seconds_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    let v = f64::deserialize(d)?;
    if !(v.is_finite() && (0.0..=86_400.0).contains(&v)) {
        return Err(serde::de::Error::custom(
            "must be a number of seconds in [0, 86400]",
        ));
    }
    Ok(Some(v))
}

fn fraction<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let v = f64::deserialize(d)?;
    if !(0.0..1.0).contains(&v) {
        return Err(serde::de::Error::custom("must be in [0, 1)"));
    }
    Ok(v)
}

fn positive_f64<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let v = f64::deserialize(d)?;
    if !(v.is_finite() && v > 0.0) {
        return Err(serde::de::Error::custom("must be a positive number"));
    }
    Ok(v)
}

fn non_negative_f64<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let v = f64::deserialize(d)?;
    if !(v.is_finite() && v >= 0.0) {
        return Err(serde::de::Error::custom("must be a number of at least 0"));
    }
    Ok(v)
}

fn non_negative_or_inf<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let v = f64::deserialize(d)?;
    if v.is_nan() || v < 0.0 {
        return Err(serde::de::Error::custom(
            "must be a number of at least 0, or inf",
        ));
    }
    Ok(v)
}

fn rates<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u64>, D::Error> {
    let v = Vec::<u64>::deserialize(d)?;
    if v.is_empty() || v.contains(&0) {
        return Err(serde::de::Error::custom(
            "must list at least one rate, each at least 1 record/s",
        ));
    }
    let mut sorted = v.clone();
    sorted.sort_unstable();
    sorted.dedup();
    if sorted.len() != v.len() {
        return Err(serde::de::Error::custom("lists a rate twice"));
    }
    Ok(v)
}

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
}

/// Keeps the parameters that exist in `version`; returns the rest's names.
fn for_version(space: Space, version: FlinkVersion) -> Result<(Space, Vec<String>)> {
    let mut keep = Vec::new();
    let mut absent = Vec::new();
    for p in space.params {
        if p.exists_in(version)? {
            keep.push(p);
        } else {
            absent.push(p.name);
        }
    }
    if keep.is_empty() {
        bail!("none of the catalogue's parameters exists in Flink {version}");
    }
    Ok((Space::new(keep)?, absent))
}

impl Study {
    /// Loads and checks the study in `dir`.
    pub fn load(dir: &Path) -> Result<Study> {
        let path = dir.join(STUDY_FILE);
        if !dir.is_dir() {
            bail!(
                "there is no study directory {}: create one with `flinktune init {}`",
                dir.display(),
                dir.display()
            );
        }
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "cannot read {}: is {} a study directory? (`flinktune init` writes one)",
                path.display(),
                dir.display()
            )
        })?;
        let origin = path.display().to_string();
        let file: StudyFile = toml::from_str(&text).map_err(|e| toml_error(&origin, &text, &e))?;
        let fail = |key: &str, why: String| -> anyhow::Error {
            let line = line_of_key(&text, key)
                .map(|n| format!(":{n}"))
                .unwrap_or_default();
            anyhow::anyhow!("{origin}{line}: key `{key}`: {why}")
        };
        match (file.adapter.kind, &file.adapter.command) {
            (AdapterKind::Command, None) => {
                return Err(fail(
                    "adapter.command",
                    "kind = \"command\" needs a command".into(),
                ));
            }
            (AdapterKind::Command, Some(c)) if c.trim().is_empty() => {
                return Err(fail("adapter.command", "the command is empty".into()));
            }
            _ => {}
        }
        if file.search.initial >= file.search.budget {
            return Err(fail(
                "search.initial",
                format!(
                    "must be below search.budget ({}): the budget includes the initial design",
                    file.search.budget
                ),
            ));
        }
        if !file.search.transfer_from.is_empty()
            && file.search.transfer_initial >= file.search.budget
        {
            return Err(fail(
                "search.transfer_initial",
                format!(
                    "must be below search.budget ({}): the budget includes the initial design",
                    file.search.budget
                ),
            ));
        }
        if let Some(rate) = file.search.rate
            && !file.rates.contains(&rate)
        {
            return Err(fail(
                "search.rate",
                format!("{rate} is not one of the study's rates {:?}", file.rates),
            ));
        }
        objectives::validate(&file.search).map_err(|(key, why)| fail(key, why))?;
        if let Some(rate) = file.determine.rate
            && !file.rates.contains(&rate)
        {
            return Err(fail(
                "determine.rate",
                format!("{rate} is not one of the study's rates {:?}", file.rates),
            ));
        }
        if file.sim.cluster == ClusterMode::Fixed {
            for (key, set) in [
                ("sim.max_taskmanagers", file.sim.max_taskmanagers.is_some()),
                ("sim.pod_startup_s", file.sim.pod_startup_s.is_some()),
            ] {
                if set {
                    return Err(fail(
                        key,
                        "only applies to cluster = \"kubernetes\" (the fixed cluster has 4 TaskManagers)".into(),
                    ));
                }
            }
        }
        let (catalogue, space) = load_catalogue(dir, &file.catalogue)
            .map_err(|e| fail("catalogue", format!("{e:#}")))?;
        let (space, absent) = for_version(space, file.flink_version)
            .map_err(|e| fail("catalogue", format!("{e:#}")))?;
        let catalogue_version: FlinkVersion = catalogue
            .flink_version
            .parse()
            .map_err(|e| fail("catalogue", format!("{e:#}")))?;
        // A catalogue of another version is translated key by key when configs are
        // written; parameters the target version does not have are refused, since Flink
        // would silently ignore them.
        let missing: Vec<String> = space
            .params
            .iter()
            .filter_map(|p| {
                flink::versions::missing(&p.name, catalogue_version, file.flink_version)
                    .map(|why| format!("{} ({why})", p.name))
            })
            .collect();
        if !missing.is_empty() {
            return Err(fail(
                "flink_version",
                format!(
                    "the catalogue '{}' (Flink {catalogue_version}) has parameters that do not \
                     exist in Flink {}: {}; use a copy of the catalogue without them",
                    file.catalogue,
                    file.flink_version,
                    missing.join(", ")
                ),
            ));
        }
        let base = match &file.base_conf {
            Some(p) => {
                BaseConf::load(&dir.join(p)).map_err(|e| fail("base_conf", format!("{e:#}")))?
            }
            None => builtin_base(file.flink_version)
                .map_err(|e| fail("flink_version", format!("{e:#}")))?,
        };
        Ok(Study {
            dir: dir.to_path_buf(),
            file,
            catalogue,
            space,
            base,
            catalogue_version,
            absent,
        })
    }

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
        flink::precheck::predict_failure_on(&self.effective_conf(config), self.capacity())
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
        for key in obj.keys() {
            if self.space.index_of(key).is_none() {
                bail!(
                    "{}: `{key}` is not a parameter of the study",
                    path.display()
                );
            }
        }
        self.space
            .params
            .iter()
            .map(|p| match obj.get(&p.name) {
                None => Ok(None),
                Some(v) => {
                    let value: flink::space::Value = serde_json::from_value(v.clone())?;
                    p.check_value(&value)
                        .with_context(|| format!("{}: `{}`", path.display(), p.name))?;
                    Ok(Some(value))
                }
            })
            .collect()
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

    /// Fails with a clear message unless `stage` has finished in this study.
    pub fn require(&self, stage: Stage) -> Result<PathBuf> {
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
        }
    }

    /// The file a stage writes last; its presence means the stage finished.
    pub fn done_marker(self) -> &'static str {
        "summary.json"
    }
}

fn load_catalogue(dir: &Path, name: &str) -> Result<(Catalogue, Space)> {
    if let Some((_, text)) = BUILTIN_CATALOGUES.iter().find(|(n, _)| *n == name) {
        return Space::from_catalogue_text(text, &format!("built-in catalogue '{name}'"));
    }
    let path = dir.join(name);
    if !path.is_file() {
        let names: Vec<&str> = BUILTIN_CATALOGUES.iter().map(|(n, _)| *n).collect();
        bail!(
            "'{name}' is neither a built-in catalogue ({}) nor a file ({} does not exist)",
            names.join(", "),
            path.display()
        );
    }
    Space::load(&path)
}

fn builtin_base(version: FlinkVersion) -> Result<BaseConf> {
    let key = if version.major >= 2 {
        "2".to_string()
    } else {
        version.to_string()
    };
    let Some((_, text)) = BUILTIN_BASE_CONFS.iter().find(|(v, _)| *v == key) else {
        let have: Vec<&str> = BUILTIN_BASE_CONFS.iter().map(|(v, _)| *v).collect();
        bail!(
            "no built-in base configuration for Flink {version} (have: {}); set base_conf",
            have.join(", ")
        );
    };
    let origin = format!("built-in Flink {version} config");
    // The ≥ 1.19 files are YAML (flat dotted keys), parsed as Flink parses config.yaml.
    let conf = if version.conf_file() == flink::conf::YAML_FILE {
        flink::conf::parse_yaml(text, &origin)?
    } else {
        flink::conf::parse_flat(text, &origin)?
    };
    Ok(BaseConf {
        conf,
        extra_files: vec![],
    })
}

/// The commented study file `flinktune init` writes.
pub fn template(adapter_command: Option<&str>) -> String {
    let adapter = match adapter_command {
        Some(cmd) => format!(
            "kind = \"command\"\n# Run with `sh -c` in each trial's directory; see the adapter protocol in the README.\ncommand = {}\n",
            toml::Value::String(cmd.to_string())
        ),
        None => "kind = \"sim\"          # the built-in simulated Flink job; or \"command\" with command = \"...\"\n".to_string(),
    };
    format!(
        r#"# A flinktune study. Every stage reads this file; see `flinktune --help`.

# Flink version: decides the config file (flink-conf.yaml up to 1.18, config.yaml from 1.19)
# and must match the catalogue's key names.
flink_version = "1.11"
# The parameters to tune: a built-in catalogue or a path relative to this directory.
catalogue = "flink-1.11-key-params"
# Base configuration the tuned values are applied on (file or conf dir, relative to this
# directory). Absent: the flink-conf.yaml that Flink ships.
# base_conf = "conf"

# Input rates (records/s) every configuration is measured at.
rates = [16000, 80000]
# Repetitions of each (configuration, rate) trial; the objective averages them.
repeats = 1
# Measured duration of one trial, seconds.
duration_s = 60
# ratio = mean of throughput / p99 latency (the paper's), latency = p99, throughput.
objective = "ratio"
# Configurations `generate` samples (Latin hypercube).
samples = 200
seed = 42

[adapter]
{adapter}# Wall-clock limit of one trial, seconds; then the adapter's process group gets SIGTERM,
# and SIGKILL kill_grace_s later.
timeout_s = 900
kill_grace_s = 5
# Extra attempts for failures that look transient (timeout, exit without a result).
retries = 1

[sim]
# identity | repartition | wordcount | fixwindow
workload = "wordcount"
# Relative measurement noise of the simulator.
noise = 0.03
# fixed (4 TaskManagers on 8-core nodes) | kubernetes (TaskManager pods sized by each
# configuration, reactive mode; see the README)
# cluster = "kubernetes"
# max_taskmanagers = 24

[search]
# Model evaluations in total, including `initial` space-filling ones.
budget = 100
initial = 20
# The input rate to tune for (one of `rates`); absent: the first.
# rate = 16000
# model = BO over the fitted model (the paper); system = BO on the adapter directly.
over = "model"
# ei | logei | pi | ucb
acquisition = "ei"
# Suggestions evaluated at once (run in parallel with over = "system").
batch = 1
# Earlier studies (other rates, other clusters) to transfer from (RGPE), relative to this
# directory; their search journals and collected data become base models.
# transfer_from = ["../study-8k", "../study-16k"]
# transfer_initial = 2   # space-filling evaluations before the ensemble takes over
# Multi-objective search (needs over = "system"): two or more result fields to minimise or
# maximise, optional outcome constraints, and ehvi | parego.
# objectives = ["latency_p99_ms:min", "cpu_cores:min"]
# constraints = ["recovery_time_s <= 180"]
# multi_objective = "ehvi"

[validate]
# Runs of the best and of the default configuration.
repeats = 3

# `flinktune determine`: screening experiments that pick the key parameters of a broad
# catalogue (e.g. catalogue = "flink-1.11-candidates") and write them to determine/selected.toml.
# [determine]
# method = "oat"         # oat (one at a time) | morris | forest | all (selected by 2 of 3)
# levels = 5             # values per parameter in the one-at-a-time sweep
# trajectories = 10      # Morris trajectories, (parameters + 1) configurations each
# samples = 200          # random configurations for the forest's permutation importance
# repeats = 3            # runs per screening configuration (their median counts)
# threshold = 0.05       # select parameters with at least this share of the top importance
# top_k = 30             # ... or the k most important ones

# [model]
# regressor = "best"     # the saved model: best (lowest CV MAPE) | forest | gbrt | gp
# folds = 5              # cross-validation folds (by configuration)
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_text(text: &str) -> Result<Study> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(STUDY_FILE), text).unwrap();
        Study::load(dir.path())
    }

    #[test]
    fn the_template_loads() {
        let s = load_text(&template(None)).unwrap();
        assert_eq!(s.space.len(), 30);
        assert_eq!(s.search_rate(), 16000);
        assert_eq!(s.base.conf["taskmanager.memory.process.size"], "1728m");
        assert!(load_text(&template(Some("./run.sh 'x'"))).is_ok());
    }

    fn err_of(text: &str) -> String {
        format!("{:#}", load_text(text).unwrap_err())
    }

    #[test]
    fn a_missing_key_is_named_with_its_table_not_the_first_key() {
        let t = template(None);
        let e = err_of(&t.replace("samples = 200", ""));
        assert!(
            e.contains("missing field `samples`") && e.contains("top-level"),
            "{e}"
        );
        assert!(!e.contains("key `"), "{e}");
    }

    #[test]
    fn errors_name_file_line_key_and_why() {
        let t = template(None);
        let e = err_of(&t.replace("samples = 200", "samples = 0"));
        assert!(
            e.contains("flinktune.toml:") && e.contains("`samples`"),
            "{e}"
        );
        assert!(e.contains("at least 1"), "{e}");

        let e = err_of(&t.replace("budget = 100", "budget = \"lots\""));
        assert!(e.contains("`search.budget`"), "{e}");

        let e = err_of(&t.replace("seed = 42", "seed = 42\nspeed = 9"));
        assert!(e.contains("unknown field") && e.contains("speed"), "{e}");

        let e = err_of(&t.replace("objective = \"ratio\"", "objective = \"fast\""));
        assert!(e.contains("`objective`"), "{e}");

        let e = err_of(&t.replace("noise = 0.03", "noise = 2.0"));
        assert!(e.contains("`sim.noise`") && e.contains("[0, 1)"), "{e}");

        let e = err_of(&t.replace("flink-1.11-key-params\"", "nope.toml\""));
        assert!(e.contains("`catalogue`") && e.contains("nope.toml"), "{e}");

        let e = err_of(&t.replace("# rate = 16000", "rate = 5"));
        assert!(e.contains("`search.rate`"), "{e}");

        let e = err_of(&t.replace("flink_version = \"1.11\"", "flink_version = \"1.20\""));
        assert!(
            e.contains("`flink_version`") && e.contains("akka.transport.threshold"),
            "{e}"
        );
        let e = err_of(&t.replace("flink_version = \"1.11\"", "flink_version = \"2.0\""));
        assert!(
            e.contains("taskmanager.network.netty.transport") && !e.contains("parallelism"),
            "{e}"
        );

        let e = err_of(&t.replace(
            "# [determine]\n# method = \"oat\"",
            "[determine]\nlevels = 1",
        ));
        assert!(
            e.contains("`determine.levels`") && e.contains("at least 2"),
            "{e}"
        );
        let e = err_of(&t.replace(
            "# [model]\n# regressor = \"best\"",
            "[model]\nregressor = \"ann\"",
        ));
        assert!(e.contains("`model.regressor`") && e.contains("gbrt"), "{e}");
    }

    #[test]
    fn a_catalogue_of_an_older_version_is_written_with_the_target_keys() {
        let dir = tempfile::tempdir().unwrap();
        let cat = "flink_version = \"1.11\"\n\
            [[param]]\nname = \"execution.buffer-timeout\"\nkind = \"int\"\nmin = -1\nmax = 500\ndefault = 100\n\
            [[param]]\nname = \"akka.framesize\"\nkind = \"int\"\nmin = 1\nmax = 100\nunit = \"mb\"\nformat = \"bytes-suffix\"\n";
        std::fs::write(dir.path().join("cat.toml"), cat).unwrap();
        let text = template(None)
            .replace("flink_version = \"1.11\"", "flink_version = \"2.0\"")
            .replace("\"flink-1.11-key-params\"", "\"cat.toml\"");
        std::fs::write(dir.path().join(STUDY_FILE), text).unwrap();
        let study = Study::load(dir.path()).unwrap();
        // Flink 2.x's shipped config is the base.
        assert_eq!(study.base.conf["taskmanager.memory.process.size"], "1728m");
        assert!(study.base.conf["env.java.opts.all"].contains("--add-opens"));
        let config = vec![
            Some(flink::space::Value::Int(-1)),
            Some(flink::space::Value::Int(10)),
        ];
        let conf = study.effective_conf(&config);
        assert_eq!(conf["execution.buffer-timeout.enabled"], "false");
        assert!(!conf.contains_key("execution.buffer-timeout"));
        assert_eq!(conf["pekko.framesize"], "10485760b");
        assert!(!conf.contains_key("akka.framesize"));
        let out = dir.path().join("c");
        study.write_config_dir(&config, &out, "t").unwrap();
        let written = conf::read_conf_dir(&out.join("conf")).unwrap();
        assert_eq!(written, conf);
        assert!(out.join("conf/config.yaml").is_file());
    }

    #[test]
    fn the_candidate_catalogue_loads_without_keys_flink_1_11_lacks() {
        let t = template(None).replace("\"flink-1.11-key-params\"", "\"flink-1.11-candidates\"");
        let s = load_text(&t).unwrap();
        assert_eq!(s.catalogue.params.len(), 61);
        assert_eq!(
            s.absent,
            vec![
                "taskmanager.network.memory.buffer-debloat.enabled",
                "taskmanager.network.memory.max-buffers-per-channel"
            ]
        );
        assert_eq!(s.space.len(), 59);
        // The paper's 30 are all among the candidates.
        let paper = load_text(&template(None)).unwrap();
        for p in &paper.space.params {
            assert!(s.space.index_of(&p.name).is_some(), "{}", p.name);
        }
    }

    #[test]
    fn a_fixed_cluster_section_serialises_as_before() {
        // collect's plan fingerprint hashes this: existing studies must keep theirs
        let v = serde_json::to_value(SimSection::default()).unwrap();
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["workload", "noise"]);
    }

    #[test]
    fn a_missing_study_says_how_to_make_one() {
        let dir = tempfile::tempdir().unwrap();
        let e = format!("{:#}", Study::load(&dir.path().join("nope")).unwrap_err());
        assert!(e.contains("flinktune init"), "{e}");
    }
}
