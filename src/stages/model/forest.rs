//! The random forest: the paper's performance regressor and the model of whether a
//! configuration runs. smartcore's defaults (10 trees, √d features per split) lose much
//! accuracy on this data, hence the explicit parameters.

use anyhow::Result;
use ndarray::Array2;
use smartcore::ensemble::random_forest_regressor::{
    RandomForestRegressor, RandomForestRegressorParameters,
};
use smartcore::linalg::basic::matrix::DenseMatrix;

/// Trees of every forest.
pub const TREES: usize = 100;

pub type Forest = RandomForestRegressor<f64, f64, DenseMatrix<f64>, Vec<f64>>;

fn forest_params(seed: u64, features: usize) -> RandomForestRegressorParameters {
    // smartcore's defaults (10 trees, √d features per split) lose much accuracy here.
    RandomForestRegressorParameters::default()
        .with_n_trees(TREES)
        .with_m(features)
        .with_seed(seed)
}

pub fn fit_forest(x: &Array2<f64>, y: &[f64], seed: u64) -> Result<Forest> {
    let m = DenseMatrix::from_ndarray2(x);
    Forest::fit(&m, &y.to_vec(), forest_params(seed, x.ncols()))
        .map_err(|e| anyhow::anyhow!("fitting the forest failed: {e}"))
}

pub fn predict_forest(forest: &Forest, rows: &[Vec<f64>]) -> Result<Vec<f64>> {
    if rows.is_empty() {
        return Ok(vec![]);
    }
    let m = DenseMatrix::from_2d_vec(&rows.to_vec())
        .map_err(|e| anyhow::anyhow!("bad feature rows: {e}"))?;
    forest
        .predict(&m)
        .map_err(|e| anyhow::anyhow!("prediction failed: {e}"))
}
