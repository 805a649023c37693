//! The processes a command started, wherever they went.
//!
//! flinktune makes itself a child subreaper, so whatever an adapter starts stays its
//! descendant even after `setsid`, `cd /` and a double fork: an orphan is handed back to
//! flinktune, not to init. A [`Tree`] follows the adapter's descendants through /proc (by
//! parent pid), and recognises the orphans handed back by a variable ([`RUN_VAR`]) that
//! every descendant inherits; it ends them all (SIGTERM, a grace period, SIGKILL) and keeps
//! a ledger of them — pid and start time (/proc/PID/stat field 22) — so that the next run
//! ends what a killed flinktune left behind. A process is signalled only when its start
//! time matches the recorded one: a recycled pid is never hit. Where a cgroup can be made,
//! the tree also has its own ([`Cgroup`]), killed after the walk and removed. Linux only:
//! elsewhere there is no /proc and a tree holds only the command itself.

use crate::trial::cgroup::Cgroup;
use std::collections::BTreeMap;
use std::ffi::CString;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Once;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The variable every process of a tree inherits; its value names the tree.
pub const RUN_VAR: &str = "FLINKTUNE_RUN";
/// How long SIGKILLs are repeated at a tree that keeps forking.
const KILL_WAIT: Duration = Duration::from_secs(2);
const POLL: Duration = Duration::from_millis(20);

/// Makes this process a child subreaper (once): orphans of its descendants become its
/// children instead of init's, so they stay in reach.
pub fn become_subreaper() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        #[cfg(target_os = "linux")]
        // SAFETY: prctl with PR_SET_CHILD_SUBREAPER takes plain integers.
        unsafe {
            libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        }
    });
}

/// A process as /proc/PID/stat shows it.
#[derive(Clone, Copy, Debug)]
struct Proc {
    ppid: i32,
    /// Clock ticks after boot at which it started: with the pid, it names one process.
    start: u64,
    zombie: bool,
}

/// One process's stat line, parsed; `None` once it is gone. A process whose main thread has
/// exited shows as a zombie while its other threads still run (a JVM does this while it
/// shuts down): it counts as a zombie only once it is its last thread, or the tree would be
/// judged gone and the process, dying later, never reaped.
fn stat(pid: i32) -> Option<Proc> {
    let mut p = parse_stat(&fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)?;
    if p.zombie && threads(pid) > 1 {
        p.zombie = false;
    }
    Some(p)
}

/// How many threads /proc lists for `pid` (a zombie main thread among them).
fn threads(pid: i32) -> usize {
    fs::read_dir(format!("/proc/{pid}/task")).map_or(0, |d| d.count())
}

/// `pid (comm) state ppid pgrp ... starttime ...`, where comm may hold anything,
/// parentheses and spaces too: fields are counted after the last `)`.
fn parse_stat(line: &str) -> Option<Proc> {
    let (_, rest) = line.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(Proc {
        zombie: matches!(*fields.first()?, "Z" | "X"),
        ppid: fields.get(1)?.parse().ok()?,
        start: fields.get(19)?.parse().ok()?,
    })
}

/// Every process /proc shows.
fn snapshot() -> BTreeMap<i32, Proc> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return BTreeMap::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| Some((pid, stat(pid)?)))
        .collect()
}

/// Whether the process's environment names the tree `token`. Unreadable (another user's
/// process) counts as no.
fn carries(pid: i32, token: &str) -> bool {
    let Ok(env) = fs::read(format!("/proc/{pid}/environ")) else {
        return false;
    };
    let want = format!("{RUN_VAR}={token}");
    env.split(|&b| b == 0).any(|var| var == want.as_bytes())
}

fn this_pid() -> i32 {
    std::process::id() as i32
}

/// This run's name: pid and start time, so a later run can tell whether it still lives.
fn owner() -> (i32, u64) {
    let me = this_pid();
    (me, stat(me).map_or(0, |p| p.start))
}

/// A fresh tree name, unique to this run: `<pid>-<start>-<n>`.
fn fresh_token() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let (pid, start) = owner();
    format!("{pid}-{start}-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// The processes of one command: followed while it runs, ended as a whole.
pub struct Tree {
    /// The command's own pid (its parent, flinktune, reaps it), if it runs in this process.
    root: Option<i32>,
    token: String,
    /// Whether processes anywhere carrying the token belong (a dead run's), or only
    /// orphans handed back to this process.
    scan_all: bool,
    /// pid → start time of every process seen in the tree.
    members: BTreeMap<i32, u64>,
    /// Where the members are recorded, and how many were when last written.
    ledger: Option<PathBuf>,
    recorded: usize,
    /// The tree's own cgroup, where one could be made.
    cgroup: Option<Cgroup>,
}

impl Tree {
    /// A tree for a command about to start; `ledger_dir`, if given, is where its members
    /// are recorded for the next run. The command must carry [`Tree::token`] as [`RUN_VAR`].
    pub fn new(ledger_dir: Option<&Path>) -> Tree {
        let token = fresh_token();
        Tree {
            root: None,
            ledger: ledger_dir.map(|d| d.join(format!("{token}.pids"))),
            token,
            scan_all: false,
            members: BTreeMap::new(),
            recorded: 0,
            cgroup: None,
        }
    }

    pub fn token(&self) -> &str {
        &self.token
    }

    /// Gives the tree a cgroup of its own if one can be made; returns the `cgroup.procs`
    /// path the command must enter before it executes (see [`Cgroup::enter`]).
    pub fn contain(&mut self) -> Option<CString> {
        self.cgroup = Cgroup::planned(&self.token);
        self.record();
        if self.cgroup.as_ref().is_some_and(|c| !c.make()) {
            self.cgroup = None;
            self.record();
        }
        self.cgroup.as_ref().map(Cgroup::procs)
    }

    /// The tree's cgroup, if it has one.
    pub fn cgroup(&self) -> Option<&Path> {
        self.cgroup.as_ref().map(Cgroup::path)
    }

    /// The command started as `pid`.
    pub fn started(&mut self, pid: u32) {
        let pid = pid as i32;
        self.root = Some(pid);
        self.members.insert(pid, stat(pid).map_or(0, |p| p.start));
        self.record();
    }

    /// Adds every process that descends from a member, or carries the tree's name and was
    /// handed back to this process (or, for a dead run's tree, carries it anywhere).
    pub fn follow(&mut self) {
        let procs = snapshot();
        let me = this_pid();
        for pid in self.cgroup.iter().flat_map(Cgroup::members) {
            if let Some(p) = procs.get(&pid) {
                self.members.entry(pid).or_insert(p.start);
            }
        }
        loop {
            let mut grew = false;
            for (&pid, p) in &procs {
                if self.members.contains_key(&pid) {
                    continue;
                }
                let parent = procs.get(&p.ppid).map(|q| q.start);
                let from_member = parent.is_some() && self.members.get(&p.ppid) == parent.as_ref();
                let handed_back = (self.scan_all || p.ppid == me) && carries(pid, &self.token);
                if from_member || handed_back {
                    self.members.insert(pid, p.start);
                    grew = true;
                }
            }
            if !grew {
                break;
            }
        }
        if self.members.len() > self.recorded {
            self.record();
        }
    }

    /// The members that still run (same pid, same start time, not a zombie).
    fn running(&self) -> Vec<i32> {
        self.members
            .iter()
            .filter(|&(&pid, &start)| stat(pid).is_some_and(|p| p.start == start && !p.zombie))
            .map(|(&pid, _)| pid)
            .collect()
    }

    fn signal(&self, signal: i32) {
        for pid in self.running() {
            // SAFETY: kill(2) takes plain integers; the pid was just verified by start time.
            unsafe { libc::kill(pid, signal) };
        }
    }

    /// Reaps the members handed back to this process once they die (the root is left to
    /// its `Child`): as a subreaper, nobody else will.
    fn reap(&self) {
        reap_zombies(self.members.iter().map(|(&p, &s)| (p, Some(s))), self.root);
    }

    /// Ends every member: SIGTERM, up to `grace` for them to go (`reap_root` reaps the
    /// command itself), then SIGKILL until none runs. Returns whether none does.
    pub fn end(&mut self, grace: Duration, mut reap_root: impl FnMut()) -> bool {
        self.follow();
        self.signal(libc::SIGTERM);
        let deadline = Instant::now() + grace;
        let mut known = self.members.len();
        loop {
            reap_root();
            self.reap();
            self.follow();
            if self.members.len() > known {
                // Started during the grace period: it gets its SIGTERM too.
                known = self.members.len();
                self.signal(libc::SIGTERM);
            }
            if self.running().is_empty() || Instant::now() >= deadline {
                break;
            }
            std::thread::sleep(POLL);
        }
        let deadline = Instant::now() + KILL_WAIT;
        loop {
            self.follow();
            if self.running().is_empty() || Instant::now() >= deadline {
                break;
            }
            self.signal(libc::SIGKILL);
            std::thread::sleep(POLL);
            reap_root();
            self.reap();
        }
        self.reap();
        let walked = self.running().is_empty();
        // The guard behind the walk: whatever is still in the tree's cgroup is killed there.
        let root = self.root;
        let emptied = self.cgroup.take().is_none_or(|cgroup| {
            cgroup.end(|inside| reap_zombies(inside.iter().map(|&p| (p, None)), root))
        });
        // A member that died inside the cgroup's end has left its list unreaped.
        self.reap();
        walked && emptied
    }

    /// Removes the tree's ledger: nothing of it runs any more, or it was left on purpose.
    pub fn forget(self) {
        if let Some(path) = &self.ledger {
            let _ = fs::remove_file(path);
        }
    }

    /// Writes the ledger: `owner <pid> <start>`, `token <name>`, `cgroup <path>` if it has
    /// one, then `<pid> <start>` per member. A ledger that cannot be written leaves the tree contained for this run only.
    fn record(&mut self) {
        let Some(path) = &self.ledger else { return };
        let (pid, start) = owner();
        let mut text = format!("owner {pid} {start}\ntoken {}\n", self.token);
        if let Some(cgroup) = self.cgroup() {
            text.push_str(&format!("cgroup {}\n", cgroup.display()));
        }
        for (pid, start) in &self.members {
            text.push_str(&format!("{pid} {start}\n"));
        }
        let written = path.parent().is_some_and(|d| fs::create_dir_all(d).is_ok())
            && crate::fsx::write_atomic(path, text.as_bytes()).is_ok();
        if written {
            self.recorded = self.members.len();
        }
    }
}

/// Ends what earlier runs, since killed, left running: every ledger in `dir` whose owner
/// no longer runs names processes (pid and start time, both checked) and a tree name that
/// their descendants carry. Ledgers of a live run are left alone; a damaged one is removed
/// without signalling anything. Returns how many processes were ended.
pub fn end_orphans(dir: &Path, grace: Duration) -> usize {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    let mut ended = 0;
    for path in entries.flatten().map(|e| e.path()) {
        if path.extension().is_none_or(|x| x != "pids") {
            continue;
        }
        let Ok(text) = fs::read_to_string(&path) else {
            continue;
        };
        match parse_ledger(&text) {
            Some((owner, _)) if runs(owner) => continue,
            Some((_, mut tree)) => {
                tree.follow();
                ended += tree.running().len();
                tree.end(grace, || {});
            }
            None => {}
        }
        let _ = fs::remove_file(&path);
    }
    ended
}

/// Reaps those of `procs` (pid, and start time if known) that are zombie children of this
/// process, except `root` (left to its `Child`).
fn reap_zombies(procs: impl Iterator<Item = (i32, Option<u64>)>, root: Option<i32>) {
    let me = this_pid();
    for (pid, start) in procs {
        let ours = stat(pid)
            .is_some_and(|p| start.is_none_or(|s| s == p.start) && p.zombie && p.ppid == me);
        if ours && Some(pid) != root {
            // SAFETY: waitpid on one pid that is a zombie child of this process.
            unsafe { libc::waitpid(pid, std::ptr::null_mut(), libc::WNOHANG) };
        }
    }
}

/// Whether the process (pid, start time) still runs.
fn runs((pid, start): (i32, u64)) -> bool {
    stat(pid).is_some_and(|p| p.start == start && !p.zombie)
}

/// A ledger's owner and the dead run's tree it records.
fn parse_ledger(text: &str) -> Option<((i32, u64), Tree)> {
    let mut lines = text.lines();
    let owner = lines.next()?.strip_prefix("owner ")?.split_once(' ')?;
    let owner = (owner.0.parse().ok()?, owner.1.parse().ok()?);
    let token = lines.next()?.strip_prefix("token ")?.to_string();
    if token.is_empty() {
        return None;
    }
    let mut lines = lines.peekable();
    let cgroup = match lines.peek().and_then(|l| l.strip_prefix("cgroup ")) {
        Some(path) => {
            lines.next();
            Cgroup::of_ledger(Path::new(path))
        }
        None => None,
    };
    let mut members = BTreeMap::new();
    for line in lines {
        let (pid, start) = line.split_once(' ')?;
        let pid: i32 = pid.parse().ok()?;
        if pid <= 1 {
            return None;
        }
        members.insert(pid, start.parse().ok()?);
    }
    let tree = Tree {
        root: None,
        token,
        scan_all: true,
        members,
        ledger: None,
        recorded: 0,
        cgroup,
    };
    Some((owner, tree))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_after_the_command_name() {
        let line = "42 (a) b (c) S 7 42 42 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 98765 1 1";
        let p = parse_stat(line).unwrap();
        assert_eq!((p.ppid, p.start, p.zombie), (7, 98765, false));
        assert!(parse_stat("42 (x) Z 7").is_none());
        assert!(stat(this_pid()).is_some_and(|p| p.start > 0));
    }

    #[test]
    fn a_process_whose_main_thread_exited_runs_until_its_last_thread_does() {
        // The main thread leaves with pthread_exit; another thread sleeps on.
        let script = "import ctypes, threading, time\n\
                      threading.Thread(target=time.sleep, args=(30,)).start()\n\
                      ctypes.CDLL(None).pthread_exit(None)\n";
        let mut child = std::process::Command::new("python3")
            .args(["-c", script])
            .spawn()
            .expect("python3");
        let pid = child.id() as i32;
        let deadline = Instant::now() + Duration::from_secs(10);
        let leader_exited = || {
            fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|l| parse_stat(&l))
                .is_some_and(|p| p.zombie)
        };
        while !leader_exited() {
            assert!(Instant::now() < deadline, "the main thread never exited");
            std::thread::sleep(POLL);
        }
        let start = stat(pid).unwrap().start;
        assert!(
            runs((pid, start)),
            "a process with a live thread counts as running"
        );
        child.kill().unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while threads(pid) > 1 {
            assert!(Instant::now() < deadline, "the thread outlived SIGKILL");
            std::thread::sleep(POLL);
        }
        assert!(
            !runs((pid, start)),
            "dead but not reaped: a zombie, not running"
        );
        child.wait().unwrap();
    }

    #[test]
    fn damaged_ledgers_name_no_process() {
        for text in ["", "owner 1 2\n", "owner 1 2\ntoken t\n1 5\n", "owner x\n"] {
            assert!(parse_ledger(text).is_none(), "{text:?}");
        }
        let (owner, tree) = parse_ledger("owner 10 20\ntoken t\n300 4\n").unwrap();
        assert_eq!(owner, (10, 20));
        assert_eq!(tree.members.get(&300), Some(&4));
    }
}
