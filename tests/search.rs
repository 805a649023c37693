//! Search over the system on the simulator: 40 evaluations against 2000 random ones.

mod common;

use common::*;
use flinktune::study::Study;
use flinktune::trial::adapter::{Adapter, TrialSpec};
use rand::SeedableRng;
use std::fs;

#[test]
fn bo_over_the_system_gets_within_ten_percent_of_2000_random_evaluations() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = small_study(tmp.path(), None);
    edit_study(
        &dir,
        &[
            ("rates = [16000, 80000]", "rates = [16000]"),
            ("budget = 30", "budget = 40"),
            ("over = \"model\"", "over = \"system\""),
        ],
    );
    // The search needs no collected data at all.
    let out = ok(&["search", s(&dir)]);
    assert!(out.contains("searched the system"), "{out}");
    let summary = json(&dir.join("search/summary.json"));
    let best = summary["best_perf"].as_f64().unwrap();
    assert_eq!(summary["evaluations"], 40);
    let journal = fs::read_to_string(dir.join("search/journal.jsonl")).unwrap();
    // A header line (the plan it belongs to), then one line per evaluation.
    assert_eq!(journal.lines().count(), 41);

    // 2000 random configurations measured by the same simulated system.
    let study = Study::load(&dir).unwrap();
    let domain = flinktune::study::encoding::domain(&study.space);
    let adapter = flinktune::trial::runner::adapter_of(&study);
    let Adapter::Sim {
        cluster,
        workload,
        noise,
        flink,
    } = &adapter
    else {
        panic!("the study uses the simulator")
    };
    let mut rng = rand::rngs::StdRng::seed_from_u64(99);
    let trial = tmp.path().join("reference");
    let mut reference = f64::MIN;
    for _ in 0..2000 {
        let config = flinktune::study::encoding::decode(
            &study.space,
            &domain,
            &domain.random_point(&mut rng),
        );
        let _ = fs::remove_dir_all(&trial);
        study
            .write_config_dir(&config, &trial, "reference")
            .unwrap();
        let spec = TrialSpec {
            dir: trial.clone(),
            rate: 16000,
            duration_s: 60,
            repeat: 0,
            seed: 42,
            worker: 0,
        };
        let outcome =
            flinktune::trial::adapter::run_sim(&spec, cluster, (*workload, *flink), *noise);
        if let Some(m) = outcome.measurement() {
            reference = reference.max(m.throughput / m.latency_p99_ms);
        }
    }
    assert!(
        best >= 0.9 * reference,
        "40 BO evaluations found {best:.1}, 2000 random ones {reference:.1}"
    );
}

#[test]
fn compare_runs_every_method_on_equal_budgets_and_plots_them() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = small_study(tmp.path(), None);
    edit_study(&dir, &[("rates = [16000, 80000]", "rates = [16000]")]);
    let out = ok(&[
        "compare",
        s(&dir),
        "--over",
        "system",
        "--budget",
        "12",
        "--seeds",
        "2",
    ]);
    for m in ["gp-ei", "random", "mhc", "ga", "default"] {
        assert!(out.contains(&format!("| {m} |")), "{out}");
    }
    let curves = csv_rows(&dir.join("compare/curves.csv"));
    assert_eq!(curves.len(), 5 * 2 * 12);
    // Best-so-far never decreases along a curve.
    let mut last: std::collections::HashMap<(String, String), f64> = Default::default();
    for r in &curves {
        if let Ok(p) = r.get(3).unwrap().parse::<f64>() {
            let key = (r.get(0).unwrap().to_string(), r.get(1).unwrap().to_string());
            let prev = last.insert(key, p).unwrap_or(f64::MIN);
            assert!(p >= prev, "{r:?}");
        }
    }
    let svg = fs::read_to_string(dir.join("compare/convergence.svg")).unwrap();
    assert!(
        svg.starts_with("<svg") && svg.contains("gp-ei"),
        "not a plot"
    );
    let summary = json(&dir.join("compare/summary.json"));
    assert!(
        summary["median_best"]["gp-ei"].as_f64().unwrap()
            > summary["median_best"]["default"].as_f64().unwrap()
    );
}

#[test]
fn tune_over_the_system_skips_collect_and_model() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = small_study(tmp.path(), None);
    edit_study(
        &dir,
        &[
            ("rates = [16000, 80000]", "rates = [16000]"),
            ("budget = 30", "budget = 16"),
            ("initial = 10", "initial = 8"),
            ("over = \"model\"", "over = \"system\""),
        ],
    );
    let out = ok(&["tune", s(&dir), "--workers", "2"]);
    assert!(
        out.contains("skipped") && out.contains("measured speedup"),
        "{out}"
    );
    assert!(!dir.join("collect").exists() && !dir.join("model").exists());
    assert_eq!(csv_rows(&dir.join("search/history.csv")).len(), 16);
    let v = json(&dir.join("validate/summary.json"));
    assert!(v["speedup_ratio"].as_f64().unwrap() > 1.0, "{v}");
}

/// A GP's mean extrapolates, and BO over it finds exactly the points where it is wildest
/// (on the quick-start study: a predicted ratio twice the best measured one, at a
/// configuration that could not start). The search optimises the GP's lower confidence
/// bound instead, which stays within what was measured.
#[test]
fn search_over_a_saved_gp_stays_within_the_measured_range() {
    let tmp = tempfile::tempdir().unwrap();
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/quickstart");
    let dir = tmp.path().join("gp");
    fs::create_dir_all(&dir).unwrap();
    fs::copy(example.join("flinktune.toml"), dir.join("flinktune.toml")).unwrap();
    edit_study(&dir, &[("rates = [16000, 80000]", "rates = [16000]")]);
    let mut text = fs::read_to_string(dir.join("flinktune.toml")).unwrap();
    text.push_str("\n[model]\nregressor = \"gp\"\n");
    fs::write(dir.join("flinktune.toml"), text).unwrap();
    for stage in ["generate", "collect", "model"] {
        ok(&[stage, s(&dir)]);
    }
    let out = ok(&["search", s(&dir)]);
    let measured: Vec<f64> = csv_rows(&dir.join("collect/trials.csv"))
        .iter()
        .filter(|r| r.get(4) == Some("pass"))
        .map(|r| {
            r.get(5).unwrap().parse::<f64>().unwrap() / r.get(6).unwrap().parse::<f64>().unwrap()
        })
        .collect();
    let best_measured = measured.iter().copied().fold(0.0, f64::max);
    let summary = json(&dir.join("search/summary.json"));
    let predicted = summary["best_perf"].as_f64().unwrap();
    assert!(
        predicted <= best_measured,
        "search returned a predicted ratio {predicted:.0}, best measured {best_measured:.0}:\n{out}"
    );
    // Every suggestion carries the GP's mean beside the bound the search optimised.
    let header = csv_header(&dir.join("search/history.csv"));
    let rows = csv_rows(&dir.join("search/history.csv"));
    let means = column(&header, &rows, "predicted_mean");
    let perfs = column(&header, &rows, "perf");
    for (m, p) in means.iter().zip(&perfs) {
        assert!(m.parse::<f64>().unwrap() >= p.parse::<f64>().unwrap());
    }
    // The configuration it found runs (the unbounded GP's did not).
    ok(&["validate", s(&dir)]);
    let v = json(&dir.join("validate/summary.json"));
    assert_eq!(v["best"]["passed"], 3, "{v}");
    // ... and measures what the search promised: at least its lower bound (less a 25%
    // allowance for noise), at most the GP's mean for it (plus the same allowance).
    let ratio = v["best"]["ratio"].as_f64().unwrap();
    let mean = perfs
        .iter()
        .zip(&means)
        .find(|(p, _)| (p.parse::<f64>().unwrap() - predicted).abs() < 1e-6 * predicted)
        .map(|(_, m)| m.parse::<f64>().unwrap())
        .expect("the best suggestion is in history.csv");
    assert!(
        ratio >= 0.75 * predicted && ratio <= 1.25 * mean,
        "bound {predicted:.0}, mean {mean:.0}, measured {ratio:.0}"
    );
}
