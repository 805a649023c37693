//! The `trace` and `forecast` commands end to end: a generated trace is forecast, the
//! files are written, and bad input is refused with its location.

use std::process::Command;

fn flinktune(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_flinktune"))
        .args(args)
        .output()
        .expect("flinktune runs")
}

#[test]
fn a_generated_trace_is_forecast_with_its_files() {
    let d = tempfile::tempdir().unwrap();
    let csv = d.path().join("rates.csv");
    let out = d.path().join("fc");
    let csv_s = csv.to_str().unwrap();
    let o = flinktune(&[
        "trace", "--days", "4", "--step-s", "600", "--min", "1000", "--max", "5000", "--seed", "1",
        "-o", csv_s,
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = flinktune(&[
        "forecast",
        csv_s,
        "--horizon",
        "12",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("season 144 steps (detected"), "{stdout}");
    assert!(stdout.contains("← chosen"), "{stdout}");

    let fc = std::fs::read_to_string(out.join("forecast.csv")).unwrap();
    let rows: Vec<&str> = fc.lines().collect();
    assert_eq!(rows[0], "step,timestamp,forecast,lower,upper");
    assert_eq!(rows.len(), 13);
    // The first forecast step is one step after the history's last timestamp.
    assert!(
        rows[1].starts_with("1,2026-01-09T00:00:00Z,"),
        "{}",
        rows[1]
    );
    for r in &rows[1..] {
        let v: Vec<f64> = r.split(',').skip(2).map(|x| x.parse().unwrap()).collect();
        assert!(v[1] <= v[0] && v[0] <= v[2], "{r}");
    }
    let ev: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("evaluation.json")).unwrap())
            .unwrap();
    assert_eq!(ev["evaluation"]["holdout"], 144);
    assert_eq!(ev["evaluation"]["methods"].as_array().unwrap().len(), 3);
    assert!(
        std::fs::read_to_string(out.join("forecast.svg"))
            .unwrap()
            .starts_with("<svg")
    );
}

#[test]
fn a_bad_history_is_refused_with_its_line_and_column() {
    let d = tempfile::tempdir().unwrap();
    let csv = d.path().join("bad.csv");
    std::fs::write(&csv, "timestamp,records_per_s\n0,10\n60,lots\n").unwrap();
    let o = flinktune(&["forecast", csv.to_str().unwrap(), "--horizon", "3"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("bad.csv, line 3, column 2 (records_per_s)"),
        "{err}"
    );
    assert!(!d.path().join("forecast").exists());
}
