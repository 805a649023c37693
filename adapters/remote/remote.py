#!/usr/bin/env python3
"""flinktune's remote adapter: one trial on an existing Flink cluster (session, YARN, Kubernetes).

It submits flink-local's benchmark jobs (jobs/flinktune/Jobs.java, compiled once by flink_local's
build_jar) with `$FLINK_HOME/bin/flink run --detached`, passing the trial's configuration either
as dynamic properties (-Dkey=value from the trial's config.yaml / flink-conf.yaml; default) or
as the client's FLINK_CONF_DIR (--conf-mode dir). The cluster of worker w is the w-th entry of
FLINKTUNE_REMOTE_ADDRESSES (comma-separated host:port REST addresses; session target).

Targets:
  session                  flink run -m <address>; polled and cancelled over REST   (tested)
  yarn-per-job / yarn-application / kubernetes-application
                           flink run -t <target>; the cluster is created with the trial's
                           configuration and torn down after the trial            (untested here)

Metrics: the job's sink and generator subtasks write their figures to --metrics-dir (default
<trial>/flink/metrics), which must be the same path on the TaskManagers and on this host (a
shared mount for a real remote cluster); the adapter merges them as flink-local does.
Exit 0 with status pass/fail; exit 2 without a result when the environment is broken.
Standard library only.
"""

import argparse
import glob
import json
import os
import re
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "flink-local"))
import flink_local as fl  # noqa: E402
import user_job  # noqa: E402

TARGETS = ("session", "yarn-per-job", "yarn-application", "kubernetes-application")
# Keys that say where the client connects or which the cluster owns: never forwarded as -D.
CONNECTION_KEYS = re.compile(
    r"^(rest\.(address|port|bind-address|bind-port)|jobmanager\.rpc\.(address|port)|jobmanager\.bind-host"
    r"|taskmanager\.(host|bind-host)|high-availability.*|execution\.target|io\.tmp\.dirs|env\.java\.opts.*"
    r"|env\.(log|pid)\.dir)$")


class Remote:
    """Just enough of flink_local.Cluster for its REST helpers (get, request, upload)."""
    get = fl.Cluster.get
    request = fl.Cluster.request

    def __init__(self, url):
        self.url = url if url.startswith("http") else "http://" + url


# ---------------------------------------------------------------- configuration files

def _scalar(text):
    t = text.strip()
    if len(t) >= 2 and t[0] == t[-1] and t[0] in "'\"":
        return t[1:-1]
    if t.startswith("[") and t.endswith("]"):
        return ";".join(_scalar(x) for x in t[1:-1].split(",") if x.strip())
    return t


def _strip_comment(line):
    quote = None
    for i, c in enumerate(line):
        if c in "'\"" and quote in (None, c):
            quote = None if quote else c
        elif c == "#" and quote is None and (i == 0 or line[i - 1] in " \t"):
            return line[:i]
    return line


def parse_flink_conf(text, yaml=True):
    """A flat {key: value} from flink-conf.yaml (Flink's line format: `key: value`) or
    config.yaml (standard YAML: nested mappings joined with dots, flow lists and block lists
    joined with ';'). Anchors, multi-line scalars and other YAML features are refused."""
    out = {}
    if not yaml:
        for ln in text.splitlines():
            ln = ln.split("#", 1)[0]
            if ": " in ln or ln.rstrip().endswith(":"):
                k, v = ln.split(":", 1)
                if k.strip():
                    out[k.strip()] = v.strip()
        return out
    stack = []  # (indent, key prefix)
    last_key = None
    for n, raw in enumerate(text.splitlines(), 1):
        ln = _strip_comment(raw).rstrip()
        if not ln.strip() or ln.strip() == "---":
            continue
        indent = len(ln) - len(ln.lstrip(" "))
        body = ln.strip()
        if body.startswith("- "):
            if last_key is None:
                raise ValueError(f"line {n}: a list item outside a key")
            item = _scalar(body[2:])
            out[last_key] = item if out.get(last_key) in (None, "") else out[last_key] + ";" + item
            continue
        if body[0] in "&*|>" or ":" not in body:
            raise ValueError(f"line {n}: unsupported YAML: {body[:60]!r}")
        while stack and stack[-1][0] >= indent:
            stack.pop()
        k, v = body.split(":", 1)
        k = _scalar(k)
        full = ".".join([p for _, p in stack] + [k])
        if v.strip() in ("", "|", ">"):
            if v.strip():
                raise ValueError(f"line {n}: multi-line scalars are not supported")
            stack.append((indent, k))
            out[full] = ""
            last_key = full
        else:
            out[full] = _scalar(v)
            last_key = full
    # Section keys that got children are not keys themselves.
    return {k: v for k, v in out.items() if not (v == "" and any(o.startswith(k + ".") for o in out))}


def read_trial_conf(conf_dir):
    for name, yaml in (("config.yaml", True), ("flink-conf.yaml", False)):
        path = os.path.join(conf_dir, name)
        if os.path.isfile(path):
            with open(path, errors="replace") as f:
                return parse_flink_conf(f.read(), yaml)
    raise fl.EnvError(f"{conf_dir} has neither config.yaml nor flink-conf.yaml")


def dynamic_properties(conf):
    args = []
    for k, v in sorted(conf.items()):
        if not CONNECTION_KEYS.match(k):
            args.append(f"-D{k}={v}")
    return args


# ---------------------------------------------------------------- the trial

def pick_address(worker):
    raw = os.environ.get("FLINKTUNE_REMOTE_ADDRESSES", "")
    addrs = [a.strip() for a in raw.split(",") if a.strip()]
    if not addrs:
        raise fl.EnvError("FLINKTUNE_REMOTE_ADDRESSES is not set: a comma-separated list of REST "
                          "addresses (host:port), one per worker")
    if worker >= len(addrs):
        raise fl.EnvError(f"worker {worker} has no cluster: FLINKTUNE_REMOTE_ADDRESSES lists {len(addrs)} "
                          "(run with --workers at most that many)")
    return addrs[worker]


def client_command(args, conf, conf_dir, worker):
    """`flink run --detached` up to its options for the trial's target and configuration, its
    environment, and the REST client of a session cluster (None for other targets)."""
    cmd = [os.path.join(os.environ["FLINK_HOME"], "bin", "flink"), "run", "--detached"]
    env = dict(os.environ)
    remote = None
    if args.target == "session":
        address = pick_address(worker)
        remote = Remote(address)
        cmd += ["-m", address.split("://")[-1]]
    else:
        cmd += ["-t", args.target]
        if args.target == "kubernetes-application" and "kubernetes.cluster-id" not in conf:
            cmd += [f"-Dkubernetes.cluster-id=flinktune-w{worker}"]
    if args.conf_mode == "dynamic":
        cmd += dynamic_properties(conf)
    else:
        env["FLINK_CONF_DIR"] = conf_dir
    return cmd, env, remote


def submit(cmd, env, trial, timeout_s):
    """Runs `flink run`; returns its output, or raises Fail with the client's reason."""
    with open(os.path.join(trial, "flink-run.cmd"), "w") as f:
        f.write(" ".join(cmd) + "\n")
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout_s,
                       stdin=subprocess.DEVNULL)
    out = p.stdout + p.stderr
    with open(os.path.join(trial, "flink-run.log"), "w") as f:
        f.write(out)
    if p.returncode != 0:
        raise fl.Fail(f"flink run exited {p.returncode}: {fl.reason_from([out]) or out.strip()[-300:]}")
    return out


def job_checker(remote, jid):
    """A check that raises Fail once the job has ended (session clusters; a no-op otherwise)."""
    def check():
        if remote is None or jid is None:
            return
        try:
            j = remote.get(f"/jobs/{jid}")
        except (OSError, ValueError):
            return
        if j.get("state") in ("FAILED", "CANCELED", "FINISHED", "FAILING"):
            raise fl.Fail(f"job {j['state'].lower()}: {fl.job_failure(remote, jid) or 'no reason given'}")
    return check


def run_user_trial(args, trial, conf_dir):
    """One trial of the user's job (--jar, --class, --args) on a session cluster, measured
    through its REST API or the platform's Prometheus (--prometheus-url)."""
    duration = fl.env_int("FLINKTUNE_DURATION_S", 1)
    worker = fl.env_int("FLINKTUNE_WORKER")
    conf = read_trial_conf(conf_dir)
    parallelism = int(conf.get("parallelism.default", "1"))
    cmd, env, remote = client_command(args, conf, conf_dir, worker)
    if remote is None:
        raise fl.EnvError("a user job is measured over the cluster's REST API: use --target session")
    latency = user_job.observation_props(args, duration)["metrics.latency.interval"]
    cmd += [f"-Dmetrics.latency.interval={latency}", "-p", str(parallelism), "-c", args.main_class, args.jar]
    cmd += user_job.expand_args(args.job_args, user_job.trial_values(trial))
    out = submit(cmd, env, trial, args.submit_timeout)
    m = re.search(r"JobID ([0-9a-f]{32})", out)
    if not m:
        raise fl.Fail(f"flink run printed no job id: {out.strip()[-300:]}")
    jid = m.group(1)
    fl.log(f"submitted job {jid} ({args.main_class}, parallelism {parallelism}); measuring through {args.metrics}")
    check = job_checker(remote, jid)
    try:
        wait_running(remote, jid, check, args.submit_timeout)
        result = user_job.measure(remote, jid, args, duration, check, trial)
    finally:
        stop_job(args, os.environ["FLINK_HOME"], env, remote, jid, None, conf, worker)
    result.update(parallelism=parallelism, target=args.target, job_id=jid, main_class=args.main_class)
    return result


def run_trial(args, trial, conf_dir, home, jar):
    rate = fl.env_int("FLINKTUNE_RATE", 1)
    duration = fl.env_int("FLINKTUNE_DURATION_S", 1)
    worker = fl.env_int("FLINKTUNE_WORKER")
    conf = read_trial_conf(conf_dir)
    metrics = args.metrics_dir or os.path.join(trial, "flink", "metrics")
    metrics = os.path.join(metrics, os.path.basename(trial.rstrip("/"))) if args.metrics_dir else metrics
    os.makedirs(metrics, exist_ok=True)
    parallelism = int(conf.get("parallelism.default", "1"))
    cmd, env, remote = client_command(args, conf, conf_dir, worker)
    # The schedule counts from the job's real start (--times started: the time written to
    # started.txt once every task runs), not from here: `flink run` and the deployment can take
    # seconds on a loaded machine, which would otherwise come out of the warm-up and the window.
    start_at = int(args.deploy_allowance * 1000)
    t0 = start_at + args.warmup * 1000
    t1 = t0 + duration * 1000
    cmd += ["-p", str(parallelism), "-c", "flinktune.Jobs", jar,
            "--workload", args.workload, "--rate", str(rate), "--times", "started",
            "--start-at-ms", str(start_at), "--t0-ms", str(t0), "--t1-ms", str(t1),
            "--out", metrics, "--window-ms", str(args.window_ms)]
    out = submit(cmd, env, trial, args.submit_timeout)
    m = re.search(r"JobID ([0-9a-f]{32})", out)
    jid = m.group(1) if m else None
    app = re.search(r"(application_\d+_\d+)", out)
    fl.log(f"submitted job {jid} ({args.workload}, parallelism {parallelism}, {rate} rec/s, {args.target})")

    check = job_checker(remote, jid)
    try:
        wait_running(remote, jid, check, args.submit_timeout)
        # Written then renamed: the subtasks poll for it and must never read half of it.
        started = os.path.join(metrics, "started.txt")
        origin_ms = int(time.time() * 1000)
        with open(started + ".tmp", "w") as f:
            f.write(f"{origin_ms}\n")
        os.replace(started + ".tmp", started)
        # The subtasks write their figures only once the window has ended.
        deadline = time.time() + t1 / 1000 + 10 + (args.window_ms / 1000 if args.workload == "fixwindow" else 0)
        while True:
            n_src = len(glob.glob(os.path.join(metrics, "source-*.txt")))
            n_snk = len(glob.glob(os.path.join(metrics, "sink-*.txt")))
            if n_src >= parallelism and n_snk >= parallelism:
                break
            if time.time() > deadline:
                if n_src == 0 or n_snk == 0:
                    raise fl.Fail(f"metrics never arrived in {metrics}: {n_src} generator and {n_snk} sink "
                                  f"subtasks of {parallelism} reported (is the directory shared with the TaskManagers?)")
                break
            check()
            time.sleep(0.5)
    finally:
        stop_job(args, home, env, remote, jid, app.group(1) if app else None, conf, worker)
    t0_us, t1_us = (origin_ms + t0) * 1000, (origin_ms + t1) * 1000
    throughput, starts, hist, count, total, mx = fl.merge(metrics, t0_us, t1_us)
    if count == 0:
        raise fl.Fail("no record reached the sink during the measured window")
    return {
        "status": "pass",
        "throughput": round(throughput, 3),
        "latency_p99_ms": round(fl.percentile_ms(hist, count, 0.99), 4),
        "latency_p50_ms": round(fl.percentile_ms(hist, count, 0.50), 4),
        "latency_mean_ms": round(total / count / 1000.0, 4),
        "latency_max_ms": round(mx / 1000.0, 4),
        "backpressured": throughput < 0.97 * rate,
        "latency_samples": count,
        # Negative: a generator started inside the window (its rate counts over the part it ran).
        "effective_warmup_s": round((t0_us - max(starts)) / 1e6, 2) if starts else 0.0,
        "parallelism": parallelism,
        "workload": args.workload,
        "target": args.target,
        "job_id": jid,
    }


def wait_running(remote, jid, check, timeout_s):
    """Waits until every task of the job is RUNNING (a session cluster's REST API); without
    one (YARN, Kubernetes application targets) the job counts as started when submitted."""
    if remote is not None and jid is not None:
        user_job.wait_running(remote, jid, check, timeout_s)


def stop_job(args, home, env, remote, jid, app_id, conf, worker):
    flink = os.path.join(home, "bin", "flink")
    try:
        if remote is not None and jid:
            remote.request("PATCH", f"/jobs/{jid}?mode=cancel", timeout=10)
        elif args.target.startswith("yarn") and app_id:
            subprocess.run(["yarn", "application", "-kill", app_id], env=env, capture_output=True, timeout=60)
        elif args.target == "kubernetes-application":
            cid = conf.get("kubernetes.cluster-id", f"flinktune-w{worker}")
            subprocess.run(["kubectl", "delete", "deployment", cid], env=env, capture_output=True, timeout=60)
        elif jid:
            subprocess.run([flink, "cancel", "-t", args.target, jid], env=env, capture_output=True, timeout=60)
    except (fl.Fail, OSError, subprocess.TimeoutExpired) as e:
        fl.log(f"could not stop the job: {e}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("workload", nargs="?", choices=fl.WORKLOADS, help="a built-in job (or --jar: the user's)")
    ap.add_argument("--target", choices=TARGETS, default=os.environ.get("FLINKTUNE_REMOTE_TARGET", "session"))
    ap.add_argument("--conf-mode", choices=("dynamic", "dir"), default="dynamic",
                    help="pass the trial's conf as -D properties (default) or as FLINK_CONF_DIR")
    ap.add_argument("--metrics-dir", default=os.environ.get("FLINKTUNE_REMOTE_METRICS_DIR"),
                    help="a directory shared with the TaskManagers (default: inside the trial dir)")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--window-ms", type=int, default=10000)
    ap.add_argument("--deploy-allowance", type=float, default=5.0)
    ap.add_argument("--submit-timeout", type=int, default=300)
    user_job.add_arguments(ap)
    ap.add_argument("--prometheus-url", help="the Prometheus server scraping the cluster (--metrics prometheus)")
    args = ap.parse_args()
    trial = os.environ.get("FLINKTUNE_TRIAL_DIR")
    home = os.environ.get("FLINK_HOME")
    try:
        if not trial or not os.path.isdir(trial):
            raise fl.EnvError("FLINKTUNE_TRIAL_DIR is not set to a directory: run this through flinktune")
        if not home:
            raise fl.EnvError("FLINK_HOME is not set: the flink client of a distribution matching the cluster")
        conf_dir = os.environ.get("FLINKTUNE_CONF_DIR") or os.path.join(trial, "conf")
        problem = user_job.check_arguments(args, args.workload)
        if problem:
            raise fl.EnvError(problem)
        if args.jar and args.metrics == "prometheus" and not args.prometheus_url:
            raise fl.EnvError("--metrics prometheus needs --prometheus-url: the server scraping the cluster's "
                              "PrometheusReporter")
        jar = None if args.jar else fl.build_jar(home)
    except fl.EnvError as e:
        print(f"remote: {e}", file=sys.stderr)
        return 2

    def on_signal(signum, _frame):
        for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(s, signal.SIG_IGN)
        raise SystemExit(128 + signum)

    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, on_signal)
    try:
        result = run_user_trial(args, trial, conf_dir) if args.jar else run_trial(args, trial, conf_dir, home, jar)
    except (fl.Fail, user_job.JobFailed) as e:
        result = {"status": "fail", "reason": str(e)}
    except (fl.EnvError, ValueError, subprocess.TimeoutExpired) as e:
        print(f"remote: {e}", file=sys.stderr)
        return 2
    fl.log(f"{result['status']}: " + json.dumps(result)[:300])
    fl.write_result(trial, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
