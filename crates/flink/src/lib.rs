//! flinktune's model of Apache Flink: what a configuration is and what Flink makes of it.
//!
//! - [`catalogue`]: the built-in catalogues and base configurations;
//! - [`conf`]: configuration files per version (`flink-conf.yaml`, nested `config.yaml`);
//! - [`units`]: Flink's memory-size and duration formats;
//! - [`keys`]: every configuration key each supported Flink release reads (its key set);
//! - [`versions`]: key names and value formats across Flink versions;
//! - [`space`]: the parameters a study tunes (kinds, ranges, scales, catalogues);
//! - [`memory`]: Flink's process memory model and its start-up rules;
//! - [`precheck`]: predicting configurations that fail before running them;
//! - [`resources`]: the TaskManagers, cores and memory a configuration requests;
//! - [`recovery`]: recovery time after a TaskManager failure;
//! - [`rpc`]: the RPC system's frame size rule;
//! - [`metrics`]: what a passing trial measured, typed;
//! - [`objective`]: the measured metrics and the objective a study optimises;
//! - [`sim`]: the built-in simulated Flink job.
//!
//! Depends on the numeric core (`opt`) only.

pub mod catalogue;
pub mod conf;
pub mod keys;
pub mod memory;
pub mod metrics;
pub mod objective;
pub mod precheck;
pub mod recovery;
pub mod resources;
pub mod rpc;
pub mod sim;
pub mod space;
pub mod toml_error;
pub mod units;
pub mod versions;
