#!/usr/bin/env bash
# Finds or starts a Postgres server for quota-postgres' tests and benches.
#
#   eval "$(scripts/pg-env.sh)"      # exports DATABASE_URL
#   scripts/pg-env.sh --url          # prints the URL only
#   scripts/pg-env.sh --install      # only makes sure the server binaries are installed
#   scripts/pg-env.sh --stop         # stops the throwaway cluster this script started
#
# Order: $DATABASE_URL if set; else 127.0.0.1:5432 if it answers; else install `postgresql`
# from Debian's packages (when missing) and start a throwaway cluster on
# 127.0.0.1:$QUOTA_PG_PORT (default 5440) in $QUOTA_PG_DIR (default /tmp/quota-pg-$PORT),
# reused by later calls while it runs. initdb/pg_ctl refuse root, so they run as `postgres`.
set -euo pipefail

PORT="${QUOTA_PG_PORT:-5440}"
DIR="${QUOTA_PG_DIR:-/tmp/quota-pg-$PORT}"
MODE="${1:-}"

log() { echo "pg-env: $*" >&2; }

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

install_postgres() {
  if [ -n "$(pg_bin)" ] && [ -x "$(pg_bin)/initdb" ]; then return 0; fi
  if [ "$(id -u)" != 0 ]; then
    log "postgresql is not installed and this is not root: install it (apt-get install postgresql) or set DATABASE_URL"
    exit 1
  fi
  log "installing postgresql from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=300 update -qq >&2
  apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends postgresql >&2
}

as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

emit() {
  if [ "$MODE" = "--url" ]; then echo "$1"; else echo "export DATABASE_URL='$1'"; fi
}

case "$MODE" in
  --install) install_postgres; exit 0 ;;
  --stop)
    if [ -f "$DIR/data/postmaster.pid" ]; then
      as_postgres "$(pg_bin)/pg_ctl" -D "$DIR/data" -m fast -w stop >&2
    fi
    exit 0 ;;
esac

if [ -n "${DATABASE_URL:-}" ]; then emit "$DATABASE_URL"; exit 0; fi
if answers 5432; then emit "postgres://postgres@127.0.0.1:5432/postgres"; exit 0; fi
if answers "$PORT"; then emit "postgres://postgres@127.0.0.1:$PORT/postgres"; exit 0; fi

install_postgres
BIN="$(pg_bin)"
cd /tmp  # postgres cannot read root's home
if [ ! -f "$DIR/data/PG_VERSION" ]; then
  rm -rf "$DIR"
  mkdir -p "$DIR/sock"
  if [ "$(id -u)" = 0 ]; then chown -R postgres:postgres "$DIR"; fi
  as_postgres "$BIN/initdb" -D "$DIR/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 -N >&2
fi
log "starting a throwaway cluster on 127.0.0.1:$PORT ($DIR)"
as_postgres "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/log" -w -t 60 \
  -o "-p $PORT -k $DIR/sock -c listen_addresses=127.0.0.1 -c max_connections=200" start >&2
emit "postgres://postgres@127.0.0.1:$PORT/postgres"
