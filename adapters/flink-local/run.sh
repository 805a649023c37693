#!/bin/sh
# flinktune adapter: run one trial on a local standalone Flink cluster ($FLINK_HOME).
#   run.sh identity|repartition|wordcount|fixwindow [--warmup S] [--window-ms MS]
# See README.md next to this file; the work is done by flink_local.py (Python 3 stdlib).
exec python3 "$(dirname "$0")/flink_local.py" "$@"
