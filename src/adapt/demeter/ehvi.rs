//! Demeter's profiling of one rate by constrained multi-objective BO (`[adapt] profiler =
//! "ehvi"`): the alternative to the single-objective, RGPE-transferred search in
//! `profiling`.
//!
//! Objectives, both minimised: the requested resources (`crate::adapt::policy::cost`:
//! cores + GiB/8) and p99 latency. Constraints — the same ones `Profile` judges a
//! measurement by: recovery time ≤ the plan limit, p99 ≤ the rate's latency target,
//! throughput ≥ 0.9 × the rate and no backpressure. The acquisition is
//! `crate::stages::search::multi`'s expected hypervolume improvement × P(constraints met) ×
//! P(run), through its public ask/tell API.
//!
//! Transfer between rates is a warm start: the configurations earlier rates found on their
//! feasible Pareto front are evaluated first, nearest rate first, so the constraint and
//! objective GPs start from points near where the answer moved from. (`mobo`'s surrogates
//! are plain GPs fitted on objectives normalised over the target's own runs; taking RGPE
//! ensembles there would mean per-task scales for every metric — not done.)

use super::profile::{Profile, measure};
use super::state::Demeter;
use crate::adapt::policy::{Metrics, cost};
use crate::stages::search::multi::{Metrics as MoMetrics, MoOptions, Mobo, Problem};
use crate::study::encoding;
use crate::study::objectives::{Bound, ConstraintSpec, ObjectiveSpec, Sense};
use crate::study::seed::{Purpose, derive};
use anyhow::Result;
use flink::space::{Config, Space};
use opt::mobo::Method as MoMethod;

/// The targets a rate's configurations are judged by.
#[derive(Clone, Copy, Debug)]
pub struct Targets {
    /// Records/s.
    pub rate: f64,
    /// Infinite when there is none (the static maximum did not run).
    pub latency_target_ms: f64,
    pub recovery_limit_s: f64,
}

/// Result-field names of the derived metrics.
const COST: &str = "cost";
const BACKPRESSURED: &str = "backpressured";

impl Targets {
    /// The multi-objective problem of these targets.
    pub fn problem(&self) -> Problem {
        let min = |metric: &str| ObjectiveSpec {
            metric: metric.into(),
            sense: Sense::Min,
        };
        let bound = |metric: &str, bound, limit| ConstraintSpec {
            metric: metric.into(),
            bound,
            limit,
        };
        let mut constraints = vec![
            bound("recovery_time_s", Bound::AtMost, self.recovery_limit_s),
            bound("throughput", Bound::AtLeast, 0.9 * self.rate),
            // A 0/1 indicator: its GP's mean is a rough chance of backpressure.
            bound(BACKPRESSURED, Bound::AtMost, 0.5),
        ];
        if self.latency_target_ms.is_finite() {
            constraints.push(bound(
                "latency_p99_ms",
                Bound::AtMost,
                self.latency_target_ms,
            ));
        }
        Problem {
            objectives: vec![min(COST), min("latency_p99_ms")],
            constraints,
        }
    }

    /// A measurement as the result fields of [`Targets::problem`].
    pub fn fields(m: &Metrics) -> MoMetrics {
        MoMetrics::from([
            (COST.into(), cost(m)),
            ("latency_p99_ms".into(), m.latency_p99_ms),
            ("recovery_time_s".into(), m.recovery_time_s),
            ("throughput".into(), m.throughput),
            (
                BACKPRESSURED.into(),
                if m.backpressured { 1.0 } else { 0.0 },
            ),
        ])
    }
}

/// Profiles one rate: `done` were evaluated already (the static maximum), `warm` are
/// evaluated next (earlier rates' front, best first, at most a third of the budget), then
/// EHVI suggestions until `budget` evaluations in all. Returns the new evaluations in order.
pub fn profile(
    space: &Space,
    targets: &Targets,
    done: &[(Config, Option<Metrics>)],
    warm: &[Config],
    budget: usize,
    seed: u64,
    evaluate: &mut dyn FnMut(&Config) -> Result<Option<Metrics>>,
) -> Result<Vec<(Config, Option<Metrics>)>> {
    let domain = encoding::domain(space);
    let mut seen: Vec<Vec<f64>> = done
        .iter()
        .map(|(c, _)| encoding::encode(space, &domain, c))
        .collect();
    let mut first: Vec<(Vec<f64>, Config)> = Vec::new();
    for c in warm {
        let x = encoding::encode(space, &domain, c);
        if first.len() < budget / 3 && !seen.contains(&x) {
            seen.push(x.clone());
            first.push((x, c.clone()));
        }
    }
    let mut mobo = Mobo::new(
        domain.clone(),
        targets.problem(),
        MoOptions {
            method: MoMethod::Ehvi,
            // The warm start is the design; without one, a short space-filling one.
            initial: if first.is_empty() {
                8
            } else {
                done.len() + first.len()
            }
            .min(budget),
            candidates: 500,
            seed,
            ..MoOptions::default()
        },
    )?;
    for (c, m) in done {
        mobo.replay(
            &encoding::encode(space, &domain, c),
            m.as_ref().map(Targets::fields),
        )?;
    }
    let mut out = Vec::new();
    for (x, config) in first {
        let m = evaluate(&config)?;
        mobo.replay(&x, m.as_ref().map(Targets::fields))?;
        out.push((config, m));
    }
    // Every evaluation is of a distinct point (mobo never repeats one).
    let exhausted = |n: usize| domain.cardinality().is_some_and(|c| n as u128 >= c);
    while done.len() + out.len() < budget && !exhausted(done.len() + out.len()) {
        let Some(s) = mobo.ask_batch(1)?.pop() else {
            break;
        };
        let config = encoding::decode(space, &domain, &s.x);
        let m = evaluate(&config)?;
        mobo.tell(&s.x, m.as_ref().map(Targets::fields))?;
        out.push((config, m));
    }
    Ok(out)
}

impl Demeter {
    /// Profiles by constrained EHVI ([`profile`]), warm-started from the
    /// earlier rates' feasible fronts, nearest rate first.
    pub(super) fn profile_ehvi(&mut self, profile: &mut Profile, limit: f64) -> Result<()> {
        let mut earlier: Vec<&Profile> = self.profiles.values().collect();
        earlier.sort_by_key(|p| p.rate.abs_diff(profile.rate));
        let warm: Vec<Config> = earlier
            .iter()
            .flat_map(|p| p.front(limit))
            .cloned()
            .collect();
        let targets = Targets {
            rate: profile.rate as f64,
            latency_target_ms: profile.latency_target_ms,
            recovery_limit_s: limit,
        };
        let done: Vec<(Config, Option<Metrics>)> = profile
            .probes
            .iter()
            .map(|p| (p.config.clone(), p.metrics.clone()))
            .collect();
        let rate = profile.rate as f64;
        let profiler = &mut self.profiler;
        let repeats = self.settings.profile_repeats;
        let found = self::profile(
            &self.study.space,
            &targets,
            &done,
            &warm,
            self.settings.profile_budget as usize,
            derive(
                self.study.file.seed,
                Purpose::Profile { rate: profile.rate },
            ),
            &mut |c| measure(profiler.as_mut(), c, rate, repeats),
        )?;
        for (config, metrics) in found {
            let probe = self.probe(config, metrics);
            profile.probes.push(probe);
        }
        Ok(())
    }
}
