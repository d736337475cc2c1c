/* The host-side hairpin of a macvlan/ipvlan deployment (ctr_deploy.h),
 * made with ip(8): one `ip -batch -` so the interface, its address and
 * every decky route go in one exec. ip is in every Debian (iproute2), the
 * commands are readable in a log, and their failures come with ip's own
 * message; netlink by hand would be a few hundred lines for the same. */
#include "containers/ctr_deploy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "containers/ctr_exec.h"

int ctr_default_interface(char *buf, size_t len)
{
	FILE *f = fopen("/proc/net/route", "r");
	char line[256], ifname[IF_NAMESIZE + 1];
	unsigned long dest, mask;
	int rc = -ENOENT;
	if (!f)
		return -errno;
	if (!fgets(line, sizeof(line), f)) /* header */
		goto out;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%16s %lx %*x %*x %*d %*d %*d %lx", ifname, &dest, &mask) == 3 &&
		    dest == 0 && mask == 0) {
			snprintf(buf, len, "%s", ifname);
			rc = 0;
			break;
		}
	}
out:
	fclose(f);
	return rc;
}

/* The parent's IPv4 address inside net/prefix, if it has one. */
static int parent_address(const char *parent, const char *subnet, char out[INET_ADDRSTRLEN])
{
	char net_s[INET_ADDRSTRLEN];
	const char *slash = strchr(subnet, '/');
	if (!slash || (size_t)(slash - subnet) >= sizeof(net_s))
		return -EINVAL;
	memcpy(net_s, subnet, (size_t)(slash - subnet));
	net_s[slash - subnet] = 0;
	struct in_addr net;
	long prefix = strtol(slash + 1, NULL, 10);
	if (inet_pton(AF_INET, net_s, &net) != 1 || prefix < 0 || prefix > 32)
		return -EINVAL;
	uint32_t mask = prefix ? htonl(~0u << (32 - prefix)) : 0;
	struct ifaddrs *ifa, *i;
	if (getifaddrs(&ifa) < 0)
		return -errno;
	int rc = -ENOENT;
	for (i = ifa; i; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || strcmp(i->ifa_name, parent))
			continue;
		struct in_addr a = ((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr;
		if ((a.s_addr & mask) == (net.s_addr & mask)) {
			inet_ntop(AF_INET, &a, out, INET_ADDRSTRLEN);
			rc = 0;
			break;
		}
	}
	freeifaddrs(ifa);
	return rc;
}

int ctr_hairpin_down(const char *ifname, char *err, size_t errlen)
{
	if (!ifname || !if_nametoindex(ifname))
		return 0;
	char *argv[] = {"ip", "link", "del", (char *)ifname, NULL};
	int rc = ctr_exec(argv, NULL, -1, NULL, err, errlen);
	if (rc < 0)
		return rc;
	if (rc != 0) {
		snprintf(err, errlen, "ip link del %s failed (exit %d)", ifname, rc);
		return -EIO;
	}
	return 1;
}

void ctr_hairpin_forget(const char *ifname, const char *ipv4)
{
	char dst[INET_ADDRSTRLEN + 4], err[128];
	if (!ifname || !ipv4 || !if_nametoindex(ifname))
		return;
	snprintf(dst, sizeof(dst), "%s/32", ipv4);
	char *argv[] = {"ip", "route", "del", dst, "dev", (char *)ifname, NULL};
	(void)ctr_exec(argv, NULL, -1, NULL, err, sizeof(err));
}

int ctr_hairpin_up(const struct ctr_plan *plan, const char *parent, FILE *progress, char *err,
		   size_t errlen)
{
	const struct ctr_network *net = &plan->net;
	char host[INET_ADDRSTRLEN];
	if (!net->hairpin)
		return 0;
	if (parent_address(parent, net->subnet, host) < 0) {
		if (progress)
			fprintf(progress, "      hairpin %s skipped: %s has no IPv4 address in %s "
				"(the host itself will not reach the deckies)\n",
				net->hairpin, parent, net->subnet);
		return 0;
	}
	/* A stale one from a crashed run would make "link add" fail. */
	int rc = ctr_hairpin_down(net->hairpin, err, errlen);
	if (rc < 0)
		return rc;
	char *script = NULL;
	size_t cap = 0;
	FILE *m = open_memstream(&script, &cap);
	if (!m) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (net->ipvlan_l2)
		fprintf(m, "link add %s link %s type ipvlan mode l2\n", net->hairpin, parent);
	else
		fprintf(m, "link add %s link %s type macvlan mode bridge\n", net->hairpin, parent);
	fprintf(m, "addr add %s/32 dev %s\nlink set %s up\n", host, net->hairpin, net->hairpin);
	for (size_t i = 0; i < plan->n_containers; i++) {
		const struct ctr_container *c = &plan->containers[i];
		if (c->is_base && c->ipv4)
			fprintf(m, "route replace %s/32 dev %s src %s\n", c->ipv4, net->hairpin, host);
	}
	if (fclose(m) != 0 || !script) {
		free(script);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	char *argv[] = {"ip", "-batch", "-", NULL};
	rc = ctr_exec(argv, script, -1, NULL, err, errlen);
	free(script);
	if (rc != 0) {
		char e2[128];
		if (rc > 0)
			snprintf(err, errlen, "creating hairpin %s on %s with ip(8) failed (exit %d)",
				 net->hairpin, parent, rc);
		ctr_hairpin_down(net->hairpin, e2, sizeof(e2));
		return rc < 0 ? rc : -EIO;
	}
	if (progress)
		fprintf(progress, "      hairpin %s on %s (host address %s)\n", net->hairpin, parent,
			host);
	return 1;
}
