//! The TaskManagers the job runs on and the cores of each: the fixed cluster's, or the pods a
//! Kubernetes configuration requests (through `crate::resources`), if the cluster can run them.
//! Apart because it is the one place the simulator turns requested resources into a cluster.

use std::collections::BTreeMap;

use crate::resources;
use crate::sim::cluster::{Cluster, ClusterMode};

/// TaskManagers and cores per TaskManager: the fixed cluster's, or the pods a Kubernetes
/// configuration asks for, if the cluster can run them.
pub(super) fn topology(
    conf: &BTreeMap<String, String>,
    cluster: &Cluster,
) -> Result<(u32, f64), String> {
    if cluster.mode == ClusterMode::Fixed {
        return Ok((cluster.taskmanagers, f64::from(cluster.cores_per_tm.max(1))));
    }
    let pods = |e: String| format!("TaskManager pods could not be created: {e}");
    let taskmanagers = resources::taskmanagers(conf).map_err(pods)?;
    let cores = resources::cpu_per_taskmanager(conf).map_err(pods)?;
    if taskmanagers > cluster.max_taskmanagers {
        return Err(format!(
            "NoResourceAvailableException: Could not acquire the minimum required resources: {taskmanagers} TaskManager pods requested ({}) but the cluster runs at most {}; the other pods stay Pending (exceeded quota)",
            resources::TASKMANAGERS_KEY,
            cluster.max_taskmanagers
        ));
    }
    if cores > f64::from(cluster.cores_per_tm) {
        return Err(format!(
            "NoResourceAvailableException: Could not acquire the minimum required resources: the TaskManager pods stay Pending (no node is available: Insufficient cpu; a pod requests {cores} cores, a node has {})",
            cluster.cores_per_tm
        ));
    }
    Ok((taskmanagers, cores))
}
