#!/bin/bash
# nmap_os= names beyond the families: `decnet personas` lists and searches
# nmap's installed nmap-os-db; decnetd accepts exact entry names (NAME and
# NAME#N), refuses unknown ones with FILE:LINE and close names, and still
# runs fleets of families without the database. No root needed.
set -u
DECNETD=${DECNETD:-$DECNET_BUILD/decnetd}
DECNET_CLI=${DECNET_CLI:-$DECNET_BUILD/decnet}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
pass() { echo "ok: $*"; }

"$DECNET_CLI" personas --json >"$tmp/all.json" || fail "personas --json exit $?"
python3 - "$tmp/all.json" <<'PY' && pass "personas --json: families + every name" || fail "personas --json content"
import json, sys
d = json.load(open(sys.argv[1]))
names = {e["name"] for e in d["entries"]}
ok = set(d["families"]) == {"linux", "windows", "bsd", "embedded", "cisco"}
ok &= all(v.rsplit("#", 1)[0] in names for v in d["families"].values())
ok &= d["matched"] == len(d["entries"]) >= 3700 and "Linux 5.4" in names  # 3780 distinct names in 7.93
print(f'{d["matched"]} distinct names')
sys.exit(0 if ok else 1)
PY
out=$("$DECNET_CLI" personas --search "hl-2070n")
echo "$out" | grep -q "Brother HL-2070N printer .*(#1..#" && pass "search shows variants" || fail "search: $out"

# An empty classic pcap: the engine starts, reads nothing, exits.
printf '\xd4\xc3\xb2\xa1\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\x00\x00\x01\x00\x00\x00' >"$tmp/empty.pcap"
cat >"$tmp/exact.ini" <<'INI'
[general]
net = 10.1.0.0/24
gw = 10.1.0.1
[printer]
ip = 10.1.0.5
services = snmp
nmap_os = Brother HL-2070N printer#4
[router]
ip = 10.1.0.6
services = ssh
nmap_os = Cisco Catalyst 2960 switch (IOS 12.2)
INI
stats=$("$DECNETD" -c "$tmp/exact.ini" -b pcap --pcap-in "$tmp/empty.pcap" --stats-on-exit 2>"$tmp/err")
rc=$?
[ $rc = 0 ] && echo "$stats" | grep -q '"deckies":2' && pass "exact names (and NAME#N) load" || { fail "exact names: rc=$rc"; cat "$tmp/err"; }

sed -i 's/IOS 12.2)$/IOS 12.9)/' "$tmp/exact.ini"
"$DECNETD" -c "$tmp/exact.ini" -b pcap --pcap-in "$tmp/empty.pcap" 2>"$tmp/err"
rc=$?
grep -q "exact.ini:11: unknown nmap_os 'Cisco Catalyst 2960 switch (IOS 12.9)': did you mean 'Cisco Catalyst 2960 switch (IOS 12.2)'" "$tmp/err" && [ $rc = 2 ] &&
	pass "unknown name: $(cat "$tmp/err")" || { fail "unknown name: rc=$rc"; cat "$tmp/err"; }

# Families never need the database; names do, and say how to get it.
printf '[general]\nnet = 10.1.0.0/24\ngw = 10.1.0.1\n[a]\nservices = ssh\nnmap_os = cisco\n' >"$tmp/fam.ini"
"$DECNETD" -c "$tmp/fam.ini" -b pcap --pcap-in "$tmp/empty.pcap" --nmap-os-db /nonexistent 2>"$tmp/err" &&
	pass "families run without nmap-os-db" || { fail "families need the db?"; cat "$tmp/err"; }
"$DECNETD" -c "$tmp/exact.ini" -b pcap --pcap-in "$tmp/empty.pcap" --nmap-os-db /nonexistent 2>"$tmp/err"
grep -q "install nmap" "$tmp/err" && pass "missing db named: $(cat "$tmp/err")" || { fail "missing db"; cat "$tmp/err"; }
"$DECNET_CLI" personas --db /nonexistent >/dev/null 2>"$tmp/err"
[ $? = 1 ] && grep -q "install nmap" "$tmp/err" && pass "personas without a db: exit 1" || fail "personas without db"
echo "$fails failed"
[ $fails = 0 ]
