//! Flink's process memory model (TaskManager and JobManager), as each Flink version from 1.11
//! derives it at start-up from the flat configuration, to the byte and with Flink's messages.
//!
//! The derivation follows Flink's `ProcessMemoryUtils`, `TaskExecutorFlinkMemoryUtils` and
//! `JobManagerFlinkMemoryUtils`, and `tests/flink_memory` holds it against Flink's own
//! start-up code (`BashJavaUtils`) for every installed version. Its quirks:
//!
//! * exactly one way of sizing: fine-grained (TM: `task.heap.size` **and** `managed.size`;
//!   JM: `heap.size`), then total Flink memory (`*.memory.flink.size`), then total process
//!   memory (`*.memory.process.size`); none of them is an error;
//! * the legacy `taskmanager.heap.size` / `jobmanager.heap.size` (and their `.mb` forms) stand
//!   for the total Flink memory / the JM heap whenever those are absent (1.x only);
//! * fractions are read as Java `float`s, widened, and multiplied in decimal from the
//!   double's shortest form (`MemorySize.multiply`), truncated: 0.1 of 1280 MiB is
//!   134 217 730 bytes and 0.7 of 6912 MiB is 5 073 430 031;
//! * fraction-derived components (JVM overhead, network) are clamped to their `[min, max]`;
//!   network memory's default max is 1 GiB before 1.17 and unbounded since (FLINK-30472);
//! * legacy network configuration (1.x): when `taskmanager.network.numberOfBuffers` is set
//!   and none of the network fraction/min/max keys is, network memory = buffers × segment size.
//!
//! The memory segment size (a power of two of at least 4 KiB) is checked when the
//! TaskManager itself starts, apart from the derivation (`segment_size_bytes`).
//!
//! The derivation is layered, each file using only those above it: `size` (Flink's
//! `MemorySize`: parsing, printing, multiplying), `error` (the rules and the error), `options`
//! (reading sizes, fractions and ranges under a version's names, and which total a share
//! is taken of), `legacy` (the legacy heap keys), `jvm` (metaspace and overhead, shared by
//! both processes), `network` (the segment size and the TaskManager's network memory),
//! then `taskmanager` and `jobmanager`, and `report` (what `flinktune memory` prints).

mod error;
mod jobmanager;
mod jvm;
mod legacy;
mod network;
mod options;
mod report;
mod size;
mod taskmanager;

pub use error::{MemoryError, Rule};
pub use jobmanager::{JobManagerMemory, jobmanager};
pub use network::segment_size_bytes;
pub use options::{lookup, share_of, sizes_taskmanager_memory};
pub use report::{MemoryReport, report};
pub use size::{human, mib, readable};
pub use taskmanager::{TaskManagerMemory, taskmanager};

#[cfg(test)]
mod tests;
