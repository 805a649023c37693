use super::*;
use crate::keys::{Status, key_set};
use crate::space::{Format, Kind, Param, Unit, Value};

/// Whether a catalogue default is the default Flink declares (`flink`, as the key set has it).
fn same_default(p: &Param, v: &Value, flink: &str) -> bool {
    let ours = p.format_value(v);
    match (p.kind, p.format, p.unit) {
        (Kind::Bool | Kind::Enum, _, _) => ours.eq_ignore_ascii_case(flink),
        (_, Format::Memory | Format::BytesSuffix, _) => {
            crate::units::parse_memory_bytes(&ours).ok()
                == crate::units::parse_memory_bytes(flink).ok()
        }
        (_, _, Unit::Ms) => crate::units::parse_duration_ms(flink).ok() == ours.parse().ok(),
        _ => flink.parse::<f64>().ok() == ours.parse::<f64>().ok(),
    }
}

#[test]
fn every_builtin_catalogue_key_exists_in_each_of_its_versions() {
    for b in BUILTIN_CATALOGUES {
        let (cat, space) = builtin_catalogue(b.name).unwrap().unwrap();
        let own: FlinkVersion = cat.flink_version.parse().unwrap();
        assert_eq!(b.versions[0], cat.flink_version, "{}", b.name);
        for v in b.versions {
            let version: FlinkVersion = v.parse().unwrap();
            let set = key_set(version).unwrap_or_else(|| panic!("no key set for {v}"));
            for p in &space.params {
                if !p.exists_in(version).unwrap() || p.name.starts_with("flinktune.") {
                    continue;
                }
                let written = crate::versions::rename(&p.name, own, version);
                let status = set.check(&written);
                // The paper's 1.11 catalogue keeps its deprecated numberOfBuffers (a warning);
                // the catalogues of today's Flink use current keys only, except keys deprecated
                // without a successor (1.20's buffers per channel, Netty threads): the release
                // still reads them and offers no other way to set that knob.
                let fine = match status {
                    Status::Known => true,
                    Status::Deprecated { successor: None } => true,
                    Status::Deprecated { .. } => own.major == 1 && own.minor == 11,
                    Status::Unknown { .. } => false,
                };
                assert!(
                    fine,
                    "{}: {written} in Flink {}: {status:?}",
                    b.name, set.release
                );
            }
        }
    }
}

#[test]
fn builtin_catalogue_defaults_are_flinks() {
    // The 1.11 catalogues give the defaults a 1.11 job effectively runs with (the streaming
    // environment's 200 ms watermark interval where the option says 0), not the options'.
    for b in BUILTIN_CATALOGUES
        .iter()
        .filter(|b| b.versions[0] != "1.11")
    {
        let (cat, space) = builtin_catalogue(b.name).unwrap().unwrap();
        let set = key_set(cat.flink_version.parse().unwrap()).unwrap();
        for p in &space.params {
            let (Some(v), Some(flink)) = (&p.default, set.default_of(&p.name)) else {
                continue;
            };
            assert!(
                same_default(p, v, flink),
                "{}: {} = {v}, Flink {} says {flink}",
                b.name,
                p.name,
                set.release
            );
        }
    }
}

#[test]
fn builtin_base_configurations_use_only_their_versions_keys() {
    for v in ["1.11", "1.18", "1.19", "1.20", "2.0", "2.1", "2.2", "2.3"] {
        let version: FlinkVersion = v.parse().unwrap();
        let set = key_set(version).unwrap();
        let base = builtin_base(version).unwrap();
        for key in base.conf.keys() {
            assert_eq!(set.check(key), Status::Known, "{key} in Flink {v}'s base");
        }
    }
}

#[test]
fn each_supported_version_has_a_key_parameter_catalogue() {
    for v in ["1.11", "1.18", "1.19", "1.20", "2.0", "2.1", "2.2", "2.3"] {
        let b = key_params_for(v.parse().unwrap()).unwrap();
        assert!(b.name.ends_with("-key-params"), "{v}");
    }
    assert!(key_params_for("1.15".parse().unwrap()).is_none());
    let listed = describe_builtins().unwrap();
    assert!(listed.contains("flink-2-key-params"), "{listed}");
    assert!(
        builtin_text("nope")
            .unwrap_err()
            .to_string()
            .contains("flink-1.20-key-params")
    );
}
