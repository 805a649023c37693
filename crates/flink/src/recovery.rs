//! Recovery after a TaskManager failure: how long a job takes from the moment one of its
//! TaskManagers is killed until it runs again *and* has caught up with the backlog the
//! failure left (Demeter's recovery time; the protocol's `recovery_time_s`).
//!
//! The time is built from Flink's mechanisms, step by step:
//!
//! 1. **Detection.** The JobManager sends a heartbeat request to every TaskManager each
//!    `heartbeat.interval` (default 10 s) and declares one lost when none has come back for
//!    `heartbeat.timeout` (default 50 s). The kill falls at a random phase φ of the heartbeat
//!    period, so the timeout expires `timeout − φ·interval` after it. When the killed
//!    process's node stays up ([`FailureSignal::ConnectionRefused`]: a TaskManager process
//!    killed on a fixed cluster), its kernel refuses connections, every heartbeat RPC fails at
//!    once, and Flink (≥ 1.14) declares the target unreachable after
//!    `heartbeat.rpc-failure-threshold` (default 2; −1 disables it) consecutive failures:
//!    `(threshold − φ)·interval`, if that is sooner. A killed Kubernetes pod takes its IP
//!    with it ([`FailureSignal::Silent`]): packets are dropped, RPCs neither answer nor fail,
//!    and only the timeout detects it. Tasks on other TaskManagers see their network
//!    connections to the lost one close earlier, but the job cannot be redeployed until the
//!    JobManager has released the lost TaskManager's slots, so detection is what counts.
//! 2. **Restart and slots.** The restart strategy waits its delay (`restart-strategy`:
//!    fixed-delay and failure-rate 1 s, exponential-delay an initial back-off of 1 s; unset
//!    means fixed-delay with checkpointing and *none* without, as in Flink). The job needs
//!    its slots back: from spare slots at once, or from a replacement TaskManager
//!    ([`Inputs::replacement_s`]: a restarted process, or a new pod). Flink's reactive mode
//!    (the adaptive scheduler) then waits
//!    `jobmanager.adaptive-scheduler.resource-stabilization-timeout` (default 10 s) for the
//!    resources to settle before it schedules. Running on the surviving TaskManagers at a
//!    lower parallelism in between is not modelled: the job would rescale (restart) again as
//!    soon as the replacement registers, and catching up needs the full capacity anyway.
//! 3. **Deployment.** 0.3 s to build and schedule the execution graph, 5 ms per task for the
//!    deployment RPCs, and 1 s for the tasks to initialise (Kafka clients fetch metadata,
//!    producers initialise).
//! 4. **State restore.** Each TaskManager reads its subtasks' keyed state from the checkpoint
//!    storage at [`Inputs::restore_mb_per_s`] and deserialises it into the heap (10 ns per
//!    byte per thread, at most as many threads at once as the TaskManager has cores); the
//!    slower of the two counts.
//! 5. **Backlog.** The sources rewind to the offsets of the last completed checkpoint.
//!    Checkpoints complete periodically, so the failure falls at a uniformly random time u in
//!    [0, period) after the last completion, which covers the records since that checkpoint's
//!    barriers, `duration + u` seconds' worth. To these add the records that arrived while the
//!    job was down. The backlog drains at the spare capacity (capacity − rate).
//!
//! **No spare capacity.** A job at or above its capacity never catches up. It is reported as
//! not recovered ([`Recovery::recovered`] false) with [`GIVE_UP_S`] seconds — what a
//! measuring harness that gives up after an hour would report — so the number stays finite
//! and clearly above any sensible limit; any recovery slower than that is reported the same
//! way.
//!
//! **Checkpointing disabled.** Flink then restarts with the `none` strategy unless one is
//! configured: the job stays failed (not recovered). With a restart strategy configured, a
//! job without keyed state recovers from the offsets the Kafka consumer auto-committed
//! (every 5 s, so up to 5 s of records are replayed); a job with keyed state loses it and
//! produces wrong results, which is no recovery either.

use crate::conf::FlatConf;
use crate::memory::lookup;

/// The recovery time reported when a job does not recover (finite, above any limit), s.
pub const GIVE_UP_S: f64 = 3600.0;

const DEPLOY_BASE_S: f64 = 0.3;
const DEPLOY_PER_TASK_S: f64 = 0.005;
const TASK_INIT_S: f64 = 1.0;
const DESERIALISE_S_PER_BYTE: f64 = 10e-9;
/// Kafka's `auto.commit.interval.ms` default: how often offsets are committed without
/// checkpoints.
const KAFKA_AUTO_COMMIT_S: f64 = 5.0;

/// How the rest of the cluster learns that a TaskManager died.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureSignal {
    /// The process died on a node that stays up: connections are refused at once.
    ConnectionRefused,
    /// The TaskManager vanished with its address (a deleted pod, a lost node): silence.
    Silent,
}

/// Checkpoint timing: one completes every `period_s`, each takes `duration_s`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Checkpointing {
    pub period_s: f64,
    pub duration_s: f64,
}

/// What the recovery of one job depends on besides its configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Inputs {
    /// Input rate, records/s.
    pub rate: f64,
    /// Highest sustainable rate, records/s.
    pub capacity: f64,
    /// None: checkpointing is off.
    pub checkpointing: Option<Checkpointing>,
    /// Whether the job holds keyed state (lost without a checkpoint).
    pub keyed_state: bool,
    /// Keyed state of one subtask, MiB, and subtasks of the stateful vertex on the lost
    /// TaskManager (each TaskManager restores its own in parallel).
    pub state_mb_per_subtask: f64,
    pub stateful_subtasks_per_tm: f64,
    /// Checkpoint-storage read bandwidth of one TaskManager, MiB/s.
    pub restore_mb_per_s: f64,
    /// CPU cores of one TaskManager.
    pub cores_per_tm: f64,
    /// Tasks (subtasks of every vertex) to deploy.
    pub tasks: f64,
    /// Seconds after the kill when a replacement TaskManager has registered; None when
    /// spare slots take the lost ones' place.
    pub replacement_s: Option<f64>,
    /// The adaptive scheduler of reactive mode (waits for resources to stabilise).
    pub reactive: bool,
    pub signal: FailureSignal,
    /// Where in the heartbeat period and in the checkpoint period the failure falls, [0, 1).
    pub heartbeat_phase: f64,
    pub checkpoint_phase: f64,
}

/// The recovery of one failure.
#[derive(Debug, Clone, PartialEq)]
pub struct Recovery {
    /// Kill → running again and caught up, s; [`GIVE_UP_S`] when not recovered.
    pub seconds: f64,
    pub recovered: bool,
    /// Kill → lost TaskManager declared dead, s.
    pub detection_s: f64,
    /// Kill → job running again (restart, slots, deployment, restore), s; infinite when the
    /// job is never restarted.
    pub running_s: f64,
    /// Records to process on top of the live input once running.
    pub backlog_records: f64,
    /// Why it did not recover, if it did not.
    pub note: Option<String>,
}

fn duration_s(conf: &FlatConf, key: &str, default_s: f64) -> Result<f64, String> {
    match lookup(conf, key) {
        None => Ok(default_s),
        Some(text) => crate::units::parse_duration_ms(text)
            .map(|ms| ms / 1000.0)
            .ok()
            .filter(|s| s.is_finite() && *s >= 0.0)
            .ok_or_else(|| {
                format!("IllegalArgumentException: Could not parse value '{text}' for key '{key}'.")
            }),
    }
}

/// The restart strategy's delay before a restart, or None when the job is not restarted.
fn restart_delay_s(conf: &FlatConf, checkpointing: bool) -> Result<Option<f64>, String> {
    let strategy = lookup(conf, "restart-strategy")
        .or_else(|| lookup(conf, "restart-strategy.type"))
        .map(|s| s.to_ascii_lowercase());
    let strategy = match strategy.as_deref() {
        None if checkpointing => "fixed-delay".to_string(),
        None => "none".to_string(),
        Some(s) => s.to_string(),
    };
    match strategy.as_str() {
        "none" | "off" | "disable" => Ok(None),
        "fixed-delay" | "fixeddelay" => {
            duration_s(conf, "restart-strategy.fixed-delay.delay", 1.0).map(Some)
        }
        "failure-rate" | "failurerate" => {
            duration_s(conf, "restart-strategy.failure-rate.delay", 1.0).map(Some)
        }
        "exponential-delay" | "exponentialdelay" => duration_s(
            conf,
            "restart-strategy.exponential-delay.initial-backoff",
            1.0,
        )
        .map(Some),
        other => Err(format!(
            "Job submission failed: IllegalArgumentException: Unknown restart strategy {other}."
        )),
    }
}

/// Kill → lost TaskManager declared dead, s.
fn detection_s(conf: &FlatConf, inputs: &Inputs) -> Result<f64, String> {
    let interval = duration_s(conf, "heartbeat.interval", 10.0)?.max(0.001);
    let timeout = duration_s(conf, "heartbeat.timeout", 50.0)?;
    let phase = inputs.heartbeat_phase.clamp(0.0, 1.0) * interval.min(timeout);
    let by_timeout = timeout - phase;
    let threshold = match lookup(conf, "heartbeat.rpc-failure-threshold") {
        None => 2,
        Some(text) => text.parse::<i64>().map_err(|_| {
            format!(
                "IllegalArgumentException: Could not parse value '{text}' for key 'heartbeat.rpc-failure-threshold'."
            )
        })?,
    };
    Ok(match inputs.signal {
        FailureSignal::ConnectionRefused if threshold > 0 => {
            by_timeout.min(threshold as f64 * interval - phase)
        }
        _ => by_timeout,
    })
}

/// Restoring from the last completed checkpoint: the restore time (reading or deserialising
/// the lost TaskManager's state, whichever is slower) and the seconds of input to replay (the
/// checkpoint's duration plus the time since it completed).
fn restore_from_checkpoint(cp: &Checkpointing, inputs: &Inputs) -> (f64, f64) {
    let state_mb = inputs.state_mb_per_subtask * inputs.stateful_subtasks_per_tm;
    let read = state_mb / inputs.restore_mb_per_s.max(1e-3);
    let threads = inputs.stateful_subtasks_per_tm.max(1.0);
    let parallel = threads.min(inputs.cores_per_tm.max(0.1));
    let deserialise =
        inputs.state_mb_per_subtask * 1048576.0 * DESERIALISE_S_PER_BYTE * threads / parallel;
    let since_completion = inputs.checkpoint_phase.clamp(0.0, 1.0) * cp.period_s;
    (read.max(deserialise), cp.duration_s + since_completion)
}

/// How long the job of `conf` takes to recover from losing one TaskManager (see the module
/// documentation), or why its configuration is invalid.
pub fn recovery(conf: &FlatConf, inputs: &Inputs) -> Result<Recovery, String> {
    let detection = detection_s(conf, inputs)?;
    let delay = restart_delay_s(conf, inputs.checkpointing.is_some())?;
    let stabilisation = if inputs.reactive {
        duration_s(
            conf,
            "jobmanager.adaptive-scheduler.resource-stabilization-timeout",
            10.0,
        )?
    } else {
        0.0
    };
    let not_recovered = |running_s: f64, note: &str| Recovery {
        seconds: GIVE_UP_S,
        recovered: false,
        detection_s: detection,
        running_s,
        backlog_records: 0.0,
        note: Some(note.to_string()),
    };
    let Some(delay) = delay else {
        return Ok(not_recovered(
            f64::INFINITY,
            "the restart strategy is none (Flink's default without checkpointing): the job stays failed",
        ));
    };
    // Slots: the lost ones are released at detection; a replacement may come earlier or later.
    let slots_ready = detection.max(inputs.replacement_s.unwrap_or(0.0));
    let scheduled = (detection + delay).max(slots_ready + stabilisation);
    let deploy = DEPLOY_BASE_S + DEPLOY_PER_TASK_S * inputs.tasks + TASK_INIT_S;
    let (restore, replay_s) = match inputs.checkpointing {
        Some(cp) => restore_from_checkpoint(&cp, inputs),
        None if inputs.keyed_state => {
            return Ok(not_recovered(
                scheduled + deploy,
                "no checkpoint: the job restarted without its keyed state",
            ));
        }
        None => (
            0.0,
            inputs.checkpoint_phase.clamp(0.0, 1.0) * KAFKA_AUTO_COMMIT_S,
        ),
    };
    let running = scheduled + deploy + restore;
    let backlog = inputs.rate * (replay_s + running);
    let spare = inputs.capacity - inputs.rate;
    if spare <= 0.0 || !spare.is_finite() {
        let mut r = not_recovered(running, "no spare capacity: the backlog never drains");
        r.backlog_records = backlog;
        return Ok(r);
    }
    let total = running + backlog / spare;
    if total > GIVE_UP_S {
        let mut r = not_recovered(running, "the backlog drains too slowly");
        r.backlog_records = backlog;
        return Ok(r);
    }
    Ok(Recovery {
        seconds: total,
        recovered: true,
        detection_s: detection,
        running_s: running,
        backlog_records: backlog,
        note: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs() -> Inputs {
        Inputs {
            rate: 100_000.0,
            capacity: 200_000.0,
            checkpointing: Some(Checkpointing {
                period_s: 10.0,
                duration_s: 0.1,
            }),
            keyed_state: true,
            state_mb_per_subtask: 4.0,
            stateful_subtasks_per_tm: 1.0,
            restore_mb_per_s: 100.0,
            cores_per_tm: 1.0,
            tasks: 48.0,
            replacement_s: Some(12.0),
            reactive: true,
            signal: FailureSignal::Silent,
            heartbeat_phase: 0.5,
            checkpoint_phase: 0.5,
        }
    }

    fn conf(pairs: &[(&str, &str)]) -> FlatConf {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_parts_add_up_as_documented() {
        let r = recovery(&conf(&[]), &inputs()).unwrap();
        // silent pod: 50 s timeout − 0.5 × 10 s
        assert!((r.detection_s - 45.0).abs() < 1e-9);
        // replacement (12 s) is before detection; + 10 s stabilisation; deploy 0.3+0.24+1;
        // restore max(4/100, 4 MiB × 10 ns/byte)
        let restore = (4.0f64 / 100.0).max(4.0 * 1048576.0 * 10e-9);
        let running = 45.0 + 10.0 + 0.3 + 0.005 * 48.0 + 1.0 + restore;
        assert!((r.running_s - running).abs() < 1e-9, "{r:?}");
        let backlog = 100_000.0 * (0.1 + 5.0 + running);
        assert!((r.backlog_records - backlog).abs() < 1e-6);
        assert!((r.seconds - (running + backlog / 100_000.0)).abs() < 1e-9);
        assert!(r.recovered && r.note.is_none());
    }

    #[test]
    fn longer_intervals_and_less_spare_capacity_take_longer() {
        let c = conf(&[]);
        let at = |period: f64, capacity: f64| {
            let mut i = inputs();
            i.checkpointing = Some(Checkpointing {
                period_s: period,
                duration_s: 0.1,
            });
            i.capacity = capacity;
            recovery(&c, &i).unwrap().seconds
        };
        let mut last = 0.0;
        for period in [10.0, 30.0, 60.0, 90.0] {
            let t = at(period, 200_000.0);
            assert!(t > last, "{period}: {t}");
            last = t;
        }
        let mut last = f64::INFINITY;
        for capacity in [120_000.0, 150_000.0, 200_000.0, 400_000.0] {
            let t = at(30.0, capacity);
            assert!(t < last, "{capacity}: {t}");
            last = t;
        }
    }

    #[test]
    fn no_spare_capacity_is_finite_and_not_recovered() {
        for capacity in [100_000.0, 90_000.0] {
            let mut i = inputs();
            i.capacity = capacity;
            let r = recovery(&conf(&[]), &i).unwrap();
            assert!(!r.recovered);
            assert_eq!(r.seconds, GIVE_UP_S);
            assert!(r.note.unwrap().contains("spare capacity"));
        }
        // barely any spare: longer than the give-up time, reported the same way
        let mut i = inputs();
        i.capacity = 100_100.0;
        let r = recovery(&conf(&[]), &i).unwrap();
        assert!(!r.recovered && r.seconds == GIVE_UP_S);
    }

    #[test]
    fn without_checkpoints() {
        let mut i = inputs();
        i.checkpointing = None;
        // Flink's default strategy is then none
        let r = recovery(&conf(&[]), &i).unwrap();
        assert!(!r.recovered && r.note.unwrap().contains("none"));
        // restarted, but the keyed state is gone
        let fixed = conf(&[("restart-strategy", "fixed-delay")]);
        let r = recovery(&fixed, &i).unwrap();
        assert!(!r.recovered && r.note.unwrap().contains("keyed state"));
        // a stateless job replays from the auto-committed offsets
        i.keyed_state = false;
        let r = recovery(&fixed, &i).unwrap();
        assert!(r.recovered && r.seconds < GIVE_UP_S, "{r:?}");
    }

    #[test]
    fn heartbeat_settings_and_signals() {
        let mut i = inputs();
        let fast = conf(&[
            ("heartbeat.timeout", "20000"),
            ("heartbeat.interval", "2000"),
        ]);
        let slow = recovery(&conf(&[]), &i).unwrap();
        let quick = recovery(&fast, &i).unwrap();
        assert!((quick.detection_s - 19.0).abs() < 1e-9);
        assert!(quick.seconds < slow.seconds);
        // a refused connection is detected after 2 failed heartbeat RPCs
        i.signal = FailureSignal::ConnectionRefused;
        let r = recovery(&conf(&[]), &i).unwrap();
        assert!((r.detection_s - 15.0).abs() < 1e-9, "{r:?}");
        let off = conf(&[("heartbeat.rpc-failure-threshold", "-1")]);
        assert!((recovery(&off, &i).unwrap().detection_s - 45.0).abs() < 1e-9);
        // Flink 2.x duration syntax
        let d = conf(&[("heartbeat.timeout", "30 s")]);
        i.signal = FailureSignal::Silent;
        assert!((recovery(&d, &i).unwrap().detection_s - 25.0).abs() < 1e-9);
    }

    #[test]
    fn spare_slots_and_restart_delays() {
        let mut i = inputs();
        i.reactive = false;
        i.replacement_s = None;
        let spare = recovery(&conf(&[]), &i).unwrap();
        i.replacement_s = Some(80.0);
        let late = recovery(&conf(&[]), &i).unwrap();
        assert!(late.running_s > spare.running_s + 30.0);
        let slow_restart = conf(&[
            ("restart-strategy", "fixed-delay"),
            ("restart-strategy.fixed-delay.delay", "30 s"),
        ]);
        i.replacement_s = None;
        let r = recovery(&slow_restart, &i).unwrap();
        assert!((r.running_s - spare.running_s - 29.0).abs() < 1e-9);
        let bad = conf(&[("restart-strategy", "sometimes")]);
        assert!(
            recovery(&bad, &i)
                .unwrap_err()
                .contains("Unknown restart strategy")
        );
    }
}
