//! The `flinktune` command line.

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use flinktune::study::{STUDY_FILE, Study};
use flinktune::{
    adapter, collect, compare, determine, generate, mobo, model, search, sim, status, validate,
};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Automatic resource-configuration tuning for Apache Flink streaming jobs.
///
/// A study directory holds a study file (flinktune.toml) and one folder of artifacts
/// per stage. `tune` runs every stage; each stage also runs alone, reading the previous
/// stage's artifacts.
#[derive(Parser)]
#[command(name = "flinktune", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write a new study directory with a commented study file, ready to run.
    Init {
        /// The study directory to create.
        study: PathBuf,
        /// Use this shell command as the adapter instead of the built-in simulator.
        #[arg(long, value_name = "COMMAND")]
        adapter_command: Option<String>,
        /// Overwrite an existing study file.
        #[arg(long)]
        force: bool,
    },
    /// Run every stage: generate, collect, model, search, validate.
    Tune {
        /// The study directory.
        study: PathBuf,
        #[command(flatten)]
        collect: CollectArgs,
    },
    /// Screening experiments through the adapter (one at a time, Morris elementary effects,
    /// forest permutation importance) that select the key parameters of the catalogue;
    /// writes determine/selected.toml (a catalogue), effects.csv, effects.svg, report.md.
    Determine {
        /// The study directory.
        study: PathBuf,
    },
    /// Sample configurations and write each as a Flink conf directory.
    Generate {
        /// The study directory.
        study: PathBuf,
        /// Keep configurations that Flink's memory rules reject (marked in configs.csv)
        /// instead of replacing them.
        #[arg(long)]
        keep_predicted_failures: bool,
    },
    /// Run every (configuration, rate, repeat) trial through the adapter; resumes an
    /// interrupted run.
    Collect {
        /// The study directory.
        study: PathBuf,
        #[command(flatten)]
        collect: CollectArgs,
        /// Discard an interrupted run's trials instead of resuming.
        #[arg(long)]
        restart: bool,
    },
    /// Compare GP-EI with random search, LHS + hill climbing (mHC), a genetic algorithm
    /// and Flink's default at equal budgets and seeds; writes curves and a table.
    Compare {
        /// The study directory.
        study: PathBuf,
        /// Evaluate the fitted model or the system (through the adapter).
        #[arg(long, value_enum, default_value = "model")]
        over: flinktune::study::Over,
        /// Evaluations per method and seed.
        #[arg(long, default_value_t = 40, value_parser = clap::value_parser!(u32).range(2..))]
        budget: u32,
        /// Seeds per method.
        #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
        seeds: u64,
    },
    /// Show where a study stands: stages done, trials done / failed / pending per rate,
    /// failure reasons, time spent and expected.
    Status {
        /// The study directory.
        study: PathBuf,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Fit the random-forest performance model and measure its accuracy (MAPE).
    Model {
        /// The study directory.
        study: PathBuf,
    },
    /// Bayesian optimisation (GP + Expected Improvement) over the model or the system.
    Search {
        /// The study directory.
        study: PathBuf,
        /// What to evaluate: the fitted model (the paper) or the system through the
        /// adapter (no collect needed; resumable). Default: the study's `[search] over`.
        #[arg(long, value_enum)]
        over: Option<flinktune::study::Over>,
        /// Suggestions evaluated at once (in parallel over the system). Default: the
        /// study's `[search] batch`.
        #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
        batch: Option<u16>,
        /// Discard an interrupted search over the system instead of resuming it.
        #[arg(long)]
        restart: bool,
    },
    /// Measure the best configuration against Flink's default through the adapter.
    Validate {
        /// The study directory.
        study: PathBuf,
    },
    /// Run the built-in simulator as a protocol adapter (reads the FLINKTUNE_* variables,
    /// writes result.json); for testing shell-adapter set-ups.
    SimAdapter {
        /// The simulated job.
        #[arg(long, default_value = "wordcount")]
        workload: sim::Workload,
        /// Relative measurement noise.
        #[arg(long, default_value_t = 0.03)]
        noise: f64,
    },
}

/// How trials are run.
#[derive(clap::Args, Clone, Copy)]
struct CollectArgs {
    /// Trials to run at once; each gets its own FLINKTUNE_WORKER index.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    workers: u16,
    /// Run configurations predicted to fail (Flink's memory rules) instead of skipping them.
    #[arg(long)]
    run_predicted_failures: bool,
}

impl CollectArgs {
    fn options(self, restart: bool) -> collect::CollectOptions {
        collect::CollectOptions {
            workers: usize::from(self.workers),
            restart,
            run_predicted_failures: self.run_predicted_failures,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Ctrl-C (or SIGTERM): stop starting trials and terminate the running adapters'
    // process groups; a second one exits at once.
    let _ = ctrlc::set_handler(|| {
        if adapter::cancelled() {
            std::process::exit(130);
        }
        eprintln!("\nstopping: terminating running trials (Ctrl-C again to quit at once)");
        adapter::request_cancel();
    });
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn load(dir: &Path) -> Result<Study> {
    Study::load(dir)
}

fn run(command: Command) -> Result<()> {
    match command {
        Command::Init {
            study,
            adapter_command,
            force,
        } => init(&study, adapter_command.as_deref(), force),
        Command::Tune { study, collect } => tune(&load(&study)?, collect.options(false)),
        Command::Determine { study } => {
            print!("{}", determine::describe(&determine::run(&load(&study)?)?));
            Ok(())
        }
        Command::Generate {
            study,
            keep_predicted_failures,
        } => {
            let opts = generate::GenerateOptions {
                keep_predicted_failures,
            };
            print!(
                "{}",
                generate::describe(&generate::run(&load(&study)?, opts)?)
            );
            Ok(())
        }
        Command::Collect {
            study,
            collect,
            restart,
        } => {
            let s = collect::run(&load(&study)?, collect.options(restart))?;
            print!("{}", collect::describe(&s));
            Ok(())
        }
        Command::Compare {
            study,
            over,
            budget,
            seeds,
        } => {
            let s = compare::run(&load(&study)?, over, budget as usize, seeds)?;
            print!("{}", compare::describe(&s));
            Ok(())
        }
        Command::Status { study, json } => {
            let report = status::report(&load(&study)?)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", status::describe(&report));
            }
            Ok(())
        }
        Command::Model { study } => {
            print!("{}", model::describe(&model::run(&load(&study)?)?));
            Ok(())
        }
        Command::Search {
            study,
            over,
            batch,
            restart,
        } => {
            let study = load(&study)?;
            let mut opts = search::SearchOptions::of(&study);
            opts.over = over.unwrap_or(opts.over);
            opts.batch = batch.map(usize::from).unwrap_or(opts.batch);
            opts.restart = restart;
            if study.file.search.objectives.len() >= 2 {
                print!("{}", mobo::describe(&mobo::run(&study, opts)?));
            } else {
                print!("{}", search::describe(&search::run(&study, opts)?));
            }
            Ok(())
        }
        Command::Validate { study } => {
            print!("{}", validate::describe(&validate::run(&load(&study)?)?));
            Ok(())
        }
        Command::SimAdapter { workload, noise } => {
            if !(0.0..1.0).contains(&noise) {
                bail!("--noise must be in [0, 1)");
            }
            let spec = adapter::spec_from_env()?;
            let a = adapter::Adapter::Sim {
                cluster: Default::default(),
                workload,
                noise,
            };
            let outcome = a.run(&spec);
            if let adapter::Outcome::Error { reason, .. } = outcome {
                bail!("{reason}");
            }
            Ok(())
        }
    }
}

fn init(dir: &Path, adapter_command: Option<&str>, force: bool) -> Result<()> {
    let path = dir.join(STUDY_FILE);
    if path.exists() && !force {
        bail!(
            "{} already exists; use --force to overwrite it",
            path.display()
        );
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    flinktune::fsx::write_atomic(
        &path,
        flinktune::study::template(adapter_command).as_bytes(),
    )?;
    // Check what was written loads, so a user never starts from a broken file.
    Study::load(dir)?;
    println!(
        "wrote {}; run `flinktune tune {}`",
        path.display(),
        dir.display()
    );
    Ok(())
}

fn tune(study: &Study, collect_options: collect::CollectOptions) -> Result<()> {
    let mut search_options = search::SearchOptions::of(study);
    if search_options.over == flinktune::study::Over::System {
        // Searching the system needs no collected data and no model.
        println!("[1-3/5] generate, collect, model: skipped (the search measures the system)");
        // --workers N keeps N trials running: N suggestions per batch.
        search_options.batch = search_options.batch.max(collect_options.workers);
    } else {
        let g = generate::run(study, generate::GenerateOptions::default())?;
        print!("[1/5] {}", generate::describe(&g));
        let c = collect::run(study, collect_options)?;
        print!("[2/5] {}", collect::describe(&c));
        let m = model::run(study)?;
        print!("[3/5] model: {}", model::describe(&m));
    }
    if study.file.search.objectives.len() >= 2 {
        let s = mobo::run(study, search_options)?;
        print!("[4/5] {}", mobo::describe(&s));
    } else {
        let s = search::run(study, search_options)?;
        print!("[4/5] {}", search::describe(&s));
    }
    let v = validate::run(study)?;
    println!("[5/5] validate:");
    print!("{}", validate::describe(&v));
    Ok(())
}
