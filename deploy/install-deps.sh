#!/usr/bin/env bash
# Installs every Debian 12 package the gateway needs to build, run, test and benchmark.
# Idempotent: does nothing (and needs no network) when everything is already installed.
set -euo pipefail

pkgs=(
  build-essential cmake pkg-config git ca-certificates
  libuv1-dev libcurl4-openssl-dev libssl-dev openssl libxml2-dev libxml2-utils libxmlsec1-dev xmlsec1
  libpq-dev postgresql-15 postgresql-client-15 postgresql-contrib
  libhttp-parser-dev libinih-dev libjansson-dev libcmocka-dev libzip-dev
  clang-14 libclang-rt-14-dev clang-format-14
  libutf8proc-dev poppler-utils libnss3-tools qpdf mupdf-tools faketime
  python3 curl wrk procps util-linux prometheus
)

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "installing: ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q >&2
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
