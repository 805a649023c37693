//! The multi-objective optimiser: ask/tell over a [`Domain`], a GP per metric, the
//! acquisition of its [`Method`] times the probability of feasibility, maximised by
//! [`BayesOpt::ask_scored`] (so every suggestion is projected, in range and new).

use anyhow::{Result, bail, ensure};
use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::ask_tell::{AskTell, Suggestion};
use crate::bo::{BayesOpt, BoOptions, Domain};
use crate::gp::FitOptions;

use super::criterion::{Context, MoCriterion};
use super::ehvi::Ehvi;
use super::models::{Fitter, Models, Prior};
use super::parego::ParEgo;
use super::problem::Problem;

/// The criterion a search uses (the configuration value).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Method {
    /// Expected hypervolume improvement ([`Ehvi`]).
    #[default]
    Ehvi,
    /// ParEGO ([`ParEgo`]).
    Parego,
}

impl Method {
    /// The criterion this value names.
    pub fn criterion(self) -> &'static dyn MoCriterion {
        match self {
            Method::Ehvi => &Ehvi,
            Method::Parego => &ParEgo,
        }
    }
}

/// The stream of the optimiser's own draws (Monte Carlo samples, ParEGO weights), split
/// from `MoOptions::seed`, which also seeds its design and candidates; the value ("mobo" in
/// ASCII) is the stream's identity and keeps a seed's results reproducible.
const DRAWS_STREAM: u64 = 0x6d6f_626f;

/// Options of the multi-objective optimiser.
#[derive(Clone, Debug)]
pub struct MoOptions {
    pub method: Method,
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
            method: Method::Ehvi,
            initial: 10,
            candidates: 1000,
            fit: FitOptions::default(),
            refit_every: 5,
            seed: 0,
        }
    }
}

/// Ask/tell multi-objective optimiser over a [`Domain`]; an evaluation's outcome is its
/// vector of metric values (see [`Problem`]), or None if it did not run.
pub struct Mobo {
    problem: Problem,
    opts: MoOptions,
    bo: BayesOpt,
    rng: StdRng,
    xs: Vec<Vec<f64>>,
    /// Metric values of each told point; None: it did not run (or had a non-finite value).
    results: Vec<Option<Vec<f64>>>,
    prior: Option<Prior>,
    fitter: Fitter,
}

impl Mobo {
    /// A new optimiser. Fails with fewer than two objectives, an index out of range, or an
    /// invalid domain.
    pub fn new(domain: Domain, problem: Problem, opts: MoOptions) -> Result<Mobo> {
        if problem.objectives.len() < 2 {
            bail!("a multi-objective search needs at least two objectives");
        }
        ensure!(
            problem.indices_valid(),
            "an objective or constraint refers to a metric beyond the {} of the problem",
            problem.metrics
        );
        let dims = domain.dims();
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
            rng: StdRng::seed_from_u64(opts.seed ^ DRAWS_STREAM),
            fitter: Fitter::new(opts.fit.clone(), dims),
            opts,
            bo,
            xs: vec![],
            results: vec![],
            prior: None,
        })
    }

    /// A probability that a point can run at all, known before running it (e.g. Flink's
    /// memory rules); multiplies the acquisition.
    pub fn set_prior(&mut self, f: Prior) {
        self.prior = Some(f);
    }

    /// Points the caller evaluates alike (see `BayesOpt::set_canonical`); before the first
    /// ask or tell.
    pub fn set_canonical(&mut self, canonical: crate::bo::Canonical) -> Result<()> {
        self.bo.set_canonical(canonical)
    }

    /// Queues a known point to be suggested before any other (see `BayesOpt::enqueue`):
    /// it counts towards the initial design.
    pub fn enqueue(&mut self, x: &[f64]) -> Result<()> {
        self.bo.enqueue(x)
    }

    /// Records the evaluation of a suggested point: its metric values, or None if it did
    /// not run.
    pub fn tell(&mut self, x: &[f64], metrics: Option<Vec<f64>>) -> Result<()> {
        self.check(metrics.as_deref())?;
        self.bo.tell_seen(x)?;
        self.record(x, metrics);
        Ok(())
    }

    /// Records an evaluation of an earlier run (resuming): it counts as asked.
    pub fn replay(&mut self, x: &[f64], metrics: Option<Vec<f64>>) -> Result<()> {
        self.check(metrics.as_deref())?;
        self.bo.replay_seen(x)?;
        self.record(x, metrics);
        Ok(())
    }

    /// The metric values of every told point (None: it did not run).
    pub fn results(&self) -> &[Option<Vec<f64>>] {
        &self.results
    }

    /// The problem.
    pub fn problem(&self) -> &Problem {
        &self.problem
    }

    fn check(&self, metrics: Option<&[f64]>) -> Result<()> {
        if let Some(m) = metrics {
            ensure!(
                m.len() == self.problem.metrics,
                "an evaluation has {} metric values, the problem {}",
                m.len(),
                self.problem.metrics
            );
        }
        Ok(())
    }

    /// Keeps a told point; values that are not all finite count as not run.
    fn record(&mut self, x: &[f64], metrics: Option<Vec<f64>>) {
        let metrics = metrics.filter(|m| m.iter().all(|v| v.is_finite()));
        self.xs.push(self.bo.domain().project(x));
        self.results.push(metrics);
    }

    /// Suggests `q` new points (fewer only if a finite domain runs out). The models are
    /// fitted once per batch; each suggestion's predicted objectives are believed for the
    /// rest of the batch.
    pub fn ask_batch(&mut self, q: usize) -> Result<Vec<Suggestion>> {
        let models = Models::fit(
            &self.problem,
            &self.xs,
            &self.results,
            &mut self.fitter,
            self.opts.initial,
            self.opts.refit_every,
        )?;
        let mut out: Vec<Suggestion> = Vec::with_capacity(q);
        let mut believed: Vec<Vec<f64>> = Vec::new();
        for _ in 0..q.max(1) {
            let suggestion = match &models {
                None => self.bo.ask_scored(None, &[]),
                Some(models) => self.ask_model_based(models, &believed),
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

    /// The suggestion maximising the criterion's log-gain plus the log-probability of
    /// feasibility.
    fn ask_model_based(&mut self, models: &Models, believed: &[Vec<f64>]) -> Result<Suggestion> {
        let infill = self.opts.method.criterion().infill(Context {
            models,
            believed,
            rng: &mut self.rng,
            fitter: &mut self.fitter,
        })?;
        let prior = self.prior.as_ref();
        let score = |x: &[f64]| {
            let feasibility = models.log_feasibility(prior, x);
            let s = match (infill.gain)(x) {
                Some(gain) => gain + feasibility,
                None => feasibility,
            };
            if s.is_nan() { f64::NEG_INFINITY } else { s }
        };
        self.bo.ask_scored(Some(&score), &infill.anchors)
    }
}

/// Outcomes are metric vectors, or None for a point that did not run.
impl AskTell for Mobo {
    type Outcome = Option<Vec<f64>>;

    fn ask_batch(&mut self, q: usize) -> Result<Vec<Suggestion>> {
        Mobo::ask_batch(self, q)
    }

    fn tell_outcome(&mut self, x: &[f64], metrics: Option<Vec<f64>>) -> Result<()> {
        self.tell(x, metrics)
    }

    fn replay_outcome(&mut self, x: &[f64], metrics: Option<Vec<f64>>) -> Result<()> {
        self.replay(x, metrics)
    }
}
