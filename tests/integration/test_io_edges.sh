#!/bin/bash
# What an attacker on the LAN can do to the packet I/O, and must not win:
#  1. v3 ring: a burst that ends exactly at a block end must not leave the
#     block unreleased (a busy loop, or a deaf engine with a 1 MiB ring);
#  2. an echo request a few bytes over the MTU: its reply leaves in two
#     fragments that fit (as a real host's would: stack/stk_frag.c), nothing
#     oversize reaches the tx ring, and everything after it is answered
#     (the ring's own oversize guard, eng_io_afpacket.c, is no longer
#     reachable from the wire);
#  3. a backlog larger than the tx ring (engine paused, 3000 ARP requests):
#     every reply must reach the wire, with --tx copy and with --tx ring;
#  4. frames whose checksum the sending kernel left to a NIC are accepted.
set -u
. "$DECNET_SRC/tests/lab/lab.sh"
lab_need_root
cfg=$DECNET_SRC/tests/integration/data/three-families.ini
raw="$DECNET_SRC/tests/lab/rawsend.py"
cpu() { awk '{print $14 + $15}' "/proc/$LAB_PID/stat"; }
io() { tail -n 1 "$LAB_DIR/engine.out" | python3 -c "import json,sys; print(json.load(sys.stdin)['io']['$1'])"; }

lab_up io$$
# 1. v3, one 1 MiB block: 64 frames (one full burst), then the decky must
# still answer and the engine must be idle.
lab_engine "$cfg" --ring v3 --ring-mb 1 --stats-on-exit || exit 1
sleep 0.3
scan python3 "$raw" scan0 64 10.77.0.99 junk
sleep 0.5
c0=$(cpu); sleep 2; c1=$(cpu)
[ $((c1 - c0)) -lt 50 ] && pass "v3: idle after a 64-frame burst ($((c1 - c0)) ticks in 2 s)" ||
	fail "v3: busy after a 64-frame burst: $((c1 - c0)) ticks in 2 s"
n=$(scan arping -c 2 -w 3 -i scan0 10.77.0.10 2>&1 | grep -c ' from ')
[ "$n" = 2 ] && pass "v3: still answering ($n/2)" || fail "v3: deaf after the burst ($n/2)"
lab_stop_engine || fail "decnetd exit status"

# 2. MTU + 4: the scanner's MTU lets a 1518-byte frame through.
ip -n "$LAB_SCAN" link set scan0 mtu 1504
lab_engine "$cfg" --stats-on-exit || exit 1
scan ping -c 1 -W 1 -M dont -s 1476 10.77.0.10 2>&1 | grep -q ' 1 received' &&
	pass "a 1504-byte echo request gets its reply, in fragments" || fail "no reply to the 1504-byte echo request"
n=$(scan arping -c 3 -W 0.2 -w 3 -i scan0 10.77.0.11 2>&1 | grep -c ' from ')
[ "$n" = 3 ] && pass "the tx ring keeps answering (arping $n/3)" || fail "tx stalled after the big reply (arping $n/3)"
scan ping -c 2 -i 0.2 -W 1 10.77.0.12 | grep -q '2 received' && pass "  ping after it: 2/2" || fail "  ping after the big reply"
lab_stop_engine || fail "decnetd exit status"
[ "$(io tx_oversize)" = 0 ] && pass "  nothing oversize: tx_oversize 0" || fail "  tx_oversize $(io tx_oversize)"
ip -n "$LAB_SCAN" link set scan0 mtu 1500

# 3. A backlog three times the tx ring, with either transmit path (--tx
# copy: sendmmsg; --tx ring: PACKET_TX_RING).
for tx in copy ring; do
	lab_engine "$cfg" --tx $tx --stats-on-exit || exit 1
	ip netns exec "$LAB_SCAN" tcpdump -q -i scan0 -nn -w "$LAB_DIR/rep.pcap" 'arp[6:2] == 2' 2>/dev/null &
	TD=$!
	sleep 1
	kill -STOP "$LAB_PID"
	scan python3 "$raw" scan0 3000 10.77.0.10 arp
	kill -CONT "$LAB_PID"
	sleep 1.5
	kill -TERM $TD; wait $TD 2>/dev/null
	lab_stop_engine || fail "decnetd exit status"
	seen=$(tcpdump -r "$LAB_DIR/rep.pcap" 2>/dev/null | wc -l)
	drops=$(( $(io rx_kernel_drops) ))
	[ $((seen + drops)) -ge 3000 ] && [ "$(io tx_ring_full)" = 0 ] && [ "$(io tx_frames)" -ge "$seen" ] &&
		pass "backlog, --tx $tx: $seen replies on the wire, $drops dropped by the kernel rx ring, tx_ring_full 0" ||
		fail "backlog, --tx $tx: $seen replies on the wire of 3000 (kernel rx drops $drops, tx_ring_full $(io tx_ring_full), tx_frames $(io tx_frames))"
done
# 4. Checksum offload left on in the scanner (a veth leaves TCP checksums
# to a NIC it does not have; AF_PACKET marks such frames): a kernel client's
# connection to a decky must still work.
# Not over xdp: XDP carries no checksum status (engine/README.md, limits),
# so those frames fail the stack's checksum check; a NIC never delivers
# them, only a peer in the same host does.
if [ "${LAB_BACKEND:-}" = xdp ]; then
	echo "skip: checksum offload in the peer: a known limit of the xdp backend"
	lab_result
	exit
fi
ip netns exec "$LAB_SCAN" ethtool -K scan0 tx on >/dev/null 2>&1
lab_engine "$cfg" --stats-on-exit || exit 1
if ip netns exec "$LAB_SCAN" ethtool -k scan0 | grep -q 'tx-checksumming: on'; then
	scan nc -z -w 3 10.77.0.10 22 && pass "TCP connect with checksum offload on" || fail "TCP connect with offload on"
else
	fail "cannot turn checksum offload on for the test"
fi
lab_stop_engine || fail "decnetd exit status"
lab_result
