//! The JobManager's memory, derived as Flink does when `jobmanager.sh` starts
//! (`JobManagerProcessUtils`, `JobManagerFlinkMemoryUtils`): heap, total-Flink or
//! total-process sizing, off-heap memory, and the JVM's share.

use std::collections::BTreeMap;

use crate::conf::FlinkVersion;
use crate::memory::error::{MemoryError, Rule, err};
use crate::memory::jvm::{JM_KEYS, Jvm, jvm_from_process, jvm_from_total_flink, no_sizing};
use crate::memory::legacy::map_legacy_heap;
use crate::memory::options::{Reader, subtract, sum};
use crate::memory::size::{MIB, readable};

/// Derived JobManager memory, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobManagerMemory {
    pub heap: u64,
    pub off_heap: u64,
    pub metaspace: u64,
    pub overhead: u64,
    pub flink: u64,
    pub process: u64,
}

impl JobManagerMemory {
    /// Each component under Flink's option name (`…jvm-overhead.size` for the overhead).
    pub fn entries(&self) -> [(&'static str, u64); 6] {
        [
            ("jobmanager.memory.heap.size", self.heap),
            ("jobmanager.memory.off-heap.size", self.off_heap),
            ("jobmanager.memory.jvm-metaspace.size", self.metaspace),
            ("jobmanager.memory.jvm-overhead.size", self.overhead),
            ("jobmanager.memory.flink.size", self.flink),
            ("jobmanager.memory.process.size", self.process),
        ]
    }
}

const JM_FLINK: &str = "jobmanager.memory.flink.size";
const JM_HEAP: &str = "jobmanager.memory.heap.size";
const JM_OFF_HEAP: &str = "jobmanager.memory.off-heap.size";
const OFF_HEAP_DEFAULT: u64 = 128 * MIB;

/// Heap sizing: the off-heap memory is configured, or the rest of an explicit total Flink
/// memory. Returns (heap, off-heap).
fn from_heap(r: &Reader<'_>) -> Result<(u64, u64), MemoryError> {
    let heap = r.size(JM_HEAP)?.unwrap_or_default();
    let off_heap = r.size_or(JM_OFF_HEAP, OFF_HEAP_DEFAULT)?;
    let Some(flink) = r.size(JM_FLINK)? else {
        return Ok((heap, off_heap));
    };
    if r.contains(JM_OFF_HEAP) {
        if sum(&[heap, off_heap])? != flink {
            return Err(err(
                Rule::ComponentsExceedFlink,
                Some(JM_FLINK),
                format!(
                    "Sum of the configured JVM Heap Memory ({}) and the configured Off-heap Memory ({}) does not match the configured Total Flink Memory ({}). Please, make the configuration consistent or configure only one option: either JVM Heap or Total Flink Memory.",
                    readable(heap),
                    readable(off_heap),
                    readable(flink)
                ),
            ));
        }
        return Ok((heap, off_heap));
    }
    if heap > flink {
        return Err(err(
            Rule::ComponentsExceedFlink,
            Some(JM_FLINK),
            format!(
                "The configured JVM Heap Memory ({}) exceeds the configured Total Flink Memory ({}). Please, make the configuration consistent or configure only one option: either JVM Heap or Total Flink Memory.",
                readable(heap),
                readable(flink)
            ),
        ));
    }
    Ok((heap, flink - heap))
}

/// The heap when the total Flink memory is known: what off-heap memory leaves of it.
fn from_total_flink(r: &Reader<'_>, flink: u64) -> Result<(u64, u64), MemoryError> {
    let off_heap = r.size_or(JM_OFF_HEAP, OFF_HEAP_DEFAULT)?;
    if flink < off_heap {
        return Err(err(
            Rule::ComponentsExceedFlink,
            Some(JM_OFF_HEAP),
            format!(
                "The configured Total Flink Memory ({}) is less than the configured Off-heap Memory ({}).",
                readable(flink),
                readable(off_heap)
            ),
        ));
    }
    Ok((flink - off_heap, off_heap))
}

/// `ProcessMemoryUtils.memoryProcessSpecFromConfig` for the JobManager.
fn derive(r: &Reader<'_>) -> Result<((u64, u64), Jvm), MemoryError> {
    if r.contains(JM_HEAP) {
        let (heap, off_heap) = from_heap(r)?;
        let jvm = jvm_from_total_flink(r, &JM_KEYS, sum(&[heap, off_heap])?)?;
        Ok(((heap, off_heap), jvm))
    } else if let Some(flink) = r.size(JM_FLINK)? {
        let parts = from_total_flink(r, flink)?;
        Ok((parts, jvm_from_total_flink(r, &JM_KEYS, flink)?))
    } else if let Some(process) = r.size(JM_KEYS.process)? {
        let jvm = jvm_from_process(r, &JM_KEYS, process)?;
        let flink = subtract(process, sum(&[jvm.metaspace, jvm.overhead])?)?;
        Ok((from_total_flink(r, flink)?, jvm))
    } else {
        Err(no_sizing(r, &[JM_HEAP], JM_FLINK, JM_KEYS.process))
    }
}

/// Derives the JobManager memory as Flink `version` does when `jobmanager.sh` starts, or
/// fails with Flink's message.
pub fn jobmanager(
    conf: &BTreeMap<String, String>,
    version: FlinkVersion,
) -> Result<JobManagerMemory, MemoryError> {
    let derived = map_legacy_heap(conf, version, JM_HEAP, "jobmanager.heap").and_then(|conf| {
        let r = Reader {
            conf: &conf,
            version,
        };
        derive(&r)
    });
    // Flink 2.x reports the JobManager's errors as they are, 1.x wraps them.
    let ((heap, off_heap), jvm) = if version.major >= 2 {
        derived?
    } else {
        derived.map_err(|e| e.within("JobManager"))?
    };
    let flink = sum(&[heap, off_heap])?;
    Ok(JobManagerMemory {
        heap,
        off_heap,
        metaspace: jvm.metaspace,
        overhead: jvm.overhead,
        flink,
        process: sum(&[flink, jvm.metaspace, jvm.overhead])?,
    })
}
