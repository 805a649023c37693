//! `flinktune adapt`: keeping a running job's configuration matched to its input rate
//! (Demeter). Two ways to run it:
//!
//! * **replay** (`--trace FILE`, implies a dry run): the trace's rates are replayed in
//!   simulated time against the study's simulator, for one or several policies (Demeter's
//!   forecasting, model-based policy and the three baselines), and their latency, resources,
//!   reconfigurations and recoveries are compared (`crate::adapt::replay`);
//! * **live** (`--hook COMMAND`): every interval the current rate is read (the hook's `rate`
//!   action or `--rate-command`), the policy decides, and a new configuration is applied through
//!   the hook — in place (`rescale`) when only the scale-out changes (`policy::change`), else
//!   by stop with a savepoint and a restart from it (`apply`), which is also the fallback for a
//!   hook that cannot rescale — or, with `--dry-run`, only logged.
//!
//! Every decision is logged: the replay into `adapt/` (a stage folder, written atomically),
//! the live loop into `adapt-live/decisions.jsonl`, appended and synced as it goes.

use crate::adapt::demeter::Demeter;
use crate::adapt::hook::{self, Action, Hook, Reply};
use crate::adapt::measure::SimMeasure;
use crate::adapt::policy::{self, Change, Decision, Policy, Situation};
use crate::adapt::profiler::{AdapterProfiler, Profiler, SimProfiler};
use crate::adapt::replay::{self, DecisionRecord, ReplayOptions, Step, Summary};
use crate::adapt::trace;
use crate::fsx;
use crate::report::plot;
use crate::study::{Stage, Study};
use crate::trial::adapter;
use anyhow::{Context, Result, bail};
use flink::space::Config;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A scaling policy by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum PolicyKind {
    /// Forecast the rate, profile configurations with multi-objective BO (RGPE across
    /// rates), pick the cheapest that meets the latency and recovery targets.
    Demeter,
    /// The catalogue's defaults, Demeter's static maximum, all the time.
    Static,
    /// Kubernetes' horizontal-pod-autoscaler rule on CPU utilisation.
    Reactive,
    /// DS2: scale-out from the instances' true processing rate.
    Ds2,
}

impl PolicyKind {
    pub fn all() -> Vec<PolicyKind> {
        vec![
            PolicyKind::Static,
            PolicyKind::Demeter,
            PolicyKind::Reactive,
            PolicyKind::Ds2,
        ]
    }
}

/// Builds a policy for the study. Demeter profiles on the simulator in a replay, through the
/// study's adapter (trials in `live_dir/profiles/`) in a live run.
fn make_policy(
    study: &Study,
    kind: PolicyKind,
    step_s: f64,
    live_dir: Option<&Path>,
) -> Result<Box<dyn Policy>> {
    Ok(match kind {
        PolicyKind::Static => Box::new(policy::Static::new(&study.space)?),
        PolicyKind::Reactive => Box::new(policy::Reactive::new(&study.space)?),
        PolicyKind::Ds2 => Box::new(policy::Ds2::new(&study.space)?),
        PolicyKind::Demeter => {
            let profiler: Box<dyn Profiler> = match live_dir {
                None => Box::new(SimProfiler::new(study)?),
                Some(dir) => Box::new(AdapterProfiler::new(study, &dir.join("profiles"))),
            };
            Box::new(Demeter::new(study, step_s, profiler)?)
        }
    })
}

/// What `adapt --trace` wrote.
#[derive(Debug, Serialize, Deserialize)]
pub struct ReplaySummary {
    pub trace: String,
    pub options: ReplayOptions,
    pub policies: Vec<Summary>,
    pub seconds: f64,
}

/// How the study's `[adapt]` settings replay a trace of `step_s` steps whose first
/// `warmup_steps` are history.
pub fn replay_options(study: &Study, step_s: f64, warmup_steps: usize) -> ReplayOptions {
    let a = &study.file.adapt;
    ReplayOptions {
        step_s,
        warmup_steps,
        decide_every: ((a.interval_s / step_s).round() as usize).max(1),
        restart_s: a.restart_s,
        rescale_s: a.rescale_s,
        mean_time_between_failures_s: a.mean_time_between_failures_s,
        recovery_limit_s: a.recovery_limit_s,
        seed: study.file.seed,
    }
}

/// Replays a rate trace (the last `replay_days` days; the rest is history) against the
/// policies on the study's simulator; writes `adapt/`.
pub fn replay_trace(
    study: &Study,
    trace_path: &Path,
    kinds: &[PolicyKind],
    replay_days: f64,
) -> Result<ReplaySummary> {
    let started = Instant::now();
    let tr = trace::read(trace_path)?;
    let step_s = tr.step_s;
    let replay_steps = ((replay_days * 86_400.0) / step_s).round() as usize;
    if replay_steps == 0 || replay_steps >= tr.rates.len() {
        bail!(
            "{}: {} steps of {step_s} s cannot give {replay_days} day(s) to replay and \
             history before them",
            trace_path.display(),
            tr.rates.len()
        );
    }
    let opts = replay_options(study, step_s, tr.rates.len() - replay_steps);
    let mut measure = SimMeasure::new(study)?;
    let stage = fsx::StageDir::begin(&study.dir, Stage::Adapt.name())?;
    let mut all_steps: Vec<Step> = Vec::new();
    let mut all_decisions: Vec<DecisionRecord> = Vec::new();
    let mut summaries = Vec::new();
    for &kind in kinds {
        let mut p = make_policy(study, kind, step_s, None)?;
        let (steps, decisions) =
            replay::replay(&study.space, p.as_mut(), &tr.rates, &opts, &mut measure)
                .with_context(|| format!("replaying the {kind:?} policy"))?;
        summaries.push(replay::summarise(&steps, &opts));
        all_steps.extend(steps);
        all_decisions.extend(decisions);
    }
    replay::relate(&mut summaries, "static");
    write_csv(&stage.path.join("steps.csv"), &all_steps)?;
    write_csv(&stage.path.join("decisions.csv"), &all_decisions)?;
    write_csv(&stage.path.join("comparison.csv"), &summaries)?;
    timeline(&stage.path.join("timeline.svg"), &all_steps)?;
    let summary = ReplaySummary {
        trace: trace_path.display().to_string(),
        options: opts,
        policies: summaries,
        seconds: started.elapsed().as_secs_f64(),
    };
    fsx::write_atomic(&stage.path.join("report.md"), report(&summary).as_bytes())?;
    fsx::write_json(&stage.path.join("summary.json"), &summary)?;
    stage.commit()?;
    Ok(summary)
}

fn write_csv<T: Serialize>(path: &Path, rows: &[T]) -> Result<()> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        w.serialize(r)?;
    }
    fsx::write_atomic(path, &w.into_inner()?)
}

/// Rate and requested cores over time, one line per policy.
fn timeline(path: &Path, steps: &[Step]) -> Result<()> {
    let mut series: Vec<plot::Series> = Vec::new();
    let hours = |s: &Step| s.time_s / 3600.0;
    let max_rate = steps.iter().map(|s| s.rate).fold(0.0, f64::max);
    let max_cpu = steps.iter().map(|s| s.cpu_requested).fold(0.0, f64::max);
    if let Some(first) = steps.first() {
        // The rate, scaled onto the cores' axis so both read on one chart.
        let scale = if max_rate > 0.0 {
            max_cpu / max_rate
        } else {
            1.0
        };
        series.push(plot::Series {
            name: format!("input rate (× {:.2e} cores per record/s)", scale),
            points: steps
                .iter()
                .filter(|s| s.policy == first.policy)
                .map(|s| (hours(s), s.rate * scale))
                .collect(),
        });
    }
    let mut names: Vec<&str> = steps.iter().map(|s| s.policy.as_str()).collect();
    names.dedup();
    for name in names {
        series.push(plot::Series {
            name: format!("{name}: cores requested"),
            points: steps
                .iter()
                .filter(|s| s.policy == name)
                .map(|s| (hours(s), s.cpu_requested))
                .collect(),
        });
    }
    plot::line_chart(
        path,
        "Requested CPU cores over the replayed trace",
        "hours",
        "CPU cores requested",
        &series,
    )
}

/// The comparison table as Markdown.
pub fn table(summary: &ReplaySummary) -> String {
    let mut t = String::from(
        "| policy | mean latency (ms) | % of near-optimal | with failures (ms) | mean cores | \
         mean memory (GiB) | core-hours | reconfigurations (rescales) | failures | mean recovery (s) | \
         recovery > limit | saturated steps |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for s in &summary.policies {
        // Without the static maximum in the replay there is nothing to relate to.
        let near = if s.near_optimal_pct.is_finite() {
            format!("{:.1}%", s.near_optimal_pct)
        } else {
            "–".to_string()
        };
        let _ = writeln!(
            t,
            "| {} | {:.1} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {} ({}) | {} | {:.0} | {} | {} |",
            s.policy,
            s.mean_latency_ms,
            near,
            s.mean_latency_with_failures_ms,
            s.mean_cpu_requested,
            s.mean_memory_requested_gb,
            s.cpu_core_hours,
            s.reconfigurations,
            s.rescales,
            s.failures,
            s.mean_recovery_s,
            s.recovery_violations,
            s.saturated_steps
        );
    }
    t
}

fn report(summary: &ReplaySummary) -> String {
    let o = &summary.options;
    format!(
        "# adapt: replay of {}\n\n![requested cores over time](timeline.svg)\n\n{}\n\
         Latency is each step's steady-state p99 plus the mean delay a reconfiguration in it \
         adds ({} s down for a restart, {} s + the reprocessing since the last checkpoint for \
         an in-place rescale); \"with failures\" adds the delays of injected TaskManager failures \
         (one per {} s on average, the same steps for every policy), whose recoveries are \
         compared in their own columns. \"% of near-optimal\" is the static maximum's mean latency \
         over the policy's. The recovery limit is {} s. A decision every {} steps of {} s.\n\n\
         Files: `steps.csv` (every step of every policy), `decisions.csv` (every switch and \
         why), `comparison.csv`.\n",
        summary.trace,
        table(summary),
        o.restart_s,
        o.rescale_s,
        o.mean_time_between_failures_s,
        o.recovery_limit_s,
        o.decide_every,
        o.step_s
    )
}

/// How a live adapt run gets its rate.
pub struct LiveOptions {
    pub hook: Option<String>,
    pub rate_command: Option<String>,
    pub dry_run: bool,
    pub policy: PolicyKind,
    /// A rate history for the forecaster to start from.
    pub history: Option<PathBuf>,
    /// Stop after this many intervals (None: until Ctrl-C).
    pub intervals: Option<u64>,
    /// The rate the hook's benchmark source runs at (passed as FLINKTUNE_RATE).
    pub source_rate: Option<f64>,
    /// Timeout of one hook call.
    pub hook_timeout: Duration,
}

/// One interval of a live run, as logged.
#[derive(Debug, Serialize, Deserialize)]
pub struct LiveRecord {
    pub interval: u64,
    pub unix_time_s: f64,
    pub rate: f64,
    /// "keep", "switch" (applied), "would-switch" (dry run) or "error".
    pub action: String,
    pub reason: String,
    pub config: serde_json::Value,
    /// What a switch changes (`policy::change`): "rescale" or "restart".
    pub change: Option<Change>,
    /// The hook action that made the switch: "rescale", or "apply" (a restart, or a rescale
    /// the hook does not support).
    pub applied_by: Option<String>,
    pub downtime_s: Option<f64>,
    /// A rescale: how long the job was seen not running (the hook's `interrupted_s`).
    pub interrupted_s: Option<f64>,
    /// A rescale: from the request until the job had caught up (the hook's `caught_up_s`).
    pub caught_up_s: Option<f64>,
    pub savepoint: Option<String>,
}

/// The live loop. Returns the records it logged.
pub fn live(study: &Study, opts: &LiveOptions) -> Result<Vec<LiveRecord>> {
    if opts.hook.is_none() && opts.rate_command.is_none() {
        bail!("a live adapt run needs --hook (or --rate-command with --dry-run)");
    }
    if opts.hook.is_none() && !opts.dry_run {
        bail!("without --hook nothing can apply a configuration: add --dry-run");
    }
    if matches!(opts.policy, PolicyKind::Reactive | PolicyKind::Ds2) {
        bail!(
            "the {:?} policy needs the job's CPU metrics, which a live run does not read; use \
             demeter or static",
            opts.policy
        );
    }
    let a = &study.file.adapt;
    let dir = study.dir.join("adapt-live");
    std::fs::create_dir_all(dir.join("configs"))?;
    let hook = match &opts.hook {
        Some(cmd) => Some(Hook::new(cmd, &dir.join("hook-state"), opts.hook_timeout)?),
        None => None,
    };
    let mut history: Vec<f64> = match &opts.history {
        Some(p) => trace::read(p)?.rates,
        None => Vec::new(),
    };
    let mut p = make_policy(study, opts.policy, a.interval_s, Some(&dir))?;
    let mut current = p.initial()?;
    let mut log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("decisions.jsonl"))?;
    let mut records = Vec::new();
    // Cleared once the hook answers "rescale unsupported": later rescales go straight to apply.
    let mut can_rescale = true;
    let write_conf = |n: u64, config: &Config| -> Result<PathBuf> {
        let d = dir.join("configs").join(format!("{n:04}"));
        if d.exists() {
            std::fs::remove_dir_all(&d)?;
        }
        study.write_config_dir(config, &d, &format!("flinktune adapt interval {n}"))?;
        Ok(d.join("conf"))
    };
    if let (Some(h), false) = (&hook, opts.dry_run) {
        let conf = write_conf(0, &current)?;
        h.call(Action::Start, Some(&conf), opts.source_rate)?;
    }
    let started = Instant::now();
    let result = (|| -> Result<()> {
        let mut n = 0u64;
        loop {
            if opts.intervals.is_some_and(|max| n >= max) || adapter::cancelled() {
                return Ok(());
            }
            if n > 0 {
                sleep_until(started + Duration::from_secs_f64(a.interval_s * n as f64));
                if adapter::cancelled() {
                    return Ok(());
                }
            }
            n += 1;
            let rate = read_rate(hook.as_ref(), opts.rate_command.as_deref(), &dir)?;
            history.push(rate);
            let s = Situation {
                time_s: started.elapsed().as_secs_f64(),
                step_s: a.interval_s,
                history: &history,
                current: &current,
                last: None,
            };
            let mut rec = LiveRecord {
                interval: n,
                unix_time_s: unix_now(),
                rate,
                action: "keep".into(),
                reason: String::new(),
                config: study.space.to_json(&current),
                change: None,
                applied_by: None,
                downtime_s: None,
                interrupted_s: None,
                caught_up_s: None,
                savepoint: None,
            };
            match p.decide(&s) {
                Ok(Some(Decision { config, reason })) if config != current => {
                    let change = policy::change(&study.space, &current, &config);
                    rec.reason = reason;
                    rec.config = study.space.to_json(&config);
                    if change == Change::Same {
                        // Differs only where it has no effect: nothing to do on the cluster.
                        current = config;
                    } else if opts.dry_run {
                        rec.change = Some(change);
                        rec.action = "would-switch".into();
                    } else if let Some(h) = &hook {
                        rec.change = Some(change);
                        let conf = write_conf(n, &config)?;
                        let rescale = change == Change::Rescale && can_rescale;
                        match switch(h, &study.space, &config, &conf, rescale, opts.source_rate) {
                            Ok((by, r)) => {
                                if rescale && by == Action::Apply {
                                    can_rescale = false;
                                    rec.reason.push_str(" (the hook cannot rescale: applied)");
                                }
                                rec.action = "switch".into();
                                rec.applied_by = Some(by.name().into());
                                rec.downtime_s = r.downtime_s;
                                rec.interrupted_s = r.interrupted_s;
                                rec.caught_up_s = r.caught_up_s;
                                rec.savepoint = r.savepoint;
                                current = config;
                            }
                            Err(e) => {
                                rec.action = "error".into();
                                rec.reason = format!("{} — switch failed: {e:#}", rec.reason);
                            }
                        }
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    rec.action = "error".into();
                    rec.reason = format!("{e:#}");
                }
            }
            println!(
                "interval {n}: rate {:.0}/s: {}{}{}",
                rec.rate,
                rec.action,
                match (&rec.applied_by, rec.downtime_s) {
                    (Some(by), Some(d)) => format!(" by {by}, {d:.1} s down"),
                    (Some(by), None) => format!(" by {by}"),
                    _ => String::new(),
                },
                if rec.reason.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", rec.reason)
                }
            );
            fsx::append_json_line(&mut log, &rec)?;
            records.push(rec);
        }
    })();
    // Whatever happened, a started job is stopped.
    if let (Some(h), false) = (&hook, opts.dry_run) {
        let stopped = h.call(Action::Stop, None, None);
        result?;
        stopped?;
    } else {
        result?;
    }
    Ok(records)
}

/// Makes a switch through the hook: `rescale` in place when asked to (falling back to `apply`
/// when the hook answers it cannot), else `apply`. Returns the action that did it.
fn switch(
    h: &Hook,
    space: &flink::space::Space,
    config: &Config,
    conf: &Path,
    rescale: bool,
    rate: Option<f64>,
) -> Result<(Action, Reply)> {
    if rescale {
        let action = Action::Rescale(policy::taskmanagers(space, config)?);
        match h.call(action, Some(conf), rate) {
            Ok(r) => return Ok((action, r)),
            Err(e) if hook::rescale_unsupported(&e) => {}
            Err(e) => return Err(e),
        }
    }
    Ok((Action::Apply, h.call(Action::Apply, Some(conf), rate)?))
}

fn read_rate(hook: Option<&Hook>, command: Option<&str>, dir: &Path) -> Result<f64> {
    if let Some(cmd) = command {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(cmd)
            .current_dir(dir)
            .output()
            .with_context(|| format!("cannot run the rate command `{cmd}`"))?;
        if !out.status.success() {
            bail!(
                "the rate command `{cmd}` failed ({})",
                adapter::describe_exit(out.status)
            );
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let last = text
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        return match last.trim().parse::<f64>() {
            Ok(r) if r.is_finite() && r >= 0.0 => Ok(r),
            _ => bail!("the rate command `{cmd}` printed {last:?}, not a rate in records/s"),
        };
    }
    let h = hook.context("no rate source")?;
    Ok(h.call(Action::Rate, None, None)?.rate.unwrap_or(0.0))
}

fn sleep_until(t: Instant) {
    while Instant::now() < t && !adapter::cancelled() {
        std::thread::sleep((t - Instant::now()).min(Duration::from_millis(200)));
    }
}

fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}
