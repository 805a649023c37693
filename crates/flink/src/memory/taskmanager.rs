//! The TaskManager's memory, derived as Flink does when `taskmanager.sh` starts
//! (`TaskExecutorFlinkMemoryUtils`): fine-grained, total-Flink or total-process sizing, the
//! framework, task, managed and network components, and the JVM's share.

use std::collections::BTreeMap;

use crate::memory::error::{MemoryError, Rule, err};
use crate::memory::jvm::{TM_KEYS, jvm_from_process, jvm_from_total_flink, no_sizing};
use crate::memory::network::{
    check_remainder_network, legacy_network, network_range, segment_size_bytes, uses_legacy_network,
};
use crate::memory::options::{
    RangeFraction, Reader, derive_with_fraction, derive_with_inverse_fraction,
};
use crate::memory::size::{MIB, human};

/// Derived TaskManager memory, in MiB.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TaskManagerMemory {
    pub process_mb: f64,
    pub flink_mb: f64,
    pub framework_heap_mb: f64,
    pub framework_off_heap_mb: f64,
    pub task_heap_mb: f64,
    pub task_off_heap_mb: f64,
    pub managed_mb: f64,
    pub network_mb: f64,
    pub metaspace_mb: f64,
    pub overhead_mb: f64,
}

impl TaskManagerMemory {
    /// JVM heap (`-Xmx`): framework heap + task heap.
    pub fn jvm_heap_mb(&self) -> f64 {
        self.framework_heap_mb + self.task_heap_mb
    }
}

const TM_FLINK: &str = "taskmanager.memory.flink.size";
const TM_TASK_HEAP: &str = "taskmanager.memory.task.heap.size";
const TM_MANAGED: &str = "taskmanager.memory.managed.size";

struct TmParts {
    framework_heap: f64,
    framework_off_heap: f64,
    task_off_heap: f64,
}

fn managed_range(r: &Reader<'_>) -> Result<RangeFraction, MemoryError> {
    let fraction = r.fraction("taskmanager.memory.managed.fraction", 0.4)?;
    if !(0.0..1.0).contains(&fraction) {
        return Err(err(
            Rule::FractionOutOfRange,
            Some("taskmanager.memory.managed.fraction"),
            format!(
                "Inconsistently configured taskmanager.memory.managed.fraction ({fraction}) and its min (0b), max (8388608tb) value: fraction must be in range [0, 1)"
            ),
        ));
    }
    Ok(RangeFraction {
        min: 0.0,
        max: f64::MAX,
        fraction,
    })
}

fn exceed_flink_with_heap(p: &TmParts, task_heap: f64, managed: f64, flink: f64) -> MemoryError {
    err(
        Rule::ComponentsExceedFlink,
        None,
        format!(
            "Sum of configured Framework Heap Memory ({}), Framework Off-Heap Memory ({}), Task Heap Memory ({}), Task Off-Heap Memory ({}) and Managed Memory ({}) exceed configured Total Flink Memory ({}).",
            human(p.framework_heap),
            human(p.framework_off_heap),
            human(task_heap),
            human(p.task_off_heap),
            human(managed),
            human(flink)
        ),
    )
}

/// `deriveFromTotalFlinkMemory`: returns (task heap, managed, network).
fn tm_from_total_flink(
    r: &Reader<'_>,
    p: &TmParts,
    flink: f64,
) -> Result<(f64, f64, f64), MemoryError> {
    let managed = match r.size(TM_MANAGED)? {
        Some(m) => m,
        None => derive_with_fraction(flink, managed_range(r)?),
    };
    if let Some(task_heap) = r.size(TM_TASK_HEAP)? {
        let without_network =
            p.framework_heap + p.framework_off_heap + task_heap + p.task_off_heap + managed;
        if without_network > flink {
            return Err(exceed_flink_with_heap(p, task_heap, managed, flink));
        }
        let network = flink - without_network;
        check_remainder_network(r, network)?;
        Ok((task_heap, managed, network))
    } else {
        let network = if uses_legacy_network(r) {
            legacy_network(r)?
        } else {
            derive_with_fraction(flink, network_range(r)?)
        };
        let without_heap =
            p.framework_heap + p.framework_off_heap + p.task_off_heap + managed + network;
        if without_heap > flink {
            return Err(err(
                Rule::ComponentsExceedFlink,
                None,
                format!(
                    "Sum of configured Framework Heap Memory ({}), Framework Off-Heap Memory ({}), Task Off-Heap Memory ({}), Managed Memory ({}) and Network Memory ({}) exceed configured Total Flink Memory ({}).",
                    human(p.framework_heap),
                    human(p.framework_off_heap),
                    human(p.task_off_heap),
                    human(managed),
                    human(network),
                    human(flink)
                ),
            ));
        }
        Ok((flink - without_heap, managed, network))
    }
}

/// Fine-grained sizing (task heap and managed memory given): returns (total Flink, network).
/// Network memory is the rest of an explicit total Flink memory, the legacy buffer count, or
/// derived by inverse fraction from the other components.
fn tm_fine_grained(
    r: &Reader<'_>,
    p: &TmParts,
    task_heap: f64,
    managed: f64,
    flink_size: Option<f64>,
) -> Result<(f64, f64), MemoryError> {
    let without_network =
        p.framework_heap + p.framework_off_heap + task_heap + p.task_off_heap + managed;
    let network = if let Some(flink) = flink_size {
        if without_network > flink {
            return Err(exceed_flink_with_heap(p, task_heap, managed, flink));
        }
        let network = flink - without_network;
        check_remainder_network(r, network)?;
        network
    } else if uses_legacy_network(r) {
        legacy_network(r)?
    } else {
        derive_with_inverse_fraction(without_network, network_range(r)?)
    };
    Ok((without_network + network, network))
}

/// Derives the TaskManager memory as Flink does when `taskmanager.sh` starts.
pub fn taskmanager(conf: &BTreeMap<String, String>) -> Result<TaskManagerMemory, MemoryError> {
    let r = Reader { conf };
    // The TaskManager always validates the segment size at start-up.
    segment_size_bytes(conf)?;
    let parts = TmParts {
        framework_heap: r.size_or("taskmanager.memory.framework.heap.size", 128.0 * MIB)?,
        framework_off_heap: r.size_or("taskmanager.memory.framework.off-heap.size", 128.0 * MIB)?,
        task_off_heap: r.size_or("taskmanager.memory.task.off-heap.size", 0.0)?,
    };
    let task_heap = r.size(TM_TASK_HEAP)?;
    let managed = r.size(TM_MANAGED)?;
    // Flink 1.11 maps the legacy `taskmanager.heap.size` to the total Flink memory when no
    // new-style size is configured.
    let flink_key = if !r.contains(TM_FLINK)
        && !r.contains(TM_KEYS.process)
        && (task_heap.is_none() || managed.is_none())
        && r.contains("taskmanager.heap.size")
    {
        "taskmanager.heap.size"
    } else {
        TM_FLINK
    };
    let flink_size = r.size(flink_key)?;
    let process_size = r.size(TM_KEYS.process)?;

    let (flink, task_heap, managed, network, metaspace, overhead) =
        if let (Some(task_heap), Some(managed)) = (task_heap, managed) {
            // Fine-grained: task heap and managed memory given.
            let (flink, network) = tm_fine_grained(&r, &parts, task_heap, managed, flink_size)?;
            let (metaspace, overhead) = jvm_from_total_flink(&r, &TM_KEYS, flink)?;
            (flink, task_heap, managed, network, metaspace, overhead)
        } else if let Some(flink) = flink_size {
            let (task_heap, managed, network) = tm_from_total_flink(&r, &parts, flink)?;
            let (metaspace, overhead) = jvm_from_total_flink(&r, &TM_KEYS, flink)?;
            (flink, task_heap, managed, network, metaspace, overhead)
        } else if let Some(process) = process_size {
            let (metaspace, overhead) = jvm_from_process(&r, &TM_KEYS, process)?;
            let flink = process - metaspace - overhead;
            let (task_heap, managed, network) = tm_from_total_flink(&r, &parts, flink)?;
            (flink, task_heap, managed, network, metaspace, overhead)
        } else {
            return Err(no_sizing(
                "taskmanager.memory.task.heap.size and taskmanager.memory.managed.size",
                TM_FLINK,
                TM_KEYS.process,
            ));
        };

    let process = flink + metaspace + overhead;
    Ok(TaskManagerMemory {
        process_mb: process / MIB,
        flink_mb: flink / MIB,
        framework_heap_mb: parts.framework_heap / MIB,
        framework_off_heap_mb: parts.framework_off_heap / MIB,
        task_heap_mb: task_heap / MIB,
        task_off_heap_mb: parts.task_off_heap / MIB,
        managed_mb: managed / MIB,
        network_mb: network / MIB,
        metaspace_mb: metaspace / MIB,
        overhead_mb: overhead / MIB,
    })
}
