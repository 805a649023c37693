//! The `hibench`, `remote` and `flink-local` adapters (Python, standard library) run their own
//! unit tests: the HiBench metrics parser on CSV files in the MetricsReader's format, the
//! adapter's plumbing against a fake HiBench tree, the remote adapter's configuration parsing
//! and — when `FLINK_HOME` is set — trials through the remote adapter on a local session
//! cluster standing in for the remote one: a built-in job, and a user's job measured over REST
//! and through a real Prometheus server scraping the session (it prints its skip reason
//! otherwise); the user job's
//! argument templating, load command and metric readers, with PromQL on a real Prometheus
//! server when the `prometheus` binary is installed.

use std::process::Command;

fn unittest(dir: &str) {
    let root = env!("CARGO_MANIFEST_DIR");
    let out = Command::new("python3")
        .args(["-W", "ignore", "-m", "unittest", "discover", "-v", "-s"])
        .arg(format!("{root}/adapters/{dir}"))
        .args(["-p", "test_*.py"])
        .output()
        .expect("python3 runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stderr}");
    assert!(
        out.status.success(),
        "adapters/{dir} tests failed:\n{stderr}"
    );
}

#[test]
fn hibench_adapter_python_tests() {
    unittest("hibench");
}

#[test]
fn remote_adapter_python_tests() {
    unittest("remote");
}

#[test]
fn flink_local_adapter_python_tests() {
    unittest("flink-local");
}
