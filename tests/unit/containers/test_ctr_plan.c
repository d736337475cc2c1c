/* containers/ unit tests: the plan built from the shipped examples meets
 * the spec's container model (one base per decky owning IP/MAC/sysctls,
 * services sharing its namespace, names unique, labels everywhere), and
 * every option changes exactly what it should. */
#include "tests/unit/containers/test_ctr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int str_is(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

const char *kv_get(const struct ctr_kv *kv, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(kv[i].key, key) == 0)
			return kv[i].value;
	return NULL;
}

int load_text(const char *text, struct fleet_config *cfg)
{
	struct fleet_error err;
	char msg[600];
	int r = fleet_load_buffer("t.ini", text, strlen(text), cfg, &err);
	if (r < 0) {
		fleet_error_format(&err, msg, sizeof(msg));
		fprintf(stderr, "    load: %s\n", msg);
	}
	return r;
}

int load_example(const char *name, struct fleet_config *cfg)
{
	const char *src = getenv("DECNET_SRC");
	char path[4096], msg[600];
	struct fleet_error err;
	snprintf(path, sizeof(path), "%s/examples/%s", src ? src : "..", name);
	int r = fleet_load_file(path, cfg, &err);
	if (r < 0) {
		fleet_error_format(&err, msg, sizeof(msg));
		fprintf(stderr, "    load: %s\n", msg);
	}
	return r;
}

/* The spec's "OS Fingerprint Spoofing" table, written out again here on
 * purpose: the test compares the module's data with the spec, not with
 * itself. */
static const struct spec_family {
	enum fp_family family;
	const char *ttl, *syn_retries;
	bool big_rcvbuf; /* "+ 8 MB recv buffer" */
} spec_families[] = {
	{FP_FAMILY_LINUX, "64", "6", false},    {FP_FAMILY_WINDOWS, "128", "2", true},
	{FP_FAMILY_BSD, "64", "6", false},      {FP_FAMILY_EMBEDDED, "255", "3", false},
	{FP_FAMILY_CISCO, "255", "2", false},
};

static void check_family_sysctls(const struct ctr_container *base, enum fp_family family)
{
	const struct spec_family *sf = &spec_families[family];
	const char *rmem = SYSCTL(base, "net.ipv4.tcp_rmem");
	CHECK_EQ(sf->family, family);
	CHECK(str_is(SYSCTL(base, "net.ipv4.ip_default_ttl"), sf->ttl));
	CHECK(str_is(SYSCTL(base, "net.ipv4.tcp_syn_retries"), sf->syn_retries));
	/* the TTL the engine's fingerprints use for the family agrees too */
	char ttl[8];
	snprintf(ttl, sizeof(ttl), "%u", fp_family_info(family)->ttl);
	CHECK(str_is(SYSCTL(base, "net.ipv4.ip_default_ttl"), ttl));
	if (sf->big_rcvbuf) {
		/* third field (max) is 8 MiB */
		const char *max = rmem ? strrchr(rmem, ' ') : NULL;
		CHECK(max && strcmp(max + 1, "8388608") == 0);
		CHECK_EQ(base->n_sysctls, 3);
	} else {
		CHECK(rmem == NULL);
		CHECK_EQ(base->n_sysctls, 2);
	}
	/* only namespaced sysctls: runc cannot set net.core.* in a container */
	for (size_t i = 0; i < base->n_sysctls; i++)
		CHECK(strncmp(base->sysctls[i].key, "net.ipv4.", 9) == 0);
}

static void check_common_labels(const struct ctr_container *c, const char *role)
{
	CHECK(str_is(LABEL(c, "decnet.managed"), "true"));
	CHECK(str_is(LABEL(c, "decnet.role"), role));
	CHECK(LABEL(c, "decnet.version") && *LABEL(c, "decnet.version"));
	CHECK(str_is(LABEL(c, "decnet.decky"), c->decky));
}

static void check_base(const struct fleet_config *cfg, const struct fleet_decky *d,
		       const struct ctr_container *c, bool macvlan, const char *forced_image)
{
	struct in_addr a;
	char mac[18];
	CHECK(c->is_base && str_is(c->name, d->name) && c->decky == c->name);
	CHECK(c->network_of == NULL && c->service == NULL && c->log_driver == NULL);
	CHECK(str_is(c->hostname, d->hostname));
	CHECK(forced_image ? str_is(c->image, forced_image)
			   : d->distro && str_is(c->image, d->distro->image));
	CHECK(c->ipv4 && inet_pton(AF_INET, c->ipv4, &a) == 1 && ntohl(a.s_addr) == d->ip);
	/* inside the subnet, not its network, broadcast or gateway address */
	uint32_t mask = cfg->prefix ? ~0u << (32 - cfg->prefix) : 0;
	CHECK((d->ip & mask) == cfg->net && d->ip != cfg->net && d->ip != (cfg->net | ~mask) &&
	      d->ip != cfg->gw);
	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", d->mac[0], d->mac[1],
		 d->mac[2], d->mac[3], d->mac[4], d->mac[5]);
	CHECK(macvlan ? str_is(c->mac, mac) : c->mac == NULL);
	CHECK(c->command && str_is(c->command[0], "sleep") && str_is(c->command[1], "infinity") &&
	      c->command[2] == NULL);
	CHECK(str_is(c->restart, "unless-stopped"));
	CHECK(c->n_env == 0 && c->n_binds == 0);
	check_common_labels(c, "base");
	CHECK(str_is(LABEL(c, "decnet.nmap_os"), fp_family_info(d->family)->name));
	check_family_sysctls(c, d->family);
}

/* Every check a plan of any fleet must pass. */
static void check_plan(const struct fleet_config *cfg, const struct ctr_plan *plan, bool macvlan,
		       const char *forced_image)
{
	size_t want = cfg->n_deckies, k = 0;
	for (size_t i = 0; i < cfg->n_deckies; i++)
		want += cfg->deckies[i].n_services;
	CHECK_EQ(plan->n_containers, want);
	/* bases first, each followed by its services, in file order */
	for (size_t i = 0; i < cfg->n_deckies && k < plan->n_containers; i++) {
		const struct fleet_decky *d = &cfg->deckies[i];
		const struct ctr_container *base = &plan->containers[k++];
		check_base(cfg, d, base, macvlan, forced_image);
		for (unsigned s = 0; s < d->n_services && k < plan->n_containers; s++) {
			const struct ctr_container *c = &plan->containers[k++];
			char name[160];
			snprintf(name, sizeof(name), "%s-%s", d->name, d->services[s].svc->slug);
			CHECK(!c->is_base && str_is(c->name, name));
			/* shares its own decky's base namespace */
			CHECK(str_is(c->network_of, base->name) && c->decky == base->name);
			CHECK(c->hostname == NULL && c->ipv4 == NULL && c->mac == NULL);
			CHECK(c->n_sysctls == 0);
			CHECK(str_is(c->service, d->services[s].svc->slug));
			CHECK(str_is(c->restart, "unless-stopped"));
			check_common_labels(c, "service");
			CHECK(str_is(LABEL(c, "decnet.service"), c->service));
			CHECK(str_is(ENV(c, "NODE_NAME"), d->name));
			CHECK(str_is(ENV(c, "HOSTNAME"), d->hostname));
			CHECK(c->image && *c->image);
		}
	}
	/* names and IPs unique (quadratic: the examples are small) */
	for (size_t i = 0; i < plan->n_containers; i++)
		for (size_t j = i + 1; j < plan->n_containers; j++) {
			const struct ctr_container *a = &plan->containers[i], *b = &plan->containers[j];
			CHECK(strcmp(a->name, b->name) != 0);
			if (a->ipv4 && b->ipv4)
				CHECK(strcmp(a->ipv4, b->ipv4) != 0);
			if (a->mac && b->mac)
				CHECK(strcmp(a->mac, b->mac) != 0);
		}
	CHECK(str_is(plan->net.name, "decnet_lan"));
	CHECK(str_is(plan->net.driver, macvlan ? "macvlan" : "ipvlan"));
	CHECK(plan->net.ipvlan_l2 == !macvlan);
	CHECK(str_is(plan->net.hairpin, macvlan ? "decnet_macvlan0" : "decnet_ipvlan0"));
	CHECK(str_is(kv_get(plan->net.labels, plan->net.n_labels, "decnet.managed"), "true"));
}

static const struct {
	const char *decky;
	enum fp_family family;
} full_families[] = {
	{"decky-webmail", FP_FAMILY_LINUX},  {"decky-winbox", FP_FAMILY_WINDOWS},
	{"decky-dc", FP_FAMILY_WINDOWS},     {"decky-db", FP_FAMILY_LINUX},
	{"decky-legacy", FP_FAMILY_BSD},     {"decky-iot", FP_FAMILY_EMBEDDED},
	{"decky-plc", FP_FAMILY_EMBEDDED},   {"decky-pbx", FP_FAMILY_LINUX},
	{"decky-ci", FP_FAMILY_LINUX},       {"decky-core", FP_FAMILY_CISCO},
	{"corp-ws-01", FP_FAMILY_WINDOWS},   {"corp-ws-04", FP_FAMILY_WINDOWS},
	{"printers-02", FP_FAMILY_EMBEDDED},
};

void test_plan_example(void)
{
	struct fleet_config cfg;
	struct ctr_plan plan;
	char err[256];
	size_t n_services;
	const struct fleet_service *all = fleet_services(&n_services);

	if (load_example("test-full.ini", &cfg) != 0) {
		CHECK(!"examples/test-full.ini loads");
		return;
	}
	CHECK_EQ(ctr_plan_build(&cfg, NULL, &plan, err, sizeof(err)), 0);
	check_plan(&cfg, &plan, true, NULL);
	CHECK(str_is(plan.net.subnet, "10.77.0.0/24") && str_is(plan.net.gateway, "10.77.0.1"));
	CHECK(plan.net.parent == NULL); /* no interface= : deploy picks one */

	for (size_t i = 0; i < sizeof(full_families) / sizeof(full_families[0]); i++) {
		const struct ctr_container *b = ctr_plan_find(&plan, full_families[i].decky);
		CHECK(b && b->is_base);
		if (b) {
			CHECK(str_is(LABEL(b, "decnet.nmap_os"),
				     fp_family_info(full_families[i].family)->name));
			check_family_sysctls(b, full_families[i].family);
		}
	}
	/* all 25 built-in services, each from its table image */
	for (size_t s = 0; s < n_services; s++) {
		bool seen = false;
		for (size_t i = 0; i < plan.n_containers; i++) {
			const struct ctr_container *c = &plan.containers[i];
			if (str_is(c->service, all[s].slug)) {
				seen = true;
				CHECK(str_is(c->image, all[s].default_image));
				CHECK(c->command == NULL);
			}
		}
		if (!seen)
			fprintf(stderr, "    service %s not in the plan\n", all[s].slug);
		CHECK(seen);
	}
	/* logging: [general] log_target= and log_file= reach every service */
	for (size_t i = 0; i < plan.n_containers; i++) {
		const struct ctr_container *c = &plan.containers[i];
		if (c->is_base)
			continue;
		CHECK(str_is(ENV(c, "LOG_TARGET"), "10.77.0.250:5140"));
		CHECK(str_is(ENV(c, "LOG_FILE"), "/var/log/decnet/decnet.log"));
		CHECK(str_is(c->log_target, "10.77.0.250:5140") && str_is(c->log_driver, "syslog"));
		CHECK(str_is(kv_get(c->log_opts, c->n_log_opts, "syslog-address"),
			     "udp://10.77.0.250:5140"));
		CHECK(str_is(kv_get(c->log_opts, c->n_log_opts, "tag"), c->name));
		CHECK(c->n_binds == 1 && str_is(c->binds[0].key, "/var/log/decnet") &&
		      str_is(c->binds[0].value, "/var/log/decnet"));
	}
	/* persona keys become upper-case environment variables */
	const struct ctr_container *c = ctr_plan_find(&plan, "decky-legacy-ssh");
	CHECK(c && str_is(ENV(c, "SSH_VERSION"), "OpenSSH_7.4p1 Debian-10+deb9u7"));
	CHECK(c && str_is(ENV(c, "KERNEL_VERSION"), "4.9.0-19-amd64"));
	CHECK(c && str_is(ENV(c, "USERS"), "root:root,admin:password"));
	c = ctr_plan_find(&plan, "corp-ws-03-smb"); /* group persona propagated */
	CHECK(c && str_is(ENV(c, "WORKGROUP"), "CORP") &&
	      str_is(ENV(c, "OS_VERSION"), "Windows 10 Pro 22H2"));
	c = ctr_plan_find(&plan, "decky-webmail-imap"); /* no persona keys */
	CHECK(c && c->n_env == 4); /* NODE_NAME HOSTNAME LOG_TARGET LOG_FILE */
	/* BYOS: its own image, exec= as argv */
	c = ctr_plan_find(&plan, "decky-plc-hmi");
	CHECK(c && str_is(c->image, "decnet/byos-hmi:latest") && str_is(c->service, "hmi"));
	CHECK(c && c->command && str_is(c->command[0], "/usr/local/bin/hmi") &&
	      str_is(c->command[1], "--listen") && str_is(c->command[2], "8443") &&
	      c->command[3] == NULL);
	CHECK(c && str_is(LABEL(c, "decnet.service"), "hmi"));
	CHECK(ctr_plan_find(&plan, "no-such-container") == NULL);

	/* the plan owns its strings: the config can go first */
	fleet_config_free(&cfg);
	CHECK(str_is(plan.containers[0].name, "decky-webmail"));
	ctr_plan_free(&plan);
	CHECK(plan.containers == NULL && plan.n_containers == 0);
	ctr_plan_free(&plan); /* twice is harmless */

	if (load_example("demo.ini", &cfg) != 0) {
		CHECK(!"examples/demo.ini loads");
		return;
	}
	CHECK_EQ(ctr_plan_build(&cfg, NULL, &plan, err, sizeof(err)), 0);
	check_plan(&cfg, &plan, true, NULL);
	for (size_t i = 0; i < plan.n_containers; i++) {
		const struct ctr_container *s = &plan.containers[i];
		CHECK(ENV(s, "LOG_TARGET") == NULL && ENV(s, "LOG_FILE") == NULL);
		CHECK(s->log_driver == NULL && s->log_target == NULL && s->n_binds == 0);
	}
	ctr_plan_free(&plan);
	fleet_config_free(&cfg);
}

void test_plan_options(void)
{
	struct fleet_config cfg;
	struct ctr_plan plan;
	char err[256];
	struct ctr_plan_opts opts = {.interface = "eth9", .ipvlan = true,
				     .log_target = "192.0.2.7:514", .log_file = "/srv/logs/x.log",
				     .distro = "alpine"};
	if (load_example("test-full.ini", &cfg) != 0) {
		CHECK(!"examples/test-full.ini loads");
		return;
	}
	CHECK_EQ(ctr_plan_build(&cfg, &opts, &plan, err, sizeof(err)), 0);
	check_plan(&cfg, &plan, false, "alpine:3.19");
	CHECK(str_is(plan.net.parent, "eth9"));
	for (size_t i = 0; i < plan.n_containers; i++) {
		const struct ctr_container *c = &plan.containers[i];
		if (c->is_base) {
			CHECK(str_is(c->image, "alpine:3.19"));
			continue;
		}
		CHECK(str_is(ENV(c, "LOG_TARGET"), "192.0.2.7:514"));
		CHECK(str_is(ENV(c, "LOG_FILE"), "/var/log/decnet/x.log"));
		CHECK(str_is(kv_get(c->log_opts, c->n_log_opts, "syslog-address"),
			     "udp://192.0.2.7:514"));
		CHECK(c->n_binds == 1 && str_is(c->binds[0].key, "/srv/logs"));
	}
	ctr_plan_free(&plan);
	fleet_config_free(&cfg);

	/* [general] interface= is the parent unless opts name another; a
	 * relative log file is taken from the working directory; a file
	 * directly under / mounts "/" */
	const char *ini = "[general]\nnet = 10.0.0.0/24\ngw = 10.0.0.1\ninterface = lan0\n"
			  "[a]\nservices = ssh\n";
	char want[4200], cwd[4096];
	CHECK_EQ(load_text(ini, &cfg), 0);
	struct ctr_plan_opts rel = {.log_file = "logs/d.log"};
	CHECK_EQ(ctr_plan_build(&cfg, &rel, &plan, err, sizeof(err)), 0);
	CHECK(str_is(plan.net.parent, "lan0"));
	CHECK(getcwd(cwd, sizeof(cwd)) != NULL);
	snprintf(want, sizeof(want), "%s/logs", cwd);
	const struct ctr_container *c = ctr_plan_find(&plan, "a-ssh");
	CHECK(c && c->n_binds == 1 && str_is(c->binds[0].key, want));
	CHECK(c && str_is(ENV(c, "LOG_FILE"), "/var/log/decnet/d.log"));
	CHECK(c && c->log_driver == NULL); /* a file alone is no log target */
	ctr_plan_free(&plan);
	struct ctr_plan_opts root = {.log_file = "/decnet.log", .interface = ""};
	CHECK_EQ(ctr_plan_build(&cfg, &root, &plan, err, sizeof(err)), 0);
	c = ctr_plan_find(&plan, "a-ssh");
	CHECK(c && c->n_binds == 1 && str_is(c->binds[0].key, "/"));
	CHECK(str_is(plan.net.parent, "lan0")); /* "" means not given */
	ctr_plan_free(&plan);
	fleet_config_free(&cfg);
}

int main(void)
{
	test_plan_example();
	test_plan_options();
	test_plan_errors();
	test_plan_exec_words();
	test_plan_scale();
	test_compose();
	return tap_done();
}
