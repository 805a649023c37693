//! Configuration schedules: which configuration to run at each forecast step.
//!
//! Pure decision logic over a caller-supplied [`Oracle`] (a model, a Pareto front, a
//! table): for each step the demand rate is the forecast's upper bound or the forecast
//! times (1 + margin); the oracle names the constrained-best configuration at that rate
//! with its predicted objective (a cost: lower is better, positive), and says whether the
//! running configuration still meets the constraints there and at what objective.
//!
//! The rule (after Demeter): keep the running configuration unless
//! - it would **violate** a constraint at the demand rate: switch to the best at once,
//!   whatever the gain and however recently the last switch was (safety first); or
//! - the best configuration's predicted **gain** (cur − best) / cur is at least
//!   `min_gain` (Demeter: 5 %; a gain equal to it, up to 1e-12 of rounding, switches)
//!   *and* at least `min_dwell_steps` steps have passed since the last switch — a restart
//!   costs downtime, so a small or a noisy improvement is not worth one — *and* the
//!   oracle can afford the switch's disruption (Demeter's latency budget).

use anyhow::{Result, bail};
use opt::forecast::Point;
use serde::Serialize;

/// The oracle's constrained-best configuration at a rate.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    pub config: String,
    /// Predicted objective (cost; lower is better).
    pub objective: f64,
    /// Whether even the best meets the constraints (false: the least bad there is).
    pub meets_constraints: bool,
}

/// The oracle's view of a given configuration at a rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Assessment {
    pub objective: f64,
    pub meets_constraints: bool,
}

/// Answers what the schedule needs to know about configurations at a rate.
pub trait Oracle {
    /// The constrained-best configuration at `rate` (records/s).
    fn best(&mut self, rate: f64) -> Result<Choice>;
    /// How `config` would do at `rate`.
    fn assess(&mut self, config: &str, rate: f64) -> Result<Assessment>;
    /// Whether a switch for gain from `from` to `to` is affordable now — e.g. whether its
    /// stop fits a latency budget. Switches for a violation are not asked.
    fn affordable(&mut self, _from: &str, _to: &Choice) -> Result<bool> {
        Ok(true)
    }
}

/// The rate a forecast step must be provisioned for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Demand {
    /// The upper bound of the prediction interval.
    Upper,
    /// The forecast × (1 + margin).
    Margin(f64),
}

impl Demand {
    pub fn rate(self, p: &Point) -> f64 {
        match self {
            Demand::Upper => p.upper,
            Demand::Margin(m) => p.forecast * (1.0 + m),
        }
    }
}

/// When to switch.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub demand: Demand,
    /// Minimum relative gain worth a restart (Demeter: 0.05).
    pub min_gain: f64,
    /// Steps that must pass after a switch before a switch for gain (not for a violation).
    pub min_dwell_steps: usize,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            demand: Demand::Upper,
            min_gain: 0.05,
            min_dwell_steps: 1,
        }
    }
}

/// Why a step runs the configuration it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    /// Nothing was running: start the best.
    Start,
    /// The running configuration would violate a constraint: switched.
    Violation,
    /// The best gains at least `min_gain`: switched.
    Gain,
    /// Kept: it meets the constraints and the best gains less than `min_gain`.
    Keep,
    /// Kept: the gain is worth a switch but the last switch was too recent.
    Dwell,
    /// Kept: the gain is worth a switch but the oracle cannot afford its disruption now.
    Budget,
    /// Kept though it violates a constraint: the oracle's best is this configuration.
    NoBetter,
}

/// One step of a schedule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    /// The forecast step (1 = the next step).
    pub step: usize,
    /// The demand rate the step was provisioned for.
    pub rate: f64,
    /// The configuration to run from this step.
    pub config: String,
    pub reason: Reason,
    /// Whether this step switches configuration (or starts one).
    pub switch: bool,
    /// The best configuration's relative gain over the one running before (None at start).
    pub gain: Option<f64>,
    /// Whether the configuration run meets the constraints at `rate`, per the oracle.
    pub meets_constraints: bool,
}

/// Decides step by step, remembering what runs and when it was switched to.
#[derive(Debug, Clone)]
pub struct Scheduler {
    pub policy: Policy,
    current: Option<String>,
    since_switch: usize,
}

impl Scheduler {
    /// `current`: the configuration running now (None: nothing yet); `since_switch`:
    /// steps since it was switched to.
    pub fn new(policy: Policy, current: Option<String>, since_switch: usize) -> Result<Self> {
        if !(policy.min_gain.is_finite() && policy.min_gain >= 0.0) {
            bail!("the minimum gain must be ≥ 0, not {}", policy.min_gain);
        }
        if let Demand::Margin(m) = policy.demand
            && !(m.is_finite() && m > -1.0)
        {
            bail!("the safety margin must be > -1, not {m}");
        }
        Ok(Scheduler {
            policy,
            current,
            since_switch,
        })
    }

    /// The configuration running now.
    pub fn current(&self) -> Option<&str> {
        self.current.as_deref()
    }

    /// The decision for one forecast step.
    pub fn decide(&mut self, oracle: &mut dyn Oracle, p: &Point) -> Result<Decision> {
        let rate = self.policy.demand.rate(p);
        if !rate.is_finite() {
            bail!("forecast step {} has no finite demand rate", p.step);
        }
        self.since_switch = self.since_switch.saturating_add(1);
        let best = oracle.best(rate)?;
        check(best.objective, &best.config, rate)?;
        let Some(current) = self.current.clone() else {
            return Ok(self.switch(p.step, rate, best, Reason::Start, None));
        };
        let now = oracle.assess(&current, rate)?;
        check(now.objective, &current, rate)?;
        let gain = (now.objective - best.objective) / now.objective.abs().max(f64::MIN_POSITIVE);
        let differs = best.config != current;
        let keep = |reason, meets| Decision {
            step: p.step,
            rate,
            config: current.clone(),
            reason,
            switch: false,
            gain: Some(gain),
            meets_constraints: meets,
        };
        if !now.meets_constraints {
            return Ok(if differs {
                self.switch(p.step, rate, best, Reason::Violation, Some(gain))
            } else {
                keep(Reason::NoBetter, false)
            });
        }
        if differs && gain >= self.policy.min_gain - 1e-12 {
            if self.since_switch < self.policy.min_dwell_steps {
                return Ok(keep(Reason::Dwell, true));
            }
            if !oracle.affordable(&current, &best)? {
                return Ok(keep(Reason::Budget, true));
            }
            return Ok(self.switch(p.step, rate, best, Reason::Gain, Some(gain)));
        }
        Ok(keep(Reason::Keep, true))
    }

    fn switch(
        &mut self,
        step: usize,
        rate: f64,
        best: Choice,
        reason: Reason,
        gain: Option<f64>,
    ) -> Decision {
        self.current = Some(best.config.clone());
        self.since_switch = 0;
        Decision {
            step,
            rate,
            config: best.config,
            reason,
            switch: true,
            gain,
            meets_constraints: best.meets_constraints,
        }
    }
}

fn check(objective: f64, config: &str, rate: f64) -> Result<()> {
    if !objective.is_finite() {
        bail!("the oracle gave {config} no finite objective at {rate} records/s");
    }
    Ok(())
}

/// The schedule over every forecast step, from `scheduler`'s state.
pub fn plan(
    scheduler: &mut Scheduler,
    oracle: &mut dyn Oracle,
    points: &[Point],
) -> Result<Vec<Decision>> {
    points.iter().map(|p| scheduler.decide(oracle, p)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// `tmK` runs K TaskManagers of 5 000 records/s each; cost K; the best is the
    /// smallest K that keeps up.
    struct Scaling;
    const PER_TM: f64 = 5000.0;

    impl Oracle for Scaling {
        fn best(&mut self, rate: f64) -> Result<Choice> {
            let k = (rate / PER_TM).ceil().clamp(1.0, 24.0);
            Ok(Choice {
                config: format!("tm{k}"),
                objective: k,
                meets_constraints: k * PER_TM >= rate,
            })
        }
        fn assess(&mut self, config: &str, rate: f64) -> Result<Assessment> {
            let k: f64 = config[2..].parse()?;
            Ok(Assessment {
                objective: k,
                meets_constraints: k * PER_TM >= rate,
            })
        }
    }

    /// Fixed objectives per configuration, all feasible unless listed; `best` is given.
    struct Table {
        best: String,
        objective: BTreeMap<String, f64>,
        infeasible: Vec<String>,
    }

    impl Oracle for Table {
        fn best(&mut self, _: f64) -> Result<Choice> {
            Ok(Choice {
                config: self.best.clone(),
                objective: self.objective[&self.best],
                meets_constraints: true,
            })
        }
        fn assess(&mut self, config: &str, _: f64) -> Result<Assessment> {
            Ok(Assessment {
                objective: self.objective[config],
                meets_constraints: !self.infeasible.iter().any(|c| c == config),
            })
        }
    }

    /// `Scaling`, but no switch for gain is affordable.
    struct Broke(Scaling);

    impl Oracle for Broke {
        fn best(&mut self, rate: f64) -> Result<Choice> {
            self.0.best(rate)
        }
        fn assess(&mut self, config: &str, rate: f64) -> Result<Assessment> {
            self.0.assess(config, rate)
        }
        fn affordable(&mut self, _: &str, _: &Choice) -> Result<bool> {
            Ok(false)
        }
    }

    #[test]
    fn a_gain_the_oracle_cannot_afford_waits_but_a_violation_does_not() {
        let mut s = Scheduler::new(Policy::default(), Some("tm10".into()), 100).unwrap();
        // tm10 at 20 000/s (22 000 provisioned): tm5 would save 50 %, but the switch is not
        // affordable.
        let d = s
            .decide(&mut Broke(Scaling), &points(&[20_000.0])[0])
            .unwrap();
        assert_eq!(
            (d.reason, d.switch, d.config.as_str()),
            (Reason::Budget, false, "tm10")
        );
        // Affordable, the same gain switches.
        let d = s.decide(&mut Scaling, &points(&[20_000.0])[0]).unwrap();
        assert_eq!(
            (d.reason, d.switch, d.config.as_str()),
            (Reason::Gain, true, "tm5")
        );
        // tm5 at 60 000/s misses its constraint: it switches whatever the budget.
        let d = s
            .decide(&mut Broke(Scaling), &points(&[60_000.0])[0])
            .unwrap();
        assert_eq!((d.reason, d.switch), (Reason::Violation, true));
    }

    fn points(rates: &[f64]) -> Vec<Point> {
        rates
            .iter()
            .enumerate()
            .map(|(i, &r)| Point {
                step: i + 1,
                forecast: r,
                lower: r * 0.9,
                upper: r * 1.1,
            })
            .collect()
    }

    fn noisy(level: f64, amplitude: f64, n: usize) -> Vec<f64> {
        // A deterministic zig-zag of ±amplitude (relative): noise without a trend.
        (0..n)
            .map(|i| level * (1.0 + amplitude * ((i * 7919 % 13) as f64 / 6.0 - 1.0)))
            .collect()
    }

    fn switches(d: &[Decision]) -> usize {
        d.iter().filter(|d| d.switch).count()
    }

    #[test]
    fn noise_within_capacity_does_not_flap() {
        // A best configuration that flips on noise between two with 1–3 % between them
        // is never worth a restart.
        let mut s = Scheduler::new(Policy::default(), Some("a".into()), 100).unwrap();
        let mut objective = BTreeMap::from([("a".to_string(), 100.0)]);
        for (i, p) in points(&noisy(40_000.0, 0.02, 200)).iter().enumerate() {
            let best = if i % 2 == 0 { "b" } else { "c" };
            objective.insert("b".into(), 97.0 + (i % 3) as f64);
            objective.insert("c".into(), 98.5);
            let mut o = Table {
                best: best.into(),
                objective: objective.clone(),
                infeasible: vec![],
            };
            let d = s.decide(&mut o, p).unwrap();
            assert!(!d.switch && d.reason == Reason::Keep, "{d:?}");
        }

        // Rates jittering ±2 % inside one capacity bucket: one start, no switch after.
        let mut s = Scheduler::new(
            Policy {
                demand: Demand::Margin(0.1),
                ..Policy::default()
            },
            None,
            0,
        )
        .unwrap();
        let d = plan(&mut s, &mut Scaling, &points(&noisy(34_000.0, 0.02, 300))).unwrap();
        assert_eq!(switches(&d), 1);
        assert_eq!(d[0].reason, Reason::Start);
        assert!(d.iter().all(|d| d.config == "tm8" && d.meets_constraints));
    }

    #[test]
    fn the_dwell_time_spaces_out_gain_switches_across_a_capacity_boundary() {
        // Demand jittering across 45 000 (9 ↔ 10 TaskManagers): up-switches are forced by
        // violations, down-switches (10 % cheaper) wait for the dwell time.
        let dwell = 12;
        let policy = Policy {
            demand: Demand::Margin(0.0),
            min_gain: 0.05,
            min_dwell_steps: dwell,
        };
        let mut s = Scheduler::new(policy, None, 0).unwrap();
        let d = plan(&mut s, &mut Scaling, &points(&noisy(45_000.0, 0.02, 240))).unwrap();
        let mut last_switch = 0;
        for x in d.iter().filter(|d| d.switch) {
            if x.reason == Reason::Gain {
                assert!(x.step - last_switch >= dwell, "{x:?} after {last_switch}");
            }
            last_switch = x.step;
        }
        assert!(
            d.iter().all(|d| d.meets_constraints),
            "never under-provisioned"
        );
        assert!(d.iter().any(|d| d.reason == Reason::Dwell));
        let gain_switches = d.iter().filter(|d| d.reason == Reason::Gain).count();
        assert!(gain_switches <= 240 / dwell, "{gain_switches}");
    }

    #[test]
    fn a_sustained_rise_switches_up() {
        let rates: Vec<f64> = (0..48).map(|i| 20_000.0 + 1250.0 * i as f64).collect();
        let mut s = Scheduler::new(Policy::default(), Some("tm5".into()), 100).unwrap();
        let d = plan(&mut s, &mut Scaling, &points(&rates)).unwrap();
        assert!(switches(&d) >= 5, "{}", switches(&d));
        assert!(d.iter().all(|d| d.meets_constraints));
        // Each switch goes up (never down on a rise); the last one covers the peak.
        let sizes: Vec<f64> = d
            .iter()
            .filter(|d| d.switch)
            .map(|d| d.config[2..].parse().unwrap())
            .collect();
        assert!(sizes.windows(2).all(|w| w[1] > w[0]), "{sizes:?}");
        let peak = 1.1 * rates[47];
        assert_eq!(d[47].config, format!("tm{}", (peak / PER_TM).ceil()));
    }

    #[test]
    fn a_violation_forces_a_switch_regardless_of_gain_and_dwell() {
        // tm4 cannot carry 30 000 × 1.1; the best (tm7) costs more: a negative gain.
        let mut s = Scheduler::new(
            Policy {
                min_dwell_steps: 50,
                ..Policy::default()
            },
            Some("tm4".into()),
            0,
        )
        .unwrap();
        let d = s.decide(&mut Scaling, &points(&[30_000.0])[0]).unwrap();
        assert_eq!((d.reason, d.switch), (Reason::Violation, true));
        assert_eq!(d.config, "tm7");
        assert!(d.gain.unwrap() < 0.0);
        assert_eq!(s.current(), Some("tm7"));

        // If the violating configuration is itself the oracle's best, it is kept (no
        // pointless restart), and the decision says it violates.
        let mut o = Table {
            best: "a".into(),
            objective: BTreeMap::from([("a".to_string(), 1.0)]),
            infeasible: vec!["a".into()],
        };
        let mut s = Scheduler::new(Policy::default(), Some("a".into()), 5).unwrap();
        let d = s.decide(&mut o, &points(&[1.0])[0]).unwrap();
        assert_eq!(
            (d.reason, d.switch, d.meets_constraints),
            (Reason::NoBetter, false, false)
        );
    }

    #[test]
    fn the_gain_rule_holds_exactly_at_the_boundary() {
        let decide = |current: f64, best: f64| {
            let mut o = Table {
                best: "b".into(),
                objective: BTreeMap::from([("a".to_string(), current), ("b".to_string(), best)]),
                infeasible: vec![],
            };
            let mut s = Scheduler::new(Policy::default(), Some("a".into()), 10).unwrap();
            s.decide(&mut o, &points(&[1000.0])[0]).unwrap()
        };
        for (cur, best) in [(100.0, 95.0), (3.0, 2.85), (1.0, 0.95), (24.0, 22.8)] {
            let d = decide(cur, best);
            assert_eq!(
                (d.reason, d.config.as_str()),
                (Reason::Gain, "b"),
                "{cur} → {best}"
            );
        }
        for (cur, best) in [(100.0, 95.0001), (3.0, 2.8500001), (24.0, 22.81)] {
            let d = decide(cur, best);
            assert_eq!(
                (d.reason, d.config.as_str()),
                (Reason::Keep, "a"),
                "{cur} → {best}"
            );
        }
    }

    #[test]
    fn demand_uses_the_upper_bound_or_the_margin() {
        let p = points(&[1000.0])[0];
        assert_eq!(Demand::Upper.rate(&p), 1100.0);
        assert_eq!(Demand::Margin(0.25).rate(&p), 1250.0);
        assert!(
            Scheduler::new(
                Policy {
                    demand: Demand::Margin(-2.0),
                    ..Policy::default()
                },
                None,
                0
            )
            .is_err()
        );
    }
}
