//! A cgroup per command, as a further guard around its process tree where the system lets
//! flinktune make one: cgroup v2, with this process's own cgroup writable (root, or a
//! delegated subtree). The command enters its fresh child cgroup before it executes, so
//! everything it starts is born inside; at its end, after the /proc walk of [`super::tree`]
//! (SIGTERM, grace, SIGKILL), `cgroup.kill` ends whatever is still inside — whatever it
//! did to hide — and the cgroup is removed. Where no cgroup can be made (cgroup v1 only, a
//! read-only `/sys/fs/cgroup`, no delegation), commands run without one and the walk alone
//! contains them.

use std::ffi::CString;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The prefix of every cgroup flinktune makes: only such a cgroup is ever killed.
const PREFIX: &str = "flinktune-";
/// How long an emptied cgroup may take to report itself empty.
const EMPTY_WAIT: Duration = Duration::from_secs(2);
const POLL: Duration = Duration::from_millis(10);

/// This process's own cgroup v2 directory: the `0::<path>` line of /proc/self/cgroup under
/// the cgroup2 mount of /proc/self/mountinfo.
fn own_dir() -> Option<PathBuf> {
    let cgroups = fs::read_to_string("/proc/self/cgroup").ok()?;
    let own = cgroups.lines().find_map(|l| l.strip_prefix("0::"))?;
    let mounts = fs::read_to_string("/proc/self/mountinfo").ok()?;
    // `id parent major:minor root mountpoint options - fstype source superoptions`
    let mount = mounts.lines().find_map(|line| {
        let (before, after) = line.split_once(" - ")?;
        let fields: Vec<&str> = before.split(' ').collect();
        let whole = after.split(' ').next() == Some("cgroup2") && fields.get(3) == Some(&"/");
        whole
            .then(|| fields.get(4).map(|m| m.to_string()))
            .flatten()
    })?;
    Some(Path::new(&mount).join(own.trim_start_matches('/')))
}

/// A cgroup made for one command.
pub struct Cgroup {
    path: PathBuf,
    /// `<path>/cgroup.procs`, ready for the child to write between fork and exec.
    procs: CString,
}

impl Cgroup {
    /// The cgroup a tree `token` would have, not made yet, or None where cgroups cannot be
    /// made here. The tree records it in its ledger before [`Cgroup::make`], so a kill -9
    /// between the two cannot leave a cgroup that no ledger names.
    pub fn planned(token: &str) -> Option<Cgroup> {
        let path = own_dir()?.join(format!("{PREFIX}{token}"));
        let procs = CString::new(
            path.join("cgroup.procs")
                .into_os_string()
                .into_encoded_bytes(),
        );
        Some(Cgroup {
            path,
            procs: procs.ok()?,
        })
    }

    /// Makes the planned cgroup; false where it cannot be made or would guard nothing.
    pub fn make(&self) -> bool {
        if fs::create_dir(&self.path).is_err() {
            return false;
        }
        // Without cgroup.kill (Linux before 5.14) it would guard nothing the walk misses.
        self.path.join("cgroup.kill").is_file() || {
            let _ = fs::remove_dir(&self.path);
            false
        }
    }

    /// The cgroup of a ledger (a dead run's): only a directory flinktune names and makes,
    /// in this process's own cgroup, is taken — a tampered ledger cannot point at another.
    pub fn of_ledger(path: &Path) -> Option<Cgroup> {
        let name = path.file_name()?.to_str()?;
        let ours = name.starts_with(PREFIX) && path.parent()? == own_dir()?.as_path();
        let procs = CString::new(
            path.join("cgroup.procs")
                .into_os_string()
                .into_encoded_bytes(),
        );
        (ours && path.is_dir()).then_some(Cgroup {
            path: path.to_path_buf(),
            procs: procs.ok()?,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Moves the calling process into the cgroup; for the child between fork and exec, so
    /// it uses only open, write and close. A failure leaves the command where it is (the
    /// /proc walk still contains it): a guard must not stop a trial from running.
    pub fn enter(procs: &CString) {
        // SAFETY: plain system calls on a NUL-terminated path and a two-byte buffer.
        unsafe {
            let fd = libc::open(procs.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
            if fd >= 0 {
                libc::write(fd, b"0".as_ptr().cast(), 1);
                libc::close(fd);
            }
        }
    }

    /// The path the child writes itself into (see [`Cgroup::enter`]).
    pub fn procs(&self) -> CString {
        self.procs.clone()
    }

    /// The processes inside.
    pub fn members(&self) -> Vec<i32> {
        fs::read_to_string(self.path.join("cgroup.procs"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect()
    }

    /// Kills everything inside (`cgroup.kill`), waits for it to empty (`reap` reaps those
    /// still listed that were handed back to this process and died) and removes the cgroup. Returns whether
    /// it emptied and is gone.
    pub fn end(self, mut reap: impl FnMut(&[i32])) -> bool {
        let inside = self.members();
        if !inside.is_empty() {
            let _ = fs::write(self.path.join("cgroup.kill"), "1");
        }
        let deadline = Instant::now() + EMPTY_WAIT;
        loop {
            // Dead processes handed back to this process may be listed until reaped.
            reap(&self.members());
            // Removal fails (EBUSY) while a process is inside.
            if fs::remove_dir(&self.path).is_ok() {
                return true;
            }
            if Instant::now() >= deadline {
                return !self.path.exists();
            }
            std::thread::sleep(POLL);
        }
    }
}

impl Drop for Cgroup {
    /// An empty cgroup left unused (its command never started) goes; a busy one stays for
    /// [`Cgroup::end`] or, after a crash, the next run's ledger.
    fn drop(&mut self) {
        let _ = fs::remove_dir(&self.path);
    }
}
