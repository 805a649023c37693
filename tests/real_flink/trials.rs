//! One real trial at a time through the adapter: a configuration Flink rejects, a trial
//! cut short by a timeout or Ctrl-C — and never a JVM left behind.

use super::*;

#[test]
fn a_configuration_flink_rejects_fails_with_flinks_reason_and_leaves_no_jvm() {
    let Some(_home) = flink_home() else { return };
    let _one = CLUSTER.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    // 256m cannot hold the 256m metaspace plus the 192m JVM overhead.
    let dir = trial_dir(
        tmp.path(),
        "jobmanager.memory.process.size: 1600m\ntaskmanager.memory.process.size: 256m\n",
    );
    let out = adapter_cmd(&dir, "identity").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let result: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.join("result.json")).unwrap()).unwrap();
    assert_eq!(result["status"], "fail", "{result}");
    let reason = result["reason"].as_str().unwrap();
    assert!(
        reason.contains("Metaspace") && reason.contains("Total Process Memory"),
        "{reason}"
    );
    assert_no_jvm(&dir);
}

/// Waits until the adapter's cluster has a live JVM, i.e. it is mid-trial.
fn wait_for_jvm(dir: &Path) {
    let until = Instant::now() + Duration::from_secs(60);
    while jvms_under(dir).is_empty() {
        assert!(Instant::now() < until, "no JVM started within 60 s");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn no_jvm_survives_a_timeout_or_ctrl_c() {
    let Some(_home) = flink_home() else { return };
    let _one = CLUSTER.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();

    // A timeout in the middle of the trial: the tuner stops the adapter's process group.
    // 10 s falls inside the cluster's start-up (13 s here); at 20 s an idle machine had
    // already finished the whole 5 s trial (19.6 s), so the timeout never came.
    let study = real_study(tmp.path(), 1, "");
    let toml = study.join("flinktune.toml");
    let text = fs::read_to_string(&toml)
        .unwrap()
        .replace("timeout_s = 120", "timeout_s = 10");
    fs::write(&toml, text).unwrap();
    ok(&["generate", s(&study)]);
    ok(&["collect", s(&study)]);
    let trials = rows(&study.join("collect/trials.csv"));
    assert_eq!(trials[0]["status"], "error", "{trials:?}");
    assert!(
        trials[0]["reason"].contains("timeout") || trials[0]["reason"].contains("timed out"),
        "{trials:?}"
    );
    assert_no_jvm(&study);

    // Ctrl-C to the adapter's process group, as a terminal delivers it.
    let dir = trial_dir(
        &tmp.path().join("ctrl-c"),
        "jobmanager.memory.process.size: 1600m\ntaskmanager.memory.process.size: 1728m\n",
    );
    let mut cmd = adapter_cmd(&dir, "identity");
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd.spawn().unwrap();
    wait_for_jvm(&dir);
    std::thread::sleep(Duration::from_secs(2));
    let pgid = child.id() as i32;
    assert_eq!(kill_group(-pgid, 2), 0);
    let until = Instant::now() + Duration::from_secs(15);
    while child.try_wait().unwrap().is_none() {
        assert!(
            Instant::now() < until,
            "the adapter did not exit after Ctrl-C"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_no_jvm(&dir);
}
