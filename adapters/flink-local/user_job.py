"""The user's own job in a trial, for the flink-local and remote adapters: its arguments with
the trial's values filled in, the load command that feeds it from outside, and the measured
window read through Flink's REST API or Prometheus (the job writes no figures of its own).

Standard library only.
"""

import os
import shlex
import signal
import subprocess
import time

import prometheus_metrics as prometheus
import rest_metrics
from rest_metrics import MissingMetric

METRICS = ("rest", "prometheus")
# Placeholders of --args, filled from the trial (the rate it offers, the measured seconds, the
# worker running it, its directory).
PLACEHOLDERS = ("rate", "duration", "worker", "trial_dir")


class JobFailed(Exception):
    """The job or its load could not run as measured: the trial fails with this reason."""


def expand_args(template, values):
    """The job's argument list: `template` split as a shell would, then {rate}, {duration},
    {worker} and {trial_dir} replaced in every word. Other braces are the job's own."""
    words = shlex.split(template or "")
    for k in PLACEHOLDERS:
        words = [w.replace("{" + k + "}", str(values[k])) for w in words]
    return words


def trial_values(trial):
    """The placeholder values of the running trial (adapter protocol variables)."""
    return {"rate": os.environ["FLINKTUNE_RATE"], "duration": os.environ["FLINKTUNE_DURATION_S"],
            "worker": os.environ["FLINKTUNE_WORKER"], "trial_dir": trial}


def add_arguments(ap):
    """The command-line options of a user job, shared by both adapters."""
    ap.add_argument("--jar", help="the user's job jar (instead of a built-in workload)")
    ap.add_argument("--class", dest="main_class", help="the job's main class (with --jar)")
    ap.add_argument("--args", dest="job_args", default="",
                    help="the job's arguments; {rate}, {duration}, {worker}, {trial_dir} are filled in")
    ap.add_argument("--load-command", help="a shell command feeding the job (FLINKTUNE_RATE etc. in its "
                                           "environment), run from before the warm-up to the window's end")
    ap.add_argument("--metrics", choices=METRICS, default="rest",
                    help="how a user job is measured: Flink's REST API (latency markers) or Prometheus")
    ap.add_argument("--latency-interval-ms", type=int, default=100,
                    help="metrics.latency.interval set for the trial (default 100)")
    ap.add_argument("--promql-latency", default=prometheus.DEFAULT_QUERIES["latency_p99_ms"],
                    help="PromQL for the p99 latency in ms at the window's end")
    ap.add_argument("--promql-throughput", default=prometheus.DEFAULT_QUERIES["throughput"],
                    help="PromQL for the records per second over the window")


def check_arguments(args, builtin):
    """A user job needs --jar and --class and no built-in workload; the measurement options
    are a user job's only. Returns an error message or None."""
    if args.jar and builtin:
        return f"give either a built-in workload ({builtin}) or --jar, not both"
    if not args.jar:
        if not builtin:
            return "name a built-in workload or give --jar PATH --class MAIN"
        given = [o for o, v in (("--class", args.main_class), ("--args", args.job_args),
                                ("--load-command", args.load_command),
                                ("--prometheus-url", getattr(args, "prometheus_url", None)))
                 if v]
        return f"{', '.join(given)} need --jar (a user job)" if given else None
    if not args.main_class:
        return "--jar needs --class MAIN (the job's main class)"
    if not os.path.isfile(args.jar):
        return f"--jar {args.jar}: no such file"
    return None


def observation_props(args, duration_s):
    """Keys the adapter adds so the job can be measured: latency markers often enough, a
    marker history about as long as the measured window, and a fresh REST metric cache."""
    return {"metrics.latency.interval": f"{args.latency_interval_ms} ms",
            "metrics.latency.history-size": max(16, duration_s * 1000 // args.latency_interval_ms),
            "metrics.fetcher.update-interval": 1000}


class Load:
    """The --load-command: a shell in the trial's process group (a tuner's timeout stops it
    with the trial), stopped with all its descendants after the window."""

    def __init__(self, command, cwd, env):
        self.out = os.path.join(cwd, "load-command.log")
        with open(self.out, "w") as log:
            self.proc = subprocess.Popen(command, shell=True, cwd=cwd, env=env, stdout=log,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def check(self):
        code = self.proc.poll()
        if code not in (None, 0):
            raise JobFailed(f"the load command exited {code}: {prometheus.tail(self.out, 300)}")

    def stop(self):
        pids = [self.proc.pid] + descendants(self.proc.pid)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for p in pids:
                try:
                    os.kill(p, sig)
                except ProcessLookupError:
                    pass
            deadline = time.time() + 3
            while pids and time.time() < deadline:
                self.proc.poll()  # reaps the shell
                pids = [p for p in pids if os.path.exists(f"/proc/{p}") and not zombie(p)]
                time.sleep(0.1)
            if not pids:
                break
        self.proc.wait()


def descendants(pid):
    """Every live process below pid (by /proc's parent ids)."""
    children = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(d))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def zombie(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return False


def wait_running(rest, job_id, check, timeout_s):
    """Waits until every task of the job is RUNNING; check() raises when it ended."""
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        check()
        try:
            j = rest.get(f"/jobs/{job_id}")
        except (OSError, ValueError):
            j = {}
        vertices = j.get("vertices") or []
        if j.get("state") == "RUNNING" and vertices and all(v.get("status") == "RUNNING" for v in vertices):
            return
        time.sleep(0.2)
    raise JobFailed(f"the job's tasks were not all RUNNING within {timeout_s} s")


def sleep_until(t, check):
    while time.time() < t:
        check()
        time.sleep(min(0.5, max(0.0, t - time.time())))


def measure(rest, job_id, args, duration_s, check_job, trial):
    """Runs the load command (if any), waits the warm-up, measures the window and returns the
    trial's figures. check_job() raises when the job ended; a metric the job does not expose
    fails the trial naming it."""
    env = dict(os.environ, FLINKTUNE_JOB_ID=job_id, FLINKTUNE_REST_URL=rest.url)
    load = Load(args.load_command, trial, env) if args.load_command else None

    def check():
        check_job()
        if load:
            load.check()

    try:
        sleep_until(time.time() + args.warmup, check)
        reader = rest_metrics.RestReader(rest, job_id)
        if duration_s <= reader.refresh_s + 1:
            raise JobFailed(f"the measured window ({duration_s} s) must be longer than the cluster's "
                            f"metrics.fetcher.update-interval ({reader.refresh_s:g} s) + 1 s")
        window = window_samples(reader, duration_s, check, args.metrics == "rest")
        check()
    except MissingMetric as e:
        raise JobFailed(str(e))
    finally:
        if load:
            load.stop()
    result = {"status": "pass", "metrics_source": args.metrics, "sink_vertices": len(reader.sinks),
              "vertices": rest_metrics.summarise_backpressure(reader.vertices, window["backpressure"])}
    try:
        if args.metrics == "rest":
            result.update(window["rest"])
        else:
            result.update(from_prometheus(args, reader, window["t0"], window["t1"]))
    except MissingMetric as e:
        raise JobFailed(str(e))
    if window["gc_time_fraction"] is not None:
        result["gc_time_fraction"] = window["gc_time_fraction"]
    result["throughput"] = round(result["throughput"], 3)
    result["latency_p99_ms"] = round(result["latency_p99_ms"], 4)
    # A vertex held back for a tenth of its time or more: the job does not keep up.
    result["backpressured"] = any(v.get("backpressured_ms_per_s", 0) >= 100 for v in result["vertices"])
    return result


def window_samples(reader, duration_s, check, counters):
    """Samples the window: the sink counters at both ends (REST), backpressure every few
    seconds, the latency histograms at its end. Returns t0, t1, the samples and the REST figures."""
    if counters:
        t0, (c0, gc0) = reader.sample(lambda: (reader.records_in(), rest_metrics.gc_time_ms(reader.rest)))
    else:
        t0, (c0, gc0) = reader.sample(lambda: (None, rest_metrics.gc_time_ms(reader.rest)))
    t1 = t0 + duration_s
    samples = []
    # Samples further apart than the REST cache's refresh, so each one starts a fresh one.
    step = max(5.0, reader.refresh_s + 1.0)
    while t1 - time.time() > 2 * step:
        sleep_until(time.time() + step, check)
        samples.append(reader.sample(reader.backpressure)[1])
    sleep_until(t1, check)
    if counters:
        t1, (c1, bp, gc1) = reader.sample(lambda: (reader.records_in(), reader.backpressure(),
                                                   rest_metrics.gc_time_ms(reader.rest)))
        p99, n = reader.latency_p99_ms()
        rest = {"throughput": (c1 - c0) / (t1 - t0), "latency_p99_ms": p99, "latency_histograms": n,
                "sink_records": int(c1 - c0)}
        if c1 - c0 <= 0:
            raise MissingMetric("the sink vertices' numRecordsIn did not grow during the window "
                                "(no record reached a sink, or the sink is chained to its source)")
    else:
        t1, (bp, gc1) = reader.sample(lambda: (reader.backpressure(), rest_metrics.gc_time_ms(reader.rest)))
        rest = None
    samples.append(bp)
    return {"t0": t0, "t1": t1, "backpressure": samples, "rest": rest,
            "gc_time_fraction": rest_metrics.gc_time_fraction(gc0, gc1, t1 - t0)}


def from_prometheus(args, reader, t0, t1):
    """The window's figures from the trial's Prometheus server (args.prometheus_url)."""
    window = max(1, round(t1 - t0))
    values = {"job_id": reader.job, "sinks": "|".join(reader.sinks), "window": f"{window}s", "window_s": window}
    queries = {"latency_p99_ms": args.promql_latency, "throughput": args.promql_throughput}
    out = prometheus.measure(args.prometheus_url, queries, values, t1)
    out["promql"] = {k: prometheus.expand(q, values) for k, q in queries.items()}
    return out
