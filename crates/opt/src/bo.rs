//! Mixed-domain Bayesian optimisation with an ask/tell interface.
//!
//! Every parameter lives in a *relaxed* unit cube: a continuous or integer
//! variable takes one dimension in `[0,1]`, a categorical variable one
//! dimension per choice (one-hot). [`Domain::project`] maps any relaxed point
//! to a valid one (integers snap to their grid, categoricals become the
//! one-hot of the argmax).
//!
//! Discrete variables are handled *inside* the acquisition optimisation, in
//! the style of Garrido-Merchán & Hernández-Lobato (2020): the GP is trained
//! on projected points and the acquisition is always evaluated at
//! `project(z)`, so the optimiser sees the true piecewise-constant surface
//! instead of rounding a continuous optimum afterwards.
//!
//! Maximisation convention throughout: higher `y` is better.

use std::collections::HashSet;

use anyhow::{Context, Result, bail, ensure};
use rand::rngs::StdRng;
use rand::{Rng, RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::acquisition::{Acquisition, Infill};
use crate::gp::{self, FitOptions, Gp, Hyper};
use crate::rgpe::{self, BaseModel, Ensemble, Task, Weights};
use crate::sample::{BoLatinHypercube, Sampler};
use crate::surrogate::Surrogate;

/// Discrete domains with at most this many points are enumerated exhaustively
/// when random search cannot find an unseen point.
const ENUMERATION_LIMIT: u128 = 100_000;
/// Coordinates a local candidate moves, on average.
const LOCAL_MOVES: f64 = 4.0;
/// Step sizes of local candidates (relaxed scale).
const LOCAL_SIGMAS: [f64; 4] = [0.02, 0.05, 0.1, 0.25];
/// Random draws tried before falling back to enumeration.
const RANDOM_TRIES: usize = 1_000;
/// Best observations whose neighbourhoods the candidate search examines.
const ANCHORS: usize = 5;

/// One tunable variable and its encoding in the relaxed cube.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Var {
    /// A real value, one dimension in `[0,1]`.
    Continuous,
    /// Ordered discrete values at the given positions of `[0,1]` (sorted,
    /// one dimension): integers, evenly spaced (see [`Var::integer`]) or on a
    /// log scale. An empty grid means the constant 0.
    Grid {
        /// The valid positions, ascending.
        points: Vec<f64>,
    },
    /// An unordered choice, one-hot over `choices` dimensions (`choices ≥ 1`).
    Categorical {
        /// Number of alternatives.
        choices: u32,
    },
}

impl Var {
    /// `levels` evenly spaced values `k/(levels−1)`, `k = 0..levels`.
    pub fn integer(levels: u32) -> Var {
        let points = match levels {
            0 | 1 => vec![0.0],
            n => (0..n).map(|k| f64::from(k) / f64::from(n - 1)).collect(),
        };
        Var::Grid { points }
    }

    /// Number of relaxed dimensions this variable occupies.
    pub fn dims(&self) -> usize {
        match self {
            Var::Continuous | Var::Grid { .. } => 1,
            Var::Categorical { choices } => *choices as usize,
        }
    }

    /// Number of distinct projected values (`None` if continuous).
    fn cardinality(&self) -> Option<u128> {
        match self {
            Var::Continuous => None,
            Var::Grid { points } => Some(points.len().max(1) as u128),
            Var::Categorical { choices } => Some(u128::from((*choices).max(1))),
        }
    }
}

/// The index of the grid point nearest to `v` (0 for an empty grid).
fn nearest(points: &[f64], v: f64) -> usize {
    let i = points.partition_point(|&p| p < v);
    if i == 0 {
        0
    } else if i == points.len() || v - points[i - 1] <= points[i] - v {
        i - 1
    } else {
        i
    }
}

fn grid_value(points: &[f64], k: usize) -> f64 {
    points.get(k).copied().unwrap_or(0.0)
}

/// The search space: an ordered list of variables, laid out consecutively in
/// the relaxed cube.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Domain {
    /// The variables, in relaxed-coordinate order.
    pub vars: Vec<Var>,
}

impl Domain {
    /// A domain over `vars`.
    pub fn new(vars: Vec<Var>) -> Self {
        Domain { vars }
    }

    /// Total number of relaxed dimensions.
    pub fn dims(&self) -> usize {
        self.vars.iter().map(Var::dims).sum()
    }

    /// Checks that the domain is usable (non-empty, no zero-choice
    /// categorical).
    pub fn validate(&self) -> Result<()> {
        for (i, v) in self.vars.iter().enumerate() {
            match v {
                Var::Categorical { choices: 0 } => {
                    bail!("variable {i}: a categorical needs at least one choice")
                }
                Var::Grid { points }
                    if points.windows(2).any(|w| w[0] >= w[1])
                        || points.iter().any(|p| !(0.0..=1.0).contains(p)) =>
                {
                    bail!("variable {i}: grid points must be ascending and in [0, 1]")
                }
                _ => {}
            }
        }
        ensure!(self.dims() > 0, "the search domain has no dimensions");
        Ok(())
    }

    /// Maps a relaxed point to a valid one: everything clamped to `[0,1]`
    /// (NaN → 0), integers snapped to the nearest grid point, categoricals
    /// replaced by the one-hot of their argmax (first on ties). Idempotent.
    ///
    /// # Panics
    /// If `z.len() != self.dims()`.
    pub fn project(&self, z: &[f64]) -> Vec<f64> {
        assert_eq!(z.len(), self.dims(), "project: wrong dimension");
        let clamp = |v: f64| if v.is_nan() { 0.0 } else { v.clamp(0.0, 1.0) };
        let mut out = Vec::with_capacity(z.len());
        let mut i = 0;
        for var in &self.vars {
            match var {
                Var::Continuous => out.push(clamp(z[i]) + 0.0),
                Var::Grid { points } => {
                    out.push(grid_value(points, nearest(points, clamp(z[i]))));
                }
                Var::Categorical { choices } => {
                    let block = &z[i..i + *choices as usize];
                    let mut arg = 0;
                    for (j, v) in block.iter().enumerate() {
                        if clamp(*v) > clamp(block[arg]) {
                            arg = j;
                        }
                    }
                    out.extend((0..block.len()).map(|j| if j == arg { 1.0 } else { 0.0 }));
                }
            }
            i += var.dims();
        }
        out
    }

    /// A uniformly random relaxed point, projected (so discrete values are
    /// uniform over their levels / choices).
    pub fn random_point<R: Rng + ?Sized>(&self, rng: &mut R) -> Vec<f64> {
        let z: Vec<f64> = (0..self.dims()).map(|_| rng.random::<f64>()).collect();
        self.project(&z)
    }

    /// Number of distinct valid points, or `None` if the domain has a
    /// continuous variable (or the count overflows).
    pub fn cardinality(&self) -> Option<u128> {
        self.vars
            .iter()
            .try_fold(1u128, |acc, v| acc.checked_mul(v.cardinality()?))
    }

    /// All valid points of a fully discrete domain (caller checks the size).
    fn enumerate(&self) -> Vec<Vec<f64>> {
        let radices: Vec<u32> = self
            .vars
            .iter()
            .map(|v| match v {
                Var::Grid { points } => points.len().max(1) as u32,
                Var::Categorical { choices } => (*choices).max(1),
                Var::Continuous => 1,
            })
            .collect();
        let mut digits = vec![0u32; radices.len()];
        let mut out = Vec::new();
        loop {
            let mut p = Vec::with_capacity(self.dims());
            for (var, &k) in self.vars.iter().zip(&digits) {
                match var {
                    Var::Continuous => p.push(0.0),
                    Var::Grid { points } => p.push(grid_value(points, k as usize)),
                    Var::Categorical { choices } => {
                        p.extend((0..*choices).map(|j| if j == k { 1.0 } else { 0.0 }))
                    }
                }
            }
            out.push(p);
            // Mixed-radix increment.
            let mut pos = 0;
            loop {
                if pos == digits.len() {
                    return out;
                }
                digits[pos] += 1;
                if digits[pos] < radices[pos] {
                    break;
                }
                digits[pos] = 0;
                pos += 1;
            }
        }
    }

    /// Offsets of each variable's first relaxed dimension.
    fn offsets(&self) -> Vec<usize> {
        let mut off = 0;
        self.vars
            .iter()
            .map(|v| {
                let o = off;
                off += v.dims();
                o
            })
            .collect()
    }
}

/// Options for [`BayesOpt`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BoOptions {
    /// Acquisition function. It is evaluated on the *standardised* y scale
    /// (observed mean 0, std 1), so `xi`/`beta` are scale-free.
    pub acquisition: Acquisition,
    /// Number of space-filling (Latin hypercube) suggestions before the model
    /// is used.
    pub initial: usize,
    /// Random candidates per model-based suggestion (discrete domains no
    /// larger than this are enumerated instead).
    pub candidates: usize,
    /// Number of best candidates refined by local search.
    pub local_starts: usize,
    /// Hill-climbing steps per local search.
    pub local_steps: usize,
    /// GP fitting options; `fit.restarts` applies on full refits only.
    pub fit: FitOptions,
    /// Full multi-start refit every `refit_every` model-based suggestions
    /// (including the first); in between only the previous hyperparameters
    /// are re-optimised (warm start). Values < 1 act as 1.
    pub refit_every: usize,
    /// Learn the probability of success from the points told as failures
    /// ([`BayesOpt::tell_failure`]) and weight the acquisition by it (see
    /// [`PassModel`]). Off when the caller's feasibility weight already is such
    /// a model.
    pub learn_feasibility: bool,
    /// Seed for the design, candidates and local search.
    pub seed: u64,
}

impl Default for BoOptions {
    /// EI with `ξ = 0.01` (standardised scale: a 1 %-of-σ_y nudge towards
    /// exploration), 10 initial points, 2000 candidates, 5 local searches of
    /// 50 steps, full refit every 5 model-based suggestions, feasibility
    /// learnt from failures.
    fn default() -> Self {
        BoOptions {
            acquisition: Acquisition::Ei { xi: 0.01 },
            initial: 10,
            candidates: 2000,
            local_starts: 5,
            local_steps: 50,
            fit: FitOptions::default(),
            refit_every: 5,
            learn_feasibility: true,
            seed: 0,
        }
    }
}

/// A suggested point and, for model-based suggestions, the model's view of
/// it (for history tables).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Suggestion {
    /// The point, already projected (relaxed coordinates, all in `[0,1]`).
    pub x: Vec<f64>,
    /// Acquisition value at `x` (standardised y scale); `None` for design
    /// points.
    pub acquisition: Option<f64>,
    /// GP posterior mean at `x` (original y units); `None` for design points.
    pub mean: Option<f64>,
    /// GP posterior std at `x` (original y units); `None` for design points.
    pub std: Option<f64>,
    /// True if the point came from the space-filling design (or the random
    /// fallback used when there are fewer than two observations).
    pub initial: bool,
}

/// The observations the GP is fitted on: values below the median raised to it. A
/// stationary GP fitted on a surface with cliffs (a saturated job is orders of magnitude
/// worse than a keeping-up one) spends its length-scales on the cliff; capping the bad
/// tail lets it model where the optimum is, which is all EI needs.
fn capped(ys: &[f64]) -> Vec<f64> {
    let mut sorted = ys.to_vec();
    sorted.sort_by(f64::total_cmp);
    let floor = sorted[(sorted.len() - 1) / 2];
    ys.iter().map(|&y| y.max(floor)).collect()
}

/// Bit-exact identity of a projected point (`-0.0` normalised to `0.0`).
fn key(p: &[f64]) -> Vec<u64> {
    p.iter().map(|v| (v + 0.0).to_bits()).collect()
}

/// A standard normal draw (Box–Muller; avoids a rand_distr dependency).
fn gaussian<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    let u1 = 1.0 - rng.random::<f64>(); // (0, 1]
    let u2 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Best-scoring point not yet asked or told.
struct Incumbent<'a> {
    seen: &'a HashSet<Vec<u64>>,
    best: Option<(f64, Vec<f64>)>,
}

impl Incumbent<'_> {
    fn consider(&mut self, score: f64, p: &[f64]) {
        let score = if score.is_nan() {
            f64::NEG_INFINITY
        } else {
            score
        };
        if self.best.as_ref().is_some_and(|(s, _)| score <= *s) {
            return;
        }
        if !self.seen.contains(&key(p)) {
            self.best = Some((score, p.to_vec()));
        }
    }
}

/// The probability that each of a batch of (projected) points can be evaluated at all
/// (one value per point): EI is multiplied by it, so the search avoids configurations
/// expected to fail. Batched because a model predicts many rows faster than one by one.
pub type Feasibility = Box<dyn Fn(&[Vec<f64>]) -> Vec<f64> + Send + Sync>;

/// The probability that a point runs, learnt from the outcomes so far: a GP regression on
/// labels +1 (ran) and −1 (failed) with its own ARD length-scales, read as the probability
/// that the predicted label is positive, `Φ(m / √(v + σ_n²))` (least-squares
/// classification with a probit read-out, Rasmussen & Williams §6.5).
///
/// Why a GP and not the share of passing neighbours: whether a Flink configuration starts
/// depends on a few parameters (memory sizes, slots against parallelism); the fitted
/// length-scales find those, while a Euclidean neighbourhood in 30+ dimensions is
/// dominated by the irrelevant ones and calls everything near a passing point safe.
#[derive(Clone, Debug)]
pub struct PassModel {
    gp: Gp,
    /// Label noise variance `σ_n²` in label units.
    noise: f64,
}

impl PassModel {
    /// Fits the model, or `None` unless both outcomes occurred (a constant probability
    /// would not change the ranking of candidates).
    pub fn fit(
        passed: &[Vec<f64>],
        failed: &[Vec<f64>],
        opts: &FitOptions,
        warm: Option<&Hyper>,
    ) -> Result<Option<PassModel>> {
        if passed.is_empty() || failed.is_empty() {
            return Ok(None);
        }
        let x: Vec<Vec<f64>> = passed.iter().chain(failed).cloned().collect();
        let labels: Vec<f64> = (0..x.len())
            .map(|i| if i < passed.len() { 1.0 } else { -1.0 })
            .collect();
        let gp = match gp::fit(&x, &labels, opts, warm) {
            Ok(gp) => gp,
            Err(_) if warm.is_some() => gp::fit(&x, &labels, opts, None)?,
            Err(e) => return Err(e),
        };
        let (_, label_std) = gp.standardisation();
        let noise = gp.hyper().log_noise_var.exp() * label_std * label_std;
        Ok(Some(PassModel { gp, noise }))
    }

    /// The probability that `x` runs, in `[0, 1]`, never NaN.
    pub fn probability(&self, x: &[f64]) -> f64 {
        let (m, v) = self.gp.predict(x);
        let sd = (v + self.noise).max(1e-12).sqrt();
        let p = crate::normal::cdf(m / sd);
        if p.is_nan() { 0.5 } else { p.clamp(0.0, 1.0) }
    }

    /// The fitted hyperparameters (warm start for the next fit).
    pub fn hyper(&self) -> &Hyper {
        self.gp.hyper()
    }
}

/// An acquisition a caller computes at a projected point (higher is better).
pub type Score<'a> = &'a dyn Fn(&[f64]) -> f64;

/// Bayesian optimiser with an ask/tell interface over a mixed [`Domain`].
pub struct BayesOpt {
    domain: Domain,
    opts: BoOptions,
    rng: StdRng,
    design: Vec<Vec<f64>>,
    asked: usize,
    model_asks: usize,
    xs: Vec<Vec<f64>>,
    ys: Vec<f64>,
    /// Keys of every point ever asked or told: never suggested again.
    seen: HashSet<Vec<u64>>,
    hyper: Option<Hyper>,
    last: Option<Suggestion>,
    feasibility: Option<Feasibility>,
    /// Base models of earlier tasks (RGPE transfer); empty: a single GP.
    transfer: Vec<BaseModel>,
    /// The ensemble weights of the last model-based suggestion.
    weights: Option<Weights>,
    /// Provisional (kriging-believer) observations at the end of `xs`/`ys` while a
    /// batch is being asked.
    provisional: usize,
    /// Points told as failures, for the learnt feasibility model.
    failures: Vec<Vec<f64>>,
    pass_hyper: Option<Hyper>,
}

impl std::fmt::Debug for BayesOpt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BayesOpt")
            .field("domain", &self.domain)
            .field("opts", &self.opts)
            .field("observations", &self.ys.len())
            .field("feasibility", &self.feasibility.is_some())
            .finish()
    }
}

impl BayesOpt {
    /// A new optimiser. Fails on an invalid domain or options.
    pub fn new(domain: Domain, opts: BoOptions) -> Result<Self> {
        domain.validate()?;
        ensure!(opts.candidates > 0, "BoOptions::candidates must be > 0");
        opts.acquisition.check()?;
        Ok(BayesOpt {
            rng: StdRng::seed_from_u64(opts.seed),
            domain,
            opts,
            design: Vec::new(),
            asked: 0,
            model_asks: 0,
            xs: Vec::new(),
            ys: Vec::new(),
            seen: HashSet::new(),
            hyper: None,
            last: None,
            feasibility: None,
            transfer: Vec::new(),
            weights: None,
            provisional: 0,
            failures: Vec::new(),
            pass_hyper: None,
        })
    }

    /// Transfers what earlier tasks learned (RGPE): each task becomes a base model, a GP
    /// fitted on its observations (capped at the median like the target's), and the
    /// surrogate becomes the rank-weighted ensemble of those and the target GP. Model-based
    /// suggestions may then start before the target has two observations.
    pub fn set_transfer(&mut self, tasks: &[Task]) -> Result<()> {
        let dims = self.domain.dims();
        let mut bases = Vec::with_capacity(tasks.len());
        for (i, t) in tasks.iter().enumerate() {
            ensure!(
                t.xs.iter().all(|x| x.len() == dims),
                "transfer source {}: points have another dimension than the search domain ({dims})",
                t.name
            );
            let xs: Vec<Vec<f64>> = t.xs.iter().map(|x| self.domain.project(x)).collect();
            let failures: Vec<Vec<f64>> =
                t.failures.iter().map(|x| self.domain.project(x)).collect();
            let (xs, ys) = at_floor(xs, capped(&t.ys), &failures);
            let task = Task {
                xs,
                ys,
                failures: vec![],
                ..t.clone()
            };
            let opts = FitOptions {
                seed: self.opts.fit.seed.wrapping_add(1000 + i as u64),
                ..self.opts.fit.clone()
            };
            bases.push(BaseModel::fit(&task, &opts)?);
        }
        self.transfer = bases;
        Ok(())
    }

    /// The base models of the transfer (empty without one).
    pub fn base_models(&self) -> &[BaseModel] {
        &self.transfer
    }

    /// The ensemble weights of the last model-based suggestion (None without transfer or
    /// before the first).
    pub fn transfer_weights(&self) -> Option<&Weights> {
        self.weights.as_ref()
    }

    /// Weights the acquisition by a probability of success (constrained EI): the ranking
    /// score becomes ln(EI) + ln(p) for EI, log-EI and PI; UCB drops points with p < 0.5.
    /// Design points are not weighted.
    pub fn set_feasibility(&mut self, f: Feasibility) {
        self.feasibility = Some(f);
    }

    /// Suggests `q` points to evaluate at once (kriging believer): after each suggestion
    /// the GP's mean at it is taken as a provisional observation, so the next suggestion
    /// goes elsewhere; the provisional values are dropped before returning.
    pub fn ask_batch(&mut self, q: usize) -> Result<Vec<Suggestion>> {
        let (n_x, n_y) = (self.xs.len(), self.ys.len());
        let mut out = Vec::with_capacity(q);
        let mut result = Ok(());
        for _ in 0..q {
            match self.ask() {
                Ok(s) => {
                    if let Some(m) = s.mean.filter(|m| m.is_finite()) {
                        self.xs.push(s.x.clone());
                        self.ys.push(m);
                        self.provisional += 1;
                    }
                    out.push(s);
                }
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        self.xs.truncate(n_x);
        self.ys.truncate(n_y);
        self.provisional = 0;
        match result {
            Err(e) if out.is_empty() => Err(e),
            _ => Ok(out),
        }
    }

    /// Records that a point could not be evaluated (a failed configuration): it is never
    /// suggested again, the objective's GP sees it as no better than the bad half of the
    /// observations, and the learnt feasibility model ([`PassModel`]) as a failure.
    pub fn tell_failure(&mut self, x: &[f64]) -> Result<()> {
        ensure!(
            x.len() == self.domain.dims(),
            "tell_failure: wrong dimension"
        );
        let p = self.domain.project(x);
        self.seen.insert(key(&p));
        self.failures.push(p);
        Ok(())
    }

    /// Records an evaluation made in an earlier run (when resuming from a journal): it
    /// counts as asked as well as told, so the initial design is not started again.
    pub fn replay(&mut self, x: Vec<f64>, y: f64) -> Result<()> {
        self.asked += 1;
        self.tell(x, y)
    }

    /// Suggests the next point to evaluate (projected, relaxed coordinates).
    ///
    /// The first `initial` asks come from a Latin hypercube (projected); after
    /// that (given at least two observations) the GP is refitted on all told
    /// points and the acquisition maximised by random candidates plus local
    /// hill-climbing. A suggestion is never a point already asked or told; if
    /// a finite domain has no unseen point left, this returns an error.
    pub fn ask(&mut self) -> Result<Suggestion> {
        if let Some(c) = self.domain.cardinality()
            && self.seen.len() as u128 >= c
        {
            bail!(
                "search domain exhausted: all {c} distinct points have already been suggested or evaluated"
            );
        }
        // A single GP needs two observations; an ensemble can start from its base models.
        let too_few = self.ys.len() < 2 && self.transfer.is_empty();
        let s = if self.asked < self.opts.initial || too_few {
            let x = self.design_point()?;
            Suggestion {
                x,
                acquisition: None,
                mean: None,
                std: None,
                initial: true,
            }
        } else {
            self.model_point()?
        };
        debug_assert!(s.x.iter().all(|v| (0.0..=1.0).contains(v)));
        self.seen.insert(key(&s.x));
        self.asked += 1;
        self.last = Some(s.clone());
        Ok(s)
    }

    /// Suggests the point maximising a caller's acquisition `score` over surrogates this
    /// optimiser does not own (the multi-objective search, `crate::mobo`): the same design
    /// phase, candidate search around `anchors` (good points, best first), hill-climbing and
    /// no-repeat rule as [`BayesOpt::ask`]. With `score` None (too few observations for a
    /// model) the point comes from the design or at random. The suggestion's `acquisition`
    /// is `score` at the point; `mean` and `std` are None.
    pub fn ask_scored(
        &mut self,
        score: Option<Score<'_>>,
        anchors: &[Vec<f64>],
    ) -> Result<Suggestion> {
        if let Some(c) = self.domain.cardinality()
            && self.seen.len() as u128 >= c
        {
            bail!(
                "search domain exhausted: all {c} distinct points have already been suggested or evaluated"
            );
        }
        let s = match score {
            Some(score) if self.asked >= self.opts.initial => {
                let x = match self.maximise(&Whole(score), anchors) {
                    Some(p) => p,
                    None => self.random_unseen()?,
                };
                let value = score(&x);
                Suggestion {
                    acquisition: value.is_finite().then_some(value),
                    x,
                    mean: None,
                    std: None,
                    initial: false,
                }
            }
            _ => Suggestion {
                x: self.design_point()?,
                acquisition: None,
                mean: None,
                std: None,
                initial: true,
            },
        };
        self.seen.insert(key(&s.x));
        self.asked += 1;
        self.last = Some(s.clone());
        Ok(s)
    }

    /// Records a point evaluated in an earlier run whose value lives outside this
    /// optimiser (see [`BayesOpt::ask_scored`]): it counts as asked and is never suggested
    /// again.
    pub fn replay_seen(&mut self, x: &[f64]) -> Result<()> {
        self.tell_seen(x)?;
        self.asked += 1;
        Ok(())
    }

    /// Records a point evaluated outside this optimiser (see [`BayesOpt::ask_scored`]): it
    /// is never suggested again, and neither the GP nor the learnt feasibility model sees
    /// it (its caller models the outcome).
    pub fn tell_seen(&mut self, x: &[f64]) -> Result<()> {
        ensure!(x.len() == self.domain.dims(), "tell_seen: wrong dimension");
        self.seen.insert(key(&self.domain.project(x)));
        Ok(())
    }

    /// Records an evaluation. `x` is projected first (a no-op for points
    /// returned by [`BayesOpt::ask`]); `y` is higher-is-better.
    ///
    /// A non-finite `y` is *rejected* with an error (the caller decides how
    /// to penalise failed runs); the point is still marked as seen so it is
    /// not suggested again. Also errors on a wrong dimension or non-finite x.
    pub fn tell(&mut self, x: Vec<f64>, y: f64) -> Result<()> {
        ensure!(
            x.len() == self.domain.dims(),
            "tell: point has dimension {} (domain: {})",
            x.len(),
            self.domain.dims()
        );
        ensure!(x.iter().all(|v| v.is_finite()), "tell: point is not finite");
        let p = self.domain.project(&x);
        self.seen.insert(key(&p));
        ensure!(y.is_finite(), "tell: objective value {y} is not finite");
        self.xs.push(p);
        self.ys.push(y);
        Ok(())
    }

    /// Best observation so far (highest y).
    pub fn best(&self) -> Option<(&[f64], f64)> {
        self.ys
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map(|(i, &y)| (self.xs[i].as_slice(), y))
    }

    /// All told observations (projected points, values).
    pub fn observations(&self) -> (&[Vec<f64>], &[f64]) {
        (&self.xs, &self.ys)
    }

    /// The most recent suggestion, if any.
    pub fn last_suggestion(&self) -> Option<&Suggestion> {
        self.last.as_ref()
    }

    /// Hyperparameters of the last fitted GP (warm start for the next fit).
    pub fn hyper(&self) -> Option<&Hyper> {
        self.hyper.as_ref()
    }

    /// The search domain.
    pub fn domain(&self) -> &Domain {
        &self.domain
    }

    /// The options.
    pub fn options(&self) -> &BoOptions {
        &self.opts
    }

    /// Next design point, or a random unseen point if the design point was
    /// already used (possible after projection in discrete domains).
    fn design_point(&mut self) -> Result<Vec<f64>> {
        if self.design.is_empty() && self.opts.initial > 0 {
            self.design =
                BoLatinHypercube.sample(self.opts.initial, self.domain.dims(), &mut self.rng);
        }
        if let Some(z) = self.design.get(self.asked) {
            let p = self.domain.project(z);
            if !self.seen.contains(&key(&p)) {
                return Ok(p);
            }
        }
        self.random_unseen()
    }

    /// A random point not seen before; enumerates small discrete domains if
    /// random draws keep hitting seen points.
    fn random_unseen(&mut self) -> Result<Vec<f64>> {
        for _ in 0..RANDOM_TRIES {
            let p = self.domain.random_point(&mut self.rng);
            if !self.seen.contains(&key(&p)) {
                return Ok(p);
            }
        }
        match self.domain.cardinality() {
            Some(c) if c <= ENUMERATION_LIMIT => {
                let unseen: Vec<Vec<f64>> = self
                    .domain
                    .enumerate()
                    .into_iter()
                    .filter(|p| !self.seen.contains(&key(p)))
                    .collect();
                ensure!(
                    !unseen.is_empty(),
                    "search domain exhausted: no unseen point left"
                );
                let i = self.rng.random_range(0..unseen.len());
                Ok(unseen[i].clone())
            }
            _ => bail!("could not find a point that has not been evaluated yet"),
        }
    }

    /// This model-based suggestion's fit options: restarts only on a full refit.
    fn fit_options(&self) -> FitOptions {
        let full = self.model_asks.is_multiple_of(self.opts.refit_every.max(1));
        FitOptions {
            restarts: if full { self.opts.fit.restarts } else { 0 },
            seed: self.opts.fit.seed.wrapping_add(self.model_asks as u64),
            ..self.opts.fit.clone()
        }
    }

    /// Fits the target GP (warm-started) on the observations and the failures at the floor.
    fn fit_target(&mut self, fit_opts: &FitOptions) -> Result<Gp> {
        let warm = self
            .hyper
            .as_ref()
            .filter(|h| h.dim() == self.domain.dims());
        let (xs, ys) = self.surrogate_data();
        let gp = match gp::fit(&xs, &ys, fit_opts, warm) {
            Ok(gp) => gp,
            // A bad warm start should not end the run: retry cold.
            Err(_) if warm.is_some() => {
                gp::fit(&xs, &ys, &self.opts.fit, None).context("fitting the GP surrogate")?
            }
            Err(e) => return Err(e.context("fitting the GP surrogate")),
        };
        self.hyper = Some(gp.hyper().clone());
        Ok(gp)
    }

    /// Fits the surrogate and maximises the acquisition.
    fn model_point(&mut self) -> Result<Suggestion> {
        let ask = self.model_asks as u64;
        let fit_opts = self.fit_options();
        let gp = if self.ys.len() >= 2 {
            Some(self.fit_target(&fit_opts)?)
        } else {
            None
        };
        let pass_model = self.fit_pass_model(&fit_opts);
        self.model_asks += 1;

        let bases = std::mem::take(&mut self.transfer);
        let ensemble;
        let surrogate: &dyn Surrogate = if bases.is_empty() {
            gp.as_ref().context("a single GP needs two observations")?
        } else {
            // Weights come from the real observations only, not a batch's provisional ones.
            let n_real = self.ys.len() - self.provisional;
            let ranked = if n_real == 0 {
                vec![]
            } else {
                capped(&self.ys[..n_real])
            };
            ensemble = Ensemble::new(
                &bases,
                gp.as_ref(),
                &self.xs[..n_real],
                &ranked,
                rgpe::DEFAULT_SAMPLES,
                self.opts.seed.wrapping_add(ask),
            );
            self.weights = Some(ensemble.weights().clone());
            &ensemble
        };
        let best_s = surrogate.incumbent(&self.xs, &self.ys);

        let acquisition = self.opts.acquisition.clone();
        let feasibility = self.feasibility.take();
        let scorer = Scorer {
            surrogate,
            acquisition: &acquisition,
            best: best_s,
            feasibility: feasibility.as_ref(),
            pass_model: pass_model.as_ref(),
        };
        let anchors = self.best_observed(ANCHORS);
        let best = self.maximise(&scorer, &anchors);
        self.feasibility = feasibility;
        let x = match best {
            Some(p) => Ok(p),
            None => self.random_unseen(),
        };
        let x = match x {
            Ok(x) => x,
            Err(e) => {
                self.transfer = bases;
                return Err(e);
            }
        };
        let (m, v) = surrogate.posterior(&x);
        let acquisition = self.opts.acquisition.value(m, v, best_s);
        let units = surrogate.in_units(&x);
        self.transfer = bases;
        Ok(Suggestion {
            x,
            acquisition: Some(acquisition),
            mean: units.map(|u| u.0),
            std: units.map(|u| u.1),
            initial: false,
        })
    }

    /// The unseen point with the highest score: every point of a small discrete domain,
    /// else random candidates and hill-climbing (see [`BayesOpt::search`]). None when no
    /// unseen point was found. The one maximiser of both [`BayesOpt::ask`] (the surrogate's
    /// acquisition) and [`BayesOpt::ask_scored`] (a caller's score).
    fn maximise(&mut self, scorer: &dyn Scoring, anchors: &[Vec<f64>]) -> Option<Vec<f64>> {
        let seen = std::mem::take(&mut self.seen);
        let mut inc = Incumbent {
            seen: &seen,
            best: None,
        };
        match self.domain.cardinality() {
            Some(c) if c <= self.opts.candidates as u128 => {
                // Small discrete domain: exact maximisation by enumeration.
                let points = self.domain.enumerate();
                let bases: Vec<f64> = points.iter().map(|p| scorer.base(p)).collect();
                for (p, s) in points.iter().zip(scorer.full_many(&points, &bases)) {
                    inc.consider(s, p);
                }
            }
            _ => self.search(scorer, anchors, &mut inc),
        }
        let best = inc.best.take();
        self.seen = seen;
        best.map(|(_, p)| p)
    }

    /// The `k` told points with the highest y, best first.
    fn best_observed(&self, k: usize) -> Vec<Vec<f64>> {
        let mut order: Vec<usize> = (0..self.ys.len()).collect();
        order.sort_by(|&a, &b| self.ys[b].total_cmp(&self.ys[a]));
        order
            .into_iter()
            .take(k)
            .map(|i| self.xs[i].clone())
            .collect()
    }

    /// What the objective's GP is fitted on: the observations capped at their median
    /// ([`capped`]) and the failed points at that same floor. A configuration that did not
    /// run is no better than the bad half; and where most configurations fail (a high
    /// rate), the GP of the passing ones alone has too few points to have a shape, so its
    /// EI stays high right next to failures. Whether a point runs at all is the
    /// [`PassModel`]'s to say.
    fn surrogate_data(&self) -> (Vec<Vec<f64>>, Vec<f64>) {
        at_floor(self.xs.clone(), capped(&self.ys), &self.failures)
    }

    /// The learnt feasibility model over the told successes and failures, warm-started
    /// like the objective's GP; `None` when off, without failures, or if it cannot be
    /// fitted (the search then goes on without it). Within a batch, the kriging
    /// believer's provisional points count as passing, as they count as their mean.
    fn fit_pass_model(&mut self, fit_opts: &FitOptions) -> Option<PassModel> {
        if !self.opts.learn_feasibility || self.failures.is_empty() {
            return None;
        }
        let warm = self
            .pass_hyper
            .as_ref()
            .filter(|h| h.dim() == self.domain.dims());
        let model = PassModel::fit(&self.xs, &self.failures, fit_opts, warm)
            .ok()
            .flatten()?;
        self.pass_hyper = Some(model.hyper().clone());
        Some(model)
    }

    /// Random candidates, then hill-climbing from the best few. Every
    /// evaluation is at the projection of a relaxed point.
    ///
    /// The probability of success is often the expensive part of a score (a forest of
    /// a hundred trees, Flink's memory rules) and it can only lower the acquisition, so
    /// it is evaluated lazily: candidates are visited by acquisition alone, best first,
    /// in batches, and the visit stops once no remaining candidate could enter the
    /// start set or beat the incumbent even with probability 1. The result is the same
    /// as scoring every candidate in full.
    fn search(&mut self, scorer: &dyn Scoring, anchors: &[Vec<f64>], inc: &mut Incumbent<'_>) {
        /// Candidates whose probability of success is evaluated at once.
        const BATCH: usize = 64;
        let dims = self.domain.dims();
        let n = self.opts.candidates;
        // Half the candidates are uniform; half perturb the anchors (the best observations,
        // best first), each moving a few coordinates by a step of random size (as
        // trust-region methods do in high dimensions, where moving every coordinate at once
        // is a jump, not a step), so the incumbent's neighbourhood is examined at several
        // scales.
        let n_local = if anchors.is_empty() { 0 } else { n / 2 };
        let move_prob = (LOCAL_MOVES / dims as f64).min(1.0);
        let mut zs: Vec<Vec<f64>> = Vec::with_capacity(n);
        for i in 0..n {
            let z: Vec<f64> = if i < n_local {
                // The incumbent gets half of the local candidates.
                let base = if i % 2 == 0 {
                    &anchors[0]
                } else {
                    &anchors[(i / 2) % anchors.len()]
                };
                let sigma = LOCAL_SIGMAS[i % LOCAL_SIGMAS.len()];
                let mut z = base.clone();
                let mut moved = false;
                for v in z.iter_mut() {
                    if self.rng.random::<f64>() < move_prob {
                        *v = (*v + sigma * gaussian(&mut self.rng)).clamp(0.0, 1.0);
                        moved = true;
                    }
                }
                if !moved {
                    let d = self.rng.random_range(0..dims);
                    z[d] = (z[d] + sigma * gaussian(&mut self.rng)).clamp(0.0, 1.0);
                }
                z
            } else {
                (0..dims).map(|_| self.rng.random::<f64>()).collect()
            };
            zs.push(z);
        }
        let points: Vec<Vec<f64>> = zs.iter().map(|z| self.domain.project(z)).collect();
        let bases: Vec<f64> = points.iter().map(|p| scorer.base(p)).collect();
        let mut by_base: Vec<usize> = (0..n).collect();
        by_base.sort_by(|&a, &b| bases[b].total_cmp(&bases[a]));

        // Start points: the best candidates (full score) with distinct projections.
        let k = self.opts.local_starts;
        let mut starts: Vec<(f64, usize, Vec<u64>)> = Vec::with_capacity(k + 1);
        let mut at = 0;
        while at < n {
            // Nothing left can enter the start set or become the incumbent.
            let start_bar = match starts.get(k.wrapping_sub(1)) {
                _ if k == 0 => f64::INFINITY,
                Some(last) => last.0,
                None => f64::NEG_INFINITY,
            };
            let inc_bar = inc.best.as_ref().map_or(f64::NEG_INFINITY, |b| b.0);
            if bases[by_base[at]] <= start_bar.min(inc_bar) {
                break;
            }
            let chunk = &by_base[at..(at + BATCH).min(n)];
            let ps: Vec<Vec<f64>> = chunk.iter().map(|&i| points[i].clone()).collect();
            let bs: Vec<f64> = chunk.iter().map(|&i| bases[i]).collect();
            for ((&i, p), s) in chunk.iter().zip(&ps).zip(scorer.full_many(&ps, &bs)) {
                inc.consider(s, p);
                let kp = key(p);
                if k > 0 && !starts.iter().any(|st| st.2 == kp) {
                    let pos = starts.partition_point(|st| st.0 >= s);
                    if pos < k {
                        starts.insert(pos, (s, i, kp));
                        starts.truncate(k);
                    }
                }
            }
            at += chunk.len();
        }
        for (s, i, _) in starts {
            self.hill_climb(scorer, inc, zs[i].clone(), s);
        }
    }

    /// Stochastic hill-climbing in the relaxed cube with an adaptive step:
    /// either a Gaussian move of all dimensions or a structured move of one
    /// variable (Gaussian for continuous, ±1 level for integers, another
    /// choice for categoricals). A move whose acquisition alone cannot beat the
    /// current point or the incumbent is rejected without weighing its probability
    /// of success (which could only lower it).
    fn hill_climb(
        &mut self,
        scorer: &dyn Scoring,
        inc: &mut Incumbent<'_>,
        mut z: Vec<f64>,
        mut s: f64,
    ) {
        let offsets = self.domain.offsets();
        let mut step: f64 = 0.1;
        let mut cur_key = key(&self.domain.project(&z));
        for _ in 0..self.opts.local_steps {
            let mut zn = z.clone();
            if self.rng.random::<f64>() < 0.5 {
                for v in zn.iter_mut() {
                    *v = (*v + step * gaussian(&mut self.rng)).clamp(0.0, 1.0);
                }
            } else {
                let vi = self.rng.random_range(0..self.domain.vars.len());
                let o = offsets[vi];
                match &self.domain.vars[vi] {
                    Var::Continuous => {
                        zn[o] = (zn[o] + step * gaussian(&mut self.rng)).clamp(0.0, 1.0);
                    }
                    Var::Grid { points } => {
                        if points.len() > 1 {
                            let k = nearest(points, zn[o].clamp(0.0, 1.0));
                            let k = if self.rng.random::<bool>() {
                                (k + 1).min(points.len() - 1)
                            } else {
                                k.saturating_sub(1)
                            };
                            zn[o] = points[k];
                        }
                    }
                    Var::Categorical { choices } => {
                        let choices = *choices;
                        let c = self.rng.random_range(0..choices as usize);
                        for j in 0..choices as usize {
                            zn[o + j] = if j == c { 1.0 } else { 0.0 };
                        }
                    }
                }
            }
            let p = self.domain.project(&zn);
            let k = key(&p);
            if k == cur_key {
                // Same projected point: the acquisition cannot change. Accept
                // the relaxed move (free drift within the cell) but shrink.
                z = zn;
                step = (step * 0.9).max(1e-3);
                continue;
            }
            let base = scorer.base(&p);
            let inc_bar = inc.best.as_ref().map_or(f64::NEG_INFINITY, |b| b.0);
            let sn = if base <= s && base <= inc_bar {
                base.min(s) // rejected whatever the weight; never used as a score
            } else {
                let sn = scorer.full_many(std::slice::from_ref(&p), &[base])[0];
                inc.consider(sn, &p);
                sn
            };
            if sn > s {
                z = zn;
                s = sn;
                cur_key = k;
                step = (step * 1.3).min(0.5);
            } else {
                step = (step * 0.85).max(1e-3);
            }
        }
    }
}

/// Observations (capped) followed by the failed points at the floor of those values: what
/// a GP of the objective is fitted on (the target's, and the RGPE base models').
fn at_floor(
    mut xs: Vec<Vec<f64>>,
    mut ys: Vec<f64>,
    failures: &[Vec<f64>],
) -> (Vec<Vec<f64>>, Vec<f64>) {
    let floor = ys.iter().copied().fold(f64::INFINITY, f64::min);
    if floor.is_finite() {
        for f in failures {
            xs.push(f.clone());
            ys.push(floor);
        }
    }
    (xs, ys)
}

/// What the acquisition maximiser ranks points by (higher is better), split so that a
/// probability-of-success weight, often the expensive part, is evaluated only where it can
/// matter: the full score never exceeds the base.
trait Scoring {
    /// The score without the weight at a projected point (NaN counts as −∞).
    fn base(&self, p: &[f64]) -> f64;
    /// Full scores of `points` given their base scores, each at most its base.
    fn full_many(&self, points: &[Vec<f64>], bases: &[f64]) -> Vec<f64>;
}

/// The surrogate's acquisition on the standardised scale (the *base* score) and, from it,
/// the full score weighted by the probability of success.
struct Scorer<'a> {
    surrogate: &'a dyn Surrogate,
    acquisition: &'a Acquisition,
    /// The incumbent on the standardised scale.
    best: f64,
    feasibility: Option<&'a Feasibility>,
    pass_model: Option<&'a PassModel>,
}

impl Scoring for Scorer<'_> {
    fn base(&self, p: &[f64]) -> f64 {
        let (m, v) = self.surrogate.posterior(p);
        let s = self.acquisition.score(m, v, self.best);
        if s.is_nan() { f64::NEG_INFINITY } else { s }
    }

    /// `ln(EI) + ln(p)` for EI, log-EI and PI; UCB drops points with `p < 0.5`. The
    /// caller's feasibility is asked for all points at once (it may predict a batch
    /// faster than point by point).
    fn full_many(&self, points: &[Vec<f64>], bases: &[f64]) -> Vec<f64> {
        if self.feasibility.is_none() && self.pass_model.is_none() {
            return bases.to_vec();
        }
        let given = self.feasibility.map(|f| f(points));
        points
            .iter()
            .zip(bases)
            .enumerate()
            .map(|(i, (p, &s))| {
                let mut w = given
                    .as_ref()
                    .map_or(1.0, |g| g.get(i).copied().unwrap_or(1.0));
                if let Some(m) = self.pass_model {
                    w *= m.probability(p);
                }
                let w = if w.is_nan() { 0.0 } else { w };
                self.acquisition.weighted(s, w)
            })
            .collect()
    }
}

/// A caller's score ([`BayesOpt::ask_scored`]) taken whole: it has no weight to defer.
struct Whole<'a>(Score<'a>);

impl Scoring for Whole<'_> {
    fn base(&self, p: &[f64]) -> f64 {
        let s = (self.0)(p);
        if s.is_nan() { f64::NEG_INFINITY } else { s }
    }

    fn full_many(&self, _points: &[Vec<f64>], bases: &[f64]) -> Vec<f64> {
        bases.to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
