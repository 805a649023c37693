"""Times scikit-learn's RandomForestRegressor on the data `cargo bench --bench pipeline`
exports (target/forest-perf.csv, target/forest-1000x31-feasibility.csv), with the settings
flinktune's forest uses: 100 trees, all features considered at each split, one thread.

    pip install scikit-learn && python3 scripts/sklearn_forest.py [target-dir]
"""
import sys
import time

import numpy as np
from sklearn.ensemble import RandomForestRegressor

target = sys.argv[1] if len(sys.argv) > 1 else "target"
for name in ["forest-perf.csv", "forest-1000x31-feasibility.csv"]:
    data = np.loadtxt(f"{target}/{name}", delimiter=",", skiprows=1)
    x, y = data[:, :-1], data[:, -1]
    times = []
    for seed in range(5):
        forest = RandomForestRegressor(n_estimators=100, max_features=None, n_jobs=1, random_state=seed)
        t = time.perf_counter()
        forest.fit(x, y)
        times.append(time.perf_counter() - t)
    t = time.perf_counter()
    forest.predict(x)
    predict = time.perf_counter() - t
    print(f"{name}: {x.shape[0]}x{x.shape[1]}: fit median {np.median(times):.3f} s "
          f"(min {min(times):.3f}), predict {predict * 1000:.1f} ms")
