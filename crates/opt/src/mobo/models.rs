//! The models of one batch: a GP per objective (normalised, log where positive, negated when
//! maximised) and per constrained metric, the learnt probability of running, and what the
//! criteria ask of them (feasibility, anchors for the candidate search).

use std::collections::HashMap;

use anyhow::{Context, Result};

use crate::bo::PassModel;
use crate::gp::{self, FitOptions, Gp, Hyper};
use crate::normal::log_cdf;
use crate::pareto;

use super::problem::{Bound, Constraint, Problem, Scale, Sense};

/// Probabilities are floored here before their logarithm.
const P_FLOOR: f64 = 1e-12;
/// Front points whose neighbourhoods the candidate search examines.
pub(super) const ANCHORS: usize = 5;

/// A probability that a (projected) point can run, known before running it (e.g. Flink's
/// memory rules). Point by point, unlike [`crate::bo::Feasibility`]: the scores here are
/// asked one point at a time.
pub type Prior = Box<dyn Fn(&[f64]) -> f64 + Send + Sync>;

/// Which model a GP fit is (its warm start is the last fit of the same model).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ModelKey {
    /// The objective on a metric (by index).
    Objective(usize),
    /// The constraints on a metric (by index).
    Constraint(usize),
    /// The probability of running.
    Pass,
    /// ParEGO's scalarisation.
    Parego,
}

impl std::fmt::Display for ModelKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ModelKey::Objective(k) => write!(f, "objective on metric {k}"),
            ModelKey::Constraint(k) => write!(f, "constraint on metric {k}"),
            ModelKey::Pass => write!(f, "P(run)"),
            ModelKey::Parego => write!(f, "parego"),
        }
    }
}

/// GP fits of one search: warm-started from the last fit of the same model, seeded by the
/// number of model batches so far.
pub struct Fitter {
    opts: FitOptions,
    dims: usize,
    hypers: HashMap<ModelKey, Hyper>,
    /// Model batches fitted so far.
    batches: usize,
}

impl Fitter {
    pub(super) fn new(opts: FitOptions, dims: usize) -> Fitter {
        Fitter {
            opts,
            dims,
            hypers: HashMap::new(),
            batches: 0,
        }
    }

    /// This batch's fit options: restarts only on a full refit.
    fn options(&self, full: bool) -> FitOptions {
        FitOptions {
            restarts: if full { self.opts.restarts } else { 0 },
            seed: self.opts.seed.wrapping_add(self.batches as u64),
            ..self.opts.clone()
        }
    }

    /// The last hyperparameters of `key`, if they fit the domain.
    fn warm(&self, key: ModelKey) -> Option<&Hyper> {
        self.hypers.get(&key).filter(|h| h.dim() == self.dims)
    }

    /// Fits a GP on `ys`, warm-started from the last fit of `key`.
    pub fn fit(&mut self, key: ModelKey, xs: &[Vec<f64>], ys: &[f64], full: bool) -> Result<Gp> {
        let opts = self.options(full);
        let warm = self.warm(key);
        // A bad warm start should not end the run: retry cold.
        let gp = match gp::fit(xs, ys, &opts, warm) {
            Err(_) if warm.is_some() => gp::fit(xs, ys, &self.opts, None),
            fitted => fitted,
        }
        .with_context(|| format!("fitting the GP of {key}"))?;
        self.hypers.insert(key, gp.hyper().clone());
        Ok(gp)
    }

    /// The classifier of runs and failures ([`PassModel`], warm-started like the metric
    /// GPs); None until both occurred or if it cannot be fitted.
    fn fit_pass(
        &mut self,
        passed: &[Vec<f64>],
        failed: &[Vec<f64>],
        full: bool,
    ) -> Option<PassModel> {
        let opts = self.options(full);
        let warm = self.warm(ModelKey::Pass);
        let model = PassModel::fit(passed, failed, &opts, warm).ok().flatten()?;
        self.hypers.insert(ModelKey::Pass, model.hyper().clone());
        Some(model)
    }
}

/// The models of one batch.
pub struct Models {
    /// One GP per objective, on its normalised minimised values.
    pub objectives: Vec<Gp>,
    /// One GP per constraint (on the metric, log where positive and the limit is) and the
    /// constraint.
    constraints: Vec<(Gp, Scale, Constraint)>,
    /// Normalised objective vectors of the passing evaluations, and whether each met the
    /// constraints.
    pub points: Vec<(Vec<f64>, bool)>,
    /// The passing evaluations' points, in `points` order.
    pub xs: Vec<Vec<f64>>,
    /// Their constraint violations.
    violations: Vec<f64>,
    /// P(run) learnt from the evaluations that ran and those that did not (None before
    /// both occurred).
    pass: Option<PassModel>,
}

impl Models {
    /// The models of the evaluations `(xs, results)` (None: did not run), or None while the
    /// design runs (fewer than `initial` evaluations) or fewer than two ran. Every `refit_every`-th
    /// batch (from the first) refits from several starts.
    pub(super) fn fit(
        problem: &Problem,
        xs: &[Vec<f64>],
        results: &[Option<Vec<f64>>],
        fitter: &mut Fitter,
        initial: usize,
        refit_every: usize,
    ) -> Result<Option<Models>> {
        let passing: Vec<usize> = (0..xs.len()).filter(|&i| results[i].is_some()).collect();
        if xs.len() < initial || passing.len() < 2 {
            return Ok(None);
        }
        let full = fitter.batches.is_multiple_of(refit_every.max(1));
        let pxs: Vec<Vec<f64>> = passing.iter().map(|&i| xs[i].clone()).collect();
        let runs: Vec<&[f64]> = passing
            .iter()
            .filter_map(|&i| results[i].as_deref())
            .collect();
        let mut objectives = Vec::new();
        let mut columns: Vec<Vec<f64>> = Vec::new();
        for o in &problem.objectives {
            let ys = normalised_column(&runs, o.metric, o.sense);
            objectives.push(fitter.fit(ModelKey::Objective(o.metric), &pxs, &ys, full)?);
            columns.push(ys);
        }
        let mut constraints = Vec::new();
        for c in &problem.constraints {
            let raw: Vec<f64> = runs.iter().map(|m| m[c.metric]).collect();
            let scale = match Scale::of(&raw) {
                Scale::Log if c.limit > 0.0 => Scale::Log,
                _ => Scale::Linear,
            };
            let ys: Vec<f64> = raw.iter().map(|&v| scale.apply(v)).collect();
            let gp = fitter.fit(ModelKey::Constraint(c.metric), &pxs, &ys, full)?;
            constraints.push((gp, scale, *c));
        }
        let (passed, failed) = split_by_outcome(xs, results);
        let pass = fitter.fit_pass(&passed, &failed, full);
        fitter.batches += 1;
        let violations: Vec<f64> = runs.iter().map(|m| problem.violation(m)).collect();
        let points = (0..runs.len())
            .map(|j| {
                (
                    columns.iter().map(|col| col[j]).collect(),
                    violations[j] <= 0.0,
                )
            })
            .collect();
        Ok(Some(Models {
            objectives,
            constraints,
            points,
            xs: pxs,
            violations,
            pass,
        }))
    }

    /// ln Π P(constraint met) + ln P(run) at `x`: each constraint from its GP; P(run) is the
    /// `prior` times the learnt classifier's ([`PassModel`]).
    pub fn log_feasibility(&self, prior: Option<&Prior>, x: &[f64]) -> f64 {
        let mut s = 0.0;
        for (gp, scale, c) in &self.constraints {
            let (mean, var) = gp.predict(x);
            let limit = scale.apply(c.limit);
            let sd = var.max(0.0).sqrt();
            let margin = match c.bound {
                Bound::AtMost => limit - mean,
                Bound::AtLeast => mean - limit,
            };
            s += if sd > 0.0 {
                log_cdf(margin / sd).max(P_FLOOR.ln())
            } else if margin >= 0.0 {
                0.0
            } else {
                P_FLOOR.ln()
            };
        }
        let p_run =
            prior.map_or(1.0, |f| f(x)) * self.pass.as_ref().map_or(1.0, |m| m.probability(x));
        s + p_run.clamp(P_FLOOR, 1.0).ln()
    }

    /// Anchors for the candidate search: the feasible front (best-balanced first), else the
    /// passing evaluations with the least violation.
    pub fn front_anchors(&self) -> Vec<Vec<f64>> {
        let feasible: Vec<usize> = (0..self.points.len())
            .filter(|&j| self.points[j].1)
            .collect();
        let mut order: Vec<(f64, usize)> = if feasible.is_empty() {
            self.violations.iter().copied().zip(0..).collect()
        } else {
            let pts: Vec<Vec<f64>> = feasible.iter().map(|&j| self.points[j].0.clone()).collect();
            pareto::non_dominated(&pts)
                .into_iter()
                .map(|k| (pts[k].iter().sum::<f64>(), feasible[k]))
                .collect()
        };
        order.sort_by(|a, b| a.0.total_cmp(&b.0));
        order
            .into_iter()
            .take(ANCHORS)
            .map(|(_, j)| self.xs[j].clone())
            .collect()
    }
}

/// One objective's values over `runs`, minimised (log where all positive, negated when
/// maximised) and normalised to [0, 1].
fn normalised_column(runs: &[&[f64]], metric: usize, sense: Sense) -> Vec<f64> {
    let raw: Vec<f64> = runs.iter().map(|m| m[metric]).collect();
    let scale = Scale::of(&raw);
    let sign = if sense == Sense::Max { -1.0 } else { 1.0 };
    let t: Vec<f64> = raw.iter().map(|&v| sign * scale.apply(v)).collect();
    let (lo, hi) = t.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |a, &v| {
        (a.0.min(v), a.1.max(v))
    });
    let width = if hi > lo { hi - lo } else { 1.0 };
    t.iter().map(|v| (v - lo) / width).collect()
}

/// The points that ran and those that did not.
fn split_by_outcome(
    xs: &[Vec<f64>],
    results: &[Option<Vec<f64>>],
) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
    let (mut passed, mut failed) = (Vec::new(), Vec::new());
    for (x, r) in xs.iter().zip(results) {
        if r.is_some() {
            &mut passed
        } else {
            &mut failed
        }
        .push(x.clone());
    }
    (passed, failed)
}
