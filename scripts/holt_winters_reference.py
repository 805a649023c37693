"""statsmodels' additive Holt-Winters fit of a fixed synthetic series: the reference the
Holt-Winters fit in crates/opt/src/forecast is tested against.

The series (10 seasons of 24 steps: a level, a trend that bends halfway, a seasonal
pattern, seeded normal noise) is fitted on its first 8 seasons with statsmodels'
ExponentialSmoothing (additive trend and season) from the same initial state flinktune
uses (a line through the first four season means gives level and trend, the mean
detrended value per position the seasonal; see holt_winters::initial_state), so only
alpha, beta, gamma are fitted, as in flinktune. Writes the series, the initial state,
statsmodels' parameters, SSE and 48-step forecast to
crates/opt/src/forecast/holt_winters/statsmodels.json.

    python3 scripts/holt_winters_reference.py   # creates a venv with statsmodels first
"""
import json
import os
import subprocess
import sys
import venv

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
VENV = os.path.join(ROOT, "target", "venv-holt-winters")
OUT = os.path.join(ROOT, "crates", "opt", "src", "forecast", "holt_winters", "statsmodels.json")
M, SEASONS, TRAIN_SEASONS = 24, 10, 8


def ensure_venv():
    """Re-runs this script inside a venv that has statsmodels."""
    if os.environ.get("HW_REFERENCE_IN_VENV"):
        return
    python = os.path.join(VENV, "bin", "python")
    if not os.path.exists(python):
        venv.create(VENV, with_pip=True)
        subprocess.check_call([python, "-m", "pip", "install", "-q", "statsmodels==0.15.0"])
    env = dict(os.environ, HW_REFERENCE_IN_VENV="1")
    sys.exit(subprocess.call([python, __file__] + sys.argv[1:], env=env))


def series(np):
    rng = np.random.RandomState(16)
    t = np.arange(M * SEASONS)
    trend = np.where(t < M * 5, 1.2 * t, 1.2 * M * 5 + 0.3 * (t - M * 5))
    season = 40 * np.sin(2 * np.pi * t / M) + 15 * np.cos(4 * np.pi * t / M)
    return 800 + trend + season + rng.normal(0, 12, t.size)


def initial_state(np, y):
    """flinktune's initial state (the same formula as holt_winters::initial_state)."""
    k = min(len(y) // M, 4)
    means = np.array([y[i * M:(i + 1) * M].mean() for i in range(k)])
    x = np.arange(k) - (k - 1) / 2
    per_season = (x * (means - means.mean())).sum() / (x * x).sum()
    trend = per_season / M
    first_mean = means.mean() - per_season * (k - 1) / 2
    a = first_mean - trend * (M - 1) / 2
    seasonal = np.array(
        [np.mean([y[i * M + j] - (a + trend * (i * M + j)) for i in range(k)]) for j in range(M)]
    )
    seasonal -= seasonal.mean()
    return a - trend, trend, seasonal


def main():
    ensure_venv()
    import numpy as np
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    y = series(np)
    train, test = y[: M * TRAIN_SEASONS], y[M * TRAIN_SEASONS:]
    level, trend, seasonal = initial_state(np, train)
    model = ExponentialSmoothing(
        train,
        trend="add",
        seasonal="add",
        seasonal_periods=M,
        initialization_method="known",
        initial_level=level,
        initial_trend=trend,
        initial_seasonal=seasonal,
    )
    fit = model.fit(optimized=True, use_brute=True)
    forecast = fit.forecast(len(test))
    p = fit.params
    out = {
        "source": "statsmodels %s ExponentialSmoothing(trend='add', seasonal='add', "
        "initialization_method='known').fit(use_brute=True)" % __import__("statsmodels").__version__,
        "season": M,
        "train": train.tolist(),
        "test": test.tolist(),
        "initial": {"level": level, "trend": trend, "seasonal": seasonal.tolist()},
        "alpha": p["smoothing_level"],
        # statsmodels' smoothing_trend is flinktune's beta (the share of a level change
        # that goes into the trend).
        "beta": p["smoothing_trend"],
        "gamma": p["smoothing_seasonal"],
        "sse": float(fit.sse),
        "forecast": forecast.tolist(),
        "rmse": float(np.sqrt(np.mean((forecast - test) ** 2))),
    }
    with open(OUT, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print(json.dumps({k: out[k] for k in ["alpha", "beta", "gamma", "sse", "rmse"]}))


if __name__ == "__main__":
    main()
