//! The screening benchmark: precision, recall and trials of `determine`'s methods against
//! ground truths they cannot fool themselves with — the simulator's (noise-free one-at-a-time
//! effects at the reference and 40 random runnable configurations, from
//! `examples/screening_truth.rs`) at two rates, and synthetic objectives over the 60-key
//! candidate catalogue whose active sets are known by construction:
//! - `main`: 8 main effects from 1.0 down to 0.015 (ln perf), linear and bowl-shaped;
//! - `interact`: two pairs of keys that act only together (a product of centred terms: no
//!   main effect at all), plus two main effects;
//! - `threshold`: four step effects (0.3 down to 0.02) at random thresholds, plus two
//!   linear ones;
//! - `failures`: six main effects, and a failure region: two keys with no effect on perf
//!   decide alone (one) or with the strongest key (the other) whether a configuration runs.
//!
//! Every other key is exactly inert; measurement noise is 3% (log-normal), as the
//! simulator's. The active keys are drawn per seed. A synthetic objective runs as an
//! adapter: this binary, `screening adapt PROBLEM SEED STUDY`.
//!
//! Precision counts a selected key as false when it is inert: for the simulator, no
//! noise-free effect anywhere and no run/fail flip; for `failures`, its two run/fail keys
//! are neither (they are scored apart: found among the keys that decide run/fail).
//! "strict" precision counts every selected key below 1% as false.
//!
//!     cargo build --bench screening --example screening_truth
//!     target/debug/deps/screening-<hash> --bench [--budget=N] [--first-seed=N] [--noise=F] [--keep=DIR] [METHODS] [SEEDS] [PROBLEMS]
//!
//! METHODS: comma-separated (default sobol); SEEDS: how many (default 5); PROBLEMS:
//! comma-separated (default all: sim@16000, sim@80000, main, interact, threshold, failures);
//! `--budget`: the trials of `groups`, `sobol`, `factorial` and `morris` (default 300);
//! `--first-seed`: the first of the seeds (default 1; seeds after those a change was tuned
//! on tell whether it holds).
//! `--noise=F`: the measurement noise of every problem, the standard deviation of ln
//! latency (default 0.03; the simulator's throughput gets half of it): how recall at a
//! budget depends on the noise of one run.
//! `--keep=DIR`: each run's study folder is left in DIR as `PROBLEM-METHOD-SEED` (its
//! `determine/` trials, journal and report), not in a temporary folder.
//! Prints one line per run (stderr) and the table per problem and method (stdout).

use anyhow::{Context, Result, bail};
use flinktune::stages::determine::{self, DetermineOptions};
use flinktune::study::{Study, template};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const SYNTHETIC: [&str; 4] = ["main", "interact", "threshold", "failures"];
const SIM_RATES: [u64; 2] = [16000, 80000];
/// The measurement noise by default (sd of ln latency), as the simulator's.
const NOISE: f64 = 0.03;

/// One synthetic objective drawn for a seed: ln latency as a function of the keys' unit
/// values (None: the configuration fails), and its truth.
struct Synthetic {
    terms: Vec<Term>,
    /// (key, threshold) pairs: fails when the key's unit value is above it.
    fail_alone: Vec<(usize, f64)>,
    /// (key, key, limit): fails when their sum is above it.
    fail_pair: Vec<(usize, usize, f64)>,
}

enum Term {
    Linear(usize, f64),
    /// a · ((u − c)² / max over [0,1] of (u − c)²).
    Bowl(usize, f64, f64),
    /// a · (2u_i − 1)(2u_j − 1): no main effect.
    Product(usize, usize, f64),
    /// a · [u > t].
    Step(usize, f64, f64),
}

impl Synthetic {
    fn draw(problem: &str, seed: u64, k: usize) -> Synthetic {
        let mut rng = StdRng::seed_from_u64(seed.wrapping_mul(7919) ^ hash(problem));
        let mut keys: Vec<usize> = (0..k).collect();
        keys.shuffle(&mut rng);
        let mut next = keys.into_iter();
        let mut key = || next.next().unwrap_or(0);
        let mut terms = Vec::new();
        let (mut fail_alone, mut fail_pair) = (Vec::new(), Vec::new());
        let mains = |sizes: &[f64], terms: &mut Vec<Term>, key: &mut dyn FnMut() -> usize| {
            for (n, &a) in sizes.iter().enumerate() {
                let sign = if n % 3 == 1 { -1.0 } else { 1.0 };
                terms.push(match n % 2 {
                    0 => Term::Linear(key(), sign * a),
                    _ => Term::Bowl(key(), 0.3, sign * a),
                });
            }
        };
        match problem {
            "main" => mains(
                &[1.0, 0.4, 0.15, 0.08, 0.05, 0.03, 0.02, 0.015],
                &mut terms,
                &mut key,
            ),
            "interact" => {
                mains(&[0.5, 0.05], &mut terms, &mut key);
                terms.push(Term::Product(key(), key(), 0.1));
                terms.push(Term::Product(key(), key(), 0.03));
            }
            "threshold" => {
                mains(&[0.6, 0.03], &mut terms, &mut key);
                for a in [0.3, 0.1, 0.04, 0.02] {
                    terms.push(Term::Step(key(), rng.random_range(0.2..0.8), a));
                }
            }
            _ => {
                mains(&[0.8, 0.2, 0.08, 0.04, 0.02, 0.015], &mut terms, &mut key);
                let strongest = match terms[0] {
                    Term::Linear(i, _) => i,
                    _ => 0,
                };
                fail_alone.push((key(), 0.7));
                fail_pair.push((strongest, key(), 1.6));
            }
        }
        Synthetic {
            terms,
            fail_alone,
            fail_pair,
        }
    }

    fn ln_latency(&self, u: &[f64]) -> Option<f64> {
        let fails = self.fail_alone.iter().any(|&(i, t)| u[i] > t)
            || self.fail_pair.iter().any(|&(i, j, l)| u[i] + u[j] > l);
        if fails {
            return None;
        }
        Some(
            self.terms
                .iter()
                .map(|t| match *t {
                    Term::Linear(i, a) => a * u[i],
                    Term::Bowl(i, c, a) => a * (u[i] - c).powi(2) / c.max(1.0 - c).powi(2),
                    Term::Product(i, j, a) => a * (2.0 * u[i] - 1.0) * (2.0 * u[j] - 1.0),
                    Term::Step(i, t, a) => a * f64::from(u8::from(u[i] > t)),
                })
                .sum(),
        )
    }

    /// Keys with an effect on perf.
    fn active(&self) -> BTreeSet<usize> {
        self.terms
            .iter()
            .flat_map(|t| match *t {
                Term::Linear(i, _) | Term::Bowl(i, _, _) | Term::Step(i, _, _) => vec![i],
                Term::Product(i, j, _) => vec![i, j],
            })
            .collect()
    }

    /// Keys that decide run/fail and have no effect on perf.
    fn fail_only(&self) -> BTreeSet<usize> {
        let active = self.active();
        self.fail_alone
            .iter()
            .map(|f| f.0)
            .chain(self.fail_pair.iter().flat_map(|f| [f.0, f.1]))
            .filter(|i| !active.contains(i))
            .collect()
    }
}

fn hash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// The adapter: evaluates the trial's config.json on the objective, writes result.json.
fn adapt(problem: &str, seed: u64, noise: f64, study: &Path) -> Result<()> {
    let study = Study::load(study)?;
    let trial = PathBuf::from(std::env::var("FLINKTUNE_TRIAL_DIR")?);
    let config = study.read_config_json(Path::new(&std::env::var("FLINKTUNE_CONFIG_JSON")?))?;
    let repeat: u64 = std::env::var("FLINKTUNE_REPEAT")?.parse()?;
    let u = study.space.to_unit(&config);
    let f = Synthetic::draw(problem, seed, u.len());
    let result = match f.ln_latency(&u) {
        None => serde_json::json!({"status": "fail", "reason": "the synthetic failure region"}),
        Some(ln) => {
            let text = serde_json::to_string(&study.space.to_json(&config))?;
            let mut rng = StdRng::seed_from_u64(hash(&format!("{seed}/{repeat}/{text}")));
            let noise = noise * opt::normal::sample(&mut rng);
            serde_json::json!({"status": "pass", "throughput": 16000.0,
                               "latency_p99_ms": 100.0 * (ln + noise).exp()})
        }
    };
    std::fs::write(trial.join("result.json"), result.to_string())?;
    Ok(())
}

/// A study screening the candidate catalogue with `method`.
fn study_dir(root: &Path, problem: &str, method: &str, seed: u64, setup: Setup) -> Result<PathBuf> {
    let dir = root.join(format!("{problem}-{method}-{seed}"));
    // A kept folder from an earlier run would be resumed, not measured afresh.
    if dir.exists() {
        bail!(
            "{} exists: --keep needs a folder without earlier runs",
            dir.display()
        );
    }
    std::fs::create_dir_all(&dir)?;
    let sim_rate = problem.strip_prefix("sim@");
    let command = match sim_rate {
        Some(_) => None,
        None => Some(format!(
            "'{}' adapt {problem} {seed} {} '{{study}}'",
            std::env::current_exe()?.display(),
            setup.noise
        )),
    };
    let rate = sim_rate.unwrap_or("16000");
    // Morris at the same budget (4 trajectories of single runs); the other older methods
    // as they were tuned (3 repeats) with the budget they need.
    let (budget, repeats, extra) = match method {
        "sobol" | "factorial" | "groups" => (setup.trials, 1, ""),
        "morris" => (setup.trials, 1, "\ntrajectories = 4"),
        _ => (100_000, 3, ""),
    };
    let text = template(command.as_deref())
        .replace("\"flink-1.11-key-params\"", "\"flink-1.11-candidates\"")
        .replace("seed = 42", &format!("seed = {seed}"))
        .replace("objective = \"ratio\"", "objective = \"latency\"")
        .replace(
            "# [determine]\n# method = \"groups\"",
            &format!(
                "[determine]\nmethod = \"{method}\"\nbudget = {budget}\nrepeats = {repeats}\n\
                 rate = {rate}{extra}"
            ),
        )
        .replace("fail_fast = 3", "fail_fast = 0")
        .replace("noise = 0.03", &format!("noise = {}", setup.noise));
    let text = match sim_rate {
        Some(_) => text.replace("objective = \"latency\"", "objective = \"ratio\""),
        None => text,
    };
    std::fs::write(dir.join("flinktune.toml"), text)?;
    Ok(dir)
}

/// The simulator's truth for a study: (active, inert, grey) keys by name.
fn sim_truth(study: &Path) -> Result<(BTreeSet<String>, BTreeSet<String>)> {
    let exe = std::env::current_exe()?;
    let example = exe
        .parent()
        .and_then(Path::parent)
        .context("no target dir")?
        .join("examples/screening_truth");
    let out = std::process::Command::new(&example).arg(study).output()?;
    if !out.status.success() {
        bail!(
            "{}: {}",
            example.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let (mut active, mut inert) = (BTreeSet::new(), BTreeSet::new());
    for line in String::from_utf8(out.stdout)?.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let (effect, flips): (f64, u64) = (f[1].parse()?, f[3].parse()?);
        if effect >= 0.01 {
            active.insert(f[0].to_string());
        } else if effect == 0.0 && flips == 0 {
            inert.insert(f[0].to_string());
        }
    }
    Ok((active, inert))
}

/// The number given as `NAME=N` among `args` (`name` ends with `=`), or `default`.
fn flag(args: &[String], name: &str, default: u64) -> Result<u64> {
    match args.iter().find_map(|a| a.strip_prefix(name)) {
        Some(s) => s
            .parse()
            .with_context(|| format!("{name}{s}: expected a whole number")),
        None => Ok(default),
    }
}

/// `--noise=F`: a noise level the simulator accepts (0 ≤ F < 1).
fn noise_flag(args: &[String]) -> Result<f64> {
    let Some(s) = args.iter().find_map(|a| a.strip_prefix("--noise=")) else {
        return Ok(NOISE);
    };
    match s.parse::<f64>() {
        Ok(f) if (0.0..1.0).contains(&f) => Ok(f),
        _ => bail!("--noise={s}: expected a number from 0 up to (not including) 1"),
    }
}

/// What every run of the bench shares: its budget in trials and its measurement noise.
#[derive(Clone, Copy)]
struct Setup {
    trials: u64,
    noise: f64,
}

/// One run's grades.
struct Grade {
    selected: usize,
    precision: f64,
    strict: f64,
    recall: f64,
    trials: usize,
    /// Of the run/fail-only keys, how many were found among the keys that decide run/fail.
    fail_found: Option<(usize, usize)>,
    /// The active keys not selected, and the inert keys selected.
    missed: Vec<String>,
    wrong: Vec<String>,
}

fn run_one(root: &Path, problem: &str, method: &str, seed: u64, setup: Setup) -> Result<Grade> {
    let dir = study_dir(root, problem, method, seed, setup)?;
    let study = Study::load(&dir)?;
    let names: Vec<String> = study.space.params.iter().map(|p| p.name.clone()).collect();
    let (active, inert, fail_only) = match problem.starts_with("sim@") {
        true => {
            let (a, i) = sim_truth(&dir)?;
            (a, i, BTreeSet::new())
        }
        false => {
            let f = Synthetic::draw(problem, seed, names.len());
            let name = |s: BTreeSet<usize>| -> BTreeSet<String> {
                s.into_iter().map(|i| names[i].clone()).collect()
            };
            let (active, fail_only) = (name(f.active()), name(f.fail_only()));
            let inert = names
                .iter()
                .filter(|n| !active.contains(*n) && !fail_only.contains(*n))
                .cloned()
                .collect();
            (active, inert, fail_only)
        }
    };
    let opts = DetermineOptions {
        workers: 2,
        restart: true,
    };
    // A run that selects nothing is graded as such (recall 0), not an error of the bench.
    let set = |names: &[String]| names.iter().cloned().collect::<BTreeSet<String>>();
    let (sel, decides, trials) = match determine::run(&study, opts) {
        Ok(s) => (set(&s.selected), set(&s.decides_run), s.trials),
        Err(e) if e.is::<determine::NothingSelected>() => {
            let budget = study.file.determine.budget as usize;
            (BTreeSet::new(), BTreeSet::new(), budget)
        }
        Err(e) => return Err(e),
    };
    let tp = sel.intersection(&active).count();
    let false_pos = sel.intersection(&inert).count();
    Ok(Grade {
        selected: sel.len(),
        precision: ratio(tp, tp + false_pos),
        strict: ratio(tp, sel.len()),
        recall: ratio(tp, active.len()),
        trials,
        missed: active.difference(&sel).cloned().collect(),
        wrong: sel.intersection(&inert).cloned().collect(),
        fail_found: (!fail_only.is_empty())
            .then(|| (decides.intersection(&fail_only).count(), fail_only.len())),
    })
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 1.0 } else { a as f64 / b as f64 }
}

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len().max(1) as f64
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("adapt") && args.len() == 6 {
        return adapt(
            &args[2],
            args[3].parse()?,
            args[4].parse()?,
            Path::new(&args[5]),
        );
    }
    // `cargo test` and clippy build benches; run only under `--bench`.
    if !args.iter().any(|a| a == "--bench") {
        return Ok(());
    }
    let rest: Vec<&String> = args[1..].iter().filter(|a| !a.starts_with("--")).collect();
    let methods: Vec<&str> = rest
        .first()
        .map_or("sobol", |s| s.as_str())
        .split(',')
        .collect();
    let seeds: u64 = rest.get(1).map(|s| s.parse()).transpose()?.unwrap_or(5);
    let setup = Setup {
        trials: flag(&args, "--budget=", 300)?,
        noise: noise_flag(&args)?,
    };
    let first = flag(&args, "--first-seed=", 1)?;
    let tmp = tempfile::tempdir()?;
    // `--keep=DIR` leaves every run's study folder (its trials, journal and report) there.
    let root = args
        .iter()
        .find_map(|a| a.strip_prefix("--keep="))
        .map_or_else(|| tmp.path().to_path_buf(), PathBuf::from);
    let only: Option<Vec<&str>> = rest.get(2).map(|s| s.split(',').collect());
    let problems: Vec<String> = SIM_RATES
        .iter()
        .map(|r| format!("sim@{r}"))
        .chain(SYNTHETIC.iter().map(|s| s.to_string()))
        .filter(|p| only.as_ref().is_none_or(|o| o.contains(&p.as_str())))
        .collect();
    println!(
        "| problem | method | seeds | trials (mean) | selected (mean) | precision | strict precision | recall | run/fail keys found |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for problem in &problems {
        for method in &methods {
            let mut grades = Vec::new();
            for seed in first..first + seeds {
                let g = run_one(&root, problem, method, seed, setup)
                    .with_context(|| format!("{problem} {method} seed {seed}"))?;
                eprintln!(
                    "{problem} {method} seed {seed}: selected {}, precision {:.3} (strict {:.3}), recall {:.3}, {} trials; missed {:?}; inert selected {:?}",
                    g.selected, g.precision, g.strict, g.recall, g.trials, g.missed, g.wrong
                );
                grades.push(g);
            }
            let col = |f: fn(&Grade) -> f64| mean(&grades.iter().map(f).collect::<Vec<_>>());
            let fail = grades
                .iter()
                .filter_map(|g| g.fail_found)
                .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
            println!(
                "| {problem} | {method} | {seeds} | {:.0} | {:.1} | {:.2} | {:.2} | {:.2} | {} |",
                col(|g| g.trials as f64),
                col(|g| g.selected as f64),
                col(|g| g.precision),
                col(|g| g.strict),
                col(|g| g.recall),
                if fail.1 > 0 {
                    format!("{}/{}", fail.0, fail.1)
                } else {
                    "–".into()
                }
            );
        }
    }
    Ok(())
}
