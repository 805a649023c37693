//! RGPE transfer between input rates on the simulator: earlier searches at 8 000, 16 000
//! and 32 000 rec/s make a short search at 24 000 rec/s better than a cold start.

mod common;

use common::*;
use std::path::{Path, PathBuf};

/// A study at one rate, searched over the system.
fn rate_study(root: &Path, name: &str, rate: u64, budget: u64, initial: u64) -> PathBuf {
    let dir = root.join(name);
    ok(&["init", s(&dir)]);
    edit_study(
        &dir,
        &[
            ("rates = [16000, 80000]", &format!("rates = [{rate}]")),
            ("budget = 100", &format!("budget = {budget}")),
            ("# initial = 25", &format!("initial = {initial}")),
            ("over = \"model\"", "over = \"system\""),
        ],
    );
    dir
}

#[test]
#[ignore = "not true on this problem as measured: over seeds 1-6 RGPE's mean best at 10 \
            evaluations is 2455 against the cold start's 2597 (RGPE ahead at seeds 1, 3; far \
            behind at seed 5: 1480), with the loss as the paper defines it, equal \
            observations counted or not (the same bests at every seed)"]
fn transfer_from_other_rates_beats_a_cold_start_at_a_small_budget() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    for (name, rate) in [("s8k", 8000), ("s16k", 16000), ("s32k", 32000)] {
        let dir = rate_study(root, name, rate, 40, 10);
        ok(&["search", s(&dir)]);
    }
    // The same budget of 10 evaluations at a new rate, as in the README's experiment: cold
    // (its 5-point design) and with transfer (the ensemble after a short design; the study
    // file names one source, the command line two more) — over several seeds, since the
    // paper's claim is about the average: at one seed a budget of 10 decides little.
    let mut cold_best = Vec::new();
    let mut warm_best = Vec::new();
    for seed in SEEDS {
        let seeded = [("seed = 42", format!("seed = {seed}"))];
        let seeded: Vec<(&str, &str)> = seeded.iter().map(|(a, b)| (*a, b.as_str())).collect();
        let cold = rate_study(root, &format!("cold{seed}"), 24000, 10, 5);
        edit_study(&cold, &seeded);
        ok(&["search", s(&cold)]);
        let warm = rate_study(root, &format!("warm{seed}"), 24000, 10, 5);
        edit_study(&warm, &seeded);
        edit_study(
            &warm,
            &[(
                "# transfer_from = [\"../study-8k\", \"../study-16k\"]",
                "transfer_from = [\"../s8k\"]",
            )],
        );
        let out = ok(&[
            "search",
            s(&warm),
            "--transfer-from",
            s(&root.join("s16k")),
            "--transfer-from",
            s(&root.join("s32k")),
        ]);
        assert!(out.contains("transfer (RGPE)"), "{out}");
        cold_best.push(
            json(&cold.join("search/summary.json"))["best_perf"]
                .as_f64()
                .unwrap(),
        );
        let summary = json(&warm.join("search/summary.json"));
        warm_best.push(summary["best_perf"].as_f64().unwrap());
        let models = summary["transfer"].as_array().unwrap();
        assert_eq!(models.len(), 3, "{summary}");
        let total: f64 = models
            .iter()
            .map(|m| m["weight"].as_f64().unwrap())
            .sum::<f64>()
            + summary["target_weight"].as_f64().unwrap();
        assert!((total - 1.0).abs() < 1e-9, "weights sum to {total}");
        for (m, rate) in models.iter().zip([8000, 16000, 32000]) {
            assert_eq!(m["rate"], rate);
            // The source's evaluations that ran (failed ones carry no score).
            let points = m["points"].as_u64().unwrap();
            assert!((2..=40).contains(&points), "{m}");
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (cold, warm) = (mean(&cold_best), mean(&warm_best));
    eprintln!("RGPE {warm_best:?} vs cold start {cold_best:?}");
    assert!(
        warm >= MARGIN * cold,
        "mean best: RGPE {warm:.1} vs cold start {cold:.1} ({warm_best:?} vs {cold_best:?})"
    );
}

/// The seeds both searches run at.
const SEEDS: [u64; 6] = [1, 2, 3, 4, 5, 6];
/// RGPE's mean best at 10 evaluations over the cold start's, at least.
const MARGIN: f64 = 1.0;

#[test]
fn a_source_of_another_parameter_space_is_refused_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let other = rate_study(tmp.path(), "other-space", 8000, 30, 10);
    edit_study(
        &other,
        &[(
            "catalogue = \"flink-1.11-key-params\"",
            "catalogue = \"flink-1.11-candidates\"",
        )],
    );
    let target = rate_study(tmp.path(), "target", 24000, 12, 5);
    let err = fails(&["search", s(&target), "--transfer-from", s(&other)]);
    assert!(
        err.contains("other-space") && err.contains("parameter space"),
        "{err}"
    );
    // A source that has not searched or collected yet says what to run.
    let empty = rate_study(tmp.path(), "empty", 8000, 30, 10);
    let err = fails(&["search", s(&target), "--transfer-from", s(&empty)]);
    assert!(err.contains("flinktune search"), "{err}");
}

#[test]
fn collected_data_becomes_one_base_model_per_rate() {
    let tmp = tempfile::tempdir().unwrap();
    let source = small_study(tmp.path(), None);
    edit_study(
        &source,
        &[("rates = [16000, 80000]", "rates = [8000, 16000]")],
    );
    ok(&["generate", s(&source)]);
    ok(&["collect", s(&source)]);
    let target = rate_study(tmp.path(), "target", 24000, 8, 2);
    let out = ok(&["search", s(&target), "--transfer-from", s(&source)]);
    let summary = json(&target.join("search/summary.json"));
    let models = summary["transfer"].as_array().unwrap();
    let names: Vec<&str> = models.iter().map(|m| m["name"].as_str().unwrap()).collect();
    assert_eq!(models.len(), 2, "{names:?}");
    assert!(names[0].ends_with("collect @ 8000"), "{names:?}");
    assert!(names[1].ends_with("collect @ 16000"), "{names:?}");
    for m in models {
        assert!(m["points"].as_u64().unwrap() >= 2, "{m}");
    }
    assert!(out.contains("collect @ 16000"), "{out}");
}
