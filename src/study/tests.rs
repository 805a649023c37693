//! The study file's checks: every mistake is named by file, line and key.

use super::*;

fn load_text(text: &str) -> Result<Study> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(STUDY_FILE), text).unwrap();
    Study::load(dir.path())
}

#[test]
fn the_template_loads() {
    let s = load_text(&template(None)).unwrap();
    assert_eq!(s.space.len(), 30);
    assert_eq!(s.search_rate(), 16000);
    assert_eq!(s.base.conf["taskmanager.memory.process.size"], "1728m");
    assert!(load_text(&template(Some("./run.sh 'x'"))).is_ok());
}

fn err_of(text: &str) -> String {
    format!("{:#}", load_text(text).unwrap_err())
}

#[test]
fn a_missing_key_is_named_with_its_table_not_the_first_key() {
    let t = template(None);
    let e = err_of(&t.replace("samples = 200", ""));
    assert!(
        e.contains("missing field `samples`") && e.contains("top-level"),
        "{e}"
    );
    assert!(!e.contains("key `"), "{e}");
}

#[test]
fn errors_name_file_line_key_and_why() {
    let t = template(None);
    let e = err_of(&t.replace("samples = 200", "samples = 0"));
    assert!(
        e.contains("flinktune.toml:") && e.contains("`samples`"),
        "{e}"
    );
    assert!(e.contains("from 1 to 100000"), "{e}");

    let e = err_of(&t.replace("budget = 100", "budget = \"lots\""));
    assert!(e.contains("`search.budget`"), "{e}");

    let e = err_of(&t.replace("seed = 42", "seed = 42\nspeed = 9"));
    assert!(e.contains("unknown field") && e.contains("speed"), "{e}");

    let e = err_of(&t.replace("objective = \"ratio\"", "objective = \"fast\""));
    assert!(e.contains("`objective`"), "{e}");

    let e = err_of(&t.replace("noise = 0.03", "noise = 2.0"));
    assert!(e.contains("`sim.noise`") && e.contains("[0, 1)"), "{e}");

    let e = err_of(&t.replace("flink-1.11-key-params\"", "nope.toml\""));
    assert!(e.contains("`catalogue`") && e.contains("nope.toml"), "{e}");

    let e = err_of(&t.replace("# rate = 16000", "rate = 5"));
    assert!(e.contains("`search.rate`"), "{e}");

    let e = err_of(&t.replace("flink_version = \"1.11\"", "flink_version = \"1.20\""));
    assert!(
        e.contains("`flink_version`") && e.contains("akka.transport.threshold"),
        "{e}"
    );
    let e = err_of(&t.replace("flink_version = \"1.11\"", "flink_version = \"2.0\""));
    assert!(
        e.contains("taskmanager.network.netty.transport") && !e.contains("parallelism"),
        "{e}"
    );

    let e = err_of(&t.replace(
        "# [determine]\n# method = \"groups\"",
        "[determine]\nlevels = 1",
    ));
    assert!(
        e.contains("`determine.levels`") && e.contains("from 2 to 1000"),
        "{e}"
    );
    let e = err_of(&t.replace(
        "# [model]\n# regressor = \"best\"",
        "[model]\nregressor = \"ann\"",
    ));
    assert!(e.contains("`model.regressor`") && e.contains("gbrt"), "{e}");
}

#[test]
fn a_catalogue_of_an_older_version_is_written_with_the_target_keys() {
    let dir = tempfile::tempdir().unwrap();
    let cat = "flink_version = \"1.11\"\n\
        [[param]]\nname = \"execution.buffer-timeout\"\nkind = \"int\"\nmin = -1\nmax = 500\ndefault = 100\n\
        [[param]]\nname = \"akka.framesize\"\nkind = \"int\"\nmin = 1\nmax = 100\nunit = \"mb\"\nformat = \"bytes-suffix\"\n";
    std::fs::write(dir.path().join("cat.toml"), cat).unwrap();
    let text = template(None)
        .replace("flink_version = \"1.11\"", "flink_version = \"2.0\"")
        .replace("\"flink-1.11-key-params\"", "\"cat.toml\"");
    std::fs::write(dir.path().join(STUDY_FILE), text).unwrap();
    let study = Study::load(dir.path()).unwrap();
    // Flink 2.x's shipped config is the base.
    assert_eq!(study.base.conf["taskmanager.memory.process.size"], "1728m");
    assert!(study.base.conf["env.java.opts.all"].contains("--add-opens"));
    let config = vec![
        Some(flink::space::Value::Int(-1)),
        Some(flink::space::Value::Int(10)),
    ];
    let conf = study.effective_conf(&config);
    assert_eq!(conf["execution.buffer-timeout.enabled"], "false");
    assert!(!conf.contains_key("execution.buffer-timeout"));
    assert_eq!(conf["pekko.framesize"], "10485760b");
    assert!(!conf.contains_key("akka.framesize"));
    let out = dir.path().join("c");
    study.write_config_dir(&config, &out, "t").unwrap();
    let written = conf::read_conf_dir(&out.join("conf")).unwrap();
    assert_eq!(written, conf);
    assert!(out.join("conf/config.yaml").is_file());
}

#[test]
fn the_candidate_catalogue_loads_without_keys_flink_1_11_lacks() {
    let t = template(None).replace("\"flink-1.11-key-params\"", "\"flink-1.11-candidates\"");
    let s = load_text(&t).unwrap();
    assert_eq!(s.catalogue.params.len(), 61);
    assert_eq!(
        s.absent,
        vec![
            "taskmanager.network.memory.buffer-debloat.enabled",
            "taskmanager.network.memory.max-buffers-per-channel"
        ]
    );
    assert_eq!(s.space.len(), 59);
    // The paper's 30 are all among the candidates.
    let paper = load_text(&template(None)).unwrap();
    for p in &paper.space.params {
        assert!(s.space.index_of(&p.name).is_some(), "{}", p.name);
    }
}

#[test]
fn a_fixed_cluster_section_serialises_as_before() {
    // collect's plan fingerprint hashes this: existing studies must keep theirs
    let v = serde_json::to_value(SimSection::default()).unwrap();
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["workload", "noise"]);
}

#[test]
fn a_missing_study_says_how_to_make_one() {
    let dir = tempfile::tempdir().unwrap();
    let e = format!("{:#}", Study::load(&dir.path().join("nope")).unwrap_err());
    assert!(e.contains("flinktune init"), "{e}");
}

#[test]
fn every_count_has_a_range_checked_before_anything_is_sized_by_it() {
    let t = template(None);
    for (from, to, key) in [
        ("samples = 200", "samples = 1000000000", "`samples`"),
        ("samples = 200", "samples = 18446744073709551615", "samples"),
        ("repeats = 1", "repeats = 10000000", "`repeats`"),
        ("budget = 100", "budget = 100000000", "`search.budget`"),
        (
            "kill_grace_s = 5",
            "kill_grace_s = 18446744073709551615",
            "kill_grace_s",
        ),
        ("retries = 1", "retries = 1000000", "retries"),
        ("timeout_s = 900", "timeout_s = 99999999999", "timeout_s"),
        ("rates = [", "rates = [1000000000001, ", "`rates`"),
    ] {
        assert!(t.contains(from), "{from}");
        let e = err_of(&t.replacen(from, to, 1));
        assert!(e.contains(key) && e.contains("from "), "{to}: {e}");
    }
}
