//! The simulator's elastic Kubernetes cluster (Demeter's set-up): reactive parallelism, pod
//! limits, CPU quotas, recovery time and requested resources, and the `demeter-resources`
//! catalogue and example study.

use flink::conf::FlatConf;
use flink::recovery::GIVE_UP_S;
use flink::sim::{self, Cluster, SimJob, SimMetrics, SimOutcome, Workload};
use flinktune::study::{SimSection, Study};
use flinktune::trial::adapter::{self, Outcome, TrialSpec};
use std::path::Path;

/// Flink 1.11's shipped configuration with a Demeter configuration on top.
fn pods(tms: u32, slots: u32, cpu: &str, memory: &str, checkpoint_ms: u32) -> FlatConf {
    [
        ("jobmanager.memory.process.size", "1600m".to_string()),
        ("parallelism.default", "1".to_string()),
        ("flinktune.taskmanagers", tms.to_string()),
        ("taskmanager.numberOfTaskSlots", slots.to_string()),
        ("kubernetes.taskmanager.cpu", cpu.to_string()),
        ("taskmanager.memory.process.size", memory.to_string()),
        (
            "execution.checkpointing.interval",
            checkpoint_ms.to_string(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

fn static_max() -> FlatConf {
    pods(24, 1, "1.0", "4096m", 10_000)
}

fn job(rate: f64) -> SimJob {
    SimJob {
        workload: Workload::Wordcount,
        rate,
        noise: 0.0,
        ..SimJob::default()
    }
}

fn pass(conf: &FlatConf, j: &SimJob) -> SimMetrics {
    match sim::simulate(conf, &Cluster::kubernetes(), j) {
        SimOutcome::Pass(m) => m,
        SimOutcome::Fail { reason } => panic!("unexpected failure: {reason}"),
    }
}

fn cap(conf: &FlatConf) -> f64 {
    sim::capacity(
        conf,
        &Cluster::kubernetes(),
        Workload::Wordcount,
        flink::resources::SIMULATED_FLINK,
    )
    .unwrap()
}

#[test]
fn reactive_mode_runs_at_taskmanagers_times_slots() {
    // parallelism.default is overridden
    let mut c = pods(4, 2, "2", "4096m", 10_000);
    let base = pass(&c, &job(100_000.0));
    c.insert("parallelism.default".into(), "64".into());
    assert_eq!(pass(&c, &job(100_000.0)), base);
    // capacity grows with the TaskManagers, nearly linearly
    let one = cap(&pods(1, 1, "1", "4096m", 10_000));
    let four = cap(&pods(4, 1, "1", "4096m", 10_000));
    let max = cap(&static_max());
    assert!(four > 3.5 * one && four < 4.5 * one, "{one} {four}");
    assert!(max > 20.0 * one, "{one} {max}");
    // 4 pods × 2 slots × 2 cores run 8 subtasks on 8 cores, like 8 pods × 1 slot × 1 core
    let wide = cap(&pods(8, 1, "1", "4096m", 10_000));
    let dense = cap(&pods(4, 2, "2", "4096m", 10_000));
    assert!((dense / wide - 1.0).abs() < 0.1, "{dense} vs {wide}");
    // the fixed cluster still needs parallelism ≤ its slots, whatever the TaskManager key says
    let fixed = sim::simulate(&static_max(), &Cluster::default(), &job(16_000.0));
    assert!(matches!(fixed, SimOutcome::Pass(_)), "{fixed:?}");
}

#[test]
fn cpu_is_a_quota_shared_by_the_slots() {
    let c = |slots: u32, cpu: &str| cap(&pods(4, slots, cpu, "4096m", 10_000));
    // three slots' threads on one core: more subtasks, less than three times the capacity
    assert!(
        c(3, "1") < 1.5 * c(1, "1"),
        "{} vs {}",
        c(3, "1"),
        c(1, "1")
    );
    // more cores for the same slots help, fractional ones too
    assert!(c(3, "1") < c(3, "1.5") && c(3, "1.5") < c(3, "3"));
    // below one core even a single thread is throttled
    let half = c(1, "0.5");
    assert!(half < 0.6 * c(1, "1"), "{half}");
}

#[test]
fn more_taskmanagers_than_the_cluster_runs_fail() {
    let over = pods(25, 1, "1", "4096m", 10_000);
    let SimOutcome::Fail { reason } = sim::simulate(&over, &Cluster::kubernetes(), &job(1e5))
    else {
        panic!("25 pods on a 24-pod cluster must fail");
    };
    assert!(
        reason.contains("NoResourceAvailableException")
            && reason.contains("Could not acquire the minimum required resources")
            && reason.contains("25 TaskManager pods"),
        "{reason}"
    );
    pass(&static_max(), &job(1e5));
    // the study's max_taskmanagers sets the limit
    let section: SimSection = toml::from_str("cluster = \"kubernetes\"\nmax_taskmanagers = 8\n")
        .expect("a valid [sim] section");
    let small = section.cluster();
    assert!(matches!(
        sim::simulate(&pods(9, 1, "1", "4096m", 10_000), &small, &job(1e5)),
        SimOutcome::Fail { .. }
    ));
    assert!(matches!(
        sim::simulate(&pods(8, 1, "1", "4096m", 10_000), &small, &job(1e5)),
        SimOutcome::Pass(_)
    ));
    // a pod larger than a node stays Pending
    let SimOutcome::Fail { reason } = sim::simulate(
        &pods(2, 1, "12", "4096m", 10_000),
        &Cluster::kubernetes(),
        &job(1e5),
    ) else {
        panic!("a 12-core pod on 8-core nodes must fail");
    };
    assert!(reason.contains("Insufficient cpu"), "{reason}");
}

#[test]
fn recovery_grows_with_the_checkpoint_interval() {
    for repeat in 0..5 {
        let mut last = 0.0;
        for interval in [10_000, 30_000, 60_000, 90_000] {
            let m = pass(
                &pods(8, 1, "1", "4096m", interval),
                &SimJob {
                    repeat,
                    ..job(150_000.0)
                },
            );
            assert!(m.recovered && m.recovery_time_s.is_finite());
            assert!(
                m.recovery_time_s > last,
                "repeat {repeat}, {interval} ms: {} after {last}",
                m.recovery_time_s
            );
            last = m.recovery_time_s;
        }
    }
}

#[test]
fn recovery_shrinks_with_spare_capacity() {
    // the same rate on more TaskManagers, or on more cores
    let at = |c: FlatConf| pass(&c, &job(150_000.0)).recovery_time_s;
    let mut last = f64::INFINITY;
    for tms in [4, 6, 12, 24] {
        let r = at(pods(tms, 1, "1", "4096m", 10_000));
        assert!(r < last, "{tms} TaskManagers: {r} after {last}");
        last = r;
    }
    assert!(at(pods(4, 1, "3", "4096m", 10_000)) < at(pods(4, 1, "1", "4096m", 10_000)));
    // Demeter's static maximum at half load recovers within its 180 s limit, around the
    // 96 s Demeter measured
    let half = pass(&static_max(), &job(0.5 * cap(&static_max())));
    assert!(
        (60.0..180.0).contains(&half.recovery_time_s),
        "{}",
        half.recovery_time_s
    );
}

#[test]
fn without_spare_capacity_the_job_does_not_recover() {
    let c = pods(2, 1, "1", "4096m", 10_000);
    let over = pass(&c, &job(1.2 * cap(&c)));
    assert!(!over.recovered);
    assert_eq!(over.recovery_time_s, GIVE_UP_S);
    // result.json keeps a finite number (never null, NaN or inf)
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("conf")).unwrap();
    let text = flink::conf::render_flat(&c, "test").unwrap();
    std::fs::write(dir.path().join("conf/flink-conf.yaml"), text).unwrap();
    let spec = TrialSpec {
        dir: dir.path().to_path_buf(),
        rate: (1.2 * cap(&c)) as u64,
        duration_s: 60,
        repeat: 0,
        seed: 1,
        worker: 0,
    };
    let a = adapter::Adapter::Sim {
        cluster: Cluster::kubernetes(),
        workload: Workload::Wordcount,
        noise: 0.0,
        flink: flink::resources::SIMULATED_FLINK,
    };
    let outcome = a.run(&spec);
    assert_eq!(outcome.metric("recovery_time_s"), Some(GIVE_UP_S));
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("result.json")).unwrap())
            .unwrap();
    assert_eq!(written["recovery_time_s"].as_f64(), Some(GIVE_UP_S));
    assert_eq!(written["recovered"], false);
}

#[test]
fn trials_report_the_requested_resources() {
    let c = pods(3, 2, "1.5", "2048m", 10_000);
    let m = pass(&c, &job(50_000.0));
    assert_eq!(m.resources, flink::resources::requested(&c).unwrap());
    assert_eq!(m.resources.taskmanagers, 3);
    assert_eq!(m.resources.cpu_requested, 4.5);
    assert_eq!(m.resources.memory_requested_mb, 3.0 * 2048.0);
    assert_eq!(m.memory_mb, 3.0 * 2048.0);
    // the fixed cluster: its own four 8-core TaskManagers
    let SimOutcome::Pass(f) = sim::simulate(&static_max(), &Cluster::default(), &job(16_000.0))
    else {
        panic!("the fixed cluster runs it");
    };
    assert_eq!(f.resources.taskmanagers, 4);
    assert_eq!(f.resources.cpu_requested, 32.0);
    assert_eq!(f.resources.memory_requested_mb, 4.0 * 4096.0);
    assert_eq!(
        f.resources,
        flink::resources::on_fixed_cluster(&static_max(), 4, 8.0).unwrap()
    );
    assert!(f.recovered && f.recovery_time_s > 0.0);
}

fn example() -> Study {
    Study::load(Path::new("examples/demeter")).expect("the example study loads")
}

#[test]
fn the_example_study_validates_and_defaults_to_the_static_maximum() {
    let study = example();
    assert_eq!(study.space.len(), 5);
    assert_eq!(study.file.sim.cluster().mode, sim::ClusterMode::Kubernetes);
    let conf = study.effective_conf(&study.space.default_config());
    for (k, v) in [
        ("flinktune.taskmanagers", "24"),
        ("taskmanager.numberOfTaskSlots", "1"),
        ("kubernetes.taskmanager.cpu", "1"),
        ("taskmanager.memory.process.size", "4096m"),
        ("execution.checkpointing.interval", "10000"),
    ] {
        assert_eq!(conf.get(k).map(String::as_str), Some(v), "{k}");
    }
    // the static maximum keeps up at the peak with headroom; a few TaskManagers at the trough
    let peak = *study.file.rates.iter().max().unwrap() as f64;
    let trough = *study.file.rates.iter().min().unwrap() as f64;
    let cl = study.file.sim.cluster();
    let capacity = |c: &FlatConf| {
        sim::capacity(c, &cl, study.file.sim.workload, study.file.flink_version).unwrap()
    };
    assert!(capacity(&conf) > 1.5 * peak);
    assert!(capacity(&pods(2, 1, "1", "4096m", 10_000)) > trough);
    assert!(capacity(&pods(1, 1, "1", "4096m", 10_000)) < trough);
}

#[test]
fn the_taskmanager_key_is_written_for_every_flink_version() {
    let text = std::fs::read_to_string("examples/demeter/flinktune.toml").unwrap();
    for version in ["1.11", "1.20", "2.0"] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("flinktune.toml"),
            text.replace(
                "flink_version = \"1.11\"",
                &format!("flink_version = \"{version}\""),
            ),
        )
        .unwrap();
        let study = Study::load(dir.path()).unwrap_or_else(|e| panic!("{version}: {e:#}"));
        assert_eq!(study.space.len(), 5, "{version}");
        let mut config = study.space.default_config();
        config[0] = Some(flink::space::Value::Int(7));
        let out = dir.path().join("trial");
        study.write_config_dir(&config, &out, "test").unwrap();
        let written = flink::conf::read_conf_dir(&out.join("conf")).unwrap();
        assert_eq!(
            written.get("flinktune.taskmanagers").map(String::as_str),
            Some("7"),
            "{version}"
        );
        assert_eq!(
            flink::precheck::predict_failure(&written, flink::resources::SIMULATED_FLINK),
            None
        );
        // and the simulator runs it from the files
        let spec = TrialSpec {
            dir: out.clone(),
            rate: 80_000,
            duration_s: 60,
            repeat: 0,
            seed: 1,
            worker: 0,
        };
        let outcome = flinktune::trial::runner::adapter_of(&study).run(&spec);
        let Outcome::Pass { .. } = &outcome else {
            panic!("{version}: {outcome:?}");
        };
        assert_eq!(outcome.metric("taskmanagers"), Some(7.0));
        for key in ["recovery_time_s", "cpu_requested", "memory_requested_mb"] {
            assert!(outcome.metric(key).is_some_and(f64::is_finite), "{key}");
        }
    }
}

#[test]
fn sim_section_errors_name_the_key() {
    let text = std::fs::read_to_string("examples/demeter/flinktune.toml").unwrap();
    let err = |from: &str, to: &str| {
        let dir = tempfile::tempdir().unwrap();
        assert!(text.contains(from), "{from}");
        std::fs::write(dir.path().join("flinktune.toml"), text.replace(from, to)).unwrap();
        format!("{:#}", Study::load(dir.path()).unwrap_err())
    };
    let e = err("cluster = \"kubernetes\"", "cluster = \"mesos\"");
    assert!(
        e.contains("flinktune.toml:") && e.contains("`sim.cluster`"),
        "{e}"
    );
    let e = err("max_taskmanagers = 24", "max_taskmanagers = 0");
    assert!(
        e.contains("`sim.max_taskmanagers`") && e.contains("from 1 to"),
        "{e}"
    );
    let e = err("pod_startup_s = 12", "pod_startup_s = -3");
    assert!(e.contains("`sim.pod_startup_s`"), "{e}");
    let e = err("cluster = \"kubernetes\"", "cluster = \"fixed\"");
    assert!(
        e.contains("`sim.max_taskmanagers`") && e.contains("only applies"),
        "{e}"
    );
}

#[test]
fn the_sim_adapter_command_runs_the_kubernetes_cluster() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("conf")).unwrap();
    let text = flink::conf::render_flat(&pods(30, 1, "1", "2048m", 10_000), "t").unwrap();
    std::fs::write(dir.path().join("conf/flink-conf.yaml"), text).unwrap();
    let run = |cluster: &str| {
        let status = std::process::Command::new(env!("CARGO_BIN_EXE_flinktune"))
            .args(["sim-adapter", "--noise", "0", "--cluster", cluster])
            .env("FLINKTUNE_TRIAL_DIR", dir.path())
            .env("FLINKTUNE_RATE", "50000")
            .env("FLINKTUNE_DURATION_S", "60")
            .env("FLINKTUNE_REPEAT", "0")
            .env("FLINKTUNE_SEED", "3")
            .env("FLINKTUNE_WORKER", "0")
            .status()
            .unwrap();
        assert!(status.success());
        let result: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.path().join("result.json")).unwrap())
                .unwrap();
        result
    };
    // 30 pods exceed the Kubernetes cluster; the fixed cluster ignores the key
    let k8s = run("kubernetes");
    assert_eq!(k8s["status"], "fail", "{k8s}");
    let fixed = run("fixed");
    assert_eq!(fixed["status"], "pass", "{fixed}");
    assert_eq!(fixed["taskmanagers"], 4);
}
