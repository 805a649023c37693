//! Flink's process memory model (TaskManager and JobManager), as Flink 1.11+ derives it at
//! start-up from the flat configuration.
//!
//! The derivation follows Flink's `ProcessMemoryUtils`, `TaskExecutorFlinkMemoryUtils` and
//! `JobManagerFlinkMemoryUtils` (release-1.11 and later), including their quirks:
//!
//! * exactly one way of sizing: fine-grained (TM: `task.heap.size` **and** `managed.size`;
//!   JM: `heap.size`), then total Flink memory (`*.memory.flink.size`), then total process
//!   memory (`*.memory.process.size`); none of them is an error;
//! * fractions are read as Java `float`s and applied to the byte count with truncation, so
//!   `0.1` of 1280 MiB is 134 217 730 bytes, not 134 217 728 — exactly what Flink logs, and the
//!   reason why "network fraction 0.4" with the default 1728m process size overflows the
//!   total Flink memory by 16 bytes and is rejected, as real Flink does;
//! * fraction-derived components (JVM overhead, network) are clamped to their `[min, max]`;
//!   every `min ≤ max` and every fraction in `[0, 1)` (Flink's `RangeFraction`);
//! * legacy network configuration: when `taskmanager.network.numberOfBuffers` is set and none
//!   of the network fraction/min/max keys is, network memory = buffers × segment size;
//! * the memory segment size must be a power of two of at least 4 KiB (checked whenever the
//!   TaskManager starts).
//!
//! Defaults (Flink 1.11, checked against `TaskManagerOptions` / `JobManagerOptions`):
//! TM framework heap 128m, framework off-heap 128m, task off-heap 0, managed fraction 0.4,
//! network fraction 0.1 / min 64m / max 1g, metaspace 256m, JVM overhead 0.1 / 192m / 1g,
//! segment size 32kb; JM off-heap 128m, metaspace 256m, JVM overhead 0.1 / 192m / 1g.
//! Legacy heap keys are honoured as Flink 1.11 does: `taskmanager.heap.size` stands for the
//! total Flink memory and `jobmanager.heap.size` for the JM heap when no new-style size is set.
//!
//! Error messages are worded like Flink's; sizes are printed compactly (`256mb`, `1.250gb`)
//! where Flink appends the byte count (`256.000mb (268435456 bytes)`).

use std::collections::BTreeMap;
use std::fmt;

const KIB: f64 = 1024.0;
const MIB: f64 = 1024.0 * 1024.0;

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

fn err(rule: Rule, key: Option<&str>, message: String) -> MemoryError {
    MemoryError {
        rule,
        key: key.map(str::to_string),
        message,
    }
}

/// Derived TaskManager memory, in MiB.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TaskManagerMemory {
    pub process_mb: f64,
    pub flink_mb: f64,
    pub framework_heap_mb: f64,
    pub framework_off_heap_mb: f64,
    pub task_heap_mb: f64,
    pub task_off_heap_mb: f64,
    pub managed_mb: f64,
    pub network_mb: f64,
    pub metaspace_mb: f64,
    pub overhead_mb: f64,
}

impl TaskManagerMemory {
    /// JVM heap (`-Xmx`): framework heap + task heap.
    pub fn jvm_heap_mb(&self) -> f64 {
        self.framework_heap_mb + self.task_heap_mb
    }
}

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

/// Formats a byte count the compact way (`256mb`, `1.250gb`, `32kb`).
pub fn human(bytes: f64) -> String {
    let units = [
        ("tb", MIB * MIB),
        ("gb", MIB * KIB),
        ("mb", MIB),
        ("kb", KIB),
    ];
    for (name, size) in units {
        if bytes >= size {
            let v = format!("{:.3}", bytes / size);
            let v = v.strip_suffix(".000").unwrap_or(&v);
            return format!("{v}{name}");
        }
    }
    format!("{bytes}b")
}

// ---------------------------------------------------------------------------------------------
// Reading options
// ---------------------------------------------------------------------------------------------

struct Reader<'a> {
    conf: &'a BTreeMap<String, String>,
}

impl Reader<'_> {
    fn contains(&self, key: &str) -> bool {
        lookup(self.conf, key).is_some()
    }

    /// A memory size in bytes, `None` when absent.
    fn size(&self, key: &str) -> Result<Option<f64>, MemoryError> {
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

    fn size_or(&self, key: &str, default_bytes: f64) -> Result<f64, MemoryError> {
        Ok(self.size(key)?.unwrap_or(default_bytes))
    }

    /// A fraction, read as Java's `float` (then widened), like `Configuration.getFloat`.
    fn fraction(&self, key: &str, default: f32) -> Result<f64, MemoryError> {
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

    fn integer(&self, key: &str) -> Result<Option<i64>, MemoryError> {
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
struct RangeFraction {
    min: f64,
    max: f64,
    fraction: f64,
}

fn range_fraction(
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

fn derive_with_fraction(base: f64, range: RangeFraction) -> f64 {
    cap(multiply(base, range.fraction), range)
}

fn derive_with_inverse_fraction(base: f64, range: RangeFraction) -> f64 {
    cap(
        multiply(base, range.fraction / (1.0 - range.fraction)),
        range,
    )
}

// ---------------------------------------------------------------------------------------------
// Shared JVM metaspace + overhead logic (ProcessMemoryUtils)
// ---------------------------------------------------------------------------------------------

struct ProcessKeys {
    process: &'static str,
    metaspace: &'static str,
    overhead_min: &'static str,
    overhead_max: &'static str,
    overhead_fraction: &'static str,
}

const TM_KEYS: ProcessKeys = ProcessKeys {
    process: "taskmanager.memory.process.size",
    metaspace: "taskmanager.memory.jvm-metaspace.size",
    overhead_min: "taskmanager.memory.jvm-overhead.min",
    overhead_max: "taskmanager.memory.jvm-overhead.max",
    overhead_fraction: "taskmanager.memory.jvm-overhead.fraction",
};

const JM_KEYS: ProcessKeys = ProcessKeys {
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
fn jvm_from_total_flink(
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
fn jvm_from_process(
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

fn no_sizing(fine_grained: &str, flink: &str, process: &str) -> MemoryError {
    err(
        Rule::NoSizing,
        None,
        format!(
            "Either required fine-grained memory ({fine_grained}), or Total Flink Memory size (Key: '{flink}'), or Total Process Memory size (Key: '{process}') need to be configured explicitly."
        ),
    )
}

// ---------------------------------------------------------------------------------------------
// TaskManager
// ---------------------------------------------------------------------------------------------

const TM_FLINK: &str = "taskmanager.memory.flink.size";
const TM_TASK_HEAP: &str = "taskmanager.memory.task.heap.size";
const TM_MANAGED: &str = "taskmanager.memory.managed.size";
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

struct TmParts {
    framework_heap: f64,
    framework_off_heap: f64,
    task_off_heap: f64,
}

fn uses_legacy_network(r: &Reader<'_>) -> bool {
    r.contains(TM_NUM_BUFFERS)
        && !r.contains(TM_NET_MIN)
        && !r.contains(TM_NET_MAX)
        && !r.contains(TM_NET_FRACTION)
}

fn legacy_network(r: &Reader<'_>) -> Result<f64, MemoryError> {
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

fn network_range(r: &Reader<'_>) -> Result<RangeFraction, MemoryError> {
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

fn managed_range(r: &Reader<'_>) -> Result<RangeFraction, MemoryError> {
    let fraction = r.fraction("taskmanager.memory.managed.fraction", 0.4)?;
    if !(0.0..1.0).contains(&fraction) {
        return Err(err(
            Rule::FractionOutOfRange,
            Some("taskmanager.memory.managed.fraction"),
            format!(
                "Inconsistently configured taskmanager.memory.managed.fraction ({fraction}) and its min (0b), max (8388608tb) value: fraction must be in range [0, 1)"
            ),
        ));
    }
    Ok(RangeFraction {
        min: 0.0,
        max: f64::MAX,
        fraction,
    })
}

/// Network memory that is the remainder of an explicit total Flink memory must agree with the
/// network configuration.
fn check_remainder_network(r: &Reader<'_>, network: f64) -> Result<(), MemoryError> {
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

fn exceed_flink_with_heap(p: &TmParts, task_heap: f64, managed: f64, flink: f64) -> MemoryError {
    err(
        Rule::ComponentsExceedFlink,
        None,
        format!(
            "Sum of configured Framework Heap Memory ({}), Framework Off-Heap Memory ({}), Task Heap Memory ({}), Task Off-Heap Memory ({}) and Managed Memory ({}) exceed configured Total Flink Memory ({}).",
            human(p.framework_heap),
            human(p.framework_off_heap),
            human(task_heap),
            human(p.task_off_heap),
            human(managed),
            human(flink)
        ),
    )
}

/// `deriveFromTotalFlinkMemory`: returns (task heap, managed, network).
fn tm_from_total_flink(
    r: &Reader<'_>,
    p: &TmParts,
    flink: f64,
) -> Result<(f64, f64, f64), MemoryError> {
    let managed = match r.size(TM_MANAGED)? {
        Some(m) => m,
        None => derive_with_fraction(flink, managed_range(r)?),
    };
    if let Some(task_heap) = r.size(TM_TASK_HEAP)? {
        let without_network =
            p.framework_heap + p.framework_off_heap + task_heap + p.task_off_heap + managed;
        if without_network > flink {
            return Err(exceed_flink_with_heap(p, task_heap, managed, flink));
        }
        let network = flink - without_network;
        check_remainder_network(r, network)?;
        Ok((task_heap, managed, network))
    } else {
        let network = if uses_legacy_network(r) {
            legacy_network(r)?
        } else {
            derive_with_fraction(flink, network_range(r)?)
        };
        let without_heap =
            p.framework_heap + p.framework_off_heap + p.task_off_heap + managed + network;
        if without_heap > flink {
            return Err(err(
                Rule::ComponentsExceedFlink,
                None,
                format!(
                    "Sum of configured Framework Heap Memory ({}), Framework Off-Heap Memory ({}), Task Off-Heap Memory ({}), Managed Memory ({}) and Network Memory ({}) exceed configured Total Flink Memory ({}).",
                    human(p.framework_heap),
                    human(p.framework_off_heap),
                    human(p.task_off_heap),
                    human(managed),
                    human(network),
                    human(flink)
                ),
            ));
        }
        Ok((flink - without_heap, managed, network))
    }
}

/// Derives the TaskManager memory as Flink does when `taskmanager.sh` starts.
pub fn taskmanager(conf: &BTreeMap<String, String>) -> Result<TaskManagerMemory, MemoryError> {
    let r = Reader { conf };
    // The TaskManager always validates the segment size at start-up.
    segment_size_bytes(conf)?;
    let parts = TmParts {
        framework_heap: r.size_or("taskmanager.memory.framework.heap.size", 128.0 * MIB)?,
        framework_off_heap: r.size_or("taskmanager.memory.framework.off-heap.size", 128.0 * MIB)?,
        task_off_heap: r.size_or("taskmanager.memory.task.off-heap.size", 0.0)?,
    };
    let task_heap = r.size(TM_TASK_HEAP)?;
    let managed = r.size(TM_MANAGED)?;
    // Flink 1.11 maps the legacy `taskmanager.heap.size` to the total Flink memory when no
    // new-style size is configured.
    let flink_key = if !r.contains(TM_FLINK)
        && !r.contains(TM_KEYS.process)
        && (task_heap.is_none() || managed.is_none())
        && r.contains("taskmanager.heap.size")
    {
        "taskmanager.heap.size"
    } else {
        TM_FLINK
    };
    let flink_size = r.size(flink_key)?;
    let process_size = r.size(TM_KEYS.process)?;

    let (flink, task_heap, managed, network, metaspace, overhead) =
        if let (Some(task_heap), Some(managed)) = (task_heap, managed) {
            // Fine-grained: task heap and managed memory given.
            let without_network = parts.framework_heap
                + parts.framework_off_heap
                + task_heap
                + parts.task_off_heap
                + managed;
            let network = if let Some(flink) = flink_size {
                if without_network > flink {
                    return Err(exceed_flink_with_heap(&parts, task_heap, managed, flink));
                }
                let network = flink - without_network;
                check_remainder_network(&r, network)?;
                network
            } else if uses_legacy_network(&r) {
                legacy_network(&r)?
            } else {
                derive_with_inverse_fraction(without_network, network_range(&r)?)
            };
            let flink = without_network + network;
            let (metaspace, overhead) = jvm_from_total_flink(&r, &TM_KEYS, flink)?;
            (flink, task_heap, managed, network, metaspace, overhead)
        } else if let Some(flink) = flink_size {
            let (task_heap, managed, network) = tm_from_total_flink(&r, &parts, flink)?;
            let (metaspace, overhead) = jvm_from_total_flink(&r, &TM_KEYS, flink)?;
            (flink, task_heap, managed, network, metaspace, overhead)
        } else if let Some(process) = process_size {
            let (metaspace, overhead) = jvm_from_process(&r, &TM_KEYS, process)?;
            let flink = process - metaspace - overhead;
            let (task_heap, managed, network) = tm_from_total_flink(&r, &parts, flink)?;
            (flink, task_heap, managed, network, metaspace, overhead)
        } else {
            return Err(no_sizing(
                "taskmanager.memory.task.heap.size and taskmanager.memory.managed.size",
                TM_FLINK,
                TM_KEYS.process,
            ));
        };

    let process = flink + metaspace + overhead;
    Ok(TaskManagerMemory {
        process_mb: process / MIB,
        flink_mb: flink / MIB,
        framework_heap_mb: parts.framework_heap / MIB,
        framework_off_heap_mb: parts.framework_off_heap / MIB,
        task_heap_mb: task_heap / MIB,
        task_off_heap_mb: parts.task_off_heap / MIB,
        managed_mb: managed / MIB,
        network_mb: network / MIB,
        metaspace_mb: metaspace / MIB,
        overhead_mb: overhead / MIB,
    })
}

// ---------------------------------------------------------------------------------------------
// JobManager
// ---------------------------------------------------------------------------------------------

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

    let from_total_flink = |flink: f64| -> Result<f64, MemoryError> {
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
    };

    let (flink, heap, metaspace, overhead) = if let Some(heap) = heap {
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
        let (metaspace, overhead) = jvm_from_total_flink(&r, &JM_KEYS, flink)?;
        (flink, heap, metaspace, overhead)
    } else if let Some(flink) = flink_size {
        let heap = from_total_flink(flink)?;
        let (metaspace, overhead) = jvm_from_total_flink(&r, &JM_KEYS, flink)?;
        (flink, heap, metaspace, overhead)
    } else if let Some(process) = process_size {
        let (metaspace, overhead) = jvm_from_process(&r, &JM_KEYS, process)?;
        let flink = process - metaspace - overhead;
        let heap = from_total_flink(flink)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn conf(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 0.01
    }

    #[test]
    fn default_taskmanager_matches_flink_log() {
        // Flink 1.11's breakdown of taskmanager.memory.process.size: 1728m: total Flink
        // 1.250gb, framework heap 128mb, task heap 384mb, task off-heap 0, managed 512mb,
        // network 128mb, metaspace 256mb, overhead 192mb. Fractions are Java floats, so
        // managed = 0.4f × 1280 MiB = 536870920 bytes and network = 0.1f × 1280 MiB = 134217730.
        let m = taskmanager(&conf(&[("taskmanager.memory.process.size", "1728m")])).unwrap();
        assert!(close(m.process_mb, 1728.0));
        assert!(close(m.flink_mb, 1280.0));
        assert!(close(m.framework_heap_mb, 128.0));
        assert!(close(m.framework_off_heap_mb, 128.0));
        assert!(close(m.task_heap_mb, 384.0));
        assert!(close(m.task_off_heap_mb, 0.0));
        assert!(close(m.managed_mb, 512.0));
        assert!(close(m.network_mb, 128.0));
        assert!(close(m.metaspace_mb, 256.0));
        assert!(close(m.overhead_mb, 192.0));
        // The float fractions make the byte counts odd.
        assert_eq!((m.network_mb * MIB).round(), 134_217_730.0);
        assert_eq!((m.managed_mb * MIB).round(), 536_870_920.0);
    }

    #[test]
    fn default_jobmanager() {
        let m = jobmanager(&conf(&[("jobmanager.memory.process.size", "1600m")])).unwrap();
        assert!(close(m.process_mb, 1600.0));
        assert!(close(m.flink_mb, 1152.0));
        assert!(close(m.heap_mb, 1024.0));
        assert!(close(m.off_heap_mb, 128.0));
        assert!(close(m.metaspace_mb, 256.0));
        assert!(close(m.overhead_mb, 192.0));
    }

    #[test]
    fn flink_size_derives_process_with_inverse_fraction() {
        let m = taskmanager(&conf(&[("taskmanager.memory.flink.size", "4096m")])).unwrap();
        // overhead = (4096 + 256) * 0.1 / 0.9 = 483.6 MiB, inside [192m, 1g]
        assert!((m.overhead_mb - 483.55).abs() < 0.1);
        assert!(close(m.managed_mb, 4096.0 * 0.4));
        assert!(close(m.network_mb, 409.6));
        assert!(close(
            m.process_mb,
            m.flink_mb + m.metaspace_mb + m.overhead_mb
        ));
        let j = jobmanager(&conf(&[("jobmanager.memory.flink.size", "1024m")])).unwrap();
        assert!(close(j.heap_mb, 896.0));
        assert!(close(j.overhead_mb, 192.0));
    }

    #[test]
    fn no_sizing_is_an_error() {
        let e = taskmanager(&conf(&[])).unwrap_err();
        assert_eq!(e.rule, Rule::NoSizing);
        assert!(e.message.contains("need to be configured explicitly"));
        let e = jobmanager(&conf(&[])).unwrap_err();
        assert_eq!(e.rule, Rule::NoSizing);
    }

    #[test]
    fn flink_size_larger_than_process_fails() {
        // real Flink: taskmanager.sh exit 1, "Total Process Memory size … is less than the sum of
        // the derived Total Flink Memory size … and … Metaspace"
        let e = taskmanager(&conf(&[
            ("taskmanager.memory.process.size", "1728m"),
            ("taskmanager.memory.flink.size", "2048m"),
        ]))
        .unwrap_err();
        assert_eq!(e.rule, Rule::FlinkPlusMetaspaceExceedProcess);
        assert!(
            e.message
                .contains("is less than the sum of the derived Total Flink Memory size (2gb)")
        );
    }

    #[test]
    fn overhead_outside_range_when_both_sizes_set() {
        // process 2000 − flink 1500 − metaspace 256 = 244 MiB: fine with defaults [192m, 1g] ...
        let ok = taskmanager(&conf(&[
            ("taskmanager.memory.process.size", "2000m"),
            ("taskmanager.memory.flink.size", "1500m"),
        ]))
        .unwrap();
        assert!(close(ok.overhead_mb, 244.0));
        // ... but not with min 300m
        let e = taskmanager(&conf(&[
            ("taskmanager.memory.process.size", "2000m"),
            ("taskmanager.memory.flink.size", "1500m"),
            ("taskmanager.memory.jvm-overhead.min", "300m"),
        ]))
        .unwrap_err();
        assert_eq!(e.rule, Rule::OverheadOutOfRange);
        assert!(e.message.starts_with(
            "Derived JVM Overhead size (244mb) is not in configured JVM Overhead range [300mb, 1gb]"
        ));
        // JobManager alike
        let e = jobmanager(&conf(&[
            ("jobmanager.memory.process.size", "1600m"),
            ("jobmanager.memory.flink.size", "1300m"),
        ]))
        .unwrap_err();
        // 1600 − 1300 − 256 = 44 MiB < 192 MiB
        assert_eq!(e.rule, Rule::OverheadOutOfRange);
    }

    #[test]
    fn small_process_size_fails_on_metaspace_and_overhead() {
        let e = taskmanager(&conf(&[("taskmanager.memory.process.size", "256m")])).unwrap_err();
        assert_eq!(e.rule, Rule::MetaspacePlusOverheadExceedProcess);
        assert!(e.message.contains(
            "Sum of configured JVM Metaspace (256mb) and JVM Overhead (192mb) exceed configured Total Process Memory"
        ));
        let e = jobmanager(&conf(&[("jobmanager.memory.process.size", "400m")])).unwrap_err();
        assert_eq!(e.rule, Rule::MetaspacePlusOverheadExceedProcess);
    }

    #[test]
    fn network_fraction_04_exceeds_flink_memory_by_float_rounding() {
        let e = taskmanager(&conf(&[
            ("taskmanager.memory.process.size", "1728m"),
            ("taskmanager.memory.network.fraction", "0.4"),
        ]))
        .unwrap_err();
        assert_eq!(e.rule, Rule::ComponentsExceedFlink);
        assert!(e.message.contains("Managed Memory (512mb) and Network Memory (512mb) exceed configured Total Flink Memory (1.250gb)"), "{}", e.message);
        // the deprecated 1.11 alias is read too
        let e = taskmanager(&conf(&[
            ("taskmanager.memory.process.size", "1728m"),
            ("taskmanager.network.memory.fraction", "0.4"),
        ]))
        .unwrap_err();
        assert_eq!(e.rule, Rule::ComponentsExceedFlink);
        // 0.3 fits
        let m = taskmanager(&conf(&[
            ("taskmanager.memory.process.size", "1728m"),
            ("taskmanager.memory.network.fraction", "0.3"),
        ]))
        .unwrap();
        assert!(close(m.network_mb, 384.0));
        assert!(m.task_heap_mb > 120.0 && m.task_heap_mb < 130.0);
    }

    #[test]
    fn unreadable_sizes_name_the_key() {
        let e = taskmanager(&conf(&[("taskmanager.memory.process.size", "lots")])).unwrap_err();
        assert_eq!(e.rule, Rule::UnreadableValue);
        assert_eq!(e.key.as_deref(), Some("taskmanager.memory.process.size"));
        assert!(e.message.starts_with(
            "Cannot read memory size from config option 'taskmanager.memory.process.size'"
        ));
        let e = jobmanager(&conf(&[
            ("jobmanager.memory.process.size", "1600m"),
            ("jobmanager.memory.jvm-metaspace.size", "much"),
        ]))
        .unwrap_err();
        assert_eq!(e.rule, Rule::UnreadableValue);
        let e = taskmanager(&conf(&[
            ("taskmanager.memory.process.size", "1728m"),
            ("taskmanager.memory.managed.fraction", "half"),
        ]))
        .unwrap_err();
        assert_eq!(e.rule, Rule::UnreadableValue);
    }

    #[test]
    fn min_above_max_and_bad_fractions() {
        let e = taskmanager(&conf(&[
            ("taskmanager.memory.process.size", "1728m"),
            ("taskmanager.memory.jvm-overhead.min", "1g"),
            ("taskmanager.memory.jvm-overhead.max", "512m"),
        ]))
        .unwrap_err();
        assert_eq!(e.rule, Rule::RangeMinAboveMax);
        assert!(
            e.message
                .contains("min value must be less or equal to max value")
        );
        let e = taskmanager(&conf(&[
            ("taskmanager.memory.process.size", "1728m"),
            ("taskmanager.memory.network.min", "256m"),
            ("taskmanager.memory.network.max", "128m"),
        ]))
        .unwrap_err();
        assert_eq!(e.rule, Rule::RangeMinAboveMax);
        let e = taskmanager(&conf(&[
            ("taskmanager.memory.process.size", "1728m"),
            ("taskmanager.memory.network.fraction", "1.0"),
        ]))
        .unwrap_err();
        assert_eq!(e.rule, Rule::FractionOutOfRange);
        let e = jobmanager(&conf(&[
            ("jobmanager.memory.process.size", "1600m"),
            ("jobmanager.memory.jvm-overhead.fraction", "-0.1"),
        ]))
        .unwrap_err();
        assert_eq!(e.rule, Rule::FractionOutOfRange);
    }

    #[test]
    fn network_fraction_is_clamped() {
        // 0.01 × 1280m = 12.8m → min 64m
        let m = taskmanager(&conf(&[
            ("taskmanager.memory.process.size", "1728m"),
            ("taskmanager.memory.network.fraction", "0.01"),
        ]))
        .unwrap();
        assert!(close(m.network_mb, 64.0));
        // 0.1 × 20g → max 1g
        let m = taskmanager(&conf(&[("taskmanager.memory.flink.size", "20g")])).unwrap();
        assert!(close(m.network_mb, 1024.0));
        assert!(close(m.overhead_mb, 1024.0));
    }

    #[test]
    fn legacy_number_of_buffers() {
        let m = taskmanager(&conf(&[
            ("taskmanager.memory.process.size", "1728m"),
            ("taskmanager.network.numberOfBuffers", "4096"),
            ("taskmanager.memory.segment-size", "16kb"),
        ]))
        .unwrap();
        assert!(close(m.network_mb, 64.0));
        assert!(close(m.task_heap_mb, 448.0));
        // legacy ignored once any new network key is set
        let m = taskmanager(&conf(&[
            ("taskmanager.memory.process.size", "1728m"),
            ("taskmanager.network.numberOfBuffers", "4096"),
            ("taskmanager.memory.network.max", "1g"),
        ]))
        .unwrap();
        assert!(close(m.network_mb, 128.0));
        // legacy memory is not clamped, so it can exceed the Flink memory
        let e = taskmanager(&conf(&[
            ("taskmanager.memory.flink.size", "1024m"),
            ("taskmanager.network.numberOfBuffers", "20000"),
        ]))
        .unwrap_err();
        assert_eq!(e.rule, Rule::ComponentsExceedFlink);
    }

    #[test]
    fn segment_size_must_be_power_of_two() {
        let e = taskmanager(&conf(&[
            ("taskmanager.memory.process.size", "1728m"),
            ("taskmanager.memory.segment-size", "48kb"),
        ]))
        .unwrap_err();
        assert_eq!(e.rule, Rule::InvalidSegmentSize);
        assert!(e.message.contains("must be a power of 2"));
        let e = taskmanager(&conf(&[
            ("taskmanager.memory.process.size", "1728m"),
            ("taskmanager.memory.segment-size", "2kb"),
        ]))
        .unwrap_err();
        assert_eq!(e.rule, Rule::InvalidSegmentSize);
    }

    #[test]
    fn fine_grained_sizing() {
        let m = taskmanager(&conf(&[
            ("taskmanager.memory.task.heap.size", "1g"),
            ("taskmanager.memory.managed.size", "512m"),
        ]))
        .unwrap();
        // network by inverse fraction of (128+128+1024+0+512) = 1792m → 199.1m
        assert!((m.network_mb - 1792.0 / 9.0).abs() < 0.01);
        assert!(close(m.flink_mb, 1792.0 + m.network_mb));
        // fine-grained takes precedence over the flink size, which must then fit exactly
        let e = taskmanager(&conf(&[
            ("taskmanager.memory.task.heap.size", "1g"),
            ("taskmanager.memory.managed.size", "512m"),
            ("taskmanager.memory.flink.size", "1500m"),
        ]))
        .unwrap_err();
        assert_eq!(e.rule, Rule::ComponentsExceedFlink);
        // remainder network outside its range
        let e = taskmanager(&conf(&[
            ("taskmanager.memory.task.heap.size", "1g"),
            ("taskmanager.memory.managed.size", "512m"),
            ("taskmanager.memory.flink.size", "1800m"),
        ]))
        .unwrap_err();
        assert_eq!(e.rule, Rule::NetworkOutOfRange);
        // JM heap
        let j = jobmanager(&conf(&[("jobmanager.memory.heap.size", "2g")])).unwrap();
        assert!(close(j.flink_mb, 2176.0));
        let e = jobmanager(&conf(&[
            ("jobmanager.memory.heap.size", "2g"),
            ("jobmanager.memory.flink.size", "2g"),
        ]))
        .unwrap_err();
        assert_eq!(e.rule, Rule::ComponentsExceedFlink);
    }

    #[test]
    fn jm_flink_not_above_off_heap() {
        let e = jobmanager(&conf(&[("jobmanager.memory.flink.size", "128m")])).unwrap_err();
        assert_eq!(e.rule, Rule::ComponentsExceedFlink);
        assert!(
            e.message
                .contains("is less than the configured Off-heap Memory")
        );
    }

    #[test]
    fn legacy_heap_keys() {
        let m = taskmanager(&conf(&[("taskmanager.heap.size", "1280m")])).unwrap();
        assert!(close(m.process_mb, 1728.0));
        let j = jobmanager(&conf(&[("jobmanager.heap.size", "1024m")])).unwrap();
        assert!(close(j.process_mb, 1600.0));
    }

    #[test]
    fn aliases() {
        let c = conf(&[("pekko.framesize", "10485760b")]);
        assert_eq!(lookup(&c, "akka.framesize"), Some("10485760b"));
        let c = conf(&[
            ("taskmanager.network.memory.max", "1g"),
            ("taskmanager.memory.network.max", "2g"),
        ]);
        assert_eq!(lookup(&c, "taskmanager.network.memory.max"), Some("2g"));
        assert_eq!(human(1342177280.0), "1.250gb");
        assert_eq!(human(32768.0), "32kb");
    }
}
