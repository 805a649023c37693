//! Hostile adapters: every way a shell adapter can misbehave ends as a recorded failed trial
//! with a reason (never a tuner error: with fail-fast off `collect` exits 0; `tests/best.rs`
//! has the stop), its logs stay bounded, and nothing
//! it started outlives the trial (checked in the process table).

mod common;

use common::{ok, s};
use flinktune::trial::process::OUTPUT_CAP;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A marker unique to this test process and `tag`, usable as a `sleep` argument: `sleep
/// <marker>` sleeps 30 s (so a leak would not last) and is found in the process table by it.
fn marker(tag: u32) -> String {
    format!("30.{}{tag:03}", std::process::id())
}

/// Sets `key = value` on the first line assigning `key` (the top-level one).
fn set(text: &str, key: &str, value: &str) -> String {
    let prefix = format!("{key} =");
    let i = text
        .lines()
        .position(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no `{key}` in the study template"));
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    lines[i] = format!("{key} = {value}");
    lines.join("\n") + "\n"
}

struct Trial {
    dir: PathBuf,
    status: String,
    reason: String,
    seconds: f64,
}

struct Run {
    tmp: tempfile::TempDir,
    trials: Vec<Trial>,
    took: Duration,
}

/// A study running `command` on `samples` configurations at one rate, once each, with a
/// `timeout_s` limit, 1 s of kill grace, no retries and no fail-fast stop (every trial is to
/// be recorded): generated and collected.
fn collect(command: &str, samples: u32, timeout_s: u32) -> Run {
    collect_with_grace(command, samples, timeout_s, 1)
}

fn collect_with_grace(command: &str, samples: u32, timeout_s: u32, grace_s: u32) -> Run {
    let tmp = tempfile::tempdir().unwrap();
    let study = tmp.path().join("study");
    ok(&["init", s(&study), "--adapter-command", command]);
    let path = study.join("flinktune.toml");
    let mut text = fs::read_to_string(&path).unwrap();
    for (key, value) in [
        ("samples", samples.to_string()),
        ("rates", "[1000]".into()),
        ("repeats", "1".into()),
        ("timeout_s", timeout_s.to_string()),
        ("kill_grace_s", grace_s.to_string()),
        ("retries", "0".into()),
        ("fail_fast", "0".into()),
    ] {
        text = set(&text, key, &value);
    }
    fs::write(&path, text).unwrap();
    ok(&["generate", s(&study)]);
    let started = Instant::now();
    ok(&["collect", s(&study)]);
    let took = started.elapsed();

    let mut table = csv::Reader::from_path(study.join("collect/trials.csv")).unwrap();
    let header = table.headers().unwrap().clone();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (trial, status, reason, seconds) =
        (col("trial"), col("status"), col("reason"), col("seconds"));
    let trials: Vec<Trial> = table
        .records()
        .map(|r| {
            let r = r.unwrap();
            let dir = study.join("collect/trials").join(&r[trial]);
            assert!(dir.join("stdout.log").is_file() && dir.join("stderr.log").is_file());
            Trial {
                dir,
                status: r[status].to_string(),
                reason: r[reason].to_string(),
                seconds: r[seconds].parse().unwrap(),
            }
        })
        .collect();
    assert_eq!(trials.len(), samples as usize);
    Run { tmp, trials, took }
}

/// Every trial ended with `status` and a reason holding each of `words`.
fn assert_all(run: &Run, status: &str, words: &[&str]) {
    for t in &run.trials {
        assert_eq!(t.status, status, "{}: {}", t.dir.display(), t.reason);
        for w in words {
            assert!(t.reason.contains(w), "{w:?} not in {:?}", t.reason);
        }
    }
}

/// Live processes (pid, command line) whose command line holds `marker` or whose working
/// directory is under `dir`.
fn processes(marker: &str, dir: &Path) -> Vec<(i32, String)> {
    let dir = dir.canonicalize().unwrap();
    let me = std::process::id() as i32;
    let mut found = vec![];
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        // A zombie has an empty command line and no working directory: it runs nothing.
        let cmdline = fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        let in_dir = fs::read_link(entry.path().join("cwd")).is_ok_and(|c| c.starts_with(&dir));
        if pid != me && (cmdline.contains(marker) || in_dir) {
            found.push((pid, cmdline));
        }
    }
    found
}

/// Nothing the adapter started is left: polls for up to a second (SIGKILL is asynchronous).
fn assert_no_survivors(run: &Run, marker: &str) {
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        let left = processes(marker, run.tmp.path());
        if left.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "still running: {left:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// An adapter that writes `result` as its result.json and exits 0.
fn writes(result: &str) -> String {
    format!("printf '%s' '{result}' > \"$FLINKTUNE_TRIAL_DIR/result.json\"")
}

const PASS: &str = r#"{"status":"pass","throughput":1000,"latency_p99_ms":12}"#;

#[test]
fn a_non_zero_exit_is_an_error_quoting_stderr() {
    let run = collect("echo 'cannot reach the cluster' >&2; exit 3", 2, 10);
    assert_all(
        &run,
        "error",
        &["exit status 3", "cannot reach the cluster"],
    );
}

#[test]
fn an_exit_without_a_result_is_an_error() {
    let run = collect("echo 'all done'", 2, 10);
    assert_all(&run, "error", &["wrote no result.json"]);
}

#[test]
fn an_empty_result_is_an_error() {
    assert_all(
        &collect(&writes(""), 2, 10),
        "error",
        &["result.json is empty"],
    );
}

#[test]
fn a_result_that_is_not_json_is_an_error() {
    let run = collect(&writes(r#"{"status": pass"#), 2, 10);
    assert_all(&run, "error", &["result.json is not JSON"]);
}

#[test]
fn a_json_array_is_an_error() {
    let run = collect(&writes(r#"[{"status":"pass"}]"#), 2, 10);
    assert_all(&run, "error", &["not a JSON object"]);
}

#[test]
fn a_missing_throughput_is_an_error() {
    let run = collect(&writes(r#"{"status":"pass","latency_p99_ms":12}"#), 2, 10);
    assert_all(&run, "error", &["lacks \"throughput\""]);
}

#[test]
fn a_throughput_that_is_a_word_is_an_error() {
    let run = collect(
        &writes(r#"{"status":"pass","throughput":"fast","latency_p99_ms":12}"#),
        2,
        10,
    );
    assert_all(&run, "error", &["\"throughput\"", "not a number", "fast"]);
}

#[test]
fn a_negative_number_is_an_error() {
    let run = collect(
        &writes(r#"{"status":"pass","throughput":-5,"latency_p99_ms":12}"#),
        2,
        10,
    );
    assert_all(&run, "error", &["\"throughput\"", "invalid: -5"]);
}

#[test]
fn infinite_and_nan_numbers_are_errors() {
    // JSON has no infinity or NaN: an overflowing literal, or the word as a string.
    let run = collect(
        &writes(r#"{"status":"pass","throughput":1e999,"latency_p99_ms":12}"#),
        2,
        10,
    );
    assert_all(&run, "error", &["not JSON", "out of range"]);
    let run = collect(
        &writes(r#"{"status":"pass","throughput":1000,"latency_p99_ms":"NaN"}"#),
        2,
        10,
    );
    assert_all(&run, "error", &["\"latency_p99_ms\"", "not a number"]);
}

#[test]
fn a_status_neither_pass_nor_fail_is_an_error() {
    let run = collect(&writes(r#"{"status":"maybe","throughput":1000}"#), 2, 10);
    assert_all(&run, "error", &["no valid \"status\"", "maybe"]);
}

#[test]
fn a_reported_failure_is_a_fail_with_its_reason() {
    let run = collect(
        &writes(r#"{"status":"fail","reason":"cluster did not start"}"#),
        2,
        10,
    );
    assert_all(&run, "fail", &[]);
    assert!(
        run.trials
            .iter()
            .all(|t| t.reason == "cluster did not start")
    );
}

#[test]
fn huge_output_is_capped_to_its_end_and_says_how_much_was_dropped() {
    let size = 50_000_000u64;
    let run = collect(
        &format!(
            "yes out | head -c {size}; yes err | head -c {size} >&2; echo 'last words' >&2; exit 3"
        ),
        1,
        20,
    );
    assert_all(&run, "error", &["exit status 3", "err | err", "last words"]);
    assert!(run.took < Duration::from_secs(10), "took {:?}", run.took);
    let t = &run.trials[0];
    let cap = OUTPUT_CAP as u64;
    for (log, total, last) in [
        ("stdout.log", size, "out\n"),
        ("stderr.log", size + 11, "last words\n"),
    ] {
        let text = fs::read(t.dir.join(log)).unwrap();
        let first = format!("[flinktune: {} earlier bytes dropped]\n", total - cap);
        assert!(text.starts_with(first.as_bytes()), "{log}");
        assert_eq!(text.len() as u64, first.len() as u64 + cap, "{log}");
        assert!(text.ends_with(last.as_bytes()), "{log}");
    }
}

#[test]
fn output_that_is_not_utf8_still_gives_a_readable_reason() {
    let run = collect(r"printf 'bad bytes \377\376 here\n' >&2; exit 1", 2, 10);
    assert_all(
        &run,
        "error",
        &["exit status 1", "bad bytes \u{fffd}\u{fffd} here"],
    );
    let log = fs::read(run.trials[0].dir.join("stderr.log")).unwrap();
    assert_eq!(log, b"bad bytes \xff\xfe here\n");
}

#[test]
fn a_hanging_adapter_times_out_and_its_group_is_killed() {
    let m = marker(1);
    let run = collect_with_grace(
        &format!("echo starting >&2; sleep {m}; echo never"),
        1,
        1,
        5,
    );
    assert_all(&run, "error", &["timed out after 1 s", "starting"]);
    // sh and sleep die of the SIGTERM: no waiting out the 5 s of grace.
    assert!(run.trials[0].seconds < 3.0, "{}", run.trials[0].seconds);
    assert_no_survivors(&run, &m);
}

#[test]
fn an_adapter_that_ignores_sigterm_is_killed_after_the_grace() {
    let m = marker(2);
    let run = collect(&format!("trap '' TERM; sleep {m}"), 1, 1);
    assert_all(&run, "error", &["timed out after 1 s"]);
    // 1 s of timeout, then 1 s of grace before the SIGKILL.
    assert!(run.trials[0].seconds >= 1.9, "{}", run.trials[0].seconds);
    assert_no_survivors(&run, &m);
}

#[test]
fn children_left_behind_by_a_reporting_adapter_are_killed() {
    let m = marker(3);
    // It reports only once the child runs, so the child is there to be killed.
    let run = collect_with_grace(
        &format!(
            "sh -c ': > started; exec sleep {m}' & \
             while [ ! -e started ]; do sleep 0.01; done; {}",
            writes(PASS)
        ),
        2,
        10,
        5,
    );
    assert_all(&run, "pass", &[]);
    // The child dies of the SIGTERM: no waiting out the 5 s of grace.
    assert!(run.trials.iter().all(|t| t.seconds < 2.5));
    assert_no_survivors(&run, &m);
}

#[test]
fn a_process_that_left_the_group_does_not_hold_up_the_trial() {
    // setsid puts it out of reach of the group's kill, holding stdout open; it still runs
    // in the trial directory, and is killed from there.
    let m = marker(4);
    let run = collect(
        &format!(
            "echo hello; setsid sh -c ': > escaped; exec sleep {m}' & \
             while [ ! -e escaped ]; do sleep 0.01; done; {}",
            writes(PASS)
        ),
        1,
        10,
    );
    assert_all(&run, "pass", &[]);
    let t = &run.trials[0];
    assert!(t.seconds < 3.0, "{}", t.seconds);
    let log = fs::read_to_string(t.dir.join("stdout.log")).unwrap();
    assert!(log.starts_with("hello\n"), "{log}");
    assert_no_survivors(&run, &m);
}

#[test]
fn a_command_that_does_not_exist_is_an_error() {
    let run = collect("no-such-flinktune-adapter --run", 2, 10);
    assert_all(&run, "error", &["exit status 127", "not found"]);
}

#[test]
fn parameter_values_reach_the_adapter_only_through_files_and_variables() {
    // The command runs verbatim as `sh -c <command>`, with no arguments after it.
    let command = r#"cat /proc/$$/cmdline > cmdline; echo "$#" > argc; env > env; exit 9"#;
    let run = collect(command, 1, 10);
    assert_all(&run, "error", &["exit status 9"]);
    let dir = &run.trials[0].dir;
    assert_eq!(
        fs::read(dir.join("cmdline")).unwrap(),
        format!("sh\0-c\0{command}\0").into_bytes()
    );
    assert_eq!(fs::read_to_string(dir.join("argc")).unwrap(), "0\n");
    let env = fs::read_to_string(dir.join("env")).unwrap();
    let mut ours: Vec<&str> = env
        .lines()
        .filter(|l| l.starts_with("FLINKTUNE_"))
        .map(|l| l.split('=').next().unwrap())
        // What the test itself inherited (e.g. FLINKTUNE_PROMETHEUS from CI's preparation)
        // is not flinktune's to answer for.
        .filter(|name| std::env::var_os(name).is_none())
        .collect();
    ours.sort();
    assert_eq!(
        ours,
        [
            "FLINKTUNE_CONFIG_JSON",
            "FLINKTUNE_CONF_DIR",
            "FLINKTUNE_DURATION_S",
            "FLINKTUNE_RATE",
            "FLINKTUNE_REPEAT",
            "FLINKTUNE_RUN",
            "FLINKTUNE_SEED",
            "FLINKTUNE_TRIAL_DIR",
            "FLINKTUNE_WORKER",
        ]
    );
    // (The trial ran in the collect stage's partial folder, swapped in when it ended.)
    let json = format!(
        "/trials/{}/config.json",
        dir.file_name().unwrap().to_str().unwrap()
    );
    assert!(
        env.lines()
            .any(|l| l.starts_with("FLINKTUNE_CONFIG_JSON=/") && l.ends_with(&json)),
        "{env}"
    );
    assert!(dir.join("config.json").is_file());
}
