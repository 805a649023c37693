//! The commented study file `flinktune init` writes: every setting with its default, so a
//! new user reads what can be set where it is set.

use anyhow::{Result, bail};
use flink::catalogue;
use flink::conf::FlinkVersion;

/// The Flink version a new study starts with: the paper's, as the quick start uses it.
const DEFAULT_VERSION: FlinkVersion = FlinkVersion {
    major: 1,
    minor: 11,
};

/// The commented study file `flinktune init` writes by default (the quick start's).
pub fn template(adapter_command: Option<&str>) -> String {
    template_for(adapter_command, DEFAULT_VERSION)
        .expect("the default Flink version has a built-in catalogue")
}

/// The commented study file for Flink `version`, with the built-in key-parameter catalogue
/// written for that version.
pub fn template_for(adapter_command: Option<&str>, version: FlinkVersion) -> Result<String> {
    let Some(builtin) = catalogue::key_params_for(version) else {
        let have: Vec<&str> = catalogue::BUILTIN_CATALOGUES
            .iter()
            .filter(|b| b.name.ends_with("-key-params"))
            .flat_map(|b| b.versions.iter().copied())
            .collect();
        bail!(
            "no built-in catalogue for Flink {version} (have: {})",
            have.join(", ")
        );
    };
    let catalogue = builtin.name;
    let adapter = match adapter_command {
        Some(cmd) => format!(
            "kind = \"command\"\n# Run with `sh -c` in each trial's directory; a relative program path (./my-adapter.sh)\n# is found next to this file, and {{study}} is this file's directory. See docs/adapters.md for the protocol.\ncommand = {}\n",
            toml::Value::String(cmd.to_string())
        ),
        None => "kind = \"sim\"          # the built-in simulated Flink job; or \"command\" with command = \"...\"\n".to_string(),
    };
    Ok(format!(
        r#"# A flinktune study. Every stage reads this file; see `flinktune --help`.

# Flink version: decides the config file (flink-conf.yaml up to 1.18, config.yaml from 1.19)
# and must match the catalogue's key names.
flink_version = "{version}"
# The parameters to tune: a built-in catalogue (`flinktune catalogue list`) or a path relative
# to this directory (`flinktune catalogue show NAME > my.toml` starts one).
catalogue = "{catalogue}"
# Base configuration the tuned values are applied on (file or conf dir, relative to this
# directory). Absent: the configuration file that Flink ships.
# base_conf = "conf"
# Every key of the catalogue and the base configuration must exist in this Flink version;
# list here the options of your own plugins (exact keys, or prefixes like "my.plugin.*").
# allow_unknown_keys = ["my.plugin.option"]

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
{adapter}# Wall-clock limit of one trial, seconds; then every process the adapter started gets
# SIGTERM, and SIGKILL kill_grace_s later.
timeout_s = 900
kill_grace_s = 5
# Extra attempts for failures that look transient (timeout, exit without a result).
retries = 1
# Stop the stage when its first this many trials all fail with an adapter error (0 = off).
fail_fast = 3

[sim]
# identity | repartition | wordcount | fixwindow
workload = "wordcount"
# Relative measurement noise of the simulator.
noise = 0.03
# fixed (4 TaskManagers on 8-core nodes) | kubernetes (TaskManager pods sized by each
# configuration, reactive mode; see docs/simulator.md)
# cluster = "kubernetes"
# max_taskmanagers = 24

[search]
# Model evaluations in total, including `initial` space-filling ones.
budget = 100
# Space-filling evaluations first; default: a quarter of the budget, 5 to parameters + 1.
# initial = 25
# Known configurations evaluated first (TOML of "key" = value, or a config.json; an empty
# file is Flink's default), e.g. production's:
# enqueue = ["production.toml"]
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
# method = "sobol"       # sobol (space-filling design + GP + Sobol' indices) | oat | morris | forest | all
# budget = 300           # trials the screening may run, repeats included
# repeats = 1            # runs per screening configuration (their median counts)
# levels = 5             # oat: values per parameter in the one-at-a-time sweep
# trajectories = 10      # morris: trajectories, (parameters + 1) configurations each
# samples = 200          # forest: random configurations for its permutation importance
# threshold = 0.05       # select parameters with at least this share of the top importance
# top_k = 30             # ... or the k most important ones
# rate = 8000            # the screening trials' input rate; absent: the search rate
# before_tune = true     # `tune` runs determine first; later stages tune determine/selected.toml

# [model]
# regressor = "best"     # the saved model: best (lowest CV MAPE) | forest | gbrt | gp
# folds = 5              # cross-validation folds (by configuration)
"#
    ))
}

/// Writes a new study directory `dir` with the commented study file (refusing to replace
/// an existing one unless `force`), and checks that what it wrote loads, so a user never
/// starts from a broken file. Returns the study file's path.
pub fn init(
    dir: &std::path::Path,
    adapter_command: Option<&str>,
    version: Option<FlinkVersion>,
    force: bool,
) -> anyhow::Result<std::path::PathBuf> {
    use anyhow::Context;
    let path = dir.join(crate::study::STUDY_FILE);
    if path.exists() && !force {
        anyhow::bail!(
            "{} already exists; use --force to overwrite it",
            path.display()
        );
    }
    let text = template_for(adapter_command, version.unwrap_or(DEFAULT_VERSION))?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    crate::fsx::write_atomic(&path, text.as_bytes())?;
    crate::study::Study::load(dir)?;
    Ok(path)
}
