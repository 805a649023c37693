//! The determine stage's `run` as a sequence of named steps: plan what to measure; measure
//! the reference and each method's design, in this order (so the trials, their ids and the
//! random draws are always the same for a seed); score what could not run against the worst
//! that ran; take the noise of one score; each method's effects; the selection; the
//! artifacts. The one module that uses all the others.

use crate::fsx::{self, StageDir};
use crate::stages::determine::forest::{self, ForestRuns};
use crate::stages::determine::groups;
use crate::stages::determine::measure::{Measured, Runner};
use crate::stages::determine::morris::{self, MorrisRuns};
use crate::stages::determine::oat::{self, OAT_RANDOM_BASES, OatRuns};
use crate::stages::determine::select::{self, MethodResult};
use crate::stages::determine::sobol::{self, SobolRuns};
use crate::stages::determine::summary::{DetermineSummary, EffectRow};
use crate::stages::determine::write;
use crate::study::seed::{Purpose, derive};
use crate::study::{ScreeningMethod, Stage, Study};
use anyhow::{Result, bail};
use flink::precheck;
use flink::space::Value;
use rand::SeedableRng;
use rand::rngs::StdRng;
use std::time::Instant;

/// A failing configuration scores this much (ln 10) below the worst that ran.
const FAIL_PENALTY: f64 = std::f64::consts::LN_10;
/// Runs of the reference configuration that measure the noise (at least).
const NOISE_RUNS: u64 = 6;
/// The smallest design the sobol method fits its GP on.
const MIN_DESIGN: usize = 30;
/// The regression methods' configurations per effect they fit, at least: twice as many
/// as keys leaves the residuals degrees of freedom for a bound over all of them.
const REGRESSION_ROWS: usize = 2;

/// Options of the stage.
#[derive(Clone, Copy, Debug)]
pub struct DetermineOptions {
    /// Trials run at once, each with its own `FLINKTUNE_WORKER`.
    pub workers: usize,
    /// Discard an interrupted run instead of resuming it.
    pub restart: bool,
}

impl Default for DetermineOptions {
    fn default() -> Self {
        DetermineOptions {
            workers: 1,
            restart: false,
        }
    }
}

/// The screening ran and no key's effect rose above the noise floor: a result (nothing to
/// select), told apart from a failure of the run by its type.
#[derive(Debug)]
pub struct NothingSelected {
    pub rate: u64,
    /// The stage's measurements, kept (the stage stays resumable).
    pub measurements: std::path::PathBuf,
}

impl std::fmt::Display for NothingSelected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "no parameter's effect rose above the noise floor at {} records/s; nothing to \
             select (see the measurements in {})",
            self.rate,
            self.measurements.display()
        )
    }
}

impl std::error::Error for NothingSelected {}

/// Runs the stage: resumes an interrupted run (its journaled trials are not run again)
/// unless `restart`.
pub fn run(study: &Study, opts: DetermineOptions) -> Result<DetermineSummary> {
    let started = Instant::now();
    let cfg = &study.file.determine;
    let plan = Plan::of(study);
    plan.check_budget(cfg.budget, study.space.len())?;
    let stage = match opts.restart {
        true => StageDir::begin(&study.dir, Stage::Determine.name())?,
        false => StageDir::resume(&study.dir, Stage::Determine.name())?,
    };
    let mut runner = Runner::new(study, &stage.path, plan.rate, plan.trials, opts.workers)?;
    let measured = measure(&mut runner, &plan)?;
    runner.bar.finish_and_clear();
    let fail_score = fail_score(&measured, plan.rate)?;
    let noise_sd = select::score_noise(&measured.noise_groups(), cfg.repeats);
    let (mut rows, results, floors) = effects(study, &plan, &measured, fail_score, noise_sd)?;
    let top_k = cfg.top_k.map(|k| k as usize);
    let threshold = plan.threshold(cfg.threshold);
    let order = select::choose(&results, threshold, top_k, &mut rows);
    if !rows.iter().any(|r| r.selected) {
        return Err(NothingSelected {
            rate: plan.rate,
            measurements: stage.path.clone(),
        }
        .into());
    }
    let rule = select::rule_text(plan.method, threshold, top_k);

    // Artifacts.
    let dir = &stage.path;
    write::write_tables(dir, &runner.records, &rows, &order)?;
    write::write_selected(study, &rows, &rule, &dir.join("selected.toml"))?;
    let threshold_line =
        (top_k.is_none() && results.len() == 1 && threshold > 0.0).then_some(threshold);
    let figure = dir.join("effects.svg");
    write::write_figure(
        &figure,
        plan.method,
        &rows,
        &order,
        &results,
        threshold_line,
    )?;
    let mut summary = summary(&runner, &plan, &measured, &rows, rule, &floors, started);
    summary.workers = opts.workers.max(1);
    std::fs::write(
        dir.join("report.md"),
        write::report_md(&summary, &rows, &order),
    )?;
    study.record_inputs(Stage::Determine, None, dir)?;
    fsx::write_json(&dir.join("summary.json"), &summary)?;
    stage.commit()?;
    Ok(summary)
}

/// What the study asks the stage to measure.
struct Plan {
    method: ScreeningMethod,
    oat: bool,
    morris: bool,
    forest: bool,
    sobol: bool,
    /// The screening rate: `[determine] rate`, else the search rate.
    rate: u64,
    /// Per parameter, the values of the one-at-a-time sweep.
    oat_values: Vec<Vec<Value>>,
    /// Configurations of the space-filling design (forest: `samples`; sobol: as many as
    /// the budget pays for).
    design: usize,
    /// The trials the plan runs (an estimate for the adaptive designs: OAT levels equal
    /// to a base's value are not run, Morris steps are retried).
    trials: u64,
}

impl Plan {
    fn of(study: &Study) -> Plan {
        let cfg = &study.file.determine;
        let rate = cfg.rate.unwrap_or_else(|| study.search_rate());
        let method = cfg.method;
        let (oat, morris, forest, sobol) = match method {
            ScreeningMethod::Sobol => (false, false, false, true),
            ScreeningMethod::Oat => (true, false, false, false),
            ScreeningMethod::Morris => (false, true, false, false),
            ScreeningMethod::Forest => (false, false, true, false),
            ScreeningMethod::All => (true, true, true, false),
            ScreeningMethod::Factorial | ScreeningMethod::Groups => (false, false, false, true),
        };
        let levels = cfg.levels as usize;
        let oat_values = study
            .space
            .params
            .iter()
            .map(|p| oat::sweep_values(p, levels))
            .collect();
        let design = match sobol {
            true => (cfg.budget / cfg.repeats) as usize,
            false => cfg.samples as usize,
        };
        let mut plan = Plan {
            method,
            oat,
            morris,
            forest,
            sobol,
            rate,
            oat_values,
            design,
            trials: 0,
        };
        plan.trials = plan.estimate(study);
        plan
    }

    /// The trials the plan runs: its configurations × repeats, and the reference's and
    /// the OAT bases' noise runs.
    fn estimate(&self, study: &Study) -> u64 {
        let cfg = &study.file.determine;
        let k = study.space.len();
        let noise_runs = (2 * cfg.repeats).max(NOISE_RUNS) as usize;
        let bases = 1 + OAT_RANDOM_BASES;
        let reference = if self.sobol { 0 } else { noise_runs };
        let configs = if self.oat {
            bases * self.oat_values.iter().map(Vec::len).sum::<usize>()
        } else {
            0
        } + if self.morris {
            cfg.trajectories as usize * (k + 1)
        } else {
            0
        } + if self.forest || self.sobol {
            self.design
        } else {
            0
        };
        let bases = if self.oat {
            OAT_RANDOM_BASES * noise_runs
        } else {
            0
        };
        (reference + bases + configs * cfg.repeats as usize) as u64
    }

    /// Refuses a plan the budget cannot pay for before anything runs.
    fn check_budget(&self, budget: u64, keys: usize) -> Result<()> {
        let regression = matches!(
            self.method,
            ScreeningMethod::Groups | ScreeningMethod::Factorial
        );
        let rows = REGRESSION_ROWS * (keys + 1);
        if regression && self.design < rows {
            bail!(
                "[determine] budget = {budget} pays for {} configurations; the {} method reads \
                 every key's effect by one regression and needs at least {rows} for {keys} keys \
                 (raise the budget, or use method = \"sobol\")",
                self.design,
                format!("{:?}", self.method).to_lowercase()
            );
        }
        if self.sobol && self.design < MIN_DESIGN {
            bail!(
                "[determine] budget = {budget} with repeats = {} pays for {} configurations; \
                 the {} method needs at least {MIN_DESIGN}",
                (budget / self.design.max(1) as u64).max(1),
                self.design,
                format!("{:?}", self.method).to_lowercase()
            );
        }
        if self.trials > budget {
            bail!(
                "the {:?} screening plans about {} trials, more than [determine] budget = \
                 {budget}: raise the budget, or use method = \"groups\" (the default), which \
                 fits its design to the budget",
                self.method,
                self.trials
            );
        }
        Ok(())
    }

    /// The selection's threshold: the study's, else 0 for sobol (its probe floor and the
    /// 1% minimum effect decide) and 0.05 for the others.
    fn threshold(&self, set: Option<f64>) -> f64 {
        set.unwrap_or(if self.sobol { 0.0 } else { 0.05 })
    }
}

/// Everything the stage measured.
struct Measurements {
    /// The reference configuration, measured often enough to estimate the noise of one
    /// score (not by sobol alone, whose probes give its floor).
    reference: Option<Measured>,
    oat: Option<OatRuns>,
    morris: Option<MorrisRuns>,
    forest: Option<ForestRuns>,
    sobol: Option<SobolRuns>,
    /// Configurations that cost runs but gave no effect (failed random starts and bases).
    spent: Vec<Measured>,
}

impl Measurements {
    /// Every configuration measured once: the reference, the random OAT bases, the OAT
    /// levels, the Morris points, the forest's design, the spent draws.
    fn all(&self) -> impl Iterator<Item = &Measured> {
        let oat = self.oat.iter();
        self.reference
            .iter()
            .chain(
                oat.clone()
                    .flat_map(|o| o.bases.iter().skip(1).map(|(_, m)| m)),
            )
            .chain(oat.flat_map(|o| o.levels.iter().flatten().flatten().map(|(_, m)| m)))
            .chain(self.morris.iter().flat_map(|r| r.measured.iter()))
            .chain(self.forest.iter().flat_map(|r| r.measured.iter()))
            .chain(
                self.sobol
                    .iter()
                    .flat_map(|r| r.phases.iter().flat_map(|p| p.runs.measured.iter())),
            )
            .chain(
                self.sobol
                    .iter()
                    .flat_map(|r| r.groups.iter().flat_map(|g| g.configurations())),
            )
            .chain(self.spent.iter())
    }

    /// The noise of one score the summary reports: the groups' (pairs of runs of one
    /// configuration, as their confirmations judge), else `score_noise`'s when the reference
    /// was measured repeatedly; None when nothing was run twice.
    fn run_noise(&self, score_noise: f64) -> Option<f64> {
        match self.sobol.as_ref().and_then(|s| s.groups.as_ref()) {
            Some(g) => groups::run_noise(g),
            None => (!self.noise_groups().is_empty()).then_some(score_noise),
        }
    }

    /// The repeated runs the noise is pooled over: the reference's and the random OAT
    /// bases'.
    fn noise_groups(&self) -> Vec<&[f64]> {
        let mut groups: Vec<&[f64]> = self.reference.iter().map(|r| r.runs.as_slice()).collect();
        if let Some(o) = &self.oat {
            groups.extend(o.bases.iter().skip(1).map(|(_, m)| m.runs.as_slice()));
        }
        groups
    }
}

/// Measures the reference, then each method's design in the order oat, morris, forest
/// (or sobol's, the same design).
fn measure(runner: &mut Runner<'_>, plan: &Plan) -> Result<Measurements> {
    let study = runner.study;
    let cfg = &study.file.determine;
    let mut rng = StdRng::seed_from_u64(derive(study.file.seed, Purpose::Determine));
    let mut spent: Vec<Measured> = Vec::new();
    let reference = oat::reference_config(&study.space);
    let noise_runs = (2 * cfg.repeats).max(NOISE_RUNS);
    let ref_m = match plan.oat || plan.morris || plan.forest {
        true => Some(runner.measure("ref", &reference, noise_runs)?),
        false => None,
    };
    let oat = match (plan.oat, &ref_m) {
        (true, Some(ref_m)) => {
            let values = &plan.oat_values;
            let reference = &reference;
            Some(oat::measure(
                runner, values, reference, ref_m, noise_runs, &mut spent, &mut rng,
            )?)
        }
        _ => None,
    };
    let morris = if plan.morris {
        Some(morris::measure(
            runner,
            cfg.trajectories as usize,
            &mut spent,
        )?)
    } else {
        None
    };
    let forest = if plan.forest {
        let design = forest::Design {
            samples: plan.design,
            tag: "rf",
            salt: 0,
            fixed: &[],
            opening: forest::Opening::Spread,
        };
        Some(forest::measure(runner, &design)?)
    } else {
        None
    };
    let sobol = match plan.sobol {
        true => Some(match plan.method {
            ScreeningMethod::Groups => sobol::measure_groups(runner, plan.design)?,
            ScreeningMethod::Factorial => {
                sobol::measure(runner, plan.design, sobol::Reading::Regression)?
            }
            _ => sobol::measure(runner, plan.design, sobol::Reading::Gp)?,
        }),
        false => None,
    };
    Ok(Measurements {
        reference: ref_m,
        oat,
        morris,
        forest,
        sobol,
        spent,
    })
}

/// What a configuration that could not run scores: FAIL_PENALTY below the worst that ran.
/// Fails, with the grouped failure reasons, when nothing ran.
fn fail_score(measured: &Measurements, rate: u64) -> Result<f64> {
    let worst = measured
        .all()
        .filter_map(|m| m.score)
        .fold(f64::INFINITY, f64::min);
    if !worst.is_finite() {
        let reasons = precheck::group_reasons(measured.all().map(|m| m.reason.as_str()));
        bail!(
            "no screening configuration ran at {rate} records/s; failure reasons: {}",
            crate::stages::reasons::one_line(&reasons)
        );
    }
    Ok(worst - FAIL_PENALTY)
}

/// The noise of one score and the noise floor each method reports.
struct Floors {
    noise_sd: f64,
    oat: Option<f64>,
    morris: Option<f64>,
    forest: Option<f64>,
    sobol: Option<f64>,
}

/// Each measured method's effects, in the order oat, morris, forest: the rows (one per
/// parameter) with their columns filled, the methods' results and their floors.
fn effects(
    study: &Study,
    plan: &Plan,
    measured: &Measurements,
    fail_score: f64,
    noise_sd: f64,
) -> Result<(Vec<EffectRow>, Vec<MethodResult>, Floors)> {
    let repeats = study.file.determine.repeats;
    let mut rows: Vec<EffectRow> = study
        .space
        .params
        .iter()
        .map(|p| EffectRow {
            param: p.name.clone(),
            ..EffectRow::default()
        })
        .collect();
    let mut results = Vec::new();
    let mut floors = Floors {
        noise_sd,
        oat: None,
        morris: None,
        forest: None,
        sobol: None,
    };
    if let Some(runs) = &measured.oat {
        let values = &plan.oat_values;
        let (r, floor) = oat::effects(runs, values, repeats, fail_score, noise_sd, &mut rows);
        floors.oat = Some(floor);
        results.push(r);
    }
    if let Some(runs) = &measured.morris {
        let (r, floor) = morris::effects(runs, noise_sd, &mut rows);
        floors.morris = Some(floor);
        results.push(r);
    }
    if let Some(runs) = &measured.forest {
        let (r, floor) = forest::effects(runs, &study.space, study.file.seed, &mut rows)?;
        floors.forest = Some(floor);
        results.push(r);
    }
    if let Some(runs) = &measured.sobol {
        let found = sobol::effects(study, runs, &mut rows)?;
        floors.sobol = Some(found.floor);
        results.push(found.result);
    }
    Ok((rows, results, floors))
}

/// The stage's summary (its seconds counted from `started` to now).
fn summary(
    runner: &Runner<'_>,
    plan: &Plan,
    measured: &Measurements,
    rows: &[EffectRow],
    rule: String,
    floors: &Floors,
    started: Instant,
) -> DetermineSummary {
    let study = runner.study;
    let names = |selected: bool| -> Vec<String> {
        rows.iter()
            .filter(|r| r.selected == selected)
            .map(|r| r.param.clone())
            .collect()
    };
    let flagged = |flag: fn(&EffectRow) -> bool| -> Vec<String> {
        rows.iter()
            .filter(|r| flag(r))
            .map(|r| r.param.clone())
            .collect()
    };
    DetermineSummary {
        method: plan.method,
        objective: study.file.objective,
        rate: plan.rate,
        repeats: study.file.determine.repeats,
        candidates: study.space.len(),
        absent: study.absent.clone(),
        selected: names(true),
        unselected: names(false),
        rule,
        configurations: measured.all().count(),
        trials: runner.records.len(),
        failed_configurations: measured.all().filter(|m| m.score.is_none()).count(),
        reference_score: measured
            .reference
            .as_ref()
            .and_then(|r| r.first_repeats(study.file.determine.repeats)),
        noise_sd: measured.run_noise(floors.noise_sd),
        oat_bases: measured.oat.as_ref().map(|o| o.bases.len()),
        noise_floor_oat: floors.oat,
        noise_floor_morris: floors.morris,
        noise_floor_forest: floors.forest,
        noise_floor_sobol: floors.sobol,
        not_judged: flagged(|r| r.judged == Some(false)),
        decides_run: flagged(|r| r.decides_run == Some(true)),
        budget: study.file.determine.budget,
        workers: 1,
        resumed: runner.resumed,
        seconds: started.elapsed().as_secs_f64(),
    }
}
