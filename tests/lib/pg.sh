#!/usr/bin/env bash
# Throwaway PostgreSQL cluster on a Unix socket in a directory (no TCP port).
#   tests/lib/pg.sh start DIR   -> initdb (if needed) and start; prints the socket directory
#   tests/lib/pg.sh stop DIR    -> fast shutdown
# initdb refuses to run as root, so when root the server runs as the 'postgres' user.
set -euo pipefail

cmd=${1:?usage: pg.sh start|stop|restart DIR}
dir=${2:?usage: pg.sh start|stop|restart DIR}
bindir=$(pg_config --bindir 2>/dev/null || true)
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
  bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
fi

as_pg() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

case "$cmd" in
start)
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres "$dir"
    # The server user must be able to reach DIR: open the search bit on its ancestors.
    p=$(dirname "$dir")
    while [ "$p" != "/" ]; do chmod o+x "$p"; p=$(dirname "$p"); done
  fi
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    as_pg "$bindir/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
  as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 60 \
    -o "-k $dir -c listen_addresses='' -c fsync=on -c max_connections=200" start >/dev/null
  echo "$dir"
  ;;
stop)
  [ -f "$dir/data/postmaster.pid" ] && as_pg "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
  ;;
restart)
  as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/log" -m fast -w -t 60 \
    -o "-k $dir -c listen_addresses='' -c fsync=on -c max_connections=200" restart >/dev/null
  ;;
*)
  echo "unknown command $cmd" >&2
  exit 2
  ;;
esac
