//! The run-time side (Demeter): input-rate traces and their forecasts, configuration
//! schedules, the scaling policies (Demeter and its baselines), replays on the simulator and
//! the live reconfiguration hook; `run` is the `flinktune adapt` command.
//!
//! Imports point one way — each module uses only those listed before it: `trace`,
//! `forecast` (the rates); `schedule` (when to switch, over an oracle); `policy` (the
//! `Policy` trait, `Metrics` and their `cost`, the static maximum); `baseline` (the operator's
//! autoscaler, the HPA, DS2); `measure` and `profiler` (what
//! measures a configuration: for a replay's steps, for Demeter's profiles); `hook` (the live
//! cluster); `demeter` (the policy itself); `replay` (a trace against a policy);
//! `timeline` (a replay's figure over time, from its steps);
//! `policy_kind` (a policy by name, with its profiler); `replay_cmd` (with its log and the
//! reader watchers use) and `live` (the two ways to run `adapt`); `live_log` (the live
//! loop's log as watchers read it); `run` (the command's face).

pub mod baseline;
pub mod demeter;
pub mod forecast;
pub mod hook;
pub mod live;
pub mod live_log;
pub mod measure;
pub mod policy;
pub mod policy_kind;
pub mod profiler;
pub mod replay;
pub mod replay_cmd;
pub mod run;
pub mod schedule;
pub mod timeline;
pub mod trace;
