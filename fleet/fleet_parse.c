/* Strict value parsers for the config: numbers, IPv4 addresses and
 * networks, MACs, port lists, names. Strict because a config typo should
 * stop the load with a line number, never turn into a surprising value:
 * no signs, no leading zeros in IPv4 octets (inet_aton would read 010 as
 * octal), no trailing junk, every length checked before a copy.
 */
#include "fleet/fleet_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

void fleet_err_init(struct fleet_error *err, const char *file)
{
	if (!err)
		return;
	snprintf(err->file, sizeof(err->file), "%s", file ? file : "<buffer>");
	err->line = 0;
	err->msg[0] = '\0';
}

void fleet_err_set(struct fleet_error *err, unsigned line, const char *fmt, ...)
{
	if (!err)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	err->line = line;
}

void fleet_error_format(const struct fleet_error *err, char *buf, size_t len)
{
	if (!buf || !len)
		return;
	if (!err) {
		buf[0] = '\0';
		return;
	}
	if (err->line)
		snprintf(buf, len, "%s:%u: %s", err->file, err->line, err->msg);
	else
		snprintf(buf, len, "%s: %s", err->file, err->msg);
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Digits in [s, e) as a number <= max. */
static int parse_digits(const char *s, const char *e, unsigned long max, unsigned long *out)
{
	uint64_t v = 0;
	if (s == e)
		return -EINVAL;
	for (const char *p = s; p < e; p++) {
		if (!is_digit(*p))
			return -EINVAL;
		v = v * 10 + (unsigned)(*p - '0');
		if (v > max) /* max <= 2^32, so v never wraps */
			return -EINVAL;
	}
	*out = (unsigned long)v;
	return 0;
}

int fleet_parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	return parse_digits(s, s + strlen(s), max, out);
}

/* Dotted quad in [s, e). */
static int parse_ipv4_range(const char *s, const char *e, uint32_t *ip)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++) {
		const char *dot = s;
		while (dot < e && *dot != '.')
			dot++;
		if ((i < 3) != (dot < e))
			return -EINVAL;
		if (dot - s > 1 && *s == '0')
			return -EINVAL;
		unsigned long octet;
		if (parse_digits(s, dot, 255, &octet) < 0)
			return -EINVAL;
		v = v << 8 | (uint32_t)octet;
		s = dot + 1;
	}
	*ip = v;
	return 0;
}

int fleet_parse_ipv4(const char *s, uint32_t *ip)
{
	if (!s)
		return -EINVAL;
	return parse_ipv4_range(s, s + strlen(s), ip);
}

int fleet_parse_backend(const char *s, uint32_t *ip, uint16_t *port)
{
	if (!s)
		return -EINVAL;
	const char *colon = strchr(s, ':');
	const char *end = s + strlen(s);
	unsigned long p = 0;
	if (parse_ipv4_range(s, colon ? colon : end, ip) < 0)
		return -EINVAL;
	if (colon && (parse_digits(colon + 1, end, 65535, &p) < 0 || !p || colon[1] == '0'))
		return -EINVAL;
	/* A backend is one host: not the network, broadcast or loopback. */
	if (!*ip || *ip == UINT32_MAX || (*ip >> 24) == 127 || (*ip >> 28) >= 14)
		return -EINVAL;
	*port = (uint16_t)p;
	return 0;
}

int fleet_parse_cidr(const char *s, uint32_t *net, uint8_t *prefix)
{
	if (!s)
		return -EINVAL;
	const char *slash = strchr(s, '/');
	if (!slash)
		return -EINVAL;
	uint32_t ip;
	unsigned long len;
	const char *lend = slash + 1 + strlen(slash + 1);
	if (parse_ipv4_range(s, slash, &ip) < 0 || parse_digits(slash + 1, lend, 32, &len) < 0)
		return -EINVAL;
	if (lend - (slash + 1) > 1 && slash[1] == '0')
		return -EINVAL;
	/* 10.0.0.5/24 is a host, not a network: say so rather than guess. */
	if (ip & ~fleet_prefix_mask((uint8_t)len))
		return -EINVAL;
	*net = ip;
	*prefix = (uint8_t)len;
	return 0;
}

int fleet_parse_ipport(const char *s, uint32_t *ip, uint16_t *port)
{
	const char *colon = strrchr(s, ':');
	unsigned long p;
	if (!colon || parse_ipv4_range(s, colon, ip) < 0 ||
	    fleet_parse_uint(colon + 1, 65535, &p) < 0 || p == 0)
		return -EINVAL;
	*port = (uint16_t)p;
	return 0;
}

static int hex_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int fleet_parse_mac(const char *s, uint8_t mac[6])
{
	if (!s || strlen(s) != 17)
		return -EINVAL;
	char sep = s[2];
	if (sep != ':' && sep != '-')
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		const char *p = s + i * 3;
		int hi = hex_nibble(p[0]), lo = hex_nibble(p[1]);
		if (hi < 0 || lo < 0 || (i < 5 && p[2] != sep))
			return -EINVAL;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

int fleet_list_next(const char **p, const char **item, size_t *len)
{
	const char *s = *p;
	if (!*s)
		return 0;
	const char *comma = strchr(s, ',');
	const char *e = comma ? comma : s + strlen(s);
	*p = comma ? comma + 1 : e;
	while (s < e && (*s == ' ' || *s == '\t'))
		s++;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	if (s == e || (comma && !comma[1]))
		return -EINVAL;
	*item = s;
	*len = (size_t)(e - s);
	return 1;
}

int fleet_parse_ports(const char *s, struct fleet_port *ports, unsigned *n, char *msg,
		      size_t msglen)
{
	const char *item;
	size_t len;
	int r;
	*n = 0;
	while ((r = fleet_list_next(&s, &item, &len)) > 0) {
		const char *slash = memchr(item, '/', len);
		const char *pe = slash ? slash : item + len;
		uint8_t proto = FLEET_PROTO_TCP;
		unsigned long port;
		if (parse_digits(item, pe, 65535, &port) < 0 || port == 0) {
			snprintf(msg, msglen, "bad port '%.*s' (1..65535, optionally /tcp or /udp)",
				 (int)len, item);
			return -EINVAL;
		}
		if (slash) {
			size_t plen = (size_t)(item + len - slash - 1);
			if (plen == 3 && strncasecmp(slash + 1, "udp", 3) == 0) {
				proto = FLEET_PROTO_UDP;
			} else if (!(plen == 3 && strncasecmp(slash + 1, "tcp", 3) == 0)) {
				snprintf(msg, msglen, "bad protocol in '%.*s' (tcp or udp)",
					 (int)len, item);
				return -EINVAL;
			}
		}
		for (unsigned i = 0; i < *n; i++) {
			if (ports[i].port == port && ports[i].proto == proto) {
				snprintf(msg, msglen, "port '%.*s' listed twice", (int)len, item);
				return -EINVAL;
			}
		}
		if (*n == FLEET_MAX_PORTS) {
			snprintf(msg, msglen, "more than %d ports", FLEET_MAX_PORTS);
			return -EINVAL;
		}
		ports[*n].port = (uint16_t)port;
		ports[*n].proto = proto;
		(*n)++;
	}
	if (r < 0 || *n == 0) {
		snprintf(msg, msglen, "ports= needs a comma-separated list like '9999, 53/udp'");
		return -EINVAL;
	}
	return 0;
}

static bool is_alnum(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool fleet_name_valid(const char *s, size_t max)
{
	size_t len = strlen(s);
	if (len == 0 || len >= max || !is_alnum(s[0]))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_')
			return false;
	return true;
}

bool fleet_hostname_valid(const char *s)
{
	size_t len = strlen(s), label = 0;
	if (len == 0 || len >= FLEET_NAME_MAX)
		return false;
	for (size_t i = 0; i <= len; i++) {
		char c = s[i];
		if (c == '.' || c == '\0') {
			/* label: 1..63, no '-' at either end */
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!is_alnum(c) && c != '-')
			return false;
		if (label == 0 && c == '-')
			return false;
		label++;
	}
	return true;
}

bool fleet_ifname_valid(const char *s)
{
	size_t len = strlen(s);
	if (len == 0 || len > 15 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] == '/' || s[i] == ':' || s[i] == ' ' || s[i] == '\t')
			return false;
	return true;
}

void fleet_ipv4_format(uint32_t ip, char *buf, size_t len)
{
	snprintf(buf, len, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 0xff, (ip >> 8) & 0xff,
		 ip & 0xff);
}
