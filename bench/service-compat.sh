#!/usr/bin/env bash
# The cloud-compatible image lists under load, on the same 1,000,000-image PostgreSQL fleet as
# bench/service-list.sh: Alibaba `DescribeImageInstances` (ACS3-HMAC-SHA256, a fresh nonce per
# request) and Huawei `ListSwrImageRepository` (SDK-HMAC-SHA256), each with wrk, 50
# connections, console-like criteria. Requests are signed ahead of time by a Python signer
# written from ../shared/api-compat.md (nonces are single-use, so every Alibaba request is
# distinct); signatures are verified by the server as for any client.
#
#   bench/service-compat.sh
#   DURATION=10 bench/service-compat.sh
#
# Needs: what bench/service-list.sh needs (it generates the fleet when it is missing).
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGES=${IMAGES:-1000000}
DURATION=${DURATION:-30}
CONNECTIONS=${CONNECTIONS:-50}
PGURL=${PGURL:-postgres://postgres@127.0.0.1:5432}
DB=${DB:-keelhaul_bench_list}
PORT=${PORT:-18481}
WORK=${WORK:-/tmp/keelhaul-bench-list}

have=$(psql -tA -h 127.0.0.1 -U postgres -d "$DB" -c "SELECT COUNT(*) FROM images" 2>/dev/null || echo 0)
if [ "$have" != "$IMAGES" ]; then
  IMAGES=$IMAGES DURATION=1 bench/service-list.sh >/dev/null
fi
cargo build --release -q -p keelhaul
BIN=${CARGO_TARGET_DIR:-target}/release/keelhaul

KEELHAUL_SERVER_KEY=$(printf '%064d' 7) "$BIN" serve --workers 0 --listen 127.0.0.1:$PORT \
  --database-url "$PGURL/$DB" --data-dir "$WORK" --sync-interval 0 --db-connections "${DB_CONNECTIONS:-8}" -q &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.1; done

# Sign: one request per line, `<raw HTTP request with \r\n escaped as \n>`.
python3 - "$PORT" "$WORK/key-0.json" "$WORK" "$((DURATION * 1500 + 5000))" <<'PY'
import datetime, hashlib, hmac, json, random, sys, urllib.parse, uuid
port, key_file, work, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
key = json.load(open(key_file))
ak, sk, project = key["access_key_id"], key["access_key_secret"], key["project_id"]
host = f"127.0.0.1:{port}"
enc = lambda s: urllib.parse.quote(s, safe="-_.~")
sha = lambda b: hashlib.sha256(b).hexdigest()
mac = lambda m: hmac.new(sk.encode(), m.encode(), hashlib.sha256).hexdigest()

def crit(*pairs):
    return json.dumps([{"name": n, "value": v, "logicalExp": "AND"} for n, v in pairs])

ali_queries = [
    {"PageSize": "20", "CurrentPage": "1"},
    {"PageSize": "50", "CurrentPage": "3", "Criteria": crit(("scaStatus", "FAIL"))},
    {"PageSize": "20", "CurrentPage": "1", "Criteria": crit(("repoNamespace", "ns3"))},
    {"PageSize": "20", "CurrentPage": "2", "Criteria": crit(("repoName", "app127"))},
    {"PageSize": "100", "CurrentPage": "1", "Criteria": crit(("regionId", "cn-1"), ("riskStatus", "YES"))},
    {"PageSize": "20", "CurrentPage": "5", "Criteria": crit(("registryType", "harbor"), ("scaStatus", "SUCCESS"))},
    {"PageSize": "20", "CurrentPage": "1", "Criteria": crit(("tag", "v42"))},
    {"PageSize": "20", "CurrentPage": "40", "Scanned": "True"},
]
date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
with open(f"{work}/ali.requests", "w") as out:
    for i in range(count):
        q = random.choice(ali_queries)
        wire = urllib.parse.urlencode(q)
        canon_q = "&".join(f"{enc(k)}={enc(v)}" for k, v in sorted(q.items()))
        headers = {
            "host": host, "x-acs-action": "DescribeImageInstances", "x-acs-version": "2018-12-03",
            "x-acs-date": date, "x-acs-signature-nonce": uuid.uuid4().hex,
            "x-acs-content-sha256": sha(b""),
        }
        names = sorted(headers)
        canonical = "\n".join(["POST", "/", canon_q, "".join(f"{n}:{headers[n]}\n" for n in names), ";".join(names), sha(b"")])
        sig = mac("ACS3-HMAC-SHA256\n" + sha(canonical.encode()))
        headers["authorization"] = f"ACS3-HMAC-SHA256 Credential={ak},SignedHeaders={';'.join(names)},Signature={sig}"
        lines = [f"POST /?{wire} HTTP/1.1"] + [f"{k}: {v}" for k, v in headers.items()] + ["content-length: 0", "", ""]
        out.write("\\n".join(lines) + "\n")

hw_queries = [
    {"image_type": "private_image", "limit": "20", "offset": "0"},
    {"image_type": "private_image", "limit": "50", "offset": "100", "scan_status": "failed"},
    {"image_type": "private_image", "limit": "20", "offset": "0", "namespace": "ns3"},
    {"image_type": "private_image", "limit": "20", "offset": "20", "image_name": "app127"},
    {"image_type": "private_image", "limit": "100", "offset": "0", "has_vul": "true", "latest_version": "true"},
    {"image_type": "private_image", "limit": "20", "offset": "0", "image_version": "v42"},
    {"image_type": "private_image", "limit": "20", "offset": "800", "has_malicious_file": "false"},
]
sdk_date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
path = f"/v5/{project}/image/swr-repository"
with open(f"{work}/hw.requests", "w") as out:
    for q in hw_queries:
        canon_q = "&".join(f"{enc(k)}={enc(v)}" for k, v in sorted(q.items()))
        headers = {"content-type": "application/json", "host": host, "x-project-id": project, "x-sdk-date": sdk_date}
        names = sorted(headers)
        canonical = "\n".join(["GET", path + "/", canon_q, "".join(f"{n}:{headers[n]}\n" for n in names), ";".join(names), sha(b"")])
        sig = mac("SDK-HMAC-SHA256\n" + sdk_date + "\n" + sha(canonical.encode()))
        headers["authorization"] = f"SDK-HMAC-SHA256 Access={ak}, SignedHeaders={';'.join(names)}, Signature={sig}"
        lines = [f"GET {path}?{canon_q} HTTP/1.1"] + [f"{k}: {v}" for k, v in headers.items()] + ["", ""]
        out.write("\\n".join(lines) + "\n")
PY

cat >"$WORK/replay.lua" <<'LUA'
-- Each thread sends its own share of the pre-signed requests, in order (Alibaba nonces are
-- single-use); the file is named by REQUESTS, `\n` in a line stands for CRLF.
local threads = {}
function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end
function init(args)
  requests = {}
  local n = 0
  for line in io.lines(os.getenv("REQUESTS")) do
    if n % 2 == id then
      table.insert(requests, (line:gsub("\\n", "\r\n")))
    end
    n = n + 1
  end
  if #requests == 0 then
    for line in io.lines(os.getenv("REQUESTS")) do table.insert(requests, (line:gsub("\\n", "\r\n"))) end
  end
  i = 0
end
function request()
  i = i + 1
  return requests[(i - 1) % #requests + 1]
end
LUA

echo "== Alibaba DescribeImageInstances"
REQUESTS="$WORK/ali.requests" wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$WORK/replay.lua" "http://127.0.0.1:$PORT"
echo "== Huawei ListSwrImageRepository"
REQUESTS="$WORK/hw.requests" wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$WORK/replay.lua" "http://127.0.0.1:$PORT"
