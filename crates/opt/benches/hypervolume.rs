//! Exact hypervolume for 4–6 objectives against pymoo's, in the same run, and what one EHVI
//! evaluation costs: fronts of 20 to 100 mutually non-dominated points (uniform on the unit
//! sphere's positive orthant, reference 1.1 in every objective); per front the time of one
//! hypervolume next to pymoo's `HV` on the same front (`scripts/hypervolume_pymoo.py`, which
//! installs pymoo in a venv under target/), of one improvement (a point just inside the
//! front), and of one EHVI evaluation of a candidate whose posterior is centred there
//! (standard deviation 0.1 per objective): the search's draws (`opt::mobo::mc_draws`), with
//! the estimate's relative error against 4096 independent draws (root mean square over 64
//! suggestions' draws).
//! Values are checked against pymoo's too.
//!
//! Run with `cargo bench --profile dev -p flinktune-opt --bench hypervolume` (the dev
//! profile builds the numeric core at opt-level 3, as every dependency).

use opt::mobo::{mc_draws, mc_samples};
use opt::pareto::{hypervolume, improvement};
use rand::SeedableRng;
use rand::rngs::StdRng;
use std::process::Command;
use std::time::Instant;

/// Draws behind the reference EHVI value the estimate's error is measured against.
const REFERENCE_DRAWS: usize = 4096;
/// Posterior standard deviation of the candidate in every (normalised) objective.
const CANDIDATE_SD: f64 = 0.1;

struct Case {
    m: usize,
    front: Vec<Vec<f64>>,
    point: Vec<f64>,
    /// The candidate's posterior draws: `REFERENCE_DRAWS` of them.
    draws: Vec<Vec<f64>>,
}

fn on_sphere(rng: &mut StdRng, m: usize, radius: f64) -> Vec<f64> {
    let v: Vec<f64> = (0..m)
        .map(|_| opt::normal::sample(rng).abs() + 1e-9)
        .collect();
    let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
    v.iter().map(|x| radius * x / norm).collect()
}

fn case(m: usize, n: usize, seed: u64) -> Case {
    let mut rng = StdRng::seed_from_u64(seed);
    let front = (0..n).map(|_| on_sphere(&mut rng, m, 1.0)).collect();
    let point = on_sphere(&mut rng, m, 0.97);
    let draws = (0..REFERENCE_DRAWS)
        .map(|_| {
            point
                .iter()
                .map(|mu| mu + CANDIDATE_SD * opt::normal::sample(&mut rng))
                .collect()
        })
        .collect();
    Case {
        m,
        front,
        point,
        draws,
    }
}

/// Median seconds of `f` over repeats within about 0.2 s (at least 3).
fn timed(mut f: impl FnMut() -> f64) -> f64 {
    let mut times = Vec::new();
    let start = Instant::now();
    let mut sink = 0.0;
    while times.len() < 3 || (start.elapsed().as_secs_f64() < 0.2 && times.len() < 1000) {
        let t = Instant::now();
        sink += f();
        times.push(t.elapsed().as_secs_f64());
    }
    std::hint::black_box(sink);
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// pymoo's value, time and value with the point, per case; None when it cannot run.
fn pymoo(cases: &[Case], reference: &[Vec<f64>]) -> Option<Vec<(f64, f64, f64)>> {
    let json: Vec<serde_json::Value> = cases
        .iter()
        .zip(reference)
        .map(|(c, r)| serde_json::json!({"reference": r, "front": c.front, "point": c.point}))
        .collect();
    let path = std::env::temp_dir().join(format!("flinktune-hv-{}.json", std::process::id()));
    std::fs::write(&path, serde_json::to_string(&json).ok()?).ok()?;
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scripts/hypervolume_pymoo.py"
    );
    let out = Command::new("python3")
        .arg(script)
        .arg(&path)
        .output()
        .ok()?;
    let _ = std::fs::remove_file(&path);
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        eprintln!("pymoo not measured: {}", err.lines().last().unwrap_or(""));
        return None;
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).ok()?;
            Some((
                v["hv"].as_f64()?,
                v["hv_s"].as_f64()?,
                v["with_point_hv"].as_f64()?,
            ))
        })
        .collect()
}

/// The EHVI estimate from the draws `draws`.
fn ehvi(c: &Case, draws: &[Vec<f64>], r: &[f64]) -> f64 {
    draws
        .iter()
        .map(|d| improvement(&c.front, d, r))
        .sum::<f64>()
        / draws.len() as f64
}

/// One suggestion's draws of the candidate's objectives, as the search makes them.
fn search_draws(c: &Case, rng: &mut StdRng) -> Vec<Vec<f64>> {
    mc_draws(c.m, rng)
        .iter()
        .map(|e| {
            c.point
                .iter()
                .zip(e)
                .map(|(mu, z)| mu + CANDIDATE_SD * z)
                .collect()
        })
        .collect()
}

/// Relative root-mean-square error of the search's estimate against the case's
/// `REFERENCE_DRAWS` independent draws, over 64 suggestions' draws.
fn ehvi_error(c: &Case, r: &[f64]) -> f64 {
    let exact = ehvi(c, &c.draws, r);
    let mut rng = StdRng::seed_from_u64(c.m as u64 * 1000 + c.front.len() as u64);
    let batches: Vec<f64> = (0..64)
        .map(|_| ehvi(c, &search_draws(c, &mut rng), r))
        .collect();
    let mse = batches.iter().map(|e| (e - exact).powi(2)).sum::<f64>() / batches.len() as f64;
    mse.sqrt() / exact
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let cases: Vec<Case> = [4, 5, 6]
        .into_iter()
        .flat_map(|m| [20, 40, 60, 100].map(|n| case(m, n, 100 * m as u64 + n as u64)))
        .collect();
    let references: Vec<Vec<f64>> = cases.iter().map(|c| vec![1.1; c.m]).collect();
    let theirs = pymoo(&cases, &references);
    println!(
        "{:>2} {:>4} {:>10} {:>10} {:>7} {:>13} {:>13} {:>9} {:>8}",
        "m", "n", "HV (µs)", "pymoo (µs)", "ratio", "HVI (µs)", "EHVI (µs)", "EHVI err", "max |Δ|"
    );
    for (i, (c, r)) in cases.iter().zip(&references).enumerate() {
        let hv = timed(|| hypervolume(&c.front, r));
        let inc = timed(|| improvement(&c.front, &c.point, r));
        let s = mc_samples(c.m);
        let draws = search_draws(c, &mut StdRng::seed_from_u64(1));
        let candidate = timed(|| ehvi(c, &draws, r));
        let (theirs_s, ratio, delta) = match theirs.as_ref().and_then(|t| t.get(i)) {
            Some(&(value, secs, with_point)) => {
                let ours = hypervolume(&c.front, r);
                let gain = with_point - value;
                let delta = (ours - value)
                    .abs()
                    .max((improvement(&c.front, &c.point, r) - gain).abs());
                (
                    format!("{:.1}", secs * 1e6),
                    format!("{:.2}x", secs / hv),
                    format!("{delta:.1e}"),
                )
            }
            None => ("-".into(), "-".into(), "-".into()),
        };
        println!(
            "{:>2} {:>4} {:>10.1} {:>10} {:>7} {:>13.1} {:>13} {:>8.1}% {:>8}",
            c.m,
            c.front.len(),
            hv * 1e6,
            theirs_s,
            ratio,
            inc * 1e6,
            format!("{:.1} ({s})", candidate * 1e6),
            100.0 * ehvi_error(c, r),
            delta
        );
    }
    println!(
        "times are medians; ratio = pymoo's time / ours (above 1: ours is faster); \
         EHVI: one candidate's draws (their number in brackets)"
    );
}
