//! The search stage: Bayesian optimisation (a Matérn-5/2 Gaussian process with Expected
//! Improvement, see `bo` and `gp`) at one input rate, over the fitted performance model
//! (`over = "model"`, the paper) or over the system itself through the adapter
//! (`over = "system"`: no thousand-configuration collection needed; every evaluation is a
//! journaled trial, and an interrupted search resumes).
//!
//! Each parameter becomes a variable of the optimiser's domain (`study::encoding`).
//!
//! Failing configurations inform the search: the GP models the objective where it exists,
//! and the acquisition is multiplied by a probability of success: 0 where Flink's memory
//! rules or the cluster's slots (`precheck`, where `Study::capacity` knows the cluster) reject
//! the configuration, else the model's feasibility forest or, on the system, a classifier the
//! optimiser fits on the passes and failures so far (`bo::PassModel`). No point is suggested
//! twice.
//!
//! Artifacts (`search/`): `history.csv` (every evaluation), `best/conf/…` and
//! `best/config.json` (the best configuration as a complete Flink conf directory),
//! `ranked.json` (the best few, validate's fall-backs), `journal.jsonl` and `trials/`
//! (over the system), `summary.json`.

use crate::fsx::{self, StageDir};
use crate::stages::model::{self, PerfModel};
use crate::stages::search::enqueue;
use crate::stages::search::record::{
    Evaluation, JOURNAL, SearchOptions, SearchSummary, Step, TransferModel, best_step,
    write_history, write_ranked,
};
use crate::stages::search::system::{self, Journal, SystemRunner};
use crate::study::encoding;
use crate::study::{AcquisitionKind, Over, Stage, Study};
use crate::trial::record::TrialStatus;
use anyhow::{Context, Result, bail};
use flink::objective::{Measurement, Objective};
use flink::space::{Config, Space};
use opt::acquisition::Acquisition;
use opt::ask_tell::{self, Budget, Suggestion};
use opt::bo::{self, BayesOpt, BoOptions};
use opt::rgpe::{Task, Weights};
use serde::{Deserialize, Serialize};
use std::convert::Infallible;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The optimiser's options for a study, searching with `evaluator`.
pub fn bo_options(study: &Study, seed: u64, evaluator: &Evaluator<'_>) -> BoOptions {
    let s = &study.file.search;
    BoOptions {
        acquisition: match s.acquisition {
            AcquisitionKind::Ei => Acquisition::Ei { xi: 0.0 },
            AcquisitionKind::Logei => Acquisition::LogEi { xi: 0.01 },
            AcquisitionKind::Pi => Acquisition::Pi { xi: 0.01 },
            AcquisitionKind::Ucb => Acquisition::Ucb { beta: 4.0 },
        },
        initial: study.search_initial(evaluator.measures()),
        candidates: s.candidates as usize,
        seed,
        ..BoOptions::default()
    }
}

/// Evaluates configurations: the model, or the system through the adapter.
pub enum Evaluator<'a> {
    Model {
        model: &'a PerfModel,
        study: &'a Study,
        rate: u64,
    },
    System(SystemRunner<'a>),
}

impl<'a> Evaluator<'a> {
    /// The model's evaluator when a model is given, else the system's, whose trial
    /// directories go to `trials_dir`.
    pub fn new(
        study: &'a Study,
        model: Option<&'a PerfModel>,
        rate: u64,
        trials_dir: PathBuf,
    ) -> Evaluator<'a> {
        match model {
            Some(model) => Evaluator::Model { model, study, rate },
            None => Evaluator::System(SystemRunner::new(study, rate, trials_dir)),
        }
    }

    /// Whether it measures the system (else the model predicts).
    pub fn measures(&self) -> bool {
        matches!(self, Evaluator::System(_))
    }

    /// The study evaluated.
    pub fn study(&self) -> &'a Study {
        match self {
            Evaluator::Model { study, .. } => study,
            Evaluator::System(runner) => runner.study,
        }
    }

    /// Evaluates a batch; `ids` name the trials (system) and must be unique per study.
    pub fn evaluate(&self, ids: &[String], configs: &[Config]) -> Result<Vec<Evaluation>> {
        match self {
            Evaluator::Model { model, study, rate } => {
                let rows: Vec<Vec<f64>> = configs
                    .iter()
                    .map(|c| model::features(&study.space, c, *rate))
                    .collect();
                let objective = model.objective;
                let scores = model.predict_search_score(&rows)?;
                let pass = model.predict_pass(&rows)?;
                let pessimistic = model.is_pessimistic();
                Ok(configs
                    .iter()
                    .zip(scores.into_iter().zip(pass))
                    .map(|(config, ((score, mean), p_pass))| {
                        let perf = objective.perf_of_score(score);
                        let predicted_mean = pessimistic.then(|| objective.perf_of_score(mean));
                        // The model never saw configurations generate replaced: Flink's
                        // memory rules and the cluster's slots decide those, whatever the
                        // feasibility forest guesses.
                        if let Some(reason) = system::predicted_failure(study, config) {
                            return Evaluation {
                                perf: Some(perf),
                                predicted_mean,
                                p_pass: 0.0,
                                status: TrialStatus::Skipped,
                                reason,
                            };
                        }
                        Evaluation {
                            perf: Some(perf),
                            predicted_mean,
                            p_pass,
                            status: if p_pass >= 0.5 {
                                TrialStatus::Pass
                            } else {
                                TrialStatus::Fail
                            },
                            reason: if p_pass >= 0.5 {
                                String::new()
                            } else {
                                format!("the feasibility model gives it {p_pass:.2} to run")
                            },
                        }
                    })
                    .collect())
            }
            Evaluator::System(runner) => runner.run_batch(ids, configs, |id, config, worker| {
                evaluate_on_system(runner, id, config, worker)
            }),
        }
    }
}

/// Runs the study's repeats of one configuration through the adapter.
fn evaluate_on_system(
    runner: &SystemRunner<'_>,
    id: &str,
    config: &Config,
    worker: usize,
) -> Result<Evaluation> {
    if let Some(reason) = system::predicted_failure(runner.study, config) {
        return Ok(Evaluation {
            perf: None,
            predicted_mean: None,
            p_pass: 0.0,
            status: TrialStatus::Skipped,
            reason,
        });
    }
    let mut runs: Vec<Measurement> = Vec::new();
    let mut last = None;
    runner.run_repeats::<Infallible>(id, config, worker, |rec, _| {
        runs.extend(rec.measurement());
        last = Some(rec);
        ControlFlow::Continue(())
    })?;
    let last = last.context("no repeat ran")?;
    let perf = runner.study.file.objective.perf(&runs);
    Ok(Evaluation {
        predicted_mean: None,
        p_pass: if perf.is_some() { 1.0 } else { 0.0 },
        status: if perf.is_some() {
            TrialStatus::Pass
        } else {
            last.status
        },
        reason: if perf.is_some() {
            String::new()
        } else {
            last.reason.clone()
        },
        perf,
    })
}

/// The feasibility weight of the optimiser over a model: its feasibility forest's
/// probability that a configuration runs (what Flink's memory rules and the cluster's slots
/// reject is the optimiser's [`precheck`]). Over the system the optimiser learns one from
/// the failures it is told about.
fn feasibility(model: &PerfModel, study: &Study, rate: u64) -> Option<bo::Feasibility> {
    // The closure must own what it uses: the forest is cloned through JSON once.
    let owned: PerfModel = serde_json::to_string(model)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())?;
    let study = study.clone();
    let domain = encoding::domain(&study.space);
    Some(Box::new(move |zs: &[Vec<f64>]| {
        let rows: Vec<Vec<f64>> = zs
            .iter()
            .map(|z| {
                let config = encoding::decode(&study.space, &domain, z);
                model::features(&study.space, &config, rate)
            })
            .collect();
        owned
            .predict_pass(&rows)
            .unwrap_or_else(|_| vec![1.0; zs.len()])
    }))
}

/// The optimiser's hard rule: Flink's memory rules and the cluster's slots
/// (`Study::predict_failure`) must admit a configuration before it is suggested, so no
/// evaluation of the budget goes to one skipped without running.
fn precheck(study: &Study) -> bo::Precheck {
    let study = study.clone();
    let domain = encoding::domain(&study.space);
    Box::new(move |z: &[f64]| {
        let config = encoding::decode(&study.space, &domain, z);
        study.predict_failure(&config).is_none()
    })
}

/// Runs BO with `budget` evaluations in batches of `batch`, continuing from `replayed`
/// steps; `on_step` sees (and may journal) each new step before the next batch.
#[allow(clippy::too_many_arguments)]
pub fn optimise(
    space: &Space,
    objective: Objective,
    evaluator: &Evaluator<'_>,
    opts: BoOptions,
    budget: usize,
    batch: usize,
    replayed: Vec<Step>,
    on_step: impl FnMut(&Step) -> Result<()>,
) -> Result<Vec<Step>> {
    let mut bo = optimiser(space, evaluator, opts)?;
    run_bo(
        &mut bo, space, objective, evaluator, budget, batch, replayed, on_step,
    )
}

/// The optimiser for an evaluator. Over the model its feasibility forest is the
/// probability of success; over the system the optimiser learns one from the failures it
/// is told about, steps to the incumbent's discrete neighbours (a wrong step there is
/// measured and corrected; over the model nothing would correct it), and fits its models
/// under a length-scale prior (measured on noisy systems, BENCHMARKS.md; the model's
/// predictions are noise-free).
fn optimiser(space: &Space, evaluator: &Evaluator<'_>, opts: BoOptions) -> Result<BayesOpt> {
    let measured = evaluator.measures();
    let opts = BoOptions {
        learn_feasibility: measured,
        discrete_neighbours: measured,
        lengthscale_prior: measured.then_some(bo::SEARCH_PRIOR_TAU),
        ..opts
    };
    let domain = encoding::domain(space);
    let mut bo = BayesOpt::new(domain.clone(), opts)?;
    let study = evaluator.study();
    bo.set_precheck(precheck(study));
    bo.set_canonical(encoding::canonical(space))?;
    if let Evaluator::Model { model, study, rate } = evaluator
        && let Some(f) = feasibility(model, study, *rate)
    {
        bo.set_feasibility(f);
    }
    for config in enqueue::load(study, &enqueue::files(study))? {
        bo.enqueue(&encoding::encode(space, &domain, &config))?;
    }
    Ok(bo)
}

/// The evaluation loop of [`optimise`] over a prepared optimiser (`opt::ask_tell::run`: the
/// one ask → evaluate → tell loop of both searches).
#[allow(clippy::too_many_arguments)]
fn run_bo(
    bo: &mut BayesOpt,
    space: &Space,
    objective: Objective,
    evaluator: &Evaluator<'_>,
    budget: usize,
    batch: usize,
    replayed: Vec<Step>,
    on_step: impl FnMut(&Step) -> Result<()>,
) -> Result<Vec<Step>> {
    let domain = encoding::domain(space);
    let budget = Budget {
        evaluations: budget,
        batch,
    };
    let evaluate_batch = |first: usize, suggestions: Vec<Suggestion>| {
        let batch = system::evaluate_batch(space, &domain, first, &suggestions, |ids, configs| {
            evaluator.evaluate(ids, configs)
        })?;
        let ControlFlow::Continue((configs, evaluations)) = batch else {
            return Ok(ControlFlow::Break(()));
        };
        let steps = suggestions.into_iter().zip(configs).zip(evaluations);
        Ok(ControlFlow::Continue(
            steps
                .map(|((s, config), evaluation)| Step {
                    x: s.x,
                    config,
                    initial: s.initial,
                    acquisition: s.acquisition,
                    gp_mean: s.mean,
                    gp_std: s.std,
                    evaluation,
                })
                .collect(),
        ))
    };
    ask_tell::run(
        bo,
        budget,
        replayed,
        |step| (step.x.as_slice(), step.score(objective)),
        evaluate_batch,
        on_step,
    )
}

/// [`optimise`] with RGPE transfer from earlier tasks (none: exactly [`optimise`]). Also
/// returns the base models with their last weights, the target model's weight and the
/// configurations the pre-check rejected before they were suggested.
#[allow(clippy::too_many_arguments)]
pub fn optimise_with_transfer(
    space: &Space,
    objective: Objective,
    evaluator: &Evaluator<'_>,
    opts: BoOptions,
    budget: usize,
    batch: usize,
    replayed: Vec<Step>,
    tasks: &[Task],
    on_step: impl FnMut(&Step) -> Result<()>,
) -> Result<Found> {
    let mut bo = optimiser(space, evaluator, opts)?;
    bo.set_transfer(tasks)?;
    let steps = run_bo(
        &mut bo, space, objective, evaluator, budget, batch, replayed, on_step,
    )?;
    let weights: Option<&Weights> = bo.transfer_weights();
    let models = bo
        .base_models()
        .iter()
        .enumerate()
        .map(|(i, b)| TransferModel {
            name: b.name.clone(),
            rate: b.rate,
            points: b.points,
            weight: weights.map(|w| w.base[i]).unwrap_or(0.0),
            discarded: weights.is_some_and(|w| w.discarded[i]),
        })
        .collect();
    Ok(Found {
        steps,
        transfer: models,
        target_weight: weights.map(|w| w.target),
        precheck_rejected: bo.precheck_rejections(),
    })
}

/// BO over a performance model at one rate (the paper's search); returns every step.
pub fn optimise_model(
    study: &Study,
    model: &PerfModel,
    rate: u64,
    budget: usize,
    opts: BoOptions,
) -> Result<Vec<Step>> {
    let evaluator = Evaluator::Model { model, study, rate };
    let objective = model.objective;
    optimise(
        &study.space,
        objective,
        &evaluator,
        opts,
        budget,
        1,
        vec![],
        |_| Ok(()),
    )
}

/// Runs the stage.
pub fn run(study: &Study, opts: SearchOptions) -> Result<SearchSummary> {
    let started = Instant::now();
    let rate = study.search_rate();
    let model = match opts.over {
        Over::Model => Some(model::load(study)?),
        Over::System => None,
    };
    let header = JournalHeader {
        search_journal: 1,
        plan: system::plan_fingerprint(study, &study.file.objective),
    };
    let stage = match opts.over {
        Over::System => system::open_stage(study, JOURNAL, &header.plan, opts.restart)?,
        Over::Model => StageDir::begin(&study.dir, Stage::Search.name())?,
    };
    let evaluator = Evaluator::new(study, model.as_ref(), rate, stage.path.join("trials"));
    // Over the system every step is journaled (fsynced) as it ends, so a search of hours
    // survives being killed; a resumed search replays the journal into the optimiser.
    let (journal, replayed) = match opts.over {
        Over::System => {
            let (journal, steps) = open_journal(&stage.path, &header, &study.space)?;
            (Some(journal), steps)
        }
        Over::Model => (None, vec![]),
    };
    let found = search_with_progress(study, &evaluator, opts.batch, replayed, journal)?;
    if crate::trial::process::cancelled() {
        bail!(
            "interrupted after {} of {} evaluations{}",
            found.steps.len(),
            study.file.search.budget,
            match opts.over {
                Over::System => "; run the search again to resume",
                Over::Model => "",
            }
        );
    }
    let mut summary = finish(study, opts.over, model.as_ref(), &stage.path, found)?;
    summary.seconds = started.elapsed().as_secs_f64();
    study.record_inputs(Stage::Search, Some(opts.over), &stage.path)?;
    fsx::write_json(&stage.path.join("summary.json"), &summary)?;
    stage.commit()?;
    Ok(summary)
}

/// The first line of a search's journal: the fingerprint of its plan.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub struct JournalHeader {
    pub search_journal: u32,
    /// `system::plan_fingerprint` of the objective.
    pub plan: String,
}

/// Opens the search journal, refusing one of another plan or parameter space.
fn open_journal(dir: &Path, header: &JournalHeader, space: &Space) -> Result<(Journal, Vec<Step>)> {
    system::open_journal(dir, JOURNAL, Some(header), |path, found, steps: &[Step]| {
        if found.as_ref() != Some(header) {
            bail!(
                "{} belongs to another search (the space, base configuration, rate, objective, \
                 adapter or repeats changed): run the search with --restart",
                path.display()
            );
        }
        if steps.iter().any(|s| s.config.len() != space.len()) {
            bail!(
                "{} belongs to a search of another parameter space: run the search with --restart",
                path.display()
            );
        }
        Ok(())
    })
}

/// The optimiser's options, its initial design shortened when earlier studies' results
/// seed it (RGPE transfer).
fn options_with_transfer(
    study: &Study,
    evaluator: &Evaluator<'_>,
    tasks: &[Task],
) -> Result<BoOptions> {
    let mut bo_opts = bo_options(study, study.file.seed, evaluator);
    let budget = study.file.search.budget;
    if !tasks.is_empty() {
        if study.file.search.transfer_initial >= budget {
            bail!(
                "search.transfer_initial ({}) must be below search.budget ({budget})",
                study.file.search.transfer_initial
            );
        }
        bo_opts.initial = study.file.search.transfer_initial as usize;
    }
    Ok(bo_opts)
}

/// The search with a progress bar, each step journaled as it ends (over the system).
fn search_with_progress(
    study: &Study,
    evaluator: &Evaluator<'_>,
    batch: usize,
    replayed: Vec<Step>,
    mut journal: Option<Journal>,
) -> Result<Found> {
    let objective = study.file.objective;
    let budget = study.file.search.budget as usize;
    let tasks = crate::stages::search::transfer::sources(study)?;
    let bo_opts = options_with_transfer(study, evaluator, &tasks)?;
    let bar = crate::progress::bar(budget as u64, "search");
    bar.set_position(replayed.len() as u64);
    bar.reset_eta();
    let mut best = f64::NEG_INFINITY;
    let found = optimise_with_transfer(
        &study.space,
        objective,
        evaluator,
        bo_opts,
        budget,
        batch,
        replayed,
        &tasks,
        |step| {
            if let Some(j) = journal.as_mut() {
                j.append(step)?;
            }
            if let Some(y) = step.score(objective) {
                best = best.max(y);
            }
            bar.set_message(format!("best {:.4}", objective.perf_of_score(best)));
            bar.inc(1);
            Ok(())
        },
    );
    bar.finish_and_clear();
    found
}

/// What the search found: its steps and, with transfer, the ensemble's final weights.
pub struct Found {
    pub steps: Vec<Step>,
    pub transfer: Vec<TransferModel>,
    pub target_weight: Option<f64>,
    /// Configurations drawn for the design or at random that the pre-check rejected: never
    /// run, so they cost nothing of the budget.
    pub precheck_rejected: usize,
}

/// Writes `history.csv` and `best/` (the best configuration as a conf directory) into
/// `dir` and sums the search up (its wall time left for the caller).
fn finish(
    study: &Study,
    over: Over,
    model: Option<&PerfModel>,
    dir: &Path,
    found: Found,
) -> Result<SearchSummary> {
    let (space, objective, rate) = (&study.space, study.file.objective, study.search_rate());
    let steps = &found.steps;
    let best_iteration = best_step(steps, objective).context(
        "no evaluated configuration ran: widen the space, check the adapter, or raise the budget",
    )?;
    let best = &steps[best_iteration];
    let best_perf = best.evaluation.perf.unwrap_or_default();
    let predicted_default = match model {
        Some(m) => {
            // On the same (pessimistic or not) scale as the search's perf.
            let row = vec![model::features(space, &space.default_config(), rate)];
            Some(objective.perf_of_score(m.predict_search_score(&row)?[0].0))
        }
        None => None,
    };
    write_history(&dir.join("history.csv"), space, objective, steps)?;
    write_ranked(dir, space, objective, steps)?;
    let how = match over {
        Over::Model => "predicted",
        Over::System => "measured",
    };
    let default_note = predicted_default
        .map(|d| format!("; Flink's default predicted {d:.4}"))
        .unwrap_or_default();
    let header = format!(
        "flinktune: best configuration for {rate} rec/s ({how} {objective} = {best_perf:.4}{default_note})"
    );
    study.write_config_dir(&best.config, &dir.join("best"), &header)?;
    Ok(SearchSummary {
        objective,
        over,
        rate,
        budget: study.file.search.budget as usize,
        initial: study.search_initial(over == Over::System),
        evaluations: steps.len(),
        failed_evaluations: steps.iter().filter(|s| !s.evaluation.feasible()).count(),
        best_iteration,
        best_perf,
        predicted_default,
        predicted_speedup: predicted_default.map(|d| objective.speedup(best_perf, d)),
        best: space.to_json(&best.config),
        seconds: 0.0,
        transfer: found.transfer,
        target_weight: found.target_weight,
        precheck_rejected: found.precheck_rejected,
    })
}
