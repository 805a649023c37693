//! Demeter's policy (Geldenhuys et al., 2024): provision for the forecast rate with the
//! cheapest configuration that keeps latency near the best achievable and recovery under
//! its limit, learned by profiling, and switch only when it pays.
//!
//! At each decision:
//! 1. **Forecast** the next `horizon_s` with Holt-Winters (daily season) fitted on the rate
//!    history (`opt::forecast`); the demand is the horizon's peak forecast × (1 + margin).
//!    With less than two days of history the current rate stands in for the forecast.
//! 2. **Profile** the demand, rounded up to a multiple of `rate_step`, once per rounded rate:
//!    Bayesian optimisation (`opt::bo`, GP + EI) over the whole Demeter space for a
//!    penalised cost — `ln(cost)` plus a steep penalty for latency beyond the target or
//!    recovery beyond the limit, and for failing to keep up — whose surrogate is the
//!    rank-weighted ensemble (`opt::rgpe`) of the rates profiled before. The latency
//!    target is the static maximum's (C_max, the catalogue's defaults, evaluated first at
//!    every rate, as Demeter starts from it) p99 × (1 + `latency_slack`); configurations
//!    are chosen against the recovery limit less the safety margin and the latency target,
//!    and the running one is judged against the limit itself and the target plus the
//!    margin (hysteresis against noise).
//!    `[adapt] profiler` chooses the search: `rgpe` (the default) is the penalised
//!    single-objective search above; `ehvi` profiles by constrained multi-objective BO over
//!    (cost, p99) instead (`ehvi.rs`), warm-started from the earlier rates' feasible fronts.
//!    Either way the profile's choice is the cheapest probe that meets the targets.
//! 3. **Decide** with `crate::adapt::schedule`: the candidate at the demand is the profiled
//!    constrained best, or the running configuration's shape rescaled in place to the
//!    fewest TaskManagers that meet the targets (`crate::adapt::policy::Change::Rescale`, a stop
//!    of seconds instead of a restart's tens) — the rescale when the running one misses a
//!    target, or when the restart would not save at least `min_gain` more. The running
//!    configuration is judged at the same rate (measured there if it was not); switch on a
//!    violation, or when the cost gain is at least `min_gain` and the **latency budget**
//!    affords the switch: over the last day, the delay the switches added
//!    (`crate::adapt::policy::delay_area`) plus the running configurations' p99 over C_max's may
//!    come to `latency_budget` of C_max's latency. A restart for a violation instead of
//!    the rescale needs the budget too.
//!
//! Cost is what the configuration requests: cores + GiB of memory / 8 — roughly what cloud
//! providers charge for a core relative to a GiB (e.g. 1 vCPU ≈ 8 GiB at on-demand prices);
//! `crate::adapt::policy::cost` prices a measurement so.
//!
//! The files, each building only on those before it: `profile` (a rate's profile, how a
//! measurement is judged and combined), `state` (the policy's state and small helpers),
//! `ehvi` (the EHVI search), `profiling` (C_max first, then BO with RGPE or `ehvi`), `cap`
//! (the checkpoint cap), `budget` (the latency budget) and `decide` (forecast → demand →
//! choice → schedule, and the `Policy` impl); `tests` holds their unit tests.

mod budget;
mod cap;
mod decide;
mod ehvi;
mod profile;
mod profiling;
mod state;
#[cfg(test)]
mod tests;

pub use profile::Profile;
pub use state::Demeter;
