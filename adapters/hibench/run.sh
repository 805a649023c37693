#!/bin/sh
# flinktune adapter: one trial as a HiBench streaming benchmark (Flink + Kafka).
#   run.sh identity|repartition|wordcount|fixwindow [--warmup S] [--no-restart] [--aggregate last|weighted]
# See README.md next to this file; the work is done by hibench.py (Python 3 stdlib).
exec python3 "$(dirname "$0")/hibench.py" "$@"
