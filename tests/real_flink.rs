//! End-to-end tests on a real Flink cluster through the shipped `flink-local` adapter.
//! They run only when `FLINK_HOME` points at a Flink distribution (CI sets it with
//! `scripts/ci-prepare.sh`); otherwise each prints "skipped: FLINK_HOME not set".
//! A real trial takes about 30 s (13 s of it cluster start-up), so the studies are tiny.

mod common;

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

#[test]
fn a_configuration_flink_rejects_fails_with_flinks_reason_and_leaves_no_jvm() {
    let Some(_home) = flink_home() else { return };
    let _one = CLUSTER.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    // 256m cannot hold the 256m metaspace plus the 192m JVM overhead.
    let dir = trial_dir(
        tmp.path(),
        "jobmanager.memory.process.size: 1600m\ntaskmanager.memory.process.size: 256m\n",
    );
    let out = adapter_cmd(&dir, "identity").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let result: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.join("result.json")).unwrap()).unwrap();
    assert_eq!(result["status"], "fail", "{result}");
    let reason = result["reason"].as_str().unwrap();
    assert!(
        reason.contains("Metaspace") && reason.contains("Total Process Memory"),
        "{reason}"
    );
    assert_no_jvm(&dir);
}

/// Waits until the adapter's cluster has a live JVM, i.e. it is mid-trial.
fn wait_for_jvm(dir: &Path) {
    let until = Instant::now() + Duration::from_secs(60);
    while jvms_under(dir).is_empty() {
        assert!(Instant::now() < until, "no JVM started within 60 s");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn no_jvm_survives_a_timeout_or_ctrl_c() {
    let Some(_home) = flink_home() else { return };
    let _one = CLUSTER.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();

    // A timeout in the middle of the trial: the tuner stops the adapter's process group.
    let study = real_study(tmp.path(), 1, "");
    let toml = study.join("flinktune.toml");
    let text = fs::read_to_string(&toml)
        .unwrap()
        .replace("timeout_s = 120", "timeout_s = 20");
    fs::write(&toml, text).unwrap();
    ok(&["generate", s(&study)]);
    ok(&["collect", s(&study)]);
    let trials = rows(&study.join("collect/trials.csv"));
    assert_eq!(trials[0]["status"], "error", "{trials:?}");
    assert!(
        trials[0]["reason"].contains("timeout") || trials[0]["reason"].contains("timed out"),
        "{trials:?}"
    );
    assert_no_jvm(&study);

    // Ctrl-C to the adapter's process group, as a terminal delivers it.
    let dir = trial_dir(
        &tmp.path().join("ctrl-c"),
        "jobmanager.memory.process.size: 1600m\ntaskmanager.memory.process.size: 1728m\n",
    );
    let mut cmd = adapter_cmd(&dir, "identity");
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd.spawn().unwrap();
    wait_for_jvm(&dir);
    std::thread::sleep(Duration::from_secs(2));
    let pgid = child.id() as i32;
    assert_eq!(kill_group(-pgid, 2), 0);
    let until = Instant::now() + Duration::from_secs(15);
    while child.try_wait().unwrap().is_none() {
        assert!(
            Instant::now() < until,
            "the adapter did not exit after Ctrl-C"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_no_jvm(&dir);
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

/// Flink 1.11.4, the paper's version, when it is installed: `FLINK_1_11_HOME`, or where
/// `scripts/install-flink.sh 1.11.4` puts it (CI installs it with `scripts/ci-prepare.sh`);
/// absent → skip.
fn flink_111_home() -> Option<PathBuf> {
    if let Ok(h) = std::env::var("FLINK_1_11_HOME") {
        let h = PathBuf::from(h);
        assert!(
            h.join("bin/jobmanager.sh").is_file(),
            "FLINK_1_11_HOME={} is not a Flink distribution",
            h.display()
        );
        return Some(h);
    }
    let cache = std::env::var("FLINKTUNE_CACHE")
        .map(PathBuf::from)
        .or_else(|_| std::env::var("HOME").map(|h| Path::new(&h).join(".cache/flinktune")))
        .ok()?;
    let dest = cache.join("flink-1.11.4");
    if dest.join(".complete").is_file() {
        return Some(dest.join("pyflink"));
    }
    eprintln!(
        "skipped: Flink 1.11.4 not installed (export FLINK_1_11_HOME=$(scripts/install-flink.sh 1.11.4))"
    );
    None
}

#[test]
fn the_papers_flink_1_11_runs_the_legacy_jobs_end_to_end() {
    let Some(home) = flink_111_home() else { return };
    let _one = CLUSTER.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let study = tmp.path().join("study");
    fs::create_dir_all(&study).unwrap();
    fs::write(study.join("catalogue.toml"), CATALOGUE).unwrap();
    // The user's own JVM option must survive the Java 17 options the adapter merges in.
    let base = format!(
        "{}\nenv.java.opts: -Dflinktune.marker=kept\n",
        include_str!("../configs/flink-1.11-default-conf.yaml")
    );
    fs::write(study.join("base-flink-conf.yaml"), base).unwrap();
    // Wordcount exercises the legacy source, keyed state and checkpoints. A generous deploy
    // allowance: 1.11 builds the job graph in the JobManager, slowly on a busy machine.
    let text = format!(
        r#"flink_version = "1.11"
catalogue = "catalogue.toml"
base_conf = "base-flink-conf.yaml"
rates = [20000]
repeats = 1
duration_s = 5
objective = "latency"
samples = 2
seed = 5
[adapter]
kind = "command"
command = "FLINK_HOME={} {} --flink-version 1.11 --deploy-allowance 8"
timeout_s = 180
retries = 0
"#,
        home.display(),
        adapter("wordcount")
    );
    fs::write(study.join("flinktune.toml"), text).unwrap();
    let t = Instant::now();
    ok(&["generate", s(&study)]);
    ok(&["collect", s(&study)]);
    eprintln!("Flink 1.11 collect: {:.0} s", t.elapsed().as_secs_f64());

    let passed = check_trials(&study.join("collect/trials.csv"), 20000.0);
    assert!(passed >= 1, "no trial passed on Flink 1.11");
    for entry in fs::read_dir(study.join("collect/trials")).unwrap() {
        let trial = entry.unwrap().path();
        let result: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(trial.join("result.json")).unwrap()).unwrap();
        if result["status"] != "pass" {
            continue;
        }
        assert_eq!(result["flink_version"], "1.11.4", "{result}");
        assert_eq!(result["workload"], "wordcount", "{result}");
        // Flink logs its JVM options at start-up: both the user's and the merged ones arrived.
        let logs: String = fs::read_dir(trial.join("flink/log"))
            .unwrap()
            .map(|e| fs::read_to_string(e.unwrap().path()).unwrap_or_default())
            .collect();
        for opt in [
            "-Dflinktune.marker=kept",
            "--add-exports=java.base/sun.net.util=ALL-UNNAMED",
        ] {
            assert!(logs.contains(opt), "{opt} missing from the JVM options");
        }
    }
    assert_no_jvm(&study);

    // A FLINK_HOME of another version is refused before any JVM starts (exit 2: an error,
    // not a configuration's failure), since Flink would silently ignore the keys it lacks.
    let dir = trial_dir(
        &tmp.path().join("wrong-version"),
        "parallelism.default: 1\n",
    );
    let other = Command::new("sh")
        .arg("-c")
        .arg(format!("{} --flink-version 1.20", adapter("identity")))
        .current_dir(&dir)
        .env("FLINK_HOME", &home)
        .env("FLINKTUNE_TRIAL_DIR", &dir)
        .env("FLINKTUNE_WORKER", "0")
        .output()
        .unwrap();
    assert_eq!(other.status.code(), Some(2));
    let err = String::from_utf8_lossy(&other.stderr);
    assert!(
        err.contains("is Flink 1.11") && err.contains("expects 1.20"),
        "{err}"
    );
}
