/* The INI tokenizer and the strict value parsers, table-driven. */
#include "tests/unit/fleet/test_fleet.h"
#include "fleet/fleet_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Render every token as "S<line>:name" / "K<line>:key=value" joined by
 * '|', or "E<line>:message" for the error that stopped it. */
static void tokens(const char *buf, size_t len, char *out, size_t outlen)
{
	struct fleet_ini_cursor c;
	struct fleet_ini_token t;
	char msg[128];
	size_t off = 0;
	out[0] = '\0';
	fleet_ini_init(&c, buf, len);
	for (;;) {
		int r = fleet_ini_next(&c, &t, msg, sizeof(msg));
		int n;
		if (r < 0)
			n = snprintf(out + off, outlen - off, "E%u:%s", t.line, msg);
		else if (t.kind == FLEET_INI_EOF)
			return;
		else if (t.kind == FLEET_INI_SECTION)
			n = snprintf(out + off, outlen - off, "S%u:%.*s|", t.line, (int)t.name_len,
				     t.name);
		else
			n = snprintf(out + off, outlen - off, "K%u:%.*s=%.*s|", t.line,
				     (int)t.name_len, t.name, (int)t.value_len, t.value);
		if (n < 0 || (size_t)n >= outlen - off || r < 0)
			return;
		off += (size_t)n;
	}
}

static const struct {
	const char *in;
	const char *want;
} ini_cases[] = {
	{"", ""},
	{"\n\n   \n\t\n", ""},
	{"[a]\nk = v\n", "S1:a|K2:k=v|"},
	{"[a]\nk = v", "S1:a|K2:k=v|"},                        /* no newline at EOF */
	{"  [ a ]  # c\n", "S1:a|"},                            /* blanks, comment */
	{"[a];c\n", "S1:a|"},
	{"# c\n; c\n[a]\n", "S3:a|"},
	{"k=v\n", "K1:k=v|"},                                   /* sections are the loader's job */
	{"k = v # c\n", "K1:k=v|"},
	{"k = v\t; c\n", "K1:k=v|"},
	{"k = v#c\n", "K1:k=v#c|"},                             /* no blank: part of value */
	{"k = # c\n", "K1:k=|"},
	{"k =\n", "K1:k=|"},
	{"k=#x\n", "K1:k=#x|"},
	{"k = a = b\n", "K1:k=a = b|"},                         /* first '=' splits */
	{"\tKey.Name-1_x\t=\t value with  spaces \t\n", "K1:Key.Name-1_x=value with  spaces|"},
	{"k = v\r\n[b]\r\n", "K1:k=v|S2:b|"},
	{"\xef\xbb\xbf[a]\n", "S1:a|"},                          /* BOM */
	{"k = caf\xc3\xa9\n", "K1:k=caf\xc3\xa9|"},              /* UTF-8 is fine */
	{"[a]\n[b\n", "S1:a|E2:section header without ']'"},
	{"[]\n", "E1:empty section name"},
	{"[ ]\n", "E1:empty section name"},
	{"[a]x\n", "E1:text after section header"},
	{"[a/b]\n", "E1:bad section name (allowed: letters, digits, '_', '-', '.')"},
	{"k\n", "E1:expected 'key = value' or '[section]'"},
	{"= v\n", "E1:empty key"},
	{"a b = v\n", "E1:bad key (allowed: letters, digits, '_', '-', '.')"},
	{"k = v\x7f\n", "E1:control character 0x7f in line"},
	{"k = v\rx\n", "E1:control character 0x0d in line"},
	{"[a]\n\n\nk = \x1b[31m\n", "S1:a|E4:control character 0x1b in line"},
};

static void test_tokenizer(void)
{
	char got[512];
	for (size_t i = 0; i < sizeof(ini_cases) / sizeof(ini_cases[0]); i++) {
		tokens(ini_cases[i].in, strlen(ini_cases[i].in), got, sizeof(got));
		bool ok = strcmp(got, ini_cases[i].want) == 0;
		CHECK(ok);
		if (!ok)
			fprintf(stderr, "    ini case %zu: want '%s' got '%s'\n", i, ini_cases[i].want,
				got);
	}
	/* NUL inside a line, counted by length not by C string */
	tokens("k = a\0b\n", 8, got, sizeof(got));
	CHECK(strcmp(got, "E1:NUL byte in line") == 0);

	/* The line limit: 4096 bytes pass (with or without the newline),
	 * 4097 do not, and nothing is read past the buffer. */
	static char big[FLEET_INI_LINE_MAX + 8];
	memset(big, 'v', sizeof(big));
	memcpy(big, "k = ", 4);
	tokens(big, FLEET_INI_LINE_MAX, got, sizeof(got));
	CHECK(strncmp(got, "K1:k=vvv", 8) == 0);
	big[FLEET_INI_LINE_MAX] = '\n';
	tokens(big, FLEET_INI_LINE_MAX + 1, got, sizeof(got));
	CHECK(strncmp(got, "K1:k=vvv", 8) == 0);
	big[FLEET_INI_LINE_MAX] = 'v';
	tokens(big, FLEET_INI_LINE_MAX + 1, got, sizeof(got));
	CHECK(strcmp(got, "E1:line longer than 4096 bytes") == 0);
	big[FLEET_INI_LINE_MAX + 1] = '\n';
	tokens(big, FLEET_INI_LINE_MAX + 2, got, sizeof(got));
	CHECK(strcmp(got, "E1:line longer than 4096 bytes") == 0);
}

static void test_ip_parsers(void)
{
	static const struct {
		const char *s;
		int ok;
		uint32_t ip;
	} ips[] = {
		{"0.0.0.0", 1, 0},
		{"10.77.0.1", 1, 0x0a4d0001},
		{"255.255.255.255", 1, 0xffffffff},
		{"256.0.0.1", 0, 0},
		{"1.2.3", 0, 0},
		{"1.2.3.4.", 0, 0},
		{"1.2.3.4.5", 0, 0},
		{"1..3.4", 0, 0},
		{"01.2.3.4", 0, 0}, /* octal to inet_aton: refused */
		{"1.2.3.4 ", 0, 0},
		{" 1.2.3.4", 0, 0},
		{"+1.2.3.4", 0, 0},
		{"1.2.3.99999999999999999999", 0, 0},
		{"", 0, 0},
	};
	for (size_t i = 0; i < sizeof(ips) / sizeof(ips[0]); i++) {
		uint32_t ip = 0;
		int r = fleet_parse_ipv4(ips[i].s, &ip);
		CHECK_EQ(r == 0, ips[i].ok);
		if (ips[i].ok)
			CHECK_EQ(ip, ips[i].ip);
	}
	static const struct {
		const char *s;
		int ok;
		uint32_t net;
		uint8_t prefix;
	} cidrs[] = {
		{"10.77.0.0/24", 1, 0x0a4d0000, 24},
		{"0.0.0.0/0", 1, 0, 0},
		{"10.77.0.4/30", 1, 0x0a4d0004, 30},
		{"10.77.0.1/32", 1, 0x0a4d0001, 32},
		{"10.77.0.1/24", 0, 0, 0}, /* host bits set */
		{"10.77.0.0/33", 0, 0, 0},
		{"10.77.0.0/024", 0, 0, 0},
		{"10.77.0.0/", 0, 0, 0},
		{"10.77.0.0", 0, 0, 0},
		{"10.77.0.0/24/1", 0, 0, 0},
		{"/24", 0, 0, 0},
	};
	for (size_t i = 0; i < sizeof(cidrs) / sizeof(cidrs[0]); i++) {
		uint32_t net = 0;
		uint8_t prefix = 0;
		int r = fleet_parse_cidr(cidrs[i].s, &net, &prefix);
		CHECK_EQ(r == 0, cidrs[i].ok);
		if (cidrs[i].ok)
			CHECK(net == cidrs[i].net && prefix == cidrs[i].prefix);
	}
	uint32_t ip;
	uint16_t port;
	CHECK(fleet_parse_ipport("192.168.1.200:5140", &ip, &port) == 0 && ip == 0xc0a801c8 &&
	      port == 5140);
	CHECK(fleet_parse_ipport("192.168.1.200:65536", &ip, &port) < 0);
	CHECK(fleet_parse_ipport("192.168.1.200:", &ip, &port) < 0);
	CHECK(fleet_parse_ipport(":514", &ip, &port) < 0);
	/* backend=: a unicast host, optional port. */
	CHECK(fleet_parse_backend("10.78.0.10:8080", &ip, &port) == 0 && ip == 0x0a4e000a && port == 8080);
	CHECK(fleet_parse_backend("10.78.0.10", &ip, &port) == 0 && port == 0);
	CHECK(fleet_parse_backend("10.78.0.10:0", &ip, &port) < 0);
	CHECK(fleet_parse_backend("10.78.0.10:08080", &ip, &port) < 0);
	CHECK(fleet_parse_backend("10.78.0.10:65536", &ip, &port) < 0);
	CHECK(fleet_parse_backend("10.78.0.10:", &ip, &port) < 0);
	CHECK(fleet_parse_backend("127.0.0.1:80", &ip, &port) < 0);
	CHECK(fleet_parse_backend("224.0.0.1:80", &ip, &port) < 0);
	CHECK(fleet_parse_backend("255.255.255.255", &ip, &port) < 0);
	CHECK(fleet_parse_backend("0.0.0.0:80", &ip, &port) < 0);
	CHECK(fleet_parse_backend("10.78.0.0/24", &ip, &port) < 0);
}

static void test_misc_parsers(void)
{
	uint8_t mac[6];
	CHECK(fleet_parse_mac("00:1B:63:aa:bb:0c", mac) == 0 && mac[1] == 0x1b && mac[5] == 0x0c);
	CHECK(fleet_parse_mac("00-1b-63-aa-bb-0c", mac) == 0 && mac[2] == 0x63);
	CHECK(fleet_parse_mac("00:1b-63:aa:bb:0c", mac) < 0);
	CHECK(fleet_parse_mac("00:1b:63:aa:bb:0g", mac) < 0);
	CHECK(fleet_parse_mac("00:1b:63:aa:bb:0c:", mac) < 0);
	CHECK(fleet_parse_mac("001b63aabb0c", mac) < 0);

	struct fleet_port p[FLEET_MAX_PORTS];
	unsigned n;
	char msg[128];
	CHECK(fleet_parse_ports("9999", p, &n, msg, sizeof(msg)) == 0 && n == 1 &&
	      p[0].port == 9999 && p[0].proto == FLEET_PROTO_TCP);
	CHECK(fleet_parse_ports(" 53/udp ,53/tcp, 65535 ", p, &n, msg, sizeof(msg)) == 0 &&
	      n == 3 && p[0].proto == FLEET_PROTO_UDP && p[1].proto == FLEET_PROTO_TCP &&
	      p[2].port == 65535);
	CHECK(fleet_parse_ports("65536", p, &n, msg, sizeof(msg)) < 0);
	CHECK(fleet_parse_ports("", p, &n, msg, sizeof(msg)) < 0);
	CHECK(fleet_parse_ports("1,,2", p, &n, msg, sizeof(msg)) < 0);
	CHECK(fleet_parse_ports("53/", p, &n, msg, sizeof(msg)) < 0);

	/* comma lists */
	const char *list = " ssh ,http,  k8s", *item;
	size_t len;
	char got[64] = "";
	while (fleet_list_next(&list, &item, &len) > 0)
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "[%.*s]", (int)len, item);
	CHECK(strcmp(got, "[ssh][http][k8s]") == 0);
	list = "a,";
	CHECK(fleet_list_next(&list, &item, &len) < 0);

	CHECK(fleet_hostname_valid("SRV-PROD-42"));
	CHECK(fleet_hostname_valid("web37.localdomain"));
	CHECK(!fleet_hostname_valid("web-.x"));
	CHECK(!fleet_hostname_valid("a..b"));
	CHECK(!fleet_hostname_valid("a_b"));
	CHECK(!fleet_hostname_valid(""));
	CHECK(!fleet_hostname_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
	CHECK(fleet_name_valid("decky-01_a", FLEET_NAME_MAX));
	CHECK(!fleet_name_valid("-x", FLEET_NAME_MAX));
	CHECK(!fleet_name_valid("a.b", FLEET_NAME_MAX));
	CHECK(fleet_ifname_valid("enp3s0f1"));
	CHECK(!fleet_ifname_valid("averyveryverylong0"));

	char cidr[FLEET_OS_MAX];
	enum fp_family f;
	CHECK(fleet_nmap_os_resolve("Windows", cidr, &f) == 0 && f == FP_FAMILY_WINDOWS &&
	      strcmp(cidr, "windows") == 0);
	CHECK_EQ(fleet_nmap_os_resolve("Microsoft Windows 10 1607", cidr, &f), -ENOENT);

	struct fleet_error err;
	char buf[400];
	fleet_err_init(&err, "x.ini");
	fleet_err_set(&err, 12, "bad %s", "thing");
	fleet_error_format(&err, buf, sizeof(buf));
	CHECK(strcmp(buf, "x.ini:12: bad thing") == 0);
	fleet_err_set(&err, 0, "whole file");
	fleet_error_format(&err, buf, sizeof(buf));
	CHECK(strcmp(buf, "x.ini: whole file") == 0);
}

void test_ini(void)
{
	test_tokenizer();
}

void test_parsers(void)
{
	test_ip_parsers();
	test_misc_parsers();
}
