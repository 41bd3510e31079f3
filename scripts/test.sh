#!/usr/bin/env bash
# The whole test suite: installs what is missing, starts a throwaway PostgreSQL, builds, runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build
exec scripts/with-postgres.sh swift test "$@"
