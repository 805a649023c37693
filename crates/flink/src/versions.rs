//! Configuration keys across Flink versions: which key (and value format) a parameter of a
//! catalogue written for one version has in another, and which parameters no longer exist.
//!
//! Flink silently ignores keys it does not know, so a study that tunes a removed key tunes a
//! knob that does nothing; [`missing`] lets the study refuse it up front. Names come from the
//! releases' key sets ([`crate::keys`]): a key the target release reads only as a deprecated
//! or fallback key is renamed to the option Flink maps it to (`akka.*` → `pekko.*` in 1.18,
//! `taskmanager.network.memory.fraction` → `taskmanager.memory.network.fraction`, …), and a
//! key the target release does not read at all is missing there. What the key sets cannot
//! say is a change of value format; the one such change is FLINK-32023 (1.18):
//! `execution.buffer-timeout` −1 (flush only full buffers) became
//! `execution.buffer-timeout.enabled: false`. A target release without a key set gets the
//! key unchanged and unchecked.

use crate::conf::FlinkVersion;
use crate::keys::key_set;

const fn v(major: u32, minor: u32) -> FlinkVersion {
    FlinkVersion { major, minor }
}

/// Why `key` (a key of version `from`) does not exist in version `to`, if it does not.
pub fn missing(key: &str, from: FlinkVersion, to: FlinkVersion) -> Option<String> {
    // flinktune's own keys (the TaskManager count, …) are read by its adapters, not by Flink:
    // every version keeps them.
    if from == to || key.starts_with("flinktune.") {
        return None;
    }
    let set = key_set(to)?;
    let renamed = rename(key, from, to);
    (!set.contains(&renamed)).then(|| format!("Flink {} does not read it", set.release))
}

/// The name `key` (of version `from`) has in version `to` (itself when unchanged).
pub fn rename(key: &str, from: FlinkVersion, to: FlinkVersion) -> String {
    let Some(set) = key_set(to).filter(|_| from != to) else {
        return key.to_string();
    };
    match set.check(key) {
        crate::keys::Status::Deprecated {
            successor: Some(new),
        } => new,
        _ => key.to_string(),
    }
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
        // 1.20 still reads the old name, as a deprecated key of the new option: the new
        // name is written.
        assert_eq!(
            rename("taskmanager.network.memory.fraction", v111, v120),
            "taskmanager.memory.network.fraction"
        );
        assert_eq!(
            rename("taskmanager.network.memory.fraction", v111, v111),
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
        assert!(
            missing("akka.transport.threshold", v111, v120)
                .unwrap()
                .contains("1.20.5")
        );
        // Within one release line nothing is second-guessed (the key check does that).
        assert!(missing("taskmanager.network.netty.transport", v20, v20).is_none());
        // A release without a key set: unchecked.
        assert!(missing("taskmanager.network.netty.transport", v111, v(1, 15)).is_none());
    }
}
