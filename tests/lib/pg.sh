#!/usr/bin/env bash
# Throwaway PostgreSQL cluster on a Unix socket in a directory (no TCP port).
#   tests/lib/pg.sh start DIR [SETTING=VALUE ...]  -> initdb (if needed) and start; prints the
#                                  socket directory. Each SETTING=VALUE is one more server setting
#                                  (-c), e.g. shared_preload_libraries=pg_stat_statements.
#   tests/lib/pg.sh restart DIR [SETTING=VALUE ...]
#   tests/lib/pg.sh stop DIR    -> fast shutdown
# initdb refuses to run as root, so when root the server runs as the 'postgres' user.
set -euo pipefail

cmd=${1:?usage: pg.sh start|stop|restart DIR}
dir=${2:?usage: pg.sh start|stop|restart DIR}
shift 2
extra=""
for setting in "$@"; do
  case "$setting" in
  *=*) extra+=" -c $setting" ;;
  *)
    echo "pg.sh: server setting $setting is not NAME=VALUE" >&2
    exit 2
    ;;
  esac
done
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
    -o "-k $dir -c listen_addresses='' -c fsync=on -c max_connections=200$extra" start >/dev/null
  echo "$dir"
  ;;
stop)
  [ -f "$dir/data/postmaster.pid" ] && as_pg "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
  ;;
restart)
  as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/log" -m fast -w -t 60 \
    -o "-k $dir -c listen_addresses='' -c fsync=on -c max_connections=200$extra" restart >/dev/null
  ;;
*)
  echo "unknown command $cmd" >&2
  exit 2
  ;;
esac
