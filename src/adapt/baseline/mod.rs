//! The scaling baselines `flinktune adapt` compares Demeter with — what a Flink user runs
//! instead: the Flink Kubernetes Operator's autoscaler (`autoscaler`), Kubernetes' horizontal
//! pod autoscaler on CPU (`hpa`, the "reactive" policy) and DS2 as its paper defines it
//! (`ds2`). All three watch the job continuously (`Policy::continuous`) and change only the
//! scale-out (`flinktune.taskmanagers`); the other parameters stay at the catalogue's
//! defaults, as in Demeter's evaluation.
//!
//! The simulated job is one vertex: every operator runs at the job's parallelism
//! (TaskManagers × slots), and its busy time is its bottleneck's (the share of its capacity
//! in use, as Flink's busy-time metric shows it); where no busy time is reported, the CPU it
//! uses over the CPU it requests.

pub mod autoscaler;
pub mod ds2;
pub mod hpa;
#[cfg(test)]
mod tests;

pub use autoscaler::Autoscaler;
pub use ds2::Ds2;
pub use hpa::Reactive;

use crate::adapt::policy::Metrics;
use flink::space::{Config, Space, Value};

/// The slot parameter: parallelism is TaskManagers × slots.
const SLOTS: &str = "taskmanager.numberOfTaskSlots";

/// The fraction of the last step the job was busy — its busiest vertex's busy time where
/// reported, else its CPU over what it requested — or None when the step measured nothing to
/// scale from.
fn busy(m: &Metrics) -> Option<f64> {
    if m.throughput <= 0.0 {
        return None;
    }
    let cpu = (m.cpu_requested > 0.0).then(|| m.cpu_busy / m.cpu_requested);
    m.busy.or(cpu).filter(|b| *b > 0.0).map(|b| b.min(1.0))
}

/// The job's true processing rate — what it would process if busy all the time: records per
/// second over the busy fraction (DS2's and the operator's definition).
fn true_rate(m: &Metrics) -> Option<f64> {
    busy(m).map(|b| m.throughput / b)
}

/// Slots per TaskManager in `config` (1 where the space does not set them).
fn slots(space: &Space, config: &Config) -> u32 {
    match space
        .index_of(SLOTS)
        .map(|i| space.effective(config)[i].clone())
    {
        Some(Value::Int(n)) if n >= 1 => n as u32,
        _ => 1,
    }
}
