//! Run-time scaling policies for `flinktune adapt`: what configuration a running job should
//! have next — the `Policy` trait, what a policy sees and answers, the scale-out helpers every
//! policy shares, the kinds of change and what a stop costs, and the simplest policy, the
//! static maximum. The scaling baselines live in `crate::adapt::baseline`, the forecasting,
//! model-based policy in `crate::adapt::demeter`.

use crate::trial::adapter::Outcome;
use anyhow::{Result, bail};
use flink::space::{Config, Space, Value};
use serde::{Deserialize, Serialize};

/// The scale-out parameter of the Demeter catalogue.
pub const TASKMANAGERS: &str = "flinktune.taskmanagers";
/// The checkpoint interval, which an in-place rescale replays from.
const CHECKPOINT_INTERVAL: &str = "execution.checkpointing.interval";
/// GiB of memory that cost as much as one core.
const GIB_PER_CORE: f64 = 8.0;

/// What a running configuration measured at one step.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub throughput: f64,
    pub latency_p99_ms: f64,
    /// CPU cores busy across the job.
    pub cpu_busy: f64,
    pub taskmanagers: f64,
    pub cpu_requested: f64,
    pub memory_requested_mb: f64,
    pub recovery_time_s: f64,
    pub backpressured: bool,
    /// Busy-time fraction of the busiest vertex (Flink's `busyTimeMsPerSecond` / 1000, at most
    /// 1): what the operator's autoscaler and DS2 derive true processing rates from. None
    /// where nothing reports it; CPU utilisation stands in then.
    #[serde(default)]
    pub busy: Option<f64>,
}

impl Metrics {
    /// The metrics of a passing outcome; None for a failed one. Optional protocol fields
    /// an adapter did not report are 0 (NaN would poison every mean downstream).
    pub fn of(outcome: &Outcome) -> Option<Metrics> {
        let m = outcome.metrics()?;
        let or_0 = |v: Option<f64>| v.unwrap_or(0.0);
        Some(Metrics {
            throughput: m.throughput,
            latency_p99_ms: m.latency_p99_ms,
            cpu_busy: or_0(m.cpu_cores),
            taskmanagers: or_0(m.taskmanagers),
            cpu_requested: or_0(m.cpu_requested),
            memory_requested_mb: or_0(m.memory_requested_mb),
            recovery_time_s: or_0(m.recovery_time_s),
            backpressured: m.backpressured.unwrap_or(false),
            busy: None,
        })
    }
}

/// The resources a configuration requests, in cost units: cores + GiB of memory / 8 —
/// roughly what cloud providers charge for a core relative to a GiB (e.g. 1 vCPU ≈ 8 GiB at
/// on-demand prices). Demeter's profiles and its EHVI search price a measurement so; here,
/// beside the `Metrics` it prices, both reach it without reaching each other.
pub fn cost(m: &Metrics) -> f64 {
    m.cpu_requested + m.memory_requested_mb / 1024.0 / GIB_PER_CORE
}

/// What a policy sees when it decides.
pub struct Situation<'a> {
    /// Seconds since the start of the adapted run.
    pub time_s: f64,
    /// Seconds between two rate observations.
    pub step_s: f64,
    /// Every input rate observed so far, one per step, oldest first (the warm-up history
    /// included); the last is the current rate.
    pub history: &'a [f64],
    /// The running configuration.
    pub current: &'a Config,
    /// What the running configuration measured at the last step (None when it failed or
    /// nothing was measured, e.g. on a live cluster without metrics).
    pub last: Option<&'a Metrics>,
}

/// A policy's answer: run this configuration next, because of `reason`.
#[derive(Clone, Debug)]
pub struct Decision {
    pub config: Config,
    pub reason: String,
}

/// A scaling policy.
pub trait Policy {
    fn name(&self) -> &str;
    /// The configuration to start with.
    fn initial(&mut self) -> Result<Config>;
    /// A new configuration, or None to keep the running one.
    fn decide(&mut self, s: &Situation) -> Result<Option<Decision>>;
    /// Whether the policy is asked at every observation rather than at the study's decision
    /// interval: autoscalers watch their metrics continuously and pace themselves with their
    /// own windows and delays.
    fn continuous(&self) -> bool {
        false
    }
    /// The input rate the policy's last decision forecast at its peak over the horizon it
    /// plans for; None for a policy that does not forecast.
    fn forecast(&self) -> Option<f64> {
        None
    }
}

/// The value of the scale-out parameter in a configuration.
pub fn taskmanagers(space: &Space, config: &Config) -> Result<u32> {
    let i = scale_index(space)?;
    match &space.effective(config)[i] {
        Value::Int(n) if *n >= 1 => Ok(*n as u32),
        other => bail!("{TASKMANAGERS} is {other}, not a positive integer"),
    }
}

/// The range of the scale-out parameter, TaskManagers.
pub fn taskmanager_range(space: &Space) -> Result<(u32, u32)> {
    let (lo, hi) = space.params[scale_index(space)?].bounds();
    Ok((lo as u32, hi as u32))
}

/// `config` with the scale-out set to `n`, clamped to the parameter's range.
pub fn with_taskmanagers(space: &Space, config: &Config, n: u32) -> Result<Config> {
    let i = scale_index(space)?;
    let (lo, hi) = space.params[i].bounds();
    let n = (n as f64).clamp(lo, hi) as i64;
    let mut c = config.clone();
    c[i] = Some(Value::Int(n));
    Ok(c)
}

/// The catalogue's defaults (Demeter's C_max), which every policy starts from; an error when
/// the space cannot scale out.
pub(crate) fn start(space: &Space) -> Result<Config> {
    let config = space.default_config();
    taskmanagers(space, &config)?;
    Ok(config)
}

/// The decision to run `n` TaskManagers (clamped to the range), or None when that many
/// already run; `why(from, to)` says why.
pub(crate) fn scale_to(
    space: &Space,
    running: &Config,
    n: u32,
    why: impl FnOnce(u32, u32) -> String,
) -> Result<Option<Decision>> {
    let current = taskmanagers(space, running)?;
    let config = with_taskmanagers(space, running, n)?;
    let next = taskmanagers(space, &config)?;
    Ok((next != current).then(|| Decision {
        config,
        reason: why(current, next),
    }))
}

/// How a running job gets from one configuration to another.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    Same,
    /// Only the scale-out differs: Flink's adaptive scheduler rescales the job in place
    /// (restart from its latest checkpoint; new pods start while it still runs).
    Rescale,
    /// Anything else needs stop-with-savepoint and a restart with the new configuration.
    Restart,
}

/// The kind of change from `from` to `to`, compared on effective values (an unset key and
/// its default are the same thing to Flink).
pub fn change(space: &Space, from: &Config, to: &Config) -> Change {
    let (a, b) = (space.effective(from), space.effective(to));
    let scale = space.index_of(TASKMANAGERS);
    let differs = |i: &usize| a[*i] != b[*i];
    let mut changed = (0..a.len()).filter(differs);
    match (changed.next(), changed.next()) {
        (None, _) => Change::Same,
        (Some(i), None) if Some(i) == scale => Change::Rescale,
        _ => Change::Restart,
    }
}

/// The checkpoint interval a configuration runs with, in seconds (None when the space does
/// not set it or checkpoints are off).
pub fn checkpoint_interval_s(space: &Space, config: &Config) -> Option<f64> {
    let i = space.index_of(CHECKPOINT_INTERVAL)?;
    let p = &space.params[i];
    let text = p.format_value(&space.effective(config)[i]);
    flink::units::parse_duration_ms(&text)
        .ok()
        .filter(|ms| *ms > 0.0)
        .map(|ms| ms / 1000.0)
}

/// Seconds a change stops the job (the model `crate::adapt::replay` charges and Demeter budgets
/// for): a restart stops it for `restart_s`; an in-place rescale for `rescale_s` plus the
/// reprocessing of what came in since the latest checkpoint — on average half the
/// checkpoint interval's input, at `load` (rate / capacity) of the new capacity.
pub fn stop_s(change: Change, restart_s: f64, rescale_s: f64, interval_s: f64, load: f64) -> f64 {
    match change {
        Change::Same => 0.0,
        Change::Restart => restart_s,
        Change::Rescale => rescale_s + load.clamp(0.0, 1.0) * interval_s / 2.0,
    }
}

/// The delay a stop of `stop_s` adds, summed over the records' arrival times (seconds ×
/// seconds; over a window of `W` seconds it raises the mean latency by this / `W`): records
/// keep arriving for `stop_s`, the backlog drains at the spare capacity in
/// `stop_s / (1 − load)`, and the wait falls linearly from `stop_s` to 0 over that span.
/// Infinite at or beyond full load (the backlog never drains).
pub fn delay_area(stop_s: f64, load: f64) -> f64 {
    if stop_s <= 0.0 {
        return 0.0;
    }
    if load >= 1.0 {
        return f64::INFINITY;
    }
    stop_s * stop_s / (2.0 * (1.0 - load.max(0.0)))
}

/// `config` checkpointing every `seconds` (within the parameter's range), or None when the
/// space has no numeric checkpoint interval or `config` does not checkpoint. The value is
/// scaled from the current one, so it works whatever unit the catalogue gives the key.
pub fn with_checkpoint_interval(space: &Space, config: &Config, seconds: f64) -> Option<Config> {
    let now = checkpoint_interval_s(space, config)?;
    let i = space.index_of(CHECKPOINT_INTERVAL)?;
    let p = &space.params[i];
    let (lo, hi) = p.bounds();
    let mut c = config.clone();
    c[i] = Some(match &space.effective(config)[i] {
        Value::Int(v) => Value::Int(((*v as f64) * seconds / now).round().clamp(lo, hi) as i64),
        Value::Float(v) => Value::Float((v * seconds / now).clamp(lo, hi)),
        _ => return None,
    });
    Some(c)
}

fn scale_index(space: &Space) -> Result<usize> {
    space.index_of(TASKMANAGERS).ok_or_else(|| {
        anyhow::anyhow!(
            "adapt needs the scale-out parameter {TASKMANAGERS} in the study's catalogue \
             (use catalogue = \"demeter-resources\")"
        )
    })
}

/// The catalogue's defaults — Demeter's static maximum (C_max) — for the whole run.
pub struct Static {
    config: Config,
}

impl Static {
    pub fn new(space: &Space) -> Result<Static> {
        Ok(Static {
            config: start(space)?,
        })
    }
}

impl Policy for Static {
    fn name(&self) -> &str {
        "static"
    }
    fn initial(&mut self) -> Result<Config> {
        Ok(self.config.clone())
    }
    fn decide(&mut self, _: &Situation) -> Result<Option<Decision>> {
        Ok(None)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use flink::space::Space;

    pub(crate) fn space() -> Space {
        let text = r#"
flink_version = "1.20"
[[param]]
name = "flinktune.taskmanagers"
kind = "int"
min = 1
max = 24
default = 24
[[param]]
name = "taskmanager.numberOfTaskSlots"
kind = "int"
min = 1
max = 4
default = 1
"#;
        Space::from_catalogue_text(text, "test").unwrap().1
    }

    pub(crate) fn metrics(busy: f64, tms: f64, throughput: f64) -> Metrics {
        Metrics {
            throughput,
            latency_p99_ms: 10.0,
            cpu_busy: busy,
            taskmanagers: tms,
            cpu_requested: tms,
            memory_requested_mb: tms * 4096.0,
            recovery_time_s: 30.0,
            backpressured: false,
            busy: None,
        }
    }

    fn decide(p: &mut dyn Policy, current: &Config, m: &Metrics, rate: f64) -> Option<u32> {
        let history = [rate];
        let s = Situation {
            time_s: 0.0,
            step_s: 300.0,
            history: &history,
            current,
            last: Some(m),
        };
        p.decide(&s)
            .unwrap()
            .map(|d| taskmanagers(&space(), &d.config).unwrap())
    }

    #[test]
    fn a_stop_and_the_delay_it_adds() {
        // A restart stops for restart_s; a rescale also replays half an interval's input.
        assert_eq!(stop_s(Change::Restart, 17.0, 5.0, 20.0, 0.5), 17.0);
        assert_eq!(stop_s(Change::Rescale, 17.0, 5.0, 20.0, 0.5), 10.0);
        assert_eq!(stop_s(Change::Same, 17.0, 5.0, 20.0, 0.5), 0.0);
        // 10 s at half load: drained in 20 s, the wait falling from 10 s to 0 — 100 s².
        assert!((delay_area(10.0, 0.5) - 100.0).abs() < 1e-12);
        // Idle, the backlog drains as fast as it came: 10 s × 10 s / 2.
        assert!((delay_area(10.0, 0.0) - 50.0).abs() < 1e-12);
        assert_eq!(delay_area(0.0, 0.9), 0.0);
        assert!(delay_area(1.0, 1.0).is_infinite());
    }

    #[test]
    fn a_change_of_scale_alone_is_a_rescale() {
        let sp = space();
        let base = sp.default_config();
        let c10 = with_taskmanagers(&sp, &base, 10).unwrap();
        assert_eq!(change(&sp, &base, &base), Change::Same);
        assert_eq!(change(&sp, &base, &c10), Change::Rescale);
        let mut slots = c10.clone();
        slots[1] = Some(Value::Int(2));
        assert_eq!(change(&sp, &c10, &slots), Change::Restart);
        assert_eq!(change(&sp, &base, &slots), Change::Restart);
        // An unset key is its default: setting it to the default changes nothing.
        let mut explicit = base.clone();
        explicit[1] = Some(Value::Int(1));
        assert_eq!(change(&sp, &base, &explicit), Change::Same);
    }

    #[test]
    fn static_never_changes_and_needs_the_scale_parameter() {
        let sp = space();
        let mut p = Static::new(&sp).unwrap();
        let c = p.initial().unwrap();
        assert_eq!(taskmanagers(&sp, &c).unwrap(), 24);
        assert!(decide(&mut p, &c, &metrics(1.0, 24.0, 1.0), 1.0).is_none());
        let other = Space::from_catalogue_text(
            "flink_version = \"1.20\"\n[[param]]\nname = \"a\"\nkind = \"int\"\nmin = 1\nmax = 2\n",
            "t",
        )
        .unwrap()
        .1;
        let err = Static::new(&other).err().unwrap().to_string();
        assert!(err.contains(TASKMANAGERS), "{err}");
    }
}
