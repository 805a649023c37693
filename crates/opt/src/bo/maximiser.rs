//! The acquisition maximiser: the unseen point with the highest score, by enumeration of a
//! small discrete domain, else by random candidates ([`super::candidates`]) visited lazily
//! and hill-climbing from the best few. The one maximiser of both
//! [`BayesOpt::ask`](super::BayesOpt::ask) (the surrogate's acquisition) and
//! [`BayesOpt::ask_scored`](super::BayesOpt::ask_scored) (a caller's score).

use rand::RngExt;
use rand::rngs::StdRng;

use super::candidates::{candidates, neighbours};
use super::domain::{Domain, Var, choose, key, nearest};
use super::feasibility::Precheck;
use super::options::BoOptions;
use super::scoring::Scoring;
use super::seen::Seen;

/// Candidates whose probability of success is evaluated at once.
const BATCH: usize = 64;

/// Best-scoring point not yet asked or told that the precheck admits.
struct Incumbent<'a> {
    seen: &'a Seen,
    precheck: Option<&'a Precheck>,
    best: Option<(f64, Vec<f64>)>,
}

impl Incumbent<'_> {
    fn consider(&mut self, score: f64, p: &[f64]) {
        let score = if score.is_nan() {
            f64::NEG_INFINITY
        } else {
            score
        };
        if self.best.as_ref().is_some_and(|(s, _)| score <= *s) {
            return;
        }
        // The precheck is asked last, and only of a would-be incumbent: it may be costly.
        if !self.seen.contains(p) && self.precheck.is_none_or(|f| f(p)) {
            self.best = Some((score, p.to_vec()));
        }
    }

    /// The incumbent's score (−∞ before the first).
    fn bar(&self) -> f64 {
        self.best.as_ref().map_or(f64::NEG_INFINITY, |b| b.0)
    }
}

/// What one maximisation works with: the domain, the optimiser's random source, the points
/// never to suggest again, and the options (candidates, local starts and steps).
pub(super) struct Maximiser<'a> {
    pub(super) domain: &'a Domain,
    pub(super) rng: &'a mut StdRng,
    pub(super) seen: &'a Seen,
    pub(super) precheck: Option<&'a Precheck>,
    pub(super) opts: &'a BoOptions,
}

impl Maximiser<'_> {
    /// The unseen point the precheck admits with the highest score: every point of a small discrete domain,
    /// else random candidates around `anchors` and hill-climbing (see [`Maximiser::search`]).
    /// None when no unseen point was found.
    pub(super) fn maximise(
        &mut self,
        scorer: &dyn Scoring,
        anchors: &[Vec<f64>],
    ) -> Option<Vec<f64>> {
        let mut inc = Incumbent {
            seen: self.seen,
            precheck: self.precheck,
            best: None,
        };
        match self.domain.cardinality() {
            Some(c) if c <= self.opts.candidates as u128 => {
                // Small discrete domain: exact maximisation by enumeration.
                let points = self.domain.enumerate();
                let bases: Vec<f64> = points.iter().map(|p| scorer.base(p)).collect();
                for (p, s) in points.iter().zip(scorer.full_many(&points, &bases)) {
                    inc.consider(s, p);
                }
            }
            _ => self.search(scorer, anchors, &mut inc),
        }
        inc.best.take().map(|(_, p)| p)
    }

    /// Random candidates, then hill-climbing from the best few. Every
    /// evaluation is at the projection of a relaxed point.
    ///
    /// The probability of success is often the expensive part of a score (a forest of
    /// a hundred trees, Flink's memory rules) and it can only lower the acquisition, so
    /// it is evaluated lazily: candidates are visited by acquisition alone, best first,
    /// in batches, and the visit stops once no remaining candidate could enter the
    /// start set or beat the incumbent even with probability 1. The result is the same
    /// as scoring every candidate in full.
    fn search(&mut self, scorer: &dyn Scoring, anchors: &[Vec<f64>], inc: &mut Incumbent<'_>) {
        let mut zs = candidates(self.domain, self.rng, anchors, self.opts.candidates);
        if self.opts.discrete_neighbours
            && let Some(best) = anchors.first()
        {
            zs.extend(neighbours(self.domain, best));
        }
        let n = zs.len();
        let points: Vec<Vec<f64>> = zs.iter().map(|z| self.domain.project(z)).collect();
        let bases: Vec<f64> = points.iter().map(|p| scorer.base(p)).collect();
        let mut by_base: Vec<usize> = (0..n).collect();
        by_base.sort_by(|&a, &b| bases[b].total_cmp(&bases[a]));

        // Start points: the best candidates (full score) with distinct projections.
        let k = self.opts.local_starts;
        let mut starts: Vec<(f64, usize, Vec<u64>)> = Vec::with_capacity(k + 1);
        let mut at = 0;
        while at < n {
            // Nothing left can enter the start set or become the incumbent.
            let start_bar = match starts.get(k.wrapping_sub(1)) {
                _ if k == 0 => f64::INFINITY,
                Some(last) => last.0,
                None => f64::NEG_INFINITY,
            };
            if bases[by_base[at]] <= start_bar.min(inc.bar()) {
                break;
            }
            let chunk = &by_base[at..(at + BATCH).min(n)];
            let ps: Vec<Vec<f64>> = chunk.iter().map(|&i| points[i].clone()).collect();
            let bs: Vec<f64> = chunk.iter().map(|&i| bases[i]).collect();
            for ((&i, p), s) in chunk.iter().zip(&ps).zip(scorer.full_many(&ps, &bs)) {
                inc.consider(s, p);
                let kp = key(p);
                if k > 0 && !starts.iter().any(|st| st.2 == kp) {
                    let pos = starts.partition_point(|st| st.0 >= s);
                    if pos < k {
                        starts.insert(pos, (s, i, kp));
                        starts.truncate(k);
                    }
                }
            }
            at += chunk.len();
        }
        for (s, i, _) in starts {
            self.hill_climb(scorer, inc, zs[i].clone(), s);
        }
    }

    /// Stochastic hill-climbing in the relaxed cube with an adaptive step (see
    /// [`Maximiser::propose`]). A move whose acquisition alone cannot beat the current
    /// point or the incumbent is rejected without weighing its probability of success
    /// (which could only lower it).
    fn hill_climb(
        &mut self,
        scorer: &dyn Scoring,
        inc: &mut Incumbent<'_>,
        mut z: Vec<f64>,
        mut s: f64,
    ) {
        let offsets = self.domain.offsets();
        let mut step: f64 = 0.1;
        let mut cur_key = key(&self.domain.project(&z));
        for _ in 0..self.opts.local_steps {
            let zn = self.propose(&z, step, &offsets);
            let p = self.domain.project(&zn);
            let k = key(&p);
            if k == cur_key {
                // Same projected point: the acquisition cannot change. Accept
                // the relaxed move (free drift within the cell) but shrink.
                z = zn;
                step = (step * 0.9).max(1e-3);
                continue;
            }
            let base = scorer.base(&p);
            let sn = if base <= s && base <= inc.bar() {
                base.min(s) // rejected whatever the weight; never used as a score
            } else {
                let sn = scorer.full_many(std::slice::from_ref(&p), &[base])[0];
                inc.consider(sn, &p);
                sn
            };
            if sn > s {
                z = zn;
                s = sn;
                cur_key = k;
                step = (step * 1.3).min(0.5);
            } else {
                step = (step * 0.85).max(1e-3);
            }
        }
    }

    /// A move from `z`: either a Gaussian move of all dimensions or a structured move of
    /// one variable (Gaussian for continuous, ±1 level for integers, another choice for
    /// categoricals).
    fn propose(&mut self, z: &[f64], step: f64, offsets: &[usize]) -> Vec<f64> {
        let mut zn = z.to_vec();
        if self.rng.random::<f64>() < 0.5 {
            for v in zn.iter_mut() {
                *v = (*v + step * crate::normal::sample_complement(self.rng)).clamp(0.0, 1.0);
            }
            return zn;
        }
        let vi = self.rng.random_range(0..self.domain.vars.len());
        let o = offsets[vi];
        match &self.domain.vars[vi] {
            Var::Continuous => {
                zn[o] = (zn[o] + step * crate::normal::sample_complement(self.rng)).clamp(0.0, 1.0);
            }
            Var::Grid { points } => {
                if points.len() > 1 {
                    let k = nearest(points, zn[o].clamp(0.0, 1.0));
                    let k = if self.rng.random::<bool>() {
                        (k + 1).min(points.len() - 1)
                    } else {
                        k.saturating_sub(1)
                    };
                    zn[o] = points[k];
                }
            }
            Var::Categorical { choices } => {
                let n = *choices as usize;
                let c = self.rng.random_range(0..n);
                choose(&mut zn[o..o + n], c);
            }
        }
        zn
    }
}
