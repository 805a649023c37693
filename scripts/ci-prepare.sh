#!/usr/bin/env bash
# CI: make a real Flink available to the tests. Source it before `cargo test`:
#   . scripts/ci-prepare.sh        # installs Java 17 (apt, if missing) and Flink, exports FLINK_HOME
# FLINKTUNE_FLINK_VERSION picks the version (default 1.20.5). The install is cached under
# ${FLINKTUNE_CACHE:-$HOME/.cache/flinktune}, so a warm machine pays nothing.
_ft_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FLINK_HOME="$("$_ft_root/scripts/install-flink.sh" "${FLINKTUNE_FLINK_VERSION:-1.20.5}")" || {
  echo "ci-prepare: installing Flink failed" >&2
  return 1 2>/dev/null || exit 1
}
export FLINK_HOME
echo "ci-prepare: FLINK_HOME=$FLINK_HOME" >&2
unset _ft_root
