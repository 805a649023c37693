"""flinktune against one peer over the seeds of several run.py work folders: per problem and
seed set (and both sets pooled), the median simple regret of each at 10, 20, 30 and 60
evaluations, and at 20, 30 and 60 whether flinktune is ahead, level or behind — called only
when the 95% bootstrap interval of the difference of the two medians excludes zero.

    python3 pooled.py WORK [WORK ...] [--peer tpe] [--resamples 2000]

Why: a row of 10 seeds moves with one seed's luck, and the suite's target is judged row by
row; more seeds per set and an interval tell a gap from the seeds' noise. The simulator
problems' optimum is the best value any loaded run measured, as in run.py.
"""

import argparse
import random
import statistics
from pathlib import Path

import problems as P
from compare import SETS
from run import CHECKPOINTS, best_so_far, load, optimum


def regrets(runs, count, opt):
    """Each run's simple regret after `count` evaluations (inf when nothing ran)."""
    out = []
    for values in runs:
        best = best_so_far(values, count)
        out.append(float("inf") if best is None else best - opt)
    return out


def verdict(ours, theirs, rng, resamples):
    """ahead / level / behind by the bootstrap interval of median(ours) - median(theirs)."""
    diffs = sorted(
        statistics.median(rng.choices(ours, k=len(ours)))
        - statistics.median(rng.choices(theirs, k=len(theirs)))
        for _ in range(resamples)
    )
    lo, hi = diffs[int(0.025 * resamples)], diffs[int(0.975 * resamples) - 1]
    word = "ahead" if hi < 0 else "behind" if lo > 0 else "level"
    return f"{word} [{lo:.3g}, {hi:.3g}]"


def row(prob, name, ours, theirs, opt, rng, resamples):
    def medians(runs):
        return " / ".join(f"{statistics.median(regrets(runs, c, opt)):.3g}" for c in CHECKPOINTS)

    calls = [f"@{c} {verdict(regrets(ours, c, opt), regrets(theirs, c, opt), rng, resamples)}"
             for c in CHECKPOINTS if c > 10]
    seeds = f"{name} ({len(ours)}/{len(theirs)})"
    return f"| {prob} | {seeds} | {medians(ours)} | {medians(theirs)} | {'; '.join(calls)} |"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("work", nargs="+", type=Path)
    ap.add_argument("--peer", default="tpe")
    ap.add_argument("--resamples", type=int, default=2000)
    args = ap.parse_args()
    results = {}
    for w in args.work:
        results.update(load(w / "results.jsonl"))
    rng = random.Random(1)
    print(f"| problem | seeds | flinktune @10/20/30/60 | {args.peer} @10/20/30/60 | "
          "flinktune at 20; 30; 60 (95% interval of the medians' difference) |")
    print("|---|---|---|---|---|")
    full = max(CHECKPOINTS)
    for prob in P.PROBLEMS:
        opt = optimum(prob, results)
        if opt is None:
            continue
        sets = list(SETS.items()) + [("both", range(0, 200))]
        for name, seeds in sets:
            def runs(method):
                return [v for (p, m, s), v in sorted(results.items())
                        if p == prob and m == method and s in seeds and len(v) >= full]
            ours, theirs = runs("flinktune"), runs(args.peer)
            if ours and theirs:
                print(row(prob, name, ours, theirs, opt, rng, args.resamples))


if __name__ == "__main__":
    main()
