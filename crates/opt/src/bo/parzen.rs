//! Proposals from per-parameter densities (the tree-structured Parzen estimator of
//! Bergstra et al. 2011): the observations split into a good few and the rest, each
//! parameter's values in either set smoothed into a density, candidates drawn from the
//! good density and ranked by the ratio of the two.
//!
//! Why beside the GP: with fewer points than a few dozen in 30 parameters, the GP cannot
//! tell noise from signal and interpolates every lucky measurement; a density per
//! parameter needs no length-scales and only asks which values the best runs share.

use rand::RngExt;
use rand::rngs::StdRng;

use super::domain::{Domain, Var, choose, chosen};
use crate::normal;

/// The good set: this share of the successful observations (at least 1, at most
/// GOOD_MAX), as Optuna's default split.
const GOOD_SHARE: f64 = 0.1;
const GOOD_MAX: usize = 25;

/// One parameter's Parzen density on `[0,1]`: a uniform-ish prior component (centre ½,
/// width 1) and a truncated normal at each value, equally weighted.
struct Parzen {
    mus: Vec<f64>,
    sigmas: Vec<f64>,
}

impl Parzen {
    /// Bandwidths: each value's wider gap to its sorted neighbours (the ends of the range
    /// count as neighbours), kept between 1/min(100, n + 1) and 1.
    fn new(values: &[f64]) -> Parzen {
        let mut mus: Vec<f64> = values.to_vec();
        mus.push(0.5);
        mus.sort_by(f64::total_cmp);
        let floor = 1.0 / (mus.len() as f64).min(100.0);
        let sigmas = (0..mus.len())
            .map(|i| {
                let left = mus[i] - if i == 0 { 0.0 } else { mus[i - 1] };
                let right = mus.get(i + 1).copied().unwrap_or(1.0) - mus[i];
                left.max(right).clamp(floor, 1.0)
            })
            .collect();
        let mut p = Parzen { mus, sigmas };
        // The prior: the component at ½ spans the whole range.
        if let Some(i) = p.mus.iter().position(|&m| m == 0.5) {
            p.sigmas[i] = 1.0;
        }
        p
    }

    fn sample(&self, rng: &mut StdRng) -> f64 {
        let k = rng.random_range(0..self.mus.len());
        loop {
            let v = self.mus[k] + self.sigmas[k] * normal::sample(rng);
            if (0.0..=1.0).contains(&v) {
                return v;
            }
        }
    }

    fn ln_density(&self, x: f64) -> f64 {
        let sum: f64 = self
            .mus
            .iter()
            .zip(&self.sigmas)
            .map(|(&m, &s)| {
                let mass = normal::cdf((1.0 - m) / s) - normal::cdf(-m / s);
                normal::pdf((x - m) / s) / (s * mass.max(1e-300))
            })
            .sum();
        (sum / self.mus.len() as f64).max(1e-300).ln()
    }
}

/// One categorical parameter's choice probabilities: one count per observation, one
/// spread evenly over the choices as the prior.
fn choice_weights(choices: usize, picked: &[usize]) -> Vec<f64> {
    let mut w = vec![1.0 / choices as f64; choices];
    for &c in picked {
        w[c] += 1.0;
    }
    let total: f64 = w.iter().sum();
    w.iter().map(|v| v / total).collect()
}

/// The density of one variable under the good and the bad set.
enum Pair {
    Numeric(Parzen, Parzen),
    Choice(Vec<f64>, Vec<f64>),
}

/// The two densities per variable of the domain.
fn densities(domain: &Domain, good: &[&[f64]], bad: &[&[f64]]) -> Vec<Pair> {
    let mut offset = 0;
    let mut out = Vec::with_capacity(domain.vars.len());
    for var in &domain.vars {
        let at = offset;
        offset += var.dims();
        out.push(match var {
            Var::Continuous | Var::Grid { .. } => {
                let values = |set: &[&[f64]]| set.iter().map(|x| x[at]).collect::<Vec<_>>();
                Pair::Numeric(Parzen::new(&values(good)), Parzen::new(&values(bad)))
            }
            Var::Categorical { choices } => {
                let n = *choices as usize;
                let picks = |set: &[&[f64]]| {
                    set.iter()
                        .map(|x| chosen(&x[at..at + n]))
                        .collect::<Vec<_>>()
                };
                Pair::Choice(
                    choice_weights(n, &picks(good)),
                    choice_weights(n, &picks(bad)),
                )
            }
        });
    }
    out
}

/// A draw from the good densities (relaxed, projected by the caller) and its score:
/// ln l(x) − ln g(x) summed over the variables.
fn draw(domain: &Domain, pairs: &[Pair], rng: &mut StdRng) -> Vec<f64> {
    let mut z = vec![0.0; domain.dims()];
    let mut offset = 0;
    for (var, pair) in domain.vars.iter().zip(pairs) {
        match pair {
            Pair::Numeric(l, _) => z[offset] = l.sample(rng),
            Pair::Choice(l, _) => {
                let c = pick(l, rng.random::<f64>());
                choose(&mut z[offset..offset + var.dims()], c);
            }
        }
        offset += var.dims();
    }
    domain.project(&z)
}

fn pick(weights: &[f64], u: f64) -> usize {
    let mut acc = 0.0;
    for (i, w) in weights.iter().enumerate() {
        acc += w;
        if u < acc {
            return i;
        }
    }
    weights.len() - 1
}

fn score(domain: &Domain, pairs: &[Pair], p: &[f64]) -> f64 {
    let mut offset = 0;
    let mut s = 0.0;
    for (var, pair) in domain.vars.iter().zip(pairs) {
        s += match pair {
            Pair::Numeric(l, g) => l.ln_density(p[offset]) - g.ln_density(p[offset]),
            Pair::Choice(l, g) => {
                let c = chosen(&p[offset..offset + var.dims()]);
                l[c].ln() - g[c].ln()
            }
        };
        offset += var.dims();
    }
    s
}

/// The two densities of a set of observations, for weighting an acquisition (πBO with
/// the densities' ratio as the belief) and for drawing candidates from the good one.
pub(super) struct Prior {
    pairs: Vec<Pair>,
}

impl Prior {
    pub(super) fn new(
        domain: &Domain,
        xs: &[Vec<f64>],
        ys: &[f64],
        failures: &[Vec<f64>],
    ) -> Prior {
        let mut order: Vec<usize> = (0..ys.len()).collect();
        order.sort_by(|&a, &b| ys[b].total_cmp(&ys[a]));
        let n_good = ((GOOD_SHARE * ys.len() as f64).ceil() as usize).clamp(1, GOOD_MAX);
        let n_good = n_good.min(order.len());
        let good: Vec<&[f64]> = order[..n_good].iter().map(|&i| xs[i].as_slice()).collect();
        let bad: Vec<&[f64]> = order[n_good..]
            .iter()
            .map(|&i| xs[i].as_slice())
            .chain(failures.iter().map(Vec::as_slice))
            .collect();
        Prior {
            pairs: densities(domain, &good, &bad),
        }
    }

    pub(super) fn ln_ratio(&self, domain: &Domain, p: &[f64]) -> f64 {
        score(domain, &self.pairs, p)
    }

    pub(super) fn draws(&self, domain: &Domain, n: usize, rng: &mut StdRng) -> Vec<Vec<f64>> {
        (0..n).map(|_| draw(domain, &self.pairs, rng)).collect()
    }
}

pub(super) fn knob(name: &str, default: f64) -> f64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
