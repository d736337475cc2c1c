#!/bin/bash
# pcap replay: a capture recorded on the veth lab (scanner's frames) goes
# through decnetd's pcap backend; its answers must equal, byte for byte and
# in order, what decnetd answered live when the capture was recorded
# (tests/integration/data/record-replay.sh). tshark then checks every answer
# independently: checksums valid, TTLs per family, nothing malformed. Needs
# no root. The fixtures were recorded with the built-in family tables
# (--family-tables); family deckies normally wear their nmap-os-db entry,
# whose answers the persona tests (nmap_sim, persona_nmap) check.
set -u
DECNETD=${DECNETD:-$DECNET_BUILD/decnetd}
data=$DECNET_SRC/tests/integration/data
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

"$DECNETD" -c "$data/three-families.ini" --family-tables -b pcap --pcap-in "$data/replay-in.pcap" \
	--pcap-out "$tmp/out.pcap" --stats-on-exit >"$tmp/stats.json" 2>"$tmp/err" || { cat "$tmp/err"; fail "decnetd exit $?"; }
python3 "$DECNET_SRC/tests/integration/pcapdiff.py" "$data/replay-expected.pcap" "$tmp/out.pcap" || fail "answers differ from the recording"

if command -v tshark >/dev/null; then
	bad=$(tshark -r "$tmp/out.pcap" -o ip.check_checksum:TRUE -o icmp.check_checksum:TRUE \
		-Y "_ws.expert.severity >= warning || ip.checksum.status == 0 || icmp.checksum.status == 0" 2>/dev/null | wc -l)
	[ "$bad" = 0 ] || fail "$bad answers tshark flags as malformed or with a bad checksum"
	ttls=$(tshark -r "$tmp/out.pcap" -Y "icmp.type == 0" -T fields -e ip.src -e ip.ttl 2>/dev/null | sort -u | tr '\t\n' ': ')
	[ "$ttls" = "10.77.0.10:64 10.77.0.11:128 10.77.0.12:255 " ] || fail "TTLs per decky: $ttls"
	# The UDP probe to a closed port: the Windows decky's port unreachable,
	# quoting the whole datagram, TTL 128, DF off.
	unreach=$(tshark -r "$tmp/out.pcap" -Y "icmp.type == 3 && icmp.code == 3" -T fields -e ip.src -e ip.ttl \
		-e ip.flags.df -e ip.len -e udp.dstport 2>/dev/null | tr '\t' ' ')
	[ "$unreach" = "10.77.0.11,10.77.0.2 128,64 0,0 61,33 161" ] || fail "port unreachable: '$unreach'"
else
	fail "tshark not installed"
fi
# Every crafted oddity is counted under its own reason.
python3 - "$tmp/stats.json" <<'PY' || fail "drop counters"
import json, sys
s = json.load(open(sys.argv[1]))["stack"]
# The recorded fragment is held for reassembly (stk_frag), no longer dropped.
want = {"drop_ip_csum": 1, "drop_icmp_csum": 1, "drop_ip_fragment": 0, "frag_rx": 1, "drop_icmp_type": 1,
        "drop_ip_proto": 0, "udp_rx": 1, "icmp_unreach_sent": 1, "drop_eth_vlan": 1, "drop_ip_short": 1}
bad = {k: (s.get(k), v) for k, v in want.items() if s.get(k) != v}
print("drop counters:", {k: s[k] for k in want})
sys.exit(1 if bad else 0)
PY
echo "$fails failed"
[ $fails = 0 ]
