//! `flinktune report`: the study as one `report.html` to keep or attach to a ticket.

use crate::fsx;
use crate::study::Study;
use crate::view::html::{self, Mode};
use crate::view::snapshot::Snapshot;
use anyhow::Result;
use std::path::{Path, PathBuf};

/// The report's file name inside the study when no other path is given.
pub const REPORT_FILE: &str = "report.html";

/// Writes the report of the study in `dir` to `output` (default: `report.html` in the
/// study), atomically; returns where.
pub fn write(dir: &Path, output: Option<&Path>) -> Result<PathBuf> {
    let study = Study::load(dir)?;
    let path = output.map_or_else(|| study.dir.join(REPORT_FILE), Path::to_path_buf);
    let page = html::page(&Snapshot::take(&study), Mode::Report);
    fsx::write_atomic(&path, page.as_bytes())?;
    Ok(path)
}
