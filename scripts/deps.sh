#!/usr/bin/env bash
# Installs the Debian packages vigil needs to build, test and benchmark.
# Only what is missing is installed, so a prepared machine pays nothing.
set -euo pipefail

build_pkgs=(build-essential cmake pkg-config clang libclang-rt-14-dev
    libevent-dev libssl-dev libsodium-dev libjansson-dev libyaml-dev
    libcurl4-openssl-dev libcmocka-dev libsnmp-dev libmodbus-dev libmosquitto-dev
    libupsclient-dev libpq-dev)
test_pkgs=(tzdata curl jq openssl procps iproute2 python3 coreutils spin nftables systemd strace
    snmpd snmp mosquitto mosquitto-clients nut-server nut-client
    prometheus prometheus-alertmanager python3-aiosmtpd postgresql chromium)
bench_pkgs=(etcd-server etcd-client influxdb patroni python3-psycopg2)

want=("${build_pkgs[@]}" "${test_pkgs[@]}")
if [[ "${1:-}" == "--bench" ]]; then
    want+=("${bench_pkgs[@]}")
fi

missing=()
for p in "${want[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
# The dashboard's build (web/) runs node and npm; the base image brings
# them (a newer Node.js than Debian's, with npm inside its package), so
# Debian's are installed only where there are none.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    missing+=(nodejs npm)
fi
if ((${#missing[@]} == 0)); then
    exit 0
fi
echo "deps: installing ${missing[*]}" >&2
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
