//! Property tests of every reader of what a user or an adapter can write: the study file,
//! a catalogue, a journal, an adapter's result.json and a saved model.json. Valid inputs
//! are damaged — bytes flipped, lines dropped, values replaced by absurd ones — and each
//! reader must answer with a value or an error, never a panic or a hang. The case counts
//! are set per test (`CASES`); each test counts the inputs it rejected, so a reader that
//! refused everything would show.

mod common;

use common::{ok, s};
use flinktune::stages::model::PerfModel;
use flinktune::study::Study;
use flinktune::trial::adapter::read_result;
use flinktune::trial::journal;
use flinktune::trial::record::TrialRecord;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::Value;
use std::fs;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Values that break assumptions: signs, zero, the integer limits, huge and tiny floats,
/// wrong types.
const ABSURD: &[&str] = &[
    "0",
    "-1",
    "1",
    "2",
    "-0.3",
    "1e308",
    "1e-300",
    "18446744073709551615",
    "18446744073709551616",
    "9223372036854775807",
    "-9223372036854775808",
    "4294967296",
    "1000000000",
    "nan",
    "inf",
    "\"\"",
    "\"x\"",
    "[]",
    "{}",
    "true",
    "null",
];

/// A damage done to a text: flip bytes, drop a line, or set the value after the `n`-th
/// `=` or `:` to an absurd one.
#[derive(Clone, Debug)]
enum Damage {
    Bytes(Vec<(usize, u8)>),
    DropLine(usize),
    Value(usize, usize),
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        prop::collection::vec((any::<usize>(), any::<u8>()), 1..6).prop_map(Damage::Bytes),
        any::<usize>().prop_map(Damage::DropLine),
        (any::<usize>(), 0..ABSURD.len()).prop_map(|(n, v)| Damage::Value(n, v)),
    ]
}

fn apply(text: &str, d: &Damage) -> Vec<u8> {
    match d {
        Damage::Bytes(edits) => {
            let mut b = text.as_bytes().to_vec();
            for &(at, byte) in edits {
                let n = b.len();
                b[at % n] = byte;
            }
            b
        }
        Damage::DropLine(n) => {
            let lines: Vec<&str> = text.lines().collect();
            let drop = n % lines.len();
            let kept: Vec<&str> = (0..lines.len())
                .filter(|&i| i != drop)
                .map(|i| lines[i])
                .collect();
            (kept.join("\n") + "\n").into_bytes()
        }
        Damage::Value(n, v) => {
            let seps: Vec<usize> = text.match_indices(['=', ':']).map(|(i, _)| i).collect();
            let at = seps[n % seps.len()] + 1;
            let end = text[at..]
                .find([',', '\n', '}', ']'])
                .map_or(text.len(), |e| at + e);
            format!("{} {}{}", &text[..at], ABSURD[*v], &text[end..]).into_bytes()
        }
    }
}

/// Runs `check` on `cases` damaged copies of `text`, then on `cases / 4` random byte
/// strings; returns how many inputs the reader refused.
fn fuzz(text: &str, cases: u32, check: impl Fn(&[u8]) -> bool) -> usize {
    let refused = AtomicUsize::new(0);
    let count = |refuses: bool| {
        if refuses {
            refused.fetch_add(1, Ordering::Relaxed);
        }
    };
    let mut runner = TestRunner::new(Config::with_cases(cases));
    runner
        .run(&damage(), |d| {
            count(check(&apply(text, &d)));
            Ok(())
        })
        .unwrap();
    let mut runner = TestRunner::new(Config::with_cases(cases / 4));
    runner
        .run(&prop::collection::vec(any::<u8>(), 0..300), |b| {
            count(check(&b));
            Ok(())
        })
        .unwrap();
    refused.into_inner()
}

#[test]
fn the_study_file_reader_never_panics() {
    let tmp = tempfile::tempdir().unwrap();
    let study = tmp.path().join("s");
    ok(&["init", s(&study)]);
    let text = fs::read_to_string(study.join("flinktune.toml")).unwrap();
    let refused = fuzz(&text, 2000, |bytes| {
        fs::write(study.join("flinktune.toml"), bytes).unwrap();
        Study::load(&study).is_err()
    });
    // The mutations do damage records (so the reader is exercised), without a panic.
    assert!(refused > 100, "{refused}");
}

#[test]
fn the_catalogue_reader_never_panics() {
    let text = fs::read_to_string("configs/flink-1.11-key-params.toml").unwrap();
    let refused = fuzz(&text, 3000, |bytes| {
        let text = String::from_utf8_lossy(bytes);
        flink::space::Space::from_catalogue_text(&text, "fuzz.toml").is_err()
    });
    // The mutations do damage records (so the reader is exercised), without a panic.
    assert!(refused > 100, "{refused}");
}

#[test]
fn the_journal_reader_never_panics() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("journal.jsonl");
    let record = |i: u64| TrialRecord {
        trial: format!("c{i}-r1000-k0"),
        config: format!("c{i}"),
        rate: 1000,
        repeat: 0,
        status: flinktune::trial::record::TrialStatus::Pass,
        throughput: Some(1000.0 + i as f64),
        latency_p99_ms: Some(5.0),
        latency_p50_ms: None,
        gc_time_fraction: None,
        reason: String::new(),
        attempts: 1,
        worker: 0,
        seconds: 0.5,
        key: String::new(),
    };
    let mut text = "{\"journal\":1,\"plan\":\"abc\",\"trials\":4}\n".to_string();
    for i in 0..4 {
        text += &format!("{}\n", serde_json::to_string(&record(i)).unwrap());
    }
    let refused = fuzz(&text, 3000, |bytes| {
        fs::write(&path, bytes).unwrap();
        let read = journal::read::<Value, TrialRecord>(&path, true).unwrap();
        read.entries.len() < 4
    });
    // The mutations do damage records (so the reader is exercised), without a panic.
    assert!(refused > 100, "{refused}");
}

#[test]
fn the_result_reader_never_panics() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("result.json");
    let text = r#"{"status": "pass", "throughput": 1000, "latency_p99_ms": 5, "latency_p50_ms": 2,
 "cpu_cores": 4, "backpressured": false, "skew_ms": -0.3, "note": "ok"}"#;
    let refused = fuzz(text, 3000, |bytes| {
        fs::write(&path, bytes).unwrap();
        match read_result(&path) {
            Ok(o) => {
                // A pass's measurement is always in range, so every objective is finite.
                let m = o.measurement();
                assert!(m.is_none_or(|m| m.throughput > 0.0 && m.latency_p99_ms >= 1e-3));
                false
            }
            Err(_) => true,
        }
    });
    // The mutations do damage records (so the reader is exercised), without a panic.
    assert!(refused > 100, "{refused}");
}

/// A model fitted by `flinktune model` on a small simulated study, saved with `regressor`.
fn fitted_model(dir: &Path, regressor: &str) -> String {
    let study = dir.join(regressor);
    ok(&["init", s(&study)]);
    let path = study.join("flinktune.toml");
    let text = fs::read_to_string(&path)
        .unwrap()
        .replace("samples = 200", "samples = 16")
        .replace("rates = [16000, 80000]", "rates = [16000]")
        .replace(
            "# [model]\n# regressor = \"best\"",
            &format!("[model]\nregressor = \"{regressor}\""),
        );
    fs::write(&path, text).unwrap();
    ok(&["generate", s(&study)]);
    ok(&["collect", s(&study)]);
    ok(&["model", s(&study)]);
    fs::read_to_string(study.join("model/model.json")).unwrap()
}

/// Every number of a JSON document, by its JSON pointer.
fn number_pointers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Number(_) => out.push(at),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, c)| number_pointers(c, format!("{at}/{i}"), out)),
        Value::Object(o) => o
            .iter()
            .for_each(|(k, c)| number_pointers(c, format!("{at}/{k}"), out)),
        _ => {}
    }
}

#[test]
fn the_model_reader_never_panics_nor_loops() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("model.json");
    let mut counts = vec![];
    for regressor in ["forest", "gbrt", "gp"] {
        let text = fitted_model(tmp.path(), regressor);
        fs::write(&path, &text).unwrap();
        assert!(
            PerfModel::load(&path).is_ok(),
            "{regressor}: the fitted model loads"
        );
        let value: Value = serde_json::from_str(&text).unwrap();
        let mut numbers = vec![];
        number_pointers(&value, String::new(), &mut numbers);
        // Numbers replaced one at a time: the damage a tampered file does to trees.
        let refused = std::cell::Cell::new(0);
        let mut runner = TestRunner::new(Config::with_cases(600));
        let strategy = (any::<usize>(), 0..ABSURD.len());
        runner
            .run(&strategy, |(n, v)| {
                let mut damaged = value.clone();
                let new: Value = serde_json::from_str(ABSURD[v]).unwrap_or(Value::Null);
                *damaged.pointer_mut(&numbers[n % numbers.len()]).unwrap() = new;
                fs::write(&path, serde_json::to_vec(&damaged).unwrap()).unwrap();
                if let Err(e) = PerfModel::load(&path) {
                    assert!(format!("{e:#}").contains("model.json"), "{e:#}");
                    refused.set(refused.get() + 1);
                }
                Ok(())
            })
            .unwrap();
        let bytes_refused = fuzz(&text, 100, |bytes| {
            fs::write(&path, bytes).unwrap();
            PerfModel::load(&path).is_err()
        });
        counts.push((regressor, refused.get(), bytes_refused));
    }
    // Of 600 single numbers replaced, and of the 125 byte-damaged files (100 mutated, 25
    // random; the rest parse as a model that still holds together), most are refused.
    assert!(
        counts.iter().all(|&(_, r, b)| r > 50 && b > 62),
        "{counts:?}"
    );
}
