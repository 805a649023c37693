#!/usr/bin/env bash
# CI: make a real Flink (and a real browser) available to the tests. Source it before `cargo test`:
#   . scripts/ci-prepare.sh        # installs Java 17 (apt, if missing) and Flink, exports FLINK_HOME
# FLINKTUNE_FLINK_VERSION picks the version (default 1.20.5). The install is cached under
# ${FLINKTUNE_CACHE:-$HOME/.cache/flinktune}, so a warm machine pays nothing.
# It also installs Flink 1.11.4, the paper's version, and exports FLINK_1_11_HOME for its test
# (36-56 s to install on a cold cache, 1.7 min of test); FLINKTUNE_FLINK_1_11=0 skips the
# install, and the test then runs only if 1.11.4 is already in the cache. Likewise Flink 2.3.0
# (FLINK_2_HOME; FLINKTUNE_FLINK_2=0 skips it) for the test of a study written with 2.x's keys.
_ft_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FLINK_HOME="$("$_ft_root/scripts/install-flink.sh" "${FLINKTUNE_FLINK_VERSION:-1.20.5}")" || {
  echo "ci-prepare: installing Flink failed" >&2
  return 1 2>/dev/null || exit 1
}
export FLINK_HOME
echo "ci-prepare: FLINK_HOME=$FLINK_HOME" >&2
# _ft_also VAR VERSION: install VERSION and export its home as VAR.
_ft_also() {
  local home
  home="$("$_ft_root/scripts/install-flink.sh" "$2")" || {
    echo "ci-prepare: installing Flink $2 failed" >&2
    return 1
  }
  export "$1=$home"
  echo "ci-prepare: $1=$home" >&2
}
if [ "${FLINKTUNE_FLINK_1_11:-1}" != 0 ]; then
  _ft_also FLINK_1_11_HOME 1.11.4 || { return 1 2>/dev/null || exit 1; }
fi
if [ "${FLINKTUNE_FLINK_2:-1}" != 0 ]; then
  _ft_also FLINK_2_HOME 2.3.0 || { return 1 2>/dev/null || exit 1; }
fi
# _ft_tool VAR PROGRAM: make PROGRAM available (the Debian package of that name when it is
# not on PATH) and export its path as VAR.
_ft_tool() {
  if ! command -v "$2" >/dev/null 2>&1; then
    echo "ci-prepare: no $2 on PATH: installing the Debian package" >&2
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    { $sudo apt-get update -qq &&
      DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$2"; } >&2 || {
      echo "ci-prepare: installing $2 failed" >&2
      return 1
    }
  fi
  export "$1=$(command -v "$2")"
  echo "ci-prepare: $1=$(command -v "$2")" >&2
}
# A real Prometheus server for the test of a user job measured through Prometheus
# (FLINKTUNE_PROMETHEUS: the binary the flink-local adapter runs), and a real browser for the
# test of the report and the dashboard (tests/browser.rs: headless Chromium).
_ft_tool FLINKTUNE_PROMETHEUS prometheus || { return 1 2>/dev/null || exit 1; }
_ft_tool FLINKTUNE_CHROMIUM chromium || { return 1 2>/dev/null || exit 1; }
unset -f _ft_also _ft_tool
unset _ft_root
