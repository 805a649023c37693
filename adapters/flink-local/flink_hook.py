#!/usr/bin/env python3
"""flinktune's reconfiguration hook for a long-running job on a local standalone Flink cluster.

Implements the hook contract `flinktune adapt` drives (FLINKTUNE_ACTION = start | apply | rate |
stop, FLINKTUNE_STATE_DIR, FLINKTUNE_CONF_DIR, FLINKTUNE_RATE; one JSON object on the last stdout
line). The cluster and the checkpointed benchmark job (jobs/flinktune/Jobs.java, unbounded) run
between invocations: the JVMs get a session of their own, and everything the hook needs later
(REST port, job id, cluster directories, savepoints) lives in STATE_DIR/hook.json.

- start: a cluster from $FLINK_HOME with the conf dir (flinktune.taskmanagers TaskManagers), the
  job at FLINKTUNE_RATE with parallelism TaskManagers x slots; waits until all tasks run.
- apply: stop-with-savepoint, stop the cluster, start one with the new conf dir, resubmit the job
  from the savepoint; downtime_s runs from the stop request until all new tasks run. A new
  configuration that does not come up is reported as a failure after the job has been brought
  back with the previous configuration from the same savepoint.
- rate: records/s the job's generator emits, summed over its subtasks (REST metrics).
- stop: cancel the job, stop every cluster of this state dir, check no JVM is left.
The cluster code is shared with the trial adapter (flink_local.py). Standard library only.
"""

import json
import os
import shutil
import sys
import time

from flink_local import (FIRST_CURRENT, Cluster, EnvError, Fail, build_jar, deployment, flink_version,
                         job_failure, log, read_conf, reason_from, upload, wait_for_cluster)

# The job never reaches its measured window: the hook only keeps it running.
FAR_FUTURE_MS = 4102444800000  # 2100-01-01
# Observation settings, not tuning knobs: metrics and job status fresh within about a second.
OBSERVE = {"metrics.fetcher.update-interval": 1000, "web.refresh-interval": 500}


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
        return Cluster.existing(self.home, s["cluster"], s["rest_port"], s["rpc_port"])

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
        cl = Cluster(self.home, conf_dir, base, worker=0, taskmanagers=tms, extra_props=OBSERVE,
                     ports=ports, detach=True)
        self.state = dict(self.state or {}, generation=gen, cluster=base, rest_port=cl.rest_port,
                          rpc_port=cl.rpc_port, job_id=None, conf_dir=cl.conf, rate=rate)
        self.save()  # before the JVMs exist, so `stop` finds them whatever happens next
        try:
            ov = wait_for_cluster(cl, cl.start(), 120)
            log(f"cluster {gen} up: {ov.get('taskmanagers')} TaskManager(s), {ov.get('slots-total')} slots, "
                f"Flink {ov.get('flink-version')}, REST {cl.url}")
            jar_id = upload(cl, build_jar(self.home))
            metrics = os.path.join(self.state_dir, "metrics")
            os.makedirs(metrics, exist_ok=True)
            prog = ["--workload", self.workload, "--rate", f"{rate:g}",
                    "--start-at-ms", str(int(time.time() * 1000) + 1000),
                    "--t0-ms", str(FAR_FUTURE_MS), "--t1-ms", str(FAR_FUTURE_MS + 1), "--out", metrics]
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


def wait_running(cl, jid, parallelism, slots, timeout_s=60):
    """Until the job and all its tasks are RUNNING; a failed job or tasks without slots fail."""
    t0 = time.time()
    while True:
        try:
            j = cl.get(f"/jobs/{jid}")
        except (OSError, ValueError):
            j = {}
        state = j.get("state")
        if state in ("FAILED", "CANCELED", "FINISHED", "FAILING"):
            raise Fail(f"job {state.lower()}: {job_failure(cl, jid) or reason_from(cl.log_texts()) or 'no reason given'}")
        vertices = j.get("vertices", [])
        if state == "RUNNING" and vertices and all(v.get("status") == "RUNNING" for v in vertices):
            return
        if time.time() - t0 > timeout_s:
            stuck = [v["name"] for v in vertices if v.get("status") != "RUNNING"]
            raise Fail(f"tasks not running after {timeout_s} s ({', '.join(stuck) or state}): "
                       f"parallelism {parallelism} with {slots} task slot(s)")
        time.sleep(0.2)


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
        run = {"start": hook.start, "apply": hook.apply, "rate": hook.rate_now, "stop": hook.stop}.get(action)
        if run is None:
            raise EnvError(f"FLINKTUNE_ACTION={action!r}: expected start, apply, rate or stop")
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
