//! The Bayesian optimiser: ask/tell over a [`Domain`], a space-filling design first, then
//! suggestions that maximise the surrogate's acquisition (a GP of the objective, or the RGPE
//! ensemble with earlier tasks), weighted by the probability of success; batches by the
//! kriging believer.

use std::collections::VecDeque;

use anyhow::{Context, Result, bail, ensure};
use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::acquisition::Infill;
use crate::ask_tell::{AskTell, Suggestion};
use crate::gp::{self, FitOptions, Gp, Hyper};
use crate::rgpe::{BaseModel, Task, Weights};
use crate::sample::{BoLatinHypercube, Sampler};
use crate::surrogate::Surrogate;

use super::candidates::{nearly_all_rejected, random_unseen};
use super::domain::Domain;
use super::feasibility::{Feasibility, PassModel, Precheck};
use super::maximiser::Maximiser;
use super::observations::Observations;
use super::options::BoOptions;
use super::scoring::{Score, Scorer, Whole};
use super::seen::{Canonical, Seen};
use super::transfer::{ensemble, fit_bases};

/// Best observations whose neighbourhoods the candidate search examines.
const ANCHORS: usize = 5;
/// Latin-hypercube points drawn per design point at most before a space the precheck
/// (nearly) always rejects is refused.
const DESIGN_DRAWS_PER_POINT: usize = 2_000;

/// Bayesian optimiser with an ask/tell interface over a mixed [`Domain`].
pub struct BayesOpt {
    pub(super) domain: Domain,
    pub(super) opts: BoOptions,
    rng: StdRng,
    design: Vec<Vec<f64>>,
    pub(super) asked: usize,
    model_asks: usize,
    obs: Observations,
    /// Keys of every point ever asked or told: never suggested again.
    seen: Seen,
    hyper: Option<Hyper>,
    last: Option<Suggestion>,
    feasibility: Option<Feasibility>,
    /// Base models of earlier tasks (RGPE transfer); empty: a single GP.
    transfer: Vec<BaseModel>,
    /// The ensemble weights of the last model-based suggestion.
    weights: Option<Weights>,
    pass_hyper: Option<Hyper>,
    /// The caller's hard rule of what may run at all.
    precheck: Option<Precheck>,
    /// Points drawn for the design or at random that the precheck rejected.
    rejected: usize,
    /// Points to suggest before anything else (known configurations).
    enqueued: VecDeque<Vec<f64>>,
}

impl std::fmt::Debug for BayesOpt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BayesOpt")
            .field("domain", &self.domain)
            .field("opts", &self.opts)
            .field("observations", &self.obs.ys.len())
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
            obs: Observations::default(),
            seen: Seen::default(),
            hyper: None,
            last: None,
            feasibility: None,
            transfer: Vec::new(),
            weights: None,
            pass_hyper: None,
            precheck: None,
            rejected: 0,
            enqueued: VecDeque::new(),
        })
    }

    /// Transfers what earlier tasks learned (RGPE): each task becomes a base model, a GP
    /// fitted on its observations (capped at the median like the target's), and the
    /// surrogate becomes the rank-weighted ensemble of those and the target GP. Model-based
    /// suggestions may then start before the target has two observations.
    pub fn set_transfer(&mut self, tasks: &[Task]) -> Result<()> {
        self.transfer = fit_bases(&self.domain, tasks, &self.opts.fit)?;
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

    /// Never suggests a point `precheck` rejects (see [`Precheck`]): the design is drawn
    /// from admitted points, and the acquisition is maximised over them.
    pub fn set_precheck(&mut self, precheck: Precheck) {
        self.precheck = Some(precheck);
    }

    /// Points the caller evaluates alike share `canonical`'s form, and once one is seen the
    /// others are never suggested (see [`Canonical`]). Set it before the first ask or tell;
    /// after that it fails.
    pub fn set_canonical(&mut self, canonical: Canonical) -> Result<()> {
        ensure!(
            self.seen.set_canonical(canonical),
            "set_canonical: points were already seen"
        );
        Ok(())
    }

    /// Points drawn for the design or at random that the precheck rejected (they were
    /// never suggested, so they cost no evaluation).
    pub fn precheck_rejections(&self) -> usize {
        self.rejected
    }

    /// Suggests `x` (projected) before anything else, in the order enqueued, as Optuna's
    /// `enqueue_trial`: a known configuration (production's, Flink's default, an expert's).
    /// Enqueued points count towards the initial design; one already evaluated (a resumed
    /// search) is not suggested again. The precheck does not apply: the caller chose them.
    pub fn enqueue(&mut self, x: &[f64]) -> Result<()> {
        ensure!(x.len() == self.domain.dims(), "enqueue: wrong dimension");
        ensure!(
            x.iter().all(|v| v.is_finite()),
            "enqueue: point is not finite"
        );
        self.enqueued.push_back(self.domain.project(x));
        Ok(())
    }

    /// Suggests `q` points to evaluate at once (kriging believer): after each suggestion
    /// the GP's mean at it is taken as a provisional observation, so the next suggestion
    /// goes elsewhere; the provisional values are dropped before returning.
    pub fn ask_batch(&mut self, q: usize) -> Result<Vec<Suggestion>> {
        let mut out = Vec::with_capacity(q);
        let mut result = Ok(());
        for _ in 0..q {
            match self.ask() {
                Ok(s) => {
                    if let Some(m) = s.mean.filter(|m| m.is_finite()) {
                        self.obs.believe(s.x.clone(), m);
                    }
                    out.push(s);
                }
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        self.obs.forget_believed();
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
        self.seen.insert(&p);
        self.obs.failures.push(p);
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
        self.check_not_exhausted()?;
        if let Some(s) = self.enqueued_suggestion() {
            return Ok(s);
        }
        // A single GP needs two observations; an ensemble can start from its base models.
        let too_few = self.obs.ys.len() < 2 && self.transfer.is_empty();
        let s = if self.asked < self.opts.initial || too_few {
            self.design_suggestion()?
        } else {
            self.model_point()?
        };
        debug_assert!(s.x.iter().all(|v| (0.0..=1.0).contains(v)));
        Ok(self.record_asked(s))
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
        self.check_not_exhausted()?;
        if let Some(s) = self.enqueued_suggestion() {
            return Ok(s);
        }
        let s = match score {
            Some(score) if self.asked >= self.opts.initial => {
                let x = match self.maximiser().maximise(&Whole(score), anchors) {
                    Some(p) => p,
                    None => self.random_point()?,
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
            _ => self.design_suggestion()?,
        };
        Ok(self.record_asked(s))
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
        self.seen.insert(&self.domain.project(x));
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
        self.seen.insert(&p);
        ensure!(y.is_finite(), "tell: objective value {y} is not finite");
        self.obs.push(p, y);
        Ok(())
    }

    /// Best observation so far (highest y).
    pub fn best(&self) -> Option<(&[f64], f64)> {
        self.obs.best()
    }

    /// All told observations (projected points, values).
    pub fn observations(&self) -> (&[Vec<f64>], &[f64]) {
        (&self.obs.xs, &self.obs.ys)
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

    /// What the objective's GP is fitted on (see [`Observations::surrogate_data`]).
    pub(super) fn surrogate_data(&self) -> (Vec<Vec<f64>>, Vec<f64>) {
        self.obs.surrogate_data()
    }

    /// Fails once a finite domain has no unseen point left.
    fn check_not_exhausted(&self) -> Result<()> {
        if let Some(c) = self.domain.cardinality()
            && self.seen.len() as u128 >= c
        {
            bail!(
                "search domain exhausted: all {c} distinct points have already been suggested or evaluated"
            );
        }
        Ok(())
    }

    /// The next enqueued point not evaluated yet.
    /// The next enqueued point not yet seen, as a suggestion of the design (asked).
    fn enqueued_suggestion(&mut self) -> Option<Suggestion> {
        let x = self.next_enqueued()?;
        let s = Suggestion {
            x,
            acquisition: None,
            mean: None,
            std: None,
            initial: true,
        };
        Some(self.record_asked(s))
    }

    fn next_enqueued(&mut self) -> Option<Vec<f64>> {
        while let Some(x) = self.enqueued.pop_front() {
            if !self.seen.contains(&x) {
                return Some(x);
            }
        }
        None
    }

    /// A random unseen point the precheck admits.
    fn random_point(&mut self) -> Result<Vec<f64>> {
        random_unseen(
            &self.domain,
            &mut self.rng,
            &self.seen,
            self.precheck.as_ref(),
            &mut self.rejected,
        )
    }

    /// Counts a suggestion as asked (never suggested again) and returns it.
    fn record_asked(&mut self, s: Suggestion) -> Suggestion {
        self.seen.insert(&s.x);
        self.asked += 1;
        self.last = Some(s.clone());
        s
    }

    /// The acquisition maximiser over this optimiser's domain, random source and seen points.
    fn maximiser(&mut self) -> Maximiser<'_> {
        Maximiser {
            domain: &self.domain,
            rng: &mut self.rng,
            seen: &self.seen,
            precheck: self.precheck.as_ref(),
            opts: &self.opts,
        }
    }

    /// The next design point as a suggestion.
    fn design_suggestion(&mut self) -> Result<Suggestion> {
        Ok(Suggestion {
            x: self.design_point()?,
            acquisition: None,
            mean: None,
            std: None,
            initial: true,
        })
    }

    /// Next design point, or a random unseen point if the design point was
    /// already used (possible after projection in discrete domains).
    fn design_point(&mut self) -> Result<Vec<f64>> {
        if self.design.is_empty() && self.opts.initial > 0 {
            self.design = self.admitted_design(self.opts.initial)?;
        }
        if let Some(p) = self.design.get(self.asked)
            && !self.seen.contains(p)
        {
            return Ok(p.clone());
        }
        self.random_point()
    }

    /// `n` projected design points the precheck admits: a Latin hypercube of `n`, its
    /// rejected points replaced by a hypercube of as many, and so on, so the design keeps
    /// its spread over the admitted region. Fails on a space the precheck (nearly) always
    /// rejects.
    fn admitted_design(&mut self, n: usize) -> Result<Vec<Vec<f64>>> {
        let mut design = Vec::with_capacity(n);
        let mut drawn = 0;
        let limit = n * DESIGN_DRAWS_PER_POINT;
        while design.len() < n {
            if drawn >= limit {
                bail!(nearly_all_rejected(drawn - design.len(), drawn));
            }
            let zs = BoLatinHypercube.sample(n - design.len(), self.domain.dims(), &mut self.rng);
            for z in zs {
                drawn += 1;
                let p = self.domain.project(&z);
                if self.precheck.as_ref().is_none_or(|f| f(&p)) {
                    design.push(p);
                } else {
                    self.rejected += 1;
                }
            }
        }
        Ok(design)
    }

    /// This model-based suggestion's fit options: restarts only on a full refit, the
    /// options' length-scale prior unless under a transfer.
    pub(super) fn fit_options(&self) -> FitOptions {
        let full = self.model_asks.is_multiple_of(self.opts.refit_every.max(1));
        FitOptions {
            restarts: if full { self.opts.fit.restarts } else { 0 },
            seed: self.opts.fit.seed.wrapping_add(self.model_asks as u64),
            lengthscale_prior: self
                .opts
                .lengthscale_prior
                .filter(|_| self.transfer.is_empty()),
            ..self.target_fit()
        }
    }

    /// The options' fit for the target's models, without the length-scale floor under a
    /// transfer. The floor keeps a model alone on a few dozen points from explaining noise
    /// with a spike; under a transfer the sources' base models carry the shape, and a floor
    /// on the target lost most of the warm start: on the 2-D Branin transfer of `bo::tests`
    /// (12 seeds, 8 evaluations) the warm start's median regret was 0.44 without it and 1.1
    /// with it.
    fn target_fit(&self) -> FitOptions {
        let mut fit = self.opts.fit.clone();
        if !self.transfer.is_empty() {
            fit.min_lengthscale = FitOptions::default().min_lengthscale;
        }
        fit
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
                gp::fit(&xs, &ys, &self.target_fit(), None).context("fitting the GP surrogate")?
            }
            Err(e) => return Err(e.context("fitting the GP surrogate")),
        };
        self.hyper = Some(gp.hyper().clone());
        Ok(gp)
    }

    /// The learnt feasibility model over the told successes and failures, warm-started
    /// like the objective's GP; `None` when off, without failures, or if it cannot be
    /// fitted (the search then goes on without it). Within a batch, the kriging
    /// believer's provisional points count as passing, as they count as their mean.
    fn fit_pass_model(&mut self, fit_opts: &FitOptions) -> Option<PassModel> {
        if !self.opts.learn_feasibility || self.obs.failures.is_empty() {
            return None;
        }
        let warm = self
            .pass_hyper
            .as_ref()
            .filter(|h| h.dim() == self.domain.dims());
        let model = PassModel::fit(&self.obs.xs, &self.obs.failures, fit_opts, warm)
            .ok()
            .flatten()?;
        self.pass_hyper = Some(model.hyper().clone());
        Some(model)
    }

    /// Fits the surrogate and maximises the acquisition.
    fn model_point(&mut self) -> Result<Suggestion> {
        let ask = self.model_asks as u64;
        let fit_opts = self.fit_options();
        let gp = if self.obs.ys.len() >= 2 {
            Some(self.fit_target(&fit_opts)?)
        } else {
            None
        };
        let pass_model = self.fit_pass_model(&fit_opts);
        self.model_asks += 1;
        let bases = std::mem::take(&mut self.transfer);
        let suggestion = self.maximise_acquisition(&bases, gp.as_ref(), pass_model.as_ref(), ask);
        self.transfer = bases;
        suggestion
    }

    /// The suggestion maximising the acquisition of the surrogate: the target GP alone, or
    /// the ensemble of `bases` and it.
    fn maximise_acquisition(
        &mut self,
        bases: &[BaseModel],
        gp: Option<&Gp>,
        pass_model: Option<&PassModel>,
        ask: u64,
    ) -> Result<Suggestion> {
        let combined;
        let surrogate: &dyn Surrogate = if bases.is_empty() {
            gp.context("a single GP needs two observations")?
        } else {
            combined = ensemble(bases, gp, &self.obs, self.opts.seed.wrapping_add(ask));
            self.weights = Some(combined.weights().clone());
            &combined
        };
        let best_s = surrogate.incumbent(&self.obs.xs, &self.obs.ys);
        let anchors = self.obs.best_observed(ANCHORS);
        let feasibility = self.feasibility.take();
        let scorer = Scorer {
            surrogate,
            acquisition: &self.opts.acquisition,
            best: best_s,
            feasibility: feasibility.as_ref(),
            pass_model,
        };
        let best = Maximiser {
            domain: &self.domain,
            rng: &mut self.rng,
            seen: &self.seen,
            precheck: self.precheck.as_ref(),
            opts: &self.opts,
        }
        .maximise(&scorer, &anchors);
        self.feasibility = feasibility;
        let x = match best {
            Some(p) => p,
            None => self.random_point()?,
        };
        let (m, v) = surrogate.posterior(&x);
        let units = surrogate.in_units(&x);
        Ok(Suggestion {
            x,
            acquisition: Some(self.opts.acquisition.value(m, v, best_s)),
            mean: units.map(|u| u.0),
            std: units.map(|u| u.1),
            initial: false,
        })
    }
}

/// Outcomes are a higher-is-better score, or None for a point that could not be evaluated
/// ([`BayesOpt::tell_failure`]; a replayed failure is not counted as asked, as before
/// resuming).
impl AskTell for BayesOpt {
    type Outcome = Option<f64>;

    fn ask_batch(&mut self, q: usize) -> Result<Vec<Suggestion>> {
        BayesOpt::ask_batch(self, q)
    }

    fn tell_outcome(&mut self, x: &[f64], y: Option<f64>) -> Result<()> {
        match y {
            Some(y) => self.tell(x.to_vec(), y),
            None => self.tell_failure(x),
        }
    }

    fn replay_outcome(&mut self, x: &[f64], y: Option<f64>) -> Result<()> {
        match y {
            Some(y) => self.replay(x.to_vec(), y),
            None => self.tell_failure(x),
        }
    }
}
