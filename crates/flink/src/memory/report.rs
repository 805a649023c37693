//! What `flinktune memory` prints: both processes' memory as a Flink version derives it, as
//! an indented breakdown or as JSON keyed by Flink's option names, or Flink's error for a
//! process that would not start. Apart because it only presents what `taskmanager` and
//! `jobmanager` derive.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde_json::{Map, Value, json};

use crate::conf::FlinkVersion;
use crate::memory::error::MemoryError;
use crate::memory::jobmanager::{JobManagerMemory, jobmanager};
use crate::memory::size::readable;
use crate::memory::taskmanager::{TaskManagerMemory, taskmanager};

/// Both processes' memory, or why each would not start.
pub struct MemoryReport {
    pub version: FlinkVersion,
    pub taskmanager: Result<TaskManagerMemory, MemoryError>,
    pub jobmanager: Result<JobManagerMemory, MemoryError>,
}

/// Derives both processes' memory as Flink `version` does.
pub fn report(conf: &BTreeMap<String, String>, version: FlinkVersion) -> MemoryReport {
    MemoryReport {
        version,
        taskmanager: taskmanager(conf, version),
        jobmanager: jobmanager(conf, version),
    }
}

impl MemoryReport {
    /// `{"taskmanager": {"taskmanager.memory.task.heap.size": <bytes>, …}, "jobmanager": …}`,
    /// or `{"error": "<Flink's message>"}` for a process that would not start.
    pub fn to_json(&self) -> Value {
        fn side<const N: usize>(entries: Result<[(&str, u64); N], &MemoryError>) -> Value {
            match entries {
                Ok(entries) => Value::Object(
                    entries
                        .iter()
                        .map(|(k, v)| (k.to_string(), json!(v)))
                        .collect::<Map<_, _>>(),
                ),
                Err(e) => json!({ "error": e.message }),
            }
        }
        json!({
            "taskmanager": side(self.taskmanager.as_ref().map(TaskManagerMemory::entries)),
            "jobmanager": side(self.jobmanager.as_ref().map(JobManagerMemory::entries)),
        })
    }

    /// The breakdown as Flink logs it at start-up: totals, then their components.
    pub fn describe(&self) -> String {
        let mut out = format!("Memory as Flink {} derives it\n", self.version);
        let line = |out: &mut String, depth: usize, name: &str, bytes: u64| {
            let label = format!("{}{name}:", "  ".repeat(depth));
            let _ = writeln!(out, "{label:<28}{}", readable(bytes));
        };
        out.push_str("\nTaskManager\n");
        match &self.taskmanager {
            Ok(m) => {
                line(&mut out, 1, "Total Process Memory", m.process);
                line(&mut out, 2, "Total Flink Memory", m.flink);
                line(&mut out, 3, "Framework Heap", m.framework_heap);
                line(&mut out, 3, "Task Heap", m.task_heap);
                line(&mut out, 3, "Managed", m.managed);
                line(&mut out, 3, "Network", m.network);
                line(&mut out, 3, "Framework Off-Heap", m.framework_off_heap);
                line(&mut out, 3, "Task Off-Heap", m.task_off_heap);
                line(&mut out, 2, "JVM Metaspace", m.metaspace);
                line(&mut out, 2, "JVM Overhead", m.overhead);
            }
            Err(e) => {
                let _ = writeln!(out, "  would not start: {e}");
            }
        }
        out.push_str("\nJobManager\n");
        match &self.jobmanager {
            Ok(m) => {
                line(&mut out, 1, "Total Process Memory", m.process);
                line(&mut out, 2, "Total Flink Memory", m.flink);
                line(&mut out, 3, "JVM Heap", m.heap);
                line(&mut out, 3, "Off-Heap", m.off_heap);
                line(&mut out, 2, "JVM Metaspace", m.metaspace);
                line(&mut out, 2, "JVM Overhead", m.overhead);
            }
            Err(e) => {
                let _ = writeln!(out, "  would not start: {e}");
            }
        }
        out
    }
}
