//! A record's latency at the operating point: the parts it is made of (the Kafka floor, the
//! wait in output buffers and the trip between TaskManagers, queueing at every task and for a
//! core, GC and checkpoint pauses, the window's firing burst, and the backlog when the job
//! cannot keep up), composed into percentiles by `latency`. Apart from `run` because it is
//! the latency half of the model; `run` only puts the trial's results together.

use crate::sim::constants::{FLUSH_ALWAYS_PICKUP_S, SLICE_HEADER_BYTES};
use crate::sim::latency::{Part, combine};
use crate::sim::model::Model;
use crate::sim::state::State;

/// Where the trial runs: the input rate asked for, the capacity, and the measured window (s).
pub(super) struct OperatingPoint {
    pub(super) rate: f64,
    pub(super) capacity: f64,
    pub(super) duration_s: f64,
}

impl OperatingPoint {
    /// The job cannot keep up: the backlog grows for the whole measured window.
    pub(super) fn saturated(&self) -> bool {
        self.rate > self.capacity
    }

    pub(super) fn throughput(&self) -> f64 {
        self.rate.min(self.capacity)
    }
}

/// A record's latency percentiles (ms), and the utilisation of the busiest downstream task
/// (above 0.9 the job reports back-pressure).
pub(super) struct Latency {
    pub(super) p50_ms: f64,
    pub(super) p99_ms: f64,
    pub(super) max_downstream_rho: f64,
}

/// The parts of a record's latency, in a fixed order (their sums are floating-point sums), and
/// their percentiles.
pub(super) fn record_latency(m: &Model<'_>, st: &State, op: &OperatingPoint) -> Latency {
    let (task_util, cpu_util) = m.utilisations(st);
    let mut parts = Vec::with_capacity(16);
    parts.push(Part::lognormal(m.c.external_p50_ms, m.c.external_p99_ms));
    exchange_parts(m, st, op.throughput(), &mut parts);
    let (max_rho, max_downstream_rho) = task_parts(st, &task_util, op, &mut parts);
    // Waiting for a core.
    let rho_cpu = cpu_util.min(0.999);
    let cpu_wait_ms = rho_cpu / (1.0 - rho_cpu) * 0.02 * (st.busy_threads / m.s.cores).max(1.0);
    parts.push(Part::queue(cpu_wait_ms, rho_cpu));
    pause_parts(st, max_rho, &mut parts);
    if op.saturated() {
        saturation_parts(m, st, op, &mut parts);
    }
    let (p50, p99) = combine(&parts);
    Latency {
        p50_ms: p50,
        p99_ms: p99,
        max_downstream_rho,
    }
}

/// Exchanges: buffer wait, hand-over, network.
fn exchange_parts(m: &Model<'_>, st: &State, throughput: f64, parts: &mut Vec<Part>) {
    let s = m.s;
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
            let remote_ms = 0.5 * m.c.rtt_ms + 0.03 + window_trips.max(0.0) * m.c.rtt_ms;
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
}

/// Tasks: service time and queueing (Kingman with batch arrivals, capped by what can build up
/// within the measured window). Returns the highest utilisation of any task and of any
/// downstream task.
fn task_parts(
    st: &State,
    task_util: &[f64],
    op: &OperatingPoint,
    parts: &mut Vec<Part>,
) -> (f64, f64) {
    let saturated = op.saturated();
    let duration = op.duration_s;
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
    (max_rho, max_downstream_rho)
}

/// Pauses (young and old GC, checkpoints), and the window's firing burst.
fn pause_parts(st: &State, max_rho: f64, parts: &mut Vec<Part>) {
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
}

/// Saturation: backlog over the measured window plus full in-flight buffers.
fn saturation_parts(m: &Model<'_>, st: &State, op: &OperatingPoint, parts: &mut Vec<Part>) {
    let s = m.s;
    let duration = op.duration_s;
    let growth = op.rate / op.capacity - 1.0;
    parts.push(Part {
        mean: growth * duration * 1000.0 / 2.0,
        p50: growth * duration * 1000.0 / 2.0,
        p99: growth * duration * 0.99 * 1000.0,
    });
    let full = (s.segment_bytes / m.prof.record_bytes).max(1.0);
    let available = s.tm.network as f64 / s.segment_bytes;
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
