//! The multi-objective search over the system: the simulator (p99 latency against busy
//! cores) and a shell adapter that also reports a recovery time (for constraints).

mod common;

use common::*;
use flinktune::stages::search::multi::{self, Metrics, Problem};
use flinktune::study::Study;
use flinktune::trial::adapter::{Adapter, TrialSpec};
use opt::pareto;
use rand::SeedableRng;
use std::fs;
use std::path::Path;

/// A small system-search study with the given multi-objective lines.
fn mo_study(tmp: &Path, adapter: Option<&str>, budget: u32, extra: &str) -> std::path::PathBuf {
    let dir = small_study(tmp, adapter);
    edit_study(
        &dir,
        &[
            ("rates = [16000, 80000]", "rates = [16000]"),
            ("budget = 30", &format!("budget = {budget}")),
            ("initial = 10", "initial = 8"),
            ("over = \"model\"", &format!("over = \"system\"\n{extra}")),
        ],
    );
    dir
}

/// history.csv as (status, feasible, pareto, metric values by name) rows.
struct History {
    header: Vec<String>,
    rows: Vec<csv::StringRecord>,
}

impl History {
    fn read(path: &Path) -> History {
        History {
            header: csv_header(path),
            rows: csv_rows(path),
        }
    }
    fn col(&self, name: &str) -> Vec<&str> {
        column(&self.header, &self.rows, name)
    }
    fn num(&self, name: &str) -> Vec<Option<f64>> {
        self.col(name).iter().map(|v| v.parse().ok()).collect()
    }
}

#[test]
fn the_front_written_by_a_search_on_the_simulator_is_non_dominated_and_resumes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = mo_study(
        tmp.path(),
        None,
        24,
        "objectives = [\"latency_p99_ms:min\", \"cpu_cores:min\"]",
    );
    let out = ok(&["search", s(&dir)]);
    assert!(out.contains("multi-objective search"), "{out}");
    let search_dir = dir.join("search");
    let h = History::read(&search_dir.join("history.csv"));
    assert_eq!(h.rows.len(), 24);
    let (lat, cpu) = (h.num("latency_p99_ms"), h.num("cpu_cores"));
    let (feasible, on_front) = (h.col("feasible"), h.col("pareto"));
    let points: Vec<(usize, Vec<f64>)> = (0..h.rows.len())
        .filter(|&i| feasible[i] == "true")
        .map(|i| (i, vec![lat[i].unwrap(), cpu[i].unwrap()]))
        .collect();
    assert!(points.len() >= 10, "only {} evaluations ran", points.len());
    // Every front point is dominated by no evaluation; every other one that ran is.
    for (i, p) in &points {
        let dominated = points.iter().any(|(_, q)| pareto::dominates(q, p));
        assert_eq!(on_front[*i] == "true", !dominated, "row {i}: {p:?}");
    }
    // pareto.csv lists exactly the front, the best and the knee among it.
    let front = History::read(&search_dir.join("pareto.csv"));
    let front_iters: Vec<&str> = front.col("iteration");
    let marked: Vec<String> = (0..h.rows.len())
        .filter(|&i| on_front[i] == "true")
        .map(|i| i.to_string())
        .collect();
    assert_eq!(front_iters, marked);
    assert_eq!(
        front.col("best").iter().filter(|b| **b == "true").count(),
        1
    );
    assert_eq!(
        front.col("knee").iter().filter(|b| **b == "true").count(),
        1
    );
    let summary = json(&search_dir.join("summary.json"));
    // Without constraints the best is the lowest p99 that ran.
    let best = summary["best_iteration"].as_u64().unwrap() as usize;
    let lowest = points
        .iter()
        .min_by(|a, b| a.1[0].total_cmp(&b.1[0]))
        .unwrap()
        .0;
    assert_eq!(best, lowest);
    assert!(summary["hypervolume"].as_f64().unwrap() > 0.0);
    assert!(summary["knee"]["iteration"].is_u64());
    assert!(search_dir.join("best/conf").is_dir());
    let svg = fs::read_to_string(search_dir.join("pareto.svg")).unwrap();
    assert!(svg.contains("<circle") && svg.contains("Pareto front"));
    assert!(
        fs::read_to_string(search_dir.join("report.md"))
            .unwrap()
            .contains("knee")
    );
    // validate reads the best like a single-objective search's.
    let out = ok(&["validate", s(&dir)]);
    assert!(out.contains("speedup"), "{out}");

    // Resume: an interrupted search (its folder still partial, the journal cut after 10
    // evaluations, the last line torn) continues from the journal.
    let partial = dir.join(".search.partial");
    fs::rename(&search_dir, &partial).unwrap();
    fs::remove_file(partial.join("summary.json")).unwrap();
    let journal = fs::read_to_string(partial.join(multi::JOURNAL)).unwrap();
    let lines: Vec<&str> = journal.lines().collect();
    assert_eq!(lines.len(), 25, "a header and 24 steps");
    let kept = format!("{}\n{}", lines[..11].join("\n"), &lines[11][..20]);
    fs::write(partial.join(multi::JOURNAL), kept).unwrap();
    let out = ok(&["search", s(&dir)]);
    assert!(out.contains("24 evaluations"), "{out}");
    let again = fs::read_to_string(search_dir.join(multi::JOURNAL)).unwrap();
    let again: Vec<&str> = again.lines().collect();
    assert_eq!(again.len(), 25);
    assert_eq!(
        again[..11],
        lines[..11],
        "the replayed steps are kept as they were"
    );

    // Changing the objectives makes an interrupted journal another search's.
    fs::rename(&search_dir, &partial).unwrap();
    fs::remove_file(partial.join("summary.json")).unwrap();
    edit_study(&dir, &[("\"cpu_cores:min\"", "\"memory_mb:min\"")]);
    let err = fails(&["search", s(&dir)]);
    assert!(err.contains("--restart"), "{err}");
    ok(&["search", s(&dir), "--restart"]);
}

/// Hypervolumes (common scale) of the search in `dir` and of as many uniformly random
/// configurations measured on the same simulated system (repeats averaged as the search
/// does), random draws seeded with `seed`.
fn search_and_random_hypervolume(dir: &Path, seed: u64) -> (f64, f64) {
    let study = Study::load(dir).unwrap();
    let problem = Problem::of(&study).unwrap();
    let h = History::read(&dir.join("search/history.csv"));
    let budget = h.rows.len();
    let metrics_of = |i: usize| -> Option<Metrics> {
        let m: Metrics = problem
            .required()
            .iter()
            .filter_map(|k| h.num(k)[i].map(|v| (k.clone(), v)))
            .collect();
        (h.col("status")[i] == "pass").then_some(m)
    };
    let mobo_runs: Vec<Option<Metrics>> = (0..budget).map(metrics_of).collect();
    let domain = flinktune::study::encoding::domain(&study.space);
    let Adapter::Sim {
        cluster,
        workload,
        noise,
        flink,
    } = flinktune::trial::runner::adapter_of(&study)
    else {
        panic!("the study uses the simulator")
    };
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let trial = dir.join("random-trial");
    let random_runs: Vec<Option<Metrics>> = (0..budget)
        .map(|_| {
            let config = flinktune::study::encoding::decode(
                &study.space,
                &domain,
                &domain.random_point(&mut rng),
            );
            let mut sums = Metrics::new();
            let mut passed = 0;
            for repeat in 0..study.file.repeats {
                let _ = fs::remove_dir_all(&trial);
                study.write_config_dir(&config, &trial, "random").unwrap();
                let spec = TrialSpec {
                    dir: trial.clone(),
                    rate: study.search_rate(),
                    duration_s: study.file.duration_s,
                    repeat,
                    seed: study.file.seed,
                    worker: 0,
                };
                let outcome =
                    flinktune::trial::adapter::run_sim(&spec, &cluster, (workload, flink), noise);
                let Some(m) = outcome.measurement() else {
                    continue;
                };
                passed += 1;
                *sums.entry("latency_p99_ms".into()).or_default() += m.latency_p99_ms;
                *sums.entry("cpu_cores".into()).or_default() +=
                    outcome.metric("cpu_cores").unwrap();
            }
            (passed > 0).then(|| {
                sums.into_iter()
                    .map(|(k, v)| (k, v / passed as f64))
                    .collect()
            })
        })
        .collect();
    let hv = multi::common_hypervolumes(&problem, &[mobo_runs, random_runs]);
    (hv[0], hv[1])
}

/// The seed experiment's setting (30 evaluations) on its first three seeds: MOBO's median
/// hypervolume is at least random search's at an equal budget. One seed alone flips with
/// small changes to the search (single ratios in the README range from 0.73 to 1.22).
#[test]
fn mobo_finds_more_hypervolume_than_random_search_at_equal_budget() {
    let tmp = tempfile::tempdir().unwrap();
    let mut ratios = vec![];
    for seed in 1..=3u64 {
        let dir = mo_study(
            &tmp.path().join(seed.to_string()),
            None,
            30,
            "objectives = [\"latency_p99_ms:min\", \"cpu_cores:min\"]",
        );
        edit_study(&dir, &[("seed = 42", &format!("seed = {seed}"))]);
        ok(&["search", s(&dir)]);
        let (mobo, random) = search_and_random_hypervolume(&dir, seed);
        ratios.push((mobo / random, mobo, random));
    }
    ratios.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (ratio, mobo, random) = ratios[1];
    assert!(
        ratio >= 1.0,
        "median: hypervolume of 30 MOBO evaluations {mobo:.4} < random search's {random:.4} ({ratios:?})"
    );
}

/// The experiment behind BENCHMARKS.md's numbers: EHVI and ParEGO against random search over
/// several seeds. `cargo test --test mobo -- --ignored --nocapture`
#[test]
#[ignore = "the experiment behind BENCHMARKS.md's figures: about a minute (cargo test --test mobo -- --ignored --nocapture)"]
fn mobo_against_random_over_seeds() {
    let tmp = tempfile::tempdir().unwrap();
    let mut table: Vec<(String, Vec<f64>)> = vec![];
    for method in ["ehvi", "parego"] {
        let mut ratios = vec![];
        for seed in 1..=7u64 {
            let dir = mo_study(
                &tmp.path().join(format!("{method}-{seed}")),
                None,
                30,
                &format!(
                    "objectives = [\"latency_p99_ms:min\", \"cpu_cores:min\"]\nmulti_objective = \"{method}\""
                ),
            );
            edit_study(&dir, &[("seed = 42", &format!("seed = {seed}"))]);
            ok(&["search", s(&dir)]);
            let (m, r) = search_and_random_hypervolume(&dir, seed);
            println!("{method} seed {seed}: hypervolume {m:.4} vs random {r:.4}");
            ratios.push(m / r);
        }
        table.push((method.to_string(), ratios));
    }
    for (method, mut ratios) in table {
        ratios.sort_by(f64::total_cmp);
        let median = ratios[ratios.len() / 2];
        println!("{method}: median hypervolume ratio to random search {median:.3} ({ratios:?})");
        assert!(median >= 1.0, "{method}");
    }
}

/// A shell adapter: the simulator, plus a recovery time that grows with the checkpoint
/// interval (5 s + the interval, replacing the simulator's own), missing when the interval
/// is below 100 ms.
fn recovery_adapter(tmp: &Path) -> String {
    let script = tmp.join("adapter.sh");
    fs::write(
        &script,
        format!(
            r#"#!/bin/sh
'{BIN}' sim-adapter || exit $?
exec python3 - <<'PY'
import json
r = json.load(open('result.json'))
c = json.load(open('config.json'))
if r.get('status') == 'pass' and c.get('execution.checkpointing.interval', 600000) >= 100:
    r['recovery_time_s'] = 5 + c.get('execution.checkpointing.interval', 600000) / 1000
else:
    r.pop('recovery_time_s', None)
json.dump(r, open('result.json', 'w'))
PY
"#
        ),
    )
    .unwrap();
    format!("sh {}", script.display())
}

#[test]
fn constraints_bind_the_chosen_best_and_a_missing_metric_fails_the_trial() {
    let tmp = tempfile::tempdir().unwrap();
    let adapter = recovery_adapter(tmp.path());
    let dir = mo_study(
        tmp.path(),
        Some(&adapter),
        20,
        "objectives = [\"latency_p99_ms:min\", \"cpu_cores:min\", \"recovery_time_s:min\"]\n\
         constraints = [\"recovery_time_s <= 180\"]\n\
         enqueue = [\"tight-checkpoints.toml\"]",
    );
    // Enqueued first: a configuration whose result lacks the recovery time.
    fs::write(
        dir.join("tight-checkpoints.toml"),
        "\"execution.checkpointing.interval\" = 50\n",
    )
    .unwrap();
    ok(&["search", s(&dir)]);
    let h = History::read(&dir.join("search/history.csv"));
    let (recovery, feasible, status, reason) = (
        h.num("recovery_time_s"),
        h.col("feasible"),
        h.col("status"),
        h.col("reason"),
    );
    for i in 0..h.rows.len() {
        if feasible[i] == "true" {
            assert!(recovery[i].unwrap() <= 180.0, "row {i}");
        }
    }
    // Trials whose result lacked the field failed, saying which field; no other did.
    let interval = h.num("execution.checkpointing.interval");
    let named: Vec<usize> = (0..h.rows.len())
        .filter(|&i| reason[i].contains("`recovery_time_s`"))
        .collect();
    assert!(named.contains(&0), "the enqueued trial did not come first");
    for i in 0..h.rows.len() {
        if interval[i].unwrap() < 100.0 {
            assert_ne!(status[i], "pass", "row {i}");
        }
        if named.contains(&i) {
            assert_eq!(status[i], "fail");
            assert!(interval[i].unwrap() < 100.0, "row {i}");
        }
    }
    let summary = json(&dir.join("search/summary.json"));
    assert_eq!(summary["constraints_met"], true);
    let best = summary["best_metrics"]["recovery_time_s"].as_f64().unwrap();
    assert!(best <= 180.0, "the best recovers in {best} s");
    // Three objectives: three pairwise panels.
    let svg = fs::read_to_string(dir.join("search/pareto.svg")).unwrap();
    assert_eq!(
        svg.matches("recovery_time_s (s, lower is better)").count(),
        2,
        "two panels show it"
    );
}

#[test]
fn bad_objectives_and_constraints_name_the_file_line_and_key() {
    let tmp = tempfile::tempdir().unwrap();
    for (k, (lines, key, why)) in [
        ("objectives = [\"latency_p99_ms:fast\", \"cpu_cores:min\"]", "search.objectives", "min or max"),
        ("objectives = [\"latency_p99_ms:min\"]", "search.objectives", "at least two"),
        (
            "objectives = [\"latency_p99_ms:min\", \"cpu_cores:min\"]\nconstraints = [\"recovery_time_s < 180\"]",
            "search.constraints",
            "<metric> <=",
        ),
        ("constraints = [\"recovery_time_s <= 180\"]", "search.constraints", "two or more"),
    ]
    .into_iter()
    .enumerate()
    {
        let dir = tmp.path().join(k.to_string());
        let dir = mo_study(&dir, None, 20, lines);
        let err = fails(&["search", s(&dir)]);
        assert!(err.contains("flinktune.toml:") && err.contains(key) && err.contains(why), "{err}");
    }
}

/// Four objectives over the simulator — p99 latency, busy cores, memory and recovery time —
/// with EHVI over 60 evaluations, end to end: the written front is exactly the evaluations
/// that ran and no other beats in all four, and the front's hypervolume grows past the
/// design's (its first 8 evaluations) on a common scale.
#[test]
fn a_four_objective_search_of_60_evaluations_on_the_simulator() {
    let tmp = tempfile::tempdir().unwrap();
    let names = [
        "latency_p99_ms",
        "cpu_cores",
        "memory_mb",
        "recovery_time_s",
    ];
    let objectives: Vec<String> = names.iter().map(|n| format!("\"{n}:min\"")).collect();
    let dir = mo_study(
        tmp.path(),
        None,
        60,
        &format!("objectives = [{}]", objectives.join(", ")),
    );
    ok(&["search", s(&dir)]);
    let h = History::read(&dir.join("search/history.csv"));
    assert_eq!(h.rows.len(), 60);
    let cols: Vec<Vec<Option<f64>>> = names.iter().map(|n| h.num(n)).collect();
    let (status, feasible, on_front) = (h.col("status"), h.col("feasible"), h.col("pareto"));
    let points: Vec<(usize, Vec<f64>)> = (0..h.rows.len())
        .filter(|&i| feasible[i] == "true")
        .map(|i| (i, cols.iter().map(|c| c[i].unwrap()).collect()))
        .collect();
    assert!(points.len() >= 20, "only {} evaluations ran", points.len());
    for (i, p) in &points {
        let dominated = points.iter().any(|(_, q)| pareto::dominates(q, p));
        assert_eq!(on_front[*i] == "true", !dominated, "row {i}: {p:?}");
    }
    let study = Study::load(&dir).unwrap();
    let problem = Problem::of(&study).unwrap();
    let runs: Vec<Option<Metrics>> = (0..h.rows.len())
        .map(|i| {
            (status[i] == "pass").then(|| {
                names
                    .iter()
                    .zip(&cols)
                    .map(|(n, c)| (n.to_string(), c[i].unwrap()))
                    .collect()
            })
        })
        .collect();
    let hv = multi::common_hypervolumes(&problem, &[runs[..8].to_vec(), runs[..30].to_vec(), runs]);
    assert!(hv[0] > 0.0, "{hv:?}");
    assert!(
        hv[1] >= hv[0] && hv[2] > hv[0],
        "hypervolume after 8, 30, 60: {hv:?}"
    );
    assert!(
        json(&dir.join("search/summary.json"))["hypervolume"]
            .as_f64()
            .unwrap()
            > 0.0
    );
}
