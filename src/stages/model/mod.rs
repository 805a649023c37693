//! The model stage: a random-forest performance model `perf = f(config, input rate)`
//! fitted on the collected trials, with its accuracy measured as MAPE on held-out
//! configurations, and a second forest estimating the probability that a configuration
//! runs at all (trained on PassConf / FailConf).
//!
//! The performance forest is fitted on the objective's log-scale score (see
//! `objective`): perf spans decades (a saturated job's p99 is seconds, a tuned one's a
//! few ms), and trees fitted on the raw values spend their splits on the extremes.
//! MAPE is reported on the perf scale, as in the paper.
//!
//! Artifacts (`model/`): `model.json` (both forests, reloaded by `search`),
//! `test_predictions.csv`, `report.md` and `summary.json`.

mod check;
mod dataset;
mod forest;
mod perf;
pub mod regressors;
mod report;
mod summary;

pub use dataset::{Dataset, RATE_FEATURE, feature_names, features, split_by_config};
pub use forest::{TREES, fit_forest};
pub use perf::{PESSIMISM, PerfModel};
pub use report::describe;
pub use summary::{ModelSummary, choose_saved};

use crate::fsx::{self, StageDir};
use crate::stages::collect::{self};
use crate::stages::generate;
use crate::study::regressor::Regressor;
use crate::study::{Stage, Study};
use anyhow::{Result, bail};
use std::collections::BTreeSet;
use std::path::Path;

/// Fewer configurations that ran than this cannot make a model.
const MIN_CONFIGS: usize = 5;

/// Runs the stage.
pub fn run(study: &Study) -> Result<ModelSummary> {
    let objective = study.file.objective;
    let (data, pass) = dataset(study)?;
    let seed = study.file.seed;
    let (train, test) = split_by_config(&data.configs, &pass, seed);
    let folds = study.file.model.folds.unwrap_or(5) as usize;
    let comparison = regressors::compare(&data, objective, &train, &test, folds, seed)?;
    let (saved, why) = choose_saved(&comparison, study.file.model.regressor);
    let chosen = most_accurate(&comparison).unwrap_or(saved);
    let (_, _, predicted) = regressors::evaluate(saved, &data, objective, &train, &test, seed)?;
    let actual: Vec<f64> = test
        .iter()
        .map(|&i| data.perf[i].unwrap_or_default())
        .collect();

    let model = PerfModel::fit(&data, objective, feature_names(&study.space), seed, saved)?;
    let stage = StageDir::begin(&study.dir, Stage::Model.name())?;
    model.save(&stage.path.join("model.json"))?;
    write_test_predictions(
        &stage.path.join("test_predictions.csv"),
        &data,
        &test,
        &actual,
        &predicted,
    )?;
    let distinct = |rows: &[usize]| {
        rows.iter()
            .map(|&i| &data.configs[i])
            .collect::<BTreeSet<_>>()
            .len()
    };
    let summary = ModelSummary {
        objective,
        rows: data.len(),
        passing_rows: pass.len(),
        failing_rows: data.len() - pass.len(),
        train_rows: train.len(),
        test_rows: test.len(),
        train_configs: distinct(&train),
        test_configs: distinct(&test),
        trees: TREES,
        features: data.x.ncols(),
        test_mape_percent: opt::stats::mape(&actual, &predicted),
        test_median_ape_percent: opt::stats::median_ape(&actual, &predicted),
        test_r2: opt::stats::r2(&actual, &predicted),
        pass_share: pass.len() as f64 / data.len().max(1) as f64,
        note: format!(
            "accuracy of the saved regressor ({saved}) fitted on 80% of the configurations \
             and tested on the other 20%; the saved model is refitted on all of them"
        ),
        comparison,
        chosen,
        saved,
        saved_because: why,
        pessimistic_search: model.is_pessimistic(),
        folds,
    };
    let curve = regressors::learning_curve(&data, objective, &train, &test, seed)?;
    let importance =
        regressors::permutation_importance(saved, &data, objective, &train, &test, seed)?;
    report::write_comparison(
        &stage.path,
        &summary.comparison,
        &curve,
        saved,
        objective,
        &importance,
        &feature_names(&study.space),
        &actual,
        &predicted,
    )?;
    std::fs::write(stage.path.join("report.md"), report::report_md(&summary))?;
    study.record_inputs(Stage::Model, None, &stage.path)?;
    fsx::write_json(&stage.path.join("summary.json"), &summary)?;
    stage.commit()?;
    Ok(summary)
}

/// The collected trials as the model's rows, and the rows that ran; an error when fewer
/// than [`MIN_CONFIGS`] configurations ran.
fn dataset(study: &Study) -> Result<(Dataset, Vec<usize>)> {
    let trials = collect::read_trials(study)?;
    let configs = generate::read_configs(study)?;
    let data = Dataset::build(&study.space, study.file.objective, &configs, &trials)?;
    let pass = data.passing();
    let passing_configs: BTreeSet<&String> = pass.iter().map(|&i| &data.configs[i]).collect();
    if passing_configs.len() < MIN_CONFIGS {
        bail!(
            "only {} configurations ran successfully; a model needs at least {MIN_CONFIGS} \
             (see collect/summary.json for why trials failed)",
            passing_configs.len()
        );
    }
    Ok((data, pass))
}

/// The regressor with the lowest cross-validated error, also one that cannot be saved: it
/// shows its importance and scatter.
fn most_accurate(comparison: &[regressors::Comparison]) -> Option<Regressor> {
    comparison
        .iter()
        .filter(|c| c.cv_mape_percent.is_finite())
        .min_by(|a, b| a.cv_mape_percent.total_cmp(&b.cv_mape_percent))
        .map(|c| c.regressor)
}

/// `test_predictions.csv`: each held-out row's measured and predicted perf.
fn write_test_predictions(
    path: &Path,
    data: &Dataset,
    test: &[usize],
    actual: &[f64],
    predicted: &[f64],
) -> Result<()> {
    let mut table = csv::Writer::from_path(path)?;
    table.write_record(["config", "rate", "measured", "predicted"])?;
    for ((&i, a), p) in test.iter().zip(actual).zip(predicted) {
        table.write_record([
            data.configs[i].clone(),
            data.rates[i].to_string(),
            a.to_string(),
            p.to_string(),
        ])?;
    }
    table.flush()?;
    Ok(())
}

/// Loads the model of the finished model stage.
pub fn load(study: &Study) -> Result<PerfModel> {
    let dir = study.require(Stage::Model)?;
    PerfModel::load(&dir.join("model.json"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::study::regressor::{Regressor, SavedRegressor};
    use flink::objective::Objective;
    use ndarray::Array2;
    use std::collections::BTreeSet;

    #[test]
    fn the_split_never_puts_a_configuration_on_both_sides() {
        let configs: Vec<String> = (0..50)
            .flat_map(|c| [format!("c{c}"), format!("c{c}")])
            .collect();
        let rows: Vec<usize> = (0..configs.len()).collect();
        let (train, test) = split_by_config(&configs, &rows, 1);
        assert_eq!(train.len() + test.len(), rows.len());
        let tr: BTreeSet<&String> = train.iter().map(|&i| &configs[i]).collect();
        let te: BTreeSet<&String> = test.iter().map(|&i| &configs[i]).collect();
        assert!(tr.is_disjoint(&te));
        assert_eq!(te.len(), 10);
    }

    #[test]
    fn best_saves_the_savable_regressor_of_lowest_cv_mape() {
        let row = |regressor: Regressor, cv: f64| regressors::Comparison {
            regressor,
            holdout_mape_percent: 0.0,
            holdout_r2: 0.0,
            cv_mape_percent: cv,
            cv_mape_sd: 0.0,
            cv_r2: 0.0,
            fit_seconds: 0.0,
        };
        // svr is most accurate but cannot be saved; gp failed to cross-validate.
        let cmp = vec![
            row(Regressor::Forest, 40.0),
            row(Regressor::Gbrt, 35.0),
            row(Regressor::Svr, 10.0),
            row(Regressor::Gp, f64::NAN),
        ];
        let (saved, why) = choose_saved(&cmp, SavedRegressor::Best);
        assert_eq!(saved, Regressor::Gbrt);
        assert!(why.contains("35.0%"), "{why}");
        let (saved, why) = choose_saved(&cmp, SavedRegressor::Named(Regressor::Forest));
        assert_eq!(saved, Regressor::Forest);
        assert!(why.contains("study file"), "{why}");
        assert_eq!(choose_saved(&[], SavedRegressor::Best).0, Regressor::Forest);
    }

    #[test]
    fn a_gp_is_searched_by_its_lower_bound_and_trees_by_their_prediction() {
        let n = 40;
        let x = Array2::from_shape_fn((n, 2), |(i, j)| ((i * 7 + j * 5) % 13) as f64 / 26.0);
        let data = Dataset {
            perf: (0..n).map(|i| Some(1.0 + x[[i, 0]] + x[[i, 1]])).collect(),
            x,
            configs: (0..n).map(|i| format!("c{i}")).collect(),
            rates: vec![1; n],
        };
        let names = vec!["a".to_string(), "b".to_string()];
        // Inside the data (the lower half of the cube) and far outside it.
        let rows = vec![vec![0.2, 0.2], vec![1.0, 1.0]];
        let gp = PerfModel::fit(&data, Objective::Ratio, names.clone(), 1, Regressor::Gp).unwrap();
        assert!(gp.is_pessimistic());
        let s = gp.predict_search_score(&rows).unwrap();
        assert!(s.iter().all(|(bound, mean)| bound < mean), "{s:?}");
        // Less certain away from the data: a wider gap.
        assert!(s[1].1 - s[1].0 > 2.0 * (s[0].1 - s[0].0), "{s:?}");
        let forest = PerfModel::fit(&data, Objective::Ratio, names, 1, Regressor::Forest).unwrap();
        assert!(!forest.is_pessimistic());
        for (bound, mean) in forest.predict_search_score(&rows).unwrap() {
            assert_eq!(bound, mean);
        }
        let (lo, hi) = forest.observed_perf;
        assert!(lo >= 1.0 && hi <= 2.0 && lo < hi);
    }

    #[test]
    fn a_saved_forest_predicts_identically_after_reload() {
        let x = Array2::from_shape_fn((60, 3), |(i, j)| ((i * 7 + j * 3) % 11) as f64 / 11.0);
        let perf: Vec<Option<f64>> = (0..60)
            .map(|i| {
                if i % 9 == 0 {
                    None
                } else {
                    Some(1.0 + x[[i, 0]] * 5.0 + x[[i, 1]])
                }
            })
            .collect();
        let data = Dataset {
            x: x.clone(),
            perf,
            configs: (0..60).map(|i| format!("c{i}")).collect(),
            rates: vec![1000; 60],
        };
        let names = vec!["a".into(), "b".into(), "c".into()];
        let rows: Vec<Vec<f64>> = (0..10).map(|i| x.row(i).to_vec()).collect();
        let d = tempfile::tempdir().unwrap();
        for name in Regressor::SAVABLE {
            let m = PerfModel::fit(&data, Objective::Ratio, names.clone(), 3, name).unwrap();
            let p = d.path().join(format!("{name}.json"));
            m.save(&p).unwrap();
            let again = PerfModel::load(&p).unwrap();
            assert_eq!(again.regressor_name, name);
            let (a, b) = (
                m.predict_perf(&rows).unwrap(),
                again.predict_perf(&rows).unwrap(),
            );
            for (x, y) in a.iter().zip(&b) {
                assert!((x - y).abs() <= 1e-9 * x.abs(), "{name}: {x} vs {y}");
            }
        }
        let model = PerfModel::fit(&data, Objective::Ratio, names, 3, Regressor::Forest).unwrap();
        let p = d.path().join("m.json");
        model.save(&p).unwrap();
        let again = PerfModel::load(&p).unwrap();
        assert_eq!(
            model.predict_perf(&rows).unwrap(),
            again.predict_perf(&rows).unwrap()
        );
        assert_eq!(
            model.predict_pass(&rows).unwrap(),
            again.predict_pass(&rows).unwrap()
        );
        // The forest learned the signal: the best row is predicted above the worst.
        let pr = model.predict_perf(&rows).unwrap();
        let truth: Vec<f64> = (0..10).map(|i| 1.0 + x[[i, 0]] * 5.0 + x[[i, 1]]).collect();
        let argmax = |v: &[f64]| (0..v.len()).max_by(|&a, &b| v[a].total_cmp(&v[b])).unwrap();
        let argmin = |v: &[f64]| (0..v.len()).min_by(|&a, &b| v[a].total_cmp(&v[b])).unwrap();
        assert!(pr[argmax(&truth)] > pr[argmin(&truth)]);
    }
}
