//! The determine stage's `run` as a sequence of named steps: plan what to measure; measure
//! the reference and each method's design, in this order (so the trials, their ids and the
//! random draws are always the same for a seed); score what could not run against the worst
//! that ran; take the noise of one score; each method's effects; the selection; the
//! artifacts. The one module that uses all the others.

use crate::fsx::{self, StageDir};
use crate::stages::determine::forest::{self, ForestRuns};
use crate::stages::determine::measure::{Measured, Runner};
use crate::stages::determine::morris::{self, MorrisRuns};
use crate::stages::determine::oat::{self, OAT_RANDOM_BASES, OatRuns};
use crate::stages::determine::select::{self, MethodResult};
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

/// Runs the stage.
pub fn run(study: &Study) -> Result<DetermineSummary> {
    let started = Instant::now();
    let cfg = &study.file.determine;
    let plan = Plan::of(study);
    let stage = StageDir::begin(&study.dir, Stage::Determine.name())?;
    let mut runner = Runner::new(study, &stage.path, plan.rate, plan.total(study))?;
    let measured = measure(&mut runner, &plan)?;
    runner.bar.finish_and_clear();
    let fail_score = fail_score(&measured, plan.rate)?;
    let noise_sd = select::score_noise(&measured.noise_groups(), cfg.repeats);
    let (mut rows, results, floors) = effects(study, &plan, &measured, fail_score, noise_sd)?;
    let top_k = cfg.top_k.map(|k| k as usize);
    let order = select::choose(&results, cfg.threshold, top_k, &mut rows);
    if !rows.iter().any(|r| r.selected) {
        bail!(
            "no parameter's effect rose above the noise floor at {} records/s; \
             nothing to select (see the measurements in {})",
            plan.rate,
            stage.path.display()
        );
    }
    let rule = select::rule_text(plan.method, cfg.threshold, top_k);

    // Artifacts.
    let dir = &stage.path;
    write::write_tables(dir, &runner.records, &rows, &order)?;
    write::write_selected(study, &rows, &rule, &dir.join("selected.toml"))?;
    let threshold_line = (top_k.is_none() && results.len() == 1).then_some(cfg.threshold);
    let figure = dir.join("effects.svg");
    write::write_figure(
        &figure,
        plan.method,
        &rows,
        &order,
        &results,
        threshold_line,
    )?;
    let summary = summary(&runner, &plan, &measured, &rows, rule, &floors, started);
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
    /// The screening rate: `[determine] rate`, else the search rate.
    rate: u64,
    /// Per parameter, the values of the one-at-a-time sweep.
    oat_values: Vec<Vec<Value>>,
}

impl Plan {
    fn of(study: &Study) -> Plan {
        let cfg = &study.file.determine;
        let rate = cfg.rate.unwrap_or_else(|| study.search_rate());
        let method = cfg.method;
        let (oat, morris, forest) = match method {
            ScreeningMethod::Oat => (true, false, false),
            ScreeningMethod::Morris => (false, true, false),
            ScreeningMethod::Forest => (false, false, true),
            ScreeningMethod::All => (true, true, true),
        };
        let levels = cfg.levels as usize;
        let oat_values = study
            .space
            .params
            .iter()
            .map(|p| oat::sweep_values(p, levels))
            .collect();
        Plan {
            method,
            oat,
            morris,
            forest,
            rate,
            oat_values,
        }
    }

    /// An estimate of the configurations to run, for the progress bar (levels equal to a
    /// base's value are not run).
    fn total(&self, study: &Study) -> usize {
        let cfg = &study.file.determine;
        let k = study.space.len();
        let bases = 1 + OAT_RANDOM_BASES;
        1 + if self.oat {
            bases * self.oat_values.iter().map(Vec::len).sum::<usize>()
        } else {
            0
        } + if self.morris {
            cfg.trajectories as usize * (k + 1)
        } else {
            0
        } + if self.forest { cfg.samples as usize } else { 0 }
    }
}

/// Everything the stage measured.
struct Measurements {
    /// The reference configuration, measured often enough to estimate the noise of one score.
    reference: Measured,
    oat: Option<OatRuns>,
    morris: Option<MorrisRuns>,
    forest: Option<ForestRuns>,
    /// Configurations that cost runs but gave no effect (failed random starts and bases).
    spent: Vec<Measured>,
}

impl Measurements {
    /// Every configuration measured once: the reference, the random OAT bases, the OAT
    /// levels, the Morris points, the forest's design, the spent draws.
    fn all(&self) -> impl Iterator<Item = &Measured> {
        let oat = self.oat.iter();
        std::iter::once(&self.reference)
            .chain(
                oat.clone()
                    .flat_map(|o| o.bases.iter().skip(1).map(|(_, m)| m)),
            )
            .chain(oat.flat_map(|o| o.levels.iter().flatten().flatten().map(|(_, m)| m)))
            .chain(self.morris.iter().flat_map(|r| r.measured.iter()))
            .chain(self.forest.iter().flat_map(|r| r.measured.iter()))
            .chain(self.spent.iter())
    }

    /// The repeated runs the noise is pooled over: the reference's and the random OAT
    /// bases'.
    fn noise_groups(&self) -> Vec<&[f64]> {
        let mut groups: Vec<&[f64]> = vec![&self.reference.runs];
        if let Some(o) = &self.oat {
            groups.extend(o.bases.iter().skip(1).map(|(_, m)| m.runs.as_slice()));
        }
        groups
    }
}

/// Measures the reference, then each method's design in the order oat, morris, forest.
fn measure(runner: &mut Runner<'_>, plan: &Plan) -> Result<Measurements> {
    let study = runner.study;
    let cfg = &study.file.determine;
    let mut rng = StdRng::seed_from_u64(derive(study.file.seed, Purpose::Determine));
    let mut spent: Vec<Measured> = Vec::new();
    let reference = oat::reference_config(&study.space);
    let noise_runs = (2 * cfg.repeats).max(NOISE_RUNS);
    let ref_m = runner.measure("ref", &reference, noise_runs)?;
    let oat = if plan.oat {
        let values = &plan.oat_values;
        let (reference, ref_m) = (&reference, &ref_m);
        Some(oat::measure(
            runner, values, reference, ref_m, noise_runs, &mut spent, &mut rng,
        )?)
    } else {
        None
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
        Some(forest::measure(runner, cfg.samples as usize)?)
    } else {
        None
    };
    Ok(Measurements {
        reference: ref_m,
        oat,
        morris,
        forest,
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
            .first_repeats(study.file.determine.repeats),
        noise_sd: floors.noise_sd,
        oat_bases: measured.oat.as_ref().map(|o| o.bases.len()),
        noise_floor_oat: floors.oat,
        noise_floor_morris: floors.morris,
        noise_floor_forest: floors.forest,
        seconds: started.elapsed().as_secs_f64(),
    }
}
