//! Today's Flink from the command line: the built-in catalogues (`catalogue list`/`show`),
//! studies for a version (`init --flink-version`), and every key checked against that
//! version's key set — typos refused with a suggestion, deprecated keys warned about,
//! plugin options let through by `allow_unknown_keys`.

mod common;

use common::*;
use std::fs;
use std::path::{Path, PathBuf};

/// A study for Flink `version` made by `init --flink-version`, shrunk to run in seconds.
fn version_study(dir: &Path, version: &str) -> PathBuf {
    let study = dir.join(format!("study-{version}"));
    ok(&["init", s(&study), "--flink-version", version]);
    edit_study(
        &study,
        &[
            ("samples = 200", "samples = 24"),
            ("budget = 100", "budget = 14"),
            ("# initial = 25", "initial = 8"),
            ("repeats = 3", "repeats = 1"),
        ],
    );
    study
}

/// Runs `tune`; returns its stdout and stderr.
fn tune(study: &Path) -> (String, String) {
    let out = flinktune(&["tune", s(study)]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    );
    assert!(out.status.success(), "tune failed:\n{stdout}\n{stderr}");
    (stdout, stderr)
}

#[test]
fn catalogue_list_names_every_builtin_with_versions_and_counts() {
    let out = ok(&["catalogue", "list"]);
    for (name, versions) in [
        ("flink-1.11-key-params", "1.11"),
        ("flink-1.18-key-params", "1.18"),
        ("flink-1.19-key-params", "1.19"),
        ("flink-1.20-key-params", "1.20"),
        ("flink-2-key-params", "2.0, 2.1, 2.2, 2.3"),
    ] {
        let line = out
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("{name} not listed:\n{out}"));
        assert!(line.contains(versions), "{line}");
        let count: usize = line.split_whitespace().last().unwrap().parse().unwrap();
        assert!(count >= 30, "{line}");
    }
    let err = fails(&["catalogue", "show", "flink-1.20-key-param"]);
    assert!(err.contains("flink-1.20-key-params"), "{err}");
}

#[test]
fn a_shown_catalogue_is_a_custom_catalogue_as_it_stands() {
    let tmp = tempfile::tempdir().unwrap();
    let study = version_study(tmp.path(), "1.20");
    let shown = ok(&["catalogue", "show", "flink-1.20-key-params"]);
    fs::write(study.join("mine.toml"), &shown).unwrap();
    edit_study(
        &study,
        &[(
            "catalogue = \"flink-1.20-key-params\"",
            "catalogue = \"mine.toml\"",
        )],
    );
    ok(&["generate", s(&study)]);
    let header = csv_header(&study.join("generate/configs.csv"));
    assert!(header.contains(&"execution.buffer-timeout.interval".to_string()));
    assert!(header.contains(&"state.backend.type".to_string()));
}

#[test]
fn a_typo_in_a_catalogue_is_refused_with_the_closest_key() {
    let tmp = tempfile::tempdir().unwrap();
    let study = version_study(tmp.path(), "1.20");
    let shown = ok(&["catalogue", "show", "flink-1.20-key-params"]).replace(
        "name = \"taskmanager.numberOfTaskSlots\"",
        "name = \"taskmanager.numberOfTaskSlot\"",
    );
    fs::write(study.join("mine.toml"), &shown).unwrap();
    let line = shown
        .lines()
        .position(|l| l.contains("numberOfTaskSlot\""))
        .unwrap()
        + 1;
    edit_study(
        &study,
        &[(
            "catalogue = \"flink-1.20-key-params\"",
            "catalogue = \"mine.toml\"",
        )],
    );
    let err = fails(&["generate", s(&study)]);
    assert!(
        err.contains(&format!(
            "mine.toml:{line}: key `taskmanager.numberOfTaskSlot`"
        )),
        "{err}"
    );
    assert!(
        err.contains("did you mean `taskmanager.numberOfTaskSlots`?"),
        "{err}"
    );
    assert!(err.contains("Flink 1.20.5"), "{err}");
}

#[test]
fn a_typo_in_a_base_configuration_is_refused_and_plugins_can_be_allowed() {
    let tmp = tempfile::tempdir().unwrap();
    let study = version_study(tmp.path(), "2.3");
    let conf = study.join("conf");
    fs::create_dir_all(&conf).unwrap();
    fs::write(
        conf.join("config.yaml"),
        "jobmanager:\n  rpc:\n    address: localhost\ntaskmanager:\n  numberOfTaskSlot: 2\nmy.plugin.option: 1\n",
    )
    .unwrap();
    edit_study(
        &study,
        &[("# base_conf = \"conf\"", "base_conf = \"conf\"")],
    );
    let err = fails(&["generate", s(&study)]);
    assert!(
        err.contains(
            "config.yaml:5: key `taskmanager.numberOfTaskSlot` does not exist in Flink 2.3.0"
        ),
        "{err}"
    );
    assert!(
        err.contains("did you mean `taskmanager.numberOfTaskSlots`?"),
        "{err}"
    );
    assert!(
        err.contains("config.yaml:6: key `my.plugin.option`"),
        "{err}"
    );

    // The plugin's option is allowed; the typo still is not.
    edit_study(
        &study,
        &[(
            "# allow_unknown_keys = [\"my.plugin.option\"]",
            "allow_unknown_keys = [\"my.plugin.*\"]",
        )],
    );
    let err = fails(&["generate", s(&study)]);
    assert!(err.contains("numberOfTaskSlot`"), "{err}");
    assert!(!err.contains("my.plugin.option"), "{err}");
    fs::write(
        conf.join("config.yaml"),
        "taskmanager:\n  numberOfTaskSlots: 2\nmy.plugin.option: 1\n",
    )
    .unwrap();
    ok(&["generate", s(&study)]);
    let written =
        fs::read_to_string(study.join("generate/configs/c0000/conf/config.yaml")).unwrap();
    assert!(
        written.contains("my.plugin.option") || written.contains("option: 1"),
        "{written}"
    );
}

#[test]
fn a_deprecated_key_is_a_warning_naming_its_successor() {
    let tmp = tempfile::tempdir().unwrap();
    let study = version_study(tmp.path(), "1.20");
    fs::write(
        study.join("flink-conf.yaml"),
        "jobmanager.rpc.address: localhost\nakka.ask.timeout: 10 s\n",
    )
    .unwrap();
    edit_study(
        &study,
        &[("# base_conf = \"conf\"", "base_conf = \"flink-conf.yaml\"")],
    );
    let out = flinktune(&["generate", s(&study)]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(
            "warning: ") && stderr.contains("flink-conf.yaml:2: key `akka.ask.timeout` is deprecated in Flink 1.20.5: use `pekko.ask.timeout`"),
        "{stderr}"
    );
}

#[test]
fn studies_for_1_20_and_2_3_tune_end_to_end_on_the_simulator() {
    let tmp = tempfile::tempdir().unwrap();
    for (version, file) in [("1.20", "config.yaml"), ("2.3", "config.yaml")] {
        let study = version_study(tmp.path(), version);
        let (out, stderr) = tune(&study);
        assert!(out.contains("measured speedup"), "{out}");
        assert!(!stderr.contains("warning"), "{version}: {stderr}");
        let conf = fs::read_to_string(study.join("search/best/conf").join(file))
            .unwrap_or_else(|e| panic!("{version}: {e}"));
        assert!(conf.contains("buffer-timeout"), "{version}: {conf}");
        assert!(!conf.contains("akka"), "{version}: {conf}");
    }
}

/// A search over the system with Flink 1.20's catalogue: while the buffer timeout is off its
/// interval does nothing, and the search holds it at Flink's default (100 ms) there.
#[test]
fn a_search_holds_an_interval_at_its_default_while_its_switch_is_off() {
    let tmp = tempfile::tempdir().unwrap();
    let study = version_study(tmp.path(), "1.20");
    ok(&["search", s(&study), "--over", "system"]);
    let catalogue = fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/flink-1.20-key-params.toml"),
    )
    .unwrap();
    let names: Vec<&str> = catalogue
        .lines()
        .filter_map(|l| l.strip_prefix("name = \"")?.strip_suffix('"'))
        .collect();
    let at = |key: &str| names.iter().position(|n| *n == key).unwrap();
    let (switch, interval) = (
        at("execution.buffer-timeout.enabled"),
        at("execution.buffer-timeout.interval"),
    );
    let journal = study.join("search/journal.jsonl");
    let configs: Vec<serde_json::Value> = json_lines(&journal)
        .into_iter()
        .filter_map(|step| step.get("config").cloned())
        .collect();
    let journal = fs::read_to_string(&journal).unwrap();
    let off: Vec<&serde_json::Value> = configs
        .iter()
        .filter(|c| c[switch] == serde_json::json!(false))
        .collect();
    assert!(configs.len() >= 14, "{journal}");
    assert!(
        !off.is_empty(),
        "the design turns the timeout off somewhere: {journal}"
    );
    for c in &off {
        assert_eq!(c[interval], serde_json::json!(100), "{c}");
    }
    assert!(
        configs
            .iter()
            .any(|c| c[interval] != serde_json::json!(100)),
        "on, the interval is searched: {journal}"
    );
}

#[test]
fn init_refuses_a_version_without_a_catalogue() {
    let tmp = tempfile::tempdir().unwrap();
    let err = fails(&["init", s(&tmp.path().join("x")), "--flink-version", "1.15"]);
    assert!(
        err.contains("no built-in catalogue for Flink 1.15"),
        "{err}"
    );
    assert!(err.contains("1.20"), "{err}");
}

/// Every shipped example study loads: its catalogue parses and every key it writes is one
/// its Flink version knows, without a deprecation warning (an example is what users copy).
#[test]
fn every_example_study_loads_with_its_versions_keys() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut studies: Vec<PathBuf> = fs::read_dir(&root)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("flinktune.toml").is_file())
        .collect();
    studies.sort();
    assert!(studies.len() >= 8, "{studies:?}");
    for study in &studies {
        let out = flinktune(&["status", s(study)]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{}: {stderr}", study.display());
        assert!(!stderr.contains("warning"), "{}: {stderr}", study.display());
    }
}
