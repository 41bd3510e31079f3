#!/usr/bin/env bash
# Installs what the build, the tests and the demo need, when missing: PostgreSQL 15 (server and libpq-dev), librdkafka-dev,
# pkg-config, wrk (bench/api.sh), the Python packages of the S3 and Azure test servers, and schemathesis (the API
# test against /openapi.json), confluent-kafka (the tests' Kafka producer, a client apart from the code under test).
set -euo pipefail

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || missing+=(postgresql)
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
pkg-config --exists libpq 2>/dev/null || missing+=(libpq-dev)
pkg-config --exists rdkafka 2>/dev/null || missing+=(librdkafka-dev)
command -v runuser >/dev/null 2>&1 || missing+=(util-linux)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]}" >&2
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ "${CAE_INIT_SKIP_PIP:-}" != 1 ]; then
    python3 - <<'PY' 2>/dev/null || { echo "installing Python packages: moto[server], azure-storage-blob" >&2; python3 -m pip install --quiet --disable-pip-version-check 'moto[server]' azure-storage-blob; }
import moto.server, flask, boto3, azure.storage.blob._shared.authentication
PY
    python3 -c 'import confluent_kafka' 2>/dev/null || { echo "installing Python package: confluent-kafka (the tests' separate Kafka producer)" >&2; python3 -m pip install --quiet --disable-pip-version-check confluent-kafka; }
    command -v schemathesis >/dev/null 2>&1 || { echo "installing Python package: schemathesis" >&2; python3 -m pip install --quiet --disable-pip-version-check 'schemathesis>=4,<5'; }
fi
