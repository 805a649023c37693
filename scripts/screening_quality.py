"""Precision and recall of `flinktune determine` selections against the simulator's ground
truth (examples/screening_truth.rs): active = a noise-free |change of ln perf| of at least
1% somewhere; inert = no change and no run/fail flip anywhere. Also prints each study's
budget: configurations, runs (trials, skipped pre-check failures included) and the share
that could not run.

    cargo run --release --example screening_truth -- STUDY > truth.csv
    python3 scripts/screening_quality.py truth.csv STUDY [STUDY ...]
"""
import csv
import json
import sys

truth = {r["param"]: r for r in csv.DictReader(open(sys.argv[1]))}
active = {k for k, r in truth.items() if float(r["max_effect"]) >= 0.01}
inert = {k for k, r in truth.items() if float(r["max_effect"]) == 0 and int(r["flips"]) == 0}
print(f"active {len(active)}, inert {len(inert)}, other {len(truth) - len(active) - len(inert)}")
for study in sys.argv[2:]:
    rows = list(csv.DictReader(open(f"{study}/determine/effects.csv")))
    sel = {r["param"] for r in rows if r["selected"] == "true"}
    tp = len(sel & active)
    s = json.load(open(f"{study}/determine/summary.json"))
    print(f"{study}: selected {len(sel)}, precision {tp / max(len(sel), 1):.2f}, "
          f"recall {tp / max(len(active), 1):.2f}, configurations {s['configurations']} "
          f"({s['trials']} runs), could not run {s['failed_configurations']} "
          f"({s['failed_configurations'] / max(s['configurations'], 1):.0%}), "
          f"inert selected {sorted(sel & inert)}, missed {sorted(active - sel)}")
