#!/bin/bash
# Classic mode on a real Docker daemon (DECNET's container model):
#  - the images come from containers/images/build.sh (no Docker Hub);
#  - the API client's image import/build and error mapping (docker_api_check);
#  - Docker unreachable: one message naming the socket, non-zero, nothing made;
#  - an INI error: FILE:LINE, exit 2, nothing made;
#  - a deploy that fails half-way (a container name taken by a bystander)
#    rolls back everything it created and nothing else;
#  - decnet deploy --classic of three deckies on a macvlan whose parent is a
#    veth into a scanner namespace: from there every decky answers ping
#    with its family's TTL (the base's sysctls), ssh shows OpenSSH's banner,
#    http answers, the generic mqtt listener logs the connection; the host
#    reaches a decky through the decnet_macvlan0 hairpin;
#  - decnet status (table and --json) shows them running;
#  - teardown --id removes one decky, teardown --all the rest, the network
#    and the hairpin, and leaves an unrelated container and network alone.
# Docker is started when none runs; the test fails (never skips) when it
# cannot be, and skips (77) only without root.
set -u
. "$DECNET_SRC/tests/lab/lab.sh"
lab_need_root
DECNET=$DECNET_CLI
INI=$DECNET_SRC/tests/integration/data/classic-three.ini
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
pass() { echo "ok: $*"; }
for t in docker nc curl ping python3; do
	command -v $t >/dev/null || { echo "FAIL: $t not installed (tests need it)"; exit 1; }
done
if ! docker info >/dev/null 2>&1; then
	bash "$DECNET_SRC/tools/docker-up.sh" || { echo "FAIL: no Docker daemon and cannot start one"; exit 1; }
fi
managed() { docker ps -aq --filter label=decnet.managed=true; docker network ls -q --filter label=decnet.managed=true; }
if [ -n "$(managed)" ]; then
	echo "FAIL: decnet-managed Docker objects exist before the test (a real deployment?); refusing to tear them down"
	exit 1
fi

sfx=$$
LAB_SCAN=dn-dscan-$sfx
PARENT=dkp$sfx
BYSTANDER=dn-bystander-$sfx
LAB_DIR=$(mktemp -d /tmp/decnet-classic.XXXXXX)
cleanup() {
	"$DECNET" teardown --all >/dev/null 2>&1
	docker rm -f "$BYSTANDER" web-01-http >/dev/null 2>&1
	docker network rm "$BYSTANDER" >/dev/null 2>&1
	ip netns del "$LAB_SCAN" 2>/dev/null
	ip link del "$PARENT" 2>/dev/null
	rm -rf "$LAB_DIR"
}
trap cleanup EXIT

t0=$SECONDS
if DECNET_CLI=$DECNET bash "$DECNET_SRC/containers/images/build.sh" base ssh http mqtt >"$LAB_DIR/build.log" 2>&1; then
	pass "images ready in $((SECONDS - t0)) s (build.sh; existing images are kept)"
else
	fail "build.sh failed"; cat "$LAB_DIR/build.log"; exit 1
fi

# The client's calls deploy does not make: import, build, error mapping.
if "$DECNET_BUILD/tests/integration/docker_api_check" "$LAB_DIR" >"$LAB_DIR/api.out" 2>&1; then
	pass "Docker API client: $(grep -c '^ok' "$LAB_DIR/api.out") checks (import, build, errors)"
else
	fail "Docker API client"; cat "$LAB_DIR/api.out"
fi

# The lab: PARENT (host) <-veth-> scan0 (scanner namespace, 10.78.0.1 = gw).
# PARENT gets 10.78.0.254 so the hairpin has a host address to borrow.
ip netns add "$LAB_SCAN"
ip link add "$PARENT" type veth peer name scan0 netns "$LAB_SCAN"
ip -n "$LAB_SCAN" addr add 10.78.0.1/24 dev scan0
ip -n "$LAB_SCAN" link set lo up
ip -n "$LAB_SCAN" link set scan0 up
ip netns exec "$LAB_SCAN" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
ip addr add 10.78.0.254/24 dev "$PARENT"
ip link set "$PARENT" up
scan() { ip netns exec "$LAB_SCAN" "$@"; }

# Bystanders: teardown must not touch what DECNET did not make.
docker network create "$BYSTANDER" >/dev/null || fail "bystander network"
docker run -d --name "$BYSTANDER" --network "$BYSTANDER" decnet/base-debian:bookworm sleep infinity >/dev/null ||
	fail "bystander container"

# 1. Docker unreachable.
out=$(DECNET_DOCKER_SOCKET=$LAB_DIR/nowhere.sock "$DECNET" deploy --classic -c "$INI" -i "$PARENT" 2>&1 >/dev/null)
rc=$?
if [ $rc != 0 ] && [ "$(echo "$out" | wc -l)" = 1 ] && echo "$out" | grep -q "cannot reach Docker at $LAB_DIR/nowhere.sock"; then
	pass "Docker unreachable: exit $rc, '$out'"
else
	fail "Docker unreachable: exit $rc, stderr: $out"
fi
[ -z "$(managed)" ] && pass "  nothing created" || fail "  objects created without Docker?"

# 2. INI error.
printf '[general]\nnet = 10.78.0.0/24\ngw = 10.78.0.1\n\n[x]\nservices = ssh, nosuch\n' >"$LAB_DIR/bad.ini"
out=$("$DECNET" deploy --classic -c "$LAB_DIR/bad.ini" -i "$PARENT" 2>&1 >/dev/null)
rc=$?
[ $rc = 2 ] && echo "$out" | grep -q "^$LAB_DIR/bad.ini:6: " && pass "INI error: exit 2, $out" ||
	fail "INI error: exit $rc, $out"
[ -z "$(managed)" ] && pass "  nothing created" || fail "  objects created from a bad INI"

# 3. Half-way failure: web-01-http is taken, after the network, web-01 and
# web-01-ssh were created; all three must go, the squatter must stay.
docker run -d --name web-01-http --network none decnet/base-debian:bookworm sleep infinity >/dev/null
out=$("$DECNET" deploy --classic -c "$INI" -i "$PARENT" 2>&1)
rc=$?
if [ $rc = 1 ] && echo "$out" | grep -q 'rolling back: removing 2 containers, the network' &&
	echo "$out" | grep -q 'web-01-http.*Conflict\|web-01-http.*already in use'; then
	pass "failed deploy: exit 1, rolled back"
else
	fail "failed deploy: exit $rc"; echo "$out"
fi
[ -z "$(managed)" ] && pass "  rollback left no decnet object" || { fail "  rollback left: $(managed)"; docker ps -a; }
[ "$(docker inspect -f '{{.State.Running}}' web-01-http 2>/dev/null)" = true ] && pass "  the squatter survived" ||
	fail "  the squatter container is gone"
docker rm -f web-01-http >/dev/null

# 4. The real deploy.
t0=$(date +%s.%N)
if "$DECNET" deploy --classic -c "$INI" -i "$PARENT" >"$LAB_DIR/deploy.out" 2>&1; then
	pass "deploy --classic: 3 deckies, 7 containers in $(python3 -c "print('%.1f' % ($(date +%s.%N) - $t0))") s"
else
	fail "deploy --classic"; cat "$LAB_DIR/deploy.out"; exit 1
fi
grep -q '^\[3/9\] creating web-01-ssh' "$LAB_DIR/deploy.out" && pass "  progress lines ([3/9] creating web-01-ssh)" ||
	{ fail "  progress lines"; cat "$LAB_DIR/deploy.out"; }

declare -A ttl=([10.78.0.10]=64 [10.78.0.11]=128 [10.78.0.12]=255)
for ip in 10.78.0.10 10.78.0.11 10.78.0.12; do
	got=""
	for _ in 1 2 3 4 5; do # the first ARP may race the base's start
		got=$(scan ping -c 1 -W 1 "$ip" 2>/dev/null | sed -n 's/.*ttl=\([0-9]*\).*/\1/p')
		[ -n "$got" ] && break
	done
	[ "$got" = "${ttl[$ip]}" ] && pass "ping $ip from the scanner: ttl $got" || fail "ping $ip: want ttl ${ttl[$ip]}, got '$got'"
done
banner=""
for _ in $(seq 1 20); do
	banner=$(scan timeout 3 nc 10.78.0.10 22 </dev/null 2>/dev/null | head -n 1 | tr -d '\r')
	[ -n "$banner" ] && break
	sleep 0.5
done
echo "$banner" | grep -q '^SSH-2.0-OpenSSH' && pass "ssh 10.78.0.10:22: $banner" || fail "ssh banner: '$banner'"
for ip in 10.78.0.10 10.78.0.11; do
	hdr=""
	for _ in $(seq 1 20); do
		hdr=$(scan curl -s -m 3 -o /dev/null -D - "http://$ip/" | tr -d '\r')
		[ -n "$hdr" ] && break
		sleep 0.5
	done
	want_server="Apache/2.4.57 (Debian)"
	[ $ip = 10.78.0.10 ] && want_server="nginx/1.18.0" # [web-01.http] persona
	echo "$hdr" | grep -q '^HTTP/1.1 200' && echo "$hdr" | grep -qi "^server: $want_server\$" && pass "http $ip: $(echo "$hdr" | head -n 1), $(echo "$hdr" | grep -i '^server:')" ||
		fail "http $ip: want 200 and Server: $want_server, got '$hdr'"
done
scan sh -c 'echo hello | timeout 2 nc 10.78.0.12 1883' >/dev/null 2>&1
sleep 0.5
docker logs iot-01-mqtt 2>&1 | grep -q '"event": "connection".*"src_ip": "10.78.0.1"' &&
	pass "mqtt (generic listener) logged the scanner's connection" || { fail "mqtt listener log"; docker logs iot-01-mqtt 2>&1 | tail -3; }
ip link show decnet_macvlan0 >/dev/null 2>&1 && ping -c 1 -W 2 10.78.0.10 >/dev/null &&
	pass "host -> decky through the decnet_macvlan0 hairpin" || fail "hairpin: the host cannot reach 10.78.0.10"

# 5. status.
"$DECNET" status >"$LAB_DIR/status.txt" 2>&1 || fail "status exit $?"
for d in web-01 win-01 iot-01; do
	grep -q "^$d .*running" "$LAB_DIR/status.txt" && pass "status: $d running" || fail "status: $d"
done
"$DECNET" status --json --classic >"$LAB_DIR/status.json" || fail "status --json"
python3 - "$LAB_DIR/status.json" <<'EOF' && pass "status --json: names, IPs, hostname, services, states" || fail "status --json: $(cat "$LAB_DIR/status.json")"
import json, sys
c = {d["name"]: d for d in json.load(open(sys.argv[1]))["classic"]}
assert set(c) == {"web-01", "win-01", "iot-01"}, c.keys()
assert c["web-01"]["ip"] == "10.78.0.10" and c["web-01"]["hostname"] == "web01"
assert sorted(c["web-01"]["services"]) == ["http", "ssh"]
assert c["iot-01"]["services"] == ["mqtt"] and c["iot-01"]["nmap_os"] == "embedded"
assert all(x["state"] == "running" for d in c.values() for x in d["containers"])
EOF

# 6. teardown --id, then --all.
"$DECNET" teardown --id iot-01 >"$LAB_DIR/td1.out" 2>&1 || fail "teardown --id iot-01: exit $?"
left=$(docker ps -a --filter label=decnet.managed=true --format '{{.Names}}' | sort | xargs)
[ "$left" = "web-01 web-01-http web-01-ssh win-01 win-01-http" ] && pass "teardown --id iot-01: the others stay" ||
	fail "teardown --id: left '$left'"
"$DECNET" teardown --id nosuch >/dev/null 2>&1 && fail "teardown --id nosuch succeeded" || pass "teardown --id nosuch: exit non-zero"
"$DECNET" teardown --all >"$LAB_DIR/td.out" 2>&1 || fail "teardown --all: exit $?"
[ -z "$(managed)" ] && pass "teardown --all: no decnet container or network left" || fail "teardown --all left: $(managed)"
ip link show decnet_macvlan0 >/dev/null 2>&1 && fail "hairpin still there" || pass "  hairpin removed"
[ "$(docker inspect -f '{{.State.Running}}' "$BYSTANDER" 2>/dev/null)" = true ] && pass "  unrelated container survived" ||
	fail "  unrelated container gone"
docker network inspect "$BYSTANDER" >/dev/null 2>&1 && pass "  unrelated network survived" || fail "  unrelated network gone"
docker rm -f "$BYSTANDER" >/dev/null && docker network rm "$BYSTANDER" >/dev/null || fail "removing the bystanders"

echo "$fails failed"
[ $fails = 0 ]
