//! Which of Flink's memory rules a configuration broke, and the error that says so, worded as
//! Flink words it: apart so that every step of the derivation reports failures the same way,
//! and callers (the pre-check, the simulator, `flinktune memory`) can tell the rules apart.

use std::fmt;

/// Which of Flink's memory rules a configuration broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rule {
    /// None of the three ways of sizing the process is configured.
    NoSizing,
    /// A memory size cannot be parsed.
    UnreadableSize,
    /// A fraction or count cannot be parsed (Flink's `IllegalArgumentException`, which it
    /// does not wrap in "memory configuration failed").
    UnreadableNumber,
    /// A derived size would be negative or overflow (also an `IllegalArgumentException`).
    InvalidArithmetic,
    /// Process and Flink size both set, and Flink memory + metaspace exceed the process size.
    FlinkPlusMetaspaceExceedProcess,
    /// Process and Flink size both set, and the derived JVM overhead is outside `[min, max]`.
    OverheadOutOfRange,
    /// Process size only: metaspace + JVM overhead exceed the process size.
    MetaspacePlusOverheadExceedProcess,
    /// The components of the total Flink memory add up to more (or other) than it.
    ComponentsExceedFlink,
    /// Network memory derived as a remainder is outside the configured network range, or does
    /// not match the legacy buffer count.
    NetworkOutOfRange,
    /// A `min` is larger than its `max`, or a fraction is outside `[0, 1)`.
    InconsistentRange,
    /// The memory segment size is not a power of two of at least 4 KiB.
    InvalidSegmentSize,
}

/// A configuration Flink refuses to start with.
#[derive(Debug, Clone, PartialEq)]
pub struct MemoryError {
    pub rule: Rule,
    /// The offending key, when one key is to blame.
    pub key: Option<String>,
    /// The message of the exception Flink's start-up throws, word for word.
    pub message: String,
}

impl fmt::Display for MemoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for MemoryError {}

impl MemoryError {
    /// Whether Flink raises this as an `IllegalArgumentException` rather than an
    /// `IllegalConfigurationException`.
    pub(super) fn is_argument_error(&self) -> bool {
        matches!(self.rule, Rule::UnreadableNumber | Rule::InvalidArithmetic)
    }

    /// The message as the process's start-up reports it: Flink wraps every
    /// `IllegalConfigurationException` in "TaskManager memory configuration failed: …" (or
    /// the JobManager's), but lets argument errors through as they are.
    pub(super) fn within(mut self, process: &str) -> MemoryError {
        if !self.is_argument_error() {
            self.message = format!("{process} memory configuration failed: {}", self.message);
        }
        self
    }
}

pub(super) fn err(rule: Rule, key: Option<&str>, message: String) -> MemoryError {
    MemoryError {
        rule,
        key: key.map(str::to_string),
        message,
    }
}
