#!/bin/bash
# Steering acceptance: a decky's http service backed by a real web server.
#
#   [SCAN scan0 10.77.0.2] --+
#                            |  [SW: bridge br0; the scanner's and the
#   [ENG  eng0, decnetd] ----+   backend's ports are "isolated": they reach
#                            |   the engine's port only, never each other]
#   [BK   bk0 10.78.0.10] ---+
#
# The backend (python3 -m http.server on 8080) routes everything through
# the decky web-lin (10.77.0.20, its gateway, whose ARP the engine answers).
# Checks:
#  - curl from the scanner to http://10.77.0.20/ gets the backend's file;
#  - the backend's access log names the scanner's real address 10.77.0.2;
#  - the SYN-ACK the scanner saw came from the decky's persona (Linux TTL
#    64 and window), and a 2 MB download through the relay is intact;
#  - web-win (not steered) still answers with the built-in page;
#  - no frame of the backend's ever reached the scanner (port isolation),
#    counters show the active opens, and nothing is left over.
set -u
. "$DECNET_SRC/tests/lab/lab.sh"
lab_need_root
for t in curl tshark python3 sha256sum bridge; do
	command -v $t >/dev/null || { echo "FAIL: $t not installed (tests need it)"; exit 1; }
done

DECKY=10.77.0.20
OTHER=10.77.0.21
BK_IP=10.78.0.10
BK_MAC=02:00:00:78:00:10 # as steer-lab.ini's backend_mac
sfx=steer$$
LAB_SCAN=dn-scan-$sfx
LAB_ENG=dn-eng-$sfx
SW=dn-sw-$sfx
BK=dn-bk-$sfx
LAB_EXTRA_NS="$SW $BK"
LAB_DIR=$(mktemp -d /tmp/decnet-lab.XXXXXX)
LAB_CTL=$LAB_DIR/ctl.sock
trap lab_down EXIT
for ns in $LAB_SCAN $LAB_ENG $SW $BK; do
	ip netns add "$ns"
	ip -n "$ns" link set lo up
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
done
ip link add scan0 netns "$LAB_SCAN" type veth peer name sw-scan netns "$SW"
ip link add eng0 netns "$LAB_ENG" type veth peer name sw-eng netns "$SW"
ip link add bk0 netns "$BK" type veth peer name sw-bk netns "$SW"
ip -n "$SW" link add br0 type bridge
for p in sw-scan sw-eng sw-bk; do
	ip -n "$SW" link set "$p" master br0
	ip -n "$SW" link set "$p" up
done
ip netns exec "$SW" bridge link set dev sw-scan isolated on
ip netns exec "$SW" bridge link set dev sw-bk isolated on
ip -n "$SW" link set br0 up
ip netns exec "$LAB_SCAN" ethtool -K scan0 tx off rx off >/dev/null 2>&1 || true
ip netns exec "$LAB_ENG" ethtool -K eng0 tx off rx off >/dev/null 2>&1 || true
ip netns exec "$BK" ethtool -K bk0 tx off rx off >/dev/null 2>&1 || true
ip -n "$LAB_SCAN" addr add "$LAB_NET.2/24" dev scan0
ip -n "$LAB_ENG" addr add "$LAB_NET.1/24" dev eng0
ip -n "$BK" link set bk0 address "$BK_MAC"
ip -n "$BK" addr add "$BK_IP/24" dev bk0
for x in "$LAB_SCAN scan0" "$LAB_ENG eng0" "$BK bk0"; do
	set -- $x
	ip -n "$1" link set "$2" up
done
# The backend's way back to attackers is the decky itself.
ip -n "$BK" route add "$DECKY/32" dev bk0
ip -n "$BK" route add default via "$DECKY" dev bk0
bk() { ip netns exec "$BK" "$@"; }

mkdir -p "$LAB_DIR/www"
echo "backend page $$" >"$LAB_DIR/www/index.html"
head -c 2000000 /dev/urandom >"$LAB_DIR/www/big.bin"
bk python3 -u -m http.server 8080 --bind "$BK_IP" --directory "$LAB_DIR/www" \
	>"$LAB_DIR/backend.log" 2>&1 &
for i in $(seq 1 50); do
	bk python3 -c "import socket; socket.create_connection(('$BK_IP', 8080), 1)" 2>/dev/null && break
	sleep 0.1
done
# run_phase LABEL CONFIG: the checks, with a fresh capture on the scanner.
run_phase() {
	local label=$1 cfg=$2
	echo "--- $label"
	scan tshark -q -i scan0 -w "$LAB_DIR/scan-$label.pcap" >/dev/null 2>&1 &
	local cap=$!
	lab_engine "$cfg" --stats-on-exit || { fail "$label: engine did not start"; return; }
	sleep 1 # tshark attaching
	local before
	before=$(wc -l <"$LAB_DIR/backend.log")
	local body
	body=$(scan curl -sS -m 10 "http://$DECKY/index.html" 2>&1)
	if [ "$body" = "backend page $$" ]; then
		pass "$label: curl http://$DECKY/: the backend's page through the decky"
	else
		fail "$label: curl http://$DECKY/: '$body'"
	fi
	local line
	line=$(tail -n +"$((before + 1))" "$LAB_DIR/backend.log" | grep -m1 'GET /index.html')
	if echo "$line" | grep -q "^$LAB_NET.2 - .*\"GET /index.html HTTP/1.1\" 200"; then
		pass "$label: backend log names the scanner: $line"
	else
		fail "$label: backend log does not show $LAB_NET.2:"; cat "$LAB_DIR/backend.log"
	fi
	scan curl -sS -m 30 -o "$LAB_DIR/big.out" "http://$DECKY/big.bin"
	local a b
	a=$(sha256sum <"$LAB_DIR/www/big.bin" | cut -d' ' -f1)
	b=$(sha256sum <"$LAB_DIR/big.out" 2>/dev/null | cut -d' ' -f1)
	[ "$a" = "$b" ] && pass "$label: 2 MB through the relay intact" ||
		fail "$label: 2 MB download differs ($(stat -c %s "$LAB_DIR/big.out" 2>/dev/null) bytes)"
	rm -f "$LAB_DIR/big.out"
	local page='<html><body><h1>It works!</h1></body></html>'
	body=$(scan curl -sS -m 5 "http://$OTHER/" 2>&1)
	[ "$body" = "$page" ] && pass "$label: web-win (not steered): built-in page" || fail "$label: web-win: '$body'"

	lab_stop_engine || fail "$label: decnetd exit status $?"
	sleep 0.5
	kill "$cap" 2>/dev/null
	wait "$cap" 2>/dev/null
	local pcap=$LAB_DIR/scan-$label.pcap
	# The handshake the scanner saw is the persona's (Linux: TTL 64).
	local ttl
	ttl=$(scan tshark -r "$pcap" -Y "ip.src==$DECKY && tcp.flags.syn==1 && tcp.flags.ack==1" \
		-T fields -e ip.ttl 2>/dev/null | head -n 1)
	[ "$ttl" = 64 ] && pass "$label: SYN-ACK from the decky's persona (TTL $ttl)" || fail "$label: SYN-ACK TTL '$ttl'"
	# Nothing from or to the backend reached the scanner, except (ARP
	# phase) the decky's own broadcast question for the backend's MAC.
	local filter="ip.addr==$BK_IP || arp.src.proto_ipv4==$BK_IP || eth.addr==$BK_MAC"
	[ "$label" = arp ] || filter="$filter || arp.dst.proto_ipv4==$BK_IP"
	local leaks
	leaks=$(scan tshark -r "$pcap" -Y "$filter" 2>/dev/null | wc -l)
	if [ "$leaks" = 0 ]; then
		pass "$label: the scanner saw nothing from the backend"
	else
		fail "$label: $leaks backend frames reached the scanner:"
		scan tshark -r "$pcap" -Y "$filter" 2>/dev/null
	fi
	local arps
	arps=$(scan tshark -r "$pcap" -Y "arp.dst.proto_ipv4==$BK_IP" 2>/dev/null | wc -l)
	if [ "$label" = arp ]; then
		[ "$arps" -ge 1 ] && pass "arp: backend resolved by ARP ($arps request(s) seen)" || fail "arp: no ARP request?"
	fi
	python3 - "$(tail -n 1 "$LAB_DIR/engine.out")" <<'PY' || fail "$label: engine counters"
import json, sys
s = json.loads(sys.argv[1])
def get(k):
    for d in (s, s.get("stack", {}), s.get("counters", {})):
        if isinstance(d, dict) and k in d:
            return d[k]
    return None
opens, est, failed = get("tcp_active_opens"), get("tcp_active_established"), get("tcp_active_failed")
st = s.get("steer", {})
print(f"active opens {opens}, established {est}, failed {failed}, arp sent {get('tcp_neigh_arp_sent')}, steer {st}")
ok = opens and opens >= 2 and est == opens and not failed and not get("drop_tcp_csum")
ok = ok and st.get("routes") == 2 and st.get("steered") == opens and st.get("connected") == opens
ok = ok and not st.get("connect_failed") and not st.get("pool_empty")
sys.exit(0 if ok else 1)
PY
}

grep -v '^backend_mac' "$DECNET_SRC/tests/integration/data/steer-lab.ini" >"$LAB_DIR/steer-arp.ini"
run_phase arp "$LAB_DIR/steer-arp.ini"
run_phase mac "$DECNET_SRC/tests/integration/data/steer-lab.ini"
lab_result
