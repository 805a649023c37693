"""Tests of the remote adapter: its configuration parsing (always), and one trial through
run.sh against a local session cluster standing in for the remote one (only with FLINK_HOME;
skipped with the reason otherwise). Run: python3 -m unittest discover -s adapters/remote -p 'test_*.py'"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import remote  # noqa: E402
fl = remote.fl
import prometheus_metrics  # noqa: E402  (flink-local's, on the path remote put there)


class Conf(unittest.TestCase):
    def test_nested_yaml(self):
        text = ("# c\nparallelism:\n  default: 4 # four\ntaskmanager:\n  memory:\n    segment-size: '16kb'\n"
                "  numberOfTaskSlots: 2\nexecution.buffer-timeout.interval: 5 ms\n"
                "pipeline.jars: [a.jar, 'b.jar']\nenv.java.opts.all: -Dx=1\nlist:\n  - x\n  - y\n")
        c = remote.parse_flink_conf(text)
        self.assertEqual(c["parallelism.default"], "4")
        self.assertEqual(c["taskmanager.memory.segment-size"], "16kb")
        self.assertEqual(c["taskmanager.numberOfTaskSlots"], "2")
        self.assertEqual(c["execution.buffer-timeout.interval"], "5 ms")
        self.assertEqual(c["pipeline.jars"], "a.jar;b.jar")
        self.assertEqual(c["list"], "x;y")
        self.assertNotIn("taskmanager", c)

    def test_legacy_lines(self):
        c = remote.parse_flink_conf("a.b: 1\n# x: 2\nc: http://h:1 # note\n", yaml=False)
        self.assertEqual(c, {"a.b": "1", "c": "http://h:1"})

    def test_unsupported_yaml_is_refused(self):
        with self.assertRaises(ValueError):
            remote.parse_flink_conf("a: |\n  text\n")

    def test_dynamic_properties_skip_connection_keys(self):
        d = remote.dynamic_properties({"rest.port": "1", "jobmanager.rpc.address": "h", "parallelism.default": "2",
                                       "env.java.opts.all": "-X", "execution.buffer-timeout.interval": "5 ms"})
        self.assertEqual(d, ["-Dexecution.buffer-timeout.interval=5 ms", "-Dparallelism.default=2"])

    def test_worker_without_cluster(self):
        os.environ["FLINKTUNE_REMOTE_ADDRESSES"] = "h1:8081, h2:8081"
        try:
            self.assertEqual(remote.pick_address(1), "h2:8081")
            with self.assertRaises(fl.EnvError):
                remote.pick_address(2)
        finally:
            del os.environ["FLINKTUNE_REMOTE_ADDRESSES"]


class Merge(unittest.TestCase):
    def test_a_late_generator_counts_over_the_part_of_the_window_it_ran(self):
        with tempfile.TemporaryDirectory() as d:
            t0, t1 = 10_000_000, 14_000_000  # a 4 s window (us)
            # Subtask 0 ran the whole window at 1000 rec/s; subtask 1 was deployed 1 s into it.
            for i, (start, count) in enumerate([(7_000_000, 4000), (11_000_000, 3000)]):
                open(os.path.join(d, f"source-{i}.txt"), "w").write(f"start_us {start}\ncount {count}\n")
            open(os.path.join(d, "sink-0.txt"), "w").write("h 5000 7000\ncount 7000\nsum_us 1\nmax_us 9\n")
            throughput, starts, hist, count, _, mx = fl.merge(d, t0, t1)
            self.assertAlmostEqual(throughput, 2000.0)
            self.assertEqual((starts, count, mx), ([7_000_000, 11_000_000], 7000, 9))
            # A generator that started after the window cannot be measured: a failed trial.
            open(os.path.join(d, "source-2.txt"), "w").write("start_us 15000000\ncount 0\n")
            with self.assertRaises(fl.Fail):
                fl.merge(d, t0, t1)


class LocalSession(unittest.TestCase):
    """A session cluster started here stands in for the remote one."""

    def test_trial_on_a_session_cluster(self):
        home = os.environ.get("FLINK_HOME")
        if not home:
            self.skipTest("FLINK_HOME not set (export FLINK_HOME=$(scripts/install-flink.sh))")
        with tempfile.TemporaryDirectory() as d:
            os.environ["FLINKTUNE_FLINK_PORT_BASE"] = os.environ.get("FLINKTUNE_REMOTE_TEST_PORT_BASE", "18581")
            conf = os.path.join(d, "cluster-conf")
            os.makedirs(conf)
            with open(os.path.join(home, "conf", "config.yaml")) as f:
                shipped = f.read()
            open(os.path.join(conf, "config.yaml"), "w").write(shipped.replace("numberOfTaskSlots: 1", "numberOfTaskSlots: 2"))
            # A platform that reads metrics over REST refreshes them more often than Flink's 10 s;
            # one that runs Prometheus has the cluster's JVMs export to it.
            props = {"metrics.fetcher.update-interval": 1000}
            server = platform_prometheus(d)
            if server:
                props.update(prometheus_metrics.reporter_props(server.targets))
            cl = fl.Cluster(home, conf, os.path.join(d, "cluster"), 0, extra_props=props)
            try:
                fl.wait_for_cluster(cl, cl.start(), 240)  # a loaded 2-core machine took over 90 s
                trial = os.path.join(d, "trial")
                os.makedirs(os.path.join(trial, "conf"))
                # The trial's conf as flinktune writes it: the base conf with tuned values.
                open(os.path.join(trial, "conf", "config.yaml"), "w").write(
                    re.sub(r"(?m)^(parallelism:\n(?:[ ]*#.*\n)*[ ]*default:) 1$", r"\1 2", shipped)
                    + "execution:\n  buffer-timeout:\n    interval: 5 ms\n")
                json.dump({"parallelism.default": 2}, open(os.path.join(trial, "config.json"), "w"))
                env = dict(os.environ, FLINKTUNE_TRIAL_DIR=trial, FLINKTUNE_CONF_DIR=os.path.join(trial, "conf"),
                           FLINKTUNE_CONFIG_JSON=os.path.join(trial, "config.json"), FLINKTUNE_RATE="2000",
                           FLINKTUNE_DURATION_S="4", FLINKTUNE_WORKER="1", FLINKTUNE_REPEAT="0", FLINKTUNE_SEED="1",
                           FLINKTUNE_REMOTE_ADDRESSES=f"nowhere:1,localhost:{cl.rest_port}")
                t = time.time()
                p = subprocess.run([os.path.join(HERE, "run.sh"), "identity", "--warmup", "2"], env=env,
                                   capture_output=True, text=True, timeout=300)
                self.assertEqual(p.returncode, 0, p.stderr)
                r = json.load(open(os.path.join(trial, "result.json")))
                self.assertEqual(r["status"], "pass", r)
                self.assertEqual(r["parallelism"], 2)
                # The offered rate within -10 % / +5 %: the measured window is the job's, not the
                # client's start-up.
                self.assertTrue(1800 <= r["throughput"] <= 2100, r)
                # The generators started on schedule, before the window (a generator that read the
                # clock before waiting for started.txt once overslept by that wait, into the window).
                self.assertTrue(0 < r["effective_warmup_s"] <= 2.05, r)
                self.assertTrue(0 < r["latency_p50_ms"] <= r["latency_p99_ms"] < 2000, r)
                cmd = open(os.path.join(trial, "flink-run.cmd")).read()
                self.assertIn("-Dexecution.buffer-timeout.interval=5 ms", cmd)
                self.assertIn(f"-m localhost:{cl.rest_port}", cmd)
                # The job was cancelled: the session is free again.
                jobs = cl.get("/jobs/overview")["jobs"]
                self.assertTrue(all(j["state"] in ("CANCELED", "CANCELLING") for j in jobs), jobs)
                print(f"remote trial on a local session: {r['throughput']} rec/s, p99 {r['latency_p99_ms']} ms, "
                      f"{time.time() - t:.0f} s", file=sys.stderr)
                jar = compile_user_job(home, d)
                self.user_job_trial(jar, d, env, cl, [], "rest")
                if server:
                    self.user_job_trial(jar, d, env, cl, ["--metrics", "prometheus", "--prometheus-url", server.url],
                                        "prometheus")
                else:
                    print("remote user job through Prometheus skipped: no `prometheus` binary", file=sys.stderr)
            finally:
                cl.stop()
                if server:
                    server.stop()

    def user_job_trial(self, jar, d, env, cl, metrics_args, source):
        """A user's job (tests/real_flink/userjob/KeyedCount.java) on the same session,
        measured over its REST API or through the platform's Prometheus."""
        trial = os.path.join(d, f"user-trial-{source}")
        shutil.copytree(os.path.join(env["FLINKTUNE_TRIAL_DIR"], "conf"), os.path.join(trial, "conf"))
        env = dict(env, FLINKTUNE_TRIAL_DIR=trial, FLINKTUNE_CONF_DIR=os.path.join(trial, "conf"))
        # Prometheus scrapes each second: a window of several scrapes.
        if source == "prometheus":
            env["FLINKTUNE_DURATION_S"] = "8"
        p = subprocess.run([os.path.join(HERE, "run.sh"), "--jar", jar, "--class", "example.KeyedCount",
                            "--args", "--rate {rate}", "--warmup", "2", *metrics_args], env=env, capture_output=True,
                           text=True, timeout=300)
        self.assertEqual(p.returncode, 0, p.stderr)
        r = json.load(open(os.path.join(trial, "result.json")))
        self.assertEqual((r["status"], r["metrics_source"], r["parallelism"]), ("pass", source, 2), r)
        # The paced source catches up after a slow start: within a quarter of the rate.
        self.assertTrue(1500 <= r["throughput"] <= 2500, r)
        self.assertTrue(0 < r["latency_p99_ms"] < 2000, r)
        if source == "rest":
            self.assertTrue(r["latency_histograms"] >= 2, r)
        else:
            self.assertIn(r["job_id"], r["promql"]["latency_p99_ms"], r)
        print(f"remote user job through {source}: {r['throughput']} rec/s, p99 {r['latency_p99_ms']} ms",
              file=sys.stderr)
        cmd = open(os.path.join(trial, "flink-run.cmd")).read()
        self.assertIn("-Dmetrics.latency.interval=100 ms", cmd)
        self.assertIn("-c example.KeyedCount", cmd)
        self.assertTrue(cmd.rstrip().endswith("--rate 2000"), cmd)
        jobs = cl.get("/jobs/overview")["jobs"]
        self.assertTrue(all(j["state"] in ("CANCELED", "CANCELLING") for j in jobs), jobs)


def compile_user_job(home, d):
    """tests/real_flink/userjob/KeyedCount.java compiled against the distribution's lib/."""
    src = os.path.join(HERE, "..", "..", "tests", "real_flink", "userjob", "KeyedCount.java")
    classes = os.path.join(d, "classes")
    subprocess.run(["javac", "--release", "11", "-nowarn", "-d", classes, "-cp", os.path.join(home, "lib", "*"),
                    src], check=True, capture_output=True)
    jar = os.path.join(d, "keyed-count.jar")
    subprocess.run(["jar", "cf", jar, "-C", classes, "."], check=True)
    return jar


def platform_prometheus(d):
    """A real Prometheus server standing in for the platform's, scraping ten reporter ports
    (None without a `prometheus` binary)."""
    base = int(os.environ.get("FLINKTUNE_REMOTE_TEST_PROMETHEUS_PORT", "19700"))
    port = next((p for p in range(base, base + 10) if fl.port_free(p)), None)
    if port is None:
        raise OSError(f"no free port for Prometheus in {base}..{base + 9}")
    targets = list(range(port + 1, port + 11))
    try:
        server = prometheus_metrics.Server(os.path.join(d, "prometheus"), port, targets)
    except FileNotFoundError:
        return None
    server.targets = targets
    server.start()
    return server


if __name__ == "__main__":
    unittest.main()
