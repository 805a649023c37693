//! The one journal of finished work: a JSON-lines file, optionally opened by a header line
//! that says what the entries belong to, each entry appended and fsynced before the caller
//! goes on. `collect` journals its trials, a search over the system its evaluations; after
//! a crash the journal is read back and the run resumes.
//!
//! A crash can tear only the last line (each line is one write, then fsync): a torn last
//! line is cut off before anything is appended again. Any other line that does not parse
//! (a damaged disk block, a hand edit) is skipped with a warning naming the file and line,
//! and moved aside into `<journal>.rejected`; the records after it are kept.

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
    /// The complete lines that did not parse: (line number, from 1; the line's bytes).
    pub rejected: Vec<(usize, Vec<u8>)>,
    /// The byte length of the journal without its torn last line.
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
            repair(path, contents.valid_len, &contents.rejected)?;
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
/// header (counted only as a whole line, so the entries start after its newline). Lines
/// that do not parse are skipped with a warning on stderr.
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
    let lines = json_lines::<S>(&bytes[head_len..]);
    let first_line = usize::from(with_header) + 1;
    let rejected: Vec<(usize, Vec<u8>)> = lines
        .rejected
        .into_iter()
        .map(|(i, line)| (i + first_line, line))
        .collect();
    for (line, _) in &rejected {
        eprintln!(
            "warning: {}:{line}: not a valid record; skipped (kept in {})",
            path.display(),
            rejected_path(path).display()
        );
    }
    Ok(Contents {
        header,
        entries: lines.values,
        rejected,
        valid_len: head_len as u64 + lines.complete_len,
    })
}

/// Where the unparsable lines of the journal at `path` are kept.
pub fn rejected_path(path: &Path) -> std::path::PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".rejected");
    path.with_file_name(name)
}

/// Makes the journal at `path` appendable again: its rejected lines appended (fsynced) to
/// the rejected file first, then the journal rewritten without them (atomically), or, with
/// none, only its torn last line cut off.
fn repair(path: &Path, complete_len: u64, rejected: &[(usize, Vec<u8>)]) -> Result<()> {
    let cut = |e| anyhow::Error::new(e).context(format!("cannot repair {}", path.display()));
    if rejected.is_empty() {
        let f = OpenOptions::new().write(true).open(path).map_err(cut)?;
        f.set_len(complete_len).map_err(cut)?;
        return f.sync_all().map_err(cut);
    }
    let aside = rejected_path(path);
    let mut kept = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&aside)
        .with_context(|| format!("cannot open {}", aside.display()))?;
    for (_, line) in rejected {
        kept.write_all(line)
            .and_then(|_| kept.sync_data())
            .with_context(|| format!("cannot write {}", aside.display()))?;
    }
    fsx::sync_parent(&aside)?;
    let bytes = fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut clean = Vec::with_capacity(bytes.len());
    let mut bad = rejected.iter().map(|(i, _)| *i).peekable();
    let mut consumed = 0u64;
    for (i, line) in bytes.split_inclusive(|&b| b == b'\n').enumerate() {
        consumed += line.len() as u64;
        if consumed > complete_len {
            break;
        }
        if bad.peek() == Some(&(i + 1)) {
            bad.next();
            continue;
        }
        clean.extend_from_slice(line);
    }
    fsx::write_atomic(path, &clean)
}

/// The lines of a JSON-lines text: the values of the complete lines that parse, the
/// complete lines that do not (index from 0, bytes), and the byte length of the complete
/// lines (a torn last line, a crash during its append, has no newline).
pub struct Lines<T> {
    pub values: Vec<T>,
    pub rejected: Vec<(usize, Vec<u8>)>,
    pub complete_len: u64,
}

/// Splits a JSON-lines text into [`Lines`].
pub fn json_lines<T: DeserializeOwned>(bytes: &[u8]) -> Lines<T> {
    let mut out = Lines {
        values: Vec::new(),
        rejected: Vec::new(),
        complete_len: 0,
    };
    for (i, line) in bytes.split_inclusive(|&b| b == b'\n').enumerate() {
        if !line.ends_with(b"\n") {
            break;
        }
        out.complete_len += line.len() as u64;
        match serde_json::from_slice::<T>(line) {
            Ok(v) => out.values.push(v),
            Err(_) => out.rejected.push((i, line.to_vec())),
        }
    }
    out
}

/// Appends one JSON line to a file and makes it durable before returning: one write of the
/// whole line, then fsync, so a crash leaves at most a torn last line.
pub fn append_json_line<T: Serialize>(file: &mut File, value: &T) -> Result<()> {
    write_json_line(file, value)?;
    file.sync_data()?;
    Ok(())
}

/// Appends one JSON line to a file in one write, not synced: for a log that watchers read
/// while it grows (a reader sees whole lines, or a last one without its newline yet) but
/// that nothing resumes from.
pub fn write_json_line<T: Serialize>(file: &mut File, value: &T) -> Result<()> {
    let mut line = serde_json::to_string(value)?;
    line.push('\n');
    file.write_all(line.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_skip_a_bad_line_and_stop_at_a_torn_one() {
        let l = json_lines::<u32>(b"1\n2\n3");
        assert_eq!((l.values, l.complete_len), (vec![1, 2], 4));
        let l = json_lines::<u32>(b"1\nx\n3\n");
        assert_eq!((l.values, l.complete_len), (vec![1, 3], 6));
        assert_eq!(l.rejected, vec![(1, b"x\n".to_vec())]);
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

    #[test]
    fn a_damaged_middle_line_is_set_aside_and_later_records_kept() {
        let damages: [&[u8]; 6] = [
            b"garbage\n",
            b"{\"a\":\"x\"\n",
            b"\0\0\0\n",
            b"\n",
            b"\xff\xfe1\n",
            b"3\x01\n",
        ];
        for bad in damages {
            let d = tempfile::tempdir().unwrap();
            let path = d.path().join("j.jsonl");
            let mut text = b"\"h\"\n1\n".to_vec();
            text.extend_from_slice(bad);
            text.extend_from_slice(b"2\n3");
            fs::write(&path, &text).unwrap();
            let accept = |_: &Path, _: Option<String>, _: &[u32]| Ok(());
            let (mut j, got) = Journal::open(&path, Some(&"h".to_string()), accept).unwrap();
            assert_eq!(got, vec![1, 2], "{bad:?}");
            j.append(&4u32).unwrap();
            assert_eq!(fs::read_to_string(&path).unwrap(), "\"h\"\n1\n2\n4\n");
            assert_eq!(fs::read(rejected_path(&path)).unwrap(), bad);
        }
    }
}
