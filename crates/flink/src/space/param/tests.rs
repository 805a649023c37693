//! Tests of single parameters: the unit-cube mapping, Flink formats, powers of two, value and
//! declaration checks, and version ranges.

use super::*;
use crate::conf::FlinkVersion;

fn int(name: &str, min: f64, max: f64, log: bool) -> Param {
    Param {
        name: name.into(),
        kind: Kind::Int,
        min: Some(min),
        max: Some(max),
        log,
        power_of_two: false,
        values: vec![],
        default: None,
        effective: None,
        unit: Unit::None,
        format: Format::Plain,
        replaces: vec![],
        versions: None,
        active_when: None,
        note: String::new(),
    }
}

#[test]
fn unit_mapping_round_trips_and_stays_in_range() {
    let p = int("execution.buffer-timeout", -1.0, 500.0, true);
    for v in [-1, 0, 1, 7, 100, 500] {
        let u = p.to_unit(&Value::Int(v));
        assert!((0.0..=1.0).contains(&u));
        assert_eq!(p.from_unit(u), Value::Int(v));
    }
    // The log scale gives the special small values a real share of the cube.
    assert!(p.to_unit(&Value::Int(5)) > 0.25);
    assert_eq!(p.from_unit(0.0), Value::Int(-1));
    assert_eq!(p.from_unit(1.0), Value::Int(500));
    assert_eq!(p.from_unit(f64::NAN), Value::Int(-1));
}

#[test]
fn formats_follow_flink() {
    let mut p = int("taskmanager.memory.flink.size", 1024.0, 40960.0, true);
    p.unit = Unit::Mb;
    p.format = Format::Memory;
    assert_eq!(p.format_value(&Value::Int(4096)), "4096m");
    p.unit = Unit::Kb;
    assert_eq!(p.format_value(&Value::Int(32)), "32kb");
    p.unit = Unit::Mb;
    p.format = Format::BytesSuffix;
    assert_eq!(p.format_value(&Value::Int(10)), "10485760b");
    p.unit = Unit::Kb;
    p.format = Format::Bytes;
    assert_eq!(p.format_value(&Value::Int(4)), "4096");
}

#[test]
fn powers_of_two_stay_powers_of_two() {
    let mut p = int("taskmanager.memory.segment-size", 4.0, 1024.0, false);
    p.power_of_two = true;
    assert_eq!(p.levels(), Some(9));
    assert_eq!(
        p.int_values().unwrap(),
        vec![4, 8, 16, 32, 64, 128, 256, 512, 1024]
    );
    for k in 0..=100 {
        let Value::Int(v) = p.from_unit(k as f64 / 100.0) else {
            panic!()
        };
        assert!(v.count_ones() == 1 && (4..=1024).contains(&v), "{v}");
        assert_eq!(p.from_unit(p.to_unit(&Value::Int(v))), Value::Int(v));
    }
    // Evenly spread: each power takes a ninth of the unit interval.
    assert_eq!(p.from_unit(0.5), Value::Int(64));
    assert!(p.parse_value("48").is_err());
    p.min = Some(3.0);
    assert!(p.validate().is_err());
}

#[test]
fn values_are_checked_against_kind_and_range() {
    let p = int("parallelism.default", 1.0, 200.0, true);
    assert!(p.parse_value("12").is_ok());
    assert!(p.parse_value("0").is_err());
    assert!(p.parse_value("1.5").is_err());
    let e = Param {
        kind: Kind::Enum,
        values: vec!["nio".into(), "epoll".into()],
        ..int("t", 0.0, 1.0, false)
    };
    assert!(e.parse_value("epoll").is_ok());
    assert!(e.parse_value("auto").is_err());
}

#[test]
fn versions_say_where_a_key_exists() {
    let v = |s: &str| s.parse::<FlinkVersion>().unwrap();
    let mut p = int("taskmanager.memory.network.min", 16.0, 1024.0, true);
    assert!(p.exists_in(v("1.5")).unwrap());
    p.versions = Some(">=1.10, <2.0".into());
    assert!(p.validate().is_ok());
    assert!(p.exists_in(v("1.11")).unwrap());
    assert!(p.exists_in(v("1.10")).unwrap());
    assert!(!p.exists_in(v("1.9")).unwrap());
    assert!(!p.exists_in(v("2.0")).unwrap());
    p.versions = Some("=1.11".into());
    assert!(p.exists_in(v("1.11")).unwrap() && !p.exists_in(v("1.12")).unwrap());
    for bad in ["1.11", ">=eleven", "~1.11", ">=1.11,"] {
        p.versions = Some(bad.into());
        assert!(p.validate().is_err(), "{bad}");
    }
}

#[test]
fn names_follow_flinks_key_grammar() {
    let ok = int("taskmanager.memory.network-fraction_x9", 1.0, 2.0, false);
    assert!(ok.validate().is_ok());
    for bad in [
        "",
        "a#b",
        "a\nb: 1",
        "a b",
        "key:",
        "ключ",
        &"k".repeat(201),
    ] {
        let e = int(bad, 1.0, 2.0, false).validate().unwrap_err();
        assert!(
            format!("{e:#}").contains("is not a Flink key"),
            "{bad:?}: {e:#}"
        );
    }
    let mut p = int("a.b", 1.0, 2.0, false);
    p.replaces = vec!["c\nd".into()];
    assert!(p.validate().is_err());
    let mut e = int("a.b", 1.0, 2.0, false);
    e.kind = Kind::Enum;
    e.values = vec!["x".into(), "y # z".into()];
    assert!(e.validate().is_err());
}

#[test]
fn sizes_must_fit_a_64_bit_count_of_bytes() {
    let mut p = int("a.b", 1.0, 1e13, false);
    p.unit = Unit::Mb;
    p.format = Format::Memory;
    let e = p.validate().unwrap_err();
    assert!(format!("{e:#}").contains("64-bit count of bytes"), "{e:#}");
    p.max = Some(1e12);
    assert!(p.validate().is_ok());
    p.min = Some(-1.0);
    assert!(p.validate().is_err());
    assert!(int("a.b", 0.0, 1e17, false).validate().is_err());
}

#[test]
fn active_when_names_a_bool_switch_of_the_catalogue() {
    let catalogue = |switch_kind: &str, dependent: &str| {
        format!(
            "flink_version = \"1.20\"\n\
             [[param]]\nname = \"execution.buffer-timeout.enabled\"\n{switch_kind}\n\
             [[param]]\nname = \"execution.buffer-timeout.interval\"\n{dependent}\n\
             active_when = \"execution.buffer-timeout.enabled\"\n"
        )
    };
    let int = "kind = \"int\"\nmin = 0\nmax = 500\ndefault = 100";
    let text = catalogue("kind = \"bool\"", int);
    let (_, space) = crate::space::Space::from_catalogue_text(&text, "c.toml").unwrap();
    assert_eq!(space.switch_of(&space.params[1]).unwrap(), Some(0));
    assert_eq!(space.switch_of(&space.params[0]).unwrap(), None);
    for (text, why) in [
        (
            catalogue("kind = \"int\"\nmin = 0\nmax = 1", int),
            "must name a bool",
        ),
        (
            catalogue("kind = \"bool\"", "kind = \"bool\""),
            "int and float",
        ),
        (
            text.replacen("buffer-timeout.enabled", "object-reuse", 1),
            "must name a bool",
        ),
    ] {
        let e = crate::space::Space::from_catalogue_text(&text, "c.toml").unwrap_err();
        let e = format!("{e:#}");
        assert!(
            e.contains("c.toml") && e.contains("interval") && e.contains(why),
            "{e}"
        );
    }
}
