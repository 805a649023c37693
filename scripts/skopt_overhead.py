"""Tuner overhead of scikit-optimize's gp_minimize (GP + EI) on the same problem as
benches/overhead.rs: 60 evaluations of a cheap 30-dimensional function, 10 initial points.
Prints the median and mean seconds per evaluation as JSON. Used by `cargo bench --bench overhead`.
"""
import json
import sys
import time

import numpy as np
from skopt import gp_minimize

DIMS, CALLS, INITIAL = 30, 60, 10


def objective(x):
    # The same function as the Rust bench, negated: skopt minimises.
    x = np.asarray(x)
    return -(-((x[0] - 0.3) ** 2) - 2.0 * (x[1] - 0.7) ** 2 + np.sin(3.0 * x[2]) + 0.1 * x[3])


def main():
    stamps = [time.perf_counter()]
    gp_minimize(
        objective,
        [(0.0, 1.0)] * DIMS,
        acq_func="EI",
        n_calls=CALLS,
        n_initial_points=INITIAL,
        random_state=int(sys.argv[1]) if len(sys.argv) > 1 else 0,
        callback=lambda _res: stamps.append(time.perf_counter()),
    )
    per_eval = np.diff(stamps)[INITIAL:]  # model-based evaluations only
    print(json.dumps({"median_s": float(np.median(per_eval)), "mean_s": float(np.mean(per_eval))}))


if __name__ == "__main__":
    main()
