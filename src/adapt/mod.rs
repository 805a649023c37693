//! The run-time side (Demeter): input-rate traces and their forecasts, configuration
//! schedules, the scaling policies (Demeter and its baselines), replays on the simulator and
//! the live reconfiguration hook; `run` is the `flinktune adapt` command.

pub mod demeter;
pub mod forecast;
pub mod hook;
pub mod live;
pub mod measure;
pub mod policy;
pub mod policy_kind;
pub mod profiler;
pub mod replay;
pub mod replay_cmd;
pub mod run;
pub mod schedule;
pub mod trace;
