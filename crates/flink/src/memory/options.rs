//! Reading memory options: a key under any of its names across Flink versions, sizes,
//! Java-`float` fractions and counts, and Flink's `RangeFraction` (a `[min, max]` range with a
//! fraction) with the truncating arithmetic Flink applies to it. Apart because both processes
//! read their options through it, and its rounding is what makes the byte counts match Flink's.

use std::collections::BTreeMap;

use crate::memory::error::{MemoryError, Rule, err};
use crate::memory::size::human;

/// Keys that name the same option across Flink versions, the preferred one first.
/// `lookup` returns the value of the first one present.
const ALIASES: &[&[&str]] = &[
    &["akka.framesize", "pekko.framesize"],
    &["akka.throughput", "pekko.throughput"],
    &[
        "execution.buffer-timeout",
        "execution.buffer-timeout.interval",
    ],
    &[
        "taskmanager.memory.network.fraction",
        "taskmanager.network.memory.fraction",
    ],
    &[
        "taskmanager.memory.network.min",
        "taskmanager.network.memory.min",
    ],
    &[
        "taskmanager.memory.network.max",
        "taskmanager.network.memory.max",
    ],
    &["taskmanager.memory.managed.size", "taskmanager.memory.size"],
];

/// Reads an option by any of its names (Flink 1.11 names and their later/earlier aliases).
pub fn lookup<'a>(conf: &'a BTreeMap<String, String>, key: &str) -> Option<&'a str> {
    match ALIASES.iter().find(|group| group.contains(&key)) {
        Some(group) => group.iter().find_map(|k| conf.get(*k)).map(|v| v.trim()),
        None => conf.get(key).map(|v| v.trim()),
    }
}

pub(super) struct Reader<'a> {
    pub(super) conf: &'a BTreeMap<String, String>,
}

impl Reader<'_> {
    pub(super) fn contains(&self, key: &str) -> bool {
        lookup(self.conf, key).is_some()
    }

    /// A memory size in bytes, `None` when absent.
    pub(super) fn size(&self, key: &str) -> Result<Option<f64>, MemoryError> {
        match lookup(self.conf, key) {
            None => Ok(None),
            Some(text) => match crate::units::parse_memory_bytes(text) {
                Ok(b) if b.is_finite() && b >= 0.0 => Ok(Some(b.floor())),
                _ => Err(err(
                    Rule::UnreadableValue,
                    Some(key),
                    format!(
                        "Cannot read memory size from config option '{key}': could not parse '{text}' as a memory size."
                    ),
                )),
            },
        }
    }

    pub(super) fn size_or(&self, key: &str, default_bytes: f64) -> Result<f64, MemoryError> {
        Ok(self.size(key)?.unwrap_or(default_bytes))
    }

    /// A fraction, read as Java's `float` (then widened), like `Configuration.getFloat`.
    pub(super) fn fraction(&self, key: &str, default: f32) -> Result<f64, MemoryError> {
        match lookup(self.conf, key) {
            None => Ok(f64::from(default)),
            Some(text) => text.parse::<f32>().map(f64::from).map_err(|_| {
                err(
                    Rule::UnreadableValue,
                    Some(key),
                    format!("Could not parse value '{text}' for key '{key}'."),
                )
            }),
        }
    }

    pub(super) fn integer(&self, key: &str) -> Result<Option<i64>, MemoryError> {
        match lookup(self.conf, key) {
            None => Ok(None),
            Some(text) => text.parse::<i64>().map(Some).map_err(|_| {
                err(
                    Rule::UnreadableValue,
                    Some(key),
                    format!("Could not parse value '{text}' for key '{key}'."),
                )
            }),
        }
    }
}

/// Flink's `RangeFraction`: min ≤ max and fraction in [0, 1).
#[derive(Clone, Copy)]
pub(super) struct RangeFraction {
    pub(super) min: f64,
    pub(super) max: f64,
    pub(super) fraction: f64,
}

pub(super) fn range_fraction(
    r: &Reader<'_>,
    min_key: &str,
    min_default: f64,
    max_key: &str,
    max_default: f64,
    fraction_key: &str,
    fraction_default: f32,
) -> Result<RangeFraction, MemoryError> {
    let min = r.size_or(min_key, min_default)?;
    let max = r.size_or(max_key, max_default)?;
    let fraction = r.fraction(fraction_key, fraction_default)?;
    let prefix = format!(
        "Inconsistently configured {fraction_key} ({fraction}) and its min ({}), max ({}) value",
        human(min),
        human(max)
    );
    if min > max {
        return Err(err(
            Rule::RangeMinAboveMax,
            Some(min_key),
            format!("{prefix}: min value must be less or equal to max value"),
        ));
    }
    if !(0.0..1.0).contains(&fraction) {
        return Err(err(
            Rule::FractionOutOfRange,
            Some(fraction_key),
            format!("{prefix}: fraction must be in range [0, 1)"),
        ));
    }
    Ok(RangeFraction { min, max, fraction })
}

/// `MemorySize.multiply`: exact product, truncated to whole bytes.
fn multiply(bytes: f64, factor: f64) -> f64 {
    (bytes * factor).floor()
}

fn cap(value: f64, range: RangeFraction) -> f64 {
    value.clamp(range.min, range.max)
}

pub(super) fn derive_with_fraction(base: f64, range: RangeFraction) -> f64 {
    cap(multiply(base, range.fraction), range)
}

pub(super) fn derive_with_inverse_fraction(base: f64, range: RangeFraction) -> f64 {
    cap(
        multiply(base, range.fraction / (1.0 - range.fraction)),
        range,
    )
}
