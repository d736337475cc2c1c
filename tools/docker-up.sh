#!/bin/bash
# docker-up.sh: make sure a Docker daemon answers; start containerd and
# dockerd in the background when none runs (CI machines and fresh boxes
# have no init-managed daemon). Stale sockets and pid files left by a
# daemon that was killed are cleared first, or the new daemon would refuse
# to start or talk to nothing. Logs: /var/log/decnet-{containerd,dockerd}.log
set -uo pipefail
if docker info >/dev/null 2>&1; then
	exit 0
fi
if ! command -v dockerd >/dev/null || ! command -v containerd >/dev/null; then
	echo "docker-up: dockerd/containerd not installed (tools/install-deps.sh test)" >&2
	exit 1
fi
if ! pgrep -x containerd >/dev/null; then
	rm -f /run/containerd/containerd.sock
	nohup setsid containerd >/var/log/decnet-containerd.log 2>&1 </dev/null &
	for _ in $(seq 1 100); do [ -S /run/containerd/containerd.sock ] && break; sleep 0.1; done
fi
if ! pgrep -x dockerd >/dev/null; then
	rm -f /var/run/docker.pid /var/run/docker.sock
	nohup setsid dockerd --containerd=/run/containerd/containerd.sock \
		>/var/log/decnet-dockerd.log 2>&1 </dev/null &
fi
for _ in $(seq 1 120); do
	if docker info >/dev/null 2>&1; then
		echo "docker-up: dockerd running"
		exit 0
	fi
	sleep 0.5
done
echo "docker-up: dockerd did not come up; last lines of /var/log/decnet-dockerd.log:" >&2
tail -n 20 /var/log/decnet-dockerd.log >&2
exit 1
