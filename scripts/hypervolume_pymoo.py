"""Times pymoo's exact hypervolume on the fronts `crates/opt/benches/hypervolume.rs` writes,
for the same run's comparison. Creates target/venv-pymoo with pymoo on first use.

    python3 scripts/hypervolume_pymoo.py FRONTS.json   # prints one JSON line per front
Input: [{"reference": [...], "front": [[...], ...], "point": [...]}, ...]
Output per front: {"hv": value, "hv_s": median seconds of one HV,
                   "with_point_hv": HV of front + point}
"""
import json
import os
import subprocess
import sys
import time
import venv

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(ROOT, "target", "venv-pymoo")


def ensure_venv():
    if os.environ.get("HV_PYMOO_IN_VENV"):
        return
    python = os.path.join(VENV, "bin", "python")
    if not os.path.exists(python):
        venv.create(VENV, with_pip=True)
        subprocess.check_call([python, "-m", "pip", "install", "-q", "pymoo==0.6.2"])
    env = dict(os.environ, HV_PYMOO_IN_VENV="1")
    sys.exit(subprocess.call([python, __file__] + sys.argv[1:], env=env))


def timed(f, budget_s=0.2):
    """Median seconds of f() over repeats within about budget_s (at least 3)."""
    times = []
    start = time.perf_counter()
    while len(times) < 3 or (time.perf_counter() - start < budget_s and len(times) < 1000):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    times.sort()
    return times[len(times) // 2]


def main():
    ensure_venv()
    import numpy as np
    from pymoo.indicators.hv import HV

    for case in json.load(open(sys.argv[1])):
        front = np.array(case["front"])
        with_point = np.vstack([front, np.array(case["point"])])
        hv = HV(ref_point=np.array(case["reference"]))
        print(json.dumps({
            "hv": float(hv(front)),
            "hv_s": timed(lambda: hv(front)),
            "with_point_hv": float(hv(with_point)),
        }), flush=True)


if __name__ == "__main__":
    main()
