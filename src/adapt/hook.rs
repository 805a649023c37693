//! The reconfiguration hook of `flinktune adapt`: a user's shell command that starts the
//! job, applies a new configuration (stop with a savepoint, restart from it), rescales the
//! running job in place, reports the current input rate and stops everything. Its contract
//! (docs/adapt.md, "The hook"): it runs with `sh -c` in its own process group with
//! `FLINKTUNE_ACTION` = start | apply | rescale | rate | stop, `FLINKTUNE_STATE_DIR`, for
//! start/apply/rescale `FLINKTUNE_CONF_DIR` and `FLINKTUNE_RATE`, and for rescale
//! `FLINKTUNE_TASKMANAGERS` (the new TaskManager count: only the scale-out changes, the job is
//! not resubmitted); its last stdout line is one JSON object, `{"status": "ok", …}` or
//! `{"status": "fail", "reason": …}`. A hook that cannot rescale answers
//! `{"status": "fail", "reason": "rescale unsupported"}` ([`RESCALE_UNSUPPORTED`]) and adapt
//! applies instead. Unlike an adapter, a hook that exits may leave its cluster running — that
//! is what `start` is for; one that hangs is killed with its group.

use crate::trial::adapter::with_tail;
use crate::trial::process::Waited;
use anyhow::{Context, Result, bail};
use serde::Deserialize;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// What the hook is asked to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Start,
    Apply,
    /// In place, to this many TaskManagers.
    Rescale(u32),
    Rate,
    Stop,
}

impl Action {
    pub fn name(self) -> &'static str {
        match self {
            Action::Start => "start",
            Action::Apply => "apply",
            Action::Rescale(_) => "rescale",
            Action::Rate => "rate",
            Action::Stop => "stop",
        }
    }
}

/// The reason a hook gives when it cannot rescale in place.
pub const RESCALE_UNSUPPORTED: &str = "rescale unsupported";

/// A hook that ran as the contract says and answered `{"status": "fail"}`: the error
/// `Hook::call` returns then, so a caller can tell a refusal from a broken hook.
#[derive(Debug)]
pub struct Refused {
    pub action: &'static str,
    pub reason: String,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "hook {} reports failure: {}", self.action, self.reason)
    }
}

impl std::error::Error for Refused {}

/// Whether `err` is a hook's answer that it cannot rescale.
pub fn rescale_unsupported(err: &anyhow::Error) -> bool {
    err.downcast_ref::<Refused>()
        .is_some_and(|r| r.reason.trim() == RESCALE_UNSUPPORTED)
}

/// The fields of a hook's answer.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct Reply {
    pub status: String,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub savepoint: Option<String>,
    #[serde(default)]
    pub downtime_s: Option<f64>,
    #[serde(default)]
    pub rate: Option<f64>,
    /// rescale: from when the job was first seen not running until it ran again (optional).
    #[serde(default)]
    pub interrupted_s: Option<f64>,
    /// rescale: from the request until the job had caught up with its backlog (optional).
    #[serde(default)]
    pub caught_up_s: Option<f64>,
}

/// A configured hook.
pub struct Hook {
    pub command: String,
    /// The directory the hook owns for the whole run; its logs go to `logs/` inside.
    pub state_dir: PathBuf,
    pub timeout: Duration,
    pub grace: Duration,
    calls: AtomicU64,
}

impl Hook {
    pub fn new(command: &str, state_dir: &Path, timeout: Duration) -> Result<Hook> {
        fs::create_dir_all(state_dir.join("logs"))
            .with_context(|| format!("cannot create {}", state_dir.display()))?;
        let state_dir = state_dir
            .canonicalize()
            .with_context(|| format!("cannot resolve {}", state_dir.display()))?;
        Ok(Hook {
            command: command.to_string(),
            state_dir,
            timeout,
            grace: Duration::from_secs(10),
            calls: AtomicU64::new(0),
        })
    }

    /// Runs one action; an error carries the hook's reason, or how it misbehaved, with the
    /// end of its stderr.
    pub fn call(
        &self,
        action: Action,
        conf_dir: Option<&Path>,
        rate: Option<f64>,
    ) -> Result<Reply> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        let stem = self
            .state_dir
            .join("logs")
            .join(format!("{n:04}-{}", action.name()));
        let logs = [
            fs::File::create(stem.with_extension("stdout.log"))?,
            fs::File::create(stem.with_extension("stderr.log"))?,
        ];
        let cmd = self.command_for(action, conf_dir, rate)?;
        // Its working directory is the logs folder, not the state dir: a cluster it starts
        // keeps the state dir.
        let ran = crate::trial::process::run_group(
            cmd,
            &self.state_dir.join("logs"),
            logs,
            self.timeout,
            self.grace,
            true,
            None,
        )
        .map_err(|(why, _)| anyhow::anyhow!("hook {}: {why}", action.name()))?;
        self.check_exit(action, &ran.waited, &ran.stderr)?;
        parse_reply(action, &String::from_utf8_lossy(&ran.stdout), &ran.stderr)
    }

    /// The hook's command line and environment for one action.
    fn command_for(
        &self,
        action: Action,
        conf_dir: Option<&Path>,
        rate: Option<f64>,
    ) -> Result<Command> {
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(&self.command)
            .env("FLINKTUNE_ACTION", action.name())
            .env("FLINKTUNE_STATE_DIR", &self.state_dir);
        if let Some(dir) = conf_dir {
            let dir = dir
                .canonicalize()
                .with_context(|| format!("cannot resolve {}", dir.display()))?;
            cmd.env("FLINKTUNE_CONF_DIR", dir);
        }
        if let Some(r) = rate {
            cmd.env("FLINKTUNE_RATE", format!("{}", r.round() as u64));
        }
        if let Action::Rescale(n) = action {
            cmd.env("FLINKTUNE_TASKMANAGERS", n.to_string());
        }
        Ok(cmd)
    }

    /// An error unless the hook exited successfully, with the end of its stderr.
    fn check_exit(&self, action: Action, waited: &Waited, stderr: &[u8]) -> Result<()> {
        let why = match waited {
            Waited::Exited(s) if s.success() => return Ok(()),
            Waited::Exited(s) => format!(
                "hook {} failed ({})",
                action.name(),
                crate::trial::process::describe_exit(*s)
            ),
            Waited::TimedOut => format!(
                "hook {} timed out after {} s",
                action.name(),
                self.timeout.as_secs()
            ),
            Waited::Cancelled => bail!("hook {} cancelled", action.name()),
            Waited::Lost(e) => bail!("hook {}: lost track of it: {e}", action.name()),
        };
        bail!("{}", with_tail(why, stderr))
    }
}

/// The reply on the last non-empty line of a hook's stdout, checked against the contract:
/// a refusal (`"status": "fail"`) is a [`Refused`] error, and the times and the rate must
/// be valid numbers.
fn parse_reply(action: Action, stdout: &str, stderr: &[u8]) -> Result<Reply> {
    let Some(last) = stdout.lines().rev().find(|l| !l.trim().is_empty()) else {
        bail!(
            "{}",
            with_tail(format!("hook {} printed nothing", action.name()), stderr)
        );
    };
    let reply: Reply = serde_json::from_str(last.trim()).with_context(|| {
        format!(
            "hook {}: its last stdout line is not the contract's JSON object: {last}",
            action.name()
        )
    })?;
    match reply.status.as_str() {
        "ok" => {}
        "fail" => {
            return Err(Refused {
                action: action.name(),
                reason: reply.reason.unwrap_or_else(|| "(no reason)".into()),
            }
            .into());
        }
        other => bail!("hook {}: unknown status {other:?}", action.name()),
    }
    if action == Action::Rate {
        match reply.rate {
            Some(r) if r.is_finite() && r >= 0.0 => {}
            other => bail!("hook rate: no valid \"rate\" in its answer ({other:?})"),
        }
    }
    for (name, v) in [
        ("downtime_s", reply.downtime_s),
        ("interrupted_s", reply.interrupted_s),
        ("caught_up_s", reply.caught_up_s),
    ] {
        if let Some(d) = v
            && !(d.is_finite() && d >= 0.0)
        {
            bail!("hook {}: invalid {name} {d}", action.name());
        }
    }
    Ok(reply)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(script: &str, dir: &Path) -> Hook {
        Hook::new(script, dir, Duration::from_secs(5)).unwrap()
    }

    #[test]
    fn the_contract_is_enforced() {
        let tmp = tempfile::tempdir().unwrap();
        let ok = hook(
            r#"echo noise; echo "{\"status\":\"ok\",\"rate\":1234.5,\"act\":\"$FLINKTUNE_ACTION\"}""#,
            tmp.path(),
        );
        let r = ok.call(Action::Rate, None, None).unwrap();
        assert_eq!(r.rate, Some(1234.5));
        // Logs are kept per call.
        assert!(tmp.path().join("logs/0000-rate.stdout.log").exists());

        let cases = [
            ("exit 3", "exit status 3"),
            ("echo 'not json'", "not the contract's JSON"),
            (
                r#"echo '{"status":"fail","reason":"no savepoint"}'"#,
                "no savepoint",
            ),
            (r#"echo '{"status":"ok"}'"#, "no valid \"rate\""),
            (r#"echo '{"status":"ok","rate":-1}'"#, "no valid \"rate\""),
            ("true", "printed nothing"),
            ("echo boom >&2; exit 1", "stderr ends: boom"),
        ];
        for (script, want) in cases {
            let err = hook(script, tmp.path())
                .call(Action::Rate, None, None)
                .unwrap_err();
            let text = format!("{err:#}");
            assert!(text.contains(want), "{script}: {text}");
        }
    }

    #[test]
    fn rescale_passes_the_taskmanager_count_and_an_unsupported_rescale_is_recognised() {
        let tmp = tempfile::tempdir().unwrap();
        let h = hook(
            r#"echo "{\"status\":\"ok\",\"downtime_s\":$FLINKTUNE_TASKMANAGERS,\"interrupted_s\":1.5}""#,
            tmp.path(),
        );
        let r = h.call(Action::Rescale(3), None, None).unwrap();
        assert_eq!((r.downtime_s, r.interrupted_s), (Some(3.0), Some(1.5)));

        let no = hook(
            r#"echo '{"status":"fail","reason":"rescale unsupported"}'"#,
            tmp.path(),
        );
        let err = no.call(Action::Rescale(2), None, None).unwrap_err();
        assert!(rescale_unsupported(&err), "{err:#}");
        // Any other refusal, or a broken hook, is not mistaken for one.
        for script in [
            r#"echo '{"status":"fail","reason":"no TaskManager registered"}'"#,
            "echo 'rescale unsupported'; exit 1",
        ] {
            let err = hook(script, tmp.path())
                .call(Action::Rescale(2), None, None)
                .unwrap_err();
            assert!(!rescale_unsupported(&err), "{script}: {err:#}");
        }
        let bad = hook(r#"echo '{"status":"ok","interrupted_s":-2}'"#, tmp.path());
        let err = bad.call(Action::Rescale(2), None, None).unwrap_err();
        assert!(
            format!("{err:#}").contains("invalid interrupted_s"),
            "{err:#}"
        );
    }

    #[test]
    fn a_hook_gets_its_variables_and_may_leave_a_process_behind_but_not_when_it_hangs() {
        let tmp = tempfile::tempdir().unwrap();
        let conf = tmp.path().join("conf");
        fs::create_dir_all(&conf).unwrap();
        // start: leaves a sleeper running (like a cluster) and reports the variables.
        let h = hook(
            r#"sleep 30 & echo $! > "$FLINKTUNE_STATE_DIR/pid"; echo "{\"status\":\"ok\",\"savepoint\":\"$FLINKTUNE_CONF_DIR|$FLINKTUNE_RATE\"}""#,
            tmp.path(),
        );
        let r = h.call(Action::Start, Some(&conf), Some(999.6)).unwrap();
        let want = format!("{}|1000", conf.canonicalize().unwrap().display());
        assert_eq!(r.savepoint.as_deref(), Some(want.as_str()));
        let pid: i32 = fs::read_to_string(tmp.path().join("pid"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        // SAFETY: signal 0 only checks that the process exists.
        assert_eq!(
            unsafe { libc::kill(pid, 0) },
            0,
            "the started process was killed"
        );
        unsafe { libc::kill(pid, libc::SIGKILL) };

        // A hung hook is killed with what it started.
        let mut h = hook(
            r#"sleep 60 & echo $! > "$FLINKTUNE_STATE_DIR/pid2"; wait"#,
            tmp.path(),
        );
        h.timeout = Duration::from_millis(500);
        h.grace = Duration::from_millis(200);
        let err = h.call(Action::Stop, None, None).unwrap_err();
        assert!(format!("{err:#}").contains("timed out"), "{err:#}");
        let pid: i32 = fs::read_to_string(tmp.path().join("pid2"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        std::thread::sleep(Duration::from_millis(100));
        let alive = fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| !s.contains(") Z "))
            .unwrap_or(false);
        assert!(!alive, "the hung hook's child survived");
    }
}
