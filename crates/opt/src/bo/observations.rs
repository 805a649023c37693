//! What the optimiser was told, and what the objective's GP is fitted on: the observations
//! capped at their (lower) median, the failed points imputed at that floor, and while a
//! batch is asked the kriging believer's provisional observations.

use crate::stats::lower_median;

/// The observations (projected points, higher-is-better values) and the failed points.
#[derive(Clone, Debug, Default)]
pub(super) struct Observations {
    /// Points, including a batch's provisional ones at the end.
    pub(super) xs: Vec<Vec<f64>>,
    /// Values, including a batch's provisional ones at the end.
    pub(super) ys: Vec<f64>,
    /// Provisional (kriging-believer) observations at the end of `xs`/`ys` while a
    /// batch is being asked.
    pub(super) provisional: usize,
    /// Points told as failures.
    pub(super) failures: Vec<Vec<f64>>,
}

impl Observations {
    /// Records an observation.
    pub(super) fn push(&mut self, x: Vec<f64>, y: f64) {
        self.xs.push(x);
        self.ys.push(y);
    }

    /// Records a provisional observation: a batch's suggestion at the model's mean there.
    pub(super) fn believe(&mut self, x: Vec<f64>, y: f64) {
        self.push(x, y);
        self.provisional += 1;
    }

    /// Drops the provisional observations.
    pub(super) fn forget_believed(&mut self) {
        self.xs.truncate(self.xs.len() - self.provisional);
        self.ys.truncate(self.ys.len() - self.provisional);
        self.provisional = 0;
    }

    /// The real observations, without a batch's provisional ones.
    pub(super) fn real(&self) -> (&[Vec<f64>], &[f64]) {
        let n = self.ys.len() - self.provisional;
        (&self.xs[..n], &self.ys[..n])
    }

    /// What the objective's GP is fitted on: the observations capped at their median
    /// ([`capped`]) and the failed points at that same floor. A configuration that did not
    /// run is no better than the bad half; and where most configurations fail (a high
    /// rate), the GP of the passing ones alone has too few points to have a shape, so its
    /// EI stays high right next to failures. Whether a point runs at all is the
    /// [`PassModel`](super::PassModel)'s to say.
    pub(super) fn surrogate_data(&self) -> (Vec<Vec<f64>>, Vec<f64>) {
        at_floor(self.xs.clone(), capped(&self.ys), &self.failures)
    }

    /// Best observation so far (highest y).
    pub(super) fn best(&self) -> Option<(&[f64], f64)> {
        self.ys
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map(|(i, &y)| (self.xs[i].as_slice(), y))
    }

    /// The `k` points with the highest y, best first.
    pub(super) fn best_observed(&self, k: usize) -> Vec<Vec<f64>> {
        let mut order: Vec<usize> = (0..self.ys.len()).collect();
        order.sort_by(|&a, &b| self.ys[b].total_cmp(&self.ys[a]));
        order
            .into_iter()
            .take(k)
            .map(|i| self.xs[i].clone())
            .collect()
    }
}

/// The observations the GP is fitted on: values below the median raised to it. A
/// stationary GP fitted on a surface with cliffs (a saturated job is orders of magnitude
/// worse than a keeping-up one) spends its length-scales on the cliff; capping the bad
/// tail lets it model where the optimum is, which is all EI needs. The median of an even
/// count is the lower middle value.
pub(super) fn capped(ys: &[f64]) -> Vec<f64> {
    let floor = lower_median(ys);
    ys.iter().map(|&y| y.max(floor)).collect()
}

/// Observations (capped) followed by the failed points at the floor of those values: what
/// a GP of the objective is fitted on (the target's, and the RGPE base models').
pub(super) fn at_floor(
    mut xs: Vec<Vec<f64>>,
    mut ys: Vec<f64>,
    failures: &[Vec<f64>],
) -> (Vec<Vec<f64>>, Vec<f64>) {
    let floor = ys.iter().copied().fold(f64::INFINITY, f64::min);
    if floor.is_finite() {
        for f in failures {
            xs.push(f.clone());
            ys.push(floor);
        }
    }
    (xs, ys)
}
