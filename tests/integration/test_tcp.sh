#!/bin/bash
# TCP/UDP acceptance: the deckies' own stack (decnetd, not the kernel) on the
# veth lab, exercised with real clients from the scanner namespace:
#  - curl gets the built-in http page from two deckies of different
#    families; their SYN-ACKs carry each family's TTL, window and options;
#  - an nc echo round trip of 4 MB comes back intact (sha256), from both;
#  - a closed TCP port answers RST|ACK, a closed UDP port ICMP port
#    unreachable, an open UDP echo port the datagram;
#  - under a SYN flood from spoofed sources (2 million SYNs at hping3's
#    top rate) the decky answers with SYN cookies, a real client still
#    gets its page, and the engine's memory stays under a bound derived
#    from the flow memcap;
#  - with loss (netem, or a bridge dropping 1% each way) on both legs, a
#    10 MB echo round trip is still intact (retransmissions, reassembly);
#  - afterwards no checksum drop, no half-open flow, all buffers back.
set -u
. "$DECNET_SRC/tests/lab/lab.sh"
lab_need_root
for t in curl nc hping3 tshark tc sha256sum; do
	command -v $t >/dev/null || { echo "FAIL: $t not installed (tests need it)"; exit 1; }
done

LIN=10.77.0.20
WIN=10.77.0.21
lab_up tcp$$
# Handshakes, resets and ICMP with the scanner's own address only: the
# bulk transfers and the spoofed flood stay out of the capture.
scan tshark -q -i scan0 -w "$LAB_DIR/scan.pcap" \
	-f "host $LAB_NET.2 and (icmp or udp or (tcp[tcpflags] & (tcp-syn|tcp-rst) != 0))" >/dev/null 2>&1 &
TSHARK=$!
lab_engine "$DECNET_SRC/tests/integration/data/tcp-lab.ini" --stats-on-exit || exit 1
# tshark attaching: it writes the file's header once it captures (under
# load that took over a second, and the first handshakes went unseen).
for i in $(seq 1 100); do
	[ -s "$LAB_DIR/scan.pcap" ] && break
	sleep 0.1
done
sleep 0.5

page='<html><body><h1>It works!</h1></body></html>'
for ip in $LIN $WIN; do
	body=$(scan curl -sS -m 5 -D "$LAB_DIR/headers" "http://$ip/" 2>&1)
	if [ "$body" = "$page" ] && grep -q '^HTTP/1.1 200 OK' "$LAB_DIR/headers"; then
		pass "curl http://$ip/: 200, the built-in page"
	else
		fail "curl http://$ip/: '$body'"; cat "$LAB_DIR/headers"
	fi
done

echo_check() { # IP BYTES LABEL
	head -c "$2" /dev/urandom >"$LAB_DIR/in.bin"
	local t0=$(date +%s.%N)
	scan timeout 120 sh -c "nc -N -w 20 $1 7 < '$LAB_DIR/in.bin' > '$LAB_DIR/out.bin'"
	local t1=$(date +%s.%N)
	local a=$(sha256sum <"$LAB_DIR/in.bin" | cut -d' ' -f1) b=$(sha256sum <"$LAB_DIR/out.bin" | cut -d' ' -f1)
	local secs=$(echo "$t1 - $t0" | bc)
	if [ "$a" = "$b" ]; then
		pass "$3: $2 bytes echoed intact by $1 in ${secs}s"
	else
		fail "$3: echo from $1 differs ($(stat -c %s "$LAB_DIR/out.bin") of $2 bytes back)"
	fi
}
echo_check $LIN 4000000 "echo"
echo_check $WIN 4000000 "echo"

out=$(scan hping3 -c 1 -S -p 81 $LIN 2>&1)
echo "$out" | grep -q 'flags=RA' && pass "closed TCP port 81: RST|ACK" || fail "closed TCP port: $out"
out=$(scan hping3 -c 1 --udp -p 53 $WIN 2>&1)
echo "$out" | grep -q 'ICMP Port Unreachable from ip=10.77.0.21' && pass "closed UDP port 53: port unreachable" ||
	fail "closed UDP port: $out"
out=$(echo ping | scan nc -u -w 1 $WIN 7)
[ "$out" = ping ] && pass "UDP echo on 7" || fail "UDP echo: '$out'"

# A SYN flood from spoofed sources, as fast as hping3 sends (bounded: 2
# million SYNs, and 90 s): past the half-open threshold the decky answers
# with SYN cookies, a real client still gets its page in the middle of it,
# and the engine's memory stays under a bound derived from the flow memcap:
# the resident size before the flood + max_flows * 260 bytes (a flow record
# is <= 256 bytes, checked by the unit tests, plus its 4-byte bucket; the
# table is allocated once and its pages touched as flows fill it) + 32 MiB
# for everything else (rings, pools, event buffers, allocator slack).
# hping3 sends ~60-70 kpps here, which the ASan build keeps up with too:
# 2 million in both builds (~30 s; at most 90 s).
flood_n=2000000
max_flows=$(lab_ctl stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["result"]["tcp"]["max_flows"])' 2>/dev/null ||
	lab_ctl stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["tcp"]["max_flows"])')
rss_kb() { awk -v k="$2" '$1 == k":" { print $2 }' "/proc/$1/status"; }
rss0=$(rss_kb "$LAB_PID" VmRSS)
bound_kb=$((rss0 + max_flows * 260 / 1024 + 32768))
# hping3 --flood ignores -c: the count is kept here, from scan0's own
# transmit counter (SIGTERM when it is reached, or after 90 s at most;
# SIGINT would not do: a background job of a script ignores it).
txp() { scan cat /sys/class/net/scan0/statistics/tx_packets; }
# TCP segments the engine refused for a bad checksum, per phase: none may
# come from the real clients; the flood is accounted separately (see below).
csum_drops() {
	lab_ctl stats | python3 -c 'import json,sys; d=json.load(sys.stdin); d=d.get("result", d); print(d["stack"]["drop_tcp_csum"])'
}
csum0=$(csum_drops)
tx0=$(txp)
t0=$(date +%s.%N)
scan timeout 90 hping3 -q -S -p 80 --rand-source --flood $LIN >/dev/null 2>&1 &
FLOOD=$!
( while kill -0 $FLOOD 2>/dev/null; do
	[ $(($(txp) - tx0)) -ge $flood_n ] && { kill -TERM $FLOOD 2>/dev/null; break; } # timeout passes it on
	sleep 0.1
  done ) &
COUNTER=$!
( peak=0; while kill -0 $FLOOD 2>/dev/null; do
	r=$(rss_kb "$LAB_PID" VmRSS); [ "${r:-0}" -gt "$peak" ] && peak=$r; sleep 0.2
  done; echo $peak >"$LAB_DIR/rss_peak" ) &
SAMPLER=$!
sleep 1
ok=
for try in 1 2 3 4 5; do # a SYN of curl's may be lost among the flood's
	body=$(scan curl -sS -m 3 "http://$LIN/" 2>&1)
	[ "$body" = "$page" ] && { ok=1; break; }
done
during=no
kill -0 $FLOOD 2>/dev/null && during=yes
[ -n "$ok" ] && pass "curl during a SYN flood (attempt $try, flood still running: $during)" ||
	fail "curl during a SYN flood: '$body'"
wait $FLOOD
t1=$(date +%s.%N)
sent=$(($(txp) - tx0))
wait $SAMPLER $COUNTER
peak=$(cat "$LAB_DIR/rss_peak")
sleep 1
rss1=$(rss_kb "$LAB_PID" VmRSS)
hwm=$(rss_kb "$LAB_PID" VmHWM)
[ $sent -ge $flood_n ] && pass "flood: $sent frames sent (>= $flood_n) in $(echo "$t1 - $t0" | bc) s" ||
	fail "flood: only $sent of $flood_n frames sent within 90 s"
echo "note: engine RSS before ${rss0} kB, peak sampled ${peak} kB," \
	"after ${rss1} kB, high-water ${hwm} kB; bound ${bound_kb} kB (max_flows $max_flows)"
[ "$hwm" -le "$bound_kb" ] && pass "engine memory under the flood: VmHWM ${hwm} kB <= ${bound_kb} kB" ||
	fail "engine memory under the flood: VmHWM ${hwm} kB > bound ${bound_kb} kB"
# One CI run (of many) counted bad TCP checksums; the clients' phases were
# not told apart then. Now: before the flood none, after it none, and
# during the 2 million spoofed SYNs at most 10 per million, printed (their
# origin is not established yet: open question in the stack issue).
csum1=$(csum_drops)
echo "note: bad-checksum TCP segments: ${csum0} before the flood, $((csum1 - csum0)) during it"
[ "$csum0" = 0 ] || fail "bad-checksum segments before the flood: $csum0"
[ $(((csum1 - csum0) * 100000)) -le "$sent" ] || fail "bad-checksum segments during the flood: $((csum1 - csum0))"

# A lossy wire on both legs. With netem: loss, jitter and reordering
# (AF_PACKET transmits go through eng0's qdisc like any other packet).
# Without it (this kernel has no sch_netem): the scanner's address moves
# behind a bridge inside its namespace and nftables drops 1% of the TCP
# frames the bridge forwards, either way: real loss on the wire, which a
# drop in the scanner's own output path would not be (TCP sees those).
if scan tc qdisc add dev scan0 root netem delay 2ms 1ms loss 1% reorder 10% 50% 2>/dev/null; then
	eng tc qdisc add dev eng0 root netem delay 1ms loss 1%
	echo_check $LIN 10000000 "echo over netem (1% loss each way, 2±1 ms, 10% reordered)"
	scan tc qdisc del dev scan0 root
	eng tc qdisc del dev eng0 root
else
	echo "note: no netem in this kernel: 1% loss each way on a bridge instead (no delay/reordering)"
	scan ip link add scan1 type veth peer name scanp
	scan ip link add br0 type bridge
	scan ip link set scan0 master br0
	scan ip link set scanp master br0
	scan ip addr del $LAB_NET.2/24 dev scan0
	scan ip addr add $LAB_NET.2/24 dev scan1
	for i in scan1 scanp br0; do
		scan ethtool -K $i tx off rx off >/dev/null 2>&1 || true
		scan ip link set $i up
	done
	scan nft -f - <<'NFT'
table bridge lossy {
	chain drops { type filter hook forward priority 0; meta l4proto tcp numgen random mod 100 < 1 counter drop; }
}
NFT
	echo_check $LIN 10000000 "echo with 1% loss each way"
	lost=$(scan nft list table bridge lossy | sed -n 's/.*counter packets \([0-9]*\).*/\1/p')
	[ "${lost:-0}" -gt 20 ] && pass "the bridge dropped $lost TCP frames" || fail "bridge dropped only '${lost}' frames"
fi

sleep 0.5
kill -TERM $TSHARK
wait $TSHARK 2>/dev/null
lab_stop_engine || fail "decnetd exit status $?"

# The SYN-ACKs are the families' (their nmap-os-db entries, Linux 3.10 and
# Windows 10: curl's SYN has MSS, SACK, TS and WS).
synack() {
	tshark -r "$LAB_DIR/scan.pcap" -Y "tcp.flags.syn==1 && tcp.flags.ack==1 && ip.src==$1 && tcp.srcport==80" \
		-T fields -e ip.ttl -e ip.flags.df -e tcp.window_size_value -e tcp.options 2>/dev/null | head -1
}
got=$(synack $LIN)
want=$'64\t1\t14480\t'
[[ "$got" == "$want"020405b40402080a*01030307 ]] && pass "linux SYN-ACK: TTL 64, DF, 14480, M5B4 S T N W7" ||
	fail "linux SYN-ACK: $got"
got=$(synack $WIN)
want=$'128\t1\t8192\t'
[[ "$got" == "$want"020405b4010303080402080a* ]] && pass "windows SYN-ACK: TTL 128, DF, 8192, M5B4 NW8 S T" ||
	fail "windows SYN-ACK: $got"
rst=$(tshark -r "$LAB_DIR/scan.pcap" -Y "tcp.flags.reset==1 && ip.src==$LIN && tcp.srcport==81" \
	-T fields -e ip.ttl -e tcp.flags.ack -e tcp.seq_raw -e tcp.window_size_value 2>/dev/null | head -1)
[ "$rst" = $'64\t1\t0\t0' ] && pass "closed-port RST: TTL 64, ACK, seq 0, window 0 (nmap T5)" || fail "RST: $rst"
unreach=$(tshark -r "$LAB_DIR/scan.pcap" -Y "icmp.type==3 && icmp.code==3" -T fields -e ip.src -e ip.ttl \
	-e ip.flags.df 2>/dev/null | head -1)
[ "$unreach" = $'10.77.0.21,10.77.0.2\t128,64\t0,0' ] && pass "port unreachable: TTL 128, no DF" ||
	fail "port unreachable: $unreach"

stats=$(tail -n 1 "$LAB_DIR/engine.out")
python3 - "$stats" "$csum1" <<'PY' || fail "engine counters"
import json, sys
d = json.loads(sys.argv[1])
s, t = d["stack"], d["tcp"]
show = ["tcp_syn_open", "tcp_syncookies_sent", "tcp_accepted", "tcp_retransmits", "tcp_fast_retransmits", "tcp_rto_timeouts", "tcp_ooo_queued",
        "tcp_rx_bytes", "tcp_tx_bytes", "icmp_unreach_sent", "udp_replies"]
print("counters:", {k: s[k] for k in show}, "tcp:", t)
bad = [k for k in ("drop_udp_csum", "drop_tcp_hlen", "drop_tcp_flow_full", "drop_tx_nobuf")
       if s[k]]
if s["drop_tcp_csum"] != int(sys.argv[2]):
    bad.append("bad-checksum TCP segments after the flood")
bad += [k for k in ("sndbuf_chunks_used",) if t[k]]
if s["tcp_syncookies_sent"] < 1000 or t["half_open"] > 16384:
    bad.append("no SYN cookies under the flood, or too many half-open flows")
# the flood's half-open connections sit in the SYN cache (64-byte entries), not in flows
# (they time out on the persona's schedule, 63 s for linux: no lower bound here)
if t["syn_cache_cap"] != 16384 or t["syn_cache"] > t["syn_cache_cap"] or t["half_open"] - t["syn_cache"] > t["flows"] \
        or t["flows"] > 64:
    bad.append("half-open connections not in the SYN cache")
if s["tcp_accepted"] < 5 or s["icmp_unreach_sent"] < 1 or s["tcp_rst_sent"] < 1:
    bad.append("too few connections/answers")
if s["tcp_retransmits"] < 1 or s["tcp_ooo_queued"] < 1:
    bad.append("no retransmission / reassembly under 1% loss")
print("drops:", {k: v for k, v in s.items() if k.startswith("drop_") and v})
print("problems:", bad or "none")
sys.exit(1 if bad else 0)
PY
lab_result
