//! The JobManager's memory, derived as Flink does when `jobmanager.sh` starts
//! (`JobManagerFlinkMemoryUtils`): heap, total-Flink or total-process sizing, off-heap memory,
//! and the JVM's share.

use std::collections::BTreeMap;

use crate::memory::error::{MemoryError, Rule, err};
use crate::memory::jvm::{JM_KEYS, jvm_from_process, jvm_from_total_flink, no_sizing};
use crate::memory::options::Reader;
use crate::memory::size::{MIB, human};

/// Derived JobManager memory, in MiB.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JobManagerMemory {
    pub process_mb: f64,
    pub flink_mb: f64,
    pub heap_mb: f64,
    pub off_heap_mb: f64,
    pub metaspace_mb: f64,
    pub overhead_mb: f64,
}

const JM_FLINK: &str = "jobmanager.memory.flink.size";
const JM_HEAP: &str = "jobmanager.memory.heap.size";
const JM_OFF_HEAP: &str = "jobmanager.memory.off-heap.size";

/// Derives the JobManager memory as Flink does when `jobmanager.sh` starts.
pub fn jobmanager(conf: &BTreeMap<String, String>) -> Result<JobManagerMemory, MemoryError> {
    let r = Reader { conf };
    let off_heap = r.size_or(JM_OFF_HEAP, 128.0 * MIB)?;
    let heap_key = if !r.contains(JM_HEAP)
        && !r.contains(JM_FLINK)
        && !r.contains(JM_KEYS.process)
        && r.contains("jobmanager.heap.size")
    {
        "jobmanager.heap.size"
    } else {
        JM_HEAP
    };
    let heap = r.size(heap_key)?;
    let flink_size = r.size(JM_FLINK)?;
    let process_size = r.size(JM_KEYS.process)?;

    let (flink, heap, metaspace, overhead) = if let Some(heap) = heap {
        let flink = flink_from_heap(heap, off_heap, flink_size)?;
        let (metaspace, overhead) = jvm_from_total_flink(&r, &JM_KEYS, flink)?;
        (flink, heap, metaspace, overhead)
    } else if let Some(flink) = flink_size {
        let heap = heap_from_total_flink(flink, off_heap)?;
        let (metaspace, overhead) = jvm_from_total_flink(&r, &JM_KEYS, flink)?;
        (flink, heap, metaspace, overhead)
    } else if let Some(process) = process_size {
        let (metaspace, overhead) = jvm_from_process(&r, &JM_KEYS, process)?;
        let flink = process - metaspace - overhead;
        let heap = heap_from_total_flink(flink, off_heap)?;
        (flink, heap, metaspace, overhead)
    } else {
        return Err(no_sizing(JM_HEAP, JM_FLINK, JM_KEYS.process));
    };

    Ok(JobManagerMemory {
        process_mb: (flink + metaspace + overhead) / MIB,
        flink_mb: flink / MIB,
        heap_mb: heap / MIB,
        off_heap_mb: off_heap / MIB,
        metaspace_mb: metaspace / MIB,
        overhead_mb: overhead / MIB,
    })
}

/// Heap sizing: the total Flink memory is heap plus off-heap, and must equal an explicit one.
fn flink_from_heap(heap: f64, off_heap: f64, flink_size: Option<f64>) -> Result<f64, MemoryError> {
    let flink = heap + off_heap;
    if let Some(configured) = flink_size
        && configured != flink
    {
        return Err(err(
            Rule::ComponentsExceedFlink,
            Some(JM_FLINK),
            format!(
                "Sum of the configured JVM Heap Memory ({}) and the configured or default Off-heap Memory ({}) exceeds the configured Total Flink Memory ({}). Please, make the configuration consistent or configure only one option: either JVM Heap or Total Flink Memory.",
                human(heap),
                human(off_heap),
                human(configured)
            ),
        ));
    }
    Ok(flink)
}

/// The heap when the total Flink memory is known: what off-heap memory leaves of it.
fn heap_from_total_flink(flink: f64, off_heap: f64) -> Result<f64, MemoryError> {
    if flink <= off_heap {
        return Err(err(
            Rule::ComponentsExceedFlink,
            Some(JM_OFF_HEAP),
            format!(
                "The configured Total Flink Memory ({}) is less than the configured Off-heap Memory ({}).",
                human(flink),
                human(off_heap)
            ),
        ));
    }
    Ok(flink - off_heap)
}
