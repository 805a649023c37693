//! The live loop's log as watchers read it (the dashboard, `report.html`): the last run in
//! `adapt-live/decisions.jsonl`, its intervals turned into timeline points. Read-only and
//! never under the study's lock — a live run holds it for its whole life — so the log is read
//! while it grows: a line being appended (no newline yet) is not read until it is whole.
//! The log keeps every run, each starting again at interval 1; the last run is shown.

use crate::adapt::live::{self, LiveRecord};
use crate::adapt::timeline::{Mark, Point};
use crate::study::Study;
use crate::trial::journal;
use anyhow::Result;
use flink::space::{Config, Space, Value};
use std::path::Path;

/// Where the live loop stands: its last run's intervals so far.
#[derive(Debug)]
pub struct LiveProgress {
    /// Runs the log holds.
    pub runs: usize,
    /// The last run's intervals, oldest first.
    pub records: Vec<LiveRecord>,
    /// Its timeline: the rate and the requested cores at each interval.
    pub points: Vec<Point>,
}

impl LiveProgress {
    /// The last run switched only on paper.
    pub fn dry_run(&self) -> bool {
        self.records
            .iter()
            .any(|r| r.dry_run || r.action == "would-switch")
    }

    /// The configuration the job runs after the last interval: the last one kept or
    /// switched to (None in a dry run, where nothing is applied).
    pub fn running(&self) -> Option<&LiveRecord> {
        let applied = |r: &&LiveRecord| r.action == "keep" || r.action == "switch";
        self.records.iter().rev().find(applied)
    }
}

/// Reads the live loop's log; None when no live run has logged an interval.
pub fn progress(study: &Study) -> Result<Option<LiveProgress>> {
    let path = live::log_path(&study.dir);
    if !path.is_file() {
        return Ok(None);
    }
    Ok(of_records(study, read(&path)?))
}

/// The whole records of the log at `path` (a torn last line left out, a damaged one skipped
/// with a warning).
fn read(path: &Path) -> Result<Vec<LiveRecord>> {
    Ok(journal::read::<serde_json::Value, LiveRecord>(path, false)?.entries)
}

fn of_records(study: &Study, mut all: Vec<LiveRecord>) -> Option<LiveProgress> {
    let starts = all.iter().filter(|r| r.interval <= 1).count();
    let last_start = all.iter().rposition(|r| r.interval <= 1).unwrap_or(0);
    let records = all.split_off(last_start);
    if records.is_empty() {
        return None;
    }
    let points = points(study, &records);
    Some(LiveProgress {
        runs: starts.max(1),
        records,
        points,
    })
}

/// The run's timeline: each interval's rate and the cores of the configuration decided then
/// (a failed switch keeps the cores before it), its switch marked.
fn points(study: &Study, records: &[LiveRecord]) -> Vec<Point> {
    let t0 = records.first().map_or(0.0, |r| r.unix_time_s);
    let mut out: Vec<Point> = Vec::new();
    for r in records {
        let before = out.last().map(|p| p.cores);
        let cores = match (r.action.as_str(), before) {
            ("error", Some(b)) => Some(b),
            _ => cores(study, &r.config),
        };
        let Some(cores) = cores else { continue };
        out.push(Point {
            series: series_name(r),
            time_s: r.unix_time_s - t0,
            rate: r.rate,
            forecast: None,
            cores,
            marks: mark(r).into_iter().collect(),
        });
    }
    out
}

fn series_name(r: &LiveRecord) -> String {
    match (r.policy.is_empty(), r.dry_run) {
        (true, _) => "live run".into(),
        (false, true) => format!("{} (dry run)", r.policy),
        (false, false) => r.policy.clone(),
    }
}

fn mark(r: &LiveRecord) -> Option<Mark> {
    match r.action.as_str() {
        "switch" if r.applied_by.as_deref() == Some("rescale") => Some(Mark::Rescale),
        "switch" => Some(Mark::Restart),
        "would-switch" => Some(Mark::WouldSwitch),
        "error" => Some(Mark::Failed),
        _ => None,
    }
}

/// The CPU cores a logged configuration requests, as the study's Flink configuration of it
/// sizes them; None when the record names no such configuration.
pub fn cores(study: &Study, config: &serde_json::Value) -> Option<f64> {
    let config = from_json(&study.space, config)?;
    let conf = study.effective_conf(&config);
    flink::resources::requested(&conf)
        .ok()
        .map(|r| r.cpu_requested)
}

/// A configuration from its logged JSON object (`Space::to_json`); keys the space does not
/// have are ignored, its parameters missing from the object are unset.
fn from_json(space: &Space, json: &serde_json::Value) -> Option<Config> {
    let map = json.as_object()?;
    let value =
        |name: &str| -> Option<Value> { serde_json::from_value(map.get(name)?.clone()).ok() };
    Some(space.params.iter().map(|p| value(&p.name)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn record(study: &Study, interval: u64, action: &str, taskmanagers: i64) -> String {
        let mut config = study.space.to_json(&study.space.default_config());
        config["flinktune.taskmanagers"] = taskmanagers.into();
        let r = serde_json::json!({
            "interval": interval, "policy": "demeter", "unix_time_s": 1000.0 + interval as f64,
            "rate": 90000.0, "action": action, "reason": format!("why {interval}"),
            "config": config, "change": null, "applied_by": "rescale", "downtime_s": 0.5,
            "interrupted_s": null, "caught_up_s": null, "savepoint": null,
        });
        r.to_string() + "\n"
    }

    fn demeter_study(dir: &Path) -> Study {
        std::fs::create_dir_all(dir).unwrap();
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(root.join("examples/demeter/flinktune.toml"));
        std::fs::write(dir.join("flinktune.toml"), text.unwrap()).unwrap();
        Study::load(dir).unwrap()
    }

    #[test]
    fn the_last_run_is_read_without_its_torn_last_line() {
        let tmp = tempfile::tempdir().unwrap();
        let study = demeter_study(&tmp.path().join("s"));
        assert!(progress(&study).unwrap().is_none());
        let path = live::log_path(&study.dir);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        // An earlier run of two intervals, then the running one: two whole intervals and a
        // third being appended.
        let mut log = record(&study, 1, "keep", 24) + &record(&study, 2, "switch", 4);
        log += &record(&study, 1, "keep", 24);
        log += &record(&study, 2, "switch", 3);
        let torn = record(&study, 3, "switch", 2);
        let mut f = std::fs::File::create(&path).unwrap();
        f.write_all(log.as_bytes()).unwrap();
        f.write_all(&torn.as_bytes()[..torn.len() / 2]).unwrap();
        let p = progress(&study).unwrap().unwrap();
        assert_eq!((p.runs, p.records.len()), (2, 2));
        assert_eq!(p.running().unwrap().reason, "why 2");
        assert!(!p.dry_run());
        // One core per TaskManager in the demeter catalogue's defaults.
        let cores: Vec<f64> = p.points.iter().map(|q| q.cores).collect();
        assert_eq!(cores, [24.0, 3.0]);
        assert_eq!(p.points[1].marks, [Mark::Rescale]);
        assert_eq!(p.points[1].time_s, 1.0);
        // The line completes: the third interval is read.
        f.write_all(&torn.as_bytes()[torn.len() / 2..]).unwrap();
        let p = progress(&study).unwrap().unwrap();
        assert_eq!(p.records.len(), 3);
        assert_eq!(p.points.last().unwrap().cores, 2.0);
    }

    #[test]
    fn a_failed_switch_keeps_the_cores_before_it() {
        let tmp = tempfile::tempdir().unwrap();
        let study = demeter_study(&tmp.path().join("s"));
        let records: Vec<LiveRecord> = [(1, "keep", 24), (2, "error", 2)]
            .iter()
            .map(|&(i, a, n)| serde_json::from_str(&record(&study, i, a, n)).unwrap())
            .collect();
        let p = of_records(&study, records).unwrap();
        let cores: Vec<f64> = p.points.iter().map(|q| q.cores).collect();
        assert_eq!(cores, [24.0, 24.0]);
        assert_eq!(p.points[1].marks, [Mark::Failed]);
        assert_eq!(p.running().unwrap().interval, 1);
    }
}
