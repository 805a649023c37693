//! Other Flink versions: the paper's 1.11 with its legacy jobs, and 2.x with a study written
//! in its key names; the memory Flink derives checked against flinktune's model to the byte.

use super::*;

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
        include_str!("../../configs/flink-1.11-default-conf.yaml")
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

/// The built-in catalogue `init --flink-version` picked, narrowed to what one machine runs (a
/// TaskManager or two of at most 1.5 GiB), so a real trial starts in seconds.
fn narrowed_builtin(study: &Path) {
    let text = fs::read_to_string(study.join("flinktune.toml")).unwrap();
    let file: toml::Table = text.parse().unwrap();
    let name = file["catalogue"].as_str().unwrap();
    let mut cat: toml::Table = ok(&["catalogue", "show", name]).parse().unwrap();
    let narrow = [
        ("parallelism.default", 1, 2),
        ("taskmanager.numberOfTaskSlots", 1, 2),
        ("taskmanager.memory.flink.size", 1024, 1536),
        ("jobmanager.memory.flink.size", 1024, 1280),
        ("taskmanager.memory.jvm-metaspace.size", 256, 512),
        ("jobmanager.memory.jvm-metaspace.size", 256, 512),
        ("taskmanager.memory.jvm-overhead.max", 512, 1024),
        ("jobmanager.memory.jvm-overhead.max", 512, 1024),
        ("taskmanager.memory.network.min", 16, 64),
        ("execution.checkpointing.interval", 1000, 600000),
        ("pekko.framesize", 1, 100),
    ];
    for p in cat["param"].as_array_mut().unwrap() {
        let p = p.as_table_mut().unwrap();
        let key = p["name"].as_str().unwrap().to_string();
        if let Some((_, min, max)) = narrow.iter().find(|(k, _, _)| *k == key) {
            p.insert("min".into(), toml::Value::Integer(*min));
            p.insert("max".into(), toml::Value::Integer(*max));
            if let Some(toml::Value::Integer(d)) = p.get("default")
                && !(*min..=*max).contains(d)
            {
                p.insert("default".into(), toml::Value::Integer(*min));
            }
        }
    }
    fs::write(study.join("narrowed.toml"), toml::to_string(&cat).unwrap()).unwrap();
    edit_study(
        study,
        &[(
            &format!("catalogue = \"{name}\""),
            "catalogue = \"narrowed.toml\"",
        )],
    );
}

/// A short study from `init --flink-version` on a real distribution: every key written exists
/// in that release's key set, and Flink runs each configuration (or says why not).
fn init_study_runs_on(home: &Path, version: &str, release: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let study = tmp.path().join("study");
    // A generous deploy allowance, as for 1.11: a REST-submitted job's graph is built in the
    // JobManager, slowly on a busy machine.
    let command = format!(
        "FLINK_HOME={} {} --flink-version {version} --deploy-allowance 8",
        home.display(),
        adapter("identity")
    );
    ok(&[
        "init",
        s(&study),
        "--flink-version",
        version,
        "--adapter-command",
        &command,
    ]);
    edit_study(
        &study,
        &[
            ("samples = 200", "samples = 2"),
            ("rates = [16000, 80000]", "rates = [5000]"),
            ("duration_s = 60", "duration_s = 4"),
            ("retries = 1", "retries = 0"),
            ("timeout_s = 900", "timeout_s = 150"),
        ],
    );
    narrowed_builtin(&study);
    let t = Instant::now();
    ok(&["generate", s(&study)]);
    ok(&["collect", s(&study)]);
    eprintln!(
        "Flink {release} init study: {:.0} s",
        t.elapsed().as_secs_f64()
    );

    let set = flink::keys::key_set(version.parse().unwrap()).unwrap();
    assert_eq!(set.release, release);
    for entry in fs::read_dir(study.join("generate/configs")).unwrap() {
        let conf = flink::conf::read_conf_dir(&entry.unwrap().path().join("conf")).unwrap();
        for key in conf.keys() {
            // Current keys only, and keys the release deprecates without a successor (1.20's
            // buffers per channel and Netty threads: still read, no other way to set them).
            let status = set.check(key);
            assert!(
                matches!(
                    status,
                    flink::keys::Status::Known
                        | flink::keys::Status::Deprecated { successor: None }
                ),
                "{key} written for Flink {release}: {status:?}"
            );
        }
    }
    let passed = check_trials(&study.join("collect/trials.csv"), 5000.0);
    assert!(
        passed >= 1,
        "no configuration ran on Flink {release}:\n{}",
        fs::read_to_string(study.join("collect/trials.csv")).unwrap_or_default()
    );
    for entry in fs::read_dir(study.join("collect/trials")).unwrap() {
        let result: serde_json::Value = serde_json::from_str(
            &fs::read_to_string(entry.unwrap().path().join("result.json")).unwrap(),
        )
        .unwrap();
        if result["status"] == "pass" {
            assert_eq!(result["flink_version"], release, "{result}");
        }
    }
    // The TaskManager memory Flink reports over REST is what `flinktune memory` derives.
    assert_eq!(
        assert_memory_as_flink_derives(&study.join("collect/trials")),
        passed
    );
    assert_no_jvm(&study);
}

#[test]
fn a_study_from_init_for_flink_1_20_writes_only_its_keys_and_runs() {
    let Some(home) = flink_home() else { return };
    let _one = CLUSTER.lock().unwrap_or_else(|e| e.into_inner());
    init_study_runs_on(Path::new(&home), "1.20", "1.20.5");
}

#[test]
fn a_study_from_init_for_flink_2_3_writes_only_its_keys_and_runs() {
    let Some(home) = flink_2_home() else { return };
    let _one = CLUSTER.lock().unwrap_or_else(|e| e.into_inner());
    init_study_runs_on(&home, "2.3", "2.3.0");
}
