#!/bin/bash
# build.sh — builds classic mode's images without Docker Hub.
#
#   build.sh [--no-cache] [--list] [IMAGE|SLUG ...]
#
# With no IMAGE, builds everything: the base, the listener, and one image
# per service in `decnet services --json`. An IMAGE is a full name
# (decnet/svc-ftp:latest, decnet/base-debian:bookworm) or a service slug
# (ftp). Images that exist and are current (their decnet.recipe label is
# the hash of the recipe files, base image and ports that made them) are
# skipped unless --no-cache, which rebuilds them (the base too, with a
# fresh mmdebstrap) and passes --no-cache to docker build. --list prints
# the image names and exits.
#
# The chain:
#   decnet/base-debian:bookworm   mmdebstrap --variant=minbase bookworm
#                                 (+ base/packages), then docker import
#   decnet/svc-ssh:latest         svc-ssh/Dockerfile  (openssh-server)
#   decnet/svc-http:latest        svc-http/Dockerfile (python3 http.server)
#   decnet/svc-listener:latest    listener/Dockerfile (generic logger)
#   decnet/svc-SLUG:latest        SLUG without a svc-SLUG/ recipe: a tag
#                                 of the listener with the service's ports
#                                 baked in (DECNET_PORTS). NOT a real
#                                 implementation of that protocol.
# Every Dockerfile takes ARG BASE_IMAGE. It is debian:bookworm-slim when
# that image is present locally (a registry was reachable once), else our
# base; DECNET_BASE_IMAGE overrides both. Builds use the host's network
# (--network host) so apt inside reaches the Debian mirror without the
# docker0 NAT; http_proxy/https_proxy are passed through when set.
#
# Environment: DOCKER (default docker), DECNET_CLI (decnet binary for the
# service table; else `decnet` on PATH, else ../../build*/decnet),
# DECNET_DEBIAN_MIRROR (default http://deb.debian.org/debian),
# DECNET_BASE_IMAGE. Exit: 0 built/skipped everything, 1 a build failed,
# 2 usage.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DOCKER=${DOCKER:-docker}
BASE=decnet/base-debian:bookworm
LISTENER=decnet/svc-listener:latest
MIRROR=${DECNET_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY=${DECNET_DEBIAN_SECURITY:-http://deb.debian.org/debian-security}

no_cache=0
list=0
targets=()
for a in "$@"; do
	case $a in
	--no-cache) no_cache=1 ;;
	--list) list=1 ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	-*) echo "build.sh: unknown option $a" >&2; exit 2 ;;
	*) targets+=("$a") ;;
	esac
done

find_cli() {
	if [ -n "${DECNET_CLI:-}" ]; then echo "$DECNET_CLI"; return; fi
	if command -v decnet >/dev/null 2>&1; then command -v decnet; return; fi
	local c
	for c in "$here"/../../build*/decnet; do
		[ -x "$c" ] && { echo "$c"; return; }
	done
	echo "build.sh: cannot find the decnet CLI (set DECNET_CLI)" >&2
	exit 2
}

# "slug image ports" per service, ports as "22/tcp,80/tcp".
declare -A svc_image svc_ports
load_services() {
	local cli line slug img ports
	cli=$(find_cli)
	while read -r slug img ports; do
		svc_image[$slug]=$img
		svc_ports[$slug]=$ports
	done < <("$cli" services --json | python3 -c '
import json, sys
for s in json.load(sys.stdin):
    print(s["slug"], s["image"], ",".join("%d/%s" % (p["port"], p["proto"]) for p in s["ports"]))')
}

exists() { "$DOCKER" image inspect "$1" >/dev/null 2>&1; }
# Images built by this run are never rebuilt in it, even under --no-cache.
declare -A built
# An image is current when its decnet.recipe label is the hash of what
# made it (recipe files, base image, ports): editing a recipe rebuilds.
recipe_hash() { # DIR [extra words...]
	local dir=$1
	shift
	{ (cd "$dir" && find . -type f -print0 | sort -z | xargs -0 sha256sum); echo "$@"; } |
		sha256sum | cut -c1-16
}
label_of() { "$DOCKER" image inspect -f '{{index .Config.Labels "decnet.recipe"}}' "$1" 2>/dev/null; }
skip() { # IMAGE HASH
	[ -n "${built[$1]:-}" ] && return 0
	[ $no_cache = 0 ] || return 1
	exists "$1" || return 1
	if [ "$(label_of "$1")" != "$2" ]; then
		echo "build.sh: $1 exists but its recipe changed: rebuilding"
		return 1
	fi
	echo "build.sh: $1 is current, skipped"
	built[$1]=1
}

build_base() {
	local hash
	hash=$(recipe_hash "$here/base")
	skip "$BASE" "$hash" && return 0
	command -v mmdebstrap >/dev/null || { echo "build.sh: mmdebstrap not installed (apt-get install mmdebstrap)" >&2; return 1; }
	local tmp pkgs t0=$SECONDS
	tmp=$(mktemp -d /tmp/decnet-base.XXXXXX)
	pkgs=$(grep -v '^#' "$here/base/packages" | xargs | tr ' ' ',')
	echo "build.sh: $BASE: mmdebstrap --variant=minbase bookworm (+$pkgs)"
	if ! mmdebstrap --quiet --variant=minbase --include="$pkgs" \
		--dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
		--dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
		bookworm "$tmp/rootfs.tar" \
		"deb $MIRROR bookworm main" "deb $MIRROR bookworm-updates main" \
		"deb $SECURITY bookworm-security main"; then
		rm -rf "$tmp"
		return 1
	fi
	"$DOCKER" import \
		--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
		--change 'CMD ["sleep", "infinity"]' \
		--change 'LABEL decnet.image=base' \
		--change "LABEL decnet.recipe=$hash" \
		"$tmp/rootfs.tar" "$BASE" >/dev/null
	rm -rf "$tmp"
	built[$BASE]=1
	echo "build.sh: $BASE imported ($((SECONDS - t0)) s)"
}

base_image() {
	if [ -n "${DECNET_BASE_IMAGE:-}" ]; then echo "$DECNET_BASE_IMAGE"
	elif exists debian:bookworm-slim; then echo debian:bookworm-slim
	else echo "$BASE"; fi
}

ensure_base() {
	local b
	b=$(base_image)
	if [ "$b" = "$BASE" ]; then
		build_base
	elif ! exists "$b"; then
		echo "build.sh: BASE_IMAGE $b is not present locally (this script never pulls)" >&2
		return 1
	fi
}

# docker build with the classic builder (no buildx here); its output is
# shown only when it fails (the client's deprecation banner otherwise).
quiet_build() {
	local log rc=0
	log=$(mktemp /tmp/decnet-build.XXXXXX)
	DOCKER_BUILDKIT=0 "$DOCKER" build -q "$@" >"$log" 2>&1 || rc=$?
	[ $rc = 0 ] || cat "$log" >&2
	rm -f "$log"
	return $rc
}

# docker_build TAG DIR HASH [extra build args...]
docker_build() {
	local tag=$1 dir=$2 hash=$3 t0=$SECONDS
	shift 3
	local args=(--network host --label decnet.image=service --label "decnet.recipe=$hash"
		--build-arg "BASE_IMAGE=$(base_image)" -t "$tag")
	[ $no_cache = 1 ] && args+=(--no-cache)
	local v
	for v in http_proxy https_proxy no_proxy; do
		[ -n "${!v:-}" ] && args+=(--build-arg "$v=${!v}")
	done
	echo "build.sh: $tag: docker build $dir"
	quiet_build "${args[@]}" "$@" "$dir" || return 1
	built[$tag]=1
	echo "build.sh: $tag built ($((SECONDS - t0)) s)"
}

build_listener() {
	local hash
	hash=$(recipe_hash "$here/listener" "$(base_image)" "$(label_of "$(base_image)")")
	skip "$LISTENER" "$hash" && return 0
	ensure_base
	hash=$(recipe_hash "$here/listener" "$(base_image)" "$(label_of "$(base_image)")")
	docker_build "$LISTENER" "$here/listener" "$hash"
}

# build_service SLUG
build_service() {
	local slug=$1 img=${svc_image[$1]} hash
	if [ -d "$here/svc-$slug" ]; then
		hash=$(recipe_hash "$here/svc-$slug" "$(base_image)" "$(label_of "$(base_image)")")
		skip "$img" "$hash" && return 0
		ensure_base
		hash=$(recipe_hash "$here/svc-$slug" "$(base_image)" "$(label_of "$(base_image)")")
		docker_build "$img" "$here/svc-$slug" "$hash"
		return
	fi
	build_listener
	hash=$(recipe_hash "$here/listener" "$(label_of "$LISTENER")" "${svc_ports[$slug]}")
	skip "$img" "$hash" && return 0
	local tmp
	tmp=$(mktemp -d /tmp/decnet-svc.XXXXXX)
	# A two-line Dockerfile: the listener with this service's identity.
	printf 'FROM %s\nENV DECNET_SERVICE=%s DECNET_PORTS=%s\nLABEL decnet.listener=generic\n' \
		"$LISTENER" "$slug" "${svc_ports[$slug]}" >"$tmp/Dockerfile"
	local rc=0
	quiet_build --label decnet.image=service --label "decnet.recipe=$hash" -t "$img" "$tmp" || rc=$?
	rm -rf "$tmp"
	[ $rc = 0 ] && built[$img]=1 && echo "build.sh: $img built (generic listener, ports ${svc_ports[$slug]})"
	return $rc
}

load_services
if [ $list = 1 ]; then
	echo "$BASE"
	echo "$LISTENER"
	for s in "${!svc_image[@]}"; do echo "${svc_image[$s]}"; done | sort
	exit 0
fi
if ! "$DOCKER" info >/dev/null 2>&1; then
	echo "build.sh: cannot reach Docker (is dockerd running?)" >&2
	exit 1
fi

# Resolve targets to actions; base/listener first so one run of several
# services builds them once.
todo=()
[ ${#targets[@]} = 0 ] && targets=("$BASE" "$LISTENER" "${!svc_image[@]}")
for t in "${targets[@]}"; do
	case $t in
	"$BASE" | base) todo+=(base) ;;
	"$LISTENER" | listener) todo+=(listener) ;;
	*)
		found=
		for s in "${!svc_image[@]}"; do
			if [ "$t" = "$s" ] || [ "$t" = "${svc_image[$s]}" ]; then found=$s; fi
		done
		if [ -z "$found" ]; then
			echo "build.sh: no recipe for image '$t' (see build.sh --list)" >&2
			exit 2
		fi
		todo+=("svc:$found")
		;;
	esac
done
t0=$SECONDS
rc=0
for a in "${todo[@]}"; do
	case $a in
	base) build_base || rc=1 ;;
	listener) build_listener || rc=1 ;;
	svc:*) build_service "${a#svc:}" || rc=1 ;;
	esac
	[ $rc = 0 ] || break
done
echo "build.sh: done in $((SECONDS - t0)) s"
exit $rc
