//! Reading memory options as a Flink version reads them: a key under its deprecated names,
//! sizes (`MemorySize`), Java-`float` fractions and integers with Flink's errors, and Flink's
//! `RangeFraction` (a `[min, max]` range with a fraction) with the arithmetic Flink applies to
//! it. Apart because both processes read their options through it, and its rounding is what
//! makes the byte counts match Flink's.

use std::collections::BTreeMap;

use crate::conf::FlinkVersion;
use crate::memory::error::{MemoryError, Rule, err};
use crate::memory::size::{self, readable};

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

/// The total sizes a fraction-derived component is a share of: the TaskManager's network
/// and managed memory are shares of its total Flink memory (the process memory less the
/// JVM's own), the JVM overhead of either process a share of its total process memory; a
/// component's `min` and `max` bound that share. A key of such a component and a size it
/// is a share of set one quantity together: a larger total with a smaller fraction can
/// leave the network memory where it was.
pub fn share_of(key: &str) -> &'static [&'static str] {
    const TM_TOTALS: &[&str] = &[
        "taskmanager.memory.flink.size",
        "taskmanager.memory.process.size",
    ];
    let (component, part) = key.rsplit_once('.').unwrap_or((key, ""));
    if !matches!(part, "fraction" | "min" | "max") {
        return &[];
    }
    match component {
        "taskmanager.memory.network" | "taskmanager.network.memory" => TM_TOTALS,
        "taskmanager.memory.managed" if part == "fraction" => TM_TOTALS,
        "taskmanager.memory.jvm-overhead" => &["taskmanager.memory.process.size"],
        "jobmanager.memory.jvm-overhead" => &["jobmanager.memory.process.size"],
        _ => &[],
    }
}

/// Whether `key` sizes a part of the TaskManager's memory or its total: a size, fraction,
/// minimum or maximum under `taskmanager.memory.` (the segment size, a buffer's size, is
/// not one), or the network memory's under its older names. Every such part is carved out
/// of the same total, so two of them changed at once can cancel on what is left to the
/// task heap (a larger network fraction beside a smaller explicit managed size).
pub fn sizes_taskmanager_memory(key: &str) -> bool {
    let Some((component, part)) = key.rsplit_once('.') else {
        return false;
    };
    match part {
        "size" => component.starts_with("taskmanager.memory."),
        "fraction" | "min" | "max" => {
            component.starts_with("taskmanager.memory.")
                || component == "taskmanager.network.memory"
        }
        _ => false,
    }
}

/// Reads an option by any of its names across Flink versions (for the models that do not
/// depend on the version; the memory model reads each version's own names).
pub fn lookup<'a>(conf: &'a BTreeMap<String, String>, key: &str) -> Option<&'a str> {
    match ALIASES.iter().find(|group| group.contains(&key)) {
        Some(group) => group.iter().find_map(|k| conf.get(*k)).map(|v| v.trim()),
        None => conf.get(key).map(|v| v.trim()),
    }
}

/// The deprecated keys Flink reads an option under when its own key is absent (2.x still
/// reads them).
fn deprecated_keys(key: &str) -> &'static [&'static str] {
    match key {
        "taskmanager.memory.network.fraction" => &["taskmanager.network.memory.fraction"],
        "taskmanager.memory.network.min" => &["taskmanager.network.memory.min"],
        "taskmanager.memory.network.max" => &["taskmanager.network.memory.max"],
        "taskmanager.memory.managed.size" => &["taskmanager.memory.size"],
        _ => &[],
    }
}

/// The network memory's default maximum: 1 GiB until Flink 1.17 removed the cap
/// (FLINK-30472), unbounded since.
pub(super) fn network_max_default(version: FlinkVersion) -> u64 {
    if (version.major, version.minor) >= (1, 17) {
        size::MAX_BYTES
    } else {
        size::GIB
    }
}

pub(super) struct Reader<'a> {
    pub(super) conf: &'a BTreeMap<String, String>,
    pub(super) version: FlinkVersion,
}

impl Reader<'_> {
    /// The option's text under its own key or, failing that, a deprecated one.
    pub(super) fn raw(&self, key: &str) -> Option<&str> {
        std::iter::once(key)
            .chain(deprecated_keys(key).iter().copied())
            .find_map(|k| self.conf.get(k))
            .map(|v| v.trim())
    }

    pub(super) fn contains(&self, key: &str) -> bool {
        self.raw(key).is_some()
    }

    /// A memory size in bytes, `None` when absent.
    pub(super) fn size(&self, key: &str) -> Result<Option<u64>, MemoryError> {
        match self.raw(key) {
            None => Ok(None),
            Some(text) => size::parse(text).map(Some).ok_or_else(|| {
                err(
                    Rule::UnreadableSize,
                    Some(key),
                    format!("Cannot read memory size from config option '{key}'."),
                )
            }),
        }
    }

    pub(super) fn size_or(&self, key: &str, default: u64) -> Result<u64, MemoryError> {
        Ok(self.size(key)?.unwrap_or(default))
    }

    /// A fraction, read as Java's `float` and widened, like `Configuration.getFloat`.
    pub(super) fn fraction(&self, key: &str, default: f32) -> Result<f64, MemoryError> {
        match self.raw(key) {
            None => Ok(f64::from(default)),
            Some(text) => text
                .parse::<f32>()
                .map(f64::from)
                .map_err(|_| unparsable(key, text)),
        }
    }

    pub(super) fn integer(&self, key: &str, default: i32) -> Result<i32, MemoryError> {
        match self.raw(key) {
            None => Ok(default),
            Some(text) => text.parse::<i32>().map_err(|_| unparsable(key, text)),
        }
    }

    /// How Flink prints the option in its messages (`ConfigOption.toString`).
    pub(super) fn describe(&self, key: &str, default: &str) -> String {
        let fallbacks: Vec<String> = deprecated_keys(key)
            .iter()
            .map(|k| format!("{{key={k}, isDeprecated=true}}"))
            .collect();
        format!(
            "Key: '{key}' , default: {default} (fallback keys: [{}])",
            fallbacks.join(", ")
        )
    }
}

fn unparsable(key: &str, text: &str) -> MemoryError {
    err(
        Rule::UnreadableNumber,
        Some(key),
        format!("Could not parse value '{text}' for key '{key}'."),
    )
}

/// Flink's `RangeFraction`: min ≤ max and fraction in [0, 1).
#[derive(Clone, Copy)]
pub(super) struct RangeFraction {
    pub(super) min: u64,
    pub(super) max: u64,
    pub(super) fraction: f64,
}

/// A range option: its min, max and fraction keys and their defaults.
pub(super) struct RangeKeys {
    pub(super) min: (&'static str, u64),
    pub(super) max: (&'static str, u64),
    pub(super) fraction: (&'static str, f32),
}

/// Reads a range in Flink's order (min, max, fraction) and checks it as `RangeFraction` does.
pub(super) fn range_fraction(r: &Reader<'_>, k: &RangeKeys) -> Result<RangeFraction, MemoryError> {
    let min = r.size_or(k.min.0, k.min.1)?;
    let max = r.size_or(k.max.0, k.max.1)?;
    fraction_range(r, min, max, k.fraction)
}

/// `ProcessMemoryUtils.getRangeFraction`: the fraction read and checked against given bounds.
pub(super) fn fraction_range(
    r: &Reader<'_>,
    min: u64,
    max: u64,
    (key, default): (&'static str, f32),
) -> Result<RangeFraction, MemoryError> {
    let fraction = r.fraction(key, default)?;
    if min > max || !(0.0..1.0).contains(&fraction) {
        return Err(err(
            Rule::InconsistentRange,
            Some(key),
            format!(
                "Inconsistently configured {} ({}) and its min ({}), max ({}) value",
                r.describe(key, &size::java_number(default)),
                size::java_number(fraction),
                readable(min),
                readable(max)
            ),
        ));
    }
    Ok(RangeFraction { min, max, fraction })
}

fn multiply(bytes: u64, factor: f64) -> Result<u64, MemoryError> {
    size::multiply(bytes, factor)
        .ok_or_else(|| err(Rule::InvalidArithmetic, None, "long overflow".to_string()))
}

pub(super) fn derive_with_fraction(base: u64, range: RangeFraction) -> Result<u64, MemoryError> {
    Ok(multiply(base, range.fraction)?.clamp(range.min, range.max))
}

pub(super) fn derive_with_inverse_fraction(
    base: u64,
    range: RangeFraction,
) -> Result<u64, MemoryError> {
    let factor = range.fraction / (1.0 - range.fraction);
    Ok(multiply(base, factor)?.clamp(range.min, range.max))
}

/// `MemorySize.add` over several sizes: Java's `Math.addExact` fails past `Long.MAX_VALUE`.
pub(super) fn sum(sizes: &[u64]) -> Result<u64, MemoryError> {
    sizes
        .iter()
        .try_fold(0u64, |acc, &s| {
            acc.checked_add(s).filter(|&t| t <= size::MAX_BYTES)
        })
        .ok_or_else(|| err(Rule::InvalidArithmetic, None, "long overflow".to_string()))
}

/// `MemorySize.subtract`: a negative size is an argument error ("bytes must be >= 0").
pub(super) fn subtract(a: u64, b: u64) -> Result<u64, MemoryError> {
    a.checked_sub(b).ok_or_else(|| {
        err(
            Rule::InvalidArithmetic,
            None,
            "bytes must be >= 0".to_string(),
        )
    })
}
