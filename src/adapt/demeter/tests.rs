//! Demeter's unit tests: a toy cluster whose answers are known in closed form (the choice, the
//! rescale of the running shape, the gain rule, the latency budget, the checkpoint cap), a
//! scripted profiler (a miss confirmed, a measurement as the median of its runs), and the
//! shipped example on the simulator (the EHVI profiler's choice and warm start).

use super::profile::{Profile, measure};
use super::state::Demeter;
use crate::adapt::measure::{Measure, SimMeasure};
use crate::adapt::policy::{
    Change, Decision, Metrics, Policy, Situation, change, cost, taskmanagers, with_taskmanagers,
};
use crate::adapt::profiler::Profiler;
use crate::study::Study;
use anyhow::Result;
use flink::space::{Config, Value};

/// A cluster where each core sustains 30 000 records/s, p99 is 100 ms below 80 % load
/// and 600 ms above, recovery takes 60 s / (1 − load), and memory costs what it asks.
struct Toy {
    space: flink::space::Space,
}
impl Toy {
    fn num(&self, config: &Config, key: &str) -> f64 {
        match &self.space.effective(config)[self.space.index_of(key).unwrap()] {
            Value::Int(i) => *i as f64,
            Value::Float(x) => *x,
            other => panic!("{key} = {other}"),
        }
    }
}
impl Profiler for Toy {
    fn evaluate(&mut self, config: &Config, rate: f64) -> Result<Option<Metrics>> {
        let tms = self.num(config, "flinktune.taskmanagers");
        let cores = tms * self.num(config, "kubernetes.taskmanager.cpu");
        let rho = rate / (30_000.0 * cores);
        Ok(Some(Metrics {
            throughput: rate.min(30_000.0 * cores),
            latency_p99_ms: if rho < 0.8 { 100.0 } else { 600.0 },
            cpu_busy: rho.min(1.0) * cores,
            taskmanagers: tms,
            cpu_requested: cores,
            memory_requested_mb: tms * self.num(config, "taskmanager.memory.process.size"),
            recovery_time_s: 60.0 / (1.0 - rho).max(0.01),
            backpressured: rho >= 1.0,
            busy: None,
        }))
    }
}

fn study(dir: &std::path::Path) -> Study {
    std::fs::write(
        dir.join("flinktune.toml"),
        "flink_version = \"1.11\"\ncatalogue = \"demeter-resources\"\nrates = [100000]\nseed = 5\nsamples = 10\n\
         [adapter]\nkind = \"sim\"\n[sim]\ncluster = \"kubernetes\"\n\
         [adapt]\ninterval_s = 1800\nhorizon_s = 1800\nprofile_budget = 12\n\
         rate_step = 10000\nmargin = 0.1\n",
    )
    .unwrap();
    Study::load(dir).unwrap()
}

/// Demeter over the toy cluster, started (from C_max).
fn toy_demeter(st: &Study) -> Demeter {
    let toy = Toy {
        space: st.space.clone(),
    };
    let mut d = Demeter::new(st, 1800.0, Box::new(toy)).unwrap();
    d.initial().unwrap();
    d
}

fn decide(d: &mut Demeter, current: &Config, rate: f64) -> Option<Decision> {
    let history = [rate];
    let s = Situation {
        time_s: 0.0,
        step_s: 1800.0,
        history: &history,
        current,
        last: None,
    };
    d.decide(&s).unwrap()
}

/// A run at 1000 records/s with this p99 (and a tenth of it as recovery, s).
fn run(p99: f64) -> Metrics {
    Metrics {
        throughput: 1000.0,
        latency_p99_ms: p99,
        cpu_busy: 1.0,
        taskmanagers: 2.0,
        cpu_requested: 2.0,
        memory_requested_mb: 4096.0,
        recovery_time_s: p99 / 10.0,
        backpressured: p99 > 1000.0,
        busy: None,
    }
}

/// Replays a fixed sequence of runs: a p99 each, or None for a failed run.
struct Scripted(Vec<Option<f64>>);
impl Profiler for Scripted {
    fn evaluate(&mut self, _: &Config, _: f64) -> Result<Option<Metrics>> {
        assert!(!self.0.is_empty(), "a run more than scripted");
        Ok(self.0.remove(0).map(run))
    }
}

#[test]
fn a_miss_on_one_measurement_is_confirmed_before_it_counts() {
    let tmp = tempfile::tempdir().unwrap();
    let st = study(tmp.path());
    let config = st.space.default_config();
    // The running configuration measured once at 1000/s, against a 500 ms target
    // (550 ms with the 10 % margin it is judged by), then `more` runs if asked.
    let judged = |first: f64, more: Vec<Option<f64>>, confirm: bool| {
        let mut d = Demeter::new(&st, 1800.0, Box::new(Scripted(more))).unwrap();
        d.settings.confirm_misses = confirm;
        let probe = d.probe(config.clone(), Some(run(first)));
        d.profiles.insert(
            1000,
            Profile {
                rate: 1000,
                latency_target_ms: 500.0,
                checkpoint_cap_s: f64::INFINITY,
                cap_premium: 0.05,
                probes: vec![probe],
            },
        );
        let (m, violation) = d.judge(&config, 1000).unwrap();
        // Judged again: no more runs (Scripted has none left).
        let again = d.judge(&config, 1000).unwrap().1;
        assert_eq!(violation, again);
        (m.map(|m| m.latency_p99_ms), violation)
    };
    // Off: the one measurement decides.
    assert!(judged(900.0, vec![], false).1 > 0.0);
    // An outlier: the median of it and two more runs meets the target.
    assert_eq!(
        judged(900.0, vec![Some(400.0), Some(450.0)], true),
        (Some(450.0), 0.0)
    );
    // A real miss stays one.
    let (p99, violation) = judged(900.0, vec![Some(600.0), Some(700.0)], true);
    assert!(p99 == Some(700.0) && violation > 0.0);
    // Runs that fail count against it: two of three must pass.
    assert_eq!(judged(900.0, vec![None, None], true), (None, f64::INFINITY));
    // Within the target: nothing to confirm.
    assert_eq!(judged(540.0, vec![], true), (Some(540.0), 0.0));
}

#[test]
fn a_measurement_is_the_median_of_its_runs_and_needs_a_majority_to_pass() {
    let config = Config::default();
    let mut runs = Scripted(vec![Some(100.0), Some(2000.0), Some(110.0)]);
    // One run's outlier (and its backpressure) does not decide the measurement.
    let m = measure(&mut runs, &config, 1000.0, 3).unwrap().unwrap();
    assert_eq!((m.latency_p99_ms, m.recovery_time_s), (110.0, 11.0));
    assert!(!m.backpressured);
    let mut runs = Scripted(vec![Some(100.0), None, Some(120.0)]);
    let m = measure(&mut runs, &config, 1000.0, 3).unwrap().unwrap();
    assert_eq!(m.latency_p99_ms, 110.0);
    let mut runs = Scripted(vec![None, Some(100.0), None]);
    assert!(measure(&mut runs, &config, 1000.0, 3).unwrap().is_none());
    // One repeat is the run itself.
    let mut runs = Scripted(vec![Some(2000.0)]);
    let m = measure(&mut runs, &config, 1000.0, 1).unwrap().unwrap();
    assert!(m.backpressured && m.latency_p99_ms == 2000.0);
}

#[test]
fn a_target_missed_is_fixed_by_rescaling_the_running_shape() {
    let tmp = tempfile::tempdir().unwrap();
    let st = study(tmp.path());
    let space = st.space.clone();
    let mut d = toy_demeter(&st);
    // C_max's shape (1 core, 4096m) at 4 TaskManagers: 120 000/s of capacity, far too
    // little for 300 000/s (demand 330 000 with the margin).
    let running = with_taskmanagers(&space, &space.default_config(), 4).unwrap();
    assert_eq!(d.demand(), None);
    let next = decide(&mut d, &running, 300_000.0).expect("a violation switches");
    assert!(next.reason.starts_with("Violation"), "{}", next.reason);
    // Less than two days of history: the current rate stands in for the forecast.
    let demand = d.demand().expect("decided");
    assert!((demand - 330_000.0).abs() < 1e-6, "{demand}");
    assert_eq!(change(&space, &running, &next.config), Change::Rescale);
    // The fewest 1-core TaskManagers for 330 000/s within the plan's recovery limit
    // (180 s less the 10 % margin): 60/(1 − ρ) ≤ 162 needs ρ ≤ 0.63, i.e. 18.
    let n = taskmanagers(&space, &next.config).unwrap();
    assert_eq!(n, 18);
    let m = Toy {
        space: space.clone(),
    }
    .evaluate(&next.config, 330_000.0)
    .unwrap()
    .unwrap();
    assert!(m.recovery_time_s <= 180.0 * 0.9 && m.latency_p99_ms <= 110.0);
    let fewer = with_taskmanagers(&space, &next.config, n - 1).unwrap();
    let m = Toy { space }.evaluate(&fewer, 330_000.0).unwrap().unwrap();
    assert!(m.recovery_time_s > 180.0 * 0.9, "{n} is not the fewest");
}

#[test]
fn a_restart_must_save_more_than_rescaling_the_running_shape() {
    let tmp = tempfile::tempdir().unwrap();
    let st = study(tmp.path());
    let space = st.space.clone();
    let mut d = toy_demeter(&st);
    // This is about the gain rule, not the latency budget (whose test is below).
    d.settings.latency_budget = f64::INFINITY;
    // The running shape asks 4 GiB per core; the toy's cheapest shapes ask 1 GiB for
    // 3 cores. At a lower rate that saving is far beyond `min_gain`: restart.
    let running = with_taskmanagers(&space, &space.default_config(), 24).unwrap();
    let next = decide(&mut d, &running, 100_000.0).expect("a gain switches");
    assert!(next.reason.starts_with("Gain"), "{}", next.reason);
    assert_eq!(change(&space, &running, &next.config), Change::Restart);
    // Running that cheaper shape, a rise in rate is met by rescaling it, not by
    // restarting into yet another shape.
    let mut d = toy_demeter(&st);
    let shaped = with_taskmanagers(&space, &next.config, 1).unwrap();
    let again = decide(&mut d, &shaped, 200_000.0).expect("1 TaskManager is too few");
    assert_eq!(change(&space, &shaped, &again.config), Change::Rescale);
}

#[test]
fn a_gain_restart_waits_until_the_latency_budget_affords_its_stop() {
    let tmp = tempfile::tempdir().unwrap();
    let st = study(tmp.path());
    let space = st.space.clone();
    // C_max at 100 000/s: restarting into the toy's cheapest shape saves far more than
    // min_gain. Its 17 s stop at load ρ adds 1000 × 17² / (2 (1 − ρ)) ≥ 144 500 ms·s;
    // C_max's p99 is 100 ms, so a budget b allows b × 100 × 86 400 ms·s a day.
    let running = with_taskmanagers(&space, &space.default_config(), 24).unwrap();
    let with_budget = |b: f64| {
        let mut d = toy_demeter(&st);
        d.settings.restart_s = 17.0;
        d.settings.latency_budget = b;
        let next = decide(&mut d, &running, 100_000.0);
        (d, next)
    };
    // 1 %: 86 400 ms·s cannot pay for the stop; the gain waits.
    let (mut d, next) = with_budget(0.01);
    assert!(next.is_none(), "{next:?}");
    let (allowance, spent) = d.budget().unwrap();
    assert!(
        (allowance - 86_400.0).abs() < 1e-6 && spent == 0.0,
        "{allowance} {spent}"
    );
    // 10 %: 864 000 ms·s can; the switch is charged what its stop adds.
    let (mut d, next) = with_budget(0.1);
    let next = next.expect("affordable");
    assert!(next.reason.starts_with("Gain"), "{}", next.reason);
    assert_eq!(change(&space, &running, &next.config), Change::Restart);
    let (_, spent) = d.budget().unwrap();
    let load = Toy {
        space: space.clone(),
    }
    .evaluate(&next.config, 100_000.0)
    .unwrap()
    .map(|m| m.cpu_busy / m.cpu_requested)
    .unwrap();
    let expected = 1000.0 * 17.0 * 17.0 / (2.0 * (1.0 - load));
    assert!(
        (spent - expected).abs() < 1e-6 * expected,
        "{spent} vs {expected}"
    );
    // No budget at all: a violation still switches (by rescaling, which it can).
    let mut d = toy_demeter(&st);
    d.settings.latency_budget = 0.0;
    let four = with_taskmanagers(&space, &space.default_config(), 4).unwrap();
    let next = decide(&mut d, &four, 300_000.0).expect("a violation switches");
    assert!(next.reason.starts_with("Violation"), "{}", next.reason);
}

#[test]
fn the_choice_checkpoints_within_the_cap_a_rescale_can_afford() {
    let tmp = tempfile::tempdir().unwrap();
    let st = study(tmp.path());
    let space = st.space.clone();
    let mut d = toy_demeter(&st);
    // On by default; off, there is no cap.
    let cap = d.checkpoint_cap_s();
    d.settings.checkpoint_cap = false;
    assert_eq!(d.checkpoint_cap_s(), f64::INFINITY);
    d.settings.checkpoint_cap = true;
    assert_eq!(
        cap,
        2.0 * (st.file.adapt.restart_s - st.file.adapt.rescale_s)
    );
    // The cheapest configuration profiled (2 TaskManagers × 3 cores × 1 GiB: 6 cores
    // at 100 000/s, load 0.56, recovery 135 s) checkpoints every 80 s.
    let mut cheap = with_taskmanagers(&space, &space.default_config(), 2).unwrap();
    for (key, value) in [
        ("kubernetes.taskmanager.cpu", Value::Float(3.0)),
        ("taskmanager.memory.process.size", Value::Int(1024)),
        ("execution.checkpointing.interval", Value::Int(80_000)),
    ] {
        cheap[space.index_of(key).unwrap()] = Some(value);
    }
    let mut toy = Toy {
        space: space.clone(),
    };
    let cmax = space.default_config();
    let probes = [cmax, cheap.clone()]
        .into_iter()
        .map(|c| {
            let m = toy.evaluate(&c, 100_000.0).unwrap();
            d.probe(c, m)
        })
        .collect();
    let limit = d.plan_limit();
    d.profiles.insert(
        100_000,
        Profile {
            rate: 100_000,
            latency_target_ms: 110.0,
            checkpoint_cap_s: cap,
            cap_premium: 0.05,
            probes,
        },
    );
    // Alone, the profile would choose it as it is.
    let chosen = d.profiles[&100_000].best(limit).unwrap().0.config.clone();
    assert_eq!(chosen, cheap);
    // The same resources checkpointing at the cap are measured and chosen instead.
    d.within_cap(100_000).unwrap();
    let p = &d.profiles[&100_000];
    assert_eq!(p.evaluations(), 3);
    let (probe, m, violation) = p.best(limit).unwrap();
    assert_eq!(violation, 0.0);
    assert_eq!(probe.checkpoint_s, cap);
    assert_eq!(
        probe.config,
        crate::adapt::policy::with_checkpoint_interval(&space, &cheap, cap).unwrap()
    );
    assert_eq!(cost(m), 6.0 + 2.0 / 8.0);
    // Nothing over the cap is left cheaper than the choice: no more measurements.
    d.within_cap(100_000).unwrap();
    assert_eq!(d.profiles[&100_000].evaluations(), 3);
}

/// Profiles on the simulator, each run with its own noise seed.
struct Sim(SimMeasure, usize);

impl Profiler for Sim {
    fn evaluate(&mut self, config: &Config, rate: f64) -> Result<Option<Metrics>> {
        self.1 += 1;
        self.0.measure(config, rate, usize::MAX - self.1)
    }
}

/// The shipped Demeter example with `profiler` and a short profiling budget.
fn demeter(dir: &std::path::Path, profiler: &str) -> Demeter {
    let text = include_str!("../../../examples/demeter/flinktune.toml")
        .replace("profile_budget = 30", "profile_budget = 16")
        .replace("[adapt]", &format!("[adapt]\nprofiler = \"{profiler}\""));
    std::fs::write(dir.join(crate::study::STUDY_FILE), text).unwrap();
    let study = Study::load(dir).unwrap();
    let sim = Sim(SimMeasure::new(&study).unwrap(), 0);
    Demeter::new(&study, 900.0, Box::new(sim)).unwrap()
}

#[test]
fn an_ehvi_profile_chooses_a_feasible_configuration_on_its_front_and_warm_starts_the_next() {
    let tmp = tempfile::tempdir().unwrap();
    let mut d = demeter(tmp.path(), "ehvi");
    let limit = d.plan_limit();
    for rate in [100_000, 200_000] {
        let p = d.profile(rate).unwrap().clone();
        assert_eq!(p.evaluations(), 16);
        let (_, m, violation) = p.best(limit).unwrap();
        assert_eq!(violation, 0.0, "{}", p.why(m, limit, p.latency_target_ms));
        assert!(m.recovery_time_s <= limit && m.latency_p99_ms <= p.latency_target_ms);
        assert!(m.throughput >= 0.9 * rate as f64 && !m.backpressured);
        // No probe that meets the targets is as cheap and as fast and better in one.
        let chosen = [cost(m), m.latency_p99_ms];
        for q in p.probes.iter().filter_map(|q| q.metrics.as_ref()) {
            if p.violation(q, limit) <= 0.0 {
                let other = [cost(q), q.latency_p99_ms];
                assert!(!opt::pareto::dominates(&other, &chosen), "{q:?} vs {m:?}");
            }
        }
        // Far cheaper than the static maximum (24 cores, 96 GiB) at these rates.
        assert!(cost(m) < 0.5 * (24.0 + 96.0 / 8.0), "{m:?}");
    }
    // The second rate started from the first one's front, right after C_max.
    let first = d.profiles[&100_000].front(limit);
    assert!(!first.is_empty());
    let second = &d.profiles[&200_000].probes;
    assert_eq!(&second[1].config, first[0]);
}
