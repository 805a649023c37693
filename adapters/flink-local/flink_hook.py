#!/usr/bin/env python3
"""flinktune's reconfiguration hook for a long-running job on a local standalone Flink cluster.

Implements the hook contract `flinktune adapt` drives (FLINKTUNE_ACTION = start | apply | rescale |
rate | stop, FLINKTUNE_STATE_DIR, FLINKTUNE_CONF_DIR, FLINKTUNE_RATE, FLINKTUNE_TASKMANAGERS; one
JSON object on the last stdout line). The cluster and the checkpointed benchmark job (jobs/flinktune/Jobs.java, unbounded) run
between invocations: the JVMs get a session of their own, and everything the hook needs later
(REST port, job id, cluster directories, savepoints) lives in STATE_DIR/hook.json.

- start: a cluster from $FLINK_HOME with the conf dir (flinktune.taskmanagers TaskManagers), the
  job at FLINKTUNE_RATE with parallelism TaskManagers x slots; waits until all tasks run.
- apply: stop-with-savepoint, stop the cluster, start one with the new conf dir, resubmit the job
  from the savepoint; downtime_s runs from the stop request until all new tasks run. A new
  configuration that does not come up is reported as a failure after the job has been brought
  back with the previous configuration from the same savepoint.
- rescale: the same job to FLINKTUNE_TASKMANAGERS TaskManagers in place (Flink 1.18+: the cluster
  runs the adaptive scheduler, the hook moves the job's parallelism bounds over REST and starts
  or stops TaskManagers around that); downtime_s from the request until every task runs at the
  new parallelism, interrupted_s from when the job was first seen not running. Older Flink:
  "rescale unsupported", and adapt applies instead.
- rate: records/s the job's generator emits, summed over its subtasks (REST metrics).
- stop: cancel the job, stop every cluster of this state dir, check no JVM is left.
The cluster code is shared with the trial adapter (flink_local.py). Standard library only.
"""

import json
import os
import shutil
import signal
import sys
import time

from flink_local import (FIRST_CURRENT, Cluster, EnvError, Fail, alive, build_jar, caught_up_at,
                         deployment, flink_version, job_failure, log, read, read_conf, read_series,
                         reason_from, upload, wait_for_cluster)

# The job never reaches the end of its measured window: the hook only keeps it running.
FAR_FUTURE_MS = 4102444800000  # 2100-01-01
# How long after a rescale request `rescale` waits for the job to catch up before it answers
# without caught_up_s.
CAUGHT_UP_LIMIT_S = 90
# Observation settings, not tuning knobs: metrics and job status fresh within about a second.
OBSERVE = {"metrics.fetcher.update-interval": 1000, "web.refresh-interval": 500}
# The first version whose adaptive scheduler takes parallelism bounds over REST
# (PUT /jobs/:id/resource-requirements, FLIP-291).
FIRST_RESCALABLE = (1, 18)


def scheduler_props(home):
    """The adaptive scheduler (in-place rescaling, `rescale`) where Flink has the REST API for it.

    Its cool-down between rescales (1.x: scaling-interval.min, 2.x:
    executing.cooldown-after-rescaling; 30 s by default, counted from the job's start too) is
    set to 0: adapt already spaces its decisions by its interval, and a rescale asked for should
    happen now rather than up to 30 s later.
    """
    major, minor, _ = flink_version(home)
    if (major, minor) < FIRST_RESCALABLE:
        return {}
    cooldown = ("jobmanager.adaptive-scheduler.executing.cooldown-after-rescaling" if major >= 2
                else "jobmanager.adaptive-scheduler.scaling-interval.min")
    return {"jobmanager.scheduler": "adaptive", cooldown: "0 s"}


def emit(obj):
    print(json.dumps(obj), flush=True)


class Hook:
    def __init__(self, workload):
        self.workload = workload
        self.home = os.environ.get("FLINK_HOME")
        self.state_dir = os.environ.get("FLINKTUNE_STATE_DIR")
        if not self.home:
            raise EnvError("FLINK_HOME is not set: run `export FLINK_HOME=$(scripts/install-flink.sh)`")
        if not self.state_dir:
            raise EnvError("FLINKTUNE_STATE_DIR is not set: run this through `flinktune adapt`")
        os.makedirs(self.state_dir, exist_ok=True)
        self.state_file = os.path.join(self.state_dir, "hook.json")
        self.state = json.load(open(self.state_file)) if os.path.exists(self.state_file) else None

    def save(self):
        with open(self.state_file + ".tmp", "w") as f:
            json.dump(self.state, f, indent=2)
        os.replace(self.state_file + ".tmp", self.state_file)

    def cluster(self):
        s = self.state
        cl = Cluster.existing(self.home, s["cluster"], s["rest_port"], s["rpc_port"])
        # What a TaskManager started later (rescale) needs to join this cluster.
        cl.extra_props = s.get("extra_props", {})
        return cl

    def next_taskmanager(self):
        """Keys of the next TaskManager: a resource id of its own (Flink's REST API names
        TaskManagers by it, its command line carries it), so `rescale` can tell which JVM runs
        which TaskManager. Never reused within a state dir."""
        seq = self.state.get("tm_seq", 0) + 1
        self.state["tm_seq"] = seq
        self.save()
        return {"taskmanager.resource-id": f"flinktune-tm-{seq}"}

    def conf_dir(self):
        d = os.environ.get("FLINKTUNE_CONF_DIR")
        if not d or not os.path.isdir(d):
            raise EnvError(f"FLINKTUNE_CONF_DIR={d!r} is not a directory")
        major, minor, _ = flink_version(self.home)
        if (major, minor) < FIRST_CURRENT:
            # Restoring across a resubmission needs the current jobs (stable uids, the
            # generator's checkpointed schedule, a rescalable source).
            raise EnvError(f"the hook needs Flink {FIRST_CURRENT[0]}.{FIRST_CURRENT[1]} or later "
                           f"(FLINK_HOME is Flink {major}.{minor})")
        if major >= 2 and not os.path.exists(os.path.join(d, "config.yaml")):
            raise EnvError(f"Flink {major}.{minor} reads only config.yaml, but {d} has none")
        return d

    def rate(self):
        raw = os.environ.get("FLINKTUNE_RATE")
        try:
            rate = float(raw)
        except (TypeError, ValueError):
            raise EnvError(f"FLINKTUNE_RATE={raw!r} is not a number")
        if rate <= 0:
            raise EnvError(f"FLINKTUNE_RATE={rate} must be positive")
        return rate

    def launch(self, conf_dir, rate, savepoint, ports):
        """A new cluster generation running the job (from `savepoint` if given); returns (cluster, job id)."""
        gen = (self.state or {}).get("generation", -1) + 1
        tms, slots, parallelism = deployment(read_conf(conf_dir))
        base = os.path.join(self.state_dir, f"cluster-{gen}")
        shutil.rmtree(base, ignore_errors=True)
        extra = dict(OBSERVE, **scheduler_props(self.home))
        cl = Cluster(self.home, conf_dir, base, worker=0, taskmanagers=tms, extra_props=extra,
                     ports=ports, detach=True)
        self.state = dict(self.state or {}, generation=gen, cluster=base, rest_port=cl.rest_port,
                          rpc_port=cl.rpc_port, job_id=None, conf_dir=cl.conf, rate=rate,
                          extra_props=extra, slots=slots, parallelism=parallelism)
        self.save()  # before the JVMs exist, so `stop` finds them whatever happens next
        try:
            ov = wait_for_cluster(cl, cl.start(self.next_taskmanager), 120)
            log(f"cluster {gen} up: {ov.get('taskmanagers')} TaskManager(s), {ov.get('slots-total')} slots, "
                f"Flink {ov.get('flink-version')}, REST {cl.url}")
            jar_id = upload(cl, build_jar(self.home))
            metrics = os.path.join(self.state_dir, "metrics")
            os.makedirs(metrics, exist_ok=True)
            # The per-second latency series from now on (what `rescale` reads to tell when the
            # job has caught up); the measured window's histogram never completes.
            now_ms = int(time.time() * 1000)
            prog = ["--workload", self.workload, "--rate", f"{rate:g}", "--start-at-ms", str(now_ms + 1000),
                    "--t0-ms", str(now_ms), "--t1-ms", str(FAR_FUTURE_MS), "--series", "true", "--out", metrics]
            body = {"entryClass": "flinktune.Jobs", "programArgsList": prog, "parallelism": parallelism}
            if savepoint:
                body["savepointPath"] = savepoint
            r = cl.request("POST", f"/jars/{jar_id}/run", json.dumps(body).encode(),
                           {"Content-Type": "application/json"})
            jid = r["jobid"]
            self.state["job_id"] = jid
            self.save()
            wait_running(cl, jid, parallelism, ov.get("slots-total"))
            log(f"job {jid} ({self.workload}, parallelism {parallelism}, {rate:g} rec/s) running"
                + (f", restored from {savepoint}" if savepoint else ""))
            return cl, jid
        except BaseException:
            cl.stop()
            raise

    def start(self):
        if self.state and self.cluster().pids_alive():
            raise Fail(f"a cluster of this state dir is running ({self.state['cluster']}): `stop` it first")
        conf, rate = self.conf_dir(), self.rate()
        t = time.time()
        cl, jid = self.launch(conf, rate, None, None)
        return {"status": "ok", "savepoint": None, "downtime_s": round(time.time() - t, 2), "job_id": jid,
                "rest": cl.url}

    def apply(self):
        if not self.state or not self.state.get("job_id"):
            raise Fail("no job to reconfigure: `start` first")
        conf, rate = self.conf_dir(), self.rate()
        old = self.cluster()
        jid = self.state["job_id"]
        previous_conf = self.state["conf_dir"]
        previous_rate = self.state.get("rate", rate)
        t = time.time()
        savepoint = stop_with_savepoint(old, jid, os.path.join(self.state_dir, "savepoints"))
        self.state["savepoint"] = savepoint
        self.save()
        log(f"savepoint {savepoint} after {time.time() - t:.1f} s")
        old.stop()
        ports = (old.rest_port, old.rpc_port)
        try:
            cl, new_jid = self.launch(conf, rate, savepoint, ports)
        except Fail as e:
            # Keep the job alive: the previous configuration from the same savepoint.
            log(f"the new configuration failed ({e}); restoring the previous one")
            try:
                self.launch(previous_conf, previous_rate, savepoint, ports)
            except Fail as e2:
                raise Fail(f"{e}; restoring the previous configuration failed too: {e2}")
            raise Fail(f"{e} (the job runs again with the previous configuration)")
        return {"status": "ok", "savepoint": savepoint, "downtime_s": round(time.time() - t, 2),
                "job_id": new_jid, "rest": cl.url}

    def rescale(self):
        """The running job to FLINKTUNE_TASKMANAGERS TaskManagers in place: no savepoint, no new
        cluster, the same job id. Scale-out starts the new TaskManagers first (the job runs on
        meanwhile); scale-in stops only TaskManagers the job no longer uses, after it runs at
        the lower parallelism. The adaptive scheduler restarts the job from its latest
        checkpoint once the parallelism bounds change; downtime_s runs from that request until
        every task runs at the new parallelism."""
        major, minor, _ = flink_version(self.home)
        if (major, minor) < FIRST_RESCALABLE:
            raise Fail("rescale unsupported")
        if not self.state or not self.state.get("job_id"):
            raise Fail("no job to rescale: `start` first")
        if "slots" not in self.state or "adaptive" not in str(self.state.get("extra_props")):
            raise Fail("rescale unsupported")  # a cluster started before the adaptive scheduler
        raw = os.environ.get("FLINKTUNE_TASKMANAGERS", "")
        if not raw.isdigit() or int(raw) < 1:
            raise EnvError(f"FLINKTUNE_TASKMANAGERS={raw!r} is not a positive integer")
        target = int(raw)
        conf = self.conf_dir()
        cl, jid = self.cluster(), self.state["job_id"]
        new, old = read_conf(conf), read_conf(self.state["conf_dir"])
        differs = sorted(k for k in set(new) | set(old)
                         if k != "flinktune.taskmanagers" and new.get(k) != old.get(k))
        if differs:
            raise Fail(f"rescale changes only flinktune.taskmanagers, but {', '.join(differs)} differ: "
                       "that needs apply")
        if deployment(new)[0] != target:
            raise Fail(f"FLINKTUNE_TASKMANAGERS={target} but {conf} asks for {deployment(new)[0]}")
        slots, before = self.state["slots"], self.state["parallelism"]
        parallelism = target * slots
        t_request = time.time()
        running = cl.taskmanager_pids()
        if target > len(running):
            procs = [cl.start_taskmanager(self.next_taskmanager()) for _ in range(target - len(running))]
            wait_taskmanagers(cl, target, procs)
            log(f"rescale: {target - len(running)} TaskManager(s) started in {time.time() - t_request:.1f} s")
        metrics = os.path.join(self.state_dir, "metrics")
        t0 = time.time()
        baseline_us = baseline_p99_us(metrics, int(t0 * 1000))
        set_parallelism(cl, jid, before, parallelism)
        down = wait_running(cl, jid, parallelism, target * slots, timeout_s=180, at_parallelism=True)
        t1 = time.time()
        downtime, interrupted = t1 - t0, t1 - (down or t1)
        log(f"rescale: job {jid} runs at parallelism {parallelism} {downtime:.1f} s after the request, "
            f"{interrupted:.1f} s after it stopped running")
        # Recorded at once: a failure below leaves the job running at the new parallelism.
        self.state["parallelism"] = parallelism
        shutil.copytree(conf, self.state["conf_dir"], dirs_exist_ok=True)
        self.save()
        if target < len(running):
            stop_surplus(cl, jid, len(running) - target, parallelism, target * slots)
        reply = {"status": "ok", "downtime_s": round(downtime, 2), "interrupted_s": round(interrupted, 2)}
        reply.update(caught_up(metrics, t0, parallelism, baseline_us))
        reply.update(total_s=round(time.time() - t_request, 2), job_id=jid, parallelism=parallelism, rest=cl.url)
        return reply

    def rate_now(self):
        if not self.state or not self.state.get("job_id"):
            raise Fail("no job running: `start` first")
        cl, jid = self.cluster(), self.state["job_id"]
        gen = next((v for v in cl.get(f"/jobs/{jid}")["vertices"] if "paced-generator" in v["name"]), None)
        if gen is None:
            raise Fail(f"job {jid} has no generator vertex")
        vid = gen["id"]
        # The generator's own 5 s meter (Flink's numRecordsOutPerSecond averages over 60 s). A
        # subtask's meter reads 0 until its first two updates, 10-15 s after the job started:
        # wait up to 30 s for every subtask to report a rate, then take what there is.
        deadline = time.time() + 30
        while True:
            got = cl.get(f"/jobs/{jid}/vertices/{vid}/subtasks/metrics"
                         "?get=paced-generator.generatedPerSecond&agg=min,sum")
            have = bool(got) and "sum" in got[0]
            if have and (got[0].get("min", 0) > 0 or time.time() > deadline):
                return {"status": "ok", "rate": round(float(got[0]["sum"]), 2)}
            if time.time() > deadline:
                raise Fail(f"job {jid} reports no generator rate (metric paced-generator.generatedPerSecond)")
            time.sleep(1)

    def stop(self):
        if not self.state:
            return {"status": "ok"}
        cl = self.cluster()
        if self.state.get("job_id"):
            try:
                cl.request("PATCH", f"/jobs/{self.state['job_id']}?mode=cancel", timeout=10)
            except (Fail, OSError):
                pass  # the cluster may already be gone; the pids below are what counts
        # Every generation: an interrupted apply may have left an older cluster behind.
        for gen in range(self.state.get("generation", 0) + 1):
            base = os.path.join(self.state_dir, f"cluster-{gen}")
            if os.path.isdir(base):
                Cluster.existing(self.home, base, 0, 0).stop()
        left = [p for gen in range(self.state.get("generation", 0) + 1)
                for p in Cluster.existing(self.home, os.path.join(self.state_dir, f"cluster-{gen}"), 0, 0).pids_alive()]
        if left:
            raise Fail(f"JVMs still alive after stop: {left}")
        self.state["job_id"] = None
        self.save()
        return {"status": "ok"}


def wait_running(cl, jid, parallelism, slots, timeout_s=60, at_parallelism=False):
    """Until the job and all its tasks are RUNNING (at_parallelism: each vertex at `parallelism`,
    as after a rescale); a failed job or tasks without slots fail. Returns when a poll (every
    0.2 s) first saw the job not running, or None."""
    t0, down = time.time(), None
    while True:
        try:
            j = cl.get(f"/jobs/{jid}")
        except (OSError, ValueError):
            j = {}
        state = j.get("state")
        if state in ("FAILED", "CANCELED", "FINISHED", "FAILING"):
            raise Fail(f"job {state.lower()}: {job_failure(cl, jid) or reason_from(cl.log_texts()) or 'no reason given'}")
        vertices = j.get("vertices", [])
        running = state == "RUNNING" and vertices and all(v.get("status") == "RUNNING" for v in vertices)
        if running and (not at_parallelism or all(v.get("parallelism") == parallelism for v in vertices)):
            return down
        if not running and down is None:
            down = time.time()
        if time.time() - t0 > timeout_s:
            stuck = [v["name"] for v in vertices if v.get("status") != "RUNNING"]
            raise Fail(f"tasks not running after {timeout_s} s ({', '.join(stuck) or state}): "
                       f"parallelism {parallelism} with {slots} task slot(s)")
        time.sleep(0.2)


def set_parallelism(cl, jid, before, parallelism):
    """Moves the upper parallelism bound of every vertex running at the job's parallelism
    (`before`) to `parallelism`; a vertex with a parallelism of its own keeps it."""
    req = cl.get(f"/jobs/{jid}/resource-requirements")
    if not req:
        raise Fail(f"job {jid} reports no resource requirements (is the adaptive scheduler on?)")
    body = {}
    for vid, r in req.items():
        bounds = dict(r["parallelism"])
        if bounds.get("upperBound") == before:
            bounds["upperBound"] = parallelism
            bounds["lowerBound"] = min(bounds.get("lowerBound", 1), parallelism)
        body[vid] = {"parallelism": bounds}
    cl.request("PUT", f"/jobs/{jid}/resource-requirements", json.dumps(body).encode(),
               {"Content-Type": "application/json"})


def baseline_p99_us(metrics, before_ms, window_ms=15000):
    """The median per-second p99 (us) of the sink subtasks over the window_ms before
    before_ms, or None without any."""
    series, _ = read_series(metrics, 0)  # each subtask's newest instance
    p99s = sorted(p for sec in series.values() for t, p in sec.items() if before_ms - window_ms <= t < before_ms - 1000)
    return p99s[len(p99s) // 2] if p99s else None


def caught_up(metrics, t0, parallelism, baseline_us):
    """{"caught_up_s": s from t0 until the rescaled job had caught up} or {} (with a log line).

    Caught up as in the adapter's recovery measurement: every sink subtask started after t0 has
    a per-second p99 within max(2 x, +10 ms) of the p99 before the request for 3 consecutive
    seconds (1 s resolution, the job's own clock)."""
    if baseline_us is None:
        log("rescale: no latency series before the request, so no caught_up_s")
        return {}
    threshold_us = int(max(2 * baseline_us, baseline_us + 10_000))
    t0_ms = int(t0 * 1000)
    while True:
        at = caught_up_at(read_series(metrics, t0_ms)[0], parallelism, threshold_us)
        if at is not None:
            s = max(0.0, (at - t0_ms) / 1000)
            log(f"rescale: caught up {s:.1f} s after the request (p99 <= {threshold_us / 1000:.1f} ms, "
                f"{baseline_us / 1000:.1f} ms before)")
            return {"caught_up_s": round(s, 2), "caught_up_threshold_ms": threshold_us / 1000}
        if time.time() - t0 > CAUGHT_UP_LIMIT_S:
            log(f"rescale: not caught up within {CAUGHT_UP_LIMIT_S} s (p99 <= {threshold_us / 1000:.1f} ms)")
            return {}
        time.sleep(0.5)


def wait_taskmanagers(cl, n, procs, timeout_s=120):
    """Until n TaskManagers have registered; a start script that fails, fails."""
    t0 = time.time()
    while True:
        for p in procs:
            if p.poll() not in (None, 0):
                raise Fail(f"taskmanager.sh exited {p.returncode}: {reason_from([read(p.out)]) or 'no reason'}")
        try:
            if cl.get("/overview", timeout=2).get("taskmanagers", 0) >= n:
                return
        except (OSError, ValueError):
            pass
        if time.time() - t0 > timeout_s:
            raise Fail(f"fewer than {n} TaskManagers registered within {timeout_s} s: "
                       f"{reason_from(cl.log_texts()) or 'no reason in the logs'}")
        time.sleep(0.3)


def taskmanager_ids(cl):
    """{resource id: pid} of this cluster's live TaskManager JVMs (their command lines carry
    the id the hook gave them)."""
    out = {}
    for pid in cl.taskmanager_pids():
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                args = f.read().decode(errors="replace").split("\0")
        except OSError:
            continue
        ids = [a.split("=", 1)[1] for a in args if a.startswith("taskmanager.resource-id=")]
        if ids:
            out[ids[-1]] = pid
    return out


def stop_surplus(cl, jid, count, parallelism, slots):
    """Stops `count` TaskManagers, those no task of the job runs on first (stopping one that
    runs tasks would restart the job once more); waits until Flink has let them go."""
    busy = set()
    for v in cl.get(f"/jobs/{jid}")["vertices"]:
        for tm in cl.get(f"/jobs/{jid}/vertices/{v['id']}/taskmanagers").get("taskmanagers", []):
            busy.add(tm.get("taskmanager-id"))
    pids = taskmanager_ids(cl)
    # Idle ones first, newest first among equals (resource ids end in a sequence number).
    order = sorted(pids, key=lambda i: (i in busy, -int(i.rsplit("-", 1)[-1])))
    victims = order[:count]
    if any(v in busy for v in victims):
        log(f"rescale: not enough idle TaskManagers; stopping busy ones restarts the job again")
    for v in victims:
        try:
            os.kill(pids[v], signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.time() + 15
    while time.time() < deadline and any(alive(pids[v]) for v in victims):
        time.sleep(0.2)
    for v in victims:
        if alive(pids[v]):
            os.kill(pids[v], signal.SIGKILL)
    left = len(pids) - count
    deadline = time.time() + 60
    while cl.get("/overview").get("taskmanagers", 0) > left:
        if time.time() > deadline:
            raise Fail(f"Flink still lists more than {left} TaskManagers 60 s after stopping {victims}")
        time.sleep(0.3)
    log(f"rescale: stopped TaskManager(s) {', '.join(victims)}")
    if any(v in busy for v in victims):
        wait_running(cl, jid, parallelism, slots, timeout_s=180, at_parallelism=True)


def stop_with_savepoint(cl, jid, target, timeout_s=120):
    """POST /jobs/:id/stop and wait for the savepoint; returns its path."""
    os.makedirs(target, exist_ok=True)
    r = cl.request("POST", f"/jobs/{jid}/stop",
                   json.dumps({"targetDirectory": "file://" + target, "drain": False}).encode(),
                   {"Content-Type": "application/json"})
    trigger = r["request-id"]
    t0 = time.time()
    while time.time() - t0 < timeout_s:
        s = cl.get(f"/jobs/{jid}/savepoints/{trigger}")
        if s.get("status", {}).get("id") == "COMPLETED":
            op = s.get("operation", {})
            if op.get("location"):
                return op["location"]
            why = op.get("failure-cause", {}).get("stack-trace", "")
            raise Fail(f"stop-with-savepoint failed: {reason_from([why]) or why[:300] or 'no reason given'}")
        time.sleep(0.2)
    raise Fail(f"stop-with-savepoint of job {jid} did not complete within {timeout_s} s")


def main():
    action = os.environ.get("FLINKTUNE_ACTION", "")
    workload = sys.argv[1] if len(sys.argv) > 1 else "wordcount"
    try:
        if workload not in ("identity", "repartition", "wordcount", "fixwindow"):
            raise EnvError(f"unknown workload {workload!r} (identity, repartition, wordcount, fixwindow)")
        hook = Hook(workload)
        run = {"start": hook.start, "apply": hook.apply, "rescale": hook.rescale, "rate": hook.rate_now,
               "stop": hook.stop}.get(action)
        if run is None:
            raise EnvError(f"FLINKTUNE_ACTION={action!r}: expected start, apply, rescale, rate or stop")
        emit(run())
        return 0
    except (Fail, EnvError, OSError, ValueError, KeyError) as e:
        # OSError etc.: the REST API or the state dir misbehaved; still one JSON line.
        reason = str(e) if isinstance(e, (Fail, EnvError)) else f"{type(e).__name__}: {e}"
        log(f"{action}: {reason}")
        emit({"status": "fail", "reason": reason})
        return 2 if isinstance(e, EnvError) else 0


if __name__ == "__main__":
    sys.exit(main())
