//! Deployment and heap checks: the failures Flink meets once the processes are up and the job
//! is deployed (slots, the deployment RPC's frame size, network buffers) and while it runs
//! (the busiest TaskManager's live heap data), worded like Flink's. Apart from `settings`
//! because they depend on where the subtasks are placed, not on any one option.

use crate::memory;
use crate::sim::model::Model;

pub(super) fn deployment_failure(m: &Model<'_>) -> Option<String> {
    let s = m.s;
    let total_slots = u64::from(s.taskmanagers) * u64::from(s.slots);
    if u64::from(s.parallelism) > total_slots || s.taskmanagers == 0 {
        return Some(format!(
            "NoResourceAvailableException: Could not acquire the required slots: the job needs {} slots (parallelism.default) but the cluster offers {} ({} TaskManagers × {} slots); tasks stayed in CREATED until the slot request timed out",
            s.parallelism, total_slots, s.taskmanagers, s.slots
        ));
    }
    // Task deployment RPC: job and task information plus one shuffle descriptor per input
    // channel and one per output subpartition.
    let exchanges = m.prof.exchanges.len();
    let largest_task = (0..m.stages())
        .map(|i| {
            let inputs = if i > 0 { m.p } else { 0.0 };
            let outputs = if i < exchanges { m.p } else { 0.0 };
            24.0 * 1024.0 + inputs * 160.0 + outputs * 40.0
        })
        .fold(0.0, f64::max);
    if largest_task > s.framesize_bytes {
        return Some(format!(
            "Job failed: The rpc invocation size {} exceeds the maximum akka framesize ({} bytes, akka.framesize).",
            largest_task.round(),
            s.framesize_bytes.round()
        ));
    }
    if s.buffers_per_channel == 0 && s.floating_per_gate == 0 && exchanges > 0 {
        return Some(
            "Job failed: IllegalArgumentException: The number of required buffers should be larger than 0.".to_string(),
        );
    }
    // Network buffers of the busiest TaskManager.
    // Every producer subtask has a partition, even a source without Kafka partitions.
    let remote_channels = (m.p - m.n).max(0.0);
    let per_exchange = m.n * (f64::from(s.buffers_per_channel) * remote_channels + 1.0) // input gates
        + m.n * (m.p + 1.0); // output partitions
    let required = per_exchange * exchanges as f64;
    let available = (s.tm.network as f64 / s.segment_bytes).floor();
    if required > available {
        return Some(format!(
            "Job failed: java.io.IOException: Insufficient number of network buffers: required {}, but only {} available. The total number of network buffers is currently set to {} of {} bytes each. You can increase this number by setting the configuration keys 'taskmanager.memory.network.fraction', 'taskmanager.memory.network.min', and 'taskmanager.memory.network.max'.",
            required as u64, available as u64, available as u64, s.segment_bytes as u64
        ));
    }
    None
}

pub(super) fn heap_failure(m: &Model<'_>, rate: f64) -> Option<String> {
    let live = m.live_heap_mb(rate);
    let heap = memory::mib(m.s.tm.jvm_heap());
    if live > 0.95 * heap {
        return Some(format!(
            "Job failed: java.lang.OutOfMemoryError: Java heap space (TaskManager JVM heap {:.0} MiB: framework {:.0} + task {:.0}; live data {:.0} MiB for {} slots in use: Kafka clients, task working sets and {:.0} MiB of keyed state)",
            heap,
            memory::mib(m.s.tm.framework_heap),
            memory::mib(m.s.tm.task_heap),
            live,
            m.n,
            m.n * m.keyed_state_mb_per_subtask(rate)
        ));
    }
    None
}
