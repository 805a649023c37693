//! The simulated cluster: a fixed set of TaskManagers on worker nodes, or TaskManager pods on
//! Kubernetes, with the network, Kafka and checkpoint storage around them (the numbers are in
//! the module documentation of `sim`). Apart because callers build and configure it without
//! touching the model.

use std::str::FromStr;

use serde::{Deserialize, Serialize};

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
