"""Measuring a job through Prometheus, as production platforms do.

The trial's cluster runs Flink's PrometheusReporter (the distribution's
plugins/metrics-prometheus), every JVM on a port of a small range; a Prometheus server scrapes
them every second. After the measured window the adapter evaluates one PromQL query per
metric at the window's end. The queries may use {job_id}, {sinks} (a regex of the sink
vertices' ids), {window} (the window as a PromQL duration, e.g. `10s`) and {window_s}; the
defaults read Flink's standard metrics, and a study may give its own (e.g. a latency histogram
its job exports). Standard library only.
"""

import json
import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

from rest_metrics import MissingMetric

REPORTER_FACTORY = "org.apache.flink.metrics.prometheus.PrometheusReporterFactory"
# The largest p99 of the sink vertices' latency-marker histograms (ms), and the records the sink
# vertices received per second over the window.
DEFAULT_QUERIES = {
    "latency_p99_ms": 'max(flink_taskmanager_job_task_latency_source_id_operator_id_operator_subtask_index_latency'
                      '{job_id="{job_id}",task_id=~"{sinks}",quantile="0.99"})',
    "throughput": 'sum(increase(flink_taskmanager_job_task_numRecordsIn'
                  '{job_id="{job_id}",task_id=~"{sinks}"}[{window}])) / {window_s}',
}
SCRAPE_S = 1


def reporter_props(ports):
    """The keys that give every JVM of a cluster a PrometheusReporter on one of `ports`."""
    return {"metrics.reporter.prom.factory.class": REPORTER_FACTORY,
            "metrics.reporter.prom.port": f"{ports[0]}-{ports[-1]}"}


def expand(query, values):
    """A query with its {name} placeholders replaced (only the known names: PromQL's own
    braces stay as they are)."""
    for k, v in values.items():
        query = query.replace("{" + k + "}", str(v))
    return query


class Server:
    """A Prometheus server for one trial: its configuration and data in `base`, on a loopback
    port, in the trial's process group, scraping the given targets every second."""

    def __init__(self, base, port, targets, binary=None):
        self.base, self.port = base, port
        self.url = f"http://127.0.0.1:{port}"
        self.binary = binary or os.environ.get("FLINKTUNE_PROMETHEUS") or shutil.which("prometheus")
        if not self.binary:
            raise FileNotFoundError("no `prometheus` binary: install the Debian package `prometheus` "
                                    "or set FLINKTUNE_PROMETHEUS (scripts/ci-prepare.sh does both)")
        os.makedirs(base, exist_ok=True)
        self.config = os.path.join(base, "prometheus.yml")
        scrape = {"global": {"scrape_interval": f"{SCRAPE_S}s", "evaluation_interval": f"{SCRAPE_S}s"},
                  "scrape_configs": [{"job_name": "flink",
                                      "static_configs": [{"targets": [f"127.0.0.1:{p}" for p in targets]}]}]}
        with open(self.config, "w") as f:
            json.dump(scrape, f, indent=1)  # JSON is YAML
        self.proc = None

    def start(self, timeout_s=30):
        log = open(os.path.join(self.base, "prometheus.log"), "w")
        self.proc = subprocess.Popen(
            [self.binary, f"--config.file={self.config}", f"--storage.tsdb.path={os.path.join(self.base, 'data')}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.time() + timeout_s
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise OSError(f"prometheus exited {self.proc.returncode}: {tail(log.name)}")
            try:
                with urllib.request.urlopen(self.url + "/-/ready", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.3)
        raise OSError(f"prometheus not ready within {timeout_s} s: {tail(log.name)}")

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def tail(path, n=400):
    try:
        with open(path, errors="replace") as f:
            return f.read()[-n:].strip() or "no output"
    except OSError:
        return "no output"


def query(url, promql, at):
    """The value of an instant query at time `at` (epoch s): the single sample of a vector or
    a scalar. An empty vector or NaN raises MissingMetric naming the query."""
    q = urllib.parse.urlencode({"query": promql, "time": f"{at:.3f}"})
    try:
        with urllib.request.urlopen(f"{url}/api/v1/query?{q}", timeout=10) as r:
            body = json.loads(r.read().decode())
    except urllib.error.HTTPError as e:
        detail = e.read().decode(errors="replace")
        raise MissingMetric(f"Prometheus refused the query {promql}: {detail[:300]}")
    data = body.get("data", {})
    result = data.get("result")
    if data.get("resultType") == "scalar":
        values = [result]
    else:
        values = [s["value"] for s in result or []]
    if not values:
        raise MissingMetric(f"the Prometheus query {promql} returned no series (does the job export it?)")
    if len(values) > 1:
        raise MissingMetric(f"the Prometheus query {promql} returned {len(values)} series, not one: aggregate it")
    value = float(values[0][1])
    if value != value:
        raise MissingMetric(f"the Prometheus query {promql} is NaN (no samples in the window?)")
    return value


def measure(url, queries, values, t1):
    """Evaluates every query at the window's end t1 once Prometheus has scraped past it;
    returns {metric: value}."""
    wait = t1 + 2.5 * SCRAPE_S - time.time()
    if wait > 0:
        time.sleep(wait)
    return {metric: query(url, expand(q, values), t1) for metric, q in queries.items()}
