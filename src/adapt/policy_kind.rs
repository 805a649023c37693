//! The policies `flinktune adapt --policy` names ([`PolicyKind`]) and building one for a
//! study: the static maximum from `crate::adapt::policy`, the baselines from
//! `crate::adapt::baseline`, Demeter with the profiler that fits the
//! run — the simulator in a replay, the study's adapter in a live run.
//!
//! Between Demeter and the two ways of running it (`crate::adapt::replay_cmd`,
//! `crate::adapt::live`), which both build their policies here.

use crate::adapt::baseline::{self, autoscaler, ds2, hpa};
use crate::adapt::demeter::Demeter;
use crate::adapt::policy::{self, Policy};
use crate::adapt::profiler::{AdapterProfiler, Profiler, SimProfiler};
use crate::study::Study;
use anyhow::Result;
use flink::sim::Workload;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// A scaling policy by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum PolicyKind {
    /// Forecast the rate, profile configurations with multi-objective BO (RGPE across
    /// rates), pick the cheapest that meets the latency and recovery targets.
    Demeter,
    /// The catalogue's defaults, Demeter's static maximum, all the time.
    Static,
    /// The Flink Kubernetes Operator's autoscaler: target utilisation, catch-up capacity,
    /// restart time, scale-down delay.
    Autoscaler,
    /// Kubernetes' horizontal pod autoscaler on CPU utilisation, with its default behaviour.
    Reactive,
    /// DS2: scale-out from the instances' true processing rate, no headroom.
    Ds2,
}

impl PolicyKind {
    pub fn all() -> Vec<PolicyKind> {
        vec![
            PolicyKind::Static,
            PolicyKind::Demeter,
            PolicyKind::Autoscaler,
            PolicyKind::Reactive,
            PolicyKind::Ds2,
        ]
    }
}

/// Builds a policy for the study. Demeter profiles on the simulator in a replay, through the
/// study's adapter (trials in `live_dir/profiles/`) in a live run.
pub fn make_policy(
    study: &Study,
    kind: PolicyKind,
    step_s: f64,
    live_dir: Option<&Path>,
) -> Result<Box<dyn Policy>> {
    Ok(match kind {
        PolicyKind::Static => Box::new(policy::Static::new(&study.space)?),
        PolicyKind::Autoscaler => Box::new(baseline::Autoscaler::new(
            &study.space,
            autoscaler_settings(study),
        )?),
        PolicyKind::Reactive => Box::new(baseline::Reactive::new(
            &study.space,
            hpa::Settings::default(),
        )?),
        PolicyKind::Ds2 => Box::new(baseline::Ds2::new(&study.space, ds2::Settings::default())?),
        PolicyKind::Demeter => {
            let profiler: Box<dyn Profiler> = match live_dir {
                None => Box::new(SimProfiler::new(study)?),
                Some(dir) => Box::new(AdapterProfiler::new(study, &dir.join("profiles"))),
            };
            Box::new(Demeter::new(study, step_s, profiler)?)
        }
    })
}

/// The operator's defaults, with key-group alignment only for a job that has a keyed exchange
/// (the simulator's wordcount and window jobs do; identity and repartition do not).
fn autoscaler_settings(study: &Study) -> autoscaler::Settings {
    let keyed = matches!(
        study.file.sim.workload,
        Workload::Wordcount | Workload::Fixwindow
    );
    let defaults = autoscaler::Settings::default();
    autoscaler::Settings {
        key_groups: defaults.key_groups.filter(|_| keyed),
        ..defaults
    }
}
