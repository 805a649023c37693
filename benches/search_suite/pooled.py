"""flinktune against its peers over the seeds of several run.py work folders: per problem and
seed set (tuning and held-out seeds also pooled as "both"; fresh seeds 200-299 apart), the
median simple regret of each method at 10, 20, 30 and 60 evaluations, and against each peer
at 20, 30 and 60 whether flinktune is ahead, level or behind — called only when the 95%
bootstrap interval of the difference of the two medians excludes zero. Only the seeds every
method ran to the full budget count.

    python3 pooled.py WORK [WORK ...] [--peers tpe,skopt] [--resamples 10000]

Why: a row of 10 seeds moves with one seed's luck, and the suite's target is judged row by
row; more seeds per set and an interval tell a gap from the seeds' noise. The simulator
problems' optimum is the best value any loaded run measured, as in run.py.
"""

import argparse
import random
import statistics
import sys
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


def row(prob, name, ours, peers, opt, resamples):
    """One table row: every method's medians, then flinktune against each peer. Each
    comparison draws its resamples from a stream of its own (seeded by the problem, the
    seed set, the peer and the count), so a verdict does not depend on which other peers
    or problems are in the table."""
    def medians(runs):
        return " / ".join(f"{statistics.median(regrets(runs, c, opt)):.3g}" for c in CHECKPOINTS)

    def call(peer, theirs, c):
        rng = random.Random(f"{prob}/{name}/{peer}/{c}")
        return f"@{c} {verdict(regrets(ours, c, opt), regrets(theirs, c, opt), rng, resamples)}"

    def calls(peer, theirs):
        return "; ".join(call(peer, theirs, c) for c in CHECKPOINTS if c > 10)

    cells = ([medians(ours)] + [medians(t) for t in peers.values()]
             + [calls(p, t) for p, t in peers.items()])
    return f"| {prob} | {name} ({len(ours)}) | {' | '.join(cells)} |"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("work", nargs="+", type=Path)
    ap.add_argument("--peers", default="tpe", help="comma-separated: tpe, skopt")
    ap.add_argument("--resamples", type=int, default=10000)
    args = ap.parse_args()
    peers = args.peers.split(",")
    results = {}
    for w in args.work:
        results.update(load(w / "results.jsonl"))
    missing = [m for m in ["flinktune"] + peers if not any(k[1] == m for k in results)]
    if missing:
        sys.exit(f"no runs of {', '.join(missing)} in {' '.join(map(str, args.work))}")
    medians = " | ".join(f"{m} @10/20/30/60" for m in ["flinktune"] + peers)
    calls = " | ".join(f"flinktune vs {p} at 20; 30; 60 (95% interval of the medians' difference)"
                       for p in peers)
    print(f"| problem | seeds (runs each) | {medians} | {calls} |")
    print("|---|---|" + "---|" * (1 + 2 * len(peers)))
    full = max(CHECKPOINTS)
    for prob in P.PROBLEMS:
        opt = optimum(prob, results)
        if opt is None:
            continue
        # Fresh seeds confirm and are never pooled with the seeds decisions were made on.
        sets = [("tuning", SETS["tuning"]), ("held out", SETS["held out"]),
                ("both", range(0, 200)), ("fresh", SETS["fresh"])]
        for name, seeds in sets:
            by_seed = {m: {s: v for (p, mm, s), v in results.items()
                           if p == prob and mm == m and s in seeds and len(v) >= full}
                       for m in ["flinktune"] + peers}
            common = sorted(set.intersection(*(set(r) for r in by_seed.values())))
            if not common:
                continue
            runs = {m: [r[s] for s in common] for m, r in by_seed.items()}
            ours = runs.pop("flinktune")
            print(row(prob, name, ours, runs, opt, args.resamples))


if __name__ == "__main__":
    main()
