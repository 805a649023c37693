//! Running a command the way a trial runs its adapter: `sh -c` in its own process group,
//! stdin closed, under a wall-clock limit after which the whole group is terminated (TERM,
//! then KILL after a grace period), its stdout and stderr read through pipes by two threads
//! that keep only the last [`OUTPUT_CAP`] bytes of each. Whatever it starts is followed
//! and ended with it ([`Tree`], in a cgroup of its own where one can be made). The reconfiguration hook runs the same way.

use crate::trial::tree::{self, Tree};
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
/// How long the adapter's output is still read once its process tree is gone. The pipes
/// close with the tree; only a process that escaped it (cleared its environment after
/// double-forking) can hold them open longer.
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
/// requested; then nothing it started is left running — its whole process tree, wherever
/// it went, is ended (see [`Tree`]) — except, with `keep_after_exit`, what a command that
/// exited by itself left behind on purpose (a hook that starts a cluster). While it runs,
/// its processes are recorded in `ledger` (a directory) for [`tree::end_orphans`]. The
/// error says why it could not run at all, and whether that may pass (its output could not
/// be read) or not (it could not be started).
pub fn run_group(
    mut cmd: Command,
    dir: &Path,
    logs: [fs::File; 2],
    timeout: Duration,
    grace: Duration,
    keep_after_exit: bool,
    ledger: Option<&Path>,
) -> std::result::Result<Ran, (String, bool)> {
    tree::become_subreaper();
    let mut tree = Tree::new(ledger);
    // A command that may leave things running on purpose gets no cgroup to be killed with.
    if let Some(procs) = (!keep_after_exit).then(|| tree.contain()).flatten() {
        // SAFETY: the hook only makes open, write and close system calls.
        unsafe {
            cmd.pre_exec(move || {
                crate::trial::cgroup::Cgroup::enter(&procs);
                Ok(())
            });
        }
    }
    cmd.current_dir(dir)
        .env(tree::RUN_VAR, tree.token())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = cmd
        .spawn()
        .map_err(|e| (format!("cannot start: {e}"), false))?;
    tree.started(child.id());
    // Both pipes are read while it runs, or a chatty command would block on a full pipe.
    let drains = match (
        child.stdout.take().map(Drain::start),
        child.stderr.take().map(Drain::start),
    ) {
        (Some(Ok(o)), Some(Ok(e))) => [o, e],
        (o, e) => {
            end_tree(tree, &mut child, Duration::ZERO);
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
    let waited = wait(&mut child, &mut tree, timeout);
    // Unless it exited and may leave things behind, nothing it started may outlive it.
    // Once they are gone, so are the pipes' writers, and the drains end.
    if matches!(waited, Waited::Exited(_)) && keep_after_exit {
        tree.forget();
    } else {
        end_tree(tree, &mut child, grace);
    }
    let [stdout, stderr] = write_logs(logs, drains, Instant::now() + DRAIN_WAIT);
    Ok(Ran {
        waited,
        stdout,
        stderr,
    })
}

/// Waits for the command to exit, `timeout` to pass or a stop to be requested, following
/// its process tree as it grows.
fn wait(child: &mut Child, tree: &mut Tree, timeout: Duration) -> Waited {
    let started = Instant::now();
    let mut round = 0u64;
    loop {
        round += 1;
        match child.try_wait() {
            Ok(Some(status)) => return Waited::Exited(status),
            Ok(None) if cancelled() => return Waited::Cancelled,
            Ok(None) if started.elapsed() >= timeout => return Waited::TimedOut,
            Ok(None) => {}
            Err(e) => return Waited::Lost(e),
        }
        // Reading /proc costs more than a wait: the tree is followed every 100 ms.
        if round % 5 == 1 {
            tree.follow();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Ends the command's whole tree, reaps the command, and drops the tree's ledger once
/// nothing of it runs (what survives a SIGKILL stays recorded for the next run).
fn end_tree(mut tree: Tree, child: &mut Child, grace: Duration) {
    let gone = tree.end(grace, || {
        let _ = child.try_wait();
    });
    let _ = child.wait();
    if gone {
        tree.forget();
    }
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
