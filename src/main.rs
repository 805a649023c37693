//! The `flinktune` command line.

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use flink::sim;
use flinktune::adapt::trace;
use flinktune::stages::search::record;
use flinktune::stages::search::{multi as mobo, single as search};
use flinktune::stages::{collect, compare, determine, generate, model, status, validate};
use flinktune::study::{STUDY_FILE, Study};
use flinktune::trial::adapter;
use opt::forecast;
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
        /// An earlier study (another rate or cluster, same parameters) whose search and
        /// collected data seed this one (RGPE transfer); repeatable, in addition to the
        /// study's `[search] transfer_from`.
        #[arg(long = "transfer-from", value_name = "DIR")]
        transfer_from: Vec<PathBuf>,
    },
    /// Measure the best configuration against Flink's default through the adapter.
    Validate {
        /// The study directory.
        study: PathBuf,
    },
    /// Keep a running job's configuration matched to its input rate (Demeter): forecast
    /// the rate, pick the cheapest configuration that meets the latency and recovery
    /// targets, and switch when it pays. `--trace` replays a rate history on the simulator
    /// and compares policies (a dry run); `--hook` drives a live job.
    Adapt {
        /// The study directory (its catalogue must have flinktune.taskmanagers, e.g.
        /// catalogue = "demeter-resources").
        study: PathBuf,
        /// Replay this rate history (CSV timestamp,records_per_s) on the simulator.
        #[arg(long, value_name = "CSV", conflicts_with_all = ["hook", "rate_command"])]
        trace: Option<PathBuf>,
        /// Days at the end of the trace to replay; the earlier ones are history.
        #[arg(long, default_value_t = 1.0, requires = "trace")]
        replay_days: f64,
        /// Policies to compare in a replay (default: all) or the one to run live
        /// (default: demeter).
        #[arg(long, value_enum, value_delimiter = ',')]
        policy: Vec<flinktune::adapt::run::PolicyKind>,
        /// The reconfiguration hook (start | apply | rescale | rate | stop, see the README).
        #[arg(long, value_name = "COMMAND")]
        hook: Option<String>,
        /// A command printing the current input rate (records/s) instead of the hook's
        /// `rate` action.
        #[arg(long, value_name = "COMMAND")]
        rate_command: Option<String>,
        /// Decide and log, but apply nothing.
        #[arg(long)]
        dry_run: bool,
        /// A rate history (CSV) the live forecaster starts from.
        #[arg(long, value_name = "CSV")]
        history: Option<PathBuf>,
        /// Stop a live run after this many intervals (default: until Ctrl-C).
        #[arg(long)]
        intervals: Option<u64>,
        /// Input rate for the hook's benchmark source (FLINKTUNE_RATE on start/apply/rescale).
        #[arg(long)]
        source_rate: Option<f64>,
        /// Timeout of one hook call, seconds.
        #[arg(long, default_value_t = 600)]
        hook_timeout_s: u64,
    },
    /// Write a synthetic daily input-rate trace (click-stream shape: night trough, morning
    /// ramp, evening peak, quieter weekends, seeded noise, a few short bursts) as a rate
    /// history CSV (timestamp,records_per_s) spanning exactly [--min, --max].
    Trace {
        /// Days to generate.
        #[arg(long, default_value_t = 4)]
        days: u32,
        /// Seconds between values.
        #[arg(long, default_value_t = 300)]
        step_s: u32,
        /// The lowest rate (records/s).
        #[arg(long, default_value_t = 25_000.0)]
        min: f64,
        /// The highest rate (records/s).
        #[arg(long, default_value_t = 100_000.0)]
        max: f64,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// First timestamp (RFC 3339 or Unix seconds); the default is a Monday.
        #[arg(long, default_value = "2026-01-05T00:00:00Z")]
        start: String,
        /// The CSV file to write.
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Forecast an input-rate history (CSV timestamp,records_per_s): Holt-Winters (plain
    /// and damped trend) and seasonal naive are measured on a held-out tail, the best is
    /// refitted and forecasts --horizon steps with prediction intervals. Writes
    /// forecast.csv, evaluation.json and forecast.svg.
    Forecast {
        /// The rate history.
        history: PathBuf,
        /// Steps to forecast.
        #[arg(long)]
        horizon: usize,
        /// Season length in steps (default: detected by autocorrelation).
        #[arg(long)]
        season: Option<usize>,
        /// Steps held out to measure each method (default: max(horizon, one season)).
        #[arg(long)]
        holdout: Option<usize>,
        /// Prediction-interval level.
        #[arg(long, default_value_t = 0.95)]
        level: f64,
        /// Output directory (default: `forecast/` next to the history).
        #[arg(short, long)]
        output: Option<PathBuf>,
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
        /// The simulated cluster: fixed (4 TaskManagers) or kubernetes (pods as the
        /// configuration asks, at most 24).
        #[arg(long, default_value = "fixed")]
        cluster: sim::ClusterMode,
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
            transfer_from,
        } => {
            let mut study = load(&study)?;
            for dir in transfer_from {
                let dir = std::path::absolute(&dir)?;
                study
                    .file
                    .search
                    .transfer_from
                    .push(dir.to_string_lossy().into_owned());
            }
            let mut opts = record::SearchOptions::of(&study);
            opts.over = over.unwrap_or(opts.over);
            opts.batch = batch.map(usize::from).unwrap_or(opts.batch);
            opts.restart = restart;
            if study.file.search.objectives.len() >= 2 {
                print!("{}", mobo::describe(&mobo::run(&study, opts)?));
            } else {
                print!("{}", record::describe(&search::run(&study, opts)?));
            }
            Ok(())
        }
        Command::Validate { study } => {
            print!("{}", validate::describe(&validate::run(&load(&study)?)?));
            Ok(())
        }
        Command::Adapt {
            study,
            trace,
            replay_days,
            policy,
            hook,
            rate_command,
            dry_run,
            history,
            intervals,
            source_rate,
            hook_timeout_s,
        } => {
            let study = load(&study)?;
            if let Some(trace) = trace {
                if !(replay_days > 0.0 && replay_days.is_finite()) {
                    bail!("--replay-days must be a positive number of days");
                }
                let kinds = if policy.is_empty() {
                    flinktune::adapt::run::PolicyKind::all()
                } else {
                    policy
                };
                let s = flinktune::adapt::run::replay_trace(&study, &trace, &kinds, replay_days)?;
                print!("{}", flinktune::adapt::run::table(&s));
                println!(
                    "wrote {} ({:.1} s)",
                    study.dir.join("adapt").display(),
                    s.seconds
                );
                return Ok(());
            }
            let policy = match policy.as_slice() {
                [] => flinktune::adapt::run::PolicyKind::Demeter,
                [one] => *one,
                _ => bail!("a live run takes one --policy"),
            };
            let opts = flinktune::adapt::run::LiveOptions {
                hook,
                rate_command,
                dry_run,
                policy,
                history,
                intervals,
                source_rate,
                hook_timeout: std::time::Duration::from_secs(hook_timeout_s),
            };
            let records = flinktune::adapt::run::live(&study, &opts)?;
            println!(
                "{} intervals logged in {}",
                records.len(),
                study.dir.join("adapt-live/decisions.jsonl").display()
            );
            Ok(())
        }
        Command::Trace {
            days,
            step_s,
            min,
            max,
            seed,
            start,
            output,
        } => {
            let (start, _) =
                trace::parse_time(&start).map_err(|e| anyhow::anyhow!("--start: {e}"))?;
            let spec = trace::TraceSpec {
                days,
                step_s,
                min,
                max,
                seed,
                start,
            };
            let h = trace::generate(&spec)?;
            trace::write(&output, &h)?;
            println!(
                "wrote {}: {} steps of {step_s} s, {min}–{max} records/s",
                output.display(),
                h.rates.len()
            );
            Ok(())
        }
        Command::Forecast {
            history,
            horizon,
            season,
            holdout,
            level,
            output,
        } => {
            let h = trace::read(&history)?;
            let opts = forecast::Options {
                horizon,
                season,
                holdout,
                level,
                step_s: Some(h.step_s),
            };
            let o = forecast::run(&h.rates, &opts)
                .with_context(|| format!("forecasting {}", history.display()))?;
            let dir = output
                .unwrap_or_else(|| history.parent().unwrap_or(Path::new(".")).join("forecast"));
            flinktune::adapt::forecast::write_report(&dir, &h, &o)?;
            print!("{}", flinktune::adapt::forecast::describe(&h, &o));
            println!(
                "wrote {}/forecast.csv, evaluation.json, forecast.svg",
                dir.display()
            );
            Ok(())
        }
        Command::SimAdapter {
            workload,
            noise,
            cluster,
        } => {
            if !(0.0..1.0).contains(&noise) {
                bail!("--noise must be in [0, 1)");
            }
            let spec = adapter::spec_from_env()?;
            let a = adapter::Adapter::Sim {
                cluster: match cluster {
                    sim::ClusterMode::Fixed => sim::Cluster::default(),
                    sim::ClusterMode::Kubernetes => sim::Cluster::kubernetes(),
                },
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
    let mut search_options = record::SearchOptions::of(study);
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
        print!("[4/5] {}", record::describe(&s));
    }
    let v = validate::run(study)?;
    println!("[5/5] validate:");
    print!("{}", validate::describe(&v));
    Ok(())
}
