/* fleet_decky_from_kv against a loaded fleet, the shipped examples, and a
 * 100 000-decky amount= fleet (timed and printed, never asserted on). */
#include "tests/unit/fleet/test_fleet.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KV(k, v) {(char *)(k), (char *)(v), 0}

static void expect_kv_error(const struct fleet_config *cfg, const char *name,
			    const struct fleet_kv *kv, size_t n, const char *msg)
{
	struct fleet_decky d;
	struct fleet_error err;
	char got[600];
	int r = fleet_decky_from_kv(cfg, name, kv, n, &d, &err);
	fleet_error_format(&err, got, sizeof(got));
	bool ok = r == -EINVAL && strncmp(got, "live.ini: ", 10) == 0 && strstr(err.msg, msg);
	CHECK(ok);
	if (!ok)
		fprintf(stderr, "    decky.add %s: want '%s', got r=%d '%s'\n", name, msg, r, got);
}

void test_decky_from_kv(void)
{
	struct fleet_config cfg;
	struct fleet_error err;
	struct fleet_decky d;
	const char *ini = "[general]\nnet = 10.0.0.0/29\ngw = 10.0.0.1\n"
			  "[a]\nservices = ssh\n[b]\nservices = ssh\nip = 10.0.0.4\n"
			  "[c]\nservices = ssh\nmac = 02:00:00:00:00:01\n"
			  "[custom-app]\nbinary = img:1\nports = 9000\n";
	CHECK_EQ(fleet_load_buffer("live.ini", ini, strlen(ini), &cfg, &err), 0);

	/* next free address after a=.2, c=.3, b=.4 is .5; archetype rules */
	struct fleet_kv ok[] = {KV("archetype", "windows-server"), KV("services", "rdp, app")};
	CHECK_EQ(fleet_decky_from_kv(&cfg, "new", ok, 2, &d, &err), 0);
	CHECK(strcmp(d.name, "new") == 0 && d.ip == 0x0a000005u);
	CHECK(d.family == FP_FAMILY_WINDOWS && d.n_services == 2);
	CHECK(d.services[1].svc == &cfg.customs[0].svc);
	CHECK(!d.mac_explicit && !(d.mac[0] & 1));
	CHECK(d.hostname[0] && d.distro != NULL && d.line == 0);

	struct fleet_kv ip[] = {KV("services", "ssh"), KV("ip", "10.0.0.6"), KV("NMAP-OS", "bsd")};
	CHECK_EQ(fleet_decky_from_kv(&cfg, "x", ip, 3, &d, &err), 0);
	CHECK(d.ip == 0x0a000006u && d.family == FP_FAMILY_BSD);

	struct fleet_kv dup_ip[] = {KV("services", "ssh"), KV("ip", "10.0.0.4")};
	expect_kv_error(&cfg, "x", dup_ip, 2, "duplicate IP 10.0.0.4");
	struct fleet_kv dup_mac[] = {KV("services", "ssh"), KV("mac", "02:00:00:00:00:01")};
	expect_kv_error(&cfg, "x", dup_mac, 2, "duplicate MAC 02:00:00:00:00:01");
	/* a derived MAC of the fleet is taken too */
	char amac[18];
	const uint8_t *m = cfg.deckies[0].mac;
	snprintf(amac, sizeof(amac), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4],
		 m[5]);
	struct fleet_kv dup_dmac[] = {KV("services", "ssh"), KV("mac", amac)};
	expect_kv_error(&cfg, "x", dup_dmac, 2, "duplicate MAC");
	struct fleet_kv svc[] = {KV("services", "ssh")};
	expect_kv_error(&cfg, "b", svc, 1, "duplicate decky name 'b'");
	expect_kv_error(&cfg, "bad name", svc, 1, "bad decky name");
	struct fleet_kv amount[] = {KV("services", "ssh"), KV("amount", "2")};
	expect_kv_error(&cfg, "x", amount, 2, "amount= is only accepted in a config file");
	struct fleet_kv unknown[] = {KV("services", "ssh"), KV("color", "red")};
	expect_kv_error(&cfg, "x", unknown, 2, "unknown key 'color'");
	struct fleet_kv outside[] = {KV("services", "ssh"), KV("ip", "10.0.0.9")};
	expect_kv_error(&cfg, "x", outside, 2, "outside net 10.0.0.0/29");
	struct fleet_kv nosvc[] = {KV("distro", "arch")};
	expect_kv_error(&cfg, "x", nosvc, 1, "needs services= or archetype=");
	struct fleet_kv badsvc[] = {KV("services", "gopher")};
	expect_kv_error(&cfg, "x", badsvc, 1, "unknown service 'gopher'");

	/* /29: .2 .3 .4 .5 .6 usable; fill .5 and .6, then it is full */
	fleet_config_free(&cfg);
	const char *full = "[general]\nnet = 10.0.0.0/29\ngw = 10.0.0.1\n"
			   "[a]\nservices = ssh\namount = 5\n";
	CHECK_EQ(fleet_load_buffer("live.ini", full, strlen(full), &cfg, &err), 0);
	expect_kv_error(&cfg, "x", svc, 1, "no free address left in 10.0.0.0/29");
	fleet_config_free(&cfg);
}

static void load_example(const char *name, struct fleet_config *cfg, int *rc)
{
	const char *src = getenv("DECNET_SRC");
	char path[1024], msg[600];
	struct fleet_error err;
	snprintf(path, sizeof(path), "%s/examples/%s", src ? src : ".", name);
	*rc = fleet_load_file(path, cfg, &err);
	if (*rc) {
		fleet_error_format(&err, msg, sizeof(msg));
		fprintf(stderr, "    %s\n", msg);
	}
}

void test_examples(void)
{
	struct fleet_config cfg;
	int rc;
	load_example("demo.ini", &cfg, &rc);
	CHECK_EQ(rc, 0);
	CHECK_EQ(cfg.n_deckies, 8);
	unsigned families = 0;
	for (size_t i = 0; i < cfg.n_deckies; i++) {
		CHECK_EQ(cfg.deckies[i].ip, 0x0a4d000au + i); /* 10.77.0.10 .. 17 */
		families |= 1u << cfg.deckies[i].family;
	}
	CHECK_EQ(families, (1u << FP_FAMILY_COUNT) - 1); /* all five families */
	CHECK(cfg.net == 0x0a4d0000u && cfg.prefix == 24 && cfg.gw == 0x0a4d0001u);
	fleet_config_free(&cfg);

	load_example("test-full.ini", &cfg, &rc);
	CHECK_EQ(rc, 0);
	CHECK(cfg.net == 0x0a4d0000u && cfg.prefix == 24 && cfg.gw == 0x0a4d0001u);
	CHECK_EQ(cfg.n_customs, 1);
	/* every one of the 25 services runs somewhere, and every service
	 * that accepts persona keys gets a persona somewhere */
	size_t ns;
	const struct fleet_service *all = fleet_services(&ns);
	for (size_t s = 0; s < ns; s++) {
		bool runs = false, persona = false;
		for (size_t i = 0; i < cfg.n_deckies; i++) {
			for (unsigned j = 0; j < cfg.deckies[i].n_services; j++) {
				if (cfg.deckies[i].services[j].svc != &all[s])
					continue;
				runs = true;
				persona |= cfg.deckies[i].services[j].n_persona > 0;
			}
		}
		CHECK(runs);
		CHECK(persona || all[s].persona_keys[0] == NULL);
		if (!runs || !(persona || all[s].persona_keys[0] == NULL))
			fprintf(stderr, "    test-full.ini: service %s\n", all[s].slug);
	}
	bool byos = false;
	for (size_t i = 0; i < cfg.n_deckies; i++)
		for (unsigned j = 0; j < cfg.deckies[i].n_services; j++)
			byos |= cfg.n_customs && cfg.deckies[i].services[j].svc == &cfg.customs[0].svc;
	CHECK(byos);
	fleet_config_free(&cfg);
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static double timed_load(const char *ini, struct fleet_config *cfg)
{
	struct fleet_error err;
	double t0 = now_ms();
	int r = load_text(ini, cfg, &err);
	double t = now_ms() - t0;
	CHECK_EQ(r, 0);
	return t;
}

void test_scale(void)
{
	struct fleet_config cfg;
	/* Baseline in the same run: 1 000 deckies, to show the cost per
	 * decky stays flat (a quadratic check would make it grow 100x). */
	double small = timed_load("[general]\nnet = 10.0.0.0/15\ngw = 10.0.0.1\n"
				  "[a]\narchetype = linux-server\namount = 1000\n", &cfg);
	CHECK_EQ(cfg.n_deckies, 1000);
	fleet_config_free(&cfg);
	const char *big = "[general]\nnet = 10.0.0.0/15\ngw = 10.0.0.1\n"
			  "[a]\narchetype = linux-server\namount = 65536\n"
			  "[a.http]\nserver_header = nginx\n"
			  "[b]\nservices = ssh, smb\nnmap_os = windows\namount = 34464\n";
	double t = timed_load(big, &cfg);
	CHECK_EQ(cfg.n_deckies, FLEET_MAX_DECKIES);
	printf("# fleet: 100000 deckies loaded in %.1f ms (%.2f us/decky; 1000 deckies: %.2f "
	       "us/decky, ratio %.2f)\n",
	       t, t * 1e3 / 1e5, small * 1e3 / 1e3, (t / 1e5) / (small / 1e3));
	if (cfg.n_deckies != FLEET_MAX_DECKIES)
		goto out;
	CHECK(strcmp(cfg.deckies[65535].name, "a-65536") == 0);
	CHECK(strcmp(cfg.deckies[99999].name, "b-34464") == 0);
	CHECK(cfg.deckies[65535].services[1].persona == cfg.deckies[0].services[1].persona);
	/* IPs strictly increasing (so unique), the gateway never handed out;
	 * MACs all unique and unicast even where name hashes collide. */
	uint64_t *macs = malloc(cfg.n_deckies * sizeof(*macs));
	bool ip_ok = true, mac_ok = macs != NULL;
	for (size_t i = 0; i < cfg.n_deckies; i++) {
		const struct fleet_decky *d = &cfg.deckies[i];
		if (d->ip == cfg.gw || (i && d->ip <= cfg.deckies[i - 1].ip))
			ip_ok = false;
		if (macs) {
			macs[i] = 0;
			for (int k = 0; k < 6; k++)
				macs[i] = macs[i] << 8 | d->mac[k];
			mac_ok &= !(d->mac[0] & 1);
		}
	}
	CHECK(ip_ok);
	CHECK_EQ(cfg.deckies[0].ip, 0x0a000002u);
	CHECK_EQ(cfg.deckies[99999].ip, 0x0a000002u + 99999);
	if (macs) {
		qsort(macs, cfg.n_deckies, sizeof(*macs), cmp_u64);
		for (size_t i = 1; i < cfg.n_deckies; i++)
			mac_ok &= macs[i] != macs[i - 1];
	}
	CHECK(mac_ok);
	free(macs);
out:
	fleet_config_free(&cfg);
}
