#!/usr/bin/env bash
# cae-init against the bare limits of the machine (issue 9), in alternating pairs. See bench/README.md.
#
#   bench/pairs.sh                          # 50,000 écritures, snapshot and history, 5 pairs
#   BENCH_ECRITURES=1000000 bench/pairs.sh  # the large profile
#
# For each mode (snapshot, history) and each pair i (BENCH_PAIRS, default 5), in alternating order (A first in odd
# pairs, the bare runs first in even ones):
#   A   `cae-init run-once` into a Local Directory (a new subscription each time), under /usr/bin/time -v;
#   B1  bench/bare-write.c with 1 thread, BN with BENCH_THREADS threads (default 4): the same file names and sizes
#       as A wrote, temp file + rename, one syncfs at the end (plus an fsync of each folder);
#   U   the same loop with BENCH_THREADS threads writing each file as cae-init does (an O_TMPFILE linked under its
#       name): the bare cost of cae-init's own technique, reported beside the issue's ratio;
#   C   PostgreSQL producing the documents' rows as JSON: `COPY (SELECT row_to_json(…) …) TO STDOUT` > /dev/null.
# ratio_i = A_i / min(B1_i, BN_i) (the issue's bare loops); like-for-like ratio_i = A_i / U_i. The report gives every
# run and the median of both ratios. Output is removed
# (and `sync`ed) between runs, outside the timings.
#
# The report also gives how long the snapshot transaction was open (cae-init's log line) and the 1-minute load
# average when each pair started (the machine may be shared).
# Environment: BENCH_ECRITURES [50000], BENCH_PAIRS [5], BENCH_THREADS [4], BENCH_MODES ["snapshot history"],
# BENCH_DIR [/tmp], BENCH_RUN_ARGS [], BENCH_SKIP_BUILD=1, BENCH_REPORT [/tmp/cae-init-pairs-report.txt],
# BENCH_SCRATCH [.build]: the SwiftPM scratch path of the release build (another one lets a debug build or
# `swift test` run meanwhile); BENCH_BIN: measure that cae-init binary instead (e.g. a debug build; implies
# BENCH_SKIP_BUILD=1).
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { echo "pairs: FAILED: $*" >&2; exit 1; }

if [ "${BENCH_INSIDE:-}" != 1 ]; then
    [ -x /usr/bin/time ] || fail "/usr/bin/time is missing (apt-get install time; bench/run.sh installs it)"
    if [ -n "${BENCH_BIN:-}" ]; then
        [ -x "$BENCH_BIN" ] || fail "BENCH_BIN=$BENCH_BIN is not an executable"
    elif [ "${BENCH_SKIP_BUILD:-}" != 1 ]; then
        echo "pairs: swift build -c release" >&2
        swift build -c release --scratch-path "${BENCH_SCRATCH:-.build}"
    fi
    [ -n "${BENCH_BIN:-}" ] || [ -x "${BENCH_SCRATCH:-.build}/release/cae-init" ] || fail "${BENCH_SCRATCH:-.build}/release/cae-init is missing (run without BENCH_SKIP_BUILD)"
    mkdir -p "${BENCH_SCRATCH:-.build}/bench"
    cc -O2 -pthread -Wall -o "${BENCH_SCRATCH:-.build}/bench/bare-write" bench/bare-write.c
    BENCH_INSIDE=1 exec scripts/with-postgres.sh "$0" "$@"
fi

bin=${BENCH_BIN:-$PWD/${BENCH_SCRATCH:-.build}/release/cae-init}
bare=$PWD/${BENCH_SCRATCH:-.build}/bench/bare-write
psql=("$CAE_INIT_TEST_PGBIN/psql" "$DATABASE_URL" -X -q -v ON_ERROR_STOP=1)
sql() { "${psql[@]}" -At -c "$1"; }
size=${BENCH_ECRITURES:-50000}
pairs=${BENCH_PAIRS:-5}
threads=${BENCH_THREADS:-4}
modes=${BENCH_MODES:-snapshot history}
report=${BENCH_REPORT:-/tmp/cae-init-pairs-report.txt}
read -r -a run_args <<<"${BENCH_RUN_ARGS:-}"
entite=0b0e0000-0000-4000-8000-00000000e001
application=0b0e0000-0000-4000-8000-00000000a001

work=$(mktemp -d "${BENCH_DIR:-/tmp}/cae-init-pairs.XXXXXX")
trap 'rm -rf "$work"' EXIT
"$bin" migrate >/dev/null
echo "pairs: generating $size écritures" >&2
"${psql[@]}" -v entite="$entite" -v application="$application" -v ecritures="$size" -v deleted=$((size / 100)) \
    -v hist_pct=20 -v comptes=500 -v journals=20 -v periods=36 -f bench/generate.sql
"${psql[@]}" -c "VACUUM ANALYZE"

now() { date +%s.%N; }
elapsed() { awk -v a="$(now)" -v b="$1" 'BEGIN {printf "%.2f", a - b}'; }
clear_output() { rm -rf "$1"; sync; }

# A: one run-once into $1 (a new subscription); prints "wall_s rss_kb snapshot_s" (how long the snapshot transaction
# was open, from the run's log line: the reads alone with --spool-dir, the reads and the writes without).
run_cae() {
    local out=$1 with_history=$2
    cat >"$work/subscription.json" <<JSON
{"domain": "comptabilite", "keyFilters": [{"key": "$entite"}],
 "sink": {"type": "Local Directory", "credentials": {}, "options": {"path": "$out"}}, "initWithHistory": $with_history}
JSON
    "$bin" subscriptions create --file "$work/subscription.json" >/dev/null
    /usr/bin/time -v -o "$work/time.txt" "$bin" run-once --progress-every 0 "${run_args[@]}" >"$work/run.log" 2>&1 \
        || { cat "$work/run.log" >&2; fail "run-once failed"; }
    grep -q '^run-once: 1 ready, 0 failed' "$work/run.log" || { cat "$work/run.log" >&2; fail "not ready"; }
    python3 - "$work/time.txt" <<'PY'
import sys
fields = {}
for line in open(sys.argv[1]):
    key, _, value = line.strip().rpartition(": ")
    fields[key] = value
wall = 0.0
for part in fields["Elapsed (wall clock) time (h:mm:ss or m:ss)"].split(":"):
    wall = wall * 60 + float(part)
print(f'{wall:.2f}', fields["Maximum resident set size (kbytes)"], end=" ")
PY
    sed -n 's/.*snapshot read[a-z ]*: [0-9]* rows in \([0-9.]*\) s.*/\1/p' "$work/run.log" | head -1 | grep . || echo "?"
}

# C: PostgreSQL producing the rows of the documents as JSON, to /dev/null.
copy_query() {
    local with_history=$1 parts=()
    for kind in journal compte ecriture; do
        parts+=("SELECT row_to_json(t)::text FROM cae_$kind t WHERE entite_id = '$entite'")
        [ "$with_history" = true ] && parts+=("SELECT row_to_json(t)::text FROM cae_${kind}_history t WHERE entite_id = '$entite'")
    done
    local IFS=$'\n'
    echo "COPY ($(printf '%s UNION ALL ' "${parts[@]}" | sed 's/ UNION ALL $//')) TO STDOUT"
}

results=$work/results.tsv   # mode, pair, A s, B1 s, BN s, C s, ratio, rss kB, files, snapshot s, load, U s, U ratio
: >"$results"
for mode in $modes; do
    with_history=false; [ "$mode" = history ] && with_history=true
    # The names and sizes to write: those of a first (untimed) run.
    read -r _ _ _ < <(run_cae "$work/list-out" "$with_history")
    (cd "$work/list-out" && find . -type f -printf '%P %s\n') >"$work/list.txt"
    files=$(wc -l <"$work/list.txt")
    clear_output "$work/list-out"
    query=$(copy_query "$with_history")
    for i in $(seq 1 "$pairs"); do
        a="" b1="" bn="" u="" c="" rss="" snap=""
        load=$(cut -d' ' -f1 /proc/loadavg)
        run_a() { read -r a rss snap < <(run_cae "$work/a" "$with_history"); clear_output "$work/a"; }
        run_b() {
            local t
            t=$(now); "$bare" "$work/b1" 1 <"$work/list.txt" >/dev/null; b1=$(elapsed "$t"); clear_output "$work/b1"
            t=$(now); "$bare" "$work/bn" "$threads" <"$work/list.txt" >/dev/null; bn=$(elapsed "$t"); clear_output "$work/bn"
            t=$(now); "$bare" "$work/u" "$threads" unnamed <"$work/list.txt" >/dev/null; u=$(elapsed "$t"); clear_output "$work/u"
            t=$(now); "${psql[@]}" -c "$query" >/dev/null; c=$(elapsed "$t")
        }
        if [ $((i % 2)) = 1 ]; then run_a; run_b; else run_b; run_a; fi
        ratio=$(awk -v a="$a" -v b="$b1" -v n="$bn" 'BEGIN {m = b < n ? b : n; printf "%.2f", a / m}')
        uratio=$(awk -v a="$a" -v u="$u" 'BEGIN {printf "%.2f", a / u}')
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$mode" "$i" "$a" "$b1" "$bn" "$c" "$ratio" "$rss" "$files" "$snap" "$load" "$u" "$uratio" >>"$results"
        echo "pairs: $mode pair $i: cae-init ${a}s (snapshot open ${snap}s), bare 1 thread ${b1}s, $threads threads ${bn}s, unnamed ${u}s, COPY ${c}s: ratio $ratio, like-for-like $uratio (peak RSS $((rss / 1024)) MB, load $load)" >&2
    done
done

{
    echo "cae-init against the bare limits, $(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
    echo "machine: $(nproc) CPUs, load average at the end $(cut -d' ' -f1-3 /proc/loadavg); sink on $(df -T "$work" | awk 'NR == 2 {print $2}')"
    echo "binary: $bin"
    echo "dossier: $size écritures; $pairs alternating pairs per mode; bare loop threads: 1 and $threads; run-once args: ${BENCH_RUN_ARGS:-(defaults)}"
    echo
    printf '%-9s %4s %8s %9s %9s %9s %9s %9s %8s %7s %7s %8s %6s\n' mode pair files "cae-init" "snapshot" "bare 1" "bare $threads" "unnamed" "COPY" ratio "l-f-l" "RSS MB" load
    while IFS=$'\t' read -r mode i a b1 bn c ratio rss files snap load u uratio; do
        printf '%-9s %4s %8s %9s %9s %9s %9s %9s %8s %7s %7s %8.1f %6s\n' "$mode" "$i" "$files" "$a" "$snap" "$b1" "$bn" "$u" "$c" "$ratio" "$uratio" "$(awk -v r="$rss" 'BEGIN {print r / 1024}')" "$load"
    done <"$results"
    echo
    for mode in $modes; do
        ratios=$(awk -F'\t' -v m="$mode" '$1 == m {print $7}' "$results" | sort -g | tr '\n' ' ')
        uratios=$(awk -F'\t' -v m="$mode" '$1 == m {print $13}' "$results" | sort -g | tr '\n' ' ')
        peak=$(awk -F'\t' -v m="$mode" '$1 == m && $8 > p {p = $8} END {printf "%.1f", p / 1024}' "$results")
        echo "$ratios" | awk -v m="$mode" -v peak="$peak" '{n = NF; med = n % 2 ? $((n + 1) / 2) : ($(n / 2) + $(n / 2 + 1)) / 2;
            printf "%s: median of the pairwise ratios cae-init / best bare loop = %.2f (%d pairs: %s); peak RSS %s MB\n", m, med, n, $0, peak}'
        echo "$uratios" | awk -v m="$mode" '{n = NF; med = n % 2 ? $((n + 1) / 2) : ($(n / 2) + $(n / 2 + 1)) / 2;
            printf "%s: like for like, cae-init / the unnamed-file loop = %.2f (%s)\n", m, med, $0}'
    done
} | tee "$report"
