//! The JVM's share of a process, shared by the TaskManager and the JobManager (Flink's
//! `ProcessMemoryUtils`): metaspace and JVM overhead, derived from the total Flink memory or
//! from the total process size, and the error when no sizing is configured.

use crate::memory::error::{MemoryError, Rule, err};
use crate::memory::options::{
    RangeFraction, RangeKeys, Reader, derive_with_fraction, derive_with_inverse_fraction,
    range_fraction, sum,
};
use crate::memory::size::{GIB, MIB, readable};

pub(super) struct ProcessKeys {
    pub(super) process: &'static str,
    pub(super) metaspace: (&'static str, u64),
    pub(super) overhead: RangeKeys,
}

pub(super) const TM_KEYS: ProcessKeys = ProcessKeys {
    process: "taskmanager.memory.process.size",
    metaspace: ("taskmanager.memory.jvm-metaspace.size", 256 * MIB),
    overhead: RangeKeys {
        min: ("taskmanager.memory.jvm-overhead.min", 192 * MIB),
        max: ("taskmanager.memory.jvm-overhead.max", GIB),
        fraction: ("taskmanager.memory.jvm-overhead.fraction", 0.1),
    },
};

pub(super) const JM_KEYS: ProcessKeys = ProcessKeys {
    process: "jobmanager.memory.process.size",
    metaspace: ("jobmanager.memory.jvm-metaspace.size", 256 * MIB),
    overhead: RangeKeys {
        min: ("jobmanager.memory.jvm-overhead.min", 192 * MIB),
        max: ("jobmanager.memory.jvm-overhead.max", GIB),
        fraction: ("jobmanager.memory.jvm-overhead.fraction", 0.1),
    },
};

/// Metaspace and JVM overhead, in bytes.
#[derive(Clone, Copy)]
pub(super) struct Jvm {
    pub(super) metaspace: u64,
    pub(super) overhead: u64,
}

fn overhead_range(r: &Reader<'_>, k: &ProcessKeys) -> Result<RangeFraction, MemoryError> {
    range_fraction(r, &k.overhead)
}

/// Metaspace and overhead when the total Flink memory is known (fine-grained or flink-size
/// sizing): overhead is the rest of an explicit process size, or derived by inverse fraction.
pub(super) fn jvm_from_total_flink(
    r: &Reader<'_>,
    k: &ProcessKeys,
    flink: u64,
) -> Result<Jvm, MemoryError> {
    let metaspace = r.size_or(k.metaspace.0, k.metaspace.1)?;
    let flink_and_metaspace = sum(&[flink, metaspace])?;
    let Some(process) = r.size(k.process)? else {
        let overhead = derive_with_inverse_fraction(flink_and_metaspace, overhead_range(r, k)?)?;
        return Ok(Jvm {
            metaspace,
            overhead,
        });
    };
    if process < flink_and_metaspace {
        return Err(err(
            Rule::FlinkPlusMetaspaceExceedProcess,
            Some(k.process),
            format!(
                "The configured Total Process Memory size ({}) is less than the sum of the derived Total Flink Memory size ({}) and the configured or default JVM Metaspace size  ({}).",
                readable(process),
                readable(flink),
                readable(metaspace)
            ),
        ));
    }
    let overhead = process - flink_and_metaspace;
    let range = overhead_range(r, k)?;
    if overhead < range.min || overhead > range.max {
        return Err(err(
            Rule::OverheadOutOfRange,
            Some(k.process),
            format!(
                "Derived JVM Overhead size ({}) is not in configured JVM Overhead range [{}, {}].",
                readable(overhead),
                readable(range.min),
                readable(range.max)
            ),
        ));
    }
    Ok(Jvm {
        metaspace,
        overhead,
    })
}

/// Metaspace and overhead from the total process size alone.
pub(super) fn jvm_from_process(
    r: &Reader<'_>,
    k: &ProcessKeys,
    process: u64,
) -> Result<Jvm, MemoryError> {
    let metaspace = r.size_or(k.metaspace.0, k.metaspace.1)?;
    let overhead = derive_with_fraction(process, overhead_range(r, k)?)?;
    if sum(&[metaspace, overhead])? > process {
        return Err(err(
            Rule::MetaspacePlusOverheadExceedProcess,
            Some(k.process),
            format!(
                "Sum of configured JVM Metaspace ({}) and JVM Overhead ({}) exceed configured Total Process Memory ({}).",
                readable(metaspace),
                readable(overhead),
                readable(process)
            ),
        ));
    }
    Ok(Jvm {
        metaspace,
        overhead,
    })
}

/// Flink's error when none of the ways of sizing a process is configured (`fine_grained`:
/// the options that together size it).
pub(super) fn no_sizing(
    r: &Reader<'_>,
    fine_grained: &[&str],
    flink: &str,
    process: &str,
) -> MemoryError {
    err(
        Rule::NoSizing,
        None,
        format!(
            "Either required fine-grained memory ({}), or Total Flink Memory size ({}), or Total Process Memory size ({}) need to be configured explicitly.",
            fine_grained.join(" and "),
            r.describe(flink, "null"),
            r.describe(process, "null")
        ),
    )
}
