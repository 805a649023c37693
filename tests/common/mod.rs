//! Helpers shared by the integration tests: driving the `flinktune` binary and reading
//! the artifacts it writes.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_flinktune");

pub fn flinktune(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("the binary runs")
}

pub fn ok(args: &[&str]) -> String {
    let out = flinktune(args);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "flinktune {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Runs a command that must fail cleanly; returns its stderr.
pub fn fails(args: &[&str]) -> String {
    let out = flinktune(args);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(1), "flinktune {args:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    // Warnings (a deprecated key in a user's catalogue) may come first; the error must be there.
    assert!(stderr.lines().any(|l| l.starts_with("error: ")), "{stderr}");
    stderr
}

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A study made by `init`, shrunk so a test runs in seconds.
pub fn small_study(dir: &Path, adapter_command: Option<&str>) -> PathBuf {
    let study = dir.join("study");
    match adapter_command {
        Some(cmd) => ok(&["init", s(&study), "--adapter-command", cmd]),
        None => ok(&["init", s(&study)]),
    };
    let path = study.join("flinktune.toml");
    let text = fs::read_to_string(&path)
        .unwrap()
        .replace("samples = 200", "samples = 40")
        .replace("budget = 100", "budget = 30")
        .replace("# initial = 25", "initial = 10")
        .replace("repeats = 3", "repeats = 2");
    fs::write(&path, text).unwrap();
    study
}

pub fn csv_rows(path: &Path) -> Vec<csv::StringRecord> {
    let mut r = csv::Reader::from_path(path).unwrap();
    r.records().map(|x| x.unwrap()).collect()
}

pub fn csv_header(path: &Path) -> Vec<String> {
    let mut r = csv::Reader::from_path(path).unwrap();
    r.headers().unwrap().iter().map(String::from).collect()
}

pub fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

/// One JSON value per line (`decisions.jsonl` and the like).
pub fn json_lines(path: &Path) -> Vec<serde_json::Value> {
    fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

pub fn column<'a>(header: &[String], rows: &'a [csv::StringRecord], name: &str) -> Vec<&'a str> {
    let i = header.iter().position(|h| h == name).unwrap();
    rows.iter().map(|r| r.get(i).unwrap()).collect()
}

/// Rewrites a study file with `(old, new)` text replacements, each of which must apply.
pub fn edit_study(study: &Path, changes: &[(&str, &str)]) {
    let path = study.join("flinktune.toml");
    let mut text = fs::read_to_string(&path).unwrap();
    for (old, new) in changes {
        assert!(text.contains(old), "{old} not in the study file");
        text = text.replace(old, new);
    }
    fs::write(&path, text).unwrap();
}

/// Processes whose command line contains `marker` (from /proc).
pub fn processes_with(marker: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(cmd) = fs::read(entry.path().join("cmdline")) {
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            if cmd.contains(marker) {
                found.push(format!("{}: {cmd}", entry.file_name().to_string_lossy()));
            }
        }
    }
    found
}

/// Waits up to `secs` for no process to carry `marker`; returns those still there.
pub fn wait_gone(marker: &str, secs: f64) -> Vec<String> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs_f64(secs);
    loop {
        let left = processes_with(marker);
        if left.is_empty() || std::time::Instant::now() > deadline {
            return left;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Copies a directory tree.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// The built-in `demeter-resources` catalogue cut down to its scale-out parameter, 1..=`max`
/// TaskManagers starting at `max`: a policy over it can only rescale.
pub fn scale_out_catalogue(max: u32) -> String {
    let full = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/demeter-resources.toml"),
    )
    .unwrap();
    let second = full.match_indices("[[param]]").nth(1).unwrap().0;
    let text = full[..second]
        .replace("max = 24", &format!("max = {max}"))
        .replace("default = 24", &format!("default = {max}"));
    assert!(text.contains(&format!("max = {max}")), "{text}");
    text
}

/// A hook standing in for a cluster: logs every action with its conf dir's scale-out and
/// answers the contract; the rate comes from a file.
pub fn fake_hook(dir: &Path) -> String {
    let hook = dir.join("hook.sh");
    fs::write(
        &hook,
        r#"#!/bin/sh
log="$FLINKTUNE_STATE_DIR/actions.log"
case "$FLINKTUNE_ACTION" in
  start|apply)
    tms=$(grep '^flinktune.taskmanagers' "$FLINKTUNE_CONF_DIR/flink-conf.yaml" | cut -d' ' -f2)
    echo "$FLINKTUNE_ACTION $tms $FLINKTUNE_RATE" >> "$log"
    echo '{"status":"ok","savepoint":"/tmp/sp","downtime_s":1.5}' ;;
  rescale)
    if [ -n "$NO_RESCALE" ]; then echo '{"status":"fail","reason":"rescale unsupported"}'; exit 0; fi
    tms=$(grep '^flinktune.taskmanagers' "$FLINKTUNE_CONF_DIR/flink-conf.yaml" | cut -d' ' -f2)
    echo "rescale $tms $FLINKTUNE_TASKMANAGERS $FLINKTUNE_RATE" >> "$log"
    echo '{"status":"ok","downtime_s":0.5,"interrupted_s":0.25}' ;;
  rate) echo "rate" >> "$log"; echo "{\"status\":\"ok\",\"rate\":$(cat "$RATE_FILE")}" ;;
  stop) echo "stop" >> "$log"; echo '{"status":"ok"}' ;;
esac
"#,
    )
    .unwrap();
    format!("RATE_FILE={} sh {}", s(&dir.join("rate")), s(&hook))
}
