"""Tests of the hibench adapter's plumbing against a fake HiBench tree (stub scripts standing in
for flink/run.sh, dataGen.sh, the flink CLI and the MetricsReader class). Real HiBench is not
installable here, so this checks the orchestration and the configuration it writes, not HiBench."""

import http.server
import json
import os
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import hibench  # noqa: E402
from test_hibench_metrics import HEADER, ROW1  # noqa: E402


def script(path, body):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write("#!/bin/sh\n" + body)
    os.chmod(path, os.stat(path).st_mode | stat.S_IEXEC)


class Conf(unittest.TestCase):
    def test_reads_sorted_last_wins_and_expands(self):
        with tempfile.TemporaryDirectory() as d:
            open(os.path.join(d, "hibench.conf"), "w").write(
                "# c\nhibench.report.dir ${hibench.home}/report\nhibench.streambench.datagen.intervalSpan 50\n")
            open(os.path.join(d, "zzz-flinktune.conf"), "w").write("hibench.streambench.datagen.intervalSpan\t100\n")
            p = hibench.read_hibench_conf(d, "/hb")
            self.assertEqual(p["hibench.report.dir"], "/hb/report")
            self.assertEqual(p["hibench.streambench.datagen.intervalSpan"], "100")

    def test_rate(self):
        self.assertEqual(hibench.rate_settings({}, 16000), (50, 1, 800, 16000.0))
        props = {"hibench.streambench.datagen.intervalSpan": "100", "hibench.streambench.datagen.producerNumber": "3"}
        span, prod, per, eff = hibench.rate_settings(props, 20000)
        self.assertEqual((span, prod, per), (100, 3, 667))
        self.assertAlmostEqual(eff, 20010.0)

    def test_durations(self):
        self.assertEqual(hibench.ms_value("100 ms"), "100")
        self.assertEqual(hibench.ms_value("10s"), "10000")
        self.assertEqual(hibench.ms_value(-1), "-1")
        self.assertEqual(hibench.ms_value("3 min"), "180000")


class FakeRest(http.server.ThreadingHTTPServer):
    """A TaskManager's GC counters over REST in Flink 1.20's shapes: its young collector spends
    100 ms of every second in GC; the `All` sum Flink 1.19+ adds must not count twice."""

    GC = "Status.JVM.GarbageCollector.G1_Young_Generation.Time"
    ALL = "Status.JVM.GarbageCollector.All.Time"

    def __init__(self):
        self.t0 = time.time()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                url = urllib.parse.urlparse(self.path)
                gc_ms = 100.0 * (time.time() - server.t0)
                if url.path == "/taskmanagers":
                    body = {"taskmanagers": [{"id": "tm-1"}]}
                elif url.path == "/taskmanagers/tm-1/metrics" and not url.query:
                    body = [{"id": FakeRest.GC}, {"id": FakeRest.ALL}, {"id": "Status.JVM.CPU.Load"}]
                elif url.path == "/taskmanagers/tm-1/metrics":
                    names = urllib.parse.parse_qs(url.query)["get"][0].split(",")
                    body = [{"id": n, "value": str(gc_ms * (2 if n == FakeRest.ALL else 1))} for n in names]
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}"


def closed_port_url():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


class FakeHiBench(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        d = self.tmp.name
        self.home, self.flink, self.trial = os.path.join(d, "hibench"), os.path.join(d, "flink"), os.path.join(d, "trial")
        os.makedirs(os.path.join(self.home, "conf"))
        os.makedirs(os.path.join(self.trial, "conf"))
        open(os.path.join(self.trial, "conf", "config.yaml"), "w").write("parallelism.default: 2\n")
        json.dump({"parallelism.default": 2, "execution.buffer-timeout.interval": "5 ms"},
                  open(os.path.join(self.trial, "config.json"), "w"))
        open(os.path.join(self.home, "conf", "hibench.conf"), "w").write(
            "hibench.common.jar ${hibench.home}/common.jar\nhibench.streambench.zkHost zk:2181\n"
            "hibench.streambench.datagen.intervalSpan 50\n")
        open(os.path.join(self.home, "common.jar"), "w").close()
        wl = os.path.join(self.home, "bin", "workloads", "streaming", "identity")
        # run.sh prints what HiBench's job prints, then blocks like an attached `flink run`.
        script(os.path.join(wl, "flink", "run.sh"),
               'cp "$HIBENCH_CONF_FOLDER/zzz-flinktune.conf" "$FLINKTUNE_TRIAL_DIR/seen.conf"\n'
               'echo "FLINK_CONF_DIR=$FLINK_CONF_DIR" >> "$FLINKTUNE_TRIAL_DIR/seen.conf"\n'
               'echo "metrics is being written to kafka topic FLINK_identity_1_800_50_123"\n'
               'echo "Job has been submitted with JobID 0123456789abcdef0123456789abcdef"\n'
               'exec sleep 60\n')
        script(os.path.join(wl, "prepare", "dataGen.sh"), "exec sleep 60\n")
        script(os.path.join(self.flink, "bin", "flink"), 'echo "$@" >> "$FLINKTUNE_TRIAL_DIR/flink-cli.log"\n')
        # `java -cp JAR CLASS zk topic outdir n t` writes the CSV as KafkaCollector does.
        bindir = os.path.join(d, "bin")
        script(os.path.join(bindir, "java"),
               'echo "$@" > "$FLINKTUNE_TRIAL_DIR/reader-args"\n'
               f'printf "%s" "$FAKE_CSV" > "$6/$5.csv"\n')
        self.path = bindir + os.pathsep + os.environ["PATH"]

    def tearDown(self):
        self.tmp.cleanup()

    def run_adapter(self, csv, rest=None):
        env = dict(os.environ, HIBENCH_HOME=self.home, FLINK_HOME=self.flink, PATH=self.path,
                   FLINKTUNE_TRIAL_DIR=self.trial, FLINKTUNE_CONF_DIR=os.path.join(self.trial, "conf"),
                   FLINKTUNE_CONFIG_JSON=os.path.join(self.trial, "config.json"), FLINKTUNE_RATE="16000",
                   FLINKTUNE_DURATION_S="1", FLINKTUNE_WORKER="0", FAKE_CSV=csv)
        env.pop("JAVA_HOME", None)
        argv = [os.path.join(HERE, "run.sh"), "identity", "--warmup", "0", "--no-restart",
                "--rest-url", rest or closed_port_url()]
        return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)

    def test_trial_passes_with_the_readers_csv(self):
        p = self.run_adapter(HEADER + ROW1)
        self.assertEqual(p.returncode, 0, p.stderr)
        r = json.load(open(os.path.join(self.trial, "result.json")))
        self.assertEqual((r["status"], r["throughput"], r["latency_p99_ms"]), ("pass", 20000, 240.5))
        self.assertEqual(r["metrics_topic"], "FLINK_identity_1_800_50_123")
        seen = open(os.path.join(self.trial, "seen.conf")).read()
        self.assertIn("hibench.streambench.datagen.recordsPerInterval 800\n", seen)
        self.assertIn("hibench.streambench.flink.parallelism 2\n", seen)
        self.assertIn("hibench.streambench.flink.bufferTimeout 5\n", seen)
        self.assertIn("FLINK_CONF_DIR=" + os.path.join(self.trial, "conf"), seen)
        args = open(os.path.join(self.trial, "reader-args")).read().split()
        self.assertEqual(args[2:5], [hibench.READER_CLASS, "zk:2181", "FLINK_identity_1_800_50_123"])
        self.assertIn("cancel 0123456789abcdef0123456789abcdef", open(os.path.join(self.trial, "flink-cli.log")).read())

    def test_the_gc_share_of_the_measured_duration_comes_from_the_taskmanagers(self):
        server = FakeRest()
        try:
            p = self.run_adapter(HEADER + ROW1, rest=server.url())
        finally:
            server.shutdown()
        self.assertEqual(p.returncode, 0, p.stderr)
        r = json.load(open(os.path.join(self.trial, "result.json")))
        self.assertEqual(r["status"], "pass")
        # 100 ms of every second; with `All` (served as twice that) summed in it would read 0.3.
        self.assertGreater(r["gc_time_fraction"], 0.08)
        self.assertLess(r["gc_time_fraction"], 0.12)

    def test_a_cluster_that_does_not_answer_gives_no_gc_share(self):
        p = self.run_adapter(HEADER + ROW1)
        self.assertEqual(p.returncode, 0, p.stderr)
        r = json.load(open(os.path.join(self.trial, "result.json")))
        self.assertEqual(r["status"], "pass")
        self.assertNotIn("gc_time_fraction", r)

    def test_header_only_csv_is_a_fail(self):
        p = self.run_adapter(HEADER)
        self.assertEqual(p.returncode, 0, p.stderr)
        r = json.load(open(os.path.join(self.trial, "result.json")))
        self.assertEqual(r["status"], "fail")
        self.assertIn("no data rows", r["reason"])

    def test_no_hibench_home_exits_2(self):
        env = {k: v for k, v in os.environ.items() if k != "HIBENCH_HOME"}
        env["FLINKTUNE_TRIAL_DIR"] = self.trial
        p = subprocess.run([os.path.join(HERE, "run.sh"), "identity"], env=env, capture_output=True, text=True)
        self.assertEqual(p.returncode, 2)
        self.assertIn("HIBENCH_HOME", p.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.trial, "result.json")))


if __name__ == "__main__":
    unittest.main()
