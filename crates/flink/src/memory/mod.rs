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
//!
//! The derivation is layered, each file using only those above it: `size` (byte units and
//! their printing), `error` (the rules and the error), `options` (reading sizes, fractions and
//! ranges under any of a key's names), `jvm` (metaspace and overhead, shared by both
//! processes), `network` (the segment size and the TaskManager's network memory), then
//! `taskmanager` and `jobmanager`.

mod error;
mod jobmanager;
mod jvm;
mod network;
mod options;
mod size;
mod taskmanager;

pub use error::{MemoryError, Rule};
pub use jobmanager::{JobManagerMemory, jobmanager};
pub use network::segment_size_bytes;
pub use options::lookup;
pub use size::human;
pub use taskmanager::{TaskManagerMemory, taskmanager};

#[cfg(test)]
mod tests;
