//! The command line's habits: shell completions and the man page name every command;
//! `--json` prints one parsable object per command; `-q` silences stderr but for errors;
//! NO_COLOR turns colour off; exit statuses follow `--help`; a reader that goes away ends a
//! command quietly; failure summaries group alike reasons and show real ones.

mod common;

use common::{flinktune, ok, s, small_study};
use serde_json::Value;
use std::io::Read;
use std::process::{Command, Stdio};

/// Every subcommand a user can type.
const COMMANDS: &[&str] = &[
    "init",
    "catalogue",
    "tune",
    "determine",
    "generate",
    "collect",
    "compare",
    "status",
    "model",
    "search",
    "validate",
    "best",
    "adapt",
    "trace",
    "forecast",
    "memory",
    "sim-adapter",
    "completions",
    "man",
];

#[test]
fn completions_name_every_command_for_each_shell() {
    for shell in ["bash", "zsh", "fish"] {
        let script = ok(&["completions", shell]);
        for command in COMMANDS {
            assert!(script.contains(command), "{shell} lacks {command}");
        }
        // Flags of a subcommand complete too.
        assert!(script.contains("replay-days"), "{shell}");
    }
    let out = flinktune(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn the_man_page_is_roff_with_every_command_and_the_exit_statuses() {
    // roff escapes a hyphen as `\-`.
    let page = ok(&["man"]).replace("\\-", "-");
    assert!(page.starts_with(".ie") || page.starts_with(".TH"), "{page}");
    assert!(page.contains(".TH flinktune 1"), "{page}");
    for command in COMMANDS {
        assert!(page.contains(command), "the man page lacks {command}");
    }
    assert!(page.contains("Exit status"), "{page}");
    assert!(page.contains("130"), "{page}");
}

/// Parses stdout as exactly one JSON object.
fn json_of(args: &[&str]) -> Value {
    let text = ok(args);
    let v: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("flinktune {args:?}: not one JSON value ({e}):\n{text}"));
    assert!(v.is_object(), "{v}");
    v
}

/// The pipeline stage by stage with `--json`, then `-q` and a closed stdout on the tuned
/// study.
#[test]
fn every_stage_prints_its_summary_as_json() {
    let tmp = tempfile::tempdir().unwrap();
    let study = small_study(tmp.path(), None);
    let st = s(&study);
    let g = json_of(&["generate", "--json", st]);
    assert_eq!(g["configs"], 40);
    assert!(g["predicted_failure_reasons"].is_array());
    let c = json_of(&["collect", "--json", st]);
    assert_eq!(c["trials"], 80);
    let counted = ["pass", "fail", "error", "skipped"].map(|k| c[k].as_u64().unwrap());
    assert_eq!(counted.iter().sum::<u64>(), 80, "{c}");
    let m = json_of(&["model", "--json", st]);
    assert!(m["test_mape_percent"].as_f64().unwrap() > 0.0, "{m}");
    assert_eq!(m["comparison"].as_array().unwrap().len(), 6, "{m}");
    assert!(m["saved"].is_string(), "{m}");
    let f = json_of(&["search", "--json", st]);
    assert_eq!(f["evaluations"], 30, "{f}");
    assert!(f["best_perf"].as_f64().unwrap() > 0.0, "{f}");
    let v = json_of(&["validate", "--json", st]);
    // Both configurations ran their repeats; the best may fail there (the speedup is then
    // null), which the summary says rather than hides.
    assert_eq!(
        (v["best"]["runs"].as_u64(), v["default"]["runs"].as_u64()),
        (Some(2), Some(2)),
        "{v}"
    );
    assert!(v.get("speedup_objective").is_some(), "{v}");
    // The JSON is the summary file's content.
    let on_disk = common::json(&study.join("validate/summary.json"));
    assert_eq!(v, on_disk);

    let t = json_of(&["tune", "--json", st]);
    let fresh: Vec<&str> = t["up_to_date"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect();
    assert_eq!(
        fresh,
        ["generate", "collect", "model", "search", "validate"]
    );
    assert!(t["search"].is_null() && t["skipped"] == serde_json::json!([]));

    let st_json = json_of(&["status", "--json", st]);
    assert_eq!(st_json["collect"]["done"], 80, "{st_json}");
    let b = json_of(&["best", "--json", st]);
    assert!(b["entries"].is_array() && b["file"].is_string(), "{b}");
    assert_eq!(b["validated"], on_disk);

    quiet_silences_all_but_errors(st);
    status_and_best_end_quietly_when_the_reader_goes_away(st);
}

/// `-q` on a tuned study: the informational lines (tune's progress under `--json`, what
/// `-D` lines achieve) are gone, the result is not; errors are still printed.
fn quiet_silences_all_but_errors(study: &str) {
    let loud = flinktune(&["tune", "--json", study]);
    assert!(String::from_utf8_lossy(&loud.stderr).contains("up to date"));
    let quiet = flinktune(&["-q", "tune", "--json", study]);
    assert!(quiet.stderr.is_empty(), "{quiet:?}");
    assert_eq!(loud.stdout, quiet.stdout);
    let dynamic = ["best", study, "--format", "dynamic-properties"];
    let loud = flinktune(&dynamic);
    assert!(
        !loud.stderr.is_empty() && !loud.stdout.is_empty(),
        "{loud:?}"
    );
    let quiet = flinktune(&[&["--quiet"], &dynamic[..]].concat());
    assert!(quiet.stderr.is_empty(), "{quiet:?}");
    assert_eq!(loud.stdout, quiet.stdout);
    let out = flinktune(&["-q", "best", "/no/such/study"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).starts_with("error: "),
        "{out:?}"
    );
}

#[test]
fn no_color_wins_over_a_forced_colour() {
    let help = |no_color: bool| {
        let mut cmd = Command::new(common::BIN);
        cmd.args(["status", "--no-such-flag"])
            .env("CLICOLOR_FORCE", "1");
        if no_color {
            cmd.env("NO_COLOR", "1");
        } else {
            cmd.env_remove("NO_COLOR");
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(2));
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    assert!(help(false).contains('\x1b'), "colour was forced");
    let plain = help(true);
    assert!(!plain.contains('\x1b'), "{plain:?}");
    assert!(plain.contains("--no-such-flag"), "{plain}");
}

#[test]
fn exit_statuses_are_those_help_lists() {
    let help = ok(&["--help"]);
    assert!(
        help.contains("Exit status:") && help.contains("130"),
        "{help}"
    );
    assert_eq!(flinktune(&["no-such-command"]).status.code(), Some(2));
    let tmp = tempfile::tempdir().unwrap();
    let study = small_study(tmp.path(), None);
    // A value clap cannot check is still a usage error.
    let out = flinktune(&[
        "trace",
        "--start",
        "yesterday",
        "-o",
        s(&tmp.path().join("t")),
    ]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let out = flinktune(&["adapt", s(&study), "--trace", "x.csv", "--replay-days", "0"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    // A stage that cannot run is an error.
    assert_eq!(flinktune(&["model", s(&study)]).status.code(), Some(1));
}

/// Runs `args` with stdout a pipe whose reader goes away at once; returns the exit status
/// and stderr.
fn with_reader_gone(args: &[&str]) -> (Option<i32>, String) {
    let mut child = Command::new(common::BIN)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    (child.wait().unwrap().code(), stderr)
}

/// `status | head` and `best | head` on a tuned study: the reader going away ends the
/// command with status 0 and nothing on stderr.
fn status_and_best_end_quietly_when_the_reader_goes_away(st: &str) {
    for args in [
        vec!["status", st],
        vec!["best", st, "--all"],
        vec!["best", st, "--json"],
        vec!["completions", "bash"],
        vec!["man"],
    ] {
        let (code, stderr) = with_reader_gone(&args);
        assert_eq!(code, Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(!stderr.contains("Broken pipe"), "{args:?}: {stderr}");
    }
}

#[test]
fn failure_summaries_group_alike_reasons_and_show_real_ones() {
    let tmp = tempfile::tempdir().unwrap();
    // Every trial fails: a FailConf whose reason carries the trial's own numbers, and at the
    // higher rate an adapter error quoting its stderr.
    let adapter = r#"if [ "$FLINKTUNE_RATE" = 80000 ]; then echo "Traceback (most recent call last)" >&2; echo "OSError: port $FLINKTUNE_RATE in use" >&2; exit 3; fi; printf '{"status":"fail","reason":"TaskManager lost after %s ms at %s records/s"}' $((1000 + $$ % 997)) "$FLINKTUNE_RATE" > "$FLINKTUNE_TRIAL_DIR/result.json""#;
    let study = small_study(tmp.path(), Some(adapter));
    let st = s(&study);
    ok(&["generate", st]);
    let text = ok(&["collect", st]);
    let v = json_of(&["status", "--json", st]);
    let groups = v["collect"]["counts"]["reasons"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(groups.len(), 2, "{groups:?}");
    let total: u64 = groups.iter().map(|g| g["count"].as_u64().unwrap()).sum();
    assert_eq!(total, 80);
    let examples: Vec<&str> = groups
        .iter()
        .map(|g| g["example"].as_str().unwrap())
        .collect();
    assert!(
        examples
            .iter()
            .any(|e| e.starts_with("TaskManager lost after 1") && e.ends_with("at 16000 records/s")),
        "{examples:?}"
    );
    // The summary shows the real reason (its numbers, uncut), never a masked one.
    assert!(!text.contains('#'), "{text}");
    assert!(text.contains("40 × TaskManager lost after "), "{text}");
    assert!(
        text.contains("40 × adapter failed (exit status 3) (more with --verbose)"),
        "{text}"
    );
    assert!(!text.contains("OSError: port 80000"), "{text}");
    // status and --verbose show the adapter's stderr too, a line per line.
    let status = ok(&["status", st]);
    assert!(
        status.contains("             OSError: port 80000 in use\n"),
        "{status}"
    );
    let verbose = ok(&["--verbose", "collect", st]);
    assert!(verbose.contains("OSError: port 80000 in use"), "{verbose}");
}
