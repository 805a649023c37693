//! Running a command the way a trial runs its adapter: `sh -c` in its own process group,
//! stdin closed, under a wall-clock limit after which the whole group is terminated (TERM,
//! then KILL after a grace period), its stdout and stderr read through pipes by two threads
//! that keep only the last [`OUTPUT_CAP`] bytes of each. The reconfiguration hook runs the
//! same way; `kill_strays` ends what a killed tuner left running in a trials folder.

use std::collections::VecDeque;
use std::fs;
use std::io::{Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Set when the user asks to stop (Ctrl-C): running shell adapters are terminated and
/// no new trial starts.
static CANCEL: AtomicBool = AtomicBool::new(false);

/// Asks every running adapter to stop.
pub fn request_cancel() {
    CANCEL.store(true, Ordering::SeqCst);
}

/// Whether a stop was requested.
pub fn cancelled() -> bool {
    CANCEL.load(Ordering::SeqCst)
}

/// How much of each of an adapter's stdout and stderr a trial keeps: the last bytes, in
/// `stdout.log` and `stderr.log`, after a line saying how many earlier bytes were dropped.
pub const OUTPUT_CAP: usize = 256 * 1024;
/// How long the adapter's output is still read once its process group is gone. The pipes
/// close with the group; only a process that left the group can hold them open longer.
const DRAIN_WAIT: Duration = Duration::from_secs(1);

/// How a command run by [`run_group`] ended.
pub enum Waited {
    Exited(std::process::ExitStatus),
    TimedOut,
    Cancelled,
    Lost(std::io::Error),
}

/// What a command run by [`run_group`] left: how it ended and the kept ends of its output.
pub struct Ran {
    pub waited: Waited,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// Runs `cmd` (its working directory `dir`) in its own process group with its output
/// drained into `logs` (`[stdout, stderr]`), until it exits, `timeout` passes or a stop is
/// requested; then nothing it started is left running — not its group, nor what left the
/// group but still runs in `dir` — except, with `keep_after_exit`, what a command that
/// exited by itself left behind on purpose (a hook that starts a cluster). The error says why it could not run at all, and whether
/// that may pass (its output could not be read) or not (it could not be started).
pub fn run_group(
    mut cmd: Command,
    dir: &Path,
    logs: [fs::File; 2],
    timeout: Duration,
    grace: Duration,
    keep_after_exit: bool,
) -> std::result::Result<Ran, (String, bool)> {
    cmd.current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = cmd
        .spawn()
        .map_err(|e| (format!("cannot start: {e}"), false))?;
    let started = Instant::now();
    // Both pipes are read while it runs, or a chatty command would block on a full pipe.
    let drains = match (
        child.stdout.take().map(Drain::start),
        child.stderr.take().map(Drain::start),
    ) {
        (Some(Ok(o)), Some(Ok(e))) => [o, e],
        (o, e) => {
            terminate_group(&mut child, Duration::ZERO);
            let _ = child.wait();
            let why = [o, e]
                .into_iter()
                .find_map(|d| match d {
                    Some(Err(e)) => Some(e.to_string()),
                    _ => None,
                })
                .unwrap_or_else(|| "no pipe".into());
            return Err((format!("cannot read its output: {why}"), true));
        }
    };
    let waited = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Waited::Exited(status),
            Ok(None) if cancelled() => break Waited::Cancelled,
            Ok(None) if started.elapsed() >= timeout => break Waited::TimedOut,
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => break Waited::Lost(e),
        }
    };
    // Unless it exited and may leave things behind, nothing it started may outlive it.
    // Once they are gone, so are the pipes' writers, and the drains end.
    let exited = matches!(waited, Waited::Exited(_));
    if !(exited && keep_after_exit) {
        terminate_group(&mut child, grace);
        kill_strays(dir);
    }
    if !exited {
        let _ = child.wait();
    }
    let [stdout, stderr] = write_logs(logs, drains, Instant::now() + DRAIN_WAIT);
    Ok(Ran {
        waited,
        stdout,
        stderr,
    })
}

/// An exit status in words, with sh's meaning of 126 and 127.
pub fn describe_exit(status: std::process::ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(127), _) => "exit status 127, sh's code for a command not found".to_string(),
        (Some(126), _) => "exit status 126, sh's code for a command it cannot run".to_string(),
        (Some(c), _) => format!("exit status {c}"),
        (None, Some(s)) => format!("killed by signal {s}"),
        (None, None) => "killed by a signal".to_string(),
    }
}

/// Kills every process whose working directory lies under `dir`, with its process group:
/// what an adapter started and moved out of its group (`setsid`), or what a killed tuner
/// left behind, still runs where the adapter ran. Linux (/proc); elsewhere it does nothing.
pub fn kill_strays(dir: &Path) {
    let Ok(root) = dir.canonicalize() else {
        return;
    };
    let Ok(procs) = fs::read_dir("/proc") else {
        return;
    };
    let me = std::process::id() as i32;
    // SAFETY: getpgid/kill take plain integers; no memory is shared.
    let my_group = unsafe { libc::getpgid(0) };
    for entry in procs.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        let inside =
            fs::read_link(entry.path().join("cwd")).is_ok_and(|cwd| cwd.starts_with(&root));
        if !inside || pid == me {
            continue;
        }
        let pgid = unsafe { libc::getpgid(pid) };
        if pgid > 0 && pgid != my_group {
            unsafe { libc::kill(-pgid, libc::SIGKILL) };
        }
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
}

/// SIGTERM to the process group of `child`, a grace period while anything in it still runs,
/// then SIGKILL to what is left.
fn terminate_group(child: &mut Child, grace: Duration) {
    let pgid = child.id() as i32;
    if !group_exists(pgid) {
        return;
    }
    // SAFETY: kill(2) with a negative pid signals a process group; no memory is involved.
    unsafe { libc::kill(-pgid, libc::SIGTERM) };
    let deadline = Instant::now() + grace;
    loop {
        // Reap the adapter as soon as it exits: a zombie still counts as a group member.
        let _ = child.try_wait();
        if !group_runs(pgid) || Instant::now() >= deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    if group_exists(pgid) {
        unsafe { libc::kill(-pgid, libc::SIGKILL) };
    }
}

/// Whether the process group has any member, zombies included.
fn group_exists(pgid: i32) -> bool {
    // SAFETY: signal 0 only checks that the group exists.
    unsafe { libc::kill(-pgid, 0) == 0 }
}

/// Whether a process of the group still runs. kill(2) counts zombies too, and orphans that
/// died wait for init to reap them, which can take a while; on Linux /proc tells them apart.
/// Anywhere else, or if /proc cannot be read, every member counts as running.
fn group_runs(pgid: i32) -> bool {
    if !group_exists(pgid) {
        return false;
    }
    let Ok(entries) = fs::read_dir("/proc") else {
        return true;
    };
    if !Path::new("/proc/self/stat").exists() {
        return true;
    }
    let pgid = pgid.to_string();
    entries.flatten().any(|e| {
        let Ok(stat) = fs::read_to_string(e.path().join("stat")) else {
            return false;
        };
        // `pid (comm) state ppid pgrp ...`, where comm may hold anything, parentheses too.
        let Some((_, rest)) = stat.rsplit_once(')') else {
            return false;
        };
        let mut fields = rest.split_whitespace();
        let state = fields.next().unwrap_or("");
        let pgrp = fields.nth(1).unwrap_or("");
        pgrp == pgid && !matches!(state, "Z" | "X")
    })
}

/// The last bytes of a stream, and how many there were in all.
struct Tail {
    kept: VecDeque<u8>,
    cap: usize,
    total: u64,
}

impl Tail {
    fn new(cap: usize) -> Tail {
        Tail {
            kept: VecDeque::new(),
            cap,
            total: 0,
        }
    }

    fn push(&mut self, chunk: &[u8]) {
        self.total += chunk.len() as u64;
        let chunk = &chunk[chunk.len().saturating_sub(self.cap)..];
        let excess = (self.kept.len() + chunk.len()).saturating_sub(self.cap);
        self.kept.drain(..excess);
        self.kept.extend(chunk);
    }

    /// How many bytes came before the kept ones.
    fn dropped(&self) -> u64 {
        self.total - self.kept.len() as u64
    }
}

/// A thread reading one of the adapter's pipes to its end, keeping the last
/// [`OUTPUT_CAP`] bytes.
struct Drain {
    tail: Arc<Mutex<Tail>>,
    thread: std::thread::JoinHandle<()>,
}

impl Drain {
    fn start(mut pipe: impl Read + Send + 'static) -> std::io::Result<Drain> {
        let tail = Arc::new(Mutex::new(Tail::new(OUTPUT_CAP)));
        let kept = Arc::clone(&tail);
        let thread = std::thread::Builder::new()
            .name("adapter-output".into())
            .spawn(move || {
                let mut buf = vec![0u8; 64 * 1024];
                loop {
                    match pipe.read(&mut buf) {
                        Ok(0) => break,
                        Ok(n) => lock(&kept).push(&buf[..n]),
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(_) => break,
                    }
                }
            })?;
        Ok(Drain { tail, thread })
    }

    /// Waits until the pipe's end or `deadline`, and returns what was kept and whether the
    /// pipe was read to its end. A drain still running at the deadline (a process that left
    /// the adapter's group holds the pipe) is left to finish on its own.
    fn finish(self, deadline: Instant) -> (Vec<u8>, u64, bool) {
        while !self.thread.is_finished() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        let ended = self.thread.is_finished();
        if ended {
            let _ = self.thread.join();
        }
        let tail = lock(&self.tail);
        (tail.kept.iter().copied().collect(), tail.dropped(), ended)
    }
}

fn lock(tail: &Mutex<Tail>) -> std::sync::MutexGuard<'_, Tail> {
    tail.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Writes what the drains kept into the trial's logs (`[stdout, stderr]`), saying how much
/// was dropped; returns the kept ends of both.
fn write_logs(logs: [fs::File; 2], drains: [Drain; 2], deadline: Instant) -> [Vec<u8>; 2] {
    let mut kept_ends = [Vec::new(), Vec::new()];
    for (i, (mut log, drain)) in logs.into_iter().zip(drains).enumerate() {
        let (kept, dropped, ended) = drain.finish(deadline);
        let mut text = Vec::with_capacity(kept.len() + 200);
        if dropped > 0 {
            text.extend(format!("[flinktune: {dropped} earlier bytes dropped]\n").bytes());
        }
        text.extend(&kept);
        if !ended {
            if !text.is_empty() && !text.ends_with(b"\n") {
                text.push(b'\n');
            }
            text.extend(
                b"[flinktune: still open when the trial ended (held by a process outside the \
                  adapter's process group); later output is not kept]\n",
            );
        }
        // The logs are a courtesy: a trial does not fail for want of them.
        let _ = log.write_all(&text);
        kept_ends[i] = kept;
    }
    kept_ends
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tail_keeps_the_last_bytes_and_counts_the_others() {
        let mut t = Tail::new(4);
        let kept = |t: &Tail| t.kept.iter().copied().collect::<Vec<u8>>();
        t.push(b"ab");
        assert_eq!((kept(&t), t.dropped()), (b"ab".to_vec(), 0));
        t.push(b"cde");
        assert_eq!((kept(&t), t.dropped()), (b"bcde".to_vec(), 1));
        t.push(b"0123456789");
        assert_eq!((kept(&t), t.dropped()), (b"6789".to_vec(), 11));
        assert_eq!(t.total, 15);
    }
}
