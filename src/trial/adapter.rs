//! Running one trial: the adapter protocol (v1, see docs/adapters.md).
//!
//! The tuner prepares a trial directory (`conf/`, `config.json`), runs the adapter and
//! reads `result.json`. The built-in simulator runs in-process but leaves the same files
//! behind, so every trial directory looks alike whatever ran it. A shell adapter runs with
//! `sh -c` in its own process group, stdin closed, with the protocol's variables, under a
//! wall-clock limit; at its end, whatever it started is terminated, wherever it went
//! (see [`crate::trial::tree`]); anything it does wrong
//! becomes a failed trial with a reason, never an error of the tuner. Its stdout and stderr
//! are read through pipes by two threads that keep only the last [`OUTPUT_CAP`] bytes of
//! each, written to the trial's logs when it ends.

use crate::trial::process::{Waited, describe_exit, run_group};
use crate::trial::record::TrialStatus;
use anyhow::Result;
use flink::conf::{self, FlinkVersion};
use flink::metrics::{Metric, Metrics};
use flink::objective::Measurement;
use flink::sim::{self, Cluster, SimJob, SimOutcome, Workload};
use serde_json::{Map, Value};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The result file an adapter writes.
pub const RESULT_FILE: &str = "result.json";
/// How much of an adapter's stderr a failure reason quotes.
const REASON_TAIL: usize = 600;
const STDOUT_LOG: &str = "stdout.log";
/// Where a shell adapter's stderr is kept in its trial directory.
pub const STDERR_LOG: &str = "stderr.log";
/// What separates a failure's reason from the end of the adapter's stderr it quotes.
pub const STDERR_TAIL_MARK: &str = "; stderr ends: ";

/// One trial to run.
#[derive(Clone, Debug)]
pub struct TrialSpec {
    /// The prepared trial directory (holds `conf/` and `config.json`).
    pub dir: PathBuf,
    pub rate: u64,
    pub duration_s: u64,
    pub repeat: u64,
    pub seed: u64,
    pub worker: usize,
}

/// How a trial ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// The job ran and was measured: its metrics, typed, and the result's other fields
    /// (those that are not numbers) as the adapter wrote them.
    Pass {
        metrics: Box<Metrics>,
        notes: Map<String, Value>,
    },
    /// The adapter reports that the configuration cannot run (a FailConf).
    Fail { reason: String },
    /// The adapter misbehaved: crashed, hung, or wrote no valid result. `transient` marks
    /// failures worth a retry (a timeout, an exit without any result), as opposed to an
    /// adapter that answered wrongly.
    Error { reason: String, transient: bool },
}

impl Outcome {
    pub fn status(&self) -> TrialStatus {
        match self {
            Outcome::Pass { .. } => TrialStatus::Pass,
            Outcome::Fail { .. } => TrialStatus::Fail,
            Outcome::Error { .. } => TrialStatus::Error,
        }
    }

    pub fn reason(&self) -> &str {
        match self {
            Outcome::Pass { .. } => "",
            Outcome::Fail { reason } | Outcome::Error { reason, .. } => reason,
        }
    }

    /// Whether a retry might end differently.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Outcome::Error {
                transient: true,
                ..
            }
        )
    }

    /// What a passing trial measured.
    pub fn metrics(&self) -> Option<&Metrics> {
        match self {
            Outcome::Pass { metrics, .. } => Some(metrics),
            _ => None,
        }
    }

    /// The two measurements every passing trial has.
    pub fn measurement(&self) -> Option<Measurement> {
        self.metrics().map(|m| m.measurement())
    }

    /// The outcome as the protocol's `result.json` writes it.
    pub fn result_json(&self) -> Value {
        let mut obj = Map::new();
        obj.insert("status".into(), self.status().name().into());
        match self {
            Outcome::Pass { metrics, notes } => {
                if let Ok(Value::Object(fields)) = serde_json::to_value(metrics) {
                    obj.extend(fields);
                }
                obj.extend(notes.clone());
            }
            Outcome::Fail { reason } | Outcome::Error { reason, .. } => {
                obj.insert("reason".into(), reason.as_str().into());
            }
        }
        Value::Object(obj)
    }

    /// A numeric result field of a passing trial, by its name (e.g. `latency_p50_ms`).
    pub fn metric(&self, name: &str) -> Option<f64> {
        self.metrics()?.get(&Metric::named(name))
    }
}

/// What runs trials.
#[derive(Clone, Debug)]
pub enum Adapter {
    /// The built-in simulated Flink job.
    Sim {
        cluster: Cluster,
        workload: Workload,
        noise: f64,
        /// The release the simulated cluster runs (its memory rules).
        flink: FlinkVersion,
    },
    /// A shell command speaking the protocol, with its wall-clock limit, the grace period
    /// between SIGTERM and SIGKILL for its processes, and the directory where the processes
    /// of running trials are recorded (see [`crate::trial::tree::end_orphans`]).
    Command {
        command: String,
        timeout: Duration,
        grace: Duration,
        ledger: PathBuf,
    },
}

impl Adapter {
    /// A short description for summaries.
    pub fn describe(&self) -> String {
        match self {
            Adapter::Sim {
                cluster,
                workload,
                noise,
                ..
            } => match cluster.mode {
                sim::ClusterMode::Fixed => format!("sim ({workload}, noise {noise})"),
                sim::ClusterMode::Kubernetes => format!(
                    "sim ({workload}, noise {noise}, kubernetes, at most {} TaskManagers)",
                    cluster.max_taskmanagers
                ),
            },
            Adapter::Command { command, .. } => format!("command `{command}`"),
        }
    }

    /// Runs one trial and returns its outcome; the outcome is also in the trial dir's
    /// `result.json` (written by the simulator here, by a shell adapter itself).
    pub fn run(&self, spec: &TrialSpec) -> Outcome {
        match self {
            Adapter::Sim {
                cluster,
                workload,
                noise,
                flink,
            } => {
                let outcome = run_sim(spec, cluster, (*workload, *flink), *noise);
                let result = outcome.result_json();
                if let Err(e) = crate::fsx::write_json(&spec.dir.join(RESULT_FILE), &result) {
                    return Outcome::Error {
                        reason: format!("{e:#}"),
                        transient: false,
                    };
                }
                outcome
            }
            Adapter::Command {
                command,
                timeout,
                grace,
                ledger,
            } => run_command(spec, command, (*timeout, *grace), ledger),
        }
    }
}

/// Runs the simulator on a prepared trial directory, reading its configuration file as
/// Flink would.
/// `job` is the workload and the Flink release the cluster runs.
pub fn run_sim(
    spec: &TrialSpec,
    cluster: &Cluster,
    job: (Workload, FlinkVersion),
    noise: f64,
) -> Outcome {
    let (workload, flink) = job;
    let conf = match conf::read_conf_dir(&spec.dir.join("conf")) {
        Ok(c) => c,
        Err(e) => {
            return Outcome::Fail {
                reason: format!("cannot read the configuration: {e:#}"),
            };
        }
    };
    let job = SimJob {
        workload,
        rate: spec.rate as f64,
        duration_s: spec.duration_s as f64,
        repeat: spec.repeat as u32,
        seed: spec.seed,
        noise,
        flink,
    };
    simulate(&conf, cluster, &job)
}

/// The simulator's answer for a complete configuration, as the protocol's outcome.
pub fn simulate(conf: &conf::FlatConf, cluster: &Cluster, job: &SimJob) -> Outcome {
    match sim::simulate(conf, cluster, job) {
        SimOutcome::Pass(m) => {
            let mut notes = Map::new();
            notes.insert("recovered".into(), m.recovered.into());
            let mut metrics = Metrics {
                throughput: m.throughput,
                latency_p99_ms: m.latency_p99_ms,
                latency_p50_ms: Some(m.latency_p50_ms),
                cpu_cores: Some(m.cpu_cores),
                memory_mb: Some(m.memory_mb),
                recovery_time_s: Some(m.recovery_time_s),
                gc_time_fraction: Some(m.gc_time_fraction),
                backpressured: Some(m.backpressured),
                ..Metrics::default()
            };
            m.resources.record(&mut metrics);
            Outcome::Pass {
                metrics: Box::new(metrics),
                notes,
            }
        }
        SimOutcome::Fail { reason } => Outcome::Fail { reason },
    }
}

/// A study's adapter command as it runs from a trial directory: `{study}` expands to the
/// study directory, and a relative program path (its first word, e.g. `./my-adapter.sh`)
/// that exists there is made absolute, so an adapter beside the study file is found. Other
/// commands (absolute, on `$PATH`, or relative to the trial directory) run unchanged.
pub fn resolve_command(command: &str, study_dir: &Path) -> String {
    let dir = study_dir
        .canonicalize()
        .unwrap_or_else(|_| study_dir.to_path_buf());
    let quoted = |p: &Path| {
        let text = p.to_string_lossy();
        shlex::try_quote(&text).map_or_else(|_| text.to_string(), |q| q.into_owned())
    };
    let command = command.replace("{study}", &quoted(&dir));
    let rest = command.trim_start();
    let program = rest.split_whitespace().next().unwrap_or_default();
    // Only a plain word: a quoted or variable one is the shell's to read.
    let plain = !program.contains(['\'', '"', '$', '`', '\\', '=', '~']);
    let relative = program.contains('/') && !program.starts_with('/');
    if plain && relative && dir.join(program).exists() {
        format!("{}{}", quoted(&dir.join(program)), &rest[program.len()..])
    } else {
        command
    }
}

/// Runs a shell adapter on a prepared trial directory, with its (timeout, kill grace).
fn run_command(
    spec: &TrialSpec,
    command: &str,
    (timeout, grace): (Duration, Duration),
    ledger: &Path,
) -> Outcome {
    let error = |reason: String, transient: bool| Outcome::Error { reason, transient };
    let (dir, logs) = match open_trial_dir(spec) {
        Ok(opened) => opened,
        Err(reason) => return error(reason, false),
    };
    let cmd = adapter_command(command, spec, &dir);
    match run_group(cmd, &dir, logs, timeout, grace, false, Some(ledger)) {
        Ok(ran) => judge(&dir, ran.waited, &ran.stderr, timeout),
        Err((reason, transient)) => error(format!("`sh -c {command}`: {reason}"), transient),
    }
}

/// The trial directory's absolute path and its fresh log files, with no result file left
/// from before; why not, if the directory cannot be resolved or written.
fn open_trial_dir(spec: &TrialSpec) -> std::result::Result<(PathBuf, [fs::File; 2]), String> {
    let dir = spec
        .dir
        .canonicalize()
        .map_err(|e| format!("trial directory: {e}"))?;
    let _ = fs::remove_file(dir.join(RESULT_FILE));
    // The logs are written when the trial ends; creating them now finds an unwritable
    // trial directory before anything runs.
    match (
        fs::File::create(dir.join(STDOUT_LOG)),
        fs::File::create(dir.join(STDERR_LOG)),
    ) {
        (Ok(o), Ok(e)) => Ok((dir, [o, e])),
        (Err(e), _) | (_, Err(e)) => Err(format!("cannot create the log files: {e}")),
    }
}

/// The adapter's command line and the protocol's environment for one trial.
fn adapter_command(command: &str, spec: &TrialSpec, dir: &Path) -> Command {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(command)
        .env("FLINKTUNE_TRIAL_DIR", dir)
        .env("FLINKTUNE_CONF_DIR", dir.join("conf"))
        .env("FLINKTUNE_CONFIG_JSON", dir.join("config.json"))
        .env("FLINKTUNE_RATE", spec.rate.to_string())
        .env("FLINKTUNE_DURATION_S", spec.duration_s.to_string())
        .env("FLINKTUNE_REPEAT", spec.repeat.to_string())
        .env("FLINKTUNE_SEED", spec.seed.to_string())
        .env("FLINKTUNE_WORKER", spec.worker.to_string());
    cmd
}

/// The outcome of an adapter that ended as `waited`: its result, or why there is none
/// (with the end of its stderr) and whether running it again may help.
fn judge(dir: &Path, waited: Waited, stderr: &[u8], timeout: Duration) -> Outcome {
    let error = |reason: String, transient: bool| Outcome::Error { reason, transient };
    let status = match waited {
        Waited::Exited(status) => status,
        Waited::Cancelled => return error("cancelled".into(), true),
        Waited::TimedOut => {
            let why = format!("timed out after {} s", timeout.as_secs());
            return error(with_tail(why, stderr), true);
        }
        Waited::Lost(e) => {
            return error(
                with_tail(format!("lost track of the adapter: {e}"), stderr),
                true,
            );
        }
    };
    // An adapter that left no result at all may have met a passing problem (a cluster that
    // was slow to come up, a lost connection); one that wrote a wrong result will again.
    let wrote_result = dir.join(RESULT_FILE).symlink_metadata().is_ok();
    if !status.success() {
        let how = describe_exit(status);
        // sh's codes for a command it cannot find or run: a retry finds it no better.
        let not_runnable = matches!(status.code(), Some(126 | 127));
        let why = with_tail(format!("adapter failed ({how})"), stderr);
        return error(why, !wrote_result && !not_runnable);
    }
    match read_result(&dir.join(RESULT_FILE)) {
        Ok(outcome) => outcome,
        Err(why) => error(with_tail(why, stderr), !wrote_result),
    }
}

/// A reason followed by the end of a command's stderr on one line (invalid UTF-8
/// replaced): the adapter's here, the reconfiguration hook's too.
pub(crate) fn with_tail(reason: String, stderr: &[u8]) -> String {
    let tail = String::from_utf8_lossy(&stderr[stderr.len().saturating_sub(REASON_TAIL)..]);
    let tail = tail.trim();
    if tail.is_empty() {
        reason
    } else {
        format!("{reason}{STDERR_TAIL_MARK}{}", tail.replace('\n', " | "))
    }
}

/// The largest result.json read: far more than any result, far less than memory.
const RESULT_CAP: u64 = 16 << 20;
/// A pass's throughput, records/s: above 0, at most 10¹².
const THROUGHPUT_MAX: f64 = 1e12;
/// A pass's p99 latency, ms: from 1 µs to 1 day. With the throughput's bounds, every
/// objective (ratio, latency, throughput) and its log score are finite.
const P99_RANGE_MS: std::ops::RangeInclusive<f64> = 1e-3..=86_400_000.0;

/// Reads and checks a `result.json`; the error is the reason the trial failed.
pub fn read_result(path: &Path) -> std::result::Result<Outcome, String> {
    let text = read_capped(path)?;
    if text.iter().all(u8::is_ascii_whitespace) {
        return Err("result.json is empty".into());
    }
    let value: Value =
        serde_json::from_slice(&text).map_err(|e| format!("result.json is not JSON: {e}"))?;
    let Value::Object(mut obj) = value else {
        return Err("result.json is not a JSON object".into());
    };
    let status = obj.remove("status");
    match status.as_ref().and_then(Value::as_str) {
        Some("pass") => {
            let mut number = |key: &str, ok: &dyn Fn(f64) -> bool, range: &str| {
                let v = obj
                    .remove(key)
                    .ok_or_else(|| format!("result.json lacks \"{key}\""))?;
                let x = v
                    .as_f64()
                    .ok_or_else(|| format!("\"{key}\" in result.json is not a number: {v}"))?;
                if !x.is_finite() || !ok(x) {
                    return Err(format!(
                        "\"{key}\" in result.json is invalid: {v} (must be {range})"
                    ));
                }
                Ok(x)
            };
            let throughput = number(
                "throughput",
                &|x| x > 0.0 && x <= THROUGHPUT_MAX,
                "above 0 and at most 1e12 records/s",
            )?;
            let latency_p99_ms = number(
                "latency_p99_ms",
                &|x| P99_RANGE_MS.contains(&x),
                "from 0.001 ms (1 µs) to 86400000 ms (1 day)",
            )?;
            let mut metrics = Metrics {
                throughput,
                latency_p99_ms,
                ..Metrics::default()
            };
            let notes = typed_fields(obj, &mut metrics)?;
            Ok(Outcome::Pass {
                metrics: Box::new(metrics),
                notes,
            })
        }
        Some("fail") => {
            let reason = obj
                .get("reason")
                .and_then(Value::as_str)
                .unwrap_or("the adapter gave no reason")
                .to_string();
            Ok(Outcome::Fail { reason })
        }
        _ => Err(format!(
            "result.json has no valid \"status\" (\"pass\" or \"fail\"): {}",
            status.unwrap_or(Value::Null)
        )),
    }
}

/// The bytes of a result file, read only if it is a regular file of at most
/// [`RESULT_CAP`] bytes: opened without blocking (a named pipe would wait for a writer
/// forever), then checked by its open handle (no swap between check and read), then read
/// no further than the cap (a link to /dev/zero never ends).
fn read_capped(path: &Path) -> std::result::Result<Vec<u8>, String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|_| "the adapter exited 0 but wrote no result.json".to_string())?;
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot inspect result.json: {e}"))?;
    if !meta.is_file() {
        return Err(format!(
            "result.json is not a regular file ({})",
            describe_type(&meta.file_type())
        ));
    }
    if meta.len() > RESULT_CAP {
        return Err(format!(
            "result.json is too large: {} bytes (at most {RESULT_CAP})",
            meta.len()
        ));
    }
    let mut text = Vec::new();
    file.take(RESULT_CAP + 1)
        .read_to_end(&mut text)
        .map_err(|e| format!("cannot read result.json: {e}"))?;
    if text.len() as u64 > RESULT_CAP {
        return Err(format!("result.json grew beyond {RESULT_CAP} bytes"));
    }
    Ok(text)
}

/// What a file that is not a regular one is, in words.
fn describe_type(t: &fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    match () {
        _ if t.is_dir() => "a directory",
        _ if t.is_fifo() => "a named pipe",
        _ if t.is_char_device() => "a character device",
        _ if t.is_block_device() => "a block device",
        _ if t.is_socket() => "a socket",
        _ => "not a file",
    }
}

/// Moves the numeric fields of a passing result (and `backpressured`) into `metrics`;
/// returns the others. A metric the protocol names must be finite and not negative; any
/// other field is the adapter's own and kept whatever its value (a non-finite number, which
/// no metric can hold, as a note).
fn typed_fields(
    fields: Map<String, Value>,
    metrics: &mut Metrics,
) -> std::result::Result<Map<String, Value>, String> {
    let mut notes = Map::new();
    for (k, v) in fields {
        let metric = Metric::named(&k);
        let known = !matches!(metric, Metric::Other(_));
        match (&v, k.as_str()) {
            (Value::Number(n), _) => match n.as_f64() {
                Some(x) if x.is_finite() && (x >= 0.0 || !known) => metrics.set(&metric, x),
                _ if known => {
                    return Err(format!(
                        "\"{k}\" in result.json is invalid: {n} (must be finite and not negative)"
                    ));
                }
                _ => {
                    notes.insert(k, v);
                }
            },
            (Value::Bool(b), "backpressured") => metrics.backpressured = Some(*b),
            _ => {
                notes.insert(k, v);
            }
        }
    }
    Ok(notes)
}

/// The protocol's variables, read back by the `sim-adapter` command.
pub fn spec_from_env() -> Result<TrialSpec> {
    use anyhow::Context;
    let var = |k: &str| std::env::var(k).with_context(|| format!("{k} is not set"));
    let num = |k: &str| -> Result<u64> {
        var(k)?
            .trim()
            .parse()
            .with_context(|| format!("{k} is not a whole number"))
    };
    Ok(TrialSpec {
        dir: PathBuf::from(var("FLINKTUNE_TRIAL_DIR")?),
        rate: num("FLINKTUNE_RATE")?,
        duration_s: num("FLINKTUNE_DURATION_S")?,
        repeat: num("FLINKTUNE_REPEAT")?,
        seed: num("FLINKTUNE_SEED")?,
        worker: num("FLINKTUNE_WORKER")? as usize,
    })
}

/// The `sim-adapter` command: runs the trial the protocol's variables describe on the
/// simulator, as a shell adapter would; an adapter error (not a FailConf) fails the command.
pub fn sim_adapter_from_env(
    cluster: Cluster,
    job: (Workload, FlinkVersion),
    noise: f64,
) -> Result<()> {
    if !(0.0..1.0).contains(&noise) {
        anyhow::bail!("--noise must be in [0, 1)");
    }
    let spec = spec_from_env()?;
    let adapter = Adapter::Sim {
        cluster,
        workload: job.0,
        noise,
        flink: job.1,
    };
    if let Outcome::Error { reason, .. } = adapter.run(&spec) {
        anyhow::bail!("{reason}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result_of(text: &str) -> std::result::Result<Outcome, String> {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join(RESULT_FILE);
        fs::write(&p, text).unwrap();
        read_result(&p)
    }

    #[test]
    fn valid_results_are_read_with_their_extras() {
        let o = result_of(
            r#"{"status":"pass","throughput":1000,"latency_p99_ms":12.5,"latency_p50_ms":3,"notes":"ok"}"#,
        )
        .unwrap();
        assert_eq!(o.measurement().unwrap().latency_p99_ms, 12.5);
        assert_eq!(o.metric("latency_p50_ms"), Some(3.0));
        assert_eq!(o.metrics().unwrap().latency_p50_ms, Some(3.0));
        let f = result_of(r#"{"status":"fail","reason":"cluster did not start"}"#).unwrap();
        assert_eq!(f.reason(), "cluster did not start");
    }

    #[test]
    fn the_ranges_edges_pass_and_give_finite_objectives() {
        use flink::objective::Objective;
        for (t, p99) in [(1e12, 1e-3), (1e-300, 86_400_000.0)] {
            let text =
                format!(r#"{{"status":"pass","throughput":{t:e},"latency_p99_ms":{p99:e}}}"#);
            let m = result_of(&text).unwrap().measurement().unwrap();
            for o in [Objective::Ratio, Objective::Latency, Objective::Throughput] {
                let v = o.run_value(&m);
                assert!(v.is_finite() && o.score(v).is_finite(), "{text}: {o}");
            }
        }
    }

    #[test]
    fn extra_fields_are_kept_whatever_their_value() {
        let o = result_of(
            r#"{"status":"pass","throughput":9,"latency_p99_ms":2,"skew_ms":-0.3,
                "huge":1e300,"bignum":1e999999999999999999999,"list":[-1]}"#,
        );
        // serde_json refuses a number beyond f64 as a whole: that one is not JSON.
        assert!(o.unwrap_err().contains("not JSON"));
        let o = result_of(
            r#"{"status":"pass","throughput":9,"latency_p99_ms":2,"skew_ms":-0.3,
                "huge":-1e300,"list":[-1],"node":null}"#,
        )
        .unwrap();
        assert_eq!(o.metric("skew_ms"), Some(-0.3));
        assert_eq!(o.metric("huge"), Some(-1e300));
        let Outcome::Pass { notes, .. } = &o else {
            panic!("{o:?}")
        };
        assert_eq!(notes["list"], serde_json::json!([-1]));
        assert!(notes["node"].is_null());
    }

    #[test]
    fn only_a_regular_result_file_of_bounded_size_is_read() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join(RESULT_FILE);
        // A named pipe nobody writes to: opening it must not wait.
        let c = std::ffi::CString::new(p.to_str().unwrap()).unwrap();
        // SAFETY: mkfifo with a valid C string.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let e = read_result(&p).unwrap_err();
        assert!(e.contains("not a regular file (a named pipe)"), "{e}");
        fs::remove_file(&p).unwrap();
        std::os::unix::fs::symlink("/dev/zero", &p).unwrap();
        let e = read_result(&p).unwrap_err();
        assert!(e.contains("a character device"), "{e}");
        fs::remove_file(&p).unwrap();
        fs::create_dir(&p).unwrap();
        assert!(read_result(&p).unwrap_err().contains("a directory"));
        fs::remove_dir(&p).unwrap();
        let f = fs::File::create(&p).unwrap();
        f.set_len(RESULT_CAP + 1).unwrap();
        assert!(read_result(&p).unwrap_err().contains("too large"));
    }

    #[test]
    fn reasons_quote_the_end_of_stderr_whatever_its_bytes() {
        assert_eq!(with_tail("r".into(), b" \n"), "r");
        let r = with_tail("r".into(), b"a\xff\xfe\nb\n");
        assert_eq!(r, "r; stderr ends: a\u{fffd}\u{fffd} | b");
        let long = vec![b'x'; 10 * REASON_TAIL];
        assert!(with_tail("r".into(), &long).len() < 2 * REASON_TAIL);
    }

    #[test]
    fn commands_resolve_against_the_study_directory() {
        let d = tempfile::tempdir().unwrap();
        let study = d.path().join("my study");
        fs::create_dir_all(study.join("bin")).unwrap();
        fs::write(study.join("run.sh"), "").unwrap();
        fs::write(study.join("bin/a"), "").unwrap();
        let abs = study.canonicalize().unwrap();
        let q = |p: &Path| format!("'{}'", p.display());
        let r = |c: &str| resolve_command(c, &study);
        assert_eq!(
            r("./run.sh --x 1"),
            format!("{} --x 1", q(&abs.join("./run.sh")))
        );
        assert_eq!(r("bin/a"), q(&abs.join("bin/a")));
        assert_eq!(
            r("python3 {study}/x.py"),
            format!("python3 {}/x.py", q(&abs))
        );
        // Absolute, $PATH and trial-relative commands run as written.
        for c in [
            "/bin/true",
            "python3 run.sh",
            "../../x/adapter",
            "./missing.sh",
            "'./run.sh'",
        ] {
            assert_eq!(r(c), c);
        }
    }

    #[test]
    fn invalid_results_give_reasons() {
        for (text, why) in [
            ("", "empty"),
            ("{nope", "not JSON"),
            ("[1]", "not a JSON object"),
            (
                r#"{"status":"pass","latency_p99_ms":1}"#,
                "lacks \"throughput\"",
            ),
            (
                r#"{"status":"pass","throughput":"fast","latency_p99_ms":1}"#,
                "not a number",
            ),
            (
                r#"{"status":"pass","throughput":-5,"latency_p99_ms":1}"#,
                "invalid",
            ),
            (
                r#"{"status":"pass","throughput":5,"latency_p99_ms":0}"#,
                "invalid",
            ),
            (
                r#"{"status":"pass","throughput":5,"latency_p99_ms":1e999}"#,
                "not JSON",
            ),
            (
                r#"{"status":"pass","throughput":1e308,"latency_p99_ms":1e-300}"#,
                "\"throughput\" in result.json is invalid: 1e+308",
            ),
            (
                r#"{"status":"pass","throughput":0,"latency_p99_ms":5}"#,
                "\"throughput\" in result.json is invalid: 0",
            ),
            (
                r#"{"status":"pass","throughput":5,"latency_p99_ms":1e-300}"#,
                "\"latency_p99_ms\" in result.json is invalid: 1e-300",
            ),
            (
                r#"{"status":"pass","throughput":5,"latency_p99_ms":86400001}"#,
                "\"latency_p99_ms\" in result.json is invalid: 86400001",
            ),
            (
                r#"{"status":"pass","throughput":5,"latency_p99_ms":1,"cpu_cores":-1}"#,
                "\"cpu_cores\" in result.json is invalid: -1",
            ),
            (r#"{"status":"maybe"}"#, "no valid \"status\""),
        ] {
            let e = result_of(text).unwrap_err();
            assert!(e.contains(why), "{text}: {e}");
        }
    }
}
