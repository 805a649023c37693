#!/bin/sh
# flinktune reconfiguration hook for a long-running job on a local standalone Flink cluster.
#   FLINKTUNE_ACTION=start|apply|rate|stop hook.sh [identity|repartition|wordcount|fixwindow]
# Default workload: wordcount (keyed, checkpointed state). See README.md; the work is done by
# flink_hook.py, which shares its cluster code with the trial adapter (flink_local.py).
exec python3 "$(dirname "$0")/flink_hook.py" "$@"
