#!/usr/bin/env bash
# Start a throwaway PostgreSQL cluster on 127.0.0.1 for the registry's PostgreSQL tests.
#
#   eval "$(scripts/start-postgres.sh)"        # installs Debian's postgresql if missing, starts it, exports
#                                              # TUNEGUARD_TEST_PG_URL and TUNEGUARD_TEST_PG_DIR
#   scripts/start-postgres.sh stop "$TUNEGUARD_TEST_PG_DIR"   # stops it and deletes the data dir
#
# Only the export lines go to standard output; progress goes to standard error. The cluster listens on
# 127.0.0.1 only, on a free port (or $TUNEGUARD_PG_PORT), with a random password (scram-sha-256).
set -euo pipefail

log() { echo "start-postgres: $*" >&2; }

as_pg() {
  if [ "$(id -u)" = "0" ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_bin() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

if [ "${1:-}" = "stop" ]; then
  dir="${2:?usage: start-postgres.sh stop DATA_DIR}"
  bin="$(pg_bin)"
  as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >&2 || true
  rm -rf "$dir"
  exit 0
fi

if [ -z "$(pg_bin)" ]; then
  log "installing postgresql from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update >&2 && apt-get install -y --no-install-recommends postgresql >&2
fi
bin="$(pg_bin)"
[ -x "$bin/initdb" ] || { log "no initdb found under /usr/lib/postgresql"; exit 1; }

port="${TUNEGUARD_PG_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}"
dir="$(mktemp -d /tmp/tuneguard-pg.XXXXXX)"
password="$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
printf '%s\n' "$password" > "$dir/pwfile"
chmod 700 "$dir"; chmod 600 "$dir/pwfile"
if [ "$(id -u)" = "0" ]; then chown -R postgres "$dir"; fi

log "initdb in $dir/data"
as_pg "$bin/initdb" -D "$dir/data" -U postgres --auth=scram-sha-256 --pwfile="$dir/pwfile" -E UTF8 >&2
rm -f "$dir/pwfile"
log "starting on 127.0.0.1:$port"
as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/data/server.log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $dir" start >&2
PGPASSWORD="$password" as_pg "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres tuneguard_test >&2

echo "export TUNEGUARD_TEST_PG_URL=postgresql://postgres:$password@127.0.0.1:$port/tuneguard_test"
echo "export TUNEGUARD_TEST_PG_DIR=$dir"
