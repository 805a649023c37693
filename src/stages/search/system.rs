//! Journaled, resumable runs of configurations on the system (through the adapter), as the
//! single-objective search (`search`, `over = "system"`) and the multi-objective one
//! (`mobo`) both do them: a batch runs in parallel, one adapter worker per configuration;
//! a configuration Flink's memory rules or the cluster's slots already reject is skipped,
//! any other runs the study's repeats; every finished step is appended (fsynced) to the
//! stage's journal, which an interrupted search reads back to resume.
//!
//! What a step holds and what the optimiser learns from it stay with each search; this
//! module only runs, journals and reads back.

use crate::fsx;
use crate::stages::collect::{self, TrialRecord};
use crate::stages::generate::Generated;
use crate::study::Study;
use crate::trial::adapter::{Adapter, Outcome};
use anyhow::{Result, bail};
use flink::space::Config;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fs::{File, OpenOptions};
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
    pub adapter: Adapter,
    pub rate: u64,
    /// Where the trial directories go.
    pub trials_dir: PathBuf,
}

impl<'a> SystemRunner<'a> {
    /// The runner through the study's adapter.
    pub fn new(study: &'a Study, rate: u64, trials_dir: PathBuf) -> SystemRunner<'a> {
        SystemRunner {
            study,
            adapter: collect::adapter_of(study),
            rate,
            trials_dir,
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
        let generated = Generated {
            id: id.to_string(),
            config: config.clone(),
            predicted_failure: None,
        };
        for repeat in 0..self.study.file.repeats {
            let (rec, outcome) = collect::run_trial_outcome(
                &self.adapter,
                self.study,
                &generated,
                &self.trials_dir,
                self.rate,
                repeat,
                worker,
            )?;
            if let ControlFlow::Break(b) = each(rec, outcome) {
                return Ok(Some(b));
            }
        }
        Ok(None)
    }
}

/// A search's open journal: each append is durable before it returns.
pub struct Journal {
    file: File,
}

impl Journal {
    /// Opens (or creates) the journal `name` in `dir` for appending, with the steps it holds
    /// (a torn last line dropped). `accept` sees them first and refuses, with the error, a
    /// journal of another search; then the journal is truncated to its valid lines. Refuses
    /// `dir` holding the other kind of search's journal.
    pub fn resume<S: DeserializeOwned>(
        dir: &Path,
        name: &str,
        accept: impl FnOnce(&Path, &[S]) -> Result<()>,
    ) -> Result<(Journal, Vec<S>)> {
        Journal::open::<(), S>(dir, name, None, |path, _, steps| accept(path, steps))
    }

    /// [`Journal::resume`] for a journal whose first line is `header`: a new journal gets
    /// it, and `accept` also sees the header an existing one holds (None: unreadable).
    pub fn resume_with_header<H: Serialize + DeserializeOwned, S: DeserializeOwned>(
        dir: &Path,
        name: &str,
        header: &H,
        accept: impl FnOnce(&Path, Option<H>, &[S]) -> Result<()>,
    ) -> Result<(Journal, Vec<S>)> {
        Journal::open(dir, name, Some(header), accept)
    }

    fn open<H: Serialize + DeserializeOwned, S: DeserializeOwned>(
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
        let path = dir.join(name);
        let mut steps = Vec::new();
        if path.exists() {
            let bytes = std::fs::read(&path)?;
            // The header counts only as a whole line, so the steps start after its newline.
            let head_len = match header {
                Some(_) => bytes
                    .split_inclusive(|&b| b == b'\n')
                    .next()
                    .unwrap_or_default()
                    .len(),
                None => 0,
            };
            let head = &bytes[..head_len];
            let found: Option<H> = head
                .ends_with(b"\n")
                .then(|| serde_json::from_slice(head).ok())
                .flatten();
            let (found_steps, valid) = fsx::json_lines::<S>(&bytes[head_len..]);
            accept(&path, found, &found_steps)?;
            OpenOptions::new()
                .write(true)
                .open(&path)?
                .set_len(head_len as u64 + valid)?;
            steps = found_steps;
        }
        let mut file = OpenOptions::new().create(true).append(true).open(&path)?;
        if let Some(h) = header
            && steps.is_empty()
            && std::fs::metadata(&path)?.len() == 0
        {
            fsx::append_json_line(&mut file, h)?;
        }
        Ok((Journal { file }, steps))
    }

    /// Appends one step (one JSON line, fsynced).
    pub fn append<S: Serialize>(&mut self, step: &S) -> Result<()> {
        fsx::append_json_line(&mut self.file, step)
    }
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
            Journal::resume_with_header::<u32, u32>(tmp.path(), name, &7, accept_all).unwrap();
        assert!(steps.is_empty());
        j.append(&1u32).unwrap();
        j.append(&2u32).unwrap();
        drop(j);
        let path = tmp.path().join(name);
        let mut text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, "7\n1\n2\n");
        text.push('3');
        std::fs::write(&path, &text).unwrap();
        let (mut j, steps) =
            Journal::resume_with_header::<u32, u32>(tmp.path(), name, &7, |_, found, _| {
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
        let err = Journal::resume::<u32>(tmp.path(), SINGLE_OBJECTIVE_JOURNAL, |_, steps| {
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
        let err = Journal::resume_with_header::<u32, u32>(
            tmp.path(),
            MULTI_OBJECTIVE_JOURNAL,
            &7,
            accept_all,
        )
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
