//! `flinktune compare`: GP-EI against the generic optimisers a user might reach for, on the
//! same evaluator (the model or the system), budget and seeds — random search, a Latin
//! hypercube followed by modified hill climbing (the paper's mHC, after Bilal & Canini), a
//! genetic algorithm, and Flink's default configuration.
//!
//! Every method works in the optimiser's domain (`single::domain`: continuous, integer grids,
//! one-hot categoricals) and evaluates through `single::Evaluator`, so they differ only in
//! how they choose points. Failed configurations never count as a best.
//!
//! Artifacts (`compare/`): `curves.csv` (best so far after each evaluation, per method and
//! seed), `convergence.svg` (their medians), `results.csv` (final best per method and seed),
//! `report.md`, `summary.json`.

use crate::fsx::{self, StageDir};
use crate::report::plot;
use crate::stages::model;
use crate::stages::search::single::{self, Evaluator};
use crate::study::encoding;
use crate::study::{Over, Stage, Study};
use anyhow::Result;
use flink::objective::Objective;
use flink::space::Config;
use opt::bo::{Domain, Var};
use opt::sample;
use opt::stats::median;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::path::Path;

/// The methods compared.
pub const METHODS: &[&str] = &["gp-ei", "random", "mhc", "ga", "default"];

/// A best-so-far curve: after each evaluation, the best score (log scale) seen so far
/// (None until something ran).
pub type Curve = Vec<Option<f64>>;

/// Runs one method with `budget` evaluations; returns its curve of scores.
pub fn run_method(
    method: &str,
    study: &Study,
    evaluator: &Evaluator<'_>,
    budget: usize,
    seed: u64,
    tag: &str,
) -> Result<Curve> {
    let objective = study.file.objective;
    let space = &study.space;
    if method == "gp-ei" {
        let steps = single::optimise(
            space,
            objective,
            evaluator,
            single::bo_options(study, seed, evaluator),
            budget,
            1,
            vec![],
            |_| Ok(()),
        )?;
        return Ok(curve(steps.iter().map(|s| s.score(objective))));
    }
    let domain = encoding::domain(space);
    let mut rng = StdRng::seed_from_u64(seed);
    let mut eval =
        |points: &[Vec<f64>], n: usize| evaluate_points(study, evaluator, &domain, tag, points, n);
    let scores = match method {
        "default" => {
            let evaluations =
                evaluator.evaluate(&[format!("{tag}-default")], &[space.default_config()])?;
            let score = evaluations[0]
                .feasible()
                .then(|| objective.score(evaluations[0].perf.unwrap_or_default()));
            vec![score; budget]
        }
        "random" => {
            let points: Vec<Vec<f64>> =
                (0..budget).map(|_| domain.random_point(&mut rng)).collect();
            eval(&points, 0)?
        }
        "mhc" => hill_climb(
            &domain,
            budget,
            study.search_initial(false),
            &mut rng,
            &mut eval,
        )?,
        "ga" => genetic(&domain, budget, &mut rng, &mut eval)?,
        other => anyhow::bail!("unknown method '{other}' (known: {})", METHODS.join(", ")),
    };
    Ok(curve(scores.into_iter()))
}

/// Evaluates points of the optimiser's domain as evaluations `n`, `n + 1`, … of the run
/// tagged `tag`: each point's score, None when its configuration failed.
fn evaluate_points(
    study: &Study,
    evaluator: &Evaluator<'_>,
    domain: &Domain,
    tag: &str,
    points: &[Vec<f64>],
    n: usize,
) -> Result<Vec<Option<f64>>> {
    let objective = study.file.objective;
    let configs: Vec<Config> = points
        .iter()
        .map(|z| encoding::decode(&study.space, domain, z))
        .collect();
    let ids: Vec<String> = (n..n + configs.len())
        .map(|i| format!("{tag}-e{i:04}"))
        .collect();
    Ok(evaluator
        .evaluate(&ids, &configs)?
        .into_iter()
        .map(|e| {
            e.feasible()
                .then(|| objective.score(e.perf.unwrap_or_default()))
        })
        .collect())
}

fn curve(scores: impl Iterator<Item = Option<f64>>) -> Curve {
    let mut best: Option<f64> = None;
    scores
        .map(|s| {
            if let Some(s) = s {
                best = Some(best.map_or(s, |b| b.max(s)));
            }
            best
        })
        .collect()
}

/// A Gaussian step of every relaxed dimension, projected (categoricals re-drawn with
/// the same probability as a coordinate move would flip them).
fn perturb(domain: &Domain, z: &[f64], sigma: f64, rng: &mut StdRng) -> Vec<f64> {
    let mut out = z.to_vec();
    let mut at = 0;
    for var in &domain.vars {
        match var {
            Var::Categorical { choices } => {
                let k = *choices as usize;
                if rng.random::<f64>() < sigma {
                    let c = rng.random_range(0..k);
                    for j in 0..k {
                        out[at + j] = if j == c { 1.0 } else { 0.0 };
                    }
                }
                at += k;
            }
            _ => {
                out[at] = (out[at] + sigma * opt::normal::sample_complement(rng)).clamp(0.0, 1.0);
                at += 1;
            }
        }
    }
    domain.project(&out)
}

fn lhs(domain: &Domain, n: usize, rng: &mut StdRng) -> Vec<Vec<f64>> {
    sample::latin_hypercube(n, domain.dims(), rng)
        .into_iter()
        .map(|z| domain.project(&z))
        .collect()
}

type Eval<'a> = dyn FnMut(&[Vec<f64>], usize) -> Result<Vec<Option<f64>>> + 'a;

/// Modified hill climbing: a Latin hypercube, then Gaussian steps around the incumbent
/// whose size halves after a run of failures to improve; when the steps become tiny the
/// climb restarts from the best unused design point.
fn hill_climb(
    domain: &Domain,
    budget: usize,
    initial: usize,
    rng: &mut StdRng,
    eval: &mut Eval<'_>,
) -> Result<Vec<Option<f64>>> {
    const START_SIGMA: f64 = 0.2;
    const PATIENCE: usize = 5;
    let n0 = initial.clamp(1, budget);
    let design = lhs(domain, n0, rng);
    let mut scores = eval(&design, 0)?;
    let mut order: Vec<usize> = (0..n0).collect();
    order.sort_by(|&a, &b| {
        scores[b]
            .unwrap_or(f64::NEG_INFINITY)
            .total_cmp(&scores[a].unwrap_or(f64::NEG_INFINITY))
    });
    let mut starts = order.into_iter();
    let first = starts.next().unwrap_or(0);
    let (mut current, mut current_score) = (design[first].clone(), scores[first]);
    let (mut sigma, mut misses) = (START_SIGMA, 0);
    while scores.len() < budget {
        let candidate = perturb(domain, &current, sigma, rng);
        let s = eval(std::slice::from_ref(&candidate), scores.len())?[0];
        scores.push(s);
        if s.is_some() && (current_score.is_none() || s > current_score) {
            (current, current_score, misses) = (candidate, s, 0);
        } else {
            misses += 1;
            if misses >= PATIENCE {
                sigma /= 2.0;
                misses = 0;
            }
            if sigma < 0.01 {
                if let Some(i) = starts.next() {
                    (current, current_score) = (design[i].clone(), scores[i]);
                } else {
                    current = domain.random_point(rng);
                    current_score = None;
                }
                sigma = START_SIGMA;
            }
        }
    }
    Ok(scores)
}

/// A generational genetic algorithm: population 10 from a Latin hypercube, binary
/// tournaments, uniform crossover per variable, Gaussian mutation, one elite kept.
fn genetic(
    domain: &Domain,
    budget: usize,
    rng: &mut StdRng,
    eval: &mut Eval<'_>,
) -> Result<Vec<Option<f64>>> {
    const POPULATION: usize = 10;
    let pop_size = POPULATION.min(budget);
    let mut pop = lhs(domain, pop_size, rng);
    let mut scores = eval(&pop, 0)?;
    let mut fitness: Vec<f64> = scores
        .iter()
        .map(|s| s.unwrap_or(f64::NEG_INFINITY))
        .collect();
    let mut seen: HashSet<Vec<u64>> = pop.iter().map(|p| bits(p)).collect();
    while scores.len() < budget {
        let n = pop_size.min(budget - scores.len());
        let elite = (0..pop.len())
            .max_by(|&a, &b| fitness[a].total_cmp(&fitness[b]))
            .unwrap_or(0);
        let children = breed(domain, (&pop, &fitness), n, &mut seen, rng);
        let child_scores = eval(&children, scores.len())?;
        scores.extend(child_scores.iter().copied());
        // Next generation: the elite plus the best of the rest and the children.
        let mut all: Vec<(Vec<f64>, f64)> = pop
            .drain(..)
            .zip(fitness.drain(..))
            .chain(
                children.into_iter().zip(
                    child_scores
                        .into_iter()
                        .map(|s| s.unwrap_or(f64::NEG_INFINITY)),
                ),
            )
            .collect();
        let elite_entry = all.swap_remove(elite);
        all.sort_by(|a, b| b.1.total_cmp(&a.1));
        all.truncate(pop_size - 1);
        all.insert(0, elite_entry);
        (pop, fitness) = all.into_iter().unzip();
    }
    scores.truncate(budget);
    Ok(scores)
}

/// `n` children of the population (with its fitness): two binary tournaments choose the
/// parents, each variable comes from one of them, then a Gaussian mutation. Points not
/// `seen` before are preferred.
fn breed(
    domain: &Domain,
    (pop, fitness): (&[Vec<f64>], &[f64]),
    n: usize,
    seen: &mut HashSet<Vec<u64>>,
    rng: &mut StdRng,
) -> Vec<Vec<f64>> {
    const MUTATION_SIGMA: f64 = 0.1;
    let tournament = |rng: &mut StdRng| {
        let (a, b) = (
            rng.random_range(0..pop.len()),
            rng.random_range(0..pop.len()),
        );
        if fitness[a] >= fitness[b] { a } else { b }
    };
    let mut children = Vec::with_capacity(n);
    let mut attempts = 0;
    while children.len() < n {
        attempts += 1;
        let (pa, pb) = (tournament(rng), tournament(rng));
        let mut child = Vec::with_capacity(domain.dims());
        let mut at = 0;
        for var in &domain.vars {
            let w = var.dims();
            let parent = if rng.random::<bool>() {
                &pop[pa]
            } else {
                &pop[pb]
            };
            child.extend_from_slice(&parent[at..at + w]);
            at += w;
        }
        let child = perturb(domain, &child, MUTATION_SIGMA, rng);
        // Prefer new points; a small, exhausted space accepts repeats.
        if seen.insert(bits(&child)) || attempts > 50 * n {
            children.push(child);
        }
    }
    children
}

fn bits(p: &[f64]) -> Vec<u64> {
    p.iter().map(|v| v.to_bits()).collect()
}

/// Median of the final best per method, and how often GP-EI beat each baseline.
#[derive(Debug, Serialize, Deserialize)]
pub struct CompareSummary {
    pub over: Over,
    pub objective: Objective,
    pub rate: u64,
    pub budget: usize,
    pub seeds: u64,
    /// Method → median over seeds of the best perf found (None: nothing ran).
    pub median_best: BTreeMap<String, Option<f64>>,
    /// Method → median over seeds of evaluations needed to reach 90% of GP-EI's final
    /// median best (perf scale); None when most seeds never get there.
    pub median_evaluations_to_90: BTreeMap<String, Option<usize>>,
    pub seconds: f64,
}

/// Curves per method (by name), one per seed in seed order.
type Curves = BTreeMap<String, Vec<Curve>>;

/// Runs the comparison.
pub fn run(study: &Study, over: Over, budget: usize, seeds: u64) -> Result<CompareSummary> {
    let started = std::time::Instant::now();
    let objective = study.file.objective;
    let rate = study.search_rate();
    let model = match over {
        Over::Model => Some(model::load(study)?),
        Over::System => None,
    };
    let stage = StageDir::begin(&study.dir, Stage::Compare.name())?;
    let evaluator = Evaluator::new(study, model.as_ref(), rate, stage.path.join("trials"));
    let curves = run_all(study, &evaluator, budget, seeds)?;
    write_curves(&stage.path, objective, &curves)?;
    let median_best = median_best(objective, &curves);
    let target = median_best.get("gp-ei").copied().flatten();
    let median_evaluations_to_90 = evaluations_to_90(objective, &curves, target);
    let figure = stage.path.join("convergence.svg");
    plot_convergence(&figure, objective, &curves, budget, seeds)?;
    let summary = CompareSummary {
        over,
        objective,
        rate,
        budget,
        seeds,
        median_best,
        median_evaluations_to_90,
        seconds: started.elapsed().as_secs_f64(),
    };
    study.record_inputs(Stage::Compare, Some(over), &stage.path)?;
    std::fs::write(
        stage.path.join("report.md"),
        format!("{}\n![convergence](convergence.svg)\n", describe(&summary)),
    )?;
    fsx::write_json(&stage.path.join("summary.json"), &summary)?;
    stage.commit()?;
    Ok(summary)
}

/// Every method with every seed, seed by seed (each method's seed is the study's plus the
/// seed's index, the same for every method).
fn run_all(study: &Study, evaluator: &Evaluator<'_>, budget: usize, seeds: u64) -> Result<Curves> {
    let mut curves: Curves = BTreeMap::new();
    let bar = crate::progress::bar(METHODS.len() as u64 * seeds, "compare");
    for seed in 0..seeds {
        for method in METHODS {
            let s = study.file.seed.wrapping_add(seed);
            let c = run_method(
                method,
                study,
                evaluator,
                budget,
                s,
                &format!("{method}-s{seed}"),
            )?;
            curves.entry(method.to_string()).or_default().push(c);
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    Ok(curves)
}

/// Writes `curves.csv` (the best perf so far after each evaluation) and `results.csv` (the
/// final best) per method and seed.
fn write_curves(dir: &Path, objective: Objective, curves: &Curves) -> Result<()> {
    let perf = |s: Option<f64>| s.map(|s| objective.perf_of_score(s));
    let mut w = csv::Writer::from_path(dir.join("curves.csv"))?;
    w.write_record(["method", "seed", "evaluation", "best_perf"])?;
    let mut r = csv::Writer::from_path(dir.join("results.csv"))?;
    r.write_record(["method", "seed", "best_perf"])?;
    for (method, runs) in curves {
        for (seed, c) in runs.iter().enumerate() {
            for (i, s) in c.iter().enumerate() {
                let p = perf(*s).map(|p| p.to_string()).unwrap_or_default();
                w.write_record([method.clone(), seed.to_string(), (i + 1).to_string(), p])?;
            }
            let last = perf(c.last().copied().flatten())
                .map(|p| p.to_string())
                .unwrap_or_default();
            r.write_record([method.clone(), seed.to_string(), last])?;
        }
    }
    w.flush()?;
    r.flush()?;
    Ok(())
}

/// Per method, the median over seeds of the final best perf (None: nothing ran).
fn median_best(objective: Objective, curves: &Curves) -> BTreeMap<String, Option<f64>> {
    curves
        .iter()
        .map(|(m, runs)| {
            let finals: Vec<f64> = runs
                .iter()
                .filter_map(|c| c.last().copied().flatten())
                .map(|s| objective.perf_of_score(s))
                .collect();
            (m.clone(), (!finals.is_empty()).then(|| median(&finals)))
        })
        .collect()
}

/// Per method, the median over seeds of the evaluations needed to reach 90% of `target`
/// (GP-EI's median best, perf scale); None when most seeds never get there.
fn evaluations_to_90(
    objective: Objective,
    curves: &Curves,
    target: Option<f64>,
) -> BTreeMap<String, Option<usize>> {
    curves
        .iter()
        .map(|(m, runs)| {
            let reached: Vec<f64> = runs
                .iter()
                .filter_map(|c| {
                    let t = target?;
                    c.iter()
                        .position(|s| {
                            s.map(|s| objective.perf_of_score(s))
                                .is_some_and(|p| objective.speedup(p, t) >= 0.9)
                        })
                        .map(|i| (i + 1) as f64)
                })
                .collect();
            // More than half the seeds got there, so `reached` is not empty; the mean of the
            // middle two of an even count is rounded down to a whole evaluation.
            let value = (reached.len() * 2 > runs.len()).then(|| median(&reached) as usize);
            (m.clone(), value)
        })
        .collect()
}

/// The convergence plot: per method, the median over seeds of the best so far.
fn plot_convergence(
    path: &Path,
    objective: Objective,
    curves: &Curves,
    budget: usize,
    seeds: u64,
) -> Result<()> {
    let series: Vec<plot::Series> = METHODS
        .iter()
        .filter_map(|m| {
            let runs = curves.get(*m)?;
            // A seed with nothing running yet counts as the worst, so the median of
            // monotone curves stays monotone.
            let points = (0..budget)
                .filter_map(|i| {
                    let at: Vec<f64> = runs
                        .iter()
                        .map(|c| c[i].unwrap_or(f64::NEG_INFINITY))
                        .collect();
                    Some(median(&at))
                        .filter(|s| s.is_finite())
                        .map(|s| ((i + 1) as f64, objective.perf_of_score(s)))
                })
                .collect();
            Some(plot::Series {
                name: m.to_string(),
                points,
            })
        })
        .collect();
    plot::line_chart(
        path,
        &format!("Best {objective} so far (median of {seeds} seeds)"),
        "evaluations",
        objective.label(),
        &series,
    )
}

/// The comparison table.
pub fn describe(s: &CompareSummary) -> String {
    let mut out = format!(
        "# Optimisers compared over the {} at {} rec/s\n\n{} evaluations each, {} seeds; \
         `{}` objective (median over seeds of the best found).\n\n\
         | method | median best | evaluations to 90% of GP-EI's best |\n|---|---|---|\n",
        match s.over {
            Over::Model => "model",
            Over::System => "system",
        },
        s.rate,
        s.budget,
        s.seeds,
        s.objective
    );
    for m in METHODS {
        let best = s
            .median_best
            .get(*m)
            .copied()
            .flatten()
            .map(|v| format!("{v:.4}"))
            .unwrap_or_else(|| "none ran".into());
        let evals = s
            .median_evaluations_to_90
            .get(*m)
            .copied()
            .flatten()
            .map(|v| v.to_string())
            .unwrap_or_else(|| "not reached".into());
        out.push_str(&format!("| {m} | {best} | {evals} |\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curves_keep_the_best_so_far_and_skip_failures() {
        let c = curve([None, Some(1.0), None, Some(0.5), Some(2.0)].into_iter());
        assert_eq!(c, vec![None, Some(1.0), Some(1.0), Some(1.0), Some(2.0)]);
    }

    #[test]
    fn baselines_spend_exactly_their_budget_and_improve_on_a_toy() {
        let domain = Domain::new(vec![
            Var::Continuous,
            Var::integer(5),
            Var::Categorical { choices: 3 },
        ]);
        // Peak at x0 = 0.8, level 3, choice 2; failing when x0 < 0.1.
        let f = |z: &[f64]| -> Option<f64> {
            (z[0] >= 0.1).then(|| -(z[0] - 0.8).powi(2) - (z[1] - 0.75).powi(2) + z[4])
        };
        for method in ["mhc", "ga"] {
            let mut rng = StdRng::seed_from_u64(4);
            let mut calls = 0;
            let mut eval = |pts: &[Vec<f64>], _n: usize| -> Result<Vec<Option<f64>>> {
                calls += pts.len();
                Ok(pts.iter().map(|p| f(p)).collect())
            };
            let scores = match method {
                "mhc" => hill_climb(&domain, 60, 10, &mut rng, &mut eval).unwrap(),
                _ => genetic(&domain, 60, &mut rng, &mut eval).unwrap(),
            };
            assert_eq!(scores.len(), 60, "{method}");
            assert!(calls >= 60, "{method}");
            let best = curve(scores.into_iter()).last().copied().flatten().unwrap();
            assert!(best > 0.9, "{method} reached only {best}");
        }
    }
}
