//! `flinktune tune`: every stage in order — generate, collect, model, search, validate —
//! each summarised as it finishes. A search over the system needs no collected data and no
//! model, so those stages are skipped then. A stage whose finished folder still matches the
//! study (`Study::freshness`) is not run again: tune on a finished, fresh study runs nothing.
//! With `[determine] before_tune = true`, `determine` runs first (screening the catalogue the
//! study file names), and the stages after it tune `determine/selected.toml`.

use crate::stages::collect::{self, CollectOptions, CollectSummary};
use crate::stages::determine::{self, DetermineOptions, DetermineSummary};
use crate::stages::generate::GenerateSummary;
use crate::stages::model::ModelSummary;
use crate::stages::search::{self, Found, SearchOptions};
use crate::stages::validate::ValidateSummary;
use crate::stages::{generate, model, validate};
use crate::study::fingerprint::Freshness;
use crate::study::{Over, Stage, Study};
use anyhow::Result;
use serde::Serialize;

/// What one `tune` did (`--json`): the summary of each stage it ran; the stages it left
/// alone are named in `up_to_date` (finished and fresh) or `skipped` (not needed).
#[derive(Debug, Default, Serialize)]
pub struct TuneSummary {
    /// Run first when the study says `[determine] before_tune = true`.
    pub determine: Option<DetermineSummary>,
    pub generate: Option<GenerateSummary>,
    pub collect: Option<CollectSummary>,
    pub model: Option<ModelSummary>,
    pub search: Option<Found>,
    pub validate: Option<ValidateSummary>,
    pub up_to_date: Vec<String>,
    pub skipped: Vec<String>,
}

/// With `[determine] before_tune = true`: runs `determine` unless its finished folder is
/// fresh, and returns its summary (if it ran) and the study reloaded with its selected
/// catalogue. Otherwise the study as it is.
fn screen_first(
    study: &Study,
    workers: usize,
    done: &mut TuneSummary,
    report: &mut dyn FnMut(&str),
) -> Result<Study> {
    if !study.file.determine.before_tune {
        return Ok(study.clone());
    }
    let screening = Study::load_for_screening(&study.dir)?;
    if screening.freshness(Stage::Determine)? == Freshness::Fresh {
        report("[0/5] determine: up to date, nothing to run\n");
        done.up_to_date.push(Stage::Determine.name().into());
    } else {
        let opts = DetermineOptions {
            workers,
            restart: false,
        };
        let d = determine::run(&screening, opts)?;
        report(&format!("[0/5] {}", determine::describe(&d)));
        done.determine = Some(d);
    }
    Study::load(&study.dir)
}

/// Runs every stage, handing each stage's summary to `report` as it finishes.
pub fn run(
    study: &Study,
    collect_options: CollectOptions,
    mut report: impl FnMut(&str),
) -> Result<TuneSummary> {
    let mut done = TuneSummary::default();
    let tuned = screen_first(study, collect_options.workers, &mut done, &mut report)?;
    let study = &tuned;
    let mut search_options = SearchOptions::of(study);
    let mut fresh = |stage: Stage, step: &str, report: &mut dyn FnMut(&str)| -> Result<bool> {
        let fresh = study.freshness(stage)? == Freshness::Fresh;
        if fresh {
            report(&format!(
                "[{step}] {}: up to date, nothing to run\n",
                stage.name()
            ));
            done.up_to_date.push(stage.name().into());
        }
        Ok(fresh)
    };
    let (mut generated, mut collected, mut modelled) = (None, None, None);
    if search_options.over == Over::System {
        report("[1-3/5] generate, collect, model: skipped (the search measures the system)\n");
        // --workers N keeps N trials running: N suggestions per batch.
        search_options.batch = search_options.batch.max(collect_options.workers);
    } else {
        if !fresh(Stage::Generate, "1/5", &mut report)? {
            let g = generate::run(study, generate::GenerateOptions::default())?;
            report(&format!("[1/5] {}", generate::describe(&g)));
            generated = Some(g);
        }
        if !fresh(Stage::Collect, "2/5", &mut report)? {
            let c = collect::run(study, collect_options)?;
            report(&format!("[2/5] {}", collect::describe(&c)));
            collected = Some(c);
        }
        if !fresh(Stage::Model, "3/5", &mut report)? {
            let m = model::run(study)?;
            report(&format!("[3/5] model: {}", model::describe(&m)));
            modelled = Some(m);
        }
    }
    let mut found = None;
    if !fresh(Stage::Search, "4/5", &mut report)? {
        let f = search::run(study, search_options)?;
        report(&format!("[4/5] {}", search::describe(&f)));
        found = Some(f);
    }
    let mut validated = None;
    if !fresh(Stage::Validate, "5/5", &mut report)? {
        let v = validate::run(study)?;
        report(&format!("[5/5] validate:\n{}", validate::describe(&v)));
        validated = Some(v);
    }
    if search_options.over == Over::System {
        done.skipped = ["generate", "collect", "model"].map(String::from).to_vec();
    }
    done.generate = generated;
    done.collect = collected;
    done.model = modelled;
    done.search = found;
    done.validate = validated;
    Ok(done)
}
