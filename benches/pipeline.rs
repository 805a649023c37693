//! Benchmarks of the pipeline's compute-heavy steps: one simulated trial, the forest fit and
//! prediction on a paper-sized data set (1000 configurations × 30 parameters + rate, 100
//! trees), one BO suggestion at several sizes, and a whole search over the model.
//!
//! Run with `cargo bench`; data come from the simulator, so they have the shape of real
//! tuning data (failures, saturation, log-scale effects).

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use flink::objective::{Measurement, Objective};
use flink::sim::{self, Cluster, SimJob, SimOutcome, Workload};
use flink::space::sample_configs;
use flinktune::stages::model::{self, Dataset, PerfModel};
use flinktune::study::regressor::Regressor;
use flinktune::study::{Study, template};
use opt::bo::{BayesOpt, BoOptions, Domain, Var};
use std::hint::black_box;

const RATE: u64 = 16_000;

fn study() -> (tempfile::TempDir, Study) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("flinktune.toml"), template(None)).unwrap();
    let study = Study::load(dir.path()).unwrap();
    (dir, study)
}

fn job(repeat: u32) -> SimJob {
    SimJob {
        workload: Workload::Wordcount,
        rate: RATE as f64,
        duration_s: 60.0,
        repeat,
        seed: 1,
        noise: 0.03,
        ..SimJob::default()
    }
}

/// 1000 sampled configurations measured by the simulator, as the model stage sees them.
fn dataset(study: &Study, n: usize) -> Dataset {
    let configs = sample_configs(&study.space, n, 11);
    let cluster = Cluster::default();
    let mut rows = Vec::new();
    let mut perf = Vec::new();
    for c in &configs {
        rows.extend(model::features(&study.space, c, RATE));
        perf.push(
            match sim::simulate(&study.effective_conf(c), &cluster, &job(0)) {
                SimOutcome::Pass(m) => Objective::Ratio.perf(&[Measurement {
                    throughput: m.throughput,
                    latency_p99_ms: m.latency_p99_ms,
                }]),
                SimOutcome::Fail { .. } => None,
            },
        );
    }
    Dataset {
        x: ndarray::Array2::from_shape_vec((n, study.space.len() + 1), rows).unwrap(),
        perf,
        configs: (0..n).map(|i| format!("c{i}")).collect(),
        rates: vec![RATE; n],
    }
}

fn bench_sim(c: &mut Criterion) {
    let (_d, study) = study();
    let configs = sample_configs(&study.space, 64, 3);
    let confs: Vec<_> = configs.iter().map(|c| study.effective_conf(c)).collect();
    let cluster = Cluster::default();
    let mut i = 0;
    c.bench_function("sim/one_trial", |b| {
        b.iter(|| {
            i = (i + 1) % confs.len();
            black_box(sim::simulate(&confs[i], &cluster, &job(0)))
        })
    });
}

fn bench_forest(c: &mut Criterion) {
    let (_d, study) = study();
    let data = dataset(&study, 1000);
    let names = model::feature_names(&study.space);
    let mut g = c.benchmark_group("forest");
    g.sample_size(10);
    g.bench_function("fit_1000x31_100_trees", |b| {
        b.iter(|| {
            PerfModel::fit(&data, Objective::Ratio, names.clone(), 1, Regressor::Forest).unwrap()
        })
    });
    // The performance forest alone, on the rows that ran (what scikit-learn is compared
    // with: scripts/sklearn_forest.py times RandomForestRegressor on the same CSV).
    let pass = data.passing();
    let x_pass = data.x.select(ndarray::Axis(0), &pass);
    let y: Vec<f64> = pass
        .iter()
        .map(|&i| Objective::Ratio.score(data.perf[i].unwrap()))
        .collect();
    export_csv(&x_pass, &y);
    g.bench_function(
        format!("perf_forest_fit_{}x31_100_trees", pass.len()),
        |b| b.iter(|| model::fit_forest(&x_pass, &y, 1).unwrap()),
    );
    // The full 1000 × 31 (every row, the feasibility label as target): the size the issue names.
    let all: Vec<f64> = data.perf.iter().map(|p| f64::from(p.is_some())).collect();
    g.bench_function("forest_fit_1000x31_100_trees", |b| {
        b.iter(|| model::fit_forest(&data.x, &all, 1).unwrap())
    });
    export_csv_named(&data.x, &all, "forest-1000x31-feasibility.csv");
    let model = PerfModel::fit(&data, Objective::Ratio, names, 1, Regressor::Forest).unwrap();
    let rows: Vec<Vec<f64>> = (0..1000).map(|i| data.x.row(i).to_vec()).collect();
    g.bench_function("predict_1000", |b| {
        b.iter(|| model.predict_score(black_box(&rows)).unwrap())
    });
    g.finish();
}

fn export_csv(x: &ndarray::Array2<f64>, y: &[f64]) {
    export_csv_named(x, y, "forest-perf.csv");
}

/// Writes the features and target to `target/<name>` for scripts/sklearn_forest.py.
fn export_csv_named(x: &ndarray::Array2<f64>, y: &[f64], name: &str) {
    let dir = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    let path = std::path::Path::new(&dir).join(name);
    let mut out = String::new();
    let d = x.ncols();
    out.push_str(
        &(0..d)
            .map(|j| format!("x{j}"))
            .collect::<Vec<_>>()
            .join(","),
    );
    out.push_str(",y\n");
    for (row, v) in x.rows().into_iter().zip(y) {
        for c in row {
            out.push_str(&format!("{c},"));
        }
        out.push_str(&format!("{v}\n"));
    }
    let _ = std::fs::create_dir_all(&dir);
    std::fs::write(&path, out).unwrap();
}

/// A smooth 30-dimensional test function with a few relevant dimensions.
fn smooth(x: &[f64]) -> f64 {
    -(x[0] - 0.3).powi(2) - 2.0 * (x[1] - 0.7).powi(2) + (3.0 * x[2]).sin() + 0.1 * x[3]
}

fn bench_bo(c: &mut Criterion) {
    let mut g = c.benchmark_group("bo");
    g.sample_size(10);
    for n in [50, 100, 200] {
        let setup = || {
            let domain = Domain::new(vec![Var::Continuous; 30]);
            let mut bo = BayesOpt::new(
                domain.clone(),
                // No design points: the first ask fits the GP and optimises EI.
                BoOptions {
                    initial: 0,
                    seed: 5,
                    ..BoOptions::default()
                },
            )
            .unwrap();
            let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(n as u64);
            for _ in 0..n {
                let x = domain.random_point(&mut rng);
                let y = smooth(&x);
                bo.tell(x, y).unwrap();
            }
            bo
        };
        // The first model-based ask fits the hyperparameters from scratch (with restarts).
        g.bench_function(format!("suggest_cold_n{n}_d30"), |b| {
            b.iter_batched(
                setup,
                |mut bo| {
                    let s = bo.ask().unwrap();
                    assert!(
                        !s.initial,
                        "the bench must measure a model-based suggestion"
                    );
                    s
                },
                BatchSize::LargeInput,
            )
        });
    }
    g.finish();
}

fn bench_search(c: &mut Criterion) {
    let (_d, study) = study();
    let data = dataset(&study, 300);
    let model = PerfModel::fit(
        &data,
        Objective::Ratio,
        model::feature_names(&study.space),
        1,
        Regressor::Forest,
    )
    .unwrap();
    let mut g = c.benchmark_group("search");
    g.sample_size(10);
    g.bench_function("over_model_budget_100", |b| {
        b.iter(|| {
            let opts = opt::bo::BoOptions {
                initial: 20,
                seed: 3,
                ..Default::default()
            };
            flinktune::stages::search::single::optimise_model(&study, &model, RATE, 100, opts)
                .unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, bench_sim, bench_forest, bench_bo, bench_search);
criterion_main!(benches);
