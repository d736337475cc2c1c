#!/bin/bash
# bench-callgrind.sh [BUILD]: instructions per packet of the stack's answer
# paths, counted by valgrind's callgrind (repeatable, unlike time on a
# shared machine): the inclusive Ir of stk_input_burst (the naive TCP
# baseline: of naive_syn), measured with N and with 2N packets; the
# difference / N is the cost of N packets in steady state, without the
# setup and warm-up the two runs share (bench_tcp fills the SYN cache
# before its cookie and closed-port cases, as a flood leaves it).
#   arp, icmp             bench_arp_icmp, 256 deckies
#   syn_state, syn_cookie, closed_rst, naive_syn
#                         bench_tcp, linux persona, 65 536 flows (syn_state
#                         runs past the cache's size: every SYN evicts)
set -euo pipefail
b=${1:-build}/tests/bench
n=${N:-500000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ir() { # FUNCTION OUT CMD...: inclusive Ir of FUNCTION
	local fn=$1 out=$2
	shift 2
	valgrind --tool=callgrind --dump-instr=no --callgrind-out-file="$out" "$@" >/dev/null 2>&1
	callgrind_annotate --inclusive=yes "$out" 2>/dev/null |
		awk -v fn="$fn" '$0 ~ ":" fn "( |$)" && !done { gsub(",", "", $1); print $1; done = 1 }'
}
count() { # NAME FUNCTION CMD_WITH_N_AS_@N@...
	local kind=$1 fn=$2
	shift 2
	local a b
	a=$(ir "$fn" "$tmp/$kind.1" "${@/@N@/$n}")
	b=$(ir "$fn" "$tmp/$kind.2" "${@/@N@/$((2 * n))}")
	echo "$kind: $(( (b - a) / n )) instructions/packet ($fn, inclusive; $((2 * n)) - $n packets)"
}
for kind in arp icmp; do
	count $kind stk_input_burst "$b/bench_arp_icmp" @N@ 256 $kind engine-only
done
for kind in syn_state syn_cookie closed_rst; do
	count $kind stk_input_burst "$b/bench_tcp" @N@ 65536 $kind
done
count naive_syn naive_syn "$b/bench_tcp" @N@ 65536 naive_syn
