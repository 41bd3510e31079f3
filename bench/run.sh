#!/usr/bin/env bash
# Benchmark of one large dossier's initialisation (run on demand; not part of the test suite). See bench/README.md.
#
#   bench/run.sh                                  # 1,000,000 current écritures
#   BENCH_QUICK=1 bench/run.sh                    # 50,000: a try in a couple of minutes
#   BENCH_ECRITURES="100000 1000000" bench/run.sh # several sizes in one go (memory must not grow with size)
#
# Environment (defaults in brackets):
#   BENCH_ECRITURES      current écritures, or a space-separated list of sizes [1000000; 50000 with BENCH_QUICK=1]
#   BENCH_HISTORY_PCT    share of current écritures with 1-3 history versions, in % [20]
#   BENCH_DELETED_PCT    deleted écritures (history only, 1-2 versions), in % of BENCH_ECRITURES [1]
#   BENCH_COMPTES        comptes [500]          BENCH_JOURNALS   journals [20]
#   BENCH_PERIODS        monthly situation periods from January 2022 [36]
#   BENCH_DIR            where the temporary directory (sink output) goes [/tmp]
#   BENCH_RUN_ARGS       extra arguments for `cae-init run-once`, e.g. "--max-uploads-in-flight 64" []
#   BENCH_REPORT         where the final report is also written [/tmp/cae-init-bench-report.txt]; the memory
#                        samples of each run go beside it (<report>-samples-<size>-<mode>.txt: epoch s, RSS kB, threads)
#   BENCH_SKIP_BUILD=1   use the existing .build/release/cae-init
#   BENCH_KEEP_OUTPUT=1  keep the written files (default: deleted after each run is counted)
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { echo "bench: FAILED: $*" >&2; exit 1; }

# ---- outside the cluster: dependencies, release build, then this script again under a private PostgreSQL ----------
if [ "${BENCH_INSIDE:-}" != 1 ]; then
    CAE_INIT_SKIP_PIP=1 scripts/install-deps.sh
    if [ ! -x /usr/bin/time ]; then
        echo "installing the Debian package time (for /usr/bin/time -v)" >&2
        as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
        as_root apt-get update -qq
        DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq time >/dev/null
    fi
    if [ "${BENCH_SKIP_BUILD:-}" != 1 ]; then
        echo "bench: swift build -c release" >&2
        swift build -c release
    fi
    [ -x .build/release/cae-init ] || fail ".build/release/cae-init is missing (run without BENCH_SKIP_BUILD)"
    BENCH_INSIDE=1 exec scripts/with-postgres.sh "$0" "$@"
fi

# ---- inside: DATABASE_URL points to a throwaway cluster ------------------------------------------------------------
bin=$PWD/.build/release/cae-init
psql=("$CAE_INIT_TEST_PGBIN/psql" "$DATABASE_URL" -X -q -v ON_ERROR_STOP=1)
sql() { "${psql[@]}" -At -c "$1"; }

if [ "${BENCH_QUICK:-}" = 1 ]; then sizes=${BENCH_ECRITURES:-50000}; else sizes=${BENCH_ECRITURES:-1000000}; fi
history_pct=${BENCH_HISTORY_PCT:-20}
deleted_pct=${BENCH_DELETED_PCT:-1}
comptes=${BENCH_COMPTES:-500}
journals=${BENCH_JOURNALS:-20}
periods=${BENCH_PERIODS:-36}
report=${BENCH_REPORT:-/tmp/cae-init-bench-report.txt}
read -r -a run_args <<<"${BENCH_RUN_ARGS:-}"
entite=0b0e0000-0000-4000-8000-00000000e001
application=0b0e0000-0000-4000-8000-00000000a001

work=$(mktemp -d "${BENCH_DIR:-/tmp}/cae-init-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "bench: working in $work" >&2

"$bin" migrate >/dev/null

dossier_rows=$work/dossier.tsv   # size, periods, journal cur/hist, compte cur/hist, ecriture cur/hist, db MB, gen s
runs=$work/runs.tsv              # size, mode, files, expected, wall s, rss kB, user s, sys s, load, rss a/b/c, threads
: >"$dossier_rows"; : >"$runs"

now() { date +%s.%N; }

# Every second while `time` runs: "<epoch s> <VmRSS kB> <threads>" of its child (cae-init), to show the resident
# memory over the run (flat, or growing with the rows read?) and how many threads the sink writes use.
sample() {
    local parent=$1 child=""
    while kill -0 "$parent" 2>/dev/null; do
        [ -n "$child" ] || child=$(pgrep -P "$parent" | head -n 1 || true)
        if [ -n "$child" ] && [ -r "/proc/$child/status" ]; then
            awk -v t="$(now)" '/^VmRSS:/ {r = $2} /^Threads:/ {n = $2} END {if (r) print t, r, n}' "/proc/$child/status" 2>/dev/null || true
        fi
        sleep 1
    done
}

# RSS in MB at 25 %, 50 %, 75 % of the run's samples, and the most threads seen: "a/b/c n".
summarise_samples() {
    awk '{rss[NR] = $2; if ($3 > threads) threads = $3}
         END {if (NR == 0) {print "-", "-"; exit}
              printf "%.0f/%.0f/%.0f %d\n", rss[int(NR * 0.25) + 1] / 1024, rss[int(NR * 0.5) + 1] / 1024, rss[int(NR * 0.75) + 1] / 1024, threads}' "$1"
}

# The files an initialisation must write, computed in SQL. Snapshot: the current rows. History (SPEC §4): for every
# situation period t and every object, the version valid at t (validFrom <= t and (validTo = 0 or t < validTo)) when
# it is not current, each selected version counted once; plus the snapshot.
expected_history() {
    local kind=$1
    sql "SELECT count(*) FROM (
           SELECT DISTINCT v.id, v.valid_from
           FROM cae_situation_period p
           JOIN (SELECT id, valid_from, valid_to FROM cae_$kind WHERE entite_id = '$entite'
                 UNION ALL
                 SELECT id, valid_from, valid_to FROM cae_${kind}_history WHERE entite_id = '$entite') v
             ON v.valid_from <= p.reference_date AND (v.valid_to = 0 OR p.reference_date < v.valid_to)
           WHERE p.entite_id = '$entite' AND v.valid_to <> 0) s"
}

for size in $sizes; do
    deleted=$((size * deleted_pct / 100))
    echo "bench: generating a dossier of $size current écritures ($history_pct% with history, $deleted deleted), $comptes comptes, $journals journals, $periods periods" >&2
    t=$(now)
    "${psql[@]}" -v entite="$entite" -v application="$application" -v ecritures="$size" -v deleted="$deleted" \
        -v hist_pct="$history_pct" -v comptes="$comptes" -v journals="$journals" -v periods="$periods" \
        -f bench/generate.sql
    gen_s=$(awk -v a="$(now)" -v b="$t" 'BEGIN {print a - b}')

    declare -A current=() history_rows=() expected_snap=() expected_hist=()
    for kind in journal compte ecriture; do
        current[$kind]=$(sql "SELECT count(*) FROM cae_$kind WHERE entite_id = '$entite'")
        history_rows[$kind]=$(sql "SELECT count(*) FROM cae_${kind}_history WHERE entite_id = '$entite'")
        expected_snap[$kind]=${current[$kind]}
        expected_hist[$kind]=$(expected_history "$kind")
    done
    n_periods=$(sql "SELECT count(*) FROM cae_situation_period WHERE entite_id = '$entite'")
    db_mb=$(sql "SELECT round(sum(pg_total_relation_size(c))::numeric / 1048576) FROM unnest(ARRAY['cae_journal', 'cae_journal_history', 'cae_compte', 'cae_compte_history', 'cae_ecriture', 'cae_ecriture_history']::regclass[]) AS c")
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.0f\n' "$size" "$n_periods" "${current[journal]}" "${history_rows[journal]}" \
        "${current[compte]}" "${history_rows[compte]}" "${current[ecriture]}" "${history_rows[ecriture]}" "$db_mb" "$gen_s" >>"$dossier_rows"

    for mode in snapshot history; do
        out=$work/out-$size-$mode
        with_history=false; [ "$mode" = history ] && with_history=true
        cat >"$work/subscription.json" <<JSON
{"domain": "comptabilite", "keyFilters": [{"key": "$entite"}],
 "sink": {"type": "Local Directory", "credentials": {}, "options": {"path": "$out"}},
 "initWithHistory": $with_history}
JSON
        subscription=$("$bin" subscriptions create --file "$work/subscription.json" | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
        load=$(cut -d' ' -f1 /proc/loadavg)
        echo "bench: $size écritures, $mode: run-once (subscription $subscription, load average $load)" >&2
        sync
        /usr/bin/time -v -o "$work/time.txt" "$bin" run-once "${run_args[@]}" >"$work/run.log" 2>&1 &
        timed=$!
        sample "$timed" >"$work/samples.txt" &
        sampler=$!
        if ! wait "$timed"; then
            cat "$work/run.log" >&2
            fail "run-once failed ($size écritures, $mode)"
        fi
        wait "$sampler" || true
        grep -q '^run-once: 1 ready, 0 failed' "$work/run.log" || { cat "$work/run.log" >&2; fail "the key filter did not become ready ($size, $mode)"; }

        # Files written, by kind, against what SQL says, and against the manifest's counts.
        total=0 expected=0
        for kind in journal compte ecriture; do
            n=$(find "$out/$entite/$kind" -type f -name '*.json' 2>/dev/null | wc -l)
            want=${expected_snap[$kind]}
            [ "$mode" = history ] && want=$((want + expected_hist[$kind]))
            [ "$n" = "$want" ] || fail "$size écritures, $mode: $n $kind files written, SQL expects $want"
            total=$((total + n)) expected=$((expected + want))
        done
        stray=$(find "$out" -type f ! -name '*.json' | wc -l)
        [ "$stray" = 0 ] || fail "$size écritures, $mode: $stray files that are not .json (temporary files left behind?)"
        other=$(find "$out" -type f -name '*.json' | wc -l)
        [ "$other" = $((total + 1)) ] || fail "$size écritures, $mode: $other .json files in the sink, expected $total objects and 1 manifest"
        python3 - "$out/_manifests/$subscription/$entite.json" "$mode" \
            "${expected_snap[journal]}" "${expected_hist[journal]}" "${expected_snap[compte]}" "${expected_hist[compte]}" \
            "${expected_snap[ecriture]}" "${expected_hist[ecriture]}" <<'PY' || fail "$size écritures, $mode: the manifest's counts do not match SQL"
import json, sys
path, mode, *want = sys.argv[1:]
counts = json.load(open(path))["counts"]
expected = {}
for i, kind in enumerate(["journal", "compte", "ecriture"]):
    expected[kind] = {"snapshot": int(want[2 * i]), "history": int(want[2 * i + 1]) if mode == "history" else 0}
got = {kind: {"snapshot": counts[kind]["snapshot"], "history": counts[kind]["history"]} for kind in expected}
if got != expected:
    print(f"manifest counts {got}, SQL expects {expected}", file=sys.stderr)
    sys.exit(1)
PY
        read -r wall rss user sys_s < <(python3 - "$work/time.txt" <<'PY'
import sys
fields = {}
for line in open(sys.argv[1]):
    key, _, value = line.strip().rpartition(": ")
    fields[key] = value
elapsed = 0.0
for part in fields["Elapsed (wall clock) time (h:mm:ss or m:ss)"].split(":"):
    elapsed = elapsed * 60 + float(part)
print(elapsed, fields["Maximum resident set size (kbytes)"], fields["User time (seconds)"], fields["System time (seconds)"])
PY
)
        read -r rss_over_time threads < <(summarise_samples "$work/samples.txt")
        cp "$work/samples.txt" "${report%.txt}-samples-$size-$mode.txt"
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$size" "$mode" "$total" "$expected" "$wall" "$rss" "$user" "$sys_s" "$load" "$rss_over_time" "$threads" >>"$runs"
        echo "bench: $size écritures, $mode: $total files (as expected), ${wall}s, peak RSS $((rss / 1024)) MB" >&2
        if [ "${BENCH_KEEP_OUTPUT:-}" = 1 ]; then
            echo "bench: output kept in $out" >&2
        else
            rm -rf "$out"
        fi
    done
    unset current history_rows expected_snap expected_hist
done
if [ "${BENCH_KEEP_OUTPUT:-}" = 1 ]; then trap - EXIT; fi

# ---- report --------------------------------------------------------------------------------------------------------
{
    echo "cae-init initialisation benchmark, $(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
    echo "machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo) RAM, kernel $(uname -r)"
    echo "sink: Local Directory on $(df -T "$work" | awk 'NR == 2 {print $2 " (" $1 ")"}'); PostgreSQL $("$CAE_INIT_TEST_PGBIN/postgres" --version | awk '{print $3}') (fsync off, shared_buffers 256MB), same machine"
    echo "run-once arguments: ${BENCH_RUN_ARGS:-(defaults: --max-uploads-in-flight 32)}"
    echo
    echo "Dossier (rows per table; history = rows in the *_history tables):"
    printf '%12s %8s %14s %14s %20s %8s %8s\n' "ecritures" "periods" "journals cur/h" "comptes cur/h" "ecritures cur/hist" "DB MB" "gen s"
    while IFS=$'\t' read -r size np jc jh cc ch ec eh db gen; do
        printf '%12s %8s %14s %14s %20s %8s %8s\n' "$size" "$np" "$jc/$jh" "$cc/$ch" "$ec/$eh" "$db" "$gen"
    done <"$dossier_rows"
    echo
    echo "Initialisations (files = object files written, checked against SQL; the manifest comes on top):"
    printf '%12s %9s %10s %9s %9s %12s %15s %8s %8s %8s %6s\n' "ecritures" "mode" "files" "wall s" "files/s" "peak RSS MB" "RSS 25/50/75%" "threads" "user s" "sys s" "load"
    while IFS=$'\t' read -r size mode files expected wall rss user sys_s load rss_over_time threads; do
        printf '%12s %9s %10s %9.1f %9.0f %12.1f %15s %8s %8.1f %8.1f %6s\n' "$size" "$mode" "$files" "$wall" \
            "$(awk -v f="$files" -v w="$wall" 'BEGIN {print f / w}')" "$(awk -v r="$rss" 'BEGIN {print r / 1024}')" "$rss_over_time" "$threads" "$user" "$sys_s" "$load"
    done <"$runs"
} | tee "$report"
echo "bench: report written to $report" >&2
