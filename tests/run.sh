#!/usr/bin/env bash
# Runs every test: installs what is missing (Debian 12), builds with -Werror, starts a throwaway
# PostgreSQL for the unit tests that need one, runs ctest (unit, fuzz corpus replay, integration,
# simulator self-test, format check), then builds again with ASan+UBSan and runs the suite again.
#   ./tests/run.sh            everything
#   ./tests/run.sh --no-san   skip the sanitizer pass
set -euo pipefail

cd "$(dirname "$0")/.."
root=$(pwd)
sanitize=1
for arg in "$@"; do
  case "$arg" in
  --no-san) sanitize=0 ;;
  *) echo "unknown option $arg" >&2; exit 2 ;;
  esac
done

./deploy/install-deps.sh

jobs=$(nproc 2>/dev/null || echo 2)
tmp=$(mktemp -d /tmp/gw-tests.XXXXXX)
chmod 755 "$tmp"
cleanup() {
  "$root/tests/lib/pg.sh" stop "$tmp/pg" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT

export GW_TEST_PGHOST
GW_TEST_PGHOST=$("$root/tests/lib/pg.sh" start "$tmp/pg")

run_suite() {
  local dir=$1
  shift
  cmake -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGW_WERROR=ON "$@" >/dev/null
  cmake --build "$dir" -j "$jobs" >/dev/null
  (cd "$dir" && ctest --output-on-failure -j "$jobs" --timeout 300)
}

echo "== build and test (-Werror)"
run_suite "$root/build"

if [ "$sanitize" = 1 ]; then
  echo "== build and test under AddressSanitizer + UndefinedBehaviorSanitizer"
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  export LSAN_OPTIONS=suppressions="$root/tests/lsan.supp"
  run_suite "$root/build-san" -DGW_ASAN=ON -DGW_UBSAN=ON
fi
