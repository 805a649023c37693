//! The `flinktune` command line.

//!
//! It only parses arguments into validated values and calls the library: each command is
//! one short function below.

use anyhow::Result;
use clap::{CommandFactory, Parser, Subcommand};
use flink::sim;
use flinktune::adapt::{self, trace};
use flinktune::stages::{best, validate};
use flinktune::stages::{collect, compare, determine, generate, model, search, status, tune};
use flinktune::study::Study;
use flinktune::study::lock::StudyLock;
use flinktune::trial::adapter;
use std::path::PathBuf;
use std::process::ExitCode;

use flinktune::progress;

/// `print!` that neither panics on a closed or full stdout (see [`progress::print`]) nor
/// hides the failure: it returns it from the enclosing function.
macro_rules! out {
    ($($t:tt)*) => { progress::print(format_args!($($t)*))? };
}

/// `println!`, the same way as [`out!`].
macro_rules! outln {
    ($($t:tt)*) => { progress::print(format_args!("{}\n", format_args!($($t)*)))? };
}

/// What `--help` ends with: the exit statuses (docs/cli.md lists the same).
const EXIT_CODES: &str = "\
Exit status:
  0    success (also when a reader of stdout went away, as in `flinktune status | head`)
  1    error: bad input, a failed stage, a study locked by another command, unwritable stdout
  2    usage: unknown command or flag, missing or invalid argument
  130  interrupted (Ctrl-C or SIGTERM; running trials were terminated)

Results go to stdout; progress bars, logs and errors to stderr. NO_COLOR turns colour off.";

/// Automatic resource-configuration tuning for Apache Flink streaming jobs.
///
/// A study directory holds a study file (flinktune.toml) and one folder of artifacts
/// per stage. `tune` runs every stage; each stage also runs alone, reading the previous
/// stage's artifacts.
#[derive(Parser)]
#[command(name = "flinktune", version, about, long_about, after_help = EXIT_CODES)]
struct Cli {
    /// No progress bars and no informational lines on stderr (warnings and errors still
    /// are printed).
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
    /// Summaries list every kind of failure reason, each whole (with the adapter's stderr
    /// tail).
    #[arg(short, long, global = true)]
    verbose: bool,
    #[command(subcommand)]
    command: Command,
}

/// A mistake in the command line found after parsing (exit status 2, as clap's own).
#[derive(Debug)]
struct Usage(String);

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}

/// Fails with a usage error.
fn usage(message: impl Into<String>) -> anyhow::Error {
    Usage(message.into()).into()
}

#[derive(Subcommand)]
enum Command {
    /// Write a new study directory with a commented study file, ready to run.
    Init(InitArgs),
    /// The built-in catalogues: `list` them, or `show NAME` as TOML to start a custom one.
    #[command(subcommand)]
    Catalogue(CatalogueCommand),
    /// Run every stage: generate, collect, model, search, validate (a search over the
    /// system skips generate, collect and model); a finished stage that still matches the
    /// study is not run again.
    Tune(TuneArgs),
    /// Screening experiments through the adapter that select the key parameters of the
    /// catalogue within `[determine] budget` trials (by default a two-level design, then
    /// keys moved in groups from many bases, every run read by one regression); resumes an
    /// interrupted run; writes
    /// determine/selected.toml (a catalogue), effects.csv, effects.svg, report.md.
    Determine(DetermineArgs),
    /// Sample configurations and write each as a Flink conf directory; configurations that
    /// Flink's memory or slot rules reject are replaced by ones that pass.
    Generate(GenerateArgs),
    /// Run every (configuration, rate, repeat) trial through the adapter; resumes an
    /// interrupted run.
    Collect(CollectArgs),
    /// Compare GP-EI with random search, LHS + hill climbing (mHC), a genetic algorithm
    /// and Flink's default at equal budgets and seeds; writes curves and a table.
    Compare(CompareArgs),
    /// Show where a study stands: stages done, trials done / failed / pending per rate,
    /// every kind of failure reason with an example, time spent and expected, stale stages.
    Status(StatusArgs),
    /// Compare six regressors (forest, boosted trees, SVR, k-NN, ridge, GP) on the collected
    /// trials and save the most accurate savable one as the performance model (MAPE on
    /// held-out configurations).
    Model(ModelArgs),
    /// Bayesian optimisation (a Gaussian process and the study's acquisition, Expected
    /// Improvement by default) over the model or the system; multi-objective (EHVI or
    /// ParEGO, a Pareto front) when the study lists two or more objectives.
    Search(SearchArgs),
    /// Measure the search's best configuration and Flink's default through the adapter
    /// (`[validate] repeats` each, at the search rate) and report the speedups.
    Validate(ValidateArgs),
    /// Write report.html: one self-contained page (no network) of where the study stands,
    /// the best configuration against the default, convergence, parameter importance, model
    /// accuracy, the Pareto front, adapt's replay and live run, failures by reason and the
    /// study file.
    Report(ReportArgs),
    /// Serve the same page live on a local port while collect, search or adapt run
    /// (read-only: never takes the study's lock). Ctrl-C stops it.
    Dashboard(DashboardArgs),
    /// Print the search's best configuration to apply: the keys that differ from the
    /// default, each with its default, headed by the measured effect (read-only).
    Best(BestArgs),
    /// Keep a running job's configuration matched to its input rate (Demeter): forecast
    /// the rate, pick the cheapest configuration that meets the latency and recovery
    /// targets, and switch when it pays. `--trace` replays a rate history on the simulator
    /// and compares policies (a dry run); `--hook` drives a live job.
    Adapt(AdaptArgs),
    /// Write a synthetic daily input-rate trace (click-stream shape: night trough, morning
    /// ramp, evening peak, quieter weekends, seeded noise, a few short bursts) as a rate
    /// history CSV (timestamp,records_per_s) spanning exactly [--min, --max].
    Trace(TraceArgs),
    /// Forecast an input-rate history (CSV timestamp,records_per_s): Holt-Winters (plain
    /// and damped trend) and seasonal naive are measured on a held-out tail, the best is
    /// refitted and forecasts --horizon steps with prediction intervals. Writes
    /// forecast.csv, evaluation.json and forecast.svg.
    Forecast(ForecastArgs),
    /// Show the TaskManager's and JobManager's memory as Flink derives it at start-up
    /// (framework and task heap, managed, network, off-heap, metaspace, overhead, totals)
    /// from a conf directory or file, or the error Flink would stop with.
    Memory(MemoryArgs),
    /// Run the built-in simulator as a protocol adapter (reads the FLINKTUNE_* variables,
    /// writes result.json); for testing shell-adapter set-ups.
    SimAdapter(SimAdapterArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish or powershell) to stdout.
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
    /// Print flinktune's manual page (roff, every command in one page) to stdout.
    Man,
}

#[derive(Subcommand)]
enum CatalogueCommand {
    /// Every built-in catalogue: name, Flink versions, parameter count.
    List,
    /// Print a built-in catalogue as TOML (save it, edit it, name the file in a study).
    Show {
        /// The catalogue's name (see `flinktune catalogue list`).
        name: String,
    },
}

#[derive(clap::Args)]
struct InitArgs {
    /// The study directory to create.
    study: PathBuf,
    /// The Flink version to tune (1.11, 1.18, 1.19, 1.20, 2.0 … 2.3): picks its built-in
    /// catalogue and base configuration. Default: 1.11, the quick start's.
    #[arg(long, value_name = "VERSION")]
    flink_version: Option<flink::conf::FlinkVersion>,
    /// Use this shell command as the adapter instead of the built-in simulator.
    #[arg(long, value_name = "COMMAND")]
    adapter_command: Option<String>,
    /// Overwrite an existing study file.
    #[arg(long)]
    force: bool,
}

#[derive(clap::Args)]
struct MemoryArgs {
    /// A Flink conf directory (config.yaml or flink-conf.yaml) or configuration file.
    conf: PathBuf,
    /// The Flink version whose memory model to apply, e.g. 1.11, 1.20 or 2.0.
    #[arg(long, value_name = "VERSION")]
    flink_version: flink::conf::FlinkVersion,
    /// Print JSON keyed by Flink's option names (bytes) instead of the breakdown.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
struct TuneArgs {
    /// The study directory.
    study: PathBuf,
    /// Print one JSON object (each stage's summary) instead of the summaries as text;
    /// the summaries go to stderr as progress.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    trials: TrialArgs,
}

#[derive(clap::Args)]
struct DetermineArgs {
    /// The study directory.
    study: PathBuf,
    /// Print the summary as one JSON object (the stage's summary.json) instead of text.
    #[arg(long)]
    json: bool,
    /// Trials to run at once; each gets its own FLINKTUNE_WORKER index.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    workers: u16,
    /// Discard an interrupted run's journal instead of resuming it.
    #[arg(long)]
    restart: bool,
}

#[derive(clap::Args)]
struct GenerateArgs {
    /// The study directory.
    study: PathBuf,
    /// Print the summary as one JSON object (the stage's summary.json) instead of text.
    #[arg(long)]
    json: bool,
    /// Keep configurations that Flink's memory rules reject (marked in configs.csv)
    /// instead of replacing them.
    #[arg(long)]
    keep_predicted_failures: bool,
}

#[derive(clap::Args)]
struct CollectArgs {
    /// The study directory.
    study: PathBuf,
    /// Print the summary as one JSON object (the stage's summary.json) instead of text.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    trials: TrialArgs,
    /// Discard an interrupted run's trials instead of resuming.
    #[arg(long)]
    restart: bool,
}

#[derive(clap::Args)]
struct CompareArgs {
    /// The study directory.
    study: PathBuf,
    /// Print the summary as one JSON object (the stage's summary.json) instead of text.
    #[arg(long)]
    json: bool,
    /// Evaluate the fitted model or the system (through the adapter).
    #[arg(long, value_enum, default_value = "model")]
    over: flinktune::study::Over,
    /// Evaluations per method and seed.
    #[arg(long, default_value_t = 40, value_parser = clap::value_parser!(u32).range(2..))]
    budget: u32,
    /// Seeds per method.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    seeds: u64,
}

#[derive(clap::Args)]
struct StatusArgs {
    /// The study directory.
    study: PathBuf,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
struct ModelArgs {
    /// The study directory.
    study: PathBuf,
    /// Print the summary as one JSON object (the stage's summary.json) instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
struct SearchArgs {
    /// The study directory.
    study: PathBuf,
    /// Print the summary as one JSON object (the stage's summary.json) instead of text.
    #[arg(long)]
    json: bool,
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
    /// A known configuration evaluated first (TOML of `"key" = value`, or a search's
    /// config.json; unnamed parameters keep Flink's default); repeatable, after the
    /// study's `[search] enqueue`.
    #[arg(long, value_name = "FILE")]
    enqueue: Vec<PathBuf>,
}

#[derive(clap::Args)]
struct ValidateArgs {
    /// The study directory.
    study: PathBuf,
    /// Print the summary as one JSON object (the stage's summary.json) instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
struct ReportArgs {
    /// The study directory.
    study: PathBuf,
    /// Where to write the page. Default: report.html in the study directory.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
}

#[derive(clap::Args)]
struct DashboardArgs {
    /// The study directory.
    study: PathBuf,
    /// The port to listen on (0: any free port).
    #[arg(long, default_value_t = 8765)]
    port: u16,
    /// The address to listen on; the default serves this machine only.
    #[arg(long, default_value = "127.0.0.1")]
    bind: std::net::IpAddr,
}

#[derive(clap::Args)]
struct BestArgs {
    /// The study directory.
    study: PathBuf,
    /// yaml (config.yaml) | flink-conf (flink-conf.yaml) | dynamic-properties (-D lines)
    /// | flink-deployment (the Kubernetes operator's resource). Default: the syntax of the
    /// study's Flink version.
    #[arg(long, value_enum)]
    format: Option<best::Format>,
    /// Every key of the configuration, not only the changed ones.
    #[arg(long)]
    all: bool,
    /// Print the keys, defaults and what was measured of the configuration as JSON.
    #[arg(long, conflicts_with = "format")]
    json: bool,
}

#[derive(clap::Args)]
struct AdaptArgs {
    /// The study directory (its catalogue must have flinktune.taskmanagers, e.g.
    /// catalogue = "demeter-resources").
    study: PathBuf,
    /// Print one JSON object instead of the table: a replay's summary (adapt/summary.json)
    /// or a live run's interval count and log.
    #[arg(long)]
    json: bool,
    /// Replay this rate history (CSV timestamp,records_per_s) on the simulator.
    #[arg(long, value_name = "CSV", conflicts_with_all = ["hook", "rate_command"])]
    trace: Option<PathBuf>,
    /// Days at the end of the trace to replay; the earlier ones are history.
    #[arg(long, default_value_t = 1.0, requires = "trace", value_parser = positive_days)]
    replay_days: f64,
    /// Policies to compare in a replay (default: all) or the one to run live
    /// (default: demeter).
    #[arg(long, value_enum, value_delimiter = ',')]
    policy: Vec<flinktune::adapt::run::PolicyKind>,
    /// The reconfiguration hook: a command called with one action (start | apply | rescale
    /// | rate | stop).
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
}

#[derive(clap::Args)]
struct TraceArgs {
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
}

#[derive(clap::Args)]
struct ForecastArgs {
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
}

#[derive(clap::Args)]
struct SimAdapterArgs {
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
    /// Build the trial's conf/ from its config.json over this study's parameters and base
    /// configuration first (for searches that write only config.json, e.g. other tuners).
    #[arg(long, value_name = "DIR")]
    study: Option<PathBuf>,
    /// The Flink release the simulated cluster runs (its memory rules); default: the study's
    /// `flink_version` with --study, else 1.11.
    #[arg(long, value_name = "VERSION")]
    flink_version: Option<flink::conf::FlinkVersion>,
}

/// How trials are run.
#[derive(clap::Args, Clone, Copy)]
struct TrialArgs {
    /// Trials to run at once; each gets its own FLINKTUNE_WORKER index.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    workers: u16,
    /// Run configurations predicted to fail (Flink's memory rules) instead of skipping them.
    #[arg(long)]
    run_predicted_failures: bool,
}

impl TrialArgs {
    fn options(self, restart: bool) -> collect::CollectOptions {
        collect::CollectOptions {
            workers: usize::from(self.workers),
            restart,
            run_predicted_failures: self.run_predicted_failures,
        }
    }
}

/// Set by the Ctrl-C / SIGTERM handler only: a stage that stops its own trials (fail-fast)
/// also cancels them, but that is an error (exit 1), not an interruption (130).
static INTERRUPTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn main() -> ExitCode {
    let cli = Cli::parse();
    progress::set_quiet(cli.quiet);
    progress::set_verbose(cli.verbose);
    let runs_trials = !matches!(cli.command, Command::Dashboard(_));
    // Ctrl-C (or SIGTERM): stop starting trials and terminate the running adapters'
    // process groups; a second one exits at once.
    let _ = ctrlc::set_handler(move || {
        if flinktune::trial::process::cancelled() {
            std::process::exit(130);
        }
        INTERRUPTED.store(true, std::sync::atomic::Ordering::SeqCst);
        if runs_trials {
            eprintln!("\nstopping: terminating running trials (Ctrl-C again to quit at once)");
        }
        flinktune::trial::process::request_cancel();
    });
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            if INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst) {
                ExitCode::from(130)
            } else if e.downcast_ref::<Usage>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// Prints `value` as one pretty JSON object on stdout.
fn print_json(value: &impl serde::Serialize) -> Result<()> {
    outln!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// Prints a stage's summary: as JSON with `--json`, else as the stage describes it.
fn summary<T: serde::Serialize>(json: bool, s: &T, describe: impl Fn(&T) -> String) -> Result<()> {
    if json {
        print_json(s)
    } else {
        out!("{}", describe(s));
        Ok(())
    }
}

fn run(command: Command) -> Result<()> {
    match command {
        Command::Init(a) => init(a),
        Command::Catalogue(CatalogueCommand::List) => {
            out!("{}", flink::catalogue::describe_builtins()?);
            Ok(())
        }
        Command::Catalogue(CatalogueCommand::Show { name }) => {
            out!("{}", flink::catalogue::builtin_text(&name)?);
            Ok(())
        }
        Command::Tune(a) => tune_(a),
        Command::Determine(a) => {
            let study = Study::load_for_screening(&a.study)?;
            let _lock = StudyLock::take(&study.dir, "determine")?;
            let opts = determine::DetermineOptions {
                workers: usize::from(a.workers),
                restart: a.restart,
            };
            summary(a.json, &determine::run(&study, opts)?, determine::describe)
        }
        Command::Generate(a) => generate_(a),
        Command::Collect(a) => {
            let (study, _lock) = open_for_writing(&a.study, "collect")?;
            let s = collect::run(&study, a.trials.options(a.restart))?;
            summary(a.json, &s, collect::describe)
        }
        Command::Compare(a) => {
            let (study, _lock) = open_for_writing(&a.study, "compare")?;
            let s = compare::run(&study, a.over, a.budget as usize, a.seeds)?;
            summary(a.json, &s, compare::describe)
        }
        Command::Status(a) => status_(a),
        Command::Model(a) => {
            let (study, _lock) = open_for_writing(&a.study, "model")?;
            summary(a.json, &model::run(&study)?, model::describe)
        }
        Command::Search(a) => search_(a),
        Command::Validate(a) => {
            let (study, _lock) = open_for_writing(&a.study, "validate")?;
            summary(a.json, &validate::run(&study)?, |s| {
                validate::describe(s) + &best::pointer(&study)
            })
        }
        Command::Report(a) => {
            let path = flinktune::view::report::write(&a.study, a.output.as_deref())?;
            outln!("wrote {}", path.display());
            Ok(())
        }
        Command::Dashboard(a) => dashboard_(a),
        Command::Best(a) => best_(a),
        Command::Adapt(a) => adapt_(a),
        Command::Trace(a) => trace_(a),
        Command::Forecast(a) => forecast_(a),
        Command::Memory(a) => memory_(a),
        Command::SimAdapter(a) => sim_adapter(a),
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "flinktune", &mut script);
            out!("{}", String::from_utf8_lossy(&script));
            Ok(())
        }
        Command::Man => {
            let mut page = Vec::new();
            clap_mangen::Man::new(Cli::command()).render(&mut page)?;
            out!("{}", String::from_utf8_lossy(&page));
            Ok(())
        }
    }
}

fn tune_(a: TuneArgs) -> Result<()> {
    let (study, _lock) = open_for_writing(&a.study, "tune")?;
    let s = tune::run(&study, a.trials.options(false), |s| {
        // As text, the stages' summaries are the result; with --json, they are progress.
        if a.json {
            progress::info(format_args!("{}", s.trim_end()));
        } else {
            progress::print_or_exit(format_args!("{s}"));
        }
    })?;
    if a.json {
        return print_json(&s);
    }
    // Reloaded: a study that screens before tuning tunes determine/selected.toml.
    out!("{}", best::pointer(&Study::load(&study.dir)?));
    Ok(())
}

/// `--replay-days`: a positive, finite number of days.
fn positive_days(s: &str) -> std::result::Result<f64, String> {
    match s.parse::<f64>() {
        Ok(d) if d > 0.0 && d.is_finite() => Ok(d),
        _ => Err(format!("'{s}' is not a positive number of days")),
    }
}

fn sim_adapter(a: SimAdapterArgs) -> Result<()> {
    let mut flink = a.flink_version.unwrap_or(flink::resources::SIMULATED_FLINK);
    if let Some(dir) = &a.study {
        // The screened catalogue: a superset of determine/selected.toml, so it reads the
        // configurations of every stage (a key left out stays at the base's value).
        let study = Study::load_for_screening(dir)?;
        let trial = adapter::spec_from_env()?.dir;
        let config = study.read_config_json(&trial.join("config.json"))?;
        study.write_config_dir(&config, &trial, "flinktune sim-adapter: from config.json")?;
        flink = a.flink_version.unwrap_or(study.file.flink_version);
    }
    let cluster = match a.cluster {
        sim::ClusterMode::Fixed => sim::Cluster::default(),
        sim::ClusterMode::Kubernetes => sim::Cluster::kubernetes(),
    };
    adapter::sim_adapter_from_env(cluster, (a.workload, flink), a.noise)
}

/// Loads a study for a command that writes to it, holding the study's lock (one writer per
/// study) for as long as the returned guard lives: the command's life.
fn open_for_writing(dir: &std::path::Path, command: &str) -> Result<(Study, StudyLock)> {
    let study = Study::load(dir)?;
    let lock = StudyLock::take(&study.dir, command)?;
    Ok((study, lock))
}

fn init(a: InitArgs) -> Result<()> {
    let path = flinktune::study::init(
        &a.study,
        a.adapter_command.as_deref(),
        a.flink_version,
        a.force,
    )?;
    outln!(
        "wrote {}; run `flinktune tune {}`",
        path.display(),
        a.study.display()
    );
    Ok(())
}

fn generate_(a: GenerateArgs) -> Result<()> {
    let opts = generate::GenerateOptions {
        keep_predicted_failures: a.keep_predicted_failures,
    };
    let (study, _lock) = open_for_writing(&a.study, "generate")?;
    summary(a.json, &generate::run(&study, opts)?, generate::describe)
}

fn memory_(a: MemoryArgs) -> Result<()> {
    let conf = if a.conf.is_dir() {
        flink::conf::read_conf_dir(&a.conf)?
    } else {
        flink::conf::read_conf_file(&a.conf)?
    };
    let report = flink::memory::report(&conf, a.flink_version);
    if a.json {
        outln!("{}", serde_json::to_string_pretty(&report.to_json())?);
    } else {
        out!("{}", report.describe());
    }
    Ok(())
}

fn status_(a: StatusArgs) -> Result<()> {
    let report = status::report(&Study::load(&a.study)?)?;
    if a.json {
        outln!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        out!("{}", status::describe(&report));
    }
    Ok(())
}

fn search_(a: SearchArgs) -> Result<()> {
    let (mut study, _lock) = open_for_writing(&a.study, "search")?;
    for dir in a.transfer_from {
        let dir = std::path::absolute(&dir)?;
        let transfer = &mut study.file.search.transfer_from;
        transfer.push(dir.to_string_lossy().into_owned());
    }
    for file in a.enqueue {
        let file = std::path::absolute(&file)?;
        let enqueue = &mut study.file.search.enqueue;
        enqueue.push(file.to_string_lossy().into_owned());
    }
    let mut opts = search::SearchOptions::of(&study);
    opts.over = a.over.unwrap_or(opts.over);
    opts.batch = a.batch.map(usize::from).unwrap_or(opts.batch);
    opts.restart = a.restart;
    summary(a.json, &search::run(&study, opts)?, |s| {
        search::describe(s) + &best::pointer(&study)
    })
}

fn dashboard_(a: DashboardArgs) -> Result<()> {
    let dashboard = flinktune::view::dashboard::Dashboard::bind(&a.study, a.bind, a.port)?;
    outln!(
        "dashboard of {}: {} (Ctrl-C stops it)",
        a.study.display(),
        dashboard.url()
    );
    dashboard.run()?;
    outln!("dashboard stopped");
    Ok(())
}

fn best_(a: BestArgs) -> Result<()> {
    let study = Study::load(&a.study)?;
    let found = best::read(&study, a.all)?;
    if a.json {
        outln!("{}", serde_json::to_string_pretty(&found)?);
        return Ok(());
    }
    let format = a
        .format
        .unwrap_or(best::Format::of_version(study.file.flink_version));
    // -D lines stay pure arguments; what they achieve goes to stderr.
    if format == best::Format::DynamicProperties {
        for line in best::comments(&found) {
            progress::info(format_args!("{line}"));
        }
    }
    out!("{}", best::render(&found, format)?);
    Ok(())
}

fn adapt_(a: AdaptArgs) -> Result<()> {
    use flinktune::adapt::run::{LiveOptions, PolicyKind};
    let (study, _lock) = open_for_writing(&a.study, "adapt")?;
    if let Some(trace) = a.trace {
        let kinds = if a.policy.is_empty() {
            PolicyKind::all()
        } else {
            a.policy
        };
        let s = adapt::run::replay_trace(&study, &trace, &kinds, a.replay_days)?;
        if a.json {
            return print_json(&s);
        }
        out!("{}", adapt::run::table(&s));
        let dir = study.dir.join("adapt");
        outln!("wrote {} ({:.1} s)", dir.display(), s.seconds);
        return Ok(());
    }
    let policy = match a.policy.as_slice() {
        [] => PolicyKind::Demeter,
        [one] => *one,
        _ => return Err(usage("a live run takes one --policy")),
    };
    let opts = LiveOptions {
        hook: a.hook,
        rate_command: a.rate_command,
        dry_run: a.dry_run,
        policy,
        history: a.history,
        intervals: a.intervals,
        source_rate: a.source_rate,
        hook_timeout: std::time::Duration::from_secs(a.hook_timeout_s),
    };
    let records = adapt::run::live(&study, &opts)?;
    let log = adapt::live::log_path(&study.dir);
    if a.json {
        return print_json(&serde_json::json!({
            "intervals": records.len(),
            "decisions": log.display().to_string(),
        }));
    }
    outln!("{} intervals logged in {}", records.len(), log.display());
    Ok(())
}

fn trace_(a: TraceArgs) -> Result<()> {
    let (start, _) = trace::parse_time(&a.start).map_err(|e| usage(format!("--start: {e}")))?;
    let spec = trace::TraceSpec {
        days: a.days,
        step_s: a.step_s,
        min: a.min,
        max: a.max,
        seed: a.seed,
        start,
    };
    let h = trace::generate(&spec)?;
    trace::write(&a.output, &h)?;
    outln!(
        "wrote {}: {} steps of {} s, {}–{} records/s",
        a.output.display(),
        h.rates.len(),
        a.step_s,
        a.min,
        a.max
    );
    Ok(())
}

fn forecast_(a: ForecastArgs) -> Result<()> {
    let opts = opt::forecast::Options {
        horizon: a.horizon,
        season: a.season,
        holdout: a.holdout,
        level: a.level,
        step_s: None,
    };
    let (text, dir) = adapt::forecast::run_command(&a.history, &opts, a.output.as_deref())?;
    out!("{text}");
    outln!(
        "wrote {}/forecast.csv, evaluation.json, forecast.svg",
        dir.display()
    );
    Ok(())
}
