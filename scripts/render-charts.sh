#!/bin/sh
# Every chart flinktune draws, produced from the built-in simulator and converted to PNG:
#
#   scripts/render-charts.sh [OUT]      (default OUT: target/charts)
#
# OUT/studies/ holds the studies (the quick start, the same study searched for three
# objectives, the Demeter example) and OUT/*.svg, OUT/*.png one copy of each chart:
#   effects           determine: screening importance (bar chart)
#   learning_curve    model: test MAPE of the six regressors vs training configurations
#   importance        model: permutation importance of the saved regressor
#   predicted_vs_measured  model: held-out predictions against measurements
#   convergence       compare: best so far per method
#   pareto            search with three objectives: pairwise Pareto panels
#   timeline          adapt --trace: input rate and requested cores per policy
#   forecast          forecast: the held-out check and the forecast with its interval
#
# Needs rsvg-convert (Debian: apt-get install librsvg2-bin). PROFILE=release uses a
# release build (faster runs, a long first build).
set -eu
cd "$(dirname "$0")/.."
out=${1:-target/charts}
command -v rsvg-convert >/dev/null ||
    { echo "render-charts: rsvg-convert is missing (apt-get install librsvg2-bin)" >&2; exit 1; }
profile=${PROFILE:-debug}
if [ "$profile" = release ]; then
    cargo build --release --bin flinktune
else
    cargo build --bin flinktune
fi
ft="$PWD/target/$profile/flinktune"
rm -rf "$out/studies"
mkdir -p "$out/studies"
studies="$out/studies"

# The quick start: every stage, then the optimisers compared and the parameters screened.
cp -r examples/quickstart "$studies/quickstart"
"$ft" -q tune "$studies/quickstart" >/dev/null
"$ft" -q compare "$studies/quickstart" --budget 30 --seeds 3 >/dev/null
"$ft" -q determine "$studies/quickstart" >/dev/null

# The multi-objective search: the quick start's study over the system, three objectives.
mkdir -p "$studies/multi"
sed -e 's/^\[search\]$/[search]\nover = "system"\nobjectives = ["latency_p99_ms:min", "cpu_requested:min", "recovery_time_s:min"]\nconstraints = ["recovery_time_s <= 180"]/' \
    -e 's/^budget = 80$/budget = 40/' \
    examples/quickstart/flinktune.toml >"$studies/multi/flinktune.toml"
"$ft" -q search "$studies/multi" >/dev/null

# Demeter: a replay of the example's rate history, and the history's forecast.
cp -r examples/demeter "$studies/demeter"
"$ft" -q adapt "$studies/demeter" --trace "$studies/demeter/rates.csv" >/dev/null
"$ft" -q forecast "$studies/demeter/rates.csv" --horizon 12 -o "$studies/demeter/forecast" >/dev/null

for svg in \
    "$studies/quickstart/determine/effects.svg" \
    "$studies/quickstart/model/learning_curve.svg" \
    "$studies/quickstart/model/importance.svg" \
    "$studies/quickstart/model/predicted_vs_measured.svg" \
    "$studies/quickstart/compare/convergence.svg" \
    "$studies/multi/search/pareto.svg" \
    "$studies/demeter/adapt/timeline.svg" \
    "$studies/demeter/forecast/forecast.svg"; do
    name=$(basename "$svg" .svg)
    cp "$svg" "$out/$name.svg"
    rsvg-convert --background-color=white -o "$out/$name.png" "$svg"
    echo "$out/$name.png"
done
