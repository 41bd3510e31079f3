#!/usr/bin/env bash
# Runs a command against a throwaway PostgreSQL cluster: initdb in a temporary directory (as the `postgres` user
# when run as root, since initdb refuses root), a server on a free loopback port, DATABASE_URL exported, and the
# cluster stopped and removed when the command ends, whatever its outcome.
#   scripts/with-postgres.sh COMMAND [ARG...]
set -euo pipefail

pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$pgbin" ] || { echo "PostgreSQL is not installed: run scripts/install-deps.sh" >&2; exit 1; }

if [ "$(id -u)" = 0 ]; then
    pguser=postgres
    id "$pguser" >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/bash "$pguser"
    run_pg() { runuser -u "$pguser" -- "$@"; }
else
    pguser=$(id -un)
    run_pg() { "$@"; }
fi

pgdata=$(mktemp -d /tmp/cae-init-pg.XXXXXX)
chmod 755 "$pgdata"
[ "$(id -u)" = 0 ] && chown "$pguser" "$pgdata"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

cleanup() {
    run_pg "$pgbin/pg_ctl" -D "$pgdata/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$pgdata"
}
trap cleanup EXIT

run_pg "$pgbin/initdb" -D "$pgdata/data" -U postgres --auth=trust -E UTF8 --locale=C >"$pgdata/initdb.log" 2>&1 \
    || { cat "$pgdata/initdb.log" >&2; exit 1; }
# fsync off: a throwaway cluster, and the tests restart it with a clean (fast) shutdown only.
pgopts="-p $port -k $pgdata -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300 -c shared_buffers=256MB"
run_pg "$pgbin/pg_ctl" -D "$pgdata/data" -l "$pgdata/server.log" -o "$pgopts" -w -t 60 start >/dev/null \
    || { cat "$pgdata/server.log" >&2; exit 1; }

export DATABASE_URL="postgresql://postgres@127.0.0.1:$port/postgres"
# For tests that stop and start the server (database faults).
export CAE_INIT_TEST_PGBIN="$pgbin" CAE_INIT_TEST_PGDATA="$pgdata/data" CAE_INIT_TEST_PGUSER="$pguser" \
       CAE_INIT_TEST_PGOPTS="$pgopts" CAE_INIT_TEST_PGLOG="$pgdata/server.log"
echo "PostgreSQL $("$pgbin/postgres" --version | awk '{print $3}') running at 127.0.0.1:$port (data in $pgdata)" >&2
set +e
"$@"
status=$?
set -e
exit $status
