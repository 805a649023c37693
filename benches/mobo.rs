//! One multi-objective suggestion at 50 observations in 5 dimensions with 3 objectives
//! (GP fits from scratch for each objective, then the acquisition's candidate search),
//! EHVI and ParEGO, next to a single-objective GP-EI suggestion on the same points as the
//! baseline measured in the same run.
//!
//! Run with `cargo bench --bench mobo`.

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use flinktune::stages::search::multi::{Metrics, MoOptions, Mobo, Problem};
use flinktune::study::objectives::{parse_constraints, parse_objectives};
use opt::bo::{BayesOpt, BoOptions, Domain, Var};
use opt::mobo::Method as MoMethod;
use rand::SeedableRng;

const N: usize = 50;
const DIMS: usize = 5;

/// Three conflicting objectives (DTLZ2-like: points on a sphere octant pushed out by a
/// distance term) and a resource metric for the constrained variant.
fn metrics(x: &[f64]) -> Metrics {
    use std::f64::consts::FRAC_PI_2;
    let g: f64 = x[2..].iter().map(|v| (v - 0.5).powi(2)).sum();
    let r = 1.0 + g;
    let (a, b) = (x[0] * FRAC_PI_2, x[1] * FRAC_PI_2);
    Metrics::from([
        ("f1".into(), r * a.cos() * b.cos() + 0.01),
        ("f2".into(), r * a.cos() * b.sin() + 0.01),
        ("f3".into(), r * a.sin() + 0.01),
        ("cost".into(), 1.0 + x.iter().sum::<f64>()),
    ])
}

fn points() -> Vec<Vec<f64>> {
    let domain = Domain::new(vec![Var::Continuous; DIMS]);
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    (0..N).map(|_| domain.random_point(&mut rng)).collect()
}

fn mobo(method: MoMethod, constrained: bool) -> Mobo {
    let list = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let problem = Problem {
        objectives: parse_objectives(&list(&["f1:min", "f2:min", "f3:min"])).unwrap(),
        constraints: if constrained {
            parse_constraints(&list(&["cost <= 3.5"])).unwrap()
        } else {
            vec![]
        },
    };
    let mut m = Mobo::new(
        Domain::new(vec![Var::Continuous; DIMS]),
        problem,
        MoOptions {
            method,
            initial: 10,
            seed: 3,
            ..MoOptions::default()
        },
    )
    .unwrap();
    for x in points() {
        m.replay(&x, Some(metrics(&x))).unwrap();
    }
    m
}

fn bench_mobo(c: &mut Criterion) {
    let mut g = c.benchmark_group("mobo");
    g.sample_size(10);
    for (name, method, constrained) in [
        ("ehvi", MoMethod::Ehvi, false),
        ("ehvi_constrained", MoMethod::Ehvi, true),
        ("parego", MoMethod::Parego, false),
    ] {
        g.bench_function(format!("suggest_{name}_n{N}_d{DIMS}_m3"), |b| {
            b.iter_batched(
                || mobo(method, constrained),
                |mut m| {
                    let s = m.ask_batch(1).unwrap();
                    assert!(
                        !s[0].initial,
                        "the bench must measure a model-based suggestion"
                    );
                    s
                },
                BatchSize::LargeInput,
            )
        });
    }
    // Baseline: one single-objective GP-EI suggestion on the same points (f1 only).
    g.bench_function(format!("baseline_single_objective_ei_n{N}_d{DIMS}"), |b| {
        b.iter_batched(
            || {
                let mut bo = BayesOpt::new(
                    Domain::new(vec![Var::Continuous; DIMS]),
                    BoOptions {
                        initial: 0,
                        candidates: MoOptions::default().candidates,
                        seed: 3,
                        ..BoOptions::default()
                    },
                )
                .unwrap();
                for x in points() {
                    let y = -metrics(&x)["f1"];
                    bo.tell(x, y).unwrap();
                }
                bo
            },
            |mut bo| bo.ask().unwrap(),
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, bench_mobo);
criterion_main!(benches);
