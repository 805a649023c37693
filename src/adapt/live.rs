//! `flinktune adapt --hook COMMAND` (or `--rate-command` with `--dry-run`): the live loop.
//! Every interval the current rate is read (the hook's `rate` action or `--rate-command`),
//! the policy decides, and a new configuration is applied through the hook — in place
//! (`rescale`) when only the scale-out changes (`policy::change`), else by stop with a
//! savepoint and a restart from it (`apply`), which is also the fallback for a hook that
//! cannot rescale — or, with `--dry-run`, only logged. Every interval is appended to
//! `adapt-live/decisions.jsonl` and synced as it goes.

use crate::adapt::hook::{self, Action, Hook, Reply};
use crate::adapt::policy::{self, Change, Decision, Policy, Situation};
use crate::adapt::policy_kind::{PolicyKind, make_policy};
use crate::adapt::trace;
use crate::study::Study;
use crate::trial::runner::AdapterFailing;
use anyhow::{Context, Result, bail};
use flink::space::Config;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

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

/// The live loop's folder in the study.
pub const DIR: &str = "adapt-live";
/// Its log in that folder: one line per interval, every run appended.
pub const LOG: &str = "decisions.jsonl";

/// The live loop's log in the study at `study_dir`.
pub fn log_path(study_dir: &Path) -> PathBuf {
    study_dir.join(DIR).join(LOG)
}

/// One interval of a live run, as logged.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LiveRecord {
    /// From 1 in each run (a new run's first interval starts a new stretch of the log).
    pub interval: u64,
    /// The policy deciding (empty in logs written before it was recorded).
    #[serde(default)]
    pub policy: String,
    /// A dry run: switches are decided and logged, never applied.
    #[serde(default)]
    pub dry_run: bool,
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
    check(opts)?;
    let mut run = LiveRun::open(study, opts)?;
    run.start_job()?;
    let result = run.intervals();
    run.stop_job(result)?;
    Ok(run.records)
}

/// What a live run needs to be able to do anything.
fn check(opts: &LiveOptions) -> Result<()> {
    if opts.hook.is_none() && opts.rate_command.is_none() {
        bail!("a live adapt run needs --hook (or --rate-command with --dry-run)");
    }
    if opts.hook.is_none() && !opts.dry_run {
        bail!("without --hook nothing can apply a configuration: add --dry-run");
    }
    if matches!(
        opts.policy,
        PolicyKind::Autoscaler | PolicyKind::Reactive | PolicyKind::Ds2
    ) {
        bail!(
            "the {:?} policy needs the job's CPU metrics, which a live run does not read; use \
             demeter or static",
            opts.policy
        );
    }
    Ok(())
}

/// A live run under way: its folder and log, the hook, the rates seen, the policy and the
/// configuration the job runs.
struct LiveRun<'a> {
    study: &'a Study,
    opts: &'a LiveOptions,
    /// `adapt-live/`.
    dir: PathBuf,
    hook: Option<Hook>,
    history: Vec<f64>,
    policy: Box<dyn Policy>,
    current: Config,
    log: std::fs::File,
    records: Vec<LiveRecord>,
    /// Cleared once the hook answers "rescale unsupported": later rescales go straight to apply.
    can_rescale: bool,
}

impl<'a> LiveRun<'a> {
    /// Creates `adapt-live/`, the hook, the history and the policy (which names the
    /// configuration to start with), and opens the decision log for appending.
    fn open(study: &'a Study, opts: &'a LiveOptions) -> Result<LiveRun<'a>> {
        let a = &study.file.adapt;
        let dir = study.dir.join(DIR);
        std::fs::create_dir_all(dir.join("configs"))?;
        let hook = match &opts.hook {
            Some(cmd) => Some(Hook::new(cmd, &dir.join("hook-state"), opts.hook_timeout)?),
            None => None,
        };
        let history: Vec<f64> = match &opts.history {
            Some(p) => trace::read(p)?.rates,
            None => Vec::new(),
        };
        let mut policy = make_policy(study, opts.policy, a.interval_s, Some(&dir))?;
        let current = policy.initial()?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(LOG))?;
        Ok(LiveRun {
            study,
            opts,
            dir,
            hook,
            history,
            policy,
            current,
            log,
            records: Vec::new(),
            can_rescale: true,
        })
    }

    /// Writes `config` as interval `n`'s Flink configuration directory; returns its `conf/`.
    fn write_conf(&self, n: u64, config: &Config) -> Result<PathBuf> {
        let d = self.dir.join("configs").join(format!("{n:04}"));
        if d.exists() {
            std::fs::remove_dir_all(&d)?;
        }
        self.study
            .write_config_dir(config, &d, &format!("flinktune adapt interval {n}"))?;
        Ok(d.join("conf"))
    }

    /// Starts the job with the initial configuration (not in a dry run).
    fn start_job(&self) -> Result<()> {
        if let (Some(h), false) = (&self.hook, self.opts.dry_run) {
            let conf = self.write_conf(0, &self.current)?;
            h.call(Action::Start, Some(&conf), self.opts.source_rate)?;
        }
        Ok(())
    }

    /// One interval after another, each logged and synced, until the intervals asked for
    /// are done or the run is cancelled.
    fn intervals(&mut self) -> Result<()> {
        let started = Instant::now();
        let interval_s = self.study.file.adapt.interval_s;
        let mut n = 0u64;
        loop {
            if self.opts.intervals.is_some_and(|max| n >= max) || crate::trial::process::cancelled()
            {
                return Ok(());
            }
            if n > 0 {
                sleep_until(started + Duration::from_secs_f64(interval_s * n as f64));
                if crate::trial::process::cancelled() {
                    return Ok(());
                }
            }
            n += 1;
            let rec = self.interval(n, started)?;
            crate::progress::print(format_args!("{}\n", progress(&rec)))?;
            crate::trial::journal::append_json_line(&mut self.log, &rec)?;
            self.records.push(rec);
        }
    }

    /// Interval `n`: reads the rate, asks the policy, and switches if it says so.
    fn interval(&mut self, n: u64, started: Instant) -> Result<LiveRecord> {
        let rate = read_rate(
            self.hook.as_ref(),
            self.opts.rate_command.as_deref(),
            &self.dir,
        )?;
        self.history.push(rate);
        let s = Situation {
            time_s: started.elapsed().as_secs_f64(),
            step_s: self.study.file.adapt.interval_s,
            history: &self.history,
            current: &self.current,
            last: None,
        };
        let mut rec = LiveRecord {
            interval: n,
            policy: self.policy.name().to_string(),
            dry_run: self.opts.dry_run,
            unix_time_s: unix_now(),
            rate,
            action: "keep".into(),
            reason: String::new(),
            config: self.study.space.to_json(&self.current),
            change: None,
            applied_by: None,
            downtime_s: None,
            interrupted_s: None,
            caught_up_s: None,
            savepoint: None,
        };
        match self.policy.decide(&s) {
            Ok(Some(Decision { config, reason })) if config != self.current => {
                self.switch_to(n, &mut rec, config, reason)?;
            }
            Ok(_) => {}
            Err(e) if AdapterFailing::caused(&e) => return Err(e),
            Err(e) => {
                rec.action = "error".into();
                rec.reason = format!("{e:#}");
            }
        }
        Ok(rec)
    }

    /// Switches the job to `config` as interval `n` decided (or, in a dry run, records that
    /// it would); a switch the hook fails is recorded as an error and the old configuration
    /// kept.
    fn switch_to(
        &mut self,
        n: u64,
        rec: &mut LiveRecord,
        config: Config,
        reason: String,
    ) -> Result<()> {
        let change = policy::change(&self.study.space, &self.current, &config);
        rec.reason = reason;
        rec.config = self.study.space.to_json(&config);
        if change == Change::Same {
            // Differs only where it has no effect: nothing to do on the cluster.
            self.current = config;
        } else if self.opts.dry_run {
            rec.change = Some(change);
            rec.action = "would-switch".into();
        } else if let Some(h) = &self.hook {
            rec.change = Some(change);
            let conf = self.write_conf(n, &config)?;
            let rescale = change == Change::Rescale && self.can_rescale;
            let space = &self.study.space;
            match switch(h, space, &config, &conf, rescale, self.opts.source_rate) {
                Ok((by, r)) => {
                    if rescale && by == Action::Apply {
                        self.can_rescale = false;
                        rec.reason.push_str(" (the hook cannot rescale: applied)");
                    }
                    rec.action = "switch".into();
                    rec.applied_by = Some(by.name().into());
                    rec.downtime_s = r.downtime_s;
                    rec.interrupted_s = r.interrupted_s;
                    rec.caught_up_s = r.caught_up_s;
                    rec.savepoint = r.savepoint;
                    self.current = config;
                }
                Err(e) => {
                    rec.action = "error".into();
                    rec.reason = format!("{} — switch failed: {e:#}", rec.reason);
                }
            }
        }
        Ok(())
    }

    /// Whatever happened, a started job is stopped; then the loop's error, if any, is the
    /// run's.
    fn stop_job(&self, result: Result<()>) -> Result<()> {
        if let (Some(h), false) = (&self.hook, self.opts.dry_run) {
            let stopped = h.call(Action::Stop, None, None);
            result?;
            stopped?;
        } else {
            result?;
        }
        Ok(())
    }
}

/// An interval's line on the terminal.
fn progress(rec: &LiveRecord) -> String {
    format!(
        "interval {}: rate {:.0}/s: {}{}{}",
        rec.interval,
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
    )
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
                crate::trial::process::describe_exit(out.status)
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
    while Instant::now() < t && !crate::trial::process::cancelled() {
        std::thread::sleep((t - Instant::now()).min(Duration::from_millis(200)));
    }
}

fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}
