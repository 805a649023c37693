//! What the recovery model (`crate::recovery`) is told about a trial: the checkpoints, the
//! keyed state, whether the lost TaskManager's subtasks find free slots or wait for a
//! replacement, how the failure is noticed, and where in the heartbeat and checkpoint periods
//! it falls. Apart because it translates the simulator's placement into the recovery model's
//! terms; the recovery arithmetic itself stays in `crate::recovery`.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::recovery::{self, Checkpointing, FailureSignal};
use crate::sim::cluster::ClusterMode;
use crate::sim::model::Model;
use crate::sim::seed::{Fnv1a, write_trial};
use crate::sim::trial::SimJob;

/// What the recovery from losing the busiest TaskManager depends on (`crate::recovery`).
pub(super) fn recovery_inputs(
    m: &Model<'_>,
    cap: f64,
    throughput: f64,
    job: &SimJob,
) -> recovery::Inputs {
    let (s, c) = (m.s, m.c);
    let checkpointing = m
        .checkpoint_timing(throughput)
        .map(|(period_s, duration_s, _, _)| Checkpointing {
            period_s,
            duration_s,
        });
    let keyed_state = m.prof.keys > 0.0;
    // The lost TaskManager's subtasks fit into the survivors' free slots, or wait for a
    // replacement. Reactive mode uses every slot, so it always waits.
    let slots = f64::from(s.slots);
    let free_elsewhere = f64::from(s.taskmanagers) * slots - m.p - (slots - m.n);
    let replacement_s = match c.mode {
        ClusterMode::Fixed if free_elsewhere >= m.n => None,
        _ => Some(c.tm_replacement_s),
    };
    let (heartbeat_phase, checkpoint_phase) = failure_phases(job);
    recovery::Inputs {
        rate: job.rate,
        capacity: cap,
        checkpointing,
        keyed_state,
        state_mb_per_subtask: m.keyed_state_mb_per_subtask(throughput),
        stateful_subtasks_per_tm: if keyed_state { m.n } else { 0.0 },
        restore_mb_per_s: c.checkpoint_mb_per_s,
        cores_per_tm: s.cores,
        tasks: m.p * m.stages() as f64,
        replacement_s,
        reactive: c.mode == ClusterMode::Kubernetes,
        signal: match c.mode {
            ClusterMode::Fixed => FailureSignal::ConnectionRefused,
            ClusterMode::Kubernetes => FailureSignal::Silent,
        },
        heartbeat_phase,
        checkpoint_phase,
    }
}

/// Where in the heartbeat and checkpoint periods a trial's failure falls: seeded by the
/// trial (workload, rate, duration, repeat, seed) but not by the configuration, so every
/// configuration meets the same failure instants at the same trial.
fn failure_phases(job: &SimJob) -> (f64, f64) {
    let mut h = Fnv1a::new();
    h.write(b"failure");
    write_trial(&mut h, job);
    let mut rng = StdRng::seed_from_u64(h.finish());
    (rng.random::<f64>(), rng.random::<f64>())
}
