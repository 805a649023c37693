//! Reading the configuration: every Flink option the simulated job reads, parsed and checked
//! in the order Flink's start-up and job submission meet them, with Flink's wording for the
//! failures; and the keys it deliberately does not read. Apart so the model works on typed
//! `Settings`, never on the configuration's text.

use std::collections::BTreeMap;

use crate::conf::FlinkVersion;
use crate::memory::{self, JobManagerMemory, TaskManagerMemory, lookup};
use crate::sim::cluster::{Cluster, ClusterMode};
use crate::sim::constants::{JM_METASPACE_NEED_MB, TM_METASPACE_NEED_MB};
use crate::sim::topology::topology;

/// Catalogue keys the simulated job gives no effect (see the module documentation).
pub const IGNORED_KEYS: &[&str] = &[
    "blob.fetch.backlog",
    "blob.fetch.num-concurrent",
    "fs.output.always-create-directory",
    "fs.overwrite-files",
    "akka.transport.threshold",
    "akka.throughput",
    "pekko.throughput",
    "taskmanager.network.blocking-shuffle.compression.enabled",
    "taskmanager.network.blocking-shuffle.type",
    "taskmanager.network.request-backoff.initial",
    "taskmanager.network.request-backoff.max",
    "jobmanager.memory.flink.size",
    "jobmanager.memory.jvm-metaspace.size",
    "jobmanager.memory.jvm-overhead.min",
    "jobmanager.memory.jvm-overhead.max",
    // Today's knobs the model does not represent (see the module documentation).
    "taskmanager.network.memory.buffer-debloat.enabled",
    "taskmanager.network.memory.buffer-debloat.target",
    "execution.checkpointing.mode",
    "execution.checkpointing.min-pause",
    "execution.checkpointing.timeout",
    "execution.checkpointing.unaligned",
    "execution.checkpointing.unaligned.enabled",
    "execution.checkpointing.aligned-checkpoint-timeout",
    "state.backend.type",
    "state.backend.rocksdb.memory.managed",
    "state.backend.rocksdb.memory.write-buffer-ratio",
    "state.backend.rocksdb.memory.high-prio-pool-ratio",
    "pipeline.object-reuse",
];

#[derive(Clone, Copy, PartialEq, Debug)]
pub(super) enum Timeout {
    /// 0: flush after every record.
    Always,
    /// > 0: periodic flush, seconds.
    Every(f64),
    /// -1: only full buffers.
    Never,
}

pub(super) struct Settings {
    pub(super) parallelism: u32,
    pub(super) slots: u32,
    /// TaskManagers and the CPU cores of each (a CPU quota on Kubernetes, maybe fractional).
    pub(super) taskmanagers: u32,
    pub(super) cores: f64,
    pub(super) timeout: Timeout,
    pub(super) segment_bytes: f64,
    pub(super) checkpoint_s: Option<f64>,
    pub(super) client_threads: u32,
    pub(super) server_threads: u32,
    pub(super) arenas: u32,
    pub(super) nio: bool,
    pub(super) tcp_window_bytes: Option<f64>,
    pub(super) buffers_per_channel: u32,
    pub(super) floating_per_gate: u32,
    pub(super) framesize_bytes: f64,
    pub(super) tm: TaskManagerMemory,
}

fn parse_int(conf: &BTreeMap<String, String>, key: &str, default: i64) -> Result<i64, String> {
    match lookup(conf, key) {
        None => Ok(default),
        Some(text) => text.parse::<i64>().map_err(|_| {
            format!("IllegalArgumentException: Could not parse value '{text}' for key '{key}'.")
        }),
    }
}

fn parse_bool(conf: &BTreeMap<String, String>, key: &str, default: bool) -> Result<bool, String> {
    match lookup(conf, key) {
        None => Ok(default),
        Some(text) => match text.to_ascii_lowercase().as_str() {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(format!(
                "IllegalArgumentException: Could not parse value '{text}' for key '{key}'."
            )),
        },
    }
}

fn parse_duration_s(conf: &BTreeMap<String, String>, key: &str) -> Result<Option<f64>, String> {
    match lookup(conf, key) {
        None => Ok(None),
        Some(text) => crate::units::parse_duration_ms(text)
            .map(|ms| Some(ms / 1000.0))
            .map_err(|_| {
                format!("IllegalArgumentException: Could not parse value '{text}' for key '{key}'.")
            }),
    }
}

fn buffer_timeout(conf: &BTreeMap<String, String>) -> Result<Timeout, String> {
    if !parse_bool(conf, "execution.buffer-timeout.enabled", true)? {
        return Ok(Timeout::Never);
    }
    let seconds = parse_duration_s(conf, "execution.buffer-timeout")?.unwrap_or(0.1);
    if seconds < -0.001 - 1e-12 {
        return Err(format!(
            "IllegalArgumentException: Timeout of buffer must be non-negative or -1 (infinite), but was {} ms",
            seconds * 1000.0
        ));
    }
    Ok(if seconds < 0.0 {
        Timeout::Never
    } else if seconds == 0.0 {
        Timeout::Always
    } else {
        Timeout::Every(seconds)
    })
}

fn start_failure(component: &str, e: memory::MemoryError) -> String {
    format!("{component} could not start: IllegalConfigurationException: {e}")
}

/// Reads the configuration in the order Flink meets it, so the first failure is Flink's: the
/// processes start (memory, slots, the TaskManagers, the actor system, the network stack, the
/// job's classes), then the job is submitted.
pub(super) fn read_settings(
    conf: &BTreeMap<String, String>,
    cluster: &Cluster,
    flink: FlinkVersion,
) -> Result<Settings, String> {
    // Cluster start-up: JobManager and TaskManagers derive their memory.
    let (jm, tm, segment_bytes) = process_memory(conf, cluster, flink)?;
    let slots = task_slots(conf)?;
    let (taskmanagers, cores) = topology(conf, cluster)?;
    let framesize_bytes = akka_framesize(conf)?;
    let netty = netty(conf, slots)?;
    check_metaspace(&jm, &tm)?;
    // Job submission.
    let parallelism = parallelism(conf, cluster, taskmanagers, slots)?;
    let timeout = buffer_timeout(conf)?;
    let checkpoint_s = checkpoint_interval(conf)?;
    let buffers_per_channel =
        parse_int(conf, "taskmanager.network.memory.buffers-per-channel", 2)?.max(0) as u32;
    let floating_per_gate = parse_int(
        conf,
        "taskmanager.network.memory.floating-buffers-per-gate",
        8,
    )?
    .max(0) as u32;
    Ok(Settings {
        parallelism,
        slots,
        taskmanagers,
        cores,
        timeout,
        segment_bytes,
        checkpoint_s,
        client_threads: netty.client_threads,
        server_threads: netty.server_threads,
        arenas: netty.arenas,
        nio: netty.nio,
        tcp_window_bytes: netty.tcp_window_bytes,
        buffers_per_channel,
        floating_per_gate,
        framesize_bytes,
        tm,
    })
}

/// The JobManager's and TaskManager's memory and the segment size, derived as the processes
/// start, and whether each process fits its node.
fn process_memory(
    conf: &BTreeMap<String, String>,
    cluster: &Cluster,
    flink: FlinkVersion,
) -> Result<(JobManagerMemory, TaskManagerMemory, f64), String> {
    let jm = memory::jobmanager(conf, flink).map_err(|e| start_failure("JobManager", e))?;
    let tm = memory::taskmanager(conf, flink).map_err(|e| start_failure("TaskManager", e))?;
    let segment_bytes = memory::segment_size_bytes(conf, flink)
        .map_err(|e| start_failure("TaskManager", e))? as f64;
    if memory::mib(jm.process) > cluster.master_memory_mb {
        return Err(format!(
            "JobManager could not start: its Total Process Memory ({}) does not fit the master node's memory ({})",
            memory::human(jm.process),
            memory::human((cluster.master_memory_mb * 1048576.0) as u64)
        ));
    }
    let node_free = cluster.node_memory_mb - cluster.node_reserved_mb;
    if memory::mib(tm.process) > node_free {
        return Err(format!(
            "TaskManager could not start: its Total Process Memory ({}) exceeds the memory available on the node ({})",
            memory::human(tm.process),
            memory::human((node_free * 1048576.0) as u64)
        ));
    }
    Ok((jm, tm, segment_bytes))
}

fn task_slots(conf: &BTreeMap<String, String>) -> Result<u32, String> {
    let slots = parse_int(conf, "taskmanager.numberOfTaskSlots", 1)?;
    if slots < 1 {
        return Err(format!(
            "TaskManager could not start: IllegalConfigurationException: Invalid configuration value for taskmanager.numberOfTaskSlots : {slots} - Number of task slots must be at least one."
        ));
    }
    Ok(slots.min(100_000) as u32)
}

/// `akka.framesize` in bytes, as the actor system checks it when it starts.
fn akka_framesize(conf: &BTreeMap<String, String>) -> Result<f64, String> {
    crate::rpc::framesize_bytes(conf)
        .map(|bytes| bytes as f64)
        .map_err(|e| format!("JobManager could not start: {e}"))
}

/// The TaskManager's Netty settings.
struct Netty {
    nio: bool,
    client_threads: u32,
    server_threads: u32,
    arenas: u32,
    tcp_window_bytes: Option<f64>,
}

/// The Netty transport, threads and arenas (default: one per slot) and the TCP window, read as
/// the TaskManager's network stack starts.
fn netty(conf: &BTreeMap<String, String>, slots: u32) -> Result<Netty, String> {
    let transport = lookup(conf, "taskmanager.network.netty.transport")
        .unwrap_or("auto")
        .to_ascii_lowercase();
    let nio = match transport.as_str() {
        "nio" => true,
        "epoll" | "auto" => false,
        other => {
            return Err(format!(
                "TaskManager could not start: IllegalArgumentException: unknown transport type '{other}' for taskmanager.network.netty.transport (nio, epoll or auto)"
            ));
        }
    };
    let per_slot = |key: &str| -> Result<u32, String> {
        let v = parse_int(conf, key, -1)?;
        Ok(if v <= 0 { slots } else { v.min(10_000) as u32 })
    };
    let client_threads = per_slot("taskmanager.network.netty.client.numThreads")?;
    let server_threads = per_slot("taskmanager.network.netty.server.numThreads")?;
    let arenas = per_slot("taskmanager.network.netty.num-arenas")?;
    let tcp_window_bytes = match lookup(conf, "taskmanager.network.netty.sendReceiveBufferSize") {
        None => None,
        Some(text) => {
            let b = crate::units::parse_memory_bytes(text).map_err(|_| {
                format!(
                    "TaskManager could not start: IllegalArgumentException: Could not parse value '{text}' for key 'taskmanager.network.netty.sendReceiveBufferSize'."
                )
            })?;
            (b > 0.0).then_some(b.max(1024.0))
        }
    };
    Ok(Netty {
        nio,
        client_threads,
        server_threads,
        arenas,
        tcp_window_bytes,
    })
}

/// Enough metaspace for the job's classes, checked when the user code is loaded.
fn check_metaspace(jm: &JobManagerMemory, tm: &TaskManagerMemory) -> Result<(), String> {
    if memory::mib(tm.metaspace) < TM_METASPACE_NEED_MB {
        return Err(format!(
            "Job failed: java.lang.OutOfMemoryError: Metaspace. The metaspace out-of-memory error has occurred (TaskManager metaspace {}, the job's classes need about {}). Increase 'taskmanager.memory.jvm-metaspace.size'.",
            memory::human(tm.metaspace),
            memory::human((TM_METASPACE_NEED_MB * 1048576.0) as u64)
        ));
    }
    if memory::mib(jm.metaspace) < JM_METASPACE_NEED_MB {
        return Err(format!(
            "JobManager failed: java.lang.OutOfMemoryError: Metaspace (JobManager metaspace {}). Increase 'jobmanager.memory.jvm-metaspace.size'.",
            memory::human(jm.metaspace)
        ));
    }
    Ok(())
}

/// The job's parallelism: `parallelism.default` on the fixed cluster; reactive mode runs every
/// vertex on every slot there is.
fn parallelism(
    conf: &BTreeMap<String, String>,
    cluster: &Cluster,
    taskmanagers: u32,
    slots: u32,
) -> Result<u32, String> {
    let parallelism = parse_int(conf, "parallelism.default", 1)?;
    if parallelism < 1 {
        return Err(format!(
            "Job submission failed: IllegalArgumentException: The parallelism of an operator must be at least 1 (parallelism.default: {parallelism})."
        ));
    }
    Ok(match cluster.mode {
        ClusterMode::Fixed => parallelism.min(100_000) as u32,
        ClusterMode::Kubernetes => taskmanagers.saturating_mul(slots),
    })
}

/// The checkpoint interval (s), `None` when checkpointing is off.
fn checkpoint_interval(conf: &BTreeMap<String, String>) -> Result<Option<f64>, String> {
    let checkpoint_s = parse_duration_s(conf, "execution.checkpointing.interval")?;
    if let Some(s) = checkpoint_s
        && s < 0.010 - 1e-12
    {
        return Err(format!(
            "Job submission failed: IllegalArgumentException: Checkpoint interval must be larger than or equal to 10 ms (execution.checkpointing.interval: {} ms)",
            s * 1000.0
        ));
    }
    Ok(checkpoint_s)
}
