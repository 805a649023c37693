//! The TaskManager's network memory: the memory segment (network buffer) size, the network
//! fraction range, the legacy buffer count, and the check that network memory left over from an
//! explicit total Flink memory agrees with them. Apart from `taskmanager` because the segment
//! size is read on its own (the simulator sizes buffers with it) and the legacy rules are
//! intricate enough to read by themselves.

use std::collections::BTreeMap;

use crate::memory::error::{MemoryError, Rule, err};
use crate::memory::options::{RangeFraction, Reader, range_fraction};
use crate::memory::size::{KIB, MIB, human};

const TM_NET_MIN: &str = "taskmanager.memory.network.min";
const TM_NET_MAX: &str = "taskmanager.memory.network.max";
const TM_NET_FRACTION: &str = "taskmanager.memory.network.fraction";
const TM_NUM_BUFFERS: &str = "taskmanager.network.numberOfBuffers";
const TM_SEGMENT: &str = "taskmanager.memory.segment-size";

/// The memory segment (network buffer) size in bytes, validated as Flink's
/// `ConfigurationParserUtils.getPageSize` does.
pub fn segment_size_bytes(conf: &BTreeMap<String, String>) -> Result<f64, MemoryError> {
    let r = Reader { conf };
    let page = r.size_or(TM_SEGMENT, 32.0 * KIB)?;
    if page < 4096.0 {
        return Err(err(
            Rule::InvalidSegmentSize,
            Some(TM_SEGMENT),
            format!(
                "Invalid configuration value for {TM_SEGMENT} : {page} - Minimum memory segment size is 4096"
            ),
        ));
    }
    if page > f64::from(i32::MAX) || !(page as u64).is_power_of_two() {
        return Err(err(
            Rule::InvalidSegmentSize,
            Some(TM_SEGMENT),
            format!(
                "Invalid configuration value for {TM_SEGMENT} : {page} - Memory segment size must be a power of 2."
            ),
        ));
    }
    Ok(page)
}

pub(super) fn uses_legacy_network(r: &Reader<'_>) -> bool {
    r.contains(TM_NUM_BUFFERS)
        && !r.contains(TM_NET_MIN)
        && !r.contains(TM_NET_MAX)
        && !r.contains(TM_NET_FRACTION)
}

pub(super) fn legacy_network(r: &Reader<'_>) -> Result<f64, MemoryError> {
    let buffers = r.integer(TM_NUM_BUFFERS)?.unwrap_or(2048);
    if buffers < 0 {
        return Err(err(
            Rule::NonPositive,
            Some(TM_NUM_BUFFERS),
            format!(
                "Invalid configuration value for {TM_NUM_BUFFERS} : {buffers} - bytes must be >= 0"
            ),
        ));
    }
    Ok(buffers as f64 * segment_size_bytes(r.conf)?)
}

pub(super) fn network_range(r: &Reader<'_>) -> Result<RangeFraction, MemoryError> {
    range_fraction(
        r,
        TM_NET_MIN,
        64.0 * MIB,
        TM_NET_MAX,
        1024.0 * MIB,
        TM_NET_FRACTION,
        0.1,
    )
}

/// Network memory that is the remainder of an explicit total Flink memory must agree with the
/// network configuration.
pub(super) fn check_remainder_network(r: &Reader<'_>, network: f64) -> Result<(), MemoryError> {
    let prefix = "If Total Flink, Task Heap and (or) Managed Memory sizes are explicitly configured then the Network Memory size is the rest of the Total Flink memory after subtracting all other configured types of memory, but the derived Network Memory is inconsistent with its configuration.";
    if uses_legacy_network(r) {
        let configured = legacy_network(r)?;
        if configured != network {
            return Err(err(
                Rule::NetworkOutOfRange,
                Some(TM_NUM_BUFFERS),
                format!(
                    "{prefix} Derived Network Memory size ({}) does not match configured Network Memory size ({}).",
                    human(network),
                    human(configured)
                ),
            ));
        }
    } else {
        let range = network_range(r)?;
        if network < range.min || network > range.max {
            return Err(err(
                Rule::NetworkOutOfRange,
                Some(TM_NET_FRACTION),
                format!(
                    "{prefix} Derived Network Memory size ({}) is not in configured Network Memory range [{}, {}].",
                    human(network),
                    human(range.min),
                    human(range.max)
                ),
            ));
        }
    }
    Ok(())
}
