//! Regressor comparison for the model stage: random forest, gradient-boosted trees, SVR,
//! k-NN, ridge regression and a Gaussian process, all fitted on the objective's log-scale
//! score of the same feature rows and judged by MAPE and R² on the perf scale — on the
//! stage's 80/20 split by configuration, by k-fold cross-validation by configuration, and
//! along a learning curve (test MAPE against the number of training configurations, as in
//! the paper's Fig. 9). A configuration is never on both sides of a split.

use crate::stages::model::dataset::{Dataset, shuffled_configs};
use crate::stages::model::forest::{Forest, fit_forest, predict_forest};
use crate::study::regressor::Regressor;
use crate::study::seed::{Purpose, derive};
use anyhow::{Result, anyhow};
use flink::objective::Objective;
use ndarray::{Array2, Axis};
use opt::gp;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use smartcore::linalg::basic::matrix::DenseMatrix;
use smartcore::linear::ridge_regression::{RidgeRegression, RidgeRegressionParameters};
use smartcore::neighbors::knn_regressor::{KNNRegressor, KNNRegressorParameters};
use smartcore::svm::Kernels;
use smartcore::svm::svr::{SVR, SVRParameters};
use smartcore::xgboost::xgb_regressor::{XGRegressor, XGRegressorParameters};
use std::collections::BTreeSet;

/// The GP's exact fit is cubic in the rows: it sees at most this many training rows (a
/// random subset) and says so in the report.
pub const GP_MAX_ROWS: usize = 300;

/// Fits `regressor` on (x, y) and predicts the rows of `test` (scores). A panic inside the
/// regressor's library (smartcore's SVR panics when no support vector is left) is turned
/// into an error.
pub fn fit_predict(
    regressor: Regressor,
    x: &Array2<f64>,
    y: &[f64],
    test: &Array2<f64>,
    seed: u64,
) -> Result<Vec<f64>> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        fit_predict_inner(regressor, x, y, test, seed)
    }));
    std::panic::set_hook(hook);
    match out {
        Ok(r) => r,
        Err(p) => {
            let why = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            Err(anyhow!("{regressor} failed inside smartcore: {why}"))
        }
    }
}

type Gbrt = XGRegressor<f64, f64, DenseMatrix<f64>, Vec<f64>>;

/// A fitted regressor that can be saved and reloaded: the forest and the boosted trees as
/// smartcore serialises them; the GP as its training rows and fitted hyperparameters (its
/// posterior is rebuilt from them once, on first use, without refitting).
#[derive(Serialize, Deserialize)]
pub enum Fitted {
    Forest(Box<Forest>),
    Gbrt(Box<Gbrt>),
    Gp(Box<SavedGp>),
}

/// A GP as saved: its training rows and fitted hyperparameters.
#[derive(Serialize, Deserialize)]
pub struct SavedGp {
    x: Vec<Vec<f64>>,
    y: Vec<f64>,
    hyper: gp::Hyper,
    #[serde(skip)]
    posterior: std::sync::OnceLock<gp::Gp>,
}

/// Fits a savable regressor (see [`Regressor::SAVABLE`]) on (x, y).
pub fn fit(regressor: Regressor, x: &Array2<f64>, y: &[f64], seed: u64) -> Result<Fitted> {
    let fail = |e: smartcore::error::Failed| anyhow!("{regressor}: {e}");
    match regressor {
        Regressor::Forest => Ok(Fitted::Forest(Box::new(fit_forest(x, y, seed)?))),
        Regressor::Gbrt => {
            let p = XGRegressorParameters::default()
                .with_n_estimators(100)
                .with_max_depth(4)
                .with_learning_rate(0.1)
                .with_seed(seed);
            let m = Gbrt::fit(&DenseMatrix::from_ndarray2(x), &y.to_vec(), p).map_err(fail)?;
            Ok(Fitted::Gbrt(Box::new(m)))
        }
        Regressor::Gp => {
            let mut rows: Vec<usize> = (0..x.nrows()).collect();
            if rows.len() > GP_MAX_ROWS {
                rows.shuffle(&mut StdRng::seed_from_u64(seed));
                rows.truncate(GP_MAX_ROWS);
            }
            let xs: Vec<Vec<f64>> = rows.iter().map(|&i| x.row(i).to_vec()).collect();
            let ys: Vec<f64> = rows.iter().map(|&i| y[i]).collect();
            let opts = gp::FitOptions {
                restarts: 1,
                max_iters: 60,
                seed,
                ..gp::FitOptions::default()
            };
            let g = gp::fit(&xs, &ys, &opts, None)?;
            let hyper = g.hyper().clone();
            let posterior = std::sync::OnceLock::new();
            let _ = posterior.set(g);
            Ok(Fitted::Gp(Box::new(SavedGp {
                x: xs,
                y: ys,
                hyper,
                posterior,
            })))
        }
        other => Err(anyhow!(
            "regressor '{other}' cannot be saved (savable: {})",
            Regressor::savable_names()
        )),
    }
}

impl Fitted {
    /// Predicted scores of feature rows.
    pub fn predict(&self, rows: &[Vec<f64>]) -> Result<Vec<f64>> {
        Ok(self.predict_with_sd(rows)?.0)
    }

    /// Whether the regressor gives a predictive standard deviation (the GP).
    pub fn has_sd(&self) -> bool {
        matches!(self, Fitted::Gp(_))
    }

    /// Predicted scores of feature rows and, for a regressor with a predictive
    /// distribution (the GP), the standard deviation of each (latent, without noise).
    pub fn predict_with_sd(&self, rows: &[Vec<f64>]) -> Result<(Vec<f64>, Option<Vec<f64>>)> {
        if rows.is_empty() {
            return Ok((vec![], self.has_sd().then(Vec::new)));
        }
        let mean = match self {
            Fitted::Forest(f) => predict_forest(f, rows),
            Fitted::Gbrt(m) => {
                let t = DenseMatrix::from_2d_vec(&rows.to_vec()).map_err(|e| anyhow!("{e}"))?;
                m.predict(&t).map_err(|e| anyhow!("gbrt: {e}"))
            }
            Fitted::Gp(saved) => {
                if saved.posterior.get().is_none() {
                    let rebuilt = gp::with_hyper(&saved.x, &saved.y, saved.hyper.clone())?;
                    let _ = saved.posterior.set(rebuilt);
                }
                let g = saved
                    .posterior
                    .get()
                    .ok_or_else(|| anyhow!("the GP could not be rebuilt"))?;
                let (mean, sd) = g
                    .predict_many(rows)
                    .into_iter()
                    .map(|(m, v)| (m, v.max(0.0).sqrt()))
                    .unzip();
                return Ok((mean, Some(sd)));
            }
        };
        Ok((mean?, None))
    }
}

fn fit_predict_inner(
    regressor: Regressor,
    x: &Array2<f64>,
    y: &[f64],
    test: &Array2<f64>,
    seed: u64,
) -> Result<Vec<f64>> {
    let fail = |e: smartcore::error::Failed| anyhow!("{regressor}: {e}");
    if test.nrows() == 0 {
        return Ok(vec![]);
    }
    if regressor.savable() {
        let rows: Vec<Vec<f64>> = test.rows().into_iter().map(|r| r.to_vec()).collect();
        return fit(regressor, x, y, seed)?.predict(&rows);
    }
    let xm = DenseMatrix::from_ndarray2(x);
    let tm = DenseMatrix::from_ndarray2(test);
    let yv = y.to_vec();
    match regressor {
        Regressor::Svr => {
            // Standardised target; RBF kernel with γ = 1 / features on the unit cube.
            let (mu, sd) = mean_sd(y);
            let ys: Vec<f64> = y.iter().map(|v| (v - mu) / sd).collect();
            let p = SVRParameters::default()
                .with_eps(0.05)
                .with_c(10.0)
                .with_kernel(Kernels::rbf().with_gamma(1.0 / x.ncols().max(1) as f64));
            let m = SVR::fit(&xm, &ys, &p).map_err(fail)?;
            Ok(m.predict(&tm)
                .map_err(fail)?
                .into_iter()
                .map(|v| v * sd + mu)
                .collect())
        }
        Regressor::Knn => {
            let p = KNNRegressorParameters::default().with_k(5.min(x.nrows()));
            let m = KNNRegressor::fit(&xm, &yv, p).map_err(fail)?;
            m.predict(&tm).map_err(fail)
        }
        Regressor::Ridge => {
            let p = RidgeRegressionParameters::default().with_alpha(1.0);
            let m = RidgeRegression::fit(&xm, &yv, p).map_err(fail)?;
            m.predict(&tm).map_err(fail)
        }
        Regressor::Forest | Regressor::Gbrt | Regressor::Gp => unreachable!("fitted above"),
    }
}

fn mean_sd(y: &[f64]) -> (f64, f64) {
    let n = y.len().max(1) as f64;
    let mu = y.iter().sum::<f64>() / n;
    let sd = (y.iter().map(|v| (v - mu).powi(2)).sum::<f64>() / n).sqrt();
    (mu, if sd > 0.0 { sd } else { 1.0 })
}

/// MAPE (percent) and R² on the perf scale of a regressor fitted on `train` rows and
/// tested on `test` rows, with the predicted perf of the test rows.
pub fn evaluate(
    regressor: Regressor,
    data: &Dataset,
    objective: Objective,
    train: &[usize],
    test: &[usize],
    seed: u64,
) -> Result<(f64, f64, Vec<f64>)> {
    let y: Vec<f64> = train
        .iter()
        .map(|&i| objective.score(data.perf[i].unwrap_or_default()))
        .collect();
    let pred = fit_predict(
        regressor,
        &data.x.select(Axis(0), train),
        &y,
        &data.x.select(Axis(0), test),
        seed,
    )?;
    let predicted: Vec<f64> = pred.iter().map(|&s| objective.perf_of_score(s)).collect();
    let actual: Vec<f64> = test
        .iter()
        .map(|&i| data.perf[i].unwrap_or_default())
        .collect();
    Ok((
        opt::stats::mape(&actual, &predicted),
        opt::stats::r2(&actual, &predicted),
        predicted,
    ))
}

/// Splits passing rows into `k` folds by configuration.
pub fn folds_by_config(configs: &[String], rows: &[usize], k: usize, seed: u64) -> Vec<Vec<usize>> {
    let ids = shuffled_configs(configs, rows, derive(seed, Purpose::Folds));
    let k = k.min(ids.len()).max(1);
    let fold_of: std::collections::BTreeMap<&String, usize> =
        ids.iter().enumerate().map(|(n, id)| (*id, n % k)).collect();
    let mut folds = vec![Vec::new(); k];
    for &i in rows {
        folds[fold_of[&configs[i]]].push(i);
    }
    folds
}

/// One regressor's accuracy.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Comparison {
    pub regressor: Regressor,
    /// NaN (null in JSON) when the regressor could not be fitted.
    #[serde(deserialize_with = "nan_if_null")]
    pub holdout_mape_percent: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub holdout_r2: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub cv_mape_percent: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub cv_mape_sd: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub cv_r2: f64,
    pub fit_seconds: f64,
}

/// JSON has no NaN: serde_json writes it as null; read null back as NaN.
fn nan_if_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// Compares every regressor on the hold-out split and by k-fold cross-validation.
pub fn compare(
    data: &Dataset,
    objective: Objective,
    train: &[usize],
    test: &[usize],
    folds: usize,
    seed: u64,
) -> Result<Vec<Comparison>> {
    let pass = data.passing();
    let fold_rows = folds_by_config(&data.configs, &pass, folds, seed);
    let mut out = Vec::new();
    for regressor in Regressor::ALL {
        let t = std::time::Instant::now();
        let (mape, r2, _) = evaluate(regressor, data, objective, train, test, seed).unwrap_or((
            f64::NAN,
            f64::NAN,
            vec![],
        ));
        let fit_seconds = t.elapsed().as_secs_f64();
        let mut mapes = Vec::new();
        let mut r2s = Vec::new();
        for (f, test_f) in fold_rows.iter().enumerate() {
            let train_f: Vec<usize> = fold_rows
                .iter()
                .enumerate()
                .filter(|(g, _)| *g != f)
                .flat_map(|(_, r)| r.iter().copied())
                .collect();
            if train_f.is_empty() || test_f.is_empty() {
                continue;
            }
            // A regressor that cannot fit a fold counts as NaN, shown as such.
            let (m, r, _) = evaluate(regressor, data, objective, &train_f, test_f, seed)
                .unwrap_or((f64::NAN, f64::NAN, vec![]));
            mapes.push(m);
            r2s.push(r);
        }
        let (cv, cv_sd) = mean_sd(&mapes);
        out.push(Comparison {
            regressor,
            holdout_mape_percent: mape,
            holdout_r2: r2,
            cv_mape_percent: cv,
            cv_mape_sd: if mapes.len() > 1 { cv_sd } else { 0.0 },
            cv_r2: mean_sd(&r2s).0,
            fit_seconds,
        });
    }
    Ok(out)
}

/// One point of the learning curve.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CurvePoint {
    pub regressor: Regressor,
    pub train_configs: usize,
    pub train_rows: usize,
    pub test_mape_percent: f64,
}

/// Test MAPE of each regressor fitted on growing subsets of the training configurations
/// (always tested on the same held-out configurations).
pub fn learning_curve(
    data: &Dataset,
    objective: Objective,
    train: &[usize],
    test: &[usize],
    seed: u64,
) -> Result<Vec<CurvePoint>> {
    let mut ids: Vec<&String> = train
        .iter()
        .map(|&i| &data.configs[i])
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    ids.shuffle(&mut StdRng::seed_from_u64(derive(
        seed,
        Purpose::LearningCurve,
    )));
    let mut sizes: Vec<usize> = [0.1, 0.2, 0.4, 0.6, 0.8, 1.0]
        .iter()
        .map(|f| ((ids.len() as f64) * f).round() as usize)
        .filter(|&n| n >= 5)
        .collect();
    sizes.dedup();
    let mut out = Vec::new();
    for &n in &sizes {
        let keep: BTreeSet<&String> = ids.iter().take(n).copied().collect();
        let rows: Vec<usize> = train
            .iter()
            .copied()
            .filter(|&i| keep.contains(&data.configs[i]))
            .collect();
        for regressor in Regressor::ALL {
            let mape = evaluate(regressor, data, objective, &rows, test, seed)
                .map(|r| r.0)
                .unwrap_or(f64::NAN);
            out.push(CurvePoint {
                regressor,
                train_configs: n,
                train_rows: rows.len(),
                test_mape_percent: mape,
            });
        }
    }
    Ok(out)
}

/// Permutation importance of each feature for a regressor: the increase of the test MSE
/// of the score when the feature's column is shuffled (mean of 3 shuffles).
pub fn permutation_importance(
    regressor: Regressor,
    data: &Dataset,
    objective: Objective,
    train: &[usize],
    test: &[usize],
    seed: u64,
) -> Result<Vec<f64>> {
    let score = |i: &usize| objective.score(data.perf[*i].unwrap_or_default());
    let y: Vec<f64> = train.iter().map(score).collect();
    let ys: Vec<f64> = test.iter().map(score).collect();
    let xt = data.x.select(Axis(0), train);
    let xs = data.x.select(Axis(0), test);
    // Fit once, predict many: stack the permuted test sets under the original.
    let d = xs.ncols();
    let reps = 3;
    let mut rng = StdRng::seed_from_u64(derive(seed, Purpose::Importance));
    let mut stacked = xs.clone();
    for j in 0..d {
        for _ in 0..reps {
            let mut xp = xs.clone();
            let mut col: Vec<f64> = xp.column(j).to_vec();
            col.shuffle(&mut rng);
            for (r, v) in col.into_iter().enumerate() {
                xp[[r, j]] = v;
            }
            stacked.append(Axis(0), xp.view())?;
        }
    }
    let pred = fit_predict(regressor, &xt, &y, &stacked, seed)?;
    let n = xs.nrows();
    let mse =
        |p: &[f64]| p.iter().zip(&ys).map(|(a, b)| (a - b).powi(2)).sum::<f64>() / n.max(1) as f64;
    let base = mse(&pred[..n]);
    Ok((0..d)
        .map(|j| {
            (0..reps)
                .map(|r| {
                    let start = n * (1 + j * reps + r);
                    mse(&pred[start..start + n]) - base
                })
                .sum::<f64>()
                / reps as f64
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stages::model::dataset::split_by_config;
    use rand::RngExt;

    /// Each configuration measured at two rates with the same perf, perf pure noise: a
    /// model can only get a test row right by having seen its configuration in training.
    fn memorisable(n: usize) -> Dataset {
        let mut rng = StdRng::seed_from_u64(9);
        let mut x = Vec::new();
        let mut perf = Vec::new();
        let mut configs = Vec::new();
        let mut rates = Vec::new();
        for c in 0..n {
            let f: Vec<f64> = (0..4).map(|_| rng.random::<f64>()).collect();
            let p = (rng.random::<f64>() * 5.0).exp();
            for rate in [1000u64, 2000] {
                x.extend(f.iter().copied());
                x.push((rate as f64).ln());
                perf.push(Some(p));
                configs.push(format!("c{c}"));
                rates.push(rate);
            }
        }
        Dataset {
            x: Array2::from_shape_vec((2 * n, 5), x).unwrap(),
            perf,
            configs,
            rates,
        }
    }

    #[test]
    fn held_out_error_is_measured_on_unseen_configurations_only() {
        let data = memorisable(100);
        let pass = data.passing();
        let (train, test) = split_by_config(&data.configs, &pass, 3);
        // Leaky evaluation (test rows' configurations in training) is near perfect...
        let (leaky, _, _) =
            evaluate(Regressor::Forest, &data, Objective::Ratio, &pass, &test, 1).unwrap();
        assert!(leaky < 30.0, "{leaky}");
        // ... the stage's split is not: nothing to memorise, large error.
        let (honest, _, _) =
            evaluate(Regressor::Forest, &data, Objective::Ratio, &train, &test, 1).unwrap();
        assert!(honest > 3.0 * leaky && honest > 60.0, "{honest} vs {leaky}");
        let folds = folds_by_config(&data.configs, &pass, 5, 1);
        for (f, rows) in folds.iter().enumerate() {
            let mine: BTreeSet<&String> = rows.iter().map(|&i| &data.configs[i]).collect();
            for (g, other) in folds.iter().enumerate() {
                if f != g {
                    assert!(other.iter().all(|&i| !mine.contains(&data.configs[i])));
                }
            }
        }
        let cmp = compare(&data, Objective::Ratio, &train, &test, 5, 1).unwrap();
        assert_eq!(cmp.len(), Regressor::ALL.len());
        for c in &cmp {
            assert!(c.cv_mape_percent > 40.0, "{c:?}");
        }
    }

    #[test]
    fn every_regressor_learns_a_smooth_signal() {
        let mut rng = StdRng::seed_from_u64(2);
        let n = 150;
        let xs: Vec<f64> = (0..n * 3).map(|_| rng.random::<f64>()).collect();
        let x = Array2::from_shape_vec((n, 3), xs).unwrap();
        let perf: Vec<Option<f64>> = (0..n)
            .map(|i| Some((1.0 + 2.0 * x[[i, 0]] - x[[i, 1]]).exp()))
            .collect();
        let data = Dataset {
            x,
            perf,
            configs: (0..n).map(|i| format!("c{i}")).collect(),
            rates: vec![1; n],
        };
        let pass = data.passing();
        let (train, test) = split_by_config(&data.configs, &pass, 1);
        for regressor in Regressor::ALL {
            let (mape, r2, _) =
                evaluate(regressor, &data, Objective::Ratio, &train, &test, 1).unwrap();
            assert!(mape < 40.0 && r2 > 0.5, "{regressor}: MAPE {mape}, R² {r2}");
        }
        let imp =
            permutation_importance(Regressor::Forest, &data, Objective::Ratio, &train, &test, 1)
                .unwrap();
        assert!(imp[0] > imp[1] && imp[1] > imp[2].abs(), "{imp:?}");
    }
}
