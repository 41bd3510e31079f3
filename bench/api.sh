#!/usr/bin/env bash
# Benchmark of the REST API (on demand; not part of the test suite): wrk on 127.0.0.1 against `cae-init serve`
# (release build) with a private PostgreSQL, on GET /subscriptions/{id} and PUT /key-filters; prints requests/s and
# latency percentiles (p50, p99).
#
#   bench/api.sh
#   BENCH_API_DURATION=30s BENCH_API_CONNECTIONS=64 bench/api.sh
#
# Environment (defaults in brackets):
#   BENCH_API_DURATION     each wrk run [10s]
#   BENCH_API_CONNECTIONS  wrk connections [32]       BENCH_API_THREADS  wrk threads [2]
#   BENCH_API_POOL         the server's --max-connections [10]
#   BENCH_API_FILTERS      key filters of the subscription read and edited [100]
#   BENCH_API_CONFIG       debug or release [release]
#   BENCH_SKIP_BUILD=1     use the existing build
#   BENCH_API_REPORT       where the report is also written [/tmp/cae-init-bench-api.txt]
set -euo pipefail
cd "$(dirname "$0")/.."

config=${BENCH_API_CONFIG:-release}
if [ "${BENCH_API_INSIDE:-}" != 1 ]; then
    CAE_INIT_SKIP_PIP=1 scripts/install-deps.sh
    if [ "${BENCH_SKIP_BUILD:-}" != 1 ]; then
        echo "building cae-init ($config)…" >&2
        swift build -c "$config" --product cae-init 2>&1 | tail -n 1 >&2
    fi
    exec env BENCH_API_INSIDE=1 scripts/with-postgres.sh "$0"
fi

duration=${BENCH_API_DURATION:-10s}
connections=${BENCH_API_CONNECTIONS:-32}
threads=${BENCH_API_THREADS:-2}
pool=${BENCH_API_POOL:-10}
filters=${BENCH_API_FILTERS:-100}
report=${BENCH_API_REPORT:-/tmp/cae-init-bench-api.txt}
cae=".build/$config/cae-init"
work=$(mktemp -d /tmp/cae-init-bench-api.XXXXXX)
server_pid=
cleanup() { [ -n "$server_pid" ] && kill -TERM "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

LOG_LEVEL=warning $cae migrate >/dev/null
key=$(LOG_LEVEL=warning $cae api-keys create --name bench --all-domains 2>/dev/null)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# Request logs at info would measure the terminal: warning keeps them out of the figures.
LOG_LEVEL=warning $cae serve --host 127.0.0.1 --port "$port" --max-connections "$pool" 2>"$work/server.log" &
server_pid=$!
for _ in $(seq 200); do curl -fs "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.05; done
base="http://127.0.0.1:$port"

keys=$(python3 -c "import uuid; print(','.join('{\"key\":\"%s\"}' % uuid.uuid4() for _ in range($filters)))")
body="{\"domain\":\"bench\",\"keyFilters\":[$keys],\"sink\":{\"type\":\"AWS S3\",\"credentials\":{\"accessKeyId\":\"AKIAIOSFODNN7EXAMPLE\",\"secretAccessKey\":\"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\",\"region\":\"eu-west-3\"},\"options\":{\"bucketName\":\"bench\"}},\"topics\":[\"queuing.cpa.comptabilite\"]}"
id=$(curl -fs -X POST "$base/subscriptions" -H "x-apikey: $key" -H 'Content-Type: application/json' -d "$body" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
first_key=$(curl -fs "$base/subscriptions/$id" -H "x-apikey: $key" | python3 -c 'import json,sys; print(json.load(sys.stdin)["keyFilters"][0]["key"])')

cat >"$work/get.lua" <<LUA
wrk.headers["x-apikey"] = "$key"
LUA
cat >"$work/put.lua" <<LUA
wrk.method = "PUT"
wrk.headers["x-apikey"] = "$key"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '[{"key":"$first_key","status":"new"}]'
LUA

run() { # name url script
    local out="$work/$(echo "$1" | tr -c 'A-Za-z0-9' _).txt"
    wrk -t "$threads" -c "$connections" -d "$duration" --latency -s "$3" "$2" >"$out"
    local rps p50 p99 non2xx
    rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
    p50=$(awk '$1 == "50%" {print $2}' "$out")
    p99=$(awk '$1 == "99%" {print $2}' "$out")
    non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $5}' "$out")
    printf '| %-26s | %10s | %8s | %8s | %s |\n' "$1" "$rps" "$p50" "$p99" "${non2xx:-0}"
}

{
    echo "cae-init API benchmark: $(date -u +%Y-%m-%dT%H:%MZ), $config build, $(nproc) cores, wrk -t$threads -c$connections -d$duration,"
    echo "server --max-connections $pool, one subscription with $filters key filters (GET answers all of them)"
    echo
    echo "| route                      |      req/s |      p50 |      p99 | non-2xx |"
    echo "|----------------------------|-----------:|---------:|---------:|--------:|"
    run "GET /subscriptions/{id}" "$base/subscriptions/$id" "$work/get.lua"
    run "PUT /key-filters (reset)" "$base/key-filters?id=$id" "$work/put.lua"
} | tee "$report"
