//! Rank-weighted Gaussian-process ensembles (RGPE; Feurer, Letham & Bakshy, "Scalable
//! Meta-Learning for Bayesian Optimization using Ranking-Weighted Gaussian Process
//! Ensembles", 2018), the transfer model Demeter uses across input rates.
//!
//! Earlier searches (another input rate, another cluster) become *base models*: one GP
//! per task, fitted once on that task's observations with its y standardised on its own,
//! so only the *shape* of each task carries over, not its scale. A *target* GP is fitted
//! on the new task's observations. The ensemble predicts, on the standardised scale,
//!
//! ```text
//!   mean(x) = Σᵢ wᵢ μᵢ(x)        variance(x) = Σᵢ wᵢ² σᵢ²(x)
//! ```
//!
//! — the paper's formula (its eq. for f̄): the distribution of the weighted sum of the
//! models taken as independent Gaussians. (Σ wᵢ σᵢ², a mixture without its spread term,
//! would be the other candidate; the paper's form is used because the ensemble *is* that
//! weighted sum, and it is what the paper evaluated.)
//!
//! Weights come from how well each model *ranks* the target's observations (a ranking
//! loss is blind to each task's scale, so a rate that shifts every latency still counts as
//! similar when it orders configurations the same way):
//!
//! - the loss of a model is the number of misranked pairs among the target observations
//!   (a tie in prediction counts half); the target model's own loss uses its leave-one-out
//!   means, else it would rank its training data perfectly and always win;
//! - over S bootstrap samples of the target observations, a model's weight is the share
//!   of samples in which its loss is the lowest (ties split);
//! - a base model whose median loss exceeds the 95th percentile of the target's loss is
//!   discarded (the paper's guard against weight dilution by many poor base models).
//!
//! The paper's Monte Carlo over losses draws from the models' posteriors at the target
//! points (as BoTorch's RGPE tutorial does too); here the samples are bootstrap resamples
//! of the observations ranked by the models' means — no joint posterior sampling (an
//! n×n Cholesky per model per ask), deterministic per seed, and the uncertainty it
//! captures is the one that matters with few observations: which of them were seen.
//!
//! With fewer than two target observations there is no pair to rank: the base models get
//! equal weights and the target none (the paper's rule, where the target's loss is
//! undefined). Everything random is seeded.

use anyhow::{Result, ensure};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::gp::{self, FitOptions, Gp};
use crate::surrogate::{Surrogate, best_of};

/// Bootstrap samples of the target observations used to estimate the weights.
pub const DEFAULT_SAMPLES: usize = 512;
/// Observations a base model is fitted on at most (a seeded subset beyond): a GP costs
/// O(n³) to fit and O(n²) per prediction, and the acquisition asks thousands.
pub const MAX_BASE_POINTS: usize = 200;

/// The observations of one earlier task, in the optimiser's (projected) coordinates.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Task {
    /// Names the source in reports (study directory, rate).
    pub name: String,
    /// The input rate the task was measured at, if known.
    pub rate: Option<u64>,
    pub xs: Vec<Vec<f64>>,
    /// Higher is better (the search's score).
    pub ys: Vec<f64>,
    /// Points of the task that did not run: the optimiser's base model sees them at the
    /// floor of the capped scores, as the target's GP sees its own failures.
    #[serde(default)]
    pub failures: Vec<Vec<f64>>,
}

/// A GP fitted on one earlier task.
#[derive(Clone, Debug)]
pub struct BaseModel {
    pub name: String,
    pub rate: Option<u64>,
    /// Observations the GP was fitted on.
    pub points: usize,
    gp: Gp,
    xs: Vec<Vec<f64>>,
}

impl BaseModel {
    /// Fits a GP on `task` (at most [`MAX_BASE_POINTS`] observations, a seeded subset).
    pub fn fit(task: &Task, opts: &FitOptions) -> Result<BaseModel> {
        ensure!(
            task.xs.len() == task.ys.len(),
            "transfer source {}: {} points but {} values",
            task.name,
            task.xs.len(),
            task.ys.len()
        );
        ensure!(
            task.ys.len() >= 2,
            "transfer source {} has {} usable observation(s); a base model needs at least 2",
            task.name,
            task.ys.len()
        );
        let mut idx: Vec<usize> = (0..task.ys.len()).collect();
        if idx.len() > MAX_BASE_POINTS {
            let mut rng = StdRng::seed_from_u64(opts.seed);
            for i in (1..idx.len()).rev() {
                idx.swap(i, rng.random_range(0..=i));
            }
            idx.truncate(MAX_BASE_POINTS);
            idx.sort_unstable();
        }
        let xs: Vec<Vec<f64>> = idx.iter().map(|&i| task.xs[i].clone()).collect();
        let ys: Vec<f64> = idx.iter().map(|&i| task.ys[i]).collect();
        let gp = gp::fit(&xs, &ys, opts, None)
            .map_err(|e| e.context(format!("fitting the base model of {}", task.name)))?;
        Ok(BaseModel {
            name: task.name.clone(),
            rate: task.rate,
            points: xs.len(),
            gp,
            xs,
        })
    }

    /// Posterior mean and variance on the task's own standardised scale.
    pub fn predict(&self, x: &[f64]) -> (f64, f64) {
        self.gp.posterior(x)
    }

    /// The points the model was fitted on.
    pub fn inputs(&self) -> &[Vec<f64>] {
        &self.xs
    }
}

/// The ensemble's weights.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Weights {
    /// One per base model, in order.
    pub base: Vec<f64>,
    pub target: f64,
    /// Base models dropped by the dilution guard.
    pub discarded: Vec<bool>,
}

/// Misranked pairs among the bootstrap sample `idx`, in halves (a tie in prediction
/// counts one half, a reversed pair two); pairs with equal observations are skipped.
fn misranked_halves(pred: &[f64], y: &[f64], idx: &[usize]) -> u64 {
    let mut halves = 0;
    for (a, &i) in idx.iter().enumerate() {
        for &j in &idx[a + 1..] {
            let dy = y[i] - y[j];
            if dy == 0.0 {
                continue;
            }
            let dp = pred[i] - pred[j];
            if dp == 0.0 {
                halves += 1;
            } else if (dp > 0.0) != (dy > 0.0) {
                halves += 2;
            }
        }
    }
    halves
}

/// RGPE weights from predictions at the target's observed points.
///
/// `y[j]` are the target observations, `base_preds[m][j]` base model m's mean at point j,
/// `target_loo[j]` the target model's leave-one-out mean at point j. `samples` bootstrap
/// draws, seeded with `seed`.
pub fn rank_weights(
    y: &[f64],
    base_preds: &[Vec<f64>],
    target_loo: &[f64],
    samples: usize,
    seed: u64,
) -> Weights {
    let m = base_preds.len();
    let n = y.len();
    if n < 2 || m == 0 {
        return Weights {
            base: vec![if m == 0 { 0.0 } else { 1.0 / m as f64 }; m],
            target: if m == 0 { 1.0 } else { 0.0 },
            discarded: vec![false; m],
        };
    }
    let samples = samples.max(1);
    let mut rng = StdRng::seed_from_u64(seed);
    // rows[s][k]: the loss of model k (bases, then the target) on sample s.
    let mut rows: Vec<Vec<u64>> = Vec::with_capacity(samples);
    let mut idx = vec![0usize; n];
    for _ in 0..samples {
        for v in idx.iter_mut() {
            *v = rng.random_range(0..n);
        }
        let mut row: Vec<u64> = base_preds
            .iter()
            .map(|p| misranked_halves(p, y, &idx))
            .collect();
        row.push(misranked_halves(target_loo, y, &idx));
        rows.push(row);
    }
    let quantile = |k: usize, q: f64| -> u64 {
        let mut s: Vec<u64> = rows.iter().map(|r| r[k]).collect();
        s.sort_unstable();
        let i = ((q * s.len() as f64).ceil() as usize).clamp(1, s.len()) - 1;
        s[i]
    };
    let target_p95 = quantile(m, 0.95);
    let discarded: Vec<bool> = (0..m).map(|k| quantile(k, 0.5) > target_p95).collect();
    let mut wins = vec![0.0; m + 1];
    for row in &rows {
        let live = (0..=m).filter(|&k| k == m || !discarded[k]);
        let best = live.clone().map(|k| row[k]).min().unwrap_or(0);
        let winners: Vec<usize> = live.filter(|&k| row[k] == best).collect();
        for &k in &winners {
            wins[k] += 1.0 / winners.len() as f64;
        }
    }
    let total = samples as f64;
    Weights {
        base: wins[..m].iter().map(|w| w / total).collect(),
        target: wins[m] / total,
        discarded,
    }
}

/// Base models and a target GP combined with RGPE weights.
pub struct Ensemble<'a> {
    bases: &'a [BaseModel],
    target: Option<&'a Gp>,
    weights: Weights,
}

impl<'a> Ensemble<'a> {
    /// Weighs `bases` and `target` (fitted on `xs`, `ys`; None with fewer than two
    /// observations) by their ranking loss on the target's observations `(xs, ys)`.
    pub fn new(
        bases: &'a [BaseModel],
        target: Option<&'a Gp>,
        xs: &[Vec<f64>],
        ys: &[f64],
        samples: usize,
        seed: u64,
    ) -> Ensemble<'a> {
        let target = target.filter(|_| ys.len() >= 2);
        let weights = match target {
            Some(gp) if gp.len() >= xs.len() => {
                let base_preds: Vec<Vec<f64>> = bases
                    .iter()
                    .map(|b| xs.iter().map(|x| b.predict(x).0).collect())
                    .collect();
                // The target GP may hold provisional points (a batch) after `xs`: they
                // are not ranked.
                let loo = gp.loo_means();
                rank_weights(ys, &base_preds, &loo[..xs.len()], samples, seed)
            }
            _ => rank_weights(&[], &vec![vec![]; bases.len()], &[], samples, seed),
        };
        Ensemble {
            bases,
            target,
            weights,
        }
    }

    /// The weights in use.
    pub fn weights(&self) -> &Weights {
        &self.weights
    }

    /// Mean `Σ wᵢ μᵢ` and variance `Σ wᵢ² σᵢ²` on the standardised scale (each model's
    /// own); models without weight are not evaluated.
    pub fn predict(&self, x: &[f64]) -> (f64, f64) {
        let mut mean = 0.0;
        let mut var = 0.0;
        for (b, &w) in self.bases.iter().zip(&self.weights.base) {
            if w > 0.0 {
                let (m, v) = b.predict(x);
                mean += w * m;
                var += w * w * v;
            }
        }
        if let Some(gp) = self.target
            && self.weights.target > 0.0
        {
            let (m, v) = gp.posterior(x);
            let w = self.weights.target;
            mean += w * m;
            var += w * w * v;
        }
        let mean = if mean.is_finite() { mean } else { 0.0 };
        let var = if var.is_finite() { var.max(0.0) } else { 1.0 };
        (mean, var)
    }

    /// The target's standardisation `(mean, std)`, if it has a GP.
    pub fn target_scale(&self) -> Option<(f64, f64)> {
        self.target.map(Gp::standardisation)
    }

    /// The largest ensemble mean over the target's and the base models' observed points:
    /// the incumbent the acquisition improves on while the target has too few
    /// observations of its own to standardise against.
    pub fn plug_in_incumbent(&self, xs: &[Vec<f64>]) -> f64 {
        let weighted = self
            .bases
            .iter()
            .zip(&self.weights.base)
            .filter(|(_, w)| **w > 0.0)
            .flat_map(|(b, _)| b.inputs().iter());
        xs.iter()
            .chain(weighted)
            .map(|x| self.predict(x).0)
            .fold(f64::NEG_INFINITY, f64::max)
    }
}

/// The ensemble on the target's standardisation (once the target has a GP).
impl Surrogate for Ensemble<'_> {
    fn posterior(&self, x: &[f64]) -> (f64, f64) {
        self.predict(x)
    }

    /// The best observation standardised once the target has a scale, else the
    /// [plug-in incumbent](Ensemble::plug_in_incumbent).
    fn incumbent(&self, xs: &[Vec<f64>], ys: &[f64]) -> f64 {
        match self.target_scale() {
            Some((mean, std)) => (best_of(ys) - mean) / std,
            None => self.plug_in_incumbent(xs),
        }
    }

    fn in_units(&self, x: &[f64]) -> Option<(f64, f64)> {
        let (mean, std) = self.target_scale()?;
        let (m, v) = self.predict(x);
        Some((mean + std * m, std * v.sqrt()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(x: &[f64]) -> f64 {
        (5.0 * x[0]).sin() + (x[1] - 0.3).powi(2) * 2.0
    }

    fn points(n: usize, seed: u64) -> Vec<Vec<f64>> {
        let mut rng = StdRng::seed_from_u64(seed);
        (0..n)
            .map(|_| vec![rng.random::<f64>(), rng.random::<f64>()])
            .collect()
    }

    fn task(name: &str, xs: Vec<Vec<f64>>, g: impl Fn(&[f64]) -> f64) -> Task {
        let ys = xs.iter().map(|x| g(x)).collect();
        Task {
            name: name.into(),
            rate: None,
            xs,
            ys,
            failures: vec![],
        }
    }

    #[test]
    fn a_base_model_of_the_target_function_gets_most_weight_an_inverted_one_none() {
        let opts = FitOptions::default();
        // The identical source is on another scale (×40 + 7): ranking ignores that.
        let same =
            BaseModel::fit(&task("same", points(40, 1), |x| 40.0 * f(x) + 7.0), &opts).unwrap();
        let inverted = BaseModel::fit(&task("inverted", points(40, 2), |x| -f(x)), &opts).unwrap();
        let bases = vec![same, inverted];
        let xs = points(8, 3);
        let ys: Vec<f64> = xs.iter().map(|x| f(x)).collect();
        let target = gp::fit(&xs, &ys, &opts, None).unwrap();
        let e = Ensemble::new(&bases, Some(&target), &xs, &ys, DEFAULT_SAMPLES, 7);
        let w = e.weights();
        assert!(w.base[0] > 0.6, "{w:?}");
        assert!(w.base[1] < 0.01, "{w:?}");
        assert!(w.discarded[1], "{w:?}");
        assert!((w.base.iter().sum::<f64>() + w.target - 1.0).abs() < 1e-9);
        // The ensemble then ranks unseen points like the target function.
        let test = points(30, 4);
        let pred: Vec<f64> = test.iter().map(|x| e.predict(x).0).collect();
        let truth: Vec<f64> = test.iter().map(|x| f(x)).collect();
        let all: Vec<usize> = (0..test.len()).collect();
        let pairs = (test.len() * (test.len() - 1)) as u64; // in halves
        assert!(
            misranked_halves(&pred, &truth, &all) * 10 < pairs,
            "more than 10% of pairs misranked"
        );
    }

    #[test]
    fn weights_are_deterministic_per_seed_and_split_ties() {
        let y = [1.0, 2.0, 3.0, 4.0, 5.0];
        let good = vec![0.1, 0.2, 0.3, 0.4, 0.5];
        let noisy = vec![0.2, 0.1, 0.3, 0.5, 0.4];
        let loo = vec![0.3, 0.1, 0.2, 0.4, 0.5];
        let a = rank_weights(&y, &[good.clone(), noisy.clone()], &loo, 300, 5);
        let b = rank_weights(&y, &[good.clone(), noisy.clone()], &loo, 300, 5);
        assert_eq!(a, b);
        // A perfect ranker wins every sample, sharing those where another ties it (a
        // sample that misses both swapped pairs of the noisy one).
        assert!(
            a.base[0] > 0.6 && a.base[0] > 2.0 * (a.base[1] + a.target),
            "{a:?}"
        );
        let twins = rank_weights(&y, &[good.clone(), good], &loo, 300, 5);
        assert!((twins.base[0] - twins.base[1]).abs() < 1e-12, "{twins:?}");
        assert!(twins.base[0] > 0.4, "{twins:?}");
    }

    #[test]
    fn too_few_target_points_give_the_base_models_equal_weight() {
        let w = rank_weights(&[1.0], &[vec![0.0], vec![1.0], vec![2.0]], &[0.0], 100, 1);
        assert_eq!(w.base, vec![1.0 / 3.0; 3]);
        assert_eq!(w.target, 0.0);
        let none = rank_weights(&[1.0, 2.0], &[], &[0.0, 0.0], 100, 1);
        assert_eq!(none.target, 1.0);
    }

    #[test]
    fn misranking_counts_reversed_pairs_and_half_ties() {
        let y = [1.0, 2.0, 3.0];
        let all = [0, 1, 2];
        assert_eq!(misranked_halves(&[1.0, 2.0, 3.0], &y, &all), 0);
        assert_eq!(misranked_halves(&[3.0, 2.0, 1.0], &y, &all), 6);
        assert_eq!(misranked_halves(&[1.0, 1.0, 3.0], &y, &all), 1);
        // Equal observations carry no order; a duplicate draw pairs with itself.
        assert_eq!(
            misranked_halves(&[3.0, 2.0, 1.0], &[1.0, 1.0, 1.0], &all),
            0
        );
        assert_eq!(misranked_halves(&[1.0, 2.0, 3.0], &y, &[2, 2]), 0);
    }

    #[test]
    fn the_ensemble_combines_means_linearly_and_variances_with_squared_weights() {
        let opts = FitOptions::default();
        let a = BaseModel::fit(&task("a", points(20, 5), f), &opts).unwrap();
        let b = BaseModel::fit(&task("b", points(20, 6), |x| x[0]), &opts).unwrap();
        let bases = vec![a, b];
        // No target data: equal weights.
        let e = Ensemble::new(&bases, None, &[], &[], 64, 0);
        let x = [0.37, 0.81];
        let (ma, va) = bases[0].predict(&x);
        let (mb, vb) = bases[1].predict(&x);
        let (m, v) = e.predict(&x);
        assert!((m - 0.5 * (ma + mb)).abs() < 1e-12);
        assert!((v - 0.25 * (va + vb)).abs() < 1e-12);
        assert!(e.plug_in_incumbent(&[]).is_finite());
    }
}
