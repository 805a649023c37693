//! Running screening configurations: each one `repeats` times through the study's adapter at
//! the screening rate, its score the median of the passing repeats; and random
//! configurations drawn until one passes the pre-check and runs. The one place that spends
//! trials, so the trial records, their ids and the progress bar follow the order the
//! designs ask for them.

use crate::study::Study;
use crate::trial::process::cancelled;
use crate::trial::record::TrialRecord;
use crate::trial::runner::{self, Trial};
use anyhow::{Result, bail};
use flink::space::Config;
use opt::stats::median;
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

/// Runs screening configurations through the adapter.
pub(super) struct Runner<'a> {
    pub(super) study: &'a Study,
    trials: runner::Runner<'a>,
    pub(super) rate: u64,
    pub(super) records: Vec<TrialRecord>,
    pub(super) bar: indicatif::ProgressBar,
}

impl<'a> Runner<'a> {
    /// A runner whose trials go to `stage/trials`, with a progress bar of `total`
    /// configurations.
    pub(super) fn new(study: &'a Study, stage: &Path, rate: u64, total: usize) -> Result<Self> {
        let trials_dir = stage.join("trials");
        std::fs::create_dir_all(&trials_dir)?;
        Ok(Runner {
            study,
            trials: runner::Runner::new(study, trials_dir),
            rate,
            records: Vec::new(),
            bar: crate::progress::bar(total as u64, "determine"),
        })
    }

    pub(super) fn measure(&mut self, id: &str, config: &Config, runs: u64) -> Result<Measured> {
        if cancelled() {
            bail!("interrupted: determine stopped before finishing (nothing was written)");
        }
        let objective = self.study.file.objective;
        if let Some(why) = self.study.predict_failure(config) {
            return Ok(self.skip(id, runs, why));
        }
        let mut scores = Vec::new();
        let mut reason = String::new();
        for repeat in 0..runs {
            let trial = Trial {
                config_id: id,
                config,
                rate: self.rate,
                repeat,
            };
            let rec = self.trials.run(trial, 0)?;
            match rec.measurement() {
                Some(m) => scores.push(objective.score(objective.run_value(&m))),
                None => reason = rec.reason.clone(),
            }
            self.records.push(rec);
        }
        self.bar.inc(1);
        let passed = scores.len() as u64 * 2 >= runs;
        Ok(Measured {
            score: passed.then(|| median(&scores)),
            runs: scores,
            reason,
        })
    }

    /// A configuration the pre-check refuses: its repeats recorded as skipped, none run.
    fn skip(&mut self, id: &str, runs: u64, why: String) -> Measured {
        for repeat in 0..runs {
            let rec = TrialRecord::skipped(id, self.rate, repeat, why.clone());
            self.records.push(rec);
        }
        self.bar.inc(1);
        Measured {
            score: None,
            runs: vec![],
            reason: why,
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
