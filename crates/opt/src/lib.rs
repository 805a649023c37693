//! flinktune's numeric core: everything that optimises, models or forecasts numbers, with no
//! knowledge of Flink, files or studies.
//!
//! - [`gp`]: Gaussian-process regression (Matérn 5/2, ARD) and its marginal-likelihood fit;
//! - [`surrogate`]: what an acquisition asks of a model (the [`surrogate::Surrogate`] trait
//!   of the GP and the RGPE ensemble);
//! - [`acquisition`]: expected improvement and its relatives (the [`acquisition::Infill`]
//!   trait: EI, log-EI, PI, UCB);
//! - [`bo`]: the mixed domain and the ask/tell Bayesian optimiser;
//! - [`mobo`]: multi-objective Bayesian optimisation with outcome constraints (the
//!   [`mobo::MoCriterion`] trait: EHVI, ParEGO);
//! - [`ask_tell`]: the ask → evaluate → tell loop of both optimisers;
//! - [`rgpe`]: rank-weighted GP ensembles for transfer between tasks;
//! - [`pareto`]: Pareto fronts and hypervolumes;
//! - [`sample`]: space-filling designs over the unit cube (the [`sample::Sampler`] trait);
//! - [`sensitivity`]: variance-based sensitivity (Sobol' first-order and total indices);
//! - [`regression`]: least squares with standard errors (screening designs);
//! - [`forecast`]: Holt-Winters and seasonal-naive forecasts with prediction intervals;
//! - [`normal`]: the standard normal distribution, accurate in the tails;
//! - [`stats`]: the median and accuracy measures;
//! - [`hash`]: FNV-1a, for seeds and fingerprints kept on disk.

pub mod acquisition;
pub mod ask_tell;
pub mod bo;
pub mod forecast;
pub mod gp;
pub mod hash;
pub mod mobo;
pub mod normal;
pub mod pareto;
pub mod regression;
pub mod rgpe;
pub mod sample;
pub mod sensitivity;
pub mod stats;
pub mod surrogate;
