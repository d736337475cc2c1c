#!/bin/bash
# Engine mode through the CLI, as a user runs it: decnet deploy starts
# decnetd in the background (pid file, log, control socket under
# $DECNET_RUN_DIR), waits for its socket and prints the deckies; the
# deckies answer ARP/ping from the scanner; decnet status reads them back;
# decnet teardown --id removes one live, --all stops decnetd. Also: a fleet
# from flags (-n/--subnet/--ip-start/--services) and an INI error (exit 2,
# no daemon started), and a second deploy while one runs is refused.
set -u
. "$DECNET_SRC/tests/lab/lab.sh"
lab_need_root
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
pass() { echo "ok: $*"; }

lab_up dep$$
export DECNET_RUN_DIR=$LAB_DIR/run
export DECNET_DOCKER_SOCKET=$LAB_DIR/no-docker.sock # classic side: absent
cli() { ip netns exec "$LAB_ENG" "$DECNET_CLI" "$@"; }
stop_all() { cli teardown --all >/dev/null 2>&1; }
trap 'stop_all; lab_down' EXIT

printf '[general]\nnet = 10.77.0.0/24\ngw = 10.77.0.1\n[a]\nservices = ssh\nnmap_os = plan9\n' >"$LAB_DIR/bad.ini"
out=$(cli deploy -c "$LAB_DIR/bad.ini" -i eng0 2>&1)
rc=$?
[ $rc = 2 ] && echo "$out" | grep -q "^$LAB_DIR/bad.ini:6: " && [ ! -e "$DECNET_RUN_DIR/decnetd.pid" ] &&
	pass "INI error: exit 2, $out" || fail "INI error: exit $rc: $out"

t0=$(date +%s%N)
if cli deploy -c "$DECNET_SRC/tests/integration/data/three-families.ini" -i eng0 >"$LAB_DIR/deploy.out" 2>&1; then
	pass "deploy (engine): up in $((($(date +%s%N) - t0) / 1000000)) ms"
else
	fail "deploy (engine)"; cat "$LAB_DIR/deploy.out"; exit 1
fi
for d in lin-01 win-01 iot-01; do
	grep -q "^$d " "$LAB_DIR/deploy.out" || fail "deploy output lacks $d"
done
pid=$(cat "$DECNET_RUN_DIR/decnetd.pid")
[ "$(cat /proc/$pid/comm 2>/dev/null)" = decnetd ] && pass "decnetd running (pid $pid), in its own session: sid $(ps -o sid= -p $pid | xargs)" ||
	fail "no decnetd behind the pid file"
[ "$(ps -o sid= -p "$pid" | xargs)" = "$pid" ] || fail "decnetd is not a session leader (setsid)"
out=$(scan ping -c 1 -W 2 10.77.0.11 | sed -n 's/.*ttl=\([0-9]*\).*/\1/p')
[ "$out" = 128 ] && pass "ping win-01: ttl 128" || fail "ping win-01: ttl '$out'"

out=$(cli deploy -c "$DECNET_SRC/tests/integration/data/three-families.ini" -i eng0 2>&1)
[ $? = 1 ] && echo "$out" | grep -q 'already running' && pass "second deploy refused: $out" || fail "second deploy: $out"

cli status >"$LAB_DIR/status.txt" 2>&1 || fail "status exit $?"
grep -q '^engine: decnetd on eng0, 3 deckies' "$LAB_DIR/status.txt" && grep -q '^iot-01 .*10.77.0.12' "$LAB_DIR/status.txt" &&
	pass "status: engine, 3 deckies" || { fail "status"; cat "$LAB_DIR/status.txt"; }
cli status --json | python3 -c 'import json,sys; j=json.load(sys.stdin); assert j["classic"] is None; assert len(j["engine"]["deckies"])==3' &&
	pass "status --json" || fail "status --json"

# Live changes through the control socket, as an operator would make them.
cli ctl decky.add name=live-01 ip=10.77.0.50 services=ssh nmap_os=cisco >/dev/null && pass "ctl decky.add live-01" || fail "ctl decky.add"
out=$(scan arping -c 1 -w 1 -i scan0 10.77.0.50 2>&1)
echo "$out" | grep -q ' from ' && pass "  live-01 answers ARP within 1 s" || fail "  live-01: no ARP reply within 1 s: $out"
cli status | grep -q '^live-01 .*10.77.0.50' && pass "  status shows live-01" || fail "  status lacks live-01"
cli ctl decky.remove live-01 >/dev/null && pass "ctl decky.remove live-01" || fail "ctl decky.remove"
out=$(scan arping -c 1 -w 1 -i scan0 10.77.0.50 2>&1)
echo "$out" | grep -q ' from ' && fail "  live-01 still answers" || pass "  live-01 silent"
cli status | grep -q '^live-01 ' && fail "  status still shows live-01" || pass "  status without live-01"
cli teardown --id win-01 >/dev/null 2>&1 && pass "teardown --id win-01" || fail "teardown --id win-01"
scan ping -c 1 -W 1 10.77.0.11 >/dev/null 2>&1 && fail "win-01 still answers" || pass "  win-01 silent"
cli teardown --all >"$LAB_DIR/td.out" 2>&1 && grep -q 'stopped decnetd' "$LAB_DIR/td.out" && pass "teardown --all stopped decnetd" ||
	{ fail "teardown --all"; cat "$LAB_DIR/td.out"; }
sleep 0.2
kill -0 "$pid" 2>/dev/null && fail "decnetd still alive" || pass "  decnetd gone, pid file: $([ -e "$DECNET_RUN_DIR/decnetd.pid" ] && echo left || echo removed)"

# A fleet from flags: written as INI, loaded by the same loader.
if cli deploy -n 3 --subnet 10.77.0.0/24 --ip-start 10.77.0.40 --services ssh,http -i eng0 >"$LAB_DIR/flags.out" 2>&1; then
	grep -q '^decky-03 .*10.77.0.42' "$LAB_DIR/flags.out" && grep -q '^\[decky-01\]' "$DECNET_RUN_DIR/fleet.ini" &&
		pass "deploy from flags: decky-01..03 at .40-.42" || { fail "deploy from flags output"; cat "$LAB_DIR/flags.out"; }
	scan ping -c 1 -W 2 10.77.0.41 >/dev/null && pass "  decky-02 answers" || fail "  decky-02 silent"
else
	fail "deploy from flags"; cat "$LAB_DIR/flags.out"
fi
stop_all
echo "$fails failed"
[ $fails = 0 ]
