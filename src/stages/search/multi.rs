//! Multi-objective Bayesian optimisation with outcome constraints, over the system.
//!
//! The study's `[search] objectives` name two or more result fields to minimise or
//! maximise (`latency_p99_ms:min`, `cpu_requested:min`, …) and `constraints` bound others
//! (`recovery_time_s <= 180`). Every objective and every constrained metric gets its own
//! Gaussian process (`gp`), fitted on the evaluations that ran; metrics whose observed values
//! are all positive are modelled on a log scale (latencies and resource amounts span
//! decades), and maximised ones are negated, so everything is minimised.
//!
//! Two acquisitions (`[search] multi_objective`):
//! - `ehvi` (default): expected hypervolume improvement over the front of the evaluations
//!   that met the constraints, by Monte Carlo over the objectives' independent GP
//!   posteriors (common random numbers, so candidates are compared on the same draws), on
//!   objectives normalised to [0, 1] over the evaluations that ran, reference point 1.1.
//! - `parego` (Knowles 2006): per suggestion a random weight vector from the simplex, the
//!   augmented Chebyshev scalarisation `max_i w_i f_i + 0.05 Σ w_i f_i` of the normalised
//!   objectives, one GP on it, and expected improvement over the best feasible value.
//!
//! Either is multiplied by Π P(constraint met) (each from its GP: Φ of the standardised
//! distance to the bound) and by P(run) — Flink's memory rules (`precheck`: 0) times the
//! learnt classifier of passes and failures (`bo::PassModel`), as in the single-objective
//! search.
//! Scores are summed logarithms, so nothing underflows to a flat zero. The domain, the
//! candidate search and the no-repeat rule are `bo`'s ([`BayesOpt::ask_scored`]), so every
//! suggestion is projected, in range and new.
//!
//! A batch of `q` suggestions fits the GPs once; with EHVI each suggestion's predicted
//! objectives join the front for the rest of the batch (a believer, without refitting), with
//! ParEGO each gets its own weights.
//!
//! The stage (`run`) journals every evaluation like the single-objective system search and
//! resumes after an interruption. Artifacts in `search/`: `history.csv`, `pareto.csv`,
//! `pareto.svg`, `report.md`, `summary.json` (readable as a `single::SearchSummary`, so
//! `validate` works) and `best/` — the constrained best: among the evaluations that ran and
//! met every constraint, the best in the first objective (objectives are listed by priority;
//! ties by the next); the knee of the front is recorded in the summary.

use crate::fsx::{self, StageDir};
use crate::report::plot;
use crate::stages::search::single;
use crate::stages::search::system::{self, Journal, SystemRunner};
use crate::study::encoding;
use crate::study::objectives::{
    Bound, ConstraintSpec, ObjectiveSpec, Sense, parse_constraints, parse_objectives,
};
use crate::study::{MoMethod, Over, Stage, Study};
use crate::trial::adapter::{self, Outcome};
use anyhow::{Context, Result, bail};
use flink::objective::Measurement;
use flink::space::{Config, Space};
use opt::acquisition::{self, Acquisition, Infill};
use opt::bo::{BayesOpt, BoOptions, Domain, PassModel, Suggestion};
use opt::gp::{self, FitOptions, Gp, Hyper};
use opt::pareto;
use rand::rngs::StdRng;
use rand::{Rng, RngExt, SeedableRng};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::ControlFlow;
use std::path::Path;
use std::time::Instant;

/// Monte Carlo draws of the objectives per EHVI evaluation.
const MC_SAMPLES: usize = 64;
/// ParEGO's augmentation weight ρ.
const PAREGO_RHO: f64 = 0.05;
/// The reference point of normalised objectives (1 = the worst value that ran).
const REFERENCE: f64 = 1.1;
/// Probabilities are floored here before their logarithm.
const P_FLOOR: f64 = 1e-12;
/// Front points whose neighbourhoods the candidate search examines.
const ANCHORS: usize = 5;

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

/// How a metric is modelled: its logarithm when every observed value is positive.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Scale {
    Log,
    Linear,
}

impl Scale {
    fn of(values: &[f64]) -> Scale {
        if !values.is_empty() && values.iter().all(|v| *v > 0.0) {
            Scale::Log
        } else {
            Scale::Linear
        }
    }
    fn apply(self, v: f64) -> f64 {
        match self {
            Scale::Log => v.ln(),
            Scale::Linear => v,
        }
    }
}

/// The objectives of evaluations that ran, transformed (log where all positive, negated
/// when maximised) and normalised to [0, 1] over those evaluations: the space the search
/// and the reported hypervolume work in.
pub fn normalised_objectives(problem: &Problem, runs: &[&Metrics]) -> Vec<Vec<f64>> {
    let transformed: Vec<Vec<f64>> = problem
        .objectives
        .iter()
        .map(|o| {
            let raw: Vec<f64> = runs.iter().map(|m| m[&o.metric]).collect();
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
/// the sets' passing evaluations normalised together (see [`normalised_objectives`]),
/// reference point 1.1 in every objective; only evaluations meeting the constraints count.
/// For comparing searches at equal budgets.
pub fn common_hypervolumes(problem: &Problem, sets: &[Vec<Option<Metrics>>]) -> Vec<f64> {
    let runs: Vec<(usize, &Metrics)> = sets
        .iter()
        .enumerate()
        .flat_map(|(k, set)| set.iter().flatten().map(move |m| (k, m)))
        .filter(|(_, m)| problem.missing(m).is_none())
        .collect();
    let all: Vec<&Metrics> = runs.iter().map(|(_, m)| *m).collect();
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

/// Options of the multi-objective optimiser.
#[derive(Clone, Debug)]
pub struct MoOptions {
    pub method: MoMethod,
    /// Space-filling suggestions before the models are used.
    pub initial: usize,
    /// Random candidates per suggestion (before hill-climbing).
    pub candidates: usize,
    pub fit: FitOptions,
    /// Full multi-start GP refit every `refit_every` model-based batches; warm starts between.
    pub refit_every: usize,
    pub seed: u64,
}

impl Default for MoOptions {
    fn default() -> Self {
        MoOptions {
            method: MoMethod::Ehvi,
            initial: 10,
            candidates: 1000,
            fit: FitOptions::default(),
            refit_every: 5,
            seed: 0,
        }
    }
}

/// A probability that a (projected) point can run, known before running it (Flink's memory
/// rules). Point by point, unlike `bo::Feasibility`: the scores here are asked one point at
/// a time.
pub type Prior = Box<dyn Fn(&[f64]) -> f64 + Send + Sync>;

/// Ask/tell multi-objective optimiser over a `bo::Domain`.
pub struct Mobo {
    problem: Problem,
    opts: MoOptions,
    bo: BayesOpt,
    rng: StdRng,
    xs: Vec<Vec<f64>>,
    /// Metrics of each told point; None: it did not run (or lacked a required metric).
    results: Vec<Option<Metrics>>,
    prior: Option<Prior>,
    hypers: HashMap<String, Hyper>,
    model_batches: usize,
}

/// A Gaussian process on one (transformed) metric.
struct MetricModel {
    gp: Gp,
    scale: Scale,
}

/// The models of one batch.
struct Models {
    objectives: Vec<Gp>,
    constraints: Vec<(MetricModel, ConstraintSpec)>,
    /// Normalised objective vectors of the passing evaluations, and whether each met the
    /// constraints.
    points: Vec<(Vec<f64>, bool)>,
    /// Indices (into `xs`) of the passing evaluations, in `points` order.
    passing: Vec<usize>,
    /// P(run) learnt from the evaluations that ran and those that did not (None before
    /// both occurred).
    pass: Option<PassModel>,
}

impl Mobo {
    pub fn new(domain: Domain, problem: Problem, opts: MoOptions) -> Result<Mobo> {
        if problem.objectives.len() < 2 {
            bail!("a multi-objective search needs at least two objectives");
        }
        let bo = BayesOpt::new(
            domain,
            BoOptions {
                initial: opts.initial,
                candidates: opts.candidates.max(1),
                seed: opts.seed,
                ..BoOptions::default()
            },
        )?;
        Ok(Mobo {
            problem,
            rng: StdRng::seed_from_u64(opts.seed ^ 0x6d6f_626f),
            opts,
            bo,
            xs: vec![],
            results: vec![],
            prior: None,
            hypers: HashMap::new(),
            model_batches: 0,
        })
    }

    /// A probability that a point can run at all, known before running it (e.g. Flink's
    /// memory rules); multiplies the acquisition.
    pub fn set_prior(&mut self, f: Prior) {
        self.prior = Some(f);
    }

    /// Records the evaluation of a suggested point: its metrics, or None if it did not run.
    pub fn tell(&mut self, x: &[f64], metrics: Option<Metrics>) -> Result<()> {
        self.bo.tell_seen(x)?;
        self.record(x, metrics);
        Ok(())
    }

    /// Records an evaluation of an earlier run (resuming): it counts as asked.
    pub fn replay(&mut self, x: &[f64], metrics: Option<Metrics>) -> Result<()> {
        self.bo.replay_seen(x)?;
        self.record(x, metrics);
        Ok(())
    }

    fn record(&mut self, x: &[f64], metrics: Option<Metrics>) {
        let metrics = metrics
            .filter(|m| self.problem.missing(m).is_none())
            .filter(|m| m.values().all(|v| v.is_finite()));
        self.xs.push(self.bo.domain().project(x));
        self.results.push(metrics);
    }

    /// Suggests `q` new points (fewer only if a finite domain runs out).
    pub fn ask_batch(&mut self, q: usize) -> Result<Vec<Suggestion>> {
        let models = self.fit_models()?;
        let mut out: Vec<Suggestion> = Vec::with_capacity(q);
        let mut believed: Vec<Vec<f64>> = Vec::new();
        for _ in 0..q.max(1) {
            let suggestion = match &models {
                None => self.bo.ask_scored(None, &[]),
                Some(models) => match self.opts.method {
                    MoMethod::Ehvi => self.ask_ehvi(models, &believed),
                    MoMethod::Parego => self.ask_parego(models),
                },
            };
            match suggestion {
                Ok(s) => {
                    if let Some(models) = &models {
                        believed.push(
                            models
                                .objectives
                                .iter()
                                .map(|gp| gp.predict(&s.x).0)
                                .collect(),
                        );
                    }
                    out.push(s);
                }
                Err(e) if out.is_empty() => return Err(e),
                Err(_) => break,
            }
        }
        Ok(out)
    }

    /// Fits a GP on `ys`, warm-started from the last fit of the same name.
    fn fit(&mut self, name: &str, xs: &[Vec<f64>], ys: &[f64], full: bool) -> Result<Gp> {
        let opts = FitOptions {
            restarts: if full { self.opts.fit.restarts } else { 0 },
            seed: self.opts.fit.seed.wrapping_add(self.model_batches as u64),
            ..self.opts.fit.clone()
        };
        let warm = self
            .hypers
            .get(name)
            .filter(|h| h.dim() == self.bo.domain().dims());
        // A bad warm start should not end the run: retry cold.
        let gp = match gp::fit(xs, ys, &opts, warm) {
            Err(_) if warm.is_some() => gp::fit(xs, ys, &self.opts.fit, None),
            fitted => fitted,
        }
        .with_context(|| format!("fitting the GP of {name}"))?;
        self.hypers.insert(name.to_string(), gp.hyper().clone());
        Ok(gp)
    }

    /// The classifier of runs and failures (`bo::PassModel`, warm-started like the metric
    /// GPs); None until both occurred or if it cannot be fitted (P(run) is then the prior's).
    fn fit_pass_model(&mut self, full: bool) -> Option<PassModel> {
        const NAME: &str = "P(run)";
        let (mut passed, mut failed) = (Vec::new(), Vec::new());
        for (x, r) in self.xs.iter().zip(&self.results) {
            if r.is_some() {
                &mut passed
            } else {
                &mut failed
            }
            .push(x.clone());
        }
        let opts = FitOptions {
            restarts: if full { self.opts.fit.restarts } else { 0 },
            seed: self.opts.fit.seed.wrapping_add(self.model_batches as u64),
            ..self.opts.fit.clone()
        };
        let warm = self
            .hypers
            .get(NAME)
            .filter(|h| h.dim() == self.bo.domain().dims());
        let model = PassModel::fit(&passed, &failed, &opts, warm)
            .ok()
            .flatten()?;
        self.hypers.insert(NAME.to_string(), model.hyper().clone());
        Some(model)
    }

    /// The models of the passing evaluations, or None while the design runs or fewer than
    /// two evaluations ran.
    fn fit_models(&mut self) -> Result<Option<Models>> {
        let passing: Vec<usize> = (0..self.xs.len())
            .filter(|&i| self.results[i].is_some())
            .collect();
        let asked = self.xs.len();
        if asked < self.opts.initial || passing.len() < 2 {
            return Ok(None);
        }
        let full = self
            .model_batches
            .is_multiple_of(self.opts.refit_every.max(1));
        let xs: Vec<Vec<f64>> = passing.iter().map(|&i| self.xs[i].clone()).collect();
        let runs: Vec<Metrics> = passing
            .iter()
            .filter_map(|&i| self.results[i].clone())
            .collect();
        let mut objectives = Vec::new();
        let mut columns: Vec<Vec<f64>> = Vec::new();
        for o in self.problem.objectives.clone() {
            let raw: Vec<f64> = runs.iter().map(|m| m[&o.metric]).collect();
            let scale = Scale::of(&raw);
            let sign = if o.sense == Sense::Max { -1.0 } else { 1.0 };
            let t: Vec<f64> = raw.iter().map(|&v| sign * scale.apply(v)).collect();
            let (lo, hi) = t.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |a, &v| {
                (a.0.min(v), a.1.max(v))
            });
            let width = if hi > lo { hi - lo } else { 1.0 };
            let ys: Vec<f64> = t.iter().map(|v| (v - lo) / width).collect();
            objectives.push(self.fit(&format!("objective {}", o.metric), &xs, &ys, full)?);
            columns.push(ys);
        }
        let mut constraints = Vec::new();
        for c in self.problem.constraints.clone() {
            let raw: Vec<f64> = runs.iter().map(|m| m[&c.metric]).collect();
            let scale = match Scale::of(&raw) {
                Scale::Log if c.limit > 0.0 => Scale::Log,
                _ => Scale::Linear,
            };
            let ys: Vec<f64> = raw.iter().map(|&v| scale.apply(v)).collect();
            let gp = self.fit(&format!("constraint {}", c.metric), &xs, &ys, full)?;
            constraints.push((MetricModel { gp, scale }, c));
        }
        let pass = self.fit_pass_model(full);
        self.model_batches += 1;
        let points = (0..runs.len())
            .map(|j| {
                (
                    columns.iter().map(|col| col[j]).collect(),
                    self.problem.violation(&runs[j]) <= 0.0,
                )
            })
            .collect();
        Ok(Some(Models {
            objectives,
            constraints,
            points,
            passing,
            pass,
        }))
    }

    /// Anchors for the candidate search: the feasible front (best-balanced first), else the
    /// passing evaluations with the least violation.
    fn anchors(&self, models: &Models) -> Vec<Vec<f64>> {
        let feasible: Vec<usize> = (0..models.points.len())
            .filter(|&j| models.points[j].1)
            .collect();
        let mut order: Vec<(f64, usize)> = if feasible.is_empty() {
            models
                .passing
                .iter()
                .enumerate()
                .map(|(j, &i)| {
                    let v = self.results[i]
                        .as_ref()
                        .map_or(f64::INFINITY, |m| self.problem.violation(m));
                    (v, j)
                })
                .collect()
        } else {
            let pts: Vec<Vec<f64>> = feasible
                .iter()
                .map(|&j| models.points[j].0.clone())
                .collect();
            pareto::non_dominated(&pts)
                .into_iter()
                .map(|k| (pts[k].iter().sum::<f64>(), feasible[k]))
                .collect()
        };
        order.sort_by(|a, b| a.0.total_cmp(&b.0));
        order
            .into_iter()
            .take(ANCHORS)
            .map(|(_, j)| self.xs[models.passing[j]].clone())
            .collect()
    }

    fn ask_ehvi(&mut self, models: &Models, believed: &[Vec<f64>]) -> Result<Suggestion> {
        let m = models.objectives.len();
        let mut front: Vec<Vec<f64>> = models
            .points
            .iter()
            .filter(|(_, ok)| *ok)
            .map(|(p, _)| p.clone())
            .collect();
        front.extend(believed.iter().cloned());
        let keep = pareto::non_dominated(&front);
        let front: Vec<Vec<f64>> = keep.into_iter().map(|k| front[k].clone()).collect();
        let reference = vec![REFERENCE; m];
        let draws: Vec<Vec<f64>> = (0..MC_SAMPLES)
            .map(|_| (0..m).map(|_| gaussian(&mut self.rng)).collect())
            .collect();
        let anchors = self.anchors(models);
        let prior = self.prior.as_ref();
        let score = |x: &[f64]| {
            let post: Vec<(f64, f64)> = models
                .objectives
                .iter()
                .map(|gp| {
                    let (mean, var) = gp.predict(x);
                    (mean, var.max(0.0).sqrt())
                })
                .collect();
            let mut y = vec![0.0; m];
            let total: f64 = draws
                .iter()
                .map(|eps| {
                    for k in 0..m {
                        y[k] = post[k].0 + post[k].1 * eps[k];
                    }
                    pareto::improvement(&front, &y, &reference)
                })
                .sum();
            let ehvi = total / MC_SAMPLES as f64;
            let s = ehvi.ln() + log_feasibility(models, prior, x);
            if s.is_nan() { f64::NEG_INFINITY } else { s }
        };
        self.bo.ask_scored(Some(&score), &anchors)
    }

    fn ask_parego(&mut self, models: &Models) -> Result<Suggestion> {
        let m = models.objectives.len();
        let weights = simplex_weights(&mut self.rng, m);
        let chebyshev = |p: &[f64]| {
            let terms = p.iter().zip(&weights).map(|(f, w)| f * w);
            terms.clone().fold(f64::NEG_INFINITY, f64::max) + PAREGO_RHO * terms.sum::<f64>()
        };
        let xs: Vec<Vec<f64>> = models.passing.iter().map(|&i| self.xs[i].clone()).collect();
        // Maximised: the negated scalarisation.
        let ys: Vec<f64> = models.points.iter().map(|(p, _)| -chebyshev(p)).collect();
        let gp = self.fit("parego", &xs, &ys, true)?;
        let best = models
            .points
            .iter()
            .zip(&ys)
            .filter(|((_, ok), _)| *ok)
            .map(|(_, y)| *y)
            .fold(f64::NEG_INFINITY, f64::max);
        let mut anchors: Vec<(f64, Vec<f64>)> =
            ys.iter().zip(&xs).map(|(y, x)| (*y, x.clone())).collect();
        anchors.sort_by(|a, b| b.0.total_cmp(&a.0));
        let anchors: Vec<Vec<f64>> = anchors.into_iter().take(ANCHORS).map(|a| a.1).collect();
        let ei = Acquisition::LogEi { xi: 0.0 };
        let prior = self.prior.as_ref();
        let score = |x: &[f64]| {
            let feasibility = log_feasibility(models, prior, x);
            // Without a feasible evaluation yet, only the probability of feasibility counts.
            let s = if best.is_finite() {
                let (mean, var) = gp.predict(x);
                ei.score(mean, var, best) + feasibility
            } else {
                feasibility
            };
            if s.is_nan() { f64::NEG_INFINITY } else { s }
        };
        self.bo.ask_scored(Some(&score), &anchors)
    }
}

/// ln Π P(constraint met) + ln P(run) at `x`: each constraint from its GP; P(run) is the
/// prior (Flink's memory rules) times the learnt classifier's (`bo::PassModel`).
fn log_feasibility(models: &Models, prior: Option<&Prior>, x: &[f64]) -> f64 {
    let mut s = 0.0;
    for (m, c) in &models.constraints {
        let (mean, var) = m.gp.predict(x);
        let limit = m.scale.apply(c.limit);
        let sd = var.max(0.0).sqrt();
        let margin = match c.bound {
            Bound::AtMost => limit - mean,
            Bound::AtLeast => mean - limit,
        };
        s += if sd > 0.0 {
            acquisition::log_cdf(margin / sd).max(P_FLOOR.ln())
        } else if margin >= 0.0 {
            0.0
        } else {
            P_FLOOR.ln()
        };
    }
    let p_run =
        prior.map_or(1.0, |f| f(x)) * models.pass.as_ref().map_or(1.0, |m| m.probability(x));
    s + p_run.clamp(P_FLOOR, 1.0).ln()
}

/// A standard normal draw (Box–Muller).
fn gaussian<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    let u1 = 1.0 - rng.random::<f64>(); // (0, 1]
    let u2 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Weights drawn uniformly from the simplex (normalised exponential draws).
fn simplex_weights<R: Rng + ?Sized>(rng: &mut R, m: usize) -> Vec<f64> {
    let e: Vec<f64> = (0..m).map(|_| -(1.0 - rng.random::<f64>()).ln()).collect();
    let total: f64 = e.iter().sum();
    e.iter().map(|v| v / total.max(f64::MIN_POSITIVE)).collect()
}

/// What evaluating one configuration gave.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MoEvaluation {
    /// pass | fail | error | skipped (a passing run lacking a required metric is a fail).
    pub status: String,
    pub reason: String,
    /// Every numeric result field, mean over the passing repeats (empty unless pass).
    pub metrics: Metrics,
    /// The study's single `objective` (ratio, latency or throughput) over the passing
    /// repeats, so `validate` and `status` read the summary like a single-objective one.
    pub perf: Option<f64>,
}

impl MoEvaluation {
    pub fn passed(&self) -> bool {
        self.status == "pass"
    }
}

/// Numeric fields of a passing outcome.
fn outcome_metrics(outcome: &Outcome) -> Option<Metrics> {
    let Outcome::Pass { measurement, extra } = outcome else {
        return None;
    };
    let mut m: Metrics = extra
        .iter()
        .filter_map(|(k, v)| v.as_f64().filter(|v| v.is_finite()).map(|v| (k.clone(), v)))
        .collect();
    m.insert("throughput".into(), measurement.throughput);
    m.insert("latency_p99_ms".into(), measurement.latency_p99_ms);
    Some(m)
}

/// Runs the study's repeats of one configuration through the adapter. A passing repeat
/// that lacks a metric the problem needs fails the evaluation, with a reason naming it.
pub fn evaluate_on_system(
    runner: &SystemRunner<'_>,
    problem: &Problem,
    id: &str,
    config: &Config,
    worker: usize,
) -> Result<MoEvaluation> {
    if let Some(reason) = system::predicted_failure(runner.study, config) {
        return Ok(MoEvaluation {
            status: "skipped".into(),
            reason,
            metrics: Metrics::new(),
            perf: None,
        });
    }
    let mut sums: BTreeMap<String, (f64, usize)> = BTreeMap::new();
    let mut runs: Vec<Measurement> = Vec::new();
    let mut last_failure: Option<(String, String)> = None;
    let stopped = runner.run_repeats(id, config, worker, |rec, outcome| {
        let Some(metrics) = outcome_metrics(&outcome) else {
            last_failure = Some((rec.status.clone(), rec.reason.clone()));
            return ControlFlow::Continue(());
        };
        if let Some(field) = problem.missing(&metrics) {
            return ControlFlow::Break(MoEvaluation {
                status: "fail".into(),
                reason: format!(
                    "trial {} passed but its result has no `{field}`, which the search needs",
                    rec.trial
                ),
                metrics: Metrics::new(),
                perf: None,
            });
        }
        runs.extend(rec.measurement());
        for (k, v) in metrics {
            let e = sums.entry(k).or_insert((0.0, 0));
            e.0 += v;
            e.1 += 1;
        }
        ControlFlow::Continue(())
    })?;
    if let Some(failed) = stopped {
        return Ok(failed);
    }
    if runs.is_empty() {
        let (status, reason) = last_failure.unwrap_or(("error".into(), "no repeat ran".into()));
        return Ok(MoEvaluation {
            status,
            reason,
            metrics: Metrics::new(),
            perf: None,
        });
    }
    Ok(MoEvaluation {
        status: "pass".into(),
        reason: String::new(),
        metrics: sums
            .into_iter()
            .map(|(k, (s, n))| (k, s / n as f64))
            .collect(),
        perf: runner.study.file.objective.perf(&runs),
    })
}

/// One evaluation of the search (a journal line).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MoStep {
    /// The point in the optimiser's relaxed coordinates.
    pub x: Vec<f64>,
    pub config: Config,
    pub initial: bool,
    /// The acquisition's log-score at the point (None in the initial design).
    pub acquisition: Option<f64>,
    pub evaluation: MoEvaluation,
}

impl MoStep {
    /// The metrics the optimiser learns from (None: did not run).
    pub fn metrics(&self) -> Option<&Metrics> {
        self.evaluation.passed().then_some(&self.evaluation.metrics)
    }
}

/// Runs the optimiser for `budget` evaluations in batches of `batch`, continuing from
/// `replayed` steps; `evaluate` measures a batch (ids name the trials); `on_step` sees (and
/// may journal) each new step.
#[allow(clippy::too_many_arguments)]
pub fn optimise(
    space: &Space,
    problem: &Problem,
    opts: MoOptions,
    prior: Option<Prior>,
    budget: usize,
    batch: usize,
    replayed: Vec<MoStep>,
    mut evaluate: impl FnMut(&[String], &[Config]) -> Result<Vec<MoEvaluation>>,
    mut on_step: impl FnMut(&MoStep) -> Result<()>,
) -> Result<Vec<MoStep>> {
    let domain = encoding::domain(space);
    let mut mobo = Mobo::new(domain.clone(), problem.clone(), opts)?;
    if let Some(p) = prior {
        mobo.set_prior(p);
    }
    let mut steps = Vec::with_capacity(budget);
    for step in replayed.into_iter().take(budget) {
        mobo.replay(&step.x, step.metrics().cloned())?;
        steps.push(step);
    }
    while steps.len() < budget && !adapter::cancelled() {
        let q = batch.max(1).min(budget - steps.len());
        let suggestions = mobo.ask_batch(q)?;
        let configs: Vec<Config> = suggestions
            .iter()
            .map(|s| encoding::decode(space, &domain, &s.x))
            .collect();
        let ids = system::trial_ids(steps.len(), configs.len());
        let evaluations = evaluate(&ids, &configs)?;
        if adapter::cancelled() {
            break;
        }
        for ((s, config), evaluation) in suggestions.into_iter().zip(configs).zip(evaluations) {
            let step = MoStep {
                x: s.x,
                config,
                initial: s.initial,
                acquisition: s.acquisition,
                evaluation,
            };
            mobo.tell(&step.x, step.metrics().cloned())?;
            on_step(&step)?;
            steps.push(step);
        }
    }
    Ok(steps)
}

/// The optimiser's options for a study.
pub fn mo_options(study: &Study) -> MoOptions {
    let s = &study.file.search;
    MoOptions {
        method: s.multi_objective,
        initial: s.initial as usize,
        candidates: s.candidates as usize,
        seed: study.file.seed,
        ..MoOptions::default()
    }
}

/// Flink's memory rules as a prior probability of running (0 or 1).
fn memory_rules_prior(study: &Study) -> Prior {
    let study = study.clone();
    let domain = encoding::domain(&study.space);
    Box::new(move |z: &[f64]| {
        let config = encoding::decode(&study.space, &domain, z);
        if study.predict_failure(&config).is_some() {
            0.0
        } else {
            1.0
        }
    })
}

/// The journal's first line: what its steps belong to.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct JournalHeader {
    multi_objective_journal: u32,
    problem: Problem,
    parameters: Vec<String>,
}

/// The multi-objective search's journal (the single-objective search's is `journal.jsonl`).
pub const JOURNAL: &str = system::MULTI_OBJECTIVE_JOURNAL;

/// Opens the journal, checking it belongs to this search; returns it with its steps.
fn open_journal(
    dir: &Path,
    header: &JournalHeader,
    space: &Space,
) -> Result<(Journal, Vec<MoStep>)> {
    Journal::resume_with_header(dir, JOURNAL, header, |path, found, steps: &[MoStep]| {
        if found.as_ref() != Some(header) {
            bail!(
                "{} belongs to another search (objectives, constraints or parameters changed): \
                 run the search with --restart",
                path.display()
            );
        }
        if steps.iter().any(|s| s.config.len() != space.len()) {
            bail!(
                "{} is damaged: run the search with --restart",
                path.display()
            );
        }
        Ok(())
    })
}

/// An evaluation's place in the results.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Point {
    pub iteration: usize,
    pub metrics: Metrics,
    pub config: serde_json::Value,
}

/// What the multi-objective stage found: the single-objective summary (the best's `perf` is
/// the study's `objective`, so `single::read_best` reads this file as it reads search's) and
/// the multi-objective additions.
#[derive(Debug, Serialize, Deserialize)]
pub struct MoSummary {
    #[serde(flatten)]
    pub search: single::SearchSummary,
    pub multi_objective: MoMethod,
    pub objectives: Vec<String>,
    pub constraints: Vec<String>,
    /// Evaluations that ran and met every constraint.
    pub feasible_evaluations: usize,
    /// Whether the best met the constraints (false: none did; the best is the evaluation
    /// with the least violation).
    pub constraints_met: bool,
    pub best_metrics: Metrics,
    pub front: Vec<Point>,
    pub knee: Option<Point>,
    /// Of the feasible front, objectives transformed (ln where all positive, negated when
    /// maximised) and normalised to [0, 1] over the evaluations that ran; reference 1.1.
    pub hypervolume: f64,
}

/// Runs the multi-objective stage over the system.
pub fn run(study: &Study, opts: single::SearchOptions) -> Result<MoSummary> {
    if opts.over != Over::System {
        bail!("the multi-objective search measures the system: use --over system");
    }
    // RGPE transfers one objective's scores; silently ignoring it here would mislead.
    if !study.file.search.transfer_from.is_empty() {
        bail!(
            "{}: [search] transfer_from (or --transfer-from) applies to the single-objective search, not to multi-objective `objectives`",
            study.dir.join(crate::study::STUDY_FILE).display()
        );
    }
    let problem = Problem::of(study)?;
    let space = &study.space;
    let rate = study.search_rate();
    let budget = study.file.search.budget as usize;
    let started = Instant::now();
    let stage = if opts.restart {
        StageDir::begin(&study.dir, Stage::Search.name())?
    } else {
        StageDir::resume(&study.dir, Stage::Search.name())?
    };
    let header = JournalHeader {
        multi_objective_journal: 1,
        problem: problem.clone(),
        parameters: space.params.iter().map(|p| p.name.clone()).collect(),
    };
    let (mut journal, replayed) = open_journal(&stage.path, &header, space)?;
    let runner = SystemRunner::new(study, rate, stage.path.join("trials"));
    let bar = crate::progress::bar(budget as u64, "search");
    bar.set_position(replayed.len() as u64);
    bar.reset_eta();
    let evaluate = |ids: &[String], configs: &[Config]| {
        runner.run_batch(ids, configs, |id, config, worker| {
            evaluate_on_system(&runner, &problem, id, config, worker)
        })
    };
    let steps = optimise(
        space,
        &problem,
        mo_options(study),
        Some(memory_rules_prior(study)),
        budget,
        opts.batch,
        replayed,
        evaluate,
        |step| {
            journal.append(step)?;
            bar.inc(1);
            Ok(())
        },
    )?;
    bar.finish_and_clear();
    if adapter::cancelled() {
        bail!(
            "interrupted after {} of {budget} evaluations; run the search again to resume",
            steps.len()
        );
    }
    let summary = finish(study, &problem, &stage.path, &steps, rate, started)?;
    stage.commit()?;
    Ok(summary)
}

/// Writes the stage's artifacts for finished `steps` and returns the summary.
fn finish(
    study: &Study,
    problem: &Problem,
    dir: &Path,
    steps: &[MoStep],
    rate: u64,
    started: Instant,
) -> Result<MoSummary> {
    let space = &study.space;
    let ran: Vec<usize> = (0..steps.len())
        .filter(|&i| steps[i].metrics().is_some())
        .collect();
    if ran.is_empty() {
        bail!(
            "no evaluated configuration ran: widen the space, check the adapter, or raise the budget"
        );
    }
    let metrics: Vec<&Metrics> = ran.iter().filter_map(|&i| steps[i].metrics()).collect();
    let raw: Vec<Vec<f64>> = metrics
        .iter()
        .map(|m| problem.minimised(m).unwrap_or_default())
        .collect();
    let violation: Vec<f64> = metrics.iter().map(|m| problem.violation(m)).collect();
    let norm = normalised_objectives(problem, &metrics);
    // The front: non-dominated among the evaluations that ran and met the constraints.
    let feasible: Vec<usize> = (0..ran.len()).filter(|&j| violation[j] <= 0.0).collect();
    let feasible_raw: Vec<Vec<f64>> = feasible.iter().map(|&j| raw[j].clone()).collect();
    let front: Vec<usize> = pareto::non_dominated(&feasible_raw)
        .into_iter()
        .map(|k| feasible[k])
        .collect();
    // The knee on the scale the search works on (log where positive), so one saturated
    // configuration with a p99 of seconds does not decide what "balanced" means.
    let front_norm: Vec<Vec<f64>> = front.iter().map(|&j| norm[j].clone()).collect();
    let knee = pareto::knee(&front_norm).map(|k| front[k]);
    let best = pareto::constrained_best(&raw, &violation).context("no evaluation ran")?;
    let reference = vec![REFERENCE; problem.objectives.len()];
    let hypervolume = pareto::hypervolume(&front_norm, &reference);
    let point = |j: usize| Point {
        iteration: ran[j],
        metrics: steps[ran[j]].evaluation.metrics.clone(),
        config: space.to_json(&steps[ran[j]].config),
    };
    let best_step = &steps[ran[best]];
    let constraints_met = violation[best] <= 0.0;

    let on_front: BTreeSet<usize> = front.iter().map(|&j| ran[j]).collect();
    let columns = metric_columns(problem, steps);
    write_history(
        &dir.join("history.csv"),
        space,
        problem,
        steps,
        &columns,
        &on_front,
    )?;
    write_front(
        &dir.join("pareto.csv"),
        space,
        steps,
        &columns,
        &front.iter().map(|&j| ran[j]).collect::<Vec<_>>(),
        knee.map(|j| ran[j]),
        ran[best],
    )?;
    plot_front(&dir.join("pareto.svg"), problem, steps, &on_front)?;
    let objectives: Vec<String> = problem.objectives.iter().map(|o| o.to_string()).collect();
    study.write_config_dir(
        &best_step.config,
        &dir.join("best"),
        &format!(
            "flinktune: constrained best of a multi-objective search at {rate} rec/s ({})",
            problem
                .objectives
                .iter()
                .map(|o| format!(
                    "{} = {:.4}",
                    o.metric, best_step.evaluation.metrics[&o.metric]
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    )?;
    let summary = MoSummary {
        search: single::SearchSummary {
            objective: study.file.objective,
            over: Over::System,
            rate,
            budget: study.file.search.budget as usize,
            initial: study.file.search.initial as usize,
            evaluations: steps.len(),
            failed_evaluations: steps.len() - ran.len(),
            best_iteration: ran[best],
            best_perf: best_step.evaluation.perf.unwrap_or(f64::NAN),
            predicted_default: None,
            predicted_speedup: None,
            best: space.to_json(&best_step.config),
            seconds: started.elapsed().as_secs_f64(),
            transfer: vec![],
            target_weight: None,
        },
        multi_objective: study.file.search.multi_objective,
        objectives,
        constraints: problem.constraints.iter().map(|c| c.to_string()).collect(),
        feasible_evaluations: feasible.len(),
        constraints_met,
        best_metrics: best_step.evaluation.metrics.clone(),
        front: front.iter().map(|&j| point(j)).collect(),
        knee: knee.map(point),
        hypervolume,
    };
    std::fs::write(dir.join("report.md"), report_md(&summary, problem))?;
    fsx::write_json(&dir.join("summary.json"), &summary)?;
    Ok(summary)
}

/// Metric columns of the tables: objectives, constrained metrics, then every other field
/// any evaluation reported, alphabetically.
fn metric_columns(problem: &Problem, steps: &[MoStep]) -> Vec<String> {
    let mut cols = problem.required();
    let others: BTreeSet<&String> = steps
        .iter()
        .flat_map(|s| s.evaluation.metrics.keys())
        .filter(|k| !cols.contains(k))
        .collect();
    cols.extend(others.into_iter().cloned());
    cols
}

fn cell(m: &Metrics, key: &str) -> String {
    m.get(key).map(|v| v.to_string()).unwrap_or_default()
}

fn write_history(
    path: &Path,
    space: &Space,
    problem: &Problem,
    steps: &[MoStep],
    columns: &[String],
    on_front: &BTreeSet<usize>,
) -> Result<()> {
    let mut table = csv::Writer::from_path(path)?;
    let mut header: Vec<String> = [
        "iteration",
        "phase",
        "acquisition",
        "status",
        "reason",
        "feasible",
        "violation",
        "pareto",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    header.extend(columns.iter().cloned());
    header.extend(space.params.iter().map(|p| p.name.clone()));
    table.write_record(&header)?;
    for (i, s) in steps.iter().enumerate() {
        let m = &s.evaluation.metrics;
        let violation = s.metrics().map(|m| problem.violation(m));
        let mut row = vec![
            i.to_string(),
            if s.initial { "initial" } else { "bo" }.to_string(),
            s.acquisition.map(|v| v.to_string()).unwrap_or_default(),
            s.evaluation.status.clone(),
            s.evaluation.reason.clone(),
            violation.is_some_and(|v| v <= 0.0).to_string(),
            violation.map(|v| v.to_string()).unwrap_or_default(),
            on_front.contains(&i).to_string(),
        ];
        row.extend(columns.iter().map(|c| cell(m, c)));
        row.extend(
            s.config
                .iter()
                .map(|v| v.as_ref().map(|v| v.to_string()).unwrap_or_default()),
        );
        table.write_record(&row)?;
    }
    table.flush()?;
    Ok(())
}

fn write_front(
    path: &Path,
    space: &Space,
    steps: &[MoStep],
    columns: &[String],
    front: &[usize],
    knee: Option<usize>,
    best: usize,
) -> Result<()> {
    let mut table = csv::Writer::from_path(path)?;
    let mut header: Vec<String> = ["iteration", "knee", "best"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    header.extend(columns.iter().cloned());
    header.extend(space.params.iter().map(|p| p.name.clone()));
    table.write_record(&header)?;
    for &i in front {
        let s = &steps[i];
        let mut row = vec![
            i.to_string(),
            (knee == Some(i)).to_string(),
            (best == i).to_string(),
        ];
        row.extend(columns.iter().map(|c| cell(&s.evaluation.metrics, c)));
        row.extend(
            s.config
                .iter()
                .map(|v| v.as_ref().map(|v| v.to_string()).unwrap_or_default()),
        );
        table.write_record(&row)?;
    }
    table.flush()?;
    Ok(())
}

/// The front in pairwise scatters of the objectives (one panel for two objectives).
fn plot_front(
    path: &Path,
    problem: &Problem,
    steps: &[MoStep],
    on_front: &BTreeSet<usize>,
) -> Result<()> {
    let m = problem.objectives.len();
    let pairs: Vec<(usize, usize)> = (0..m)
        .flat_map(|a| (a + 1..m).map(move |b| (a, b)))
        .take(3)
        .collect();
    let panels: Vec<plot::Panel> = pairs
        .iter()
        .map(|&(a, b)| {
            let (ma, mb) = (&problem.objectives[a].metric, &problem.objectives[b].metric);
            plot::Panel {
                x_label: problem.objectives[a].to_string(),
                y_label: problem.objectives[b].to_string(),
                points: steps
                    .iter()
                    .enumerate()
                    .filter_map(|(i, s)| {
                        let met = s.metrics()?;
                        let mark = if on_front.contains(&i) {
                            plot::Mark::Front
                        } else if problem.violation(met) > 0.0 {
                            plot::Mark::Infeasible
                        } else {
                            plot::Mark::Feasible
                        };
                        Some((met[ma], met[mb], mark))
                    })
                    .collect(),
            }
        })
        .collect();
    plot::pareto_panels(path, "Pareto front (evaluations that ran)", &panels)
}

fn report_md(s: &MoSummary, problem: &Problem) -> String {
    let metric_list = problem.required();
    let mut out = format!(
        "# Multi-objective search at {} rec/s\n\n\
         Objectives: {}. Constraints: {}. Acquisition: {:?}.\n\n\
         {} evaluations ({} initial, {} did not run, {} ran and met the constraints); \
         the front has {} configurations, hypervolume {:.4} (normalised objectives, \
         reference 1.1).\n\n",
        s.search.rate,
        s.objectives.join(", "),
        if s.constraints.is_empty() {
            "none".to_string()
        } else {
            s.constraints.join(", ")
        },
        s.multi_objective,
        s.search.evaluations,
        s.search.initial,
        s.search.failed_evaluations,
        s.feasible_evaluations,
        s.front.len(),
        s.hypervolume
    );
    out.push_str(&format!(
        "| iteration | {} | |\n|---|",
        metric_list.join(" | ")
    ));
    out.push_str(&"---|".repeat(metric_list.len() + 1));
    out.push('\n');
    for p in &s.front {
        let mut tags = vec![];
        if p.iteration == s.search.best_iteration {
            tags.push("best");
        }
        if s.knee.as_ref().is_some_and(|k| k.iteration == p.iteration) {
            tags.push("knee");
        }
        out.push_str(&format!(
            "| {} | {} | {} |\n",
            p.iteration,
            metric_list
                .iter()
                .map(|k| p
                    .metrics
                    .get(k)
                    .map(|v| format!("{v:.4}"))
                    .unwrap_or_default())
                .collect::<Vec<_>>()
                .join(" | "),
            tags.join(", ")
        ));
    }
    out.push_str(&format!(
        "\n`best/` holds the constrained best (iteration {}): {}.\n",
        s.search.best_iteration,
        if s.constraints_met {
            "among the evaluations that ran and met every constraint, the best in the first \
             objective (ties: the next)"
        } else {
            "NO evaluation met the constraints; this is the one with the least violation"
        }
    ));
    out
}

/// A human summary.
pub fn describe(s: &MoSummary) -> String {
    let fmt_metrics = |m: &Metrics| {
        s.objectives
            .iter()
            .filter_map(|o| o.split(':').next())
            .map(|k| {
                format!(
                    "{k} {}",
                    m.get(k).map(|v| format!("{v:.4}")).unwrap_or_default()
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut out = format!(
        "multi-objective search ({:?}) of the system at {} rec/s: {} evaluations ({} initial, {} failed, {} feasible) in {:.1} s; front of {} (hypervolume {:.4})\n",
        s.multi_objective,
        s.search.rate,
        s.search.evaluations,
        s.search.initial,
        s.search.failed_evaluations,
        s.feasible_evaluations,
        s.search.seconds,
        s.front.len(),
        s.hypervolume
    );
    out.push_str(&format!(
        "best (iteration {}{}): {}\n",
        s.search.best_iteration,
        if s.constraints_met {
            ""
        } else {
            ", violates the constraints"
        },
        fmt_metrics(&s.best_metrics)
    ));
    if let Some(k) = &s.knee {
        out.push_str(&format!(
            "knee (iteration {}): {}\n",
            k.iteration,
            fmt_metrics(&k.metrics)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use opt::bo::Var;
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

        let c =
            parse_constraints(&strings(&["recovery_time_s <= 180", "throughput>=1e4"])).unwrap();
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
            method,
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
        assert!(mobo.results[0].is_none());
    }
}
