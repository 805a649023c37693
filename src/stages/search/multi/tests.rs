use super::*;
use crate::study::objectives::{Bound, Sense, parse_constraints, parse_objectives};
use opt::bo::{Domain, Var};
use rand::SeedableRng;
use rand::rngs::StdRng;
use std::collections::HashSet;

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn objectives_and_constraints_parse_or_say_why_not() {
    let o = parse_objectives(&strings(&["latency_p99_ms:min", " throughput : max "])).unwrap();
    assert_eq!(o[1].metric, "throughput");
    assert_eq!(o[1].sense, Sense::Max);
    assert_eq!(o[0].to_string(), "latency_p99_ms:min");
    for (bad, why) in [
        ("latency_p99_ms", "should be"),
        ("latency_p99_ms:lowest", "min or max"),
        ("Latency P99:min", "not a result field"),
        ("9lives:min", "not a result field"),
    ] {
        let e = format!("{:#}", parse_objectives(&strings(&[bad])).unwrap_err());
        assert!(e.contains(why), "{bad}: {e}");
    }
    let e = parse_objectives(&strings(&["cpu_cores:min", "cpu_cores:max"])).unwrap_err();
    assert!(e.to_string().contains("twice"));
    // An unknown but plausible field is accepted: the adapter may report it.
    assert!(parse_objectives(&strings(&["gc_pause_ms:min"])).is_ok());

    let c = parse_constraints(&strings(&["recovery_time_s <= 180", "throughput>=1e4"])).unwrap();
    assert_eq!(c[0].bound, Bound::AtMost);
    assert_eq!(c[0].limit, 180.0);
    assert_eq!(c[1].bound, Bound::AtLeast);
    assert_eq!(c[1].limit, 10_000.0);
    assert_eq!(c[0].violation(200.0), 20.0 / 180.0);
    assert_eq!(c[0].violation(100.0), 0.0);
    for bad in [
        "recovery_time_s < 180",
        "recovery_time_s <= soon",
        "<= 3",
        "x <= inf",
    ] {
        assert!(parse_constraints(&strings(&[bad])).is_err(), "{bad}");
    }
}

/// ZDT1 on two variables (objectives `a`, `b`, both minimised) with the constraint
/// `c = x0 + x1 <= 0.9`; x0 > 0.95 does not run.
fn zdt(x: &[f64]) -> Option<Metrics> {
    if x[0] > 0.95 {
        return None;
    }
    let g = 1.0 + 9.0 * x[1];
    let a = x[0] + 0.01;
    let b = g * (1.0 - (x[0] / g).sqrt()) + 0.01;
    Some(Metrics::from([
        ("a".into(), a),
        ("b".into(), b),
        ("c".into(), x[0] + x[1]),
    ]))
}

fn zdt_problem() -> Problem {
    Problem {
        objectives: parse_objectives(&strings(&["a:min", "b:min"])).unwrap(),
        constraints: parse_constraints(&strings(&["c <= 0.9"])).unwrap(),
    }
}

fn run_mobo(
    method: MoMethod,
    seed: u64,
    budget: usize,
    batch: usize,
) -> Vec<(Vec<f64>, Option<Metrics>)> {
    let domain = Domain::new(vec![Var::Continuous, Var::Continuous]);
    let opts = MoOptions {
        method: mo_method(method),
        initial: 8,
        candidates: 300,
        seed,
        ..MoOptions::default()
    };
    let mut mobo = Mobo::new(domain.clone(), zdt_problem(), opts).unwrap();
    let mut out: Vec<(Vec<f64>, Option<Metrics>)> = Vec::new();
    let mut seen = HashSet::new();
    while out.len() < budget {
        for s in mobo.ask_batch(batch.min(budget - out.len())).unwrap() {
            // In range, projected, never NaN, never a repeat.
            assert!(s.x.iter().all(|v| (0.0..=1.0).contains(v)), "{:?}", s.x);
            assert_eq!(domain.project(&s.x), s.x);
            assert!(s.acquisition.is_none_or(|a| !a.is_nan()));
            assert!(seen.insert(s.x.iter().map(|v| v.to_bits()).collect::<Vec<_>>()));
            let m = zdt(&s.x);
            mobo.tell(&s.x, m.clone()).unwrap();
            out.push((s.x, m));
        }
    }
    out
}

fn random_search(seed: u64, budget: usize) -> Vec<Option<Metrics>> {
    let domain = Domain::new(vec![Var::Continuous, Var::Continuous]);
    let mut rng = StdRng::seed_from_u64(seed);
    (0..budget)
        .map(|_| zdt(&domain.random_point(&mut rng)))
        .collect()
}

#[test]
fn ehvi_and_parego_beat_random_search_at_equal_budget() {
    let problem = zdt_problem();
    for method in [MoMethod::Ehvi, MoMethod::Parego] {
        let mut wins = 0;
        for seed in 0..3 {
            let bo: Vec<Option<Metrics>> = run_mobo(method, seed, 30, 1)
                .into_iter()
                .map(|r| r.1)
                .collect();
            let hv = common_hypervolumes(&problem, &[bo, random_search(seed, 30)]);
            wins += usize::from(hv[0] > hv[1]);
        }
        assert!(
            wins >= 2,
            "{method:?} beat random search in {wins} of 3 seeds"
        );
    }
}

#[test]
fn batches_are_distinct_and_model_based_suggestions_mostly_respect_the_constraint() {
    let run = run_mobo(MoMethod::Ehvi, 4, 24, 4);
    let model_based = &run[8..];
    let feasible = model_based
        .iter()
        .filter(|(x, _)| x[0] + x[1] <= 0.9 && x[0] <= 0.95)
        .count();
    assert!(
        feasible * 4 >= model_based.len() * 3,
        "{feasible} of {}",
        model_based.len()
    );
}

#[test]
fn a_run_without_a_required_metric_counts_as_failed() {
    let domain = Domain::new(vec![Var::Continuous]);
    let mut mobo = Mobo::new(domain, zdt_problem(), MoOptions::default()).unwrap();
    mobo.tell(&[0.5], Some(Metrics::from([("a".into(), 1.0)])))
        .unwrap();
    assert!(mobo.inner.results()[0].is_none());
}
