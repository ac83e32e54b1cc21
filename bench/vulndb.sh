#!/usr/bin/env bash
# bench/vulndb.sh — the vulnerability database's speed and memory targets, measured with
# hyperfine (timings) and GNU time (peak RSS):
#   1. `db import` of every advisory set in ../shared/data into a fresh database  (≤ 30 s)
#   2. matching a 10,000-component CycloneDX SBOM (bench/sbom10k.py)             (≤ 1 s)
#   3. peak RSS of image scans with the database present                          (≤ 200 MB)
#
#   CORPUS=/tmp/keelhaul-corpus   for 3 (built by ../shared/bench/build-corpus.sh if missing)
#   RUNS=5                        timed runs per command (after one warm-up)
#   OUT=bench/results             hyperfine JSON + vulndb.md
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SHARED=${SHARED:-$ROOT/../shared}
CORPUS=${CORPUS:-/tmp/keelhaul-corpus}
RUNS=${RUNS:-5}
OUT=${OUT:-$ROOT/bench/results}
mkdir -p "$OUT"
command -v hyperfine >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine >/dev/null; }
cargo build --release --locked -p keelhaul
K=$ROOT/target/release/keelhaul
D=$SHARED/data
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
FEEDS=("$D"/osv/* "$D"/native/* "$D"/distro/* "$D"/nvd/*.gz "$D"/nvd/*.zst "$D"/nvd/cisa-kev.tar.zst)

hyperfine --warmup 1 --runs "$RUNS" --export-json "$OUT/vulndb-import.json" \
  --prepare "rm -f $W/import.db" -n "db import (all of ../shared/data)" \
  "$K -q db import --db $W/import.db ${FEEDS[*]}"

"$K" -q db import --db "$W/kh.db" "${FEEDS[@]}"
python3 bench/sbom10k.py "$D" "$W/sbom10k.json" 10000
hyperfine --warmup 1 --runs "$RUNS" --export-json "$OUT/vulndb-sbom10k.json" \
  -n "scan sbom: 10,000 components" \
  "$K -q scan sbom:$W/sbom10k.json --db $W/kh.db --format json -o $W/out.json"

{
  echo "| what | mean (s) | ± (s) | peak RSS (MiB) |"
  echo "|---|---:|---:|---:|"
  for j in import sbom10k; do
    python3 - "$OUT/vulndb-$j.json" <<'PY' | tr -d '\n'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
print(f"| {r['command']} | {r['mean']:.3f} | {r['stddev']:.3f} |")
PY
    case $j in
      import) rm -f "$W/rss.db"; /usr/bin/time -f "%M" -o "$W/rss" "$K" -q db import --db "$W/rss.db" "${FEEDS[@]}" ;;
      sbom10k) /usr/bin/time -f "%M" -o "$W/rss" "$K" -q scan "sbom:$W/sbom10k.json" --db "$W/kh.db" --format json -o "$W/out.json" ;;
    esac
    echo " $(( $(tail -1 "$W/rss") / 1024 )) |"
  done
  if [ -d "$CORPUS/oci" ]; then
    for img in fat large; do
      for input in "oci:$CORPUS/oci/$img" "docker-archive:$CORPUS/$img.docker.tar"; do
        /usr/bin/time -f "%e %M" -o "$W/rss" "$K" -q scan "$input" --db "$W/kh.db" --no-cache --format json -o "$W/out.json" || true
        read -r secs kib < <(tail -1 "$W/rss")
        n=$(python3 -c "import json;print(len(json.load(open('$W/out.json'))['vulnerabilities']))")
        echo "| scan $img (${input%%:*}), $n findings | $secs | — | $(( kib / 1024 )) |"
      done
    done
  fi
} | tee "$OUT/vulndb.md"
