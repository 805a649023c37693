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
        match file.try_lock() {
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

#[cfg(test)]
mod tests {
    use super::*;

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
