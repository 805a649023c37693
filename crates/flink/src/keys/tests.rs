use super::*;

fn v(major: u32, minor: u32) -> FlinkVersion {
    FlinkVersion { major, minor }
}

#[test]
fn every_supported_release_has_a_parsed_key_set() {
    for version in supported_versions() {
        let set = key_set(version).expect("embedded");
        assert!(
            set.release.starts_with(&version.to_string()),
            "{}",
            set.release
        );
        assert!(
            set.names().count() > 500,
            "{version}: {}",
            set.names().count()
        );
        assert_eq!(set.check("parallelism.default"), Status::Known);
        assert_eq!(set.check("taskmanager.numberOfTaskSlots"), Status::Known);
    }
    assert!(key_set(v(1, 15)).is_none());
}

#[test]
fn a_typo_is_unknown_and_names_the_closest_key() {
    let set = key_set(v(1, 20)).unwrap();
    assert_eq!(
        set.check("taskmanager.numberOfTaskSlot"),
        Status::Unknown {
            closest: Some("taskmanager.numberOfTaskSlots".into())
        }
    );
    assert_eq!(
        set.check("taskmanager.network.memory.bufer-debloat.enabled"),
        Status::Unknown {
            closest: Some("taskmanager.network.memory.buffer-debloat.enabled".into())
        }
    );
    // Nothing alike: no suggestion rather than a random one.
    assert_eq!(set.check("zzzz"), Status::Unknown { closest: None });
}

#[test]
fn deprecated_keys_name_their_successor() {
    let set = key_set(v(1, 20)).unwrap();
    assert_eq!(
        set.check("akka.framesize"),
        Status::Deprecated {
            successor: Some("pekko.framesize".into())
        }
    );
    assert_eq!(
        set.check("execution.buffer-timeout"),
        Status::Deprecated {
            successor: Some("execution.buffer-timeout.interval".into())
        }
    );
    // In 1.11 the Akka key is current.
    assert_eq!(
        key_set(v(1, 11)).unwrap().check("akka.framesize"),
        Status::Known
    );
    assert_eq!(set.default_of("pekko.framesize"), Some("10485760b"));
}

#[test]
fn prefix_families_and_allowed_keys_pass() {
    let set = key_set(v(2, 3)).unwrap();
    assert_eq!(set.check("metrics.reporter.prom.port"), Status::Known);
    let allowed = vec!["my.plugin.option".to_string(), "other.plugin.*".to_string()];
    let found = check_keys(
        set,
        [
            "my.plugin.option",
            "other.plugin.x",
            "my.plugin.optio",
            "akka.framesize",
        ],
        &allowed,
    );
    let keys: Vec<&str> = found.iter().map(Finding::key).collect();
    assert_eq!(keys, ["my.plugin.optio", "akka.framesize"]);
    let msg = found[0].message(set);
    assert!(msg.contains("does not exist in Flink 2.3"), "{msg}");
    assert!(msg.contains("allow_unknown_keys"), "{msg}");
}

#[test]
fn bad_rows_name_the_line() {
    let err = KeySet::parse(
        v(1, 20),
        "# Flink 1.20.5 x\na\toption\t\t1\nb\tweird\t\t\n",
        "f",
    )
    .unwrap_err();
    assert!(format!("{err:#}").contains("f:3"), "{err:#}");
    assert!(KeySet::parse(v(1, 20), "no header\n", "f").is_err());
}
