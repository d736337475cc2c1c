#!/bin/bash
# IPv4 fragments to a decky (stack/stk_frag.c) on the default veth lab:
#  - ping -s 3000 and -s 20000 get their replies (the requests come in
#    3 and 14 fragments, the replies leave in as many, as a real host
#    sends them);
#  - a 3000-byte UDP datagram to the echo port comes back whole;
#  - overlapping fragments (scapy) get no answer: the datagram is dropped
#    and counted (the linux persona's policy, stk_frag.h);
#  - 100 lone first fragments (distinct IDs) fill the 64 reassembly slots:
#    the oldest are evicted and counted, and a big ping still works;
#  - 30 s later the lone fragments time out: ICMP time exceeded
#    (reassembly) comes back, as many as the linux persona's ICMP rate
#    limit lets through (tshark sees them);
#  - the counters show the reassemblies and fragments sent.
set -u
. "$DECNET_SRC/tests/lab/lab.sh"
lab_need_root
for t in ping tshark; do
	command -v $t >/dev/null || { echo "FAIL: $t not installed (tests need it)"; exit 1; }
done
LIN=10.77.0.20
lab_up frag$$
lab_engine "$DECNET_SRC/tests/integration/data/tcp-lab.ini" --stats-on-exit || exit 1

for size in 3000 20000; do
	out=$(scan ping -c 3 -i 0.2 -W 2 -s $size $LIN 2>&1)
	if echo "$out" | grep -q ' 3 received'; then
		pass "ping -s $size: 3 of 3 replies ($(echo "$out" | grep -m1 -o 'bytes from.*'))"
	else
		fail "ping -s $size: $(echo "$out" | tail -2)"
	fi
done

got=$(scan /usr/bin/python3 - "$LIN" <<'PY'
import socket, sys, hashlib
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
msg = bytes((i * 7 + 3) & 0xff for i in range(3000))
s.sendto(msg, (sys.argv[1], 7))
try:
    data, _ = s.recvfrom(65535)
except socket.timeout:
    data = b""
print(len(data), data == msg)
PY
)
[ "$got" = "3000 True" ] && pass "3000-byte UDP echo, in fragments both ways" || fail "UDP echo of 3000 bytes: '$got'"

scan tshark -q -i scan0 -a duration:40 -w "$LAB_DIR/te.pcap" -f "icmp[0] == 11" >/dev/null 2>&1 &
TSHARK=$!
sleep 1 # tshark attaching
# Scapy from the scanner: raw IP, the kernel's reassembly is not involved.
scan /usr/bin/python3 - "$LIN" >"$LAB_DIR/scapy.out" 2>&1 <<'PY'
import sys
from scapy.all import IP, ICMP, Raw, send, conf
conf.verb = 0
dst = sys.argv[1]
# An echo request whose second fragment rewrites bytes of the first.
pkt = IP(dst=dst, id=4242) / ICMP(id=7, seq=1) / Raw(b"A" * 64)
raw = bytes(pkt)[20:]
send(IP(dst=dst, id=4242, flags="MF", frag=0, proto=1) / Raw(raw[:48]))
send(IP(dst=dst, id=4242, flags="MF", frag=4, proto=1) / Raw(b"B" * 16))
send(IP(dst=dst, id=4242, flags=0, frag=6, proto=1) / Raw(raw[48:]))
# Lone first fragments: never completed.
for i in range(100):
    send(IP(dst=dst, id=10000 + i, flags="MF", frag=0, proto=17) / Raw(b"x" * 64))
print("sent")
PY
grep -q sent "$LAB_DIR/scapy.out" || fail "scapy: $(cat "$LAB_DIR/scapy.out")"
out=$(scan ping -c 2 -i 0.2 -W 2 -s 3000 $LIN 2>&1)
echo "$out" | grep -q ' 2 received' && pass "ping -s 3000 after the slot flood" || fail "ping after the flood: $out"

# The flood's datagrams time out 30 s after their first fragment.
sleep 32
kill -INT $TSHARK 2>/dev/null
wait $TSHARK 2>/dev/null
te=$(tshark -r "$LAB_DIR/te.pcap" -Y "icmp.type == 11 && icmp.code == 1 && ip.src == $LIN" -T fields -E occurrence=f -e ip.ttl 2>/dev/null)
n_te=$(echo "$te" | grep -c .)
if [ "$n_te" -ge 1 ] && [ "$n_te" -le 40 ] && [ "$(echo "$te" | sort -u)" = 64 ]; then
	pass "reassembly timeouts: $n_te ICMP time exceeded (code 1) from the decky, TTL 64 (rate-limited)"
else
	fail "time exceeded: '$n_te' seen, TTLs '$(echo $te)'"
fi

lab_stop_engine || fail "decnetd exit status $?"
stats=$(tail -n 1 "$LAB_DIR/engine.out")
python3 - "$stats" <<'PY' || fail "engine counters"
import json, sys
s = json.loads(sys.argv[1])["stack"]
keys = [k for k in s if k.startswith("frag_") or k.startswith("drop_frag_")]
print("counters:", {k: s[k] for k in keys})
expected = ("drop_frag_overlap", "drop_frag_slots", "drop_frag_timeout", "drop_frag_icmp_ratelimit")
bad = [k for k in keys if k.startswith("drop_") and k not in expected and s[k]]
if s["drop_frag_timeout"] < 60 or s["frag_time_exceeded"] < 1:
    bad.append("no timeouts / time exceeded")
if s["drop_frag_overlap"] != 1:
    bad.append("the overlapping datagram was not dropped (once)")
if s["drop_frag_slots"] < 100 - 64:
    bad.append("lone fragments did not evict the oldest slots")
if s["frag_reassembled"] < 9 or s["frag_tx"] < 5 * 3 + 3 * 14 + 3:
    bad.append("too few reassemblies / fragments sent")
if s["drop_ip_fragment"] or s["drop_icmp_too_big"]:
    bad.append("fragments dropped as unsupported")
print("problems:", bad or "none")
sys.exit(1 if bad else 0)
PY
lab_result
