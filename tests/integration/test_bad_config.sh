#!/bin/bash
# decnetd refuses a bad fleet file: exit status 2, exactly one line on
# stderr naming FILE:LINE, and nothing started (no control socket appears,
# no interface is touched: the interface named here does not even exist).
set -u
DECNETD=${DECNETD:-$DECNET_BUILD/decnetd}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
n=0
check() { # name expected-line-number expected-substring ini-text
	local name=$1 line=$2 want=$3 ini=$4
	n=$((n + 1))
	printf '%s\n' "$ini" >"$tmp/$name.ini"
	"$DECNETD" -c "$tmp/$name.ini" -i dn-no-such-if0 --control "$tmp/$name.sock" >"$tmp/out" 2>"$tmp/err"
	local rc=$?
	local lines
	lines=$(wc -l <"$tmp/err")
	if [ $rc = 2 ] && [ "$lines" = 1 ] && grep -q "^decnetd: $tmp/$name.ini:$line: .*$want" "$tmp/err" &&
		[ ! -e "$tmp/$name.sock" ]; then
		echo "ok: $name -> $(cat "$tmp/err")"
	else
		echo "FAIL: $name: rc=$rc, $lines stderr lines, want '$tmp/$name.ini:$line: ...$want':"
		cat "$tmp/err"
		fails=$((fails + 1))
	fi
}
G='[general]
net = 10.1.0.0/24
gw = 10.1.0.1'
check unknown_key 7 "colour" "$G
[d1]
ip = 10.1.0.5
services = ssh
colour = blue"
check bad_cidr 2 "10.1.0.0/33" "[general]
net = 10.1.0.0/33
gw = 10.1.0.1
[d1]
services = ssh"
check ip_outside_net 5 "10.2.0.5" "$G
[d1]
ip = 10.2.0.5
services = ssh"
check duplicate_ip 9 "10.1.0.5" "$G
[d1]
ip = 10.1.0.5
services = ssh
[d2]
services = http
ip = 10.1.0.5"
check amount_with_ip 7 "amount" "$G
[grp]
ip = 10.1.0.5
services = ssh
amount = 3"
check unknown_service 5 "telnett" "$G
[d1]
services = ssh, telnett"
check unknown_family 6 "solaris" "$G
[d1]
services = ssh
nmap_os = solaris"
check bad_backend 8 "bad backend '10.9.0.300:80'" "$G
[d1]
ip = 10.1.0.5
services = http
[d1.http]
backend = 10.9.0.300:80"
check backend_port_zero 8 "bad backend" "$G
[d1]
ip = 10.1.0.5
services = http
[d1.http]
backend = 10.9.0.3:0"
check backend_udp_service 8 "needs a TCP service" "$G
[d1]
ip = 10.1.0.5
services = tftp
[d1.tftp]
backend = 10.9.0.3:69"

# Missing file: one line, exit 2.
"$DECNETD" -c "$tmp/nope.ini" -i lo 2>"$tmp/err"
rc=$?
if [ $rc = 2 ] && [ "$(wc -l <"$tmp/err")" = 1 ] && grep -q "nope.ini" "$tmp/err"; then
	echo "ok: missing file -> $(cat "$tmp/err")"
else
	echo "FAIL: missing file: rc=$rc"; cat "$tmp/err"; fails=$((fails + 1))
fi
# Command-line mistakes: exit 2 with the option named (a valid config, so
# only the option can be at fault).
printf '%s\n' "$G" '[d1]' 'services = ssh' >"$tmp/ok.ini"
ok=$tmp/ok.ini
while IFS='|' read -r args want; do
	"$DECNETD" $args >/dev/null 2>"$tmp/err"
	rc=$?
	if [ $rc = 2 ] && grep -q -- "$want" "$tmp/err"; then
		echo "ok: decnetd $args -> exit 2: $(head -n 1 "$tmp/err")"
	else
		echo "FAIL: decnetd $args -> exit $rc, want '$want':"; cat "$tmp/err"; fails=$((fails + 1))
	fi
done <<EOF
|-c FILE.ini is required
-c|requires an argument
--ring v9 -c $ok|--ring: expected v2 or v3
--max-deckies 0 -c $ok|--max-deckies: expected
--events-rate x -c $ok|--events-rate: expected a number
-c $ok extra|unexpected argument 'extra'
--bogus -c $ok|Usage: decnetd
EOF
"$DECNETD" --help | grep -q "Usage: decnetd" && echo "ok: --help" || { echo "FAIL: --help"; fails=$((fails + 1)); }
"$DECNETD" --version | grep -q "^decnetd [0-9]" && echo "ok: --version" || { echo "FAIL: --version"; fails=$((fails + 1)); }
echo "$fails failed"
[ $fails = 0 ]
