//! End-to-end tests: the `flinktune` binary driven through every stage, on the built-in
//! simulator and through shell adapters, checking the artifacts each stage leaves.

mod common;

use common::*;
use std::fs;
use std::path::{Path, PathBuf};

#[test]
fn tune_runs_every_stage_on_the_simulator() {
    let tmp = tempfile::tempdir().unwrap();
    let study = small_study(tmp.path(), None);
    let out = ok(&["tune", s(&study)]);
    assert!(out.contains("measured speedup"), "{out}");

    // generate: 40 configurations, each a real flink-conf.yaml with Flink's formats.
    let configs = study.join("generate/configs.csv");
    let header = csv_header(&configs);
    assert_eq!(header.len(), 32);
    assert_eq!(header[31], "predicted_failure");
    assert_eq!(csv_rows(&configs).len(), 40);
    let conf =
        fs::read_to_string(study.join("generate/configs/c0000/conf/flink-conf.yaml")).unwrap();
    let size = conf
        .lines()
        .find_map(|l| l.strip_prefix("taskmanager.memory.flink.size: "))
        .expect("flink size written");
    assert!(
        size.ends_with('m') && size[..size.len() - 1].parse::<u32>().is_ok(),
        "{size}"
    );
    assert!(conf.contains("taskmanager.memory.segment-size: ") && conf.contains("kb\n"));
    assert!(
        conf.lines()
            .any(|l| l.starts_with("akka.framesize: ") && l.ends_with('b'))
    );
    // The tuned flink size replaces the base's process size (Flink advises against both).
    assert!(!conf.contains("taskmanager.memory.process.size"));
    assert!(conf.contains("jobmanager.rpc.address: localhost"));
    let config_json = json(&study.join("generate/configs/c0000/config.json"));
    assert!(config_json["parallelism.default"].is_i64());
    assert!(config_json["taskmanager.network.netty.transport"].is_string());

    // collect: one trial per (config, rate), pass or fail with a reason.
    let trials = study.join("collect/trials.csv");
    let th = csv_header(&trials);
    let rows = csv_rows(&trials);
    assert_eq!(rows.len(), 80);
    let status = column(&th, &rows, "status");
    let reasons = column(&th, &rows, "reason");
    let p99 = column(&th, &rows, "latency_p99_ms");
    assert!(status.iter().filter(|s| **s == "pass").count() >= 20);
    for ((st, reason), p) in status.iter().zip(&reasons).zip(&p99) {
        match *st {
            "pass" => assert!(p.parse::<f64>().unwrap() > 0.0),
            _ => assert!(!reason.is_empty()),
        }
    }
    let trial_dir = study.join("collect/trials/c0000-r16000-k0");
    assert!(trial_dir.join("conf/flink-conf.yaml").is_file());
    assert!(trial_dir.join("config.json").is_file());
    let result = json(&trial_dir.join("result.json"));
    assert!(result["status"] == "pass" || result["status"] == "fail");
    let summary = json(&study.join("collect/summary.json"));
    assert_eq!(summary["trials"], 80);

    // model: a saved forest and an honest held-out MAPE.
    let m = json(&study.join("model/summary.json"));
    let mape = m["test_mape_percent"].as_f64().unwrap();
    assert!(mape.is_finite() && mape > 0.0, "{m}");
    assert!(m["test_configs"].as_u64().unwrap() >= 1);
    assert!(study.join("model/model.json").is_file());
    assert_eq!(
        csv_rows(&study.join("model/test_predictions.csv")).len() as u64,
        m["test_rows"].as_u64().unwrap()
    );

    // search: every iteration in the history, the best as a complete conf directory.
    let history = study.join("search/history.csv");
    assert_eq!(csv_rows(&history).len(), 30);
    let hh = csv_header(&history);
    let phases = column(&hh, &csv_rows(&history), "phase").join(",");
    assert!(
        phases.starts_with("initial") && phases.ends_with("bo"),
        "{phases}"
    );
    let best = fs::read_to_string(study.join("search/best/conf/flink-conf.yaml")).unwrap();
    assert!(best.contains("parallelism.default: "));
    assert!(best.contains("jobmanager.rpc.port: 6123"));
    let ss = json(&study.join("search/summary.json"));
    assert!(ss["best_perf"].as_f64().unwrap() >= ss["predicted_default"].as_f64().unwrap() * 0.5);

    // validate: both configurations measured, speedups reported.
    let v = json(&study.join("validate/summary.json"));
    assert_eq!(csv_rows(&study.join("validate/trials.csv")).len(), 4);
    assert!(v["default"]["passed"] == 2, "{v}");
    assert!(
        v["speedup_ratio"].is_number() || v["best"]["passed"] == 0,
        "{v}"
    );
    assert!(
        fs::read_to_string(study.join("validate/report.md"))
            .unwrap()
            .contains("p99")
    );
}

#[test]
fn stages_refuse_to_run_out_of_order() {
    let tmp = tempfile::tempdir().unwrap();
    let study = small_study(tmp.path(), None);
    let e = fails(&["model", s(&study)]);
    assert!(
        e.contains("collect stage has not run") && e.contains("flinktune collect"),
        "{e}"
    );
    let e = fails(&["collect", s(&study)]);
    assert!(e.contains("generate stage has not run"), "{e}");
    let e = fails(&["validate", s(&study)]);
    assert!(e.contains("search stage has not run"), "{e}");
}

#[test]
fn rerunning_a_stage_replaces_only_its_own_artifacts() {
    let tmp = tempfile::tempdir().unwrap();
    let study = small_study(tmp.path(), None);
    ok(&["generate", s(&study)]);
    ok(&["collect", s(&study)]);
    let trials_before = fs::read(study.join("collect/trials.csv")).unwrap();
    let configs_before = fs::read(study.join("generate/configs.csv")).unwrap();

    // Same seed: identical configurations; another seed: new ones, collect untouched.
    ok(&["generate", s(&study)]);
    assert_eq!(
        fs::read(study.join("generate/configs.csv")).unwrap(),
        configs_before
    );
    let path = study.join("flinktune.toml");
    let text = fs::read_to_string(&path)
        .unwrap()
        .replace("seed = 42", "seed = 43");
    fs::write(&path, text).unwrap();
    ok(&["generate", s(&study)]);
    assert_ne!(
        fs::read(study.join("generate/configs.csv")).unwrap(),
        configs_before
    );
    assert_eq!(
        fs::read(study.join("collect/trials.csv")).unwrap(),
        trials_before
    );
    // No temporary folders are left behind.
    let leftovers: Vec<_> = fs::read_dir(&study)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir() && p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

const SCRIPT_ADAPTER: &str = r#"#!/bin/sh
# A toy adapter: records what it was given, fails for high parallelism, and reports a
# latency that grows with the buffer timeout.
env | grep '^FLINKTUNE_' | sort > env.txt
p=$(sed -n 's/^parallelism.default: //p' "$FLINKTUNE_CONF_DIR/flink-conf.yaml")
t=$(sed -n 's/^execution.buffer-timeout: //p' "$FLINKTUNE_CONF_DIR/flink-conf.yaml")
if [ "$p" -gt 100 ]; then
  echo "parallelism $p is too high for this toy" >&2
  exit 1
fi
lat=$(( 5 + (t + 1) / 10 ))
printf '{"status":"pass","throughput":%s,"latency_p99_ms":%s,"notes":"toy"}\n' "$FLINKTUNE_RATE" "$lat" > "$FLINKTUNE_TRIAL_DIR/result.json"
"#;

#[test]
fn a_script_adapter_runs_the_whole_pipeline() {
    let tmp = tempfile::tempdir().unwrap();
    let script = tmp.path().join("toy adapter.sh");
    fs::write(&script, SCRIPT_ADAPTER).unwrap();
    let cmd = format!("sh '{}'", script.display());
    let study = small_study(tmp.path(), Some(&cmd));
    ok(&["tune", s(&study)]);

    let trials = study.join("collect/trials.csv");
    let th = csv_header(&trials);
    let rows = csv_rows(&trials);
    let status = column(&th, &rows, "status");
    assert!(status.contains(&"pass"));
    // Configurations with parallelism > 100 exit 1: failed trials with the stderr tail.
    let reasons = column(&th, &rows, "reason");
    for (st, reason) in status.iter().zip(&reasons) {
        if *st == "error" {
            assert!(
                reason.contains("exit status 1") && reason.contains("too high"),
                "{reason}"
            );
        }
    }
    assert!(
        status.contains(&"error"),
        "the sample should include parallelism > 100"
    );

    // The protocol's variables reached the adapter.
    let env = fs::read_to_string(study.join("collect/trials/c0000-r80000-k0/env.txt")).unwrap();
    for var in [
        "FLINKTUNE_TRIAL_DIR=",
        "FLINKTUNE_CONF_DIR=",
        "FLINKTUNE_CONFIG_JSON=",
        "FLINKTUNE_RATE=80000",
        "FLINKTUNE_DURATION_S=60",
        "FLINKTUNE_REPEAT=0",
        "FLINKTUNE_SEED=42",
        "FLINKTUNE_WORKER=0",
    ] {
        assert!(env.contains(var), "{var} missing from {env}");
    }
    // The toy's optimum is the smallest buffer timeout: the search must find a low one.
    let best = fs::read_to_string(study.join("search/best/conf/flink-conf.yaml")).unwrap();
    let timeout: i64 = best
        .lines()
        .find_map(|l| l.strip_prefix("execution.buffer-timeout: "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(timeout < 100, "best buffer timeout {timeout}");
    let v = json(&study.join("validate/summary.json"));
    assert!(v["speedup_latency_p99"].as_f64().unwrap() > 1.0, "{v}");
}

#[test]
fn the_simulator_behind_the_shell_protocol_measures_what_the_built_in_one_does() {
    let tmp = tempfile::tempdir().unwrap();
    let built_in = small_study(&tmp.path().join("a"), None);
    let cmd = format!(
        "'{}' sim-adapter --workload wordcount --noise 0.03",
        env!("CARGO_BIN_EXE_flinktune")
    );
    let shell = small_study(&tmp.path().join("b"), Some(&cmd));
    // The same configurations for both: generate knows the built-in simulator's cluster
    // size (and replaces over-subscribed configurations), not a command's. A generated set
    // does not depend on the adapter, so the copy is fresh in the command study.
    ok(&["generate", s(&built_in)]);
    copy_dir(&built_in.join("generate"), &shell.join("generate"));
    let status = ok(&["status", s(&shell)]);
    assert!(!status.contains("stale"), "{status}");
    for study in [&built_in, &shell] {
        ok(&["collect", s(study)]);
    }
    let read = |study: &Path| {
        let p = study.join("collect/trials.csv");
        let h = csv_header(&p);
        let rows = csv_rows(&p);
        ["trial", "status", "throughput", "latency_p99_ms", "reason"]
            .iter()
            .map(|c| column(&h, &rows, c).join("|"))
            .collect::<Vec<_>>()
    };
    assert_eq!(read(&built_in), read(&shell));
}

#[test]
fn bad_input_gives_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nowhere");
    let e = fails(&["tune", s(&missing)]);
    assert!(e.contains("flinktune init"), "{e}");

    let study = small_study(tmp.path(), None);
    let path = study.join("flinktune.toml");
    let good = fs::read_to_string(&path).unwrap();

    fs::write(
        &path,
        good.replace("rates = [16000, 80000]", "rates = [16000, 80000"),
    )
    .unwrap();
    let e = fails(&["generate", s(&study)]);
    assert!(
        e.contains("flinktune.toml:1") && e.contains("missing comma"),
        "{e}"
    );

    fs::write(&path, good.replace("duration_s = 60", "duration_s = -5")).unwrap();
    let e = fails(&["generate", s(&study)]);
    assert!(e.contains("`duration_s`"), "{e}");

    // A catalogue with an unknown field and one with a bad range.
    let cat = study.join("mine.toml");
    fs::write(
        &cat,
        "flink_version = \"1.11\"\n[[param]]\nname = \"parallelism.default\"\nkind = \"int\"\nmin = 1\nmax = 8\nscale = \"log\"\n",
    )
    .unwrap();
    fs::write(
        &path,
        good.replace("\"flink-1.11-key-params\"", "\"mine.toml\""),
    )
    .unwrap();
    let e = fails(&["generate", s(&study)]);
    assert!(e.contains("mine.toml") && e.contains("scale"), "{e}");
    fs::write(
        &cat,
        "flink_version = \"1.11\"\n[[param]]\nname = \"parallelism.default\"\nkind = \"int\"\nmin = 9\nmax = 8\n",
    )
    .unwrap();
    let e = fails(&["generate", s(&study)]);
    assert!(
        e.contains("parallelism.default") && e.contains("below max"),
        "{e}"
    );

    // An adapter that exits 1 is a recorded failed trial, not a tuner error.
    fs::write(&path, good.clone()).unwrap();
    let text = good
        .replace(
            "kind = \"sim\"",
            "kind = \"command\"\ncommand = \"echo broken >&2; exit 1\"",
        )
        .replace("fail_fast = 3", "fail_fast = 0");
    fs::write(&path, text).unwrap();
    ok(&["generate", s(&study)]);
    let out = ok(&["collect", s(&study)]);
    assert!(out.contains("80 adapter errors"), "{out}");
    let trials = study.join("collect/trials.csv");
    let rows = csv_rows(&trials);
    let reasons = column(&csv_header(&trials), &rows, "reason");
    assert!(reasons.len() == 80 && reasons.iter().all(|r| r.contains("broken")));
    // ... and a model cannot be fitted on no data, which is said plainly.
    let e = fails(&["model", s(&study)]);
    assert!(e.contains("only 0 configurations ran"), "{e}");
}

#[test]
fn init_refuses_to_overwrite_and_help_covers_every_command() {
    let tmp = tempfile::tempdir().unwrap();
    let study = tmp.path().join("s");
    ok(&["init", s(&study)]);
    let e = fails(&["init", s(&study)]);
    assert!(e.contains("--force"), "{e}");
    ok(&["init", s(&study), "--force"]);
    for cmd in [
        "init",
        "tune",
        "generate",
        "collect",
        "model",
        "search",
        "validate",
        "sim-adapter",
    ] {
        let help = ok(&[cmd, "--help"]);
        assert!(help.contains("Usage: flinktune"), "{cmd}: {help}");
    }
}

/// Copies a study directory (its study file only) into `dest`.
fn copy_study(src: &Path, dest: &Path) -> PathBuf {
    fs::create_dir_all(dest).unwrap();
    fs::copy(src.join("flinktune.toml"), dest.join("flinktune.toml")).unwrap();
    dest.to_path_buf()
}

#[test]
fn the_quick_start_study_finds_at_least_twice_the_default_ratio() {
    let tmp = tempfile::tempdir().unwrap();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/quickstart");
    let study = copy_study(&example, &tmp.path().join("quickstart"));
    let out = ok(&["tune", s(&study)]);
    let v = json(&study.join("validate/summary.json"));
    let speedup = v["speedup_ratio"].as_f64().unwrap();
    assert!(speedup >= 2.0, "ratio speedup {speedup}:\n{out}");
    assert!(out.contains(&format!("{speedup:.2}x")), "{out}");
    // The default runs at this rate, and the best keeps up with the input.
    assert_eq!(v["best"]["passed"], 3);
    let t = v["best"]["throughput"].as_f64().unwrap();
    assert!(t > 0.9 * v["rate"].as_f64().unwrap(), "{v}");
}

/// The simulator's cluster offers 4 TaskManagers × the configuration's slots. With the
/// forest as the model, the search once chose parallelism 12 on 8 slots (the feasibility
/// forest gave it 79%); the slot rule now rejects such configurations before running and
/// in the search over the model.
#[test]
fn the_forest_quick_start_never_chooses_more_slots_than_the_cluster_has() {
    let tmp = tempfile::tempdir().unwrap();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/quickstart");
    let study = copy_study(&example, &tmp.path().join("quickstart"));
    let toml = study.join("flinktune.toml");
    let text = fs::read_to_string(&toml).unwrap() + "\n[model]\nregressor = \"forest\"\n";
    fs::write(&toml, text).unwrap();
    let out = ok(&["tune", s(&study)]);
    let fits = |h: &[String], row: &csv::StringRecord| {
        let at = |name: &str| -> u64 {
            let i = h.iter().position(|c| c == name).unwrap();
            row[i].parse().unwrap()
        };
        at("parallelism.default") <= 4 * at("taskmanager.numberOfTaskSlots")
    };
    let configs = study.join("generate/configs.csv");
    let h = csv_header(&configs);
    assert!(csv_rows(&configs).iter().all(|r| fits(&h, r)), "{out}");
    let g = json(&study.join("generate/summary.json"));
    assert!(g["replaced"].as_u64().unwrap() > 0, "{g}");
    // The search's space-filling start may draw one; it is skipped, never measured (a
    // memory rule, checked first, may be the reason given).
    let history = study.join("search/history.csv");
    let h = csv_header(&history);
    let (status, reason) = (
        h.iter().position(|c| c == "status").unwrap(),
        h.iter().position(|c| c == "reason").unwrap(),
    );
    for row in csv_rows(&history) {
        if !fits(&h, &row) {
            assert_eq!(&row[status], "skipped");
            assert!(row[reason].starts_with("predicted: "), "{row:?}");
        }
    }
    let v = json(&study.join("validate/summary.json"));
    assert_eq!(v["best"]["passed"], 3, "{out}");
    assert!(v["speedup_ratio"].as_f64().unwrap() > 1.0, "{v}");
}
