//! Nelder–Mead over the unit box: how the Holt-Winters parameters are fitted.
//!
//! The simplex moves freely in ℝᵈ and the objective is read through a reflection of each
//! coordinate into [0, 1] (…, 1.2 → 0.8, 1 → 1, 0.3 → 0.3, −0.2 → 0.2, …). Clamping
//! instead would map every step past a face onto the face, the simplex would flatten
//! there and stop, ending on a bound (β = 0) short of an optimum near it; reflected, an
//! optimum on a face becomes an interior minimum of the mirrored objective, which the
//! simplex can surround. A logistic map would also keep the simplex whole but flattens the
//! objective near the bounds, where fits often land (α, γ → 0). Each converged run restarts
//! from its best vertex with a fresh simplex until a restart no longer improves, which
//! undoes a premature collapse.

/// `x` folded into [0, 1] by reflection at the faces.
fn reflect(x: f64) -> f64 {
    let t = x.rem_euclid(2.0);
    if t > 1.0 { 2.0 - t } else { t }
}

fn reflected(x: &[f64]) -> Vec<f64> {
    x.iter().map(|&v| reflect(v)).collect()
}

/// Restarts at most after the first run.
const MAX_RESTARTS: usize = 8;

/// Minimises `f` over the unit box from `x0` within `max_evals` evaluations per run:
/// the best point found (inside the box) and its value.
///
/// Hand-written because the problem is tiny (3–4 parameters, a cheap objective without a
/// gradient) and bounded, and the bounds are the point: argmin's Nelder–Mead has none.
pub(super) fn nelder_mead_box(
    f: &dyn Fn(&[f64]) -> f64,
    x0: &[f64],
    max_evals: usize,
) -> (Vec<f64>, f64) {
    let g = |x: &[f64]| f(&reflected(x));
    let mut best = run(&g, &reflected(x0), max_evals);
    for _ in 0..MAX_RESTARTS {
        let next = run(&g, &reflected(&best.0), max_evals);
        let gained = best.1 - next.1 > 1e-10 * (1.0 + best.1.abs());
        if next.1 < best.1 {
            best = next;
        }
        if !gained {
            break;
        }
    }
    (reflected(&best.0), best.1)
}

/// The start simplex: `x0` and, per coordinate, `x0` moved 0.2 toward the box's middle.
fn initial_simplex(f: &dyn Fn(&[f64]) -> f64, x0: &[f64]) -> Vec<(Vec<f64>, f64)> {
    let mut simplex = vec![(x0.to_vec(), f(x0))];
    for i in 0..x0.len() {
        let mut x = x0.to_vec();
        x[i] += if x[i] <= 0.5 { 0.2 } else { -0.2 };
        let fx = f(&x);
        simplex.push((x, fx));
    }
    simplex
}

/// One Nelder–Mead run from `x0` (standard coefficients: reflection 1, expansion 2,
/// contraction ½, shrink ½) until the values agree to 1e-12 or the budget is spent.
fn run(f: &dyn Fn(&[f64]) -> f64, x0: &[f64], max_evals: usize) -> (Vec<f64>, f64) {
    let d = x0.len();
    let mut simplex = initial_simplex(f, x0);
    let mut evals = d + 1;
    while evals < max_evals {
        simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
        let spread = simplex[d].1 - simplex[0].1;
        if spread <= 1e-12 * (1.0 + simplex[0].1.abs()) {
            break;
        }
        let centroid: Vec<f64> = (0..d)
            .map(|i| simplex[..d].iter().map(|p| p.0[i]).sum::<f64>() / d as f64)
            .collect();
        let toward = |t: f64| -> Vec<f64> {
            (0..d)
                .map(|i| centroid[i] + t * (simplex[d].0[i] - centroid[i]))
                .collect()
        };
        let xr = toward(-1.0);
        let fr = f(&xr);
        evals += 1;
        if fr < simplex[0].1 {
            let xe = toward(-2.0);
            let fe = f(&xe);
            evals += 1;
            simplex[d] = if fe < fr { (xe, fe) } else { (xr, fr) };
        } else if fr < simplex[d - 1].1 {
            simplex[d] = (xr, fr);
        } else {
            let xc = if fr < simplex[d].1 {
                toward(-0.5)
            } else {
                toward(0.5)
            };
            let fc = f(&xc);
            evals += 1;
            if fc < fr.min(simplex[d].1) {
                simplex[d] = (xc, fc);
            } else {
                shrink(f, &mut simplex);
                evals += d;
            }
        }
    }
    simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
    simplex.swap_remove(0)
}

/// Every vertex halfway toward the best (the first).
fn shrink(f: &dyn Fn(&[f64]) -> f64, simplex: &mut [(Vec<f64>, f64)]) {
    let best = simplex[0].0.clone();
    for p in simplex.iter_mut().skip(1) {
        let x: Vec<f64> = best
            .iter()
            .zip(&p.0)
            .map(|(b, v)| b + 0.5 * (v - b))
            .collect();
        p.1 = f(&x);
        p.0 = x;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reflection_folds_into_the_unit_interval() {
        for (x, want) in [
            (0.3, 0.3),
            (1.2, 0.8),
            (-0.2, 0.2),
            (2.3, 0.3),
            (1.0, 1.0),
            (-1.0, 1.0),
        ] {
            assert!((reflect(x) - want).abs() < 1e-12, "{x}: {}", reflect(x));
        }
    }

    #[test]
    fn an_optimum_on_a_face_and_one_just_inside_are_both_found() {
        // Minimum at (0, 0.7): on the face x₀ = 0, where a clamped simplex used to stall
        // off the optimum in the other coordinate.
        let on_face = |x: &[f64]| (x[0] + 0.05).powi(2) + 3.0 * (x[1] - 0.7).powi(2);
        let (x, v) = nelder_mead_box(&on_face, &[0.6, 0.1], 400);
        assert!(x[0] < 1e-5 && (x[1] - 0.7).abs() < 1e-5, "{x:?}");
        assert!((v - 0.0025).abs() < 1e-9, "{v}");
        // Minimum at (0.003, 0.99), just inside two faces: clamping stopped at
        // (0.00495, 0.99010), f = 3.9e-6.
        let inside = |x: &[f64]| (x[0] - 0.003).powi(2) + (x[1] - 0.99).powi(2) * 10.0;
        let (x, v) = nelder_mead_box(&inside, &[0.5, 0.5], 400);
        assert!(
            (x[0] - 0.003).abs() < 1e-5 && (x[1] - 0.99).abs() < 1e-5,
            "{x:?}"
        );
        assert!(v < 1e-9, "{v}");
    }
}
