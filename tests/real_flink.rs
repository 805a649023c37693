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

    // Recovery measurement and the reconfiguration hook need the current jobs (checkpointed
    // generator schedule, stable uids): on 1.11 both refuse up front instead of measuring
    // something else.
    let recovery = adapter_cmd(&dir, "wordcount")
        .env("FLINK_HOME", &home)
        .env("FLINKTUNE_MEASURE_RECOVERY", "1")
        .output()
        .unwrap();
    assert_eq!(recovery.status.code(), Some(2));
    let err = String::from_utf8_lossy(&recovery.stderr);
    assert!(err.contains("needs Flink 1.19"), "{err}");
    let hook_start = Command::new("sh")
        .arg("-c")
        .arg(hook_cmd())
        .env("FLINK_HOME", &home)
        .env("FLINKTUNE_ACTION", "start")
        .env("FLINKTUNE_STATE_DIR", tmp.path().join("hook-state"))
        .env("FLINKTUNE_CONF_DIR", dir.join("conf"))
        .env("FLINKTUNE_RATE", "1000")
        .output()
        .unwrap();
    assert_eq!(hook_start.status.code(), Some(2));
    let out = String::from_utf8_lossy(&hook_start.stdout);
    assert!(
        out.contains(r#""status": "fail""#) && out.contains("needs Flink 1.19"),
        "{out}"
    );
    assert_no_jvm(tmp.path());
}

/// The memory sizes Flink derived for the trial's TaskManager (REST, reported by the adapter)
/// are the ones flinktune's own derivation (`flinkmem`, behind the pre-check) gives for the
/// trial's configuration file, to the byte. Returns how many trials were compared.
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
        let conf_dir = trial.join("conf");
        let conf = match fs::read_to_string(conf_dir.join("config.yaml")) {
            Ok(yaml) => flink::conf::parse_yaml(&yaml, "config.yaml").unwrap(),
            Err(_) => flink::conf::parse_flat(
                &fs::read_to_string(conf_dir.join("flink-conf.yaml")).unwrap(),
                "flink-conf.yaml",
            )
            .unwrap(),
        };
        let ours = flink::memory::taskmanager(&conf).unwrap();
        const MIB: f64 = 1024.0 * 1024.0;
        for (key, mb) in [
            ("frameworkHeap", ours.framework_heap_mb),
            ("taskHeap", ours.task_heap_mb),
            ("frameworkOffHeap", ours.framework_off_heap_mb),
            ("taskOffHeap", ours.task_off_heap_mb),
            ("networkMemory", ours.network_mb),
            ("managedMemory", ours.managed_mb),
            ("jvmMetaspace", ours.metaspace_mb),
            ("jvmOverhead", ours.overhead_mb),
            ("totalFlinkMemory", ours.flink_mb),
            ("totalProcessMemory", ours.process_mb),
        ] {
            let bytes = flink[key]
                .as_f64()
                .unwrap_or_else(|| panic!("{key}: {flink}"));
            assert!(
                (bytes - mb * MIB).abs() <= 1.0,
                "{key}: Flink derived {bytes} bytes, flinkmem {} for {}",
                mb * MIB,
                trial.display()
            );
        }
        compared += 1;
    }
    compared
}

/// Flink 2.x.
fn flink_2_home() -> Option<PathBuf> {
    installed_flink("FLINK_2_HOME", "2.3.0")
}

/// A 1.11 catalogue's memory and buffer keys, renamed or reformatted in 2.x.
const MEMORY_CATALOGUE: &str = r#"flink_version = "1.11"
[[param]]
name = "execution.buffer-timeout"
kind = "int"
min = -1
max = 200
log = true
default = 100
unit = "ms"
[[param]]
name = "taskmanager.network.memory.fraction"
kind = "float"
min = 0.05
max = 0.3
default = 0.1
[[param]]
name = "taskmanager.memory.managed.fraction"
kind = "float"
min = 0.1
max = 0.6
default = 0.4
[[param]]
name = "taskmanager.memory.process.size"
kind = "int"
min = 1024
max = 2048
default = 1728
unit = "mb"
format = "memory"
"#;

#[test]
fn flink_2_runs_a_study_written_with_its_key_names() {
    let Some(home) = flink_2_home() else { return };
    let _one = CLUSTER.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let study = tmp.path().join("study");
    fs::create_dir_all(&study).unwrap();
    fs::write(study.join("catalogue.toml"), MEMORY_CATALOGUE).unwrap();
    let text = format!(
        r#"flink_version = "2.3"
catalogue = "catalogue.toml"
rates = [5000]
repeats = 1
duration_s = 4
objective = "latency"
samples = 3
seed = 7
[adapter]
kind = "command"
command = "FLINK_HOME={} {} --flink-version 2.3"
timeout_s = 150
retries = 0
"#,
        home.display(),
        adapter("identity")
    );
    fs::write(study.join("flinktune.toml"), text).unwrap();
    let t = Instant::now();
    ok(&["generate", s(&study)]);
    ok(&["collect", s(&study)]);
    eprintln!("Flink 2.3 collect: {:.0} s", t.elapsed().as_secs_f64());

    // Written as 2.x names them: nested config.yaml, no 1.x key left for Flink to ignore.
    for entry in fs::read_dir(study.join("generate/configs")).unwrap() {
        let conf = entry.unwrap().path().join("conf");
        assert!(!conf.join("flink-conf.yaml").exists());
        let yaml = fs::read_to_string(conf.join("config.yaml")).unwrap();
        let flat = flink::conf::parse_yaml(&yaml, "config.yaml").unwrap();
        assert!(
            flat.contains_key("taskmanager.memory.network.fraction"),
            "{yaml}"
        );
        assert!(
            flat.contains_key("execution.buffer-timeout.interval")
                || flat
                    .get("execution.buffer-timeout.enabled")
                    .map(String::as_str)
                    == Some("false"),
            "{yaml}"
        );
        for old in [
            "taskmanager.network.memory.fraction",
            "execution.buffer-timeout",
        ] {
            assert!(!flat.contains_key(old), "{old} in {yaml}");
        }
    }
    let passed = check_trials(&study.join("collect/trials.csv"), 5000.0);
    assert_eq!(passed, 3, "every sampled configuration runs on Flink 2.3");
    for entry in fs::read_dir(study.join("collect/trials")).unwrap() {
        let result: serde_json::Value = serde_json::from_str(
            &fs::read_to_string(entry.unwrap().path().join("result.json")).unwrap(),
        )
        .unwrap();
        assert!(
            result["flink_version"]
                .as_str()
                .is_some_and(|v| v.starts_with("2.3")),
            "{result}"
        );
    }
    // Flink applied the renamed keys: its memory sizes follow the sampled fractions and sizes.
    assert_eq!(
        assert_memory_as_flink_derives(&study.join("collect/trials")),
        3
    );
    assert_no_jvm(&study);
}

/// GET on Flink's REST API (`base` as the hook reports it, `http://127.0.0.1:<port>`).
/// HTTP/1.0 over a plain socket keeps the tests free of an HTTP client dependency.
fn rest_get(base: &str, path: &str) -> serde_json::Value {
    use std::io::{Read, Write};
    let addr = base.trim_start_matches("http://");
    let mut conn = std::net::TcpStream::connect(addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(conn, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut text = String::new();
    conn.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    assert!(head.contains(" 200 "), "GET {path}: {head}\n{body}");
    serde_json::from_str(body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
}

fn hook_cmd() -> String {
    format!(
        "{}/adapters/flink-local/hook.sh wordcount",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// Runs one hook action as `flinktune adapt` does (`sh -c`, its own process group) and
/// returns the JSON object on its last stdout line.
fn hook(state: &Path, action: &str, conf: Option<&Path>, rate: u32) -> serde_json::Value {
    hook_env(state, action, conf, rate, &[])
}

/// `hook` with more variables (FLINKTUNE_TASKMANAGERS for a rescale).
fn hook_env(
    state: &Path,
    action: &str,
    conf: Option<&Path>,
    rate: u32,
    env: &[(&str, &str)],
) -> serde_json::Value {
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg(hook_cmd())
        .env("FLINKTUNE_ACTION", action)
        .env("FLINKTUNE_STATE_DIR", state)
        .env("FLINKTUNE_RATE", rate.to_string())
        .envs(env.iter().copied());
    if let Some(conf) = conf {
        c.env("FLINKTUNE_CONF_DIR", conf);
    }
    std::os::unix::process::CommandExt::process_group(&mut c, 0);
    let out = c.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "hook {action}: {stdout}\n{stderr}");
    let last = stdout.lines().last().unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(last).unwrap_or_else(|e| {
        panic!("hook {action}: last line {last:?} is not JSON ({e})\n{stderr}")
    });
    assert_eq!(v["status"], "ok", "hook {action}: {v}\n{stderr}");
    v
}

/// Stops the hook's cluster however the test ends, so a failed assertion leaves no JVM.
struct HookCluster<'a>(&'a Path);

impl Drop for HookCluster<'_> {
    fn drop(&mut self) {
        let _ = Command::new("sh")
            .arg("-c")
            .arg(hook_cmd())
            .env("FLINKTUNE_ACTION", "stop")
            .env("FLINKTUNE_STATE_DIR", self.0)
            .output();
    }
}

fn conf_dir(dir: &Path, yaml: &str) -> PathBuf {
    fs::create_dir_all(dir).unwrap();
    fs::write(dir.join("config.yaml"), yaml).unwrap();
    dir.to_path_buf()
}

/// The highest keyed running count of the wordcount job (its `count.maxCount` gauge), once
/// the operator has counted a record: right after a (re)start the gauge reads 0 until the first
/// record arrives, whether or not the counts were restored.
fn max_count(rest: &str, job: &str) -> f64 {
    let details = rest_get(rest, &format!("/jobs/{job}"));
    let vid = details["vertices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"].as_str().unwrap().starts_with("count"))
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        let m = rest_get(
            rest,
            &format!("/jobs/{job}/vertices/{vid}/subtasks/metrics?get=count.maxCount&agg=max"),
        );
        if let Some(v) = m[0]["max"].as_f64().filter(|v| *v > 0.0) {
            return v;
        }
        assert!(
            Instant::now() < until,
            "no positive count.maxCount metric: {m}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn the_hook_reconfigures_a_running_job_through_a_savepoint() {
    let Some(_home) = flink_home() else { return };
    let _one = CLUSTER.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let _cleanup = HookCluster(&state);
    // A: one TaskManager with one slot, checkpoints every 10 s. B: two TaskManagers (reactive
    // parallelism 2) and checkpoints every 4 s.
    let common = "jobmanager.memory.process.size: 1024m\ntaskmanager.memory.process.size: 1024m\n\
                  taskmanager.numberOfTaskSlots: 1\n";
    let a = conf_dir(
        &tmp.path().join("a"),
        &format!("{common}flinktune.taskmanagers: 1\nexecution.checkpointing.interval: 10s\n"),
    );
    let b = conf_dir(
        &tmp.path().join("b"),
        &format!("{common}flinktune.taskmanagers: 2\nexecution.checkpointing.interval: 4s\n"),
    );

    let t = Instant::now();
    let started = hook(&state, "start", Some(&a), 2000);
    eprintln!("start: {started} ({:.0} s)", t.elapsed().as_secs_f64());
    assert!(started["savepoint"].is_null(), "{started}");
    let rest = started["rest"].as_str().unwrap().to_string();
    let old_job = started["job_id"].as_str().unwrap().to_string();
    // Let the keyed counts grow (about 24 a second per word at 2000 records/s), then
    // remember how far they got.
    let until = Instant::now() + Duration::from_secs(90);
    let before = loop {
        let c = max_count(&rest, &old_job);
        if c >= 100.0 {
            break c;
        }
        assert!(Instant::now() < until, "the counts hardly grew: {c}");
        std::thread::sleep(Duration::from_secs(1));
    };

    let t = Instant::now();
    let applied = hook(&state, "apply", Some(&b), 3000);
    eprintln!("apply: {applied} ({:.0} s)", t.elapsed().as_secs_f64());
    let savepoint = applied["savepoint"].as_str().unwrap().to_string();
    let sp_dir = savepoint.trim_start_matches("file:");
    assert!(
        Path::new(sp_dir).join("_metadata").is_file(),
        "no savepoint at {savepoint}"
    );
    let downtime = applied["downtime_s"].as_f64().unwrap();
    assert!(downtime > 0.0 && downtime < 300.0, "{applied}");
    let rest = applied["rest"].as_str().unwrap().to_string();
    let job = applied["job_id"].as_str().unwrap().to_string();
    assert_ne!(job, old_job);

    // The new job was restored from that savepoint ...
    let cps = rest_get(&rest, &format!("/jobs/{job}/checkpoints"));
    let restored = &cps["latest"]["restored"];
    assert_eq!(restored["is_savepoint"], true, "{cps}");
    assert_eq!(restored["external_path"].as_str(), Some(savepoint.as_str()));
    // ... and its keyed counts continued from the savepoint instead of starting at zero.
    let after = max_count(&rest, &job);
    assert!(
        after >= before,
        "counts restarted: {before} before, {after} after"
    );
    // Configuration B is in effect: checkpoint interval, TaskManagers, parallelism.
    let cfg = rest_get(&rest, &format!("/jobs/{job}/checkpoints/config"));
    assert_eq!(cfg["interval"], 4000, "{cfg}");
    let overview = rest_get(&rest, "/overview");
    assert_eq!(overview["taskmanagers"], 2, "{overview}");
    let details = rest_get(&rest, &format!("/jobs/{job}"));
    for v in details["vertices"].as_array().unwrap() {
        assert_eq!(v["parallelism"], 2, "{v}");
    }

    // The generator's output rate: above the input rate while it replays the downtime's
    // backlog, then settled at the input rate.
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        let rate = hook(&state, "rate", None, 3000)["rate"].as_f64().unwrap();
        eprintln!("rate: {rate} rec/s at an input rate of 3000");
        assert!(rate > 0.0, "the generator reports no output");
        if (2400.0..=3750.0).contains(&rate) {
            break;
        }
        assert!(
            Instant::now() < until,
            "the rate never settled near 3000: {rate}"
        );
        std::thread::sleep(Duration::from_secs(5));
    }

    hook(&state, "stop", None, 3000);
    assert_no_jvm(&state);
}

#[test]
fn a_trial_measures_recovery_from_a_killed_taskmanager() {
    let Some(_home) = flink_home() else { return };
    let _one = CLUSTER.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("trial");
    conf_dir(
        &dir.join("conf"),
        "jobmanager.memory.process.size: 1024m\ntaskmanager.memory.process.size: 1024m\n\
         taskmanager.numberOfTaskSlots: 1\nflinktune.taskmanagers: 1\n\
         execution.checkpointing.interval: 5s\n",
    );
    fs::write(dir.join("config.json"), "{}").unwrap();
    let t = Instant::now();
    let out = adapter_cmd(&dir, "wordcount --deploy-allowance 8")
        .env("FLINKTUNE_MEASURE_RECOVERY", "1")
        .env("FLINKTUNE_RATE", "5000")
        .output()
        .unwrap();
    eprintln!("recovery trial: {:.0} s", t.elapsed().as_secs_f64());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let r: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.join("result.json")).unwrap()).unwrap();
    eprintln!("{r}");
    assert_eq!(r["status"], "pass", "{r}\n{stderr}");
    assert_eq!(r["recovery_censored"], false, "{r}");
    let recovery = r["recovery_time_s"].as_f64().unwrap();
    let running = r["recovery_running_s"].as_f64().unwrap();
    // Caught up cannot come before running again (1 s resolution), and both within the limit.
    assert!(
        running > 0.0 && recovery + 1.0 >= running && recovery < 180.0,
        "{r}"
    );
    assert!(r["latency_p99_ms"].as_f64().unwrap() > 0.0, "{r}");
    assert_no_jvm(&dir);
}

/// Completed checkpoints of a job so far.
fn checkpoints_completed(rest: &str, job: &str) -> u64 {
    rest_get(rest, &format!("/jobs/{job}/checkpoints"))["counts"]["completed"]
        .as_u64()
        .unwrap()
}

#[test]
fn the_hook_rescales_a_running_job_in_place() {
    let Some(_home) = flink_home() else { return };
    let _one = CLUSTER.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let _cleanup = HookCluster(&state);
    // The same configuration at 1 and at 2 TaskManagers: only the scale-out differs.
    let common = "jobmanager.memory.process.size: 1024m\ntaskmanager.memory.process.size: 1024m\n\
                  taskmanager.numberOfTaskSlots: 1\nexecution.checkpointing.interval: 2s\n";
    let one = conf_dir(
        &tmp.path().join("one"),
        &format!("{common}flinktune.taskmanagers: 1\n"),
    );
    let two = conf_dir(
        &tmp.path().join("two"),
        &format!("{common}flinktune.taskmanagers: 2\n"),
    );
    let started = hook(&state, "start", Some(&one), 2000);
    let rest = started["rest"].as_str().unwrap().to_string();
    let job = started["job_id"].as_str().unwrap().to_string();

    for (n, conf) in [(2u64, &two), (1, &one)] {
        // Counts that have grown, and a checkpoint completed after they were read: the
        // rescaled job restores from it, so its counts cannot be lower.
        let before = max_count(&rest, &job);
        let done = checkpoints_completed(&rest, &job);
        let until = Instant::now() + Duration::from_secs(30);
        while checkpoints_completed(&rest, &job) <= done {
            assert!(Instant::now() < until, "no checkpoint completed in 30 s");
            std::thread::sleep(Duration::from_millis(300));
        }
        let t = Instant::now();
        let r = hook_env(
            &state,
            "rescale",
            Some(conf),
            2000,
            &[("FLINKTUNE_TASKMANAGERS", &n.to_string())],
        );
        eprintln!("rescale to {n}: {r} ({:.0} s)", t.elapsed().as_secs_f64());
        // In place: the same job, no savepoint, no new cluster.
        assert_eq!(r["job_id"].as_str(), Some(job.as_str()), "{r}");
        assert_eq!(r["rest"].as_str(), Some(rest.as_str()), "{r}");
        let downtime = r["downtime_s"].as_f64().unwrap();
        assert!(downtime > 0.0 && downtime < 180.0, "{r}");
        assert!(r["interrupted_s"].as_f64().unwrap() <= downtime, "{r}");
        // Caught up: the new sink subtasks' per-second p99 back near its level before.
        let caught_up = r["caught_up_s"].as_f64().unwrap();
        assert!((0.0..=90.0).contains(&caught_up), "{r}");
        let details = rest_get(&rest, &format!("/jobs/{job}"));
        assert_eq!(details["state"], "RUNNING", "{details}");
        for v in details["vertices"].as_array().unwrap() {
            assert_eq!(v["parallelism"], n, "{v}");
            assert_eq!(v["status"], "RUNNING", "{v}");
        }
        let overview = rest_get(&rest, "/overview");
        assert_eq!(overview["taskmanagers"], n, "{overview}");
        assert_eq!(overview["jobs-running"], 1, "{overview}");
        // Restarted from a checkpoint, with its keyed counts.
        let cps = rest_get(&rest, &format!("/jobs/{job}/checkpoints"));
        assert_eq!(cps["latest"]["restored"]["is_savepoint"], false, "{cps}");
        let after = max_count(&rest, &job);
        assert!(
            after >= before,
            "counts restarted: {before} before, {after} after"
        );
    }

    hook(&state, "stop", None, 2000);
    assert_no_jvm(&state);

    // Flink 1.11 has no parallelism API: the hook says so, and adapt applies instead.
    if let Some(old) = flink_111_home() {
        let out = Command::new("sh")
            .arg("-c")
            .arg(hook_cmd())
            .env("FLINK_HOME", old)
            .env("FLINKTUNE_ACTION", "rescale")
            .env("FLINKTUNE_STATE_DIR", tmp.path().join("state-1.11"))
            .env("FLINKTUNE_TASKMANAGERS", "2")
            .env("FLINKTUNE_CONF_DIR", &two)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{stdout}");
        let v: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
        assert_eq!(v["status"], "fail", "{v}");
        assert_eq!(v["reason"], "rescale unsupported", "{v}");
    }
}

#[test]
fn adapt_rescales_a_real_job_through_the_flink_local_hook() {
    let Some(_home) = flink_home() else { return };
    let _one = CLUSTER.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let study = tmp.path().join("study");
    fs::create_dir_all(&study).unwrap();
    // Demeter over the scale-out alone (1..2 TaskManagers, starting at 2), profiling on the
    // simulator; the live job runs on real Flink through the hook. At 2000 records/s one
    // TaskManager is enough, so its first decision is a scale-in: a rescale.
    fs::write(study.join("scale-out.toml"), scale_out_catalogue(2)).unwrap();
    fs::write(
        study.join("base.yaml"),
        "jobmanager.memory.process.size: 1024m\ntaskmanager.memory.process.size: 1024m\n\
         taskmanager.numberOfTaskSlots: 1\nexecution.checkpointing.interval: 5s\n",
    )
    .unwrap();
    fs::write(
        study.join("flinktune.toml"),
        r#"flink_version = "1.20"
catalogue = "scale-out.toml"
base_conf = "base.yaml"
rates = [2000]
repeats = 1
duration_s = 30
objective = "latency"
samples = 10
seed = 5
[adapter]
kind = "sim"
[sim]
workload = "identity"
cluster = "kubernetes"
max_taskmanagers = 2
[adapt]
interval_s = 10
horizon_s = 60
margin = 0.15
min_gain = 0.05
recovery_limit_s = 180
latency_slack = 0.1
profile_budget = 8
rate_step = 1000
restart_s = 17
mean_time_between_failures_s = 0
"#,
    )
    .unwrap();
    // The rate command also records what the cluster runs at the start of every interval.
    fs::write(
        tmp.path().join("observe.py"),
        r#"import json, urllib.request
s = json.load(open("hook-state/hook.json"))
get = lambda p: json.load(urllib.request.urlopen("http://127.0.0.1:%d%s" % (s["rest_port"], p), timeout=10))
j = get("/jobs/" + s["job_id"])
rec = {"taskmanagers": get("/overview")["taskmanagers"], "job": s["job_id"], "state": j["state"],
       "parallelism": sorted({v["parallelism"] for v in j["vertices"]})}
open("observed.jsonl", "a").write(json.dumps(rec) + "\n")
print(2000)
"#,
    )
    .unwrap();
    let hook = format!(
        "{}/adapters/flink-local/hook.sh identity",
        env!("CARGO_MANIFEST_DIR")
    );
    let rate = format!("python3 {}", s(&tmp.path().join("observe.py")));
    let t = Instant::now();
    let out = ok(&[
        "adapt",
        s(&study),
        "--hook",
        &hook,
        "--rate-command",
        &rate,
        "--intervals",
        "2",
        "--source-rate",
        "2000",
    ]);
    eprintln!("{out}adapt: {:.0} s", t.elapsed().as_secs_f64());
    let live = study.join("adapt-live");
    let records = json_lines(&live.join("decisions.jsonl"));
    let r = &records[0];
    assert_eq!(r["action"], "switch", "{r}");
    assert_eq!(r["change"], "rescale", "{r}");
    assert_eq!(r["applied_by"], "rescale", "{r}");
    assert_eq!(r["config"]["flinktune.taskmanagers"], 1, "{r}");
    assert!(r["downtime_s"].as_f64().unwrap() > 0.0, "{r}");
    // Before the switch 2 TaskManagers at parallelism 2, after it 1 at 1: the same job.
    let seen = json_lines(&live.join("observed.jsonl"));
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(
        (&seen[0]["taskmanagers"], &seen[0]["parallelism"]),
        (&2.into(), &serde_json::json!([2])),
        "{seen:?}"
    );
    assert_eq!(
        (&seen[1]["taskmanagers"], &seen[1]["parallelism"]),
        (&1.into(), &serde_json::json!([1])),
        "{seen:?}"
    );
    assert_eq!(seen[0]["job"], seen[1]["job"], "{seen:?}");
    assert_eq!(seen[1]["state"], "RUNNING", "{seen:?}");
    // adapt stopped the job and the cluster at the end.
    assert_no_jvm(&live);
}
