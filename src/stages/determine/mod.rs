//! The determine stage: screening experiments that find which parameters of a broad
//! catalogue matter, run through the study's adapter (the paper's "single variable"
//! experiments and two more), and the selected key parameters written as a catalogue.
//!
//! Trials run on `--workers` adapter workers; each finished trial is journaled
//! (`journal.jsonl`, fsynced) so a killed run resumes without running it again; a method
//! never runs more than `[determine] budget` trials.
//!
//! Every screening configuration runs `[determine] repeats` times at one rate (the search
//! rate unless `[determine] rate` says otherwise); its *score* is the median of the
//! repeats' log-scale objective (`objective::Objective::score`), so a one-off p99 outlier
//! does not make a parameter look important. Importance measures performance: effects are
//! taken between configurations that ran. A configuration that cannot run (fewer than half
//! its repeats pass, or Flink's memory rules refuse it before it runs) is counted apart
//! (failed levels / steps); the OAT table also shows the effect with such a level scored as
//! ten times worse than the worst configuration that ran.
//!
//! The methods (`[determine] method`):
//! - **sobol**: the forest's space-filling design (below) of as many
//!   configurations as `[determine] budget` pays for, a GP with one lengthscale per key
//!   fitted on the scores of those that ran, and each key's effect √(12·V_Ti) from its
//!   total Sobol' variance in the GP, with bootstrap refits for its uncertainty. Selected:
//!   an effect above the largest effect of random probe columns and above 1%, in the full
//!   fit and in the median refit. Run/fail influence per key is reported apart, and keys the
//!   configurations that ran did not cover are reported as not judged.
//! - **factorial**: the same two phases over a two-level design (each numeric key at the
//!   20% or 80% quantile of its values in the runnable region, a bool or an enum at its
//!   ends; foldover pairs, then levels the run/fail forest predicts to run), read by a Huber
//!   regression on every key and the pairs found to act together (`factorial`); its second
//!   phase holds the dominant keys in the better half of their range. Selected: an effect
//!   above 1% whose t statistic passes a Bonferroni bound over the keys.
//! - **groups** (the default): the factorial method's first phase (11/30 of the budget),
//!   opened by a definitive screening design's rows that pass the pre-check (`definitive`),
//!   then the keys it did not select moved in groups of up to 8 from many bases — Flink's
//!   default (each key to the middle and ¾ of its range, the TaskManager's memory sizes one
//!   to a group) and the design's configurations that ran (each key to its far end, or to
//!   a random end when the design saw it decide run/fail) — a
//!   group split while its change passes a screening threshold and a single move confirmed
//!   by fresh runs of it and its base (`groups`); what the groups leave of
//!   the budget extends the two-level design. Selected: a confirmed move, or a main effect
//!   of the Huber regression over every run, each base's runs with a level of their own.
//! - **oat** (one at a time, the paper's): a reference configuration — Flink's default,
//!   with the parameters that replace a base key (`*.memory.flink.size`) set to the value
//!   Flink derives, as generated configurations have them — and each parameter swept over
//!   `levels` values evenly spread on its scale with the others at the reference; then the
//!   same around 6 random configurations that ran (the extremes of numeric parameters),
//!   since Flink's effects interact. Importance = the largest |score(level) − score(base)|
//!   over bases and levels that ran.
//! - **morris**: elementary effects over `trajectories` one-factor-at-a-time paths through
//!   a 4-level grid of the unit cube (step Δ = 2/3), kept inside the runnable region: each
//!   starts at a grid point that ran; a step whose end cannot run (pre-check or run) is
//!   retried as a half step, else skipped with the path staying put. Importance = μ* (mean
//!   |EE|); σ of the EEs shows interactions and non-linearity.
//! - **forest**: permutation importance of a random forest fitted on `samples`
//!   configurations that ran — half a Latin hypercube, half random configurations a
//!   forest fitted on the first half's ran / failed predicts to run (all pre-checked) —
//!   by 5-fold cross-validation, with random probe features for the noise floor.
//! - **all**: the three; a parameter is selected when at least two select it, ranked by
//!   the mean of its importance relative to each method's top.
//!
//! Selection rule of one method: a parameter is selected when its importance is above the
//! method's noise floor and its perf share (1 − e^−effect) at least `threshold` × the top
//! parameter's, or, with `top_k`, when it is among the k most important above the floor.
//! The floors come from the reference and the OAT bases measured several times, with a
//! Bonferroni z so that noise passes for none of the parameters but with probability 5%.
//!
//! Artifacts (`determine/`): `selected.toml` (a catalogue of the selected parameters,
//! usable as a study's `catalogue`), `effects.csv`, `effects.svg`, `report.md`,
//! `trials.csv`, `journal.jsonl`, `trials/<trial>/` (adapter protocol directories),
//! `summary.json`.
//!
//! Layout, in layers that point one way: `measure` runs screening configurations through
//! the adapter; `summary` holds what the stage reports; `select` the noise floors and the
//! selection rule; `oat`, `morris`, `forest` and `sobol` each one method's design (what runs) and
//! its effects (`factorial`, the regression reading, `groups`, the group screening, and
//! `definitive`, the definitive screening design, serve `sobol` and `forest`); `write` the artifacts; `run` the stage as a sequence of those steps.
//! Only `run` uses the methods, and nothing uses `run`.

mod analysis;
mod definitive;
mod factorial;
mod forest;
mod groups;
mod measure;
mod morris;
mod oat;
mod run;
mod select;
mod sobol;
mod summary;
mod write;

pub use morris::morris_start;
pub use oat::{reference_config, sweep_values};
pub use run::{DetermineOptions, NothingSelected, run};
pub use summary::{DetermineSummary, Effect, EffectRow, describe};
