#!/bin/sh
# Host keys are made per container (a fleet must not share them), users
# come from the persona: SSH_USERS / USERS = "root:toor,admin:admin123".
set -e
ssh-keygen -A >/dev/null
users=${SSH_USERS:-${USERS:-root:toor}}
echo "$users" | tr ',' '\n' | while IFS=: read -r u p; do
	[ -n "$u" ] || continue
	id "$u" >/dev/null 2>&1 || useradd -m -s /bin/bash "$u"
	echo "$u:${p:-$u}" | chpasswd
done
cat >/etc/ssh/sshd_config.d/decnet.conf <<CONF
PermitRootLogin yes
PasswordAuthentication yes
LogLevel VERBOSE
CONF
exec /usr/sbin/sshd -D -e
