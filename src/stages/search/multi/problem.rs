//! What a multi-objective search optimises, by name: the study's objectives and
//! constraints over the result fields an evaluation reports, and their mapping onto
//! `opt::mobo`, which works on vectors of metric values (the [`Problem::required`] metrics,
//! in that order).

use crate::study::objectives::{
    Bound, ConstraintSpec, ObjectiveSpec, Sense, parse_constraints, parse_objectives,
};
use crate::study::{MoMethod, Study};
use anyhow::Result;
use opt::ask_tell::{AskTell, Suggestion};
use opt::bo::Domain;
use opt::mobo::{self, MoOptions, Prior};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The metrics of one evaluation that ran: result field → mean over the passing repeats.
pub type Metrics = BTreeMap<String, f64>;

/// What a multi-objective search optimises.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    pub objectives: Vec<ObjectiveSpec>,
    pub constraints: Vec<ConstraintSpec>,
}

impl Problem {
    /// The problem of a study's `[search]` (validated when the study was loaded).
    pub fn of(study: &Study) -> Result<Problem> {
        Ok(Problem {
            objectives: parse_objectives(&study.file.search.objectives)?,
            constraints: parse_constraints(&study.file.search.constraints)?,
        })
    }

    /// Every metric an evaluation must report: objectives, then constrained metrics.
    pub fn required(&self) -> Vec<String> {
        let mut out: Vec<String> = self.objectives.iter().map(|o| o.metric.clone()).collect();
        for c in &self.constraints {
            if !out.contains(&c.metric) {
                out.push(c.metric.clone());
            }
        }
        out
    }

    /// The first required metric `m` lacks.
    pub fn missing(&self, m: &Metrics) -> Option<String> {
        self.required().into_iter().find(|k| !m.contains_key(k))
    }

    /// Total relative constraint violation (0: every constraint met).
    pub fn violation(&self, m: &Metrics) -> f64 {
        self.constraints
            .iter()
            .map(|c| m.get(&c.metric).map_or(f64::INFINITY, |&v| c.violation(v)))
            // An empty float sum is -0.0.
            .sum::<f64>()
            + 0.0
    }

    /// The objectives as minimised raw values (maximised ones negated).
    pub fn minimised(&self, m: &Metrics) -> Option<Vec<f64>> {
        self.objectives
            .iter()
            .map(|o| {
                let v = *m.get(&o.metric)?;
                Some(match o.sense {
                    Sense::Min => v,
                    Sense::Max => -v,
                })
            })
            .collect()
    }
}

impl Problem {
    /// The problem over vectors of the required metrics' values, in [`Problem::required`]
    /// order (an objective or constraint refers to its metric's first place there).
    pub fn numeric(&self) -> mobo::Problem {
        let required = self.required();
        let index = |metric: &String| {
            required
                .iter()
                .position(|r| r == metric)
                .expect("every objective and constraint metric is required")
        };
        mobo::Problem {
            metrics: required.len(),
            objectives: self
                .objectives
                .iter()
                .map(|o| mobo::Objective {
                    metric: index(&o.metric),
                    sense: match o.sense {
                        Sense::Min => mobo::Sense::Min,
                        Sense::Max => mobo::Sense::Max,
                    },
                })
                .collect(),
            constraints: self
                .constraints
                .iter()
                .map(|c| mobo::Constraint {
                    metric: index(&c.metric),
                    bound: match c.bound {
                        Bound::AtMost => mobo::Bound::AtMost,
                        Bound::AtLeast => mobo::Bound::AtLeast,
                    },
                    limit: c.limit,
                })
                .collect(),
        }
    }

    /// The required metrics' values of `m`, in [`Problem::required`] order (NaN where one
    /// is missing).
    pub fn values(&self, m: &Metrics) -> Vec<f64> {
        self.required()
            .iter()
            .map(|k| m.get(k).copied().unwrap_or(f64::NAN))
            .collect()
    }

    /// What the optimiser learns from an evaluation: the required metrics' values, or None
    /// if it did not run, lacks a required metric or has a value that is not finite.
    pub fn outcome(&self, m: Option<&Metrics>) -> Option<Vec<f64>> {
        m.filter(|m| self.missing(m).is_none())
            .filter(|m| m.values().all(|v| v.is_finite()))
            .map(|m| self.values(m))
    }
}

/// The objectives of evaluations that ran, transformed (log where all positive, negated
/// when maximised) and normalised to [0, 1] over those evaluations: the space the search
/// and the reported hypervolume work in (`opt::mobo::normalised_objectives`).
pub fn normalised_objectives(problem: &Problem, runs: &[&Metrics]) -> Vec<Vec<f64>> {
    let values: Vec<Vec<f64>> = runs.iter().map(|m| problem.values(m)).collect();
    let rows: Vec<&[f64]> = values.iter().map(Vec::as_slice).collect();
    mobo::normalised_objectives(&problem.numeric(), &rows)
}

/// Hypervolumes of several sets of evaluations on one common scale: the objectives of all
/// the sets' passing evaluations normalised together (see [`normalised_objectives`]),
/// reference point 1.1 in every objective; only evaluations meeting the constraints count.
/// For comparing searches at equal budgets.
pub fn common_hypervolumes(problem: &Problem, sets: &[Vec<Option<Metrics>>]) -> Vec<f64> {
    let sets: Vec<Vec<Option<Vec<f64>>>> = sets
        .iter()
        .map(|set| {
            set.iter()
                .map(|m| {
                    m.as_ref()
                        .filter(|m| problem.missing(m).is_none())
                        .map(|m| problem.values(m))
                })
                .collect()
        })
        .collect();
    mobo::common_hypervolumes(&problem.numeric(), &sets)
}

/// The multi-objective optimiser (`opt::mobo::Mobo`) told named metrics.
pub struct Mobo {
    problem: Problem,
    pub(super) inner: mobo::Mobo,
}

impl Mobo {
    pub fn new(domain: Domain, problem: Problem, opts: MoOptions) -> Result<Mobo> {
        Ok(Mobo {
            inner: mobo::Mobo::new(domain, problem.numeric(), opts)?,
            problem,
        })
    }

    /// A probability that a point can run at all, known before running it (e.g. Flink's
    /// memory rules); multiplies the acquisition.
    pub fn set_prior(&mut self, f: Prior) {
        self.inner.set_prior(f);
    }

    /// Points that decode to one configuration (see `encoding::canonical`).
    pub fn set_canonical(&mut self, canonical: opt::bo::Canonical) -> Result<()> {
        self.inner.set_canonical(canonical)
    }

    /// Queues a known point (encoded) to be suggested first.
    pub fn enqueue(&mut self, x: &[f64]) -> Result<()> {
        self.inner.enqueue(x)
    }

    /// Records the evaluation of a suggested point: its metrics, or None if it did not run.
    pub fn tell(&mut self, x: &[f64], metrics: Option<Metrics>) -> Result<()> {
        let outcome = self.problem.outcome(metrics.as_ref());
        self.inner.tell(x, outcome)
    }

    /// Records an evaluation of an earlier run (resuming): it counts as asked.
    pub fn replay(&mut self, x: &[f64], metrics: Option<Metrics>) -> Result<()> {
        let outcome = self.problem.outcome(metrics.as_ref());
        self.inner.replay(x, outcome)
    }

    /// Suggests `q` new points (fewer only if a finite domain runs out).
    pub fn ask_batch(&mut self, q: usize) -> Result<Vec<Suggestion>> {
        self.inner.ask_batch(q)
    }
}

impl AskTell for Mobo {
    type Outcome = Option<Metrics>;

    fn ask_batch(&mut self, q: usize) -> Result<Vec<Suggestion>> {
        Mobo::ask_batch(self, q)
    }

    fn tell_outcome(&mut self, x: &[f64], metrics: Option<Metrics>) -> Result<()> {
        self.tell(x, metrics)
    }

    fn replay_outcome(&mut self, x: &[f64], metrics: Option<Metrics>) -> Result<()> {
        self.replay(x, metrics)
    }
}

/// The optimiser's criterion for a study's `[search] multi_objective`.
pub fn mo_method(method: MoMethod) -> mobo::Method {
    match method {
        MoMethod::Ehvi => mobo::Method::Ehvi,
        MoMethod::Parego => mobo::Method::Parego,
    }
}
