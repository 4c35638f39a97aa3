#!/usr/bin/env bash
# Self-test of tests/lint/layers.sh: on small trees it must pass the allowed includes and fail
# each kind of forbidden one, so the layer lint cannot silently stop checking.
set -euo pipefail
lint="$(cd "$(dirname "$0")" && pwd)/layers.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

tree() { # name: a fresh tree with one allowed include in each direction
  rm -rf "${tmp:?}/$1"
  mkdir -p "$tmp/$1/gateway/util" "$tmp/$1/gateway/engine" "$tmp/$1/gateway/daemon" "$tmp/$1/adapters/x"
  echo '#include "util/error.h"' >"$tmp/$1/gateway/engine/a.c"
  echo '#include "engine/a.h"' >"$tmp/$1/gateway/daemon/b.c"
  echo '#include "adapters/x/x.h"' >>"$tmp/$1/gateway/daemon/b.c"
  printf '#include "engine/axis.h"\n#include "http/http_client.h"\n#include "x_internal.h"\n' >"$tmp/$1/adapters/x/x.c"
  touch "$tmp/$1/adapters/x/x_internal.h"
  echo "$tmp/$1"
}
expect() { # want(0|1) description tree
  if "$lint" "$3" >"$tmp/out" 2>&1; then got=0; else got=1; fi
  if [ "$got" != "$1" ]; then
    echo "FAIL: $2 (exit $got, wanted $1)"; cat "$tmp/out"; fails=1
  else
    echo "ok: $2"
  fi
}

t=$(tree clean); expect 0 "allowed includes pass" "$t"
t=$(tree up); echo '#include "engine/a.h"' >"$t/gateway/util/c.c"; expect 1 "util including engine fails" "$t"
t=$(tree bare); echo '#include "error.h"' >"$t/gateway/util/d.c"; expect 1 "include without its folder fails" "$t"
t=$(tree adapt); echo '#include "adapters/x/x.h"' >"$t/gateway/engine/e.c"; expect 1 "engine including an adapter fails" "$t"
t=$(tree adcore); echo '#include "store/s.h"' >>"$t/adapters/x/x.c"; expect 1 "adapter including store fails" "$t"
t=$(tree flat); echo '' >"$t/gateway/loose.c"; expect 1 "a file directly in gateway/ fails" "$t"
t=$(tree unknown); mkdir -p "$t/gateway/misc"; echo '' >"$t/gateway/misc/m.c"; expect 1 "an unlisted folder fails" "$t"
exit "$fails"
