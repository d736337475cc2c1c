/* nmap_os= values beyond the five families: exact nmap-os-db entry names,
 * resolved against nmap's installed database (never a copy of ours). */
#include "fleet/fleet.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decnet_config.h"
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

/* "NAME#N": the N-th entry of that name (1-based); plain "NAME": the first. */
static int split_variant(const char *value, char *name, size_t len, unsigned *variant)
{
	const char *hash = strrchr(value, '#');
	*variant = 0;
	if (hash && hash[1]) {
		char *end;
		unsigned long n = strtoul(hash + 1, &end, 10);
		if (!*end && n >= 1 && n <= 100000) {
			size_t l = (size_t)(hash - value);
			if (l >= len)
				return -ENAMETOOLONG;
			memcpy(name, value, l);
			name[l] = 0;
			*variant = (unsigned)(n - 1);
			return 0;
		}
	}
	if (strlen(value) >= len)
		return -ENAMETOOLONG;
	snprintf(name, len, "%s", value);
	return 0;
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
	if (split_variant(value, name, sizeof(name), &variant) != 0) {
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

void fleet_osdb_resolver_init(struct fleet_osdb_resolver *res, const char *path)
{
	memset(res, 0, sizeof(*res));
	const char *env = getenv("DECNET_NMAP_OS_DB");
	snprintf(res->path, sizeof(res->path), "%s", path ? path : env && *env ? env : DECNET_NMAP_OS_DB);
	res->r.resolve = resolve;
	res->r.ctx = res;
}

void fleet_osdb_resolver_free(struct fleet_osdb_resolver *res)
{
	fp_osdb_free(res->db);
	res->db = NULL;
}

int fleet_osdb_resolver_entry(struct fleet_osdb_resolver *res, const char *value, size_t *idx)
{
	char err[64], name[FLEET_OS_MAX];
	unsigned variant;
	struct fp_osdb *db = fleet_osdb_resolver_db(res, err, sizeof(err));
	if (!db)
		return -ENOENT;
	if (split_variant(value, name, sizeof(name), &variant) != 0)
		return -ENOENT;
	return fp_osdb_find(db, name, variant, idx);
}
