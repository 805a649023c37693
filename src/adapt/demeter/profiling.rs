//! Profiling a rate, once per rate. The static maximum (C_max) is measured first, as Demeter
//! starts from it, and its p99 × (1 + `latency_slack`) becomes the rate's latency target;
//! then `[adapt] profiler` searches:
//!
//! * `rgpe` (the default, here): Bayesian optimisation (`opt::bo`, GP + EI) over the whole
//!   Demeter space for the profile's penalised score — `ln(cost)` plus a steep penalty for
//!   latency beyond the target or recovery beyond the limit, and for failing to keep up
//!   (`Profile::score`) — whose surrogate is the rank-weighted ensemble (`opt::rgpe`) of the
//!   rates profiled before;
//! * `ehvi`: constrained multi-objective BO over (cost, p99), warm-started from the earlier
//!   rates' feasible fronts (`ehvi.rs`).
//!
//! Also what a configuration measures at a profiled rate: measured once, then kept among the
//! rate's probes.

use super::profile::Profile;
use super::state::Demeter;
use crate::adapt::policy::Metrics;
use crate::study::seed::{Purpose, derive};
use crate::study::{ProfileMethod, encoding};
use anyhow::Result;
use flink::space::Config;
use opt::bo::{BayesOpt, BoOptions};
use opt::rgpe::Task;

impl Demeter {
    /// Profiles `rate` (once), with transfer from the rates profiled before.
    pub(super) fn profile(&mut self, rate: u64) -> Result<&Profile> {
        if !self.profiles.contains_key(&rate) {
            let p = self.run_profile(rate)?;
            self.profiles.insert(rate, p);
        }
        Ok(&self.profiles[&rate])
    }

    /// Profiles `rate`: the static maximum (C_max) first — its p99 sets the latency target —
    /// then the search `[adapt] profiler` names.
    fn run_profile(&mut self, rate: u64) -> Result<Profile> {
        let limit = self.plan_limit();
        let cmax = self.study.space.default_config();
        let cmax_metrics = self.evaluate(&cmax, rate as f64)?;
        let latency_target_ms = cmax_metrics
            .as_ref()
            .map(|m| m.latency_p99_ms * (1.0 + self.settings.latency_slack))
            .unwrap_or(f64::INFINITY);
        let mut profile = Profile {
            rate,
            latency_target_ms,
            checkpoint_cap_s: self.checkpoint_cap_s(),
            cap_premium: self.settings.min_gain,
            probes: vec![self.probe(cmax.clone(), cmax_metrics)],
        };
        match self.settings.profiler {
            ProfileMethod::Ehvi => self.profile_ehvi(&mut profile, limit)?,
            ProfileMethod::Rgpe => self.profile_rgpe(&mut profile, limit)?,
        }
        Ok(profile)
    }

    /// Adds BO's probes to `profile` (whose first probe is C_max, measured) until
    /// `profile_budget` configurations are measured, with transfer from the rates profiled
    /// before; configurations are scored against `limit`, the plan's recovery limit.
    fn profile_rgpe(&mut self, profile: &mut Profile, limit: f64) -> Result<()> {
        let rate = profile.rate;
        let space = self.study.space.clone();
        let domain = encoding::domain(&space);
        // Earlier rates become base models, each scored against its own targets so that
        // what transfers is the ranking of configurations.
        let tasks: Vec<Task> = self
            .profiles
            .values()
            .map(|p| {
                let (xs, ys) = p
                    .probes
                    .iter()
                    .filter_map(|q| {
                        let m = q.metrics.as_ref()?;
                        Some((
                            encoding::encode(&space, &domain, &q.config),
                            p.score(m, limit),
                        ))
                    })
                    .unzip();
                // Configurations that did not run steer the base model away, as the
                // target's own failures steer its GP.
                let failures = p
                    .probes
                    .iter()
                    .filter(|q| q.metrics.is_none())
                    .map(|q| encoding::encode(&space, &domain, &q.config))
                    .collect();
                Task {
                    name: format!("{} records/s", p.rate),
                    rate: Some(p.rate),
                    xs,
                    ys,
                    failures,
                }
            })
            .filter(|t| t.xs.len() >= 2)
            .collect();
        let budget = self.settings.profile_budget as usize;
        let mut bo = BayesOpt::new(
            domain.clone(),
            BoOptions {
                // With earlier rates to learn from, a short design suffices.
                initial: if tasks.is_empty() { 8 } else { 3 }.min(budget),
                candidates: 500,
                seed: derive(self.study.file.seed, Purpose::Profile { rate }),
                ..BoOptions::default()
            },
        )?;
        if !tasks.is_empty() {
            bo.set_transfer(&tasks)?;
        }
        let x0 = encoding::encode(&space, &domain, &profile.probes[0].config);
        match &profile.probes[0].metrics {
            Some(m) => bo.replay(x0, profile.score(m, limit))?,
            None => bo.tell_failure(&x0)?,
        }
        while profile.probes.len() < budget {
            let s = match bo.ask() {
                Ok(s) => s,
                // A small discrete space can run out of unseen points.
                Err(_) => break,
            };
            let config = encoding::decode(&space, &domain, &s.x);
            let metrics = self.evaluate(&config, rate as f64)?;
            let probe = self.probe(config, metrics);
            match &probe.metrics {
                Some(m) => bo.tell(s.x.clone(), profile.score(m, limit))?,
                None => bo.tell_failure(&s.x)?,
            }
            profile.probes.push(probe);
        }
        Ok(())
    }

    /// What `config` measures at the profiled `bucket` (measured once, then kept among the
    /// bucket's probes).
    pub(super) fn measured(&mut self, config: &Config, bucket: u64) -> Result<Option<Metrics>> {
        self.profile(bucket)?;
        if let Some(q) = self.profiles[&bucket]
            .probes
            .iter()
            .find(|q| &q.config == config)
        {
            return Ok(q.metrics.clone());
        }
        let metrics = self.evaluate(config, bucket as f64)?;
        let probe = self.probe(config.clone(), metrics.clone());
        let p = self.profiles.get_mut(&bucket).expect("profiled above");
        p.probes.push(probe);
        Ok(metrics)
    }
}
