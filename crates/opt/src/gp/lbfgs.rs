//! Box-constrained minimisation by projected L-BFGS with Armijo backtracking along the
//! projected path: how [`super::fit`] maximises the marginal likelihood.
//!
//! Why not argmin's L-BFGS: it is unconstrained, so bounds would need either
//! a sigmoid reparametrisation (whose saturation stalls the search when an
//! irrelevant lengthscale runs to its bound — exactly the ARD case) or a
//! penalty with a kink at the bound; its first step is the raw `−∇f`, which
//! badly overshoots on LML surfaces; and its split cost/gradient traits would
//! repeat the O(n³) factorisation. This version projects onto the box, caps
//! the step, keeps the best point seen, and cannot error out.

use std::collections::VecDeque;

use super::likelihood::dot;

/// Curvature pairs kept.
const MEMORY: usize = 8;
/// Max change of any log-hyperparameter in one step (e² ≈ 7.4×).
const MAX_STEP: f64 = 2.0;

/// The curvature pairs `(s, y, 1/sᵀy)`, oldest first.
type History = VecDeque<(Vec<f64>, Vec<f64>, f64)>;

/// The box `[lo, hi]`.
struct Bounds<'a> {
    lo: &'a [f64],
    hi: &'a [f64],
}

impl Bounds<'_> {
    fn project(&self, v: &mut [f64]) {
        for ((v, l), h) in v.iter_mut().zip(self.lo).zip(self.hi) {
            *v = v.clamp(*l, *h);
        }
    }

    /// Active set: variables at a bound with the gradient pushing outward.
    fn active(&self, x: &[f64], g: &[f64]) -> Vec<bool> {
        (0..x.len())
            .map(|i| (x[i] <= self.lo[i] && g[i] > 0.0) || (x[i] >= self.hi[i] && g[i] < 0.0))
            .collect()
    }
}

/// Minimises `f` (value and gradient) over the box `[lo, hi]` from `x0`, for at most
/// `max_iters` iterations; the point reached and its value.
///
/// `f` returns `None` where the objective cannot be evaluated; such trial
/// points are treated as "too far" and the step is shortened.
pub(super) fn minimize_box<F>(
    mut f: F,
    x0: &[f64],
    lo: &[f64],
    hi: &[f64],
    max_iters: u64,
) -> Option<(Vec<f64>, f64)>
where
    F: FnMut(&[f64]) -> Option<(f64, Vec<f64>)>,
{
    let bounds = Bounds { lo, hi };
    let m = x0.len();
    let mut x = x0.to_vec();
    bounds.project(&mut x);
    let (mut fx, mut g) = f(&x)?;
    let mut hist: History = VecDeque::new();

    for _ in 0..max_iters {
        let active = bounds.active(&x, &g);
        let pg_max = (0..m)
            .filter(|&i| !active[i])
            .map(|i| g[i].abs())
            .fold(0.0, f64::max);
        if pg_max < 1e-6 {
            break;
        }
        let dir = direction(&mut hist, &g, &active);
        let Some((xn, fnew, gnew)) = line_search(&mut f, &bounds, &x, fx, &g, &dir) else {
            break;
        };
        remember(&mut hist, &xn, &x, &gnew, &g);
        let converged = (fx - fnew).abs() <= 1e-10 * (1.0 + fx.abs());
        x = xn;
        fx = fnew;
        g = gnew;
        if converged {
            break;
        }
    }
    Some((x, fx))
}

/// The L-BFGS direction on the free variables (two-loop recursion), or steepest descent
/// (and a cleared history) where the curvature information is useless; scaled so that no
/// coordinate moves more than [`MAX_STEP`].
fn direction(hist: &mut History, g: &[f64], active: &[bool]) -> Vec<f64> {
    let m = g.len();
    let mut q: Vec<f64> = (0..m).map(|i| if active[i] { 0.0 } else { g[i] }).collect();
    let mut alphas = Vec::with_capacity(hist.len());
    for (s, y, rho) in hist.iter().rev() {
        let a = rho * dot(s, &q);
        for i in 0..m {
            q[i] -= a * y[i];
        }
        alphas.push(a);
    }
    let gamma = hist
        .back()
        .map(|(s, y, _)| dot(s, y) / dot(y, y))
        .unwrap_or(1.0);
    for qi in q.iter_mut() {
        *qi *= gamma;
    }
    for ((s, y, rho), a) in hist.iter().zip(alphas.iter().rev()) {
        let b = rho * dot(y, &q);
        for i in 0..m {
            q[i] += s[i] * (a - b);
        }
    }
    let mut dir: Vec<f64> = (0..m)
        .map(|i| if active[i] { 0.0 } else { -q[i] })
        .collect();
    let slope = dot(&dir, g);
    if slope.is_nan() || slope >= 0.0 || dir.iter().any(|v| !v.is_finite()) {
        // Curvature information is useless here: restart from steepest
        // descent.
        hist.clear();
        dir = (0..m)
            .map(|i| if active[i] { 0.0 } else { -g[i] })
            .collect();
    }
    let dmax = dir.iter().fold(0.0f64, |a, v| a.max(v.abs()));
    if dmax > MAX_STEP {
        for v in dir.iter_mut() {
            *v *= MAX_STEP / dmax;
        }
    }
    dir
}

/// Backtracking along the projected path from `x` in direction `dir` until the Armijo
/// condition holds: the accepted point, its value and gradient (None: no step found).
fn line_search<F>(
    f: &mut F,
    bounds: &Bounds<'_>,
    x: &[f64],
    fx: f64,
    g: &[f64],
    dir: &[f64],
) -> Option<(Vec<f64>, f64, Vec<f64>)>
where
    F: FnMut(&[f64]) -> Option<(f64, Vec<f64>)>,
{
    let mut t = 1.0;
    while t > 1e-10 {
        let mut xn: Vec<f64> = x.iter().zip(dir).map(|(a, b)| a + t * b).collect();
        bounds.project(&mut xn);
        let decrease: f64 = g
            .iter()
            .zip(xn.iter().zip(x))
            .map(|(gi, (a, b))| gi * (a - b))
            .sum();
        if let Some((fnew, gnew)) = f(&xn)
            && fnew.is_finite()
            && fnew <= fx + 1e-4 * decrease
        {
            return Some((xn, fnew, gnew));
        }
        t *= 0.5;
    }
    None
}

/// Keeps the step's curvature pair if its curvature is positive (so H stays positive
/// definite), at most [`MEMORY`] pairs.
fn remember(hist: &mut History, xn: &[f64], x: &[f64], gnew: &[f64], g: &[f64]) {
    let s: Vec<f64> = xn.iter().zip(x).map(|(a, b)| a - b).collect();
    let y: Vec<f64> = gnew.iter().zip(g).map(|(a, b)| a - b).collect();
    let sy = dot(&s, &y);
    if sy > 1e-10 * dot(&y, &y).sqrt() * dot(&s, &s).sqrt() && sy > 0.0 {
        hist.push_back((s, y, 1.0 / sy));
        if hist.len() > MEMORY {
            hist.pop_front();
        }
    }
}
