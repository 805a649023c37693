//! The entry points: the sustainable capacity of a configuration, and one simulated trial
//! (settings, failures, capacity, the load at the throughput reached, the latency parts, the
//! recovery time and the requested resources, then the measurement noise).

use std::collections::BTreeMap;

use crate::recovery;
use crate::resources::Resources;
use crate::sim::cluster::Cluster;
use crate::sim::constants::{FLUSH_ALWAYS_PICKUP_S, SLICE_HEADER_BYTES};
use crate::sim::failures::{deployment_failure, heap_failure};
use crate::sim::latency::{Part, combine};
use crate::sim::model::Model;
use crate::sim::noise::with_noise;
use crate::sim::recovery_inputs::recovery_inputs;
use crate::sim::settings::read_settings;
use crate::sim::trial::{SimJob, SimMetrics, SimOutcome};
use crate::sim::workload::Workload;

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
