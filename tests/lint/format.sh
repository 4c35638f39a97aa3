#!/usr/bin/env bash
# Checks that every C source follows the pinned .clang-format (clang-format 14).
set -euo pipefail
cd "$(dirname "$0")/../.."
fmt=$(command -v clang-format-14 || command -v clang-format || true)
if [ -z "$fmt" ]; then
  echo "clang-format not installed" >&2
  exit 1
fi
mapfile -t files < <(git ls-files '*.c' '*.h' 2>/dev/null || find gateway adapters tests -name '*.[ch]')
[ ${#files[@]} -gt 0 ] || { echo "no C files"; exit 0; }
bad=0
for f in "${files[@]}"; do
  [ -f "$f" ] || continue
  if ! diff -q <("$fmt" --style=file "$f") "$f" >/dev/null; then
    echo "not formatted: $f (run: $fmt -i --style=file $f)"
    bad=1
  fi
done
exit $bad
