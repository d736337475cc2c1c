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
#   lab_ctl CMD            one control-socket request (plain text), prints reply
#   $LAB_EXTRA_NS          more namespaces (a test's own) lab_down removes

LAB_NET=${LAB_NET:-10.77.0}
# Binaries: meson's test environment sets these; by hand, point
# DECNET_BUILD at a build directory.
DECNETD=${DECNETD:-${DECNET_BUILD:-build}/decnetd}
DECNET_CLI=${DECNET_CLI:-${DECNET_BUILD:-build}/decnet}

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

lab_up() {
	local sfx=${1:-$$}
	LAB_SCAN=dn-scan-$sfx
	LAB_ENG=dn-eng-$sfx
	LAB_DIR=$(mktemp -d /tmp/decnet-lab.XXXXXX)
	LAB_CTL=$LAB_DIR/ctl.sock
	trap lab_down EXIT
	ip netns add "$LAB_SCAN"
	ip netns add "$LAB_ENG"
	ip link add scan0 netns "$LAB_SCAN" type veth peer name eng0 netns "$LAB_ENG"
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
}

lab_down() {
	if [ -n "${LAB_PID:-}" ] && kill -0 "$LAB_PID" 2>/dev/null; then
		kill -TERM "$LAB_PID" 2>/dev/null
		wait "$LAB_PID" 2>/dev/null
	fi
	# Whatever a test left running inside (a capture, a client) goes with
	# its namespace: nothing may outlive the lab.
	local ns pid
	for ns in ${LAB_SCAN:-} ${LAB_ENG:-} ${LAB_EXTRA_NS:-}; do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill -TERM "$pid" 2>/dev/null
		done
	done
	[ -n "${LAB_SCAN:-}" ] && ip netns del "$LAB_SCAN" 2>/dev/null
	[ -n "${LAB_ENG:-}" ] && ip netns del "$LAB_ENG" 2>/dev/null
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
	ip netns exec "$LAB_ENG" "$DECNETD" -c "$cfg" -i eng0 \
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
