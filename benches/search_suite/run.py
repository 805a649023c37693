"""Runs flinktune, Optuna's TPE and scikit-optimize's gp_minimize on the suite's problems
(problems.py) through the same adapter command, on the same seeds, and prints the median
simple regret at 10, 20, 30 and 60 evaluations, tuning and held-out seeds apart.

Each run's per-evaluation values go to WORK/results.jsonl (one line per run), so a run
interrupted or extended reuses what is there.
"""

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import problems as P

CHECKPOINTS = [10, 20, 30, 60]


def evaluate(problem, command, trial_dir, config, seed):
    """One evaluation through the adapter protocol: (measured, true) latency or None."""
    if trial_dir.exists():
        shutil.rmtree(trial_dir)
    (trial_dir / "conf").mkdir(parents=True)
    (trial_dir / "config.json").write_text(json.dumps(config))
    env = dict(os.environ, FLINKTUNE_TRIAL_DIR=str(trial_dir),
               FLINKTUNE_CONF_DIR=str(trial_dir / "conf"),
               FLINKTUNE_CONFIG_JSON=str(trial_dir / "config.json"),
               FLINKTUNE_RATE=str(P.SIM.get(problem, 16000)), FLINKTUNE_DURATION_S="60",
               FLINKTUNE_REPEAT="0", FLINKTUNE_SEED=str(seed), FLINKTUNE_WORKER="0")
    subprocess.run(command, shell=True, env=env, check=True, stdin=subprocess.DEVNULL)
    result = json.loads((trial_dir / "result.json").read_text())
    if result.get("status") != "pass":
        return None
    return result["latency_p99_ms"], result.get("true_latency_p99_ms", result["latency_p99_ms"])


def peer_space():
    """The peers search the unit scale of every numeric parameter (log where the catalogue
    says so, as flinktune does) and the choices of enums and bools."""
    return [(p, p["kind"] in ("enum", "bool")) for p in P.PARAMS]


def choices(p):
    return p["values"] if p["kind"] == "enum" else [False, True]


def choice(p, v):
    return bool(v) if p["kind"] == "bool" else str(v)


def run_optuna(problem, command, work, seed, budget):
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed))
    values = []

    def objective(trial):
        config = {}
        for p, categorical in peer_space():
            if categorical:
                config[p["name"]] = trial.suggest_categorical(p["name"], choices(p))
            else:
                config[p["name"]] = P.from_unit(p, trial.suggest_float(p["name"], 0.0, 1.0))
        out = evaluate(problem, command, work / f"t{trial.number:04d}", config, seed)
        values.append(None if out is None else out[1])
        # A configuration that fails is a failed trial: TPE leaves it out of its densities.
        return float("nan") if out is None else math.log(out[0])

    study.optimize(objective, n_trials=budget)
    return values


def run_skopt(problem, command, work, seed, budget):
    from skopt import gp_minimize
    from skopt.space import Categorical, Real
    space = [Categorical(choices(p)) if c else Real(0.0, 1.0) for p, c in peer_space()]
    values, seen = [], []

    def objective(x):
        config = {}
        for (p, categorical), v in zip(peer_space(), x):
            # numpy scalars to JSON's types
            config[p["name"]] = choice(p, v) if categorical else P.from_unit(p, float(v))
        out = evaluate(problem, command, work / f"t{len(values):04d}", config, seed)
        values.append(None if out is None else out[1])
        if out is None:
            # gp_minimize needs a number: a failure counts as twice the worst seen.
            return max(seen, default=math.log(1e4)) + math.log(2.0)
        seen.append(math.log(out[0]))
        return seen[-1]

    # Sampling 1 000 points per suggestion (the default for a space with categoricals, at a
    # tenth of its default 10 000) halves gp_minimize's time per evaluation; its GP fit is
    # the rest.
    gp_minimize(objective, space, n_calls=budget, random_state=seed,
                acq_optimizer="sampling", n_points=SKOPT_POINTS)
    return values


# Points gp_minimize samples to maximise its acquisition per suggestion (default 10 000).
SKOPT_POINTS = 1000


def run_flinktune(problem, command, work, seed, budget):
    study = work / "study"
    text = P.study_text(problem, command, budget, seed)
    finished = (study / "search" / "summary.json").exists() and \
        (study / "flinktune.toml").read_text() == text
    if not finished:
        # A finished search of the same study (results.jsonl lost) is read again, not rerun.
        if study.exists():
            shutil.rmtree(study)
        study.mkdir(parents=True)
        (study / "flinktune.toml").write_text(text)
        cpu = run_measuring_cpu([P.flinktune_bin(), "search", str(study), "--over", "system"])
    values = []
    with open(study / "search" / "journal.jsonl") as f:
        for line in f:
            step = json.loads(line)
            if "evaluation" not in step:
                continue  # the journal's header
            trial = step_trial_dir(study, len(values))
            result = json.loads((trial / "result.json").read_text())
            if result.get("status") != "pass":
                values.append(None)
            else:
                values.append(result.get("true_latency_p99_ms", result["latency_p99_ms"]))
    if not finished:
        OVERHEAD[(problem, seed)] = cpu / max(1, len(values))
    return values


def run_measuring_cpu(argv):
    """Runs argv and returns its own CPU time (user + system, s), its adapters' excluded:
    the optimiser's overhead. Read from /proc/PID/stat while it runs (the last reading
    misses at most the final poll interval, when only the outputs are written)."""
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = 0.0
    while proc.poll() is None:
        try:
            fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            cpu = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
        except (OSError, IndexError, ValueError):
            pass
        time.sleep(0.2)
    if proc.returncode != 0:
        raise subprocess.CalledProcessError(proc.returncode, argv)
    return cpu


# The optimiser's CPU seconds per evaluation of each flinktune run (problem, seed).
OVERHEAD = {}


def step_trial_dir(study, i):
    """The trial directory of the i-th evaluation (its one repeat)."""
    base = study / "search" / "trials"
    matches = sorted(base.glob(f"e{i:04d}*"))
    d = matches[0]
    inner = [c for c in d.iterdir() if c.is_dir() and (c / "result.json").exists()]
    return inner[0] if (not (d / "result.json").exists() and inner) else d


RUNNERS = {"flinktune": run_flinktune, "tpe": run_optuna, "skopt": run_skopt}


def best_so_far(values, n):
    ok = [v for v in values[:n] if v is not None]
    return min(ok) if ok else None


def table(results, problems, methods, seeds, optima):
    lines = []
    header = "| problem | method | " + " | ".join(f"@{c}" for c in CHECKPOINTS) + " |"
    lines.append(header)
    lines.append("|" + "---|" * (2 + len(CHECKPOINTS)))
    for prob in problems:
        for m in methods:
            cells = []
            for c in CHECKPOINTS:
                regrets = []
                for s in seeds:
                    vals = results.get((prob, m, s))
                    if vals is None or len(vals) < c:
                        continue
                    b = best_so_far(vals, c)
                    regrets.append(float("inf") if b is None else b - optima[prob])
                cells.append(f"{statistics.median(regrets):.3g} ({len(regrets)})" if regrets else "–")
            lines.append(f"| {prob} | {m} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--work", default=str(P.ROOT / "target" / "search-suite"))
    ap.add_argument("--problems", default=",".join(P.PROBLEMS))
    ap.add_argument("--methods", default="flinktune,tpe,skopt")
    ap.add_argument("--tuning-seeds", default="0-9")
    ap.add_argument("--heldout-seeds", default="100-109")
    ap.add_argument("--budget", type=int, default=60)
    ap.add_argument("--skopt-budget", type=int, default=None,
                    help="gp_minimize's budget (it is slow at 60 in 30 dimensions)")
    ap.add_argument("--report-only", action="store_true",
                    help="print the tables from WORK/results.jsonl without running anything")
    args = ap.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    problems = args.problems.split(",")
    methods = args.methods.split(",")
    tuning, heldout = seed_range(args.tuning_seeds), seed_range(args.heldout_seeds)
    results = load(work / "results.jsonl")
    for prob in problems:
        study_dir = P.sim_study(prob, work) if prob in P.SIM else None
        command = P.adapter_command(prob, study_dir)
        # Tuning and held-out seeds alternate, so a run cut short has both sets in step.
        for seed in interleave(tuning, heldout):
            for m in methods:
                budget = args.skopt_budget if (m == "skopt" and args.skopt_budget) else args.budget
                have = results.get((prob, m, seed))
                if args.report_only or (have is not None and len(have) >= budget):
                    continue
                t0 = time.time()
                vals = RUNNERS[m](prob, command, work / prob / m / f"seed-{seed}", seed, budget)
                secs = time.time() - t0
                results[(prob, m, seed)] = vals
                row = {"problem": prob, "method": m, "seed": seed, "values": vals,
                       "seconds": secs}
                if (prob, seed) in OVERHEAD and m == "flinktune":
                    row["cpu_per_evaluation"] = OVERHEAD[(prob, seed)]
                with open(work / "results.jsonl", "a") as f:
                    f.write(json.dumps(row) + "\n")
                print(f"{prob} {m} seed {seed}: {len(vals)} evaluations in {secs:.1f} s",
                      file=sys.stderr)
    optima = {p: optimum(p, results) for p in problems}
    problems = [p for p in problems if optima[p] is not None]  # a simulator problem not run yet
    for name, seeds in (("tuning seeds", tuning), ("held-out seeds", heldout)):
        if not seeds:
            continue
        print(f"\nMedian simple regret (p99 latency, ms; runs in brackets), {name} {seeds[0]}..{seeds[-1]}:\n")
        print(table(results, problems, methods, seeds, optima))
    cpu = load_overhead(work / "results.jsonl", problems)
    if cpu:
        print(f"\nflinktune's own CPU time per evaluation (adapters excluded), median of "
              f"{len(cpu)} runs: {1000 * statistics.median(cpu):.1f} ms, max "
              f"{1000 * max(cpu):.1f} ms")


def optimum(prob, results):
    """The known optimum, or for the simulator the best value any run measured."""
    if prob in P.SYNTHETIC:
        return P.optimum(prob)
    vals = [v for (p, _, _), vs in results.items() if p == prob for v in vs if v is not None]
    return min(vals, default=None)


def load_overhead(path, problems):
    """Every recorded flinktune run's CPU seconds per evaluation on `problems`."""
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    return [r["cpu_per_evaluation"] for r in rows
            if r["problem"] in problems and "cpu_per_evaluation" in r]


def interleave(a, b):
    out = []
    for i in range(max(len(a), len(b))):
        out += a[i:i + 1] + b[i:i + 1]
    return out


def seed_range(text):
    a, _, b = text.partition("-")
    return list(range(int(a), int(b or a) + 1))


def load(path):
    results = {}
    if path.exists():
        for line in path.read_text().splitlines():
            r = json.loads(line)
            results[(r["problem"], r["method"], r["seed"])] = r["values"]
    return results


if __name__ == "__main__":
    main()
