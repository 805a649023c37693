//! End-to-end tests on a real Flink cluster through the shipped `flink-local` adapter.
//! They run only when `FLINK_HOME` points at a Flink distribution (CI sets it with
//! `scripts/ci-prepare.sh`); otherwise each prints "skipped: FLINK_HOME not set".
//! A real trial takes about 30 s (13 s of it cluster start-up), so the studies are tiny.

#[path = "../common/mod.rs"]
mod common;
mod hook;
mod trials;
mod user_job;
mod versions;

use common::*;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

// One real cluster at a time: two tests starting clusters together would race for ports and
// share two cores, which distorts latencies.
static CLUSTER: Mutex<()> = Mutex::new(());

fn flink_home() -> Option<String> {
    match std::env::var("FLINK_HOME") {
        Ok(h) if Path::new(&h).join("bin/jobmanager.sh").is_file() => Some(h),
        Ok(h) => panic!("FLINK_HOME={h} is not a Flink distribution (no bin/jobmanager.sh)"),
        Err(_) => {
            eprintln!(
                "skipped: FLINK_HOME not set (export FLINK_HOME=$(scripts/install-flink.sh))"
            );
            None
        }
    }
}

fn adapter(workload: &str) -> String {
    format!(
        "{}/adapters/flink-local/run.sh {workload}",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// Live (not zombie) JVMs whose command line mentions `dir`: the adapter starts every JVM
/// with its log file inside the trial directory.
fn jvms_under(dir: &Path) -> Vec<String> {
    let needle = dir.to_str().unwrap();
    let mut found = vec![];
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        let p = entry.path();
        let Ok(cmd) = fs::read(p.join("cmdline")) else {
            continue;
        };
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        if cmd.contains("java") && cmd.contains(needle) {
            found.push(format!("{}: {}", p.display(), &cmd[..cmd.len().min(160)]));
        }
    }
    found
}

fn assert_no_jvm(dir: &Path) {
    // SIGKILLed JVMs can take a moment to disappear from /proc.
    let until = Instant::now() + Duration::from_secs(5);
    while !jvms_under(dir).is_empty() && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(200));
    }
    let left = jvms_under(dir);
    assert!(left.is_empty(), "JVMs left running:\n{}", left.join("\n"));
}

const CATALOGUE: &str = r#"flink_version = "1.11"
[[param]]
name = "execution.buffer-timeout"
kind = "int"
min = -1
max = 200
log = true
default = 100
unit = "ms"
[[param]]
name = "taskmanager.memory.segment-size"
kind = "int"
min = 4
max = 64
power_of_two = true
default = 32
unit = "kb"
format = "memory"
"#;

/// A study of the two parameters that visibly move latency on one machine, for Flink 1.20
/// (the catalogue uses 1.11 names and is translated).
fn real_study(dir: &Path, samples: u64, extra_adapter: &str) -> PathBuf {
    let study = dir.join("study");
    fs::create_dir_all(&study).unwrap();
    fs::write(study.join("catalogue.toml"), CATALOGUE).unwrap();
    let text = format!(
        r#"flink_version = "1.20"
catalogue = "catalogue.toml"
rates = [20000]
repeats = 1
duration_s = 5
objective = "latency"
samples = {samples}
seed = 3
[adapter]
kind = "command"
command = "{}"
timeout_s = 120
retries = 0
{extra_adapter}
[search]
budget = 30
initial = 10
[validate]
repeats = 1
"#,
        adapter("identity")
    );
    fs::write(study.join("flinktune.toml"), text).unwrap();
    study
}

fn rows(path: &Path) -> Vec<std::collections::HashMap<String, String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let headers = r.headers().unwrap().clone();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            headers
                .iter()
                .zip(rec.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

fn check_trials(path: &Path, rate: f64) -> usize {
    let mut passed = 0;
    for row in rows(path) {
        match row["status"].as_str() {
            "pass" => {
                let tp: f64 = row["throughput"].parse().unwrap();
                let p99: f64 = row["latency_p99_ms"].parse().unwrap();
                assert!(
                    (0.9 * rate..=1.05 * rate).contains(&tp),
                    "implausible throughput {tp} at {rate}/s: {row:?}"
                );
                assert!(p99 > 0.0 && p99 < 2000.0, "implausible p99 {p99}: {row:?}");
                // The TaskManagers' garbage-collection time over the window, from REST.
                let gc: f64 = row["gc_time_fraction"].parse().unwrap_or(-1.0);
                assert!((0.0..=1.0).contains(&gc), "no GC time share: {row:?}");
                passed += 1;
            }
            _ => assert!(
                !row["reason"].trim().is_empty(),
                "failed without reason: {row:?}"
            ),
        }
    }
    passed
}

#[test]
fn a_small_real_study_runs_end_to_end() {
    let Some(_home) = flink_home() else { return };
    let _one = CLUSTER.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let study = real_study(tmp.path(), 5, "");
    let t = Instant::now();
    ok(&["tune", s(&study)]);
    eprintln!("real study: {:.0} s", t.elapsed().as_secs_f64());

    let conf = fs::read_to_string(study.join("generate/configs/c0000/conf/config.yaml")).unwrap();
    assert!(conf.contains("buffer-timeout"), "{conf}");
    let passed = check_trials(&study.join("collect/trials.csv"), 20000.0);
    assert!(
        passed >= 5,
        "a model needs 5 passing configurations, {passed} passed"
    );
    for f in [
        "model/model.json",
        "search/best/conf/config.yaml",
        "validate/report.md",
    ] {
        assert!(study.join(f).is_file(), "{f} missing");
    }
    let v = check_trials(&study.join("validate/trials.csv"), 20000.0);
    assert_eq!(v, 2, "best and default must both run in validate");
    // Every trial directory holds the adapter's Flink logs and a result.
    let trial = fs::read_dir(study.join("collect/trials"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    assert!(trial.join("result.json").is_file());
    assert!(trial.join("flink/log").is_dir());
    assert!(assert_memory_as_flink_derives(&study.join("collect/trials")) >= 5);
    eprintln!(
        "{}",
        fs::read_to_string(study.join("validate/report.md")).unwrap()
    );
    assert_no_jvm(&study);
}

fn trial_dir(tmp: &Path, conf: &str) -> PathBuf {
    let dir = tmp.join("trial");
    fs::create_dir_all(dir.join("conf")).unwrap();
    fs::write(dir.join("conf/flink-conf.yaml"), conf).unwrap();
    fs::write(dir.join("config.json"), "{}").unwrap();
    dir
}

fn adapter_cmd(dir: &Path, workload: &str) -> Command {
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg(adapter(workload))
        .current_dir(dir)
        .env("FLINKTUNE_TRIAL_DIR", dir)
        .env("FLINKTUNE_CONF_DIR", dir.join("conf"))
        .env("FLINKTUNE_CONFIG_JSON", dir.join("config.json"))
        .env("FLINKTUNE_RATE", "20000")
        .env("FLINKTUNE_DURATION_S", "5")
        .env("FLINKTUNE_REPEAT", "0")
        .env("FLINKTUNE_SEED", "0")
        .env("FLINKTUNE_WORKER", "0");
    c
}

fn kill_group(pid: i32, sig: i32) -> i32 {
    // The `kill` command keeps this test free of unsafe code and of a libc dependency.
    let status = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg("--")
        .arg(pid.to_string())
        .status()
        .unwrap();
    if status.success() { 0 } else { 1 }
}

/// Another Flink version when it is installed: `$var`, or where `scripts/install-flink.sh
/// VERSION` puts it (CI installs 1.11.4 and 2.3.0 with `scripts/ci-prepare.sh`); absent → skip.
fn installed_flink(var: &str, version: &str) -> Option<PathBuf> {
    if let Ok(h) = std::env::var(var) {
        let h = PathBuf::from(h);
        assert!(
            h.join("bin/jobmanager.sh").is_file(),
            "{var}={} is not a Flink distribution",
            h.display()
        );
        return Some(h);
    }
    let cache = std::env::var("FLINKTUNE_CACHE")
        .map(PathBuf::from)
        .or_else(|_| std::env::var("HOME").map(|h| Path::new(&h).join(".cache/flinktune")))
        .ok()?;
    let dest = cache.join(format!("flink-{version}"));
    if dest.join(".complete").is_file() {
        return Some(dest.join("pyflink"));
    }
    eprintln!(
        "skipped: Flink {version} not installed (export {var}=$(scripts/install-flink.sh {version}))"
    );
    None
}

/// Flink 1.11.4, the paper's version.
fn flink_111_home() -> Option<PathBuf> {
    installed_flink("FLINK_1_11_HOME", "1.11.4")
}

/// Flink 2.x.
fn flink_2_home() -> Option<PathBuf> {
    installed_flink("FLINK_2_HOME", "2.3.0")
}

/// The memory sizes Flink derived for the trial's TaskManager (REST, reported by the adapter)
/// are the ones `flinktune memory` (`flink::memory`, behind the pre-check) gives for the
/// trial's configuration and Flink version, to the byte. Returns how many trials were compared.
fn assert_memory_as_flink_derives(trials: &Path) -> usize {
    let mut compared = 0;
    for entry in fs::read_dir(trials).unwrap() {
        let trial = entry.unwrap().path();
        let Ok(text) = fs::read_to_string(trial.join("result.json")) else {
            continue;
        };
        let result: serde_json::Value = serde_json::from_str(&text).unwrap();
        if result["status"] != "pass" {
            continue;
        }
        let flink = &result["taskmanager_memory_bytes"];
        assert!(flink.is_object(), "no memory from Flink: {result}");
        let version: flink::conf::FlinkVersion = result["flink_version"]
            .as_str()
            .unwrap_or_else(|| panic!("no flink_version: {result}"))
            .parse()
            .unwrap();
        let conf = flink::conf::read_conf_dir(&trial.join("conf")).unwrap();
        let ours = flink::memory::taskmanager(&conf, version).unwrap();
        for (key, bytes) in [
            ("frameworkHeap", ours.framework_heap),
            ("taskHeap", ours.task_heap),
            ("frameworkOffHeap", ours.framework_off_heap),
            ("taskOffHeap", ours.task_off_heap),
            ("networkMemory", ours.network),
            ("managedMemory", ours.managed),
            ("jvmMetaspace", ours.metaspace),
            ("jvmOverhead", ours.overhead),
            ("totalFlinkMemory", ours.flink),
            ("totalProcessMemory", ours.process),
        ] {
            let theirs = flink[key]
                .as_u64()
                .unwrap_or_else(|| panic!("{key}: {flink}"));
            assert_eq!(
                theirs,
                bytes,
                "{key}: Flink {version} derived {theirs} bytes, flinktune {bytes} for {}",
                trial.display()
            );
        }
        compared += 1;
    }
    compared
}

fn hook_cmd() -> String {
    format!(
        "{}/adapters/flink-local/hook.sh wordcount",
        env!("CARGO_MANIFEST_DIR")
    )
}
