//! What a passing trial measured, typed: the adapter protocol's required fields
//! (`throughput`, `latency_p99_ms`), its optional ones, and any other numeric field an
//! adapter reports (a study's objectives may name those). Names are strings only in
//! `result.json` and in the study file; inside, a metric is a [`Metric`] and a field of
//! [`Metrics`], so a misspelt name is a compile error or a load-time error, never a 0.

use crate::objective::Measurement;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// A result field a study can name (objectives, constraints).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Metric {
    Throughput,
    LatencyP99,
    LatencyP50,
    /// CPU cores busy across the job.
    CpuCores,
    /// Memory in use, MiB.
    MemoryMb,
    RecoveryTime,
    TaskManagers,
    CpuRequested,
    MemoryRequestedMb,
    /// Share of the measured window the busiest TaskManager's JVM spent in garbage
    /// collection (0–1).
    GcTimeFraction,
    /// A field the protocol does not name, reported by the study's adapter.
    Other(String),
}

impl Metric {
    /// The protocol's named metrics, with their result-field names.
    pub const KNOWN: [(Metric, &'static str); 10] = [
        (Metric::LatencyP99, "latency_p99_ms"),
        (Metric::LatencyP50, "latency_p50_ms"),
        (Metric::Throughput, "throughput"),
        (Metric::CpuCores, "cpu_cores"),
        (Metric::MemoryMb, "memory_mb"),
        (Metric::RecoveryTime, "recovery_time_s"),
        (Metric::TaskManagers, "taskmanagers"),
        (Metric::CpuRequested, "cpu_requested"),
        (Metric::MemoryRequestedMb, "memory_requested_mb"),
        (Metric::GcTimeFraction, "gc_time_fraction"),
    ];

    /// The metric a result field names.
    pub fn named(field: &str) -> Metric {
        Metric::KNOWN
            .iter()
            .find(|(_, name)| *name == field)
            .map(|(m, _)| m.clone())
            .unwrap_or_else(|| Metric::Other(field.to_string()))
    }

    /// Its result-field name.
    pub fn name(&self) -> &str {
        match self {
            Metric::Other(name) => name,
            known => Metric::KNOWN
                .iter()
                .find(|(m, _)| m == known)
                .map(|(_, name)| *name)
                .unwrap_or_default(),
        }
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

impl Serialize for Metric {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Metric {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Metric::named(&String::deserialize(d)?))
    }
}

/// What one passing trial measured.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Records per second over the measured window.
    pub throughput: f64,
    /// 99th-percentile end-to-end latency, milliseconds.
    pub latency_p99_ms: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_p50_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_cores: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_mb: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_time_s: Option<f64>,
    /// A count: written as a whole number, as the protocol has it.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "count"
    )]
    pub taskmanagers: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_requested: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_requested_mb: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gc_time_fraction: Option<f64>,
    /// Whether the job was backpressured (the simulator and adapters that read it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backpressured: Option<bool>,
    /// Numeric fields the protocol does not name.
    #[serde(flatten)]
    pub other: BTreeMap<String, f64>,
}

/// A count stored as a number: whole values are written without a fraction (`4`, not `4.0`).
fn count<S: serde::Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(x) if x.fract() == 0.0 && *x >= 0.0 && *x < u64::MAX as f64 => {
            s.serialize_u64(*x as u64)
        }
        Some(x) => s.serialize_f64(*x),
        None => s.serialize_none(),
    }
}

impl Metrics {
    /// The two fields every passing result has.
    pub fn measurement(&self) -> Measurement {
        Measurement {
            throughput: self.throughput,
            latency_p99_ms: self.latency_p99_ms,
        }
    }

    /// The value of a metric, if the trial reported it.
    pub fn get(&self, metric: &Metric) -> Option<f64> {
        match metric {
            Metric::Throughput => Some(self.throughput),
            Metric::LatencyP99 => Some(self.latency_p99_ms),
            Metric::LatencyP50 => self.latency_p50_ms,
            Metric::CpuCores => self.cpu_cores,
            Metric::MemoryMb => self.memory_mb,
            Metric::RecoveryTime => self.recovery_time_s,
            Metric::TaskManagers => self.taskmanagers,
            Metric::CpuRequested => self.cpu_requested,
            Metric::MemoryRequestedMb => self.memory_requested_mb,
            Metric::GcTimeFraction => self.gc_time_fraction,
            Metric::Other(name) => self.other.get(name).copied(),
        }
    }

    /// Sets a metric (a numeric result field, by its metric).
    pub fn set(&mut self, metric: &Metric, value: f64) {
        let slot = match metric {
            Metric::Throughput => return self.throughput = value,
            Metric::LatencyP99 => return self.latency_p99_ms = value,
            Metric::LatencyP50 => &mut self.latency_p50_ms,
            Metric::CpuCores => &mut self.cpu_cores,
            Metric::MemoryMb => &mut self.memory_mb,
            Metric::RecoveryTime => &mut self.recovery_time_s,
            Metric::TaskManagers => &mut self.taskmanagers,
            Metric::CpuRequested => &mut self.cpu_requested,
            Metric::MemoryRequestedMb => &mut self.memory_requested_mb,
            Metric::GcTimeFraction => &mut self.gc_time_fraction,
            Metric::Other(name) => {
                self.other.insert(name.clone(), value);
                return;
            }
        };
        *slot = Some(value);
    }

    /// Every numeric metric the trial reported, with its metric.
    pub fn reported(&self) -> Vec<(Metric, f64)> {
        let known = Metric::KNOWN
            .iter()
            .filter_map(|(m, _)| self.get(m).map(|v| (m.clone(), v)));
        let other = self
            .other
            .iter()
            .map(|(k, v)| (Metric::Other(k.clone()), *v));
        known.chain(other).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_typed_metrics_and_back() {
        for (m, name) in Metric::KNOWN {
            assert_eq!(Metric::named(name), m);
            assert_eq!(m.name(), name);
        }
        assert_eq!(Metric::named("lag_ms"), Metric::Other("lag_ms".into()));
        let mut m = Metrics::default();
        m.set(&Metric::named("cpu_cores"), 3.5);
        m.set(&Metric::named("lag_ms"), 12.0);
        assert_eq!(m.cpu_cores, Some(3.5));
        assert_eq!(m.get(&Metric::named("lag_ms")), Some(12.0));
        assert_eq!(m.get(&Metric::MemoryMb), None);
        m.set(&Metric::TaskManagers, 4.0);
        let json = serde_json::to_value(&m).unwrap();
        assert_eq!(json["taskmanagers"], 4);
        assert_eq!(json["cpu_cores"], 3.5);
        assert_eq!(json["lag_ms"], 12.0);
        assert_eq!(serde_json::from_value::<Metrics>(json).unwrap(), m);
    }
}
