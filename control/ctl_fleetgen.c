/* DECNET's deploy flags (-n, --subnet, --ip-start, --services, ...) as
 * INI text. The text then goes through fleet_load_buffer like any file,
 * so a flag means exactly what the same INI key means, and the errors
 * are the loader's. What only flags can say is decided here: the subnet
 * and gateway when not given (the interface's own address and the
 * default route), the addresses (from --ip-start, skipping the gateway
 * and the host's own address), names decky-01.., random services and
 * distros. */
#include "control/ctl_deploy_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "containers/ctr_deploy.h" /* ctr_default_interface */
#include "fleet/fleet.h"

#define RANDOM_SERVICES_MAX 3

/* The interface's first IPv4 address and prefix (host byte order). */
static int iface_address(const char *ifname, uint32_t *addr, uint8_t *prefix)
{
	struct ifaddrs *ifa, *i;
	int rc = -ENOENT;
	if (getifaddrs(&ifa) < 0)
		return -errno;
	for (i = ifa; i; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || !i->ifa_netmask ||
		    strcmp(i->ifa_name, ifname) != 0)
			continue;
		*addr = ntohl(((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr.s_addr);
		uint32_t m = ntohl(((struct sockaddr_in *)(void *)i->ifa_netmask)->sin_addr.s_addr);
		*prefix = (uint8_t)__builtin_popcount(m);
		rc = 0;
		break;
	}
	freeifaddrs(ifa);
	return rc;
}

/* The default route's gateway (host order), 0 when there is none. */
static uint32_t default_gateway(void)
{
	FILE *f = fopen("/proc/net/route", "r");
	char line[256];
	unsigned long dest, gw, mask;
	uint32_t out = 0;
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%*s %lx %lx %*x %*d %*d %*d %lx", &dest, &gw, &mask) == 3 &&
		    dest == 0 && mask == 0 && gw) {
			out = ntohl((uint32_t)gw);
			break;
		}
	fclose(f);
	return out;
}

static void ip_str(uint32_t ip, char buf[16])
{
	snprintf(buf, 16, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 0xff, (ip >> 8) & 0xff, ip & 0xff);
}

/* Item idx (0-based) of a comma list into buf; count of items otherwise. */
static size_t list_item(const char *list, size_t idx, char *buf, size_t len)
{
	const char *p = list, *item;
	size_t n = 0, il;
	while (fleet_list_next(&p, &item, &il) == 1) {
		if (n == idx && buf)
			snprintf(buf, len, "%.*s", (int)il, item);
		n++;
	}
	return n;
}

struct subnet {
	uint32_t net, gw, host; /* host: our own address in it, or 0 */
	uint8_t prefix;
};

static int pick_subnet(const struct ctl_fleet_flags *f, struct subnet *s, char *err, size_t errlen)
{
	char ifname[IF_NAMESIZE + 1] = "";
	uint32_t addr = 0;
	uint8_t plen = 0;
	bool have_if = false;
	if (f->interface)
		snprintf(ifname, sizeof(ifname), "%s", f->interface);
	else
		ctr_default_interface(ifname, sizeof(ifname));
	if (ifname[0] && iface_address(ifname, &addr, &plen) == 0)
		have_if = true;
	if (f->subnet) {
		if (fleet_parse_cidr(f->subnet, &s->net, &s->prefix) < 0) {
			snprintf(err, errlen, "--subnet: '%s' is not a CIDR with its host bits zero "
				 "(e.g. 192.168.1.0/24)", f->subnet);
			return -EINVAL;
		}
	} else if (have_if) {
		s->prefix = plen;
		s->net = plen ? addr & (~0u << (32 - plen)) : 0;
	} else {
		snprintf(err, errlen, "--subnet is needed: %s%s has no IPv4 address to take it from",
			 ifname[0] ? "interface " : "no interface found",
			 ifname[0] ? ifname : "");
		return -EINVAL;
	}
	if (s->prefix > 30) {
		snprintf(err, errlen, "--subnet: /%u leaves no room for deckies", s->prefix);
		return -EINVAL;
	}
	uint32_t mask = s->prefix ? ~0u << (32 - s->prefix) : 0;
	uint32_t gw = default_gateway();
	s->host = have_if && (addr & mask) == s->net ? addr : 0;
	s->gw = f->subnet == NULL && gw && (gw & mask) == s->net ? gw : s->net + 1;
	return 0;
}

static int services_line(const struct ctl_fleet_flags *f, unsigned *seed, FILE *m)
{
	if (f->services)
		fprintf(m, "services = %s\n", f->services);
	if (f->archetype)
		fprintf(m, "archetype = %s\n", f->archetype);
	if (f->randomize_services && !f->services) {
		size_t n;
		const struct fleet_service *all = fleet_services(&n);
		unsigned k = 1 + (unsigned)rand_r(seed) % RANDOM_SERVICES_MAX;
		size_t picked[RANDOM_SERVICES_MAX], np = 0;
		while (np < k) {
			size_t c = (size_t)rand_r(seed) % n, j;
			for (j = 0; j < np && picked[j] != c; j++)
				;
			if (j == np)
				picked[np++] = c;
		}
		fprintf(m, "services = ");
		for (size_t j = 0; j < np; j++)
			fprintf(m, "%s%s", j ? ", " : "", all[picked[j]].slug);
		fputc('\n', m);
	}
	return 0;
}

int ctl_fleet_from_flags(const struct ctl_fleet_flags *f, char **out, char *err, size_t errlen)
{
	struct subnet s = {0};
	char ip[16], gw[16], dist[64];
	unsigned seed = f->seed;
	int rc;

	*out = NULL;
	if (f->deckies <= 0) {
		snprintf(err, errlen, "--deckies/-n N is required without --config");
		return -EINVAL;
	}
	if (f->deckies > 9999) {
		snprintf(err, errlen, "--deckies: at most 9999 from flags (use an INI file with amount=)");
		return -EINVAL;
	}
	if (!f->services && !f->archetype && !f->randomize_services) {
		snprintf(err, errlen, "one of --services, --archetype or --randomize-services is "
			 "required without --config");
		return -EINVAL;
	}
	if ((rc = pick_subnet(f, &s, err, errlen)) < 0)
		return rc;
	uint32_t bcast = s.net | (s.prefix ? ~(~0u << (32 - s.prefix)) : ~0u);
	uint32_t next = s.net + 1;
	if (f->ip_start && fleet_parse_ipv4(f->ip_start, &next) < 0) {
		snprintf(err, errlen, "--ip-start: '%s' is not an IPv4 address", f->ip_start);
		return -EINVAL;
	}
	if (next <= s.net || next >= bcast) {
		snprintf(err, errlen, "--ip-start %s is not a host address of the subnet", f->ip_start);
		return -EINVAL;
	}
	size_t n_distros = f->distro ? list_item(f->distro, (size_t)-1, NULL, 0) : 0;
	size_t cap = 0;
	FILE *m = open_memstream(out, &cap);
	if (!m) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	ip_str(s.net, ip);
	ip_str(s.gw, gw);
	fprintf(m, "# generated by decnet deploy from its flags\n[general]\nnet = %s/%u\ngw = %s\n",
		ip, s.prefix, gw);
	if (f->interface)
		fprintf(m, "interface = %s\n", f->interface);
	if (f->log_target)
		fprintf(m, "log_target = %s\n", f->log_target);
	if (f->log_file)
		fprintf(m, "log_file = %s\n", f->log_file);
	for (long i = 0; i < f->deckies; i++) {
		while (next == s.gw || (s.host && next == s.host))
			next++;
		if (next >= bcast) {
			fclose(m);
			free(*out);
			*out = NULL;
			snprintf(err, errlen, "the subnet has no room for %ld deckies from %s", f->deckies,
				 f->ip_start ? f->ip_start : "its first address");
			return -ENOSPC;
		}
		ip_str(next++, ip);
		fprintf(m, "\n[decky-%02ld]\nip = %s\n", i + 1, ip);
		services_line(f, &seed, m);
		if (f->randomize_distros) {
			size_t nd;
			const struct fleet_distro *all = fleet_distros(&nd);
			fprintf(m, "distro = %s\n", all[(size_t)rand_r(&seed) % nd].slug);
		} else if (n_distros) {
			list_item(f->distro, (size_t)i % n_distros, dist, sizeof(dist));
			fprintf(m, "distro = %s\n", dist);
		}
	}
	if (fclose(m) != 0 || !*out) {
		free(*out);
		*out = NULL;
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}
