//! Tests of the simulated job through its entry points: calibration against real Flink, the
//! direction and size of each knob's effect, seeded noise and speed; `configuration` holds
//! those of what it reads and how it fails. Apart from the code because they exercise the
//! whole model and are as long as it. The helpers here serve both files.

use crate::resources::SIMULATED_FLINK;
use std::collections::BTreeMap;

use super::*;

mod configuration;

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
        let cap = capacity(&flink_default(), &cl, w, SIMULATED_FLINK).unwrap();
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
        let cd = capacity(&flink_default(), &cl, w, SIMULATED_FLINK).unwrap();
        let cz = capacity(&zero, &cl, w, SIMULATED_FLINK).unwrap();
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
        let cr = capacity(&rare, &cl, w, SIMULATED_FLINK).unwrap();
        let co = capacity(&often, &cl, w, SIMULATED_FLINK).unwrap();
        assert!(co < cr, "{w}: {co} vs {cr}");
    }
    let cr = capacity(&rare, &cl, Workload::Wordcount, SIMULATED_FLINK).unwrap();
    let co = capacity(&often, &cl, Workload::Wordcount, SIMULATED_FLINK).unwrap();
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
    let cap = |c: &BTreeMap<String, String>| {
        capacity(c, &cl, Workload::Repartition, SIMULATED_FLINK).unwrap()
    };
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

#[test]
fn the_share_of_time_in_garbage_collection_grows_as_the_heap_fills() {
    let j = job(Workload::Wordcount, 20_000.0);
    let share = |process: &str| {
        let c = with(&[
            ("parallelism.default", "16"),
            ("taskmanager.numberOfTaskSlots", "16"),
            ("taskmanager.memory.process.size", process),
        ]);
        pass(&c, &Cluster::default(), &j).gc_time_fraction
    };
    let shares: Vec<f64> = ["8192m", "4096m", "2500m", "1900m"]
        .iter()
        .map(|p| share(p))
        .collect();
    assert!(shares.windows(2).all(|w| w[0] < w[1]), "{shares:?}");
    assert!(
        shares[0] < 0.01 && shares[3] > 0.05 && shares[3] < 1.0,
        "{shares:?}"
    );
}
