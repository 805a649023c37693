//! The TaskManager's network memory: the memory segment (network buffer) size, the network
//! fraction range, the legacy buffer count, and the check that network memory left over from an
//! explicit total Flink memory agrees with them. Apart from `taskmanager` because the segment
//! size is read on its own (the simulator sizes buffers with it) and the legacy rules are
//! intricate enough to read by themselves.

use std::collections::BTreeMap;

use crate::conf::FlinkVersion;
use crate::memory::error::{MemoryError, Rule, err};
use crate::memory::options::{
    RangeFraction, RangeKeys, Reader, network_max_default, range_fraction,
};
use crate::memory::size::{KIB, MIB};

const TM_NET_MIN: &str = "taskmanager.memory.network.min";
const TM_NET_MAX: &str = "taskmanager.memory.network.max";
const TM_NET_FRACTION: &str = "taskmanager.memory.network.fraction";
const TM_NUM_BUFFERS: &str = "taskmanager.network.numberOfBuffers";
const TM_SEGMENT: &str = "taskmanager.memory.segment-size";

/// The memory segment (network buffer) size in bytes, validated as Flink's
/// `ConfigurationParserUtils.getPageSize` does when a TaskManager starts.
pub fn segment_size_bytes(
    conf: &BTreeMap<String, String>,
    version: FlinkVersion,
) -> Result<u64, MemoryError> {
    page_size(&Reader { conf, version })
}

fn page_size(r: &Reader<'_>) -> Result<u64, MemoryError> {
    let page = r.size_or(TM_SEGMENT, 32 * KIB)?;
    let invalid = |why: &str| {
        err(
            Rule::InvalidSegmentSize,
            Some(TM_SEGMENT),
            format!("Invalid configuration value for {TM_SEGMENT} : {page} - {why}"),
        )
    };
    if page < 4096 {
        return Err(invalid("Minimum memory segment size is 4096"));
    }
    if page > i32::MAX as u64 || !page.is_power_of_two() {
        return Err(invalid("Memory segment size must be a power of 2."));
    }
    Ok(page)
}

/// Whether Flink sizes network memory by the legacy buffer count: only when it is set and
/// none of the network fraction/min/max options is (and only before 2.0 removed it).
pub(super) fn uses_legacy_network(r: &Reader<'_>) -> bool {
    r.version.major < 2
        && r.contains(TM_NUM_BUFFERS)
        && !r.contains(TM_NET_MIN)
        && !r.contains(TM_NET_MAX)
        && !r.contains(TM_NET_FRACTION)
}

pub(super) fn legacy_network(r: &Reader<'_>) -> Result<u64, MemoryError> {
    let buffers = r.integer(TM_NUM_BUFFERS, 2048)?;
    let page = page_size(r)?;
    u64::try_from(buffers).map(|b| b * page).map_err(|_| {
        err(
            Rule::InvalidArithmetic,
            Some(TM_NUM_BUFFERS),
            "bytes must be >= 0".to_string(),
        )
    })
}

pub(super) fn network_range(r: &Reader<'_>) -> Result<RangeFraction, MemoryError> {
    let keys = RangeKeys {
        min: (TM_NET_MIN, 64 * MIB),
        max: (TM_NET_MAX, network_max_default(r.version)),
        fraction: (TM_NET_FRACTION, 0.1),
    };
    range_fraction(r, &keys)
}

/// Network memory that is the remainder of an explicit total Flink memory must agree with the
/// network configuration. Flink's message names the rule only (the sizes are in its cause,
/// which the start-up scripts do not print); flinktune's `key` points at the network options.
pub(super) fn check_remainder_network(r: &Reader<'_>, network: u64) -> Result<(), MemoryError> {
    let (key, consistent) = if uses_legacy_network(r) {
        (TM_NUM_BUFFERS, legacy_network(r).map(|n| n == network))
    } else {
        let range = network_range(r);
        let within = range.map(|range| (range.min..=range.max).contains(&network));
        (TM_NET_FRACTION, within)
    };
    let inconsistent = err(
        Rule::NetworkOutOfRange,
        Some(key),
        "If Total Flink, Task Heap and (or) Managed Memory sizes are explicitly configured then the Network Memory size is the rest of the Total Flink memory after subtracting all other configured types of memory, but the derived Network Memory is inconsistent with its configuration.".to_string(),
    );
    match consistent {
        Ok(true) => Ok(()),
        Ok(false) => Err(inconsistent),
        // Flink wraps its configuration errors in this one, but not its argument errors.
        Err(e) if e.is_argument_error() => Err(e),
        Err(_) => Err(inconsistent),
    }
}
