//! The search stage: Bayesian optimisation at one rate over the model or the system
//! (`single`), or multi-objective over the system (`multi`); both evaluate the system
//! through `system`, may transfer earlier studies' results (`transfer`), evaluate known
//! configurations first (`enqueue`), and leave what
//! they found in the form `record` reads back.

pub mod enqueue;
pub mod multi;
pub mod progress;
pub mod record;
pub mod single;
pub mod system;
pub mod transfer;

pub use record::{SearchOptions, SearchSummary, read_best};

use crate::study::Study;
use anyhow::Result;

/// What a search found (as JSON: the stage's summary.json).
#[derive(Debug, serde::Serialize)]
#[serde(untagged)]
pub enum Found {
    /// The best configuration at one rate (one objective).
    Single(Box<SearchSummary>),
    /// A Pareto front (two or more `[search] objectives`).
    Multi(Box<multi::MoSummary>),
}

/// Runs the stage: the multi-objective search when the study lists two or more
/// objectives, else the single-objective one.
pub fn run(study: &Study, opts: SearchOptions) -> Result<Found> {
    study.require_screened("search")?;
    Ok(if study.file.search.objectives.len() >= 2 {
        Found::Multi(Box::new(multi::run(study, opts)?))
    } else {
        Found::Single(Box::new(single::run(study, opts)?))
    })
}

/// A human summary of what the search found.
pub fn describe(found: &Found) -> String {
    match found {
        Found::Single(s) => record::describe(s),
        Found::Multi(s) => multi::describe(s),
    }
}
