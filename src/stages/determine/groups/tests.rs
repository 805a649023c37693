use super::confirm::{Judge, Noise, noise, record_passes, unsure};
use super::*;

/// A deterministic stand-in for 3% noise (a fixed pseudo-random pattern, sd ≈ 0.03).
fn noise_at(n: usize) -> f64 {
    0.03 * 1.7 * (((n * 7919 + 13) % 101) as f64 / 50.0 - 1.0)
}

fn measured(runs: Vec<f64>) -> Measured {
    Measured {
        score: Some(median(&runs)),
        runs,
        reason: String::new(),
        gc: None,
    }
}

fn template_study(d: &std::path::Path) -> Study {
    std::fs::write(d.join("flinktune.toml"), crate::study::template(None)).unwrap();
    Study::load(d).unwrap()
}

fn test_of(keys: std::ops::Range<usize>, run: f64, confirm: Option<Vec<f64>>) -> Test {
    let moves = keys
        .map(|key| Move {
            key,
            value: Value::Int(0),
        })
        .collect();
    Test {
        id: String::new(),
        base: 0,
        top: confirm.is_none(),
        parent: None,
        moves,
        m: measured(vec![run]),
        confirm: confirm.map(measured),
        again: None,
        passed: None,
    }
}

/// One base (its first-phase run and 3 fresh ones around 1.0), 30 inert first-level
/// groups, and single moves: key 1 confirmed at +20%, key 2 screened on a 5× latency
/// spike its confirming runs do not share, key 3 confirmed inert, key 4 a 20% change
/// the budget left unconfirmed.
fn runs() -> GroupRuns {
    let mut tests = vec![
        test_of(1..2, 1.2, Some(vec![1.19, 1.21, 1.22])),
        test_of(2..3, 1.0 - 5f64.ln(), Some(vec![0.99, 1.02, 1.0])),
        test_of(3..4, 1.05, Some(vec![1.01, 0.98, 1.02])),
        test_of(4..5, 1.2, None),
    ];
    tests[3].top = false;
    for n in 0..30 {
        tests.push(test_of(10..18, 1.0 + noise_at(100 + n), None));
    }
    GroupRuns {
        bases: vec![(vec![], measured(vec![1.0 + noise_at(0)]))],
        fresh: vec![Some(measured((1..4).map(|n| 1.0 + noise_at(n)).collect()))],
        level: vec![Level {
            value: 1.0,
            runs: 31,
        }],
        tests,
        reference_first: false,
    }
}

#[test]
fn a_confirmed_strong_move_is_selected_and_neither_a_spike_nor_an_inert_key() {
    let r = runs();
    let found = effects(&r, 20);
    assert!(found[1].selected, "{:?}", found[1]);
    assert!((found[1].best.as_ref().unwrap().1 - 0.21).abs() < 0.04);
    assert!(!found[2].selected && !found[3].selected);
    assert!(!found[4].selected);
    assert!((5..20).all(|i| !found[i].selected));
    let sigma = screen_sigma(&r);
    assert!(sigma > 0.01 && sigma < 0.06, "{sigma}");
}

#[test]
fn groups_split_or_drop_and_single_moves_go_to_confirmation() {
    let r = runs();
    let sigma = screen_sigma(&r);
    let group = |run: f64| test_of(20..28, run, None);
    assert_eq!(screen(&r, &group(1.3), sigma), Verdict::Split);
    assert_eq!(screen(&r, &group(1.01), sigma), Verdict::Drop);
    let mut failed = group(1.0);
    failed.m.score = None;
    assert_eq!(screen(&r, &failed, sigma), Verdict::Drop);
    failed.moves.truncate(1);
    assert_eq!(screen(&r, &failed, sigma), Verdict::Done);
    assert_eq!(screen(&r, &r.tests[3], sigma), Verdict::Confirm);
}

#[test]
fn the_half_carrying_the_change_goes_on_when_neither_passes() {
    let mut r = runs();
    let parent = r.tests.len();
    r.tests.push(test_of(20..28, 1.3, None));
    let mut kid = |run: f64, keys: std::ops::Range<usize>| {
        let mut t = test_of(keys, run, None);
        t.top = false;
        t.parent = Some(parent);
        r.tests.push(t);
        r.tests.len() - 1
    };
    let (a, b) = (kid(1.02, 20..24), kid(1.2, 24..28));
    let judged = [a, b];
    let mut verdicts = vec![Verdict::Drop, Verdict::Drop];
    descend(&r, &judged, &mut verdicts);
    assert_eq!(verdicts, vec![Verdict::Drop, Verdict::Split]);
}

#[test]
fn every_run_becomes_a_row_of_its_base_and_the_design_s_run_of_a_base_does_not() {
    let mut r = runs();
    r.bases[0] = (vec![None; 20], measured(vec![7.0]));
    r.tests[4].again = Some(measured(vec![1.01]));
    let (rows, block) = as_rows(&r);
    // 3 fresh runs of the base, 34 groups' runs, one gate's second run, 3 × 3
    // confirming runs; the base's first-phase run is the design's.
    assert_eq!(rows.configs.len(), 3 + 34 + 1 + 9);
    assert_eq!(block, vec![0; rows.configs.len()]);
    assert!(rows.measured.iter().all(|m| m.runs.len() == 1));
    assert!(!rows.measured.iter().any(|m| m.score == Some(7.0)));
    // The confirming runs of key 1's move are rows of its configuration.
    let moved = apply(&r.bases[0].0, &r.tests[0].moves);
    assert_eq!(rows.configs.iter().filter(|c| **c == moved).count(), 4);
    // Flink's default, measured by the arm, brings its own run.
    r.reference_first = true;
    let (rows, _) = as_rows(&r);
    assert_eq!(rows.configs.len(), 3 + 34 + 1 + 9 + 1);
    assert!(rows.measured.iter().any(|m| m.score == Some(7.0)));
}

#[test]
fn the_screening_noise_leaves_out_the_groups_that_act() {
    let mut r = runs();
    let quiet = screen_sigma(&r);
    // A third of the groups now move the score by 0.2-0.6: a plain median of the
    // deviations would double; Lenth's estimate stays near the noise.
    for (n, t) in r.tests.iter_mut().skip(4).take(12).enumerate() {
        t.m.score = Some(1.2 + 0.04 * n as f64);
    }
    let sigma = screen_sigma(&r);
    assert!(sigma < 1.3 * quiet, "{sigma} vs {quiet}");
}

#[test]
fn at_flinks_default_the_screening_noise_is_no_larger_than_its_repeated_runs() {
    let mut r = runs();
    // A third of the groups move the score by 0.06-0.11: Lenth's estimate keeps most of
    // them and rises above the noise of one run.
    for (n, t) in r.tests.iter_mut().skip(4).take(11).enumerate() {
        t.m.score = Some(1.06 + 0.005 * n as f64);
    }
    let lenth = screen_sigma(&r);
    let repeated = confirm::measured_noise(&r).unwrap();
    assert!(
        repeated.dof >= NOISE_DOF && repeated.sigma < 0.8 * lenth,
        "{repeated:?} {lenth}"
    );
    // Visited first as Flink's default, the base is judged by its repeated runs' noise.
    r.reference_first = true;
    assert_eq!(screen_sigma(&r), repeated.sigma);
    // The later bases keep Lenth's estimate.
    r.bases.push(r.bases[0].clone());
    r.level.push(Level {
        value: 1.0,
        runs: 1,
    });
    r.fresh.push(None);
    assert!(screen_sigma(&r) > repeated.sigma);
}

#[test]
fn a_move_that_only_sank_groups_goes_the_other_way_at_later_bases() {
    let d = tempfile::tempdir().unwrap();
    let study = template_study(d.path());
    let space = &study.space;
    let base = reference_config(space);
    let numbers: Vec<usize> = (0..space.len())
        .filter(|&i| matches!(space.params[i].kind, Kind::Int | Kind::Float))
        .filter(|&i| space.to_unit(&base)[i] > 0.01 && space.to_unit(&base)[i] < 0.99)
        .take(3)
        .collect();
    let (sinks, mixed, once) = (numbers[0], numbers[1], numbers[2]);
    let low = |key: usize| Move {
        key,
        value: space.params[key].from_unit(0.0),
    };
    let group = |moves: Vec<Move>, ran: bool| {
        let mut t = test_of(0..0, 1.0, None);
        t.moves = moves;
        t.m.score = ran.then_some(1.0);
        t
    };
    let mut r = runs();
    r.bases[0].0 = base.clone();
    r.tests = vec![
        group(vec![low(sinks), low(mixed)], false),
        group(vec![low(sinks), low(once)], false),
        group(vec![low(mixed)], true),
    ];
    // A half (not a first-level group) that could not run does not count.
    let mut half = group(vec![low(once)], false);
    half.top = false;
    r.tests.push(half);
    let doomed = doomed_moves(&study, &r);
    assert_eq!(doomed, vec![(sinks, Side::Low)]);
    let none = Contrasts {
        score: vec![0.0; space.len()],
        fail: vec![0.0; space.len()],
    };
    for seed in 0..20 {
        let mut rng = StdRng::seed_from_u64(seed);
        let groups = base_groups(&study, &base, &[sinks], &none, &doomed, &mut rng);
        let moved: Vec<&Move> = groups.iter().flatten().collect();
        assert_eq!(moved.len(), 1);
        assert_ne!(moved[0].value, low(sinks).value, "seed {seed}");
    }
}

#[test]
fn a_key_that_never_decided_run_fail_moves_to_its_far_end_and_one_that_did_to_either() {
    // Key 0: the design's runs failed as often on both sides; key 1: more often high.
    let contrast = Contrasts {
        score: vec![0.0; 2],
        fail: vec![0.0, 0.3],
    };
    let mut rng = StdRng::seed_from_u64(7);
    for at in [0.2, 0.8] {
        let far = Side::of(at < 0.5);
        let quiet: Vec<Side> = (0..20)
            .map(|_| end_side(&contrast, 0, at, &mut rng))
            .collect();
        assert!(quiet.iter().all(|&s| s == far), "at {at}: {quiet:?}");
        let deciding: Vec<Side> = (0..20)
            .map(|_| end_side(&contrast, 1, at, &mut rng))
            .collect();
        assert!(deciding.contains(&Side::Low) && deciding.contains(&Side::High));
    }
}

#[test]
fn the_bases_nearest_a_full_heap_come_first_and_every_fourth_with_middle_moves() {
    let d = tempfile::tempdir().unwrap();
    let study = template_study(d.path());
    let mut rng = StdRng::seed_from_u64(1);
    let n = 14;
    let configs: Vec<Config> = (0..n)
        .map(|_| {
            let u: Vec<f64> = (0..study.space.len()).map(|_| rng.random()).collect();
            study.space.from_unit(&u)
        })
        .collect();
    let first = |gc: &dyn Fn(usize) -> Option<f64>| ForestRuns {
        configs: configs.clone(),
        lhs: n,
        measured: (0..n)
            .map(|i| Measured {
                gc: gc(i),
                ..measured(vec![1.0])
            })
            .collect(),
    };
    let order: Vec<usize> = (0..n).rev().collect();
    let visited = |f: &ForestRuns| -> Vec<(usize, Moves)> {
        visits(&study, f, order.clone())
            .into_iter()
            .skip(1) // Flink's default
            .map(|(c, _, moves)| (configs.iter().position(|x| *x == c).unwrap(), moves))
            .collect()
    };
    // Configurations 10, 5 and 0 spent the largest shares in garbage collection.
    let shares = |i: usize| Some([0.30, 0.02, 0.01, 0.08, 0.2][i % 5] * (1.0 + i as f64 / 100.0));
    let with_gc = visited(&first(&shares));
    let middle = Moves::Levels(&PRESSURE_LEVELS);
    assert_eq!(with_gc.len(), n);
    let pressure: Vec<(usize, usize)> = with_gc
        .iter()
        .enumerate()
        .filter(|(_, v)| v.1 == middle)
        .map(|(at, v)| (at, v.0))
        .collect();
    assert_eq!(pressure, vec![(0, 10), (4, 5), (8, 0)], "{with_gc:?}");
    let rest: Vec<usize> = with_gc
        .iter()
        .filter(|v| v.1 == Moves::Ends)
        .map(|v| v.0)
        .collect();
    let expected: Vec<usize> = order
        .iter()
        .copied()
        .filter(|i| ![10, 5, 0].contains(i))
        .collect();
    assert_eq!(rest, expected);
    // An adapter that reports no GC time leaves the order and the end moves as they were.
    let without = visited(&first(&|_| None));
    assert_eq!(
        without,
        order.iter().map(|&i| (i, Moves::Ends)).collect::<Vec<_>>()
    );
    let reference = &visits(&study, &first(&|_| None), order.clone())[0];
    assert_eq!(reference.2, Moves::Reference);
}

#[test]
fn the_noise_of_runs_repeated_three_times_is_their_spread() {
    // 40 configurations run 3 times each, with normal noise of sd 0.03.
    let mut rng = StdRng::seed_from_u64(3);
    let mut r = runs();
    r.fresh = vec![None];
    r.tests = (0..40)
        .map(|k| {
            let runs = (0..3).map(|_| 1.0 + 0.03 * opt::normal::sample(&mut rng));
            test_of(k..k + 1, 1.0, Some(runs.collect()))
        })
        .collect();
    let n = noise(&r);
    assert!((0.024..0.036).contains(&n.sigma), "{}", n.sigma);
    assert_eq!(n.dof, 80);
    // The summary reports the same noise; with nothing run twice it reports none (and
    // the confirmations fall back to the prior).
    assert_eq!(run_noise(&r), Some(n.sigma));
    for t in &mut r.tests {
        t.confirm = None;
    }
    assert_eq!(run_noise(&r), None);
    assert_eq!(noise(&r).sigma, PRIOR_SIGMA);
}

#[test]
fn a_confirmation_near_its_bound_is_run_again_and_one_far_from_it_is_not() {
    let r = runs();
    let base = r.fresh[0].as_ref().unwrap().score.unwrap();
    let (_, bound) = Judge::new(&r).of(&r, &r.tests[2]).unwrap();
    // Key 3's confirmation moved to a share of its bound, its 3 runs 0.005 apart.
    let at = |share: f64, n: usize| {
        let mut r = runs();
        let c = base + share * bound;
        let spread = [c - 0.005, c, c + 0.005];
        r.tests[2].confirm = Some(measured((0..n).map(|j| spread[j % 3]).collect()));
        r
    };
    assert_eq!(unsure(&at(0.7, 3), &[0, 1, 2], &[2, 3]), vec![2]);
    assert!(unsure(&at(0.3, 3), &[0, 1, 2], &[2, 3]).is_empty());
    // A key decided already, or a confirmation run again already, is left alone.
    assert!(unsure(&at(0.7, 3), &[2], &[2]).is_empty());
    assert!(unsure(&at(0.7, 6), &[2], &[3]).is_empty());
}

#[test]
fn a_key_whose_confirmation_passed_when_judged_stays_selected_under_a_later_stricter_bound() {
    let mut r = runs();
    let base = r.fresh[0].as_ref().unwrap().score.unwrap();
    let (_, bound) = Judge::new(&r).of(&r, &r.tests[2]).unwrap();
    // Key 3's confirmation just past its bound among the three confirmations so far.
    let c = base + 1.05 * bound;
    r.tests[2].confirm = Some(measured(vec![c - 0.005, c, c + 0.005]));
    record_passes(&mut r);
    assert!(effects(&r, 20)[3].selected);
    // Thirty more confirmations, inert: the Bonferroni bound over them is stricter.
    for k in 0..30 {
        let runs = (0..3).map(|j| base + noise_at(200 + 3 * k + j)).collect();
        r.tests
            .push(test_of(10 + k % 8..11 + k % 8, base, Some(runs)));
    }
    let (d, now) = Judge::new(&r).of(&r, &r.tests[2]).unwrap();
    assert!(d.abs() < now, "{d} {now}");
    let found = effects(&r, 20);
    assert!(found[3].selected, "{:?}", found[3]);
    assert!((10..18).all(|i| !found[i].selected));
    // Never recorded as passing, the same confirmation is not selected.
    r.tests[2].passed = None;
    assert!(!effects(&r, 20)[3].selected);
}

#[test]
fn a_confirmation_between_the_5_and_the_20_percent_bound_is_selected() {
    use crate::stages::determine::select::{FLOOR_ALPHA, GROUPS_ALPHA, t_bonferroni};
    let mut r = runs();
    let base = r.fresh[0].as_ref().unwrap().score.unwrap();
    // Key 3's confirmation, its runs 0.005 apart, at a change `d`.
    let at = |d: f64| measured(vec![base + d - 0.005, base + d, base + d + 0.005]);
    r.tests[2].confirm = Some(at(0.0));
    // Both bounds over the 3 confirmations: 3 runs' median against 3 runs' median.
    let Noise { sigma, dof } = noise(&r);
    let sd = sigma * (2.0 * MEDIAN_VAR / 3.0).sqrt();
    let [loose, strict] = [GROUPS_ALPHA, FLOOR_ALPHA].map(|a| sd * t_bonferroni(a, 3, dof));
    assert!(loose > 0.01 && strict > 1.2 * loose, "{loose} {strict}");
    r.tests[2].confirm = Some(at((loose + strict) / 2.0));
    let found = effects(&r, 20);
    assert!(found[3].selected, "{:?}", found[3]);
    assert!((5..20).all(|i| !found[i].selected));
}

/// A study over the 60-key screening catalogue, in `dir`.
fn candidates_study(dir: &std::path::Path) -> Study {
    let text = crate::study::template(None)
        .replace("\"flink-1.11-key-params\"", "\"flink-1.11-candidates\"");
    std::fs::write(dir.join("flinktune.toml"), text).unwrap();
    Study::load(dir).unwrap()
}

#[test]
fn a_share_and_the_total_it_is_taken_of_move_in_different_groups() {
    let d = tempfile::tempdir().unwrap();
    let study = candidates_study(d.path());
    let space = &study.space;
    let key = |name: &str| space.params.iter().position(|p| p.name == name).unwrap();
    let related = [
        key("taskmanager.memory.flink.size"),
        key("taskmanager.memory.network.fraction"),
        key("taskmanager.memory.network.min"),
        key("taskmanager.memory.managed.fraction"),
    ];
    let base = reference_config(space);
    let all: Vec<usize> = (0..space.len()).collect();
    for seed in 0..10 {
        let mut rng = StdRng::seed_from_u64(seed);
        let groups = level_groups(&study, &base, &all, &[0.5], Packing::Plain, &mut rng);
        let moved = |i: usize| {
            groups
                .iter()
                .filter(|g| g.iter().any(|m| m.key == i))
                .count()
        };
        assert!(related.iter().all(|&i| moved(i) == 1), "seed {seed}");
        for g in &groups {
            let n = g.iter().filter(|m| related.contains(&m.key)).count();
            let flink = g.iter().any(|m| m.key == related[0]);
            assert!(!flink || n == 1, "seed {seed}: {g:?}");
        }
    }
}

#[test]
fn at_flink_s_default_the_taskmanager_s_memory_sizes_move_one_to_a_group() {
    let d = tempfile::tempdir().unwrap();
    let study = candidates_study(d.path());
    let space = &study.space;
    let sizes: Vec<usize> = (0..space.len())
        .filter(|&i| memory::sizes_taskmanager_memory(&space.params[i].name))
        .collect();
    assert!(sizes.len() >= 10, "{sizes:?}");
    let base = reference_config(space);
    let all: Vec<usize> = (0..space.len()).collect();
    let in_one = |groups: &[Vec<Move>]| {
        groups
            .iter()
            .map(|g| g.iter().filter(|m| sizes.contains(&m.key)).count())
            .max()
            .unwrap_or(0)
    };
    let packed = |packing: Packing, seed: u64| {
        let mut rng = StdRng::seed_from_u64(seed);
        level_groups(&study, &base, &all, &REFERENCE_LEVELS, packing, &mut rng)
    };
    for seed in 0..10 {
        let apart = packed(Packing::MemoryApart, seed);
        assert_eq!(in_one(&apart), 1, "seed {seed}");
        // Every move a level offers is still made, each once.
        let plain = packed(Packing::Plain, seed);
        let moves = |g: &[Vec<Move>]| g.iter().map(Vec::len).sum::<usize>();
        assert_eq!(moves(&apart), moves(&plain), "seed {seed}");
        assert!(
            in_one(&plain) > 1,
            "seed {seed}: the plain packing never paired two sizes"
        );
        assert!(apart.len() > plain.len(), "seed {seed}");
    }
}

#[test]
fn a_run_is_judged_against_the_median_of_its_own_cell() {
    let runs = [
        ("a", 1.0),
        ("a", 2.0),
        ("b", 10.0),
        ("a", 3.0),
        ("b", 0.0),
        ("c", 7.0),
    ];
    assert_eq!(below_peers(&runs), vec![-1.0, 0.0, 5.0, 1.0, -5.0, 0.0]);
}

#[test]
fn within_a_count_of_dominant_keys_the_bases_furthest_below_their_peers_come_first() {
    let d = tempfile::tempdir().unwrap();
    let study = template_study(d.path());
    let k = study.space.len();
    let unit = |dominant_high: bool, other: f64| {
        let mut u = vec![other; k];
        u[0] = if dominant_high { 0.9 } else { 0.1 };
        study.space.from_unit(&u)
    };
    // Key 0 dominates, better high. Configurations 0-2 have it high, 3-5 low; 1 and 4
    // score below the others of their side, 2 and 5 above; 6 did not run.
    let scores = [
        Some(5.0),
        Some(4.0),
        Some(6.0),
        Some(1.0),
        Some(0.5),
        Some(1.5),
        None,
    ];
    let first = ForestRuns {
        configs: (0..7).map(|n| unit(n < 3, 0.1 * n as f64)).collect(),
        lhs: 7,
        measured: scores
            .iter()
            .map(|s| match s {
                Some(s) => measured(vec![*s]),
                None => Measured {
                    score: None,
                    runs: vec![],
                    reason: "failed".into(),
                    gc: None,
                },
            })
            .collect(),
    };
    let contrast = contrasts(&study, &first);
    assert!(contrast.score[0] > 0.0);
    for seed in 0..5 {
        let mut rng = StdRng::seed_from_u64(seed);
        let order = base_order(&study, &first, &[0], &contrast, &mut rng);
        assert_eq!(order, vec![1, 0, 2, 4, 3, 5], "seed {seed}");
    }
}

#[test]
fn at_flinks_default_groups_that_lean_are_left_out_of_its_level() {
    let mut r = runs();
    assert_eq!(base_level(&r, 0).runs, 31, "its run and its 30 groups'");
    // Visited first as Flink's default: its 3 fresh runs join, and inert groups stay in.
    r.reference_first = true;
    assert_eq!(base_level(&r, 0).runs, 34);
    // Two thirds of the groups slow the job by 0.2-0.3: the level over the groups leans
    // their way, so it is the median of the default's own runs.
    for (n, t) in r.tests.iter_mut().skip(4).take(20).enumerate() {
        t.m.score = Some(1.2 + 0.005 * n as f64);
    }
    let own = base_level(&r, 0);
    assert_eq!(own.runs, 4, "its first run and its 3 fresh ones");
    let runs: Vec<f64> = (0..4).map(noise_at).map(|x| 1.0 + x).collect();
    assert_eq!(own.value, median(&runs));
    r.reference_first = false;
    assert!(base_level(&r, 0).value > own.value + 0.1);
}
