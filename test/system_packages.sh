#!/usr/bin/env bash
# The Debian packages the suite needs, each found by one command it provides:
#   mosquitto-clients (interop), mosquitto (bridge remote, bench), openssl (the TLS tests make their own CA),
#   chromium (WebSocket and dashboard tests), nats-server (cluster), redis-server, postgresql and mariadb-server
#   (auth backends), libcoap3-bin (coap-client for the CoAP gateway).
# Installs the missing ones with apt-get when it can (root on Debian), otherwise says which are missing.
set -euo pipefail
missing=()
need() { # need COMMAND PACKAGE: COMMAND may be a path for binaries outside PATH
  if [ "${1#/}" != "$1" ]; then compgen -G "$1" >/dev/null || missing+=("$2")
  else command -v "$1" >/dev/null 2>&1 || missing+=("$2"); fi
}
need mosquitto_sub mosquitto-clients
need mosquitto_pub mosquitto-clients
need /usr/sbin/mosquitto mosquitto
need openssl openssl
need chromium chromium
need /usr/sbin/nats-server nats-server
need redis-server redis-server
need '/usr/lib/postgresql/*/bin/initdb' postgresql
need /usr/sbin/mariadbd mariadb-server
need coap-client-notls libcoap3-bin  # libcoap3-bin names its client coap-client-{notls,openssl,gnutls}
[ "${#missing[@]}" -eq 0 ] && exit 0
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing ${missing[*]} with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
  # Debian starts the servers it installs; the tests start their own on free ports, so stop the system ones.
  for unit in mosquitto redis-server postgresql mariadb nats-server; do
    if command -v systemctl >/dev/null 2>&1; then systemctl stop "$unit" >/dev/null 2>&1 || true; fi
    if command -v service >/dev/null 2>&1; then service "$unit" stop >/dev/null 2>&1 || true; fi
  done
else
  echo "The test suite needs these Debian packages: ${missing[*]} (sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
