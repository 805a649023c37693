//! Writing without corrupting: files are written to a temporary name, synced and renamed;
//! a stage builds its artifacts in `.<stage>.partial/` and swaps the folder in when done,
//! so a study directory only ever holds complete stage folders.

use anyhow::{Context, Result};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes `bytes` to `path` atomically (write to a temporary file, fsync, rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path.file_name().context("no file name")?.to_string_lossy();
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| -> Result<()> {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        Ok(())
    })();
    let result = result.and_then(|()| sync_parent(path));
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.with_context(|| format!("cannot write {}", path.display()))
}

/// Makes the entries of `dir` durable: a file created or renamed in it survives a crash
/// only once the directory itself is fsynced.
pub fn sync_dir(dir: &Path) -> Result<()> {
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("cannot sync {}", dir.display()))
}

/// [`sync_dir`] of the folder holding `path`.
pub fn sync_parent(path: &Path) -> Result<()> {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => sync_dir(p),
        _ => sync_dir(Path::new(".")),
    }
}

/// Recreates the folder tree `from` at `to` (replacing what is there) with hard links to
/// its files, copying a file where linking fails (another file system): finished work is
/// taken over without doubling the disk it takes.
pub fn link_tree(from: &Path, to: &Path) -> Result<()> {
    if to.exists() {
        fs::remove_dir_all(to).with_context(|| format!("cannot clear {}", to.display()))?;
    }
    fs::create_dir_all(to).with_context(|| format!("cannot create {}", to.display()))?;
    let entries = fs::read_dir(from).with_context(|| format!("cannot read {}", from.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot read {}", from.display()))?;
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type()?;
        if kind.is_dir() {
            link_tree(&src, &dst)?;
        } else if kind.is_file() && fs::hard_link(&src, &dst).is_err() {
            fs::copy(&src, &dst)
                .with_context(|| format!("cannot copy {} to {}", src.display(), dst.display()))?;
        }
    }
    sync_parent(to)
}

/// Serialises `value` as pretty JSON into `path`, atomically.
pub fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value)
        .with_context(|| format!("cannot write {}", path.display()))?;
    text.push('\n');
    write_atomic(path, text.as_bytes())
}

/// Reads a JSON artifact, naming the file on failure.
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text = read_text(path)?;
    serde_json::from_str(&text).with_context(|| format!("{} is not valid", path.display()))
}

/// Reads a text file that must be a regular file: opened without blocking (a named pipe
/// put in its place would wait for a writer forever), its type checked on the open handle.
pub fn read_text(path: &Path) -> Result<String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let read = || -> std::io::Result<String> {
        let mut file = fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)?;
        if !file.metadata()?.is_file() {
            return Err(std::io::Error::other("not a regular file"));
        }
        let mut text = String::new();
        file.read_to_string(&mut text)?;
        Ok(text)
    };
    read().with_context(|| format!("cannot read {}", path.display()))
}

/// A stage's artifact folder under construction.
pub struct StageDir {
    /// Where the artifacts are being written.
    pub path: PathBuf,
    dest: PathBuf,
}

impl StageDir {
    /// Starts a fresh `.<name>.partial/` folder in `study_dir`, clearing any left by an
    /// interrupted run and restoring a finished folder a crash left half-swapped.
    pub fn begin(study_dir: &Path, name: &str) -> Result<StageDir> {
        let dest = study_dir.join(name);
        let old = study_dir.join(format!(".{name}.old"));
        if !dest.exists() && old.exists() {
            fs::rename(&old, &dest)
                .with_context(|| format!("cannot restore {}", dest.display()))?;
        } else if old.exists() {
            fs::remove_dir_all(&old).with_context(|| format!("cannot clear {}", old.display()))?;
        }
        let path = study_dir.join(format!(".{name}.partial"));
        if path.exists() {
            fs::remove_dir_all(&path)
                .with_context(|| format!("cannot clear {}", path.display()))?;
        }
        fs::create_dir_all(&path).with_context(|| format!("cannot create {}", path.display()))?;
        sync_dir(study_dir)?;
        Ok(StageDir { path, dest })
    }

    /// Continues in the `.<name>.partial/` folder an interrupted run left, or starts a
    /// fresh one.
    pub fn resume(study_dir: &Path, name: &str) -> Result<StageDir> {
        let path = study_dir.join(format!(".{name}.partial"));
        if path.is_dir() {
            return Ok(StageDir {
                path,
                dest: study_dir.join(name),
            });
        }
        StageDir::begin(study_dir, name)
    }

    /// Replaces the stage's folder with the finished one.
    pub fn commit(self) -> Result<PathBuf> {
        let parent = self.dest.parent().context("stage folder has no parent")?;
        let name = self.dest.file_name().context("no name")?.to_string_lossy();
        let old = parent.join(format!(".{name}.old"));
        if self.dest.exists() {
            fs::rename(&self.dest, &old)
                .with_context(|| format!("cannot move {} aside", self.dest.display()))?;
        }
        fs::rename(&self.path, &self.dest)
            .with_context(|| format!("cannot move results into {}", self.dest.display()))?;
        if old.exists() {
            fs::remove_dir_all(&old).with_context(|| format!("cannot clear {}", old.display()))?;
        }
        sync_dir(parent)?;
        Ok(self.dest)
    }
}

/// Reads a CSV file with a header into rows of `T`; an error names the file and the row's line.
pub fn read_csv<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Vec<T>> {
    let mut reader =
        csv::Reader::from_path(path).with_context(|| format!("cannot read {}", path.display()))?;
    reader
        .deserialize()
        .enumerate()
        .map(|(i, r)| r.with_context(|| format!("{}: row {}", path.display(), i + 2)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stage_folder_is_replaced_whole() {
        let study = tempfile::tempdir().unwrap();
        let s = StageDir::begin(study.path(), "model").unwrap();
        fs::write(s.path.join("a"), "1").unwrap();
        let dest = s.commit().unwrap();
        assert_eq!(fs::read_to_string(dest.join("a")).unwrap(), "1");

        // A second run that fails midway leaves the first run's folder intact.
        let s = StageDir::begin(study.path(), "model").unwrap();
        fs::write(s.path.join("b"), "2").unwrap();
        drop(s);
        assert!(dest.join("a").exists() && !dest.join("b").exists());

        // A finished second run replaces it entirely.
        let s = StageDir::begin(study.path(), "model").unwrap();
        fs::write(s.path.join("b"), "2").unwrap();
        s.commit().unwrap();
        assert!(!dest.join("a").exists() && dest.join("b").exists());
        assert!(!study.path().join(".model.partial").exists());
    }

    #[test]
    fn a_half_swapped_folder_is_restored() {
        let study = tempfile::tempdir().unwrap();
        let old = study.path().join(".search.old");
        fs::create_dir_all(&old).unwrap();
        fs::write(old.join("x"), "kept").unwrap();
        let _s = StageDir::begin(study.path(), "search").unwrap();
        assert_eq!(
            fs::read_to_string(study.path().join("search/x")).unwrap(),
            "kept"
        );
    }

    #[test]
    fn atomic_writes_leave_no_temporaries() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("r.json");
        write_json(&p, &serde_json::json!({"a": 1})).unwrap();
        let v: serde_json::Value = read_json(&p).unwrap();
        assert_eq!(v["a"], 1);
        assert_eq!(fs::read_dir(d.path()).unwrap().count(), 1);
    }
}
