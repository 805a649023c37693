//! Tests of the memory model against Flink's logged breakdowns and error messages: apart
//! because they exercise both processes and every rule, and would double the size of any one
//! file they sat in.

use std::collections::BTreeMap;

use super::*;
use crate::memory::size::MIB;

fn conf(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 0.01
}

#[test]
fn default_taskmanager_matches_flink_log() {
    // Flink 1.11's breakdown of taskmanager.memory.process.size: 1728m: total Flink
    // 1.250gb, framework heap 128mb, task heap 384mb, task off-heap 0, managed 512mb,
    // network 128mb, metaspace 256mb, overhead 192mb. Fractions are Java floats, so
    // managed = 0.4f × 1280 MiB = 536870920 bytes and network = 0.1f × 1280 MiB = 134217730.
    let m = taskmanager(&conf(&[("taskmanager.memory.process.size", "1728m")])).unwrap();
    assert!(close(m.process_mb, 1728.0));
    assert!(close(m.flink_mb, 1280.0));
    assert!(close(m.framework_heap_mb, 128.0));
    assert!(close(m.framework_off_heap_mb, 128.0));
    assert!(close(m.task_heap_mb, 384.0));
    assert!(close(m.task_off_heap_mb, 0.0));
    assert!(close(m.managed_mb, 512.0));
    assert!(close(m.network_mb, 128.0));
    assert!(close(m.metaspace_mb, 256.0));
    assert!(close(m.overhead_mb, 192.0));
    // The float fractions make the byte counts odd.
    assert_eq!((m.network_mb * MIB).round(), 134_217_730.0);
    assert_eq!((m.managed_mb * MIB).round(), 536_870_920.0);
}

#[test]
fn default_jobmanager() {
    let m = jobmanager(&conf(&[("jobmanager.memory.process.size", "1600m")])).unwrap();
    assert!(close(m.process_mb, 1600.0));
    assert!(close(m.flink_mb, 1152.0));
    assert!(close(m.heap_mb, 1024.0));
    assert!(close(m.off_heap_mb, 128.0));
    assert!(close(m.metaspace_mb, 256.0));
    assert!(close(m.overhead_mb, 192.0));
}

#[test]
fn flink_size_derives_process_with_inverse_fraction() {
    let m = taskmanager(&conf(&[("taskmanager.memory.flink.size", "4096m")])).unwrap();
    // overhead = (4096 + 256) * 0.1 / 0.9 = 483.6 MiB, inside [192m, 1g]
    assert!((m.overhead_mb - 483.55).abs() < 0.1);
    assert!(close(m.managed_mb, 4096.0 * 0.4));
    assert!(close(m.network_mb, 409.6));
    assert!(close(
        m.process_mb,
        m.flink_mb + m.metaspace_mb + m.overhead_mb
    ));
    let j = jobmanager(&conf(&[("jobmanager.memory.flink.size", "1024m")])).unwrap();
    assert!(close(j.heap_mb, 896.0));
    assert!(close(j.overhead_mb, 192.0));
}

#[test]
fn no_sizing_is_an_error() {
    let e = taskmanager(&conf(&[])).unwrap_err();
    assert_eq!(e.rule, Rule::NoSizing);
    assert!(e.message.contains("need to be configured explicitly"));
    let e = jobmanager(&conf(&[])).unwrap_err();
    assert_eq!(e.rule, Rule::NoSizing);
}

#[test]
fn flink_size_larger_than_process_fails() {
    // real Flink: taskmanager.sh exit 1, "Total Process Memory size … is less than the sum of
    // the derived Total Flink Memory size … and … Metaspace"
    let e = taskmanager(&conf(&[
        ("taskmanager.memory.process.size", "1728m"),
        ("taskmanager.memory.flink.size", "2048m"),
    ]))
    .unwrap_err();
    assert_eq!(e.rule, Rule::FlinkPlusMetaspaceExceedProcess);
    assert!(
        e.message
            .contains("is less than the sum of the derived Total Flink Memory size (2gb)")
    );
}

#[test]
fn overhead_outside_range_when_both_sizes_set() {
    // process 2000 − flink 1500 − metaspace 256 = 244 MiB: fine with defaults [192m, 1g] ...
    let ok = taskmanager(&conf(&[
        ("taskmanager.memory.process.size", "2000m"),
        ("taskmanager.memory.flink.size", "1500m"),
    ]))
    .unwrap();
    assert!(close(ok.overhead_mb, 244.0));
    // ... but not with min 300m
    let e = taskmanager(&conf(&[
        ("taskmanager.memory.process.size", "2000m"),
        ("taskmanager.memory.flink.size", "1500m"),
        ("taskmanager.memory.jvm-overhead.min", "300m"),
    ]))
    .unwrap_err();
    assert_eq!(e.rule, Rule::OverheadOutOfRange);
    assert!(e.message.starts_with(
        "Derived JVM Overhead size (244mb) is not in configured JVM Overhead range [300mb, 1gb]"
    ));
    // JobManager alike
    let e = jobmanager(&conf(&[
        ("jobmanager.memory.process.size", "1600m"),
        ("jobmanager.memory.flink.size", "1300m"),
    ]))
    .unwrap_err();
    // 1600 − 1300 − 256 = 44 MiB < 192 MiB
    assert_eq!(e.rule, Rule::OverheadOutOfRange);
}

#[test]
fn small_process_size_fails_on_metaspace_and_overhead() {
    let e = taskmanager(&conf(&[("taskmanager.memory.process.size", "256m")])).unwrap_err();
    assert_eq!(e.rule, Rule::MetaspacePlusOverheadExceedProcess);
    assert!(e.message.contains(
        "Sum of configured JVM Metaspace (256mb) and JVM Overhead (192mb) exceed configured Total Process Memory"
    ));
    let e = jobmanager(&conf(&[("jobmanager.memory.process.size", "400m")])).unwrap_err();
    assert_eq!(e.rule, Rule::MetaspacePlusOverheadExceedProcess);
}

#[test]
fn network_fraction_04_exceeds_flink_memory_by_float_rounding() {
    let e = taskmanager(&conf(&[
        ("taskmanager.memory.process.size", "1728m"),
        ("taskmanager.memory.network.fraction", "0.4"),
    ]))
    .unwrap_err();
    assert_eq!(e.rule, Rule::ComponentsExceedFlink);
    assert!(e.message.contains("Managed Memory (512mb) and Network Memory (512mb) exceed configured Total Flink Memory (1.250gb)"), "{}", e.message);
    // the deprecated 1.11 alias is read too
    let e = taskmanager(&conf(&[
        ("taskmanager.memory.process.size", "1728m"),
        ("taskmanager.network.memory.fraction", "0.4"),
    ]))
    .unwrap_err();
    assert_eq!(e.rule, Rule::ComponentsExceedFlink);
    // 0.3 fits
    let m = taskmanager(&conf(&[
        ("taskmanager.memory.process.size", "1728m"),
        ("taskmanager.memory.network.fraction", "0.3"),
    ]))
    .unwrap();
    assert!(close(m.network_mb, 384.0));
    assert!(m.task_heap_mb > 120.0 && m.task_heap_mb < 130.0);
}

#[test]
fn unreadable_sizes_name_the_key() {
    let e = taskmanager(&conf(&[("taskmanager.memory.process.size", "lots")])).unwrap_err();
    assert_eq!(e.rule, Rule::UnreadableValue);
    assert_eq!(e.key.as_deref(), Some("taskmanager.memory.process.size"));
    assert!(e.message.starts_with(
        "Cannot read memory size from config option 'taskmanager.memory.process.size'"
    ));
    let e = jobmanager(&conf(&[
        ("jobmanager.memory.process.size", "1600m"),
        ("jobmanager.memory.jvm-metaspace.size", "much"),
    ]))
    .unwrap_err();
    assert_eq!(e.rule, Rule::UnreadableValue);
    let e = taskmanager(&conf(&[
        ("taskmanager.memory.process.size", "1728m"),
        ("taskmanager.memory.managed.fraction", "half"),
    ]))
    .unwrap_err();
    assert_eq!(e.rule, Rule::UnreadableValue);
}

#[test]
fn min_above_max_and_bad_fractions() {
    let e = taskmanager(&conf(&[
        ("taskmanager.memory.process.size", "1728m"),
        ("taskmanager.memory.jvm-overhead.min", "1g"),
        ("taskmanager.memory.jvm-overhead.max", "512m"),
    ]))
    .unwrap_err();
    assert_eq!(e.rule, Rule::RangeMinAboveMax);
    assert!(
        e.message
            .contains("min value must be less or equal to max value")
    );
    let e = taskmanager(&conf(&[
        ("taskmanager.memory.process.size", "1728m"),
        ("taskmanager.memory.network.min", "256m"),
        ("taskmanager.memory.network.max", "128m"),
    ]))
    .unwrap_err();
    assert_eq!(e.rule, Rule::RangeMinAboveMax);
    let e = taskmanager(&conf(&[
        ("taskmanager.memory.process.size", "1728m"),
        ("taskmanager.memory.network.fraction", "1.0"),
    ]))
    .unwrap_err();
    assert_eq!(e.rule, Rule::FractionOutOfRange);
    let e = jobmanager(&conf(&[
        ("jobmanager.memory.process.size", "1600m"),
        ("jobmanager.memory.jvm-overhead.fraction", "-0.1"),
    ]))
    .unwrap_err();
    assert_eq!(e.rule, Rule::FractionOutOfRange);
}

#[test]
fn network_fraction_is_clamped() {
    // 0.01 × 1280m = 12.8m → min 64m
    let m = taskmanager(&conf(&[
        ("taskmanager.memory.process.size", "1728m"),
        ("taskmanager.memory.network.fraction", "0.01"),
    ]))
    .unwrap();
    assert!(close(m.network_mb, 64.0));
    // 0.1 × 20g → max 1g
    let m = taskmanager(&conf(&[("taskmanager.memory.flink.size", "20g")])).unwrap();
    assert!(close(m.network_mb, 1024.0));
    assert!(close(m.overhead_mb, 1024.0));
}

#[test]
fn legacy_number_of_buffers() {
    let m = taskmanager(&conf(&[
        ("taskmanager.memory.process.size", "1728m"),
        ("taskmanager.network.numberOfBuffers", "4096"),
        ("taskmanager.memory.segment-size", "16kb"),
    ]))
    .unwrap();
    assert!(close(m.network_mb, 64.0));
    assert!(close(m.task_heap_mb, 448.0));
    // legacy ignored once any new network key is set
    let m = taskmanager(&conf(&[
        ("taskmanager.memory.process.size", "1728m"),
        ("taskmanager.network.numberOfBuffers", "4096"),
        ("taskmanager.memory.network.max", "1g"),
    ]))
    .unwrap();
    assert!(close(m.network_mb, 128.0));
    // legacy memory is not clamped, so it can exceed the Flink memory
    let e = taskmanager(&conf(&[
        ("taskmanager.memory.flink.size", "1024m"),
        ("taskmanager.network.numberOfBuffers", "20000"),
    ]))
    .unwrap_err();
    assert_eq!(e.rule, Rule::ComponentsExceedFlink);
}

#[test]
fn segment_size_must_be_power_of_two() {
    let e = taskmanager(&conf(&[
        ("taskmanager.memory.process.size", "1728m"),
        ("taskmanager.memory.segment-size", "48kb"),
    ]))
    .unwrap_err();
    assert_eq!(e.rule, Rule::InvalidSegmentSize);
    assert!(e.message.contains("must be a power of 2"));
    let e = taskmanager(&conf(&[
        ("taskmanager.memory.process.size", "1728m"),
        ("taskmanager.memory.segment-size", "2kb"),
    ]))
    .unwrap_err();
    assert_eq!(e.rule, Rule::InvalidSegmentSize);
}

#[test]
fn fine_grained_sizing() {
    let m = taskmanager(&conf(&[
        ("taskmanager.memory.task.heap.size", "1g"),
        ("taskmanager.memory.managed.size", "512m"),
    ]))
    .unwrap();
    // network by inverse fraction of (128+128+1024+0+512) = 1792m → 199.1m
    assert!((m.network_mb - 1792.0 / 9.0).abs() < 0.01);
    assert!(close(m.flink_mb, 1792.0 + m.network_mb));
    // fine-grained takes precedence over the flink size, which must then fit exactly
    let e = taskmanager(&conf(&[
        ("taskmanager.memory.task.heap.size", "1g"),
        ("taskmanager.memory.managed.size", "512m"),
        ("taskmanager.memory.flink.size", "1500m"),
    ]))
    .unwrap_err();
    assert_eq!(e.rule, Rule::ComponentsExceedFlink);
    // remainder network outside its range
    let e = taskmanager(&conf(&[
        ("taskmanager.memory.task.heap.size", "1g"),
        ("taskmanager.memory.managed.size", "512m"),
        ("taskmanager.memory.flink.size", "1800m"),
    ]))
    .unwrap_err();
    assert_eq!(e.rule, Rule::NetworkOutOfRange);
    // JM heap
    let j = jobmanager(&conf(&[("jobmanager.memory.heap.size", "2g")])).unwrap();
    assert!(close(j.flink_mb, 2176.0));
    let e = jobmanager(&conf(&[
        ("jobmanager.memory.heap.size", "2g"),
        ("jobmanager.memory.flink.size", "2g"),
    ]))
    .unwrap_err();
    assert_eq!(e.rule, Rule::ComponentsExceedFlink);
}

#[test]
fn jm_flink_not_above_off_heap() {
    let e = jobmanager(&conf(&[("jobmanager.memory.flink.size", "128m")])).unwrap_err();
    assert_eq!(e.rule, Rule::ComponentsExceedFlink);
    assert!(
        e.message
            .contains("is less than the configured Off-heap Memory")
    );
}

#[test]
fn legacy_heap_keys() {
    let m = taskmanager(&conf(&[("taskmanager.heap.size", "1280m")])).unwrap();
    assert!(close(m.process_mb, 1728.0));
    let j = jobmanager(&conf(&[("jobmanager.heap.size", "1024m")])).unwrap();
    assert!(close(j.process_mb, 1600.0));
}

#[test]
fn aliases() {
    let c = conf(&[("pekko.framesize", "10485760b")]);
    assert_eq!(lookup(&c, "akka.framesize"), Some("10485760b"));
    let c = conf(&[
        ("taskmanager.network.memory.max", "1g"),
        ("taskmanager.memory.network.max", "2g"),
    ]);
    assert_eq!(lookup(&c, "taskmanager.network.memory.max"), Some("2g"));
    assert_eq!(human(1342177280.0), "1.250gb");
    assert_eq!(human(32768.0), "32kb");
}
