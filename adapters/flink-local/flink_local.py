#!/usr/bin/env python3
"""flinktune's flink-local adapter: one trial on a real standalone Flink cluster.

Speaks flinktune's adapter protocol (FLINKTUNE_* variables in, result.json out). For one trial
it starts a JobManager and its TaskManagers from $FLINK_HOME with the trial's conf dir, submits one
of the HiBench-like jobs of jobs/flinktune/Jobs.java over REST at FLINKTUNE_RATE records/s, waits
for the warm-up and the measured window, merges the per-subtask latency histograms and source
counts the job writes, cancels the job and stops the cluster. Everything the cluster writes
(logs, pid files, temp files, metrics) stays inside the trial directory, and the JVMs are stopped
through their pid files on every exit path, including SIGTERM/SIGINT from the tuner.

Exit 0 with {"status": "pass"|"fail", ...}: the configuration ran, or could not run (a FailConf:
the cluster refused it, the job failed, tasks never got slots, no metrics arrived).
Exit 2 without a result: the environment is broken (no FLINK_HOME, javac failed, port taken),
which the tuner records as an error rather than as a property of the configuration.
Standard library only.
"""

import argparse
import fcntl
import glob
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid

import prometheus_metrics
import rest_metrics
import user_job

HERE = os.path.dirname(os.path.abspath(__file__))
JOBS = os.path.join(HERE, "jobs")
# The jobs for Flink 1.19+ and 2.x (OpenContext, FLIP-27 source) and for older versions (the
# legacy SourceFunction / open(Configuration) API, tried on 1.11.4); both share jobs/common/.
CURRENT_JOB = os.path.join(JOBS, "flinktune", "Jobs.java")
LEGACY_JOB = os.path.join(JOBS, "legacy", "flinktune", "Jobs.java")
# Versions before this get the legacy jobs and the legacy start-up (see Cluster).
FIRST_CURRENT = (1, 19)
# Flink 1.18+ ships these for Java 17 in its config; older distributions ship none and their
# JVMs fail without them (1.11's JobManager: IllegalAccessError on sun.net.util.IPAddressUtil).
JAVA17_OPTS = (
    "--add-exports=java.base/sun.net.util=ALL-UNNAMED --add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED "
    "--add-exports=jdk.compiler/com.sun.tools.javac.api=ALL-UNNAMED "
    "--add-exports=jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED "
    "--add-exports=jdk.compiler/com.sun.tools.javac.parser=ALL-UNNAMED "
    "--add-exports=jdk.compiler/com.sun.tools.javac.tree=ALL-UNNAMED "
    "--add-exports=jdk.compiler/com.sun.tools.javac.util=ALL-UNNAMED "
    "--add-exports=java.security.jgss/sun.security.krb5=ALL-UNNAMED "
    "--add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.net=ALL-UNNAMED "
    "--add-opens=java.base/java.io=ALL-UNNAMED --add-opens=java.base/java.nio=ALL-UNNAMED "
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-opens=java.base/java.lang.reflect=ALL-UNNAMED "
    "--add-opens=java.base/java.text=ALL-UNNAMED --add-opens=java.base/java.time=ALL-UNNAMED "
    "--add-opens=java.base/java.util=ALL-UNNAMED --add-opens=java.base/java.util.concurrent=ALL-UNNAMED "
    "--add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED "
    "--add-opens=java.base/java.util.concurrent.locks=ALL-UNNAMED"
).split()
WORKLOADS = ("identity", "repartition", "wordcount", "fixwindow")
# Keys the adapter sets on the command line (-D): a study must not tune them.
OWNED_KEYS = (
    "rest.port", "rest.address", "rest.bind-address", "jobmanager.rpc.address",
    "jobmanager.rpc.port", "jobmanager.bind-host", "taskmanager.bind-host", "taskmanager.host",
    "io.tmp.dirs", "web.tmpdir", "web.upload.dir", "blob.storage.directory",
)


class Fail(Exception):
    """The configuration could not run: reported as status "fail"."""


class EnvError(Exception):
    """The environment is broken: reported by a non-zero exit."""


def log(msg):
    print(f"[flink-local {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def env_int(name, lo=0):
    raw = os.environ.get(name)
    if raw is None:
        raise EnvError(f"{name} is not set: run this through flinktune (adapter protocol)")
    try:
        v = int(raw)
    except ValueError:
        raise EnvError(f"{name}={raw!r} is not an integer")
    if v < lo:
        raise EnvError(f"{name}={v} must be at least {lo}")
    return v


def flink_version(home):
    jars = glob.glob(os.path.join(home, "lib", "flink-dist*.jar"))
    if not jars:
        raise EnvError(f"FLINK_HOME={home} has no lib/flink-dist*.jar: not a Flink distribution "
                       "(scripts/install-flink.sh installs one)")
    m = re.search(r"flink-dist[^-]*-(\d+)\.(\d+)", os.path.basename(jars[0]))
    if not m:
        raise EnvError(f"cannot tell the Flink version from {jars[0]}")
    return int(m.group(1)), int(m.group(2)), os.path.basename(jars[0])


def job_sources(version):
    """The Java sources of the jobs for a (major, minor) Flink version."""
    common = sorted(glob.glob(os.path.join(JOBS, "common", "flinktune", "*.java")))
    return common + [LEGACY_JOB if version < FIRST_CURRENT else CURRENT_JOB]


def build_jar(home):
    """Compiles the jobs for this distribution's version against it once; later trials reuse
    the cached jar."""
    major, minor, dist_jar = flink_version(home)
    sources = job_sources((major, minor))
    h = hashlib.sha256(dist_jar.encode() + home.encode())
    for src in sources:
        with open(src, "rb") as f:
            h.update(src.encode() + f.read())
    digest = h.hexdigest()[:16]
    cache = os.environ.get("FLINKTUNE_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "flinktune")
    out_dir = os.path.join(cache, "jobs", digest)
    jar = os.path.join(out_dir, "flinktune-jobs.jar")
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, ".lock"), "w") as lock:
        # Parallel workers share the cache: one compiles, the others wait for its jar.
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.isfile(jar):
            return jar
        classes = os.path.join(out_dir, "classes")
        shutil.rmtree(classes, ignore_errors=True)
        os.makedirs(classes)
        for tool in ("javac", "jar"):
            if shutil.which(tool) is None:
                raise EnvError(f"`{tool}` is not on PATH: install a JDK 17 (scripts/install-flink.sh does)")
        cmd = ["javac", "--release", "11", "-nowarn", "-d", classes,
               "-cp", os.path.join(home, "lib", "*")] + sources
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            raise EnvError("javac failed on the benchmark job:\n" + p.stderr[-2000:])
        p = subprocess.run(["jar", "cf", jar + ".tmp", "-C", classes, "."], capture_output=True, text=True)
        if p.returncode != 0:
            raise EnvError("jar failed: " + p.stderr[-1000:])
        os.replace(jar + ".tmp", jar)
        log(f"compiled the benchmark jobs into {jar}")
        return jar


def _scalar(v):
    v = v.split(" #")[0].strip()
    if len(v) >= 2 and v[0] == v[-1] and v[0] in "'\"":
        v = v[1:-1]
    return v


def read_conf(conf_dir):
    """The conf dir's Flink configuration as flat dotted keys -> string values.

    config.yaml may nest keys at their dots (flinktune writes it so); flink-conf.yaml is flat.
    Enough YAML for mappings of scalars, which is what both hold (lists are skipped); the
    standard library has no YAML parser and the adapter stays dependency-free.
    """
    for name in ("config.yaml", "flink-conf.yaml"):
        text = read(os.path.join(conf_dir, name))
        if text:
            break
    conf, stack = {}, []  # enclosing mappings: (indent, dotted key)
    for ln in text.splitlines():
        if not ln.strip() or ln.lstrip().startswith(("#", "-")) or ":" not in ln:
            continue
        indent = len(ln) - len(ln.lstrip())
        key, _, value = ln.strip().partition(":")
        while stack and stack[-1][0] >= indent:
            stack.pop()
        key = key.strip().strip("'\"")
        full = f"{stack[-1][1]}.{key}" if stack else key
        if value.strip():
            conf[full] = _scalar(value)
        else:
            stack.append((indent, full))
    return conf


def deployment(conf):
    """(TaskManagers, slots per TaskManager, job parallelism) of a configuration.

    `flinktune.taskmanagers` (a flinktune key Flink ignores) asks for that many TaskManagers;
    the job then runs as in reactive mode, parallelism = TaskManagers x slots. Without it: the
    configuration's parallelism.default on as many TaskManagers as its slots need, as Flink's
    active resource managers (YARN, native Kubernetes) start them; a fixed single TaskManager
    would leave every configuration with more parallelism than slots waiting for slots.
    """
    def as_int(key, default):
        raw = conf.get(key)
        if raw is None:
            return default
        try:
            v = int(raw)
        except ValueError:
            raise Fail(f"{key}: {raw!r} is not an integer")
        if v < 1:
            raise Fail(f"{key}: {v} must be at least 1")
        return v
    slots = as_int("taskmanager.numberOfTaskSlots", 1)
    if "flinktune.taskmanagers" in conf:
        tms = as_int("flinktune.taskmanagers", 1)
        return tms, slots, tms * slots
    parallelism = as_int("parallelism.default", 1)
    return -(-parallelism // slots), slots, parallelism


def port_free(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def pick_ports(base, worker):
    # A block of ports per worker, so parallel workers never race for the same ones.
    start = base + 20 * worker
    for rest in range(start, start + 20, 2):
        if port_free(rest) and port_free(rest + 1):
            return rest, rest + 1
    raise EnvError(f"no free REST/RPC port pair in {start}..{start + 19} (worker {worker})")


# Log lines that say why a cluster or job failed, most specific first.
REASON_PATTERNS = [
    re.compile(r"IllegalConfigurationException: (.*)"),
    re.compile(r"(Insufficient number of network buffers.*)"),
    re.compile(r"(Sum of configured .*)"),
    re.compile(r"(Total Process Memory size .*|Derived JVM Overhead size .*|Cannot read memory size.*)"),
    re.compile(r"(The number of required buffers .*)"),
    re.compile(r"(OutOfMemoryError.*)"),
    # The JVM itself cannot reserve the heap (e.g. 1.11's JobManager sized by a 33 GB
    # jobmanager.memory.flink.size): only its .out file says so.
    re.compile(r"#\s*(Native memory allocation .*)"),
    re.compile(r"(Address already in use.*|BindException.*)"),
    re.compile(r"Caused by: (.*)"),
    re.compile(r"(?:ERROR|FATAL)\s+\S+\s+\[\] - (.*)"),
    re.compile(r"^\[ERROR\] (.*)"),
    re.compile(r"(\w+(?:Exception|Error): .*)"),
]


def reason_from(texts):
    """The most telling line among log/output texts, shortened."""
    lines = [ln.strip() for t in texts for ln in t.splitlines() if ln.strip()]
    for pat in REASON_PATTERNS:
        hits = [m.group(1).strip() for ln in lines for m in [pat.search(ln)] if m and m.group(1).strip()]
        hits = [h for h in hits if "Could not get JVM parameters" not in h and "execution result is empty" not in h]
        if hits:
            return hits[-1][:400]
    return None


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def flat_value(text, key):
    """The value Flink's flat flink-conf.yaml reader sees for key (the last occurrence wins,
    `#` starts a comment), or None."""
    value = None
    for ln in text.splitlines():
        kv = ln.split("#", 1)[0].strip().split(": ", 1)
        if len(kv) == 2 and kv[0].strip() == key:
            value = kv[1].strip()
    return value


def append_legacy_keys(conf_file, props):
    """Flink before 1.19: 1.11's jobmanager.sh takes no -D options, so the adapter's own keys
    are appended to its copy of flink-conf.yaml (the last occurrence of a key wins, in Flink's
    reader and in its scripts), and env.java.opts gets the Java 17 options it lacks, after the
    user's own."""
    text = read(conf_file)
    user_opts = (flat_value(text, "env.java.opts") or "").strip('"')
    missing = [o for o in JAVA17_OPTS if o not in user_opts.split()]
    block = ["", "# Appended by flinktune's flink-local adapter for this trial's cluster."]
    block += [f"{k}: {v}" for k, v in props.items()]
    if missing:
        block.append("env.java.opts: " + " ".join(([user_opts] if user_opts else []) + missing))
    with open(conf_file, "a") as f:
        f.write(("" if text.endswith("\n") or not text else "\n") + "\n".join(block) + "\n")


class Cluster:
    def __init__(self, home, conf_dir, base, worker, taskmanagers=1, extra_props=None, ports=None,
                 detach=False):
        # detach: the JVMs get a session of their own and outlive this process (the hook's
        # cluster runs between its invocations); otherwise they stay in our process group.
        self.home = home
        self.legacy = flink_version(home)[:2] < FIRST_CURRENT
        self.taskmanagers = taskmanagers
        self.extra_props = extra_props or {}
        self.detach = detach
        self.procs = []
        self.base = base
        self.conf = os.path.join(base, "conf")
        self.logs = os.path.join(base, "log")
        self.pids = os.path.join(base, "pid")
        self.tmp = os.path.join(base, "tmp")
        for d in (self.logs, self.pids, self.tmp):
            os.makedirs(d, exist_ok=True)
        # The trial's conf dir is used as is (config file byte for byte); only the logging
        # configuration Flink's scripts expect is added when the study's conf dir lacks it.
        shutil.copytree(conf_dir, self.conf, dirs_exist_ok=True)
        for f in glob.glob(os.path.join(home, "conf", "log4j*.properties")) + \
                glob.glob(os.path.join(home, "conf", "logback*.xml")):
            dst = os.path.join(self.conf, os.path.basename(f))
            if not os.path.exists(dst):
                shutil.copy(f, dst)
                if self.legacy and os.path.basename(f) == "log4j.properties":
                    # 1.11's JobManager reopens its log file at shut-down, which truncates it
                    # with append = false; the log dir is the trial's own, so appending is safe.
                    with open(dst) as fh:
                        text = fh.read()
                    with open(dst, "w") as fh:
                        fh.write(re.sub(r"(?m)^(appender\.main\.append\s*=\s*)false", r"\1true", text))
        if ports and port_free(ports[0]) and port_free(ports[1]):
            self.rest_port, self.rpc_port = ports
        else:
            self.rest_port, self.rpc_port = pick_ports(int(os.environ.get("FLINKTUNE_FLINK_PORT_BASE", "18081")), worker)
        self.url = f"http://127.0.0.1:{self.rest_port}"
        if self.legacy:
            append_legacy_keys(os.path.join(self.conf, "flink-conf.yaml"), self.props())

    @classmethod
    def existing(cls, home, base, rest_port, rpc_port):
        """A handle on a cluster started earlier under `base` (REST calls, pids, stop)."""
        cl = cls.__new__(cls)
        cl.home, cl.base, cl.taskmanagers, cl.extra_props, cl.detach, cl.procs = home, base, 0, {}, True, []
        cl.legacy = False  # only used to launch JVMs, which a handle never does
        cl.conf, cl.logs, cl.pids, cl.tmp = (os.path.join(base, d) for d in ("conf", "log", "pid", "tmp"))
        cl.rest_port, cl.rpc_port = rest_port, rpc_port
        cl.url = f"http://127.0.0.1:{rest_port}"
        return cl

    def env(self):
        e = dict(os.environ)
        e.update(FLINK_CONF_DIR=self.conf, FLINK_LOG_DIR=self.logs, FLINK_PID_DIR=self.pids)
        conf_text = "".join(read(os.path.join(self.conf, f)) for f in ("config.yaml", "flink-conf.yaml"))
        if "--add-opens" not in conf_text:
            # Java 17 needs Flink's module opens; a base config without them (e.g. 1.11's) gets
            # the ones this distribution ships, through JVM_ARGS, leaving the config untouched.
            shipped = "".join(read(os.path.join(self.home, "conf", f)) for f in ("config.yaml", "flink-conf.yaml"))
            opens = sorted(set(re.findall(r"--add-(?:opens|exports)=\S+", shipped)))
            e["JVM_ARGS"] = (e.get("JVM_ARGS", "") + " " + " ".join(opens)).strip()
        return e

    def props(self):
        """The keys the adapter sets itself (OWNED_KEYS), and the caller's extra ones."""
        props = {
            "rest.port": self.rest_port, "rest.address": "localhost", "rest.bind-address": "localhost",
            "jobmanager.rpc.address": "localhost", "jobmanager.rpc.port": self.rpc_port,
            "jobmanager.bind-host": "localhost", "taskmanager.bind-host": "localhost",
            "taskmanager.host": "localhost", "io.tmp.dirs": self.tmp, "web.tmpdir": self.tmp,
            "blob.storage.directory": self.tmp,
        }
        props.update(self.extra_props)
        return props

    def dynamic(self):
        if self.legacy:
            return []  # in the conf file instead (append_legacy_keys)
        args = []
        for k, v in self.props().items():
            args += ["-D", f"{k}={v}"]
        return args

    def start(self, tm_props=None):
        """Starts the JobManager and the TaskManagers in parallel; returns their start scripts' Popens.
        tm_props: a function giving each TaskManager's own extra keys (e.g. its resource id)."""
        self._launch("jobmanager")
        for _ in range(self.taskmanagers):
            self._launch("taskmanager", tm_props() if tm_props else None)
        return list(self.procs)

    def start_taskmanager(self, props=None):
        """One more TaskManager (a replacement for a lost one, or a rescale's); returns its start
        script's Popen."""
        return self._launch("taskmanager", props)

    def _launch(self, role, props=None):
        n = sum(1 for _ in glob.glob(os.path.join(self.logs, f"{role}*-start.out")))
        out = open(os.path.join(self.logs, f"{role}{'-' + str(n) if n else ''}-start.out"), "w")
        own = [a for k, v in (props or {}).items() for a in ("-D", f"{k}={v}")]
        p = subprocess.Popen([os.path.join(self.home, "bin", role + ".sh"), "start"] + self.dynamic() + own,
                             env=self.env(), stdout=out, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, start_new_session=self.detach)
        p.role, p.out = role, out.name
        self.procs.append(p)
        return p

    def taskmanager_pids(self):
        """Live TaskManager JVMs, oldest first (flink-daemon.sh appends each to its pid file)."""
        out = []
        for f in sorted(glob.glob(os.path.join(self.pids, "*taskexecutor*.pid"))):
            out += [int(ln) for ln in read(f).split() if ln.isdigit() and alive(int(ln))]
        return out

    def pids_alive(self):
        out = []
        for f in glob.glob(os.path.join(self.pids, "*.pid")):
            for ln in read(f).split():
                if ln.isdigit() and alive(int(ln)):
                    out.append(int(ln))
        return out

    def all_pids(self):
        out = []
        for f in glob.glob(os.path.join(self.pids, "*.pid")):
            out += [int(ln) for ln in read(f).split() if ln.isdigit()]
        return out

    def log_texts(self):
        files = sorted(glob.glob(os.path.join(self.logs, "*")))
        return [read(f) for f in files]

    def stop(self):
        # A start script still running may be about to write a pid file: let it finish first.
        deadline = time.time() + 2
        for p in self.procs:
            try:
                p.wait(timeout=max(0.0, deadline - time.time()))
            except subprocess.TimeoutExpired:
                p.kill()
        pids = [p for p in self.all_pids() if alive(p)]
        for p in pids:
            try:
                os.kill(p, signal.SIGTERM)
            except ProcessLookupError:
                pass
        # Short grace: the tuner's own SIGKILL follows its SIGTERM within a few seconds.
        deadline = time.time() + 3
        while time.time() < deadline and any(alive(p) for p in pids):
            time.sleep(0.1)
        for p in pids:
            if alive(p):
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        shutil.rmtree(self.tmp, ignore_errors=True)

    get = rest_metrics.Rest.get

    def request(self, method, path, body=None, headers=None, timeout=30):
        req = urllib.request.Request(self.url + path, data=body, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                text = r.read().decode()
                return json.loads(text) if text.strip() else {}
        except urllib.error.HTTPError as e:
            detail = e.read().decode(errors="replace")
            try:
                errs = json.loads(detail).get("errors", [detail])
                detail = "\n".join(str(x) for x in errs)
            except ValueError:
                pass
            raise Fail(f"{method} {path} answered {e.code}: " + (reason_from([detail]) or detail[:400]))


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of ours counts as gone.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[-1][:1] != "Z"
    except OSError:
        return False


def wait_for_cluster(cl, procs, timeout_s):
    """Waits until all the cluster's TaskManagers have registered and offer their slots (a
    TaskManager of Flink 2.x shows in /overview before its slots do, and a job submitted then
    waits for them past its measured window); returns /overview."""
    t0 = time.time()
    want = 1 + cl.taskmanagers
    tms, slots, _ = deployment(read_conf(cl.conf))
    while True:
        for p in procs:
            if p.poll() not in (None, 0):
                why = reason_from([read(p.out)] + cl.log_texts())
                raise Fail(f"{p.role}.sh exited {p.returncode}: {why or 'no reason in the logs'}")
        if all(p.poll() == 0 for p in procs):
            # All daemons launched: a JVM that then dies (e.g. a TaskManager refusing its
            # network buffers) leaves the cluster short of a TaskManager.
            if time.time() - t0 > 5 and len(cl.pids_alive()) < want:
                time.sleep(1)
                why = reason_from(cl.log_texts())
                if len(cl.pids_alive()) < want:
                    raise Fail(f"a Flink process died during start-up: {why or 'no reason in the logs'}")
        try:
            ov = cl.get("/overview", timeout=2)
            if ov.get("taskmanagers", 0) >= cl.taskmanagers and ov.get("slots-total", 0) >= tms * slots:
                return ov
        except (OSError, ValueError):
            pass
        if time.time() - t0 > timeout_s:
            why = reason_from(cl.log_texts())
            raise Fail(f"no TaskManager registered within {timeout_s} s"
                       + (f": {why}" if why else ""))
        time.sleep(0.5)


def upload(cl, jar):
    boundary = uuid.uuid4().hex
    with open(jar, "rb") as f:
        data = f.read()
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"jarfile\"; "
            f"filename=\"{os.path.basename(jar)}\"\r\nContent-Type: application/x-java-archive\r\n\r\n").encode() \
        + data + f"\r\n--{boundary}--\r\n".encode()
    r = cl.request("POST", "/jars/upload", body, {"Content-Type": f"multipart/form-data; boundary={boundary}"})
    return os.path.basename(r["filename"])


def job_failure(cl, jid):
    try:
        ex = cl.get(f"/jobs/{jid}/exceptions", timeout=5)
    except (OSError, ValueError):
        return None
    texts = [ex.get("root-exception") or ""]
    # Flink before 1.13 lists them under all-exceptions, later ones under exceptionHistory.
    for e in (ex.get("all-exceptions") or [])[:3]:
        texts.append(e.get("exception") or "")
    for e in ex.get("exceptionHistory", {}).get("entries", [])[:3]:
        texts.append(e.get("stacktrace") or e.get("exceptionName") or "")
    return reason_from(texts)


def taskmanager_memory(cl):
    """The memory sizes Flink derived for a TaskManager from the trial's configuration
    (REST's memoryConfiguration, bytes; Flink 1.12+), or None: what the configuration
    really gave, for checking flinktune's own derivation (`flinkmem`) against Flink's."""
    try:
        tms = cl.get("/taskmanagers", timeout=5).get("taskmanagers") or []
        return cl.get(f"/taskmanagers/{tms[0]['id']}", timeout=5).get("memoryConfiguration") if tms else None
    except (OSError, ValueError, KeyError):
        return None


def merge(metrics_dir, t0_us, t1_us):
    """The generators' and sinks' figures for the window [t0, t1) (epoch us). Throughput sums
    each generator's rate over the part of the window it ran: a subtask deployed late (its
    schedule starts inside the window) is a start-up artefact, not a slow job, and would
    otherwise read as one (seen on a loaded 2-core CI machine: 1762 of 2000 rec/s, p99 5 ms)."""
    sources = sorted(glob.glob(os.path.join(metrics_dir, "source-*.txt")))
    sinks = sorted(glob.glob(os.path.join(metrics_dir, "sink-*.txt")))
    throughput, starts = 0.0, []
    for f in sources:
        kv = dict(ln.split()[:2] for ln in read(f).splitlines() if ln.strip())
        start = int(kv["start_us"])
        ran_us = t1_us - max(t0_us, start)
        if ran_us <= 0:
            raise Fail(f"generator {os.path.basename(f)} started {(start - t1_us) / 1e6:.1f} s after the measured "
                       "window had ended (the job deployed too slowly: raise --deploy-allowance)")
        throughput += int(kv["count"]) * 1e6 / ran_us
        starts.append(start)
    hist, count, total, mx = {}, 0, 0, 0
    for f in sinks:
        for ln in read(f).splitlines():
            parts = ln.split()
            if not parts:
                continue
            if parts[0] == "h":
                hist[int(parts[1])] = hist.get(int(parts[1]), 0) + int(parts[2])
            elif parts[0] == "count":
                count += int(parts[1])
            elif parts[0] == "sum_us":
                total += int(parts[1])
            elif parts[0] == "max_us":
                mx = max(mx, int(parts[1]))
    return throughput, starts, hist, count, total, mx


def percentile_ms(hist, count, q):
    """The q-quantile of the merged histogram, at the middle of its bucket, in ms."""
    need = q * count
    cum = 0
    for lb in sorted(hist):
        cum += hist[lb]
        if cum >= need:
            width = 1 if lb < 1024 else 1 << (lb.bit_length() - 1 - 9)
            return (lb + (width - 1) / 2) / 1000.0
    return max(hist) / 1000.0


def refuse_owned_keys():
    """A study must not tune the keys the adapter sets itself (OWNED_KEYS)."""
    config = json.load(open(os.environ["FLINKTUNE_CONFIG_JSON"])) if os.environ.get("FLINKTUNE_CONFIG_JSON") else {}
    clash = sorted(set(config) & set(OWNED_KEYS))
    if clash:
        raise EnvError(f"the study tunes {', '.join(clash)}, which the flink-local adapter sets itself")


def job_alive(cl, jid):
    """The job's REST details, or None when REST does not answer but the cluster lives; raises
    Fail when the job or the cluster has ended."""
    try:
        j = cl.get(f"/jobs/{jid}")
    except (OSError, ValueError) as e:
        if not cl.pids_alive():
            raise Fail(f"the cluster died during the job: {reason_from(cl.log_texts()) or e}")
        return None
    state = j.get("state")
    if state in ("FAILED", "CANCELED", "CANCELLING", "FAILING", "FINISHED"):
        raise Fail(f"job {state.lower()}: {job_failure(cl, jid) or reason_from(cl.log_texts()) or 'no reason given'}")
    return j


def run_trial(args, trial, cl):
    rate = env_int("FLINKTUNE_RATE", 1)
    duration = env_int("FLINKTUNE_DURATION_S", 1)
    refuse_owned_keys()
    t_start = time.time()
    procs = cl.start()
    ov = wait_for_cluster(cl, procs, args.start_timeout)
    startup = time.time() - t_start
    log(f"cluster up in {startup:.1f} s: {ov.get('taskmanagers')} TaskManager(s), {ov.get('slots-total')} slots, "
        f"Flink {ov.get('flink-version')}, REST {cl.url}")

    memory = taskmanager_memory(cl)
    jar_id = upload(cl, args.jar)
    _, _, parallelism = deployment(read_conf(cl.conf))
    metrics = os.path.join(trial, "flink", "metrics")
    os.makedirs(metrics, exist_ok=True)
    now_ms = int(time.time() * 1000)
    start_at = now_ms + int(args.deploy_allowance * 1000)
    t0 = start_at + args.warmup * 1000
    t1 = t0 + duration * 1000
    prog = ["--workload", args.workload, "--rate", str(rate), "--start-at-ms", str(start_at),
            "--t0-ms", str(t0), "--t1-ms", str(t1), "--out", metrics, "--window-ms", str(args.window_ms),
            "--series", "true" if args.measure_recovery else "false"]
    # Flink 2.x ignores the cluster's parallelism.default for REST-submitted jobs: pass it.
    r = cl.request("POST", f"/jars/{jar_id}/run",
                   json.dumps({"entryClass": "flinktune.Jobs", "programArgsList": prog,
                               "parallelism": parallelism}).encode(),
                   {"Content-Type": "application/json"})
    jid = r["jobid"]
    log(f"job {jid} ({args.workload}, parallelism {parallelism}, {rate} rec/s) submitted; "
        f"measuring {args.warmup} s warm-up + {duration} s")

    def check_job(require_running):
        j = job_alive(cl, jid)
        if j is not None and require_running:
            stuck = [v["name"] for v in j.get("vertices", []) if v.get("status") != "RUNNING"]
            if stuck:
                slots = ov.get("slots-total")
                raise Fail(f"tasks not running when the measured window opened ({', '.join(stuck)}): "
                           f"parallelism {parallelism} with {slots} task slot(s)")

    while time.time() * 1000 < t0:
        check_job(False)
        time.sleep(0.5)
    check_job(True)
    gc0 = rest_metrics.fresh_gc_time_ms(cl)
    drain = 10 + (args.window_ms / 1000 if args.workload == "fixwindow" else 0)
    deadline = t1 / 1000 + drain
    while True:
        if time.time() * 1000 >= t1:
            n_src = len(glob.glob(os.path.join(metrics, "source-*.txt")))
            n_snk = len(glob.glob(os.path.join(metrics, "sink-*.txt")))
            if n_src >= parallelism and n_snk >= parallelism:
                break
            if time.time() > deadline:
                if n_src == 0 or n_snk == 0:
                    raise Fail(f"metrics never arrived: {n_src} of {parallelism} generator and {n_snk} of "
                               f"{parallelism} sink subtasks reported within {drain:.0f} s after the window "
                               "(the job is stalled or far behind)")
                break
        check_job(False)
        time.sleep(0.25)

    gc1 = rest_metrics.fresh_gc_time_ms(cl)
    throughput, starts, hist, count, total, mx = merge(metrics, t0 * 1000, t1 * 1000)
    if count == 0:
        raise Fail("no record reached the sink during the measured window"
                   + (f" (fixwindow fires every {args.window_ms} ms: make the duration longer)"
                      if args.workload == "fixwindow" else ""))
    warm = (t0 * 1000 - max(starts)) / 1e6 if starts else 0.0
    result = {
        "status": "pass",
        "throughput": round(throughput, 3),
        "latency_p99_ms": round(percentile_ms(hist, count, 0.99), 4),
        "latency_p50_ms": round(percentile_ms(hist, count, 0.50), 4),
        "latency_mean_ms": round(total / count / 1000.0, 4),
        "latency_max_ms": round(mx / 1000.0, 4),
        "backpressured": throughput < 0.97 * rate,
        "latency_samples": count,
        "startup_s": round(startup, 2),
        "effective_warmup_s": round(warm, 2),
        "parallelism": parallelism,
        "workload": args.workload,
        "flink_version": ov.get("flink-version"),
        "notes": f"{count} latency samples; {len(starts)} generator subtasks",
    }
    gc = rest_metrics.gc_time_fraction(gc0[1], gc1[1], gc1[0] - gc0[0])
    if gc is not None:
        result["gc_time_fraction"] = gc
    if memory:
        result["taskmanager_memory_bytes"] = memory
    if args.measure_recovery:
        result.update(measure_recovery(cl, jid, metrics, result["latency_p99_ms"], parallelism, args))
    try:
        cl.request("PATCH", f"/jobs/{jid}?mode=cancel", timeout=10)
    except (Fail, OSError):
        pass
    return result


def run_user_trial(args, trial, cl):
    """One trial of the user's job (--jar, --class, --args), measured through Flink's REST API
    or a Prometheus server of the trial's own (user_job.measure)."""
    env_int("FLINKTUNE_RATE", 1)
    duration = env_int("FLINKTUNE_DURATION_S", 1)
    refuse_owned_keys()
    server = start_prometheus(trial, cl) if args.metrics == "prometheus" else None
    if server:
        args.prometheus_url = server.url
    try:
        t_start = time.time()
        ov = wait_for_cluster(cl, cl.start(), args.start_timeout)
        startup = time.time() - t_start
        log(f"cluster up in {startup:.1f} s: {ov.get('taskmanagers')} TaskManager(s), {ov.get('slots-total')} "
            f"slots, Flink {ov.get('flink-version')}, REST {cl.url}")
        memory = taskmanager_memory(cl)
        jar_id = upload(cl, args.jar)
        _, _, parallelism = deployment(read_conf(cl.conf))
        prog = user_job.expand_args(args.job_args, user_job.trial_values(trial))
        r = cl.request("POST", f"/jars/{jar_id}/run",
                       json.dumps({"entryClass": args.main_class, "programArgsList": prog,
                                   "parallelism": parallelism}).encode(),
                       {"Content-Type": "application/json"})
        jid = r["jobid"]
        log(f"job {jid} ({args.main_class} {' '.join(prog)}, parallelism {parallelism}) submitted; "
            f"measuring {args.warmup} s warm-up + {duration} s through {args.metrics}")
        try:
            user_job.wait_running(cl, jid, lambda: job_alive(cl, jid), args.start_timeout)
            result = user_job.measure(cl, jid, args, duration, lambda: job_alive(cl, jid), trial)
        finally:
            try:
                cl.request("PATCH", f"/jobs/{jid}?mode=cancel", timeout=10)
            except (Fail, OSError):
                pass
    finally:
        if server:
            server.stop()
    result.update(startup_s=round(startup, 2), parallelism=parallelism, flink_version=ov.get("flink-version"),
                  job_id=jid, main_class=args.main_class)
    if memory:
        result["taskmanager_memory_bytes"] = memory
    return result


def start_prometheus(trial, cl):
    """A Prometheus server for the trial on the first free port of the worker's block
    (FLINKTUNE_PROMETHEUS_PORT_BASE, default 19400, + 20 x worker), scraping the next ten ports,
    on which the cluster's JVMs get their PrometheusReporter."""
    start = int(os.environ.get("FLINKTUNE_PROMETHEUS_PORT_BASE", "19400")) + 20 * env_int("FLINKTUNE_WORKER")
    port = next((p for p in range(start, start + 10) if port_free(p)), None)
    if port is None:
        raise EnvError(f"no free port for Prometheus in {start}..{start + 9}")
    reporters = list(range(port + 1, port + 11))
    cl.extra_props.update(prometheus_metrics.reporter_props(reporters))
    server = None
    try:
        server = prometheus_metrics.Server(os.path.join(trial, "prometheus"), port, reporters)
        server.start()
    except OSError as e:
        if server:
            server.stop()
        raise EnvError(str(e))
    return server


def read_series(metrics_dir, since_ms):
    """Per sink subtask: the per-second lines of its newest instance opened after since_ms.

    Returns ({subtask: {second_ms: p99_us}}, {subtask: open_ms}); a subtask with no instance
    opened since then is absent. Lines of a JVM killed mid-write are skipped.
    """
    out, opened = {}, {}
    for f in glob.glob(os.path.join(metrics_dir, "series-*.txt")):
        subtask = int(re.search(r"series-(\d+)", f).group(1))
        seconds = None
        for ln in read(f).splitlines():
            parts = ln.split()
            if len(parts) == 2 and parts[0] == "open" and parts[1].isdigit():
                seconds = {} if int(parts[1]) > since_ms else None
                if seconds is not None:
                    opened[subtask] = int(parts[1])
            elif seconds is not None and len(parts) == 4 and all(x.isdigit() for x in parts):
                seconds[int(parts[0])] = int(parts[2])
        if seconds is not None:
            out[subtask] = seconds
    return out, opened


def caught_up_at(series, parallelism, threshold_us, run=3):
    """Start (ms) of the first of `run` consecutive seconds in which every sink subtask's p99
    is within the threshold, or None."""
    if len(series) < parallelism:
        return None
    common = sorted(set.intersection(*(set(s) for s in series.values())))
    for i in range(len(common) - run + 1):
        window = common[i:i + run]
        if window[-1] - window[0] != (run - 1) * 1000:
            continue
        if all(s[sec] <= threshold_us for s in series.values() for sec in window):
            return window[0]
    return None


def job_running(cl, jid):
    """Whether the job is RUNNING with all its tasks RUNNING, and its terminal state if any."""
    j = cl.get(f"/jobs/{jid}")
    state = j.get("state")
    running = state == "RUNNING" and all(v.get("status") == "RUNNING" for v in j.get("vertices", []))
    return running, state if state in ("FAILED", "CANCELED", "FINISHED") else None


def measure_recovery(cl, jid, metrics, p99_ms, parallelism, args):
    """Kills one TaskManager with SIGKILL, starts a replacement (as Kubernetes restarts a pod)
    and times how long until the job runs again and has caught up with its backlog.

    Caught up: every sink subtask of the restarted job has a per-second p99 latency within
    max(2 x the measured p99, p99 + 10 ms) for 3 consecutive seconds; recovery_time_s runs from
    the kill to the start of the first of those seconds (1 s resolution). The generator replays
    what was scheduled since the last checkpoint, so the backlog is that of a Kafka source.
    Not caught up within --recovery-limit: recovery_time_s is the time waited, a lower bound,
    flagged recovery_censored (a job that failed for good counts as never recovering).
    """
    threshold_us = int(max(2 * p99_ms, p99_ms + 10) * 1000)
    victims = cl.taskmanager_pids()
    if not victims:
        raise Fail("recovery measurement: no live TaskManager to kill")
    t_kill = time.time()
    os.kill(victims[0], signal.SIGKILL)
    replacement = cl.start_taskmanager()
    log(f"recovery: killed TaskManager pid {victims[0]}, replacement starting; caught up when every "
        f"sink subtask's p99 <= {threshold_us / 1000:.1f} ms for 3 s")
    kill_ms = int(t_kill * 1000)
    note, running_seen = None, None
    while time.time() - t_kill < args.recovery_limit:
        time.sleep(0.5)
        if replacement.poll() not in (None, 0):
            note = f"the replacement TaskManager did not start: {reason_from([read(replacement.out)]) or 'no reason'}"
            break
        try:
            running, terminal = job_running(cl, jid)
        except (OSError, ValueError):
            continue
        if terminal:
            note = f"the job ended {terminal.lower()} after the TaskManager loss: " \
                   f"{job_failure(cl, jid) or 'no reason given'}"
            break
        series, opened = read_series(metrics, kill_ms)
        if running and running_seen is None and len(opened) >= parallelism:
            # When the last restarted sink opened, by the job's own clock like the series: this
            # poll may see it late on a busy machine.
            running_seen = (max(opened.values()) - kill_ms) / 1000.0
        at = caught_up_at(series, parallelism, threshold_us)
        if running and at is not None:
            rec = (at - kill_ms) / 1000.0
            log(f"recovery: running again after {running_seen:.1f} s, caught up after {rec:.1f} s")
            return {"recovery_time_s": round(rec, 2), "recovery_running_s": round(running_seen, 2),
                    "recovery_threshold_ms": threshold_us / 1000, "recovery_censored": False}
    waited = args.recovery_limit if note else time.time() - t_kill
    note = note or f"not caught up within {args.recovery_limit} s"
    log(f"recovery: {note}")
    return {"recovery_time_s": round(max(waited, args.recovery_limit), 2), "recovery_censored": True,
            "recovery_threshold_ms": threshold_us / 1000, "recovery_note": note[:400]}


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("workload", nargs="?", choices=WORKLOADS, help="a built-in job (or --jar: the user's)")
    ap.add_argument("--warmup", type=int, default=int(os.environ.get("FLINKTUNE_FLINK_WARMUP_S", "5")),
                    help="seconds of load before the measured window (default 5)")
    ap.add_argument("--window-ms", type=int, default=10000, help="fixwindow's tumbling window (default 10000)")
    ap.add_argument("--start-timeout", type=int, default=90, help="seconds for a TaskManager to register")
    ap.add_argument("--deploy-allowance", type=float, default=3.0,
                    help="seconds between submission and the generator's first record")
    ap.add_argument("--flink-version", metavar="MAJOR.MINOR",
                    help="refuse to run unless FLINK_HOME is this Flink version (e.g. 1.11)")
    ap.add_argument("--measure-recovery", action="store_true",
                    default=os.environ.get("FLINKTUNE_MEASURE_RECOVERY", "") not in ("", "0"),
                    help="after the measured window, kill a TaskManager and report recovery_time_s "
                         "(also FLINKTUNE_MEASURE_RECOVERY=1; Flink 1.19+)")
    ap.add_argument("--recovery-limit", type=float, default=180.0,
                    help="seconds to wait for recovery before reporting a censored lower bound (default 180)")
    user_job.add_arguments(ap)
    return ap.parse_args()


def check_environment(args, trial, home):
    """The trial's conf dir, once the environment can run the trial; raises EnvError."""
    if not trial or not os.path.isdir(trial):
        raise EnvError("FLINKTUNE_TRIAL_DIR is not set to a directory: run this through flinktune")
    if not home:
        raise EnvError("FLINK_HOME is not set: run `export FLINK_HOME=$(scripts/install-flink.sh)`")
    problem = user_job.check_arguments(args, args.workload)
    if problem:
        raise EnvError(problem)
    conf_dir = os.environ.get("FLINKTUNE_CONF_DIR") or os.path.join(trial, "conf")
    if not os.path.isdir(conf_dir):
        raise EnvError(f"the trial's conf dir {conf_dir} does not exist")
    major, minor, _ = flink_version(home)
    if major >= 2 and not os.path.exists(os.path.join(conf_dir, "config.yaml")):
        raise EnvError(f"Flink {major}.{minor} reads only config.yaml, but {conf_dir} has none: "
                       f"set the study's flink_version to {major}.{minor}")
    if args.flink_version and args.flink_version != f"{major}.{minor}":
        # Flink ignores keys it does not know: the wrong version would run, tuning nothing.
        raise EnvError(f"FLINK_HOME={home} is Flink {major}.{minor}, but this study expects "
                       f"{args.flink_version}: point FLINK_HOME at a {args.flink_version} "
                       "distribution (scripts/install-flink.sh 1.11.4, for instance, prints one)")
    legacy = (major, minor) < FIRST_CURRENT
    if legacy and not os.path.exists(os.path.join(conf_dir, "flink-conf.yaml")):
        raise EnvError(f"Flink {major}.{minor} reads only flink-conf.yaml, but {conf_dir} has none: "
                       f"set the study's flink_version to {major}.{minor}")
    if legacy and args.measure_recovery:
        # The legacy jobs do not checkpoint the generator's schedule, so a restarted job
        # would show no backlog to recover from.
        raise EnvError(f"--measure-recovery needs Flink {FIRST_CURRENT[0]}.{FIRST_CURRENT[1]} or later "
                       f"(FLINK_HOME is Flink {major}.{minor})")
    if args.measure_recovery and args.jar:
        raise EnvError("--measure-recovery needs a built-in job (it reads their per-second latency series)")
    return conf_dir


def main():
    args = parse_args()
    trial = os.environ.get("FLINKTUNE_TRIAL_DIR")
    home = os.environ.get("FLINK_HOME")
    try:
        conf_dir = check_environment(args, trial, home)
        user = bool(args.jar)
        if not user:
            args.jar = build_jar(home)
        worker = env_int("FLINKTUNE_WORKER")
        props = user_job.observation_props(args, env_int("FLINKTUNE_DURATION_S", 1)) if user else {}
    except EnvError as e:
        print(f"flink-local: {e}", file=sys.stderr)
        return 2

    cl = None

    def on_signal(signum, _frame):
        # Once: the cleanup in `finally` must not be interrupted by a second signal.
        for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(s, signal.SIG_IGN)
        raise SystemExit(128 + signum)

    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, on_signal)
    code = 0
    try:
        tms, _, _ = deployment(read_conf(conf_dir))
        cl = Cluster(home, conf_dir, os.path.join(trial, "flink"), worker, taskmanagers=tms, extra_props=props)
        result = (run_user_trial if user else run_trial)(args, trial, cl)
        log(f"pass: {result['throughput']:.0f} rec/s, p99 {result['latency_p99_ms']} ms")
    except (Fail, user_job.JobFailed) as e:
        result = {"status": "fail", "reason": str(e)}
        log(f"fail: {e}")
    except EnvError as e:
        print(f"flink-local: {e}", file=sys.stderr)
        result, code = None, 2
    finally:
        if cl is not None:
            t = time.time()
            cl.stop()
            log(f"cluster stopped in {time.time() - t:.1f} s")
    if result is not None:
        write_result(trial, result)
    return code


def write_result(trial, result):
    """Writes the trial's result.json atomically (temporary file, then rename)."""
    path = os.path.join(trial, "result.json")
    with open(path + ".tmp", "w") as f:
        json.dump(result, f, indent=2)
    os.replace(path + ".tmp", path)


if __name__ == "__main__":
    sys.exit(main())
