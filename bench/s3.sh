#!/usr/bin/env bash
# cae-init into S3 (moto, signature checking on) against a boto3 script putting the same objects (issue 9), side
# by side, alternating, for several numbers of requests in flight. See bench/README.md.
#
#   bench/s3.sh                                  # 50,000 écritures (medium profile), 1, 32 and 128 in flight
#   BENCH_ECRITURES=2000 BENCH_IN_FLIGHT="1 32" bench/s3.sh
#
# moto is slow (a Python server checking every signature: some 30-70 PUTs a second on the 2-core project machine),
# so the medium profile's 50,520 PUTs take 12 to 25 minutes per run; BENCH_ECRITURES=2000 (2,520 objects) gives
# figures in about 15 minutes for the whole script.
#
# For each number of requests in flight N and each pair i (BENCH_PAIRS, default 2), in alternating order (cae-init
# first in odd pairs, boto3 first in even ones):
#   A   `cae-init run-once --max-uploads-in-flight N` into the bucket (a new subscription each time; snapshot mode);
#   B   bench/boto3_put.py with N threads: the same object names and sizes (taken from a first, untimed Local
#       Directory run), one PUT each, no retries.
# Both are timed as whole processes (cae-init's time includes its start, claim and snapshot read; boto3's, the
# interpreter's start and the import of boto3 too); objects/s = objects / wall time; ratio = A's objects/s / B's.
#
# Environment: BENCH_ECRITURES [50000], BENCH_IN_FLIGHT ["1 32 128"], BENCH_PAIRS [2], BENCH_DIR [/tmp],
# BENCH_SCRATCH [.build], BENCH_BIN (measure that binary; implies BENCH_SKIP_BUILD=1), BENCH_SKIP_BUILD=1,
# BENCH_REPORT [/tmp/cae-init-s3-report.txt].
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { echo "s3: FAILED: $*" >&2; exit 1; }

if [ "${BENCH_INSIDE:-}" != 1 ]; then
    python3 -c 'import boto3, moto' 2>/dev/null || fail "boto3 and moto are missing (scripts/install-deps.sh installs them)"
    if [ -n "${BENCH_BIN:-}" ]; then
        [ -x "$BENCH_BIN" ] || fail "BENCH_BIN=$BENCH_BIN is not an executable"
    elif [ "${BENCH_SKIP_BUILD:-}" != 1 ]; then
        echo "s3: swift build -c release" >&2
        swift build -c release --scratch-path "${BENCH_SCRATCH:-.build}"
    fi
    BENCH_INSIDE=1 exec scripts/with-postgres.sh "$0" "$@"
fi

bin=${BENCH_BIN:-$PWD/${BENCH_SCRATCH:-.build}/release/cae-init}
[ -x "$bin" ] || fail "$bin is missing"
psql=("$CAE_INIT_TEST_PGBIN/psql" "$DATABASE_URL" -X -q -v ON_ERROR_STOP=1)
size=${BENCH_ECRITURES:-50000}
levels=${BENCH_IN_FLIGHT:-1 32 128}
pairs=${BENCH_PAIRS:-2}
report=${BENCH_REPORT:-/tmp/cae-init-s3-report.txt}
entite=0b0e0000-0000-4000-8000-00000000e001
application=0b0e0000-0000-4000-8000-00000000a001

work=$(mktemp -d "${BENCH_DIR:-/tmp}/cae-init-s3.XXXXXX")
moto_pid=""
cleanup() { [ -n "$moto_pid" ] && kill "$moto_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

"$bin" migrate >/dev/null
echo "s3: generating $size écritures" >&2
"${psql[@]}" -v entite="$entite" -v application="$application" -v ecritures="$size" -v deleted=$((size / 100)) \
    -v hist_pct=20 -v comptes=500 -v journals=20 -v periods=36 -f bench/generate.sql
"${psql[@]}" -c "VACUUM ANALYZE"

# moto with signature checking: its first 3 calls (an IAM user, its key, an allow-all policy) are not checked.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
INITIAL_NO_AUTH_ACTION_COUNT=3 python3 -m moto.server -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
moto_pid=$!
endpoint=http://127.0.0.1:$port
# Waits for the port with a bare TCP connect: an HTTP probe would use up one of the 3 unchecked calls.
python3 - "$port" <<'PY' || fail "moto did not start: $(tail -5 "$work/moto.log")"
import socket, sys, time
for _ in range(150):
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.5).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.2)
sys.exit(1)
PY
read -r AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY < <(python3 - "$endpoint" <<'PY'
import sys, boto3
iam = boto3.client("iam", endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
iam.create_user(UserName="bench")
key = iam.create_access_key(UserName="bench")["AccessKey"]
iam.put_user_policy(UserName="bench", PolicyName="all", PolicyDocument='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}')
print(key["AccessKeyId"], key["SecretAccessKey"])
PY
)
export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
python3 -c "import boto3; boto3.client('s3', endpoint_url='$endpoint', region_name='us-east-1').create_bucket(Bucket='bench')"
# Signature checking is on: a wrong secret is refused.
if AWS_SECRET_ACCESS_KEY=wrong python3 -c "import boto3; boto3.client('s3', endpoint_url='$endpoint', region_name='us-east-1').head_bucket(Bucket='bench')" 2>/dev/null; then
    fail "moto accepted a wrong secret: signature checking is off"
fi

now() { date +%s.%N; }
elapsed() { awk -v a="$(now)" -v b="$1" 'BEGIN {printf "%.2f", a - b}'; }
subscription() {
    cat >"$work/subscription.json"
    "$bin" subscriptions create --file "$work/subscription.json" >/dev/null
}

# The names and sizes: those of a first, untimed Local Directory run.
subscription <<JSON
{"domain": "comptabilite", "keyFilters": [{"key": "$entite"}], "initWithHistory": false,
 "sink": {"type": "Local Directory", "credentials": {}, "options": {"path": "$work/list-out"}}}
JSON
"$bin" run-once --progress-every 0 >/dev/null 2>&1 || fail "the Local Directory run failed"
(cd "$work/list-out" && find . -type f -printf '%P %s\n') >"$work/list.txt"
rm -rf "$work/list-out"
objects=$(wc -l <"$work/list.txt")

run_cae() {
    local n=$1 t
    subscription <<JSON
{"domain": "comptabilite", "keyFilters": [{"key": "$entite"}], "initWithHistory": false,
 "sink": {"type": "AWS S3", "credentials": {"accessKeyId": "$AWS_ACCESS_KEY_ID", "secretAccessKey": "$AWS_SECRET_ACCESS_KEY", "region": "us-east-1"},
          "options": {"bucketName": "bench", "endpoint": "$endpoint"}, "retryPolicy": {"maxRetries": 0}}}
JSON
    t=$(now)
    "$bin" run-once --progress-every 0 --max-uploads-in-flight "$n" >"$work/run.log" 2>&1 || { tail -20 "$work/run.log" >&2; fail "run-once failed"; }
    grep -q '^run-once: 1 ready, 0 failed' "$work/run.log" || { tail -20 "$work/run.log" >&2; fail "not ready"; }
    elapsed "$t"
}
run_boto() {
    local n=$1 t
    t=$(now)
    python3 bench/boto3_put.py "$endpoint" bench "$n" <"$work/list.txt" >"$work/boto.log" || fail "boto3_put.py failed"
    elapsed "$t"
}

results=$work/results.tsv
: >"$results"
for n in $levels; do
    for i in $(seq 1 "$pairs"); do
        load=$(cut -d' ' -f1 /proc/loadavg)
        if [ $((i % 2)) = 1 ]; then a=$(run_cae "$n"); b=$(run_boto "$n"); else b=$(run_boto "$n"); a=$(run_cae "$n"); fi
        ratio=$(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.2f", b / a}')
        printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$n" "$i" "$a" "$b" "$ratio" "$load" >>"$results"
        echo "s3: $n in flight, pair $i: cae-init ${a}s, boto3 ${b}s ($objects objects): cae-init/boto3 objects/s = $ratio (load $load)" >&2
    done
done

{
    echo "cae-init into moto S3 (signatures checked) against boto3, $(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
    echo "machine: $(nproc) CPUs; moto $(python3 -c 'import moto; print(moto.__version__)'), boto3 $(python3 -c 'import boto3; print(boto3.__version__)')"
    echo "binary: $bin"
    echo "dossier: $size écritures, snapshot: $objects PUTs on each side (the objects and the manifest)"
    echo
    printf '%9s %4s %11s %11s %13s %11s %7s %6s\n' "in flight" pair "cae-init s" "boto3 s" "cae-init o/s" "boto3 o/s" ratio load
    while IFS=$'\t' read -r n i a b ratio load; do
        printf '%9s %4s %11s %11s %13.0f %11.0f %7s %6s\n' "$n" "$i" "$a" "$b" "$(awk -v a="$a" -v o="$objects" 'BEGIN {print o / a}')" "$(awk -v b="$b" -v o="$objects" 'BEGIN {print o / b}')" "$ratio" "$load"
    done <"$results"
} | tee "$report"
