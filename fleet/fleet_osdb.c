/* nmap_os= values beyond the five families: exact nmap-os-db entry names,
 * resolved against nmap's installed database (never a copy of ours). */
#include "fleet/fleet.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decnet_config.h"
#include "fingerprints/fp_macdb.h"
#include "fingerprints/fp_osdb.h"
#include "fingerprints/fp_persona.h"

struct fp_osdb *fleet_osdb_resolver_db(struct fleet_osdb_resolver *res, char *err, size_t errlen)
{
	if (res->db)
		return res->db;
	if (!res->load_rc) {
		res->load_rc = fp_osdb_load(res->path, &res->db, res->load_err, sizeof(res->load_err));
		if (res->load_rc)
			res->db = NULL;
	}
	if (!res->db)
		snprintf(err, errlen, "nmap's OS database unavailable: %s (install nmap)", res->load_err);
	return res->db;
}

static int resolve(void *ctx, const char *value, char canon[FLEET_OS_MAX], enum fp_family *family,
		   char *hint, size_t hintlen)
{
	struct fleet_osdb_resolver *res = ctx;
	struct fp_osdb *db = fleet_osdb_resolver_db(res, hint, hintlen);
	if (!db)
		return -ENOENT;
	char name[FLEET_OS_MAX];
	unsigned variant;
	size_t idx;
	if (fp_osdb_split_variant(value, name, sizeof(name), &variant) != 0) {
		snprintf(hint, hintlen, "too long for an nmap-os-db name");
		return -ENOENT;
	}
	if (fp_osdb_find(db, name, variant, &idx) == 0) {
		*family = fp_persona_family_of(db, idx);
		snprintf(canon, FLEET_OS_MAX, "%s", value);
		return 0;
	}
	size_t n = fp_osdb_variants(db, name);
	if (n) {
		snprintf(hint, hintlen, "'%s' has %zu entries in nmap-os-db (#1..#%zu)", name, n, n);
		return -ENOENT;
	}
	size_t sugg[3];
	size_t k = fp_osdb_suggest(db, name, sugg, 3);
	if (!k) {
		snprintf(hint, hintlen, "not in nmap-os-db (try: decnet personas --search WORD)");
		return -ENOENT;
	}
	size_t off = (size_t)snprintf(hint, hintlen, "did you mean ");
	for (size_t i = 0; i < k && off < hintlen; i++)
		off += (size_t)snprintf(hint + off, hintlen - off, "%s'%s'", i ? ", " : "",
					fp_osdb_name(db, sugg[i]));
	return -ENOENT;
}

/* nmap-mac-prefixes beside the nmap-os-db, loaded once; NULL when it
 * cannot be (macdb_err says why). */
static struct fp_macdb *resolver_macdb(struct fleet_osdb_resolver *res)
{
	if (!res->macdb && !res->macdb_rc) {
		char path[sizeof(res->path) + 32];
		res->macdb_rc = fp_macdb_path_beside(res->path, path, sizeof(path));
		if (res->macdb_rc)
			snprintf(res->macdb_err, sizeof(res->macdb_err), "path too long");
		else
			res->macdb_rc = fp_macdb_load(path, &res->macdb, res->macdb_err,
						      sizeof(res->macdb_err));
	}
	return res->macdb;
}

/* The OUIs of vendor into the one-vendor cache. 0 or -ENOMEM. */
static int vendor_ouis(struct fleet_osdb_resolver *res, const char *vendor)
{
	if (res->ouis && strcmp(res->oui_vendor, vendor) == 0)
		return 0;
	free(res->ouis);
	res->ouis = NULL;
	res->n_ouis = 0;
	res->oui_vendor[0] = 0;
	size_t n = fp_macdb_vendor_ouis(res->macdb, vendor, NULL, 0, NULL);
	res->ouis = malloc((n ? n : 1) * sizeof(*res->ouis));
	if (!res->ouis)
		return -ENOMEM;
	res->n_ouis = fp_macdb_vendor_ouis(res->macdb, vendor, res->ouis, n, NULL);
	snprintf(res->oui_vendor, sizeof(res->oui_vendor), "%s", vendor);
	return 0;
}

static int vendor_oui(void *ctx, const char *value, uint64_t pick, uint8_t oui[3])
{
	struct fleet_osdb_resolver *res = ctx;
	struct fp_osdb_class cls;
	size_t idx;
	if (fleet_osdb_resolver_entry(res, value, &idx) != 0 ||
	    fp_osdb_class(res->db, idx, 0, &cls) != 0 || !cls.vendor) {
		res->mac.no_match++;
		return -ENOENT;
	}
	if (fp_macdb_os_vendor(cls.vendor)) {
		res->mac.os_vendor++;
		return -ENOENT;
	}
	if (!resolver_macdb(res)) {
		res->mac.no_file++;
		return -ENOENT;
	}
	if (vendor_ouis(res, cls.vendor) != 0 || !res->n_ouis) {
		res->mac.no_match++;
		return -ENOENT;
	}
	memcpy(oui, res->ouis[(pick >> 40) % res->n_ouis], 3);
	res->mac.vendor++;
	return 0;
}

void fleet_osdb_resolver_init(struct fleet_osdb_resolver *res, const char *path)
{
	memset(res, 0, sizeof(*res));
	const char *env = getenv("DECNET_NMAP_OS_DB");
	snprintf(res->path, sizeof(res->path), "%s", path ? path : env && *env ? env : DECNET_NMAP_OS_DB);
	res->r.resolve = resolve;
	res->r.vendor_oui = vendor_oui;
	res->r.ctx = res;
}

void fleet_osdb_resolver_free(struct fleet_osdb_resolver *res)
{
	fp_osdb_free(res->db);
	res->db = NULL;
	fp_macdb_free(res->macdb);
	res->macdb = NULL;
	free(res->ouis);
	res->ouis = NULL;
	res->n_ouis = 0;
}

int fleet_osdb_resolver_entry(struct fleet_osdb_resolver *res, const char *value, size_t *idx)
{
	char err[64], name[FLEET_OS_MAX];
	unsigned variant;
	struct fp_osdb *db = fleet_osdb_resolver_db(res, err, sizeof(err));
	if (!db)
		return -ENOENT;
	if (fp_osdb_split_variant(value, name, sizeof(name), &variant) != 0)
		return -ENOENT;
	return fp_osdb_find(db, name, variant, idx);
}
