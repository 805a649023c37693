//! Where a search stands, for readers that watch it (the report and the dashboard): the
//! evaluations of a running or interrupted search (its journal in `.search.partial/`), else
//! those of the finished one (its journal over the system, `history.csv` over the model),
//! whichever search (single- or multi-objective) made them. Read-only: it never takes the
//! study's lock, and a journal line being appended (no newline yet) is not read.

use crate::stages::search::multi::{self, MoStep};
use crate::stages::search::record::{self, Step};
use crate::study::{Over, Stage, Study};
use crate::trial::journal;
use crate::trial::record::TrialStatus;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// One evaluation as a watcher shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EvaluationRow {
    pub iteration: usize,
    /// In the space-filling initial design.
    pub initial: bool,
    pub status: TrialStatus,
    pub reason: String,
    /// The study's `objective` (predicted over the model, measured over the system); None
    /// when it did not run.
    pub perf: Option<f64>,
}

/// The search's evaluations so far.
#[derive(Clone, Debug, Serialize)]
pub struct SearchProgress {
    /// The stage has finished (its `summary.json` is there) and no new run has begun.
    pub finished: bool,
    /// A multi-objective search (two or more `[search] objectives`).
    pub multi: bool,
    /// What it evaluates: a journal is kept over the system only.
    pub over: Over,
    pub rows: Vec<EvaluationRow>,
    /// A multi-objective search's Pareto front over the evaluations so far.
    pub front: Option<FrontView>,
}

/// The Pareto front of a multi-objective search's evaluations so far.
#[derive(Clone, Debug, Serialize)]
pub struct FrontView {
    /// The objectives, as the study file names them (`latency_p99_ms:min`, …).
    pub objectives: Vec<String>,
    /// Evaluations that ran, of those that met the constraints, and on the front.
    pub ran: usize,
    pub feasible: usize,
    pub size: usize,
    /// The figure the finished search writes as `pareto.svg`, of the evaluations so far.
    #[serde(skip)]
    pub svg: String,
}

/// The folder a search runs in until it finishes.
fn partial_dir(study: &Study) -> PathBuf {
    study.dir.join(format!(".{}.partial", Stage::Search.name()))
}

/// Reads the search's evaluations (None when no search has begun).
pub fn progress(study: &Study) -> Result<Option<SearchProgress>> {
    let multi = study.file.search.objectives.len() >= 2;
    let name = if multi {
        multi::JOURNAL
    } else {
        record::JOURNAL
    };
    let running = partial_dir(study).join(name);
    let finished_dir = study.stage_dir(Stage::Search);
    let finished = finished_dir.join(Stage::Search.done_marker()).is_file();
    let (path, finished) = if running.is_file() {
        (running, false)
    } else if finished {
        (finished_dir.join(name), true)
    } else {
        return Ok(None);
    };
    let (over, rows, front) = if !path.is_file() {
        // A finished search over the model keeps no journal, only its history.
        let history = read_history(&finished_dir.join("history.csv"))?;
        (Over::Model, history, None)
    } else if multi {
        let steps = journal::read::<serde_json::Value, MoStep>(&path, true)?.entries;
        let rows = journal_rows(&steps, |i, s: &MoStep| {
            let e = &s.evaluation;
            row(i, s.initial, e.status, &e.reason, e.perf)
        });
        (Over::System, rows, front(study, &steps)?)
    } else {
        let steps = journal::read::<serde_json::Value, Step>(&path, true)?.entries;
        let rows = journal_rows(&steps, |i, s: &Step| {
            let e = &s.evaluation;
            row(i, s.initial, e.status, &e.reason, e.perf)
        });
        (Over::System, rows, None)
    };
    Ok(Some(SearchProgress {
        finished,
        multi,
        over,
        rows,
        front,
    }))
}

/// The front of the evaluations so far, drawn as the finished search draws it; None until
/// one ran.
fn front(study: &Study, steps: &[MoStep]) -> Result<Option<FrontView>> {
    let problem = multi::Problem::of(study)?;
    let f = multi::front(&problem, steps);
    if f.ran.is_empty() {
        return Ok(None);
    }
    let on_front: BTreeSet<usize> = f.front.iter().map(|&j| f.ran[j]).collect();
    Ok(Some(FrontView {
        objectives: problem.objectives.iter().map(|o| o.to_string()).collect(),
        ran: f.ran.len(),
        feasible: f.feasible.len(),
        size: f.front.len(),
        svg: multi::front_svg(&problem, steps, &on_front)?,
    }))
}

fn row(
    iteration: usize,
    initial: bool,
    status: TrialStatus,
    reason: &str,
    perf: Option<f64>,
) -> EvaluationRow {
    EvaluationRow {
        iteration,
        initial,
        status,
        reason: reason.to_string(),
        perf,
    }
}

/// The rows of a search journal's steps `S` (single- or multi-objective: their
/// evaluations are of different types with the same fields a watcher reads).
fn journal_rows<S>(steps: &[S], to_row: impl Fn(usize, &S) -> EvaluationRow) -> Vec<EvaluationRow> {
    steps
        .iter()
        .enumerate()
        .map(|(i, s)| to_row(i, s))
        .collect()
}

/// The columns of `history.csv` a watcher needs.
#[derive(Deserialize)]
struct HistoryRow {
    iteration: usize,
    phase: String,
    perf: Option<f64>,
    status: TrialStatus,
    reason: String,
}

fn read_history(path: &Path) -> Result<Vec<EvaluationRow>> {
    let mut reader =
        csv::Reader::from_path(path).with_context(|| format!("cannot read {}", path.display()))?;
    reader
        .deserialize::<HistoryRow>()
        .enumerate()
        .map(|(i, r)| {
            let r = r.with_context(|| format!("{}: row {}", path.display(), i + 2))?;
            Ok(EvaluationRow {
                iteration: r.iteration,
                initial: r.phase == "initial",
                status: r.status,
                reason: r.reason,
                perf: r.perf,
            })
        })
        .collect()
}
