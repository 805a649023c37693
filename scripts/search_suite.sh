#!/bin/sh
# The search suite (benches/search_suite): flinktune, Optuna's TPE and scikit-optimize's
# gp_minimize on four synthetic Flink-shaped problems and the simulator at two rates, all
# through the adapter protocol, on the same seeds; prints the median simple regret at 10,
# 20, 30 and 60 evaluations, tuning seeds and held-out seeds apart.
#
#   scripts/search_suite.sh [run.py options]    e.g. --problems smooth6 --methods flinktune,tpe
#
# The peers are installed into a venv under target/ (pip: optuna, scikit-optimize).
set -eu
cd "$(dirname "$0")/.."
venv=target/search-suite-venv
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/python" -c "import optuna, skopt" 2>/dev/null ||
    "$venv/bin/pip" install --quiet optuna scikit-optimize
profile=${PROFILE:-release}
if [ "$profile" = release ]; then
    cargo build --release --bin flinktune
else
    cargo build --bin flinktune
fi
export FLINKTUNE_BIN="$PWD/target/$profile/flinktune"
# One BLAS thread per process: on a small shared machine numpy's default thread pool
# oversubscribes the cores, and scikit-optimize's GP fit spends most of its wall time
# waiting on them.
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
cd benches/search_suite
exec "../../$venv/bin/python" run.py "$@"
