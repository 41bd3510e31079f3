#!/usr/bin/env bash
# The demo: the main job on an embedded default. A private PostgreSQL, the dossiers of Fixtures/, a subscription
# with a Local Directory sink (demo-output/), one initialisation run, and a summary of what was written where.
#   scripts/demo.sh              Local Directory sink, into ./demo-output
#   scripts/demo.sh --sink s3    moto's S3 server on 127.0.0.1 (signatures checked), then the bucket listing
set -euo pipefail
cd "$(dirname "$0")/.."

sink=local
case "${1:-}" in
    --sink) sink="${2:-local}" ;;
    "") ;;
    *) echo "usage: scripts/demo.sh [--sink local|s3]" >&2; exit 2 ;;
esac
[ "$sink" = local ] || [ "$sink" = s3 ] || { echo "unknown sink '$sink' (local or s3)" >&2; exit 2; }

if [ -z "${CAE_INIT_DEMO_INSIDE:-}" ]; then
    scripts/install-deps.sh
    echo "building cae-init…" >&2
    swift build 2>&1 | tail -n 1 >&2
    exec env CAE_INIT_DEMO_INSIDE=1 scripts/with-postgres.sh "$0" --sink "$sink"
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
exit $status
