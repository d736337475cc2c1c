#!/bin/bash
# One engine, many deckies, each wearing a different nmap-os-db entry: the
# five DECNET families plus a seeded random sample across vendors and
# device types (persona_sample: 120 entries, one per vendor/type group per
# round). A real `nmap -O` (Debian's 7.93) scans all of them in one run
# from the scanner namespace; "OS details:" must name exactly the entry
# each decky wears. Every miss is listed with what nmap measured against
# what the entry wants (decnet personas --explain).
#
# nmap runs with --max-hostgroup 16: its SEQ probes must go out 100 ms
# apart for ISR/SP to mean anything (nmap itself calls a fingerprint taken
# with gaps over 1.4x "non-ideal"), and with 120+ targets in one group it
# stretches them to ~500 ms, where no stack, real or ours, can show the
# rates the database recorded for fast ISN generators.
#
# Env: DECNET_SAMPLE_N (120), DECNET_SAMPLE_SEED (7), DECNET_NMAP_EXTRA
# (more nmap options), DECNET_MIN_PCT (95).
set -u
. "$DECNET_SRC/tests/lab/lab.sh"
lab_need_root
command -v nmap >/dev/null || { echo "FAIL: nmap not installed"; exit 1; }
N=${DECNET_SAMPLE_N:-120}
SEED=${DECNET_SAMPLE_SEED:-7}
MIN_PCT=${DECNET_MIN_PCT:-95}
DB=${DECNET_NMAP_OS_DB:-/usr/share/nmap/nmap-os-db}
SAMPLER=${DECNET_BUILD:-build}/tests/integration/persona_sample
lab_up pn$$
cfg=$LAB_DIR/personas.ini
list=$LAB_DIR/personas.list
"$SAMPLER" "$DB" "$N" "$SEED" "$LAB_NET" 20 "$cfg" "$list" || { fail "persona_sample"; lab_result; exit 1; }
# The five families, at .10-.14 (each stands for one entry: decnet personas).
i=10
for fam in linux windows bsd embedded cisco; do
	name=$("$DECNET_CLI" personas --json --limit 0 | /usr/bin/python3 -c \
		"import json,sys; print(json.load(sys.stdin)['families']['$fam'].rsplit('#', 1)[0])")
	printf '[fam-%s]\nip = %s.%d\nservices = http\nnmap_os = %s\n' "$fam" "$LAB_NET" "$i" "$fam" >>"$cfg"
	echo "$LAB_NET.$i|$name|$fam|family $fam" >>"$list"
	i=$((i + 1))
done
total=$(wc -l <"$list")
lab_engine "$cfg" || exit 1
# One open (80) and one closed (81) TCP port per decky, as nmap needs.
start=$(date +%s)
scan nmap -O -d -n -p 80,81 --max-retries 2 --max-hostgroup 16 ${DECNET_NMAP_EXTRA:-} \
	"$LAB_NET.10-$((20 + N - 1))" >"$LAB_DIR/nmap.txt" 2>&1
echo "nmap -O over $total deckies: $(($(date +%s) - start)) s"
hits=0
fam_miss=0
while IFS='|' read -r ip want cfgname group; do
	block=$(sed -n "/^Nmap scan report for $ip\$/,/^Final times for host/p" "$LAB_DIR/nmap.txt")
	got=$(printf '%s\n' "$block" | sed -n 's/^OS details: //p' | head -n 1)
	if [ "$got" = "$want" ]; then
		hits=$((hits + 1))
		continue
	fi
	case $group in family*) fam_miss=$((fam_miss + 1)) ;; esac
	echo "miss: $ip $cfgname [$group] -> ${got:-no exact match}"
	printf '%s\n' "$block" | sed -n '/^TCP\/IP fingerprint:/,/^$/p' | sed 1d >"$LAB_DIR/fp.txt"
	if [ -s "$LAB_DIR/fp.txt" ]; then
		"$DECNET_CLI" personas --explain "$LAB_DIR/fp.txt" --name "$cfgname" 2>&1 | sed 's/^/      /'
	else
		echo "      (nmap printed no fingerprint for this host)"
	fi
done <"$list"
pct=$((hits * 1000 / total))
echo "nmap -O named $hits of $total personas exactly ($((pct / 10)).$((pct % 10)) %)"
[ $((hits * 100)) -ge $((total * MIN_PCT)) ] && pass "at least $MIN_PCT % exact" ||
	fail "only $hits of $total exact (threshold $MIN_PCT %)"
# The families are what most fleets use: each must be named exactly.
[ "$fam_miss" = 0 ] && pass "the five families named exactly" || fail "$fam_miss families missed"
lab_stop_engine || fail "decnetd exit status"
lab_result
