//! One writer per study: every command that writes to a study holds `.flinktune.lock` in
//! its directory for its whole life. The lock is the kernel's (`File::try_lock`), so it is
//! released however the holder dies; the file's text only says who holds it, for the
//! message a refused command prints. Read-only commands never take it and never wait.

use anyhow::{Context, Result, bail};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::Path;

/// The lock file's name inside a study directory.
pub const LOCK_FILE: &str = ".flinktune.lock";

/// The held lock of a study; released when dropped (or when the process ends).
#[derive(Debug)]
pub struct StudyLock {
    _file: File,
}

impl StudyLock {
    /// Takes the lock of `study_dir` for `command`, or fails at once, naming the command,
    /// process and start time of the holder: "study is busy: `collect` (pid 42) since …".
    pub fn take(study_dir: &Path, command: &str) -> Result<StudyLock> {
        let path = study_dir.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        match try_lock_after_dead_holder(&file) {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                bail!(
                    "study is busy: {} ({})",
                    if holder.is_empty() {
                        "another flinktune command"
                    } else {
                        holder
                    },
                    path.display()
                );
            }
            Err(TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("cannot lock {}", path.display()));
            }
        }
        let since = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let text = format!("`{command}` (pid {}) since {since}\n", std::process::id());
        (|| -> std::io::Result<()> {
            file.set_len(0)?;
            file.rewind()?;
            file.write_all(text.as_bytes())?;
            file.sync_data()
        })()
        .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(StudyLock { _file: file })
    }
}

/// How long a lock whose recorded holder is dead may stay taken: the holder's child between
/// fork and exec still has the lock's descriptor (closed at exec) and, moving itself into its
/// trial's cgroup, may wait there for the kernel for a while after its parent was killed.
const DEAD_HOLDER_GRACE: std::time::Duration = std::time::Duration::from_secs(3);

/// `try_lock`, but when the holder the file names is no longer alive, waits up to
/// [`DEAD_HOLDER_GRACE`] for its forked children to let go; a live holder is refused at once.
fn try_lock_after_dead_holder(file: &File) -> Result<(), TryLockError> {
    let started = std::time::Instant::now();
    loop {
        match file.try_lock() {
            Err(TryLockError::WouldBlock)
                if started.elapsed() < DEAD_HOLDER_GRACE && !holder_alive(file) =>
            {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

/// Whether the process the lock file names ("… (pid N) …") still runs (not a zombie).
fn holder_alive(file: &File) -> bool {
    let mut text = String::new();
    let _ = (&*file).read_to_string(&mut text);
    let _ = (&*file).rewind();
    let Some(pid) = text
        .split("(pid ")
        .nth(1)
        .and_then(|t| t.split(')').next())
        .and_then(|p| p.trim().parse::<u32>().ok())
    else {
        return true;
    };
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the command's closing parenthesis; Z: exited, not yet reaped.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn a_holder_is_alive_while_its_process_runs() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join(LOCK_FILE);
        let named = |pid: u64| {
            fs::write(&path, format!("`collect` (pid {pid}) since now\n")).unwrap();
            holder_alive(&File::open(&path).unwrap())
        };
        assert!(named(u64::from(std::process::id())));
        // Above any pid_max Linux allows.
        assert!(!named(4_294_967_000));
    }

    #[test]
    fn a_second_writer_is_refused_naming_the_first() {
        let d = tempfile::tempdir().unwrap();
        let held = StudyLock::take(d.path(), "collect").unwrap();
        let e = StudyLock::take(d.path(), "search").unwrap_err().to_string();
        let pid = std::process::id();
        assert!(
            e.starts_with(&format!("study is busy: `collect` (pid {pid}) since 20")),
            "{e}"
        );
        drop(held);
        StudyLock::take(d.path(), "search").unwrap();
    }
}
