//! The legacy heap options of Flink 1.x (`taskmanager.heap.size` / `.mb`,
//! `jobmanager.heap.size` / `.mb`), mapped as Flink's `MemoryBackwardsCompatibilityUtils` maps
//! them: whenever the new option (the TaskManager's total Flink memory, the JobManager's heap)
//! is absent, the legacy size stands for it — even beside a total process size. Apart because
//! both processes map them the same way, before their derivation starts.

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::conf::FlinkVersion;
use crate::memory::error::{MemoryError, Rule, err};
use crate::memory::options::Reader;
use crate::memory::size::MIB;

/// `conf` with the legacy heap size `<prefix>.size` (or `<prefix>.mb`, in MiB) written under
/// `new_key` when that is absent; Flink 2.0 removed the legacy keys.
pub(super) fn map_legacy_heap<'a>(
    conf: &'a BTreeMap<String, String>,
    version: FlinkVersion,
    new_key: &str,
    prefix: &str,
) -> Result<Cow<'a, BTreeMap<String, String>>, MemoryError> {
    let r = Reader { conf, version };
    if version.major >= 2 || r.contains(new_key) {
        return Ok(Cow::Borrowed(conf));
    }
    let (size_key, mb_key) = (format!("{prefix}.size"), format!("{prefix}.mb"));
    let bytes = if let Some(bytes) = r.size(&size_key)? {
        bytes
    } else if r.contains(&mb_key) {
        let mb = r.integer(&mb_key, 0)?;
        u64::try_from(mb).map(|mb| mb * MIB).map_err(|_| {
            err(
                Rule::InvalidArithmetic,
                Some(&mb_key),
                "bytes must be >= 0".to_string(),
            )
        })?
    } else {
        return Ok(Cow::Borrowed(conf));
    };
    let mut mapped = conf.clone();
    mapped.insert(new_key.to_string(), format!("{bytes}b"));
    Ok(Cow::Owned(mapped))
}
