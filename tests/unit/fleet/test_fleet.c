/* fleet/ unit tests: the loader's error table (every error names the right
 * FILE:LINE and leaves nothing allocated) and the configs that must load
 * into exactly the deckies the spec promises. */
#include "tests/unit/fleet/test_fleet.h"
#include "fleet/fleet_internal.h" /* fleet_hostname_default */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define G "[general]\nnet = 10.0.0.0/24\ngw = 10.0.0.1\n" /* lines 1-3 */

int load_text(const char *text, struct fleet_config *cfg, struct fleet_error *err)
{
	return fleet_load_buffer("t.ini", text, strlen(text), cfg, err);
}

const struct fleet_decky *find_decky(const struct fleet_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_deckies; i++)
		if (strcmp(cfg->deckies[i].name, name) == 0)
			return &cfg->deckies[i];
	return NULL;
}

static const struct error_case {
	const char *ini;
	unsigned line; /* 0: "t.ini: msg" */
	const char *msg;
} error_cases[] = {
	/* unknown keys, services, archetypes, distros */
	{G "[a]\nservices = ssh\nfoo = 1\n", 6, "unknown key 'foo' in decky [a]"},
	{G "bogus = 1\n", 4, "unknown key 'bogus' in [general]"},
	{G "[a]\nservices = ssh\nlog_file = x\n", 6, "unknown key 'log_file' in decky"},
	{G "[a]\nservices = ssh, nope\n", 5, "unknown service 'nope'"},
	{G "[a]\nservices = myapp\n", 5, "unknown service 'myapp'"},
	{G "[a]\narchetype = mainframe\n", 5, "unknown archetype 'mainframe'"},
	{G "[a]\nservices = ssh\ndistro = gentoo\n", 6, "unknown distro 'gentoo'"},
	{G "[a]\nservices = ssh\nnmap_os = solaris\n", 6,
	 "unknown nmap_os 'solaris' (one of: linux, windows, bsd, embedded, cisco)"},
	/* duplicates */
	{G "[a]\nservices = ssh\n[a]\nservices = http\n", 6, "duplicate decky name 'a'"},
	{G "[w]\nservices = ssh\namount = 2\n[w-02]\nservices = ssh\n", 7,
	 "duplicate decky name 'w-02'"},
	{G "[a]\nip = 10.0.0.5\nservices = ssh\n[b]\nservices = ssh\nip = 10.0.0.5\n", 9,
	 "duplicate IP 10.0.0.5"},
	{G "[a]\nservices = ssh\nmac = 00:11:22:33:44:55\n[b]\nmac = 00:11:22:33:44:55\n"
	   "services = ssh\n", 8, "duplicate MAC 00:11:22:33:44:55"},
	{G "[general]\nnet = 10.0.0.0/24\n", 4, "duplicate [general] section"},
	{G "[custom-x]\nbinary = i\nports = 1\n[custom-x]\nbinary = i\nports = 1\n", 7,
	 "duplicate section [custom-x]"},
	{G "[a]\nservices = ssh\n[a.ssh]\nusers = x\n[a.ssh]\nusers = y\n", 8,
	 "duplicate section [a.ssh]"},
	{G "[a]\nservices = ssh\nservices = http\n", 6, "key 'services' given twice in [a]"},
	{G "[a]\nservices = ssh\nnmap_os = linux\nnmap-os = windows\n", 7, "given twice"},
	{G "[a]\nservices = ssh, ssh\n", 5, "service 'ssh' listed twice"},
	/* addresses */
	{G "[a]\nservices = ssh\nip = 10.0.1.5\n", 6, "IP 10.0.1.5 is outside net 10.0.0.0/24"},
	{G "[a]\nservices = ssh\nip = 10.0.0.0\n", 6, "is the network address of"},
	{G "[a]\nservices = ssh\nip = 10.0.0.255\n", 6, "is the broadcast address of"},
	{G "[a]\nservices = ssh\nip = 10.0.0.1\n", 6, "is the gateway of"},
	{G "[a]\nservices = ssh\nip = 10.0.0.256\n", 6, "bad IP '10.0.0.256'"},
	{G "[a]\nservices = ssh\nip = 10.0.0.05\n", 6, "bad IP '10.0.0.05'"},
	{G "[a]\nservices = ssh\nip = 10.0.0\n", 6, "bad IP"},
	{"[general]\nnet = 10.0.0.0/33\ngw = 10.0.0.1\n", 2, "bad CIDR '10.0.0.0/33'"},
	{"[general]\nnet = 10.0.0.1/24\ngw = 10.0.0.1\n", 2, "bad CIDR '10.0.0.1/24'"},
	{"[general]\nnet = 10.0.0.0\ngw = 10.0.0.1\n", 2, "bad CIDR"},
	{"[general]\nnet = 10.0.0.0/31\ngw = 10.0.0.1\n", 2, "no room for a gateway"},
	{"[general]\nnet = 10.0.0.0/24\ngw = 10.0.0.x\n", 3, "bad IP '10.0.0.x' for gw"},
	{"[general]\nnet = 10.0.0.0/24\ngw = 10.0.1.1\n", 3, "gateway 10.0.1.1 is outside"},
	{"[general]\nnet = 10.0.0.0/24\ngw = 10.0.0.255\n", 3, "is the broadcast address of"},
	{"[general]\nnet = 10.0.0.0/24\ngw = 10.0.0.0\n", 3, "is the network address of"},
	{"[general]\nnet = 10.0.0.0/30\ngw = 10.0.0.1\n[a]\nservices = ssh\n[b]\nservices = ssh\n",
	 6, "no free address left in 10.0.0.0/30 for decky 'b'"},
	{G "[a]\nservices = ssh\nmac = 01:00:5e:00:00:01\n", 6, "is multicast"},
	{G "[a]\nservices = ssh\nmac = 00:00:00:00:00:00\n", 6, "is all zero"},
	{G "[a]\nservices = ssh\nmac = 00:11:22:33:44\n", 6, "bad MAC"},
	/* amount= */
	{G "[a]\nservices = ssh\nip = 10.0.0.9\namount = 2\n", 7,
	 "amount= cannot be combined with ip="},
	{G "[a]\nservices = ssh\nmac = 00:11:22:33:44:55\namount = 2\n", 7,
	 "amount= cannot be combined with mac="},
	{G "[a]\nservices = ssh\namount = 0\n", 6, "amount must be a number in 1..65536"},
	{G "[a]\nservices = ssh\namount = 65537\n", 6, "amount must be a number in 1..65536"},
	{G "[a]\nservices = ssh\namount = -1\n", 6, "amount must be"},
	{G "[a]\nservices = ssh\namount = 2x\n", 6, "amount must be"},
	{G "[a]\nservices = ssh\namount = 65536\n[b]\nservices = ssh\namount = 65536\n", 7,
	 "fleet grows past 100000 deckies"},
	{G "[aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa]\nservices = ssh\n"
	   "amount = 100\n", 4, "too long for amount=100"},
	/* [general] */
	{"", 0, "missing [general] section"},
	{"# only a comment\n[a]\nservices = ssh\n", 0, "missing [general] section"},
	{"[general]\ngw = 10.0.0.1\n", 1, "[general] needs net="},
	{"[general]\nnet = 10.0.0.0/24\n", 1, "[general] needs gw="},
	{G "log_target = 10.0.0.9\n", 4, "bad log_target '10.0.0.9' (expected ip:port)"},
	{G "log_target = 10.0.0.9:0\n", 4, "bad log_target"},
	{G "log_target = loghost:514\n", 4, "bad log_target"},
	{G "log_file =\n", 4, "log_file= is empty"},
	{G "interface = eth/0\n", 4, "bad interface name 'eth/0'"},
	/* BYOS */
	{G "[custom-x]\nports = 99\n", 4, "BYOS [custom-x] without image"},
	{G "[custom-x]\nbinary =\nports = 99\n", 4, "without image"},
	{G "[custom-x]\nbinary = img:1\n", 4, "BYOS [custom-x] needs ports="},
	{G "[custom-x]\nbinary = img:1\nports = 99/sctp\n", 6, "bad protocol in '99/sctp'"},
	{G "[custom-x]\nbinary = img:1\nports = 0\n", 6, "bad port '0'"},
	{G "[custom-x]\nbinary = img:1\nports = 1, 1/tcp\n", 6, "listed twice"},
	{G "[custom-x]\nbinary = img:1\nports = 1,2,3,4,5,6,7,8,9\n", 6, "more than 8 ports"},
	{G "[custom-ssh]\nbinary = img:1\nports = 22\n", 4, "hide the built-in service 'ssh'"},
	{G "[custom-x]\nbinary = img:1\nports = 1\ncolor = red\n", 7, "unknown key 'color'"},
	{G "[custom-]\nbinary = i\nports = 1\n", 4, "bad custom service name"},
	/* decky sections */
	{G "[a]\nip = 10.0.0.9\n", 4, "decky [a] needs services= or archetype="},
	{G "[a]\nservices =\n", 5, "services= needs a comma-separated list"},
	{G "[a]\nservices = ssh,\n", 5, "services= needs a comma-separated list"},
	{G "[a]\nservices = ssh\nhostname = -bad\n", 6, "bad hostname '-bad'"},
	{G "[_a]\nservices = ssh\n", 4, "bad decky name '_a'"},
	/* persona subsections */
	{G "[a]\nservices = ssh\n[b.ssh]\nusers = root:root\n", 6,
	 "[b.ssh]: no decky section named 'b'"},
	{G "[general.ssh]\n", 4, "no decky section named 'general'"},
	{G "[a]\nservices = ssh\n[a.http]\nfake_app = wordpress\n", 6,
	 "decky 'a' does not run service 'http'"},
	{G "[a]\narchetype = printer\nservices = ssh\n[a.snmp]\nsys_descr = x\n", 7,
	 "does not run service 'snmp'"},
	{G "[a]\nservices = ssh\n[a.ssh]\nssh_version = x\nbanner = y\n", 8,
	 "unknown key 'banner' for service 'ssh' (accepted: ssh_version, kernel_version, users)"},
	{G "[a]\nservices = ftp\n[a.ftp]\nbanner = y\n", 7, "it takes no persona keys"},
	{G "[a]\nservices = ssh\n[a.nope]\n", 6, "unknown service 'nope'"},
	{G "[a]\nservices = ssh\n[a.ssh.x]\n", 6, "bad section name [a.ssh.x]"},
	{G "[custom-x]\nbinary = i\nports = 1\n[a]\nservices = x\n[a.x]\nk = v\n", 10,
	 "unknown key 'k' for service 'x'"},
	/* tokenizer errors surface with their line */
	{"services = ssh\n[general]\n", 1, "outside any [section]"},
	{"[general\n", 1, "section header without ']'"},
	{"[general] x\n", 1, "text after section header"},
	{G "justtext\n", 4, "expected 'key = value' or '[section]'"},
	{G "[a]\nservices = ssh\n\x01\n", 6, "control character 0x01"},
	{G "[a b]\nservices = ssh\n", 4, "bad section name"},
};

static void check_error(size_t idx, const char *ini, size_t len, unsigned line, const char *msg)
{
	struct fleet_config cfg;
	struct fleet_error err;
	char got[600], want[64];
	int r = fleet_load_buffer("t.ini", ini, len, &cfg, &err);
	fleet_error_format(&err, got, sizeof(got));
	if (line)
		snprintf(want, sizeof(want), "t.ini:%u: ", line);
	else
		snprintf(want, sizeof(want), "t.ini: ");
	bool ok = r == -EINVAL && strncmp(got, want, strlen(want)) == 0 && strstr(err.msg, msg);
	CHECK(ok);
	if (!ok)
		fprintf(stderr, "    case %zu: want '%s...%s', got r=%d '%s'\n", idx, want, msg, r,
			got);
	/* Nothing half-built comes back. */
	CHECK(cfg.deckies == NULL && cfg.n_deckies == 0 && cfg.store == NULL && cfg.file == NULL);
}

void test_load_errors(void)
{
	size_t n = sizeof(error_cases) / sizeof(error_cases[0]);
	for (size_t i = 0; i < n; i++)
		check_error(i, error_cases[i].ini, strlen(error_cases[i].ini), error_cases[i].line,
			    error_cases[i].msg);

	/* Cases a C string literal cannot carry. */
	static const char nul[] = G "[a]\nservices = ssh\0\n";
	check_error(n, nul, sizeof(nul) - 1, 5, "NUL byte in line");

	char longline[6000];
	int off = snprintf(longline, sizeof(longline), G "[a]\nservices = ssh\nhostname = ");
	memset(longline + off, 'a', sizeof(longline) - (size_t)off - 1);
	longline[sizeof(longline) - 1] = '\0';
	check_error(n + 1, longline, strlen(longline), 6, "line longer than 4096 bytes");

	/* A file that cannot be read names the file, with line 0. */
	struct fleet_config cfg;
	struct fleet_error err;
	char got[600];
	CHECK_EQ(fleet_load_file("/nonexistent/x.ini", &cfg, &err), -ENOENT);
	fleet_error_format(&err, got, sizeof(got));
	CHECK(strncmp(got, "/nonexistent/x.ini: cannot read", 31) == 0);
	CHECK(fleet_load_file("/", &cfg, &err) < 0);
}

static void test_amount_and_persona(void)
{
	struct fleet_config cfg;
	struct fleet_error err;
	const char *ini = G "[web]\narchetype = web-server\namount = 3\n"
			    "[web.http]\nserver_header = nginx/1.18.0\nfake_app = wordpress\n"
			    "[solo]\nservices = http\n";
	CHECK_EQ(load_text(ini, &cfg, &err), 0);
	CHECK_EQ(cfg.n_deckies, 4);
	const char *names[] = {"web-01", "web-02", "web-03", "solo"};
	for (size_t i = 0; i < 4 && i < cfg.n_deckies; i++) {
		const struct fleet_decky *d = &cfg.deckies[i];
		CHECK(strcmp(d->name, names[i]) == 0);
		CHECK_EQ(d->ip, 0x0a000002u + i); /* .2 .3 .4 .5: gw .1 skipped */
		CHECK_EQ(d->line, i < 3 ? 4 : 10);
		CHECK(strcmp(d->services[0].svc->slug, "http") == 0);
		if (i < 3) {
			CHECK_EQ(d->n_services, 2);
			CHECK(strcmp(d->services[1].svc->slug, "ftp") == 0);
			CHECK(d->archetype == fleet_archetype_find("web-server"));
			/* [web.http] reaches every copy, one shared array */
			CHECK_EQ(d->services[0].n_persona, 2);
			CHECK(d->services[0].persona == cfg.deckies[0].services[0].persona);
			CHECK(d->services[0].persona &&
			      strcmp(d->services[0].persona[0].key, "server_header") == 0 &&
			      strcmp(d->services[0].persona[0].value, "nginx/1.18.0") == 0 &&
			      d->services[0].persona[1].line == 9);
			CHECK_EQ(d->services[1].n_persona, 0);
		} else {
			/* ...but not other deckies running the same service */
			CHECK_EQ(d->n_services, 1);
			CHECK(d->services[0].persona == NULL && d->services[0].n_persona == 0);
		}
	}
	fleet_config_free(&cfg);
	CHECK(cfg.deckies == NULL && cfg.store == NULL);

	/* Names keep two digits at least and grow past 99. */
	CHECK_EQ(load_text(G "[g]\nservices = ssh\namount = 100\n", &cfg, &err), 0);
	CHECK_EQ(cfg.n_deckies, 100);
	CHECK(strcmp(cfg.deckies[0].name, "g-01") == 0);
	CHECK(strcmp(cfg.deckies[8].name, "g-09") == 0);
	CHECK(strcmp(cfg.deckies[98].name, "g-99") == 0);
	CHECK(strcmp(cfg.deckies[99].name, "g-100") == 0);
	fleet_config_free(&cfg);

	/* amount = 1 is still a group: the name is predictable (x-01). */
	CHECK_EQ(load_text(G "[x]\nservices = ssh\namount = 1\n", &cfg, &err), 0);
	CHECK(cfg.n_deckies == 1 && strcmp(cfg.deckies[0].name, "x-01") == 0);
	fleet_config_free(&cfg);
}

static void test_ip_allocation(void)
{
	struct fleet_config cfg;
	struct fleet_error err;
	/* Explicit IPs are reserved before anyone is auto-allocated, even
	 * when they come later in the file; gw in the middle is skipped. */
	const char *ini = "[general]\nnet = 192.168.5.0/24\ngw = 192.168.5.3\n"
			  "[a]\nservices = ssh\n[b]\nip = 192.168.5.2\nservices = ssh\n"
			  "[c]\nservices = ssh\n[d]\nservices = ssh\nip = 192.168.5.5\n"
			  "[e]\nservices = ssh\n";
	CHECK_EQ(load_text(ini, &cfg, &err), 0);
	uint32_t want[] = {0xc0a80501, 0xc0a80502, 0xc0a80504, 0xc0a80505, 0xc0a80506};
	CHECK_EQ(cfg.n_deckies, 5);
	for (size_t i = 0; i < 5 && i < cfg.n_deckies; i++)
		CHECK_EQ(cfg.deckies[i].ip, want[i]);
	CHECK_EQ(cfg.net, 0xc0a80500u);
	CHECK_EQ(cfg.prefix, 24);
	CHECK_EQ(cfg.gw, 0xc0a80503u);
	fleet_config_free(&cfg);

	/* A /30 holds exactly one decky besides the gateway. */
	CHECK_EQ(load_text("[general]\nnet = 10.9.9.0/30\ngw = 10.9.9.2\n[a]\nservices = ssh\n",
			   &cfg, &err), 0);
	CHECK(cfg.n_deckies == 1 && cfg.deckies[0].ip == 0x0a090901u);
	fleet_config_free(&cfg);
}

static void test_priority_rules(void)
{
	struct fleet_config cfg;
	struct fleet_error err;
	const char *ini = G "[ws]\narchetype = windows-workstation\n"
			    "[ws-bsd]\narchetype = windows-workstation\nnmap_os = BSD\n"
			    "[plain]\nservices = ssh\n"
			    "[mixed]\narchetype = printer\nservices = ssh, http\n"
			    "[alias]\nservices = ssh\nnmap-os = cisco\n"
			    "[CaseKeys]\nSERVICES = ssh\nNmap_OS = embedded\n";
	CHECK_EQ(load_text(ini, &cfg, &err), 0);
	const struct fleet_decky *ws = find_decky(&cfg, "ws"), *wb = find_decky(&cfg, "ws-bsd");
	const struct fleet_decky *pl = find_decky(&cfg, "plain"), *mx = find_decky(&cfg, "mixed");
	const struct fleet_decky *al = find_decky(&cfg, "alias"), *ck = find_decky(&cfg, "CaseKeys");
	CHECK(ws && wb && pl && mx && al && ck);
	if (!(ws && wb && pl && mx && al && ck))
		goto out;
	/* archetype sets services and family */
	CHECK(ws->family == FP_FAMILY_WINDOWS && strcmp(ws->nmap_os, "windows") == 0);
	CHECK(ws->n_services == 2 && strcmp(ws->services[0].svc->slug, "smb") == 0 &&
	      strcmp(ws->services[1].svc->slug, "rdp") == 0);
	/* explicit nmap_os beats the archetype (and is canonicalised) */
	CHECK(wb->family == FP_FAMILY_BSD && strcmp(wb->nmap_os, "bsd") == 0);
	/* neither: linux */
	CHECK(pl->family == FP_FAMILY_LINUX && strcmp(pl->nmap_os, "linux") == 0);
	CHECK(pl->archetype == NULL);
	/* services= beats the archetype's services; family still from it */
	CHECK(mx->n_services == 2 && strcmp(mx->services[1].svc->slug, "http") == 0);
	CHECK(mx->family == FP_FAMILY_EMBEDDED);
	/* printer prefers alpine, so its default distro is alpine */
	CHECK(mx->distro == fleet_distro_find("alpine"));
	CHECK(al->family == FP_FAMILY_CISCO);
	CHECK(ck->family == FP_FAMILY_EMBEDDED);
out:
	fleet_config_free(&cfg);
}

static void test_distros_hostnames_macs(void)
{
	struct fleet_config cfg;
	struct fleet_error err;
	size_t nd;
	const struct fleet_distro *all = fleet_distros(&nd);
	/* 10 deckies without distro= cycle over the 9 profiles; one with
	 * distro= in the middle does not advance the cycle. */
	const char *ini = G "[r]\nservices = ssh\namount = 5\n"
			    "[k]\nservices = ssh\ndistro = kali\nhostname = build-box.corp\n"
			    "mac = 02:00:00:00:00:01\n"
			    "[s]\nservices = ssh\namount = 5\n";
	CHECK_EQ(load_text(ini, &cfg, &err), 0);
	CHECK_EQ(cfg.n_deckies, 11);
	for (size_t i = 0, rr = 0; i < cfg.n_deckies; i++) {
		const struct fleet_decky *d = &cfg.deckies[i];
		char again[FLEET_NAME_MAX];
		if (strcmp(d->name, "k") == 0) {
			CHECK(d->distro == fleet_distro_find("kali"));
			CHECK(strcmp(d->hostname, "build-box.corp") == 0);
			CHECK(d->mac_explicit && d->mac[0] == 0x02 && d->mac[5] == 0x01);
			continue;
		}
		CHECK(d->distro == &all[rr++ % nd]);
		/* default host name: deterministic, a DNS label, styled */
		fleet_hostname_default(d->distro, d->name, again);
		CHECK(strcmp(d->hostname, again) == 0);
		CHECK(d->hostname[0] && strspn(d->hostname, "abcdefghijklmnopqrstuvwxyz"
					       "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") ==
					    strlen(d->hostname));
		if (d->distro->hostname_style == FLEET_HOSTNAME_GENERIC)
			CHECK(strncmp(d->hostname, "SRV-", 4) == 0);
		/* derived MAC: the family's hash of the name, unicast */
		uint8_t mac[6];
		fp_family_mac(d->family, d->name, mac);
		CHECK(!d->mac_explicit && memcmp(mac, d->mac, 6) == 0 && !(d->mac[0] & 1));
	}
	CHECK(strcmp(cfg.deckies[10].name, "s-05") == 0 &&
	      cfg.deckies[10].distro == &all[0]); /* 10th default wraps to debian */
	fleet_config_free(&cfg);
}

static void test_custom_service(void)
{
	struct fleet_config cfg;
	struct fleet_error err;
	/* BYOS defined after its first use; "ssh" persona and custom mixed. */
	const char *ini = G "[app]\nservices = ssh, myapp\n"
			    "[custom-myapp]\nbinary = my-image:latest\n"
			    "exec = /usr/bin/myapp -p 9999 # comment\nports = 9999, 53/udp\n"
			    "[custom-nox]\nbinary = other:1\nports = 7/TCP\n"
			    "[app.myapp]\n";
	CHECK_EQ(load_text(ini, &cfg, &err), 0);
	CHECK_EQ(cfg.n_customs, 2);
	CHECK_EQ(cfg.n_deckies, 1);
	if (cfg.n_customs == 2 && cfg.n_deckies == 1) {
		const struct fleet_custom *c = &cfg.customs[0];
		CHECK(strcmp(c->name, "myapp") == 0 && strcmp(c->image, "my-image:latest") == 0);
		CHECK(strcmp(c->exec, "/usr/bin/myapp -p 9999") == 0);
		CHECK_EQ(c->line, 6);
		CHECK(c->svc.n_ports == 2 && c->svc.ports[0].port == 9999 &&
		      c->svc.ports[0].proto == FLEET_PROTO_TCP && c->svc.ports[1].port == 53 &&
		      c->svc.ports[1].proto == FLEET_PROTO_UDP);
		CHECK(strcmp(c->svc.slug, "myapp") == 0 && c->svc.persona_keys &&
		      c->svc.persona_keys[0] == NULL);
		CHECK(strcmp(c->svc.default_image, "my-image:latest") == 0);
		CHECK(cfg.customs[1].exec == NULL);
		CHECK(cfg.deckies[0].services[1].svc == &c->svc);
		CHECK(fleet_config_service_find(&cfg, "myapp") == &c->svc);
		CHECK(fleet_config_service_find(&cfg, "ssh") == fleet_service_find("ssh"));
		CHECK(fleet_config_service_find(NULL, "myapp") == NULL);
	}
	fleet_config_free(&cfg);
}

static void test_general_and_comments(void)
{
	struct fleet_config cfg;
	struct fleet_error err;
	/* The spec's "Structure" example, inline comments and all. */
	const char *ini =
		"# -- Global settings --\n"
		"[general]\n"
		"net = 192.168.1.0/24 # subnet CIDR\n"
		"gw = 192.168.1.1 # gateway IP\n"
		"interface = eth0 # host NIC (optional, auto-detected if omitted)\n"
		"log_target = 192.168.1.200:5140 # syslog forwarding target (optional)\n"
		"[decky-01]\n"
		"ip = 192.168.1.110 # optional; auto-allocated if omitted\n"
		"services = ssh, http # comma-separated service slugs\n"
		"nmap_os = linux # OS fingerprint family (optional, default: linux)\n"
		"[decky-01.ssh]\n"
		"ssh_version = OpenSSH_8.9p1 Ubuntu-3ubuntu0.6\n"
		"kernel_version = 5.15.0-91-generic\n"
		"users = root:toor,admin:admin123\n"
		"[decky-01.http]\n"
		"server_header = nginx/1.18.0\n"
		"fake_app = wordpress\n"
		"[corp-workstations]\n"
		"archetype = windows-workstation # sets services, distros, and nmap_os automatically\n"
		"amount = 10 # spawn 10 deckies from this definition\n"
		"[custom-myapp]\n"
		"binary = my-image:latest\n"
		"exec = /usr/bin/myapp -p 9999\n"
		"ports = 9999\n";
	CHECK_EQ(load_text(ini, &cfg, &err), 0);
	CHECK(strcmp(cfg.interface, "eth0") == 0);
	CHECK(cfg.log_target && strcmp(cfg.log_target, "192.168.1.200:5140") == 0);
	CHECK(cfg.log_file == NULL);
	CHECK(strcmp(cfg.file, "t.ini") == 0);
	CHECK_EQ(cfg.n_deckies, 11);
	const struct fleet_decky *d = find_decky(&cfg, "decky-01");
	CHECK(d && d->ip == 0xc0a8016eu && d->n_services == 2);
	if (d && d->n_services == 2) {
		CHECK_EQ(d->services[0].n_persona, 3);
		CHECK(strcmp(d->services[0].persona[2].value, "root:toor,admin:admin123") == 0);
		CHECK_EQ(d->services[1].n_persona, 2);
	}
	/* corp-workstations-01 is the lowest free address after .1 */
	d = find_decky(&cfg, "corp-workstations-01");
	CHECK(d && d->ip == 0xc0a80102u && d->family == FP_FAMILY_WINDOWS);
	CHECK(find_decky(&cfg, "corp-workstations-10") != NULL);
	fleet_config_free(&cfg);

	/* CRLF, BOM, tabs, ';' comments, log_file, no newline at EOF, and a
	 * '#' or ';' without a blank before it is part of the value. */
	const char *crlf = "\xef\xbb\xbf; windows editor\r\n[general]\r\n\tnet\t=\t10.1.0.0/16\r\n"
			   "gw = 10.1.0.1 ; gw\r\nlog_file = /var/log/decnet/decnet.log\r\n"
			   "[a]\r\nservices = ssh\r\n[a.ssh]\r\nusers = root:pass#1;x";
	CHECK_EQ(load_text(crlf, &cfg, &err), 0);
	CHECK(cfg.net == 0x0a010000u && cfg.prefix == 16 && cfg.gw == 0x0a010001u);
	CHECK(cfg.log_file && strcmp(cfg.log_file, "/var/log/decnet/decnet.log") == 0);
	CHECK(cfg.n_deckies == 1 && cfg.deckies[0].ip == 0x0a010002u);
	CHECK(cfg.n_deckies == 1 && cfg.deckies[0].services[0].n_persona == 1 &&
	      strcmp(cfg.deckies[0].services[0].persona[0].value, "root:pass#1;x") == 0);
	fleet_config_free(&cfg);
}

void test_load_good(void)
{
	test_amount_and_persona();
	test_ip_allocation();
	test_priority_rules();
	test_distros_hostnames_macs();
	test_custom_service();
	test_general_and_comments();
}

int main(void)
{
	test_tables();
	test_ctl_tables();
	test_ini();
	test_parsers();
	test_load_errors();
	test_load_good();
	test_decky_from_kv();
	test_examples();
	test_scale();
	test_mac_vendor();
	return tap_done();
}
