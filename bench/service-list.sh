#!/usr/bin/env bash
# The image list under load: 1,000,000 generated images in PostgreSQL, `keelhaul serve`
# (API only), and wrk with 50 connections from a second process on loopback, each request a
# filtered, paginated `GET /api/v1/images` chosen at random from realistic filters.
#
#   bench/service-list.sh            # build release, generate (once), load for 30 s
#   IMAGES=200000 DURATION=10 bench/service-list.sh
#
# Needs: PostgreSQL on 127.0.0.1:5432 (user postgres), wrk (Debian), psql.
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGES=${IMAGES:-1000000}
TENANTS=${TENANTS:-10}
DURATION=${DURATION:-30}
CONNECTIONS=${CONNECTIONS:-50}
PGURL=${PGURL:-postgres://postgres@127.0.0.1:5432}
DB=${DB:-keelhaul_bench_list}
PORT=${PORT:-18480}
WORK=${WORK:-/tmp/keelhaul-bench-list}
mkdir -p "$WORK"

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 2; }
cargo build --release -q -p keelhaul
BIN=${CARGO_TARGET_DIR:-target}/release/keelhaul

psql_db() { psql -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -U postgres -d "$DB" "$@"; }

have=$(psql -tA -h 127.0.0.1 -U postgres -d "$DB" -c "SELECT COUNT(*) FROM images" 2>/dev/null || echo 0)
if [ "$have" != "$IMAGES" ]; then
  echo "generating $IMAGES images for $TENANTS tenants in $DB"
  psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
  rm -f "$WORK"/key-*.json
  for t in $(seq 0 $((TENANTS - 1))); do
    KEELHAUL_SERVER_KEY=$(printf '%064d' 7) "$BIN" admin create-key --tenant "bench-$t" \
      --levels read,list,write --database-url "$PGURL/$DB" --data-dir "$WORK" --format json \
      >"$WORK/key-$t.json"
  done
  per=$((IMAGES / TENANTS))
  # Each tenant: one registry, 1,000 repositories in 20 namespaces, `per` images; scan
  # states and counts spread as a fleet's would be.
  psql_db <<SQL
INSERT INTO registries (tenant_id, name, kind, url, created_at)
  SELECT id, 'harbor-main', 'harbor', 'https://harbor.example', 0 FROM tenants;
INSERT INTO repositories (tenant_id, registry_id, namespace, name, created_at)
  SELECT r.tenant_id, r.id, 'ns' || (g % 20), 'ns' || (g % 20) || '/app' || g, 0
  FROM registries r, generate_series(0, 999) g;
INSERT INTO images (tenant_id, registry_id, registry_kind, region_id, instance_id, repository_id,
    namespace, repository, tag, digest, image_id, platform, size, layers, created_at, updated_at,
    scan_status, progress, last_scan_at, cve, sca, malicious, baseline, secret, unhandled, latest)
  SELECT p.tenant_id, p.registry_id, 'harbor', 'cn-' || (p.id % 3), 'inst-1', p.id,
    p.namespace, p.name, 'v' || v, 'sha256:' || md5(p.id || '-' || v) || md5(v || '-' || p.id),
    'sha256:' || md5(v || '/' || p.id) || md5(p.id || '/' || v), 'linux/amd64',
    30000000 + (p.id * 7919 + v) % 100000000, '[]',
    1700000000000 + (p.id * 100 + v) * 1000, 1700000000000 + (p.id * 100 + v) * 1000,
    (ARRAY['SUCCESS','SUCCESS','SUCCESS','SUCCESS','SUCCESS','SUCCESS','SUCCESS','INIT','FAIL','TIMEOUT'])[1 + (p.id + v) % 10],
    CASE WHEN (p.id + v) % 10 < 7 THEN 100 ELSE 0 END, 1700000000000 + v * 1000,
    (p.id + v) % 37, (p.id * 3 + v) % 11, CASE WHEN (p.id + v) % 997 = 0 THEN 1 ELSE 0 END,
    v % 5, p.id % 3, CASE WHEN (p.id + v) % 4 = 0 THEN 0 ELSE ((p.id + v) % 37 + (p.id * 3 + v) % 11) END,
    CASE WHEN v = $per / 1000 - 1 THEN 1 ELSE 0 END
  FROM repositories p, generate_series(0, $per / 1000 - 1) v;
VACUUM (ANALYZE);
SQL
fi
psql -tA -h 127.0.0.1 -U postgres -d "$DB" -c "SELECT 'images: ' || COUNT(*) FROM images"

KEY=$(python3 -c "import json,sys; k=json.load(open('$WORK/key-0.json')); print(k['access_key_id']+':'+k['access_key_secret'])")
KEELHAUL_SERVER_KEY=$(printf '%064d' 7) "$BIN" serve --workers 0 --listen 127.0.0.1:$PORT \
  --database-url "$PGURL/$DB" --data-dir "$WORK" --sync-interval 0 --db-connections "${DB_CONNECTIONS:-8}" -q &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.1; done

cat >"$WORK/list.lua" <<LUA
-- Filtered, paginated image lists as a console would ask them.
local key = "$KEY"
local filters = {
  "page=1&page_size=20",
  "page=3&page_size=50&scan_status=FAIL,TIMEOUT",
  "page=1&page_size=20&namespaces=ns3",
  "page=2&page_size=20&repo_names=ns7/app127",
  "page=1&page_size=100&region_ids=cn-1&has_risk=true",
  "page=1&page_size=20&repo_name_contains=app42",
  "page=5&page_size=20&registry_types=harbor&scan_status=SUCCESS",
  "page=1&page_size=20&tags=v42",
  "page=40&page_size=20&include_index=false",
}
math.randomseed(os.time())
request = function()
  local f = filters[math.random(#filters)]
  return wrk.format("GET", "/api/v1/images?" .. f, { ["Authorization"] = "Bearer " .. key })
end
LUA
echo "each filter once (status, total):"
python3 - "$PORT" "$KEY" <<'PY'
import json, sys, urllib.request
port, key = sys.argv[1], sys.argv[2]
for f in ["page=1&page_size=20", "page=3&page_size=50&scan_status=FAIL,TIMEOUT", "page=1&page_size=20&namespaces=ns3",
          "page=2&page_size=20&repo_names=ns7/app127", "page=1&page_size=100&region_ids=cn-1&has_risk=true",
          "page=1&page_size=20&repo_name_contains=app42", "page=5&page_size=20&registry_types=harbor&scan_status=SUCCESS",
          "page=1&page_size=20&tags=v42", "page=40&page_size=20&include_index=false"]:
    req = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/images?{f}", headers={"Authorization": "Bearer " + key})
    body = json.load(urllib.request.urlopen(req))
    print(f"  {f}: total {body['total']}{'+' if body.get('total_capped') else ''}, items {len(body['items'])}")
PY
wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$WORK/list.lua" "http://127.0.0.1:$PORT"
