//! Running screening configurations: each one `repeats` times through the study's adapter at
//! the screening rate (on `--workers` adapter workers, journaled so that a killed run
//! resumes without losing a finished trial, within `[determine] budget`), its score the
//! median of the passing repeats; and random configurations drawn until one passes the
//! pre-check and runs. The one place that spends trials, so the trial records, their ids
//! and the progress bar follow the order the designs ask for them.

use crate::study::Study;
use crate::trial::journal::Journal;
use crate::trial::process::cancelled;
use crate::trial::record::{TrialRecord, TrialStatus, trial_id};
use crate::trial::runner::{self, Trial};
use anyhow::{Result, bail};
use flink::space::Config;
use opt::stats::median;
use std::collections::HashMap;
use std::path::Path;

/// Draws of a random point until one passes the pre-check (free: nothing runs).
pub(super) const PRECHECK_DRAWS: usize = 1000;
/// Measured draws of a runnable start or base before giving up on it: a point that passes
/// the pre-check may still fail when it runs (on the simulator: parallelism above the
/// cluster's slots, metaspace too small), and each such draw costs its runs.
const RUNNABLE_ATTEMPTS: usize = 20;

/// One measured screening configuration.
#[derive(Clone, Debug)]
pub(super) struct Measured {
    /// Median score of the passing repeats; None: the configuration cannot run.
    pub(super) score: Option<f64>,
    /// Scores of the passing repeats.
    pub(super) runs: Vec<f64>,
    /// Why it failed, if it did.
    pub(super) reason: String,
    /// Median share of the window spent in garbage collection over the passing repeats
    /// that report it (None: none did).
    pub(super) gc: Option<f64>,
}

impl Measured {
    /// The median of the first `repeats` passing runs (None: it could not run). A
    /// configuration measured more often (the reference and the OAT bases, for the noise)
    /// is compared with the same repeats as every other configuration, so a parameter the
    /// job ignores shows exactly no effect.
    pub(super) fn first_repeats(&self, repeats: u64) -> Option<f64> {
        self.score
            .map(|_| median(&self.runs[..(repeats as usize).min(self.runs.len())]))
    }

    /// The score, or `fail_score` when the configuration could not run.
    pub(super) fn score_or(&self, fail_score: f64) -> f64 {
        self.score.unwrap_or(fail_score)
    }
}

/// Whether Flink's memory rules and the cluster's slots let `config` start (a predicted
/// FailConf costs no run).
pub(super) fn passes_precheck(study: &Study, config: &Config) -> bool {
    study.predict_failure(config).is_none()
}

/// The journal of finished screening trials, in the stage's folder.
pub(super) const JOURNAL: &str = "journal.jsonl";

/// Runs screening configurations through the adapter, `workers` trials at a time, each
/// finished trial journaled (fsynced) before the next is handed on. A trial whose key
/// (`Study::trial_key`: the configuration as Flink reads it, the rate, the repeat and the
/// adapter) is in the journal of an interrupted run is not run again: a design is a
/// deterministic function of the seed and the results before it, so a resumed run asks
/// for the same trials and finds the finished ones.
pub(super) struct Runner<'a> {
    pub(super) study: &'a Study,
    trials: runner::Runner<'a>,
    pub(super) rate: u64,
    pub(super) records: Vec<TrialRecord>,
    pub(super) bar: indicatif::ProgressBar,
    journal: Journal,
    /// The finished trials of an interrupted run, by key.
    journaled: HashMap<String, TrialRecord>,
    workers: usize,
    /// Trials the design may run (`[determine] budget`).
    pub(super) budget: u64,
    /// Trials this run found finished in the journal.
    pub(super) resumed: usize,
}

impl<'a> Runner<'a> {
    /// A runner whose trials go to `stage/trials`, journaled in `stage/journal.jsonl`
    /// (whose finished trials it reuses), with a progress bar of `total` trials.
    pub(super) fn new(
        study: &'a Study,
        stage: &Path,
        rate: u64,
        total: u64,
        workers: usize,
    ) -> Result<Self> {
        let trials_dir = stage.join("trials");
        std::fs::create_dir_all(&trials_dir)?;
        let (journal, entries) = Journal::open(
            &stage.join(JOURNAL),
            None::<&()>,
            |_, _: Option<()>, _: &[TrialRecord]| Ok(()),
        )?;
        let journaled: HashMap<String, TrialRecord> = entries
            .into_iter()
            .filter(|r| !r.key.is_empty())
            .map(|r| (r.key.clone(), r))
            .collect();
        Ok(Runner {
            study,
            trials: runner::Runner::new(study, trials_dir),
            rate,
            records: Vec::new(),
            bar: crate::progress::bar(total, "determine"),
            journal,
            journaled,
            workers: workers.max(1),
            budget: study.file.determine.budget,
            resumed: 0,
        })
    }

    /// Trials spent so far (pre-check refusals cost none).
    pub(super) fn spent(&self) -> u64 {
        self.records
            .iter()
            .filter(|r| r.status != TrialStatus::Skipped)
            .count() as u64
    }

    /// Measures one configuration `runs` times.
    pub(super) fn measure(&mut self, id: &str, config: &Config, runs: u64) -> Result<Measured> {
        let mut m = self.measure_all(&[(id.to_string(), config.clone())], runs)?;
        Ok(m.remove(0))
    }

    /// Measures configurations (id, configuration) `runs` times each, their trials on the
    /// runner's workers; returns their measurements in the same order, and records their
    /// trials in that order whatever order they ended in.
    pub(super) fn measure_all(
        &mut self,
        items: &[(String, Config)],
        runs: u64,
    ) -> Result<Vec<Measured>> {
        self.measure_repeats(items, 0, runs)
    }

    /// Measures configurations `runs` times each as repeats `from`, `from + 1`, …: further
    /// runs of configurations measured before (each a fresh draw of the noise), their
    /// measurements over these runs only.
    pub(super) fn measure_repeats(
        &mut self,
        items: &[(String, Config)],
        from: u64,
        runs: u64,
    ) -> Result<Vec<Measured>> {
        if cancelled() {
            bail!(
                "interrupted: determine stopped before finishing (its finished trials are journaled; run it again to resume)"
            );
        }
        let mut slots: Vec<Vec<Option<TrialRecord>>> = Vec::with_capacity(items.len());
        let mut queue: Vec<(usize, usize)> = Vec::new();
        for (n, (id, config)) in items.iter().enumerate() {
            if let Some(why) = self.study.predict_failure(config) {
                slots.push(
                    (from..from + runs)
                        .map(|r| Some(TrialRecord::skipped(id, self.rate, r, why.clone())))
                        .collect(),
                );
                continue;
            }
            let mut row = Vec::with_capacity(runs as usize);
            for repeat in from..from + runs {
                let key = self.study.trial_key(config, self.rate, repeat);
                match self.journaled.get(&key) {
                    Some(rec) => {
                        let mut rec = rec.clone();
                        rec.trial = trial_id(id, self.rate, repeat);
                        rec.config = id.clone();
                        self.resumed += 1;
                        self.bar.inc(1);
                        row.push(Some(rec));
                    }
                    None => {
                        queue.push((n, (repeat - from) as usize));
                        row.push(None);
                    }
                }
            }
            slots.push(row);
        }
        self.check_budget(queue.len())?;
        self.run_queue(items, &queue, from, &mut slots)?;
        let mut out = Vec::with_capacity(items.len());
        for row in slots {
            let recs: Vec<TrialRecord> = row.into_iter().flatten().collect();
            out.push(self.measured(&recs, runs));
            self.records.extend(recs);
        }
        Ok(out)
    }

    /// Refuses to start `queued` more trials past the budget.
    fn check_budget(&self, queued: usize) -> Result<()> {
        let after = self.spent() + queued as u64;
        if after > self.budget {
            bail!(
                "the {:?} design needs more than its budget of {} trials ({} spent, {} more \
                 asked for): raise `[determine] budget` or choose a cheaper method",
                self.study.file.determine.method,
                self.budget,
                self.spent(),
                queued
            );
        }
        Ok(())
    }

    /// Runs the queued (item, repeat − `from`) trials on the workers, journaling each as it
    /// ends and putting it into its slot.
    fn run_queue(
        &mut self,
        items: &[(String, Config)],
        queue: &[(usize, usize)],
        from: u64,
        slots: &mut [Vec<Option<TrialRecord>>],
    ) -> Result<()> {
        if queue.is_empty() {
            return Ok(());
        }
        if self.resumed > 0 {
            self.bar.reset_eta();
        }
        let trials: Vec<Trial<'_>> = queue
            .iter()
            .map(|&(n, repeat)| Trial {
                config_id: &items[n].0,
                config: &items[n].1,
                rate: self.rate,
                repeat: from + repeat as u64,
            })
            .collect();
        let (journal, bar) = (&mut self.journal, &self.bar);
        self.trials.run_parallel(&trials, self.workers, |i, rec| {
            journal.append(&rec)?;
            bar.inc(1);
            let (n, repeat) = queue[i];
            slots[n][repeat] = Some(rec);
            Ok(())
        })?;
        if cancelled() {
            bail!(
                "interrupted: determine stopped before finishing (its finished trials are \
                 journaled; run it again to resume)"
            );
        }
        Ok(())
    }

    /// A configuration's measurement from its trials.
    fn measured(&self, recs: &[TrialRecord], runs: u64) -> Measured {
        let objective = self.study.file.objective;
        let mut scores = Vec::new();
        let mut gc = Vec::new();
        let mut reason = String::new();
        for rec in recs {
            match rec.measurement() {
                Some(m) => {
                    scores.push(objective.score(objective.run_value(&m)));
                    gc.extend(rec.gc_time_fraction);
                }
                None => reason = rec.reason.clone(),
            }
        }
        let passed = scores.len() as u64 * 2 >= runs && !scores.is_empty();
        Measured {
            score: passed.then(|| median(&scores)),
            runs: scores,
            reason,
            gc: (!gc.is_empty()).then(|| median(&gc)),
        }
    }

    /// A random configuration that ran: points from `draw` that pass the pre-check are
    /// measured until one runs (at most RUNNABLE_ATTEMPTS of them; the failures are kept
    /// in `spent` so their cost shows). None when none ran.
    pub(super) fn runnable<T: Clone>(
        &mut self,
        id: &str,
        runs: u64,
        spent: &mut Vec<Measured>,
        mut draw: impl FnMut() -> (T, Config),
    ) -> Result<Option<(T, Config, Measured)>> {
        for attempt in 0..RUNNABLE_ATTEMPTS {
            let Some((t, c)) = (0..PRECHECK_DRAWS)
                .map(|_| draw())
                .find(|(_, c)| passes_precheck(self.study, c))
            else {
                return Ok(None);
            };
            let m = self.measure(&format!("{id}-a{attempt}"), &c, runs)?;
            if m.score.is_some() {
                return Ok(Some((t, c, m)));
            }
            spent.push(m);
        }
        Ok(None)
    }
}
