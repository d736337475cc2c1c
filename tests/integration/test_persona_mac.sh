#!/bin/bash
# What nmap prints beside its OS guess: "MAC Address: ... (Vendor)". A
# decky wearing an exact nmap-os-db entry of a hardware vendor must show
# that vendor (nmap looks the OUI up in the same nmap-mac-prefixes the
# engine picked it from); a Linux entry and a family keep family OUIs.
# decky.add and config.reload must give the MAC the file gives: a reload
# of the same deckies (plus the one added live) changes nothing.
set -u
. "$DECNET_SRC/tests/lab/lab.sh"
lab_need_root
command -v nmap >/dev/null || { echo "FAIL: nmap not installed"; exit 1; }
cfg=$DECNET_SRC/tests/integration/data/persona-macs.ini
CISCO='Cisco 2811 router (IOS 15.1)'
lab_up pm$$
lab_engine "$cfg" || exit 1
grep "persona MACs" "$LAB_DIR/engine.err"

# vendor IP: the vendor nmap names for IP's MAC
vendor() {
	sed -n "/report for $1\$/,/^Nmap scan report/p" "$LAB_DIR/sn.txt" |
		sed -n 's/^MAC Address: [0-9A-F:]* (\(.*\))$/\1/p' | head -n 1
}
scan nmap -sn -n 10.77.0.40-44 >"$LAB_DIR/sn.txt" 2>&1
for want in "10.77.0.40|Cisco Systems" "10.77.0.41|Brother Industries" "10.77.0.42|Hewlett Packard"; do
	ip=${want%%|*}
	v=$(vendor "$ip")
	echo "$v" | grep -qi "^${want#*|}" && pass "$ip: nmap says MAC vendor '$v'" ||
		fail "$ip: nmap says MAC vendor '$v', wanted '${want#*|}'"
done
echo "family OUIs: Linux 5.0 entry: '$(vendor 10.77.0.43)', nmap_os=cisco family: '$(vendor 10.77.0.44)'"
[ -n "$(vendor 10.77.0.43)" ] && [ -n "$(vendor 10.77.0.44)" ] || fail "family OUIs not registered"

lab_ctl decky.add name=rtr2 ip=10.77.0.45 services=http "nmap_os=$CISCO" >/dev/null ||
	fail "decky.add rtr2"
scan nmap -sn -n 10.77.0.45 >"$LAB_DIR/sn.txt" 2>&1
v=$(vendor 10.77.0.45)
echo "$v" | grep -q "^Cisco Systems" && pass "decky.add: nmap says MAC vendor '$v'" ||
	fail "decky.add: nmap says MAC vendor '$v'"

cp "$cfg" "$LAB_DIR/next.ini"
printf '\n[rtr2]\nip = 10.77.0.45\nservices = http\nnmap_os = %s\n' "$CISCO" >>"$LAB_DIR/next.ini"
out=$(lab_ctl config.reload path="$LAB_DIR/next.ini")
echo "$out" | grep -q '"added":0,"removed":0,"unchanged":6' &&
	pass "reload: every MAC as before, the live-added decky's too ($out)" ||
	fail "reload changed deckies: $out"
lab_stop_engine || fail "decnetd exit status"
lab_result
