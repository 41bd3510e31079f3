#!/usr/bin/env bash
# The demo: the main job on an embedded default. A private PostgreSQL, the dossiers of Fixtures/, a subscription
# with a Local Directory sink (demo-output/), one initialisation run, and a summary of what was written where;
# then the same through the REST API (`serve --worker`): an API key, a subscription created with curl, its filter
# going new → ready, and one dossier re-initialised.
#   scripts/demo.sh              Local Directory sink, into ./demo-output
#   scripts/demo.sh --sink s3    moto's S3 server on 127.0.0.1 (signatures checked), then the bucket listing
#   scripts/demo.sh --live       then live events: librdkafka's mock cluster, `cae-init sink-service`, a few events
#                                produced with confluent-kafka, and the files they landed as (instead of the API part)
set -euo pipefail
cd "$(dirname "$0")/.."

sink=local
live=
while [ $# -gt 0 ]; do
    case "$1" in
        --sink) sink="${2:-local}"; shift 2 ;;
        --live) live=1; shift ;;
        *) echo "usage: scripts/demo.sh [--sink local|s3] [--live]" >&2; exit 2 ;;
    esac
done
[ "$sink" = local ] || [ "$sink" = s3 ] || { echo "unknown sink '$sink' (local or s3)" >&2; exit 2; }
[ -z "$live" ] || [ "$sink" = local ] || { echo "--live shows a Local Directory sink: use it without --sink s3" >&2; exit 2; }

if [ -z "${CAE_INIT_DEMO_INSIDE:-}" ]; then
    scripts/install-deps.sh
    echo "building cae-init…" >&2
    swift build 2>&1 | tail -n 1 >&2
    exec env CAE_INIT_DEMO_INSIDE=1 scripts/with-postgres.sh "$0" --sink "$sink" ${live:+--live}
fi

cae=.build/debug/cae-init
export LOG_LEVEL=${LOG_LEVEL:-warning}
work=$(mktemp -d /tmp/cae-init-demo.XXXXXX)
moto_pid=
cleanup() { [ -n "$moto_pid" ] && kill "$moto_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

echo "== schema"; $cae migrate
echo "== dossiers"; $cae fixtures load Fixtures/*.json
keys=$(python3 -c 'import json,sys; print(",".join("{\"key\":\"%s\"}" % json.load(open(f))["entite_id"] for f in sys.argv[1:]))' Fixtures/*.json)

if [ "$sink" = local ]; then
    out="$PWD/demo-output"
    rm -rf "$out"
    sink_json="{\"type\":\"Local Directory\",\"credentials\":{},\"options\":{\"path\":\"$out\",\"folderName\":\"entite_id\"}}"
else
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    INITIAL_NO_AUTH_ACTION_COUNT=3 python3 -m moto.server -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
    moto_pid=$!
    for _ in $(seq 100); do python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null && break; sleep 0.1; done
    # The 3 unauthenticated calls create an IAM user, its key and an allow-all policy; everything after is signed.
    read -r key_id secret < <(python3 - "$port" <<'PY'
import sys, boto3
url = f"http://127.0.0.1:{sys.argv[1]}"
iam = boto3.client("iam", endpoint_url=url, region_name="us-east-1", aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
iam.create_user(UserName="cae-init-demo")
key = iam.create_access_key(UserName="cae-init-demo")["AccessKey"]
iam.put_user_policy(UserName="cae-init-demo", PolicyName="all", PolicyDocument='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}')
s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
s3.create_bucket(Bucket="cae-init-demo")
print(key["AccessKeyId"], key["SecretAccessKey"])
PY
)
    sink_json="{\"type\":\"AWS S3\",\"credentials\":{\"accessKeyId\":\"$key_id\",\"secretAccessKey\":\"$secret\",\"region\":\"us-east-1\"},\"options\":{\"bucketName\":\"cae-init-demo\",\"endpoint\":\"http://127.0.0.1:$port\"}}"
fi

cat >"$work/subscription.json" <<JSON
{"domain":"comptabilite","applicationId":"cae-init-demo","keyFilters":[$keys],"sink":$sink_json,
 "topics":["queuing.cpa.comptabilite"],"initWithHistory":true}
JSON
echo "== subscription"
$cae subscriptions create --file "$work/subscription.json" >"$work/created.json"
id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$work/created.json")
echo "created $id (sink: $(python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))["sink"]; print(d["type"], d["credentials"])' "$work/created.json"))"

echo "== initialisation (run-once)"
status=0
$cae run-once || status=$?

echo "== what was written where"
if [ "$sink" = local ]; then
    python3 - "$out" <<'PY'
import os, sys, collections
root = sys.argv[1]
counts = collections.defaultdict(collections.Counter)
manifests = []
for dirpath, _, files in os.walk(root):
    rel = os.path.relpath(dirpath, root)
    if rel.startswith(".partial"):
        continue
    for f in files:
        parts = os.path.relpath(os.path.join(dirpath, f), root).split(os.sep)
        if parts[0] == "_manifests":
            manifests.append("/".join(parts))
        else:
            counts[parts[0]][parts[1]] += 1
print(f"Local Directory {root}")
for folder, kinds in sorted(counts.items()):
    print(f"  {folder}/  " + ", ".join(f"{k} {kinds[k]}" for k in ("journal", "compte", "ecriture")) + f"  ({sum(kinds.values())} files)")
for m in sorted(manifests):
    print(f"  {m}")
PY
else
    python3 - "$port" "$key_id" "$secret" <<'PY'
import sys, boto3, collections
s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{sys.argv[1]}", region_name="us-east-1", aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3])
keys = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket="cae-init-demo") for o in page.get("Contents", [])]
print(f"AWS S3 bucket cae-init-demo at http://127.0.0.1:{sys.argv[1]} (moto): {len(keys)} objects")
for key in sorted(keys):
    print(f"  {key}")
PY
fi

if [ -n "$live" ]; then
    echo "== live events (librdkafka's mock cluster, cae-init sink-service)"
    # The mock cluster reads commands on stdin and exits when it closes.
    coproc MOCK { exec .build/debug/cae-init-kafka-mock --brokers 1 2>"$work/mock.log"; }
    mock_pid=$MOCK_PID
    read -r _ brokers <&"${MOCK[0]}"
    echo "topic queuing.cpa.comptabilite 3" >&"${MOCK[1]}"; read -r answer <&"${MOCK[0]}"
    echo "mock cluster at $brokers, topic queuing.cpa.comptabilite (3 partitions): $answer"
    LOG_LEVEL=info $cae sink-service --brokers "$brokers" --topic-refresh-seconds 1 2>"$work/sink-service.log" &
    service_pid=$!
    trap 'kill "$service_pid" "$mock_pid" 2>/dev/null || true; cleanup' EXIT
    key=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["entite_id"])' Fixtures/dossier-simple.json)
    # Events of the ready dossier: a journal renamed (the version ends, a new one is current), a plain event, and
    # one of a key no subscription lists (skipped).
    python3 - "$key" Fixtures/dossier-simple.json >"$work/events.jsonl" <<'PY'
import json, sys
key, fixture = sys.argv[1], json.load(open(sys.argv[2]))
journal = fixture["journals"][0]
journal["entite_id"] = key
journal["timestamp"] = journal["validFrom"]
renamed_at = 1767225600000
ended = dict(journal, validTo=renamed_at)
renamed = dict(journal, libelle=journal["libelle"] + " (renamed live)", validFrom=renamed_at, timestamp=renamed_at, validTo=0)
topic = "queuing.cpa.comptabilite"
for value, headers in ((ended, {"kind": "journal"}), (renamed, {"kind": "journal"}), ({"entite_id": key, "event": "dossier-closed"}, {})):
    print(json.dumps({"topic": topic, "key": key, "value": value, "headers": headers}))
print(json.dumps({"topic": topic, "key": "00000000-0000-4000-8000-00000000dead", "value": {"entite_id": "x"}}))
PY
    echo "\$ kafka_produce.py $brokers < events.jsonl   (confluent-kafka, acks=all)"
    python3 Tests/CaeInitTestSupport/kafka_produce.py "$brokers" <"$work/events.jsonl" | sed 's/^/  /'
    before=$(find "$out" -type f -not -path '*/.partial*' | sort)
    for _ in $(seq 300); do
        now=$(find "$out" -type f -not -path '*/.partial*' | sort)
        [ "$(comm -13 <(echo "$before") <(echo "$now") | wc -l)" -ge 2 ] && break
        sleep 0.1
    done
    sleep 1
    journal_dir=$(dirname "$(comm -13 <(echo "$before") <(echo "$now") | grep "/journal/" | head -n 1)")
    echo "new files the live events landed as (in $out):"
    comm -13 <(echo "$before") <(echo "$now") | sed "s#^$out/#  #"
    if [ "$journal_dir" != . ]; then
        echo "the journal's versions now (the initialisation's file, overwritten by the event that ended it, and the new one):"
        for f in "$journal_dir"/*.json; do echo "  ${f#$out/}: $(cat "$f")"; done
    fi
    kill -TERM "$service_pid"; wait "$service_pid" || { echo "sink-service exited $?:"; tail -n 20 "$work/sink-service.log"; status=1; }
    echo "sink service stopped (SIGTERM: stopped polling, committed, left the group); its log, in part:"
    grep -E "subscribed|partitions assigned|shutting down|closed|stopped" "$work/sink-service.log" | sed 's/^/  /' | head -n 8
    exec {MOCK[1]}>&-
    wait "$mock_pid" 2>/dev/null || true
    exit $status
fi

echo "== the REST API (cae-init serve --worker, curl)"
api_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
api_key=$($cae api-keys create --name demo --domain comptabilite 2>/dev/null)
echo "created API key \"demo\" for domain comptabilite: caek_… (printed once, only its hash is stored)"
# Local Directory sinks write on the worker's host: the API refuses them unless told otherwise (demo only).
LOG_LEVEL=info $cae serve --port "$api_port" --worker --allow-local-directory-sinks --poll-interval-ms 200 --name demo-api-worker 2>"$work/serve.log" &
serve_pid=$!
api="http://127.0.0.1:$api_port"
for _ in $(seq 100); do curl -fs "$api/health" >/dev/null && break; sleep 0.1; done
first_key=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["entite_id"])' "$(ls Fixtures/*.json | head -n 1)")
api_sink=$sink_json
if [ "$sink" = local ]; then api_sink=$(echo "$sink_json" | sed "s#$out#$out-api#"); rm -rf "$out-api"; fi
echo "\$ curl -X POST $api/subscriptions -H 'x-apikey: …' -H 'Content-Type: application/json' -d '{\"domain\":\"comptabilite\",\"keyFilters\":[{\"key\":\"$first_key\"}],\"sink\":…}'"
api_id=$(curl -fsS -X POST "$api/subscriptions" -H "x-apikey: $api_key" -H 'Content-Type: application/json' \
    -d "{\"domain\":\"comptabilite\",\"keyFilters\":[{\"key\":\"$first_key\"}],\"sink\":$api_sink,\"topics\":[\"queuing.cpa.comptabilite\"]}" \
    | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["id"]); print("201 created", d["id"], "filter", d["keyFilters"][0]["status"], file=sys.stderr)')
watch_filter() { # prints the filter until it is ready with a processedDate other than $1
    for _ in $(seq 300); do
        line=$(curl -fsS "$api/subscriptions/$api_id" -H "x-apikey: $api_key" | python3 -c 'import json,sys; f=json.load(sys.stdin)["keyFilters"][0]; print(f["status"], (f.get("report") or {}).get("processedDate") or "-")')
        set -- "$1" $line
        [ "$2" = ready ] && [ "$3" != "$1" ] && { echo "  ready, processedDate $3" >&2; echo "$3"; return 0; }
        [ "$2" = failed ] && { echo "  failed" >&2; return 1; }
        sleep 0.2
    done
    return 1
}
echo "watching GET /subscriptions/$api_id: new → ready"
first_date=$(watch_filter none) || status=1
echo "\$ curl -X PUT '$api/key-filters?id=$api_id' -d '[{\"key\":\"$first_key\",\"status\":\"new\"}]'   (re-initialise one dossier)"
curl -fsS -X PUT "$api/key-filters?id=$api_id" -H "x-apikey: $api_key" -H 'Content-Type: application/json' \
    -d "[{\"key\":\"$first_key\",\"status\":\"new\"}]" | python3 -c 'import json,sys; print("  200, status", json.load(sys.stdin)[0]["status"])'
watch_filter "$first_date" >/dev/null || status=1
kill -TERM "$serve_pid"; wait "$serve_pid" || status=1
echo "server stopped (SIGTERM); its request log: $(grep -c 'route=' "$work/serve.log" || true) requests, e.g."
grep 'route=' "$work/serve.log" | tail -n 2 | sed 's/^/  /' || true
exit $status
