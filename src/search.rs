//! The search stage: Bayesian optimisation (a Matérn-5/2 Gaussian process with Expected
//! Improvement, see `bo` and `gp`) over the fitted performance model at one input rate.
//!
//! Each parameter becomes a variable of the optimiser's domain: floats and wide integer
//! ranges are continuous (rounding a 40 960-level memory size changes nothing), narrower
//! integers are grids of their exact values on the unit scale (so log-scale integers like
//! slots keep their true spacing), bools and enums are one-hot categoricals. The GP sees
//! and the acquisition is evaluated at those projected points, so discrete parameters are
//! handled inside the optimisation, not rounded at the end.
//!
//! Configurations the feasibility forest predicts to fail (P(run) < 0.5) are told to the
//! optimiser as one e-fold worse than the worst score seen, steering it away from them.
//!
//! Artifacts (`search/`): `history.csv` (every iteration), `best/conf/…` and
//! `best/config.json` (the best configuration as a complete Flink conf directory),
//! `summary.json`.

use crate::bo::{BayesOpt, BoOptions, Domain, Var};
use crate::fsx::{self, StageDir};
use crate::model::{self, PerfModel};
use crate::objective::Objective;
use crate::space::{Config, Kind, Space, Value};
use crate::study::{Stage, Study};
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// Integer parameters with more levels than this are searched as continuous.
const MAX_GRID: u64 = 512;

/// The optimiser's domain for a space.
pub fn domain(space: &Space) -> Domain {
    let vars = space
        .params
        .iter()
        .map(|p| match (p.kind, p.levels()) {
            (Kind::Bool, _) => Var::Categorical { choices: 2 },
            (Kind::Enum, _) => Var::Categorical {
                choices: p.values.len() as u32,
            },
            (Kind::Int, Some(levels)) if levels <= MAX_GRID => Var::Grid {
                points: p
                    .int_values()
                    .unwrap_or_default()
                    .into_iter()
                    .map(|v| p.to_unit(&Value::Int(v)))
                    .collect(),
            },
            _ => Var::Continuous,
        })
        .collect();
    Domain { vars }
}

/// The configuration at a (projected) point of the domain.
pub fn decode(space: &Space, domain: &Domain, z: &[f64]) -> Config {
    let mut at = 0;
    space
        .params
        .iter()
        .zip(&domain.vars)
        .map(|(p, var)| {
            let value = match var {
                Var::Categorical { choices } => {
                    let k = *choices as usize;
                    let slice = &z[at..at + k];
                    let i = (0..k)
                        .max_by(|&a, &b| slice[a].total_cmp(&slice[b]))
                        .unwrap_or(0);
                    at += k;
                    match p.kind {
                        Kind::Bool => Value::Bool(i == 1),
                        _ => Value::Str(p.values[i].clone()),
                    }
                }
                _ => {
                    at += 1;
                    p.from_unit(z[at - 1])
                }
            };
            Some(value)
        })
        .collect()
}

/// One iteration of the search.
#[derive(Clone, Debug)]
pub struct Step {
    pub config: Config,
    pub initial: bool,
    /// The acquisition value and the GP's posterior at the point (None in the
    /// space-filling initial design).
    pub acquisition: Option<f64>,
    pub gp_mean: Option<f64>,
    pub gp_std: Option<f64>,
    /// Predicted perf and probability of running.
    pub perf: f64,
    pub p_pass: f64,
    /// What the optimiser was told (log-scale score, penalised when predicted to fail).
    pub value: f64,
}

/// BO over a performance model at one rate: returns every step.
pub fn optimise_model(
    space: &Space,
    model: &PerfModel,
    rate: u64,
    budget: usize,
    initial: usize,
    seed: u64,
    mut on_step: impl FnMut(&Step),
) -> Result<Vec<Step>> {
    let domain = domain(space);
    let mut bo = BayesOpt::new(
        domain.clone(),
        BoOptions {
            initial,
            seed,
            ..BoOptions::default()
        },
    )?;
    let mut steps: Vec<Step> = Vec::with_capacity(budget);
    for _ in 0..budget {
        let s = bo.ask()?;
        let config = decode(space, &domain, &s.x);
        let row = vec![model::features(space, &config, rate)];
        let score = model.predict_score(&row)?[0];
        let p_pass = model.predict_pass(&row)?[0];
        let value = if p_pass >= 0.5 {
            score
        } else {
            let worst = steps.iter().map(|s| s.value).fold(score, f64::min);
            worst - 1.0
        };
        bo.tell(s.x.clone(), value)?;
        let step = Step {
            config,
            initial: s.initial,
            acquisition: s.acquisition,
            gp_mean: s.mean,
            gp_std: s.std,
            perf: model.objective.perf_of_score(score),
            p_pass,
            value,
        };
        on_step(&step);
        steps.push(step);
    }
    Ok(steps)
}

/// What the stage found.
#[derive(Debug, Serialize, Deserialize)]
pub struct SearchSummary {
    pub objective: Objective,
    pub rate: u64,
    pub budget: usize,
    pub initial: usize,
    pub best_iteration: usize,
    pub predicted_best: f64,
    pub predicted_default: f64,
    pub predicted_speedup: f64,
    pub best_p_pass: f64,
    pub best: serde_json::Value,
    pub seconds: f64,
}

/// Runs the stage.
pub fn run(study: &Study) -> Result<SearchSummary> {
    let model = model::load(study)?;
    let space = &study.space;
    let rate = study.search_rate();
    let budget = study.file.search.budget as usize;
    let initial = study.file.search.initial as usize;
    let started = Instant::now();
    let bar = crate::progress::bar(budget as u64, "search");
    let mut best_so_far = f64::NEG_INFINITY;
    let steps = optimise_model(space, &model, rate, budget, initial, study.file.seed, |s| {
        if s.p_pass >= 0.5 {
            best_so_far = best_so_far.max(s.value);
        }
        bar.set_message(format!(
            "best {:.4}",
            model.objective.perf_of_score(best_so_far)
        ));
        bar.inc(1);
    })?;
    bar.finish_and_clear();

    let (best_iteration, best) = steps
        .iter()
        .enumerate()
        .filter(|(_, s)| s.p_pass >= 0.5)
        .max_by(|a, b| a.1.value.total_cmp(&b.1.value))
        .or_else(|| {
            steps
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.p_pass.total_cmp(&b.1.p_pass))
        })
        .context("the search made no evaluation")?;
    let default_row = vec![model::features(space, &space.default_config(), rate)];
    let predicted_default = model.predict_perf(&default_row)?[0];

    let stage = StageDir::begin(&study.dir, Stage::Search.name())?;
    write_history(
        &stage.path.join("history.csv"),
        space,
        model.objective,
        &steps,
    )?;
    study.write_config_dir(
        &best.config,
        &stage.path.join("best"),
        &format!(
            "flinktune: best configuration for {} rec/s (predicted {} = {:.4})",
            rate, model.objective, best.perf
        ),
    )?;
    let summary = SearchSummary {
        objective: model.objective,
        rate,
        budget,
        initial,
        best_iteration,
        predicted_best: best.perf,
        predicted_default,
        predicted_speedup: model.objective.speedup(best.perf, predicted_default),
        best_p_pass: best.p_pass,
        best: space.to_json(&best.config),
        seconds: started.elapsed().as_secs_f64(),
    };
    fsx::write_json(&stage.path.join("summary.json"), &summary)?;
    stage.commit()?;
    Ok(summary)
}

fn write_history(
    path: &std::path::Path,
    space: &Space,
    objective: Objective,
    steps: &[Step],
) -> Result<()> {
    let mut table = csv::Writer::from_path(path)?;
    let mut header: Vec<String> = [
        "iteration",
        "phase",
        "acquisition",
        "gp_mean",
        "gp_std",
        "predicted_perf",
        "p_pass",
        "best_perf_so_far",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    header.extend(space.params.iter().map(|p| p.name.clone()));
    table.write_record(&header)?;
    let mut best = f64::NEG_INFINITY;
    for (i, s) in steps.iter().enumerate() {
        if s.p_pass >= 0.5 {
            best = best.max(s.value);
        }
        let mut row = vec![
            i.to_string(),
            if s.initial { "initial" } else { "bo" }.to_string(),
            opt(s.acquisition),
            opt(s.gp_mean),
            opt(s.gp_std),
            s.perf.to_string(),
            s.p_pass.to_string(),
            if best.is_finite() {
                objective.perf_of_score(best).to_string()
            } else {
                String::new()
            },
        ];
        row.extend(
            s.config
                .iter()
                .map(|v| v.as_ref().map(|v| v.to_string()).unwrap_or_default()),
        );
        table.write_record(&row)?;
    }
    table.flush()?;
    Ok(())
}

fn opt(x: Option<f64>) -> String {
    x.map(|v| v.to_string()).unwrap_or_default()
}

/// The best configuration of the finished search stage.
pub fn read_best(study: &Study) -> Result<(Config, SearchSummary)> {
    let dir = study.require(Stage::Search)?;
    let config = study.read_config_json(&dir.join("best").join("config.json"))?;
    let summary: SearchSummary = fsx::read_json(&dir.join("summary.json"))?;
    Ok((config, summary))
}

/// A human summary.
pub fn describe(s: &SearchSummary) -> String {
    format!(
        "searched the model at {} rec/s with {} evaluations ({} initial) in {:.1} s: \
         best predicted {} {:.4} vs default {:.4} ({:.2}x)\n",
        s.rate,
        s.budget,
        s.initial,
        s.seconds,
        s.objective,
        s.predicted_best,
        s.predicted_default,
        s.predicted_speedup
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn space() -> Space {
        let text = include_str!("../configs/flink-1.11-key-params.toml");
        Space::from_catalogue_text(text, "t").unwrap().1
    }

    #[test]
    fn decoding_any_point_gives_a_valid_configuration() {
        let s = space();
        let d = domain(&s);
        use rand::{RngExt, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        for _ in 0..200 {
            let z: Vec<f64> = (0..d.dims()).map(|_| rng.random::<f64>()).collect();
            let config = decode(&s, &d, &d.project(&z));
            for (p, v) in s.params.iter().zip(&config) {
                p.check_value(v.as_ref().unwrap()).unwrap();
            }
        }
    }

    #[test]
    fn grids_hold_the_exact_integer_positions() {
        let s = space();
        let d = domain(&s);
        let i = s.index_of("taskmanager.numberOfTaskSlots").unwrap();
        let Var::Grid { points } = &d.vars[i] else {
            panic!("slots should be a grid")
        };
        assert_eq!(points.len(), 16);
        // Log scale: 1→2 is as far as 8→16.
        assert!(((points[1] - points[0]) - (points[15] - points[7])).abs() < 1e-12);
        let c = s.index_of("execution.checkpointing.interval").unwrap();
        assert!(matches!(d.vars[c], Var::Continuous));
    }
}
