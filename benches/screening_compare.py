"""Paired comparison of two runs of the screening bench (benches/screening.rs) on the same
seeds: per problem and method, both runs' mean precision and recall, how many seeds the
second run found more of the active keys on and how many fewer (the runs better / worse of
BENCHMARKS.md), and per key how often each run missed it or selected it while inert.

    target/debug/deps/screening-<hash> --bench groups 80 sim@16000 2> a.log
    (an experimental build)           --bench groups 80 sim@16000 2> b.log
    python3 benches/screening_compare.py a.log b.log

The logs are the bench's standard error: one line per seed. Only seeds both logs hold are
compared. Why paired counts beside the means: a change to the method moves many seeds' runs
both ways, and a difference of 0.01 in mean recall over 80 seeds is within what the seeds
give; the counts show whether a change wins on most of the seeds it touches.
"""

import argparse
import ast
import re
import sys
from collections import Counter

LINE = re.compile(
    r"^(?P<problem>\S+) (?P<method>\S+) seed (?P<seed>\d+): selected \d+, "
    r"precision (?P<precision>[\d.]+) \(strict [\d.]+\), recall (?P<recall>[\d.]+), "
    r"(?P<trials>\d+) trials; missed (?P<missed>\[.*?\]); inert selected (?P<wrong>\[.*?\])$"
)


def load(path):
    """{(problem, method): {seed: run}} from a bench log; other lines are skipped."""
    try:
        with open(path, encoding="utf-8") as f:
            return parse(path, f)
    except OSError as e:
        sys.exit(f"{path}: cannot read the log: {e.strerror}")


def parse(path, lines):
    """The seeds' lines of an open log; `path` names it in errors."""
    runs = {}
    for n, line in enumerate(lines, 1):
        m = LINE.match(line.strip())
        if not m:
            continue
        try:
            run = {
                "precision": float(m["precision"]),
                "recall": float(m["recall"]),
                "trials": int(m["trials"]),
                "missed": ast.literal_eval(m["missed"]),
                "wrong": ast.literal_eval(m["wrong"]),
            }
        except (ValueError, SyntaxError) as e:
            sys.exit(f"{path}:{n}: cannot read the seed's line: {e}")
        runs.setdefault((m["problem"], m["method"]), {})[int(m["seed"])] = run
    return runs


def mean(xs):
    return sum(xs) / len(xs) if xs else float("nan")


def compare(name, a, b):
    seeds = sorted(set(a) & set(b))
    if not seeds:
        return
    pa, pb = ([r[s] for s in seeds] for r in (a, b))
    better = sum(y["recall"] > x["recall"] for x, y in zip(pa, pb))
    worse = sum(y["recall"] < x["recall"] for x, y in zip(pa, pb))
    print(f"## {name[0]} {name[1]}: {len(seeds)} seeds ({seeds[0]}–{seeds[-1]})")
    print()
    print("| run | precision | recall | trials (mean) |")
    print("|---|---|---|---|")
    for label, runs in (("A", pa), ("B", pb)):
        print(f"| {label} | {mean([r['precision'] for r in runs]):.3f} | "
              f"{mean([r['recall'] for r in runs]):.3f} | {mean([r['trials'] for r in runs]):.0f} |")
    print()
    print(f"B against A, runs better / worse by recall: {better} / {worse}")
    print()
    missed = [Counter(k for r in runs for k in r["missed"]) for runs in (pa, pb)]
    wrong = [Counter(k for r in runs for k in r["wrong"]) for runs in (pa, pb)]
    keys = sorted(set(missed[0]) | set(missed[1]) | set(wrong[0]) | set(wrong[1]))
    if keys:
        print("| key | missed A | missed B | inert, selected A | inert, selected B |")
        print("|---|---|---|---|---|")
        for k in keys:
            print(f"| {k} | {missed[0][k]} | {missed[1][k]} | {wrong[0][k]} | {wrong[1][k]} |")
        print()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("a", help="the screening bench's log of the first run (the baseline)")
    ap.add_argument("b", help="the log of the second run (the variant)")
    args = ap.parse_args()
    a, b = load(args.a), load(args.b)
    shared = sorted(set(a) & set(b))
    if not shared:
        sys.exit(f"{args.a} and {args.b} share no problem and method with seeds graded")
    for name in shared:
        compare(name, a[name], b[name])


if __name__ == "__main__":
    main()
