"""Tests of the user-job support shared by flink-local and remote: argument templating, option
checks, the load command's lifetime, the REST metric reader on REST answers in Flink 1.20's
shapes, and PromQL evaluation on a real Prometheus server (skipped with the reason when the
`prometheus` binary is missing). Run: python3 -m unittest discover -s adapters/flink-local -p 'test_*.py'"""

import argparse
import os
import shutil
import socket
import sys
import tempfile
import time
import unittest
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import prometheus_metrics  # noqa: E402
import rest_metrics  # noqa: E402
import user_job  # noqa: E402

SRC, SINK = "a" * 32, "b" * 32


class Arguments(unittest.TestCase):
    def test_placeholders_are_filled_in_every_word(self):
        values = {"rate": 2000, "duration": 10, "worker": 1, "trial_dir": "/t/x y"}
        words = user_job.expand_args("--rate {rate} --out '{trial_dir}/out' --tag w{worker}-{duration}s", values)
        self.assertEqual(words, ["--rate", "2000", "--out", "/t/x y/out", "--tag", "w1-10s"])

    def test_other_braces_are_the_jobs_own(self):
        words = user_job.expand_args("--json '{\"a\": {rate}}' {unknown}", {"rate": 5, "duration": 1,
                                                                            "worker": 0, "trial_dir": "/t"})
        self.assertEqual(words, ['--json', '{"a": 5}', "{unknown}"])

    def parse(self, *argv):
        ap = argparse.ArgumentParser()
        ap.add_argument("workload", nargs="?")
        user_job.add_arguments(ap)
        return ap.parse_args(argv)

    def test_a_user_job_needs_its_jar_and_class(self):
        with tempfile.NamedTemporaryFile(suffix=".jar") as jar:
            self.assertIsNone(user_job.check_arguments(self.parse("--jar", jar.name, "--class", "M"), None))
            self.assertIn("--class", user_job.check_arguments(self.parse("--jar", jar.name), None))
            self.assertIn("not both", user_job.check_arguments(self.parse("--jar", jar.name, "--class", "M"),
                                                               "identity"))
        self.assertIn("no such file", user_job.check_arguments(self.parse("--jar", "/no/x.jar", "--class", "M"),
                                                                None))
        self.assertIn("need --jar", user_job.check_arguments(self.parse("--load-command", "x"), "identity"))
        self.assertIn("--jar PATH", user_job.check_arguments(self.parse(), None))
        self.assertIsNone(user_job.check_arguments(self.parse(), "identity"))

    def test_the_marker_history_covers_the_window(self):
        props = user_job.observation_props(self.parse("--latency-interval-ms", "200"), 10)
        self.assertEqual(props["metrics.latency.interval"], "200 ms")
        self.assertEqual(props["metrics.latency.history-size"], 50)


class Load(unittest.TestCase):
    def test_the_load_command_sees_the_rate_and_stops_with_its_children(self):
        with tempfile.TemporaryDirectory() as d:
            env = dict(os.environ, FLINKTUNE_RATE="1234")
            load = user_job.Load("echo rate=$FLINKTUNE_RATE; sleep 60 & sleep 60", d, env)
            time.sleep(0.5)
            kids = user_job.descendants(load.proc.pid)
            self.assertEqual(len(kids), 2, kids)
            load.check()
            load.stop()
            self.assertFalse([p for p in kids if os.path.exists(f"/proc/{p}") and not user_job.zombie(p)])
            with open(os.path.join(d, "load-command.log")) as f:
                self.assertIn("rate=1234", f.read())

    def test_a_failing_load_command_fails_the_trial(self):
        with tempfile.TemporaryDirectory() as d:
            load = user_job.Load("echo no broker >&2; exit 3", d, dict(os.environ))
            load.proc.wait()
            with self.assertRaisesRegex(user_job.JobFailed, "exited 3: no broker"):
                load.check()


class FakeRest:
    """Flink 1.20's REST answers for a two-vertex job (source -> count and sink chained)."""

    def __init__(self, sink_metrics):
        self.sink_metrics = sink_metrics  # the sink vertex's metric id -> value

    def get(self, path):
        if path == "/jobmanager/config":
            return [{"key": "metrics.fetcher.update-interval", "value": "1000"}]
        if path.endswith("/plan"):
            return {"plan": {"nodes": [{"id": SINK, "inputs": [{"num": 0, "id": SRC}]}, {"id": SRC}]}}
        if path == "/jobs/j":
            return {"vertices": [{"id": SRC, "name": "Source: paced"}, {"id": SINK, "name": "count -> Sink"}]}
        vid = path.split("/")[4]
        if "subtasks/metrics" in path and "numRecordsIn" in path:
            return [{"id": "numRecordsIn", "min": 1.0, "max": 2.0, "avg": 1.5, "sum": 3.0}] if vid == SINK else []
        if "subtasks/metrics" in path:
            if vid == SRC:  # a legacy SourceFunction's task
                return [{"id": "busyTimeMsPerSecond", "min": "NaN", "max": "NaN", "avg": "NaN", "sum": "NaN"},
                        {"id": "backPressuredTimeMsPerSecond", "min": 0, "max": 0.0, "avg": 0.0, "sum": 0.0}]
            return [{"id": "busyTimeMsPerSecond", "min": 0, "max": 300.0, "avg": 200.0, "sum": 400.0},
                    {"id": "backPressuredTimeMsPerSecond", "min": 0, "max": 0.0, "avg": 0.0, "sum": 0.0}]
        metrics = self.sink_metrics if vid == SINK else {"0.numRecordsOut": "9"}
        if path.endswith("/metrics"):
            return [{"id": k} for k in metrics]
        wanted = path.split("?get=", 1)[1].replace("%2C", ",").split(",")
        return [{"id": k, "value": metrics[k]} for k in wanted if k in metrics]


def hist(op, subtask, p99):
    return {f"{subtask}.latency.source_id.{SRC}.operator_id.{op}.operator_subtask_index.{subtask}.latency_p99": p99}


class Rest(unittest.TestCase):
    def test_sinks_are_the_vertices_nothing_reads(self):
        self.assertEqual(rest_metrics.sink_vertices(FakeRest({}).get("/jobs/j/plan")), [SINK])

    def test_latency_is_the_largest_p99_of_the_sink_vertex(self):
        count_op, sink_op = SINK, "c" * 32
        r = rest_metrics.RestReader(FakeRest({**hist(count_op, 0, "3.5"), **hist(sink_op, 0, "3.75"),
                                              **hist(sink_op, 1, "7.25"), "0.numRecordsIn": "5",
                                              "0.latency.source_id.x.latency_p99": "99"}), "j")
        self.assertEqual(r.refresh_s, 1.0)
        self.assertEqual(r.latency_p99_ms(), (7.25, 3))
        self.assertEqual(r.records_in(), 3.0)

    def test_a_job_without_latency_markers_names_the_missing_metric(self):
        r = rest_metrics.RestReader(FakeRest({"0.numRecordsIn": "0"}), "j")
        with self.assertRaisesRegex(rest_metrics.MissingMetric, "latency-marker histogram"):
            r.latency_p99_ms()

    def test_backpressure_per_vertex(self):
        r = rest_metrics.RestReader(FakeRest({}), "j")
        rows = rest_metrics.summarise_backpressure(r.vertices, [r.backpressure(), r.backpressure()])
        self.assertEqual(rows[0], {"id": SRC, "name": "Source: paced", "backpressured_ms_per_s": 0.0,
                                   "backpressured_max_ms_per_s": 0.0})
        self.assertEqual(rows[1], {"id": SINK, "name": "count -> Sink", "busy_ms_per_s": 200.0,
                                   "busy_max_ms_per_s": 300.0, "backpressured_ms_per_s": 0.0,
                                   "backpressured_max_ms_per_s": 0.0})


class TaskManagersRest:
    """Flink 1.20's REST answers for two TaskManagers' JVM metrics: per collector `Count` and
    `Time` (ms so far), and `All`, their sum."""

    def __init__(self, times):
        self.times = times  # TaskManager id -> {collector: ms}

    def get(self, path):
        if path == "/taskmanagers":
            return {"taskmanagers": [{"id": tm} for tm in self.times]}
        tm = path.split("/")[2]
        metrics = {"Status.JVM.Memory.Heap.Used": "1"}
        for name, ms in {**self.times[tm], "All": sum(self.times[tm].values())}.items():
            metrics[f"Status.JVM.GarbageCollector.{name}.Time"] = str(ms)
            metrics[f"Status.JVM.GarbageCollector.{name}.Count"] = "3"
        if path.endswith("/metrics"):
            return [{"id": k} for k in metrics]
        wanted = urllib.parse.unquote(path.split("?get=", 1)[1]).split(",")
        return [{"id": k, "value": metrics[k]} for k in wanted]


class GcTime(unittest.TestCase):
    def test_each_taskmanager_sums_its_collectors_without_their_total(self):
        rest = TaskManagersRest({"tm-1": {"G1_Young_Generation": 120, "G1_Old_Generation": 30},
                                 "tm-2": {"G1_Young_Generation": 10}})
        self.assertEqual(rest_metrics.gc_time_ms(rest), {"tm-1": 150.0, "tm-2": 10.0})

    def test_the_busiest_taskmanager_gives_the_share_of_the_window(self):
        before = {"tm-1": 150.0, "tm-2": 10.0, "tm-3": 5000.0}
        after = {"tm-1": 1350.0, "tm-2": 610.0, "tm-3": 20.0, "tm-4": 900.0}
        # tm-3 restarted (its counters began again) and tm-4 is new: neither counts.
        self.assertAlmostEqual(rest_metrics.gc_time_fraction(before, after, 60.0), 0.02)
        self.assertIsNone(rest_metrics.gc_time_fraction({}, after, 60.0))

    def test_a_cluster_that_does_not_answer_gives_no_reading(self):
        class Down:
            def get(self, path):
                raise OSError("connection refused")
        self.assertEqual(rest_metrics.gc_time_ms(Down()), {})


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@unittest.skipUnless(os.environ.get("FLINKTUNE_PROMETHEUS") or shutil.which("prometheus"),
                     "no prometheus binary (apt-get install prometheus, or . scripts/ci-prepare.sh)")
class Prometheus(unittest.TestCase):
    """PromQL on a real Prometheus server scraping itself (its own /metrics)."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.TemporaryDirectory()
        port = free_port()
        cls.server = prometheus_metrics.Server(cls.dir.name, port, [port])
        cls.server.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.dir.cleanup()

    def test_queries_are_evaluated_with_their_placeholders(self):
        values = {"job_id": "j", "sinks": "x|y", "window": "3s", "window_s": 3}
        q = prometheus_metrics.expand('sum(up{job="flink",instance=~".*"}) * {window_s}', values)
        self.assertEqual(q, 'sum(up{job="flink",instance=~".*"}) * 3')
        deadline = time.time() + 15
        while True:  # until the first scrape
            try:
                got = prometheus_metrics.measure(self.server.url, {"v": q}, values, time.time())
                break
            except rest_metrics.MissingMetric:
                self.assertLess(time.time(), deadline, "no scrape within 15 s")
                time.sleep(0.5)
        self.assertEqual(got, {"v": 3.0})

    def test_a_metric_nobody_exports_is_named_in_the_reason(self):
        q = prometheus_metrics.expand(prometheus_metrics.DEFAULT_QUERIES["latency_p99_ms"],
                                      {"job_id": "j", "sinks": SINK})
        with self.assertRaisesRegex(rest_metrics.MissingMetric, "flink_taskmanager_job_task_latency.*returned no series"):
            prometheus_metrics.query(self.server.url, q, time.time())

    def test_a_malformed_query_is_refused_with_prometheus_reason(self):
        with self.assertRaisesRegex(rest_metrics.MissingMetric, "refused the query sum\\("):
            prometheus_metrics.query(self.server.url, "sum(", time.time())


if __name__ == "__main__":
    unittest.main()
