#!/bin/bash
# SYNs answered on the veth lab: decnetd's decky against the Linux kernel
# answering the same SYNs in the same namespace on the same veth (a
# listening socket, SYN cookies on, big backlogs). Two measures per side:
#
#  ceiling  the offered rate steps up (x sqrt 2) until fewer than 99.9 % of
#           the SYNs get a SYN-ACK twice in a row; the highest *achieved*
#           rate that passed is the side's ceiling;
#  cost     CPU time of the answering core per SYN at a fixed rate
#           (COST_RATE, default 100 000/s, 3 s): busy time of CPU 1 from
#           /proc/stat / SYNs answered. Its inverse is the ceiling the core
#           would reach if the generator could offer it.
#
# CPU split (default; SPLIT=0 turns it off): the generator runs on CPU 0;
# the answering side gets CPU 1: decnetd is pinned there, and receive
# packet steering (rps_cpus) sends the engine veth's receive work to it,
# so the kernel's SYN handling and decnetd's packet socket delivery both
# run on CPU 1 instead of inside the generator's sendmmsg() on CPU 0
# (where veth would otherwise run them: the receiving side then slows the
# generator instead of dropping, and neither ceiling was the side's own).
# The SYN-ACKs' receive work is steered to CPU 0, the generator's.
#
# On two cores one generator core offers ~300 000 SYN/s at most; a ceiling
# at that rate is the generator's, and the cost line is the comparison.
# Every step is bounded (<= 2 s of SYNs, <= 2 million); 4-tuples never
# repeat within a side (synrate FIRST), each measure starts from a fresh
# side (a kernel listener's queue holds 65 535 half-open connections that
# retransmit SYN-ACKs for a minute: a sweep behind a cost run met them and
# fell to 35 000 SYN/s), and the whole lab lives in namespaces this script
# creates.
#
# Usage (root): bench_veth_syn.sh [MAX_RATE (default 3200000)]
# ENGINE_ARGS: more decnetd options (e.g. "--ring v3", "--tx ring",
# "--xdp-mode skb"); BACKEND: decnetd's I/O backend (afpacket, the
# default, or xdp); SIDES: "engine kernel" (default), or one of them.
#
# With BACKEND=xdp in native mode, the XDP program and the copy into the
# AF_XDP socket run in veth's NAPI on the *sending* CPU (the generator's,
# CPU 0): receive packet steering comes after XDP. CPU 1's cost then
# leaves that work out, so the cost line also gives all CPUs' busy time
# per SYN (generator included, the same for both sides) to compare.
set -u
. "$DECNET_SRC/tests/lab/lab.sh"
LAB_BACKEND=${BACKEND:-${LAB_BACKEND:-}}
lab_need_root
SYNRATE=${SYNRATE:-$DECNET_BUILD/tests/bench/synrate}
[ -x "$SYNRATE" ] || { echo "FAIL: $SYNRATE not built"; exit 1; }
command -v python3 >/dev/null || { echo "FAIL: python3 needed (the kernel's listener)"; exit 1; }
MAX_RATE=${1:-3200000}
COST_RATE=${COST_RATE:-100000}
DECKY=10.77.0.20
SRC=10.78.0.1   # SYN sources: 10.78.0.1 + 0..1023, routed via the scanner
NSRC=1024
SPLIT=${SPLIT:-1}
[ "$(nproc)" -ge 2 ] || SPLIT=0
GEN_PIN=
[ "$SPLIT" = 1 ] && GEN_PIN="taskset -c 0"

lab_up vsyn$$
# Replies to 10.78/16 go to the scanner, whose kernel drops them (not its
# addresses, no forwarding): only synrate's packet socket sees them.
eng ip route add 10.78.0.0/16 via $LAB_NET.2
if [ "$SPLIT" = 1 ]; then
	eng sh -c 'echo 2 > /sys/class/net/eng0/queues/rx-0/rps_cpus' || exit 1
	scan sh -c 'echo 1 > /sys/class/net/scan0/queues/rx-0/rps_cpus' || exit 1
fi
echo "cpu split: $SPLIT (1: generator on CPU 0, answering side on CPU 1)"

# busy jiffies of CPU 1 (everything but idle and iowait)
cpu1_busy() { awk '$1 == "cpu1" { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
# and of all CPUs
cpus_busy() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
# frames CPU 1's receive backlog (net.core.netdev_max_backlog) dropped so far
cpu1_backlog_drops() { printf '%d' "0x$(awk 'NR == 2 { print $2 }' /proc/net/softnet_stat)"; }

first=0 # next unused 4-tuple of this side
# step NAME MAC: the side's ceiling, printed as "NAME ceiling RATE"
step() {
	local name=$1 mac=$2 rate=25000 best=0 line fails=0
	while [ $rate -le $MAX_RATE ]; do
		local count=$((rate * 2))
		[ $count -gt 2000000 ] && count=2000000
		local d0=$(cpu1_backlog_drops)
		line=$(scan $GEN_PIN "$SYNRATE" scan0 "$mac" $DECKY 80 $SRC $NSRC $rate $count 1500 $first)
		first=$((first + count))
		echo "$name offered $rate: offered/achieved/sent/answered/%/rx_drops: $line, CPU 1 backlog drops $(($(cpu1_backlog_drops) - d0))"
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

# cost NAME MAC: "NAME cost US us/SYN (...)"; uses COST_RATE * 3 tuples
# from $first (the caller moves it on: cost runs in a pipeline)
cost() {
	local name=$1 mac=$2 count=$((COST_RATE * 3)) b0 b1 a0 a1 t0 t1 line
	[ "$SPLIT" = 1 ] || { echo "$name cost n/a (no CPU split)"; return; }
	b0=$(cpu1_busy)
	a0=$(cpus_busy)
	t0=$(date +%s%N)
	line=$(scan $GEN_PIN "$SYNRATE" scan0 "$mac" $DECKY 80 $SRC $NSRC $COST_RATE $count 300 $first)
	b1=$(cpu1_busy)
	a1=$(cpus_busy)
	t1=$(date +%s%N)
	set -- $line
	awk -v n="$name" -v db=$((b1 - b0)) -v da=$((a1 - a0)) -v hz="$(getconf CLK_TCK)" -v dt=$((t1 - t0)) -v a="$4" -v r="$COST_RATE" \
		'BEGIN { printf "%s cost %.2f us/SYN (CPU 1 busy %.0f %% at %d SYN/s, %d answered; all CPUs %.2f us/SYN)\n",
			n, a ? db / hz * 1e6 / a : 0, 100 * db / hz / (dt / 1e9), r, a, a ? da / hz * 1e6 / a : 0 }'
}

engine_start() {
	lab_engine "$DECNET_SRC/tests/integration/data/tcp-lab.ini" --stats-on-exit ${ENGINE_ARGS:-} || exit 1
	[ "$SPLIT" = 1 ] && taskset -pc 1 "$LAB_PID" >/dev/null
	scan ping -c 1 -W 1 $DECKY >/dev/null
	dmac=$(scan ip neigh show $DECKY | awk '{ for (i = 1; i < NF; i++) if ($i == "lladdr") print $(i + 1) }')
	[ -n "$dmac" ] || { echo "FAIL: no ARP answer from $DECKY"; exit 1; }
}
engine_stop() {
	lab_stop_engine
	python3 - "$(tail -n 1 "$LAB_DIR/engine.out")" <<'PY'
import json, sys
s = json.loads(sys.argv[1])
print("engine counters:", {k: s["stack"][k] for k in ("tcp_syn_open", "tcp_synack_sent", "tcp_syncookies_sent",
      "drop_tx_full", "drop_tx_nobuf")}, "io:", {k: s["io"][k] for k in ("rx_kernel_drops", "tx_ring_full")})
PY
}
kernel_start() {
	# Not through eng(): $! must be the listener itself (ip netns exec
	# execs it), or kill leaves it running with its queue.
	ip netns exec "$LAB_ENG" python3 -c "
import socket, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('$DECKY', 80))
s.listen(65535)
time.sleep(600)
" &
	LISTENER=$!
	sleep 0.5
}
kernel_stop() {
	kill $LISTENER 2>/dev/null
	wait $LISTENER 2>/dev/null
	eng nstat -z TcpExtSyncookiesSent TcpExtListenOverflows TcpExtListenDrops 2>/dev/null | tail -n +2 | sed 's/^/kernel /'
}

# (a) decnetd
: >"$LAB_DIR/engine.txt"
: >"$LAB_DIR/kernel.txt"
if [[ " ${SIDES:-engine kernel} " == *" engine "* ]]; then
engine_start
cost engine "$dmac" | tee "$LAB_DIR/engine.txt"
first=$((first + COST_RATE * 3)) # cost ran in tee's pipeline: a subshell
engine_stop
engine_start
step engine "$dmac" | tee -a "$LAB_DIR/engine.txt"
engine_stop
fi

# (b) the kernel, same namespace, same veth, same address
first=0
eng sysctl -qw net.core.somaxconn=65535 net.ipv4.tcp_max_syn_backlog=65535 net.ipv4.tcp_syncookies=1
eng ip addr add $DECKY/32 dev eng0
# The kernel answers via the scanner (route above): resolve its MAC first,
# or the first SYN-ACKs wait in (and overflow) the ARP queue.
eng ping -c 1 -W 1 $LAB_NET.2 >/dev/null
kmac=$(eng cat /sys/class/net/eng0/address)
scan ip neigh replace $DECKY lladdr "$kmac" dev scan0
if [[ " ${SIDES:-engine kernel} " == *" kernel "* ]]; then
kernel_start
cost kernel "$kmac" | tee "$LAB_DIR/kernel.txt"
first=$((first + COST_RATE * 3))
kernel_stop
kernel_start
step kernel "$kmac" | tee -a "$LAB_DIR/kernel.txt"
kernel_stop
fi

e=$(awk '/ceiling/ { print $3 }' "$LAB_DIR/engine.txt")
k=$(awk '/ceiling/ { print $3 }' "$LAB_DIR/kernel.txt")
echo "ceiling (>= 99.9 % answered): engine $e SYN/s, kernel $k SYN/s, ratio $(awk -v e="$e" -v k="$k" 'BEGIN { printf "%.2f", k ? e / k : 0 }') (target >= 2.5)"
if [ "$SPLIT" = 1 ]; then
	ec=$(awk '/ cost / { print $3 }' "$LAB_DIR/engine.txt")
	kc=$(awk '/ cost / { print $3 }' "$LAB_DIR/kernel.txt")
	echo "CPU per SYN on the answering core: engine $ec us, kernel $kc us: per core the engine answers $(awk -v e="$ec" -v k="$kc" 'BEGIN { printf "%.2f", e ? k / e : 0 }')x the kernel's rate (target >= 2.5)"
	ea=$(sed -n 's/.*all CPUs \([0-9.]*\) us.*/\1/p' "$LAB_DIR/engine.txt")
	ka=$(sed -n 's/.*all CPUs \([0-9.]*\) us.*/\1/p' "$LAB_DIR/kernel.txt")
	echo "CPU per SYN on all CPUs (generator included): engine (${LAB_BACKEND:-afpacket}) $ea us, kernel $ka us, ratio $(awk -v e="$ea" -v k="$ka" 'BEGIN { printf "%.2f", e ? k / e : 0 }')"
fi
exit 0
