# tests/lab/lab.sh — a two-namespace LAN for integration tests and the demo.
#
#   [ns SCAN: scan0 10.77.0.2/24] <--veth--> [ns ENG: eng0 10.77.0.1/24, decnetd]
#
# The engine runs inside ENG on eng0; eng0's own address (10.77.0.1, the
# config's gw) belongs to the namespace's kernel, so tests can check that the
# host's own traffic is left alone. Everything lives in namespaces this
# script creates; no traffic ever leaves them.
#
# Source it, then:   lab_up [SUFFIX]   lab_down
#   $LAB_SCAN / $LAB_ENG   namespace names
#   scan CMD...            run CMD in the scanner namespace
#   eng CMD...             run CMD in the engine namespace
#   lab_engine ARGS...     start decnetd in ENG (background), sets $LAB_PID,
#                          waits until its control socket answers
#   $LAB_BACKEND           I/O backend lab_engine gives decnetd (-b; default
#                          its own, afpacket); "xdp" skips the test (77) when
#                          decnetd was built without it
#   lab_ctl CMD            one control-socket request (plain text), prints reply
#   $LAB_EXTRA_NS          more namespaces (a test's own) lab_down removes
#
# Opt-in impaired wire (this kernel has no sch_netem): with LAB_IMPAIR set,
# lab_up puts a third namespace between the two,
#
#   [SCAN: scan0] <--veth--> [MID: mida  impair  midb] <--veth--> [ENG: eng0]
#
# where tests/lab/impair (built by meson, $DECNET_IMPAIR) bridges mida and
# midb, losing, reordering and delaying frames:
#   LAB_IMPAIR="loss=5 reorder=1 delay=30"   both directions
#   LAB_IMPAIR_AB / LAB_IMPAIR_BA            scanner->engine / engine->scanner
#                                            (default: LAB_IMPAIR)
#   LAB_IMPAIR_SEED                          PRNG seed (default 1)
# Interface names and addresses stay those of the default lab.
#   lab_impair_stats       counters so far (one line per direction)
#   lab_impair_stop        stop it; prints its final counters

LAB_NET=${LAB_NET:-10.77.0}
# Binaries: meson's test environment sets these; by hand, point
# DECNET_BUILD at a build directory.
DECNETD=${DECNETD:-${DECNET_BUILD:-build}/decnetd}
DECNET_CLI=${DECNET_CLI:-${DECNET_BUILD:-build}/decnet}
DECNET_IMPAIR=${DECNET_IMPAIR:-${DECNET_BUILD:-build}/tests/lab/impair}

# Test verdicts: pass/fail lines, and lab_result as the script's last word
# ("N failed", exit status 0 only when nothing failed).
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
pass() { echo "ok: $*"; }
lab_result() {
	echo "$fails failed"
	[ "$fails" = 0 ]
}

lab_need_root() {
	if [ "$(id -u)" != 0 ]; then
		echo "SKIP: network namespaces need root" >&2
		exit 77
	fi
}

# The machine cannot run the test over $LAB_BACKEND: skip, saying why.
lab_need_backend() {
	[ -n "${LAB_BACKEND:-}" ] || return 0
	if ! "$DECNETD" -V | grep -q "[ ,(]$LAB_BACKEND[,;)]"; then
		echo "SKIP: $DECNETD was built without the $LAB_BACKEND backend ($("$DECNETD" -V))" >&2
		exit 77
	fi
}

lab_up() {
	local sfx=${1:-$$}
	LAB_SCAN=dn-scan-$sfx
	LAB_ENG=dn-eng-$sfx
	LAB_DIR=$(mktemp -d /tmp/decnet-lab.XXXXXX)
	LAB_CTL=$LAB_DIR/ctl.sock
	trap lab_down EXIT
	ip netns add "$LAB_SCAN"
	ip netns add "$LAB_ENG"
	if [ -n "${LAB_IMPAIR:-}" ]; then
		lab_impair_up "$sfx" || return 1
	else
		ip link add scan0 netns "$LAB_SCAN" type veth peer name eng0 netns "$LAB_ENG"
	fi
	ip -n "$LAB_SCAN" addr add "$LAB_NET.2/24" dev scan0
	ip -n "$LAB_ENG" addr add "$LAB_NET.1/24" dev eng0
	# No offloads: frames on the wire are what the stacks built, checksums
	# included (the engine computes its own; the scanner's must be real).
	ip netns exec "$LAB_SCAN" ethtool -K scan0 tx off rx off >/dev/null 2>&1 || true
	ip netns exec "$LAB_ENG" ethtool -K eng0 tx off rx off >/dev/null 2>&1 || true
	for ns in "$LAB_SCAN" "$LAB_ENG"; do
		ip -n "$ns" link set lo up
	done
	ip -n "$LAB_SCAN" link set scan0 up
	ip -n "$LAB_ENG" link set eng0 up
	# IPv6 would add router solicitations and DAD to every capture.
	ip netns exec "$LAB_SCAN" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
	ip netns exec "$LAB_ENG" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
	if [ -n "${LAB_IMPAIR:-}" ]; then
		# Segmentation offloads off too: a 64 KB GSO frame would not fit
		# the bridge's slots, nor the wire it stands for.
		ip netns exec "$LAB_SCAN" ethtool -K scan0 tso off gso off gro off >/dev/null 2>&1 || true
		ip netns exec "$LAB_ENG" ethtool -K eng0 tso off gso off gro off >/dev/null 2>&1 || true
	fi
}

# The middle namespace and its bridge (lab_up with LAB_IMPAIR set).
lab_impair_up() {
	LAB_MID=dn-mid-$1
	ip netns add "$LAB_MID"
	ip netns exec "$LAB_MID" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
	ip netns exec "$LAB_MID" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
	ip link add scan0 netns "$LAB_SCAN" type veth peer name mida netns "$LAB_MID"
	ip link add midb netns "$LAB_MID" type veth peer name eng0 netns "$LAB_ENG"
	local i
	for i in mida midb; do
		ip netns exec "$LAB_MID" ethtool -K $i tx off rx off tso off gso off gro off >/dev/null 2>&1 || true
		ip -n "$LAB_MID" link set $i up
	done
	ip -n "$LAB_MID" link set lo up
	ip netns exec "$LAB_MID" "$DECNET_IMPAIR" --seed "${LAB_IMPAIR_SEED:-1}" \
		--ab "${LAB_IMPAIR_AB:-$LAB_IMPAIR}" --ba "${LAB_IMPAIR_BA:-$LAB_IMPAIR}" mida midb \
		>"$LAB_DIR/impair.out" 2>"$LAB_DIR/impair.err" &
	LAB_IMPAIR_PID=$!
	for i in $(seq 1 100); do
		grep -q '^impair: ready' "$LAB_DIR/impair.out" 2>/dev/null && return 0
		if ! kill -0 "$LAB_IMPAIR_PID" 2>/dev/null; then
			echo "impair exited early:" >&2
			cat "$LAB_DIR/impair.err" >&2
			return 1
		fi
		sleep 0.05
	done
	echo "impair did not come up" >&2
	return 1
}

lab_impair_stats() {
	[ -n "${LAB_IMPAIR_PID:-}" ] || return 1
	local n
	n=$(grep -c '^impair ' "$LAB_DIR/impair.out")
	kill -USR1 "$LAB_IMPAIR_PID"
	local i
	for i in $(seq 1 40); do
		[ "$(grep -c '^impair ' "$LAB_DIR/impair.out")" -ge $((n + 2)) ] && break
		sleep 0.05
	done
	grep '^impair ' "$LAB_DIR/impair.out" | tail -n 2
}

lab_impair_stop() {
	[ -n "${LAB_IMPAIR_PID:-}" ] || return 1
	kill -TERM "$LAB_IMPAIR_PID" 2>/dev/null
	# Polled, not only waited for: in $(...) it is not this shell's child.
	local i
	for i in $(seq 1 100); do
		kill -0 "$LAB_IMPAIR_PID" 2>/dev/null || break
		sleep 0.02
	done
	wait "$LAB_IMPAIR_PID" 2>/dev/null
	LAB_IMPAIR_PID=
	grep '^impair ' "$LAB_DIR/impair.out" | tail -n 2
}

lab_down() {
	if [ -n "${LAB_PID:-}" ] && kill -0 "$LAB_PID" 2>/dev/null; then
		kill -TERM "$LAB_PID" 2>/dev/null
		wait "$LAB_PID" 2>/dev/null
	fi
	# Whatever a test left running inside (a capture, a client) goes with
	# its namespace: nothing may outlive the lab.
	if [ -n "${LAB_IMPAIR_PID:-}" ] && kill -0 "$LAB_IMPAIR_PID" 2>/dev/null; then
		kill -TERM "$LAB_IMPAIR_PID" 2>/dev/null
		wait "$LAB_IMPAIR_PID" 2>/dev/null
	fi
	LAB_IMPAIR_PID=
	local ns pid
	for ns in ${LAB_SCAN:-} ${LAB_ENG:-} ${LAB_MID:-} ${LAB_EXTRA_NS:-}; do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill -TERM "$pid" 2>/dev/null
		done
	done
	[ -n "${LAB_SCAN:-}" ] && ip netns del "$LAB_SCAN" 2>/dev/null
	[ -n "${LAB_ENG:-}" ] && ip netns del "$LAB_ENG" 2>/dev/null
	[ -n "${LAB_MID:-}" ] && ip netns del "$LAB_MID" 2>/dev/null
	LAB_MID=
	for ns in ${LAB_EXTRA_NS:-}; do # namespaces a test added (test_steer.sh)
		ip netns del "$ns" 2>/dev/null
	done
	[ -n "${LAB_DIR:-}" ] && rm -rf "$LAB_DIR"
	LAB_PID=
	return 0
}

scan() { ip netns exec "$LAB_SCAN" "$@"; }
eng() { ip netns exec "$LAB_ENG" "$@"; }

# lab_engine CONFIG [extra decnetd args]: stdout (stats at exit) goes to
# $LAB_DIR/engine.out, stderr to $LAB_DIR/engine.err.
lab_engine() {
	local cfg=$1
	shift
	lab_need_backend
	ip netns exec "$LAB_ENG" "$DECNETD" -c "$cfg" -i eng0 ${LAB_BACKEND:+-b "$LAB_BACKEND"} \
		--control "$LAB_CTL" "$@" >"$LAB_DIR/engine.out" 2>"$LAB_DIR/engine.err" &
	LAB_PID=$!
	local i
	for i in $(seq 1 100); do
		if [ -S "$LAB_CTL" ] && lab_ctl status >/dev/null 2>&1; then
			return 0
		fi
		if ! kill -0 "$LAB_PID" 2>/dev/null; then
			echo "decnetd exited early:" >&2
			cat "$LAB_DIR/engine.err" >&2
			return 1
		fi
		sleep 0.05
	done
	echo "decnetd control socket did not come up" >&2
	cat "$LAB_DIR/engine.err" >&2
	return 1
}

lab_ctl() {
	"$DECNET_CLI" ctl --socket "$LAB_CTL" --json "$@"
}

# lab_stop_engine: SIGTERM and wait; its exit status is returned.
lab_stop_engine() {
	kill -TERM "$LAB_PID"
	local rc=0
	wait "$LAB_PID" || rc=$?
	LAB_PID=
	return $rc
}
