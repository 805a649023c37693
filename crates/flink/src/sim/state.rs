//! The load at one throughput: per-record CPU costs of each task, buffer slices, checkpoint and
//! window stalls, Netty, network link, Kafka client and GC load, and the CPU demand of the
//! busiest TaskManager. Apart from `model` because it is the bulk of the arithmetic and is
//! evaluated at every step of the capacity bisection.

use crate::sim::constants::{
    DESER_US, KAFKA_FETCH_US, KAFKA_SEND_US, KAFKA_SINK_US, NETTY_CLIENT_EPOLL_US,
    NETTY_NIO_EXTRA_US, NETTY_PER_BYTE_US, NETTY_SERVER_EPOLL_US, SER_US, SLICE_FLUSHER_US,
    SLICE_HEADER_BYTES, SLICE_RECV_LOCAL_US, SLICE_RECV_REMOTE_US, SLICE_SEND_FLUSH_ALWAYS_US,
    SLICE_SEND_US, STATE_UPDATE_US, WINDOW_ADD_US, WINDOW_FIRE_US,
};
use crate::sim::model::Model;
use crate::sim::settings::Timeout;

/// Everything the model computes at one throughput.
pub(super) struct State {
    /// Per stage: CPU seconds per record in the task thread.
    pub(super) stage_cost_s: Vec<f64>,
    /// Per stage: records/s at the busiest subtask.
    pub(super) stage_rate: Vec<f64>,
    /// Per stage: fraction of time stalled by checkpoints or window firing.
    pub(super) stage_stall: Vec<f64>,
    /// Per exchange: records per shipped slice, per-channel rate.
    pub(super) fill: Vec<f64>,
    pub(super) channel_rate: Vec<f64>,
    /// Busiest TaskManager: CPU demand (cores), busy threads, context-switch efficiency.
    pub(super) cpu_demand: f64,
    pub(super) efficiency: f64,
    pub(super) busy_threads: f64,
    /// Netty utilisation (server, client) as a fraction of the useful threads.
    pub(super) netty_util: f64,
    pub(super) netty_slice_s: f64,
    /// Network link and TCP-window utilisation.
    pub(super) link_util: f64,
    pub(super) window_util: f64,
    /// Kafka client threads' utilisation.
    pub(super) kafka_util: f64,
    /// GC: stop-the-world fraction, young pause (s) and frequency, old pause and frequency.
    pub(super) gc_fraction: f64,
    pub(super) young_pause_s: f64,
    pub(super) young_freq: f64,
    pub(super) old_pause_s: f64,
    pub(super) old_freq: f64,
    /// Checkpoints: frequency and pause seen by a record (s).
    pub(super) cp_freq: f64,
    pub(super) cp_pause_s: f64,
    /// Window firing burst of the busiest subtask (s).
    pub(super) burst_s: f64,
}

/// Buffer slices on every exchange and what they cost per record, with the slices and bytes
/// the busiest TaskManager handles.
struct Traffic {
    /// Per exchange: records per shipped slice, per-channel rate.
    fill: Vec<f64>,
    channel_rate: Vec<f64>,
    /// Per stage: buffer handling per record in the task thread, sending and receiving (µs).
    send_us: Vec<f64>,
    recv_us: Vec<f64>,
    /// Busiest TaskManager, per second: slices for the output flushers, slices out and in over
    /// the network, bytes out over the network.
    flusher_slices_tm: f64,
    remote_slices_out_tm: f64,
    remote_slices_in_tm: f64,
    remote_bytes_out_tm: f64,
}

/// What checkpoints cost: how often they run, the pause a record sees, the share of each
/// stage's time stalled, the snapshot threads' cores and the copy-on-write surcharge on state
/// updates while a snapshot runs.
struct CheckpointLoad {
    cp_freq: f64,
    cp_pause_s: f64,
    stage_stall: Vec<f64>,
    async_cores_tm: f64,
    cow_factor: f64,
}

/// The Netty threads of the busiest TaskManager.
struct Netty {
    /// TCP connections: one per remote TaskManager per exchange.
    conns: f64,
    /// Netty threads with a connection to serve (server and client).
    active_threads: f64,
    /// Cores the server and client threads spend.
    server_work: f64,
    client_work: f64,
    util: f64,
    /// Server plus client time for one slice (s).
    slice_s: f64,
}

/// Garbage collection on the busiest TaskManager.
struct Gc {
    fraction: f64,
    young_pause_s: f64,
    young_freq: f64,
    old_pause_s: f64,
    old_freq: f64,
}

/// The CPU of the busiest TaskManager.
struct Cpu {
    demand: f64,
    efficiency: f64,
    busy_threads: f64,
}

impl Model<'_> {
    /// Everything the model computes at one throughput, resource by resource; each step uses
    /// only the results of those before it.
    pub(super) fn state_at(&self, rate: f64) -> State {
        let traffic = self.traffic(rate);
        let mut cp = self.checkpoint_load(rate);
        let (stage_cost_s, stage_rate) = self.stage_costs(rate, &traffic, cp.cow_factor);
        let burst_s = self.window_burst(rate, &mut cp.stage_stall);
        let (results_rate, kafka_util) = self.kafka_clients(rate, &stage_rate);
        let netty = self.netty(&traffic);
        let (link_util, window_util) = self.network(&traffic, netty.conns);
        let gc = self.gc(rate, cp.cp_freq, &stage_rate);
        let tasks = self.task_threads(rate, &stage_cost_s, burst_s);
        let cpu = self.cpu(
            rate,
            tasks,
            results_rate,
            &traffic,
            &netty,
            cp.async_cores_tm,
        );
        State {
            stage_cost_s,
            stage_rate,
            stage_stall: cp.stage_stall,
            fill: traffic.fill,
            channel_rate: traffic.channel_rate,
            cpu_demand: cpu.demand,
            efficiency: cpu.efficiency,
            busy_threads: cpu.busy_threads,
            netty_util: netty.util,
            netty_slice_s: netty.slice_s,
            link_util,
            window_util,
            kafka_util,
            gc_fraction: gc.fraction,
            young_pause_s: gc.young_pause_s,
            young_freq: gc.young_freq,
            old_pause_s: gc.old_pause_s,
            old_freq: gc.old_freq,
            cp_freq: cp.cp_freq,
            cp_pause_s: cp.cp_pause_s,
            burst_s,
        }
    }

    /// Exchanges: slices and per-record buffer costs.
    fn traffic(&self, rate: f64) -> Traffic {
        let s = self.s;
        let prof = self.prof;
        let stages = self.stages();
        let rem = self.remote_fraction();
        let flush = self.flush_period(rate);
        let mut t = Traffic {
            fill: Vec::with_capacity(prof.exchanges.len()),
            channel_rate: Vec::with_capacity(prof.exchanges.len()),
            send_us: vec![0.0; stages],
            recv_us: vec![0.0; stages],
            flusher_slices_tm: 0.0,
            remote_slices_out_tm: 0.0,
            remote_slices_in_tm: 0.0,
            remote_bytes_out_tm: 0.0,
        };
        for e in 0..prof.exchanges.len() {
            let producers = self.producers(e);
            let r_ch = rate / (producers * self.p);
            let f = self.fill(r_ch, flush);
            t.fill.push(f);
            t.channel_rate.push(r_ch);
            let send_slice = match s.timeout {
                Timeout::Always => SLICE_SEND_FLUSH_ALWAYS_US,
                _ => SLICE_SEND_US,
            };
            t.send_us[e] += SER_US + send_slice / f;
            t.recv_us[e + 1] +=
                DESER_US + (rem * SLICE_RECV_REMOTE_US + (1.0 - rem) * SLICE_RECV_LOCAL_US) / f;
            // slices handled on the busiest TaskManager
            let producers_here = self.n.min(producers);
            let out_records = producers_here * rate / producers;
            let in_records = self.n * rate / self.p;
            if matches!(s.timeout, Timeout::Every(_)) {
                t.flusher_slices_tm += out_records / f;
            }
            t.remote_slices_out_tm += out_records * rem / f;
            t.remote_slices_in_tm += in_records * rem / f;
            t.remote_bytes_out_tm +=
                out_records * rem * prof.record_bytes + out_records * rem / f * SLICE_HEADER_BYTES;
        }
        t
    }

    /// Checkpoints: barrier handling, alignment, the synchronous snapshot and the sink's flush
    /// stall every task; the asynchronous snapshot takes cores and makes state updates copy.
    fn checkpoint_load(&self, rate: f64) -> CheckpointLoad {
        let prof = self.prof;
        let stages = self.stages();
        let mut cp = CheckpointLoad {
            cp_freq: 0.0,
            cp_pause_s: 0.0,
            stage_stall: vec![0.0; stages],
            async_cores_tm: 0.0,
            cow_factor: 1.0,
        };
        let Some((period, _duration, sync_s, async_cpu_s)) = self.checkpoint_timing(rate) else {
            return cp;
        };
        cp.cp_freq = 1.0 / period;
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
        cp.cp_pause_s = max + 0.3 * (sum - max);
        for (i, st) in stalls.iter().enumerate() {
            cp.stage_stall[i] = (cp.cp_freq * st).min(0.9);
        }
        if prof.keys > 0.0 {
            cp.async_cores_tm = self.n * async_cpu_s * cp.cp_freq;
            cp.cow_factor = 1.0 + 0.3 * (async_cpu_s / period).min(1.0);
        }
        cp
    }

    /// Stage costs (s per record in the task thread) and rates at the busiest subtask.
    fn stage_costs(&self, rate: f64, t: &Traffic, cow_factor: f64) -> (Vec<f64>, Vec<f64>) {
        let prof = self.prof;
        let stages = self.stages();
        let state_mb = self.keyed_state_mb_per_subtask(rate);
        let state_access_us = if prof.keys > 0.0 {
            0.3 * (1.0 + state_mb / 4.0).ln()
        } else {
            0.0
        };
        let mut stage_cost_s = Vec::with_capacity(stages);
        let mut stage_rate = Vec::with_capacity(stages);
        for i in 0..stages {
            let mut us = prof.stage_us[i] + t.send_us[i] + t.recv_us[i];
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
        (stage_cost_s, stage_rate)
    }

    /// Window firing: the burst (s) of the busiest subtask, which also stalls the last stage.
    fn window_burst(&self, rate: f64, stage_stall: &mut [f64]) -> f64 {
        let mut burst_s = 0.0;
        if let Some(w) = self.prof.window_s {
            let keys_sub = self.keys_per_subtask(rate);
            burst_s = keys_sub * (WINDOW_FIRE_US + KAFKA_SINK_US) * 1e-6;
            let last = self.stages() - 1;
            stage_stall[last] = (stage_stall[last] + burst_s / w).min(0.95);
        }
        burst_s
    }

    /// Kafka client threads: the results rate of the busiest sink and the clients' utilisation.
    fn kafka_clients(&self, rate: f64, stage_rate: &[f64]) -> (f64, f64) {
        let results_rate = match self.prof.window_s {
            Some(w) => self.keys_per_subtask(rate) / w,
            None => stage_rate[self.stages() - 1],
        };
        let kafka_util =
            (stage_rate[0] * KAFKA_FETCH_US * 1e-6).max(results_rate * KAFKA_SEND_US * 1e-6);
        (results_rate, kafka_util)
    }

    /// Netty: only threads with a connection help; fewer arenas than busy threads contend.
    fn netty(&self, t: &Traffic) -> Netty {
        let s = self.s;
        let prof = self.prof;
        let conns = ((self.tms_used - 1.0) * prof.exchanges.len() as f64).max(0.0);
        let server_useful = f64::from(s.server_threads).min(conns);
        let client_useful = f64::from(s.client_threads).min(conns);
        let active_netty = server_useful + client_useful;
        let contention = 1.0 + 0.15 * (active_netty / f64::from(s.arenas.max(1)) - 1.0).max(0.0);
        let nio_extra = if s.nio { NETTY_NIO_EXTRA_US } else { 0.0 };
        let bytes_per_slice = |f: f64| f * prof.record_bytes + SLICE_HEADER_BYTES;
        let fill = &t.fill;
        let avg_slice_bytes = if fill.is_empty() {
            0.0
        } else {
            fill.iter().map(|&f| bytes_per_slice(f)).sum::<f64>() / fill.len() as f64
        };
        let server_slice_us =
            (NETTY_SERVER_EPOLL_US + nio_extra + NETTY_PER_BYTE_US * avg_slice_bytes) * contention;
        let client_slice_us =
            (NETTY_CLIENT_EPOLL_US + nio_extra + NETTY_PER_BYTE_US * avg_slice_bytes) * contention;
        let server_work = t.remote_slices_out_tm * server_slice_us * 1e-6;
        let client_work = t.remote_slices_in_tm * client_slice_us * 1e-6;
        let netty_util = if conns > 0.0 {
            (server_work / server_useful.max(1e-9)).max(client_work / client_useful.max(1e-9))
        } else {
            0.0
        };
        Netty {
            conns,
            active_threads: active_netty,
            server_work,
            client_work,
            util: netty_util,
            slice_s: (server_slice_us + client_slice_us) * 1e-6,
        }
    }

    /// Network link and TCP window utilisation.
    fn network(&self, t: &Traffic, conns: f64) -> (f64, f64) {
        let link_util = t.remote_bytes_out_tm / (self.c.network_mb_per_s.max(1e-9) * 1e6);
        let window_util = match self.s.tcp_window_bytes {
            Some(win) if conns > 0.0 => {
                let per_conn = t.remote_bytes_out_tm / conns;
                per_conn / (win / (self.c.rtt_ms.max(1e-3) / 1000.0))
            }
            _ => 0.0,
        };
        (link_util, window_util)
    }

    /// GC on the busiest TaskManager: young collections as the allocation fills the young
    /// generation, old (mixed) ones as the heap fills up.
    fn gc(&self, rate: f64, cp_freq: f64, stage_rate: &[f64]) -> Gc {
        let prof = self.prof;
        let stages = self.stages();
        let heap_mb = crate::memory::mib(self.s.tm.jvm_heap()).max(1.0);
        let live_mb = self.live_heap_mb(rate);
        let state_mb = self.keyed_state_mb_per_subtask(rate);
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
        Gc {
            fraction: 1.0 - (1.0 - young_fraction) * (1.0 - old_fraction),
            young_pause_s,
            young_freq,
            old_pause_s,
            old_freq: old_fraction / old_pause_s,
        }
    }

    /// The task threads of the busiest TaskManager: the cores they use and how many there are.
    fn task_threads(&self, rate: f64, stage_cost_s: &[f64], burst_s: f64) -> (f64, f64) {
        let prof = self.prof;
        let stages = self.stages();
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
        (task_cores, busy_threads)
    }

    /// CPU of the busiest TaskManager: task threads, Kafka clients, output flushers, Netty and
    /// snapshot threads, and what context switching leaves of the cores.
    fn cpu(
        &self,
        rate: f64,
        (task_cores, mut busy_threads): (f64, f64),
        results_rate: f64,
        t: &Traffic,
        netty: &Netty,
        async_cores_tm: f64,
    ) -> Cpu {
        let kafka_cores =
            self.n.min(self.active_sources) * rate / self.active_sources * KAFKA_FETCH_US * 1e-6
                + self.n * results_rate * KAFKA_SEND_US * 1e-6;
        busy_threads += self.n.min(self.active_sources) + self.n;
        let flusher_cores = t.flusher_slices_tm * SLICE_FLUSHER_US * 1e-6;
        if flusher_cores > 0.0 {
            busy_threads += self.n;
        }
        busy_threads += netty.active_threads;
        let cpu_demand = task_cores
            + kafka_cores
            + flusher_cores
            + netty.server_work
            + netty.client_work
            + async_cores_tm;
        let cores = self.s.cores;
        let efficiency = 1.0 / (1.0 + 0.04 * (busy_threads / cores - 1.0).max(0.0));
        Cpu {
            demand: cpu_demand,
            efficiency,
            busy_threads,
        }
    }
}
