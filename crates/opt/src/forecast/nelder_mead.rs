//! Nelder–Mead over the unit box: how the Holt-Winters parameters are fitted.

/// Clamps every coordinate into `[0, 1]`.
fn clamp(v: Vec<f64>) -> Vec<f64> {
    v.into_iter().map(|x| x.clamp(0.0, 1.0)).collect::<Vec<_>>()
}

/// The start simplex: `x0` and, per coordinate, `x0` moved 0.2 into the box, with their
/// values.
fn initial_simplex(f: &dyn Fn(&[f64]) -> f64, x0: &[f64]) -> Vec<(Vec<f64>, f64)> {
    let d = x0.len();
    let mut simplex: Vec<(Vec<f64>, f64)> = Vec::with_capacity(d + 1);
    simplex.push((x0.to_vec(), f(x0)));
    for i in 0..d {
        let mut x = x0.to_vec();
        x[i] = if x[i] + 0.2 <= 1.0 {
            x[i] + 0.2
        } else {
            x[i] - 0.2
        };
        let fx = f(&x);
        simplex.push((x, fx));
    }
    simplex
}

/// Minimises `f` over the unit box by Nelder-Mead with trial points clamped into the box.
///
/// Hand-written because the problem is tiny (3–4 parameters, a cheap objective without a
/// gradient) and bounded; argmin's Nelder-Mead has no bounds (a sigmoid transform would
/// flatten the objective near α, γ → 0, where fits often land) and is not a dependency.
pub(super) fn nelder_mead_box(
    f: &dyn Fn(&[f64]) -> f64,
    x0: &[f64],
    max_evals: usize,
) -> (Vec<f64>, f64) {
    let d = x0.len();
    let mut simplex = initial_simplex(f, &clamp(x0.to_vec()));
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
            clamp(
                (0..d)
                    .map(|i| centroid[i] + t * (simplex[d].0[i] - centroid[i]))
                    .collect(),
            )
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
                // Shrink toward the best point.
                let best = simplex[0].0.clone();
                for p in simplex.iter_mut().skip(1) {
                    let x: Vec<f64> = (0..d).map(|i| best[i] + 0.5 * (p.0[i] - best[i])).collect();
                    p.1 = f(&x);
                    p.0 = x;
                }
                evals += d;
            }
        }
    }
    simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
    simplex.swap_remove(0)
}
