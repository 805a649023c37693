//! What a multi-objective search optimises, over a vector of metric values per evaluation:
//! objectives (a metric and a direction) and outcome constraints (a metric and a bound), by
//! index into that vector. The caller maps its named metrics onto the indices.

use crate::pareto;

/// The reference point of normalised objectives (1 = the worst value that ran).
pub const REFERENCE: f64 = 1.1;

/// Minimise or maximise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sense {
    Min,
    Max,
}

/// Which side of its bound a constrained metric must stay.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bound {
    AtMost,
    AtLeast,
}

/// One objective: the index of its metric and its direction.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Objective {
    pub metric: usize,
    pub sense: Sense,
}

/// An outcome constraint: `metric <= limit` or `metric >= limit`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Constraint {
    pub metric: usize,
    pub bound: Bound,
    pub limit: f64,
}

impl Constraint {
    /// How far a value is outside the bound, relative to the bound (0 when met).
    pub fn violation(&self, value: f64) -> f64 {
        let over = match self.bound {
            Bound::AtMost => value - self.limit,
            Bound::AtLeast => self.limit - value,
        };
        over.max(0.0) / self.limit.abs().max(1e-9)
    }
}

/// Objectives and constraints over vectors of `metrics` values.
#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    /// The length of an evaluation's vector of metric values.
    pub metrics: usize,
    pub objectives: Vec<Objective>,
    pub constraints: Vec<Constraint>,
}

impl Problem {
    /// Total relative constraint violation of an evaluation's values (0: every constraint
    /// met).
    pub fn violation(&self, values: &[f64]) -> f64 {
        self.constraints
            .iter()
            .map(|c| c.violation(values[c.metric]))
            // An empty float sum is -0.0.
            .sum::<f64>()
            + 0.0
    }

    /// Whether every index is below `metrics`.
    pub(super) fn indices_valid(&self) -> bool {
        self.objectives.iter().all(|o| o.metric < self.metrics)
            && self.constraints.iter().all(|c| c.metric < self.metrics)
    }
}

/// How a metric is modelled: its logarithm when every observed value is positive.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Scale {
    Log,
    Linear,
}

impl Scale {
    pub(super) fn of(values: &[f64]) -> Scale {
        if !values.is_empty() && values.iter().all(|v| *v > 0.0) {
            Scale::Log
        } else {
            Scale::Linear
        }
    }

    pub(super) fn apply(self, v: f64) -> f64 {
        match self {
            Scale::Log => v.ln(),
            Scale::Linear => v,
        }
    }
}

/// The objectives of evaluations that ran, transformed (log where all positive, negated
/// when maximised) and normalised to [0, 1] over those evaluations: the space the search
/// and the reported hypervolume work in.
pub fn normalised_objectives(problem: &Problem, runs: &[&[f64]]) -> Vec<Vec<f64>> {
    let transformed: Vec<Vec<f64>> = problem
        .objectives
        .iter()
        .map(|o| {
            let raw: Vec<f64> = runs.iter().map(|m| m[o.metric]).collect();
            let scale = Scale::of(&raw);
            raw.iter()
                .map(|&v| {
                    let t = scale.apply(v);
                    if o.sense == Sense::Max { -t } else { t }
                })
                .collect()
        })
        .collect();
    let by_point: Vec<Vec<f64>> = (0..runs.len())
        .map(|j| transformed.iter().map(|col| col[j]).collect())
        .collect();
    pareto::normalise(&by_point)
}

/// Hypervolumes of several sets of evaluations on one common scale: the objectives of all
/// the sets' evaluations that ran (Some) normalised together (see
/// [`normalised_objectives`]), reference point [`REFERENCE`] in every objective; only
/// evaluations meeting the constraints count. For comparing searches at equal budgets.
pub fn common_hypervolumes(problem: &Problem, sets: &[Vec<Option<Vec<f64>>>]) -> Vec<f64> {
    let runs: Vec<(usize, &[f64])> = sets
        .iter()
        .enumerate()
        .flat_map(|(k, set)| set.iter().flatten().map(move |m| (k, m.as_slice())))
        .collect();
    let all: Vec<&[f64]> = runs.iter().map(|(_, m)| *m).collect();
    let norm = normalised_objectives(problem, &all);
    let reference = vec![REFERENCE; problem.objectives.len()];
    (0..sets.len())
        .map(|k| {
            let pts: Vec<Vec<f64>> = runs
                .iter()
                .zip(&norm)
                .filter(|((set, m), _)| *set == k && problem.violation(m) <= 0.0)
                .map(|(_, p)| p.clone())
                .collect();
            pareto::hypervolume(&pts, &reference)
        })
        .collect()
}
