//! One trial: one configuration run once at one rate through an adapter.
//!
//! - [`adapter`]: the adapter protocol (trial directory, process group, timeout,
//!   `result.json`) and the built-in simulator as an adapter;
//! - [`process`]: a command in its own process group, bounded in time and output;
//! - [`tree`]: a command's whole process tree, followed through /proc and ended, and the
//!   ledger by which a later run ends what a killed one left;
//! - [`runner`]: the one way every stage runs a trial;
//! - [`record`]: what a trial left behind (its status and measurement);
//! - [`journal`]: the one fsynced journal of finished work;
//! - [`cgroup`]: a command's own cgroup, where one can be made (the guard behind `tree`).

pub mod adapter;
pub mod cgroup;
pub mod journal;
pub mod process;
pub mod record;
pub mod runner;
pub mod tree;
