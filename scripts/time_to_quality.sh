#!/bin/sh
# Time to quality on the simulator (benches/search_suite/time_to_quality.py): how many
# evaluations a 30-evaluation search over the system of the simulated wordcount job at
# 20 000 rec/s needs to reach 90 % of the best improvement over Flink's default any run
# found, per seed and in median. The proxy for the real-Flink measurement in BENCHMARKS.md.
#
#   scripts/time_to_quality.sh [--label NAME] [--seeds 0-11] [--work DIR] [--report-only]
#
# PROFILE=debug (the default) builds the dev profile, where flinktune-opt is at opt-level 3.
set -eu
cd "$(dirname "$0")/.."
profile=${PROFILE:-debug}
if [ "$profile" = release ]; then
    cargo build --release --bin flinktune
else
    cargo build --bin flinktune
fi
exec python3 benches/search_suite/time_to_quality.py --bin "$PWD/target/$profile/flinktune" "$@"
