#!/bin/sh
# Downtime of an in-place rescale vs an apply (stop-with-savepoint + restart) on a real Flink
# cluster through the flink-local hook: the wordcount job at RATE records/s, 1 slot per
# TaskManager, 10 s checkpoints; REPEATS rounds of rescale 1→2, rescale 2→1, apply 1→2,
# apply 2→1, SETTLE s apart. One JSON line per operation on stdout (with the load average).
#   FLINK_HOME=... scripts/measure-rescale.sh [REPEATS] [RATE] [SETTLE]
set -eu
repeats=${1:-3}; rate=${2:-5000}; settle=${3:-20}
hook="$(cd "$(dirname "$0")/.." && pwd)/adapters/flink-local/hook.sh wordcount"
work=$(mktemp -d); trap 'FLINKTUNE_ACTION=stop FLINKTUNE_STATE_DIR=$work/state sh -c "$hook" >/dev/null 2>&1; rm -rf "$work"' EXIT
for n in 1 2; do
  mkdir -p "$work/tm$n"
  printf 'jobmanager.memory.process.size: 1024m\ntaskmanager.memory.process.size: 1024m\ntaskmanager.numberOfTaskSlots: 1\nexecution.checkpointing.interval: 10s\nflinktune.taskmanagers: %s\n' "$n" > "$work/tm$n/config.yaml"
done
export FLINKTUNE_STATE_DIR="$work/state" FLINKTUNE_RATE="$rate"
run() { # action, TaskManagers
  out=$(FLINKTUNE_ACTION=$1 FLINKTUNE_TASKMANAGERS=$2 FLINKTUNE_CONF_DIR="$work/tm$2" sh -c "$hook" 2>>"$work/hook.log" | tail -1)
  case "$out" in *'"ok"'*) ;; *) echo "$1 to $2 failed: $out" >&2; exit 1 ;; esac
  echo "{\"action\":\"$1\",\"to\":$2,\"load1\":$(cut -d' ' -f1 /proc/loadavg),\"reply\":$out}"
}
run start 1 >/dev/null
sleep "$settle"
i=0
while [ "$i" -lt "$repeats" ]; do
  for step in "rescale 2" "rescale 1" "apply 2" "apply 1"; do
    run $step; sleep "$settle"
  done
  i=$((i + 1))
done
