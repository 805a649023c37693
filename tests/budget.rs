//! Every evaluation of a search's budget runs: configurations the pre-check rejects are
//! never suggested, known configurations (`enqueue`) run first, and the initial design
//! scales with the budget.

mod common;

use common::*;
use std::fs;
use std::path::Path;

/// A study searched over the system through a shell adapter that counts its runs, over
/// the key parameters with a segment size not declared a power of two: Flink's memory
/// rules reject every other size, so the pre-check rejects most configurations.
fn crowded_study(root: &Path, budget: u32, extra: &str) -> std::path::PathBuf {
    let counter = root.join("runs.log");
    let adapter = root.join("adapter.sh");
    fs::write(
        &adapter,
        format!(
            "#!/bin/sh\necho \"$FLINKTUNE_TRIAL_DIR\" >> '{}'\nexec '{BIN}' sim-adapter\n",
            counter.display()
        ),
    )
    .unwrap();
    let dir = small_study(root, Some(&format!("sh {}", adapter.display())));
    let catalogue = fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/flink-1.11-key-params.toml"),
    )
    .unwrap()
    .replace("max = 1024\npower_of_two = true", "max = 1024\nlog = true");
    fs::write(dir.join("crowded.toml"), catalogue).unwrap();
    edit_study(
        &dir,
        &[
            (
                "catalogue = \"flink-1.11-key-params\"",
                "catalogue = \"crowded.toml\"",
            ),
            ("rates = [16000, 80000]", "rates = [16000]"),
            ("budget = 30", &format!("budget = {budget}")),
            ("initial = 10\n", &format!("{extra}\n")),
            ("over = \"model\"", "over = \"system\""),
        ],
    );
    dir
}

fn adapter_runs(root: &Path) -> usize {
    fs::read_to_string(root.join("runs.log"))
        .map(|t| t.lines().count())
        .unwrap_or(0)
}

#[test]
fn a_budget_of_n_runs_n_adapter_evaluations_when_the_precheck_rejects_most() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = crowded_study(tmp.path(), 12, "");
    let out = ok(&["search", s(&dir)]);
    assert_eq!(adapter_runs(tmp.path()), 12, "{out}");
    let summary = json(&dir.join("search/summary.json"));
    assert_eq!(summary["evaluations"], 12);
    // The default design for a budget of 12 over 30 parameters: its floor of 5.
    assert_eq!(summary["initial"], 5);
    let rejected = summary["precheck_rejected"].as_u64().unwrap();
    assert!(rejected >= 20, "{summary}");
    assert!(
        out.contains(&format!(
            "{rejected} configurations rejected by the pre-check"
        )),
        "{out}"
    );
    let rows = csv_rows(&dir.join("search/history.csv"));
    assert_eq!(rows.len(), 12);
    assert!(
        rows.iter().all(|r| &r[8] != "skipped"),
        "no evaluation was skipped"
    );
}

#[test]
fn enqueued_configurations_run_first_and_a_bad_one_is_refused_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = crowded_study(tmp.path(), 8, "enqueue = [\"production.toml\"]");
    fs::write(
        dir.join("production.toml"),
        "\"parallelism.default\" = 32\n[taskmanager]\nnumberOfTaskSlots = 16\n",
    )
    .unwrap();
    let expert = tmp.path().join("expert.toml");
    fs::write(
        &expert,
        "\"parallelism.default\" = 24\n\"taskmanager.numberOfTaskSlots\" = 8\n",
    )
    .unwrap();
    ok(&["search", s(&dir), "--enqueue", s(&expert)]);
    assert_eq!(adapter_runs(tmp.path()), 8);
    let rows = csv_rows(&dir.join("search/history.csv"));
    let header = csv_header(&dir.join("search/history.csv"));
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (par, slots) = (
        col("parallelism.default"),
        col("taskmanager.numberOfTaskSlots"),
    );
    assert_eq!((&rows[0][par], &rows[0][slots]), ("32", "16"));
    assert_eq!((&rows[1][par], &rows[1][slots]), ("24", "8"));

    // One Flink's memory rules reject, and one naming no parameter of the study.
    fs::write(&expert, "\"taskmanager.memory.segment-size\" = 100\n").unwrap();
    let err = fails(&["search", s(&dir), "--restart", "--enqueue", s(&expert)]);
    assert!(
        err.contains("expert.toml") && err.contains("cannot run"),
        "{err}"
    );
    fs::write(&expert, "\"parallelism.defualt\" = 4\n").unwrap();
    let err = fails(&["search", s(&dir), "--restart", "--enqueue", s(&expert)]);
    assert!(
        err.contains("`parallelism.defualt` is not a parameter"),
        "{err}"
    );
}
