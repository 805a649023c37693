//! Journaled, resumable runs of configurations on the system (through the adapter), as the
//! single-objective search (`search`, `over = "system"`) and the multi-objective one
//! (`mobo`) both do them: a batch runs in parallel, one adapter worker per configuration;
//! a configuration Flink's memory rules or the cluster's slots already reject is skipped,
//! any other runs the study's repeats; every finished step is appended (fsynced) to the
//! stage's journal, which an interrupted search reads back to resume.
//!
//! What a step holds and what the optimiser learns from it stay with each search; this
//! module only runs, journals and reads back.

pub use crate::trial::journal::Journal;

use crate::fsx::{self, StageDir};
use crate::study::fingerprint::fingerprint;
use crate::study::{Stage, Study, encoding};
use crate::trial::adapter::Outcome;
use crate::trial::process::cancelled;
use crate::trial::record::TrialRecord;
use crate::trial::runner::{Runner, Trial};
use anyhow::{Result, bail};
use flink::space::{Config, Space};
use opt::ask_tell::Suggestion;
use opt::bo::Domain;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The single-objective search's journal: one step per line.
pub const SINGLE_OBJECTIVE_JOURNAL: &str = "journal.jsonl";
/// The multi-objective search's journal: a header line (what its steps belong to), then one
/// step per line.
pub const MULTI_OBJECTIVE_JOURNAL: &str = "mo-journal.jsonl";
/// Every search journal a `search/` folder may hold, with the kind of search that writes it:
/// one search must not resume from the other's.
const JOURNALS: [(&str, &str); 2] = [
    (SINGLE_OBJECTIVE_JOURNAL, "single-objective"),
    (MULTI_OBJECTIVE_JOURNAL, "multi-objective"),
];

/// The trial ids of `n` evaluations from the `first` (unique within a search, so a resumed
/// search never reuses a trial directory).
pub fn trial_ids(first: usize, n: usize) -> Vec<String> {
    (first..first + n).map(|i| format!("e{i:04}")).collect()
}

/// A batch's configurations and their evaluations, or a break when the search was stopped.
pub type Batch<E> = ControlFlow<(), (Vec<Config>, Vec<E>)>;

/// A batch of suggestions as a search runs it: decoded into configurations, numbered as
/// trials from `first`, evaluated by `evaluate` (the system or the model). A stop requested
/// (Ctrl-C) before or during the batch breaks the search instead: what an interrupted batch
/// measured is not a result.
pub fn evaluate_batch<E>(
    space: &Space,
    domain: &Domain,
    first: usize,
    suggestions: &[Suggestion],
    evaluate: impl FnOnce(&[String], &[Config]) -> Result<Vec<E>>,
) -> Result<Batch<E>> {
    if cancelled() {
        return Ok(ControlFlow::Break(()));
    }
    let configs: Vec<Config> = suggestions
        .iter()
        .map(|s| encoding::decode(space, domain, &s.x))
        .collect();
    let evaluations = evaluate(&trial_ids(first, configs.len()), &configs)?;
    if cancelled() {
        return Ok(ControlFlow::Break(()));
    }
    Ok(ControlFlow::Continue((configs, evaluations)))
}

/// Why a configuration is skipped without running: Flink's memory rules or the cluster's
/// slots reject it (`Study::predict_failure`).
pub fn predicted_failure(study: &Study, config: &Config) -> Option<String> {
    study
        .predict_failure(config)
        .map(|why| format!("predicted: {why}"))
}

/// Runs configurations of a study at one rate through its adapter, into one trials folder.
pub struct SystemRunner<'a> {
    pub study: &'a Study,
    pub rate: u64,
    trials: Runner<'a>,
}

impl<'a> SystemRunner<'a> {
    /// The runner through the study's adapter.
    pub fn new(study: &'a Study, rate: u64, trials_dir: PathBuf) -> SystemRunner<'a> {
        SystemRunner {
            study,
            rate,
            trials: Runner::new(study, trials_dir),
        }
    }

    /// Evaluates a batch in parallel, one thread (and adapter worker slot) per
    /// configuration: `evaluate(id, config, worker)`; results in the order of `configs`.
    pub fn run_batch<T: Send>(
        &self,
        ids: &[String],
        configs: &[Config],
        evaluate: impl Fn(&str, &Config, usize) -> Result<T> + Sync,
    ) -> Result<Vec<T>> {
        let results: Mutex<Vec<Option<Result<T>>>> =
            Mutex::new((0..configs.len()).map(|_| None).collect());
        std::thread::scope(|scope| {
            for (worker, (id, config)) in ids.iter().zip(configs).enumerate() {
                let (results, evaluate) = (&results, &evaluate);
                scope.spawn(move || {
                    let e = evaluate(id, config, worker);
                    if let Ok(mut r) = results.lock() {
                        r[worker] = Some(e);
                    }
                });
            }
        });
        results
            .into_inner()
            .map_err(|_| anyhow::anyhow!("an evaluation thread panicked"))?
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(anyhow::anyhow!("evaluation lost"))))
            .collect()
    }

    /// Runs the study's repeats of one configuration as trial `id`, handing each repeat's
    /// record and outcome to `each`; stops early with what `each` breaks with.
    pub fn run_repeats<B>(
        &self,
        id: &str,
        config: &Config,
        worker: usize,
        mut each: impl FnMut(TrialRecord, Outcome) -> ControlFlow<B>,
    ) -> Result<Option<B>> {
        for repeat in 0..self.study.file.repeats {
            let trial = Trial {
                config_id: id,
                config,
                rate: self.rate,
                repeat,
            };
            let (rec, outcome) = self.trials.run_outcome(trial, worker)?;
            if let ControlFlow::Break(b) = each(rec, outcome) {
                return Ok(Some(b));
            }
        }
        Ok(None)
    }
}

/// The fingerprint of what a search's evaluations measure: the space, the base
/// configuration, the rate, the `objective` (what the search optimises), the adapter and
/// the repeats. Kept in the journal's header: a search resumes only a journal of its plan.
pub fn plan_fingerprint(study: &Study, objective: &impl Serialize) -> String {
    let plan = serde_json::json!({
        "catalogue": study.catalogue, "version": study.file.flink_version,
        "base": study.base.conf, "rate": study.search_rate(), "objective": objective,
        "adapter": study.adapter_fingerprint(), "repeats": study.file.repeats,
    });
    fingerprint(&[plan.to_string().as_bytes()])
}

/// The folder a search over the system runs in: the interrupted run's (`.search.partial/`);
/// else, when the finished search's journal (`name`) is of this `plan`, a new folder that
/// continues it (journal and trial directories linked in), so that a raised budget runs
/// only the new evaluations and an unchanged one none; else a fresh folder. `restart`
/// always starts fresh.
pub fn open_stage(study: &Study, name: &str, plan: &str, restart: bool) -> Result<StageDir> {
    if restart {
        return StageDir::begin(&study.dir, Stage::Search.name());
    }
    if study.dir.join(".search.partial").is_dir() {
        return StageDir::resume(&study.dir, Stage::Search.name());
    }
    let finished = study.stage_dir(Stage::Search);
    let journal = finished.join(name);
    let stage = StageDir::begin(&study.dir, Stage::Search.name())?;
    if finished.join(Stage::Search.done_marker()).is_file() && journal.is_file() {
        let contents =
            crate::trial::journal::read::<serde_json::Value, serde_json::Value>(&journal, true)?;
        if contents.header.is_some_and(|h| h["plan"] == plan) {
            let bytes = std::fs::read(&journal)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", journal.display()))?;
            fsx::write_atomic(&stage.path.join(name), &bytes)?;
            if finished.join("trials").is_dir() {
                fsx::link_tree(&finished.join("trials"), &stage.path.join("trials"))?;
            }
        }
    }
    Ok(stage)
}

/// Opens (or creates) the search journal `name` in `dir` (see [`Journal::open`]), refusing
/// `dir` holding the other kind of search's journal: one search must not resume from the
/// other's.
pub fn open_journal<H: Serialize + DeserializeOwned, S: DeserializeOwned>(
    dir: &Path,
    name: &str,
    header: Option<&H>,
    accept: impl FnOnce(&Path, Option<H>, &[S]) -> Result<()>,
) -> Result<(Journal, Vec<S>)> {
    for (other, kind) in JOURNALS {
        if other != name && dir.join(other).exists() {
            bail!(
                "{} holds an interrupted {kind} search: run the search with --restart",
                dir.display()
            );
        }
    }
    Journal::open(&dir.join(name), header, accept)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept_all(_: &Path, _: Option<u32>, _: &[u32]) -> Result<()> {
        Ok(())
    }

    #[test]
    fn a_new_journal_gets_its_header_and_resumes_without_a_torn_line() {
        let tmp = tempfile::tempdir().unwrap();
        let name = MULTI_OBJECTIVE_JOURNAL;
        let (mut j, steps) =
            open_journal::<u32, u32>(tmp.path(), name, Some(&7), accept_all).unwrap();
        assert!(steps.is_empty());
        j.append(&1u32).unwrap();
        j.append(&2u32).unwrap();
        drop(j);
        let path = tmp.path().join(name);
        let mut text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, "7\n1\n2\n");
        text.push('3');
        std::fs::write(&path, &text).unwrap();
        let (mut j, steps) = open_journal::<u32, u32>(tmp.path(), name, Some(&7), |_, found, _| {
            assert_eq!(found, Some(7));
            Ok(())
        })
        .unwrap();
        assert_eq!(steps, vec![1, 2]);
        j.append(&4u32).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "7\n1\n2\n4\n");
    }

    #[test]
    fn a_refused_journal_is_left_as_it_was() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join(SINGLE_OBJECTIVE_JOURNAL);
        std::fs::write(&path, "1\n2").unwrap();
        let err =
            open_journal::<(), u32>(tmp.path(), SINGLE_OBJECTIVE_JOURNAL, None, |_, _, steps| {
                assert_eq!(steps, &[1]);
                bail!("another search")
            })
            .err()
            .unwrap();
        assert_eq!(err.to_string(), "another search");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "1\n2");
    }

    #[test]
    fn one_search_does_not_resume_from_the_others_journal() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join(SINGLE_OBJECTIVE_JOURNAL), "1\n").unwrap();
        let err =
            open_journal::<u32, u32>(tmp.path(), MULTI_OBJECTIVE_JOURNAL, Some(&7), accept_all)
                .err()
                .unwrap();
        assert!(
            err.to_string()
                .contains("holds an interrupted single-objective search"),
            "{err}"
        );
    }

    #[test]
    fn trial_ids_continue_from_the_first() {
        assert_eq!(trial_ids(9, 2), vec!["e0009", "e0010"]);
    }
}
