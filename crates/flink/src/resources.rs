//! The resources a configuration requests: how many TaskManagers, how many CPU cores and how
//! much memory in all. Demeter's resource objectives (TaskManagers × CPU, × memory) are these
//! numbers, read from the effective configuration alone, so a search can score a
//! configuration's cost without running it.
//!
//! * TaskManagers: `flinktune.taskmanagers` (a flinktune deployment key that Flink ignores; the
//!   simulator's Kubernetes cluster and the deployment hooks read it), 1 when absent — or, on
//!   a fixed cluster, that cluster's TaskManagers whatever the key says.
//! * CPU per TaskManager, as Flink sizes a TaskManager container: `taskmanager.cpu.cores` if
//!   set, else `kubernetes.taskmanager.cpu` if positive (its default, −1, means "unset"), else
//!   one core per slot (`taskmanager.numberOfTaskSlots`). On a fixed cluster: the node's cores.
//! * Memory per TaskManager: the Total Process Memory that Flink's memory model derives
//!   (`crate::memory`), which is also the pod's memory request on Kubernetes.

use crate::conf::{FlatConf, FlinkVersion};
use crate::memory::{self, lookup};
use crate::metrics::Metrics;
use serde::{Deserialize, Serialize};

/// The Flink version whose cluster the simulator was calibrated on (the paper's): the default
/// release of a simulated job, and the memory rules the resource helpers here size with.
pub const SIMULATED_FLINK: FlinkVersion = FlinkVersion {
    major: 1,
    minor: 11,
};

/// The flinktune key for the number of TaskManagers (the scale-out).
pub const TASKMANAGERS_KEY: &str = "flinktune.taskmanagers";
/// Flink's key for the CPU cores of a TaskManager pod on Kubernetes.
pub const KUBERNETES_CPU_KEY: &str = "kubernetes.taskmanager.cpu";
/// Flink's generic key for a TaskManager's CPU cores (takes precedence when set).
pub const CPU_CORES_KEY: &str = "taskmanager.cpu.cores";

/// What a configuration requests from the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Resources {
    pub taskmanagers: u32,
    /// CPU cores of one TaskManager.
    pub cpu_per_taskmanager: f64,
    /// Total Process Memory of one TaskManager, MiB.
    pub memory_per_taskmanager_mb: f64,
    /// taskmanagers × cpu_per_taskmanager.
    pub cpu_requested: f64,
    /// taskmanagers × memory_per_taskmanager_mb.
    pub memory_requested_mb: f64,
}

impl Resources {
    pub fn new(taskmanagers: u32, cpu: f64, memory_mb: f64) -> Resources {
        Resources {
            taskmanagers,
            cpu_per_taskmanager: cpu,
            memory_per_taskmanager_mb: memory_mb,
            cpu_requested: f64::from(taskmanagers) * cpu,
            memory_requested_mb: f64::from(taskmanagers) * memory_mb,
        }
    }

    /// Records the contract's result fields (`taskmanagers`, `cpu_requested`,
    /// `memory_requested_mb`) in a trial's metrics.
    pub fn record(&self, metrics: &mut Metrics) {
        metrics.taskmanagers = Some(f64::from(self.taskmanagers));
        metrics.cpu_requested = Some(self.cpu_requested);
        metrics.memory_requested_mb = Some(self.memory_requested_mb);
    }
}

fn unparsable(text: &str, key: &str) -> String {
    format!("IllegalArgumentException: Could not parse value '{text}' for key '{key}'.")
}

/// The TaskManagers a configuration asks for (`flinktune.taskmanagers`, 1 when absent).
pub fn taskmanagers(conf: &FlatConf) -> Result<u32, String> {
    let Some(text) = lookup(conf, TASKMANAGERS_KEY) else {
        return Ok(1);
    };
    let n: i64 = text
        .parse()
        .map_err(|_| unparsable(text, TASKMANAGERS_KEY))?;
    if !(1..=100_000).contains(&n) {
        return Err(format!(
            "IllegalConfigurationException: {TASKMANAGERS_KEY} must be between 1 and 100000, but was {n}"
        ));
    }
    Ok(n as u32)
}

fn slots(conf: &FlatConf) -> Result<u32, String> {
    let Some(text) = lookup(conf, "taskmanager.numberOfTaskSlots") else {
        return Ok(1);
    };
    let n: i64 = text
        .parse()
        .map_err(|_| unparsable(text, "taskmanager.numberOfTaskSlots"))?;
    if n < 1 {
        return Err(format!(
            "IllegalConfigurationException: Invalid configuration value for taskmanager.numberOfTaskSlots : {n} - Number of task slots must be at least one."
        ));
    }
    Ok(n.min(100_000) as u32)
}

/// The CPU cores of one TaskManager container, as Flink derives them (see the module doc).
pub fn cpu_per_taskmanager(conf: &FlatConf) -> Result<f64, String> {
    for key in [CPU_CORES_KEY, KUBERNETES_CPU_KEY] {
        if let Some(text) = lookup(conf, key) {
            let cpu: f64 = text
                .parse()
                .ok()
                .filter(|c: &f64| c.is_finite())
                .ok_or_else(|| unparsable(text, key))?;
            if key == CPU_CORES_KEY && cpu <= 0.0 {
                return Err(format!(
                    "IllegalConfigurationException: {CPU_CORES_KEY} must be positive, but was {cpu}"
                ));
            }
            if cpu > 0.0 {
                return Ok(cpu);
            }
        }
    }
    slots(conf).map(f64::from)
}

/// The Total Process Memory of one TaskManager, MiB.
pub fn memory_per_taskmanager_mb(conf: &FlatConf) -> Result<f64, String> {
    memory::taskmanager(conf, SIMULATED_FLINK)
        .map(|m| memory::mib(m.process))
        .map_err(|e| format!("IllegalConfigurationException: {e}"))
}

/// What a configuration deployed as its own TaskManager pods (Kubernetes) requests.
pub fn requested(conf: &FlatConf) -> Result<Resources, String> {
    Ok(Resources::new(
        taskmanagers(conf)?,
        cpu_per_taskmanager(conf)?,
        memory_per_taskmanager_mb(conf)?,
    ))
}

/// What a configuration occupies on a fixed cluster of `taskmanagers` TaskManagers with
/// `cores_per_taskmanager` cores each: the cluster's TaskManagers and cores, the
/// configuration's process size.
pub fn on_fixed_cluster(
    conf: &FlatConf,
    taskmanagers: u32,
    cores_per_taskmanager: f64,
) -> Result<Resources, String> {
    Ok(Resources::new(
        taskmanagers,
        cores_per_taskmanager,
        memory_per_taskmanager_mb(conf)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf(pairs: &[(&str, &str)]) -> FlatConf {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn demeter_static_maximum() {
        let c = conf(&[
            (TASKMANAGERS_KEY, "24"),
            ("taskmanager.numberOfTaskSlots", "1"),
            (KUBERNETES_CPU_KEY, "1"),
            ("taskmanager.memory.process.size", "4096m"),
        ]);
        let r = requested(&c).unwrap();
        assert_eq!(r.taskmanagers, 24);
        assert_eq!(r.cpu_requested, 24.0);
        assert_eq!(r.memory_requested_mb, 24.0 * 4096.0);
        let mut m = Metrics::default();
        r.record(&mut m);
        assert_eq!(m.taskmanagers, Some(24.0));
        assert_eq!(m.cpu_requested, Some(24.0));
        assert_eq!(m.memory_requested_mb, Some(98304.0));
    }

    #[test]
    fn fractional_cpu_and_derived_process_size() {
        let c = conf(&[
            (TASKMANAGERS_KEY, "3"),
            (KUBERNETES_CPU_KEY, "1.5"),
            // sized by the Flink memory: the process size is derived (+ metaspace, overhead)
            ("taskmanager.memory.flink.size", "1280m"),
        ]);
        let r = requested(&c).unwrap();
        assert_eq!(r.cpu_requested, 4.5);
        assert!((r.memory_per_taskmanager_mb - 1728.0).abs() < 1.0, "{r:?}");
        assert!((r.memory_requested_mb - 3.0 * r.memory_per_taskmanager_mb).abs() < 1e-9);
    }

    #[test]
    fn cpu_falls_back_like_flink() {
        let base = [("taskmanager.memory.process.size", "1728m")];
        // nothing set: one core per slot
        let mut c = conf(&base);
        c.insert("taskmanager.numberOfTaskSlots".into(), "3".into());
        assert_eq!(cpu_per_taskmanager(&c).unwrap(), 3.0);
        // Flink's default -1 of the Kubernetes key means unset
        c.insert(KUBERNETES_CPU_KEY.into(), "-1.0".into());
        assert_eq!(cpu_per_taskmanager(&c).unwrap(), 3.0);
        c.insert(KUBERNETES_CPU_KEY.into(), "2".into());
        assert_eq!(cpu_per_taskmanager(&c).unwrap(), 2.0);
        // the generic key wins
        c.insert(CPU_CORES_KEY.into(), "0.5".into());
        assert_eq!(cpu_per_taskmanager(&c).unwrap(), 0.5);
        // absent TaskManager count: one
        assert_eq!(requested(&c).unwrap().taskmanagers, 1);
    }

    #[test]
    fn fixed_cluster_uses_its_own_taskmanagers_and_cores() {
        let c = conf(&[
            (TASKMANAGERS_KEY, "24"),
            ("taskmanager.memory.process.size", "1728m"),
        ]);
        let r = on_fixed_cluster(&c, 4, 8.0).unwrap();
        assert_eq!((r.taskmanagers, r.cpu_requested), (4, 32.0));
        assert_eq!(r.memory_requested_mb, 4.0 * 1728.0);
    }

    #[test]
    fn bad_values_are_refused_with_the_key() {
        let base = [("taskmanager.memory.process.size", "1728m")];
        let with = |k: &str, v: &str| {
            let mut c = conf(&base);
            c.insert(k.into(), v.into());
            c
        };
        let e = requested(&with(TASKMANAGERS_KEY, "many")).unwrap_err();
        assert!(e.contains(TASKMANAGERS_KEY), "{e}");
        let e = requested(&with(TASKMANAGERS_KEY, "0")).unwrap_err();
        assert!(e.contains("between 1"), "{e}");
        let e = requested(&with(KUBERNETES_CPU_KEY, "two")).unwrap_err();
        assert!(e.contains(KUBERNETES_CPU_KEY), "{e}");
        let e = requested(&with(CPU_CORES_KEY, "0")).unwrap_err();
        assert!(e.contains("must be positive"), "{e}");
        let e = requested(&conf(&[])).unwrap_err();
        assert!(e.contains("taskmanager.memory.process.size"), "{e}");
    }
}
