"""Paired comparison of two flinktune variants on the suite: for each problem and seed set,
how many runs of variant B reach a better (lower) best-so-far p99 than variant A's run on
the same seed at 10, 20, 30 and 60 evaluations, and how many a worse one (ties count as
neither), beside both variants' median simple regret.

    python3 compare.py WORK_A WORK_B [--peers WORK]

WORK_A and WORK_B are run.py work folders holding flinktune runs (results.jsonl). Only seeds
both ran to 60 evaluations are compared. The simulator problems' optimum is the best value
any run in the folders measured (with --peers, the peers' runs count too), as in run.py.

Why paired counts beside the medians: a median over 10 seeds moves with one seed's luck,
while the same seed's two runs share the initial design and the noise draws up to the first
suggestion where the variants differ.
"""

import argparse
import statistics
from pathlib import Path

import problems as P
from run import CHECKPOINTS, best_so_far, load, optimum

# Seeds 0-199 are the tuning and held-out sets changes to the search were judged on; seeds
# 200-299 are kept for confirming the search as it stands, on runs no decision has seen.
SETS = {"tuning": range(0, 100), "held out": range(100, 200), "fresh": range(200, 300)}
# Two runs that found the same configuration can differ in the last bits of its value.
TIE = 1e-9


def flinktune_runs(folder):
    return {(p, s): v for (p, m, s), v in load(Path(folder) / "results.jsonl").items()
            if m == "flinktune"}


def best(values, n):
    b = best_so_far(values, n)
    return float("inf") if b is None else b


def row(prob, name, seeds, a, b, opt):
    def medians(runs):
        return " / ".join(f"{statistics.median(best(runs[(prob, s)], c) - opt for s in seeds):.3g}"
                          for c in CHECKPOINTS)

    counts = []
    for c in CHECKPOINTS:
        pairs = [(best(a[(prob, s)], c), best(b[(prob, s)], c)) for s in seeds]
        better = sum(y < x - TIE for x, y in pairs)
        worse = sum(y > x + TIE for x, y in pairs)
        counts.append(f"{better}/{worse}")
    return f"| {prob} | {name} | {len(seeds)} | {medians(a)} | {medians(b)} | {' '.join(counts)} |"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--peers", help="a work folder whose runs also count for the simulator's optimum")
    args = ap.parse_args()
    a, b = flinktune_runs(args.a), flinktune_runs(args.b)
    everything = {(p, "a", s): v for (p, s), v in a.items()}
    everything.update({(p, "b", s): v for (p, s), v in b.items()})
    if args.peers:
        everything.update(load(Path(args.peers) / "results.jsonl"))
    print("| problem | seeds | runs | A @" + " / @".join(map(str, CHECKPOINTS))
          + " | B (same) | B better/worse than A @" + " / @".join(map(str, CHECKPOINTS)) + " |")
    print("|---|---|---|---|---|---|")
    for prob in P.PROBLEMS:
        opt = optimum(prob, everything)
        for name, span in SETS.items():
            seeds = sorted(s for (p, s), v in a.items()
                           if p == prob and s in span and len(v) >= max(CHECKPOINTS)
                           and len(b.get((p, s), [])) >= max(CHECKPOINTS))
            if seeds and opt is not None:
                print(row(prob, name, seeds, a, b, opt))


if __name__ == "__main__":
    main()
