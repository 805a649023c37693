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
//! catalogue does, not next to an explicit `jobmanager.memory.process.size`) The
//! built-in catalogues of Flink 1.18 and later add knobs the model does not represent, and
//! they are inert here too: buffer debloating (the model's in-flight data is fixed by the
//! buffer counts), the checkpointing mode, pauses, timeouts and unaligned checkpoints (the
//! model's checkpoints are aligned and never time out), the state backend and RocksDB's
//! memory split (state is modelled on the heap, see above) and object reuse.
//!
//! ## Measurement noise
//!
//! `SimJob::noise` is a relative noise level (default 0.03): throughput is multiplied by
//! exp(N(0, noise/2)), p99 and p50 by exp(N(0, noise)), and with probability noise/3 the p99 is
//! disturbed by a factor 1.5–5.5 (a one-off outlier, as seen on real clusters: repeat and use
//! medians). The draws are seeded by the configuration (without the ignored keys), workload,
//! rate, duration, repeat and seed: the same inputs give the same outputs, different repeats give
//! different draws. `noise: 0.0` gives the exact model values.
//!
//! ## Layout
//!
//! Each file uses only those listed before it, so the layers point one way:
//!
//! * what is simulated: `cluster`, `constants` (the calibration), `workload` (the programs and
//!   their profiles), `trial` (`SimJob` and what comes back), `seed` (FNV-1a over a trial's
//!   identity);
//! * reading the configuration: `topology` (TaskManagers and cores, fixed or requested pods),
//!   `settings` (every option read, checked in Flink's order);
//! * the model: `model` (placement and what a subtask holds), `state` (the load at one
//!   throughput), `capacity` (utilisations and the bisection), `latency` (composing parts into
//!   percentiles), `record_latency` (a record's parts at the operating point), `failures`
//!   (deployment and heap checks), `recovery_inputs` (what `crate::recovery` is told);
//! * `noise` (the measurement noise) and `run` (the entry points).

mod capacity;
mod cluster;
mod constants;
mod failures;
mod latency;
mod model;
mod noise;
mod record_latency;
mod recovery_inputs;
mod run;
mod seed;
mod settings;
mod state;
mod topology;
mod trial;
mod workload;

pub use cluster::{Cluster, ClusterMode};
pub use run::{capacity, simulate};
pub use settings::IGNORED_KEYS;
pub use trial::{SimJob, SimMetrics, SimOutcome};
pub use workload::Workload;

#[cfg(test)]
mod tests;
