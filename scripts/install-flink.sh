#!/usr/bin/env bash
# Install a real Apache Flink distribution from PyPI (the only registry reachable here) and
# print its FLINK_HOME on stdout. Idempotent: a finished install in the cache is reused.
#
#   scripts/install-flink.sh [VERSION]      # default 1.20.5; 1.11.4 is the paper's version
#
# From 1.14 on PyPI carries Flink as two packages: apache-flink-libraries (lib/, opt/, plugins/)
# and apache-flink (bin/, conf/). Both land in DIR/pyflink, which is a complete FLINK_HOME for the
# Java cluster; PyFlink's Python dependencies are not needed (--no-deps).
# Before 1.14 there is no apache-flink-libraries: the apache-flink source distribution (204 MB for
# 1.11.4; its wheels are for Python <= 3.8) carries the whole distribution under deps/. It is
# downloaded with `pip download` and deps/ is unpacked into DIR/pyflink, the same FLINK_HOME
# layout as the newer versions (only 1.11.4 has been tried).
# Java 17 comes from the system's apt repository when no `java` is on PATH.
set -euo pipefail

VERSION="${1:-1.20.5}"
case "$VERSION" in
  [0-9]*.[0-9]*.[0-9]*) ;;
  *) echo "install-flink: version must look like 1.20.5 or 2.1.0, got '$VERSION'" >&2; exit 2 ;;
esac
CACHE="${FLINKTUNE_CACHE:-$HOME/.cache/flinktune}"
DEST="$CACHE/flink-$VERSION"
HOME_DIR="$DEST/pyflink"
log() { echo "install-flink: $*" >&2; }

if ! command -v java >/dev/null 2>&1 || ! command -v javac >/dev/null 2>&1; then
  log "no java/javac on PATH: installing openjdk-17-jdk-headless from apt"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq openjdk-17-jdk-headless >&2
fi

# The marker is written last, so an interrupted install is redone rather than trusted.
if [ ! -f "$DEST/.complete" ]; then
  PY="$(command -v python3 || command -v python || true)"
  [ -n "$PY" ] || { log "python3 with pip is needed to fetch Flink from PyPI"; exit 1; }
  log "installing Flink $VERSION into $DEST (about 250-330 MB)"
  rm -rf "$DEST.partial"
  mkdir -p "$DEST.partial"
  case "$VERSION" in
    1.[0-9].*|1.1[0-3].*)
      "$PY" -m pip download --quiet --no-deps --no-binary :all: --dest "$DEST.partial" \
        "apache-flink==$VERSION" >&2
      SDIST="$DEST.partial/apache-flink-$VERSION.tar.gz"
      [ -f "$SDIST" ] || { log "pip download did not leave $SDIST"; exit 1; }
      mkdir -p "$DEST.partial/pyflink"
      tar -xzf "$SDIST" -C "$DEST.partial/pyflink" --strip-components=2 "apache-flink-$VERSION/deps" >&2 \
        || { log "$SDIST has no apache-flink-$VERSION/deps/ (the Flink distribution)"; exit 1; }
      rm -f "$SDIST"
      ;;
    *)
      "$PY" -m pip install --quiet --no-deps --no-compile --target "$DEST.partial" \
        "apache-flink-libraries==$VERSION" "apache-flink==$VERSION" >&2
      ;;
  esac
  for f in bin/jobmanager.sh bin/taskmanager.sh bin/config.sh; do
    [ -f "$DEST.partial/pyflink/$f" ] || { log "installed packages lack pyflink/$f"; exit 1; }
  done
  ls "$DEST.partial"/pyflink/lib/flink-dist*.jar >/dev/null 2>&1 \
    || { log "installed packages lack pyflink/lib/flink-dist*.jar"; exit 1; }
  [ -f "$DEST.partial/pyflink/conf/flink-conf.yaml" ] || [ -f "$DEST.partial/pyflink/conf/config.yaml" ] \
    || { log "installed packages lack pyflink/conf/flink-conf.yaml or config.yaml"; exit 1; }
  chmod +x "$DEST.partial"/pyflink/bin/* 2>/dev/null || true
  rm -rf "$DEST"
  mv "$DEST.partial" "$DEST"
  touch "$DEST/.complete"
fi
echo "$HOME_DIR"
