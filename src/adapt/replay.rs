//! Replaying a rate trace against a scaling policy: what the policy would have run, step by
//! step, and what that cost in latency, resources and recovery — the evaluation Demeter
//! reports, on whatever measures a configuration at a rate (`crate::adapt::measure`: the
//! simulator for `adapt --dry-run`).
//!
//! Time is simulated: each trace step the running configuration is measured at the step's
//! rate; every `decide_every` steps the policy may switch (every step for a policy that
//! watches continuously, `Policy::continuous`). Two kinds of disruption are
//! charged to the latency, with one queueing argument: the job stops for `D` seconds while
//! records keep arriving at `λ`, then drains the backlog at its capacity `μ`, so the
//! disruption lasts `T = D / (1 − λ/μ)` and the wait of a record arriving in it falls
//! linearly from `D` to 0 — a mean added delay of `D/2` over `T`. A reconfiguration that
//! changes more than the scale-out (stop-with-savepoint, restart with the new configuration)
//! has `D = restart_s`; one that only changes the number of TaskManagers is an in-place
//! rescale by Flink's adaptive scheduler (`crate::adapt::policy::Change`): new pods start while the
//! job still runs, then it restarts from its latest checkpoint, so `D = rescale_s` plus the
//! time to reprocess what came in since that checkpoint — on average half the checkpoint
//! interval's input at the new capacity, `(λ/μ)·interval/2`. A failure
//! (injected at seeded times, the same for every policy) lasts the configuration's measured
//! `recovery_time_s` = `T`, so `D = T (1 − λ/μ)`. A configuration without spare capacity never
//! drains: its backlog grows for the whole step and its records wait half of it on average.
//!
//! The latency a policy is ranked by is the steady-state p99 plus its reconfigurations'
//! delays; the failures' delays are reported beside it (`mean_latency_with_failures_ms`) and
//! the recoveries on their own, as Demeter compares latency and recovery separately.

use crate::adapt::measure::Measure;
use crate::adapt::policy::{self, Change, Decision, Metrics, Policy, Situation};
use crate::study::seed::{Purpose, derive};
use anyhow::Result;
use flink::space::{Config, Space};
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

/// How a trace is replayed.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ReplayOptions {
    /// Seconds per trace step.
    pub step_s: f64,
    /// Steps of history the policy sees before the replay starts (for forecasting).
    pub warmup_steps: usize,
    /// Steps between two decisions.
    pub decide_every: usize,
    /// Downtime of a reconfiguration by restart (savepoint, new pods, restore), seconds.
    pub restart_s: f64,
    /// Downtime of an in-place rescale (restart from the latest checkpoint), seconds.
    #[serde(default)]
    pub rescale_s: f64,
    /// Mean seconds between injected TaskManager failures (0 = none).
    pub mean_time_between_failures_s: f64,
    /// The recovery-time constraint, seconds.
    pub recovery_limit_s: f64,
    pub seed: u64,
}

impl Default for ReplayOptions {
    fn default() -> Self {
        ReplayOptions {
            step_s: 300.0,
            warmup_steps: 0,
            decide_every: 3,
            restart_s: 30.0,
            rescale_s: 5.0,
            mean_time_between_failures_s: 2700.0,
            recovery_limit_s: 180.0,
            seed: 0,
        }
    }
}

/// One step of a replay.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Step {
    pub policy: String,
    pub step: usize,
    pub time_s: f64,
    pub rate: f64,
    pub taskmanagers: f64,
    pub cpu_requested: f64,
    pub memory_requested_mb: f64,
    /// Steady-state p99 of the running configuration at this rate.
    pub latency_p99_ms: f64,
    /// Mean delay a reconfiguration in this step added, ms.
    pub disruption_ms: f64,
    /// `latency_p99_ms + disruption_ms`: what the comparison ranks — the latency the policy
    /// is answerable for.
    pub latency_ms: f64,
    /// Mean delay an injected TaskManager failure in this step added, ms (its recovery is
    /// compared on its own, as Demeter does).
    pub failure_ms: f64,
    /// The rate was at or beyond what the configuration sustains.
    pub saturated: bool,
    pub throughput: f64,
    pub recovery_time_s: f64,
    pub reconfigured: bool,
    /// The reconfiguration was an in-place rescale (not a restart).
    pub rescaled: bool,
    pub failure: bool,
    /// The configuration could not run (its whole step counts as one disruption).
    pub failed: bool,
    /// The policy was asked at this step (a decision: keep, rescale or restart).
    #[serde(default)]
    pub decided: bool,
    /// The rate the policy's last forecast expects at its peak over the horizon (Demeter's;
    /// None for a policy that does not forecast).
    #[serde(default)]
    pub forecast: Option<f64>,
}

/// A decision the policy made, with when.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DecisionRecord {
    pub policy: String,
    pub step: usize,
    pub time_s: f64,
    pub rate: f64,
    pub change: Change,
    pub reason: String,
}

/// Replays `trace[warmup_steps..]` with `policy`; `trace[..warmup_steps]` is the history it
/// starts with. `space` tells a rescale from a restart.
pub fn replay(
    space: &Space,
    policy: &mut dyn Policy,
    trace: &[f64],
    opts: &ReplayOptions,
    measure: &mut dyn Measure,
) -> Result<(Vec<Step>, Vec<DecisionRecord>)> {
    replay_with(space, policy, trace, opts, measure, &mut |_, _| Ok(()))
}

/// [`replay`], handing each step (and the switch made at it, if any) to `on_step` as soon
/// as it is measured, for a log that watchers read while the replay runs.
pub fn replay_with(
    space: &Space,
    policy: &mut dyn Policy,
    trace: &[f64],
    opts: &ReplayOptions,
    measure: &mut dyn Measure,
    on_step: &mut dyn FnMut(&Step, Option<&DecisionRecord>) -> Result<()>,
) -> Result<(Vec<Step>, Vec<DecisionRecord>)> {
    let name = policy.name().to_string();
    let failures = failure_steps(trace.len(), opts);
    let mut current = policy.initial()?;
    let mut steps = Vec::new();
    let mut decisions = Vec::new();
    let mut last: Option<Metrics> = None;
    for i in opts.warmup_steps..trace.len() {
        let k = i - opts.warmup_steps;
        let mut at = At {
            policy: &name,
            step: k,
            time_s: k as f64 * opts.step_s,
            rate: trace[i],
            switched: None,
            failure: failures.contains(&i),
        };
        let decided = k > 0 && (policy.continuous() || k.is_multiple_of(opts.decide_every.max(1)));
        let decisions_before = decisions.len();
        if decided {
            let situation = Situation {
                time_s: at.time_s,
                step_s: opts.step_s,
                history: &trace[..i],
                current: &current,
                last: last.as_ref(),
            };
            if let Some(Decision { config, reason }) = policy.decide(&situation)?
                && config != current
            {
                let change = policy::change(space, &current, &config);
                decisions.push(at.record(change, reason));
                current = config;
                at.switched = Some(change);
            }
        }
        let m = measure.measure(&current, at.rate, i)?;
        let mut step = match &m {
            Some(m) => measured_step(space, &current, m, measure.capacity(&current)?, &at, opts),
            None => failed_step(&at, opts),
        };
        step.decided = decided;
        step.forecast = policy.forecast();
        on_step(&step, decisions[decisions_before..].first())?;
        steps.push(step);
        last = m;
    }
    Ok((steps, decisions))
}

/// Where a replay is: the policy, the step and its time and rate, the switch made at it
/// and whether a TaskManager fails in it.
struct At<'a> {
    policy: &'a str,
    step: usize,
    time_s: f64,
    rate: f64,
    switched: Option<Change>,
    failure: bool,
}

impl At<'_> {
    /// The record of a switch made here.
    fn record(&self, change: Change, reason: String) -> DecisionRecord {
        DecisionRecord {
            policy: self.policy.to_string(),
            step: self.step,
            time_s: self.time_s,
            rate: self.rate,
            change,
            reason,
        }
    }
}

/// A step that ran `current` with metrics `m` at `capacity` records/s: its latency plus
/// the mean wait a switch made at it or a TaskManager failure adds.
fn measured_step(
    space: &Space,
    current: &Config,
    m: &Metrics,
    capacity: f64,
    at: &At,
    opts: &ReplayOptions,
) -> Step {
    let rate = at.rate;
    let down_s = at.switched.map_or(0.0, |change| {
        let interval_s = policy::checkpoint_interval_s(space, current).unwrap_or(0.0);
        policy::stop_s(
            change,
            opts.restart_s,
            opts.rescale_s,
            interval_s,
            rate / capacity,
        )
    });
    let wait_s = mean_wait(down_s, rate, capacity, opts.step_s);
    let failure_s = if at.failure {
        let down = m.recovery_time_s * (1.0 - rate / capacity).max(0.0);
        mean_wait(down, rate, capacity, opts.step_s)
    } else {
        0.0
    };
    Step {
        policy: at.policy.to_string(),
        step: at.step,
        time_s: at.time_s,
        rate,
        taskmanagers: m.taskmanagers,
        cpu_requested: m.cpu_requested,
        memory_requested_mb: m.memory_requested_mb,
        latency_p99_ms: m.latency_p99_ms,
        disruption_ms: wait_s * 1000.0,
        latency_ms: m.latency_p99_ms + wait_s * 1000.0,
        failure_ms: failure_s * 1000.0,
        saturated: rate >= capacity,
        throughput: m.throughput,
        recovery_time_s: m.recovery_time_s,
        reconfigured: at.switched.is_some(),
        rescaled: at.switched == Some(Change::Rescale),
        failure: at.failure,
        failed: false,
        decided: false,
        forecast: None,
    }
}

/// A step whose configuration could not run.
fn failed_step(at: &At, opts: &ReplayOptions) -> Step {
    Step {
        policy: at.policy.to_string(),
        step: at.step,
        time_s: at.time_s,
        rate: at.rate,
        taskmanagers: 0.0,
        cpu_requested: 0.0,
        memory_requested_mb: 0.0,
        latency_p99_ms: 0.0,
        // Down for the whole step: the records wait half of it on average.
        disruption_ms: opts.step_s * 500.0,
        latency_ms: opts.step_s * 500.0,
        failure_ms: 0.0,
        saturated: true,
        throughput: 0.0,
        recovery_time_s: 0.0,
        reconfigured: at.switched.is_some(),
        rescaled: at.switched == Some(Change::Rescale),
        failure: false,
        failed: true,
        decided: false,
        forecast: None,
    }
}

/// Mean added delay over a step of `step_s` from a stop of `down_s` seconds at arrival rate
/// `rate` and capacity `capacity` (see the module doc).
fn mean_wait(down_s: f64, rate: f64, capacity: f64, step_s: f64) -> f64 {
    if down_s <= 0.0 {
        return 0.0;
    }
    let rho = rate / capacity.max(f64::MIN_POSITIVE);
    if rho >= 1.0 {
        // Never drains within the step: every record after the stop waits, the backlog
        // growing for the rest of the step.
        return down_s / 2.0 + step_s / 2.0;
    }
    // A backlog still draining at the step's end counts for the step only.
    policy::delay_area(down_s, rho).min(step_s * down_s / 2.0) / step_s
}

/// The trace steps at which a TaskManager fails: a Poisson process of the configured mean
/// interval, seeded, so every policy meets the same failures.
fn failure_steps(len: usize, opts: &ReplayOptions) -> Vec<usize> {
    if opts.mean_time_between_failures_s <= 0.0 {
        return Vec::new();
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(derive(opts.seed, Purpose::Failures));
    let p = 1.0 - (-opts.step_s / opts.mean_time_between_failures_s).exp();
    (opts.warmup_steps..len)
        .filter(|_| rng.random::<f64>() < p)
        .collect()
}

/// What one policy achieved over a replay.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Summary {
    pub policy: String,
    pub steps: usize,
    /// Mean of the steps' `latency_ms`.
    pub mean_latency_ms: f64,
    /// The same with the failures' delays added.
    pub mean_latency_with_failures_ms: f64,
    /// The static maximum's mean latency over this policy's, in percent (Demeter's "% of
    /// near-optimal"); filled in by `compare`.
    pub near_optimal_pct: f64,
    pub mean_taskmanagers: f64,
    pub mean_cpu_requested: f64,
    pub mean_memory_requested_gb: f64,
    /// CPU core-hours requested over the replay.
    pub cpu_core_hours: f64,
    pub reconfigurations: usize,
    /// Of which in-place rescales.
    #[serde(default)]
    pub rescales: usize,
    pub failures: usize,
    /// Mean recovery time over the injected failures.
    pub mean_recovery_s: f64,
    /// Failures whose recovery exceeded the limit.
    pub recovery_violations: usize,
    /// Steps the running configuration could not sustain the rate or did not run.
    pub saturated_steps: usize,
}

/// Summarises one policy's steps.
pub fn summarise(steps: &[Step], opts: &ReplayOptions) -> Summary {
    let n = steps.len().max(1) as f64;
    let mean = |f: &dyn Fn(&Step) -> f64| steps.iter().map(f).sum::<f64>() / n;
    let failures: Vec<&Step> = steps.iter().filter(|s| s.failure).collect();
    Summary {
        policy: steps.first().map(|s| s.policy.clone()).unwrap_or_default(),
        steps: steps.len(),
        mean_latency_ms: mean(&|s| s.latency_ms),
        mean_latency_with_failures_ms: mean(&|s| s.latency_ms + s.failure_ms),
        near_optimal_pct: f64::NAN,
        mean_taskmanagers: mean(&|s| s.taskmanagers),
        mean_cpu_requested: mean(&|s| s.cpu_requested),
        mean_memory_requested_gb: mean(&|s| s.memory_requested_mb) / 1024.0,
        cpu_core_hours: steps.iter().map(|s| s.cpu_requested).sum::<f64>() * opts.step_s / 3600.0,
        reconfigurations: steps.iter().filter(|s| s.reconfigured).count(),
        rescales: steps.iter().filter(|s| s.rescaled).count(),
        failures: failures.len(),
        mean_recovery_s: if failures.is_empty() {
            0.0
        } else {
            failures.iter().map(|s| s.recovery_time_s).sum::<f64>() / failures.len() as f64
        },
        recovery_violations: failures
            .iter()
            .filter(|s| s.recovery_time_s > opts.recovery_limit_s)
            .count(),
        saturated_steps: steps.iter().filter(|s| s.saturated).count(),
    }
}

/// Fills in each summary's percentage of the `reference` policy's (the static maximum's)
/// latency.
pub fn relate(summaries: &mut [Summary], reference: &str) {
    let Some(best) = summaries
        .iter()
        .find(|s| s.policy == reference)
        .map(|s| s.mean_latency_ms)
    else {
        return;
    };
    for s in summaries.iter_mut() {
        s.near_optimal_pct = 100.0 * best / s.mean_latency_ms;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapt::policy::Decision;
    use flink::space::Config;

    /// Capacity = 1000/s per TaskManager; latency grows as the load nears it.
    struct Toy;
    impl Measure for Toy {
        fn measure(&mut self, c: &Config, rate: f64, _: usize) -> Result<Option<Metrics>> {
            let tms = tms(c);
            let cap = self.capacity(c)?;
            let rho = (rate / cap).min(1.0);
            Ok(Some(Metrics {
                throughput: rate.min(cap),
                latency_p99_ms: 10.0 / (1.0 - rho).max(0.01),
                cpu_busy: rho * tms,
                taskmanagers: tms,
                cpu_requested: tms,
                memory_requested_mb: 1024.0 * tms,
                recovery_time_s: 60.0 / (1.0 - rho).max(0.01),
                backpressured: rho >= 1.0,
                busy: Some(rho),
            }))
        }
        fn capacity(&mut self, c: &Config) -> Result<f64> {
            Ok(1000.0 * tms(c))
        }
    }
    fn tms(c: &Config) -> f64 {
        match &c[0] {
            Some(flink::space::Value::Int(n)) => *n as f64,
            _ => 1.0,
        }
    }
    fn cfg(n: i64) -> Config {
        vec![Some(flink::space::Value::Int(n)), None]
    }
    /// `cfg(n)` with a 30 s checkpoint interval instead of the default 10 s.
    fn slow_checkpoints(n: i64) -> Config {
        vec![
            Some(flink::space::Value::Int(n)),
            Some(flink::space::Value::Int(30_000)),
        ]
    }
    fn space() -> Space {
        let text = r#"
flink_version = "1.20"
[[param]]
name = "flinktune.taskmanagers"
kind = "int"
min = 1
max = 24
default = 1
[[param]]
name = "execution.checkpointing.interval"
kind = "int"
min = 10000
max = 90000
default = 10000
unit = "ms"
"#;
        Space::from_catalogue_text(text, "test").unwrap().1
    }

    /// Starts with `from` and switches to `to` at the first decision.
    struct Switch {
        from: Config,
        to: Config,
    }
    impl Policy for Switch {
        fn name(&self) -> &str {
            "once"
        }
        fn initial(&mut self) -> Result<Config> {
            Ok(self.from.clone())
        }
        fn decide(&mut self, s: &Situation) -> Result<Option<Decision>> {
            Ok((s.current != &self.to).then(|| Decision {
                config: self.to.clone(),
                reason: "test".into(),
            }))
        }
    }

    fn run(
        from: Config,
        to: Config,
        trace: &[f64],
        opts: &ReplayOptions,
    ) -> (Vec<Step>, Vec<DecisionRecord>) {
        replay(&space(), &mut Switch { from, to }, trace, opts, &mut Toy).expect("replay")
    }

    #[test]
    fn a_reconfiguration_costs_the_queueing_delay_of_its_downtime() {
        let opts = ReplayOptions {
            step_s: 300.0,
            decide_every: 2,
            restart_s: 30.0,
            mean_time_between_failures_s: 0.0,
            ..Default::default()
        };
        let trace = vec![500.0; 4];
        let (steps, decisions) = run(cfg(1), slow_checkpoints(2), &trace, &opts);
        assert_eq!(decisions.len(), 1);
        assert_eq!(decisions[0].step, 2);
        assert_eq!(decisions[0].change, Change::Restart);
        assert!(!steps[2].rescaled);
        assert!(steps[2].reconfigured && !steps[3].reconfigured);
        // 2 TMs at 500/s: rho = 1/4, the disruption lasts 30/(3/4) = 40 s of the 300 s step,
        // each record in it waiting 15 s on average: 2 s of added mean delay.
        assert!(
            (steps[2].disruption_ms - 2000.0).abs() < 1e-6,
            "{:?}",
            steps[2]
        );
        assert_eq!(steps[2].latency_ms, steps[2].latency_p99_ms + 2000.0);
        assert_eq!(steps[3].disruption_ms, 0.0);
        assert_eq!(steps[0].taskmanagers, 1.0);
        assert_eq!(steps[2].taskmanagers, 2.0);
    }

    #[test]
    fn a_rescale_costs_its_downtime_and_the_replay_since_the_checkpoint() {
        let opts = ReplayOptions {
            step_s: 300.0,
            decide_every: 2,
            restart_s: 30.0,
            rescale_s: 5.0,
            mean_time_between_failures_s: 0.0,
            ..Default::default()
        };
        let trace = vec![500.0; 4];
        let (steps, decisions) = run(cfg(1), cfg(2), &trace, &opts);
        assert_eq!(decisions[0].change, Change::Rescale);
        assert!(steps[2].reconfigured && steps[2].rescaled);
        // Down 5 s + (1/4 load) × 10 s / 2 of reprocessing = 6.25 s; at rho = 1/4 the
        // disruption lasts 6.25/(3/4) s, each record waiting 3.125 s on average.
        let down: f64 = 6.25;
        let want = (down / 0.75) / 300.0 * down / 2.0 * 1000.0;
        assert!(
            (steps[2].disruption_ms - want).abs() < 1e-6,
            "{:?}",
            steps[2]
        );
        let s = summarise(&steps, &opts);
        assert_eq!((s.reconfigurations, s.rescales), (1, 1));
    }

    #[test]
    fn failures_are_the_same_for_every_policy_and_counted_against_the_limit() {
        let opts = ReplayOptions {
            mean_time_between_failures_s: 900.0,
            recovery_limit_s: 100.0,
            seed: 7,
            ..Default::default()
        };
        let trace = vec![900.0; 200];
        let (a, _) = run(cfg(1), cfg(1), &trace, &opts);
        let (b, _) = run(cfg(4), cfg(4), &trace, &opts);
        let fa: Vec<usize> = a.iter().filter(|s| s.failure).map(|s| s.step).collect();
        let fb: Vec<usize> = b.iter().filter(|s| s.failure).map(|s| s.step).collect();
        assert_eq!(fa, fb);
        // About one failure per three steps of 300 s.
        assert!((40..100).contains(&fa.len()), "{}", fa.len());
        let (sa, sb) = (summarise(&a, &opts), summarise(&b, &opts));
        // 1 TM at 90% load recovers in 600 s (a violation every time); 4 TMs in 77 s.
        assert_eq!(sa.recovery_violations, sa.failures);
        assert_eq!(sb.recovery_violations, 0);
        assert!(sb.mean_latency_with_failures_ms < sa.mean_latency_with_failures_ms);
        // 1 TM at 900/s: failures add delay; the policy's own latency leaves them out.
        assert!(sa.mean_latency_with_failures_ms > sa.mean_latency_ms);
        assert!(a.iter().filter(|s| s.failure).all(|s| s.failure_ms > 0.0));
        assert!((sb.cpu_core_hours - 4.0 * 200.0 * 300.0 / 3600.0).abs() < 1e-9);
    }

    #[test]
    fn saturation_never_drains_and_near_optimal_is_relative_to_the_reference() {
        assert_eq!(mean_wait(30.0, 2000.0, 1000.0, 300.0), 165.0);
        let opts = ReplayOptions {
            mean_time_between_failures_s: 0.0,
            ..Default::default()
        };
        let trace = vec![500.0; 10];
        let (a, _) = run(cfg(1), cfg(1), &trace, &opts);
        let (b, _) = run(cfg(4), cfg(4), &trace, &opts);
        let mut s = vec![summarise(&a, &opts), summarise(&b, &opts)];
        relate(&mut s, "once");
        // Both are called "once": the first is the reference.
        assert!((s[0].near_optimal_pct - 100.0).abs() < 1e-9);
        assert!(s[1].near_optimal_pct > 100.0);
    }
}
