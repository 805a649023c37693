//! `flinktune adapt`: the replayed comparison of Demeter with its baselines on the
//! simulator, and the live loop driving a reconfiguration hook.

mod common;

use common::*;
use std::fs;
use std::path::{Path, PathBuf};

/// The shipped Demeter example in a temporary directory, with a shorter trace (three days
/// at 15-minute steps: two of history, one replayed) and cheaper profiling.
fn demeter_study(tmp: &Path) -> (PathBuf, PathBuf) {
    let study = tmp.join("demeter");
    fs::create_dir_all(&study).unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = fs::read_to_string(root.join("examples/demeter/flinktune.toml"))
        .unwrap()
        .replace("profile_budget = 30", "profile_budget = 16")
        .replace("rate_step = 25000", "rate_step = 50000");
    fs::write(study.join("flinktune.toml"), text).unwrap();
    let trace = tmp.join("rates.csv");
    ok(&[
        "trace",
        "--days",
        "3",
        "--step-s",
        "900",
        "--min",
        "80000",
        "--max",
        "700000",
        "--seed",
        "3",
        "-o",
        s(&trace),
    ]);
    (study, trace)
}

fn by_policy(path: &Path) -> std::collections::HashMap<String, serde_json::Value> {
    let summary = json(path);
    summary["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["policy"].as_str().unwrap().to_string(), p.clone()))
        .collect()
}

/// Replays `trace` with the static maximum and Demeter; their summaries by name.
fn replay_static_and_demeter(
    study: &Path,
    trace: &Path,
) -> std::collections::HashMap<String, serde_json::Value> {
    ok(&[
        "adapt",
        s(study),
        "--trace",
        s(trace),
        "--policy",
        "static",
        "--policy",
        "demeter",
    ]);
    by_policy(&study.join("adapt/summary.json"))
}

#[test]
fn a_replay_compares_demeter_with_the_baselines() {
    let tmp = tempfile::tempdir().unwrap();
    let (study, trace) = demeter_study(tmp.path());
    let out = ok(&["adapt", s(&study), "--trace", s(&trace)]);
    assert!(
        out.contains("| demeter |") && out.contains("| autoscaler |") && out.contains("| ds2 |"),
        "{out}"
    );
    let dir = study.join("adapt");
    for f in [
        "steps.csv",
        "decisions.csv",
        "comparison.csv",
        "timeline.svg",
        "report.md",
    ] {
        assert!(dir.join(f).exists(), "{f} missing");
    }
    let p = by_policy(&dir.join("summary.json"));
    let num = |k: &str, f: &str| p[k][f].as_f64().unwrap();
    // One replayed day of 15-minute steps, every policy.
    let steps = csv_rows(&dir.join("steps.csv"));
    assert_eq!(steps.len(), 5 * 96);
    assert_eq!(num("static", "steps"), 96.0);
    // The static maximum requests 24 cores for 24 hours and never reconfigures.
    assert!((num("static", "cpu_core_hours") - 576.0).abs() < 1e-6);
    assert_eq!(num("static", "reconfigurations"), 0.0);
    assert!((num("static", "near_optimal_pct") - 100.0).abs() < 1e-9);
    // Demeter uses clearly fewer resources than the static maximum, keeps every recovery
    // under the limit, and keeps latency closer to it than every baseline on this trace
    // (94.5 % of near-optimal against the operator's autoscaler's 69.3 %, the HPA's 73.1 %
    // and DS2's 5.0 %) — though each baseline requests fewer cores than Demeter does.
    // What Demeter minimises: cores + GiB / 8 (`demeter::cost`); C_max asks 24 + 96 / 8.
    let cost = |k: &str| num(k, "mean_cpu_requested") + num(k, "mean_memory_requested_gb") / 8.0;
    assert!(cost("demeter") < 0.9 * cost("static"), "{:?}", p["demeter"]);
    assert!(
        num("demeter", "mean_memory_requested_gb") < 0.8 * 96.0,
        "{:?}",
        p["demeter"]
    );
    assert_eq!(num("demeter", "recovery_violations"), 0.0);
    assert!(
        num("demeter", "near_optimal_pct") > 75.0,
        "{:?}",
        p["demeter"]
    );
    for baseline in ["autoscaler", "reactive", "ds2"] {
        assert!(
            num("demeter", "near_optimal_pct") > num(baseline, "near_optimal_pct"),
            "{baseline}: {:?} vs {:?}",
            p["demeter"],
            p[baseline]
        );
        // Scaling down to follow the rate, each runs recoveries past the limit.
        assert!(num(baseline, "recovery_violations") > 0.0, "{baseline}");
    }
    // The operator's autoscaler keeps the headroom DS2 goes without: it saturates far less.
    assert!(num("autoscaler", "saturated_steps") < num("ds2", "saturated_steps"));
    // Every switch is logged with its kind and why.
    let decisions = csv_rows(&dir.join("decisions.csv"));
    assert!(decisions.iter().any(|r| &r[0] == "demeter"));
    assert!(
        decisions
            .iter()
            .all(|r| matches!(&r[4][..], "rescale" | "restart") && !r[5].is_empty())
    );
    // The baselines only change the scale-out: every switch of theirs is a rescale.
    for baseline in ["autoscaler", "reactive", "ds2"] {
        assert_eq!(num(baseline, "rescales"), num(baseline, "reconfigurations"));
    }
}

/// The shipped example (wordcount on the simulated Kubernetes cluster, the last day of a
/// 4-day trace): Demeter with forecasting and RGPE stays within 5% of the static maximum's
/// latency while requesting clearly fewer resources, and keeps every recovery under the limit.
/// This replay gives 94.5% of near-optimal with 0.78× the core-hours and 0.78× the memory;
/// over many traces and profiling-noise streams (`benches/adapt_profilers.rs`) the spread is a
/// few points either way — so the thresholds here guard what is typical, not this one draw.
#[test]
fn the_shipped_demeter_example_stays_near_the_static_maximum_with_fewer_resources() {
    let tmp = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/demeter");
    let study = tmp.path().join("demeter");
    fs::create_dir_all(&study).unwrap();
    for f in ["flinktune.toml", "rates.csv"] {
        fs::copy(root.join(f), study.join(f)).unwrap();
    }
    let trace = study.join("rates.csv");
    let p = replay_static_and_demeter(&study, &trace);
    let num = |k: &str, f: &str| p[k][f].as_f64().unwrap();
    assert!(
        num("demeter", "near_optimal_pct") >= 93.0,
        "{:?}",
        p["demeter"]
    );
    assert!(num("demeter", "cpu_core_hours") < 0.9 * num("static", "cpu_core_hours"));
    assert!(
        num("demeter", "mean_memory_requested_gb")
            < 0.8 * num("static", "mean_memory_requested_gb")
    );
    assert_eq!(num("demeter", "recovery_violations"), 0.0);
    assert_eq!(num("demeter", "saturated_steps"), 0.0);
}

#[test]
fn a_replay_needs_the_scale_out_parameter_and_the_simulator() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, trace) = demeter_study(tmp.path());
    let plain = small_study(tmp.path(), None);
    let err = fails(&["adapt", s(&plain), "--trace", s(&trace)]);
    assert!(err.contains("flinktune.taskmanagers"), "{err}");
    let cmd = small_study(&tmp.path().join("cmd"), Some("true"));
    let err = fails(&["adapt", s(&cmd), "--trace", s(&trace), "--policy", "static"]);
    assert!(
        err.contains("flinktune.taskmanagers") || err.contains("simulator"),
        "{err}"
    );
}

#[test]
fn the_live_loop_applies_through_the_hook_and_logs_every_interval() {
    let tmp = tempfile::tempdir().unwrap();
    let (study, _) = demeter_study(tmp.path());
    edit_study(&study, &[("interval_s = 1800", "interval_s = 0.3")]);
    // A low rate: the static maximum it starts with is far too big.
    fs::write(tmp.path().join("rate"), "90000").unwrap();
    let hook = fake_hook(tmp.path());
    ok(&[
        "adapt",
        s(&study),
        "--hook",
        &hook,
        "--intervals",
        "3",
        "--source-rate",
        "5000",
    ]);
    let live = study.join("adapt-live");
    let actions = fs::read_to_string(live.join("hook-state/actions.log")).unwrap();
    let lines: Vec<&str> = actions.lines().collect();
    assert_eq!(lines.first(), Some(&"start 24 5000"), "{actions}");
    assert_eq!(lines.last(), Some(&"stop"), "{actions}");
    assert_eq!(
        lines.iter().filter(|l| **l == "rate").count(),
        3,
        "{actions}"
    );
    // Demeter scales the static maximum down for 90 000 records/s: a new shape by apply,
    // or C_max's shape rescaled in place when a new shape would not save `min_gain` more.
    let switched: Vec<u32> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("apply ").or(l.strip_prefix("rescale ")))
        .map(|l| l.split(' ').next().unwrap().parse().unwrap())
        .collect();
    assert!(!switched.is_empty() && switched[0] < 24, "{actions}");
    let records = json_lines(&live.join("decisions.jsonl"));
    assert_eq!(records.len(), 3);
    assert_eq!(records[0]["action"], "switch");
    // The fake hook's downtime for the action that was used.
    let by = records[0]["applied_by"].as_str().unwrap();
    let downtime = if by == "rescale" { 0.5 } else { 1.5 };
    assert_eq!(records[0]["downtime_s"], downtime, "{}", records[0]);
    assert_eq!(records[0]["rate"], 90000.0);
    // Profiling ran as trials through the study's adapter.
    assert!(live.join("profiles").read_dir().unwrap().count() > 0);
}

#[test]
fn a_scale_out_change_is_a_rescale_and_a_hook_without_it_gets_an_apply() {
    for no_rescale in [false, true] {
        let tmp = tempfile::tempdir().unwrap();
        let (study, _) = demeter_study(tmp.path());
        fs::write(study.join("scale-out.toml"), scale_out_catalogue(4)).unwrap();
        edit_study(
            &study,
            &[
                ("interval_s = 1800", "interval_s = 0.3"),
                ("\"demeter-resources\"", "\"scale-out.toml\""),
            ],
        );
        fs::write(tmp.path().join("rate"), "90000").unwrap();
        let hook = fake_hook(tmp.path());
        let hook = if no_rescale {
            format!("NO_RESCALE=1 {hook}")
        } else {
            hook
        };
        let out = ok(&["adapt", s(&study), "--hook", &hook, "--intervals", "2"]);
        let live = study.join("adapt-live");
        let actions = fs::read_to_string(live.join("hook-state/actions.log")).unwrap();
        let records = json_lines(&live.join("decisions.jsonl"));
        let r = &records[0];
        assert_eq!(r["action"], "switch", "{out}");
        assert_eq!(r["change"], "rescale", "{r}");
        let tms = r["config"]["flinktune.taskmanagers"].as_u64().unwrap();
        assert!(tms < 4, "{r}");
        let lines: Vec<&str> = actions.lines().collect();
        assert_eq!(lines[0], "start 4 ", "{actions}");
        if no_rescale {
            // Refused: applied instead, and noted.
            assert_eq!(r["applied_by"], "apply", "{r}");
            assert_eq!(r["downtime_s"], 1.5, "{r}");
            assert!(
                r["reason"].as_str().unwrap().contains("cannot rescale"),
                "{r}"
            );
            assert!(
                lines.contains(&format!("apply {tms} ").as_str()),
                "{actions}"
            );
            assert!(!actions.contains("rescale"), "{actions}");
        } else {
            // In place: the new count in FLINKTUNE_TASKMANAGERS and in the conf dir.
            assert_eq!(r["applied_by"], "rescale", "{r}");
            assert_eq!(
                (&r["downtime_s"], &r["interrupted_s"]),
                (&0.5.into(), &0.25.into())
            );
            assert!(
                lines.contains(&format!("rescale {tms} {tms} ").as_str()),
                "{actions}"
            );
            assert!(!actions.contains("apply"), "{actions}");
        }
    }
}

#[test]
fn a_dry_run_decides_without_applying() {
    let tmp = tempfile::tempdir().unwrap();
    let (study, _) = demeter_study(tmp.path());
    edit_study(&study, &[("interval_s = 1800", "interval_s = 0.2")]);
    let out = ok(&[
        "adapt",
        s(&study),
        "--rate-command",
        "echo 90000",
        "--dry-run",
        "--intervals",
        "2",
    ]);
    assert!(out.contains("would-switch"), "{out}");
    let log = fs::read_to_string(study.join("adapt-live/decisions.jsonl")).unwrap();
    assert_eq!(log.lines().count(), 2);
    // Without a hook nothing can be applied: a live run must say it is a dry run.
    let err = fails(&[
        "adapt",
        s(&study),
        "--rate-command",
        "echo 1",
        "--intervals",
        "1",
    ]);
    assert!(err.contains("--dry-run"), "{err}");
    // A rate command that prints nonsense is an error naming it.
    let err = fails(&[
        "adapt",
        s(&study),
        "--rate-command",
        "echo lots",
        "--dry-run",
        "--intervals",
        "1",
    ]);
    assert!(err.contains("echo lots"), "{err}");
}

#[test]
fn the_profiler_setting_parses_and_a_bad_one_names_its_line() {
    let tmp = tempfile::tempdir().unwrap();
    let (study, trace) = demeter_study(tmp.path());
    edit_study(
        &study,
        &[(
            "rate_step = 50000",
            "rate_step = 50000\nprofiler = \"bogus\"",
        )],
    );
    let err = fails(&["adapt", s(&study), "--trace", s(&trace)]);
    assert!(
        err.contains("flinktune.toml:")
            && err.contains("`adapt.profiler`")
            && err.contains("rgpe")
            && err.contains("ehvi"),
        "{err}"
    );
    // The multi-objective EHVI profiler (not the default) meets the targets too.
    edit_study(&study, &[("profiler = \"bogus\"", "profiler = \"ehvi\"")]);
    let p = replay_static_and_demeter(&study, &trace);
    let num = |k: &str, f: &str| p[k][f].as_f64().unwrap();
    // What Demeter minimises: cores + GiB / 8 (`demeter::cost`); C_max asks 24 + 96 / 8.
    let cost = |k: &str| num(k, "mean_cpu_requested") + num(k, "mean_memory_requested_gb") / 8.0;
    assert!(cost("demeter") < 0.9 * cost("static"), "{:?}", p["demeter"]);
    assert_eq!(num("demeter", "recovery_violations"), 0.0);
}

#[test]
fn a_live_run_whose_profiling_adapter_is_missing_stops_after_three_trials() {
    let tmp = tempfile::tempdir().unwrap();
    let (study, _) = demeter_study(tmp.path());
    edit_study(
        &study,
        &[
            ("interval_s = 1800", "interval_s = 0.3"),
            (
                "kind = \"sim\"",
                "kind = \"command\"\ncommand = \"./no-such-adapter.sh\"\nretries = 0",
            ),
        ],
    );
    fs::write(tmp.path().join("rate"), "90000").unwrap();
    let hook = fake_hook(tmp.path());
    let err = fails(&[
        "adapt",
        s(&study),
        "--hook",
        &hook,
        "--intervals",
        "3",
        "--source-rate",
        "5000",
    ]);
    assert!(
        err.contains("the first 3 trials all failed with an adapter error")
            && err.contains("no-such-adapter.sh"),
        "{err}"
    );
    let live = study.join("adapt-live");
    let profiles = live.join("profiles").read_dir().unwrap().count();
    assert_eq!(profiles, 3, "profiling trials run before the stop");
    // The job the hook started is stopped on the way out.
    let actions = fs::read_to_string(live.join("hook-state/actions.log")).unwrap();
    assert_eq!(actions.lines().last(), Some("stop"), "{actions}");
}
