#!/usr/bin/env bash
# bench/run.sh — time keelhaul against Trivy and Syft on the benchmark corpus, side by side
# in one hyperfine run per image and format, and write a Markdown table of ratios.
#
#   CORPUS=/tmp/keelhaul-corpus   built by ../shared/bench/build-corpus.sh if missing (needs root)
#   PEERS=/opt/peers/bin          Trivy + Syft, installed by ../shared/bench/install-peers.sh if missing
#   IMAGES="large"                corpus images to time (base fat large)
#   RUNS=5                        timed runs per command (after one warm-up)
#   OUT=bench/results             hyperfine JSON + results.md
#
# keelhaul runs inventory-only with --no-cache (every layer read and decompressed), except
# the "cached re-scan" row, which runs against a warm layer cache. Trivy runs as
# ../shared/bench/peers-bench.sh runs it: an empty vulnerability DB it may not update and an
# in-memory cache, so its runs are never cache hits.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SHARED=${SHARED:-$ROOT/../shared}
CORPUS=${CORPUS:-/tmp/keelhaul-corpus}
PEERS=${PEERS:-/opt/peers/bin}
IMAGES=${IMAGES:-large}
RUNS=${RUNS:-5}
OUT=${OUT:-$ROOT/bench/results}
mkdir -p "$OUT"

command -v hyperfine >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine >/dev/null; }
[ -e "$CORPUS/EXPECTED.txt" ] || bash "$SHARED/bench/build-corpus.sh" "$CORPUS"
[ -x "$PEERS/trivy" ] && [ -x "$PEERS/syft" ] || bash "$SHARED/bench/install-peers.sh" "$PEERS"
cargo build --release --locked -p keelhaul
K=$ROOT/target/release/keelhaul
export SYFT_CHECK_FOR_APP_UPDATE=false

TC=$(mktemp -d); KC=$(mktemp -d); trap 'rm -rf "$TC" "$KC"' EXIT
mkdir -p "$TC/db" "$TC/java-db"
echo '{"Version":2,"NextUpdate":"2099-01-01T00:00:00Z","UpdatedAt":"2025-01-01T00:00:00Z","DownloadedAt":"2025-01-01T00:00:00Z"}' > "$TC/db/metadata.json"
echo '{"Version":1,"NextUpdate":"2099-01-01T00:00:00Z","UpdatedAt":"2025-01-01T00:00:00Z","DownloadedAt":"2025-01-01T00:00:00Z"}' > "$TC/java-db/metadata.json"
python3 - "$TC/java-db/trivy-java.db" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.executescript("""
CREATE TABLE IF NOT EXISTS artifacts(id INTEGER PRIMARY KEY, group_id TEXT, artifact_id TEXT);
CREATE TABLE IF NOT EXISTS indices(artifact_id INTEGER, version TEXT, sha1 BLOB, archive_type TEXT);
CREATE UNIQUE INDEX IF NOT EXISTS artifacts_idx ON artifacts(artifact_id, group_id);
CREATE INDEX IF NOT EXISTS indices_artifact_idx ON indices(artifact_id);
CREATE UNIQUE INDEX IF NOT EXISTS indices_sha1_idx ON indices(sha1);
""")
PY
TRIVY="$PEERS/trivy image --cache-dir $TC --cache-backend memory --skip-db-update --skip-java-db-update --offline-scan --skip-check-update -q --scanners vuln --list-all-pkgs -f json -o /dev/null --input"

rss() {  # rss CMD... -> peak RSS in MiB of one run
  /usr/bin/time -f '%M' -o "$OUT/.rss" "$@" >/dev/null 2>&1 || true
  echo $(( $(tail -1 "$OUT/.rss") / 1024 ))
}

{
  echo "| image | input | command | mean (s) | ± (s) | vs Trivy | vs Syft | peak RSS (MiB) |"
  echo "|---|---|---|---:|---:|---:|---:|---:|"
} > "$OUT/results.md"

for img in $IMAGES; do
  for fmt in oci docker; do
    case $fmt in
      oci) KT="oci:$CORPUS/oci/$img:latest"; TI="$CORPUS/oci/$img"; ST="oci-dir:$CORPUS/oci/$img";;
      docker) KT="docker-archive:$CORPUS/$img.docker.tar"; TI="$CORPUS/$img.docker.tar"; ST="docker-archive:$CORPUS/$img.docker.tar";;
    esac
    KCMD="$K scan $KT --scanners none --no-cache -q -f json -o /dev/null"
    KCACHED="$K scan $KT --scanners none --cache-dir $KC -q -f json -o /dev/null"
    $KCACHED  # warm the layer cache
    hyperfine -N --warmup 1 --runs "$RUNS" --export-json "$OUT/$img-$fmt.json" \
      -n keelhaul "$KCMD" -n "keelhaul (cached re-scan)" "$KCACHED" \
      -n trivy "$TRIVY $TI" -n syft "$PEERS/syft scan $ST -q -o syft-json=/dev/null" >&2
    declare -A RSS=(
      [keelhaul]=$(rss $KCMD) ["keelhaul (cached re-scan)"]=$(rss $KCACHED)
      [trivy]=$(rss $TRIVY $TI) [syft]=$(rss "$PEERS/syft" scan "$ST" -q -o syft-json=/dev/null)
    )
    python3 - "$OUT/$img-$fmt.json" "$img" "$fmt" \
      "${RSS[keelhaul]}" "${RSS[keelhaul (cached re-scan)]}" "${RSS[trivy]}" "${RSS[syft]}" >> "$OUT/results.md" <<'PY'
import json, sys
path, img, fmt, *rss = sys.argv[1:]
res = {r["command"]: r for r in json.load(open(path))["results"]}
trivy, syft = res["trivy"]["mean"], res["syft"]["mean"]
for (name, r), mem in zip(res.items(), rss):
    print(f"| {img} | {fmt} | {name} | {r['mean']:.3f} | {r['stddev']:.3f} | {r['mean']/trivy:.2f}× | {r['mean']/syft:.2f}× | {mem} |")
PY
  done
done
cat "$OUT/results.md"
