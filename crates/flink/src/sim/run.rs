//! The entry points: the sustainable capacity of a configuration, and one simulated trial
//! (settings, failures, capacity, the load at the throughput reached, the latency, the
//! recovery time and the requested resources, then the measurement noise). Apart so the order
//! of a trial reads in one place, over the layers it calls.

use std::collections::BTreeMap;

use crate::conf::FlinkVersion;
use crate::memory;
use crate::recovery;
use crate::resources::Resources;
use crate::sim::cluster::Cluster;
use crate::sim::failures::{deployment_failure, heap_failure};
use crate::sim::model::Model;
use crate::sim::noise::with_noise;
use crate::sim::record_latency::{OperatingPoint, record_latency};
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
    flink: FlinkVersion,
) -> Result<f64, String> {
    let s = read_settings(conf, cluster, flink)?;
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

/// A trial without the noise: the settings, the failures Flink would meet, the capacity, then
/// the load, latency and recovery at the throughput reached.
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
    let s = read_settings(conf, cluster, job.flink)?;
    let m = Model::new(&s, cluster, job.workload);
    if let Some(reason) = deployment_failure(&m) {
        return Err(reason);
    }
    if let Some(reason) = heap_failure(&m, job.rate) {
        return Err(reason);
    }
    let cap = m.capacity();
    let op = OperatingPoint {
        rate: job.rate,
        capacity: cap,
        duration_s: duration,
    };
    let throughput = op.throughput();
    let st = m.state_at(throughput);
    let latency = record_latency(&m, &st, &op);
    let tm_count = f64::from(s.taskmanagers);
    let cpu_cores = st.cpu_demand * (m.p / m.n).min(tm_count.max(1.0));
    let rec = recovery::recovery(conf, &recovery_inputs(&m, cap, throughput, job))?;
    // What `resources::requested` / `on_fixed_cluster` give, from the sizes already derived.
    let resources = Resources::new(s.taskmanagers, s.cores, memory::mib(s.tm.process));
    Ok(SimMetrics {
        throughput,
        latency_p99_ms: latency.p99_ms,
        latency_p50_ms: latency.p50_ms,
        backpressured: op.saturated() || latency.max_downstream_rho > 0.9,
        cpu_cores,
        memory_mb: tm_count * memory::mib(s.tm.process),
        recovery_time_s: rec.seconds,
        recovered: rec.recovered,
        gc_time_fraction: st.gc_fraction,
        resources,
    })
}
