//! Multi-objective Bayesian optimisation with outcome constraints, over the system.
//!
//! The study's `[search] objectives` name two or more result fields to minimise or
//! maximise (`latency_p99_ms:min`, `cpu_requested:min`, …) and `constraints` bound others
//! (`recovery_time_s <= 180`). The optimiser is `opt::mobo` (a GP per metric, EHVI or
//! ParEGO by `[search] multi_objective`, times Π P(constraint met) and P(run)); it works on
//! vectors of metric values, and this module maps the named metrics onto them: the
//! [`Problem`]'s required metrics (objectives, then constrained metrics) in that order.
//! P(run) is Flink's memory rules (`precheck`: 0) times the classifier the optimiser learns
//! from passes and failures, as in the single-objective search.
//!
//! The stage (`run`) journals every evaluation like the single-objective system search and
//! resumes after an interruption. Artifacts in `search/`: `history.csv`, `pareto.csv`,
//! `pareto.svg`, `report.md`, `summary.json` (readable as a `record::SearchSummary`, so
//! `validate` works) and `best/` — the constrained best: among the evaluations that ran and
//! met every constraint, the best in the first objective (objectives are listed by priority;
//! ties by the next); the knee of the front is recorded in the summary.

use crate::fsx;
use crate::report::plot;
use crate::stages::search::system::{self, Journal, SystemRunner};
use crate::stages::search::{enqueue, record};
use crate::study::encoding;
use crate::study::{MoMethod, Over, Stage, Study};
use crate::trial::adapter::Outcome;
use crate::trial::record::TrialStatus;
use anyhow::{Context, Result, bail};
use flink::objective::Measurement;
use flink::space::{Config, Space};
use opt::ask_tell::{self, Budget, Suggestion};
use opt::mobo::REFERENCE;
pub use opt::mobo::{MoOptions, Prior};
use opt::pareto;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::ops::ControlFlow;
use std::path::Path;
use std::time::Instant;

mod problem;

pub use problem::{Metrics, Mobo, Problem, common_hypervolumes, mo_method, normalised_objectives};

/// What evaluating one configuration gave.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MoEvaluation {
    /// pass | fail | error | skipped (a passing run lacking a required metric is a fail).
    pub status: TrialStatus,
    pub reason: String,
    /// Every numeric result field, mean over the passing repeats (empty unless pass).
    pub metrics: Metrics,
    /// The study's single `objective` (ratio, latency or throughput) over the passing
    /// repeats, so `validate` and `status` read the summary like a single-objective one.
    pub perf: Option<f64>,
}

impl MoEvaluation {
    pub fn passed(&self) -> bool {
        self.status == TrialStatus::Pass
    }
}

/// Numeric fields of a passing outcome.
fn outcome_metrics(outcome: &Outcome) -> Option<Metrics> {
    let reported = outcome.metrics()?.reported();
    Some(
        reported
            .into_iter()
            .filter(|(_, v)| v.is_finite())
            .map(|(metric, v)| (metric.name().to_string(), v))
            .collect(),
    )
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
            status: TrialStatus::Skipped,
            reason,
            metrics: Metrics::new(),
            perf: None,
        });
    }
    let mut sums: BTreeMap<String, (f64, usize)> = BTreeMap::new();
    let mut runs: Vec<Measurement> = Vec::new();
    let mut last_failure: Option<(TrialStatus, String)> = None;
    let stopped = runner.run_repeats(id, config, worker, |rec, outcome| {
        let Some(metrics) = outcome_metrics(&outcome) else {
            last_failure = Some((rec.status, rec.reason.clone()));
            return ControlFlow::Continue(());
        };
        if let Some(field) = problem.missing(&metrics) {
            return ControlFlow::Break(MoEvaluation {
                status: TrialStatus::Fail,
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
        let (status, reason) = last_failure.unwrap_or((TrialStatus::Error, "no repeat ran".into()));
        return Ok(MoEvaluation {
            status,
            reason,
            metrics: Metrics::new(),
            perf: None,
        });
    }
    Ok(MoEvaluation {
        status: TrialStatus::Pass,
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

/// Runs the optimiser for `budget` evaluations in batches of `batch`, `enqueued`
/// configurations first, continuing from `replayed` steps (`opt::ask_tell::run`, the loop
/// of the single-objective search too);
/// `evaluate` measures a batch (ids name the trials); `on_step` sees (and may journal) each
/// new step.
#[allow(clippy::too_many_arguments)]
pub fn optimise(
    space: &Space,
    problem: &Problem,
    opts: MoOptions,
    prior: Option<Prior>,
    enqueued: &[Config],
    budget: usize,
    batch: usize,
    replayed: Vec<MoStep>,
    mut evaluate: impl FnMut(&[String], &[Config]) -> Result<Vec<MoEvaluation>>,
    on_step: impl FnMut(&MoStep) -> Result<()>,
) -> Result<Vec<MoStep>> {
    let domain = encoding::domain(space);
    let mut mobo = Mobo::new(domain.clone(), problem.clone(), opts)?;
    mobo.set_canonical(encoding::canonical(space))?;
    if let Some(p) = prior {
        mobo.set_prior(p);
    }
    for config in enqueued {
        mobo.enqueue(&encoding::encode(space, &domain, config))?;
    }
    let budget = Budget {
        evaluations: budget,
        batch,
    };
    let evaluate_batch = |first: usize, suggestions: Vec<Suggestion>| {
        let batch = system::evaluate_batch(space, &domain, first, &suggestions, |ids, configs| {
            evaluate(ids, configs)
        })?;
        let ControlFlow::Continue((configs, evaluations)) = batch else {
            return Ok(ControlFlow::Break(()));
        };
        let steps = suggestions.into_iter().zip(configs).zip(evaluations);
        Ok(ControlFlow::Continue(
            steps
                .map(|((s, config), evaluation)| MoStep {
                    x: s.x,
                    config,
                    initial: s.initial,
                    acquisition: s.acquisition,
                    evaluation,
                })
                .collect(),
        ))
    };
    ask_tell::run(
        &mut mobo,
        budget,
        replayed,
        |step| (step.x.as_slice(), step.metrics().cloned()),
        evaluate_batch,
        on_step,
    )
}

/// The optimiser's options for a study.
pub fn mo_options(study: &Study) -> MoOptions {
    let s = &study.file.search;
    MoOptions {
        method: mo_method(s.multi_objective),
        initial: study.search_initial(false),
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
    /// `system::plan_fingerprint` of the problem.
    #[serde(default)]
    plan: String,
}

/// The multi-objective search's journal (the single-objective search's is `journal.jsonl`).
pub const JOURNAL: &str = system::MULTI_OBJECTIVE_JOURNAL;

/// Opens the journal, checking it belongs to this search; returns it with its steps.
fn open_journal(
    dir: &Path,
    header: &JournalHeader,
    space: &Space,
) -> Result<(Journal, Vec<MoStep>)> {
    system::open_journal(
        dir,
        JOURNAL,
        Some(header),
        |path, found, steps: &[MoStep]| {
            if found.as_ref() != Some(header) {
                bail!(
                    "{} belongs to another search (the objectives, constraints, space, rate, adapter \
                 or repeats changed): run the search with --restart",
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
        },
    )
}

/// An evaluation's place in the results.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Point {
    pub iteration: usize,
    pub metrics: Metrics,
    pub config: serde_json::Value,
}

/// What the multi-objective stage found: the single-objective summary (the best's `perf` is
/// the study's `objective`, so `record::read_best` reads this file as it reads search's) and
/// the multi-objective additions.
#[derive(Debug, Serialize, Deserialize)]
pub struct MoSummary {
    #[serde(flatten)]
    pub search: record::SearchSummary,
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
pub fn run(study: &Study, opts: record::SearchOptions) -> Result<MoSummary> {
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
    let header = JournalHeader {
        multi_objective_journal: 1,
        problem: problem.clone(),
        parameters: space.params.iter().map(|p| p.name.clone()).collect(),
        plan: system::plan_fingerprint(study, &problem),
    };
    let enqueued = enqueue::load(study, &enqueue::files(study))?;
    let stage = system::open_stage(study, JOURNAL, &header.plan, opts.restart)?;
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
        &enqueued,
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
    if crate::trial::process::cancelled() {
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
    let reading = Reading::of(problem, steps)?;
    write_tables(study, problem, dir, steps, &reading)?;
    write_best(study, problem, dir, &steps[reading.best], rate)?;
    let summary = mo_summary(study, problem, steps, &reading, rate, started);
    std::fs::write(dir.join("report.md"), report_md(&summary, problem))?;
    study.record_inputs(Stage::Search, Some(Over::System), dir)?;
    fsx::write_json(&dir.join("summary.json"), &summary)?;
    Ok(summary)
}

/// What a finished search found, as indices into its steps.
struct Reading {
    /// How many steps ran.
    ran: usize,
    /// How many of them met the constraints.
    feasible: usize,
    /// The non-dominated steps, in the order of the front.
    front: Vec<usize>,
    /// The front's knee (on the normalised objectives), if it has one.
    knee: Option<usize>,
    /// The constrained best by the first objective.
    best: usize,
    /// Whether the best meets every constraint.
    constraints_met: bool,
    hypervolume: f64,
}

impl Reading {
    fn of(problem: &Problem, steps: &[MoStep]) -> Result<Self> {
        let Front {
            ran,
            feasible,
            front,
        } = front(problem, steps);
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
        // The knee on the scale the search works on (log where positive), so one saturated
        // configuration with a p99 of seconds does not decide what "balanced" means.
        let front_norm: Vec<Vec<f64>> = front.iter().map(|&j| norm[j].clone()).collect();
        let knee = pareto::knee(&front_norm).map(|k| ran[front[k]]);
        let best = pareto::constrained_best(&raw, &violation).context("no evaluation ran")?;
        let reference = vec![REFERENCE; problem.objectives.len()];
        Ok(Reading {
            feasible: feasible.len(),
            front: front.iter().map(|&j| ran[j]).collect(),
            knee,
            best: ran[best],
            constraints_met: violation[best] <= 0.0,
            hypervolume: pareto::hypervolume(&front_norm, &reference),
            ran: ran.len(),
        })
    }
}

/// `history.csv`, `pareto.csv` and `pareto.svg`.
fn write_tables(
    study: &Study,
    problem: &Problem,
    dir: &Path,
    steps: &[MoStep],
    reading: &Reading,
) -> Result<()> {
    let space = &study.space;
    let on_front: BTreeSet<usize> = reading.front.iter().copied().collect();
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
        &reading.front,
        reading.knee,
        reading.best,
    )?;
    let figure = front_svg(problem, steps, &on_front)?;
    fsx::write_atomic(&dir.join("pareto.svg"), figure.as_bytes())
}

/// The constrained best's configuration directory, `best/`.
fn write_best(
    study: &Study,
    problem: &Problem,
    dir: &Path,
    best: &MoStep,
    rate: u64,
) -> Result<()> {
    let values = problem
        .objectives
        .iter()
        .map(|o| format!("{} = {:.4}", o.metric, best.evaluation.metrics[&o.metric]))
        .collect::<Vec<_>>()
        .join(", ");
    study.write_config_dir(
        &best.config,
        &dir.join("best"),
        &format!(
            "flinktune: constrained best of a multi-objective search at {rate} rec/s ({values})"
        ),
    )
}

/// The stage's summary of a finished search.
fn mo_summary(
    study: &Study,
    problem: &Problem,
    steps: &[MoStep],
    reading: &Reading,
    rate: u64,
    started: Instant,
) -> MoSummary {
    let space = &study.space;
    let point = |i: usize| Point {
        iteration: i,
        metrics: steps[i].evaluation.metrics.clone(),
        config: space.to_json(&steps[i].config),
    };
    let best = &steps[reading.best];
    MoSummary {
        search: record::SearchSummary {
            objective: study.file.objective,
            over: Over::System,
            rate,
            budget: study.file.search.budget as usize,
            initial: study.search_initial(false),
            evaluations: steps.len(),
            failed_evaluations: steps.len() - reading.ran,
            best_iteration: reading.best,
            best_perf: best.evaluation.perf.unwrap_or(f64::NAN),
            predicted_default: None,
            predicted_speedup: None,
            best: space.to_json(&best.config),
            seconds: started.elapsed().as_secs_f64(),
            transfer: vec![],
            target_weight: None,
            precheck_rejected: 0,
        },
        multi_objective: study.file.search.multi_objective,
        objectives: problem.objectives.iter().map(|o| o.to_string()).collect(),
        constraints: problem.constraints.iter().map(|c| c.to_string()).collect(),
        feasible_evaluations: reading.feasible,
        constraints_met: reading.constraints_met,
        best_metrics: best.evaluation.metrics.clone(),
        front: reading.front.iter().map(|&i| point(i)).collect(),
        knee: reading.knee.map(point),
        hypervolume: reading.hypervolume,
    }
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
            s.evaluation.status.to_string(),
            s.evaluation.reason.clone(),
            violation.is_some_and(|v| v <= 0.0).to_string(),
            violation.map(|v| v.to_string()).unwrap_or_default(),
            on_front.contains(&i).to_string(),
        ];
        row.extend(columns.iter().map(|c| cell(m, c)));
        row.extend(record::config_cells(&s.config));
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
        row.extend(record::config_cells(&s.config));
        table.write_record(&row)?;
    }
    table.flush()?;
    Ok(())
}

/// The evaluations that ran (indices into the steps) and, as indices into those, the ones
/// that met the constraints and the non-dominated ones among them: the front.
pub struct Front {
    pub ran: Vec<usize>,
    pub feasible: Vec<usize>,
    pub front: Vec<usize>,
}

/// The front of the evaluations so far (of a finished search, or of a running one's
/// journal).
pub fn front(problem: &Problem, steps: &[MoStep]) -> Front {
    let ran: Vec<usize> = (0..steps.len())
        .filter(|&i| steps[i].metrics().is_some())
        .collect();
    let metrics: Vec<&Metrics> = ran.iter().filter_map(|&i| steps[i].metrics()).collect();
    let feasible: Vec<usize> = (0..ran.len())
        .filter(|&j| problem.violation(metrics[j]) <= 0.0)
        .collect();
    let feasible_raw: Vec<Vec<f64>> = feasible
        .iter()
        .map(|&j| problem.minimised(metrics[j]).unwrap_or_default())
        .collect();
    let front = pareto::non_dominated(&feasible_raw)
        .into_iter()
        .map(|k| feasible[k])
        .collect();
    Front {
        ran,
        feasible,
        front,
    }
}

/// The front in pairwise scatters of the objectives (one panel for two objectives), as SVG
/// text; `on_front` holds step indices.
pub fn front_svg(
    problem: &Problem,
    steps: &[MoStep],
    on_front: &BTreeSet<usize>,
) -> Result<String> {
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
                x_label: problem.objectives[a].axis_label(),
                y_label: problem.objectives[b].axis_label(),
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
    plot::pareto_panels_svg("Pareto front (evaluations that ran)", &panels)
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
mod tests;
