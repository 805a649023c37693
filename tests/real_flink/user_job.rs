//! A user's job tuned end to end: `userjob/KeyedCount.java` (its own paced source, a keyed
//! running count, a discarding sink; none of flinktune's jobs) is compiled here, then a short
//! `search --over system` and `validate` run it through flink-local with `--jar`, measured by
//! Flink's REST API (latency markers, sink counters) or by a real Prometheus server.

use super::*;

const RATE: f64 = 2000.0;

/// The job's jar, compiled from its source against the distribution's lib/.
fn compile_user_job(home: &str, dir: &Path) -> PathBuf {
    let src =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/real_flink/userjob/KeyedCount.java");
    let classes = dir.join("classes");
    let javac = Command::new("javac")
        .args(["--release", "11", "-nowarn", "-d"])
        .arg(&classes)
        .arg("-cp")
        .arg(format!("{home}/lib/*"))
        .arg(&src)
        .output()
        .expect("javac runs (a JDK 17: scripts/ci-prepare.sh)");
    assert!(
        javac.status.success(),
        "{}",
        String::from_utf8_lossy(&javac.stderr)
    );
    let jar = dir.join("keyed-count.jar");
    let out = Command::new("jar")
        .arg("cf")
        .arg(&jar)
        .arg("-C")
        .arg(&classes)
        .arg(".")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    jar
}

/// A study tuning the user's job over parallelism and the buffer timeout: three trials of the
/// search, then best and default once each in validate.
fn user_study(dir: &Path, jar: &Path, metrics: &str) -> PathBuf {
    let study = dir.join("study");
    fs::create_dir_all(&study).unwrap();
    fs::write(
        study.join("catalogue.toml"),
        r#"flink_version = "1.11"
[[param]]
name = "execution.buffer-timeout"
kind = "int"
min = 1
max = 200
log = true
default = 100
unit = "ms"
[[param]]
name = "parallelism.default"
kind = "int"
min = 1
max = 2
default = 1
"#,
    )
    .unwrap();
    fs::write(
        study.join("base.yaml"),
        "jobmanager.memory.process.size: 1024m\ntaskmanager.memory.process.size: 1280m\n\
         taskmanager.numberOfTaskSlots: 2\n",
    )
    .unwrap();
    let command = format!(
        "{} --jar {} --class example.KeyedCount --args '--rate {{rate}} --keys 50' --metrics {metrics} \
         --warmup 4 --start-timeout 240",
        adapter(""),
        s(jar)
    );
    let text = format!(
        r#"flink_version = "1.20"
catalogue = "catalogue.toml"
base_conf = "base.yaml"
rates = [{RATE}]
repeats = 1
duration_s = 6
objective = "latency"
samples = 3
seed = 7
[adapter]
kind = "command"
command = "{command}"
timeout_s = 420
retries = 0
[search]
budget = 3
initial = 2
[validate]
repeats = 1
"#
    );
    fs::write(study.join("flinktune.toml"), text).unwrap();
    study
}

/// Every trial of a stage passed with plausible figures or failed with a reason; returns the
/// passing results.
fn stage_results(stage: &Path) -> Vec<serde_json::Value> {
    let mut passed = vec![];
    for entry in fs::read_dir(stage.join("trials")).unwrap() {
        let trial = entry.unwrap().path();
        let text = fs::read_to_string(trial.join("result.json"))
            .unwrap_or_else(|e| panic!("{}: {e}", trial.display()));
        let r: serde_json::Value = serde_json::from_str(&text).unwrap();
        if r["status"] != "pass" {
            assert!(
                !r["reason"].as_str().unwrap_or_default().trim().is_empty(),
                "failed without reason: {r}"
            );
            continue;
        }
        let tp = r["throughput"].as_f64().unwrap();
        let p99 = r["latency_p99_ms"].as_f64().unwrap();
        // One record reaches the sink for every record the source emits. The source paces
        // against its own start, so one that fell behind during a slow start catches up inside
        // the window (seen on a loaded 2-core machine: 1.14x over a 6 s window).
        assert!(
            (0.75 * RATE..=1.25 * RATE).contains(&tp),
            "implausible throughput {tp} at {RATE}/s: {r}"
        );
        assert!((0.0..2000.0).contains(&p99), "implausible p99 {p99}: {r}");
        let gc = r["gc_time_fraction"].as_f64().unwrap_or(-1.0);
        assert!((0.0..=1.0).contains(&gc), "no GC time share: {r}");
        let vertices = r["vertices"].as_array().unwrap();
        assert_eq!(vertices.len(), 2, "source and keyed count: {r}");
        for v in vertices {
            let backpressured = v["backpressured_ms_per_s"].as_f64().unwrap();
            assert!((0.0..=1000.0).contains(&backpressured), "{r}");
        }
        // The keyed count's vertex reports its busy time (the legacy source's task does not).
        let count = vertices
            .iter()
            .find(|v| v["name"].as_str().unwrap().starts_with("count"))
            .unwrap_or_else(|| panic!("no count vertex: {r}"));
        let busy = count["busy_ms_per_s"].as_f64().unwrap();
        assert!((0.0..=1000.0).contains(&busy), "{r}");
        assert_eq!(r["main_class"], "example.KeyedCount", "{r}");
        passed.push(r);
    }
    passed
}

/// Compiles the job, searches over the system and validates; returns the search's and
/// validate's passing results.
fn tune_user_job(metrics: &str) -> Option<(Vec<serde_json::Value>, Vec<serde_json::Value>)> {
    let home = flink_home()?;
    let _one = CLUSTER.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let jar = compile_user_job(&home, tmp.path());
    let study = user_study(tmp.path(), &jar, metrics);
    let t = Instant::now();
    ok(&["search", s(&study), "--over", "system"]);
    let searched = t.elapsed().as_secs_f64();
    ok(&["validate", s(&study)]);
    eprintln!(
        "user job over {metrics}: search {searched:.0} s, search + validate {:.0} s",
        t.elapsed().as_secs_f64()
    );
    let search = stage_results(&study.join("search"));
    let validate = stage_results(&study.join("validate"));
    assert_no_jvm(&study);
    // A trial whose cluster a loaded machine could not start fails with that reason; the
    // search needs one pass for a best configuration.
    assert!(!search.is_empty(), "no search trial passed");
    assert_eq!(validate.len(), 2, "best and default both run: {validate:?}");
    Some((search, validate))
}

#[test]
fn a_user_job_is_tuned_measured_over_rest() {
    let Some((search, validate)) = tune_user_job("rest") else {
        return;
    };
    for r in search.iter().chain(&validate) {
        assert_eq!(r["metrics_source"], "rest", "{r}");
        assert!(r["latency_histograms"].as_u64().unwrap() >= 1, "{r}");
        // The counters at both ends of the window: about rate x duration records reached the sink.
        assert!(
            r["sink_records"].as_f64().unwrap() > 0.75 * RATE * 6.0,
            "{r}"
        );
    }
}

fn prometheus_installed() -> bool {
    let found = std::env::var("FLINKTUNE_PROMETHEUS").is_ok()
        || Command::new("sh")
            .args(["-c", "command -v prometheus"])
            .output()
            .is_ok_and(|o| o.status.success());
    if !found {
        eprintln!(
            "skipped: no prometheus (apt-get install prometheus, or . scripts/ci-prepare.sh)"
        );
    }
    found
}

#[test]
fn a_user_job_is_tuned_measured_through_a_real_prometheus() {
    if !prometheus_installed() {
        return;
    }
    let Some((search, validate)) = tune_user_job("prometheus") else {
        return;
    };
    for r in search.iter().chain(&validate) {
        assert_eq!(r["metrics_source"], "prometheus", "{r}");
        let q = r["promql"]["latency_p99_ms"].as_str().unwrap();
        assert!(q.contains(r["job_id"].as_str().unwrap()), "{r}");
    }
}
