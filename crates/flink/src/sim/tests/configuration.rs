//! Tests of what the simulated job reads and how it fails: Flink's failure reasons, keys it
//! ignores, aliases from later Flink versions and workload names. Apart from the behaviour
//! tests in `sim::tests` so each file stays short; the helpers are the parent's.

use std::collections::BTreeMap;

use super::*;

/// Configurations Flink rejects, each with a phrase its reason must contain.
fn failure_cases() -> Vec<(BTreeMap<String, String>, &'static str)> {
    vec![
        (
            with(&[("jobmanager.memory.process.size", "300m")]),
            "JobManager could not start: IllegalConfigurationException: JobManager memory configuration failed: Sum of configured JVM Metaspace",
        ),
        (
            with(&[("taskmanager.memory.flink.size", "2048m")]),
            "is less than the sum of the derived Total Flink Memory size",
        ),
        (
            with(&[("taskmanager.memory.process.size", "lots")]),
            "Cannot read memory size from config option 'taskmanager.memory.process.size'",
        ),
        (
            with(&[("taskmanager.memory.network.fraction", "0.4")]),
            "exceed configured Total Flink Memory",
        ),
        (
            with(&[("taskmanager.memory.process.size", "40g")]),
            "exceeds the memory available on the node",
        ),
        (
            without(
                with(&[("jobmanager.memory.flink.size", "70g")]),
                "jobmanager.memory.process.size",
            ),
            "does not fit the master node's memory",
        ),
        (
            with(&[("parallelism.default", "8")]),
            "Could not acquire the required slots",
        ),
        (
            with(&[
                ("parallelism.default", "64"),
                ("taskmanager.numberOfTaskSlots", "16"),
                ("akka.framesize", "32768b"),
            ]),
            "The rpc invocation size",
        ),
        (
            with(&[("akka.framesize", "16kb")]),
            "must be at least 32000 bytes",
        ),
        (
            with(&[("akka.framesize", "2048m")]),
            "must be at least 32000 bytes",
        ),
        (
            with(&[
                ("parallelism.default", "32"),
                ("taskmanager.numberOfTaskSlots", "16"),
                ("taskmanager.network.numberOfBuffers", "256"),
            ]),
            "Insufficient number of network buffers: required",
        ),
        (
            with(&[("taskmanager.memory.jvm-metaspace.size", "80m")]),
            "OutOfMemoryError: Metaspace",
        ),
        (
            with(&[
                ("parallelism.default", "16"),
                ("taskmanager.numberOfTaskSlots", "16"),
                ("taskmanager.memory.process.size", "1500m"),
            ]),
            "OutOfMemoryError: Java heap space",
        ),
        (
            with(&[("taskmanager.memory.segment-size", "48kb")]),
            "Memory segment size must be a power of 2",
        ),
        (
            with(&[("execution.checkpointing.interval", "5")]),
            "Checkpoint interval must be larger than or equal to 10 ms",
        ),
        (
            with(&[("execution.buffer-timeout", "-5")]),
            "Timeout of buffer must be non-negative or -1",
        ),
        (
            with(&[("taskmanager.numberOfTaskSlots", "0")]),
            "Number of task slots must be at least one",
        ),
        (
            with(&[
                ("taskmanager.network.memory.buffers-per-channel", "0"),
                ("taskmanager.network.memory.floating-buffers-per-gate", "0"),
            ]),
            "The number of required buffers should be larger than 0",
        ),
        (
            with(&[("taskmanager.network.netty.transport", "carrier-pigeon")]),
            "unknown transport type",
        ),
    ]
}

#[test]
fn failures_have_flink_like_reasons() {
    let cl = Cluster::default();
    let j = job(Workload::Wordcount, 16_000.0);
    let cases = failure_cases();
    for (c, expected) in cases {
        let reason = fail(&c, &cl, &j);
        assert!(
            reason.contains(expected),
            "expected '{expected}' in '{reason}'"
        );
    }
    // the same settings one step inside the limits pass
    pass(
        &with(&[("taskmanager.memory.jvm-metaspace.size", "96m")]),
        &cl,
        &j,
    );
    pass(
        &with(&[("parallelism.default", "4"), ("akka.framesize", "32768b")]),
        &cl,
        &j,
    );
    pass(
        &with(&[
            ("parallelism.default", "32"),
            ("taskmanager.numberOfTaskSlots", "16"),
            ("taskmanager.network.numberOfBuffers", "2048"),
        ]),
        &cl,
        &j,
    );
}

/// Catalogue values to vary each ignored key over.
fn catalogue_values(key: &str) -> Vec<String> {
    let v: &[&str] = match key {
        "blob.fetch.backlog" => &["200", "1000", "5000"],
        "blob.fetch.num-concurrent" => &["10", "50", "200"],
        "fs.output.always-create-directory" | "fs.overwrite-files" => &["false", "true"],
        "akka.transport.threshold" => &["100", "300", "1000"],
        "akka.throughput" | "pekko.throughput" => &["1", "15", "500"],
        "taskmanager.network.blocking-shuffle.compression.enabled" => &["false", "true"],
        "taskmanager.network.blocking-shuffle.type" => &["file", "mmap"],
        "taskmanager.network.request-backoff.initial" => &["10", "100", "500"],
        "taskmanager.network.request-backoff.max" => &["1000", "10000", "20000"],
        "jobmanager.memory.flink.size" => &["1024m", "4096m", "40960m"],
        "jobmanager.memory.jvm-metaspace.size" => &["64m", "256m", "4096m"],
        "jobmanager.memory.jvm-overhead.min" => &["64m", "192m", "512m"],
        "jobmanager.memory.jvm-overhead.max" => &["512m", "1024m", "4096m"],
        "taskmanager.network.memory.buffer-debloat.enabled"
        | "execution.checkpointing.unaligned"
        | "execution.checkpointing.unaligned.enabled"
        | "state.backend.rocksdb.memory.managed"
        | "pipeline.object-reuse" => &["false", "true"],
        "taskmanager.network.memory.buffer-debloat.target" => &["50", "1000", "5000"],
        "execution.checkpointing.mode" => &["EXACTLY_ONCE", "AT_LEAST_ONCE"],
        "execution.checkpointing.min-pause" => &["0", "60000"],
        "execution.checkpointing.timeout" => &["10000", "1800000"],
        "execution.checkpointing.aligned-checkpoint-timeout" => &["0", "60000"],
        "state.backend.type" => &["hashmap", "rocksdb"],
        "state.backend.rocksdb.memory.write-buffer-ratio" => &["0.1", "0.7"],
        "state.backend.rocksdb.memory.high-prio-pool-ratio" => &["0.05", "0.3"],
        other => panic!("no catalogue values for {other}"),
    };
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn ignored_keys_change_nothing() {
    let cl = Cluster::default();
    // The JobManager sized by its Flink memory, as the catalogue samples it.
    let jm_flink_sized = without(
        with(&[("jobmanager.memory.flink.size", "2048m")]),
        "jobmanager.memory.process.size",
    );
    let bases = [flink_default(), hand_tuned(), jm_flink_sized];
    for key in IGNORED_KEYS {
        for base in &bases {
            let jm_size_key = key.starts_with("jobmanager.memory.");
            if jm_size_key && base.contains_key("jobmanager.memory.process.size") {
                continue;
            }
            for w in Workload::ALL {
                for rate in [16_000.0, 80_000.0, 160_000.0] {
                    let j = job(w, rate);
                    let reference = bits(&simulate(base, &cl, &j));
                    for value in catalogue_values(key) {
                        let mut c = base.clone();
                        c.insert(key.to_string(), value.clone());
                        let got = bits(&simulate(&c, &cl, &j));
                        assert_eq!(got, reference, "{key}={value} changed {w} at {rate}");
                    }
                }
            }
        }
    }
    // with noise too, since the noise seed skips them
    let j = SimJob {
        noise: 0.05,
        ..SimJob::default()
    };
    let reference = bits(&simulate(&flink_default(), &cl, &j));
    let c = with(&[
        ("blob.fetch.backlog", "4000"),
        ("fs.overwrite-files", "true"),
    ]);
    assert_eq!(bits(&simulate(&c, &cl, &j)), reference);
}

#[test]
fn aliases_of_later_versions_are_read() {
    let cl = Cluster::default();
    let j = job(Workload::Wordcount, 16_000.0);
    let same = |a: &[(&str, &str)], b: &[(&str, &str)]| {
        assert_eq!(
            bits(&simulate(&with(a), &cl, &j)),
            bits(&simulate(&with(b), &cl, &j)),
            "{a:?} vs {b:?}"
        );
    };
    same(
        &[("execution.buffer-timeout", "7")],
        &[("execution.buffer-timeout.interval", "7 ms")],
    );
    same(
        &[("execution.buffer-timeout", "-1")],
        &[
            ("execution.buffer-timeout.enabled", "false"),
            ("execution.buffer-timeout.interval", "100 ms"),
        ],
    );
    same(
        &[("akka.framesize", "32768b")],
        &[("pekko.framesize", "32768b")],
    );
    same(
        &[("taskmanager.memory.network.fraction", "0.2")],
        &[("taskmanager.network.memory.fraction", "0.2")],
    );
    same(
        &[("execution.checkpointing.interval", "10 s")],
        &[("execution.checkpointing.interval", "10000")],
    );
}

#[test]
fn workload_names() {
    for w in Workload::ALL {
        assert_eq!(w.to_string().parse::<Workload>().unwrap(), w);
    }
    assert_eq!("WC".parse::<Workload>().unwrap(), Workload::Wordcount);
    assert!("sort".parse::<Workload>().is_err());
}

#[test]
fn the_processes_derive_their_memory_by_the_clusters_flink_release() {
    // Flink 1.11 caps network memory at 1 GiB by default, so a 2 GiB minimum is inconsistent;
    // 1.17 dropped the cap and 1.20 starts with it.
    let c = with(&[
        ("taskmanager.memory.process.size", "16g"),
        ("taskmanager.memory.network.min", "2g"),
    ]);
    let cl = Cluster::default();
    let old = job(Workload::Wordcount, 16_000.0);
    assert!(fail(&c, &cl, &old).contains("Inconsistently configured"));
    let new = SimJob {
        flink: "1.20".parse().unwrap(),
        ..old
    };
    pass(&c, &cl, &new);
}
