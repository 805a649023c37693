//! The model's constants: CPU costs in µs per record unless noted (per record in a task or
//! client thread, per buffer slice shipped), the live heap data of the framework, tasks and
//! Kafka clients (MiB), the metaspace the job's classes need, and Flink's key groups. Apart so
//! the calibration lives in one place and the mechanisms read as formulas over named costs.

pub(super) const KAFKA_SOURCE_US: f64 = 5.0; // poll hand-over + deserialisation, task thread
pub(super) const KAFKA_FETCH_US: f64 = 0.8; // consumer fetcher thread
pub(super) const KAFKA_SINK_US: f64 = 4.0; // serialisation + producer.send, task thread
pub(super) const KAFKA_SEND_US: f64 = 0.8; // producer I/O thread
pub(super) const SER_US: f64 = 0.45;
pub(super) const DESER_US: f64 = 0.45;
pub(super) const PARSE_US: f64 = 1.2;
pub(super) const MAP_US: f64 = 0.3;
pub(super) const STATE_UPDATE_US: f64 = 1.4;
pub(super) const WINDOW_ADD_US: f64 = 1.6;
pub(super) const WINDOW_FIRE_US: f64 = 1.5;

// per buffer slice
pub(super) const SLICE_SEND_FLUSH_ALWAYS_US: f64 = 3.0; // task thread flushes itself (timeout 0)
pub(super) const SLICE_SEND_US: f64 = 0.3; // task thread, amortised buffer handling
pub(super) const SLICE_FLUSHER_US: f64 = 1.0; // output flusher thread (timeout > 0)
pub(super) const SLICE_RECV_LOCAL_US: f64 = 1.0;
pub(super) const SLICE_RECV_REMOTE_US: f64 = 2.5;
pub(super) const NETTY_SERVER_EPOLL_US: f64 = 5.0;
pub(super) const NETTY_CLIENT_EPOLL_US: f64 = 4.0;
pub(super) const NETTY_NIO_EXTRA_US: f64 = 1.0;
pub(super) const NETTY_PER_BYTE_US: f64 = 0.000_25;
pub(super) const SLICE_HEADER_BYTES: f64 = 64.0;
/// Time the reader takes to pick up a flushed slice: with timeout 0, records written meanwhile
/// share the slice.
pub(super) const FLUSH_ALWAYS_PICKUP_S: f64 = 15e-6;

// memory (MiB)
pub(super) const TM_FRAMEWORK_LIVE_MB: f64 = 48.0;
pub(super) const TASK_LIVE_MB: f64 = 3.0;
pub(super) const KAFKA_CONSUMER_LIVE_MB: f64 = 6.0;
pub(super) const KAFKA_PRODUCER_LIVE_MB: f64 = 10.0;
pub(super) const TM_METASPACE_NEED_MB: f64 = 96.0;
pub(super) const JM_METASPACE_NEED_MB: f64 = 48.0;
pub(super) const MAX_PARALLELISM_KEY_GROUPS: f64 = 128.0;
