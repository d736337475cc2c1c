#!/bin/bash
# Foundation acceptance: decnetd on one end of a veth, three deckies
# (linux, windows, embedded). From the scanner namespace:
#  - arping each decky IP: the reply comes from that decky's own MAC, three
#    distinct MACs, each equal to what decky.list reports;
#  - ping: TTL 64 / 128 / 255;
#  - an address that is no decky: no ARP reply; the namespace's own address
#    (10.77.0.1) is still answered by its kernel, not by the engine;
#  - the engine's counters equal what tshark saw the scanner send;
#  - decky.add makes a new decky answer ARP within 1 s, decky.remove
#    silences it.
# Argument: v2 (default) or v3, the AF_PACKET ring; or xdp, the AF_XDP
# backend (LAB_BACKEND=xdp does the same), which must also leave the
# namespace's own address working (its XDP filter passes what is not a
# decky's) and take its program off eng0 when it stops.
set -u
. "$DECNET_SRC/tests/lab/lab.sh"
lab_need_root
for t in arping ping tshark; do
	command -v $t >/dev/null || { echo "FAIL: $t not installed (tests need it)"; exit 1; }
done

ring=${1:-v2}
if [ "$ring" = xdp ]; then
	LAB_BACKEND=xdp
	ring=v2
fi
lab_need_backend
lab_up arp$$
# ip netns exec replaces itself with tshark: $! is tshark's own pid.
ip netns exec "$LAB_SCAN" tshark -q -i scan0 -w "$LAB_DIR/scan.pcap" -f "arp or icmp" >/dev/null 2>&1 &
TSHARK=$!
# An argument "v3" runs the same test over the TPACKET_V3 ring.
lab_engine "$DECNET_SRC/tests/integration/data/three-families.ini" --ring "$ring" --stats-on-exit \
	--events "$LAB_DIR/events.ndjson" || exit 1
# A plain-text subscriber on the read-only socket, as an operator would do.
command -v socat >/dev/null || { echo "FAIL: socat not installed"; exit 1; }
setsid bash -c '(echo events.subscribe; sleep 60) | socat - UNIX-CONNECT:"$1" >"$2" 2>&1' _ \
	"$LAB_CTL.ro" "$LAB_DIR/sub.ndjson" &
SUB=$!  # its own process group: killed whole below
sleep 1   # tshark attaching

declare -A want_ttl=([10.77.0.10]=64 [10.77.0.11]=128 [10.77.0.12]=255)
lab_ctl decky.list >"$LAB_DIR/list.json"
macs=""
for ip in 10.77.0.10 10.77.0.11 10.77.0.12; do
	want_mac=$(python3 -c "import json,sys; print([d['mac'] for d in json.load(open(sys.argv[1])) if d['ip']==sys.argv[2]][0])" "$LAB_DIR/list.json" "$ip")
	out=$(scan arping -c 3 -W 0.2 -w 5 -i scan0 "$ip" 2>&1)
	got_mac=$(echo "$out" | sed -n 's/.* from \([0-9a-f:]*\) .*/\1/p' | sort -u)
	n=$(echo "$out" | grep -c ' from ')
	if [ "$got_mac" = "$want_mac" ] && [ "$n" = 3 ]; then
		pass "arping $ip: 3 replies from $got_mac"
	else
		fail "arping $ip: want 3 replies from $want_mac, got $n from '$got_mac'"; echo "$out"
	fi
	macs="$macs $got_mac"
	out=$(scan ping -c 3 -i 0.2 -W 2 "$ip" 2>&1)
	ttls=$(echo "$out" | sed -n 's/.*ttl=\([0-9]*\).*/\1/p' | sort -u)
	if [ "$ttls" = "${want_ttl[$ip]}" ] && echo "$out" | grep -q '3 received'; then
		pass "ping $ip: 3 replies, ttl $ttls"
	else
		fail "ping $ip: want ttl ${want_ttl[$ip]}, got '$ttls'"; echo "$out"
	fi
done
[ "$(echo $macs | tr ' ' '\n' | sort -u | wc -l)" = 3 ] && pass "three distinct MACs" || fail "MACs not distinct: $macs"

out=$(scan arping -c 2 -w 2 -i scan0 10.77.0.99 2>&1)
echo "$out" | grep -q ' from ' && fail "non-decky 10.77.0.99 answered ARP: $out" || pass "no ARP reply for 10.77.0.99"
scan ping -c 1 -W 2 10.77.0.1 >/dev/null && pass "the namespace's own address still answers (kernel)" || fail "10.77.0.1 (not a decky) did not answer"
if [ "${LAB_BACKEND:-}" = xdp ]; then
	backend=$(lab_ctl status | python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["backend"], "/", j.get("backend_mode"))')
	case "$backend" in xdp*) pass "backend: $backend" ;; *) fail "backend is '$backend', not xdp" ;; esac
	eng ip link show eng0 | grep -q 'prog/xdp .*name decnet_xdp' && pass "decnet_xdp attached to eng0" ||
		fail "no decnet_xdp program on eng0: $(eng ip link show eng0)"
	# The kernel's own ARP (broadcast, not for a decky) passes the filter.
	eng_mac=$(eng cat /sys/class/net/eng0/address)
	out=$(scan arping -c 2 -w 3 -i scan0 10.77.0.1 2>&1)
	echo "$out" | grep -q " from $eng_mac " && pass "kernel's own ARP for 10.77.0.1 still answered (from $eng_mac)" ||
		fail "10.77.0.1 ARP not answered by the kernel through the XDP filter: $out"
	scan ping -c 5 -i 0.2 -W 2 10.77.0.1 2>&1 | grep -q ' 5 received' && pass "kernel's own address: 5/5 pings" ||
		fail "kernel's own address lost pings behind the XDP filter"
	# A decky wearing the interface's own MAC would take the host's
	# unicast traffic: refused, and nothing of it stays.
	out=$(lab_ctl decky.add name=thief ip=10.77.0.60 mac=$eng_mac services=ssh nmap_os=bsd 2>&1)
	n=$(lab_ctl decky.list | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
	if [ "$n" = 3 ] && ! scan arping -c 1 -w 1 -i scan0 10.77.0.60 2>&1 | grep -q ' from ' &&
		scan ping -c 1 -W 2 10.77.0.1 >/dev/null; then
		pass "decky.add with eng0's own MAC refused cleanly ($out)"
	else
		fail "decky.add with eng0's own MAC: $n deckies, reply '$out'"
	fi
fi

# Live add / remove through the control socket.
lab_ctl decky.add name=live-01 ip=10.77.0.50 services=ssh nmap_os=bsd >/dev/null || fail "decky.add"
out=$(scan arping -c 1 -w 1 -i scan0 10.77.0.50 2>&1)
echo "$out" | grep -q ' from ' && pass "decky.add: answered ARP at once ($(echo "$out" | sed -n 's/.*time=\([0-9.]* [a-z]*\).*/\1/p'))" || fail "decky.add: no ARP reply within 1 s: $out"
lab_ctl decky.remove live-01 >/dev/null || fail "decky.remove"
out=$(scan arping -c 2 -w 2 -i scan0 10.77.0.50 2>&1)
echo "$out" | grep -q ' from ' && fail "decky.remove: still answering" || pass "decky.remove: silent"

sleep 0.5
kill -TERM $TSHARK; wait $TSHARK 2>/dev/null  # (background jobs ignore SIGINT)
lab_stop_engine || fail "decnetd exit status $?"
if [ "${LAB_BACKEND:-}" = xdp ]; then
	eng ip link show eng0 | grep -q 'prog/xdp' && fail "XDP program left on eng0 after exit" ||
		pass "XDP program detached at exit"
fi
stats=$(tail -n 1 "$LAB_DIR/engine.out")
deckies='10.77.0.10, 10.77.0.11, 10.77.0.12, 10.77.0.50'
filt_arp="arp.opcode==1 && arp.src.proto_ipv4!=arp.dst.proto_ipv4 && eth.src==$(scan cat /sys/class/net/scan0/address) && arp.dst.proto_ipv4 in {${deckies}}"
sent_arp=$(tshark -r "$LAB_DIR/scan.pcap" -Y "$filt_arp" 2>/dev/null | wc -l)
sent_echo=$(tshark -r "$LAB_DIR/scan.pcap" -Y "icmp.type==8 && ip.dst in {${deckies}}" 2>/dev/null | wc -l)
# Drops by the stack and by the I/O layer alike (an answer built but
# refused by the tx ring never reached the wire).
read -r c_arp c_rep c_echo c_erep c_drops <<<"$(python3 -c '
import json,sys
j=json.loads(sys.argv[1]); s=j["stack"]; io=j["io"]
print(s["arp_requests"], s["arp_replies"], s["icmp_echo_requests"], s["icmp_echo_replies"],
      sum(v for k,v in s.items() if k.startswith("drop_")) +
      sum(io[k] for k in ("rx_kernel_drops", "tx_ring_full", "tx_errors", "tx_oversize")))' "$stats")"
# What reached the wire, as the scanner captured it.
wire_rep=$(tshark -r "$LAB_DIR/scan.pcap" -Y "arp.opcode==2 && arp.src.proto_ipv4 in {${deckies}}" 2>/dev/null | wc -l)
wire_erep=$(tshark -r "$LAB_DIR/scan.pcap" -Y "icmp.type==0 && ip.src in {${deckies}}" 2>/dev/null | wc -l)
echo "scanner sent: $sent_arp ARP requests to deckies, $sent_echo echo requests; engine counted: $c_arp/$c_rep ARP, $c_echo/$c_erep echo, $c_drops drops"
# The removed decky's requests after decky.remove are not counted by the
# engine (it no longer owns the address): subtract what went to .50 after.
sent_arp_live=$(tshark -r "$LAB_DIR/scan.pcap" -Y "$filt_arp && arp.dst.proto_ipv4==10.77.0.50" 2>/dev/null | wc -l)
[ "$c_arp" = $((sent_arp - sent_arp_live + 1)) ] && pass "ARP requests counted = sent" || fail "ARP requests: engine $c_arp, scanner sent $((sent_arp - sent_arp_live + 1)) while the decky existed"
[ "$c_arp" = "$c_rep" ] && [ "$wire_rep" = "$c_rep" ] && pass "every ARP request answered, $wire_rep replies on the wire" ||
	fail "ARP replies: engine $c_rep, on the wire $wire_rep, requests $c_arp"
[ "$c_echo" = "$sent_echo" ] && [ "$c_erep" = "$sent_echo" ] && [ "$wire_erep" = "$sent_echo" ] &&
	pass "echo requests counted = sent = answered on the wire ($sent_echo)" ||
	fail "echo: engine $c_echo/$c_erep, sent $sent_echo, replies on the wire $wire_erep"
[ "$c_drops" = 0 ] && pass "no drops" || fail "$c_drops drops: $stats"
# Every echo request became one event record, in the file and for the
# subscriber, naming the decky and the scanner.
kill -- -$SUB 2>/dev/null
python3 - "$LAB_DIR/events.ndjson" "$LAB_DIR/sub.ndjson" "$sent_echo" <<'PY' && pass "event records: file and subscriber" || fail "event records"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
echo = [r for r in recs if r["event"]["action"] == "icmp_echo"]
arp = [r for r in recs if r["event"]["action"] == "arp_request"]
sub = [json.loads(l) for l in open(sys.argv[2]) if l.startswith('{"event"')]
sub_echo = [r["event"] for r in sub if r["event"]["event"]["action"] == "icmp_echo"]
print(f"file: {len(recs)} records ({len(echo)} icmp_echo, {len(arp)} arp_request); subscriber: {len(sub)} ({len(sub_echo)} icmp_echo)")
want = int(sys.argv[3])
ok = len(echo) == want and len(sub_echo) == want
ok &= all(r["source"]["ip"] == "10.77.0.2" and r["decnet"]["decky"] in ("lin-01", "win-01", "iot-01") for r in echo)
ok &= all(r["@timestamp"].startswith("20") and r["network"]["transport"] == "icmp" for r in echo)
ok &= {r["decnet"]["decky"] for r in echo} == {"lin-01", "win-01", "iot-01"}
sys.exit(0 if ok else 1)
PY
lab_result
