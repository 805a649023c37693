//! Tests of the memory model on byte counts and messages taken from Flink's own start-up
//! logs (`tests/flink_memory` compares it with Flink on many more): apart because they
//! exercise both processes and every rule, and would double the size of any one file.

use std::collections::BTreeMap;

use super::*;
use crate::conf::FlinkVersion;
use crate::memory::size::{GIB, MIB, multiply};

const V1_11: FlinkVersion = FlinkVersion {
    major: 1,
    minor: 11,
};
const V1_20: FlinkVersion = FlinkVersion {
    major: 1,
    minor: 20,
};
const V2_0: FlinkVersion = FlinkVersion { major: 2, minor: 0 };

fn conf(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn default_taskmanager_matches_flinks_log_to_the_byte() {
    // Flink 1.11, 1.20 and 2.3 all log these bytes for taskmanager.memory.process.size: 1728m.
    for version in [V1_11, V1_20, V2_0] {
        let m = taskmanager(
            &conf(&[("taskmanager.memory.process.size", "1728m")]),
            version,
        )
        .unwrap();
        assert_eq!(m.process, 1_811_939_328);
        assert_eq!(m.flink, 1_342_177_280);
        assert_eq!(m.framework_heap, 134_217_728);
        assert_eq!(m.task_heap, 402_653_174);
        assert_eq!(m.managed, 536_870_920);
        assert_eq!(m.network, 134_217_730);
        assert_eq!(m.framework_off_heap, 134_217_728);
        assert_eq!(m.task_off_heap, 0);
        assert_eq!(m.metaspace, 268_435_456);
        assert_eq!(m.overhead, 201_326_592);
    }
}

#[test]
fn default_jobmanager_matches_flinks_log() {
    let m = jobmanager(&conf(&[("jobmanager.memory.process.size", "1600m")]), V1_20).unwrap();
    assert_eq!(
        (
            m.process,
            m.flink,
            m.heap,
            m.off_heap,
            m.metaspace,
            m.overhead
        ),
        (
            1_677_721_600,
            1_207_959_552,
            GIB,
            128 * MIB,
            256 * MIB,
            192 * MIB
        )
    );
}

#[test]
fn fractions_multiply_in_decimal_as_flink_does() {
    // 0.7f widens to 0.699999988079071; Flink multiplies that decimal exactly.
    assert_eq!(multiply(6912 * MIB, f64::from(0.7f32)), Some(5_073_430_031));
    assert_eq!(multiply(1280 * MIB, f64::from(0.1f32)), Some(134_217_730));
    assert_eq!(multiply(u64::MAX / 2, 3.0), None);
}

#[test]
fn sizes_print_as_flinks_memory_size_does() {
    assert_eq!(readable(0), "0 bytes");
    assert_eq!(readable(1024), "1024 bytes");
    assert_eq!(readable(1025), "1.001kb (1025 bytes)");
    assert_eq!(readable(GIB), "1024.000mb (1073741824 bytes)");
    assert_eq!(readable(1_677_721_600), "1.563gb (1677721600 bytes)");
    assert_eq!(
        readable(i64::MAX as u64),
        "8388608.000tb (9223372036854775807 bytes)"
    );
}

#[test]
fn network_memory_lost_its_1_gib_cap_in_1_17() {
    let big = conf(&[("taskmanager.memory.process.size", "16g")]);
    assert_eq!(taskmanager(&big, V1_11).unwrap().network, GIB);
    let network = taskmanager(&big, V1_20).unwrap().network;
    assert_eq!(network, multiply(15104 * MIB, f64::from(0.1f32)).unwrap());
    // The remainder of 4g after a 1g task heap is 1177.6 MiB of network memory: too much for
    // 1.11's default range, fine since 1.17.
    let remainder = conf(&[
        ("taskmanager.memory.flink.size", "4g"),
        ("taskmanager.memory.task.heap.size", "1g"),
    ]);
    let e = taskmanager(&remainder, V1_11).unwrap_err();
    assert_eq!(e.rule, Rule::NetworkOutOfRange);
    assert!(
        e.message
            .starts_with("TaskManager memory configuration failed: If Total Flink")
    );
    assert!(taskmanager(&remainder, V1_20).is_ok());
}

#[test]
fn legacy_heap_keys_stand_for_the_new_ones_whenever_those_are_absent() {
    // taskmanager.heap.size is the total Flink memory even beside a process size.
    let tm = conf(&[
        ("taskmanager.heap.size", "1024m"),
        ("taskmanager.memory.process.size", "1728m"),
    ]);
    let m = taskmanager(&tm, V1_20).unwrap();
    assert_eq!(
        (m.flink, m.process, m.overhead),
        (GIB, 1728 * MIB, 448 * MIB)
    );
    // jobmanager.heap.size is the JobManager's heap, even beside a process size it overflows.
    let jm = conf(&[
        ("jobmanager.heap.size", "2048m"),
        ("jobmanager.memory.process.size", "1600m"),
    ]);
    assert!(jobmanager(&jm, V1_11).is_err());
    // Flink 2.0 removed them: only the process size counts.
    assert_eq!(jobmanager(&jm, V2_0).unwrap().process, 1600 * MIB);
}

#[test]
fn errors_carry_flinks_message() {
    let e = taskmanager(&conf(&[("taskmanager.memory.process.size", "256m")]), V1_20).unwrap_err();
    assert_eq!(e.rule, Rule::MetaspacePlusOverheadExceedProcess);
    assert_eq!(
        e.message,
        "TaskManager memory configuration failed: Sum of configured JVM Metaspace (256.000mb (268435456 bytes)) and JVM Overhead (192.000mb (201326592 bytes)) exceed configured Total Process Memory (256.000mb (268435456 bytes))."
    );
    let e = taskmanager(
        &conf(&[
            ("taskmanager.memory.process.size", "1728m"),
            ("taskmanager.memory.network.fraction", "1.5"),
        ]),
        V1_11,
    )
    .unwrap_err();
    assert_eq!(
        e.message,
        "TaskManager memory configuration failed: Inconsistently configured Key: 'taskmanager.memory.network.fraction' , default: 0.1 (fallback keys: [{key=taskmanager.network.memory.fraction, isDeprecated=true}]) (1.5) and its min (64.000mb (67108864 bytes)), max (1024.000mb (1073741824 bytes)) value"
    );
    // Fractional sizes are not Flink sizes.
    let e = taskmanager(&conf(&[("taskmanager.memory.process.size", "1.5g")]), V1_20).unwrap_err();
    assert_eq!(e.rule, Rule::UnreadableSize);
    let e = taskmanager(&conf(&[]), V1_20).unwrap_err();
    assert_eq!(e.rule, Rule::NoSizing);
}

#[test]
fn segment_size_must_be_a_power_of_two_of_at_least_4_kib() {
    let seg = |s: &str| segment_size_bytes(&conf(&[("taskmanager.memory.segment-size", s)]), V1_20);
    assert_eq!(seg("64kb").unwrap(), 65536);
    assert_eq!(seg("48kb").unwrap_err().rule, Rule::InvalidSegmentSize);
    assert_eq!(seg("2kb").unwrap_err().rule, Rule::InvalidSegmentSize);
}

#[test]
fn report_json_is_keyed_by_flinks_option_names() {
    let c = conf(&[
        ("taskmanager.memory.process.size", "1728m"),
        ("jobmanager.memory.process.size", "100m"),
    ]);
    let json = report(&c, V1_20).to_json();
    assert_eq!(
        json["taskmanager"]["taskmanager.memory.network.size"],
        134_217_730
    );
    assert_eq!(
        json["taskmanager"]["taskmanager.memory.jvm-overhead.size"],
        201_326_592
    );
    let error = json["jobmanager"]["error"].as_str().unwrap();
    assert!(
        error
            .starts_with("JobManager memory configuration failed: Sum of configured JVM Metaspace")
    );
    let text = report(&c, V1_20).describe();
    assert!(
        text.contains("Network:") && text.contains("would not start"),
        "{text}"
    );
}

#[test]
fn shares_name_the_totals_they_are_taken_of() {
    let tm_totals = [
        "taskmanager.memory.flink.size",
        "taskmanager.memory.process.size",
    ];
    for key in [
        "taskmanager.memory.network.fraction",
        "taskmanager.memory.network.min",
        "taskmanager.network.memory.max",
        "taskmanager.memory.managed.fraction",
    ] {
        assert_eq!(share_of(key), tm_totals, "{key}");
    }
    assert_eq!(
        share_of("taskmanager.memory.jvm-overhead.fraction"),
        ["taskmanager.memory.process.size"]
    );
    assert_eq!(
        share_of("jobmanager.memory.jvm-overhead.min"),
        ["jobmanager.memory.process.size"]
    );
    for key in [
        "taskmanager.memory.managed.size",
        "taskmanager.network.memory.buffers-per-channel",
        "taskmanager.memory.flink.size",
        "taskmanager.memory.task.heap.size",
    ] {
        assert!(share_of(key).is_empty(), "{key}");
    }
}

#[test]
fn the_taskmanager_s_memory_parts_are_told_from_other_keys() {
    for key in [
        "taskmanager.memory.flink.size",
        "taskmanager.memory.task.heap.size",
        "taskmanager.memory.managed.fraction",
        "taskmanager.memory.network.min",
        "taskmanager.network.memory.max",
        "taskmanager.memory.jvm-overhead.fraction",
        "taskmanager.memory.jvm-metaspace.size",
    ] {
        assert!(sizes_taskmanager_memory(key), "{key}");
    }
    for key in [
        "taskmanager.memory.segment-size",
        "taskmanager.memory.min-segment-size",
        "taskmanager.network.memory.buffers-per-channel",
        "taskmanager.numberOfTaskSlots",
        "jobmanager.memory.flink.size",
        "taskmanager.memory.managed.consumer-weights",
    ] {
        assert!(!sizes_taskmanager_memory(key), "{key}");
    }
}
