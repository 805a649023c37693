"""Measuring a job flinktune did not write through Flink's REST API.

End-to-end latency comes from Flink's latency markers (the adapter sets
`metrics.latency.interval`): every operator after a source keeps a histogram of the markers'
source-to-here latency, `latency.[source_id.<id>.]operator_id.<id>.operator_subtask_index.<n>.latency`,
among its vertex's metrics. The p99 reported is the largest p99 of the sink vertices'
histograms (the worst sink subtask). Throughput is the sink vertices' `numRecordsIn` counters read at
the start and at the end of the measured window, not the `...PerSecond` meters, which average
the last 60 s. Backpressure is each vertex's busy and backpressured time per second. The
share of the window spent in garbage collection is each TaskManager's collectors' `Time`
counters read at both ends of the window; the busiest TaskManager's share is reported.

The REST API serves metrics from a cache the JobManager refreshes at most every
`metrics.fetcher.update-interval`: a request older than that starts a refresh, which the next
request sees. `sample` therefore asks twice, so what it reads is as of its first request.
Standard library only.
"""

import json
import math
import re
import time
import urllib.parse
import urllib.request

# A latency-marker histogram's p99 among a vertex's metrics, `<subtask>.latency.…` (any
# granularity: single, operator, subtask).
LATENCY_P99 = re.compile(r"^\d+\.latency\.(?:.+\.)?operator_id\.[0-9a-f]+\.operator_subtask_index\.\d+\.latency_p99$")


# A collector's accumulated time (ms) among a TaskManager's metrics; Flink 1.19+ also reports the
# collectors' sum as `All`, left out so no time counts twice.
GC_TIME = re.compile(r"^Status\.JVM\.GarbageCollector\.(?!All\.)[^.]+\.Time$")


class Rest:
    """GET requests to a cluster's REST API at `url`, answers as JSON: what the readers here
    call `rest.get`, and what a flink-local `Cluster` answers with."""

    def __init__(self, url):
        self.url = url.rstrip("/")

    def get(self, path, timeout=5):
        with urllib.request.urlopen(self.url + path, timeout=timeout) as r:
            return json.loads(r.read().decode())


class MissingMetric(Exception):
    """The job does not expose a metric the measurement needs; the message names it."""


def fetcher_interval_s(rest):
    """How often the JobManager refreshes the metrics REST serves (its
    metrics.fetcher.update-interval, ms; Flink's default 10 s)."""
    try:
        conf = {e.get("key"): e.get("value") for e in rest.get("/jobmanager/config")}
        return int(conf.get("metrics.fetcher.update-interval") or 10000) / 1000.0
    except (OSError, ValueError, TypeError):
        return 10.0


def sink_vertices(plan):
    """The ids of the job graph's sink vertices (no other vertex reads from them), from
    REST's /jobs/:id/plan."""
    nodes = plan.get("plan", plan).get("nodes", [])
    inputs = {i["id"] for n in nodes for i in n.get("inputs", [])}
    return [n["id"] for n in nodes if n["id"] not in inputs]


class RestReader:
    """The metrics of one running job over a cluster's REST API (`rest.get(path)`)."""

    def __init__(self, rest, job_id):
        self.rest, self.job = rest, job_id
        self.refresh_s = fetcher_interval_s(rest)
        self.vertices = {v["id"]: v["name"] for v in rest.get(f"/jobs/{job_id}").get("vertices", [])}
        self.sinks = sink_vertices(rest.get(f"/jobs/{job_id}/plan"))

    def sample(self, read):
        """`read()` as of now: one request starts the cache's refresh, the second reads it.
        Returns (the time of the first request, what read returned)."""
        at = time.time()
        self.rest.get(f"/jobs/{self.job}/metrics")
        time.sleep(0.8)
        return at, read()

    def subtask_sum(self, vertex, metric):
        """The sum of a metric over a vertex's subtasks, or None when no subtask reports it."""
        q = urllib.parse.urlencode({"get": metric, "agg": "sum"})
        rows = self.rest.get(f"/jobs/{self.job}/vertices/{vertex}/subtasks/metrics?{q}")
        return next((float(r["sum"]) for r in rows if r.get("id") == metric), None)

    def records_in(self):
        """The records the sink vertices have received so far."""
        counts = [self.subtask_sum(v, "numRecordsIn") for v in self.sinks]
        if any(c is None for c in counts):
            missing = [self.vertices.get(v, v) for v, c in zip(self.sinks, counts) if c is None]
            raise MissingMetric(f"numRecordsIn of the sink vertices ({', '.join(missing)}) is not reported")
        return sum(counts)

    def backpressure(self):
        """Per vertex: the mean over its subtasks of busy and backpressured time (ms/s)."""
        out = {}
        names = "busyTimeMsPerSecond,backPressuredTimeMsPerSecond"
        for vid in self.vertices:
            q = urllib.parse.urlencode({"get": names, "agg": "avg,max"})
            rows = self.rest.get(f"/jobs/{self.job}/vertices/{vid}/subtasks/metrics?{q}")
            # A legacy SourceFunction's task reports its busy time as NaN: left out.
            out[vid] = {r["id"]: (float(r["avg"]), float(r["max"])) for r in rows
                        if "avg" in r and math.isfinite(float(r["avg"])) and math.isfinite(float(r["max"]))}
        return out

    def latency_p99_ms(self):
        """The largest p99 (ms) among the sink vertices' latency-marker histograms, and how many
        histograms there were. A vertex keeps one per operator and subtask; a marker reaches the
        operators of a chain one after the other, so the largest is the sink's."""
        values = []
        for vid in self.sinks:
            ids = [m["id"] for m in self.rest.get(f"/jobs/{self.job}/vertices/{vid}/metrics")]
            hist = [i for i in ids if LATENCY_P99.match(i)]
            for k in range(0, len(hist), 20):  # keeps the URL short
                q = urllib.parse.urlencode({"get": ",".join(hist[k:k + 20])})
                rows = self.rest.get(f"/jobs/{self.job}/vertices/{vid}/metrics?{q}")
                values += [float(r["value"]) for r in rows if r.get("value") not in (None, "NaN")]
        if not values:
            raise MissingMetric("no latency-marker histogram (<subtask>.latency...operator_id.<id>...latency_p99) "
                                "among the sink vertices' metrics: the job's sources emit no latency markers")
        return max(values), len(values)


def gc_time_ms(rest):
    """Per TaskManager id, the milliseconds its JVM has spent in garbage collection so far (the
    sum of its collectors' Time counters); a TaskManager that reports none is absent, and a
    cluster whose REST API does not answer gives an empty reading (the figure is optional)."""
    out = {}
    try:
        for tm in rest.get("/taskmanagers").get("taskmanagers", []):
            ids = [m["id"] for m in rest.get(f"/taskmanagers/{tm['id']}/metrics")]
            names = [i for i in ids if GC_TIME.match(i)]
            if not names:
                continue
            q = urllib.parse.urlencode({"get": ",".join(names)})
            rows = rest.get(f"/taskmanagers/{tm['id']}/metrics?{q}")
            values = [float(r["value"]) for r in rows if r.get("value") not in (None, "NaN")]
            if values:
                out[tm["id"]] = sum(values)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}
    return out


def gc_time_fraction(before, after, seconds):
    """The largest share of `seconds` a TaskManager spent in garbage collection between two
    `gc_time_ms` readings, or None when no TaskManager is in both (a restarted one starts its
    counters again and is left out)."""
    shares = [(after[t] - before[t]) / (1000.0 * seconds) for t in after
              if t in before and after[t] >= before[t]]
    if not shares or seconds <= 0:
        return None
    return round(min(1.0, max(shares)), 6)


def fresh_gc_time_ms(rest):
    """`gc_time_ms` as of now (see RestReader.sample): a first reading starts the REST cache's
    refresh, the second, 0.8 s later, reads it. Returns (the time of the first, the reading)."""
    at = time.time()
    gc_time_ms(rest)
    time.sleep(0.8)
    return at, gc_time_ms(rest)


def summarise_backpressure(vertices, samples):
    """Per vertex, the busy and backpressured ms/s averaged over the window's samples (each a
    `RestReader.backpressure()`), and the largest subtask value seen."""
    out = []
    for vid, name in vertices.items():
        row = {"id": vid, "name": name}
        for metric, key in (("busyTimeMsPerSecond", "busy"), ("backPressuredTimeMsPerSecond", "backpressured")):
            seen = [s[vid][metric] for s in samples if metric in s.get(vid, {})]
            if seen:
                row[f"{key}_ms_per_s"] = round(sum(a for a, _ in seen) / len(seen), 1)
                row[f"{key}_max_ms_per_s"] = round(max(m for _, m in seen), 1)
        out.append(row)
    return out
