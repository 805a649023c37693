//! The TaskManager's memory, derived as Flink does when `taskmanager.sh` starts
//! (`TaskExecutorProcessUtils`, `TaskExecutorFlinkMemoryUtils`): fine-grained, total-Flink or
//! total-process sizing, the framework, task, managed and network components, and the JVM's
//! share.

use std::collections::BTreeMap;

use crate::conf::FlinkVersion;
use crate::memory::error::{MemoryError, Rule, err};
use crate::memory::jvm::{Jvm, TM_KEYS, jvm_from_process, jvm_from_total_flink, no_sizing};
use crate::memory::legacy::map_legacy_heap;
use crate::memory::network::{
    check_remainder_network, legacy_network, network_range, uses_legacy_network,
};
use crate::memory::options::{
    Reader, derive_with_fraction, derive_with_inverse_fraction, fraction_range, subtract, sum,
};
use crate::memory::size::{MAX_BYTES, MIB, readable};

/// Derived TaskManager memory, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskManagerMemory {
    pub framework_heap: u64,
    pub task_heap: u64,
    pub managed: u64,
    pub network: u64,
    pub framework_off_heap: u64,
    pub task_off_heap: u64,
    pub metaspace: u64,
    pub overhead: u64,
    pub flink: u64,
    pub process: u64,
}

impl TaskManagerMemory {
    /// JVM heap (`-Xmx`): framework heap + task heap.
    pub fn jvm_heap(&self) -> u64 {
        self.framework_heap + self.task_heap
    }

    /// Each component under Flink's option name (`…network.size` and `…jvm-overhead.size`
    /// for the two that have none), in the order Flink's log lists them.
    pub fn entries(&self) -> [(&'static str, u64); 10] {
        [
            (
                "taskmanager.memory.framework.heap.size",
                self.framework_heap,
            ),
            ("taskmanager.memory.task.heap.size", self.task_heap),
            ("taskmanager.memory.managed.size", self.managed),
            ("taskmanager.memory.network.size", self.network),
            (
                "taskmanager.memory.framework.off-heap.size",
                self.framework_off_heap,
            ),
            ("taskmanager.memory.task.off-heap.size", self.task_off_heap),
            ("taskmanager.memory.jvm-metaspace.size", self.metaspace),
            ("taskmanager.memory.jvm-overhead.size", self.overhead),
            ("taskmanager.memory.flink.size", self.flink),
            ("taskmanager.memory.process.size", self.process),
        ]
    }
}

const TM_FLINK: &str = "taskmanager.memory.flink.size";
const TM_TASK_HEAP: &str = "taskmanager.memory.task.heap.size";
const TM_MANAGED: &str = "taskmanager.memory.managed.size";
const TM_MANAGED_FRACTION: &str = "taskmanager.memory.managed.fraction";

/// The components of the total Flink memory.
struct Parts {
    framework_heap: u64,
    framework_off_heap: u64,
    task_heap: u64,
    task_off_heap: u64,
    managed: u64,
    network: u64,
}

/// Framework heap, framework off-heap and task off-heap, with their defaults.
fn fixed_parts(r: &Reader<'_>) -> Result<(u64, u64, u64), MemoryError> {
    Ok((
        r.size_or("taskmanager.memory.framework.heap.size", 128 * MIB)?,
        r.size_or("taskmanager.memory.framework.off-heap.size", 128 * MIB)?,
        r.size_or("taskmanager.memory.task.off-heap.size", 0)?,
    ))
}

fn managed_or_fraction(r: &Reader<'_>, flink: u64) -> Result<u64, MemoryError> {
    match r.size(TM_MANAGED)? {
        Some(managed) => Ok(managed),
        None => {
            let range = fraction_range(r, 0, MAX_BYTES, (TM_MANAGED_FRACTION, 0.4))?;
            derive_with_fraction(flink, range)
        }
    }
}

fn exceed_with_heap(p: &Parts, flink: u64) -> MemoryError {
    err(
        Rule::ComponentsExceedFlink,
        Some(TM_FLINK),
        format!(
            "Sum of configured Framework Heap Memory ({}), Framework Off-Heap Memory ({}), Task Heap Memory ({}), Task Off-Heap Memory ({}) and Managed Memory ({}) exceed configured Total Flink Memory ({}).",
            readable(p.framework_heap),
            readable(p.framework_off_heap),
            readable(p.task_heap),
            readable(p.task_off_heap),
            readable(p.managed),
            readable(flink)
        ),
    )
}

/// Network memory as the rest of an explicit total Flink memory, checked against the network
/// configuration.
fn network_as_remainder(r: &Reader<'_>, p: &mut Parts, flink: u64) -> Result<(), MemoryError> {
    let without_network = sum(&[
        p.framework_heap,
        p.framework_off_heap,
        p.task_heap,
        p.task_off_heap,
        p.managed,
    ])?;
    if without_network > flink {
        return Err(exceed_with_heap(p, flink));
    }
    p.network = flink - without_network;
    check_remainder_network(r, p.network)
}

/// `deriveFromRequiredFineGrainedOptions`: task heap and managed memory given.
fn from_fine_grained(r: &Reader<'_>) -> Result<Parts, MemoryError> {
    let task_heap = r.size(TM_TASK_HEAP)?.unwrap_or_default();
    let managed = r.size(TM_MANAGED)?.unwrap_or_default();
    let (framework_heap, framework_off_heap, task_off_heap) = fixed_parts(r)?;
    let mut p = Parts {
        framework_heap,
        framework_off_heap,
        task_heap,
        task_off_heap,
        managed,
        network: 0,
    };
    if let Some(flink) = r.size(TM_FLINK)? {
        network_as_remainder(r, &mut p, flink)?;
    } else if uses_legacy_network(r) {
        p.network = legacy_network(r)?;
    } else {
        let without_network = sum(&[
            framework_heap,
            framework_off_heap,
            task_heap,
            task_off_heap,
            managed,
        ])?;
        p.network = derive_with_inverse_fraction(without_network, network_range(r)?)?;
    }
    Ok(p)
}

/// `deriveFromTotalFlinkMemory`: the components of a known total Flink memory.
fn from_total_flink(r: &Reader<'_>, flink: u64) -> Result<Parts, MemoryError> {
    let (framework_heap, framework_off_heap, task_off_heap) = fixed_parts(r)?;
    let mut p = Parts {
        framework_heap,
        framework_off_heap,
        task_heap: 0,
        task_off_heap,
        managed: 0,
        network: 0,
    };
    if let Some(task_heap) = r.size(TM_TASK_HEAP)? {
        p.task_heap = task_heap;
        p.managed = managed_or_fraction(r, flink)?;
        network_as_remainder(r, &mut p, flink)?;
        return Ok(p);
    }
    p.managed = managed_or_fraction(r, flink)?;
    p.network = if uses_legacy_network(r) {
        legacy_network(r)?
    } else {
        derive_with_fraction(flink, network_range(r)?)?
    };
    let without_heap = sum(&[
        framework_heap,
        framework_off_heap,
        task_off_heap,
        p.managed,
        p.network,
    ])?;
    if without_heap > flink {
        return Err(err(
            Rule::ComponentsExceedFlink,
            None,
            format!(
                "Sum of configured Framework Heap Memory ({}), Framework Off-Heap Memory ({}), Task Off-Heap Memory ({}), Managed Memory ({}) and Network Memory ({}) exceed configured Total Flink Memory ({}).",
                readable(framework_heap),
                readable(framework_off_heap),
                readable(task_off_heap),
                readable(p.managed),
                readable(p.network),
                readable(flink)
            ),
        ));
    }
    p.task_heap = flink - without_heap;
    Ok(p)
}

fn total(p: &Parts) -> Result<u64, MemoryError> {
    sum(&[
        p.framework_heap,
        p.framework_off_heap,
        p.task_heap,
        p.task_off_heap,
        p.managed,
        p.network,
    ])
}

/// `ProcessMemoryUtils.memoryProcessSpecFromConfig` for the TaskManager.
fn derive(r: &Reader<'_>) -> Result<(Parts, Jvm), MemoryError> {
    if r.contains(TM_TASK_HEAP) && r.contains(TM_MANAGED) {
        let parts = from_fine_grained(r)?;
        let jvm = jvm_from_total_flink(r, &TM_KEYS, total(&parts)?)?;
        Ok((parts, jvm))
    } else if let Some(flink) = r.size(TM_FLINK)? {
        let parts = from_total_flink(r, flink)?;
        Ok((parts, jvm_from_total_flink(r, &TM_KEYS, flink)?))
    } else if let Some(process) = r.size(TM_KEYS.process)? {
        let jvm = jvm_from_process(r, &TM_KEYS, process)?;
        let flink = subtract(process, sum(&[jvm.metaspace, jvm.overhead])?)?;
        Ok((from_total_flink(r, flink)?, jvm))
    } else {
        Err(no_sizing(
            r,
            &[TM_TASK_HEAP, TM_MANAGED],
            TM_FLINK,
            TM_KEYS.process,
        ))
    }
}

/// Derives the TaskManager memory as Flink `version` does when `taskmanager.sh` starts, or
/// fails with Flink's message.
pub fn taskmanager(
    conf: &BTreeMap<String, String>,
    version: FlinkVersion,
) -> Result<TaskManagerMemory, MemoryError> {
    let conf = map_legacy_heap(conf, version, TM_FLINK, "taskmanager.heap")?;
    let r = Reader {
        conf: &conf,
        version,
    };
    let (p, jvm) = derive(&r).map_err(|e| e.within("TaskManager"))?;
    let flink = total(&p)?;
    Ok(TaskManagerMemory {
        framework_heap: p.framework_heap,
        task_heap: p.task_heap,
        managed: p.managed,
        network: p.network,
        framework_off_heap: p.framework_off_heap,
        task_off_heap: p.task_off_heap,
        metaspace: jvm.metaspace,
        overhead: jvm.overhead,
        flink,
        process: sum(&[flink, jvm.metaspace, jvm.overhead])?,
    })
}
