"""Precision and recall of `flinktune determine` selections against the simulator's ground
truth (examples/screening_truth.rs): active = a noise-free |change of ln perf| of at least
1% somewhere; inert = no change and no run/fail flip anywhere.

    cargo run --release --example screening_truth -- STUDY > truth.csv
    python3 scripts/screening_quality.py truth.csv STUDY [STUDY ...]
"""
import csv
import sys

truth = {r["param"]: r for r in csv.DictReader(open(sys.argv[1]))}
active = {k for k, r in truth.items() if float(r["max_effect"]) >= 0.01}
inert = {k for k, r in truth.items() if float(r["max_effect"]) == 0 and int(r["flips"]) == 0}
print(f"active {len(active)}, inert {len(inert)}, other {len(truth) - len(active) - len(inert)}")
for study in sys.argv[2:]:
    rows = list(csv.DictReader(open(f"{study}/determine/effects.csv")))
    sel = {r["param"] for r in rows if r["selected"] == "true"}
    tp = len(sel & active)
    print(f"{study}: selected {len(sel)}, precision {tp / max(len(sel), 1):.2f}, "
          f"recall {tp / max(len(active), 1):.2f}, inert selected {sorted(sel & inert)}, "
          f"missed {sorted(active - sel)}")
