//! The study file (`flinktune.toml`) as it is written: one section per stage, each field
//! with its default and the range it must lie in. Serde checks what a field alone can
//! decide (so its error names the line); what depends on several fields is checked when
//! the study loads (`study::load`).

use crate::study::regressor::SavedRegressor;
use flink::conf::FlinkVersion;
use flink::objective::Objective;
use flink::sim::{Cluster, ClusterMode, Workload};
use serde::{Deserialize, Deserializer, Serialize};

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
    /// Keys Flink's own key set lacks that a user's plugins read: exact keys, or prefixes
    /// ending in `.` or `.*` (`"my.plugin.*"`); they are written without a check.
    #[serde(default)]
    pub allow_unknown_keys: Vec<String>,
    /// Input rates to measure every configuration at, records/s.
    #[serde(deserialize_with = "rates")]
    pub rates: Vec<u64>,
    /// Repetitions of every (configuration, rate) trial.
    #[serde(default = "one", deserialize_with = "within::<1, 1000, _>")]
    pub repeats: u64,
    /// How long the measured part of each trial lasts, seconds.
    #[serde(default = "sixty", deserialize_with = "within::<1, 604_800, _>")]
    pub duration_s: u64,
    #[serde(default)]
    pub objective: Objective,
    /// How many configurations `generate` samples.
    #[serde(deserialize_with = "within::<1, 100_000, _>")]
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
    #[serde(deserialize_with = "within::<1, 10_000, _>")]
    pub profile_budget: u64,
    /// Profiled rates are rounded up to a multiple of this, records/s.
    #[serde(deserialize_with = "within::<1, 1_000_000_000_000, _>")]
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
    #[serde(deserialize_with = "within::<1, 100, _>")]
    pub profile_repeats: u64,
    /// Choose configurations that checkpoint at most every 2 × (`restart_s` − `rescale_s`):
    /// a rescale reprocesses what came since the last checkpoint, so beyond that interval it
    /// can stop the job longer than a restart (on by default: see docs/adapt.md).
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
    /// A space-filling design in the runnable region, a GP with ARD fitted on it and each
    /// key's total Sobol' index of the GP.
    Sobol,
    /// One at a time: each parameter swept over `levels` values, the rest at default.
    Oat,
    /// Morris elementary effects over `trajectories` random trajectories.
    Morris,
    /// Permutation importance of a forest fitted on `samples` random configurations.
    Forest,
    /// All three; a parameter is selected when at least two of them select it.
    All,
    /// A two-level design in foldover pairs in the runnable region, read by least squares
    /// (main effects and the pairs that act together).
    Factorial,
    /// The factorial method's first phase, then groups of keys moved from many bases
    /// (Flink's default, to the middle and ¾ of their ranges; the design's configurations,
    /// to their ends), split while they act (sequential bifurcation), every run read by one
    /// regression (the default).
    Groups,
}

/// Settings of the determine stage.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetermineSection {
    #[serde(default = "groups")]
    pub method: ScreeningMethod,
    /// Trials the screening may run, repeats included (sobol: its design is budget /
    /// repeats configurations; the other methods refuse to start past it).
    #[serde(
        default = "three_hundred",
        deserialize_with = "within::<1, 1_000_000, _>"
    )]
    pub budget: u64,
    /// Values per parameter in the one-at-a-time sweep (evenly spread on its scale).
    #[serde(default = "five", deserialize_with = "within::<2, 1000, _>")]
    pub levels: u64,
    /// Morris trajectories (each costs parameters + 1 configurations).
    #[serde(default = "ten", deserialize_with = "within::<1, 10_000, _>")]
    pub trajectories: u64,
    /// Random (Latin hypercube) configurations for the forest's permutation importance.
    #[serde(default = "two_hundred", deserialize_with = "within::<2, 100_000, _>")]
    pub samples: u64,
    /// Runs of every screening configuration; their median is used (robust to outliers).
    /// The sobol method's GP averages the noise over the design, so one run each is its
    /// best use of the budget.
    #[serde(default = "one", deserialize_with = "within::<1, 1000, _>")]
    pub repeats: u64,
    /// A parameter is selected when its importance is at least this share of the top
    /// parameter's (and above the noise floor); absent: 0 for sobol (its floor and the 1%
    /// minimum effect decide), 0.05 for the others.
    #[serde(default, deserialize_with = "fraction_opt")]
    pub threshold: Option<f64>,
    /// Select the k most important parameters (above the noise floor) instead.
    #[serde(default, deserialize_with = "within_opt::<1, 10_000, _>")]
    pub top_k: Option<u64>,
    /// The input rate of the screening trials; absent: the search rate.
    #[serde(default, deserialize_with = "within_opt::<1, 1_000_000_000_000, _>")]
    pub rate: Option<u64>,
    /// `tune` runs `determine` first, and every stage after it (`generate`, `collect`,
    /// `model`, `search`, `validate`) takes `determine/selected.toml` as the catalogue;
    /// `determine` itself screens `catalogue`.
    #[serde(default)]
    pub before_tune: bool,
}

impl Default for DetermineSection {
    fn default() -> Self {
        DetermineSection {
            method: groups(),
            budget: three_hundred(),
            levels: five(),
            trajectories: ten(),
            samples: two_hundred(),
            repeats: one(),
            threshold: None,
            top_k: None,
            rate: None,
            before_tune: false,
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
    #[serde(default, deserialize_with = "within_opt::<2, 1000, _>")]
    pub folds: Option<u64>,
}

/// Which adapter runs a trial.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdapterSection {
    /// `sim` for the built-in simulator, or `command` for a shell command.
    pub kind: AdapterKind,
    /// The shell command (kind = "command"), run with `sh -c` in the trial directory; a
    /// relative program path is resolved against the study directory, `{study}` expands
    /// to it (`trial::adapter::resolve_command`).
    #[serde(default)]
    pub command: Option<String>,
    /// Wall-clock limit of one trial, seconds.
    #[serde(
        default = "timeout_default",
        deserialize_with = "within::<1, 604_800, _>"
    )]
    pub timeout_s: u64,
    /// Seconds between SIGTERM and SIGKILL when an adapter's processes are stopped (0 to 3600).
    #[serde(default = "grace_default", deserialize_with = "within::<0, 3600, _>")]
    pub kill_grace_s: u64,
    /// Extra attempts of a trial whose failure looks transient (a timeout, an exit without
    /// any result) before it counts as failed.
    #[serde(default = "one", deserialize_with = "within::<0, 100, _>")]
    pub retries: u64,
    /// A stage stops when its first this many trials all end in an adapter error (not a
    /// FailConf): a missing or broken adapter would otherwise run the whole plan. 0 = off.
    // Left out of the serialised section when default, so the collect plan's fingerprint
    // of existing studies stays the same; it changes no trial's result.
    #[serde(default = "three", skip_serializing_if = "is_three")]
    pub fail_fast: u64,
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
        deserialize_with = "within_opt::<1, 10_000, _>"
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
    #[serde(
        default = "budget_default",
        deserialize_with = "within::<1, 100_000, _>"
    )]
    pub budget: u64,
    /// Space-filling evaluations before the Gaussian process takes over (enqueued
    /// configurations included); absent: `Study::search_initial`'s rule.
    #[serde(default, deserialize_with = "within_opt::<1, 100_000, _>")]
    pub initial: Option<u64>,
    /// Known configurations evaluated first, in order (files relative to the study
    /// directory: TOML of `"key" = value`, or a search's `config.json`), as Optuna's
    /// `enqueue_trial`: production's configuration, Flink's default, an expert's.
    #[serde(default)]
    pub enqueue: Vec<String>,
    /// The input rate to tune for; absent: the first of `rates`.
    #[serde(default, deserialize_with = "within_opt::<1, 1_000_000_000_000, _>")]
    pub rate: Option<u64>,
    /// What the search evaluates: the fitted model, or the system itself (the adapter).
    #[serde(default)]
    pub over: Over,
    /// The acquisition function.
    #[serde(default)]
    pub acquisition: AcquisitionKind,
    /// Suggestions evaluated at once (kriging believer); with `over = "system"` they run
    /// in parallel, each on its own worker.
    #[serde(default = "one", deserialize_with = "within::<1, 1000, _>")]
    pub batch: u64,
    /// Random candidates scored per suggestion before local refinement.
    #[serde(
        default = "candidates_default",
        deserialize_with = "within::<1, 1_000_000, _>"
    )]
    pub candidates: u64,
    /// Earlier studies (paths relative to this study's directory) whose searches and
    /// collected data at other rates seed this search (RGPE transfer).
    #[serde(default)]
    pub transfer_from: Vec<String>,
    /// Space-filling evaluations before the ensemble takes over when transferring
    /// (replaces `initial` then: the base models already know the space).
    #[serde(
        default = "transfer_initial_default",
        deserialize_with = "within::<0, 100_000, _>"
    )]
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
            initial: None,
            enqueue: Vec::new(),
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
    /// Logarithm of EI over the best plus a margin of 0.01 (EI's margin is 0; both are
    /// ranked by ln EI, so the margin is what differs).
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
    #[serde(default = "three", deserialize_with = "within::<1, 1000, _>")]
    pub repeats: u64,
    /// How many of the search's best configurations validate tries, in order, when a
    /// better one fails its first run (1: the best only).
    #[serde(default = "three", deserialize_with = "within::<1, 5, _>")]
    pub candidates: u64,
}

impl Default for ValidateSection {
    fn default() -> Self {
        ValidateSection {
            repeats: 3,
            candidates: 3,
        }
    }
}

fn one() -> u64 {
    1
}
fn three() -> u64 {
    3
}
fn is_three(n: &u64) -> bool {
    *n == 3
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
fn three_hundred() -> u64 {
    300
}
fn groups() -> ScreeningMethod {
    ScreeningMethod::Groups
}
fn wordcount() -> Workload {
    Workload::Wordcount
}

/// A whole number from `LO` to `HI`, checked as it is read: nothing is sized or counted
/// by a setting before it is known to be in its range.
fn within<'de, const LO: u64, const HI: u64, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let v = u64::deserialize(d)?;
    if !(LO..=HI).contains(&v) {
        return Err(serde::de::Error::custom(format!(
            "must be a whole number from {LO} to {HI}"
        )));
    }
    Ok(v)
}

fn within_opt<'de, const LO: u64, const HI: u64, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<u64>, D::Error> {
    within::<LO, HI, D>(d).map(Some)
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

fn fraction_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    fraction(d).map(Some)
}

/// The longest span a seconds setting may name: a year (the run-time loop counts its
/// intervals and horizons by them).
const YEAR_S: f64 = 31_536_000.0;

fn positive_f64<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let v = f64::deserialize(d)?;
    if !(v > 0.0 && v <= YEAR_S) {
        return Err(serde::de::Error::custom(
            "must be a positive number of seconds, at most 31536000 (a year)",
        ));
    }
    Ok(v)
}

fn non_negative_f64<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let v = f64::deserialize(d)?;
    if !(0.0..=YEAR_S).contains(&v) {
        return Err(serde::de::Error::custom(
            "must be a number of seconds from 0 to 31536000 (a year)",
        ));
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

/// The highest input rate, records/s (as a trial's measured throughput).
const MAX_RATE: u64 = 1_000_000_000_000;

fn rates<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u64>, D::Error> {
    let v = Vec::<u64>::deserialize(d)?;
    if v.is_empty() || v.len() > 1000 || v.iter().any(|r| !(1..=MAX_RATE).contains(r)) {
        return Err(serde::de::Error::custom(
            "must list 1 to 1000 rates, each from 1 to 10^12 records/s",
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
