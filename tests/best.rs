//! Applying the result and setting up adapters: `flinktune best` prints the keys the best
//! configuration changes (every format checked against the files the stages wrote, the
//! FlinkDeployment against the operator's CRD schema); an adapter beside the study file is
//! found; a missing adapter stops a stage after its first trials, which stay journaled.

mod common;

use common::{BIN, edit_study, fails, flinktune, ok, s, small_study};
use flink::conf::{FlatConf, parse_flat, parse_yaml, read_conf_file};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// A small study searched over the system (simulator) and validated.
fn searched(dir: &Path, edits: &[(&str, &str)]) -> PathBuf {
    let study = small_study(dir, None);
    edit_study(study.as_path(), edits);
    edit_study(
        &study,
        &[
            ("over = \"model\"", "over = \"system\""),
            ("budget = 30", "budget = 8"),
            ("initial = 10", "initial = 5"),
        ],
    );
    let out = ok(&["search", s(&study)]);
    assert!(
        out.contains(&format!("flinktune best {}", study.display())),
        "{out}"
    );
    let out = ok(&["validate", s(&study)]);
    assert!(out.contains("search/best/conf/"), "{out}");
    study
}

/// The complete configurations validate ran: (best, default).
fn complete_confs(study: &Path) -> (FlatConf, FlatConf) {
    (trial_conf(study, "best"), trial_conf(study, "default"))
}

/// The complete configuration of validate's first trial named `name`.
fn trial_conf(study: &Path, name: &str) -> FlatConf {
    let trials = study.join("validate/trials");
    let dir = fs::read_dir(&trials)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&format!("{name}-"))
        })
        .unwrap();
    read_conf_file(&dir.join("conf/flink-conf.yaml")).unwrap()
}

/// The keys of `best` whose values differ from `default`'s.
fn changed(best: &FlatConf, default: &FlatConf) -> FlatConf {
    best.iter()
        .filter(|&(k, v)| default.get(k) != Some(v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Every file of a directory tree with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    for e in fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(snapshot(&p));
        } else {
            out.insert(p.clone(), fs::read(&p).unwrap());
        }
    }
    out
}

/// YAML values come back typed: `0.50` and `0.5` are the same number.
fn same_value(a: &str, b: &str) -> bool {
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

fn assert_same_conf(got: &FlatConf, want: &FlatConf) {
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>()
    );
    for (k, v) in want {
        assert!(same_value(&got[k], v), "{k}: {} vs {v}", got[k]);
    }
}

#[test]
fn best_prints_only_the_changed_keys_in_every_format() {
    let tmp = tempfile::tempdir().unwrap();
    let study = searched(tmp.path(), &[]);
    let before = snapshot(&study);
    let (best, default) = complete_confs(&study);
    let want = changed(&best, &default);
    assert!(!want.is_empty() && want.len() < best.len(), "{want:?}");

    // The study's version (1.11) reads flink-conf.yaml: the default format.
    let text = ok(&["best", s(&study)]);
    assert_eq!(parse_flat(&text, "best").unwrap(), want, "{text}");
    assert!(text.contains("measured by validate"), "{text}");
    for (k, v) in &want {
        let default = default
            .get(k)
            .map_or("Flink's built-in default", String::as_str);
        assert!(
            text.contains(&format!("{k}: {v}  # default: {default}\n")),
            "{text}"
        );
    }
    let yaml = ok(&["best", s(&study), "--format", "yaml"]);
    assert_same_conf(&parse_yaml(&yaml, "best").unwrap(), &want);

    let out = flinktune(&["best", s(&study), "--format", "dynamic-properties"]);
    assert!(out.status.success());
    let mut props = FlatConf::new();
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let words = shlex::split(line).unwrap();
        let [word] = words.as_slice() else {
            panic!("{line}")
        };
        let (k, v) = word.strip_prefix("-D").unwrap().split_once('=').unwrap();
        props.insert(k.into(), v.into());
    }
    assert_eq!(props, want);
    assert!(String::from_utf8_lossy(&out.stderr).contains("measured by validate"));

    let all = ok(&["best", s(&study), "--all"]);
    assert_eq!(parse_flat(&all, "best --all").unwrap(), best);
    let json: Value = serde_json::from_str(&ok(&["best", s(&study), "--json"])).unwrap();
    assert_eq!(json["entries"].as_array().unwrap().len(), want.len());
    assert!(json["validated"]["speedup_objective"].is_number());

    let deployment = deployment_of(&study);
    let mut back = as_conf(&deployment["spec"]["flinkConfiguration"]);
    if let Some(p) = deployment["spec"]["job"]["parallelism"].as_u64() {
        back.insert("parallelism.default".into(), p.to_string());
    }
    assert_eq!(back, want);
    assert_eq!(snapshot(&study), before, "best wrote into the study");
}

#[test]
fn a_flink_deployment_takes_resources_and_replicas_from_the_configuration() {
    let tmp = tempfile::tempdir().unwrap();
    let study = tmp.path().join("demeter");
    fs::create_dir_all(&study).unwrap();
    let text = fs::read_to_string("examples/demeter/flinktune.toml").unwrap();
    fs::write(study.join("flinktune.toml"), text).unwrap();
    edit_study(
        &study,
        &[
            ("budget = 60", "budget = 6\nover = \"system\""),
            ("initial = 15", "initial = 4"),
        ],
    );
    ok(&["search", s(&study)]);
    let best = read_conf_file(&study.join("search/best/conf/flink-conf.yaml")).unwrap();
    let d = deployment_of_all(&study);
    let spec = &d["spec"];
    let tm = &spec["taskManager"];
    assert_eq!(
        tm["resource"]["memory"].as_str(),
        Some(best["taskmanager.memory.process.size"].as_str())
    );
    let cpu: f64 = best["kubernetes.taskmanager.cpu"].parse().unwrap();
    assert_eq!(tm["resource"]["cpu"].as_f64(), Some(cpu));
    let replicas: u64 = best["flinktune.taskmanagers"].parse().unwrap();
    assert_eq!(tm["replicas"].as_u64(), Some(replicas));
    let conf = as_conf(&spec["flinkConfiguration"]);
    assert!(!conf.contains_key("taskmanager.memory.process.size"));
    assert_eq!(
        conf["taskmanager.numberOfTaskSlots"],
        best["taskmanager.numberOfTaskSlots"]
    );
}

/// `best --format flink-deployment`, parsed and checked against the operator's schema.
fn deployment_of(study: &Path) -> Value {
    checked_deployment(&ok(&["best", s(study), "--format", "flink-deployment"]))
}

fn deployment_of_all(study: &Path) -> Value {
    checked_deployment(&ok(&[
        "best",
        s(study),
        "--format",
        "flink-deployment",
        "--all",
    ]))
}

fn checked_deployment(text: &str) -> Value {
    let doc: Value = serde_saphyr::from_str(text).unwrap();
    let validator = jsonschema::validator_for(&crd_schema()).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&doc)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:?}\n{text}");
    assert_eq!(doc["kind"], "FlinkDeployment");
    doc
}

/// The operator's FlinkDeployment schema, each object that names its properties closed: the
/// API server drops fields its structural schema does not name, so one here is an error.
fn crd_schema() -> Value {
    let path = "tests/data/flink-kubernetes-operator/flinkdeployment-v1beta1.schema.json";
    let mut schema: Value = serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap();
    close(&mut schema);
    let props = schema["properties"].as_object_mut().unwrap();
    // The object's own envelope (not in a CRD's schema, which covers spec and status).
    props.insert(
        "apiVersion".into(),
        serde_json::json!({"const": "flink.apache.org/v1beta1"}),
    );
    props.insert(
        "kind".into(),
        serde_json::json!({"const": "FlinkDeployment"}),
    );
    schema
}

fn close(node: &mut Value) {
    if let Value::Object(map) = node {
        if map.contains_key("properties") && !map.contains_key("additionalProperties") {
            map.insert("additionalProperties".into(), Value::Bool(false));
        }
        map.values_mut().for_each(close);
    } else if let Value::Array(items) = node {
        items.iter_mut().for_each(close);
    }
}

/// `flinkConfiguration` as a flat conf; the operator's older CRDs type every value a string.
fn as_conf(v: &Value) -> FlatConf {
    v.as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().expect("a string value").to_string()))
        .collect()
}

#[test]
fn an_adapter_beside_the_study_file_is_found() {
    let tmp = tempfile::tempdir().unwrap();
    let study = small_study(tmp.path(), Some("./my-adapter.sh --noise 0"));
    let script = study.join("my-adapter.sh");
    fs::write(
        &script,
        format!("#!/bin/sh\nexec '{BIN}' sim-adapter \"$@\"\n"),
    )
    .unwrap();
    fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    edit_study(
        &study,
        &[
            ("samples = 40", "samples = 3"),
            ("rates = [", "rates = [8000] #"),
        ],
    );
    ok(&["generate", s(&study)]);
    let out = ok(&["collect", s(&study)]);
    assert!(out.contains("0 adapter errors"), "{out}");
    // `{study}` is the study directory, wherever the command names it.
    edit_study(
        &study,
        &[("\"./my-adapter.sh", "\"sh {study}/my-adapter.sh")],
    );
    let out = ok(&["collect", s(&study), "--restart"]);
    assert!(out.contains("0 adapter errors"), "{out}");
}

#[test]
fn a_missing_adapter_stops_the_stage_after_three_trials_which_stay_journaled() {
    let tmp = tempfile::tempdir().unwrap();
    let study = small_study(tmp.path(), Some("./no-such-adapter --x"));
    edit_study(
        &study,
        &[
            ("samples = 40", "samples = 10"),
            ("rates = [", "rates = [8000] #"),
        ],
    );
    ok(&["generate", s(&study)]);
    let err = fails(&["collect", s(&study)]);
    for needle in ["first 3 trials", "./no-such-adapter --x", "not found"] {
        assert!(err.contains(needle), "{needle:?} not in {err}");
    }
    let journal = fs::read_to_string(study.join(".collect.partial/journal.jsonl")).unwrap();
    let trials: Vec<Value> = journal
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v.get("trial").is_some())
        .collect();
    assert_eq!(trials.len(), 3, "{journal}");
    assert!(trials.iter().all(|t| t["status"] == "error"));

    // The search over the system stops alike; `fail_fast = 0` runs every trial.
    edit_study(&study, &[("over = \"model\"", "over = \"system\"")]);
    let err = fails(&["search", s(&study)]);
    assert!(err.contains("first 3 trials"), "{err}");
    edit_study(&study, &[("fail_fast = 3", "fail_fast = 0")]);
    let out = ok(&["collect", s(&study), "--restart"]);
    assert!(out.contains("10 failed") || out.contains("error"), "{out}");
}

/// A cluster that cannot run the search's best after all (here: an adapter that fails it in
/// validate): validate measures the search's next best in its place, and `best` prints that
/// one; with `candidates = 1` the failed best stands.
#[test]
fn validate_measures_the_next_best_when_the_best_fails_its_first_run() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("study");
    let adapter = format!(
        "case \"$FLINKTUNE_TRIAL_DIR\" in */.validate.partial/trials/best-*) \
         printf '{{\"status\":\"fail\",\"reason\":\"TaskManager lost: heap\"}}' \
         > \"$FLINKTUNE_TRIAL_DIR/result.json\" ;; \
         *) exec {BIN} sim-adapter --study {} ;; esac",
        dir.display()
    );
    let study = small_study(tmp.path(), Some(&adapter));
    edit_study(
        &study,
        &[
            ("over = \"model\"", "over = \"system\""),
            ("budget = 30", "budget = 8"),
            ("initial = 10", "initial = 5"),
        ],
    );
    ok(&["search", s(&study)]);
    let out = ok(&["validate", s(&study)]);
    assert!(out.contains("validate/best/conf/"), "{out}");

    let v = common::json(&study.join("validate/summary.json"));
    assert_eq!(v["rank"], 2, "{v}");
    let rejected = v["rejected"].as_array().unwrap();
    assert_eq!(rejected.len(), 1, "{v}");
    assert!(
        rejected[0].as_str().unwrap().contains("TaskManager lost"),
        "{v}"
    );
    assert_eq!(
        (v["best"]["runs"].as_u64(), v["best"]["passed"].as_u64()),
        (Some(2), Some(2))
    );
    assert!(v["speedup_objective"].is_number(), "{v}");
    // One failed first run of the best, then two runs each of the runner-up and the default.
    assert_eq!(
        common::csv_rows(&study.join("validate/trials.csv")).len(),
        5
    );

    // The configuration validated is the search's second best, and `best` prints it.
    let ranked = common::json(&study.join("search/ranked.json"));
    let second = common::json(&study.join("validate/best/config.json"));
    assert_eq!(ranked[1]["config"], second);
    assert_ne!(ranked[0]["config"], second);
    let validated = trial_conf(&study, "rank2");
    let text = ok(&["best", s(&study), "--all"]);
    assert_eq!(parse_flat(&text, "best").unwrap(), validated, "{text}");
    assert!(text.contains("rank-2 configuration"), "{text}");
    assert!(
        text.contains("validate/best/conf/flink-conf.yaml"),
        "{text}"
    );
    ok(&["report", s(&study)]);
    let page = fs::read_to_string(study.join("report.html")).unwrap();
    assert!(page.contains("rank-2 configuration (rejected: best-r16000-k0: TaskManager lost"));

    // A damaged ranked.json is named in the error, with the entry and the key.
    let path = study.join("search/ranked.json");
    let good = fs::read_to_string(&path).unwrap();
    let mut damaged = ranked.clone();
    damaged[1]["config"]["parallelism.default"] = Value::from(-3);
    fs::write(&path, damaged.to_string()).unwrap();
    let err = fails(&["validate", s(&study)]);
    assert!(
        err.contains("ranked.json, entry 2") && err.contains("parallelism.default"),
        "{err}"
    );
    fs::write(&path, good).unwrap();

    // One candidate: the best's failure stands.
    edit_study(&study, &[("# candidates = 3", "candidates = 1")]);
    ok(&["validate", s(&study)]);
    let v = common::json(&study.join("validate/summary.json"));
    assert_eq!(
        (v["rank"].as_u64(), v["best"]["passed"].as_u64()),
        (Some(1), Some(0)),
        "{v}"
    );
    assert!(v["speedup_objective"].is_null(), "{v}");
    assert!(!study.join("validate/best").exists());
    let text = ok(&["best", s(&study)]);
    assert!(text.contains("search/best/conf/flink-conf.yaml"), "{text}");
}
