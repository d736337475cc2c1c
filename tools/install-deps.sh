#!/bin/bash
# install-deps.sh [build|demo|test]: Debian 12 packages for building
# DECNET-C, running its demo, or running every test suite. Idempotent;
# needs root. Everything comes from Debian's archive.
set -euo pipefail
what=${1:-test}

build_pkgs=(
	gcc clang llvm libclang-rt-14-dev meson ninja-build pkg-config
	libpcap-dev libbpf-dev libxdp-dev dpdk-dev libndpi-dev libmbedtls-dev
	liblmdb-dev libcjson-dev libcurl4-openssl-dev
)
# The demo: a netns LAN and the clients a visitor uses on it.
demo_pkgs=(
	iproute2 ethtool arping iputils-ping nmap curl openssh-client
	netcat-openbsd socat tcpdump
)
# Tests: real peers (nmap, p0f, tshark, hping3, curl, ssh, socat), crafted
# packets (scapy), schema validation, Docker for classic mode, valgrind
# for instruction counts.
test_pkgs=(
	"${demo_pkgs[@]}" tshark p0f hping3 python3 python3-scapy python3-jsonschema python3-yaml
	valgrind docker.io containerd mmdebstrap uidmap procps
)

case $what in
build) pkgs=("${build_pkgs[@]}") ;;
demo) pkgs=("${build_pkgs[@]}" "${demo_pkgs[@]}") ;;
test) pkgs=("${build_pkgs[@]}" "${test_pkgs[@]}") ;;
*) echo "usage: $0 [build|demo|test]" >&2; exit 2 ;;
esac

if [ "$(id -u)" != 0 ]; then
	echo "install-deps.sh: run as root (apt-get install)" >&2
	exit 1
fi
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "install-deps: all ${#pkgs[@]} packages present"
	exit 0
fi
echo "install-deps: installing ${#missing[@]} packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer for it.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
