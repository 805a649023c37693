//! The policies `flinktune adapt --policy` names ([`PolicyKind`]) and building one for a
//! study: the baselines from `crate::adapt::policy`, Demeter with the profiler that fits the
//! run — the simulator in a replay, the study's adapter in a live run.
//!
//! Between Demeter and the two ways of running it (`crate::adapt::replay_cmd`,
//! `crate::adapt::live`), which both build their policies here.

use crate::adapt::demeter::Demeter;
use crate::adapt::policy::{self, Policy};
use crate::adapt::profiler::{AdapterProfiler, Profiler, SimProfiler};
use crate::study::Study;
use anyhow::Result;
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
    /// Kubernetes' horizontal-pod-autoscaler rule on CPU utilisation.
    Reactive,
    /// DS2: scale-out from the instances' true processing rate.
    Ds2,
}

impl PolicyKind {
    pub fn all() -> Vec<PolicyKind> {
        vec![
            PolicyKind::Static,
            PolicyKind::Demeter,
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
        PolicyKind::Reactive => Box::new(policy::Reactive::new(&study.space)?),
        PolicyKind::Ds2 => Box::new(policy::Ds2::new(&study.space)?),
        PolicyKind::Demeter => {
            let profiler: Box<dyn Profiler> = match live_dir {
                None => Box::new(SimProfiler::new(study)?),
                Some(dir) => Box::new(AdapterProfiler::new(study, &dir.join("profiles"))),
            };
            Box::new(Demeter::new(study, step_s, profiler)?)
        }
    })
}
