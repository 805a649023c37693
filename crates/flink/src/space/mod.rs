//! The parameter space: which Flink keys are tuned, their kinds, ranges, scales, defaults
//! and how their values are written in a Flink configuration. A space is read from a
//! catalogue file (`configs/*.toml`, a list of `[[param]]` tables).
//!
//! A [`Config`] assigns one [`Value`] (or "unset") to each parameter of a space, in order.
//! Two numeric views of a config exist: [`Space::features`] (one number per parameter,
//! for tree models) and the unit cube used by the samplers and the optimiser
//! ([`Space::to_unit`] / [`Space::from_unit`]).
//!
//! `param` holds one parameter (kinds, formats, units, values, the unit-cube mapping and the
//! checks), `catalogue` the catalogue file and the space built from it, `sampling` the
//! space-filling designs drawn from a space.

mod catalogue;
mod param;
mod sampling;

pub use catalogue::{Catalogue, Config, Space};
pub use param::{Format, Kind, Param, Unit, Value};
pub use sampling::{MAXIMIN_TRIES, PLAN_BATCH, plan_configs, sample_configs};
