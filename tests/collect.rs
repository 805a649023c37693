//! Collecting that never loses a trial: kill -9 and resume, Ctrl-C, parallel workers,
//! retries, FailConf pre-checks and `status`.

mod common;

use common::*;
use rand::{RngExt, SeedableRng};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// A study whose adapter is the simulator behind the shell protocol, slowed down so that
/// trials overlap the moments the tuner is killed.
fn slow_sim_study(dir: &Path, samples: u32, sleep: &str) -> PathBuf {
    let script = dir.join("slow-sim.sh");
    fs::create_dir_all(dir).unwrap();
    fs::write(
        &script,
        format!("sleep {sleep}\nexec '{BIN}' sim-adapter --workload wordcount --noise 0.03\n"),
    )
    .unwrap();
    let study = small_study(dir, Some(&format!("sh '{}'", script.display())));
    edit_study(
        &study,
        &[
            ("samples = 40", &format!("samples = {samples}")),
            ("kill_grace_s = 5", "kill_grace_s = 1"),
        ],
    );
    study
}

/// trial → (status, throughput, p99, reason): what a trial measured, not when or where.
fn results(study: &Path) -> BTreeMap<String, [String; 4]> {
    let path = study.join("collect/trials.csv");
    let h = csv_header(&path);
    let rows = csv_rows(&path);
    let col = |name: &str| column(&h, &rows, name);
    let (trial, status, tput, p99, reason) = (
        col("trial"),
        col("status"),
        col("throughput"),
        col("latency_p99_ms"),
        col("reason"),
    );
    (0..rows.len())
        .map(|i| {
            (
                trial[i].to_string(),
                [status[i], tput[i], p99[i], reason[i]].map(String::from),
            )
        })
        .collect()
}

fn journal_trials(study: &Path) -> Vec<String> {
    let text = fs::read_to_string(study.join("collect/journal.jsonl")).unwrap();
    text.lines()
        .skip(1)
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["trial"].to_string())
        .collect()
}

#[test]
fn killing_the_tuner_at_random_moments_loses_and_repeats_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    // The reference: one uninterrupted run.
    let reference = slow_sim_study(&tmp.path().join("ref"), 12, "0.05");
    ok(&["generate", s(&reference)]);
    ok(&["collect", s(&reference)]);
    let expected = results(&reference);
    assert_eq!(expected.len(), 24);

    let study = slow_sim_study(&tmp.path().join("killed"), 12, "0.05");
    ok(&["generate", s(&study)]);
    let mut rng = rand::rngs::StdRng::seed_from_u64(2024);
    let mut kills = 0;
    for _ in 0..20 {
        let mut child = Command::new(BIN)
            .args(["collect", s(&study)])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(rng.random_range(20..250)));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            kills += 1;
        }
        child.wait().unwrap();
        if study.join("collect/summary.json").exists() {
            break;
        }
    }
    assert!(kills >= 5, "only {kills} kills landed mid-run");
    if !study.join("collect/summary.json").exists() {
        ok(&["collect", s(&study)]);
    }
    assert_eq!(results(&study), expected);
    let mut journal = journal_trials(&study);
    assert_eq!(journal.len(), 24);
    journal.sort();
    journal.dedup();
    assert_eq!(journal.len(), 24, "a trial was journaled twice");
    assert!(!study.join(".collect.partial").exists());
}

#[test]
fn ctrl_c_stops_the_adapters_and_the_run_resumes() {
    let tmp = tempfile::tempdir().unwrap();
    let script = tmp.path().join("sleepy.sh");
    // Fast for most trials, then one that would sleep for a long time.
    fs::write(
        &script,
        format!(
            "case \"$FLINKTUNE_TRIAL_DIR\" in *c0003-*) [ -e \"$FLINKTUNE_TRIAL_DIR/../../../go\" ] || sleep 876543.21 ;; esac\n\
             exec '{BIN}' sim-adapter\n"
        ),
    )
    .unwrap();
    let study = small_study(tmp.path(), Some(&format!("sh '{}'", script.display())));
    edit_study(
        &study,
        &[
            ("samples = 40", "samples = 6"),
            ("kill_grace_s = 5", "kill_grace_s = 1"),
        ],
    );
    ok(&["generate", s(&study)]);
    let child = Command::new(BIN)
        .args(["collect", s(&study)])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while processes_with("876543.21").is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the slow trial never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("interrupted") && stderr.contains("resume"),
        "{stderr}"
    );
    assert!(
        wait_gone("876543.21", 3.0).is_empty(),
        "the adapter survived Ctrl-C"
    );

    // The journal holds the trials that finished, each once; the run resumes and completes.
    let partial = study.join(".collect.partial/journal.jsonl");
    let before = fs::read_to_string(&partial).unwrap().lines().count() - 1;
    assert!(
        (6..12).contains(&before),
        "{before} trials journaled before Ctrl-C"
    );
    let status = ok(&["status", s(&study)]);
    assert!(
        status.contains("interrupted") && status.contains("pending"),
        "{status}"
    );
    fs::write(study.join("go"), "").unwrap();
    let out = ok(&["collect", s(&study)]);
    assert!(out.contains(&format!("{before} resumed")), "{out}");
    assert_eq!(results(&study).len(), 12);
    assert_eq!(journal_trials(&study).len(), 12);
}

#[test]
fn parallel_workers_measure_what_one_worker_measures() {
    let tmp = tempfile::tempdir().unwrap();
    let one = slow_sim_study(&tmp.path().join("one"), 10, "0.02");
    let four = slow_sim_study(&tmp.path().join("four"), 10, "0.02");
    // Record which worker ran each trial.
    for study in [&one, &four] {
        edit_study(
            study,
            &[("command = \"sh", "command = \"env > worker.env; sh")],
        );
        ok(&["generate", s(study)]);
    }
    ok(&["collect", s(&one)]);
    let out = ok(&["collect", s(&four), "--workers", "4"]);
    assert!(out.contains("4 workers"), "{out}");
    assert_eq!(results(&one), results(&four));
    let mut workers: Vec<String> = fs::read_dir(four.join("collect/trials"))
        .unwrap()
        .map(|e| {
            let env = fs::read_to_string(e.unwrap().path().join("worker.env")).unwrap();
            env.lines()
                .find_map(|l| l.strip_prefix("FLINKTUNE_WORKER="))
                .unwrap()
                .to_string()
        })
        .collect();
    workers.sort();
    workers.dedup();
    assert_eq!(workers, ["0", "1", "2", "3"]);
}

#[test]
fn transient_failures_are_retried_and_lying_adapters_are_not() {
    let tmp = tempfile::tempdir().unwrap();
    let script = tmp.path().join("flaky.sh");
    // The first attempt of every trial dies without a result; the second passes. c0001's
    // adapter lies (a negative throughput) and must not be retried.
    fs::write(
        &script,
        format!(
            "mark=\"{}/attempt-$(basename \"$FLINKTUNE_TRIAL_DIR\")\"\n\
             case \"$FLINKTUNE_TRIAL_DIR\" in *c0001-*) echo '{{\"status\":\"pass\",\"throughput\":-1,\"latency_p99_ms\":3}}' > result.json; echo x >> \"$mark\"; exit 0 ;; esac\n\
             if [ ! -e \"$mark\" ]; then echo x > \"$mark\"; echo 'cluster went away' >&2; exit 3; fi\n\
             exec '{BIN}' sim-adapter\n",
            tmp.path().display()
        ),
    )
    .unwrap();
    let study = small_study(tmp.path(), Some(&format!("sh '{}'", script.display())));
    edit_study(&study, &[("samples = 40", "samples = 3")]);
    ok(&["generate", s(&study)]);
    ok(&["collect", s(&study)]);
    let path = study.join("collect/trials.csv");
    let h = csv_header(&path);
    let rows = csv_rows(&path);
    let (trial, status, attempts, reason) = (
        column(&h, &rows, "trial"),
        column(&h, &rows, "status"),
        column(&h, &rows, "attempts"),
        column(&h, &rows, "reason"),
    );
    for i in 0..rows.len() {
        if trial[i].starts_with("c0001") {
            assert_eq!((status[i], attempts[i]), ("error", "1"), "{}", reason[i]);
            assert!(reason[i].contains("invalid"), "{}", reason[i]);
        } else {
            assert_eq!(attempts[i], "2", "{}", trial[i]);
            assert_ne!(status[i], "error", "{}: {}", trial[i], reason[i]);
        }
    }

    // With no retries the same flakiness is a failed trial that quotes stderr.
    edit_study(
        &study,
        &[
            ("retries = 1", "retries = 0"),
            ("fail_fast = 3", "fail_fast = 0"),
        ],
    );
    for f in fs::read_dir(tmp.path()).unwrap().flatten() {
        if f.file_name().to_string_lossy().starts_with("attempt-") {
            fs::remove_file(f.path()).unwrap();
        }
    }
    // Finished trials are reused unless discarded: run them again.
    ok(&["collect", s(&study), "--restart"]);
    let rows = csv_rows(&path);
    let reasons = column(&h, &rows, "reason");
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("exit status 3") && r.contains("cluster went away"))
    );
}

#[test]
fn predicted_failconfs_are_replaced_or_skipped() {
    let tmp = tempfile::tempdir().unwrap();
    let study = small_study(tmp.path(), None);
    edit_study(&study, &[("samples = 40", "samples = 60")]);

    // By default generate replaces them: none is left in the table.
    let out = ok(&["generate", s(&study)]);
    let g = json(&study.join("generate/summary.json"));
    let predicted = g["predicted_failures"].as_u64().unwrap();
    assert!(predicted > 0, "{g}");
    assert_eq!(g["replaced"], predicted);
    assert!(out.contains("replaced by ones that pass"), "{out}");
    let h = csv_header(&study.join("generate/configs.csv"));
    let rows = csv_rows(&study.join("generate/configs.csv"));
    assert!(
        column(&h, &rows, "predicted_failure")
            .iter()
            .all(|c| c.is_empty())
    );

    // Kept on request, marked, and skipped by collect without running the adapter.
    ok(&["generate", s(&study), "--keep-predicted-failures"]);
    let rows = csv_rows(&study.join("generate/configs.csv"));
    let marked: Vec<&str> = column(&h, &rows, "config")
        .into_iter()
        .zip(column(&h, &rows, "predicted_failure"))
        .filter(|(_, why)| !why.is_empty())
        .map(|(c, _)| c)
        .collect();
    assert_eq!(marked.len() as u64, predicted);
    let out = ok(&["collect", s(&study)]);
    assert!(out.contains(&format!("{} skipped", 2 * predicted)), "{out}");
    let trials = study.join("collect/trials.csv");
    let th = csv_header(&trials);
    let trows = csv_rows(&trials);
    for ((config, status), reason) in column(&th, &trows, "config")
        .iter()
        .zip(column(&th, &trows, "status"))
        .zip(column(&th, &trows, "reason"))
    {
        if marked.contains(config) {
            assert_eq!(status, "skipped");
            assert!(reason.starts_with("predicted: "), "{reason}");
            assert!(
                !study
                    .join("collect/trials")
                    .join(format!("{config}-r16000-k0"))
                    .exists()
            );
        } else {
            assert_ne!(status, "skipped");
        }
    }

    // ... or run when asked: the simulator then fails every one of them.
    ok(&["collect", s(&study), "--run-predicted-failures"]);
    let trows = csv_rows(&trials);
    for (config, status) in column(&th, &trows, "config")
        .iter()
        .zip(column(&th, &trows, "status"))
    {
        if marked.contains(config) {
            assert_eq!(status, "fail", "{config}");
        }
    }
}

#[test]
fn status_reports_every_stage() {
    let tmp = tempfile::tempdir().unwrap();
    let study = small_study(tmp.path(), None);
    let out = ok(&["status", s(&study)]);
    assert!(
        out.contains("generate: not run") && out.contains("collect: not run"),
        "{out}"
    );
    ok(&["tune", s(&study)]);
    let out = ok(&["status", s(&study)]);
    assert!(
        out.contains("collect: finished — 80 of 80 trials done"),
        "{out}"
    );
    assert!(
        out.contains("test MAPE") && out.contains("measured ratio speedup"),
        "{out}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&ok(&["status", s(&study), "--json"])).unwrap();
    assert_eq!(report["collect"]["planned"], 80);
    assert_eq!(
        report["collect"]["counts"]["per_rate"]["16000"]["pending"],
        0
    );
}

/// Raising `samples` keeps the configurations already planned (generate's plan grows
/// without moving), so collect runs only the new ones; generating again with the same
/// settings changes nothing and collect runs nothing.
#[test]
fn a_grown_plan_runs_only_its_new_trials() {
    let tmp = tempfile::tempdir().unwrap();
    let calls = tmp.path().join("calls");
    let script = tmp.path().join("counting-sim.sh");
    fs::create_dir_all(tmp.path()).unwrap();
    fs::write(
        &script,
        format!(
            "echo \"$FLINKTUNE_TRIAL_DIR\" >> '{}'\nexec '{BIN}' sim-adapter\n",
            calls.display()
        ),
    )
    .unwrap();
    let study = small_study(tmp.path(), Some(&format!("sh '{}'", script.display())));
    edit_study(
        &study,
        &[
            ("samples = 40", "samples = 8"),
            ("rates = [16000, 80000]", "rates = [16000]"),
        ],
    );
    let calls_now = || match fs::read_to_string(&calls) {
        Ok(text) => text.lines().count(),
        Err(_) => 0,
    };
    let configs = |study: &Path| -> Vec<Vec<String>> {
        csv_rows(&study.join("generate/configs.csv"))
            .iter()
            .map(|r| r.iter().map(String::from).collect())
            .collect()
    };
    ok(&["generate", s(&study)]);
    ok(&["collect", s(&study)]);
    assert_eq!(calls_now(), 8, "{}", fs::read_to_string(&calls).unwrap());
    let first = configs(&study);
    let measured = results(&study);

    edit_study(&study, &[("samples = 8", "samples = 12")]);
    ok(&["generate", s(&study)]);
    let grown = configs(&study);
    assert_eq!(grown.len(), 12);
    assert_eq!(grown[..8], first[..], "the first 8 configurations moved");
    ok(&["collect", s(&study)]);
    assert_eq!(calls_now(), 12, "collect ran more than the 4 new trials");
    let summary = json(&study.join("collect/summary.json"));
    assert_eq!(summary["reused"], 8, "{summary}");
    let now = results(&study);
    assert_eq!(now.len(), 12);
    for (trial, result) in &measured {
        assert_eq!(&now[trial], result, "{trial} changed");
    }

    // The same settings again: the same plan, nothing to run.
    ok(&["generate", s(&study)]);
    assert_eq!(configs(&study), grown);
    ok(&["collect", s(&study)]);
    assert_eq!(calls_now(), 12, "collect ran finished trials again");
    let out = ok(&["status", s(&study)]);
    assert!(out.contains("12 of 12 trials done"), "{out}");
}
