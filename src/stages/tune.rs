//! `flinktune tune`: every stage in order — generate, collect, model, search, validate —
//! each summarised as it finishes. A search over the system needs no collected data and no
//! model, so those stages are skipped then. A stage whose finished folder still matches the
//! study (`Study::freshness`) is not run again: tune on a finished, fresh study runs nothing.

use crate::stages::collect::{self, CollectOptions};
use crate::stages::search::{self, SearchOptions};
use crate::stages::{generate, model, validate};
use crate::study::fingerprint::Freshness;
use crate::study::{Over, Stage, Study};
use anyhow::Result;

/// Runs every stage, handing each stage's summary to `report` as it finishes.
pub fn run(
    study: &Study,
    collect_options: CollectOptions,
    mut report: impl FnMut(&str),
) -> Result<()> {
    let mut search_options = SearchOptions::of(study);
    let fresh = |stage: Stage, step: &str, report: &mut dyn FnMut(&str)| -> Result<bool> {
        let fresh = study.freshness(stage)? == Freshness::Fresh;
        if fresh {
            report(&format!(
                "[{step}] {}: up to date, nothing to run\n",
                stage.name()
            ));
        }
        Ok(fresh)
    };
    if search_options.over == Over::System {
        report("[1-3/5] generate, collect, model: skipped (the search measures the system)\n");
        // --workers N keeps N trials running: N suggestions per batch.
        search_options.batch = search_options.batch.max(collect_options.workers);
    } else {
        if !fresh(Stage::Generate, "1/5", &mut report)? {
            let g = generate::run(study, generate::GenerateOptions::default())?;
            report(&format!("[1/5] {}", generate::describe(&g)));
        }
        if !fresh(Stage::Collect, "2/5", &mut report)? {
            let c = collect::run(study, collect_options)?;
            report(&format!("[2/5] {}", collect::describe(&c)));
        }
        if !fresh(Stage::Model, "3/5", &mut report)? {
            let m = model::run(study)?;
            report(&format!("[3/5] model: {}", model::describe(&m)));
        }
    }
    if !fresh(Stage::Search, "4/5", &mut report)? {
        let found = search::run(study, search_options)?;
        report(&format!("[4/5] {}", search::describe(&found)));
    }
    if !fresh(Stage::Validate, "5/5", &mut report)? {
        let v = validate::run(study)?;
        report(&format!("[5/5] validate:\n{}", validate::describe(&v)));
    }
    Ok(())
}
