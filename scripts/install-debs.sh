#!/usr/bin/env bash
# Installs the Debian packages phonewarden's tests talk to (real peers, not mocks), when run as root.
# `install-debs.sh runtime` installs only what the product itself uses at run time.
set -euo pipefail
runtime=(nftables iproute2 gcc libc6-dev)
peers=(gcc libc6-dev tshark sip-tester kamailio kamailio-extra-modules nftables iproute2 tcpdump bind9-dnsutils curl openssl socat kamailio-utils-modules wrk dnsmasq-base chromium)
if [ "${1:-}" = runtime ]; then wanted=("${runtime[@]}"); else wanted=("${peers[@]}"); fi

missing=()
for pkg in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "install-debs: not root, cannot install: ${missing[*]} (tests that need them will say so)" >&2
  exit 0
fi
echo "install-debs: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
