#!/usr/bin/env python3
"""flinktune's hibench adapter: one trial as a HiBench streaming benchmark on Flink with Kafka.

For one trial (adapter protocol: FLINKTUNE_* variables in, result.json out):
  1. copies HiBench's conf dir to <trial>/hibench/conf and adds `zzz-flinktune.conf` (read last;
     HiBench reads conf/*.conf sorted) setting the data generator's rate, the Flink job's
     parallelism / buffer timeout / checkpoint interval when the trial tunes them (HiBench passes
     them to the job, which would override the configuration), and the report dirs to the trial;
     HiBench's scripts read it through HIBENCH_CONF_FOLDER;
  2. unless --no-restart, restarts the standalone Flink cluster with FLINK_CONF_DIR set to the
     trial's conf dir (stop-cluster.sh, start-cluster.sh) and waits for a TaskManager over REST;
  3. starts bin/workloads/streaming/<workload>/flink/run.sh (FLINK_CONF_DIR = the trial's conf)
     and reads the metrics topic from its output ("metrics is being written to kafka topic T");
  4. starts prepare/dataGen.sh, lets it run for --warmup + FLINKTUNE_DURATION_S seconds, stops it
     and cancels the job; the TaskManagers' GC time, read over REST when the warm-up ends and
     when the duration does, gives `gc_time_fraction`;
  5. runs HiBench's MetricsReader class directly (metrics_reader.sh would prompt for the topic):
     java -cp <hibench.common.jar> com.intel.hibench.common.streaming.metrics.MetricsReader
          <zkHost> <topic> <outputDir> <sampleNum> <threadNum>
     and turns <outputDir>/<topic>.csv into result.json (hibench_metrics.py).

Exit 0 with status pass/fail; exit 2 without a result when the environment is broken.
Standard library only.
"""

import argparse
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(1, os.path.join(HERE, "..", "flink-local"))
import hibench_metrics  # noqa: E402
import rest_metrics  # noqa: E402  (flink-local's: the TaskManagers' GC time over REST)

WORKLOADS = ("identity", "repartition", "wordcount", "fixwindow")
READER_CLASS = "com.intel.hibench.common.streaming.metrics.MetricsReader"
OVERRIDE_FILE = "zzz-flinktune.conf"
# Trial keys HiBench hands to the job itself (flink run -p, env.setBufferTimeout,
# enableCheckpointing), which would override the configuration file.
JOB_KEYS = {
    "parallelism.default": "hibench.streambench.flink.parallelism",
    "execution.buffer-timeout": "hibench.streambench.flink.bufferTimeout",
    "execution.buffer-timeout.interval": "hibench.streambench.flink.bufferTimeout",
    "execution.checkpointing.interval": "hibench.streambench.flink.checkpointDuration",
}


class Fail(Exception):
    pass


class EnvError(Exception):
    pass


def log(msg):
    print(f"[hibench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def read_hibench_conf(conf_dir, home, extra=()):
    """HiBench's properties as its load_config.py reads them: conf/*.conf sorted, last wins,
    `key value` lines, then ${key} references expanded (hibench.home = HIBENCH_HOME)."""
    props = {"hibench.home": home}
    for path in sorted(glob.glob(os.path.join(conf_dir, "*.conf"))) + list(extra):
        try:
            lines = open(path, errors="replace").read().splitlines()
        except OSError:
            continue
        for ln in lines:
            ln = ln.strip()
            if not ln or ln.startswith("#"):
                continue
            parts = re.split(r"\s", ln, 1)
            props[parts[0]] = parts[1].strip() if len(parts) > 1 else ""
    ref = re.compile(r"\$\{\s*([^\s}:]+)\s*(?::-([^}]*))?\}")
    for _ in range(20):
        changed = False
        for k, v in props.items():
            nv = ref.sub(lambda m: props.get(m.group(1), m.group(2) if m.group(2) is not None else m.group(0)), v)
            if nv != v:
                props[k], changed = nv, True
        if not changed:
            break
    return props


def ms_value(v):
    """A Flink duration ("100 ms", "10s", "100") in milliseconds, as an integer string."""
    m = re.fullmatch(r"\s*(-?\d+)\s*(ms|milli|millis|s|sec|secs|seconds|min|m)?\s*", str(v))
    if not m:
        raise EnvError(f"cannot read {v!r} as a duration for HiBench")
    n, unit = int(m.group(1)), m.group(2) or "ms"
    return str(n * (60000 if unit in ("min", "m") else 1000 if unit.startswith("s") else 1))


def rate_settings(props, rate):
    """recordsPerInterval for the trial's rate given HiBench's interval span and producers:
    HiBench's generator sends recordsPerInterval * producerNumber every intervalSpan ms."""
    span = int(props.get("hibench.streambench.datagen.intervalSpan", "50") or 50)
    producers = int(props.get("hibench.streambench.datagen.producerNumber", "1") or 1)
    per = max(1, round(rate * span / 1000.0 / producers))
    return span, producers, per, per * producers * 1000.0 / span


def run(cmd, env, timeout=120, **kw):
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, **kw)


def wait_rest(url, timeout_s):
    t0 = time.time()
    while time.time() - t0 < timeout_s:
        try:
            with urllib.request.urlopen(url + "/overview", timeout=2) as r:
                if json.loads(r.read().decode()).get("taskmanagers", 0) >= 1:
                    return
        except (OSError, ValueError):
            pass
        time.sleep(1)
    raise Fail(f"no TaskManager registered at {url} within {timeout_s} s after start-cluster.sh")


def gc_share(before, after):
    """The busiest TaskManager's share of the window in GC, from two `fresh_gc_time_ms`
    readings, or None when either is missing (the figure is optional)."""
    if before is None or after is None:
        return None
    return rest_metrics.gc_time_fraction(before[1], after[1], after[0] - before[0])


def stop_group(p, grace=5):
    if p is None or p.poll() is not None:
        return
    try:
        os.killpg(p.pid, signal.SIGTERM)
        p.wait(timeout=grace)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def trial(args):
    home = os.environ.get("HIBENCH_HOME")
    trial_dir = os.environ.get("FLINKTUNE_TRIAL_DIR")
    if not trial_dir or not os.path.isdir(trial_dir):
        raise EnvError("FLINKTUNE_TRIAL_DIR is not set to a directory: run this through flinktune")
    if not home or not os.path.isdir(os.path.join(home, "bin", "workloads", "streaming")):
        raise EnvError("HIBENCH_HOME must point at a built HiBench checkout (bin/workloads/streaming)")
    conf_dir = os.environ.get("FLINKTUNE_CONF_DIR") or os.path.join(trial_dir, "conf")
    rate = int(os.environ.get("FLINKTUNE_RATE", "0"))
    duration = int(os.environ.get("FLINKTUNE_DURATION_S", "0"))
    if rate < 1 or duration < 1:
        raise EnvError("FLINKTUNE_RATE and FLINKTUNE_DURATION_S must be positive integers")
    config = {}
    if os.environ.get("FLINKTUNE_CONFIG_JSON"):
        with open(os.environ["FLINKTUNE_CONFIG_JSON"]) as f:
            config = json.load(f)

    src_conf = os.environ.get("HIBENCH_CONF_DIR") or os.path.join(home, "conf")
    hconf = os.path.join(trial_dir, "hibench", "conf")
    report = os.path.join(trial_dir, "hibench", "report")
    shutil.copytree(src_conf, hconf, dirs_exist_ok=True)
    os.makedirs(report, exist_ok=True)
    props = read_hibench_conf(hconf, home)
    span, producers, per, effective = rate_settings(props, rate)
    over = {
        "hibench.streambench.datagen.recordsPerInterval": str(per),
        "hibench.streambench.datagen.totalRounds": "-1",
        "hibench.streambench.datagen.totalRecords": "-1",
        "hibench.report.dir": report,
        "hibench.streambench.metricsReader.outputDir": report,
    }
    for k, hk in JOB_KEYS.items():
        if k in config:
            v = config[k]
            over[hk] = str(v) if k == "parallelism.default" else ms_value(v)
    with open(os.path.join(hconf, OVERRIDE_FILE), "w") as f:
        f.write("# written by flinktune's hibench adapter for this trial\n")
        f.writelines(f"{k} {v}\n" for k, v in over.items())
    props = read_hibench_conf(hconf, home)
    log(f"rate {rate}/s -> recordsPerInterval {per} x {producers} producer(s) every {span} ms "
        f"= {effective:.0f} rec/s")

    flink_home = os.environ.get("FLINK_HOME") or props.get("hibench.streambench.flink.home", "")
    if not os.path.isfile(os.path.join(flink_home, "bin", "flink")):
        raise EnvError(f"no Flink at {flink_home!r}: set FLINK_HOME or hibench.streambench.flink.home")
    env = dict(os.environ, HIBENCH_CONF_FOLDER=hconf, FLINK_CONF_DIR=conf_dir, FLINK_HOME=flink_home)
    wl = os.path.join(home, "bin", "workloads", "streaming", args.workload)

    if not args.no_restart:
        run([os.path.join(flink_home, "bin", "stop-cluster.sh")], env)
        p = run([os.path.join(flink_home, "bin", "start-cluster.sh")], env)
        if p.returncode != 0:
            raise Fail(f"start-cluster.sh exited {p.returncode}: {(p.stdout + p.stderr).strip()[-400:]}")
        wait_rest(args.rest_url, args.start_timeout)

    logs = os.path.join(trial_dir, "hibench")
    job = gen = None
    try:
        job_out = os.path.join(logs, "flink-run.log")
        job = subprocess.Popen([os.path.join(wl, "flink", "run.sh")], env=env, stdin=subprocess.DEVNULL,
                               stdout=open(job_out, "w"), stderr=subprocess.STDOUT, start_new_session=True)
        topic = jid = None
        t0 = time.time()
        while time.time() - t0 < args.submit_timeout and (topic is None or jid is None):
            text = open(job_out, errors="replace").read()
            m = re.search(r"metrics is being written to kafka topic (\S+)", text)
            topic = m.group(1) if m else topic
            m = re.search(r"JobID ([0-9a-f]{32})", text)
            jid = m.group(1) if m else jid
            if job.poll() is not None:
                raise Fail(f"HiBench's flink/run.sh exited {job.returncode}: "
                           + (hibench_reason(text) or "see hibench/flink-run.log"))
            time.sleep(0.5)
        if topic is None:
            raise Fail(f"the job did not report its metrics topic within {args.submit_timeout} s")
        log(f"job {jid} running, metrics topic {topic}")
        gen = subprocess.Popen([os.path.join(wl, "prepare", "dataGen.sh")], env=env, stdin=subprocess.DEVNULL,
                               stdout=open(os.path.join(logs, "datagen.log"), "w"), stderr=subprocess.STDOUT,
                               start_new_session=True)
        opens = time.time() + args.warmup
        end = opens + duration
        rest, gc0 = rest_metrics.Rest(args.rest_url), None
        while time.time() < end:
            if job.poll() is not None:
                raise Fail(f"the HiBench job ended during the run (exit {job.returncode}): "
                           + (hibench_reason(open(job_out, errors='replace').read()) or "see hibench/flink-run.log"))
            if gen.poll() is not None:
                raise EnvError(f"HiBench's dataGen.sh exited {gen.returncode}: see hibench/datagen.log")
            if gc0 is None and time.time() >= opens:
                gc0 = rest_metrics.fresh_gc_time_ms(rest)
            time.sleep(1)
        gc = gc_share(gc0, rest_metrics.fresh_gc_time_ms(rest) if gc0 else None)
    finally:
        stop_group(gen)
        if jid:
            run([os.path.join(flink_home, "bin", "flink"), "cancel", jid], env, timeout=60)
        stop_group(job)

    java = props.get("java.bin") or shutil.which("java") or "java"
    jar = props.get("hibench.common.jar", "")
    if not os.path.isfile(jar):
        raise EnvError(f"hibench.common.jar {jar!r} does not exist: build HiBench's common module")
    cmd = [java, "-cp", jar, READER_CLASS, props.get("hibench.streambench.zkHost", ""), topic, report,
           props.get("hibench.streambench.metricsReader.sampleNum", "5000000"),
           props.get("hibench.streambench.metricsReader.threadNum", "20")]
    log("reading metrics: " + " ".join(cmd))
    p = run(cmd, env, timeout=args.reader_timeout)
    with open(os.path.join(logs, "metrics-reader.log"), "w") as f:
        f.write(p.stdout + p.stderr)
    csv_path = os.path.join(report, topic + ".csv")
    if p.returncode != 0 or not os.path.isfile(csv_path):
        raise Fail(f"MetricsReader exited {p.returncode} without {csv_path}: "
                   + (hibench_reason(p.stdout + p.stderr) or "see hibench/metrics-reader.log"))
    result = hibench_metrics.result_from_file(csv_path, args.aggregate)
    if result["status"] == "pass":
        result.update(backpressured=result["throughput"] < 0.97 * effective, effective_rate=round(effective, 3),
                      metrics_topic=topic, workload=args.workload,
                      notes="HiBench MetricsReader over the whole metrics topic (warm-up included)")
        if gc is not None:
            result["gc_time_fraction"] = gc
    return result


def hibench_reason(text):
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    for pat in (r"Caused by: (.*)", r"(\w+(?:Exception|Error): .*)", r"(ERROR.*)"):
        hits = [m.group(1) for ln in lines for m in [re.search(pat, ln)] if m]
        if hits:
            return hits[-1][:400]
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("workload", choices=WORKLOADS)
    ap.add_argument("--warmup", type=int, default=10, help="seconds of load before the measured duration")
    ap.add_argument("--no-restart", action="store_true",
                    help="do not restart the Flink cluster with the trial's conf (job-level keys only)")
    ap.add_argument("--rest-url", default=os.environ.get("FLINKTUNE_HIBENCH_REST", "http://localhost:8081"),
                    help="the cluster's REST address: to wait for it after a restart, and to read the "
                         "TaskManagers' GC time over the measured duration")
    ap.add_argument("--start-timeout", type=int, default=120)
    ap.add_argument("--submit-timeout", type=int, default=120)
    ap.add_argument("--reader-timeout", type=int, default=600)
    ap.add_argument("--aggregate", choices=("last", "weighted"), default="last")
    args = ap.parse_args()
    trial_dir = os.environ.get("FLINKTUNE_TRIAL_DIR", ".")

    def on_signal(signum, _frame):
        for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(s, signal.SIG_IGN)
        raise SystemExit(128 + signum)

    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, on_signal)
    try:
        result = trial(args)
    except Fail as e:
        result = {"status": "fail", "reason": str(e)}
    except (EnvError, subprocess.TimeoutExpired, OSError) as e:
        print(f"hibench: {e}", file=sys.stderr)
        return 2
    log(f"{result['status']}: " + json.dumps(result)[:300])
    path = os.path.join(trial_dir, "result.json")
    with open(path + ".tmp", "w") as f:
        json.dump(result, f, indent=2)
    os.replace(path + ".tmp", path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
