//! The RPC system's frame size (`akka.framesize`; `pekko.framesize` since Flink 1.18): the
//! largest message the JobManager and TaskManagers exchange. The actor system reads it when
//! it starts, so a value it refuses stops the cluster before any job runs.

use std::collections::BTreeMap;

use crate::memory::lookup;
use crate::units::parse_memory_bytes;

/// Flink's default frame size, 10 MiB.
const DEFAULT: &str = "10485760b";

/// The remoting layer's minimum frame size in bytes.
const MIN_FRAME_BYTES: i32 = 32_000;

/// The frame size the actor system runs with, in bytes, or why it refuses to start.
///
/// The remoting layer keeps the frame size as a 32-bit integer (it truncates the 64-bit byte
/// count) and requires at least 32 000 bytes, so 2 GiB wraps to a negative size and fails
/// the same way as a size that is too small.
pub fn framesize_bytes(conf: &BTreeMap<String, String>) -> Result<u64, String> {
    let text = lookup(conf, "akka.framesize").unwrap_or(DEFAULT);
    let bytes = parse_memory_bytes(text)
        .map_err(|_| format!("cannot parse akka.framesize '{text}' as a size"))?;
    let frame = bytes as i64 as i32;
    if frame < MIN_FRAME_BYTES {
        return Err(format!(
            "IllegalArgumentException: requirement failed: Setting 'maximum-frame-size' must be at least {MIN_FRAME_BYTES} bytes (akka.framesize: {text}, as a 32-bit frame size: {frame})"
        ));
    }
    Ok(frame as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(value: Option<&str>) -> Result<u64, String> {
        let conf = value
            .map(|v| BTreeMap::from([("pekko.framesize".to_string(), v.to_string())]))
            .unwrap_or_default();
        framesize_bytes(&conf)
    }

    #[test]
    fn the_frame_size_is_a_32_bit_count_of_at_least_32000_bytes() {
        assert_eq!(frame(None), Ok(10_485_760));
        assert_eq!(frame(Some("32000b")), Ok(32_000));
        assert_eq!(frame(Some("2047m")), Ok(2047 * 1024 * 1024));
        for refused in ["31999b", "16kb", "2048m", "3g"] {
            let e = frame(Some(refused)).unwrap_err();
            assert!(e.contains("must be at least 32000 bytes"), "{refused}: {e}");
        }
        // 4 GiB + 1 MiB wraps to 1 MiB, which the remoting layer accepts.
        assert_eq!(frame(Some("4097m")), Ok(1024 * 1024));
        assert!(frame(Some("ten")).unwrap_err().contains("cannot parse"));
    }
}
