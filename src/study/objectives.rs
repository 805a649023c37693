//! The objectives and outcome constraints of a multi-objective search, as the study file
//! writes them (`"latency_p99_ms:min"`, `"recovery_time_s <= 180"`): parsed and checked when
//! the study loads, so a mistake is reported with its file, line and key before anything runs.

use crate::study::file::{Over, SearchSection};
use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Result fields flinktune knows (the adapter protocol's and the simulator's).
pub const KNOWN_METRICS: &[&str] = &[
    "latency_p99_ms",
    "latency_p50_ms",
    "throughput",
    "cpu_cores",
    "memory_mb",
    "recovery_time_s",
    "taskmanagers",
    "cpu_requested",
    "memory_requested_mb",
    "gc_time_fraction",
];
/// Minimise or maximise.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sense {
    Min,
    Max,
}

/// One objective: a result field and its direction.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ObjectiveSpec {
    pub metric: String,
    pub sense: Sense,
}

impl fmt::Display for ObjectiveSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self.sense {
            Sense::Min => "min",
            Sense::Max => "max",
        };
        write!(f, "{}:{s}", self.metric)
    }
}

impl ObjectiveSpec {
    /// The objective as a chart's axis names it: the result field, its unit where the
    /// protocol's naming tells it, and which way is better
    /// (`latency_p99_ms (ms, lower is better)`).
    pub fn axis_label(&self) -> String {
        let m = self.metric.as_str();
        let unit = if m.ends_with("_ms") {
            Some("ms")
        } else if m.ends_with("_s") {
            Some("s")
        } else if m.ends_with("_mb") {
            Some("MB")
        } else if m.starts_with("cpu_") {
            Some("cores")
        } else if m == "throughput" {
            Some("records/s")
        } else {
            None
        };
        let better = match self.sense {
            Sense::Min => "lower is better",
            Sense::Max => "higher is better",
        };
        match unit {
            Some(u) => format!("{m} ({u}, {better})"),
            None => format!("{m} ({better})"),
        }
    }
}

/// Which side of its bound a constrained metric must stay.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Bound {
    #[serde(rename = "<=")]
    AtMost,
    #[serde(rename = ">=")]
    AtLeast,
}

/// An outcome constraint: `metric <= limit` or `metric >= limit`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConstraintSpec {
    pub metric: String,
    pub bound: Bound,
    pub limit: f64,
}

impl fmt::Display for ConstraintSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = match self.bound {
            Bound::AtMost => "<=",
            Bound::AtLeast => ">=",
        };
        write!(f, "{} {op} {}", self.metric, self.limit)
    }
}

impl ConstraintSpec {
    /// How far a value is outside the bound, relative to the bound (0 when met).
    pub fn violation(&self, value: f64) -> f64 {
        let over = match self.bound {
            Bound::AtMost => value - self.limit,
            Bound::AtLeast => self.limit - value,
        };
        over.max(0.0) / self.limit.abs().max(1e-9)
    }
}

/// A name a result field could have: lower-case snake case.
fn plausible_metric(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn check_metric(name: &str) -> Result<()> {
    if !plausible_metric(name) {
        bail!(
            "'{name}' is not a result field name (lower-case snake case, e.g. {})",
            KNOWN_METRICS.join(", ")
        );
    }
    Ok(())
}

/// Parses `"<metric>:min"` / `"<metric>:max"` entries; a metric may appear once.
pub fn parse_objectives(entries: &[String]) -> Result<Vec<ObjectiveSpec>> {
    let mut out: Vec<ObjectiveSpec> = Vec::new();
    for entry in entries {
        let (metric, sense) = entry
            .split_once(':')
            .with_context(|| format!("'{entry}' should be \"<metric>:min\" or \"<metric>:max\""))?;
        let metric = metric.trim();
        check_metric(metric).with_context(|| format!("in '{entry}'"))?;
        let sense = match sense.trim() {
            "min" => Sense::Min,
            "max" => Sense::Max,
            other => bail!("in '{entry}': '{other}' should be min or max"),
        };
        if out.iter().any(|o| o.metric == metric) {
            bail!("'{metric}' is listed twice");
        }
        out.push(ObjectiveSpec {
            metric: metric.to_string(),
            sense,
        });
    }
    Ok(out)
}

/// Parses `"<metric> <= <number>"` / `"<metric> >= <number>"` entries.
pub fn parse_constraints(entries: &[String]) -> Result<Vec<ConstraintSpec>> {
    entries
        .iter()
        .map(|entry| {
            let (metric, bound, limit) = if let Some((m, l)) = entry.split_once("<=") {
                (m, Bound::AtMost, l)
            } else if let Some((m, l)) = entry.split_once(">=") {
                (m, Bound::AtLeast, l)
            } else {
                bail!("'{entry}' should be \"<metric> <= <number>\" or \"<metric> >= <number>\"")
            };
            let metric = metric.trim();
            check_metric(metric).with_context(|| format!("in '{entry}'"))?;
            let limit: f64 = limit
                .trim()
                .parse()
                .ok()
                .filter(|v: &f64| v.is_finite())
                .with_context(|| format!("in '{entry}': '{}' is not a number", limit.trim()))?;
            Ok(ConstraintSpec {
                metric: metric.to_string(),
                bound,
                limit,
            })
        })
        .collect()
}

/// Checks `[search] objectives` and `constraints`: the key at fault and why.
pub fn validate(s: &SearchSection) -> std::result::Result<(), (&'static str, String)> {
    let objectives =
        parse_objectives(&s.objectives).map_err(|e| ("search.objectives", format!("{e:#}")))?;
    parse_constraints(&s.constraints).map_err(|e| ("search.constraints", format!("{e:#}")))?;
    if objectives.len() == 1 {
        return Err((
            "search.objectives",
            "a multi-objective search needs at least two objectives (one objective is the \
             study's `objective`)"
                .into(),
        ));
    }
    if objectives.is_empty() && !s.constraints.is_empty() {
        return Err((
            "search.constraints",
            "constraints apply to the multi-objective search: list two or more `objectives`".into(),
        ));
    }
    if !objectives.is_empty() && s.over != Over::System {
        return Err((
            "search.over",
            "the multi-objective search measures the system: set over = \"system\"".into(),
        ));
    }
    Ok(())
}
