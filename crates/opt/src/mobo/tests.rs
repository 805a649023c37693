use std::collections::HashSet;

use super::*;
use crate::bo::{Domain, Var};

/// ZDT1 on two variables: metrics `[a, b, c]`, `a` and `b` minimised, `c = x0 + x1 <= 0.9`;
/// x0 > 0.95 does not run.
fn zdt(x: &[f64]) -> Option<Vec<f64>> {
    if x[0] > 0.95 {
        return None;
    }
    let g = 1.0 + 9.0 * x[1];
    Some(vec![
        x[0] + 0.01,
        g * (1.0 - (x[0] / g).sqrt()) + 0.01,
        x[0] + x[1],
    ])
}

fn zdt_problem() -> Problem {
    let min = |metric| Objective {
        metric,
        sense: Sense::Min,
    };
    Problem {
        metrics: 3,
        objectives: vec![min(0), min(1)],
        constraints: vec![Constraint {
            metric: 2,
            bound: Bound::AtMost,
            limit: 0.9,
        }],
    }
}

#[test]
fn suggestions_are_valid_new_and_beat_random_search() {
    let domain = Domain::new(vec![Var::Continuous, Var::Continuous]);
    for method in [Method::Ehvi, Method::Parego] {
        let opts = MoOptions {
            method,
            initial: 8,
            candidates: 300,
            seed: 1,
            ..MoOptions::default()
        };
        let mut mobo = Mobo::new(domain.clone(), zdt_problem(), opts).unwrap();
        let mut seen = HashSet::new();
        let mut runs = vec![];
        while runs.len() < 24 {
            for s in mobo.ask_batch(3).unwrap() {
                assert_eq!(domain.project(&s.x), s.x);
                assert!(s.acquisition.is_none_or(|a| !a.is_nan()));
                assert!(seen.insert(s.x.iter().map(|v| v.to_bits()).collect::<Vec<_>>()));
                let m = zdt(&s.x);
                mobo.tell(&s.x, m.clone()).unwrap();
                runs.push(m);
            }
        }
        let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(1);
        let random: Vec<Option<Vec<f64>>> = (0..24)
            .map(|_| zdt(&domain.random_point(&mut rng)))
            .collect();
        let hv = common_hypervolumes(&zdt_problem(), &[runs, random]);
        assert!(hv[0] > hv[1], "{method:?}: {hv:?}");
    }
}

#[test]
fn a_non_finite_value_counts_as_not_run_and_a_wrong_length_is_an_error() {
    let domain = Domain::new(vec![Var::Continuous]);
    let mut mobo = Mobo::new(domain, zdt_problem(), MoOptions::default()).unwrap();
    mobo.tell(&[0.5], Some(vec![1.0, f64::NAN, 0.0])).unwrap();
    assert!(mobo.results()[0].is_none());
    assert!(mobo.tell(&[0.6], Some(vec![1.0])).is_err());
    let mut bad = zdt_problem();
    bad.constraints[0].metric = 3;
    assert!(
        Mobo::new(
            Domain::new(vec![Var::Continuous]),
            bad,
            MoOptions::default()
        )
        .is_err()
    );
}

#[test]
fn violation_is_relative_to_the_bound_and_zero_when_met() {
    let p = zdt_problem();
    assert_eq!(p.violation(&[0.0, 0.0, 0.99]), (0.99 - 0.9) / 0.9);
    assert_eq!(p.violation(&[0.0, 0.0, 0.5]), 0.0);
    assert_eq!(p.violation(&[0.0, 0.0, 0.5]).to_bits(), 0.0f64.to_bits());
}
