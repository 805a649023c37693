//! flinktune's memory model against Flink's own start-up derivation, to the byte.
//!
//! For every installed Flink (`FLINK_HOME`, and `FLINK_1_11_HOME` / `FLINK_2_HOME` when set:
//! `scripts/ci-prepare.sh` installs 1.20.5, 1.11.4 and 2.3.0), each configuration of `cases`
//! is written as that version's conf directory and derived by Flink's `BashJavaUtils` — the
//! code `taskmanager.sh` and `jobmanager.sh` run before starting the JVM — for both processes.
//! flinktune must derive the same ten TaskManager and six JobManager sizes, byte for byte, and
//! fail on exactly the configurations Flink fails on, with Flink's message.
//!
//! One JVM per derivation costs 1–3 s, so `MemoryDriver.java` (compiled here with `javac`
//! against the distribution) calls `BashJavaUtils` for every directory in one JVM; a few
//! directories also run through the plain `BashJavaUtils` command line, and the driver must
//! agree with it. Skips with a message when `FLINK_HOME` is unset.

mod cases;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use flink::conf::{FlatConf, FlinkVersion};

/// What Flink derived for one process: its sizes in the order of its log, or its message.
#[derive(Debug, Clone, PartialEq)]
enum Derived {
    Sizes(Vec<u64>),
    Error(String),
}

/// The Flink distributions to test: (home, version) of each installed one.
fn installed() -> Vec<(PathBuf, FlinkVersion)> {
    let mut out = vec![];
    for var in ["FLINK_1_11_HOME", "FLINK_HOME", "FLINK_2_HOME"] {
        let Ok(home) = std::env::var(var) else {
            eprintln!("{var} not set: that version is not compared");
            continue;
        };
        let home = PathBuf::from(home);
        let version = dist_jar(&home)
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.rsplit('-').next())
            .and_then(|v| v.trim_end_matches(".jar").parse().ok())
            .unwrap_or_else(|| panic!("{var}: cannot tell the version of {}", home.display()));
        out.push((home, version));
    }
    out
}

fn dist_jar(home: &Path) -> PathBuf {
    std::fs::read_dir(home.join("lib"))
        .unwrap_or_else(|e| panic!("{}: {e}", home.display()))
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("flink-dist"))
        })
        .unwrap_or_else(|| panic!("no flink-dist jar in {}/lib", home.display()))
}

fn classpath(home: &Path, extra: Option<&Path>) -> String {
    let mut parts = vec![home.join("bin/bash-java-utils.jar"), dist_jar(home)];
    parts.extend(extra.map(Path::to_path_buf));
    let parts: Vec<String> = parts.iter().map(|p| p.display().to_string()).collect();
    parts.join(":")
}

/// Writes each case as `version`'s conf directory (`config.yaml`, nested, from 1.19 on).
fn write_cases(root: &Path, version: FlinkVersion) -> Vec<(String, PathBuf, FlatConf)> {
    cases::cases()
        .into_iter()
        .map(|case| {
            let dir = root.join(case.name);
            std::fs::create_dir_all(&dir).unwrap();
            let conf: FlatConf = case
                .keys
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            flink::conf::write_conf_dir(&dir, version, &conf, &[], "memory test").unwrap();
            // flinktune reads the file back as `flinktune memory` does.
            let read = flink::conf::read_conf_dir(&dir).unwrap();
            (case.name.to_string(), dir, read)
        })
        .collect()
}

/// Parses Flink's log of one derivation: the byte counts of its "Final … Memory
/// configuration" lines (`1.250gb (1342177280 bytes)`, `0 bytes`).
fn parse_sizes(lines: &[&str]) -> Vec<u64> {
    let Some(start) = lines
        .iter()
        .position(|l| l.contains("Memory configuration:"))
    else {
        return vec![];
    };
    lines[start + 1..]
        .iter()
        .take_while(|l| l.trim_end().ends_with("bytes") || l.trim_end().ends_with("bytes)"))
        .map(|l| {
            let l = l
                .trim_end()
                .trim_end_matches(')')
                .trim_end_matches(" bytes");
            let number = l.rsplit(['(', ' ']).next().unwrap();
            number.parse().unwrap_or_else(|_| panic!("size in {l}"))
        })
        .collect()
}

/// Runs the driver on every directory: per directory, (TaskManager, JobManager).
fn run_driver(home: &Path, work: &Path, dirs: &[PathBuf]) -> Vec<(Derived, Derived)> {
    let classes = work.join("classes");
    std::fs::create_dir_all(&classes).unwrap();
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/flink_memory/MemoryDriver.java");
    let javac = Command::new("javac")
        .args(["-nowarn", "-d"])
        .arg(&classes)
        .arg("-cp")
        .arg(classpath(home, None))
        .arg(&source)
        .output()
        .expect("javac (a JDK) is needed to compare with Flink");
    assert!(
        javac.status.success(),
        "javac: {}",
        String::from_utf8_lossy(&javac.stderr)
    );
    let out = Command::new("java")
        .arg("-cp")
        .arg(classpath(home, Some(&classes)))
        .arg("MemoryDriver")
        .args(dirs)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let blocks: Vec<Derived> = stdout
        .split("@@BEGIN ")
        .skip(1)
        .map(|block| {
            let lines: Vec<&str> = block.lines().collect();
            match lines.iter().find_map(|l| l.strip_prefix("@@ERROR ")) {
                Some(message) => Derived::Error(message.to_string()),
                None => Derived::Sizes(parse_sizes(&lines)),
            }
        })
        .collect();
    assert_eq!(
        blocks.len(),
        2 * dirs.len(),
        "driver output:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut it = blocks.into_iter();
    dirs.iter()
        .map(|_| (it.next().unwrap(), it.next().unwrap()))
        .collect()
}

/// Flink's own command line for one derivation, as the start-up scripts call it.
fn run_bash_java_utils(home: &Path, dir: &Path, command: &str) -> Derived {
    let out = Command::new("java")
        .arg("-cp")
        .arg(classpath(home, None))
        .arg("org.apache.flink.runtime.util.bash.BashJavaUtils")
        .args([command, "--configDir"])
        .arg(dir)
        .output()
        .unwrap();
    if out.status.success() {
        let stdout = String::from_utf8_lossy(&out.stdout);
        return Derived::Sizes(parse_sizes(&stdout.lines().collect::<Vec<_>>()));
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let first = stderr
        .lines()
        .find_map(|l| l.strip_prefix("Exception in thread \"main\" "))
        .unwrap_or_else(|| panic!("no exception from BashJavaUtils:\n{stderr}"));
    Derived::Error(first.split_once(": ").map_or("", |(_, m)| m).to_string())
}

/// flinktune's derivation in the order of Flink's log.
fn ours(conf: &FlatConf, version: FlinkVersion) -> (Derived, Derived) {
    let tm = match flink::memory::taskmanager(conf, version) {
        Ok(m) => Derived::Sizes(vec![
            m.process,
            m.flink,
            m.jvm_heap(),
            m.framework_heap,
            m.task_heap,
            m.managed + m.network + m.framework_off_heap + m.task_off_heap,
            m.managed,
            m.network + m.framework_off_heap + m.task_off_heap,
            m.framework_off_heap,
            m.task_off_heap,
            m.network,
            m.metaspace,
            m.overhead,
        ]),
        Err(e) => Derived::Error(e.message),
    };
    let jm = match flink::memory::jobmanager(conf, version) {
        Ok(m) => Derived::Sizes(vec![
            m.process,
            m.flink,
            m.heap,
            m.off_heap,
            m.metaspace,
            m.overhead,
        ]),
        Err(e) => Derived::Error(e.message),
    };
    (tm, jm)
}

#[test]
fn memory_model_equals_flinks_own_derivation() {
    if std::env::var("FLINK_HOME").is_err() {
        eprintln!("skipped: FLINK_HOME not set (. scripts/ci-prepare.sh)");
        return;
    }
    let mut mismatches = vec![];
    let mut summary = BTreeMap::new();
    for (home, version) in installed() {
        let work = tempfile::tempdir().unwrap();
        let cases = write_cases(work.path(), version);
        let dirs: Vec<PathBuf> = cases.iter().map(|(_, d, _)| d.clone()).collect();
        let flinks = run_driver(&home, work.path(), &dirs);
        let mut failures = 0;
        for ((name, _, conf), flink) in cases.iter().zip(&flinks) {
            let ours = ours(conf, version);
            failures += usize::from(matches!(flink.0, Derived::Error(_)));
            failures += usize::from(matches!(flink.1, Derived::Error(_)));
            for (process, f, o) in [("TM", &flink.0, &ours.0), ("JM", &flink.1, &ours.1)] {
                if f != o {
                    mismatches.push(format!(
                        "{version} {name} {process}:\n  Flink:     {f:?}\n  flinktune: {o:?}"
                    ));
                }
            }
        }
        // The driver must be Flink's command line: check it on a passing and a failing case.
        for name in ["flink-defaults", "too-little-tm", "jm-heap-above-flink"] {
            let i = cases.iter().position(|(n, _, _)| n == name).unwrap();
            let tm = run_bash_java_utils(&home, &dirs[i], "GET_TM_RESOURCE_PARAMS");
            let jm = run_bash_java_utils(&home, &dirs[i], "GET_JM_RESOURCE_PARAMS");
            assert_eq!(
                (tm, jm),
                flinks[i].clone(),
                "{version} {name}: the driver and BashJavaUtils disagree"
            );
        }
        summary.insert(version.to_string(), (cases.len(), failures));
    }
    eprintln!("compared (configurations, failing derivations) per version: {summary:?}");
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    for (version, (n, failures)) in summary {
        assert!(
            n >= 30 && failures >= 10,
            "{version}: {n} cases, {failures} failures"
        );
    }
}

/// `flinktune memory --json` prints the model's sizes under Flink's option names, and Flink's
/// message for a process that would not start; it reads nested `config.yaml` too.
#[test]
fn memory_command_prints_the_derivation() {
    let dir = tempfile::tempdir().unwrap();
    let v2: FlinkVersion = "2.3".parse().unwrap();
    let conf: FlatConf = [
        ("taskmanager.memory.process.size", "16g"),
        ("jobmanager.memory.process.size", "300m"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    flink::conf::write_conf_dir(dir.path(), v2, &conf, &[], "cli test").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_flinktune"))
        .arg("memory")
        .arg(dir.path())
        .args(["--flink-version", "2.3", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let tm = flink::memory::taskmanager(&conf, v2).unwrap();
    for (key, bytes) in tm.entries() {
        assert_eq!(json["taskmanager"][key], bytes, "{key}: {json}");
    }
    // 1.17 lifted the 1 GiB cap: 10% of 15104 MiB.
    assert!(tm.network > 1 << 30);
    let error = json["jobmanager"]["error"].as_str().unwrap();
    assert!(
        error.starts_with("Sum of configured JVM Metaspace"),
        "{error}"
    );
    let text = Command::new(env!("CARGO_BIN_EXE_flinktune"))
        .arg("memory")
        .arg(dir.path().join("config.yaml"))
        .args(["--flink-version", "1.11"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    let network = text.lines().find(|l| l.contains("Network:")).unwrap();
    assert!(network.ends_with("1024.000mb (1073741824 bytes)"), "{text}");
}
