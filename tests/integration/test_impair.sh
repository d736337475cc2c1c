#!/bin/bash
# TCP under an impaired wire (issue 4's netem acceptance on a kernel
# without sch_netem): tests/lab/impair bridges the scanner and the engine
# (lab.sh LAB_IMPAIR=...) and
#  - first proves it does what it claims: 50 % loss one way loses about
#    half of 200 pings, 30 ms each way makes every RTT >= 60 ms, 50 %
#    reordering reorders without losing;
#  - then, with 5 % loss, 1 % reordering and 30 ms delay in both
#    directions: curl gets the built-in page from two deckies at once, and
#    an nc echo round trip of 10 MB (IMPAIR_BYTES) comes back intact
#    (sha256); the throughput is printed (docs/PERFORMANCE.md has numbers);
#    flow.list (polled every 3 s) shows the echo connection, and its last
#    snapshots are printed if the echo fails (what a stalled connection
#    waited for); the engine closes the connection while the impaired wire
#    is still up, with every send-buffer chunk back.
set -u
. "$DECNET_SRC/tests/lab/lab.sh"
lab_need_root
for t in curl nc ping sha256sum bc; do
	command -v $t >/dev/null || { echo "FAIL: $t not installed (tests need it)"; exit 1; }
done
[ -x "$DECNET_IMPAIR" ] || { echo "FAIL: no impair binary at $DECNET_IMPAIR"; exit 1; }
BYTES=${IMPAIR_BYTES:-10000000}
LIN=10.77.0.20
WIN=10.77.0.21
GW=$LAB_NET.1 # eng0's own address: the engine namespace's kernel answers

impair_field() { # DIR FIELD: a counter from the last lab_impair_stop/stats output
	echo "$IMP_OUT" | sed -n "s/^impair $1:.* $2 \([0-9]*\).*/\1/p"
}

# --- the impair tool itself (no engine: the kernel behind eng0 answers) ---
LAB_IMPAIR=x LAB_IMPAIR_AB="loss=50" LAB_IMPAIR_BA="loss=0" LAB_IMPAIR_SEED=7
lab_up imp$$
scan ping -c 1 -W 2 $GW >/dev/null 2>&1 # ARP, so it does not count
scan ping -c 200 -i 0.005 -W 1 -q $GW >"$LAB_DIR/ping" 2>&1
IMP_OUT=$(lab_impair_stop)
recv=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$LAB_DIR/ping")
lost=$(impair_field 'a->b' lost)
if [ "${recv:-0}" -ge 70 ] && [ "${recv:-0}" -le 130 ] && [ "${lost:-0}" -ge 70 ]; then
	pass "impair loss=50: $recv of 200 pings answered, $lost frames lost"
else
	fail "impair loss=50: $recv of 200 answered, lost '$lost'"; echo "$IMP_OUT"
fi
lab_down

LAB_IMPAIR="delay=30" LAB_IMPAIR_AB= LAB_IMPAIR_BA=
lab_up imp$$
scan ping -c 10 -i 0.05 -w 5 -q $GW >"$LAB_DIR/ping" 2>&1
IMP_OUT=$(lab_impair_stop)
rtt_min=$(sed -n 's|^rtt min/avg/max/mdev = \([0-9.]*\)/.*|\1|p' "$LAB_DIR/ping")
# -w: ping goes on until 10 answers came (or 5 s), so a late answer is
# waited for, and a lost request (the host under load) is sent again.
recv=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$LAB_DIR/ping")
if [ "${recv:-0}" -ge 10 ] && [ "$(echo "${rtt_min:-0} >= 60" | bc)" = 1 ]; then
	pass "impair delay=30: 10 pings answered, RTT min $rtt_min ms (>= 60)"
else
	fail "impair delay=30: $(tail -2 "$LAB_DIR/ping")"
fi
lab_down

LAB_IMPAIR="reorder=50"
lab_up imp$$
scan ping -c 100 -i 0.01 -w 10 -q $GW >"$LAB_DIR/ping" 2>&1
IMP_OUT=$(lab_impair_stop)
reord=$(impair_field 'a->b' reordered)
recv=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$LAB_DIR/ping")
la=$(impair_field 'a->b' lost) lb=$(impair_field 'b->a' lost)
lost=$((${la:-1} + ${lb:-1}))
if [ "${recv:-0}" -ge 100 ] && [ "${reord:-0}" -ge 20 ] && [ "$lost" = 0 ]; then
	pass "impair reorder=50: 100 pings answered, $reord requests reordered, none lost by impair"
else
	fail "impair reorder=50: $(tail -2 "$LAB_DIR/ping"), reordered '$reord', lost '$lost'"
fi
lab_down

# --- the deckies' TCP through 5 % loss, 1 % reordering, 30 ms each way ---
LAB_IMPAIR="loss=5 reorder=1 delay=30" LAB_IMPAIR_SEED=1
lab_up imp$$
lab_engine "$DECNET_SRC/tests/integration/data/tcp-lab.ini" --stats-on-exit || exit 1

page='<html><body><h1>It works!</h1></body></html>'
pids=
for ip in $LIN $WIN; do
	scan curl -sS -m 20 -o "$LAB_DIR/page.$ip" "http://$ip/" 2>"$LAB_DIR/curl.$ip" &
	pids="$pids $!"
done
wait $pids # only these: the engine and impair are children too
for ip in $LIN $WIN; do
	if [ "$(cat "$LAB_DIR/page.$ip" 2>/dev/null)" = "$page" ]; then
		pass "curl http://$ip/ (concurrently with the other decky): the built-in page"
	else
		fail "curl http://$ip/: $(cat "$LAB_DIR/curl.$ip")"
	fi
done

head -c "$BYTES" /dev/urandom >"$LAB_DIR/in.bin"
# flow.list every 3 s while the echo runs: checked below (the connection
# as the control socket shows it) and printed when the echo fails (what
# a stalled connection waited for).
(while sleep 3; do echo "== $(date +%T.%N)"; lab_ctl flow.list; done) >"$LAB_DIR/flows.log" 2>&1 &
poller=$!
t0=$(date +%s.%N)
scan timeout 170 sh -c "nc -N -w 30 $LIN 7 < '$LAB_DIR/in.bin' > '$LAB_DIR/out.bin'"
t1=$(date +%s.%N)
kill $poller 2>/dev/null
wait $poller 2>/dev/null
secs=$(echo "$t1 - $t0" | bc)
a=$(sha256sum <"$LAB_DIR/in.bin" | cut -d' ' -f1)
b=$(sha256sum <"$LAB_DIR/out.bin" | cut -d' ' -f1)
if [ "$a" = "$b" ]; then
	pass "echo of $BYTES bytes intact (sha256) in ${secs}s: $(echo "scale=1; $BYTES / $secs / 1000" | bc) kB/s each way"
else
	fail "echo differs: $(stat -c %s "$LAB_DIR/out.bin") of $BYTES bytes back in ${secs}s"
	echo "last flow.list snapshots:"
	tail -n 4 "$LAB_DIR/flows.log"
fi
if python3 - "$LAB_DIR/flows.log" "$LIN" "$LAB_NET.2" <<'PY'; then
import json, sys
path, lip, peer = sys.argv[1:4]
seen = 0
for line in open(path):
    if not line.startswith("{"):
        continue
    d = json.loads(line)
    d = d.get("result", d)
    for f in d["flows"]:
        if (f["service"] == "echo" and f["state"] == "ESTABLISHED" and f["local"] == lip and
                f["local_port"] == 7 and f["peer"] == peer and f["decky"] == "web-lin" and f["srtt_ms"] > 0):
            seen += 1
print(f"echo connection in {seen} flow.list snapshots")
sys.exit(0 if seen else 1)
PY
	pass "flow.list showed the echo connection (web-lin $LIN:7 <- $LAB_NET.2, ESTABLISHED)"
else
	fail "flow.list never showed the echo connection"; head -n 4 "$LAB_DIR/flows.log"
fi

# nc exits on the engine's FIN; its kernel's ACK of that FIN (and of the
# last data) is still crossing the 30 ms wire, or lost and waiting for the
# engine's retransmission. Keep the wire up until the engine has closed the
# connection (TIME_WAIT holds no data: not counted), so the counters below
# judge the close, not the race with it.
open_flows() {
	lab_ctl stats | python3 -c 'import json,sys; d=json.load(sys.stdin); d=d.get("result", d); t = d["tcp"]; print(t["flows"] - t["time_wait"])'
}
t0=$(date +%s.%N)
for i in $(seq 1 150); do
	n=$(open_flows)
	[ "$n" = 0 ] && break
	sleep 0.1
done
t1=$(date +%s.%N)
if [ "$n" = 0 ]; then
	pass "every connection closed $(echo "scale=2; ($t1 - $t0) / 1" | bc)s after nc exited"
else
	fail "$n connection(s) still open 15 s after nc exited"
fi

IMP_OUT=$(lab_impair_stop)
echo "$IMP_OUT"
for d in 'a->b' 'b->a'; do
	l=$(impair_field "$d" lost) r=$(impair_field "$d" reordered) q=$(impair_field "$d" drop_queue_full)
	if [ "${l:-0}" -gt 100 ] && [ "${r:-0}" -gt 10 ] && [ "${q:-1}" = 0 ]; then
		pass "impair $d: $l frames lost, $r reordered, none dropped for queue space"
	else
		fail "impair $d: lost '$l' reordered '$r' queue drops '$q'"
	fi
done
lab_stop_engine || fail "decnetd exit status $?"

stats=$(tail -n 1 "$LAB_DIR/engine.out")
python3 - "$stats" <<'PY' || fail "engine counters"
import json, sys
d = json.loads(sys.argv[1])
s, t = d["stack"], d["tcp"]
show = ["tcp_accepted", "tcp_retransmits", "tcp_fast_retransmits", "tcp_rto_timeouts", "tcp_ooo_queued",
        "drop_tcp_ooo", "drop_tcp_out_of_window", "drop_tcp_paws", "drop_tcp_rcv_unread", "tcp_rcv_held", "tcp_sndbuf_full",
        "tcp_window_probes", "tcp_rx_bytes", "tcp_tx_bytes"]
print("counters:", {k: s[k] for k in show})
bad = [k for k in ("drop_tcp_csum", "drop_ip_csum", "drop_tx_nobuf", "tcp_conn_timeout", "drop_tcp_rcv_unread") if s[k]]
bad += [k for k in ("sndbuf_chunks_used", "half_open") if t[k]]
if s["tcp_fast_retransmits"] < 1 or s["tcp_ooo_queued"] < 1:
    bad.append("no fast retransmit / reassembly under 5% loss")
print("problems:", bad or "none")
sys.exit(1 if bad else 0)
PY
lab_result
