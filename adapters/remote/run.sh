#!/bin/sh
# flinktune adapter: one trial on an existing Flink cluster (session, YARN, Kubernetes).
#   run.sh identity|repartition|wordcount|fixwindow [--target session|yarn-per-job|yarn-application|kubernetes-application]
# See README.md next to this file; the work is done by remote.py (Python 3 stdlib).
exec python3 "$(dirname "$0")/remote.py" "$@"
