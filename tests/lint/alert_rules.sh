#!/usr/bin/env bash
# Checks every Prometheus rule file in deploy/prometheus with promtool, and runs its unit tests
# (*.rules.test.yml). Skipped (77) when promtool is not installed (Debian: prometheus).
set -euo pipefail
cd "$(dirname "$0")/../../deploy/prometheus"
command -v promtool >/dev/null || { echo "promtool not installed: skipped"; exit 77; }
for f in *.rules.yml; do promtool check rules "$f"; done
for f in *.rules.test.yml; do promtool test rules "$f"; done
