#!/bin/bash
# config.reload is all or nothing: a good file changes exactly the deckies
# that differ (an unchanged decky keeps answering with the same MAC), a bad
# file is refused with FILE:LINE and the fleet stays as it was; SIGHUP
# reloads the start-up file.
set -u
. "$DECNET_SRC/tests/lab/lab.sh"
lab_need_root
answers() { scan arping -c 1 -w 1 -i scan0 "$1" 2>/dev/null | sed -n 's/.* from \([0-9a-f:]*\) .*/\1/p'; }

lab_up rl$$
cfg=$LAB_DIR/fleet.ini
cp "$DECNET_SRC/tests/integration/data/three-families.ini" "$cfg"
lab_engine "$cfg" || exit 1
mac10=$(answers 10.77.0.10)
[ -n "$mac10" ] && [ -n "$(answers 10.77.0.12)" ] && pass "start: .10 and .12 answer" || fail "start"

# Drop iot-01 (.12), add new-01 (.20), keep the rest.
sed -e '/^\[iot-01\]/,$d' "$DECNET_SRC/tests/integration/data/three-families.ini" >"$LAB_DIR/next.ini"
printf '[new-01]\nip = 10.77.0.20\nservices = ssh\nnmap_os = cisco\n' >>"$LAB_DIR/next.ini"
out=$(lab_ctl config.reload path="$LAB_DIR/next.ini")
echo "$out" | grep -q '"added":1,"removed":1,"unchanged":2' && pass "reload: $out" || fail "reload result: $out"
[ -z "$(answers 10.77.0.12)" ] && pass ".12 removed" || fail ".12 still answers"
[ -n "$(answers 10.77.0.20)" ] && pass ".20 added" || fail ".20 silent"
[ "$(answers 10.77.0.10)" = "$mac10" ] && pass ".10 unchanged ($mac10)" || fail ".10 changed"

# A bad file: refused, named, nothing changed.
printf '[general]\nnet = 10.77.0.0/24\ngw = 10.77.0.1\n[x]\nip = 10.99.0.1\nservices = ssh\n' >"$LAB_DIR/bad.ini"
out=$(lab_ctl config.reload path="$LAB_DIR/bad.ini" 2>&1)
rc=$?
[ $rc != 0 ] && echo "$out" | grep -q "bad.ini:5:" && pass "bad file refused: $out" || fail "bad file: rc=$rc $out"
[ -n "$(answers 10.77.0.20)" ] && [ "$(answers 10.77.0.10)" = "$mac10" ] && pass "fleet unchanged after a refused reload" || fail "fleet changed by a refused reload"

# SIGHUP: back to the start-up file.
kill -HUP "$LAB_PID"
sleep 0.3
[ -n "$(answers 10.77.0.12)" ] && [ -z "$(answers 10.77.0.20)" ] && pass "SIGHUP reloaded $cfg" || fail "SIGHUP"
n=$(lab_ctl decky.list | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
[ "$n" = 3 ] && pass "decky.list: 3" || fail "decky.list: $n"
lab_stop_engine || fail "decnetd exit status"
lab_result
