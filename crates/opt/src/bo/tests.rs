use std::collections::HashSet;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use super::domain::key;
use super::observations::capped;
use super::*;
use crate::gp::FitOptions;
use crate::rgpe::Task;

#[test]
fn the_gp_sees_the_bad_half_capped_at_the_median() {
    assert_eq!(
        capped(&[5.0, -100.0, 1.0, 3.0, 2.0]),
        vec![5.0, 2.0, 2.0, 3.0, 2.0]
    );
    assert_eq!(capped(&[1.0]), vec![1.0]);
}

#[test]
fn feasibility_steers_suggestions_away_from_failing_regions() {
    // The objective peaks at x = 0.9, but everything above 0.5 fails.
    let f = |x: &[f64]| -(x[0] - 0.9).powi(2);
    let domain = Domain::new(vec![Var::Continuous]);
    let mut opt = BayesOpt::new(
        domain,
        BoOptions {
            initial: 4,
            seed: 3,
            ..BoOptions::default()
        },
    )
    .unwrap();
    opt.set_feasibility(Box::new(|xs: &[Vec<f64>]| {
        xs.iter()
            .map(|x| if x[0] > 0.5 { 0.0 } else { 1.0 })
            .collect()
    }));
    let mut model_based = 0;
    for _ in 0..15 {
        let s = opt.ask().unwrap();
        if !s.initial {
            model_based += 1;
            assert!(s.x[0] <= 0.5, "suggested a failing point {:?}", s.x);
        }
        let y = if s.x[0] > 0.5 { -1.0 } else { f(&s.x) };
        opt.tell(s.x, y).unwrap();
    }
    assert!(model_based >= 10);
    // It converges to the best feasible point, the boundary.
    assert!(opt.best().unwrap().0[0] > 0.45, "{:?}", opt.best());
}

#[test]
fn the_pass_model_finds_the_one_dimension_that_decides_failure() {
    // Five dimensions; a point fails when x2 > 0.6, whatever the others are.
    let mut rng = StdRng::seed_from_u64(8);
    let domain = Domain::new(vec![Var::Continuous; 5]);
    let (mut passed, mut failed) = (Vec::new(), Vec::new());
    for _ in 0..40 {
        let p = domain.random_point(&mut rng);
        if p[2] > 0.6 { &mut failed } else { &mut passed }.push(p);
    }
    let model = PassModel::fit(&passed, &failed, &FitOptions::default(), None)
        .unwrap()
        .unwrap();
    let ls = &model.hyper().log_lengthscales;
    let shortest = (0..5).min_by(|&a, &b| ls[a].total_cmp(&ls[b])).unwrap();
    assert_eq!(shortest, 2, "length-scales {ls:?}");
    let (mut right, mut total) = (0, 0);
    for _ in 0..200 {
        let p = domain.random_point(&mut rng);
        let q = model.probability(&p);
        assert!((0.0..=1.0).contains(&q));
        if (p[2] - 0.6).abs() > 0.1 {
            total += 1;
            right += usize::from((q > 0.5) == (p[2] <= 0.6));
        }
    }
    assert!(
        right * 10 >= total * 9,
        "{right} of {total} away from the boundary"
    );
    // One outcome only: no model.
    assert!(
        PassModel::fit(&passed, &[], &FitOptions::default(), None)
            .unwrap()
            .is_none()
    );
}

#[test]
fn failures_reach_the_surrogate_at_the_floor_of_the_capped_values() {
    let domain = Domain::new(vec![Var::Continuous]);
    let mut bo = BayesOpt::new(domain, BoOptions::default()).unwrap();
    for (x, y) in [(0.1, 1.0), (0.2, 3.0), (0.3, 2.0)] {
        bo.tell(vec![x], y).unwrap();
    }
    bo.tell_failure(&[0.9]).unwrap();
    let (xs, ys) = bo.surrogate_data();
    assert_eq!(xs.last().unwrap(), &vec![0.9]);
    assert_eq!(ys, vec![2.0, 3.0, 2.0, 2.0]);
    // The failure is not an observation of the objective.
    assert_eq!(bo.observations().1.len(), 3);
}

#[test]
fn a_batch_spreads_out_and_leaves_no_provisional_observations() {
    let domain = Domain::new(vec![Var::Continuous, Var::Continuous]);
    let mut opt = BayesOpt::new(
        domain,
        BoOptions {
            initial: 5,
            seed: 9,
            ..BoOptions::default()
        },
    )
    .unwrap();
    for _ in 0..5 {
        let s = opt.ask().unwrap();
        let y = -(s.x[0] - 0.3).powi(2) - (s.x[1] - 0.6).powi(2);
        opt.tell(s.x, y).unwrap();
    }
    let batch = opt.ask_batch(4).unwrap();
    assert_eq!(batch.len(), 4);
    assert_eq!(opt.observations().1.len(), 5);
    for (i, a) in batch.iter().enumerate() {
        for b in &batch[i + 1..] {
            assert_ne!(a.x, b.x);
        }
    }
}

#[test]
fn replayed_points_count_as_asked() {
    let domain = Domain::new(vec![Var::Continuous]);
    let mut opt = BayesOpt::new(
        domain,
        BoOptions {
            initial: 2,
            seed: 1,
            ..BoOptions::default()
        },
    )
    .unwrap();
    opt.replay(vec![0.1], 1.0).unwrap();
    opt.replay(vec![0.7], 2.0).unwrap();
    assert!(!opt.ask().unwrap().initial, "the design was started again");
}

fn run(opt: &mut BayesOpt, f: &dyn Fn(&[f64]) -> f64, evals: usize) {
    for _ in 0..evals {
        let s = opt.ask().unwrap();
        let y = f(&s.x);
        opt.tell(s.x, y).unwrap();
    }
}

/// Negated Branin on [0,1]²; maximum −0.397887 at three points.
fn neg_branin(p: &[f64]) -> f64 {
    use std::f64::consts::PI;
    let x1 = 15.0 * p[0] - 5.0;
    let x2 = 15.0 * p[1];
    let t = x2 - 5.1 / (4.0 * PI * PI) * x1 * x1 + 5.0 / PI * x1 - 6.0;
    -(t * t + 10.0 * (1.0 - 1.0 / (8.0 * PI)) * x1.cos() + 10.0)
}
const BRANIN_MAX: f64 = -0.397_887_357_729_738;

#[test]
fn project_dims_and_random_point() {
    let d = Domain::new(vec![
        Var::Continuous,
        Var::integer(5),
        Var::Categorical { choices: 3 },
        Var::integer(1),
    ]);
    assert_eq!(d.dims(), 6);
    assert_eq!(d.cardinality(), None);
    let p = d.project(&[1.7, 0.6, 0.2, 0.9, f64::NAN, 0.4]);
    assert_eq!(p, vec![1.0, 0.5, 0.0, 1.0, 0.0, 0.0]);
    assert_eq!(d.project(&p), p);
    let p = d.project(&[-0.0, 0.13, 0.5, 0.5, 0.1, 0.0]);
    assert_eq!(p, vec![0.0, 0.25, 1.0, 0.0, 0.0, 0.0]);
    let mut rng = StdRng::seed_from_u64(1);
    for _ in 0..100 {
        let p = d.random_point(&mut rng);
        assert_eq!(d.project(&p), p);
    }
    let disc = Domain::new(vec![Var::integer(3), Var::Categorical { choices: 2 }]);
    assert_eq!(disc.cardinality(), Some(6));
    let all = disc.enumerate();
    assert_eq!(all.len(), 6);
    assert_eq!(all.iter().map(|p| key(p)).collect::<HashSet<_>>().len(), 6);
    assert!(
        Domain::new(vec![Var::Categorical { choices: 0 }])
            .validate()
            .is_err()
    );
    assert!(Domain::new(vec![]).validate().is_err());
}

/// A switch (categorical) and an interval that acts only while the switch is on, plus a
/// free variable.
fn switched() -> Domain {
    let mut d = Domain::new(vec![
        Var::Categorical { choices: 2 },
        Var::integer(5),
        Var::Continuous,
    ]);
    d.conditions.push(Condition {
        var: 1,
        on: 0,
        choice: 1,
        rest: 0.7,
    });
    d
}

#[test]
fn a_variable_that_does_not_act_is_held_at_its_rest() {
    let d = switched();
    d.validate().unwrap();
    // Off: the interval snaps to the grid point nearest its rest, whatever it was.
    assert_eq!(d.project(&[0.9, 0.1, 0.0, 0.3]), vec![1.0, 0.0, 0.75, 0.3]);
    assert_eq!(d.project(&[0.9, 0.1, 1.0, 0.3]), vec![1.0, 0.0, 0.75, 0.3]);
    // On: the interval is the point's own.
    assert_eq!(d.project(&[0.1, 0.9, 0.0, 0.3]), vec![0.0, 1.0, 0.0, 0.3]);
    let mut rng = StdRng::seed_from_u64(2);
    for _ in 0..50 {
        let p = d.random_point(&mut rng);
        assert_eq!(d.project(&p), p);
        assert!(p[1] == 1.0 || p[2] == 0.75, "{p:?}");
    }
    // The exhaustive list holds the off points once each (5 intervals on, 1 off).
    let discrete = {
        let mut d = switched();
        d.vars.pop();
        d
    };
    let all: HashSet<_> = discrete.enumerate().iter().map(|p| key(p)).collect();
    assert_eq!(all.len(), 6);
    // Conditions that name no variable, a non-categorical switch, a missing choice or a
    // multi-dimensional dependent are refused.
    for (var, on, choice, rest) in [
        (1, 9, 1, 0.5),
        (1, 2, 0, 0.5),
        (1, 0, 2, 0.5),
        (0, 1, 0, 0.5),
        (1, 0, 1, 1.5),
    ] {
        let mut d = switched();
        d.conditions = vec![Condition {
            var,
            on,
            choice,
            rest,
        }];
        assert!(d.validate().is_err(), "{:?}", d.conditions);
    }
}

#[test]
fn the_incumbents_discrete_neighbours_change_one_variable_by_one_step() {
    let d = Domain::new(vec![
        Var::Continuous,
        Var::integer(5),
        Var::Categorical { choices: 3 },
        Var::integer(1),
        Var::integer(101),
    ]);
    let z = vec![0.3, 0.25, 0.0, 1.0, 0.0, 0.0, 0.5];
    let ns = super::candidates::neighbours(&d, &z);
    // Level 1 of 0..4 has two neighbours; the categorical's other two choices; nothing
    // for the continuous variable, the one-level grid or the fine grid (its next level,
    // 0.01 away, is a near copy of the incumbent).
    assert_eq!(
        ns,
        vec![
            vec![0.3, 0.0, 0.0, 1.0, 0.0, 0.0, 0.5],
            vec![0.3, 0.5, 0.0, 1.0, 0.0, 0.0, 0.5],
            vec![0.3, 0.25, 1.0, 0.0, 0.0, 0.0, 0.5],
            vec![0.3, 0.25, 0.0, 0.0, 1.0, 0.0, 0.5],
        ]
    );
    for n in &ns {
        assert_eq!(d.project(n), *n, "a neighbour is a valid point: {n:?}");
    }
    // At the ends of a grid only the inward step exists.
    let top = vec![0.3, 1.0, 1.0, 0.0, 0.0, 0.0, 0.5];
    let ns = super::candidates::neighbours(&d, &top);
    assert_eq!(ns.len(), 3);
    assert_eq!(ns[0][1], 0.75);
}

#[test]
fn bo_beats_random_search_on_branin() {
    let evals = 30;
    let domain = Domain::new(vec![Var::Continuous, Var::Continuous]);
    let mut bo = BayesOpt::new(domain.clone(), BoOptions::default()).unwrap();
    run(&mut bo, &neg_branin, evals);
    let bo_regret = BRANIN_MAX - bo.best().unwrap().1;

    let mut rng = StdRng::seed_from_u64(0);
    let rnd_best = (0..evals)
        .map(|_| neg_branin(&domain.random_point(&mut rng)))
        .fold(f64::NEG_INFINITY, f64::max);
    let rnd_regret = BRANIN_MAX - rnd_best;
    assert!(
        bo_regret < rnd_regret,
        "BO {bo_regret} vs random {rnd_regret}"
    );
    // Stated tolerance: within 0.1 of the optimum (f ranges over ~[0.4, 308]).
    assert!(
        bo_regret < 0.1,
        "BO regret {bo_regret} (random {rnd_regret})"
    );
}

#[test]
fn bo_solves_mixed_domain() {
    // Continuous c, integer k ∈ 0..5, categorical among 3.
    // Optimum 1.5 at c = 0.3, k = 3, category 2.
    let domain = Domain::new(vec![
        Var::Continuous,
        Var::integer(5),
        Var::Categorical { choices: 3 },
    ]);
    let f = |p: &[f64]| {
        let c = p[0];
        let k = (p[1] * 4.0).round();
        let cat = [0.0, 0.2, 0.5][(2..5).find(|&i| p[i] == 1.0).unwrap() - 2];
        1.0 - 2.0 * (c - 0.3).powi(2) - 0.1 * (k - 3.0).powi(2) + cat
    };
    let mut bo = BayesOpt::new(domain, BoOptions::default()).unwrap();
    run(&mut bo, &f, 25);
    let (x, y) = bo.best().unwrap();
    assert_eq!(x[1], 0.75, "integer level: {x:?}");
    assert_eq!(&x[2..], &[0.0, 0.0, 1.0], "category: {x:?}");
    assert!((x[0] - 0.3).abs() < 0.05, "continuous: {x:?}");
    assert!(1.5 - y < 0.01, "value {y}");
}

#[test]
fn small_discrete_domain_never_repeats_and_reports_exhaustion() {
    let domain = Domain::new(vec![Var::integer(3), Var::Categorical { choices: 2 }]);
    let opts = BoOptions {
        initial: 3,
        ..BoOptions::default()
    };
    let mut bo = BayesOpt::new(domain, opts).unwrap();
    let mut keys = HashSet::new();
    for i in 0..6 {
        let s = bo.ask().unwrap();
        assert_eq!(s.initial, i < 3);
        assert!(keys.insert(key(&s.x)), "repeat at ask {i}: {:?}", s.x);
        let y = s.x[0] + s.x[1];
        bo.tell(s.x, y).unwrap();
    }
    let err = bo.ask().unwrap_err();
    assert!(err.to_string().contains("exhausted"), "{err}");
}

#[test]
fn suggestions_are_valid_projected_and_new_property() {
    let mut meta = StdRng::seed_from_u64(42);
    for case in 0..20u64 {
        let nvars = meta.random_range(1..5);
        let vars: Vec<Var> = (0..nvars)
            .map(|_| match meta.random_range(0..3) {
                0 => Var::Continuous,
                1 => Var::integer(meta.random_range(1..5)),
                _ => Var::Categorical {
                    choices: meta.random_range(1..4),
                },
            })
            .collect();
        let domain = Domain::new(vars);
        let opts = BoOptions {
            initial: 3,
            candidates: 200,
            local_starts: 2,
            local_steps: 15,
            fit: FitOptions {
                restarts: 1,
                max_iters: 20,
                seed: case,
                ..FitOptions::default()
            },
            seed: case,
            ..BoOptions::default()
        };
        let mut bo = BayesOpt::new(domain.clone(), opts).unwrap();
        // Half the cases weigh by a caller's feasibility (the lazily evaluated path);
        // all tell failures (the learnt feasibility model and the imputed floor).
        if case % 2 == 0 {
            bo.set_feasibility(Box::new(|xs: &[Vec<f64>]| {
                xs.iter()
                    .map(|x| if x[0] > 0.8 { 0.0 } else { 0.9 })
                    .collect()
            }));
        }
        let w: Vec<f64> = (0..domain.dims())
            .map(|_| meta.random_range(-1.0..1.0))
            .collect();
        let mut keys = HashSet::new();
        for _ in 0..12 {
            let s = match bo.ask() {
                Ok(s) => s,
                Err(e) => {
                    // Only legitimate for a finite, fully used domain.
                    let c = domain.cardinality().expect("continuous domain exhausted?");
                    assert_eq!(keys.len() as u128, c, "{e}");
                    break;
                }
            };
            assert!(s.x.iter().all(|v| v.is_finite() && (0.0..=1.0).contains(v)));
            assert_eq!(domain.project(&s.x), s.x);
            assert!(keys.insert(key(&s.x)), "case {case}: repeat {:?}", s.x);
            for v in [s.acquisition, s.mean, s.std].into_iter().flatten() {
                assert!(!v.is_nan());
            }
            let y: f64 = s.x.iter().zip(&w).map(|(a, b)| a * b).sum::<f64>().sin();
            if y < -0.5 {
                bo.tell_failure(&s.x).unwrap();
            } else {
                bo.tell(s.x, y).unwrap();
            }
        }
    }
}

#[test]
fn tell_rejects_bad_input_but_marks_point_seen() {
    let domain = Domain::new(vec![Var::integer(2)]);
    let mut bo = BayesOpt::new(domain, BoOptions::default()).unwrap();
    assert!(bo.tell(vec![0.0], f64::NAN).is_err());
    assert!(bo.tell(vec![0.0, 1.0], 1.0).is_err());
    assert!(bo.observations().0.is_empty());
    // 0.0 is seen, so the only remaining point is 1.0.
    assert_eq!(bo.ask().unwrap().x, vec![1.0]);
    assert!(bo.ask().is_err());
    assert!(bo.best().is_none());
}

#[test]
fn transfer_from_a_related_task_finds_the_optimum_sooner() {
    // The source is Branin on another scale, measured at 60 random points; the
    // target starts from one design point and has 8 evaluations.
    let domain = Domain::new(vec![Var::Continuous, Var::Continuous]);
    let mut rng = StdRng::seed_from_u64(21);
    let xs: Vec<Vec<f64>> = (0..60).map(|_| domain.random_point(&mut rng)).collect();
    let ys = xs.iter().map(|x| 0.01 * neg_branin(x) - 3.0).collect();
    let source = Task {
        name: "scaled branin".into(),
        rate: None,
        xs,
        ys,
        failures: vec![],
    };
    let opts = BoOptions {
        initial: 1,
        seed: 4,
        ..BoOptions::default()
    };
    let mut warm = BayesOpt::new(domain.clone(), opts.clone()).unwrap();
    warm.set_transfer(std::slice::from_ref(&source)).unwrap();
    run(&mut warm, &neg_branin, 8);
    let mut cold = BayesOpt::new(domain, opts).unwrap();
    run(&mut cold, &neg_branin, 8);
    let regret = |bo: &BayesOpt| BRANIN_MAX - bo.best().unwrap().1;
    assert!(
        regret(&warm) < 2.0 && regret(&warm) < 0.1 * regret(&cold),
        "transfer {} vs cold {}",
        regret(&warm),
        regret(&cold)
    );
    let w = warm.transfer_weights().unwrap();
    assert!(!w.discarded[0] && w.base[0] > 0.0, "{w:?}");
}

#[test]
fn ensemble_suggestions_are_valid_new_and_finite_in_batches() {
    let domain = Domain::new(vec![
        Var::Continuous,
        Var::integer(4),
        Var::Categorical { choices: 3 },
    ]);
    let mut rng = StdRng::seed_from_u64(8);
    let f = |x: &[f64]| x[0] - (x[1] - 0.3).powi(2) + x[3];
    let tasks: Vec<Task> = (0..2)
        .map(|t| {
            let xs: Vec<Vec<f64>> = (0..15).map(|_| domain.random_point(&mut rng)).collect();
            let ys = xs.iter().map(|x| f(x) * (t as f64 + 1.0)).collect();
            Task {
                name: format!("t{t}"),
                rate: Some(1000 * t),
                xs,
                ys,
                failures: vec![],
            }
        })
        .collect();
    let opts = BoOptions {
        initial: 0,
        candidates: 300,
        ..BoOptions::default()
    };
    let mut bo = BayesOpt::new(domain.clone(), opts).unwrap();
    bo.set_transfer(&tasks).unwrap();
    bo.set_feasibility(Box::new(|xs: &[Vec<f64>]| {
        xs.iter()
            .map(|x| if x[0] > 0.9 { 0.0 } else { 1.0 })
            .collect()
    }));
    let mut keys = HashSet::new();
    for round in 0..5 {
        let batch = bo.ask_batch(3).unwrap();
        assert_eq!(batch.len(), 3);
        for s in batch {
            assert!(!s.initial, "round {round}: the ensemble starts at once");
            assert!(s.x.iter().all(|v| (0.0..=1.0).contains(v)));
            assert_eq!(domain.project(&s.x), s.x);
            assert!(keys.insert(key(&s.x)), "repeat {:?}", s.x);
            for v in [s.acquisition, s.mean, s.std].into_iter().flatten() {
                assert!(v.is_finite());
            }
            let y = f(&s.x);
            bo.tell(s.x, y).unwrap();
        }
    }
    let w = bo.transfer_weights().unwrap();
    assert!((w.base.iter().sum::<f64>() + w.target - 1.0).abs() < 1e-9);
    assert_eq!(bo.base_models().len(), 2);
}

#[test]
fn ask_with_100_observations_in_30_dims() {
    let domain = Domain::new(vec![Var::Continuous; 30]);
    let mut bo = BayesOpt::new(domain.clone(), BoOptions::default()).unwrap();
    let mut rng = StdRng::seed_from_u64(5);
    for _ in 0..100 {
        let p = domain.random_point(&mut rng);
        let y = -p.iter().map(|v| (v - 0.5).powi(2)).sum::<f64>();
        bo.tell(p, y).unwrap();
    }
    bo.asked = bo.opts.initial; // skip the design phase
    let s = bo.ask().unwrap();
    assert!(!s.initial && s.x.len() == 30);
    assert!(s.acquisition.unwrap().is_finite());
}

/// An optimiser over three continuous dimensions whose precheck admits only x0 < 0.1.
fn prechecked(initial: usize) -> BayesOpt {
    let mut opt = BayesOpt::new(
        Domain::new(vec![Var::Continuous; 3]),
        BoOptions {
            initial,
            candidates: 300,
            seed: 11,
            ..BoOptions::default()
        },
    )
    .unwrap();
    opt.set_precheck(Box::new(|x: &[f64]| x[0] < 0.1));
    opt
}

#[test]
fn no_suggestion_is_one_the_precheck_rejects() {
    let mut opt = prechecked(5);
    for i in 0..12 {
        let s = opt.ask().unwrap();
        assert!(s.x[0] < 0.1, "suggestion {i} {:?} was rejected", s.x);
        assert_eq!(s.initial, i < 5);
        let y = -(s.x[1] - 0.3).powi(2) - (s.x[2] - 0.6).powi(2);
        opt.tell(s.x, y).unwrap();
    }
    // Nine in ten random draws fail the precheck: the design alone rejected many.
    assert!(
        opt.precheck_rejections() >= 20,
        "{}",
        opt.precheck_rejections()
    );
}

#[test]
fn a_space_the_precheck_always_rejects_is_refused_clearly() {
    let mut opt = prechecked(5);
    opt.set_precheck(Box::new(|_: &[f64]| false));
    let err = opt.ask().unwrap_err().to_string();
    assert!(
        err.contains("pre-check") && err.contains("rejected"),
        "{err}"
    );
}

#[test]
fn enqueued_points_come_first_and_count_towards_the_design() {
    let mut opt = prechecked(4);
    // The second is one the precheck rejects: the caller chose it, so it runs.
    opt.enqueue(&[0.05, 0.5, 0.5]).unwrap();
    opt.enqueue(&[0.9, 0.1, 0.1]).unwrap();
    opt.enqueue(&[0.05, 0.5, 0.5]).unwrap(); // a repeat is not suggested twice
    let first = opt.ask().unwrap();
    let second = opt.ask().unwrap();
    assert_eq!(first.x, vec![0.05, 0.5, 0.5]);
    assert_eq!(second.x, vec![0.9, 0.1, 0.1]);
    for s in [first, second] {
        opt.tell(s.x, 0.0).unwrap();
    }
    let designed: Vec<bool> = (0..4)
        .map(|_| {
            let s = opt.ask().unwrap();
            assert_ne!(s.x, vec![0.05, 0.5, 0.5]);
            let initial = s.initial;
            opt.tell(s.x, 1.0).unwrap();
            initial
        })
        .collect();
    assert_eq!(designed, vec![true, true, false, false]);
}

/// The default design: a quarter of the budget, within 5 and the dimension + 1; under the
/// length-scale prior a sixth, not below a third of the dimension nor above the quarter.
#[test]
fn the_default_design_is_a_quarter_of_the_budget_or_under_the_prior_a_sixth() {
    // (budget, parameters, under the prior, design)
    let cases = [
        (30, 30, false, 8),
        (100, 30, false, 25),
        (200, 30, false, 31),
        (12, 30, false, 5),
        (100, 3, false, 5),
        (4, 30, false, 3),
        // The search suite's budget and dimension; the real-Flink example's 7 keys at 30.
        (60, 30, true, 10),
        (30, 7, true, 5),
        // A third of the parameters, but never above the quarter.
        (30, 30, true, 8),
        (90, 45, true, 15),
        (120, 30, true, 20),
        // The same floor of 5 and ceiling of the budget as without the prior.
        (12, 3, true, 5),
        (4, 30, true, 3),
    ];
    for (budget, params, prior, design) in cases {
        assert_eq!(
            default_initial(budget, params, prior),
            design,
            "budget {budget}, {params} parameters, under the prior: {prior}"
        );
    }
}

#[test]
fn a_point_whose_canonical_form_was_seen_is_never_suggested() {
    // The caller evaluates [0, 1] in three classes; after three suggestions every class
    // has been seen, so a fourth cannot be found (a continuous domain never runs out).
    let classes = |x: &[f64]| vec![(x[0] * 3.0).floor().min(2.0)];
    let mut opt = BayesOpt::new(
        Domain::new(vec![Var::Continuous]),
        BoOptions {
            initial: 2,
            seed: 1,
            ..BoOptions::default()
        },
    )
    .unwrap();
    opt.set_canonical(Box::new(classes)).unwrap();
    let mut seen = HashSet::new();
    for _ in 0..3 {
        let s = opt.ask().unwrap();
        assert!(seen.insert(key(&classes(&s.x))), "class suggested twice");
        opt.tell(s.x.clone(), -(s.x[0] - 0.5).powi(2)).unwrap();
    }
    assert!(opt.ask().is_err());
    assert!(
        opt.set_canonical(Box::new(classes)).is_err(),
        "set after points were seen"
    );
}

#[test]
fn every_model_based_fit_is_under_the_options_prior_but_none_under_a_transfer() {
    let domain = Domain::new(vec![Var::Continuous, Var::Continuous]);
    let priors = |lengthscale_prior: Option<f64>, transfer: bool| {
        let opts = BoOptions {
            initial: 2,
            lengthscale_prior,
            ..BoOptions::default()
        };
        let mut bo = BayesOpt::new(domain.clone(), opts).unwrap();
        if transfer {
            let xs: Vec<Vec<f64>> = (0..6).map(|i| vec![i as f64 / 5.0, 0.5]).collect();
            let source = Task {
                name: "branin".into(),
                rate: None,
                ys: xs.iter().map(|x| neg_branin(x)).collect(),
                xs,
                failures: vec![],
            };
            bo.set_transfer(&[source]).unwrap();
        }
        run(&mut bo, &neg_branin, 2);
        (0..4)
            .map(|_| {
                let prior = bo.fit_options().lengthscale_prior;
                run(&mut bo, &neg_branin, 1);
                prior
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(priors(Some(3.0), false), [Some(3.0); 4]);
    assert_eq!(priors(None, false), [None; 4]);
    assert_eq!(priors(Some(3.0), true), [None; 4]);
}
