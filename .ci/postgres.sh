#!/usr/bin/env bash
# Starts a local PostgreSQL for the distributed-search tests and prints its URL on stdout.
# Installs Debian's server when it is missing (needs root); safe to run again.
set -euo pipefail

start_server() {
  if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fi
  version=$(ls /usr/lib/postgresql | sort -n | tail -n 1)
  if ! pg_lsclusters -h | awk '{print $1, $2}' | grep -qx "$version main"; then
    pg_createcluster "$version" main >/dev/null
  fi
  port=$(pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main" {print $3}')
  # Readiness decides, not `pg_ctlcluster status`: a server killed with its session leaves a
  # pid file (and lock files) naming a pid that may still look alive for a moment, and its
  # first restart may refuse. So: start, wait, and start again until it accepts connections.
  for attempt in $(seq 1 30); do
    su postgres -c "pg_isready -q -p $port" && break
    [ "$attempt" -lt 30 ] || { echo "PostgreSQL $version did not start" >&2; exit 1; }
    pg_ctlcluster "$version" main start >/dev/null 2>&1 || true
    sleep 1
  done
  su postgres -c "psql -q -p $port -v ON_ERROR_STOP=1" <<'SQL'
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'nnx') THEN
    CREATE ROLE nnx LOGIN PASSWORD 'nnx' CREATEDB;
  END IF;
END $$;
SQL
  if ! su postgres -c "psql -p $port -tAc \"SELECT 1 FROM pg_database WHERE datname = 'nnx_test'\"" | grep -q 1; then
    su postgres -c "createdb -p $port -O nnx nnx_test"
  fi
}

# Everything but the URL goes to stderr, and with stdin closed: a server started here must not
# hold the caller's stdout, or a caller reading the URL through $(...) waits for it forever.
start_server </dev/null >&2
echo "postgresql://nnx:nnx@127.0.0.1:$port/nnx_test"
