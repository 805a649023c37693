//! The one journal of finished work: a JSON-lines file, optionally opened by a header line
//! that says what the entries belong to, each entry appended and fsynced before the caller
//! goes on. `collect` journals its trials, a search over the system its evaluations; after
//! a crash the journal is read back and the run resumes.
//!
//! A crash can tear only the last line (each line is one write, then fsync): reading stops
//! at the first line that is torn or does not parse, and the journal is cut back to the
//! valid lines before anything is appended again.

use crate::fsx;
use anyhow::{Context, Result};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::Path;

/// An open journal: each append is durable before it returns.
pub struct Journal {
    file: File,
}

/// What a journal file holds: its header (when it has a readable one), its valid entries,
/// and the byte length of the valid prefix.
pub struct Contents<H, S> {
    pub header: Option<H>,
    pub entries: Vec<S>,
    pub valid_len: u64,
}

impl Journal {
    /// Opens the journal at `path` for appending, creating it (with `header` as its first
    /// line, if any) when missing or empty. An existing journal's contents are handed to
    /// `accept` first, which refuses, with the error, a journal of other work; then the
    /// journal is cut back to its valid lines. Returns the journal and its entries.
    pub fn open<H: Serialize + DeserializeOwned, S: DeserializeOwned>(
        path: &Path,
        header: Option<&H>,
        accept: impl FnOnce(&Path, Option<H>, &[S]) -> Result<()>,
    ) -> Result<(Journal, Vec<S>)> {
        let exists = fs::metadata(path).is_ok_and(|m| m.len() > 0);
        let entries = if exists {
            let contents = read::<H, S>(path, header.is_some())?;
            accept(path, contents.header, &contents.entries)?;
            let f = OpenOptions::new().write(true).open(path)?;
            f.set_len(contents.valid_len)?;
            f.sync_all()?;
            contents.entries
        } else {
            let mut first = String::new();
            if let Some(h) = header {
                first = serde_json::to_string(h)? + "\n";
            }
            fsx::write_atomic(path, first.as_bytes())?;
            Vec::new()
        };
        let file = OpenOptions::new()
            .append(true)
            .open(path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        Ok((Journal { file }, entries))
    }

    /// Appends one entry (one JSON line, fsynced).
    pub fn append<S: Serialize>(&mut self, entry: &S) -> Result<()> {
        append_json_line(&mut self.file, entry)
    }
}

/// Reads a journal without opening it for writing; `with_header`: its first line is a
/// header (counted only as a whole line, so the entries start after its newline).
pub fn read<H: DeserializeOwned, S: DeserializeOwned>(
    path: &Path,
    with_header: bool,
) -> Result<Contents<H, S>> {
    let bytes = fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let head_len = match with_header {
        true => bytes
            .split_inclusive(|&b| b == b'\n')
            .next()
            .unwrap_or_default()
            .len(),
        false => 0,
    };
    let head = &bytes[..head_len];
    let header = head
        .ends_with(b"\n")
        .then(|| serde_json::from_slice(head).ok())
        .flatten();
    let (entries, valid) = json_lines::<S>(&bytes[head_len..]);
    Ok(Contents {
        header,
        entries,
        valid_len: head_len as u64 + valid,
    })
}

/// The complete JSON lines at the start of a journal: the values up to the first line that
/// is torn (a crash during its append: no newline) or does not parse, and the byte length
/// of that valid prefix (to truncate the journal to before appending again).
pub fn json_lines<T: DeserializeOwned>(bytes: &[u8]) -> (Vec<T>, u64) {
    let mut values = Vec::new();
    let mut valid = 0;
    for line in bytes.split_inclusive(|&b| b == b'\n') {
        let Some(v) = line
            .ends_with(b"\n")
            .then(|| serde_json::from_slice::<T>(line).ok())
            .flatten()
        else {
            break;
        };
        valid += line.len() as u64;
        values.push(v);
    }
    (values, valid)
}

/// Appends one JSON line to a file and makes it durable before returning: one write of the
/// whole line, then fsync, so a crash leaves at most a torn last line.
pub fn append_json_line<T: Serialize>(file: &mut File, value: &T) -> Result<()> {
    let mut line = serde_json::to_string(value)?;
    line.push('\n');
    file.write_all(line.as_bytes())?;
    file.sync_data()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_stop_at_a_torn_line() {
        let (v, n) = json_lines::<u32>(b"1\n2\n3");
        assert_eq!((v, n), (vec![1, 2], 4));
        let (v, n) = json_lines::<u32>(b"1\nx\n3\n");
        assert_eq!((v, n), (vec![1], 2));
    }

    #[test]
    fn a_reopened_journal_keeps_its_header_and_drops_a_torn_line() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("j.jsonl");
        let accept_any = |_: &Path, _: Option<String>, _: &[u32]| Ok(());
        let (mut j, got) = Journal::open(&path, Some(&"h".to_string()), accept_any).unwrap();
        assert!(got.is_empty());
        j.append(&1u32).unwrap();
        j.append(&2u32).unwrap();
        drop(j);
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"3").unwrap();
        drop(f);
        let mut seen = None;
        let (mut j, got) = Journal::open(&path, Some(&"h".to_string()), |_, h, e: &[u32]| {
            seen = Some((h, e.to_vec()));
            Ok(())
        })
        .unwrap();
        assert_eq!(got, vec![1, 2]);
        assert_eq!(seen, Some((Some("h".to_string()), vec![1, 2])));
        j.append(&4u32).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "\"h\"\n1\n2\n4\n");
        let refused = Journal::open(&path, Some(&"h".to_string()), |_, _, _: &[u32]| {
            anyhow::bail!("another plan")
        });
        assert!(refused.is_err());
        assert_eq!(fs::read_to_string(&path).unwrap(), "\"h\"\n1\n2\n4\n");
    }
}
