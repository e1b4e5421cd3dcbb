#!/usr/bin/env bash
# The Debian packages the suite needs: mosquitto-clients (interop), openssl (the TLS tests make their own CA),
# chromium (the WebSocket and dashboard tests drive a headless browser). Installs the missing ones with apt-get
# when it can (root on Debian), otherwise says which are missing and how to get them.
set -euo pipefail
missing=()
command -v mosquitto_pub >/dev/null 2>&1 && command -v mosquitto_sub >/dev/null 2>&1 || missing+=(mosquitto-clients)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
[ "${#missing[@]}" -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing ${missing[*]} with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "The test suite needs these Debian packages: ${missing[*]} (sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
