//! A study under abuse: two writers at once, settings changed under finished stages, raised
//! budgets, and kill -9 at random moments of `collect` and of `search --over system`, each
//! followed by a resume that must run every trial exactly once.

mod common;

use common::*;
use rand::{RngExt, SeedableRng};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// A study whose adapter is the simulator behind the shell protocol, sleeping `sleep`
/// seconds first and counting its runs in `runs.log` next to the study.
fn counted_study(dir: &Path, samples: u32, sleep: &str) -> PathBuf {
    fs::create_dir_all(dir).unwrap();
    let script = dir.join("sim.sh");
    let log = dir.join("runs.log");
    fs::write(
        &script,
        format!(
            "echo \"$FLINKTUNE_TRIAL_DIR\" >> '{}'\nsleep {sleep}\nexec '{BIN}' sim-adapter\n",
            log.display()
        ),
    )
    .unwrap();
    let study = small_study(dir, Some(&format!("sh '{}'", script.display())));
    edit_study(&study, &[("samples = 40", &format!("samples = {samples}"))]);
    study
}

/// Adapter runs so far.
fn runs(study: &Path) -> usize {
    let log = study.parent().unwrap().join("runs.log");
    fs::read_to_string(log)
        .map(|t| t.lines().count())
        .unwrap_or(0)
}

fn journal(path: &Path) -> Vec<serde_json::Value> {
    json_lines(path).into_iter().skip(1).collect()
}

#[test]
fn a_second_writer_is_refused_at_once_and_readers_never_wait() {
    let tmp = tempfile::tempdir().unwrap();
    let study = counted_study(tmp.path(), 4, "0.3");
    ok(&["generate", s(&study)]);
    let mut first = Command::new(BIN)
        .args(["collect", s(&study)])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(400));
    let busy = format!("study is busy: `collect` (pid {}) since ", first.id());
    for writer in [
        vec!["collect", s(&study)],
        vec!["search", s(&study), "--over", "system"],
        vec!["generate", s(&study)],
        vec!["model", s(&study)],
        vec!["tune", s(&study)],
    ] {
        let e = fails(&writer);
        assert!(e.contains(&busy), "{writer:?}: {e}");
    }
    assert!(ok(&["status", s(&study)]).contains("collect: interrupted"));
    assert!(first.wait().unwrap().success());
}

#[test]
fn stale_stages_are_marked_and_refused_and_finished_trials_never_rerun() {
    let tmp = tempfile::tempdir().unwrap();
    let study = counted_study(tmp.path(), 6, "0");
    ok(&["generate", s(&study)]);
    ok(&["collect", s(&study)]);
    let first = runs(&study);
    assert!(first > 0 && first <= 12, "{first}");
    // A finished, fresh collect runs nothing again.
    assert!(ok(&["collect", s(&study)]).contains("already finished, reused"));
    assert_eq!(runs(&study), first);

    // A third rate: collect is stale, and model refuses it, naming it and the command.
    edit_study(
        &study,
        &[("rates = [16000, 80000]", "rates = [16000, 80000, 40000]")],
    );
    let status = ok(&["status", s(&study)]);
    assert!(
        status.contains("collect: STALE (settings changed): run `flinktune collect"),
        "{status}"
    );
    let e = fails(&["model", s(&study)]);
    assert!(
        e.contains("the collect stage in") && e.contains("is stale"),
        "{e}"
    );
    // Collecting again runs only the new rate's trials.
    ok(&["collect", s(&study)]);
    let second = runs(&study) - first;
    assert!(
        second > 0 && second <= 6,
        "{second} runs for one new rate of 6 configurations"
    );
    let trials = journal(&study.join("collect/journal.jsonl"));
    assert_eq!(trials.len(), 18);

    let out = ok(&["status", s(&study)]);
    assert!(!out.contains("collect: STALE"), "{out}");
}

#[test]
fn tune_on_a_finished_study_runs_nothing_again() {
    let tmp = tempfile::tempdir().unwrap();
    // Enough configurations that at least five run (the model's least).
    let study = counted_study(tmp.path(), 24, "0");
    edit_study(&study, &[("budget = 30", "budget = 12")]);
    ok(&["tune", s(&study)]);
    let first = runs(&study);
    assert!(first > 0, "the first tune ran no trial");
    // What the stages leave: rewritten, a file would differ (times, order, fresh draws).
    let journals = |study: &Path| {
        [
            "generate/configs.csv",
            "collect/journal.jsonl",
            "model/model.json",
            "search/summary.json",
            "validate/trials.csv",
        ]
        .map(|j| fs::read_to_string(study.join(j)).unwrap())
    };
    let before = journals(&study);
    let out = ok(&["tune", s(&study)]);
    for (step, stage) in [
        ("1/5", "generate"),
        ("2/5", "collect"),
        ("3/5", "model"),
        ("4/5", "search"),
        ("5/5", "validate"),
    ] {
        assert!(
            out.contains(&format!("[{step}] {stage}: up to date, nothing to run")),
            "{stage} ran again: {out}"
        );
    }
    assert_eq!(runs(&study), first, "a trial ran again");
    assert!(journals(&study) == before, "a stage's files changed");
}

#[test]
fn raising_a_finished_search_budget_runs_only_the_new_evaluations() {
    let tmp = tempfile::tempdir().unwrap();
    let study = counted_study(tmp.path(), 4, "0");
    edit_study(
        &study,
        &[
            ("budget = 30", "budget = 8"),
            ("initial = 10", "initial = 5"),
        ],
    );
    ok(&["search", s(&study), "--over", "system"]);
    let path = study.join("search/journal.jsonl");
    let ran = |steps: &[serde_json::Value]| {
        steps
            .iter()
            .filter(|s| s["evaluation"]["status"] != "skipped")
            .count()
    };
    let before = journal(&path);
    assert_eq!(before.len(), 8);
    assert_eq!(runs(&study), ran(&before));
    edit_study(&study, &[("budget = 8", "budget = 11")]);
    assert!(ok(&["status", s(&study)]).contains("search: STALE (settings changed)"));
    ok(&["search", s(&study), "--over", "system"]);
    let after = journal(&path);
    assert_eq!(after.len(), 11);
    assert_eq!(
        after[..8],
        before[..],
        "the finished evaluations were kept as they were"
    );
    assert_eq!(runs(&study), ran(&after), "only the 3 new evaluations ran");
    // Another objective is another plan: its search starts afresh rather than replay.
    edit_study(
        &study,
        &[("objective = \"ratio\"", "objective = \"throughput\"")],
    );
    ok(&["search", s(&study), "--over", "system"]);
    assert_eq!(runs(&study), ran(&after) + ran(&journal(&path)));
}

/// Runs `args` again and again, each killed (SIGKILL) at a seeded random moment, until it
/// finishes on its own or `kills` kills have landed; returns the kills that landed.
fn kill_repeatedly(args: &[&str], done: &Path, kills: usize, seed: u64, ms: (u64, u64)) -> usize {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut landed = 0;
    while landed < kills && !done.exists() {
        let mut child = Command::new(BIN)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(rng.random_range(ms.0..ms.1)));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            landed += 1;
        }
        child.wait().unwrap();
    }
    if !done.exists() {
        ok(args);
    }
    landed
}

fn trial_dirs(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A study for the kill test: the simulator behind a shell adapter that first writes its
/// run's name (`FLINKTUNE_RUN`) into its trial directory, sleeps `marker` seconds (about
/// 20 ms; the argument is unique to this test, to find strays by), then writes it again.
fn kill_study(dir: &Path, samples: u32, marker: &str) -> PathBuf {
    fs::create_dir_all(dir).unwrap();
    let script = dir.join("sim.sh");
    fs::write(
        &script,
        format!(
            "w=\"$FLINKTUNE_TRIAL_DIR/writers\"\necho \"$FLINKTUNE_RUN\" >> \"$w\"\n\
             sleep {marker}\necho \"$FLINKTUNE_RUN\" >> \"$w\"\nexec '{BIN}' sim-adapter\n"
        ),
    )
    .unwrap();
    let study = small_study(dir, Some(&format!("sh '{}'", script.display())));
    edit_study(&study, &[("samples = 40", &format!("samples = {samples}"))]);
    study
}

/// No process of the test is left (the adapters' `sleep MARKER`), and every trial directory
/// under `trials` was written by one run only: an adapter a killed run left behind never
/// wrote into the trial that ran again.
fn assert_contained(trials: &Path, marker: &str) {
    let left = wait_gone(marker, 3.0);
    assert!(left.is_empty(), "left running: {left:?}");
    for trial in trial_dirs(trials) {
        let writers = trials.join(&trial).join("writers");
        let text = fs::read_to_string(&writers).unwrap_or_default();
        let mut runs: Vec<&str> = text.lines().collect();
        runs.dedup();
        assert!(runs.len() <= 1, "{trial} written by several runs: {runs:?}");
    }
}

/// ≥ 100 kills land inside running `collect`s and ≥ 100 inside running `search --over
/// system`s (a kill after a run already ended is not counted); each resume ends what the
/// killed run left running, so every trial is journaled exactly once and written by one run.
#[test]
fn kill_9_at_a_hundred_random_moments_then_resume_runs_every_trial_exactly_once() {
    let tmp = tempfile::tempdir().unwrap();
    let marker = format!("0.02{:07}", std::process::id());
    // 200 trials of about 30 ms: more than 100 short runs can finish.
    let study = kill_study(&tmp.path().join("collect"), 100, &marker);
    ok(&["generate", s(&study)]);
    let done = study.join("collect/summary.json");
    let collect_kills = kill_repeatedly(&["collect", s(&study)], &done, 100, 15, (5, 60));
    let trials = journal(&study.join("collect/journal.jsonl"));
    let mut ids: Vec<String> = trials.iter().map(|t| t["trial"].to_string()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(
        (trials.len(), ids.len()),
        (200, 200),
        "a trial lost or journaled twice"
    );
    let ran = trials.iter().filter(|t| t["status"] != "skipped").count();
    assert_eq!(trial_dirs(&study.join("collect/trials")).len(), ran);
    assert_contained(&study.join("collect/trials"), &marker);

    let study = kill_study(&tmp.path().join("search"), 4, &marker);
    edit_study(
        &study,
        &[
            ("budget = 30", "budget = 60"),
            ("initial = 10", "initial = 6"),
        ],
    );
    let done = study.join("search/summary.json");
    let args = ["search", s(&study), "--over", "system"];
    let search_kills = kill_repeatedly(&args, &done, 100, 16, (10, 120));
    let steps = journal(&study.join("search/journal.jsonl"));
    assert_eq!(steps.len(), 60, "every evaluation journaled once");
    let ran: Vec<String> = (0..steps.len())
        .filter(|&i| steps[i]["evaluation"]["status"] != "skipped")
        .map(|i| format!("e{i:04}-r16000-k0"))
        .collect();
    // A step killed in flight may leave its directory behind only to be run again under
    // the same id; none lies beyond the budget.
    let dirs = trial_dirs(&study.join("search/trials"));
    assert!(ran.iter().all(|t| dirs.contains(t)), "{dirs:?}");
    assert!(dirs.iter().all(|d| d.as_str() < "e0060"), "{dirs:?}");
    assert_contained(&study.join("search/trials"), &marker);
    eprintln!("kills landed mid-run: {collect_kills} of collect, {search_kills} of search");
    assert!(
        collect_kills >= 100 && search_kills >= 100,
        "{collect_kills} and {search_kills} kills landed mid-run"
    );
}

/// compare and adapt record what they read like the stages do: `status` marks them stale
/// with the command that runs them again as they ran (a changed objective; a changed trace).
#[test]
fn compare_and_adapt_are_marked_stale_with_the_command_that_refreshes_them() {
    let tmp = tempfile::tempdir().unwrap();
    let study = counted_study(&tmp.path().join("compare"), 4, "0");
    let args = ["--over", "system", "--budget", "6", "--seeds", "1"];
    ok(&[&["compare", s(&study)][..], &args].concat());
    assert!(study.join("compare/inputs.json").is_file());
    assert!(!ok(&["status", s(&study)]).contains("STALE"));
    edit_study(
        &study,
        &[("objective = \"ratio\"", "objective = \"throughput\"")],
    );
    let status = ok(&["status", s(&study)]);
    let refresh = format!("flinktune compare {} {}", s(&study), args.join(" "));
    assert!(
        status.contains(&format!(
            "compare: STALE (settings changed): run `{refresh}`"
        )),
        "{status}"
    );

    let study = tmp.path().join("adapt");
    fs::create_dir_all(&study).unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    fs::copy(
        root.join("examples/demeter/flinktune.toml"),
        study.join("flinktune.toml"),
    )
    .unwrap();
    let trace = tmp.path().join("rates.csv");
    let write_trace = |seed: &str| {
        let days = [
            "--days",
            "2",
            "--step-s",
            "3600",
            "--seed",
            seed,
            "-o",
            s(&trace),
        ];
        ok(&[&["trace"][..], &days].concat());
    };
    write_trace("3");
    ok(&[
        "adapt",
        s(&study),
        "--trace",
        s(&trace),
        "--policy",
        "static",
    ]);
    assert!(!ok(&["status", s(&study)]).contains("STALE"));
    write_trace("4");
    let status = ok(&["status", s(&study)]);
    let trace = fs::canonicalize(&trace).unwrap();
    let t = trace.display();
    assert!(
        status.contains(&format!(
            "adapt: STALE ({t} changed): run `flinktune adapt {} --trace {t} --replay-days 1`",
            s(&study)
        )),
        "{status}"
    );
}
