#!/usr/bin/env bash
# Start a throwaway PostgreSQL server on loopback for the test suite (used by .ci/run).
#   eval "$(scripts/postgres.sh start [PORT])"   -> exports DATABASE_URL, PG_STOP (command to stop it)
# Installs the Debian package first when no PostgreSQL binaries are present (needs root).
set -euo pipefail
PORT="${2:-${PGPORT:-55432}}"
case "${1:-}" in
  start)
    if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
      echo "==> Installing PostgreSQL (apt)" >&2
      apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
    fi
    INITDB=$(command -v initdb 2>/dev/null || ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)
    PGBIN=$(dirname "$INITDB")
    PGDATA=$(mktemp -d /tmp/refinery-pg.XXXXXX)
    RUNAS=""
    if [ "$(id -u)" = 0 ]; then chown postgres "$PGDATA"; RUNAS="runuser -u postgres --"; fi
    $RUNAS "$PGBIN/initdb" -D "$PGDATA" -U postgres --auth=trust -E UTF8 >/dev/null
    $RUNAS "$PGBIN/pg_ctl" -D "$PGDATA" -l "$PGDATA/server.log" -w \
      -o "-p $PORT -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" start >&2
    echo "export DATABASE_URL=postgres://postgres@127.0.0.1:$PORT/refinery"
    echo "export PG_STOP='$RUNAS $PGBIN/pg_ctl -D $PGDATA -m fast stop'"
    ;;
  *) echo "usage: eval \"\$($0 start [PORT])\"" >&2; exit 2 ;;
esac
