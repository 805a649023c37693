//! Whether the GP's noise is the measurements' own. A GP fitted on a few dozen points
//! explains what it cannot follow as noise; replicates of the best points measure the
//! noise of one evaluation, and set against the GP's fitted noise they tell a surface the
//! GP misreads (the simulator's capped latency: fitted noise some fifty times the
//! measurements') from measurements that noisy (ten weak parameters under 10% noise),
//! where proposals from per-parameter densities do better than the GP.

use std::collections::BTreeMap;

use crate::gp::Gp;
use crate::normal;

/// Successful observations before the check runs: the GP's noise is unsettled before.
const FROM: usize = 20;
/// The fitted noise (a share of the standardised targets' variance) above which it is
/// checked: the suite's smooth problems fit 1e-6, the noisy and the misread ones 0.25–0.4.
const NOISY: f64 = 0.05;
/// Degrees of freedom of the replicates before they judge (one replicate of each of the
/// three best points): at this many a noise fifty times too small is called misread in 2%
/// of runs, and a 10% noise read right in four of five.
const DOF: usize = 3;
/// The χ² tail below which the replicates' spread is too small for the GP's noise.
const ALPHA: f64 = 0.05;

/// What the replicates say about the GP's fitted noise.
#[derive(Debug, PartialEq)]
pub(super) enum Verdict {
    /// Too few observations, or too little fitted noise to question.
    Quiet,
    /// The next evaluation: this point again (the best not yet replicated).
    Replicate(Vec<f64>),
    /// The replicates spread as the GP's noise says: the measurements are that noisy.
    Measured,
    /// The replicates spread far less: the GP's noise is what it cannot follow.
    Misread,
}

/// The verdict on `gp`, fitted on (among others) the observations `xs`, `ys`, of which the
/// first `real` were measured and the rest are a batch's provisional ones (a replicate
/// asked in the batch counts as asked; only measured ones judge).
pub(super) fn verdict(xs: &[Vec<f64>], ys: &[f64], real: usize, gp: &Gp) -> Verdict {
    let fitted = gp.hyper().log_noise_var.exp();
    if real < FROM || fitted < NOISY {
        return Verdict::Quiet;
    }
    let asked = by_point(xs, xs.len());
    if spread(&asked, ys).1 < DOF {
        let once = asked.values().filter(|g| g.len() == 1).map(|g| g[0]);
        return match once.max_by(|&a, &b| ys[a].total_cmp(&ys[b])) {
            Some(i) => Verdict::Replicate(xs[i].clone()),
            None => Verdict::Quiet,
        };
    }
    let (ss, dof) = spread(&by_point(xs, real), ys);
    if dof < DOF {
        return Verdict::Quiet;
    }
    let y_std = gp.standardisation().1;
    let noise = fitted * y_std * y_std;
    match ss / noise < chi2_lower(dof, ALPHA) {
        true => Verdict::Misread,
        false => Verdict::Measured,
    }
}

/// The first `n` observations' indices grouped by equal point.
fn by_point(xs: &[Vec<f64>], n: usize) -> BTreeMap<Vec<u64>, Vec<usize>> {
    let mut groups: BTreeMap<Vec<u64>, Vec<usize>> = BTreeMap::new();
    for (i, x) in xs[..n].iter().enumerate() {
        let key = x.iter().map(|v| v.to_bits()).collect();
        groups.entry(key).or_default().push(i);
    }
    groups
}

/// The replicates' sum of squares about their points' means and its degrees of freedom.
fn spread(groups: &BTreeMap<Vec<u64>, Vec<usize>>, ys: &[f64]) -> (f64, usize) {
    let (mut ss, mut dof) = (0.0, 0);
    for g in groups.values().filter(|g| g.len() > 1) {
        let mean = g.iter().map(|&i| ys[i]).sum::<f64>() / g.len() as f64;
        ss += g.iter().map(|&i| (ys[i] - mean).powi(2)).sum::<f64>();
        dof += g.len() - 1;
    }
    (ss, dof)
}

/// The lower `p` quantile of χ² with `k` degrees of freedom (Wilson–Hilferty; 0.33 for
/// k = 3, p = 0.05, where the exact value is 0.35).
fn chi2_lower(k: usize, p: f64) -> f64 {
    let k = k as f64;
    let c = 2.0 / (9.0 * k);
    k * (1.0 - c + normal::quantile(p) * c.sqrt()).powi(3).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gp::{Hyper, with_hyper};
    use rand::rngs::StdRng;
    use rand::{RngExt, SeedableRng};

    /// 24 random points in 2-D with values of spread ~1, and a GP on them whose fitted
    /// noise is `noise` of the standardised variance.
    fn observed(noise: f64) -> (Vec<Vec<f64>>, Vec<f64>, Gp) {
        let mut rng = StdRng::seed_from_u64(5);
        let xs: Vec<Vec<f64>> = (0..24)
            .map(|_| vec![rng.random::<f64>(), rng.random::<f64>()])
            .collect();
        let ys: Vec<f64> = xs.iter().map(|x| x[0] + x[1]).collect();
        let hyper = Hyper {
            log_noise_var: noise.ln(),
            ..Hyper::default_for(2)
        };
        let gp = with_hyper(&xs, &ys, hyper).unwrap();
        (xs, ys, gp)
    }

    /// `xs`, `ys` with the three best points measured again, off by `offsets`.
    fn replicated(xs: &mut Vec<Vec<f64>>, ys: &mut Vec<f64>, gp: &Gp, offsets: [f64; 3]) {
        for d in offsets {
            let Verdict::Replicate(x) = verdict(xs, ys, xs.len(), gp) else {
                panic!("expected a replicate");
            };
            let i = xs.iter().position(|p| *p == x).unwrap();
            ys.push(ys[i] + d);
            xs.push(x);
        }
    }

    #[test]
    fn the_three_best_points_are_replicated_then_judged() {
        let (mut xs, mut ys, gp) = observed(0.3);
        let mut best: Vec<usize> = (0..ys.len()).collect();
        best.sort_by(|&a, &b| ys[b].total_cmp(&ys[a]));
        let first = xs[best[0]].clone();
        assert_eq!(verdict(&xs, &ys, 24, &gp), Verdict::Replicate(first));
        // The GP's noise in y units: 0.3 of the variance, an sd of about 0.55 × 0.4.
        let sd = (0.3f64).sqrt() * gp.standardisation().1;
        replicated(&mut xs, &mut ys, &gp, [sd, -sd, 1.5 * sd]);
        assert_eq!(xs[24], xs[best[0]]);
        assert_eq!(xs[26], xs[best[2]]);
        assert_eq!(verdict(&xs, &ys, xs.len(), &gp), Verdict::Measured);
    }

    #[test]
    fn replicates_far_closer_than_the_fitted_noise_call_it_misread() {
        let (mut xs, mut ys, gp) = observed(0.3);
        let sd = (0.3f64).sqrt() * gp.standardisation().1;
        replicated(&mut xs, &mut ys, &gp, [0.1 * sd, -0.05 * sd, 0.1 * sd]);
        assert_eq!(verdict(&xs, &ys, xs.len(), &gp), Verdict::Misread);
    }

    #[test]
    fn little_fitted_noise_or_few_points_ask_for_nothing() {
        let (xs, ys, gp) = observed(1e-4);
        assert_eq!(verdict(&xs, &ys, xs.len(), &gp), Verdict::Quiet);
        let (xs, ys, gp) = observed(0.3);
        assert_eq!(verdict(&xs[..19], &ys[..19], 19, &gp), Verdict::Quiet);
    }

    #[test]
    fn chi2_quantiles_are_close_to_the_exact_ones() {
        // scipy.stats.chi2.ppf(0.05, k) for k = 3, 10.
        assert!((chi2_lower(3, 0.05) - 0.3518).abs() < 0.03);
        assert!((chi2_lower(10, 0.05) - 3.9403).abs() < 0.03);
    }
}
