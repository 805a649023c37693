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
    let (over, rows) = if path.is_file() {
        (Over::System, read_journal_rows(&path, multi)?)
    } else {
        // A finished search over the model keeps no journal, only its history.
        let history = read_history(&finished_dir.join("history.csv"))?;
        (Over::Model, history)
    };
    Ok(Some(SearchProgress {
        finished,
        multi,
        over,
        rows,
    }))
}

fn read_journal_rows(path: &Path, multi: bool) -> Result<Vec<EvaluationRow>> {
    if multi {
        journal_rows(path, |i, s: &MoStep| {
            let e = &s.evaluation;
            row(i, s.initial, e.status, &e.reason, e.perf)
        })
    } else {
        journal_rows(path, |i, s: &Step| {
            let e = &s.evaluation;
            row(i, s.initial, e.status, &e.reason, e.perf)
        })
    }
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

/// The rows of a search journal of steps `S` (single- or multi-objective: their
/// evaluations are of different types with the same fields a watcher reads).
fn journal_rows<S: serde::de::DeserializeOwned>(
    path: &Path,
    to_row: impl Fn(usize, &S) -> EvaluationRow,
) -> Result<Vec<EvaluationRow>> {
    let steps = journal::read::<serde_json::Value, S>(path, true)?.entries;
    Ok(steps
        .iter()
        .enumerate()
        .map(|(i, s)| to_row(i, s))
        .collect())
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
