#!/bin/bash
# bench-callgrind.sh [BUILD]: instructions per packet of the ARP and ICMP
# echo answer paths, counted by valgrind's callgrind (repeatable, unlike
# time on a shared machine): inclusive Ir of stk_input_burst / packets.
set -euo pipefail
b=${1:-build}/tests/bench/bench_arp_icmp
n=1000000
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for kind in arp icmp; do
	valgrind --tool=callgrind --callgrind-out-file="$tmp/$kind.out" "$b" $n 256 $kind engine-only >/dev/null 2>&1
	callgrind_annotate --inclusive=yes "$tmp/$kind.out" >"$tmp/$kind.txt" 2>/dev/null
	ir=$(awk '/stk_input.c:stk_input_burst$/ && !done { gsub(",", "", $1); print $1; done = 1 }' "$tmp/$kind.txt")
	echo "$kind: $ir instructions for $n packets = $((ir / n)) instructions/packet (stk_input_burst, inclusive)"
done
