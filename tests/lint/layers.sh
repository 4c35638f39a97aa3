#!/usr/bin/env bash
# Layering check (docs/internals/layout.md): a folder under gateway/ may include only the folders
# listed before it; adapters/ may include util, metrics, http, the axis contract (engine/axis.h)
# and their own folder; only daemon/ and cli/ include adapters. Prints every violation, exits 1 on any.
#   tests/lint/layers.sh [TREE]    TREE defaults to this checkout
set -euo pipefail
cd "${1:-$(dirname "$0")/../..}"
order=(util metrics config http db store edxml sig rules pipeline engine api daemon cli)
rank() {
  local i
  for i in "${!order[@]}"; do
    if [ "${order[$i]}" = "$1" ]; then echo "$i"; return; fi
  done
  echo -1
}
bad=0
while IFS= read -r -d '' f; do
  top=${f#gateway/}
  top=${top%%/*}
  if [ "$f" = "gateway/$top" ]; then
    echo "$f: source files live in a subsystem folder, not in gateway/ itself"; bad=1; continue
  fi
  me=$(rank "$top")
  if [ "$me" -lt 0 ]; then echo "$f: folder gateway/$top is not in the layer list"; bad=1; continue; fi
  while IFS=: read -r line inc; do
    dir=${inc%%/*}
    if [ "$dir" = "$inc" ]; then
      echo "$f:$line: include \"$inc\" must name its folder"; bad=1; continue
    fi
    if [ "$dir" = adapters ]; then
      if [ "$top" != daemon ] && [ "$top" != cli ]; then
        echo "$f:$line: only daemon/ and cli/ may include adapters ($inc)"; bad=1
      fi
      continue
    fi
    r=$(rank "$dir")
    if [ "$r" -lt 0 ]; then echo "$f:$line: include \"$inc\" is outside the layers"; bad=1; continue; fi
    if [ "$r" -gt "$me" ]; then
      echo "$f:$line: gateway/$top may not include $inc (gateway/$dir is a higher layer)"; bad=1
    fi
  done < <(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" | sed -E 's/^([0-9]+):.*"([^"]+)".*/\1:\2/')
done < <(find gateway -type f \( -name '*.c' -o -name '*.h' \) -print0 | sort -z)

while IFS= read -r -d '' f; do
  own=$(dirname "$f")
  while IFS=: read -r line inc; do
    dir=${inc%%/*}
    case "$inc" in
    engine/axis.h) continue ;;
    esac
    if [ "$dir" = "$inc" ] && [ -f "$own/$inc" ]; then continue; fi
    case "$dir" in
    util | metrics | http) ;;
    adapters) [ "$(dirname "$inc")" = "$own" ] || { echo "$f:$line: an adapter may not include another adapter ($inc)"; bad=1; } ;;
    *) echo "$f:$line: an adapter may include util, metrics, http and engine/axis.h only ($inc)"; bad=1 ;;
    esac
  done < <(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" | sed -E 's/^([0-9]+):.*"([^"]+)".*/\1:\2/')
done < <(find adapters -type f \( -name '*.c' -o -name '*.h' \) -print0 | sort -z)

if [ "$bad" = 0 ]; then echo "layers: ok"; fi
exit "$bad"
