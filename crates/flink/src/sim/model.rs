//! The job placed on the cluster: how many subtasks of each vertex share the busiest
//! TaskManager, which share of the input each handles, and what they hold (live heap, keyed
//! state), when checkpoints run and how full a shipped buffer is. Everything the load, the
//! capacity, the latency and the failure checks build on.

use crate::sim::cluster::Cluster;
use crate::sim::constants::{
    FLUSH_ALWAYS_PICKUP_S, KAFKA_CONSUMER_LIVE_MB, KAFKA_PRODUCER_LIVE_MB,
    MAX_PARALLELISM_KEY_GROUPS, TASK_LIVE_MB, TM_FRAMEWORK_LIVE_MB,
};
use crate::sim::settings::{Settings, Timeout};
use crate::sim::workload::{Exchange, Profile, Workload, profile};

pub(super) struct Model<'a> {
    pub(super) s: &'a Settings,
    pub(super) c: &'a Cluster,
    pub(super) prof: &'static Profile,
    pub(super) p: f64,
    /// Subtasks of each vertex on the busiest TaskManager.
    pub(super) n: f64,
    pub(super) tms_used: f64,
    /// Source subtasks that receive data, and the busiest one's share of the input.
    pub(super) active_sources: f64,
    /// Busiest keyed subtask's share.
    pub(super) key_share: f64,
    /// Per-stage share of the input handled by the busiest subtask.
    pub(super) shares: Vec<f64>,
}

impl<'a> Model<'a> {
    pub(super) fn new(s: &'a Settings, c: &'a Cluster, w: Workload) -> Self {
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

    pub(super) fn stages(&self) -> usize {
        self.prof.stage_us.len()
    }

    /// Producers of exchange `e` (source subtasks without partitions produce nothing).
    pub(super) fn producers(&self, e: usize) -> f64 {
        if e == 0 { self.active_sources } else { self.p }
    }

    /// Fraction of a subtask's channels that lead to other TaskManagers.
    pub(super) fn remote_fraction(&self) -> f64 {
        ((self.p - self.n) / self.p).max(0.0)
    }

    pub(super) fn keyed_state_mb_per_subtask(&self, rate: f64) -> f64 {
        let keys = match self.prof.window_s {
            Some(w) if self.prof.keys > 0.0 => {
                self.prof.keys * (1.0 - (-(rate * w) / self.prof.keys).exp())
            }
            _ => self.prof.keys,
        };
        keys * self.key_share * self.prof.state_bytes_per_key / 1048576.0
    }

    pub(super) fn keys_per_subtask(&self, rate: f64) -> f64 {
        self.keyed_state_mb_per_subtask(rate) * 1048576.0 / self.prof.state_bytes_per_key.max(1.0)
    }

    /// Live heap data of the busiest TaskManager, MiB.
    pub(super) fn live_heap_mb(&self, rate: f64) -> f64 {
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
    pub(super) fn checkpoint_timing(&self, rate: f64) -> Option<(f64, f64, f64, f64)> {
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
    pub(super) fn flush_period(&self, rate: f64) -> Option<f64> {
        let barrier = self.checkpoint_timing(rate).map(|t| t.0);
        match (self.s.timeout, barrier) {
            (Timeout::Always, _) => Some(0.0),
            (Timeout::Every(t), Some(b)) => Some(t.min(b)),
            (Timeout::Every(t), None) => Some(t),
            (Timeout::Never, b) => b,
        }
    }

    /// Records per shipped buffer slice on a channel.
    pub(super) fn fill(&self, channel_rate: f64, flush: Option<f64>) -> f64 {
        let full = (self.s.segment_bytes / self.prof.record_bytes).max(1.0);
        let records = match flush {
            Some(0.0) => channel_rate * FLUSH_ALWAYS_PICKUP_S,
            Some(t) => channel_rate * t,
            None => full,
        };
        records.clamp(1.0, full)
    }
}
