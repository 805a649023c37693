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
//!    (cost, p99) instead (`ehvi`), warm-started from the earlier rates'
//!    feasible fronts. Either way the profile's choice is the cheapest probe that meets the targets.
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

use crate::adapt::policy::{Change, Decision, Metrics, Policy, Situation, change, cost};
use crate::adapt::profiler::Profiler;
use crate::adapt::schedule::{self, Assessment, Choice, Oracle, Scheduler};
use crate::study::encoding;
use crate::study::{AdaptSection, ProfileMethod, Study};
use anyhow::{Result, bail};
use flink::space::Config;
use opt::bo::{BayesOpt, BoOptions};
use opt::forecast::{self, Method, Point};
use opt::rgpe::Task;
use std::collections::{BTreeMap, HashMap, VecDeque};

mod ehvi;

/// Weight of a constraint violation (in ln-cost units per unit of ln-excess).
const PENALTY: f64 = 5.0;
/// The window the latency budget is kept over, s: a day, as Demeter compares days.
const BUDGET_WINDOW_S: f64 = 86_400.0;

/// One profiled configuration.
#[derive(Clone, Debug)]
struct Probe {
    config: Config,
    metrics: Option<Metrics>,
    /// Its checkpoint interval, s (0 without checkpoints).
    checkpoint_s: f64,
    /// Whether `metrics` already combines confirmation runs.
    confirmed: bool,
}

/// What profiling one rate found.
#[derive(Clone, Debug)]
pub struct Profile {
    pub rate: u64,
    /// C_max's p99 × (1 + slack); infinite when C_max itself could not run.
    pub latency_target_ms: f64,
    /// The longest checkpoint interval a choice should have, s.
    checkpoint_cap_s: f64,
    /// The share more a choice within the cap may cost than one beyond it.
    cap_premium: f64,
    probes: Vec<Probe>,
}

impl Profile {
    /// How far a measurement misses the targets (0 = meets them all).
    fn violation(&self, m: &Metrics, limit_s: f64) -> f64 {
        self.violation_at(m, limit_s, self.latency_target_ms)
    }

    /// The same against another latency bound.
    fn violation_at(&self, m: &Metrics, limit_s: f64, latency_ms: f64) -> f64 {
        let excess = |v: f64, bound: f64| {
            if bound.is_finite() && v > bound {
                (v / bound).ln()
            } else {
                0.0
            }
        };
        // Backpressure, or a throughput clearly (beyond measurement noise) under the rate.
        let behind = if m.backpressured || m.throughput < 0.9 * self.rate as f64 {
            1.0
        } else {
            0.0
        };
        excess(m.latency_p99_ms, latency_ms) + excess(m.recovery_time_s, limit_s) + behind
    }

    /// Which targets a measurement misses, in words.
    fn why(&self, m: &Metrics, limit_s: f64, latency_ms: f64) -> String {
        let mut out = Vec::new();
        if m.latency_p99_ms > latency_ms {
            out.push(format!(
                "p99 {:.0} ms > {latency_ms:.0} ms",
                m.latency_p99_ms
            ));
        }
        if m.recovery_time_s > limit_s {
            out.push(format!(
                "recovery {:.0} s > {limit_s:.0} s",
                m.recovery_time_s
            ));
        }
        if m.backpressured || m.throughput < 0.9 * self.rate as f64 {
            out.push("cannot keep up".into());
        }
        out.join(", ")
    }

    /// The penalised score BO maximises.
    fn score(&self, m: &Metrics, limit_s: f64) -> f64 {
        -cost(m).max(1e-9).ln() - PENALTY * self.violation(m, limit_s)
    }

    /// The cheapest probe that meets the targets, else the least violating one — but when
    /// the cheapest checkpoints less often than the cap (`Demeter::checkpoint_cap_s`), the
    /// cheapest one within the cap if it costs at most `cap_premium` more.
    fn best(&self, limit_s: f64) -> Option<(&Probe, &Metrics, f64)> {
        let order = |a: &(&Probe, &Metrics, f64), b: &(&Probe, &Metrics, f64)| {
            (a.2 > 0.0)
                .cmp(&(b.2 > 0.0))
                .then(a.2.total_cmp(&b.2))
                .then(cost(a.1).total_cmp(&cost(b.1)))
                // Equal cost (slots, checkpoint interval): the faster one, so the
                // choice is on the (cost, p99) front.
                .then(a.1.latency_p99_ms.total_cmp(&b.1.latency_p99_ms))
        };
        let measured = || {
            self.probes.iter().filter_map(|p| {
                p.metrics
                    .as_ref()
                    .map(|m| (p, m, self.violation(m, limit_s)))
            })
        };
        let best = measured().min_by(order)?;
        if best.2 > 0.0 || best.0.checkpoint_s <= self.checkpoint_cap_s {
            return Some(best);
        }
        measured()
            .filter(|c| c.2 <= 0.0 && c.0.checkpoint_s <= self.checkpoint_cap_s)
            .min_by(order)
            .filter(|c| cost(c.1) <= cost(best.1) * (1.0 + self.cap_premium))
            .or(Some(best))
    }

    /// The probes that meet the targets and are on their (cost, p99) Pareto front,
    /// cheapest first.
    fn front(&self, limit_s: f64) -> Vec<&Config> {
        let feasible: Vec<(&Config, Vec<f64>)> = self
            .probes
            .iter()
            .filter_map(|p| {
                let m = p.metrics.as_ref()?;
                (self.violation(m, limit_s) <= 0.0)
                    .then(|| (&p.config, vec![cost(m), m.latency_p99_ms]))
            })
            .collect();
        let points: Vec<Vec<f64>> = feasible.iter().map(|f| f.1.clone()).collect();
        let mut front: Vec<(&Config, Vec<f64>)> = opt::pareto::non_dominated(&points)
            .into_iter()
            .map(|k| feasible[k].clone())
            .collect();
        front.sort_by(|a, b| a.1[0].total_cmp(&b.1[0]));
        front.into_iter().map(|f| f.0).collect()
    }

    pub fn evaluations(&self) -> usize {
        self.probes.len()
    }
}

/// `repeats` runs of `config` at `rate`, each metric their median (a majority of runs
/// must pass; the median of passing runs, backpressure by majority). The median, not the
/// mean: a run's p99 is occasionally several times the usual (a pause, a hiccup), and one
/// such run decides nothing then.
fn measure(
    profiler: &mut dyn Profiler,
    config: &Config,
    rate: f64,
    repeats: u64,
) -> Result<Option<Metrics>> {
    let mut runs = vec![];
    for _ in 0..repeats.max(1) {
        runs.push(profiler.evaluate(config, rate)?);
    }
    Ok(combine(&runs))
}

/// Runs combined: each metric their median over the runs that passed, None unless a
/// majority passed.
fn combine(all: &[Option<Metrics>]) -> Option<Metrics> {
    let runs: Vec<&Metrics> = all.iter().flatten().collect();
    if 2 * runs.len() <= all.len() {
        return None;
    }
    let median = |f: fn(&Metrics) -> f64| {
        let mut xs: Vec<f64> = runs.iter().map(|m| f(m)).collect();
        xs.sort_by(f64::total_cmp);
        let n = xs.len();
        if n % 2 == 1 {
            xs[n / 2]
        } else {
            (xs[n / 2 - 1] + xs[n / 2]) / 2.0
        }
    };
    Some(Metrics {
        throughput: median(|m| m.throughput),
        latency_p99_ms: median(|m| m.latency_p99_ms),
        cpu_busy: median(|m| m.cpu_busy),
        taskmanagers: median(|m| m.taskmanagers),
        cpu_requested: median(|m| m.cpu_requested),
        memory_requested_mb: median(|m| m.memory_requested_mb),
        recovery_time_s: median(|m| m.recovery_time_s),
        backpressured: 2 * runs.iter().filter(|m| m.backpressured).count() > runs.len(),
    })
}

/// The policy.
pub struct Demeter {
    study: Study,
    settings: AdaptSection,
    step_s: f64,
    profiler: Box<dyn Profiler>,
    profiles: BTreeMap<u64, Profile>,
    /// Configurations by the id the schedule knows them by.
    ids: HashMap<String, Config>,
    scheduler: Scheduler,
    /// Why the running configuration missed a target at the last assessment.
    missed: String,
    /// The demand rate of the last decision (forecast peak × (1 + margin)).
    demand: Option<f64>,
    /// The current rate and time (s) of the decision being made.
    rate_now: f64,
    time_now: f64,
    /// What the last day's switches and steady state spent of the latency budget:
    /// (time s, ms × s over the static maximum's latency), oldest first.
    spent: VecDeque<(f64, f64)>,
}

impl Demeter {
    pub fn new(study: &Study, step_s: f64, profiler: Box<dyn Profiler>) -> Result<Demeter> {
        crate::adapt::policy::taskmanagers(&study.space, &study.space.default_config())?;
        let a = study.file.adapt.clone();
        let scheduler = Scheduler::new(
            schedule::Policy {
                demand: schedule::Demand::Margin(a.margin),
                min_gain: a.min_gain,
                // A configuration chosen for the forecast horizon runs for it, unless it
                // would break a target.
                min_dwell_steps: ((a.horizon_s / a.interval_s).ceil() as usize).max(1),
            },
            None,
            0,
        )?;
        Ok(Demeter {
            study: study.clone(),
            settings: a,
            step_s,
            profiler,
            profiles: BTreeMap::new(),
            ids: HashMap::new(),
            scheduler,
            missed: String::new(),
            demand: None,
            rate_now: 0.0,
            time_now: 0.0,
            spent: VecDeque::new(),
        })
    }

    /// The rate the last decision provisioned for (the forecast peak over the horizon ×
    /// (1 + margin)); None before the first decision. Lets a replay tell forecast error
    /// from the rest (`examples/demeter_diagnose.rs`).
    pub fn demand(&self) -> Option<f64> {
        self.demand
    }

    /// The profiles made so far.
    pub fn profiles(&self) -> impl Iterator<Item = &Profile> {
        self.profiles.values()
    }

    fn id_of(&mut self, config: &Config) -> String {
        let id = self.study.space.to_json(config).to_string();
        self.ids.entry(id.clone()).or_insert_with(|| config.clone());
        id
    }

    /// The recovery limit configurations are chosen against: the limit less the safety
    /// margin, so that measurement noise and forecast error do not push the chosen one over
    /// the real limit, which is what the running configuration is judged by.
    fn plan_limit(&self) -> f64 {
        self.settings.recovery_limit_s * (1.0 - self.settings.margin)
    }

    /// The longest checkpoint interval the profile's choice should have (with `[adapt]
    /// checkpoint_cap`; unbounded without): an in-place
    /// rescale restarts from the latest checkpoint and reprocesses what came since (half an
    /// interval's input on average, up to a whole interval's at full load), so beyond
    /// 2 × (`restart_s` − `rescale_s`) a rescale may stop the job longer than the restart it
    /// is meant to save — and the added delay grows with the square of the stop. A long
    /// interval saves no resources (it only thins the checkpoint stalls), so the cap costs
    /// nothing but the odd extra measurement (`Demeter::within_cap`).
    fn checkpoint_cap_s(&self) -> f64 {
        if !self.settings.checkpoint_cap {
            return f64::INFINITY;
        }
        2.0 * (self.settings.restart_s - self.settings.rescale_s).max(0.0)
    }

    /// When the profile's choice at `bucket` checkpoints less often than the cap, measures
    /// the same resources checkpointing at the cap (`Profile::best` then prefers it if it
    /// meets the targets): the cheapest feasible probes over the cap that are cheaper than
    /// every feasible one within it, up to two, so that one shortened configuration that
    /// misses a target does not end the search.
    fn within_cap(&mut self, bucket: u64) -> Result<()> {
        let limit = self.plan_limit();
        let space = self.study.space.clone();
        let p = &self.profiles[&bucket];
        let cap = p.checkpoint_cap_s;
        let feasible = |q: &&Probe| {
            q.metrics
                .as_ref()
                .is_some_and(|m| p.violation(m, limit) <= 0.0)
        };
        let cost_of = |q: &Probe| q.metrics.as_ref().map_or(f64::INFINITY, cost);
        let within = p
            .probes
            .iter()
            .filter(feasible)
            .filter(|q| q.checkpoint_s <= cap)
            .map(cost_of)
            .fold(f64::INFINITY, f64::min);
        let mut over: Vec<&Probe> = p
            .probes
            .iter()
            .filter(feasible)
            .filter(|q| q.checkpoint_s > cap && cost_of(q) < within)
            .collect();
        over.sort_by(|a, b| cost_of(a).total_cmp(&cost_of(b)));
        let shortened: Vec<Config> = over
            .iter()
            .filter_map(|q| crate::adapt::policy::with_checkpoint_interval(&space, &q.config, cap))
            .filter(|c| !p.probes.iter().any(|q| &q.config == c))
            .take(2)
            .collect();
        for config in shortened {
            if self
                .measured(&config, bucket)?
                .is_some_and(|m| self.profiles[&bucket].violation(&m, limit) <= 0.0)
            {
                break;
            }
        }
        Ok(())
    }

    fn probe(&self, config: Config, metrics: Option<Metrics>) -> Probe {
        Probe {
            checkpoint_s: crate::adapt::policy::checkpoint_interval_s(&self.study.space, &config)
                .unwrap_or(0.0),
            config,
            metrics,
            confirmed: false,
        }
    }

    fn bucket(&self, rate: f64) -> u64 {
        let step = self.settings.rate_step.max(1);
        ((rate.max(1.0) / step as f64).ceil() as u64).max(1) * step
    }

    /// One profiling measurement: `profile_repeats` runs combined.
    fn evaluate(&mut self, config: &Config, rate: f64) -> Result<Option<Metrics>> {
        measure(
            self.profiler.as_mut(),
            config,
            rate,
            self.settings.profile_repeats,
        )
    }

    /// Profiles `rate` (once), with transfer from the rates profiled before.
    fn profile(&mut self, rate: u64) -> Result<&Profile> {
        if !self.profiles.contains_key(&rate) {
            let p = self.run_profile(rate)?;
            self.profiles.insert(rate, p);
        }
        Ok(&self.profiles[&rate])
    }

    fn run_profile(&mut self, rate: u64) -> Result<Profile> {
        let limit = self.plan_limit();
        let space = self.study.space.clone();
        let domain = encoding::domain(&space);
        let cmax = space.default_config();
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
        if self.settings.profiler == ProfileMethod::Ehvi {
            self.profile_ehvi(&mut profile, limit)?;
            return Ok(profile);
        }
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
                seed: self.study.file.seed ^ rate,
                ..BoOptions::default()
            },
        )?;
        if !tasks.is_empty() {
            bo.set_transfer(&tasks)?;
        }
        let x0 = encoding::encode(&space, &domain, &cmax);
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
        Ok(profile)
    }

    /// What `config` measures at the profiled `bucket` (measured once, then kept among the
    /// bucket's probes).
    fn measured(&mut self, config: &Config, bucket: u64) -> Result<Option<Metrics>> {
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

    /// How the running `config` does at `bucket`, judged with the margin on both targets
    /// (configurations are chosen without it): one chosen at the edge of a target must not
    /// be switched away from on the next measurement's noise. With `[adapt] confirm_misses`
    /// a miss on one measurement is confirmed before it counts: two more runs, their median
    /// with the first kept as the configuration's measurement (a run's p99 or recovery is
    /// now and then far above the usual). Remembers why it misses.
    fn judge(&mut self, config: &Config, bucket: u64) -> Result<(Option<Metrics>, f64)> {
        let mut metrics = self.measured(config, bucket)?;
        let k = self.profiles[&bucket]
            .probes
            .iter()
            .position(|q| &q.config == config)
            .expect("measured above");
        let limit = self.settings.recovery_limit_s;
        let latency_ms = self.profiles[&bucket].latency_target_ms * (1.0 + self.settings.margin);
        // Only a latency or throughput miss is confirmed: recovery is the hard constraint,
        // and one slow recovery is evidence enough to act on.
        let misses = |p: &Profile, m: &Option<Metrics>| {
            m.as_ref().is_some_and(|m| {
                m.recovery_time_s <= limit && p.violation_at(m, limit, latency_ms) > 0.0
            })
        };
        if self.settings.confirm_misses
            && !self.profiles[&bucket].probes[k].confirmed
            && misses(&self.profiles[&bucket], &metrics)
        {
            let mut runs = vec![metrics];
            for _ in 0..2 {
                runs.push(self.evaluate(config, bucket as f64)?);
            }
            metrics = combine(&runs);
            let q = &mut self.profiles.get_mut(&bucket).expect("profiled").probes[k];
            q.metrics = metrics.clone();
            q.confirmed = true;
        }
        let p = &self.profiles[&bucket];
        let (missed, violation) = match &metrics {
            Some(m) => (
                p.why(m, limit, latency_ms),
                p.violation_at(m, limit, latency_ms),
            ),
            None => ("it does not run".into(), f64::INFINITY),
        };
        self.missed = missed;
        Ok((metrics, violation))
    }

    /// The running configuration's shape (slots, CPU, memory, checkpoints) with the fewest
    /// TaskManagers that meets the targets at `bucket` — reachable by an in-place rescale
    /// instead of a restart. Bisection over the scale-out: more TaskManagers of one shape
    /// only add capacity and spare capacity for recovery, so meeting the targets is taken
    /// to be monotone in their number. None when even the most does not meet them.
    fn rescaled(&mut self, running: &Config, bucket: u64) -> Result<Option<(Config, f64)>> {
        let limit = self.plan_limit();
        let space = self.study.space.clone();
        let (mut lo, mut hi) = crate::adapt::policy::taskmanager_range(&space)?;
        let meets = |d: &mut Demeter, n: u32| -> Result<Option<(Config, f64)>> {
            let config = crate::adapt::policy::with_taskmanagers(&space, running, n)?;
            let metrics = d.measured(&config, bucket)?;
            let p = &d.profiles[&bucket];
            Ok(metrics
                .filter(|m| p.violation(m, limit) <= 0.0)
                .map(|m| (config, cost(&m))))
        };
        let Some(mut found) = meets(self, hi)? else {
            return Ok(None);
        };
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match meets(self, mid)? {
                Some(f) => {
                    found = f;
                    hi = mid;
                }
                None => lo = mid + 1,
            }
        }
        Ok(Some(found))
    }

    /// Profiles by constrained EHVI (`ehvi`), warm-started from the
    /// earlier rates' feasible fronts, nearest rate first.
    fn profile_ehvi(&mut self, profile: &mut Profile, limit: f64) -> Result<()> {
        let mut earlier: Vec<&Profile> = self.profiles.values().collect();
        earlier.sort_by_key(|p| p.rate.abs_diff(profile.rate));
        let warm: Vec<Config> = earlier
            .iter()
            .flat_map(|p| p.front(limit))
            .cloned()
            .collect();
        let targets = ehvi::Targets {
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
        let found = ehvi::profile(
            &self.study.space,
            &targets,
            &done,
            &warm,
            self.settings.profile_budget as usize,
            self.study.file.seed ^ profile.rate,
            &mut |c| measure(profiler.as_mut(), c, rate, repeats),
        )?;
        for (config, metrics) in found {
            let probe = self.probe(config, metrics);
            profile.probes.push(probe);
        }
        Ok(())
    }

    /// The static maximum's p99 latency, ms: the median of its measurements at the rates
    /// profiled so far (None before the first profile or when it never ran).
    fn reference_latency_ms(&self) -> Option<f64> {
        let mut xs: Vec<f64> = self
            .profiles
            .values()
            .map(|p| p.latency_target_ms / (1.0 + self.settings.latency_slack))
            .filter(|x| x.is_finite())
            .collect();
        xs.sort_by(f64::total_cmp);
        (!xs.is_empty()).then(|| xs[xs.len() / 2])
    }

    /// The latency budget over the window, ms × s, and what of it is spent (None: no budget).
    fn budget(&mut self) -> Option<(f64, f64)> {
        let reference = self.reference_latency_ms()?;
        if !self.settings.latency_budget.is_finite() {
            return None;
        }
        let now = self.time_now;
        while self
            .spent
            .front()
            .is_some_and(|(t, _)| *t <= now - BUDGET_WINDOW_S)
        {
            self.spent.pop_front();
        }
        let allowance = self.settings.latency_budget * reference * BUDGET_WINDOW_S;
        Some((allowance, self.spent.iter().map(|(_, x)| x).sum()))
    }

    /// Charges the running configuration's steady-state p99 over the static maximum's for
    /// the `since` seconds since the last decision, from the last measurement (clipped to
    /// ± the latency slack: one run's p99 is now and then several times the usual, and it
    /// stands for a whole interval here). Below the static maximum's earns budget back.
    fn charge_steady_state(&mut self, last: Option<&Metrics>, since: f64) {
        if !self.settings.latency_budget.is_finite() || since <= 0.0 {
            return;
        }
        let (Some(m), Some(reference)) = (last, self.reference_latency_ms()) else {
            return;
        };
        let bound = self.settings.latency_slack * reference;
        let excess = (m.latency_p99_ms - reference).clamp(-bound, bound);
        self.spent.push_back((self.time_now, excess * since));
    }

    /// Whether the latency budget affords switching from `from` to `to` now.
    fn affords(&mut self, from: &Config, to: &Config) -> bool {
        let Some((allowance, spent)) = self.budget() else {
            return true;
        };
        spent + self.switch_delay(from, to) <= allowance
    }

    /// The delay switching from `from` to `to` at the current rate adds (ms × s; see
    /// `crate::adapt::policy::delay_area`), with `to`'s load estimated from its profiling
    /// measurement at the demand: its busy share of the cores it requests, scaled to the
    /// current rate.
    fn switch_delay(&self, from: &Config, to: &Config) -> f64 {
        let space = &self.study.space;
        let kind = change(space, from, to);
        let bucket = self.bucket(self.demand.unwrap_or(self.rate_now));
        let load = self
            .profiles
            .get(&bucket)
            .and_then(|p| p.probes.iter().find(|q| &q.config == to))
            .and_then(|q| q.metrics.as_ref())
            .filter(|m| m.cpu_requested > 0.0)
            .map_or(0.5, |m| {
                m.cpu_busy / m.cpu_requested * self.rate_now / bucket as f64
            })
            .clamp(0.0, 0.95);
        let interval_s = crate::adapt::policy::checkpoint_interval_s(space, to).unwrap_or(0.0);
        let stop = crate::adapt::policy::stop_s(
            kind,
            self.settings.restart_s,
            self.settings.rescale_s,
            interval_s,
            load,
        );
        1000.0 * crate::adapt::policy::delay_area(stop, load)
    }

    /// The forecast peak over the horizon as one point for the schedule.
    fn demand_point(&self, history: &[f64]) -> Point {
        let current = history.last().copied().unwrap_or(0.0);
        let season = (86_400.0 / self.step_s).round() as usize;
        let horizon = ((self.settings.horizon_s / self.step_s).ceil() as usize).max(1);
        let flat = Point {
            step: 1,
            forecast: current,
            lower: current,
            upper: current,
        };
        if season < 2 || history.len() < 2 * season {
            return flat;
        }
        // Four seasons are plenty for the level, trend and seasonal pattern and keep each
        // fit cheap.
        let recent = &history[history.len().saturating_sub(4 * season)..];
        match forecast::fit(recent, Method::HoltWinters, season) {
            Ok(f) => {
                let pts = f.forecast(horizon, 0.8);
                let peak = |g: fn(&Point) -> f64| pts.iter().map(g).fold(current, f64::max);
                Point {
                    step: 1,
                    forecast: peak(|p| p.forecast),
                    lower: peak(|p| p.lower),
                    upper: peak(|p| p.upper),
                }
            }
            Err(_) => flat,
        }
    }
}

/// The schedule's view of the profiles.
struct Profiles<'a>(&'a mut Demeter);

impl Oracle for Profiles<'_> {
    fn best(&mut self, rate: f64) -> Result<Choice> {
        let limit = self.0.plan_limit();
        let bucket = self.0.bucket(rate);
        self.0.profile(bucket)?;
        self.0.within_cap(bucket)?;
        let p = &self.0.profiles[&bucket];
        let Some((probe, m, violation)) = p.best(limit) else {
            bail!("no configuration ran at {bucket} records/s while profiling");
        };
        let (mut config, mut objective, mut meets) =
            (probe.config.clone(), cost(m), violation <= 0.0);
        // A restart stops the job several times longer than an in-place rescale, and the
        // added delay grows with the square of the stop (see `crate::adapt::replay`). When the
        // running configuration misses a target, rescaling its shape is the fix (a cheaper
        // shape can wait for a switch for gain); otherwise the profile's best must beat
        // the rescaled shape by `min_gain` — Demeter's "worth a restart".
        // The scheduler still holds the running configuration while it decides.
        let running = self.0.scheduler.current().map(|id| self.0.ids[id].clone());
        if let Some(running) = running
            && change(&self.0.study.space, &running, &config) == Change::Restart
            && let Some((rescaled, c)) = self.0.rescaled(&running, bucket)?
        {
            let violates = self.0.judge(&running, bucket)?.1 > 0.0;
            // A violation is fixed by the rescale unless the restart is worth it and the
            // latency budget affords it: rescaling a shape chosen for a lower rate can cost
            // far more than the profile's best (bigger TaskManagers need more spare
            // capacity to recover in time), and a gain restart back later would pay twice.
            let worth = objective <= c * (1.0 - self.0.settings.min_gain);
            if !meets || !worth || (violates && !self.0.affords(&running, &config)) {
                (config, objective, meets) = (rescaled, c, true);
            }
        }
        Ok(Choice {
            config: self.0.id_of(&config),
            objective,
            meets_constraints: meets,
        })
    }

    /// A switch for gain must fit Demeter's latency budget: over the last day, the delays
    /// switches added plus the running configurations' p99 over the static maximum's must
    /// stay within `[adapt] latency_budget` of the static maximum's latency.
    fn affordable(&mut self, from: &str, to: &Choice) -> Result<bool> {
        let (from, to) = (self.0.ids[from].clone(), self.0.ids[&to.config].clone());
        Ok(self.0.affords(&from, &to))
    }

    fn assess(&mut self, id: &str, rate: f64) -> Result<Assessment> {
        let bucket = self.0.bucket(rate);
        let config = self.0.ids[id].clone();
        let (metrics, violation) = self.0.judge(&config, bucket)?;
        Ok(Assessment {
            // One that would not run at all is as bad as it gets.
            objective: metrics.as_ref().map_or(f64::MAX, cost),
            meets_constraints: violation <= 0.0,
        })
    }
}

impl Policy for Demeter {
    fn name(&self) -> &str {
        "demeter"
    }

    fn initial(&mut self) -> Result<Config> {
        // Demeter starts from the static maximum.
        let cmax = self.study.space.default_config();
        let id = self.id_of(&cmax);
        // As if it had run for long: the first decision may already switch for gain.
        self.scheduler = Scheduler::new(self.scheduler.policy, Some(id), usize::MAX / 2)?;
        Ok(cmax)
    }

    fn decide(&mut self, s: &Situation) -> Result<Option<Decision>> {
        let point = self.demand_point(s.history);
        let since = s.time_s - self.time_now;
        self.rate_now = s.history.last().copied().unwrap_or(0.0);
        self.time_now = s.time_s;
        self.charge_steady_state(s.last, since);
        let current = self.id_of(s.current);
        // A live run whose switch failed still runs the old configuration.
        if self.scheduler.current() != Some(current.as_str()) {
            self.scheduler = Scheduler::new(self.scheduler.policy, Some(current), 0)?;
        }
        let mut scheduler = self.scheduler.clone();
        let d = scheduler.decide(&mut Profiles(self), &point);
        self.scheduler = scheduler;
        let d = d?;
        self.demand = Some(d.rate);
        if !d.switch {
            return Ok(None);
        }
        let config = self.ids[&d.config].clone();
        let delay = self.switch_delay(s.current, &config);
        self.spent.push_back((s.time_s, delay));
        Ok(Some(Decision {
            config,
            reason: format!(
                "{:?}: demand {:.0}/s (forecast peak {:.0}/s){}{}",
                d.reason,
                d.rate,
                point.forecast,
                d.gain
                    .map(|g| format!(", cost gain {:.0}%", g * 100.0))
                    .unwrap_or_default(),
                if d.reason == schedule::Reason::Violation {
                    format!("; the running one: {}", self.missed)
                } else {
                    String::new()
                }
            ),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapt::measure::{Measure, SimMeasure};
    use crate::adapt::policy::{taskmanagers, with_taskmanagers};
    use flink::space::Value;

    /// A cluster where each core sustains 30 000 records/s, p99 is 100 ms below 80 % load
    /// and 600 ms above, recovery takes 60 s / (1 − load), and memory costs what it asks.
    struct Toy {
        space: flink::space::Space,
    }
    impl Toy {
        fn num(&self, config: &Config, key: &str) -> f64 {
            match &self.space.effective(config)[self.space.index_of(key).unwrap()] {
                Value::Int(i) => *i as f64,
                Value::Float(x) => *x,
                other => panic!("{key} = {other}"),
            }
        }
    }
    impl Profiler for Toy {
        fn evaluate(&mut self, config: &Config, rate: f64) -> Result<Option<Metrics>> {
            let tms = self.num(config, "flinktune.taskmanagers");
            let cores = tms * self.num(config, "kubernetes.taskmanager.cpu");
            let rho = rate / (30_000.0 * cores);
            Ok(Some(Metrics {
                throughput: rate.min(30_000.0 * cores),
                latency_p99_ms: if rho < 0.8 { 100.0 } else { 600.0 },
                cpu_busy: rho.min(1.0) * cores,
                taskmanagers: tms,
                cpu_requested: cores,
                memory_requested_mb: tms * self.num(config, "taskmanager.memory.process.size"),
                recovery_time_s: 60.0 / (1.0 - rho).max(0.01),
                backpressured: rho >= 1.0,
            }))
        }
    }

    fn study(dir: &std::path::Path) -> Study {
        std::fs::write(
            dir.join("flinktune.toml"),
            "flink_version = \"1.11\"\ncatalogue = \"demeter-resources\"\nrates = [100000]\nseed = 5\nsamples = 10\n\
             [adapter]\nkind = \"sim\"\n[sim]\ncluster = \"kubernetes\"\n\
             [adapt]\ninterval_s = 1800\nhorizon_s = 1800\nprofile_budget = 12\n\
             rate_step = 10000\nmargin = 0.1\n",
        )
        .unwrap();
        Study::load(dir).unwrap()
    }

    /// Demeter over the toy cluster, started (from C_max).
    fn toy_demeter(st: &Study) -> Demeter {
        let toy = Toy {
            space: st.space.clone(),
        };
        let mut d = Demeter::new(st, 1800.0, Box::new(toy)).unwrap();
        d.initial().unwrap();
        d
    }

    fn decide(d: &mut Demeter, current: &Config, rate: f64) -> Option<Decision> {
        let history = [rate];
        let s = Situation {
            time_s: 0.0,
            step_s: 1800.0,
            history: &history,
            current,
            last: None,
        };
        d.decide(&s).unwrap()
    }

    /// A run at 1000 records/s with this p99 (and a tenth of it as recovery, s).
    fn run(p99: f64) -> Metrics {
        Metrics {
            throughput: 1000.0,
            latency_p99_ms: p99,
            cpu_busy: 1.0,
            taskmanagers: 2.0,
            cpu_requested: 2.0,
            memory_requested_mb: 4096.0,
            recovery_time_s: p99 / 10.0,
            backpressured: p99 > 1000.0,
        }
    }

    /// Replays a fixed sequence of runs: a p99 each, or None for a failed run.
    struct Scripted(Vec<Option<f64>>);
    impl Profiler for Scripted {
        fn evaluate(&mut self, _: &Config, _: f64) -> Result<Option<Metrics>> {
            assert!(!self.0.is_empty(), "a run more than scripted");
            Ok(self.0.remove(0).map(run))
        }
    }

    #[test]
    fn a_miss_on_one_measurement_is_confirmed_before_it_counts() {
        let tmp = tempfile::tempdir().unwrap();
        let st = study(tmp.path());
        let config = st.space.default_config();
        // The running configuration measured once at 1000/s, against a 500 ms target
        // (550 ms with the 10 % margin it is judged by), then `more` runs if asked.
        let judged = |first: f64, more: Vec<Option<f64>>, confirm: bool| {
            let mut d = Demeter::new(&st, 1800.0, Box::new(Scripted(more))).unwrap();
            d.settings.confirm_misses = confirm;
            let probe = d.probe(config.clone(), Some(run(first)));
            d.profiles.insert(
                1000,
                Profile {
                    rate: 1000,
                    latency_target_ms: 500.0,
                    checkpoint_cap_s: f64::INFINITY,
                    cap_premium: 0.05,
                    probes: vec![probe],
                },
            );
            let (m, violation) = d.judge(&config, 1000).unwrap();
            // Judged again: no more runs (Scripted has none left).
            let again = d.judge(&config, 1000).unwrap().1;
            assert_eq!(violation, again);
            (m.map(|m| m.latency_p99_ms), violation)
        };
        // Off: the one measurement decides.
        assert!(judged(900.0, vec![], false).1 > 0.0);
        // An outlier: the median of it and two more runs meets the target.
        assert_eq!(
            judged(900.0, vec![Some(400.0), Some(450.0)], true),
            (Some(450.0), 0.0)
        );
        // A real miss stays one.
        let (p99, violation) = judged(900.0, vec![Some(600.0), Some(700.0)], true);
        assert!(p99 == Some(700.0) && violation > 0.0);
        // Runs that fail count against it: two of three must pass.
        assert_eq!(judged(900.0, vec![None, None], true), (None, f64::INFINITY));
        // Within the target: nothing to confirm.
        assert_eq!(judged(540.0, vec![], true), (Some(540.0), 0.0));
    }

    #[test]
    fn a_measurement_is_the_median_of_its_runs_and_needs_a_majority_to_pass() {
        let config = Config::default();
        let mut runs = Scripted(vec![Some(100.0), Some(2000.0), Some(110.0)]);
        // One run's outlier (and its backpressure) does not decide the measurement.
        let m = measure(&mut runs, &config, 1000.0, 3).unwrap().unwrap();
        assert_eq!((m.latency_p99_ms, m.recovery_time_s), (110.0, 11.0));
        assert!(!m.backpressured);
        let mut runs = Scripted(vec![Some(100.0), None, Some(120.0)]);
        let m = measure(&mut runs, &config, 1000.0, 3).unwrap().unwrap();
        assert_eq!(m.latency_p99_ms, 110.0);
        let mut runs = Scripted(vec![None, Some(100.0), None]);
        assert!(measure(&mut runs, &config, 1000.0, 3).unwrap().is_none());
        // One repeat is the run itself.
        let mut runs = Scripted(vec![Some(2000.0)]);
        let m = measure(&mut runs, &config, 1000.0, 1).unwrap().unwrap();
        assert!(m.backpressured && m.latency_p99_ms == 2000.0);
    }

    #[test]
    fn a_target_missed_is_fixed_by_rescaling_the_running_shape() {
        let tmp = tempfile::tempdir().unwrap();
        let st = study(tmp.path());
        let space = st.space.clone();
        let mut d = toy_demeter(&st);
        // C_max's shape (1 core, 4096m) at 4 TaskManagers: 120 000/s of capacity, far too
        // little for 300 000/s (demand 330 000 with the margin).
        let running = with_taskmanagers(&space, &space.default_config(), 4).unwrap();
        assert_eq!(d.demand(), None);
        let next = decide(&mut d, &running, 300_000.0).expect("a violation switches");
        assert!(next.reason.starts_with("Violation"), "{}", next.reason);
        // Less than two days of history: the current rate stands in for the forecast.
        let demand = d.demand().expect("decided");
        assert!((demand - 330_000.0).abs() < 1e-6, "{demand}");
        assert_eq!(change(&space, &running, &next.config), Change::Rescale);
        // The fewest 1-core TaskManagers for 330 000/s within the plan's recovery limit
        // (180 s less the 10 % margin): 60/(1 − ρ) ≤ 162 needs ρ ≤ 0.63, i.e. 18.
        let n = taskmanagers(&space, &next.config).unwrap();
        assert_eq!(n, 18);
        let m = Toy {
            space: space.clone(),
        }
        .evaluate(&next.config, 330_000.0)
        .unwrap()
        .unwrap();
        assert!(m.recovery_time_s <= 180.0 * 0.9 && m.latency_p99_ms <= 110.0);
        let fewer = with_taskmanagers(&space, &next.config, n - 1).unwrap();
        let m = Toy { space }.evaluate(&fewer, 330_000.0).unwrap().unwrap();
        assert!(m.recovery_time_s > 180.0 * 0.9, "{n} is not the fewest");
    }

    #[test]
    fn a_restart_must_save_more_than_rescaling_the_running_shape() {
        let tmp = tempfile::tempdir().unwrap();
        let st = study(tmp.path());
        let space = st.space.clone();
        let mut d = toy_demeter(&st);
        // This is about the gain rule, not the latency budget (whose test is below).
        d.settings.latency_budget = f64::INFINITY;
        // The running shape asks 4 GiB per core; the toy's cheapest shapes ask 1 GiB for
        // 3 cores. At a lower rate that saving is far beyond `min_gain`: restart.
        let running = with_taskmanagers(&space, &space.default_config(), 24).unwrap();
        let next = decide(&mut d, &running, 100_000.0).expect("a gain switches");
        assert!(next.reason.starts_with("Gain"), "{}", next.reason);
        assert_eq!(change(&space, &running, &next.config), Change::Restart);
        // Running that cheaper shape, a rise in rate is met by rescaling it, not by
        // restarting into yet another shape.
        let mut d = toy_demeter(&st);
        let shaped = with_taskmanagers(&space, &next.config, 1).unwrap();
        let again = decide(&mut d, &shaped, 200_000.0).expect("1 TaskManager is too few");
        assert_eq!(change(&space, &shaped, &again.config), Change::Rescale);
    }

    #[test]
    fn a_gain_restart_waits_until_the_latency_budget_affords_its_stop() {
        let tmp = tempfile::tempdir().unwrap();
        let st = study(tmp.path());
        let space = st.space.clone();
        // C_max at 100 000/s: restarting into the toy's cheapest shape saves far more than
        // min_gain. Its 17 s stop at load ρ adds 1000 × 17² / (2 (1 − ρ)) ≥ 144 500 ms·s;
        // C_max's p99 is 100 ms, so a budget b allows b × 100 × 86 400 ms·s a day.
        let running = with_taskmanagers(&space, &space.default_config(), 24).unwrap();
        let with_budget = |b: f64| {
            let mut d = toy_demeter(&st);
            d.settings.restart_s = 17.0;
            d.settings.latency_budget = b;
            let next = decide(&mut d, &running, 100_000.0);
            (d, next)
        };
        // 1 %: 86 400 ms·s cannot pay for the stop; the gain waits.
        let (mut d, next) = with_budget(0.01);
        assert!(next.is_none(), "{next:?}");
        let (allowance, spent) = d.budget().unwrap();
        assert!(
            (allowance - 86_400.0).abs() < 1e-6 && spent == 0.0,
            "{allowance} {spent}"
        );
        // 10 %: 864 000 ms·s can; the switch is charged what its stop adds.
        let (mut d, next) = with_budget(0.1);
        let next = next.expect("affordable");
        assert!(next.reason.starts_with("Gain"), "{}", next.reason);
        assert_eq!(change(&space, &running, &next.config), Change::Restart);
        let (_, spent) = d.budget().unwrap();
        let load = Toy {
            space: space.clone(),
        }
        .evaluate(&next.config, 100_000.0)
        .unwrap()
        .map(|m| m.cpu_busy / m.cpu_requested)
        .unwrap();
        let expected = 1000.0 * 17.0 * 17.0 / (2.0 * (1.0 - load));
        assert!(
            (spent - expected).abs() < 1e-6 * expected,
            "{spent} vs {expected}"
        );
        // No budget at all: a violation still switches (by rescaling, which it can).
        let mut d = toy_demeter(&st);
        d.settings.latency_budget = 0.0;
        let four = with_taskmanagers(&space, &space.default_config(), 4).unwrap();
        let next = decide(&mut d, &four, 300_000.0).expect("a violation switches");
        assert!(next.reason.starts_with("Violation"), "{}", next.reason);
    }

    #[test]
    fn the_choice_checkpoints_within_the_cap_a_rescale_can_afford() {
        let tmp = tempfile::tempdir().unwrap();
        let st = study(tmp.path());
        let space = st.space.clone();
        let mut d = toy_demeter(&st);
        // On by default; off, there is no cap.
        let cap = d.checkpoint_cap_s();
        d.settings.checkpoint_cap = false;
        assert_eq!(d.checkpoint_cap_s(), f64::INFINITY);
        d.settings.checkpoint_cap = true;
        assert_eq!(
            cap,
            2.0 * (st.file.adapt.restart_s - st.file.adapt.rescale_s)
        );
        // The cheapest configuration profiled (2 TaskManagers × 3 cores × 1 GiB: 6 cores
        // at 100 000/s, load 0.56, recovery 135 s) checkpoints every 80 s.
        let mut cheap = with_taskmanagers(&space, &space.default_config(), 2).unwrap();
        for (key, value) in [
            ("kubernetes.taskmanager.cpu", Value::Float(3.0)),
            ("taskmanager.memory.process.size", Value::Int(1024)),
            ("execution.checkpointing.interval", Value::Int(80_000)),
        ] {
            cheap[space.index_of(key).unwrap()] = Some(value);
        }
        let mut toy = Toy {
            space: space.clone(),
        };
        let cmax = space.default_config();
        let probes = [cmax, cheap.clone()]
            .into_iter()
            .map(|c| {
                let m = toy.evaluate(&c, 100_000.0).unwrap();
                d.probe(c, m)
            })
            .collect();
        let limit = d.plan_limit();
        d.profiles.insert(
            100_000,
            Profile {
                rate: 100_000,
                latency_target_ms: 110.0,
                checkpoint_cap_s: cap,
                cap_premium: 0.05,
                probes,
            },
        );
        // Alone, the profile would choose it as it is.
        let chosen = d.profiles[&100_000].best(limit).unwrap().0.config.clone();
        assert_eq!(chosen, cheap);
        // The same resources checkpointing at the cap are measured and chosen instead.
        d.within_cap(100_000).unwrap();
        let p = &d.profiles[&100_000];
        assert_eq!(p.evaluations(), 3);
        let (probe, m, violation) = p.best(limit).unwrap();
        assert_eq!(violation, 0.0);
        assert_eq!(probe.checkpoint_s, cap);
        assert_eq!(
            probe.config,
            crate::adapt::policy::with_checkpoint_interval(&space, &cheap, cap).unwrap()
        );
        assert_eq!(cost(m), 6.0 + 2.0 / 8.0);
        // Nothing over the cap is left cheaper than the choice: no more measurements.
        d.within_cap(100_000).unwrap();
        assert_eq!(d.profiles[&100_000].evaluations(), 3);
    }

    /// Profiles on the simulator, each run with its own noise seed.
    struct Sim(SimMeasure, usize);

    impl Profiler for Sim {
        fn evaluate(&mut self, config: &Config, rate: f64) -> Result<Option<Metrics>> {
            self.1 += 1;
            self.0.measure(config, rate, usize::MAX - self.1)
        }
    }

    /// The shipped Demeter example with `profiler` and a short profiling budget.
    fn demeter(dir: &std::path::Path, profiler: &str) -> Demeter {
        let text = include_str!("../../../examples/demeter/flinktune.toml")
            .replace("profile_budget = 30", "profile_budget = 16")
            .replace("[adapt]", &format!("[adapt]\nprofiler = \"{profiler}\""));
        std::fs::write(dir.join(crate::study::STUDY_FILE), text).unwrap();
        let study = Study::load(dir).unwrap();
        let sim = Sim(SimMeasure::new(&study).unwrap(), 0);
        Demeter::new(&study, 900.0, Box::new(sim)).unwrap()
    }

    #[test]
    fn an_ehvi_profile_chooses_a_feasible_configuration_on_its_front_and_warm_starts_the_next() {
        let tmp = tempfile::tempdir().unwrap();
        let mut d = demeter(tmp.path(), "ehvi");
        let limit = d.plan_limit();
        for rate in [100_000, 200_000] {
            let p = d.profile(rate).unwrap().clone();
            assert_eq!(p.evaluations(), 16);
            let (_, m, violation) = p.best(limit).unwrap();
            assert_eq!(violation, 0.0, "{}", p.why(m, limit, p.latency_target_ms));
            assert!(m.recovery_time_s <= limit && m.latency_p99_ms <= p.latency_target_ms);
            assert!(m.throughput >= 0.9 * rate as f64 && !m.backpressured);
            // No probe that meets the targets is as cheap and as fast and better in one.
            let chosen = [cost(m), m.latency_p99_ms];
            for q in p.probes.iter().filter_map(|q| q.metrics.as_ref()) {
                if p.violation(q, limit) <= 0.0 {
                    let other = [cost(q), q.latency_p99_ms];
                    assert!(!opt::pareto::dominates(&other, &chosen), "{q:?} vs {m:?}");
                }
            }
            // Far cheaper than the static maximum (24 cores, 96 GiB) at these rates.
            assert!(cost(m) < 0.5 * (24.0 + 96.0 / 8.0), "{m:?}");
        }
        // The second rate started from the first one's front, right after C_max.
        let first = d.profiles[&100_000].front(limit);
        assert!(!first.is_empty());
        let second = &d.profiles[&200_000].probes;
        assert_eq!(&second[1].config, first[0]);
    }
}
