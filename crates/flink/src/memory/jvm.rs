//! The JVM's share of a process, shared by the TaskManager and the JobManager (Flink's
//! `ProcessMemoryUtils`): metaspace and JVM overhead, derived from the total Flink memory or
//! from the total process size, and the error when no sizing is configured.

use crate::memory::error::{MemoryError, Rule, err};
use crate::memory::options::{
    RangeFraction, Reader, derive_with_fraction, derive_with_inverse_fraction, range_fraction,
};
use crate::memory::size::{MIB, human};

pub(super) struct ProcessKeys {
    pub(super) process: &'static str,
    pub(super) metaspace: &'static str,
    pub(super) overhead_min: &'static str,
    pub(super) overhead_max: &'static str,
    pub(super) overhead_fraction: &'static str,
}

pub(super) const TM_KEYS: ProcessKeys = ProcessKeys {
    process: "taskmanager.memory.process.size",
    metaspace: "taskmanager.memory.jvm-metaspace.size",
    overhead_min: "taskmanager.memory.jvm-overhead.min",
    overhead_max: "taskmanager.memory.jvm-overhead.max",
    overhead_fraction: "taskmanager.memory.jvm-overhead.fraction",
};

pub(super) const JM_KEYS: ProcessKeys = ProcessKeys {
    process: "jobmanager.memory.process.size",
    metaspace: "jobmanager.memory.jvm-metaspace.size",
    overhead_min: "jobmanager.memory.jvm-overhead.min",
    overhead_max: "jobmanager.memory.jvm-overhead.max",
    overhead_fraction: "jobmanager.memory.jvm-overhead.fraction",
};

fn overhead_range(r: &Reader<'_>, k: &ProcessKeys) -> Result<RangeFraction, MemoryError> {
    range_fraction(
        r,
        k.overhead_min,
        192.0 * MIB,
        k.overhead_max,
        1024.0 * MIB,
        k.overhead_fraction,
        0.1,
    )
}

/// Metaspace and overhead when the total Flink memory is known (fine-grained or flink-size
/// sizing): overhead is the rest of an explicit process size, or derived by inverse fraction.
pub(super) fn jvm_from_total_flink(
    r: &Reader<'_>,
    k: &ProcessKeys,
    flink: f64,
) -> Result<(f64, f64), MemoryError> {
    let metaspace = r.size_or(k.metaspace, 256.0 * MIB)?;
    match r.size(k.process)? {
        Some(process) => {
            if process < flink + metaspace {
                return Err(err(
                    Rule::FlinkPlusMetaspaceExceedProcess,
                    Some(k.process),
                    format!(
                        "The configured Total Process Memory size ({}) is less than the sum of the derived Total Flink Memory size ({}) and the configured or default JVM Metaspace size ({}).",
                        human(process),
                        human(flink),
                        human(metaspace)
                    ),
                ));
            }
            let overhead = process - flink - metaspace;
            let range = overhead_range(r, k)?;
            if overhead < range.min || overhead > range.max {
                return Err(err(
                    Rule::OverheadOutOfRange,
                    Some(k.process),
                    format!(
                        "Derived JVM Overhead size ({}) is not in configured JVM Overhead range [{}, {}].",
                        human(overhead),
                        human(range.min),
                        human(range.max)
                    ),
                ));
            }
            Ok((metaspace, overhead))
        }
        None => {
            let range = overhead_range(r, k)?;
            let overhead = derive_with_inverse_fraction(flink + metaspace, range);
            Ok((metaspace, overhead))
        }
    }
}

/// Metaspace and overhead from the total process size alone.
pub(super) fn jvm_from_process(
    r: &Reader<'_>,
    k: &ProcessKeys,
    process: f64,
) -> Result<(f64, f64), MemoryError> {
    let metaspace = r.size_or(k.metaspace, 256.0 * MIB)?;
    let range = overhead_range(r, k)?;
    let overhead = derive_with_fraction(process, range);
    if metaspace + overhead > process {
        return Err(err(
            Rule::MetaspacePlusOverheadExceedProcess,
            Some(k.process),
            format!(
                "Sum of configured JVM Metaspace ({}) and JVM Overhead ({}) exceed configured Total Process Memory ({}).",
                human(metaspace),
                human(overhead),
                human(process)
            ),
        ));
    }
    Ok((metaspace, overhead))
}

pub(super) fn no_sizing(fine_grained: &str, flink: &str, process: &str) -> MemoryError {
    err(
        Rule::NoSizing,
        None,
        format!(
            "Either required fine-grained memory ({fine_grained}), or Total Flink Memory size (Key: '{flink}'), or Total Process Memory size (Key: '{process}') need to be configured explicitly."
        ),
    )
}
