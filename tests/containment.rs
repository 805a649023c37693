//! Every process an adapter starts is ended with its trial — even a helper that left with
//! `setsid`, `cd /` and a double fork — at the trial's end, on a timeout and on Ctrl-C;
//! after a kill -9 of flinktune the next run ends the orphans before reusing their trial
//! directories; a recorded pid that now names another process is never signalled; and
//! nothing is ended for merely having its working directory in a trial directory.

mod common;

use common::{flinktune, ok, s};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `sleep` argument unique to this test process and `tag`: 30 s, so a leak would not last,
/// and findable in the process table.
fn marker(tag: u32) -> String {
    format!("30.{}{tag:03}", std::process::id())
}

/// The pids of live (not zombie) processes whose command line holds `marker`.
fn running(marker: &str) -> Vec<i32> {
    let me = std::process::id() as i32;
    let mut found = vec![];
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let stat = fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        let zombie = stat
            .rsplit_once(')')
            .is_some_and(|(_, r)| r.trim_start().starts_with(['Z', 'X']));
        let cmdline = fs::read(entry.path().join("cmdline")).unwrap_or_default();
        if pid != me && !zombie && String::from_utf8_lossy(&cmdline).contains(marker) {
            found.push(pid);
        }
    }
    found
}

/// Waits up to 2 s for no process to hold `marker` (a SIGKILL is asynchronous).
fn assert_gone(marker: &str) {
    let deadline = Instant::now() + Duration::from_secs(2);
    while !running(marker).is_empty() {
        assert!(Instant::now() < deadline, "still running: {marker}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A shell helper that escapes every way it can: a new session (`setsid`), the root as its
/// working directory, and a double fork (its middle shell exits at once, so the `sleep` is
/// an orphan). It writes the sleep's pid to `$2` once it runs.
const ESCAPE: &str = "cd / && sh -c 'sleep \"$1\" & echo $! > \"$2\"' _ \"$1\" \"$2\"";

/// An adapter command that starts the escaping helper sleeping `marker`, waits until it
/// runs, then runs `then`.
fn adapter(tmp: &Path, marker: &str, then: &str) -> String {
    let helper = tmp.join("escape.sh");
    fs::write(&helper, ESCAPE).unwrap();
    format!(
        "setsid sh {} {marker} \"$FLINKTUNE_TRIAL_DIR/helper.pid\" & \
         while [ ! -s helper.pid ]; do sleep 0.01; done; {then}",
        helper.display()
    )
}

const PASS: &str =
    r#"printf '{"status":"pass","throughput":1000,"latency_p99_ms":5}' > result.json"#;

/// A generated study of one trial through `command`, with `timeout_s` and 1 s of grace.
fn study(tmp: &Path, command: &str, timeout_s: u32) -> PathBuf {
    let study = tmp.join("study");
    ok(&["init", s(&study), "--adapter-command", command]);
    let path = study.join("flinktune.toml");
    let mut text = fs::read_to_string(&path).unwrap();
    for (key, value) in [
        ("samples", "1".to_string()),
        ("rates", "[1000]".into()),
        ("repeats", "1".into()),
        ("timeout_s", timeout_s.to_string()),
        ("kill_grace_s", "1".into()),
        ("retries", "0".into()),
    ] {
        let i = text.find(&format!("\n{key} =")).expect(key) + 1;
        let end = i + text[i..].find('\n').unwrap();
        text.replace_range(i..end, &format!("{key} = {value}"));
    }
    fs::write(&path, text).unwrap();
    ok(&["generate", s(&study)]);
    study
}

/// The status and reason of the study's one collected trial.
fn outcome(study: &Path) -> (String, String) {
    let mut table = csv::Reader::from_path(study.join("collect/trials.csv")).unwrap();
    let h = table.headers().unwrap().clone();
    let r = table.records().next().unwrap().unwrap();
    let col = |n: &str| r[h.iter().position(|x| x == n).unwrap()].to_string();
    (col("status"), col("reason"))
}

/// Starts `flinktune collect` in the background and waits until its adapter's helper runs;
/// returns it and the running trial's directory.
#[allow(clippy::zombie_processes)] // The caller waits for it.
fn collect_until_helper_runs(study: &Path) -> (Child, PathBuf) {
    let child = Command::new(common::BIN)
        .args(["collect", s(study)])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let trials = study.join(".collect.partial/trials");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let dir = fs::read_dir(&trials)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .find(|d| fs::read(d.join("helper.pid")).is_ok_and(|t| t.ends_with(b"\n")));
        if let Some(dir) = dir {
            return (child, dir);
        }
        assert!(Instant::now() < deadline, "the helper never started");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until the adapter has removed `first`, that is, taken its hanging branch: ended
/// before that, it would leave `first`, and the resumed trial would hang instead of passing.
fn wait_for_hanging_branch(first: &Path) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while first.exists() {
        assert!(
            Instant::now() < deadline,
            "the adapter never reached its sleep"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn an_escaped_helper_is_ended_at_the_trials_end() {
    let tmp = tempfile::tempdir().unwrap();
    let m = marker(1);
    let study = study(tmp.path(), &adapter(tmp.path(), &m, PASS), 20);
    ok(&["collect", s(&study)]);
    assert_eq!(outcome(&study).0, "pass");
    assert_gone(&m);
}

#[test]
fn an_escaped_helper_is_ended_on_a_timeout() {
    let tmp = tempfile::tempdir().unwrap();
    let m = marker(2);
    let study = study(tmp.path(), &adapter(tmp.path(), &m, "sleep 30"), 1);
    ok(&["collect", s(&study)]);
    let (status, reason) = outcome(&study);
    assert_eq!(status, "error");
    assert!(reason.contains("timed out"), "{reason}");
    assert_gone(&m);
}

#[test]
fn ctrl_c_ends_an_escaped_helper_and_a_resume_spares_a_process_in_a_trial_dir() {
    let tmp = tempfile::tempdir().unwrap();
    let m = marker(3);
    // The first run hangs until interrupted; the resumed one passes.
    let first = tmp.path().join("first");
    fs::write(&first, "").unwrap();
    let then = format!(
        "if [ -e {f} ]; then rm {f}; sleep 30; else {PASS}; fi",
        f = first.display()
    );
    let study = study(tmp.path(), &adapter(tmp.path(), &m, &then), 60);
    let (mut child, trial) = collect_until_helper_runs(&study);
    wait_for_hanging_branch(&first);
    // SAFETY: a signal to the flinktune this test started.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "an interrupted collect exits 130");
    assert_gone(&m);

    // Someone's process whose working directory is the trial's (a `less stdout.log`).
    let bystander = marker(4);
    let mut less = Command::new("sleep")
        .arg(&bystander)
        .current_dir(&trial)
        .spawn()
        .unwrap();
    ok(&["collect", s(&study)]);
    assert_eq!(outcome(&study).0, "pass");
    assert!(
        less.try_wait().unwrap().is_none(),
        "the bystander was killed"
    );
    less.kill().unwrap();
    less.wait().unwrap();
    assert_gone(&m);
}

#[test]
fn after_a_kill_9_the_next_run_ends_the_orphans_before_reusing_their_trial() {
    let tmp = tempfile::tempdir().unwrap();
    let m = marker(5);
    let first = tmp.path().join("first");
    fs::write(&first, "").unwrap();
    // The orphaned adapter keeps writing into its trial directory (by path) until ended; the
    // resumed run's adapter takes a while, so a surviving orphan would write into its trial.
    let then = format!(
        "if [ -e {f} ]; then rm {f}; \
           while :; do date >> \"$FLINKTUNE_TRIAL_DIR/ticks\"; sleep 0.05; done; \
         else sleep 0.5; {PASS}; fi",
        f = first.display()
    );
    let study = study(tmp.path(), &adapter(tmp.path(), &m, &then), 60);
    let (mut child, trial) = collect_until_helper_runs(&study);
    while !trial.join("ticks").exists() {
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        !running(&m).is_empty(),
        "the helper should outlive a kill -9"
    );

    let out = flinktune(&["collect", s(&study)]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("a killed earlier run left running"),
        "{stderr}"
    );
    assert_eq!(outcome(&study).0, "pass");
    assert_gone(&m);
    let done = study
        .join("collect/trials")
        .join(trial.file_name().unwrap());
    assert!(done.join("result.json").is_file());
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        !done.join("ticks").exists(),
        "an orphan wrote into the journaled trial"
    );
    let left: Vec<String> = fs::read_dir(study.join(".running"))
        .unwrap()
        .flatten()
        .map(|e| fs::read_to_string(e.path()).unwrap_or_default())
        .collect();
    assert!(left.is_empty(), "ledgers left: {left:?}");
}

#[test]
fn a_recorded_pid_that_names_another_process_now_is_not_signalled() {
    let tmp = tempfile::tempdir().unwrap();
    let study = study(tmp.path(), PASS, 20);
    let m = marker(6);
    let mut other = Command::new("sleep").arg(&m).spawn().unwrap();
    let pid = other.id();
    // A dead run's ledger naming that pid with another start time: the pid was recycled.
    let ledger = study.join(".running");
    fs::create_dir_all(&ledger).unwrap();
    fs::write(
        ledger.join("dead.pids"),
        format!("owner 999999999 1\ntoken dead-1-0\n{pid} 1\n"),
    )
    .unwrap();
    ok(&["collect", s(&study)]);
    assert!(
        other.try_wait().unwrap().is_none(),
        "a recycled pid was hit"
    );
    assert!(!ledger.join("dead.pids").exists());
    other.kill().unwrap();
    other.wait().unwrap();
}

/// The cgroup v2 directory this test process could make a child cgroup in, as flinktune
/// looks for one (its own cgroup under the cgroup2 mount); None where none can be made.
fn writable_cgroup() -> Option<PathBuf> {
    let own = fs::read_to_string("/proc/self/cgroup").ok()?;
    let own = own.lines().find_map(|l| l.strip_prefix("0::"))?.to_string();
    let mounts = fs::read_to_string("/proc/self/mountinfo").ok()?;
    let mount = mounts.lines().find_map(|line| {
        let (before, after) = line.split_once(" - ")?;
        let f: Vec<&str> = before.split(' ').collect();
        (after.starts_with("cgroup2 ") && f.get(3) == Some(&"/")).then(|| f[4].to_string())
    })?;
    let dir = Path::new(&mount).join(own.trim_start_matches('/'));
    let probe = dir.join(format!("probe-{}", std::process::id()));
    fs::create_dir(&probe).ok()?;
    let kill = probe.join("cgroup.kill").is_file();
    fs::remove_dir(&probe).unwrap();
    kill.then_some(dir)
}

/// The cgroup v2 path (`0::` line) of process `pid`.
fn cgroup_of(pid: &str) -> String {
    let text = fs::read_to_string(format!("/proc/{}/cgroup", pid.trim())).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("0::"))
        .unwrap()
        .to_string()
}

/// Where a cgroup can be made, a trial's adapter and the helper it started run in the
/// trial's own cgroup, which is gone once the trial ends — at its end, and after a kill -9
/// of flinktune, with the next run.
#[test]
fn a_trials_cgroup_holds_its_helpers_and_goes_with_them() {
    // Without cgroup v2 and a writable cgroup of our own (cgroup v1 only, a read-only
    // /sys/fs/cgroup in a container, no delegation to this user) flinktune makes none and
    // the /proc walk alone contains a trial, which the tests above check.
    let Some(cgroups) = writable_cgroup() else {
        eprintln!("no writable cgroup v2 here: nothing to check");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let m = marker(7);
    let first = tmp.path().join("first");
    fs::write(&first, "").unwrap();
    // Each run records the adapter's cgroup and the helper's; the first then hangs.
    let then = format!(
        "cat /proc/self/cgroup > adapter.cgroup; cat /proc/$(cat helper.pid)/cgroup > helper.cgroup; \
         if [ -e {f} ]; then rm {f}; sleep 30; else {PASS}; fi",
        f = first.display()
    );
    let study = study(tmp.path(), &adapter(tmp.path(), &m, &then), 60);
    let (mut child, trial) = collect_until_helper_runs(&study);
    wait_for_hanging_branch(&first);
    let helper = fs::read_to_string(trial.join("helper.pid")).unwrap();
    let killed_runs = cgroup_of(&helper);
    assert!(killed_runs.contains("/flinktune-"), "{killed_runs}");
    let killed_runs = cgroups.join(Path::new(&killed_runs).file_name().unwrap());
    assert!(killed_runs.is_dir());
    child.kill().unwrap(); // SIGKILL: the helper and its cgroup outlive it
    child.wait().unwrap();
    assert!(!running(&m).is_empty() && killed_runs.is_dir());

    ok(&["collect", s(&study)]);
    assert_eq!(outcome(&study).0, "pass");
    assert_gone(&m);
    assert!(!killed_runs.exists(), "the killed run's cgroup is left");
    let done = study
        .join("collect/trials")
        .join(trial.file_name().unwrap());
    let read = |f: &str| fs::read_to_string(done.join(f)).unwrap();
    let (adapter_cg, helper_cg) = (read("adapter.cgroup"), read("helper.cgroup"));
    assert_eq!(adapter_cg, helper_cg, "the helper left the trial's cgroup");
    let name = helper_cg
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .unwrap();
    assert!(name.contains("/flinktune-"), "{name}");
    assert!(
        !cgroups.join(Path::new(name).file_name().unwrap()).exists(),
        "the trial's cgroup {name} is left"
    );
}
