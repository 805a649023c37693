//! The reconfiguration hook on a running job (savepoint and restart, in-place rescale),
//! recovery from a killed TaskManager, and `flinktune adapt` driving a real job.

use super::*;

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
        // The job's maxCount gauge starts at 0 in a restored operator and rises as each key
        // gets its next record, so the largest restored count shows within a few seconds;
        // counts that restarted from zero would take as long as they took to reach it.
        let until = Instant::now() + Duration::from_secs(20);
        let mut after = max_count(&rest, &job);
        while after < before && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(500));
            after = max_count(&rest, &job);
        }
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
fn adapt_reconfigures_a_real_job_through_the_flink_local_hook() {
    let Some(_home) = flink_home() else { return };
    let _one = CLUSTER.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let study = tmp.path().join("study");
    fs::create_dir_all(&study).unwrap();
    // Demeter over the scale-out (1..2 TaskManagers) and the TaskManagers' memory (1024m or
    // 2048m), starting from the static maximum (2 × 2048m), profiling on the simulator; the
    // live job runs on real Flink through the hook. At 2000 records/s one small TaskManager
    // is enough: the first decision changes the memory too, so it is a restart (stop with a
    // savepoint, start the new configuration from it), and the next two keep it.
    let catalogue = format!(
        "{}\n[[param]]\nname = \"taskmanager.memory.process.size\"\nkind = \"int\"\nmin = 1024\n\
         max = 2048\ndefault = 2048\npower_of_two = true\nunit = \"mb\"\nformat = \"memory\"\n",
        scale_out_catalogue(2)
    );
    fs::write(study.join("resources.toml"), catalogue).unwrap();
    fs::write(
        study.join("base.yaml"),
        "jobmanager.memory.process.size: 1024m\ntaskmanager.memory.process.size: 1024m\n\
         taskmanager.numberOfTaskSlots: 1\nexecution.checkpointing.interval: 5s\n",
    )
    .unwrap();
    // No latency budget: what a restart's delay costs is not what this test measures.
    fs::write(
        study.join("flinktune.toml"),
        r#"flink_version = "1.20"
catalogue = "resources.toml"
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
latency_budget = inf
profile_budget = 8
rate_step = 1000
restart_s = 17
mean_time_between_failures_s = 0
"#,
    )
    .unwrap();
    // The rate command also records what the cluster runs at the start of every interval:
    // its TaskManagers and their memory, the job, and what the job was restored from.
    fs::write(
        tmp.path().join("observe.py"),
        r#"import json, urllib.request
s = json.load(open("hook-state/hook.json"))
get = lambda p: json.load(urllib.request.urlopen("http://127.0.0.1:%d%s" % (s["rest_port"], p), timeout=10))
j = get("/jobs/" + s["job_id"])
restored = (get("/jobs/" + s["job_id"] + "/checkpoints").get("latest") or {}).get("restored")
tms = get("/taskmanagers")["taskmanagers"]
rec = {"taskmanagers": len(tms), "job": s["job_id"], "state": j["state"],
       "memory": sorted({t["memoryConfiguration"]["totalProcessMemory"] for t in tms}),
       "parallelism": sorted({v["parallelism"] for v in j["vertices"]}),
       "from_savepoint": bool(restored and restored["is_savepoint"])}
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
        "3",
        "--source-rate",
        "2000",
    ]);
    eprintln!("{out}adapt: {:.0} s", t.elapsed().as_secs_f64());
    let live = study.join("adapt-live");
    let records = json_lines(&live.join("decisions.jsonl"));
    assert_eq!(records.len(), 3, "{records:?}");
    let small = serde_json::json!({"flinktune.taskmanagers": 1,
                                   "taskmanager.memory.process.size": 1024});
    let r = &records[0];
    assert_eq!(r["action"], "switch", "{r}");
    assert_eq!(r["change"], "restart", "{r}");
    assert_eq!(r["applied_by"], "apply", "{r}");
    assert_eq!(r["config"], small, "{r}");
    assert!(
        r["savepoint"].as_str().is_some_and(|p| !p.is_empty()),
        "{r}"
    );
    assert!(r["downtime_s"].as_f64().unwrap() > 0.0, "{r}");
    for r in &records[1..] {
        assert_eq!(r["action"], "keep", "{r}");
        assert_eq!(r["config"], small, "{r}");
    }
    // Before the switch 2 TaskManagers of 2048m at parallelism 2; after it 1 of 1024m at 1,
    // a new job restored from the savepoint, still running at the last interval.
    let seen = json_lines(&live.join("observed.jsonl"));
    assert_eq!(seen.len(), 3, "{seen:?}");
    let mib = |m: u64| serde_json::json!([m << 20]);
    let shape = |o: &serde_json::Value| {
        (
            o["taskmanagers"].clone(),
            o["memory"].clone(),
            o["parallelism"].clone(),
        )
    };
    assert_eq!(
        shape(&seen[0]),
        (2.into(), mib(2048), serde_json::json!([2])),
        "{seen:?}"
    );
    for o in &seen[1..] {
        assert_eq!(
            shape(o),
            (1.into(), mib(1024), serde_json::json!([1])),
            "{seen:?}"
        );
        assert_eq!(o["state"], "RUNNING", "{seen:?}");
        assert_eq!(o["from_savepoint"], true, "{seen:?}");
    }
    assert_ne!(seen[0]["job"], seen[1]["job"], "{seen:?}");
    assert_eq!(seen[1]["job"], seen[2]["job"], "{seen:?}");
    // adapt stopped the job and the cluster at the end.
    assert_no_jvm(&live);
}
