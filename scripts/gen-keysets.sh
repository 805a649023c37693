#!/usr/bin/env bash
# Regenerates crates/flink/keys/MAJOR.MINOR.tsv, the configuration keys of a Flink release, from
# the distribution itself: scripts/keyset/KeySet.java is compiled against its lib/ and reflects
# over the public static ConfigOption fields of every class in lib/, opt/ and plugins/.
#
#   scripts/gen-keysets.sh [VERSION...]     # default: every supported release (installs them)
#
# Each file starts with one `#` line naming the release, then one tab-separated row per name:
#   KEY  option             -  DEFAULT     an option's own key (DEFAULT empty: none, derived)
#   KEY  option-deprecated  -  DEFAULT     an option whose field Flink marks @Deprecated
#   KEY  deprecated         TARGET  -      a deprecated key Flink still reads as TARGET
#   KEY  fallback           TARGET  -      a fallback key Flink reads as TARGET when TARGET is unset
# (an empty column is empty, not '-'). A name may have several rows.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VERSIONS=("$@")
[ ${#VERSIONS[@]} -gt 0 ] || VERSIONS=(1.11.4 1.18.1 1.19.3 1.20.5 2.0.2 2.1.3 2.2.1 2.3.0)
OUT="$ROOT/crates/flink/keys"
mkdir -p "$OUT"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

for version in "${VERSIONS[@]}"; do
  home="$("$ROOT/scripts/install-flink.sh" "$version")"
  classes="$WORK/$version"
  mkdir -p "$classes"
  javac --release 11 -d "$classes" -cp "$home/lib/*" "$ROOT/scripts/keyset/KeySet.java"
  file="$OUT/${version%.*}.tsv"
  {
    echo "# Flink $version configuration keys (scripts/gen-keysets.sh)"
    java -cp "$classes:$home/lib/*" KeySet "$home/lib" "$home/opt" "$home/plugins"
  } > "$file.partial"
  mv "$file.partial" "$file"
  echo "gen-keysets: $file ($(($(wc -l < "$file") - 1)) rows)" >&2
done
