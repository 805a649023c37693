//! The built-in simulated Flink job: the `sim` adapter.
//!
//! `simulate` takes a complete effective Flink 1.11 configuration, a small cluster and a
//! HiBench-like streaming job, and answers what a real run would: either the job ran, with its
//! throughput and latency percentiles, or it failed, with a reason worded like Flink's. There is
//! no formula that rewards a parameter: every knob acts through the mechanism it has in Flink —
//! memory sizes through the memory model, the heap and the garbage collector; parallelism and
//! slots through placement, CPU shares and network channels; the buffer timeout and segment size
//! through how long records wait in output buffers and how many buffers are shipped; checkpoints
//! through pauses and snapshot work. The evaluation is closed-form (a bisection for the capacity,
//! queueing formulas for the latency) and takes a few microseconds.
//!
//! ## The jobs
//!
//! Four HiBench streaming programs, each reading from and writing to Kafka. Every vertex runs at
//! `parallelism.default`; operators chain where Flink chains them, so each job has one or two
//! network exchanges:
//!
//! | workload | pipeline | exchanges |
//! |---|---|---|
//! | `identity` | Kafka source ⇒ map → Kafka sink | 1 round-robin |
//! | `repartition` | Kafka source + map ⇒ map ⇒ Kafka sink | 2 round-robin (an extra shuffle) |
//! | `wordcount` | Kafka source + split ⇒ keyBy → count (keyed heap state, 400 k keys) → Kafka sink | 1 hash |
//! | `fixwindow` | Kafka source + parse ⇒ keyBy → 10 s tumbling window (20 k keys) → Kafka sink | 1 hash |
//!
//! Each record costs CPU time in the task thread that handles it (µs per record: Kafka source
//! 5.0, Kafka sink 4.0, serialisation and deserialisation 0.45 each per exchange, parsing 1.2,
//! a keyed-state update 1.4 plus a cache-miss term that grows with the state per subtask), plus
//! per-buffer costs for every buffer slice shipped. The Kafka topic has 20 partitions
//! (`Cluster::kafka_partitions`), so at most 20 source subtasks receive data, and a source with
//! ⌈partitions/parallelism⌉ partitions is the busiest. Keyed exchanges spread 128 key groups, so
//! the busiest subtask holds ⌈128/parallelism⌉ of them.
//!
//! ## The cluster
//!
//! `Cluster::default()` is four TaskManagers on 8-core, 32 GiB nodes (2 GiB of each kept for the
//! OS and the co-located Kafka broker), a JobManager on a 64 GiB master node, 10 Gbit/s
//! Ethernet with a 0.1 ms round trip, and Kafka adding an external latency floor (median 3.5 ms,
//! p99 8 ms) for the trip through the input and output topics. Slots are handed out TaskManager
//! by TaskManager (Flink 1.11's default, not spread out), so `parallelism.default: 8` with
//! 4 slots per TaskManager occupies two of them.
//!
//! ## The Kubernetes cluster (Demeter's set-up)
//!
//! `Cluster::kubernetes()` (`[sim] cluster = "kubernetes"`) stands in for Flink on
//! Kubernetes as Demeter runs it. The TaskManagers are pods, as many as
//! `flinktune.taskmanagers` asks for (at most `max_taskmanagers`, default 24, the
//! namespace's quota), each with `kubernetes.taskmanager.cpu` cores (Flink's fallbacks: one
//! core per slot when unset, see `crate::resources`) and `taskmanager.memory.process.size`
//! of memory. The job runs as in Flink's reactive mode: every vertex runs at TaskManagers ×
//! slots, whatever `parallelism.default` says. Every mechanism above then acts per pod, as it
//! acts per TaskManager on the fixed cluster: a pod's CPU is a CFS quota, so one core with
//! three slots means three task threads (and their Kafka and Netty threads) sharing one core,
//! with the context-switching penalty; a thread never gets more than one core, nor more
//! than the quota when it is below one; GC, heap failures and network buffers follow the
//! pod's process size. The pods' surroundings:
//!
//! * nodes of 8 allocatable cores and 32 GiB (2 GiB for the kubelet and system daemons); a
//!   pod asking for more cores than a node has stays Pending;
//! * pod-to-pod networking through the CNI overlay: 0.2 ms round trip, 2.5 Gbit/s
//!   (312.5 MB/s) per pod — a 10 Gbit/s NIC shared by four pods; every channel between two
//!   pods is remote, as between two TaskManager nodes;
//! * a Kafka input topic of 48 partitions (enough for 24 TaskManagers × 2 slots of sources),
//!   with the same Kafka latency floor as the fixed cluster;
//! * checkpoints to an object store or shared volume at 100 MB/s per pod;
//! * a killed pod is replaced by its Deployment: scheduled, container started, JVM up and
//!   registered with the ResourceManager 12 s later (`pod_startup_s`; images cached).
//!
//! More TaskManagers than `max_taskmanagers` fail like Flink's adaptive scheduler does when
//! its pods stay Pending: `NoResourceAvailableException: Could not acquire the minimum
//! required resources`.
//!
//! ## Recovery time and requested resources
//!
//! Every passing trial also reports `recovery_time_s`: the time from killing the busiest
//! TaskManager until the job runs again and has caught up, modelled mechanistically in
//! `crate::recovery` (heartbeat detection, restart strategy, replacement TaskManager and
//! reactive mode's stabilisation wait, deployment, state restore, then the backlog of
//! records since the last completed checkpoint plus those that arrived while down, drained
//! at the spare capacity). A job without spare capacity, without a restart strategy, or
//! stateful without checkpoints does not recover: `recovered` is false and the time is
//! `recovery::GIVE_UP_S` (an hour). On the fixed cluster, a killed TaskManager process
//! leaves its node up (connections are refused, so Flink's heartbeat RPC-failure
//! threshold detects it), its tasks move to free slots of the other TaskManagers if there
//! are enough, else they wait for a supervisor to restart it (6 s). On Kubernetes the pod
//! vanishes with its address (only `heartbeat.timeout` detects it) and reactive mode always
//! waits for the replacement pod. The failure instants (heartbeat phase, checkpoint phase) are
//! drawn per trial from the seed, repeat, rate and workload, not from the configuration, so
//! every configuration meets the same failures. The requested `taskmanagers`,
//! `cpu_requested` and `memory_requested_mb` come from `crate::resources` (on the fixed
//! cluster: its 4 TaskManagers of 8 cores).
//!
//! ## Start-up and deployment: when a configuration fails
//!
//! Failures are checked in the order Flink meets them, and reported as `SimOutcome::Fail` with
//! Flink's wording:
//!
//! * the JobManager and TaskManager memory models (`crate::memory`): no sizing, unreadable
//!   sizes, inconsistent process/Flink sizes, components exceeding the total Flink memory,
//!   invalid ranges or fractions, a segment size that is not a power of two;
//! * a derived process size that does not fit the node (TaskManager) or the master node
//!   (JobManager);
//! * `akka.framesize` below Akka's 32 000-byte minimum, or at 2 GiB and above (Akka keeps the
//!   frame size in a 32-bit integer), at actor-system start;
//! * TaskManager metaspace below 96 MiB (JobManager: 48 MiB): `OutOfMemoryError: Metaspace`
//!   when the user code is loaded;
//! * a checkpoint interval under 10 ms or a buffer timeout under -1: rejected at submission;
//! * parallelism above TaskManagers × slots: the job cannot acquire its slots (real Flink waits
//!   for the slot request timeout; a harness gives up and calls it a failure);
//! * a task deployment message larger than `akka.framesize` (it grows with the number of input
//!   channels): "The rpc invocation size … exceeds the maximum akka framesize";
//! * too few network buffers: a TaskManager needs, per input gate, `buffers-per-channel` (2)
//!   exclusive buffers per remote channel plus one floating buffer, and per output partition one
//!   buffer per subpartition plus one; it has network memory / segment size buffers;
//! * live heap data above 95 % of the JVM heap (framework + task heap) of the busiest
//!   TaskManager: `OutOfMemoryError: Java heap space`. Live data is a fixed framework share,
//!   per-task working sets (Kafka clients, serializers) and the keyed state held in that
//!   TaskManager's slots.
//!
//! ## Capacity
//!
//! The sustainable throughput is the highest input rate at which every resource keeps up,
//! found by bisection:
//!
//! * every task thread (a single thread: at most one core) of the busiest subtask of each vertex;
//! * every TaskManager's CPU: all task threads, the Kafka client threads, the output flushers,
//!   the Netty threads and checkpoint snapshot threads must fit in its cores; when runnable
//!   threads outnumber the cores, a context-switching penalty (4 % per extra thread per core)
//!   shrinks what the cores deliver;
//! * the Netty server and client threads (`taskmanager.network.netty.{server,client}.numThreads`,
//!   default = slots; only as many are useful as there are TCP connections, one per remote
//!   TaskManager per exchange); epoll costs less per buffer than nio (`auto` means epoll on
//!   Linux); fewer arenas than busy Netty threads adds allocation contention;
//! * the network link, and, if `taskmanager.network.netty.sendReceiveBufferSize` is set, a TCP
//!   window of that many bytes per connection (bytes per round trip; unset means the kernel
//!   autotunes, effectively no limit);
//! * garbage collection: stop-the-world time is taken from every thread. Young collections run
//!   when the allocation rate fills the young generation (sized from the free heap); each pause
//!   costs 1 ms plus 0.5 ms per GiB of heap plus the scan of state entries updated since the
//!   last one. Old-generation (mixed) collections take a share x/(1+x) of the time, with
//!   x = 0.01·(o/(1−o))² for the heap occupancy o = live/heap: 1 % at half full, 45 % at 90 %
//!   full — a nearly full heap thrashes before it runs out;
//! * buffers: every shipped buffer slice costs the sender, the receiver and (between
//!   TaskManagers) the Netty threads a few microseconds. How many records share a slice depends
//!   on the buffer timeout: `0` flushes after every record, a positive timeout flushes every
//!   channel at that period, `-1` only ships full buffers; a slice holds at most segment size /
//!   record size records. Small timeouts with many channels therefore ship many small slices;
//! * checkpoints (`execution.checkpointing.interval`; unset means off): each one stalls every
//!   task for barrier handling, exactly-once alignment across input channels, the synchronous
//!   part of the heap snapshot (proportional to the keys) and the Kafka producer flush
//!   (at-least-once sink), and makes an asynchronous snapshot thread serialise and write the
//!   state; state updates pay a copy-on-write surcharge while a snapshot is running. A
//!   checkpoint lasts at least 20 ms plus its snapshot time, so tiny intervals run them
//!   back to back;
//! * a window job additionally spends the firing burst (one result per key, sent to Kafka) every
//!   window.
//!
//! Throughput = min(rate, capacity). A job that cannot keep up is back-pressured.
//!
//! ## Latency
//!
//! A record's latency is the sum of independent parts; percentiles of the sum are approximated
//! as Σ means + √Σ(percentile − mean)² over the parts:
//!
//! * the external Kafka floor;
//! * per exchange, the wait in the output buffer: uniform up to min(buffer timeout, time to fill
//!   a buffer at the per-channel rate) — with timeout `-1` the fill time alone, which is seconds
//!   at low rates with many channels; with `0` nothing; plus a hand-over of a fraction of a
//!   millisecond and, for remote channels, half a round trip and any TCP-window round trips.
//!   Checkpoint barriers finish every partially filled buffer, so with very frequent
//!   checkpoints the wait is also bounded by the checkpoint period;
//! * per task, queueing behind earlier buffers: Kingman's G/G/1 approximation with batch
//!   arrivals (a buffer of records arrives at once), rising like ρ/(1−ρ) as the utilisation ρ
//!   approaches 1, with an exponential tail for the percentiles, and capped by what can build up
//!   within the measured window; plus waiting for a core when the TaskManager's CPU is busy;
//! * pauses (young and old GC, checkpoint stalls): a record that arrives during a pause, or while
//!   the backlog it left drains, waits up to the pause; they reach the p99 only when more than
//!   1 % of records are affected, and then lengthen it with the pause length (so with the heap
//!   size and state size for GC);
//! * for `fixwindow`, the results are measured from the end of their window, so the firing
//!   burst (all keys of the busiest subtask) adds a uniform wait up to its length;
//! * when the rate exceeds the capacity, the backlog grows for the whole measured window: the
//!   latency grows linearly, p99 ≈ (rate/capacity − 1) × duration, plus draining the full
//!   in-flight network buffers ahead of each record.
//!
//! Calibration: with no Kafka floor, on one 2-core machine, the identity job at 20 000 rec/s
//! with Flink's default configuration gives p99 ≈ 25 ms and p50 ≈ 12.5 ms (a 32 KiB buffer of
//! 65-byte records fills in 25 ms), a 4 KiB segment 3.3 ms, parallelism 2 with 2 slots 99 ms,
//! timeout 0 a sub-millisecond p99 and 1 ms about 1.2 ms, as measured on real Flink (25.3, 3.4,
//! 93.5, 0.2–0.5 and 1.3 ms). On the default cluster (noise off):
//!
//! | wordcount | 16 000 rec/s | 80 000 rec/s | 160 000 rec/s |
//! |---|---|---|---|
//! | Flink 1.11 shipped config (parallelism 1, 1 slot, 1728m TMs) | 16 000/s, p99 47.6 ms | 80 000/s, p99 30.4 ms | 147 000/s (capacity), p99 6.0 s |
//! | parallelism 8, 4 slots, timeout 5 ms, 8192m TMs, checkpoints every 10 min, epoll | p99 11.3 ms (4.2× the ratio) | p99 11.3 ms (2.7×) | keeps up, p99 11.3 ms |
//!
//! The p99 of the shipped configuration at 16 000 rec/s is the fill time of a 32 KiB buffer of
//! 48-byte records (43 ms) plus the Kafka floor; the tuned one is the 5 ms timeout plus the floor.
//!
//! ## Modelling assumptions
//!
//! Keyed state lives on the heap (Flink's heap state backend, with checkpoints written to a file
//! system; `state.backend` is not read). Kafka producers run at-least-once. The JobManager
//! needs 48 MiB of metaspace and a TaskManager 96 MiB for the job's classes (Flink runtime and
//! the Kafka connector). Records are 65 bytes (identity, repartition) or 48 bytes (wordcount,
//! fixwindow) on the wire. Every failure is a `SimOutcome::Fail`, including those that real Flink
//! reports only after a timeout.
//!
//! ## Parameters without effect
//!
//! [`IGNORED_KEYS`] lists keys the simulated job ignores, as a streaming job does: BLOB fetching
//! (only at deployment), file-system output flags (the job writes to Kafka), the Akka transport
//! failure detector threshold (meaningless with TCP), Akka's dispatcher throughput (the data path
//! does not use RPC), blocking-shuffle options (a streaming job uses pipelined exchanges),
//! partition-request back-off (only while the job starts) and the JobManager's memory sizes
//! (the JobManager does not process records; a JobManager configuration that Flink rejects still
//! fails, so vary them with the JobManager sized by `jobmanager.memory.flink.size`, as the
//! catalogue does, not next to an explicit `jobmanager.memory.process.size`).
//!
//! ## Measurement noise
//!
//! `SimJob::noise` is a relative noise level (default 0.03): throughput is multiplied by
//! exp(N(0, noise/2)), p99 and p50 by exp(N(0, noise)), and with probability noise/3 the p99 is
//! disturbed by a factor 1.5–5.5 (a one-off outlier, as seen on real clusters: repeat and use
//! medians). The draws are seeded by the configuration (without the ignored keys), workload,
//! rate, duration, repeat and seed: the same inputs give the same outputs, different repeats give
//! different draws. `noise: 0.0` gives the exact model values.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::memory::{self, TaskManagerMemory, lookup};
use crate::recovery::{self, Checkpointing, FailureSignal};
use crate::resources::{self, Resources};

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
];

// ---------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------

/// The HiBench streaming programs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Workload {
    Identity,
    Repartition,
    Wordcount,
    Fixwindow,
}

impl Workload {
    pub const ALL: [Workload; 4] = [
        Workload::Identity,
        Workload::Repartition,
        Workload::Wordcount,
        Workload::Fixwindow,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Workload::Identity => "identity",
            Workload::Repartition => "repartition",
            Workload::Wordcount => "wordcount",
            Workload::Fixwindow => "fixwindow",
        }
    }
}

impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Workload {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "identity" | "id" => Ok(Workload::Identity),
            "repartition" | "rp" => Ok(Workload::Repartition),
            "wordcount" | "wc" => Ok(Workload::Wordcount),
            "fixwindow" | "fw" => Ok(Workload::Fixwindow),
            other => anyhow::bail!(
                "unknown workload '{other}' (expected identity, repartition, wordcount or fixwindow)"
            ),
        }
    }
}

/// How the simulated cluster runs its TaskManagers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClusterMode {
    /// A fixed set of TaskManagers, one per worker node (`taskmanagers`, `cores_per_tm`).
    #[default]
    Fixed,
    /// TaskManagers are Kubernetes pods: the configuration chooses how many
    /// (`flinktune.taskmanagers`), their CPU (`kubernetes.taskmanager.cpu`) and memory, and
    /// the job runs in Flink's reactive mode (parallelism = TaskManagers × slots).
    Kubernetes,
}

impl FromStr for ClusterMode {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> anyhow::Result<Self> {
        match s {
            "fixed" => Ok(ClusterMode::Fixed),
            "kubernetes" => Ok(ClusterMode::Kubernetes),
            other => anyhow::bail!("unknown cluster mode '{other}' (expected fixed or kubernetes)"),
        }
    }
}

/// The simulated cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Cluster {
    pub mode: ClusterMode,
    /// TaskManagers, one per worker node (fixed mode; a Kubernetes configuration chooses).
    pub taskmanagers: u32,
    /// Cores of a worker node: a fixed TaskManager's cores, or what a pod's CPU request must
    /// fit in (Kubernetes).
    pub cores_per_tm: u32,
    /// Memory of a worker node, MiB.
    pub node_memory_mb: f64,
    /// Memory of a worker node kept for the OS and the co-located Kafka broker, MiB.
    pub node_reserved_mb: f64,
    /// Memory of the master node that runs the JobManager, MiB.
    pub master_memory_mb: f64,
    /// Network bandwidth per node, MB/s (10 Gbit/s = 1250).
    pub network_mb_per_s: f64,
    /// Network round-trip time between nodes, ms.
    pub rtt_ms: f64,
    /// Partitions of the Kafka input topic: at most this many source subtasks get data.
    pub kafka_partitions: u32,
    /// External latency (Kafka in and out) median and p99, ms. Zero means no Kafka.
    pub external_p50_ms: f64,
    pub external_p99_ms: f64,
    /// Write (and restore read) bandwidth of the checkpoint storage per TaskManager, MB/s.
    pub checkpoint_mb_per_s: f64,
    /// Most TaskManager pods the cluster runs (Kubernetes: the namespace's quota).
    pub max_taskmanagers: u32,
    /// Seconds from a TaskManager's death until a replacement has registered with the
    /// JobManager: a supervisor restarting the process (fixed), or the Deployment's new pod
    /// being scheduled, started and its JVM up (Kubernetes).
    pub tm_replacement_s: f64,
}

impl Cluster {
    /// The elastic cluster standing in for Demeter's Kubernetes + Flink set-up (see the
    /// module documentation for the numbers).
    pub fn kubernetes() -> Cluster {
        Cluster {
            mode: ClusterMode::Kubernetes,
            taskmanagers: 0,
            cores_per_tm: 8,
            node_memory_mb: 32768.0,
            node_reserved_mb: 2048.0,
            master_memory_mb: 65536.0,
            network_mb_per_s: 312.5,
            rtt_ms: 0.2,
            kafka_partitions: 48,
            external_p50_ms: 3.5,
            external_p99_ms: 8.0,
            checkpoint_mb_per_s: 100.0,
            max_taskmanagers: 24,
            tm_replacement_s: 12.0,
        }
    }
}

impl Default for Cluster {
    fn default() -> Self {
        Cluster {
            mode: ClusterMode::Fixed,
            taskmanagers: 4,
            cores_per_tm: 8,
            node_memory_mb: 32768.0,
            node_reserved_mb: 2048.0,
            master_memory_mb: 65536.0,
            network_mb_per_s: 1250.0,
            rtt_ms: 0.1,
            kafka_partitions: 20,
            external_p50_ms: 3.5,
            external_p99_ms: 8.0,
            checkpoint_mb_per_s: 200.0,
            max_taskmanagers: 4,
            tm_replacement_s: 6.0,
        }
    }
}

/// One trial: a workload at an input rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SimJob {
    pub workload: Workload,
    /// Target input rate, records/s.
    pub rate: f64,
    /// Measured window, s.
    pub duration_s: f64,
    pub repeat: u32,
    pub seed: u64,
    /// Relative measurement noise; 0 = deterministic.
    pub noise: f64,
}

impl Default for SimJob {
    fn default() -> Self {
        SimJob {
            workload: Workload::Wordcount,
            rate: 16_000.0,
            duration_s: 60.0,
            repeat: 0,
            seed: 0,
            noise: 0.03,
        }
    }
}

/// What a passing trial measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimMetrics {
    /// Records/s, averaged over the measured window.
    pub throughput: f64,
    pub latency_p99_ms: f64,
    pub latency_p50_ms: f64,
    /// The job could not keep up, or a downstream task was nearly saturated.
    pub backpressured: bool,
    /// CPU cores busy across the cluster.
    pub cpu_cores: f64,
    /// Memory reserved for processing: all TaskManager processes, MiB.
    pub memory_mb: f64,
    /// Seconds from a TaskManager failure until the job runs again and has caught up with
    /// its backlog (`crate::recovery`); `recovery::GIVE_UP_S` when it would not recover.
    pub recovery_time_s: f64,
    pub recovered: bool,
    /// What the configuration requests: TaskManagers, CPU cores, memory.
    pub resources: Resources,
}

/// Result of a simulated trial.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum SimOutcome {
    Pass(SimMetrics),
    Fail { reason: String },
}

impl SimOutcome {
    pub fn metrics(&self) -> Option<&SimMetrics> {
        match self {
            SimOutcome::Pass(m) => Some(m),
            SimOutcome::Fail { .. } => None,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Model constants (µs per record unless noted)
// ---------------------------------------------------------------------------------------------

const KAFKA_SOURCE_US: f64 = 5.0; // poll hand-over + deserialisation, task thread
const KAFKA_FETCH_US: f64 = 0.8; // consumer fetcher thread
const KAFKA_SINK_US: f64 = 4.0; // serialisation + producer.send, task thread
const KAFKA_SEND_US: f64 = 0.8; // producer I/O thread
const SER_US: f64 = 0.45;
const DESER_US: f64 = 0.45;
const PARSE_US: f64 = 1.2;
const MAP_US: f64 = 0.3;
const STATE_UPDATE_US: f64 = 1.4;
const WINDOW_ADD_US: f64 = 1.6;
const WINDOW_FIRE_US: f64 = 1.5;

// per buffer slice
const SLICE_SEND_FLUSH_ALWAYS_US: f64 = 3.0; // task thread flushes itself (timeout 0)
const SLICE_SEND_US: f64 = 0.3; // task thread, amortised buffer handling
const SLICE_FLUSHER_US: f64 = 1.0; // output flusher thread (timeout > 0)
const SLICE_RECV_LOCAL_US: f64 = 1.0;
const SLICE_RECV_REMOTE_US: f64 = 2.5;
const NETTY_SERVER_EPOLL_US: f64 = 5.0;
const NETTY_CLIENT_EPOLL_US: f64 = 4.0;
const NETTY_NIO_EXTRA_US: f64 = 1.0;
const NETTY_PER_BYTE_US: f64 = 0.000_25;
const SLICE_HEADER_BYTES: f64 = 64.0;
/// Time the reader takes to pick up a flushed slice: with timeout 0, records written meanwhile
/// share the slice.
const FLUSH_ALWAYS_PICKUP_S: f64 = 15e-6;

// memory (MiB)
const TM_FRAMEWORK_LIVE_MB: f64 = 48.0;
const TASK_LIVE_MB: f64 = 3.0;
const KAFKA_CONSUMER_LIVE_MB: f64 = 6.0;
const KAFKA_PRODUCER_LIVE_MB: f64 = 10.0;
const TM_METASPACE_NEED_MB: f64 = 96.0;
const JM_METASPACE_NEED_MB: f64 = 48.0;
const MAX_PARALLELISM_KEY_GROUPS: f64 = 128.0;

// ---------------------------------------------------------------------------------------------
// Workload profiles
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq)]
enum Exchange {
    Rebalance,
    Hash,
}

struct Profile {
    /// Task-thread CPU per record of each vertex, µs, without (de)serialisation and buffers.
    stage_us: &'static [f64],
    exchanges: &'static [Exchange],
    /// Serialised record size on the wire, bytes.
    record_bytes: f64,
    /// Keyed state of the last vertex: distinct keys and heap bytes per key.
    keys: f64,
    state_bytes_per_key: f64,
    /// Heap allocation per record per vertex, bytes.
    alloc_bytes: f64,
    /// Tumbling window length, s (window jobs only).
    window_s: Option<f64>,
}

const IDENTITY: Profile = Profile {
    stage_us: &[KAFKA_SOURCE_US, MAP_US + KAFKA_SINK_US],
    exchanges: &[Exchange::Rebalance],
    record_bytes: 65.0,
    keys: 0.0,
    state_bytes_per_key: 0.0,
    alloc_bytes: 250.0,
    window_s: None,
};

const REPARTITION: Profile = Profile {
    stage_us: &[KAFKA_SOURCE_US + MAP_US, MAP_US, KAFKA_SINK_US],
    exchanges: &[Exchange::Rebalance, Exchange::Rebalance],
    record_bytes: 65.0,
    keys: 0.0,
    state_bytes_per_key: 0.0,
    alloc_bytes: 250.0,
    window_s: None,
};

const WORDCOUNT: Profile = Profile {
    stage_us: &[KAFKA_SOURCE_US + PARSE_US, STATE_UPDATE_US + KAFKA_SINK_US],
    exchanges: &[Exchange::Hash],
    record_bytes: 48.0,
    keys: 400_000.0,
    state_bytes_per_key: 200.0,
    alloc_bytes: 300.0,
    window_s: None,
};

const FIXWINDOW: Profile = Profile {
    stage_us: &[KAFKA_SOURCE_US + PARSE_US, WINDOW_ADD_US],
    exchanges: &[Exchange::Hash],
    record_bytes: 48.0,
    keys: 20_000.0,
    state_bytes_per_key: 300.0,
    alloc_bytes: 300.0,
    window_s: Some(10.0),
};

fn profile(w: Workload) -> &'static Profile {
    match w {
        Workload::Identity => &IDENTITY,
        Workload::Repartition => &REPARTITION,
        Workload::Wordcount => &WORDCOUNT,
        Workload::Fixwindow => &FIXWINDOW,
    }
}

// ---------------------------------------------------------------------------------------------
// Reading the configuration
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Debug)]
enum Timeout {
    /// 0: flush after every record.
    Always,
    /// > 0: periodic flush, seconds.
    Every(f64),
    /// -1: only full buffers.
    Never,
}

struct Settings {
    parallelism: u32,
    slots: u32,
    /// TaskManagers and the CPU cores of each (a CPU quota on Kubernetes, maybe fractional).
    taskmanagers: u32,
    cores: f64,
    timeout: Timeout,
    segment_bytes: f64,
    checkpoint_s: Option<f64>,
    client_threads: u32,
    server_threads: u32,
    arenas: u32,
    nio: bool,
    tcp_window_bytes: Option<f64>,
    buffers_per_channel: u32,
    floating_per_gate: u32,
    framesize_bytes: f64,
    tm: TaskManagerMemory,
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

/// TaskManagers and cores per TaskManager: the fixed cluster's, or the pods a Kubernetes
/// configuration asks for, if the cluster can run them.
fn topology(conf: &BTreeMap<String, String>, cluster: &Cluster) -> Result<(u32, f64), String> {
    if cluster.mode == ClusterMode::Fixed {
        return Ok((cluster.taskmanagers, f64::from(cluster.cores_per_tm.max(1))));
    }
    let pods = |e: String| format!("TaskManager pods could not be created: {e}");
    let taskmanagers = resources::taskmanagers(conf).map_err(pods)?;
    let cores = resources::cpu_per_taskmanager(conf).map_err(pods)?;
    if taskmanagers > cluster.max_taskmanagers {
        return Err(format!(
            "NoResourceAvailableException: Could not acquire the minimum required resources: {taskmanagers} TaskManager pods requested ({}) but the cluster runs at most {}; the other pods stay Pending (exceeded quota)",
            resources::TASKMANAGERS_KEY,
            cluster.max_taskmanagers
        ));
    }
    if cores > f64::from(cluster.cores_per_tm) {
        return Err(format!(
            "NoResourceAvailableException: Could not acquire the minimum required resources: the TaskManager pods stay Pending (no node is available: Insufficient cpu; a pod requests {cores} cores, a node has {})",
            cluster.cores_per_tm
        ));
    }
    Ok((taskmanagers, cores))
}

fn read_settings(conf: &BTreeMap<String, String>, cluster: &Cluster) -> Result<Settings, String> {
    // Cluster start-up: JobManager and TaskManagers derive their memory.
    let jm = memory::jobmanager(conf).map_err(|e| start_failure("JobManager", e))?;
    let tm = memory::taskmanager(conf).map_err(|e| start_failure("TaskManager", e))?;
    let segment_bytes =
        memory::segment_size_bytes(conf).map_err(|e| start_failure("TaskManager", e))?;
    if jm.process_mb > cluster.master_memory_mb {
        return Err(format!(
            "JobManager could not start: its Total Process Memory ({}) does not fit the master node's memory ({})",
            memory::human(jm.process_mb * 1048576.0),
            memory::human(cluster.master_memory_mb * 1048576.0)
        ));
    }
    let node_free = cluster.node_memory_mb - cluster.node_reserved_mb;
    if tm.process_mb > node_free {
        return Err(format!(
            "TaskManager could not start: its Total Process Memory ({}) exceeds the memory available on the node ({})",
            memory::human(tm.process_mb * 1048576.0),
            memory::human(node_free * 1048576.0)
        ));
    }
    let slots = parse_int(conf, "taskmanager.numberOfTaskSlots", 1)?;
    if slots < 1 {
        return Err(format!(
            "TaskManager could not start: IllegalConfigurationException: Invalid configuration value for taskmanager.numberOfTaskSlots : {slots} - Number of task slots must be at least one."
        ));
    }
    let slots = slots.min(100_000) as u32;
    let (taskmanagers, cores) = topology(conf, cluster)?;
    let framesize_text = lookup(conf, "akka.framesize").unwrap_or("10485760b");
    let framesize_bytes = crate::units::parse_memory_bytes(framesize_text).map_err(|_| {
        format!(
            "JobManager could not start: cannot parse akka.framesize '{framesize_text}' as a size"
        )
    })?;
    if !(32_000.0..2_147_483_648.0).contains(&framesize_bytes) {
        return Err(format!(
            "JobManager could not start: IllegalArgumentException: requirement failed: Setting 'maximum-frame-size' must be at least 32000 bytes (akka.framesize: {framesize_text}, as a 32-bit frame size: {})",
            framesize_bytes as i64 as i32
        ));
    }
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
    if tm.metaspace_mb < TM_METASPACE_NEED_MB {
        return Err(format!(
            "Job failed: java.lang.OutOfMemoryError: Metaspace. The metaspace out-of-memory error has occurred (TaskManager metaspace {}, the job's classes need about {}). Increase 'taskmanager.memory.jvm-metaspace.size'.",
            memory::human(tm.metaspace_mb * 1048576.0),
            memory::human(TM_METASPACE_NEED_MB * 1048576.0)
        ));
    }
    if jm.metaspace_mb < JM_METASPACE_NEED_MB {
        return Err(format!(
            "JobManager failed: java.lang.OutOfMemoryError: Metaspace (JobManager metaspace {}). Increase 'jobmanager.memory.jvm-metaspace.size'.",
            memory::human(jm.metaspace_mb * 1048576.0)
        ));
    }
    // Job submission.
    let parallelism = parse_int(conf, "parallelism.default", 1)?;
    if parallelism < 1 {
        return Err(format!(
            "Job submission failed: IllegalArgumentException: The parallelism of an operator must be at least 1 (parallelism.default: {parallelism})."
        ));
    }
    // Reactive mode runs every vertex on every slot there is.
    let parallelism = match cluster.mode {
        ClusterMode::Fixed => parallelism.min(100_000) as u32,
        ClusterMode::Kubernetes => taskmanagers.saturating_mul(slots),
    };
    let timeout = buffer_timeout(conf)?;
    let checkpoint_s = parse_duration_s(conf, "execution.checkpointing.interval")?;
    if let Some(s) = checkpoint_s
        && s < 0.010 - 1e-12
    {
        return Err(format!(
            "Job submission failed: IllegalArgumentException: Checkpoint interval must be larger than or equal to 10 ms (execution.checkpointing.interval: {} ms)",
            s * 1000.0
        ));
    }
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
        client_threads,
        server_threads,
        arenas,
        nio,
        tcp_window_bytes,
        buffers_per_channel,
        floating_per_gate,
        framesize_bytes,
        tm,
    })
}

// ---------------------------------------------------------------------------------------------
// The model
// ---------------------------------------------------------------------------------------------

struct Model<'a> {
    s: &'a Settings,
    c: &'a Cluster,
    prof: &'static Profile,
    p: f64,
    /// Subtasks of each vertex on the busiest TaskManager.
    n: f64,
    tms_used: f64,
    /// Source subtasks that receive data, and the busiest one's share of the input.
    active_sources: f64,
    /// Busiest keyed subtask's share.
    key_share: f64,
    /// Per-stage share of the input handled by the busiest subtask.
    shares: Vec<f64>,
}

/// Everything the model computes at one throughput.
struct State {
    /// Per stage: CPU seconds per record in the task thread.
    stage_cost_s: Vec<f64>,
    /// Per stage: records/s at the busiest subtask.
    stage_rate: Vec<f64>,
    /// Per stage: fraction of time stalled by checkpoints or window firing.
    stage_stall: Vec<f64>,
    /// Per exchange: records per shipped slice, per-channel rate.
    fill: Vec<f64>,
    channel_rate: Vec<f64>,
    /// Busiest TaskManager: CPU demand (cores), busy threads, context-switch efficiency.
    cpu_demand: f64,
    efficiency: f64,
    busy_threads: f64,
    /// Netty utilisation (server, client) as a fraction of the useful threads.
    netty_util: f64,
    netty_slice_s: f64,
    /// Network link and TCP-window utilisation.
    link_util: f64,
    window_util: f64,
    /// Kafka client threads' utilisation.
    kafka_util: f64,
    /// GC: stop-the-world fraction, young pause (s) and frequency, old pause and frequency.
    gc_fraction: f64,
    young_pause_s: f64,
    young_freq: f64,
    old_pause_s: f64,
    old_freq: f64,
    /// Checkpoints: frequency and pause seen by a record (s).
    cp_freq: f64,
    cp_pause_s: f64,
    /// Window firing burst of the busiest subtask (s).
    burst_s: f64,
}

impl<'a> Model<'a> {
    fn new(s: &'a Settings, c: &'a Cluster, w: Workload) -> Self {
        let prof = profile(w);
        let p = f64::from(s.parallelism);
        let n = f64::from(s.parallelism.min(s.slots));
        let tms_used = (p / f64::from(s.slots)).ceil();
        let partitions = f64::from(c.kafka_partitions.max(1));
        let active_sources = p.min(partitions);
        let source_share = (partitions / active_sources).ceil() / partitions;
        let key_groups = MAX_PARALLELISM_KEY_GROUPS.max((1.5 * p).log2().ceil().exp2());
        let key_share = (key_groups / p).ceil() / key_groups;
        let mut shares = vec![source_share];
        for e in prof.exchanges {
            shares.push(match e {
                Exchange::Rebalance => 1.0 / p,
                Exchange::Hash => key_share,
            });
        }
        Model {
            s,
            c,
            prof,
            p,
            n,
            tms_used,
            active_sources,
            key_share,
            shares,
        }
    }

    fn stages(&self) -> usize {
        self.prof.stage_us.len()
    }

    /// Producers of exchange `e` (source subtasks without partitions produce nothing).
    fn producers(&self, e: usize) -> f64 {
        if e == 0 { self.active_sources } else { self.p }
    }

    /// Fraction of a subtask's channels that lead to other TaskManagers.
    fn remote_fraction(&self) -> f64 {
        ((self.p - self.n) / self.p).max(0.0)
    }

    fn keyed_state_mb_per_subtask(&self, rate: f64) -> f64 {
        let keys = match self.prof.window_s {
            Some(w) if self.prof.keys > 0.0 => {
                self.prof.keys * (1.0 - (-(rate * w) / self.prof.keys).exp())
            }
            _ => self.prof.keys,
        };
        keys * self.key_share * self.prof.state_bytes_per_key / 1048576.0
    }

    fn keys_per_subtask(&self, rate: f64) -> f64 {
        self.keyed_state_mb_per_subtask(rate) * 1048576.0 / self.prof.state_bytes_per_key.max(1.0)
    }

    /// Live heap data of the busiest TaskManager, MiB.
    fn live_heap_mb(&self, rate: f64) -> f64 {
        let stages = self.stages() as f64;
        let sources_here = self.n.min(self.active_sources);
        TM_FRAMEWORK_LIVE_MB
            + self.n * stages * TASK_LIVE_MB
            + sources_here * KAFKA_CONSUMER_LIVE_MB
            + self.n * KAFKA_PRODUCER_LIVE_MB
            + self.n * self.keyed_state_mb_per_subtask(rate)
    }

    /// Checkpoint timing at a throughput: (period, duration, synchronous part, asynchronous
    /// CPU) in seconds, `None` when checkpointing is off.
    fn checkpoint_timing(&self, rate: f64) -> Option<(f64, f64, f64, f64)> {
        let interval = self.s.checkpoint_s?;
        let state_bytes = self.keyed_state_mb_per_subtask(rate) * 1048576.0;
        let sync_s = self.keys_per_subtask(rate) * 15e-9;
        let async_cpu_s = state_bytes * 6e-9;
        let io_s = self.n * state_bytes / (self.c.checkpoint_mb_per_s.max(1.0) * 1e6);
        let duration = 0.020 + sync_s + async_cpu_s.max(io_s);
        Some((interval.max(duration), duration, sync_s, async_cpu_s))
    }

    /// How long a record can sit in an output buffer before it is shipped, s: the buffer
    /// timeout, or a checkpoint barrier, which finishes every partially filled buffer.
    fn flush_period(&self, rate: f64) -> Option<f64> {
        let barrier = self.checkpoint_timing(rate).map(|t| t.0);
        match (self.s.timeout, barrier) {
            (Timeout::Always, _) => Some(0.0),
            (Timeout::Every(t), Some(b)) => Some(t.min(b)),
            (Timeout::Every(t), None) => Some(t),
            (Timeout::Never, b) => b,
        }
    }

    /// Records per shipped buffer slice on a channel.
    fn fill(&self, channel_rate: f64, flush: Option<f64>) -> f64 {
        let full = (self.s.segment_bytes / self.prof.record_bytes).max(1.0);
        let records = match flush {
            Some(0.0) => channel_rate * FLUSH_ALWAYS_PICKUP_S,
            Some(t) => channel_rate * t,
            None => full,
        };
        records.clamp(1.0, full)
    }

    fn state_at(&self, rate: f64) -> State {
        let s = self.s;
        let prof = self.prof;
        let stages = self.stages();
        let rem = self.remote_fraction();
        let heap_mb = s.tm.jvm_heap_mb().max(1.0);
        let live_mb = self.live_heap_mb(rate);
        let flush = self.flush_period(rate);

        // --- exchanges: slices and per-record buffer costs
        let mut fill = Vec::with_capacity(prof.exchanges.len());
        let mut channel_rate = Vec::with_capacity(prof.exchanges.len());
        let mut send_us = vec![0.0; stages];
        let mut recv_us = vec![0.0; stages];
        let mut flusher_slices_tm = 0.0;
        let mut remote_slices_out_tm = 0.0;
        let mut remote_slices_in_tm = 0.0;
        let mut remote_bytes_out_tm = 0.0;
        for e in 0..prof.exchanges.len() {
            let producers = self.producers(e);
            let r_ch = rate / (producers * self.p);
            let f = self.fill(r_ch, flush);
            fill.push(f);
            channel_rate.push(r_ch);
            let send_slice = match s.timeout {
                Timeout::Always => SLICE_SEND_FLUSH_ALWAYS_US,
                _ => SLICE_SEND_US,
            };
            send_us[e] += SER_US + send_slice / f;
            recv_us[e + 1] +=
                DESER_US + (rem * SLICE_RECV_REMOTE_US + (1.0 - rem) * SLICE_RECV_LOCAL_US) / f;
            // slices handled on the busiest TaskManager
            let producers_here = self.n.min(producers);
            let out_records = producers_here * rate / producers;
            let in_records = self.n * rate / self.p;
            if matches!(s.timeout, Timeout::Every(_)) {
                flusher_slices_tm += out_records / f;
            }
            remote_slices_out_tm += out_records * rem / f;
            remote_slices_in_tm += in_records * rem / f;
            remote_bytes_out_tm +=
                out_records * rem * prof.record_bytes + out_records * rem / f * SLICE_HEADER_BYTES;
        }

        // --- stage costs (s per record in the task thread)
        let state_mb = self.keyed_state_mb_per_subtask(rate);
        let state_access_us = if prof.keys > 0.0 {
            0.3 * (1.0 + state_mb / 4.0).ln()
        } else {
            0.0
        };
        let mut cp_freq = 0.0;
        let mut cp_pause_s = 0.0;
        let mut stage_stall = vec![0.0; stages];
        let mut async_cores_tm = 0.0;
        let mut cow_factor = 1.0;
        if let Some((period, _duration, sync_s, async_cpu_s)) = self.checkpoint_timing(rate) {
            cp_freq = 1.0 / period;
            let mut stalls = vec![0.0002; stages];
            stalls[0] += 0.0001; // source: offsets
            if prof.keys > 0.0 {
                stalls[stages - 1] += sync_s;
            }
            if prof.window_s.is_none() {
                stalls[stages - 1] += 0.003; // Kafka producer flush (at-least-once sink)
            }
            for (e, stall) in stalls.iter_mut().enumerate().skip(1) {
                let channels = self.producers(e - 1);
                if channels > 1.0 {
                    *stall += 0.0003 + 0.0001 * channels.ln();
                }
            }
            let max = stalls.iter().cloned().fold(0.0, f64::max);
            let sum: f64 = stalls.iter().sum();
            cp_pause_s = max + 0.3 * (sum - max);
            for (i, st) in stalls.iter().enumerate() {
                stage_stall[i] = (cp_freq * st).min(0.9);
            }
            if prof.keys > 0.0 {
                async_cores_tm = self.n * async_cpu_s * cp_freq;
                cow_factor = 1.0 + 0.3 * (async_cpu_s / period).min(1.0);
            }
        }

        let mut stage_cost_s = Vec::with_capacity(stages);
        let mut stage_rate = Vec::with_capacity(stages);
        for i in 0..stages {
            let mut us = prof.stage_us[i] + send_us[i] + recv_us[i];
            if i == stages - 1 && prof.keys > 0.0 {
                let update = if prof.window_s.is_some() {
                    WINDOW_ADD_US
                } else {
                    STATE_UPDATE_US
                };
                us += (update + state_access_us) * (cow_factor - 1.0) + state_access_us;
            }
            stage_cost_s.push(us * 1e-6);
            stage_rate.push(rate * self.shares[i]);
        }

        // --- window firing
        let mut burst_s = 0.0;
        if let Some(w) = prof.window_s {
            let keys_sub = self.keys_per_subtask(rate);
            burst_s = keys_sub * (WINDOW_FIRE_US + KAFKA_SINK_US) * 1e-6;
            let last = stages - 1;
            stage_stall[last] = (stage_stall[last] + burst_s / w).min(0.95);
        }

        // --- Kafka client threads
        let results_rate = match prof.window_s {
            Some(w) => self.keys_per_subtask(rate) / w,
            None => stage_rate[stages - 1],
        };
        let kafka_util =
            (stage_rate[0] * KAFKA_FETCH_US * 1e-6).max(results_rate * KAFKA_SEND_US * 1e-6);

        // --- Netty
        let conns = ((self.tms_used - 1.0) * prof.exchanges.len() as f64).max(0.0);
        let server_useful = f64::from(s.server_threads).min(conns);
        let client_useful = f64::from(s.client_threads).min(conns);
        let active_netty = server_useful + client_useful;
        let contention = 1.0 + 0.15 * (active_netty / f64::from(s.arenas.max(1)) - 1.0).max(0.0);
        let nio_extra = if s.nio { NETTY_NIO_EXTRA_US } else { 0.0 };
        let bytes_per_slice = |f: f64| f * prof.record_bytes + SLICE_HEADER_BYTES;
        let avg_slice_bytes = if fill.is_empty() {
            0.0
        } else {
            fill.iter().map(|&f| bytes_per_slice(f)).sum::<f64>() / fill.len() as f64
        };
        let server_slice_us =
            (NETTY_SERVER_EPOLL_US + nio_extra + NETTY_PER_BYTE_US * avg_slice_bytes) * contention;
        let client_slice_us =
            (NETTY_CLIENT_EPOLL_US + nio_extra + NETTY_PER_BYTE_US * avg_slice_bytes) * contention;
        let server_work = remote_slices_out_tm * server_slice_us * 1e-6;
        let client_work = remote_slices_in_tm * client_slice_us * 1e-6;
        let netty_util = if conns > 0.0 {
            (server_work / server_useful.max(1e-9)).max(client_work / client_useful.max(1e-9))
        } else {
            0.0
        };
        let netty_slice_s = (server_slice_us + client_slice_us) * 1e-6;

        // --- network link and TCP window
        let link_util = remote_bytes_out_tm / (self.c.network_mb_per_s.max(1e-9) * 1e6);
        let window_util = match s.tcp_window_bytes {
            Some(win) if conns > 0.0 => {
                let per_conn = remote_bytes_out_tm / conns;
                per_conn / (win / (self.c.rtt_ms.max(1e-3) / 1000.0))
            }
            _ => 0.0,
        };

        // --- GC on the busiest TaskManager
        let stages_f = stages as f64;
        // records' garbage, plus the snapshot serialisation garbage of heap-state checkpoints
        let alloc_mb_s = self.n * rate / self.p * prof.alloc_bytes * stages_f / 1048576.0
            + self.n * state_mb * cp_freq;
        let young_mb = (heap_mb - live_mb - 0.1 * heap_mb).clamp(0.05 * heap_mb, 0.6 * heap_mb);
        let young_freq = alloc_mb_s / young_mb;
        let keys_tm = self.n * self.keys_per_subtask(rate);
        let updates_per_gc = if young_freq > 0.0 {
            self.n * stage_rate[stages - 1] / young_freq
        } else {
            0.0
        };
        let young_pause_s = 0.001 + 0.0005 * heap_mb / 1024.0 + updates_per_gc.min(keys_tm) * 40e-9;
        let occupancy = (live_mb / heap_mb).min(0.999);
        let pressure = 0.01 * (occupancy / (1.0 - occupancy)).powi(2);
        let old_fraction = pressure / (1.0 + pressure);
        let old_pause_s = 2.0 * young_pause_s + 0.005;
        let young_fraction = (young_freq * young_pause_s).min(1.0);
        let gc_fraction = 1.0 - (1.0 - young_fraction) * (1.0 - old_fraction);
        let old_freq = old_fraction / old_pause_s;

        // --- CPU of the busiest TaskManager
        let mut task_cores = 0.0;
        let mut busy_threads = 0.0;
        for (i, cost) in stage_cost_s.iter().enumerate() {
            let subtasks = if i == 0 {
                self.n.min(self.active_sources)
            } else {
                self.n
            };
            let avg_rate = if i == 0 {
                rate / self.active_sources
            } else {
                rate / self.p
            };
            let mut u = avg_rate * cost;
            if i == stages - 1 && prof.window_s.is_some() {
                u += burst_s / prof.window_s.unwrap_or(1.0);
            }
            task_cores += subtasks * u;
            busy_threads += subtasks;
        }
        let kafka_cores =
            self.n.min(self.active_sources) * rate / self.active_sources * KAFKA_FETCH_US * 1e-6
                + self.n * results_rate * KAFKA_SEND_US * 1e-6;
        busy_threads += self.n.min(self.active_sources) + self.n;
        let flusher_cores = flusher_slices_tm * SLICE_FLUSHER_US * 1e-6;
        if flusher_cores > 0.0 {
            busy_threads += self.n;
        }
        busy_threads += active_netty;
        let cpu_demand =
            task_cores + kafka_cores + flusher_cores + server_work + client_work + async_cores_tm;
        let cores = self.s.cores;
        let efficiency = 1.0 / (1.0 + 0.04 * (busy_threads / cores - 1.0).max(0.0));

        State {
            stage_cost_s,
            stage_rate,
            stage_stall,
            fill,
            channel_rate,
            cpu_demand,
            efficiency,
            busy_threads,
            netty_util,
            netty_slice_s,
            link_util,
            window_util,
            kafka_util,
            gc_fraction,
            young_pause_s,
            young_freq,
            old_pause_s,
            old_freq,
            cp_freq,
            cp_pause_s,
            burst_s,
        }
    }

    /// Utilisation of each task thread, and of the TaskManager's CPU.
    fn utilisations(&self, st: &State) -> (Vec<f64>, f64) {
        let avail = 1.0 - st.gc_fraction;
        // A thread runs on one core at most, and under a CPU quota below one core on less.
        let thread_share = self.s.cores.min(1.0);
        let tasks = (0..self.stages())
            .map(|i| {
                let u = st.stage_rate[i] * st.stage_cost_s[i];
                u / (avail * (1.0 - st.stage_stall[i]) * thread_share).max(1e-9)
            })
            .collect();
        let cores = self.s.cores;
        let cpu = st.cpu_demand / (cores * st.efficiency * avail).max(1e-9);
        (tasks, cpu)
    }

    fn feasible(&self, rate: f64) -> bool {
        let st = self.state_at(rate);
        let (tasks, cpu) = self.utilisations(&st);
        tasks.iter().all(|&u| u <= 1.0)
            && cpu <= 1.0
            && st.netty_util <= 1.0
            && st.link_util <= 1.0
            && st.window_util <= 1.0
            && st.kafka_util <= 1.0
            && st.gc_fraction < 0.95
    }

    /// Highest sustainable input rate, records/s.
    fn capacity(&self) -> f64 {
        let (mut lo, mut hi) = (1.0_f64, 1e8_f64);
        if !self.feasible(lo) {
            return lo;
        }
        if self.feasible(hi) {
            return hi;
        }
        for _ in 0..60 {
            let mid = (lo * hi).sqrt();
            if self.feasible(mid) {
                lo = mid;
            } else {
                hi = mid;
            }
            if hi / lo < 1.0 + 1e-7 {
                break;
            }
        }
        lo
    }
}

// ---------------------------------------------------------------------------------------------
// Latency composition
// ---------------------------------------------------------------------------------------------

/// One independent part of a record's latency, ms.
#[derive(Clone, Copy, Default)]
struct Part {
    mean: f64,
    p50: f64,
    p99: f64,
}

impl Part {
    fn fixed(ms: f64) -> Part {
        Part {
            mean: ms,
            p50: ms,
            p99: ms,
        }
    }

    fn uniform(max_ms: f64) -> Part {
        Part {
            mean: 0.5 * max_ms,
            p50: 0.5 * max_ms,
            p99: 0.99 * max_ms,
        }
    }

    /// Waiting time of a G/G/1-like queue with mean `w` and utilisation `rho`:
    /// P(W > t) = ρ·exp(−ρ t / w).
    fn queue(w_ms: f64, rho: f64) -> Part {
        if w_ms <= 0.0 || rho <= 0.0 {
            return Part::default();
        }
        let q = |p: f64| {
            if rho > p {
                w_ms * (rho / p).ln() / rho
            } else {
                0.0
            }
        };
        Part {
            mean: w_ms,
            p50: q(0.5),
            p99: q(0.01),
        }
    }

    /// Pauses of `pause_ms` at `freq` per second; a record is delayed if it arrives during a
    /// pause or while the backlog drains (stretched by 1/(1−ρ)), by up to the pause.
    fn pauses(pause_ms: f64, freq: f64, rho: f64) -> Part {
        if pause_ms <= 0.0 || freq <= 0.0 {
            return Part::default();
        }
        let affected = (freq * pause_ms / 1000.0 / (1.0 - rho.min(0.99))).min(1.0);
        let q = |p: f64| {
            if affected > p {
                pause_ms * (1.0 - p / affected)
            } else {
                0.0
            }
        };
        Part {
            mean: affected * pause_ms / 2.0,
            p50: q(0.5),
            p99: q(0.01),
        }
    }

    fn lognormal(p50: f64, p99: f64) -> Part {
        if p50 <= 0.0 {
            return Part::default();
        }
        let sigma = (p99.max(p50) / p50).ln() / 2.326;
        Part {
            mean: p50 * (0.5 * sigma * sigma).exp(),
            p50,
            p99: p99.max(p50),
        }
    }
}

fn combine(parts: &[Part]) -> (f64, f64) {
    let mean: f64 = parts.iter().map(|p| p.mean).sum();
    let up = parts
        .iter()
        .map(|p| (p.p99 - p.mean).max(0.0).powi(2))
        .sum::<f64>()
        .sqrt();
    let down = parts
        .iter()
        .map(|p| (p.mean - p.p50).max(0.0).powi(2))
        .sum::<f64>()
        .sqrt();
    let max_p50 = parts.iter().map(|p| p.p50).fold(0.0, f64::max);
    let p99 = mean + up;
    let p50 = (mean - down).max(max_p50).min(p99);
    (p50, p99)
}

// ---------------------------------------------------------------------------------------------
// Deployment checks
// ---------------------------------------------------------------------------------------------

fn deployment_failure(m: &Model<'_>) -> Option<String> {
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
    let available = (s.tm.network_mb * 1048576.0 / s.segment_bytes).floor();
    if required > available {
        return Some(format!(
            "Job failed: java.io.IOException: Insufficient number of network buffers: required {}, but only {} available. The total number of network buffers is currently set to {} of {} bytes each. You can increase this number by setting the configuration keys 'taskmanager.memory.network.fraction', 'taskmanager.memory.network.min', and 'taskmanager.memory.network.max'.",
            required as u64, available as u64, available as u64, s.segment_bytes as u64
        ));
    }
    None
}

fn heap_failure(m: &Model<'_>, rate: f64) -> Option<String> {
    let live = m.live_heap_mb(rate);
    let heap = m.s.tm.jvm_heap_mb();
    if live > 0.95 * heap {
        return Some(format!(
            "Job failed: java.lang.OutOfMemoryError: Java heap space (TaskManager JVM heap {:.0} MiB: framework {:.0} + task {:.0}; live data {:.0} MiB for {} slots in use: Kafka clients, task working sets and {:.0} MiB of keyed state)",
            heap,
            m.s.tm.framework_heap_mb,
            m.s.tm.task_heap_mb,
            live,
            m.n,
            m.n * m.keyed_state_mb_per_subtask(rate)
        ));
    }
    None
}

// ---------------------------------------------------------------------------------------------
// Entry points
// ---------------------------------------------------------------------------------------------

/// The input rate (records/s) the configuration sustains for a workload on a cluster, or the
/// reason it fails (independent of the rate except for window state).
pub fn capacity(
    conf: &BTreeMap<String, String>,
    cluster: &Cluster,
    workload: Workload,
) -> Result<f64, String> {
    let s = read_settings(conf, cluster)?;
    let m = Model::new(&s, cluster, workload);
    if let Some(reason) = deployment_failure(&m) {
        return Err(reason);
    }
    Ok(m.capacity())
}

/// Runs one simulated trial.
pub fn simulate(conf: &BTreeMap<String, String>, cluster: &Cluster, job: &SimJob) -> SimOutcome {
    match run(conf, cluster, job) {
        Ok(metrics) => SimOutcome::Pass(with_noise(metrics, conf, job)),
        Err(reason) => SimOutcome::Fail { reason },
    }
}

fn run(
    conf: &BTreeMap<String, String>,
    cluster: &Cluster,
    job: &SimJob,
) -> Result<SimMetrics, String> {
    if !(job.rate.is_finite() && job.rate > 0.0) {
        return Err(format!("invalid input rate {}", job.rate));
    }
    let duration = if job.duration_s.is_finite() && job.duration_s > 0.0 {
        job.duration_s
    } else {
        60.0
    };
    let s = read_settings(conf, cluster)?;
    let m = Model::new(&s, cluster, job.workload);
    if let Some(reason) = deployment_failure(&m) {
        return Err(reason);
    }
    if let Some(reason) = heap_failure(&m, job.rate) {
        return Err(reason);
    }
    let cap = m.capacity();
    let saturated = job.rate > cap;
    let throughput = job.rate.min(cap);
    let st = m.state_at(throughput);
    let (task_util, cpu_util) = m.utilisations(&st);
    let cores = s.cores;

    let mut parts = Vec::with_capacity(16);
    parts.push(Part::lognormal(
        cluster.external_p50_ms,
        cluster.external_p99_ms,
    ));

    // Exchanges: buffer wait, hand-over, network.
    let rem = m.remote_fraction();
    for (&f, &r_ch) in st.fill.iter().zip(&st.channel_rate) {
        let fill_time_s = (s.segment_bytes / m.prof.record_bytes).max(1.0) / r_ch.max(1e-9);
        let wait_s = match m.flush_period(throughput) {
            Some(0.0) => FLUSH_ALWAYS_PICKUP_S,
            Some(t) => t.min(fill_time_s),
            None => fill_time_s,
        };
        parts.push(Part::uniform(wait_s * 1000.0));
        parts.push(Part {
            mean: 0.05,
            p50: 0.04,
            p99: 0.25,
        });
        if rem > 0.0 {
            let slice_bytes = f * m.prof.record_bytes + SLICE_HEADER_BYTES;
            let window_trips = match s.tcp_window_bytes {
                Some(w) => (slice_bytes / w).ceil() - 1.0,
                None => 0.0,
            };
            let remote_ms = 0.5 * cluster.rtt_ms + 0.03 + window_trips.max(0.0) * cluster.rtt_ms;
            parts.push(Part {
                mean: rem * remote_ms,
                p50: if rem > 0.5 { remote_ms } else { 0.0 },
                p99: if rem > 0.01 { remote_ms } else { 0.0 },
            });
            // Netty threads as a queue
            let rho = st.netty_util.min(0.99);
            let w = rho / (1.0 - rho) * st.netty_slice_s * 1000.0;
            parts.push(Part::queue(w * rem, rho));
        }
    }

    // Tasks: service time and queueing.
    let mut max_rho: f64 = 0.0;
    let mut max_downstream_rho: f64 = 0.0;
    for (i, &u) in task_util.iter().enumerate() {
        let service_s = st.stage_cost_s[i] / (1.0 - st.gc_fraction).max(0.05);
        parts.push(Part::fixed(service_s * 1000.0));
        let rho = if saturated { u.min(1.0) } else { u.min(0.999) };
        max_rho = max_rho.max(rho);
        if i > 0 {
            max_downstream_rho = max_downstream_rho.max(rho);
        }
        let batch = if i == 0 {
            (st.stage_rate[0] * 0.002).clamp(1.0, 500.0)
        } else {
            st.fill[i - 1]
        };
        let mu = 1.0 / service_s.max(1e-12);
        let kingman = if rho < 1.0 {
            rho / (1.0 - rho) * (batch + 1.0) / 2.0 / mu
        } else {
            f64::INFINITY
        };
        let cap_s = ((batch + 1.0) / 2.0 * duration / mu).sqrt();
        parts.push(Part::queue(kingman.min(cap_s) * 1000.0, rho.min(0.999)));
    }
    // Waiting for a core.
    let rho_cpu = cpu_util.min(0.999);
    let cpu_wait_ms = rho_cpu / (1.0 - rho_cpu) * 0.02 * (st.busy_threads / cores).max(1.0);
    parts.push(Part::queue(cpu_wait_ms, rho_cpu));

    // Pauses.
    let rho_pause = max_rho.min(0.99);
    parts.push(Part::pauses(
        st.young_pause_s * 1000.0,
        st.young_freq,
        rho_pause,
    ));
    parts.push(Part::pauses(
        st.old_pause_s * 1000.0,
        st.old_freq,
        rho_pause,
    ));
    parts.push(Part::pauses(st.cp_pause_s * 1000.0, st.cp_freq, rho_pause));

    // Window firing.
    if st.burst_s > 0.0 {
        parts.push(Part::uniform(
            st.burst_s / (1.0 - st.gc_fraction).max(0.05) * 1000.0,
        ));
    }

    // Saturation: backlog over the measured window plus full in-flight buffers.
    if saturated {
        let growth = job.rate / cap - 1.0;
        parts.push(Part {
            mean: growth * duration * 1000.0 / 2.0,
            p50: growth * duration * 1000.0 / 2.0,
            p99: growth * duration * 0.99 * 1000.0,
        });
        let full = (s.segment_bytes / m.prof.record_bytes).max(1.0);
        let available = s.tm.network_mb * 1048576.0 / s.segment_bytes;
        let mut inflight_ms = 0.0;
        for e in 0..m.prof.exchanges.len() {
            let channels = m.p;
            let buffers = (2.0 * f64::from(s.buffers_per_channel) * channels
                + f64::from(s.floating_per_gate))
            .min(available / (m.n * m.prof.exchanges.len() as f64).max(1.0));
            let consumer_rate = st.stage_rate[e + 1].max(1e-9);
            inflight_ms += buffers * full / consumer_rate * 1000.0;
        }
        parts.push(Part::fixed(inflight_ms));
    }

    let (p50, p99) = combine(&parts);
    let tm_count = f64::from(s.taskmanagers);
    let cpu_cores = st.cpu_demand * (m.p / m.n).min(tm_count.max(1.0));
    let rec = recovery::recovery(conf, &recovery_inputs(&m, cap, throughput, job))?;
    // What `resources::requested` / `on_fixed_cluster` give, from the sizes already derived.
    let resources = Resources::new(s.taskmanagers, s.cores, s.tm.process_mb);
    Ok(SimMetrics {
        throughput,
        latency_p99_ms: p99,
        latency_p50_ms: p50,
        backpressured: saturated || max_downstream_rho > 0.9,
        cpu_cores,
        memory_mb: tm_count * s.tm.process_mb,
        recovery_time_s: rec.seconds,
        recovered: rec.recovered,
        resources,
    })
}

/// What the recovery from losing the busiest TaskManager depends on (`crate::recovery`).
fn recovery_inputs(m: &Model<'_>, cap: f64, throughput: f64, job: &SimJob) -> recovery::Inputs {
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
    let mut h = 0xcbf2_9ce4_8422_2325_u64;
    fnv1a(&mut h, b"failure");
    fnv1a(&mut h, job.workload.name().as_bytes());
    fnv1a(&mut h, &job.rate.to_bits().to_le_bytes());
    fnv1a(&mut h, &job.duration_s.to_bits().to_le_bytes());
    fnv1a(&mut h, &job.repeat.to_le_bytes());
    fnv1a(&mut h, &job.seed.to_le_bytes());
    let mut rng = StdRng::seed_from_u64(h);
    (rng.random::<f64>(), rng.random::<f64>())
}

// ---------------------------------------------------------------------------------------------
// Noise
// ---------------------------------------------------------------------------------------------

fn fnv1a(hash: &mut u64, bytes: &[u8]) {
    for b in bytes {
        *hash ^= u64::from(*b);
        *hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
}

fn noise_seed(conf: &BTreeMap<String, String>, job: &SimJob) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325_u64;
    for (k, v) in conf {
        if IGNORED_KEYS.contains(&k.as_str()) {
            continue;
        }
        fnv1a(&mut h, k.as_bytes());
        fnv1a(&mut h, b"=");
        fnv1a(&mut h, v.trim().as_bytes());
        fnv1a(&mut h, b"\n");
    }
    fnv1a(&mut h, job.workload.name().as_bytes());
    fnv1a(&mut h, &job.rate.to_bits().to_le_bytes());
    fnv1a(&mut h, &job.duration_s.to_bits().to_le_bytes());
    fnv1a(&mut h, &job.repeat.to_le_bytes());
    fnv1a(&mut h, &job.seed.to_le_bytes());
    h
}

fn normal(rng: &mut StdRng) -> f64 {
    let u1: f64 = rng.random::<f64>().max(1e-300);
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

fn with_noise(mut m: SimMetrics, conf: &BTreeMap<String, String>, job: &SimJob) -> SimMetrics {
    if job.noise.is_nan() || job.noise <= 0.0 {
        return m;
    }
    let mut rng = StdRng::seed_from_u64(noise_seed(conf, job));
    let sigma = job.noise;
    m.throughput *= (0.5 * sigma * normal(&mut rng)).exp();
    m.latency_p99_ms *= (sigma * normal(&mut rng)).exp();
    m.latency_p50_ms *= (sigma * normal(&mut rng)).exp();
    if rng.random::<f64>() < sigma / 3.0 {
        m.latency_p99_ms *= rng.random_range(1.5..5.5);
    }
    m.latency_p50_ms = m.latency_p50_ms.min(m.latency_p99_ms);
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flink_default() -> BTreeMap<String, String> {
        conf(&[
            ("jobmanager.memory.process.size", "1600m"),
            ("taskmanager.memory.process.size", "1728m"),
            ("taskmanager.numberOfTaskSlots", "1"),
            ("parallelism.default", "1"),
        ])
    }

    fn conf(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn with(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        let mut c = flink_default();
        for (k, v) in pairs {
            c.insert(k.to_string(), v.to_string());
        }
        c
    }

    fn without(mut c: BTreeMap<String, String>, key: &str) -> BTreeMap<String, String> {
        c.remove(key);
        c
    }

    fn job(workload: Workload, rate: f64) -> SimJob {
        SimJob {
            workload,
            rate,
            noise: 0.0,
            ..SimJob::default()
        }
    }

    fn pass(c: &BTreeMap<String, String>, cluster: &Cluster, j: &SimJob) -> SimMetrics {
        match simulate(c, cluster, j) {
            SimOutcome::Pass(m) => m,
            SimOutcome::Fail { reason } => panic!("unexpected failure: {reason}"),
        }
    }

    fn fail(c: &BTreeMap<String, String>, cluster: &Cluster, j: &SimJob) -> String {
        match simulate(c, cluster, j) {
            SimOutcome::Pass(m) => panic!("expected a failure, got {m:?}"),
            SimOutcome::Fail { reason } => reason,
        }
    }

    fn ratio(m: &SimMetrics) -> f64 {
        m.throughput / m.latency_p99_ms
    }

    fn hand_tuned() -> BTreeMap<String, String> {
        with(&[
            ("parallelism.default", "8"),
            ("taskmanager.numberOfTaskSlots", "4"),
            ("execution.buffer-timeout", "5"),
            ("taskmanager.memory.process.size", "8192m"),
            ("execution.checkpointing.interval", "600000"),
            ("taskmanager.network.netty.transport", "epoll"),
        ])
    }

    #[test]
    fn default_wordcount_keeps_up_at_16k() {
        let m = pass(
            &flink_default(),
            &Cluster::default(),
            &job(Workload::Wordcount, 16_000.0),
        );
        assert_eq!(m.throughput, 16_000.0);
        assert!((20.0..60.0).contains(&m.latency_p99_ms), "{m:?}");
        assert!(m.latency_p50_ms < m.latency_p99_ms);
        assert!(!m.backpressured);
        assert!(m.cpu_cores > 0.05 && m.cpu_cores < 1.0, "{m:?}");
        assert_eq!(m.memory_mb, 4.0 * 1728.0);
    }

    #[test]
    fn default_wordcount_saturates_at_160k() {
        let m = pass(
            &flink_default(),
            &Cluster::default(),
            &job(Workload::Wordcount, 160_000.0),
        );
        assert!(
            m.throughput < 160_000.0 && m.throughput > 100_000.0,
            "{m:?}"
        );
        assert!(m.latency_p99_ms > 1000.0, "{m:?}");
        assert!(m.backpressured);
    }

    #[test]
    fn hand_tuned_config_beats_the_default() {
        let cl = Cluster::default();
        let d = pass(&flink_default(), &cl, &job(Workload::Wordcount, 16_000.0));
        let t = pass(&hand_tuned(), &cl, &job(Workload::Wordcount, 16_000.0));
        assert!(ratio(&t) >= 2.5 * ratio(&d), "tuned {t:?} default {d:?}");
        let t = pass(&hand_tuned(), &cl, &job(Workload::Wordcount, 160_000.0));
        assert_eq!(t.throughput, 160_000.0);
        assert!(!t.backpressured);
        assert!(t.latency_p99_ms < 50.0, "{t:?}");
    }

    #[test]
    fn p99_rises_steeply_towards_capacity() {
        let cl = Cluster::default();
        for w in Workload::ALL {
            let cap = capacity(&flink_default(), &cl, w).unwrap();
            let mut last = 0.0;
            let mut first = 0.0;
            for f in [0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 0.999] {
                let m = pass(&flink_default(), &cl, &job(w, cap * f));
                assert!(m.latency_p99_ms > last, "{w} at {f}: {m:?}");
                if f == 0.7 {
                    first = m.latency_p99_ms;
                }
                last = m.latency_p99_ms;
            }
            assert!(last > 5.0 * first, "{w}: {first} → {last}");
            let over = pass(&flink_default(), &cl, &job(w, cap * 1.2));
            assert!(over.latency_p99_ms > last && over.throughput < cap * 1.2);
        }
    }

    #[test]
    fn buffer_timeout_minus_one_is_slow_at_low_rates() {
        let cl = Cluster::default();
        let p4 = [
            ("parallelism.default", "4"),
            ("taskmanager.numberOfTaskSlots", "4"),
        ];
        let hundred = pass(&with(&p4), &cl, &job(Workload::Wordcount, 16_000.0));
        let mut c = with(&p4);
        c.insert("execution.buffer-timeout".into(), "-1".into());
        let never = pass(&c, &cl, &job(Workload::Wordcount, 16_000.0));
        assert!(
            never.latency_p99_ms > 3.0 * hundred.latency_p99_ms,
            "{never:?} vs {hundred:?}"
        );
        // at parallelism 1, a low rate makes the fill time long too
        let d = pass(&flink_default(), &cl, &job(Workload::Identity, 2_000.0));
        let n = pass(
            &with(&[("execution.buffer-timeout", "-1")]),
            &cl,
            &job(Workload::Identity, 2_000.0),
        );
        assert!(n.latency_p99_ms > 2.0 * d.latency_p99_ms);
    }

    #[test]
    fn buffer_timeout_zero_trades_capacity_for_latency() {
        let cl = Cluster::default();
        let zero = with(&[("execution.buffer-timeout", "0")]);
        for w in Workload::ALL {
            let d = pass(&flink_default(), &cl, &job(w, 16_000.0));
            let z = pass(&zero, &cl, &job(w, 16_000.0));
            assert!(z.latency_p99_ms < d.latency_p99_ms, "{w}");
            let cd = capacity(&flink_default(), &cl, w).unwrap();
            let cz = capacity(&zero, &cl, w).unwrap();
            assert!(cz < 0.9 * cd, "{w}: {cz} vs {cd}");
        }
    }

    #[test]
    fn frequent_checkpoints_cost_latency_and_capacity() {
        let cl = Cluster::default();
        let rare = with(&[("execution.checkpointing.interval", "600000")]);
        let often = with(&[("execution.checkpointing.interval", "10")]);
        let r = pass(&rare, &cl, &job(Workload::Wordcount, 16_000.0));
        let o = pass(&often, &cl, &job(Workload::Wordcount, 16_000.0));
        assert!(o.latency_p99_ms > r.latency_p99_ms, "{o:?} vs {r:?}");
        assert!(o.cpu_cores > r.cpu_cores);
        for w in Workload::ALL {
            let cr = capacity(&rare, &cl, w).unwrap();
            let co = capacity(&often, &cl, w).unwrap();
            assert!(co < cr, "{w}: {co} vs {cr}");
        }
        let cr = capacity(&rare, &cl, Workload::Wordcount).unwrap();
        let co = capacity(&often, &cl, Workload::Wordcount).unwrap();
        assert!(co < 0.95 * cr, "{co} vs {cr}");
        // 10-minute checkpoints are as good as none
        let none = pass(&flink_default(), &cl, &job(Workload::Wordcount, 16_000.0));
        assert!((r.latency_p99_ms - none.latency_p99_ms).abs() < 0.05);
        // near capacity, frequent checkpoints hurt a lot
        let o = pass(&often, &cl, &job(Workload::Wordcount, 120_000.0));
        let r = pass(&rare, &cl, &job(Workload::Wordcount, 120_000.0));
        assert!(o.latency_p99_ms > 2.0 * r.latency_p99_ms, "{o:?} vs {r:?}");
    }

    #[test]
    fn one_machine_calibration_matches_real_flink() {
        // real-flink.md: identity job, 20 000 rec/s, one 2-core machine, no Kafka.
        let one = Cluster {
            taskmanagers: 1,
            cores_per_tm: 2,
            external_p50_ms: 0.0,
            external_p99_ms: 0.0,
            ..Cluster::default()
        };
        let id = |c: &BTreeMap<String, String>| pass(c, &one, &job(Workload::Identity, 20_000.0));
        let d = id(&flink_default());
        assert!((22.0..29.0).contains(&d.latency_p99_ms), "{d:?}");
        assert!((10.0..15.0).contains(&d.latency_p50_ms), "{d:?}");
        let z = id(&with(&[("execution.buffer-timeout", "0")]));
        assert!(z.latency_p99_ms < 1.0 && z.latency_p50_ms < 0.2, "{z:?}");
        let t1 = id(&with(&[("execution.buffer-timeout", "1")]));
        assert!((0.9..1.6).contains(&t1.latency_p99_ms), "{t1:?}");
        let seg = id(&with(&[("taskmanager.memory.segment-size", "4kb")]));
        assert!((2.5..4.5).contains(&seg.latency_p99_ms), "{seg:?}");
        let p2 = id(&with(&[
            ("parallelism.default", "2"),
            ("taskmanager.numberOfTaskSlots", "2"),
        ]));
        assert!((85.0..105.0).contains(&p2.latency_p99_ms), "{p2:?}");
        let wc = pass(&flink_default(), &one, &job(Workload::Wordcount, 20_000.0));
        assert!((25.0..50.0).contains(&wc.latency_p99_ms), "{wc:?}");
    }

    #[test]
    fn failures_have_flink_like_reasons() {
        let cl = Cluster::default();
        let j = job(Workload::Wordcount, 16_000.0);
        let cases: Vec<(BTreeMap<String, String>, &str)> = vec![
            (
                with(&[("jobmanager.memory.process.size", "300m")]),
                "JobManager could not start: IllegalConfigurationException: Sum of configured JVM Metaspace",
            ),
            (
                with(&[("taskmanager.memory.flink.size", "2048m")]),
                "is less than the sum of the derived Total Flink Memory size",
            ),
            (
                with(&[("taskmanager.memory.process.size", "lots")]),
                "Cannot read memory size from config option 'taskmanager.memory.process.size'",
            ),
            (
                with(&[("taskmanager.memory.network.fraction", "0.4")]),
                "exceed configured Total Flink Memory",
            ),
            (
                with(&[("taskmanager.memory.process.size", "40g")]),
                "exceeds the memory available on the node",
            ),
            (
                without(
                    with(&[("jobmanager.memory.flink.size", "70g")]),
                    "jobmanager.memory.process.size",
                ),
                "does not fit the master node's memory",
            ),
            (
                with(&[("parallelism.default", "8")]),
                "Could not acquire the required slots",
            ),
            (
                with(&[
                    ("parallelism.default", "64"),
                    ("taskmanager.numberOfTaskSlots", "16"),
                    ("akka.framesize", "32768b"),
                ]),
                "The rpc invocation size",
            ),
            (
                with(&[("akka.framesize", "16kb")]),
                "must be at least 32000 bytes",
            ),
            (
                with(&[("akka.framesize", "2048m")]),
                "must be at least 32000 bytes",
            ),
            (
                with(&[
                    ("parallelism.default", "32"),
                    ("taskmanager.numberOfTaskSlots", "16"),
                    ("taskmanager.network.numberOfBuffers", "256"),
                ]),
                "Insufficient number of network buffers: required",
            ),
            (
                with(&[("taskmanager.memory.jvm-metaspace.size", "80m")]),
                "OutOfMemoryError: Metaspace",
            ),
            (
                with(&[
                    ("parallelism.default", "16"),
                    ("taskmanager.numberOfTaskSlots", "16"),
                    ("taskmanager.memory.process.size", "1500m"),
                ]),
                "OutOfMemoryError: Java heap space",
            ),
            (
                with(&[("taskmanager.memory.segment-size", "48kb")]),
                "Memory segment size must be a power of 2",
            ),
            (
                with(&[("execution.checkpointing.interval", "5")]),
                "Checkpoint interval must be larger than or equal to 10 ms",
            ),
            (
                with(&[("execution.buffer-timeout", "-5")]),
                "Timeout of buffer must be non-negative or -1",
            ),
            (
                with(&[("taskmanager.numberOfTaskSlots", "0")]),
                "Number of task slots must be at least one",
            ),
            (
                with(&[
                    ("taskmanager.network.memory.buffers-per-channel", "0"),
                    ("taskmanager.network.memory.floating-buffers-per-gate", "0"),
                ]),
                "The number of required buffers should be larger than 0",
            ),
            (
                with(&[("taskmanager.network.netty.transport", "carrier-pigeon")]),
                "unknown transport type",
            ),
        ];
        for (c, expected) in cases {
            let reason = fail(&c, &cl, &j);
            assert!(
                reason.contains(expected),
                "expected '{expected}' in '{reason}'"
            );
        }
        // the same settings one step inside the limits pass
        pass(
            &with(&[("taskmanager.memory.jvm-metaspace.size", "96m")]),
            &cl,
            &j,
        );
        pass(
            &with(&[("parallelism.default", "4"), ("akka.framesize", "32768b")]),
            &cl,
            &j,
        );
        pass(
            &with(&[
                ("parallelism.default", "32"),
                ("taskmanager.numberOfTaskSlots", "16"),
                ("taskmanager.network.numberOfBuffers", "2048"),
            ]),
            &cl,
            &j,
        );
    }

    /// Catalogue values to vary each ignored key over.
    fn catalogue_values(key: &str) -> Vec<String> {
        let v: &[&str] = match key {
            "blob.fetch.backlog" => &["200", "1000", "5000"],
            "blob.fetch.num-concurrent" => &["10", "50", "200"],
            "fs.output.always-create-directory" | "fs.overwrite-files" => &["false", "true"],
            "akka.transport.threshold" => &["100", "300", "1000"],
            "akka.throughput" | "pekko.throughput" => &["1", "15", "500"],
            "taskmanager.network.blocking-shuffle.compression.enabled" => &["false", "true"],
            "taskmanager.network.blocking-shuffle.type" => &["file", "mmap"],
            "taskmanager.network.request-backoff.initial" => &["10", "100", "500"],
            "taskmanager.network.request-backoff.max" => &["1000", "10000", "20000"],
            "jobmanager.memory.flink.size" => &["1024m", "4096m", "40960m"],
            "jobmanager.memory.jvm-metaspace.size" => &["64m", "256m", "4096m"],
            "jobmanager.memory.jvm-overhead.min" => &["64m", "192m", "512m"],
            "jobmanager.memory.jvm-overhead.max" => &["512m", "1024m", "4096m"],
            other => panic!("no catalogue values for {other}"),
        };
        v.iter().map(|s| s.to_string()).collect()
    }

    fn bits(o: &SimOutcome) -> String {
        match o {
            SimOutcome::Pass(m) => format!(
                "{:x} {:x} {:x} {} {:x} {:x}",
                m.throughput.to_bits(),
                m.latency_p99_ms.to_bits(),
                m.latency_p50_ms.to_bits(),
                m.backpressured,
                m.cpu_cores.to_bits(),
                m.memory_mb.to_bits()
            ),
            SimOutcome::Fail { reason } => reason.clone(),
        }
    }

    #[test]
    fn ignored_keys_change_nothing() {
        let cl = Cluster::default();
        // The JobManager sized by its Flink memory, as the catalogue samples it.
        let jm_flink_sized = without(
            with(&[("jobmanager.memory.flink.size", "2048m")]),
            "jobmanager.memory.process.size",
        );
        let bases = [flink_default(), hand_tuned(), jm_flink_sized];
        for key in IGNORED_KEYS {
            for base in &bases {
                let jm_size_key = key.starts_with("jobmanager.memory.");
                if jm_size_key && base.contains_key("jobmanager.memory.process.size") {
                    continue;
                }
                for w in Workload::ALL {
                    for rate in [16_000.0, 80_000.0, 160_000.0] {
                        let j = job(w, rate);
                        let reference = bits(&simulate(base, &cl, &j));
                        for value in catalogue_values(key) {
                            let mut c = base.clone();
                            c.insert(key.to_string(), value.clone());
                            let got = bits(&simulate(&c, &cl, &j));
                            assert_eq!(got, reference, "{key}={value} changed {w} at {rate}");
                        }
                    }
                }
            }
        }
        // with noise too, since the noise seed skips them
        let j = SimJob {
            noise: 0.05,
            ..SimJob::default()
        };
        let reference = bits(&simulate(&flink_default(), &cl, &j));
        let c = with(&[
            ("blob.fetch.backlog", "4000"),
            ("fs.overwrite-files", "true"),
        ]);
        assert_eq!(bits(&simulate(&c, &cl, &j)), reference);
    }

    #[test]
    fn noise_is_seeded() {
        let cl = Cluster::default();
        let c = flink_default();
        let j = SimJob::default();
        let a = simulate(&c, &cl, &j);
        assert_eq!(bits(&a), bits(&simulate(&c, &cl, &j)));
        let exact = pass(&c, &cl, &job(Workload::Wordcount, 16_000.0));
        let mut p99s = Vec::new();
        for repeat in 0..40 {
            let m = pass(
                &c,
                &cl,
                &SimJob {
                    repeat,
                    ..j.clone()
                },
            );
            assert!((m.throughput / exact.throughput - 1.0).abs() < 0.1);
            assert!(m.latency_p50_ms <= m.latency_p99_ms);
            p99s.push(m.latency_p99_ms);
        }
        p99s.sort_by(|a, b| a.partial_cmp(b).unwrap());
        p99s.dedup();
        assert_eq!(p99s.len(), 40, "repeats must differ");
        let median = p99s[20];
        assert!(
            (median / exact.latency_p99_ms - 1.0).abs() < 0.05,
            "{median}"
        );
        let other_seed = simulate(
            &c,
            &cl,
            &SimJob {
                seed: 7,
                ..j.clone()
            },
        );
        assert_ne!(bits(&a), bits(&other_seed));
    }

    #[test]
    fn aliases_of_later_versions_are_read() {
        let cl = Cluster::default();
        let j = job(Workload::Wordcount, 16_000.0);
        let same = |a: &[(&str, &str)], b: &[(&str, &str)]| {
            assert_eq!(
                bits(&simulate(&with(a), &cl, &j)),
                bits(&simulate(&with(b), &cl, &j)),
                "{a:?} vs {b:?}"
            );
        };
        same(
            &[("execution.buffer-timeout", "7")],
            &[("execution.buffer-timeout.interval", "7 ms")],
        );
        same(
            &[("execution.buffer-timeout", "-1")],
            &[
                ("execution.buffer-timeout.enabled", "false"),
                ("execution.buffer-timeout.interval", "100 ms"),
            ],
        );
        same(
            &[("akka.framesize", "32768b")],
            &[("pekko.framesize", "32768b")],
        );
        same(
            &[("taskmanager.memory.network.fraction", "0.2")],
            &[("taskmanager.network.memory.fraction", "0.2")],
        );
        same(
            &[("execution.checkpointing.interval", "10 s")],
            &[("execution.checkpointing.interval", "10000")],
        );
    }

    #[test]
    fn small_knobs_have_small_mechanistic_effects() {
        let cl = Cluster::default();
        let conf_with = |extra: &[(&str, &str)]| {
            let mut c = with(&[
                ("parallelism.default", "16"),
                ("taskmanager.numberOfTaskSlots", "4"),
                ("execution.buffer-timeout", "1"),
            ]);
            for (k, v) in extra {
                c.insert(k.to_string(), v.to_string());
            }
            c
        };
        let rp =
            |c: &BTreeMap<String, String>| pass(c, &cl, &job(Workload::Repartition, 160_000.0));
        let cap = |c: &BTreeMap<String, String>| capacity(c, &cl, Workload::Repartition).unwrap();
        // nio costs more CPU per buffer than epoll (`auto` is epoll on Linux)
        let epoll = conf_with(&[("taskmanager.network.netty.transport", "epoll")]);
        let nio = conf_with(&[("taskmanager.network.netty.transport", "nio")]);
        let auto = conf_with(&[]);
        assert!(rp(&nio).cpu_cores > rp(&epoll).cpu_cores);
        assert_eq!(
            bits(&simulate(&auto, &cl, &job(Workload::Repartition, 1e5))),
            bits(&simulate(&epoll, &cl, &job(Workload::Repartition, 1e5)))
        );
        assert!(cap(&nio) <= cap(&epoll));
        // with timeout 0 every record is a buffer: one Netty thread becomes the bottleneck
        let zero = [("execution.buffer-timeout", "0")];
        let one_thread = [
            ("execution.buffer-timeout", "0"),
            ("taskmanager.network.netty.server.numThreads", "1"),
            ("taskmanager.network.netty.client.numThreads", "1"),
        ];
        let c_zero = cap(&conf_with(&zero));
        let c_one = cap(&conf_with(&one_thread));
        assert!(
            c_one < c_zero && c_one > 0.2 * c_zero,
            "{c_one} vs {c_zero}"
        );
        let mut one_nio = conf_with(&one_thread);
        one_nio.insert("taskmanager.network.netty.transport".into(), "nio".into());
        assert!(cap(&one_nio) < c_one);
        assert!(c_zero < 0.9 * cap(&epoll));
        // a tiny TCP window adds round trips to every buffer
        let small_window =
            conf_with(&[("taskmanager.network.netty.sendReceiveBufferSize", "4096")]);
        let slow = pass(&small_window, &cl, &job(Workload::Repartition, 16_000.0));
        let fast = pass(&auto, &cl, &job(Workload::Repartition, 16_000.0));
        assert!(slow.latency_p99_ms >= fast.latency_p99_ms);
        assert!(cap(&small_window) <= cap(&auto));
    }

    #[test]
    fn workload_names() {
        for w in Workload::ALL {
            assert_eq!(w.to_string().parse::<Workload>().unwrap(), w);
        }
        assert_eq!("WC".parse::<Workload>().unwrap(), Workload::Wordcount);
        assert!("sort".parse::<Workload>().is_err());
    }

    #[test]
    fn every_workload_runs_and_is_fast() {
        let cl = Cluster::default();
        let c = hand_tuned();
        let start = std::time::Instant::now();
        let mut calls = 0;
        for w in Workload::ALL {
            for rate in [8_000.0, 16_000.0, 80_000.0, 160_000.0, 240_000.0] {
                for repeat in 0..50 {
                    let m = pass(
                        &c,
                        &cl,
                        &SimJob {
                            workload: w,
                            rate,
                            repeat,
                            ..SimJob::default()
                        },
                    );
                    assert!(m.throughput.is_finite() && m.latency_p99_ms.is_finite());
                    assert!(m.throughput > 0.0 && m.latency_p99_ms > 0.0 && m.latency_p50_ms > 0.0);
                    calls += 1;
                }
            }
        }
        let per_call = start.elapsed().as_secs_f64() / f64::from(calls);
        assert!(per_call < 1e-3, "{per_call} s per call");
    }
}
