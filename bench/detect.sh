#!/usr/bin/env bash
# bench/detect.sh — the content scanners' cost on the corpus `large` image: inventory only,
# every scanner, the secret scanner alone, and Trivy's secret scanner on the same input.
# One hyperfine run per input, so the ratios are side by side.
#
#   CORPUS=/tmp/keelhaul-corpus   built by ../shared/bench/build-corpus.sh if missing
#   PEERS=/opt/peers/bin          Trivy, installed by ../shared/bench/install-peers.sh if missing
#   RUNS=3  OUT=bench/results
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SHARED=${SHARED:-$ROOT/../shared}
CORPUS=${CORPUS:-/tmp/keelhaul-corpus}
PEERS=${PEERS:-/opt/peers/bin}
RUNS=${RUNS:-3}
OUT=${OUT:-$ROOT/bench/results}
mkdir -p "$OUT"
command -v hyperfine >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine >/dev/null; }
[ -e "$CORPUS/EXPECTED.txt" ] || bash "$SHARED/bench/build-corpus.sh" "$CORPUS"
[ -x "$PEERS/trivy" ] || bash "$SHARED/bench/install-peers.sh" "$PEERS"
cargo build --release --locked -p keelhaul
K=$ROOT/target/release/keelhaul
export TRIVY_DISABLE_VEX_NOTICE=1
TRIVY_FLAGS="--cache-backend memory --skip-db-update --skip-java-db-update --offline-scan --skip-check-update -q -f json -o /dev/null"
for input in "oci:$CORPUS/oci/large" "docker-archive:$CORPUS/large.docker.tar"; do
  name=${input%%:*}
  cmds=(
    -n "keelhaul, inventory only" "$K -q scan $input --no-cache --scanners none --format json -o /dev/null"
    -n "keelhaul, secret+malware+baseline" "$K -q scan $input --no-cache --scanners secret,malware,baseline --format json -o /dev/null"
    -n "keelhaul, secret only" "$K -q scan $input --no-cache --scanners secret --format json -o /dev/null"
  )
  if [ "$name" = docker-archive ]; then
    cmds+=(-n "Trivy, --scanners secret" "$PEERS/trivy image --input $CORPUS/large.docker.tar --scanners secret $TRIVY_FLAGS")
  fi
  hyperfine -N --warmup 1 --runs "$RUNS" --export-markdown "$OUT/detect-$name.md" "${cmds[@]}"
done
cat "$OUT"/detect-*.md
