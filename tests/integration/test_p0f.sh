#!/bin/bash
# p0f 3 (Debian, /etc/p0f/p0f.fp) watches the scanner's side of the lab
# while curl connects to one web decky per family: p0f classifies each
# server's SYN+ACK (it pairs it with the SYN it saw) and its label must fit
# the family: linux -> Linux, windows -> Windows, bsd -> FreeBSD/OpenBSD/
# NetBSD/Mac OS X. A label of another family always fails.
#
# The family entries were chosen so that p0f's old (3.09b) SYN+ACK
# database knows them: linux = Linux 3.10 (p0f: Linux 3.x), windows = a
# Windows 10 answering 8192/ws 8 (p0f: Windows 7 or 8), bsd = FreeBSD 12
# (p0f: FreeBSD 9.x). For these three "???" fails like a wrong label.
# embedded, cisco: p0f has no SYN+ACK signature for such stacks at all;
# what it says is printed. The lab namespace's own kernel is asked the same
# way and printed as a reference (p0f 3.09b predates Linux 5+'s 65160).
set -u
. "$DECNET_SRC/tests/lab/lab.sh"
lab_need_root
for t in p0f curl; do
	command -v $t >/dev/null || { echo "FAIL: $t not installed"; exit 1; }
done
P0F_DB=${P0F_DB:-/etc/p0f/p0f.fp}
[ -r "$P0F_DB" ] || { echo "FAIL: $P0F_DB missing (apt install p0f)"; exit 1; }
cfg=$DECNET_SRC/tests/integration/data/p0f-families.ini
lab_up p0f$$
lab_engine "$cfg" || exit 1
log=$LAB_DIR/p0f.log
# Bounded: p0f lives at most 60 s, and the lab takes it down with the
# namespace anyway.
scan timeout 60 p0f -f "$P0F_DB" -i scan0 -o "$log" >"$LAB_DIR/p0f.out" 2>&1 &
p0f_pid=$!
# The reference: this machine's real Linux kernel in the engine namespace.
eng /usr/bin/python3 -m http.server 8080 --bind 10.77.0.1 >"$LAB_DIR/ref.out" 2>&1 &
for i in $(seq 1 50); do
	scan curl -s -m 1 -o /dev/null http://10.77.0.1:8080/ && break
	sleep 0.1
done
for i in $(seq 1 50); do
	grep -q "Entered main event loop\|Listening on interface" "$LAB_DIR/p0f.out" 2>/dev/null && break
	sleep 0.1
done
sleep 0.5

# family|ip|pattern a fitting label matches ('' = any label, documented)
cases="linux|10.77.0.30|^Linux
windows|10.77.0.31|^Windows
bsd|10.77.0.32|^(FreeBSD|OpenBSD|NetBSD|Mac OS)
embedded|10.77.0.33|
cisco|10.77.0.34|"
while IFS='|' read -r fam ip want; do
	for k in 1 2 3; do
		scan curl -sS -m 5 -o /dev/null "http://$ip/" ||
			fail "curl http://$ip/ ($fam)"
	done
done <<<"$cases"
for k in 1 2 3; do
	scan curl -sS -m 5 -o /dev/null http://10.77.0.1:8080/ || fail "curl reference kernel"
done
sleep 1
kill -TERM "$p0f_pid" 2>/dev/null
wait "$p0f_pid" 2>/dev/null

# label|raw_sig pairs p0f logged for the SYN+ACKs from ip:port
synacks() {
	grep "mod=syn+ack|" "$log" | grep "|srv=$1|" |
		sed -n 's/.*|os=\([^|]*\)|.*|raw_sig=\([^|]*\).*/\1|\2/p' | sort -u
}
ref=$(synacks 10.77.0.1/8080)
ref_label=${ref%%|*}
ref_sig=${ref#*|}
echo "reference: this machine's Linux $(uname -r): os=${ref_label:-none}  raw_sig=${ref_sig:-none}"
[ -n "$ref" ] || fail "p0f logged no SYN+ACK from the reference kernel"
[ "$(echo "$ref" | wc -l)" = 1 ] || fail "reference kernel: several signatures: $ref"
echo "p0f's SYN+ACK labels (os=, raw_sig=):"
while IFS='|' read -r fam ip want; do
	pairs=$(synacks "$ip/80")
	if [ -z "$pairs" ]; then
		fail "$fam ($ip): p0f logged no SYN+ACK"
		continue
	fi
	while IFS='|' read -r label sig; do
		echo "  $fam $ip: os=$label  raw_sig=$sig"
		if [ -n "$want" ] && echo "$label" | grep -Eq "$want"; then
			pass "$fam: p0f says '$label'"
		elif [ -z "$want" ] && [ "$label" != "???" ] &&
			! echo "$label" | grep -Eq '^(Linux|Windows|FreeBSD|OpenBSD|NetBSD|Mac OS)'; then
			pass "$fam: p0f says '$label' (documented: not a general-purpose family)"
		elif [ "$label" != "???" ]; then
			fail "$fam: p0f says '$label' (raw_sig=$sig), wanted ${want:-no general-purpose label}"
		elif [ -z "$want" ]; then
			pass "$fam: p0f has no $fam SYN+ACK signature: '???' (documented)"
		else
			fail "$fam: p0f says '???' (raw_sig=$sig), wanted /$want/"
		fi
	done <<<"$pairs"
done <<<"$cases"
lab_stop_engine || fail "decnetd exit status"
lab_result
