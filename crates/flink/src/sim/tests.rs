//! Tests of the simulated job through its entry points: calibration against real Flink, the
//! direction and size of each knob's effect, Flink-like failures, ignored keys and seeded noise.
//! Apart because they exercise the whole model and are as long as it.

use std::collections::BTreeMap;

use super::*;

fn flink_default() -> BTreeMap<String, String> {
    conf(&[
        ("jobmanager.memory.process.size", "1600m"),
        ("taskmanager.memory.process.size", "1728m"),
        ("taskmanager.numberOfTaskSlots", "1"),
        ("parallelism.default", "1"),
    ])
}

fn conf(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn with(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut c = flink_default();
    for (k, v) in pairs {
        c.insert(k.to_string(), v.to_string());
    }
    c
}

fn without(mut c: BTreeMap<String, String>, key: &str) -> BTreeMap<String, String> {
    c.remove(key);
    c
}

fn job(workload: Workload, rate: f64) -> SimJob {
    SimJob {
        workload,
        rate,
        noise: 0.0,
        ..SimJob::default()
    }
}

fn pass(c: &BTreeMap<String, String>, cluster: &Cluster, j: &SimJob) -> SimMetrics {
    match simulate(c, cluster, j) {
        SimOutcome::Pass(m) => m,
        SimOutcome::Fail { reason } => panic!("unexpected failure: {reason}"),
    }
}

fn fail(c: &BTreeMap<String, String>, cluster: &Cluster, j: &SimJob) -> String {
    match simulate(c, cluster, j) {
        SimOutcome::Pass(m) => panic!("expected a failure, got {m:?}"),
        SimOutcome::Fail { reason } => reason,
    }
}

fn ratio(m: &SimMetrics) -> f64 {
    m.throughput / m.latency_p99_ms
}

fn hand_tuned() -> BTreeMap<String, String> {
    with(&[
        ("parallelism.default", "8"),
        ("taskmanager.numberOfTaskSlots", "4"),
        ("execution.buffer-timeout", "5"),
        ("taskmanager.memory.process.size", "8192m"),
        ("execution.checkpointing.interval", "600000"),
        ("taskmanager.network.netty.transport", "epoll"),
    ])
}

#[test]
fn default_wordcount_keeps_up_at_16k() {
    let m = pass(
        &flink_default(),
        &Cluster::default(),
        &job(Workload::Wordcount, 16_000.0),
    );
    assert_eq!(m.throughput, 16_000.0);
    assert!((20.0..60.0).contains(&m.latency_p99_ms), "{m:?}");
    assert!(m.latency_p50_ms < m.latency_p99_ms);
    assert!(!m.backpressured);
    assert!(m.cpu_cores > 0.05 && m.cpu_cores < 1.0, "{m:?}");
    assert_eq!(m.memory_mb, 4.0 * 1728.0);
}

#[test]
fn default_wordcount_saturates_at_160k() {
    let m = pass(
        &flink_default(),
        &Cluster::default(),
        &job(Workload::Wordcount, 160_000.0),
    );
    assert!(
        m.throughput < 160_000.0 && m.throughput > 100_000.0,
        "{m:?}"
    );
    assert!(m.latency_p99_ms > 1000.0, "{m:?}");
    assert!(m.backpressured);
}

#[test]
fn hand_tuned_config_beats_the_default() {
    let cl = Cluster::default();
    let d = pass(&flink_default(), &cl, &job(Workload::Wordcount, 16_000.0));
    let t = pass(&hand_tuned(), &cl, &job(Workload::Wordcount, 16_000.0));
    assert!(ratio(&t) >= 2.5 * ratio(&d), "tuned {t:?} default {d:?}");
    let t = pass(&hand_tuned(), &cl, &job(Workload::Wordcount, 160_000.0));
    assert_eq!(t.throughput, 160_000.0);
    assert!(!t.backpressured);
    assert!(t.latency_p99_ms < 50.0, "{t:?}");
}

#[test]
fn p99_rises_steeply_towards_capacity() {
    let cl = Cluster::default();
    for w in Workload::ALL {
        let cap = capacity(&flink_default(), &cl, w).unwrap();
        let mut last = 0.0;
        let mut first = 0.0;
        for f in [0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 0.999] {
            let m = pass(&flink_default(), &cl, &job(w, cap * f));
            assert!(m.latency_p99_ms > last, "{w} at {f}: {m:?}");
            if f == 0.7 {
                first = m.latency_p99_ms;
            }
            last = m.latency_p99_ms;
        }
        assert!(last > 5.0 * first, "{w}: {first} → {last}");
        let over = pass(&flink_default(), &cl, &job(w, cap * 1.2));
        assert!(over.latency_p99_ms > last && over.throughput < cap * 1.2);
    }
}

#[test]
fn buffer_timeout_minus_one_is_slow_at_low_rates() {
    let cl = Cluster::default();
    let p4 = [
        ("parallelism.default", "4"),
        ("taskmanager.numberOfTaskSlots", "4"),
    ];
    let hundred = pass(&with(&p4), &cl, &job(Workload::Wordcount, 16_000.0));
    let mut c = with(&p4);
    c.insert("execution.buffer-timeout".into(), "-1".into());
    let never = pass(&c, &cl, &job(Workload::Wordcount, 16_000.0));
    assert!(
        never.latency_p99_ms > 3.0 * hundred.latency_p99_ms,
        "{never:?} vs {hundred:?}"
    );
    // at parallelism 1, a low rate makes the fill time long too
    let d = pass(&flink_default(), &cl, &job(Workload::Identity, 2_000.0));
    let n = pass(
        &with(&[("execution.buffer-timeout", "-1")]),
        &cl,
        &job(Workload::Identity, 2_000.0),
    );
    assert!(n.latency_p99_ms > 2.0 * d.latency_p99_ms);
}

#[test]
fn buffer_timeout_zero_trades_capacity_for_latency() {
    let cl = Cluster::default();
    let zero = with(&[("execution.buffer-timeout", "0")]);
    for w in Workload::ALL {
        let d = pass(&flink_default(), &cl, &job(w, 16_000.0));
        let z = pass(&zero, &cl, &job(w, 16_000.0));
        assert!(z.latency_p99_ms < d.latency_p99_ms, "{w}");
        let cd = capacity(&flink_default(), &cl, w).unwrap();
        let cz = capacity(&zero, &cl, w).unwrap();
        assert!(cz < 0.9 * cd, "{w}: {cz} vs {cd}");
    }
}

#[test]
fn frequent_checkpoints_cost_latency_and_capacity() {
    let cl = Cluster::default();
    let rare = with(&[("execution.checkpointing.interval", "600000")]);
    let often = with(&[("execution.checkpointing.interval", "10")]);
    let r = pass(&rare, &cl, &job(Workload::Wordcount, 16_000.0));
    let o = pass(&often, &cl, &job(Workload::Wordcount, 16_000.0));
    assert!(o.latency_p99_ms > r.latency_p99_ms, "{o:?} vs {r:?}");
    assert!(o.cpu_cores > r.cpu_cores);
    for w in Workload::ALL {
        let cr = capacity(&rare, &cl, w).unwrap();
        let co = capacity(&often, &cl, w).unwrap();
        assert!(co < cr, "{w}: {co} vs {cr}");
    }
    let cr = capacity(&rare, &cl, Workload::Wordcount).unwrap();
    let co = capacity(&often, &cl, Workload::Wordcount).unwrap();
    assert!(co < 0.95 * cr, "{co} vs {cr}");
    // 10-minute checkpoints are as good as none
    let none = pass(&flink_default(), &cl, &job(Workload::Wordcount, 16_000.0));
    assert!((r.latency_p99_ms - none.latency_p99_ms).abs() < 0.05);
    // near capacity, frequent checkpoints hurt a lot
    let o = pass(&often, &cl, &job(Workload::Wordcount, 120_000.0));
    let r = pass(&rare, &cl, &job(Workload::Wordcount, 120_000.0));
    assert!(o.latency_p99_ms > 2.0 * r.latency_p99_ms, "{o:?} vs {r:?}");
}

#[test]
fn one_machine_calibration_matches_real_flink() {
    // real-flink.md: identity job, 20 000 rec/s, one 2-core machine, no Kafka.
    let one = Cluster {
        taskmanagers: 1,
        cores_per_tm: 2,
        external_p50_ms: 0.0,
        external_p99_ms: 0.0,
        ..Cluster::default()
    };
    let id = |c: &BTreeMap<String, String>| pass(c, &one, &job(Workload::Identity, 20_000.0));
    let d = id(&flink_default());
    assert!((22.0..29.0).contains(&d.latency_p99_ms), "{d:?}");
    assert!((10.0..15.0).contains(&d.latency_p50_ms), "{d:?}");
    let z = id(&with(&[("execution.buffer-timeout", "0")]));
    assert!(z.latency_p99_ms < 1.0 && z.latency_p50_ms < 0.2, "{z:?}");
    let t1 = id(&with(&[("execution.buffer-timeout", "1")]));
    assert!((0.9..1.6).contains(&t1.latency_p99_ms), "{t1:?}");
    let seg = id(&with(&[("taskmanager.memory.segment-size", "4kb")]));
    assert!((2.5..4.5).contains(&seg.latency_p99_ms), "{seg:?}");
    let p2 = id(&with(&[
        ("parallelism.default", "2"),
        ("taskmanager.numberOfTaskSlots", "2"),
    ]));
    assert!((85.0..105.0).contains(&p2.latency_p99_ms), "{p2:?}");
    let wc = pass(&flink_default(), &one, &job(Workload::Wordcount, 20_000.0));
    assert!((25.0..50.0).contains(&wc.latency_p99_ms), "{wc:?}");
}

#[test]
fn failures_have_flink_like_reasons() {
    let cl = Cluster::default();
    let j = job(Workload::Wordcount, 16_000.0);
    let cases: Vec<(BTreeMap<String, String>, &str)> = vec![
        (
            with(&[("jobmanager.memory.process.size", "300m")]),
            "JobManager could not start: IllegalConfigurationException: Sum of configured JVM Metaspace",
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
    ];
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
        other => panic!("no catalogue values for {other}"),
    };
    v.iter().map(|s| s.to_string()).collect()
}

fn bits(o: &SimOutcome) -> String {
    match o {
        SimOutcome::Pass(m) => format!(
            "{:x} {:x} {:x} {} {:x} {:x}",
            m.throughput.to_bits(),
            m.latency_p99_ms.to_bits(),
            m.latency_p50_ms.to_bits(),
            m.backpressured,
            m.cpu_cores.to_bits(),
            m.memory_mb.to_bits()
        ),
        SimOutcome::Fail { reason } => reason.clone(),
    }
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
fn noise_is_seeded() {
    let cl = Cluster::default();
    let c = flink_default();
    let j = SimJob::default();
    let a = simulate(&c, &cl, &j);
    assert_eq!(bits(&a), bits(&simulate(&c, &cl, &j)));
    let exact = pass(&c, &cl, &job(Workload::Wordcount, 16_000.0));
    let mut p99s = Vec::new();
    for repeat in 0..40 {
        let m = pass(
            &c,
            &cl,
            &SimJob {
                repeat,
                ..j.clone()
            },
        );
        assert!((m.throughput / exact.throughput - 1.0).abs() < 0.1);
        assert!(m.latency_p50_ms <= m.latency_p99_ms);
        p99s.push(m.latency_p99_ms);
    }
    p99s.sort_by(|a, b| a.partial_cmp(b).unwrap());
    p99s.dedup();
    assert_eq!(p99s.len(), 40, "repeats must differ");
    let median = p99s[20];
    assert!(
        (median / exact.latency_p99_ms - 1.0).abs() < 0.05,
        "{median}"
    );
    let other_seed = simulate(
        &c,
        &cl,
        &SimJob {
            seed: 7,
            ..j.clone()
        },
    );
    assert_ne!(bits(&a), bits(&other_seed));
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
fn small_knobs_have_small_mechanistic_effects() {
    let cl = Cluster::default();
    let conf_with = |extra: &[(&str, &str)]| {
        let mut c = with(&[
            ("parallelism.default", "16"),
            ("taskmanager.numberOfTaskSlots", "4"),
            ("execution.buffer-timeout", "1"),
        ]);
        for (k, v) in extra {
            c.insert(k.to_string(), v.to_string());
        }
        c
    };
    let rp = |c: &BTreeMap<String, String>| pass(c, &cl, &job(Workload::Repartition, 160_000.0));
    let cap = |c: &BTreeMap<String, String>| capacity(c, &cl, Workload::Repartition).unwrap();
    // nio costs more CPU per buffer than epoll (`auto` is epoll on Linux)
    let epoll = conf_with(&[("taskmanager.network.netty.transport", "epoll")]);
    let nio = conf_with(&[("taskmanager.network.netty.transport", "nio")]);
    let auto = conf_with(&[]);
    assert!(rp(&nio).cpu_cores > rp(&epoll).cpu_cores);
    assert_eq!(
        bits(&simulate(&auto, &cl, &job(Workload::Repartition, 1e5))),
        bits(&simulate(&epoll, &cl, &job(Workload::Repartition, 1e5)))
    );
    assert!(cap(&nio) <= cap(&epoll));
    // with timeout 0 every record is a buffer: one Netty thread becomes the bottleneck
    let zero = [("execution.buffer-timeout", "0")];
    let one_thread = [
        ("execution.buffer-timeout", "0"),
        ("taskmanager.network.netty.server.numThreads", "1"),
        ("taskmanager.network.netty.client.numThreads", "1"),
    ];
    let c_zero = cap(&conf_with(&zero));
    let c_one = cap(&conf_with(&one_thread));
    assert!(
        c_one < c_zero && c_one > 0.2 * c_zero,
        "{c_one} vs {c_zero}"
    );
    let mut one_nio = conf_with(&one_thread);
    one_nio.insert("taskmanager.network.netty.transport".into(), "nio".into());
    assert!(cap(&one_nio) < c_one);
    assert!(c_zero < 0.9 * cap(&epoll));
    // a tiny TCP window adds round trips to every buffer
    let small_window = conf_with(&[("taskmanager.network.netty.sendReceiveBufferSize", "4096")]);
    let slow = pass(&small_window, &cl, &job(Workload::Repartition, 16_000.0));
    let fast = pass(&auto, &cl, &job(Workload::Repartition, 16_000.0));
    assert!(slow.latency_p99_ms >= fast.latency_p99_ms);
    assert!(cap(&small_window) <= cap(&auto));
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
fn every_workload_runs_and_is_fast() {
    let cl = Cluster::default();
    let c = hand_tuned();
    let start = std::time::Instant::now();
    let mut calls = 0;
    for w in Workload::ALL {
        for rate in [8_000.0, 16_000.0, 80_000.0, 160_000.0, 240_000.0] {
            for repeat in 0..50 {
                let m = pass(
                    &c,
                    &cl,
                    &SimJob {
                        workload: w,
                        rate,
                        repeat,
                        ..SimJob::default()
                    },
                );
                assert!(m.throughput.is_finite() && m.latency_p99_ms.is_finite());
                assert!(m.throughput > 0.0 && m.latency_p99_ms > 0.0 && m.latency_p50_ms > 0.0);
                calls += 1;
            }
        }
    }
    let per_call = start.elapsed().as_secs_f64() / f64::from(calls);
    assert!(per_call < 1e-3, "{per_call} s per call");
}
