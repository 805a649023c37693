//! Which of Flink's memory rules a configuration broke, and the error that says so: apart so
//! that every step of the derivation reports failures the same way, and callers (the pre-check,
//! the simulator) can tell the rules apart.

use std::fmt;

/// Which of Flink's memory rules a configuration broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rule {
    /// None of the three ways of sizing the process is configured.
    NoSizing,
    /// A size, fraction or count cannot be parsed.
    UnreadableValue,
    /// Process and Flink size both set, and the derived JVM overhead is outside `[min, max]`.
    OverheadOutOfRange,
    /// Process and Flink size both set, and Flink memory + metaspace exceed the process size.
    FlinkPlusMetaspaceExceedProcess,
    /// Process size only: metaspace + JVM overhead exceed the process size.
    MetaspacePlusOverheadExceedProcess,
    /// The components of the total Flink memory add up to more than it.
    ComponentsExceedFlink,
    /// Network memory derived as a remainder is outside the configured network range, or does
    /// not match the legacy buffer count.
    NetworkOutOfRange,
    /// A `min` is larger than its `max`.
    RangeMinAboveMax,
    /// A fraction is outside `[0, 1)`.
    FractionOutOfRange,
    /// A size or count that must be positive is not.
    NonPositive,
    /// The memory segment size is not a power of two of at least 4 KiB.
    InvalidSegmentSize,
}

/// A configuration Flink refuses to start with.
#[derive(Debug, Clone, PartialEq)]
pub struct MemoryError {
    pub rule: Rule,
    /// The offending key, when one key is to blame.
    pub key: Option<String>,
    /// Flink-like message (`IllegalConfigurationException` text).
    pub message: String,
}

impl fmt::Display for MemoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for MemoryError {}

pub(super) fn err(rule: Rule, key: Option<&str>, message: String) -> MemoryError {
    MemoryError {
        rule,
        key: key.map(str::to_string),
        message,
    }
}
