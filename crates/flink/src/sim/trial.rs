//! One trial: what is asked (a workload at an input rate, with its measured window, repeat,
//! seed and noise) and what comes back (the metrics of a passing run, or Flink's reason for a
//! failure). Apart from the model because callers build and read these without it.

use serde::{Deserialize, Serialize};

use crate::conf::FlinkVersion;
use crate::resources::{Resources, SIMULATED_FLINK};
use crate::sim::workload::Workload;

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
    /// The Flink release the cluster runs: its memory rules size the processes (the
    /// performance model itself is the paper's, see docs/simulator.md).
    pub flink: FlinkVersion,
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
            flink: SIMULATED_FLINK,
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
    /// Share of the measured window the busiest TaskManager's JVM spent in stop-the-world
    /// garbage collection (Flink: `Status.JVM.GarbageCollector.*.Time` over the window).
    #[serde(default)]
    pub gc_time_fraction: f64,
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
