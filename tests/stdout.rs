//! Nothing a user does with flinktune's outputs and inputs panics or hangs: a closed stdout
//! (`flinktune status | head`) ends quietly, a full one (`> /dev/full`) is an error naming
//! stdout, and a named pipe given as the base configuration is refused, not waited on.

mod common;

use common::{ok, s};
use std::fs;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs flinktune with `stdout`, giving up (and failing) after 60 s.
fn run(args: &[&str], stdout: Stdio) -> Output {
    let mut child = Command::new(common::BIN)
        .args(args)
        .stdout(stdout)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("flinktune {args:?} hangs");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn a_closed_stdout_ends_quietly_and_a_full_one_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let study = tmp.path().join("s");
    ok(&["init", s(&study)]);
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = run(&["status", s(&study)], writer.into());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");

    let full = fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = run(&["status", s(&study)], full.into());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot write to stdout"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_named_pipe_as_base_configuration_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let study = tmp.path().join("s");
    ok(&["init", s(&study)]);
    let pipe = std::ffi::CString::new(s(&study.join("pipe.yaml"))).unwrap();
    // SAFETY: mkfifo with a valid C string.
    assert_eq!(unsafe { libc::mkfifo(pipe.as_ptr(), 0o600) }, 0);
    let path = study.join("flinktune.toml");
    let text = fs::read_to_string(&path).unwrap();
    fs::write(&path, format!("base_conf = \"pipe.yaml\"\n{text}")).unwrap();
    let out = run(&["generate", s(&study)], Stdio::null());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("pipe.yaml is not a regular file"),
        "{stderr}"
    );
}
