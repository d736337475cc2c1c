#!/bin/bash
# Deckies wearing exact nmap-os-db entries, judged by a real `nmap -O`
# (Debian's nmap 7.93) from the scanner namespace in one run: how many get
# "OS details:" naming exactly their entry. The persona engine is not
# finished (its issue stays open): this guards what works today — measured
# 6-8 of these 10 in repeated runs (ISN and TS classes are statistical) — and lists every miss with what nmap said instead.
set -u
. "$DECNET_SRC/tests/lab/lab.sh"
lab_need_root
command -v nmap >/dev/null || { echo "FAIL: nmap not installed"; exit 1; }
cfg=$DECNET_SRC/tests/integration/data/personas-sample.ini
MIN_EXACT=6
lab_up pn$$
lab_engine "$cfg" || exit 1
# One open (80) and one closed (81) TCP port per decky, as nmap needs.
scan nmap -O -n -p 80,81 --max-retries 2 10.77.0.20-29 >"$LAB_DIR/nmap.txt" 2>&1
hits=0
total=0
while IFS= read -r line; do
	ip=$(echo "$line" | cut -d'|' -f1)
	want=$(echo "$line" | cut -d'|' -f2)
	total=$((total + 1))
	got=$(sed -n "/report for $ip\$/,/^Nmap scan report\|^OS detection performed/p" "$LAB_DIR/nmap.txt" |
		sed -n 's/^OS details: //p' | head -n 1)
	if [ "$got" = "$want" ]; then
		hits=$((hits + 1))
		echo "hit:  $ip $want"
	else
		echo "miss: $ip $want -> ${got:-no exact match}"
	fi
done < <(python3 - "$cfg" <<'PY'
import configparser, sys
c = configparser.ConfigParser(inline_comment_prefixes=("#",))
c.read(sys.argv[1])
for s in c.sections():
    if s != "general":
        print(f'{c[s]["ip"]}|{c[s]["nmap_os"]}')
PY
)
echo "nmap -O named $hits of $total personas exactly"
[ "$hits" -ge "$MIN_EXACT" ] && pass "at least $MIN_EXACT exact" || fail "only $hits exact (was $MIN_EXACT)"
lab_stop_engine || fail "decnetd exit status"
lab_result
