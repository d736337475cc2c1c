#!/bin/bash
# demo.sh [start|stop|status]: install what the demo needs, build, and start
# a demo LAN in network namespaces:
#
#   decnet-demo-scan  (you, the "attacker": 10.77.0.2)  <-veth->
#   decnet-demo-eng   (decnetd on eng0, 8 deckies of examples/demo.ini)
#
# decnetd keeps running in the background until 'tools/demo.sh stop'.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
SCAN=decnet-demo-scan
ENG=decnet-demo-eng
RUN=/run/decnet-demo
action=${1:-start}

stop() {
	if [ -f $RUN/decnetd.pid ]; then
		kill -TERM "$(cat $RUN/decnetd.pid)" 2>/dev/null || true
		sleep 0.3
	fi
	ip netns del $SCAN 2>/dev/null || true
	ip netns del $ENG 2>/dev/null || true
	rm -rf $RUN
}

case $action in
stop) stop; echo "demo stopped"; exit 0 ;;
status)
	exec "$root/build/decnet" ctl --socket $RUN/ctl.sock decky.list ;;
start) ;;
*) echo "usage: $0 [start|stop|status]" >&2; exit 2 ;;
esac

[ "$(id -u)" = 0 ] || { echo "demo.sh: run as root (network namespaces)" >&2; exit 1; }
tools/install-deps.sh demo
tools/build.sh build
stop
mkdir -p $RUN
ip netns add $SCAN
ip netns add $ENG
ip link add scan0 netns $SCAN type veth peer name eng0 netns $ENG
ip -n $SCAN addr add 10.77.0.2/24 dev scan0
ip -n $ENG addr add 10.77.0.1/24 dev eng0
for ns in $SCAN $ENG; do ip -n $ns link set lo up; done
ip -n $SCAN link set scan0 up
ip -n $ENG link set eng0 up
ip netns exec $ENG setsid "${DEMO_DECNETD:-$root/build/decnetd}" -c "$root/examples/demo.ini" -i eng0 \
	--control $RUN/ctl.sock </dev/null >$RUN/decnetd.log 2>&1 &
echo $! >$RUN/decnetd.pid
for _ in $(seq 1 50); do
	[ -S $RUN/ctl.sock ] && break
	sleep 0.1
done
[ -S $RUN/ctl.sock ] || { echo "decnetd did not start:"; cat $RUN/decnetd.log; exit 1; }

echo
echo "DECNET-C demo is up: decnetd (pid $(cat $RUN/decnetd.pid)) answers for these deckies:"
"$root/build/decnet" ctl --socket $RUN/ctl.sock --json decky.list |
	python3 -c 'import json,sys
for d in json.load(sys.stdin):
    print("  %-12s %-12s %s  %-8s ttl %-3d %s" % (d["name"], d["ip"], d["mac"], d["family"], d["ttl"], ",".join(d["services"])))'
cat <<TRY

Try, from the scanner namespace (10.77.0.2):
  ip netns exec $SCAN arping -c 3 -i scan0 10.77.0.10      # the decky's own MAC
  ip netns exec $SCAN ping -c 3 10.77.0.11                 # TTL 128: a Windows host
  ip netns exec $SCAN nmap -sn 10.77.0.0/24                # 8 hosts, vendors from their MACs
  ip netns exec $SCAN nmap -sS -p 1-1024 10.77.0.10-17     # each decky's own open/closed ports
  ip netns exec $SCAN nmap -O -p 80,81 10.77.0.10          # OS detection (one open, one closed port)
  ip netns exec $SCAN nmap -O 10.77.0.10-17                # every decky: "OS details" names its persona
  ip netns exec $SCAN curl -si http://10.77.0.10/          # the decky's web server (its Server: header)
Watch and steer the engine:
  build/decnet ctl --socket $RUN/ctl.sock stats
  build/decnet ctl --socket $RUN/ctl.sock decky.add name=extra ip=10.77.0.50 services=ssh nmap_os=cisco
  echo 'decky list' | socat - UNIX-CONNECT:$RUN/ctl.sock.ro   # plain text, read-only socket
Engine log: $RUN/decnetd.log      Stop: tools/demo.sh stop
TRY
