#!/bin/bash
# bench-callgrind.sh [BUILD]: instructions per packet of the stack's answer
# paths, counted by valgrind's callgrind (repeatable, unlike time on a
# shared machine): inclusive Ir of stk_input_burst / packets (the naive
# TCP baseline: of naive_syn).
#   arp, icmp             bench_arp_icmp, 256 deckies
#   syn_state, syn_cookie, closed_rst, naive_syn
#                         bench_tcp, linux persona, 65 536 flows (syn_state
#                         runs past the table's size: every SYN evicts)
set -euo pipefail
b=${1:-build}/tests/bench
n=1000000
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
count() { # NAME FUNCTION CMD...
	local kind=$1 fn=$2
	shift 2
	valgrind --tool=callgrind --dump-instr=no --callgrind-out-file="$tmp/$kind.out" "$@" >/dev/null 2>&1
	callgrind_annotate --inclusive=yes "$tmp/$kind.out" >"$tmp/$kind.txt" 2>/dev/null
	ir=$(awk -v fn="$fn" '$0 ~ ":" fn "( |$)" && !done { gsub(",", "", $1); print $1; done = 1 }' "$tmp/$kind.txt")
	echo "$kind: $ir instructions for $n packets = $((ir / n)) instructions/packet ($fn, inclusive)"
}
for kind in arp icmp; do
	count $kind stk_input_burst "$b/bench_arp_icmp" $n 256 $kind engine-only
done
for kind in syn_state syn_cookie closed_rst; do
	count $kind stk_input_burst "$b/bench_tcp" $n 65536 $kind
done
count naive_syn naive_syn "$b/bench_tcp" $n 65536 naive_syn
