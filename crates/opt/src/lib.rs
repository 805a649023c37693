//! flinktune's numeric core: everything that optimises, models or forecasts numbers, with no
//! knowledge of Flink, files or studies.
//!
//! - [`gp`]: Gaussian-process regression (Matérn 5/2, ARD) and its marginal-likelihood fit;
//! - [`acquisition`]: expected improvement and its relatives;
//! - [`bo`]: the mixed domain and the ask/tell Bayesian-optimisation loop;
//! - [`rgpe`]: rank-weighted GP ensembles for transfer between tasks;
//! - [`pareto`]: Pareto fronts and hypervolumes;
//! - [`sample`]: space-filling designs over the unit cube;
//! - [`forecast`]: Holt-Winters and seasonal-naive forecasts with prediction intervals;
//! - [`stats`]: the median and accuracy measures.

pub mod acquisition;
pub mod ask_tell;
pub mod bo;
pub mod forecast;
pub mod gp;
pub mod mobo;
pub mod normal;
pub mod pareto;
pub mod rgpe;
pub mod sample;
pub mod stats;
pub mod surrogate;
