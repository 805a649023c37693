"""The search suite's problems over the 30 key parameters of Flink 1.11
(configs/flink-1.11-key-params.toml), each an adapter of flinktune's protocol.

A configuration is the protocol's config.json (tuned values by key). Synthetic problems read
it on the unit scale of the catalogue (log where declared, enums by index), compute a p99
latency to minimise (or a failure), and know their optimum, so simple regret is exact.
The simulator problems run `flinktune sim-adapter --study DIR`, which builds the complete
Flink configuration from the study's base and config.json; their optimum is unknown, so
their regret is taken against the best value any method measured on that problem.

Run as an adapter: python3 problems.py adapt PROBLEM (reads the FLINKTUNE_* variables).
"""

import json
import math
import os
import random
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "configs" / "flink-1.11-key-params.toml"


def load_params():
    with open(CATALOGUE, "rb") as f:
        return tomllib.load(f)["param"]


PARAMS = load_params()
INDEX = {p["name"]: i for i, p in enumerate(PARAMS)}


def _shift(p):
    lo = p.get("min", 0.0)
    return 0.0 if lo > 0 else 1.0 - lo


def _fwd(p, x):
    if p.get("log") or p.get("power_of_two"):
        return math.log(x + _shift(p))
    return x


def to_unit(p, v):
    """The catalogue's unit scale, as flink::space::Param::to_unit."""
    kind = p["kind"]
    if kind == "bool":
        return 1.0 if v is True else 0.0
    if kind == "enum":
        vals = p["values"]
        return vals.index(v) / (len(vals) - 1) if len(vals) > 1 else 0.0
    lo, hi = p.get("min", 0.0), p.get("max", 1.0)
    a, b = _fwd(p, lo), _fwd(p, hi)
    return min(1.0, max(0.0, (_fwd(p, min(hi, max(lo, float(v)))) - a) / (b - a)))


def from_unit(p, u):
    """A value from the unit scale, as flink::space::Param::from_unit."""
    u = min(1.0, max(0.0, u))
    kind = p["kind"]
    if kind == "bool":
        return u >= 0.5
    if kind == "enum":
        n = len(p["values"])
        return p["values"][min(n - 1, round(u * (n - 1)))]
    lo, hi = p.get("min", 0.0), p.get("max", 1.0)
    a, b = _fwd(p, lo), _fwd(p, hi)
    t = a + u * (b - a)
    x = math.exp(t) - _shift(p) if (p.get("log") or p.get("power_of_two")) else t
    x = min(hi, max(lo, x))
    if p.get("power_of_two"):
        return int(min(hi, max(lo, 2 ** round(math.log2(x)))))
    if kind == "int":
        return int(round(x))
    return x


def default_value(p):
    if "default" in p:
        return p["default"]
    if "effective" in p:
        return p["effective"]
    return p.get("min", 0)


def units(config):
    """Every parameter's unit value (unset: its default)."""
    return [to_unit(p, config.get(p["name"], default_value(p))) for p in PARAMS]


def at(name, value):
    """The unit position of a valid value of a parameter: an optimum the grid can reach."""
    return to_unit(PARAMS[INDEX[name]], value)


def u_of(u, name):
    return u[INDEX[name]]


# --- Synthetic problems: f(u) -> latency (ms) or None (fails), with their optimum ---------

SMOOTH = [  # (parameter, optimum value, weight): 6 effective of 30
    ("parallelism.default", 24, 6.0),
    ("taskmanager.numberOfTaskSlots", 4, 3.0),
    ("execution.buffer-timeout", 10, 4.0),
    ("taskmanager.network.numberOfBuffers", 4096, 2.0),
    ("taskmanager.memory.flink.size", 8192, 2.0),
    ("akka.throughput", 15, 1.0),
]


def smooth6(u):
    """6 effective parameters, a smooth valley in log latency, 2 % noise."""
    s = sum(w * (u_of(u, n) - at(n, v)) ** 2 for n, v, w in SMOOTH)
    return 10.0 * math.exp(s)


def failing_interactions(u):
    """Half the space fails (too little memory for the parallelism it runs, and a
    slots-against-threads rule); the rest has interactions between pairs."""
    par, slots = u_of(u, "parallelism.default"), u_of(u, "taskmanager.numberOfTaskSlots")
    mem = u_of(u, "taskmanager.memory.flink.size")
    threads = u_of(u, "taskmanager.network.netty.server.numThreads")
    if par > 0.35 + 0.6 * mem:  # a wide job needs memory
        return None
    if slots + threads > 1.45:
        return None
    buf = u_of(u, "execution.buffer-timeout")
    seg = u_of(u, "taskmanager.memory.segment-size")
    ck = u_of(u, "execution.checkpointing.interval")
    s = 3.0 * (par - 0.55) ** 2 + 4.0 * (buf - seg) ** 2 + 2.0 * (slots - 0.5) ** 2
    s += 3.0 * (1.0 - ck) * buf + 1.5 * (mem - 0.6) ** 2
    return 20.0 * (1.0 + 4.0 * s)


def nearest_sq(name, c):
    """min over the parameter's reachable unit values of (u - c)^2: integer ranges of at
    most 512 levels are grids (as flinktune searches them), wider ones continuous."""
    p = PARAMS[INDEX[name]]
    lo, hi = p.get("min", 0), p.get("max", 1)
    if p["kind"] == "int" and hi - lo <= 512:
        return min((to_unit(p, v) - c) ** 2 for v in range(int(lo), int(hi) + 1))
    return 0.0


def failing_interactions_opt():
    """buf = seg = 0, checkpoints at the longest interval, slots 4 (unit 0.5), memory at
    0.6, parallelism at the reachable value nearest 0.55; all feasible together."""
    return 20.0 * (1.0 + 4.0 * 3.0 * nearest_sq("parallelism.default", 0.55))


def discrete3(u):
    """Three effective parameters, two of them discrete (an enum, a power-of-two size) and
    a step in a log-scaled integer; rugged, 1 % noise."""
    transport = u_of(u, "taskmanager.network.netty.transport")
    seg = u_of(u, "taskmanager.memory.segment-size")
    arenas = from_unit(PARAMS[INDEX["taskmanager.network.netty.num-arenas"]],
                       u_of(u, "taskmanager.network.netty.num-arenas"))
    t = {0.0: 4.0, 0.5: 0.0, 1.0: 1.5}[round(transport * 2) / 2]
    s = t + 12.0 * abs(seg - at("taskmanager.memory.segment-size", 64))
    s += 0.0 if 6 <= arenas <= 9 else 2.0 + 0.1 * abs(arenas - 7.5)
    return 5.0 + 3.0 * s


def many10(u):
    """Ten weakly effective parameters, 10 % noise, a failing corner (a quarter of the
    space: large frames with few fetch threads)."""
    if u_of(u, "akka.framesize") > 0.5 and u_of(u, "blob.fetch.num-concurrent") < 0.5:
        return None
    s = sum((0.3 + 0.1 * k) * (u_of(u, n) - (0.2 + 0.06 * k)) ** 2 for k, n in enumerate(MANY))
    return 50.0 * (1.0 + s)


MANY = ["parallelism.default", "taskmanager.numberOfTaskSlots",
             "execution.checkpointing.interval", "taskmanager.network.numberOfBuffers",
             "taskmanager.memory.jvm-metaspace.size", "blob.fetch.backlog",
             "taskmanager.network.netty.client.numThreads",
             "taskmanager.network.request-backoff.initial",
             "taskmanager.network.request-backoff.max", "akka.transport.threshold"]


def many10_opt():
    return 50.0 * (1.0 + sum((0.3 + 0.1 * k) * nearest_sq(n, 0.2 + 0.06 * k)
                             for k, n in enumerate(MANY)))


SYNTHETIC = {
    # name: (function, optimum, relative noise)
    "smooth6": (smooth6, 10.0, 0.02),
    "fail-interact": (failing_interactions, None, 0.05),
    "discrete3": (discrete3, 5.0, 0.01),
    "many10": (many10, None, 0.10),
}

SIM = {"sim-16k": 16000, "sim-80k": 80000}

PROBLEMS = list(SYNTHETIC) + list(SIM)


def optimum(problem):
    if problem == "fail-interact":
        return failing_interactions_opt()
    if problem == "many10":
        return many10_opt()
    return SYNTHETIC[problem][1]


def true_value(problem, config):
    """The noise-free latency of a configuration (None: it fails)."""
    return SYNTHETIC[problem][0](units(config))


def flinktune_bin():
    return os.environ.get("FLINKTUNE_BIN", str(ROOT / "target" / "release" / "flinktune"))


def sim_study(problem, root):
    """A study directory the simulator problems' adapter reads its base configuration from."""
    d = Path(root) / f"study-{problem}"
    d.mkdir(parents=True, exist_ok=True)
    (d / "flinktune.toml").write_text(study_text(problem, None))
    return d


def adapter_command(problem, study_dir):
    here = Path(__file__).resolve()
    if problem in SIM:
        return f"{flinktune_bin()} sim-adapter --study {study_dir}"
    return f"{sys.executable} {here} adapt {problem}"


def study_text(problem, command, budget=60, seed=0):
    rate = SIM.get(problem, 16000)
    adapter = 'kind = "sim"' if command is None else f"kind = \"command\"\ncommand = {json.dumps(command)}"
    return search_study(rate, adapter, budget, seed)


def search_study(rate, adapter, budget, seed, version="1.11", catalogue="flink-1.11-key-params",
                 duration_s=60, sections="", search=""):
    """A study file for a search over the system: `adapter` is the [adapter] table's body,
    `sections` more tables before [search], `search` more lines of it."""
    return f"""flink_version = "{version}"
catalogue = "{catalogue}"
rates = [{rate}]
repeats = 1
duration_s = {duration_s}
objective = "latency"
samples = 10
seed = {seed}

[adapter]
{adapter}
{sections}
[search]
over = "system"
budget = {budget}
{search}"""


def adapt(problem):
    """The adapter: evaluates the trial's config.json, writes result.json."""
    trial = Path(os.environ["FLINKTUNE_TRIAL_DIR"])
    config = json.loads(Path(os.environ["FLINKTUNE_CONFIG_JSON"]).read_text())
    f, _, noise = SYNTHETIC[problem]
    value = f(units(config))
    if value is None:
        result = {"status": "fail", "reason": f"{problem}: this configuration cannot run"}
    else:
        rng = random.Random(f"{os.environ.get('FLINKTUNE_SEED', '0')}/{json.dumps(config, sort_keys=True)}")
        measured = value * math.exp(noise * rng.gauss(0.0, 1.0))
        result = {"status": "pass", "throughput": 16000.0, "latency_p99_ms": measured,
                  "true_latency_p99_ms": value}
    (trial / "result.json").write_text(json.dumps(result))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "adapt":
        adapt(sys.argv[2])
    else:
        sys.exit("usage: problems.py adapt PROBLEM")
