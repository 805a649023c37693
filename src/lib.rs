//! flinktune: automatic resource-configuration tuning for Apache Flink streaming jobs.
//!
//! A study directory flows through the stages in one direction:
//! `generate` → `collect` → `model` → `search` → `validate`; each stage reads the
//! artifacts of the one before through that stage's public readers and writes its own
//! folder atomically. See ARCHITECTURE.md for the map.

pub mod acquisition;
pub mod adapt;
pub mod adapter;
pub mod bo;
pub mod collect;
pub mod compare;
pub mod demeter;
pub mod determine;
pub mod ehvi_profile;
pub mod flinkconf;
pub mod flinkmem;
pub mod forecast;
pub mod fsx;
pub mod generate;
pub mod gp;
pub mod hook;
pub mod mobo;
pub mod model;
pub mod objective;
pub mod pareto;
pub mod plot;
pub mod policy;
pub mod precheck;
pub mod progress;
pub mod recovery;
pub mod regressors;
pub mod replay;
pub mod resources;
pub mod rgpe;
pub mod sample;
pub mod schedule;
pub mod search;
pub mod sim;
pub mod space;
pub mod status;
pub mod study;
pub mod system_runs;
pub mod trace;
pub mod transfer;
pub mod units;
pub mod validate;
pub mod versions;
