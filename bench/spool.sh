#!/usr/bin/env bash
# How long the snapshot transaction lasts with --spool-dir (issue 9), against PostgreSQL producing the same rows.
# See bench/README.md.
#
#   bench/spool.sh                              # 1,000,000 écritures (the large profile), with history
#   BENCH_ECRITURES=50000 bench/spool.sh
#
# One `cae-init run-once --spool-dir` into a Local Directory, with history, while pg_stat_activity is sampled every
# second (does a cae-init connection hold a snapshot: backend_xmin, or an open transaction: xact_start?); then
# `COPY (SELECT row_to_json(…) …) TO STDOUT` of every current and history row of the dossier into /dev/null, timed,
# twice (the second with a warm cache). Prints cae-init's "snapshot read" line, the seconds during which a
# snapshot was seen held, the run's wall time and peak RSS, and the COPY times.
#
# Environment: BENCH_ECRITURES [1000000], BENCH_DIR [/tmp], BENCH_SCRATCH [.build], BENCH_BIN, BENCH_SKIP_BUILD=1,
# BENCH_RUN_ARGS [].
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { echo "spool: FAILED: $*" >&2; exit 1; }

if [ "${BENCH_INSIDE:-}" != 1 ]; then
    [ -x /usr/bin/time ] || fail "/usr/bin/time is missing (apt-get install time; bench/run.sh installs it)"
    if [ -z "${BENCH_BIN:-}" ] && [ "${BENCH_SKIP_BUILD:-}" != 1 ]; then
        swift build -c release --scratch-path "${BENCH_SCRATCH:-.build}"
    fi
    BENCH_INSIDE=1 exec scripts/with-postgres.sh "$0" "$@"
fi

bin=${BENCH_BIN:-$PWD/${BENCH_SCRATCH:-.build}/release/cae-init}
[ -x "$bin" ] || fail "$bin is missing"
psql=("$CAE_INIT_TEST_PGBIN/psql" "$DATABASE_URL" -X -q -v ON_ERROR_STOP=1)
sql() { "${psql[@]}" -At -c "$1"; }
size=${BENCH_ECRITURES:-1000000}
read -r -a run_args <<<"${BENCH_RUN_ARGS:-}"
entite=0b0e0000-0000-4000-8000-00000000e001
application=0b0e0000-0000-4000-8000-00000000a001
work=$(mktemp -d "${BENCH_DIR:-/tmp}/cae-init-spool.XXXXXX")
trap 'rm -rf "$work"' EXIT

"$bin" migrate >/dev/null
echo "spool: generating $size écritures" >&2
"${psql[@]}" -v entite="$entite" -v application="$application" -v ecritures="$size" -v deleted=$((size / 100)) \
    -v hist_pct=20 -v comptes=500 -v journals=20 -v periods=36 -f bench/generate.sql
"${psql[@]}" -c "VACUUM ANALYZE"

cat >"$work/subscription.json" <<JSON
{"domain": "comptabilite", "keyFilters": [{"key": "$entite"}],
 "sink": {"type": "Local Directory", "credentials": {}, "options": {"path": "$work/out"}}, "initWithHistory": true}
JSON
"$bin" subscriptions create --file "$work/subscription.json" >/dev/null

load=$(cut -d' ' -f1 /proc/loadavg)
start=$(date +%s.%N)
/usr/bin/time -v -o "$work/time.txt" "$bin" run-once --progress-every 0 --spool-dir "$work/spool" "${run_args[@]}" >"$work/run.log" 2>&1 &
run=$!
: >"$work/samples.txt"   # seconds since start, cae-init connections holding a snapshot or an open transaction
while kill -0 "$run" 2>/dev/null; do
    held=$(sql "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'cae-init % snapshot' AND pid <> pg_backend_pid() AND (backend_xmin IS NOT NULL OR xact_start IS NOT NULL)" || echo "?")
    echo "$(awk -v a="$(date +%s.%N)" -v b="$start" 'BEGIN {printf "%.1f", a - b}') $held" >>"$work/samples.txt"
    sleep 1
done
wait "$run" || { tail -20 "$work/run.log" >&2; fail "run-once failed"; }
grep -q '^run-once: 1 ready, 0 failed' "$work/run.log" || { tail -20 "$work/run.log" >&2; fail "not ready"; }
wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$work/time.txt")
rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$work/time.txt")
files=$(find "$work/out" -type f | wc -l)

parts=()
for kind in journal compte ecriture; do
    parts+=("SELECT row_to_json(t)::text FROM cae_$kind t WHERE entite_id = '$entite'")
    parts+=("SELECT row_to_json(t)::text FROM cae_${kind}_history t WHERE entite_id = '$entite'")
done
query="COPY ($(printf '%s UNION ALL ' "${parts[@]}" | sed 's/ UNION ALL $//')) TO STDOUT"
copies=""
for _ in 1 2; do
    t=$(date +%s.%N); "${psql[@]}" -c "$query" >/dev/null
    copies="$copies $(awk -v a="$(date +%s.%N)" -v b="$t" 'BEGIN {printf "%.2f", a - b}')"
done

echo "cae-init --spool-dir, $(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'); $(nproc) CPUs, load $load at the start"
echo "dossier: $size écritures, with history; files written: $files (the manifest included)"
grep -o 'snapshot read: .*' "$work/run.log" | sed 's/ \[.*//' | head -1
awk '$2 != "0" && $2 != "?" {if (first == "") first = $1; last = $1} END {
    if (first == "") print "snapshot never seen held (pg_stat_activity, 1 s samples: it lasted less than a sample interval)"
    else printf "snapshot seen held (pg_stat_activity, 1 s samples): from %s s to %s s after the start\n", first, last}' "$work/samples.txt"
echo "run-once: wall $wall, peak RSS $((rss / 1024)) MB; samples taken: $(wc -l <"$work/samples.txt")"
echo "PostgreSQL producing every current and history row as JSON (COPY to /dev/null), s:$copies"
