#!/bin/bash
# SYNs answered on the veth lab at fixed offered rates: decnetd's decky
# against the Linux kernel answering the same SYNs in the same namespace on
# the same veth (a listening socket, SYN cookies on, big backlogs). For each
# side the offered rate steps up until fewer than 99.9 % of the SYNs get a
# SYN-ACK; the last rate that passed is the side's ceiling, and the line
# that matters is the ratio of the two ceilings (measured in the same run).
#
# The generator (synrate, AF_PACKET + sendmmsg) runs in the scanner
# namespace on the same machine: on two cores it competes with the engine
# (or the kernel's softirq work) for CPU, and its own ceiling bounds what
# can be measured: both are printed. Every step is bounded (<= 2 s of SYNs,
# <= 2 million) and the whole lab lives in namespaces this script creates.
#
# Usage (root): bench_veth_syn.sh [MAX_RATE (default 3200000)]
# ENGINE_ARGS: more decnetd options (e.g. "--ring v3"). PIN=1: the
# generator on CPU 0, decnetd on CPU 1 (the kernel's answers run in the
# generator's system calls on veth, wherever it is pinned).
set -u
. "$DECNET_SRC/tests/lab/lab.sh"
lab_need_root
SYNRATE=${SYNRATE:-$DECNET_BUILD/tests/bench/synrate}
[ -x "$SYNRATE" ] || { echo "FAIL: $SYNRATE not built"; exit 1; }
command -v python3 >/dev/null || { echo "FAIL: python3 needed (the kernel's listener)"; exit 1; }
MAX_RATE=${1:-3200000}
DECKY=10.77.0.20
SRC=10.78.0.1   # SYN sources: 10.78.0.1 + 0..1023, routed via the scanner
NSRC=1024
GEN_PIN=
[ "${PIN:-0}" = 1 ] && GEN_PIN="taskset -c 0"

lab_up vsyn$$
# Replies to 10.78/16 go to the scanner, whose kernel drops them (not its
# addresses, no forwarding): only synrate's packet socket sees them.
eng ip route add 10.78.0.0/16 via $LAB_NET.2

# step NAME MAC: the ceiling of one side, printed as "NAME ceiling RATE":
# the highest rate the generator actually achieved (SYNs sent / time) at a
# step where >= 99.9 % of them got a SYN-ACK. Offered rates step by sqrt(2)
# until two steps in a row fall short. (Achieved, not offered: on veth the
# receiving kernel's softirq work runs in the sender's system call, so a
# kernel under load slows the generator down instead of dropping.)
step() {
	local name=$1 mac=$2 rate=25000 best=0 line fails=0
	while [ $rate -le $MAX_RATE ]; do
		local count=$((rate * 2))
		[ $count -gt 2000000 ] && count=2000000
		line=$(scan $GEN_PIN "$SYNRATE" scan0 "$mac" $DECKY 80 $SRC $NSRC $rate $count 1500)
		echo "$name offered $rate: achieved/sent/answered/%/rx_drops: $line"
		set -- $line
		if awk -v p="$5" 'BEGIN { exit !(p >= 99.9) }'; then
			best=$(awk -v a="$2" -v b="$best" 'BEGIN { printf "%d", (a + 0 > b + 0) ? a : b }')
			fails=0
		else
			fails=$((fails + 1))
			[ $fails -ge 2 ] && break
		fi
		rate=$(awk -v r=$rate 'BEGIN { printf "%d", r * 1.4142 }')
	done
	echo "$name ceiling $best"
}

# (a) decnetd
lab_engine "$DECNET_SRC/tests/integration/data/tcp-lab.ini" --stats-on-exit ${ENGINE_ARGS:-} || exit 1
[ "${PIN:-0}" = 1 ] && taskset -pc 1 "$LAB_PID" >/dev/null
scan ping -c 1 -W 1 $DECKY >/dev/null
dmac=$(scan ip neigh show $DECKY | awk '{ for (i = 1; i < NF; i++) if ($i == "lladdr") print $(i + 1) }')
[ -n "$dmac" ] || { echo "FAIL: no ARP answer from $DECKY"; exit 1; }
step engine "$dmac" | tee "$LAB_DIR/engine.txt"
lab_stop_engine
python3 - "$(tail -n 1 "$LAB_DIR/engine.out")" <<'PY'
import json, sys
s = json.loads(sys.argv[1])
print("engine counters:", {k: s["stack"][k] for k in ("tcp_syn_open", "tcp_synack_sent", "tcp_syncookies_sent",
      "drop_tx_full", "drop_tx_nobuf")}, "io:", {k: s["io"][k] for k in ("rx_kernel_drops", "tx_ring_full")})
PY

# (b) the kernel, same namespace, same veth, same address
eng sysctl -qw net.core.somaxconn=65535 net.ipv4.tcp_max_syn_backlog=65535 net.ipv4.tcp_syncookies=1
eng ip addr add $DECKY/32 dev eng0
eng python3 -c "
import socket, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('$DECKY', 80))
s.listen(65535)
time.sleep(600)
" &
LISTENER=$!
sleep 0.5
# The kernel answers via the scanner (route above): resolve its MAC first,
# or the first SYN-ACKs wait in (and overflow) the ARP queue.
eng ping -c 1 -W 1 $LAB_NET.2 >/dev/null
kmac=$(eng cat /sys/class/net/eng0/address)
scan ip neigh replace $DECKY lladdr "$kmac" dev scan0
step kernel "$kmac" | tee "$LAB_DIR/kernel.txt"
kill $LISTENER 2>/dev/null
wait $LISTENER 2>/dev/null
eng nstat -az TcpExtSyncookiesSent TcpExtListenOverflows TcpExtListenDrops 2>/dev/null | tail -n +2 | sed 's/^/kernel /'

e=$(awk '/ceiling/ { print $3 }' "$LAB_DIR/engine.txt")
k=$(awk '/ceiling/ { print $3 }' "$LAB_DIR/kernel.txt")
echo "ceiling (>= 99.9 % answered): engine $e SYN/s, kernel $k SYN/s, ratio $(awk -v e="$e" -v k="$k" 'BEGIN { printf "%.2f", k ? e / k : 0 }') (target >= 2.5)"
