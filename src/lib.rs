//! flinktune: automatic resource-configuration tuning for Apache Flink streaming jobs.
//!
//! The application layer over the numeric core (`opt`) and the model of Flink (`flink`).
//! A study directory flows through the stages in one direction:
//! `generate` → `collect` → `model` → `search` → `validate`; each stage reads the
//! artifacts of the one before through that stage's public readers and writes its own
//! folder atomically. See ARCHITECTURE.md for the map.
//!
//! - [`study`]: the study file, its validation and the encoding of its space;
//! - [`trial`]: the adapter protocol, the one trial runner and journal;
//! - [`stages`]: one module per CLI stage (determine, generate, collect, model, search,
//!   validate, compare, status);
//! - [`adapt`]: the run-time side (traces, forecasts, policies, Demeter, replay, hook);
//! - [`report`]: the figures every stage draws;
//! - [`view`]: the study as an HTML report and a live dashboard (read-only).

pub mod adapt;
pub mod fsx;
pub mod progress;
pub mod report;
pub mod stages;
pub mod study;
pub mod trial;
pub mod view;
