//! Configuration keys across Flink versions: which key (and value format) a parameter of a
//! catalogue written for one version has in another, and which parameters no longer exist.
//!
//! Flink silently ignores keys it does not know, so a study that tunes a removed key tunes a
//! knob that does nothing; [`missing`] lets the study refuse it up front. The table follows
//! Flink's release notes and sources (see `shared/design/flink-facts.md`):
//! - 1.18: Akka → Pekko, `akka.*` → `pekko.*` (same value formats, e.g.
//!   `pekko.framesize: 10485760b`); `akka.transport.threshold` has no Pekko successor;
//! - 1.18 (FLINK-32023): `execution.buffer-timeout` → `execution.buffer-timeout.interval`,
//!   and −1 (flush only full buffers) → `execution.buffer-timeout.enabled: false`;
//! - 2.0: `taskmanager.network.netty.*`, `taskmanager.network.numberOfBuffers`,
//!   `taskmanager.network.blocking-shuffle.*`, `taskmanager.network.memory.buffers-per-channel`
//!   and `…floating-buffers-per-gate` are gone; `taskmanager.network.memory.{fraction,min,max}`
//!   are `taskmanager.memory.network.{fraction,min,max}`.

use crate::conf::FlinkVersion;

const fn v(major: u32, minor: u32) -> FlinkVersion {
    FlinkVersion { major, minor }
}

/// Keys (exact, or prefixes ending in '.') that do not exist from a version on.
const REMOVED: &[(&str, FlinkVersion, &str)] = &[
    (
        "akka.transport.threshold",
        v(1, 18),
        "removed with Akka in Flink 1.18 (Pekko has no transport threshold)",
    ),
    (
        "taskmanager.network.netty.",
        v(2, 0),
        "Netty options removed in Flink 2.0",
    ),
    (
        "taskmanager.network.numberOfBuffers",
        v(2, 0),
        "legacy network buffer count removed in Flink 2.0 (use taskmanager.memory.network.*)",
    ),
    (
        "taskmanager.network.blocking-shuffle.",
        v(2, 0),
        "blocking-shuffle options removed in Flink 2.0",
    ),
    (
        "taskmanager.network.memory.buffers-per-channel",
        v(2, 0),
        "removed in Flink 2.0",
    ),
    (
        "taskmanager.network.memory.floating-buffers-per-gate",
        v(2, 0),
        "removed in Flink 2.0",
    ),
    (
        "taskmanager.heap.size",
        v(2, 0),
        "removed in Flink 2.0 (use taskmanager.memory.*)",
    ),
];

/// Key prefix renames: (old prefix, new prefix, from version).
const RENAMED: &[(&str, &str, FlinkVersion)] = &[
    ("akka.", "pekko.", v(1, 18)),
    (
        "taskmanager.network.memory.fraction",
        "taskmanager.memory.network.fraction",
        v(2, 0),
    ),
    (
        "taskmanager.network.memory.min",
        "taskmanager.memory.network.min",
        v(2, 0),
    ),
    (
        "taskmanager.network.memory.max",
        "taskmanager.memory.network.max",
        v(2, 0),
    ),
];

fn matches(key: &str, pattern: &str) -> bool {
    if pattern.ends_with('.') {
        key.starts_with(pattern)
    } else {
        key == pattern
    }
}

/// Why `key` (a key of version `from`) does not exist in version `to`, if it does not.
pub fn missing(key: &str, from: FlinkVersion, to: FlinkVersion) -> Option<&'static str> {
    REMOVED
        .iter()
        .find(|(pat, since, _)| matches(key, pat) && from < *since && to >= *since)
        .map(|(_, _, why)| *why)
}

/// The name `key` (of version `from`) has in version `to` (itself when unchanged).
pub fn rename(key: &str, from: FlinkVersion, to: FlinkVersion) -> String {
    let mut key = key.to_string();
    for (old, new, since) in RENAMED {
        if from < *since && to >= *since && matches(&key, old) {
            key = format!("{new}{}", &key[old.len()..]);
        }
    }
    key
}

/// The entries `key: value` (written for version `from`) become in version `to`; `None`
/// when the key does not exist there (see [`missing`]).
pub fn translate(
    key: &str,
    value: &str,
    from: FlinkVersion,
    to: FlinkVersion,
) -> Option<Vec<(String, String)>> {
    if missing(key, from, to).is_some() {
        return None;
    }
    let since = v(1, 18);
    if key == "execution.buffer-timeout" && from < since && to >= since {
        // -1 is no longer an interval: it is the switch turned off.
        return Some(if value.trim() == "-1" {
            vec![("execution.buffer-timeout.enabled".into(), "false".into())]
        } else {
            vec![
                ("execution.buffer-timeout.enabled".into(), "true".into()),
                (
                    "execution.buffer-timeout.interval".into(),
                    format!("{value} ms"),
                ),
            ]
        });
    }
    Some(vec![(rename(key, from, to), value.to_string())])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renames_follow_the_target_version() {
        let (v111, v120, v20) = (v(1, 11), v(1, 20), v(2, 0));
        assert_eq!(rename("akka.framesize", v111, v120), "pekko.framesize");
        assert_eq!(rename("akka.framesize", v111, v(1, 17)), "akka.framesize");
        assert_eq!(
            rename("taskmanager.network.memory.fraction", v111, v20),
            "taskmanager.memory.network.fraction"
        );
        assert_eq!(
            rename("taskmanager.network.memory.fraction", v111, v120),
            "taskmanager.network.memory.fraction"
        );
        assert_eq!(
            translate("akka.framesize", "10485760b", v111, v20).unwrap(),
            vec![("pekko.framesize".to_string(), "10485760b".to_string())]
        );
    }

    #[test]
    fn buffer_timeout_splits_into_switch_and_interval() {
        let (v111, v120) = (v(1, 11), v(1, 20));
        assert_eq!(
            translate("execution.buffer-timeout", "-1", v111, v120).unwrap(),
            vec![(
                "execution.buffer-timeout.enabled".to_string(),
                "false".to_string()
            )]
        );
        let t = translate("execution.buffer-timeout", "5", v111, v120).unwrap();
        assert!(t.contains(&(
            "execution.buffer-timeout.interval".to_string(),
            "5 ms".to_string()
        )));
        // Same version: untouched.
        assert_eq!(
            translate("execution.buffer-timeout", "-1", v111, v111).unwrap(),
            vec![("execution.buffer-timeout".to_string(), "-1".to_string())]
        );
    }

    #[test]
    fn removed_keys_say_why() {
        let (v111, v120, v20) = (v(1, 11), v(1, 20), v(2, 0));
        assert!(missing("taskmanager.network.netty.transport", v111, v20).is_some());
        assert!(missing("taskmanager.network.netty.transport", v111, v120).is_none());
        assert!(missing("akka.transport.threshold", v111, v120).is_some());
        assert!(missing("taskmanager.network.numberOfBuffers", v111, v20).is_some());
        assert!(translate("taskmanager.network.numberOfBuffers", "4096", v111, v20).is_none());
        assert!(missing("parallelism.default", v111, v20).is_none());
        // A catalogue already written for 2.0 is not second-guessed.
        assert!(missing("taskmanager.network.netty.transport", v20, v(2, 1)).is_none());
    }
}
