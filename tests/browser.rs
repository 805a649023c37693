//! The dashboard and report.html in a real browser (headless Chromium): the page a user
//! opens shows the study's trial count and best value, and on the dashboard they grow while
//! a `search` over the built-in simulator runs in the background. Chromium runs the page's
//! own script and prints the resulting DOM (`--dump-dom`); screenshots are saved in the
//! test's temporary directory (kept when FLINKTUNE_KEEP_SCREENSHOTS names a directory).
//!
//! Skipped, saying why, only when no Chromium is found and FLINKTUNE_CHROMIUM is unset
//! (`scripts/ci-prepare.sh` installs Chromium and sets it).

mod common;

use common::*;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The browser: FLINKTUNE_CHROMIUM, else the first Chromium on PATH.
fn chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("FLINKTUNE_CHROMIUM") {
        let path = PathBuf::from(path);
        assert!(
            path.exists(),
            "FLINKTUNE_CHROMIUM={} does not exist",
            path.display()
        );
        return Some(path);
    }
    let names = ["chromium", "chromium-browser", "google-chrome"];
    let dirs: Vec<PathBuf> = std::env::split_paths(&std::env::var_os("PATH")?).collect();
    names
        .iter()
        .flat_map(|n| dirs.iter().map(move |d| d.join(n)))
        .find(|p| p.is_file())
}

/// Runs headless Chromium on `url` with `args`; returns its stdout.
fn browse(chromium: &Path, profile: &Path, args: &[&str], url: &str) -> String {
    let out = Command::new(chromium)
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(url)
        .stdin(Stdio::null())
        .output()
        .expect("chromium runs");
    assert!(
        out.status.success(),
        "chromium {args:?} {url} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The page's DOM after its scripts ran for `ms` milliseconds of virtual time.
fn dom(chromium: &Path, profile: &Path, url: &str, ms: u32) -> String {
    let budget = format!("--virtual-time-budget={ms}");
    browse(chromium, profile, &[&budget, "--dump-dom"], url)
}

fn screenshot(chromium: &Path, profile: &Path, url: &str, png: &Path) {
    let shot = format!("--screenshot={}", png.display());
    let args = [
        shot.as_str(),
        "--window-size=1280,2400",
        "--virtual-time-budget=3000",
    ];
    browse(chromium, profile, &args, url);
    let bytes = std::fs::read(png).expect("chromium wrote the screenshot");
    assert!(
        bytes.starts_with(b"\x89PNG") && bytes.len() > 10_000,
        "{}",
        png.display()
    );
    if let Some(keep) = std::env::var_os("FLINKTUNE_KEEP_SCREENSHOTS") {
        let keep = PathBuf::from(keep);
        std::fs::create_dir_all(&keep).unwrap();
        std::fs::copy(png, keep.join(png.file_name().unwrap())).unwrap();
    }
}

/// The `data-value` of the element with `id` in a dumped DOM.
fn value(dom: &str, id: &str) -> Option<String> {
    let at = dom.find(&format!("id=\"{id}\""))?;
    let tag_start = dom[..at].rfind('<')?;
    let tag = &dom[tag_start..tag_start + dom[tag_start..].find('>')?];
    let v = tag.split("data-value=\"").nth(1)?;
    Some(v[..v.find('"')?].to_string())
}

fn number(dom: &str, id: &str) -> f64 {
    let v = value(dom, id).unwrap_or_else(|| panic!("no #{id} in the page:\n{dom}"));
    v.parse()
        .unwrap_or_else(|_| panic!("#{id} is {v:?}, not a number"))
}

/// Lines of the running search's journal (the header and the evaluations so far).
fn journal_lines(study: &Path) -> usize {
    let path = study.join(".search.partial/journal.jsonl");
    std::fs::read_to_string(path).map_or(0, |t| t.lines().count())
}

fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A running `flinktune` child, ended when dropped.
struct Running(Child);

impl Running {
    /// `flinktune ARGS`, its output discarded.
    fn quiet(args: &[&str]) -> Running {
        let child = Command::new(BIN)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Running(child)
    }

    /// `read`'s result, read while the child is paused (SIGSTOP): what it has logged cannot
    /// move on meanwhile, however fast this machine runs it.
    fn paused<T>(&self, read: impl FnOnce() -> T) -> T {
        self.signal("-STOP");
        let out = read();
        self.signal("-CONT");
        out
    }

    fn signal(&self, sig: &str) {
        let pid = self.0.id().to_string();
        let status = Command::new("kill").args([sig, &pid]).status().unwrap();
        assert!(status.success(), "kill {sig} {pid}");
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the dashboard on a free port; returns it with its URL (read from its stdout).
fn start_dashboard(study: &Path) -> (Running, String) {
    let mut child = Command::new(BIN)
        .args(["dashboard", s(study), "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://127.0.0.1:"))
        .unwrap_or_else(|| panic!("no URL in {line:?}"))
        .to_string();
    (Running(child), url)
}

#[test]
fn the_dashboard_and_the_report_show_a_running_search_in_chromium() {
    let Some(chromium) = chromium() else {
        eprintln!("skipped: no Chromium on PATH and FLINKTUNE_CHROMIUM is unset");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let study = small_study(tmp.path(), None);
    edit_study(
        &study,
        &[
            ("rates = [16000, 80000]", "rates = [16000]"),
            ("budget = 30", "budget = 60"),
            ("over = \"model\"", "over = \"system\""),
        ],
    );
    let profile = tmp.path().join("chromium-profile");
    // A study with no stage run yet: the page is there, with nothing counted.
    let (dashboard, url) = start_dashboard(&study);
    let empty = dom(&chromium, &profile, &url, 2000);
    assert_eq!(number(&empty, "trials"), 0.0, "{empty}");
    assert_eq!(value(&empty, "best").as_deref(), Some(""));

    let mut search = Running::quiet(&["search", s(&study)]);
    wait_for("the first evaluations", Duration::from_secs(120), || {
        journal_lines(&study) >= 4
    });
    let first = dom(&chromium, &profile, &url, 2500);
    let (trials1, best1) = (number(&first, "trials"), number(&first, "best"));
    assert!(trials1 >= 3.0, "{trials1}");
    assert!(first.contains("id=\"evaluation-table\""), "{first}");
    screenshot(&chromium, &profile, &url, &tmp.path().join("dashboard.png"));
    let seen = trials1 as usize + 1;
    // Ten more, or the whole budget: a search already past its 50th evaluation here ends
    // first, and its journal then leaves `.search.partial`.
    wait_for("more evaluations", Duration::from_secs(300), || {
        journal_lines(&study) >= seen + 10 || study.join("search/summary.json").exists()
    });
    let later = dom(&chromium, &profile, &url, 2500);
    let (trials2, best2) = (number(&later, "trials"), number(&later, "best"));
    assert!(
        trials2 >= (trials1 + 10.0).min(60.0),
        "{trials1} → {trials2}"
    );
    // The objective (ratio) is maximised: the best so far never drops.
    assert!(best2 >= best1, "{best1} → {best2}");
    // The page's own script polls the state: left open, it shows the search moving on.
    let polled = dom(&chromium, &profile, &url, 6000);
    let polls = polled
        .split("data-polls=\"")
        .nth(1)
        .and_then(|v| v.split('"').next()?.parse::<u32>().ok());
    assert!(polls >= Some(3), "{polls:?} polls");

    assert!(search.0.wait().unwrap().success(), "the search failed");
    drop(dashboard);
    check_report(&chromium, &profile, &study, tmp.path());
}

/// The finished study's report.html, opened from disk: the counts of the finished search,
/// its best as `search/summary.json` has it, the best configuration's changes.
fn check_report(chromium: &Path, profile: &Path, study: &Path, tmp: &Path) {
    ok(&["report", s(study)]);
    let report = study.join("report.html");
    let url = format!("file://{}", report.display());
    let page = dom(chromium, profile, &url, 1000);
    let summary = json(&study.join("search/summary.json"));
    assert_eq!(number(&page, "evaluations"), 60.0);
    assert_eq!(number(&page, "trials"), 60.0);
    let best = summary["best_perf"].as_f64().unwrap();
    assert!(
        (number(&page, "best") - best).abs() <= 1e-9 * best,
        "{best}"
    );
    assert!(page.contains("id=\"best-config\""), "{page}");
    assert!(!page.contains("<script"), "a report runs no script");
    screenshot(chromium, profile, &url, &tmp.join("report.png"));
}

/// Lines of the running replay's log (the header and the steps so far).
fn adapt_lines(study: &Path) -> usize {
    let path = study.join(".adapt.partial/journal.jsonl");
    std::fs::read_to_string(path).map_or(0, |t| t.lines().count())
}

/// Steps the running replay has logged whole (a line being written is not one yet).
fn adapt_steps(study: &Path) -> usize {
    let path = study.join(".adapt.partial/journal.jsonl");
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.matches('\n').count().saturating_sub(1)
}

/// The shipped Demeter example with a five-day trace (two of history, three replayed, so the
/// replay is still running when the page is first read) and
/// cheaper profiling, as tests/adapt.rs sets it up.
fn demeter_study(tmp: &Path) -> (PathBuf, PathBuf) {
    let study = tmp.join("demeter");
    std::fs::create_dir_all(&study).unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("examples/demeter/flinktune.toml"))
        .unwrap()
        .replace("profile_budget = 30", "profile_budget = 16")
        .replace("rate_step = 25000", "rate_step = 50000");
    std::fs::write(study.join("flinktune.toml"), text).unwrap();
    let trace = tmp.join("rates.csv");
    let days = ["--days", "5", "--step-s", "900", "--min", "80000"];
    let rest = ["--max", "700000", "--seed", "3", "-o", s(&trace)];
    ok(&[&["trace"][..], &days, &rest].concat());
    (study, trace)
}

#[test]
fn the_dashboard_shows_a_running_adapt_replay_in_chromium() {
    let Some(chromium) = chromium() else {
        eprintln!("skipped: no Chromium on PATH and FLINKTUNE_CHROMIUM is unset");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let (study, trace) = demeter_study(tmp.path());
    let profile = tmp.path().join("chromium-profile");
    let (dashboard, url) = start_dashboard(&study);
    let mut adapt = Running::quiet(&[
        "adapt",
        s(&study),
        "--trace",
        s(&trace),
        "--replay-days",
        "3",
        "--policy",
        "demeter",
        "--policy",
        "static",
    ]);
    // The page is read while the replay is paused, so it must show exactly the steps logged.
    wait_for("the first replayed steps", Duration::from_secs(120), || {
        adapt_lines(&study) >= 10
    });
    let (logged1, first) = adapt.paused(|| {
        let read = (adapt_steps(&study), dom(&chromium, &profile, &url, 2500));
        let shot = tmp.path().join("dashboard-adapt.png");
        screenshot(&chromium, &profile, &url, &shot);
        read
    });
    let (steps1, decisions1) = (
        number(&first, "adapt-steps"),
        number(&first, "adapt-decisions"),
    );
    assert_eq!(steps1, logged1 as f64, "{first}");
    assert!(decisions1 >= 1.0, "{decisions1}");
    assert!(first.contains("id=\"adapt-policies\""), "{first}");
    assert!(first.contains("in progress or interrupted"), "{first}");
    wait_for("more replayed steps", Duration::from_secs(300), || {
        adapt_steps(&study) >= logged1 + 30
    });
    let (logged2, later) =
        adapt.paused(|| (adapt_steps(&study), dom(&chromium, &profile, &url, 2500)));
    let (steps2, decisions2) = (
        number(&later, "adapt-steps"),
        number(&later, "adapt-decisions"),
    );
    assert_eq!(steps2, logged2 as f64);
    assert!(decisions2 > decisions1, "{decisions1} → {decisions2}");

    assert!(adapt.0.wait().unwrap().success(), "the replay failed");
    drop(dashboard);
    // The finished replay in report.html: every decision steps.csv records, the comparison.
    ok(&["report", s(&study)]);
    let url = format!("file://{}", study.join("report.html").display());
    let page = dom(&chromium, &profile, &url, 1000);
    let rows = csv_rows(&study.join("adapt/steps.csv"));
    let header = csv_header(&study.join("adapt/steps.csv"));
    let decided = header.iter().position(|h| h == "decided").unwrap();
    let want = rows.iter().filter(|r| &r[decided] == "true").count();
    assert_eq!(number(&page, "adapt-decisions"), want as f64);
    assert_eq!(number(&page, "adapt-steps"), rows.len() as f64);
    assert!(page.contains("id=\"adapt-comparison\""), "{page}");
    screenshot(
        &chromium,
        &profile,
        &url,
        &tmp.path().join("report-adapt.png"),
    );
}

/// Intervals the live loop has logged whole (a line being written is not one yet).
fn live_intervals(study: &Path) -> usize {
    let path = study.join("adapt-live/decisions.jsonl");
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.matches('\n').count()
}

#[test]
fn the_dashboard_shows_a_running_live_adapt_in_chromium() {
    let Some(chromium) = chromium() else {
        eprintln!("skipped: no Chromium on PATH and FLINKTUNE_CHROMIUM is unset");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let (study, _) = demeter_study(tmp.path());
    edit_study(&study, &[("interval_s = 1800", "interval_s = 0.5")]);
    // A low rate: Demeter scales the static maximum it starts with down.
    std::fs::write(tmp.path().join("rate"), "90000").unwrap();
    let hook = fake_hook(tmp.path());
    let profile = tmp.path().join("chromium-profile");
    let (dashboard, url) = start_dashboard(&study);
    let mut adapt = Running::quiet(&["adapt", s(&study), "--hook", &hook, "--intervals", "40"]);
    // Read while paused, so the page must show exactly the intervals logged.
    wait_for("the first intervals", Duration::from_secs(180), || {
        live_intervals(&study) >= 3
    });
    let (logged1, first) = adapt.paused(|| {
        let read = (live_intervals(&study), dom(&chromium, &profile, &url, 2500));
        let shot = tmp.path().join("dashboard-live.png");
        screenshot(&chromium, &profile, &url, &shot);
        read
    });
    assert_eq!(number(&first, "live-decisions"), logged1 as f64, "{first}");
    assert!(number(&first, "live-switches") >= 1.0, "{first}");
    // Scaled down from the 24 TaskManagers it started with.
    assert!(number(&first, "live-taskmanagers") < 24.0, "{first}");
    assert!(first.contains("id=\"live-decisions-table\""), "{first}");
    assert!(first.contains("Live run, running"), "{first}");
    assert!(first.contains("alt=\"Input rate and requested CPU cores during the live run\""));
    wait_for("more intervals", Duration::from_secs(120), || {
        live_intervals(&study) >= logged1 + 5
    });
    let (logged2, later) =
        adapt.paused(|| (live_intervals(&study), dom(&chromium, &profile, &url, 2500)));
    let decisions2 = number(&later, "live-decisions");
    assert_eq!(decisions2, logged2 as f64);
    assert!(decisions2 > logged1 as f64, "{logged1} → {decisions2}");

    assert!(adapt.0.wait().unwrap().success(), "the live run failed");
    drop(dashboard);
    // The stopped run in report.html: all 40 intervals, no longer running.
    ok(&["report", s(&study)]);
    let url = format!("file://{}", study.join("report.html").display());
    let page = dom(&chromium, &profile, &url, 1000);
    assert_eq!(number(&page, "live-decisions"), 40.0);
    assert!(page.contains("not running now"), "{page}");
    screenshot(
        &chromium,
        &profile,
        &url,
        &tmp.path().join("report-live.png"),
    );
}
