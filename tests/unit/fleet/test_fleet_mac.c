/* MACs of exact nmap-os-db personas: an OUI of the Class line's vendor
 * from nmap's own nmap-mac-prefixes (Cisco gear a Cisco OUI, a Brother
 * printer a Brother one), the family's OUI for OS vendors and when the
 * prefixes file is missing, and the same MAC whether a decky comes from
 * the file, decky.add or a reload. Reads the installed nmap data: fails
 * (does not skip) without it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "decnet_config.h"
#include "fingerprints/fp_macdb.h"
#include "tests/unit/fleet/test_fleet.h"

#define CISCO "Cisco 2811 router (IOS 15.1)"
#define BROTHER "Brother DCP-7065DN printer"
#define HP "HP LaserJet 4250 (JetDirect) printer"
#define LINUX "Linux 5.0"

static const char fleet_text[] =
	"[general]\nnet = 10.77.0.0/24\ngw = 10.77.0.1\n"
	"[cisco-1]\nservices = http\nnmap_os = " CISCO "\n"
	"[brother-1]\nservices = http\nnmap_os = " BROTHER "\n"
	"[hp-1]\nservices = http\nnmap_os = " HP "\n"
	"[linux-1]\nservices = http\nnmap_os = " LINUX "\n"
	"[fam-1]\nservices = http\nnmap_os = cisco\n"
	"[grp]\nservices = http\nnmap_os = " CISCO "\namount = 3\n";

static const char *db_path(void)
{
	const char *p = getenv("DECNET_NMAP_OS_DB");
	return p && *p ? p : DECNET_NMAP_OS_DB;
}

static int load_with(struct fleet_osdb_resolver *res, const char *text, struct fleet_config *cfg)
{
	struct fleet_error err;
	int r = fleet_load_buffer_ex("t.ini", text, strlen(text), &res->r, cfg, &err);
	if (r)
		fprintf(stderr, "    %s:%u: %s\n", err.file, err.line, err.msg);
	return r;
}

static bool vendor_is(const struct fp_macdb *m, const uint8_t *mac, const char *want)
{
	const char *v = fp_macdb_lookup(m, mac);
	printf("# %02x:%02x:%02x:%02x:%02x:%02x %s\n", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5],
	       v ? v : "(not registered)");
	return v && strncasecmp(v, want, strlen(want)) == 0 && !(mac[0] & 3);
}

static bool family_mac_is(const struct fleet_decky *d)
{
	uint8_t want[6];
	fp_family_mac(d->family, d->name, want);
	return memcmp(want, d->mac, 6) == 0;
}

static void test_vendor_ouis(const struct fp_macdb *m)
{
	struct fleet_osdb_resolver res;
	struct fleet_config cfg;
	fleet_osdb_resolver_init(&res, db_path());
	if (load_with(&res, fleet_text, &cfg) != 0) {
		CHECK(!"fleet loads");
		fleet_osdb_resolver_free(&res);
		return;
	}
	CHECK(vendor_is(m, find_decky(&cfg, "cisco-1")->mac, "Cisco Systems"));
	CHECK(vendor_is(m, find_decky(&cfg, "brother-1")->mac, "Brother Industries"));
	CHECK(vendor_is(m, find_decky(&cfg, "hp-1")->mac, "Hewlett Packard"));
	for (int i = 1; i <= 3; i++) {
		char name[16];
		snprintf(name, sizeof(name), "grp-%02d", i);
		CHECK(vendor_is(m, find_decky(&cfg, name)->mac, "Cisco Systems"));
	}
	/* Linux makes no hardware: the family's OUI, as before. */
	CHECK(family_mac_is(find_decky(&cfg, "linux-1")));
	CHECK(family_mac_is(find_decky(&cfg, "fam-1")));
	CHECK_EQ(res.mac.vendor, 6);
	CHECK_EQ(res.mac.os_vendor, 1);
	CHECK_EQ(res.mac.no_file, 0);

	/* decky.add gets the MAC the file would give. */
	struct fleet_kv kv[] = {{"nmap_os", BROTHER, 0}, {"services", "http", 0}};
	struct fleet_decky added;
	struct fleet_error err;
	CHECK_EQ(fleet_decky_from_kv(&cfg, "brother-2", kv, 2, &added, &err), 0);
	char text2[sizeof(fleet_text) + 128];
	snprintf(text2, sizeof(text2), "%s[brother-2]\nservices = http\nnmap_os = " BROTHER "\n", fleet_text);
	struct fleet_config cfg2;
	CHECK_EQ(load_with(&res, text2, &cfg2), 0);
	CHECK(memcmp(find_decky(&cfg2, "brother-2")->mac, added.mac, 6) == 0);
	CHECK(vendor_is(m, added.mac, "Brother Industries"));
	fleet_config_free(&cfg2);

	/* A restart (a new resolver) or a reload gives every decky its MAC. */
	struct fleet_osdb_resolver res3;
	struct fleet_config cfg3;
	fleet_osdb_resolver_init(&res3, db_path());
	CHECK_EQ(load_with(&res3, fleet_text, &cfg3), 0);
	CHECK_EQ(cfg3.n_deckies, cfg.n_deckies);
	for (size_t i = 0; i < cfg.n_deckies && i < cfg3.n_deckies; i++)
		CHECK(memcmp(cfg.deckies[i].mac, cfg3.deckies[i].mac, 6) == 0);
	fleet_config_free(&cfg3);
	fleet_osdb_resolver_free(&res3);
	fleet_config_free(&cfg);
	fleet_osdb_resolver_free(&res);
}

/* nmap-os-db without nmap-mac-prefixes beside it: family OUIs, counted. */
static void test_no_prefixes_file(void)
{
	char dir[] = "/tmp/decnet-macdb.XXXXXX", link[64];
	if (!mkdtemp(dir)) {
		CHECK(!"mkdtemp");
		return;
	}
	snprintf(link, sizeof(link), "%s/nmap-os-db", dir);
	CHECK_EQ(symlink(db_path(), link), 0);
	struct fleet_osdb_resolver res;
	struct fleet_config cfg;
	fleet_osdb_resolver_init(&res, link);
	if (load_with(&res, fleet_text, &cfg) != 0)
		cfg.n_deckies = 0, CHECK(!"fleet loads");
	for (size_t i = 0; i < cfg.n_deckies; i++)
		CHECK(family_mac_is(&cfg.deckies[i]));
	CHECK_EQ(res.mac.vendor, 0);
	CHECK_EQ(res.mac.no_file, 6);
	CHECK_EQ(res.macdb_rc, -ENOENT);
	printf("# without the prefixes file: %s\n", res.macdb_err);
	fleet_config_free(&cfg);
	fleet_osdb_resolver_free(&res);
	unlink(link);
	rmdir(dir);
}

void test_mac_vendor(void)
{
	char path[512], err[256];
	struct fp_macdb *m = NULL;
	if (fp_macdb_path_beside(db_path(), path, sizeof(path)) != 0 ||
	    fp_macdb_load(path, &m, err, sizeof(err)) != 0) {
		fprintf(stderr, "FAIL: nmap-mac-prefixes: %s (install nmap)\n", err);
		CHECK(!"nmap-mac-prefixes");
		return;
	}
	test_vendor_ouis(m);
	test_no_prefixes_file();
	fp_macdb_free(m);
}
