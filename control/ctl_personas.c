/* decnet personas: what nmap_os= can name. Lists nmap-os-db entries (read
 * from nmap's installed database at run time) with their family as DECNET
 * maps it and nmap's Class lines, and the entry each family name stands
 * for. --search filters by a case-insensitive substring of the name and,
 * with --classes, of the Class and CPE text. */
#include "control/ctl_tables.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "fingerprints/fp_osdb.h"
#include "fingerprints/fp_osmatch.h"
#include "fingerprints/fp_persona.h"
#include "fleet/fleet.h"

struct list_ctx {
	FILE *out;
	cJSON *arr;
	unsigned limit, shown;
	size_t matched;
};

static void class_text(const struct fp_osdb *db, size_t idx, size_t k, char *buf, size_t len)
{
	struct fp_osdb_class c;
	if (fp_osdb_class(db, idx, k, &c) != 0) {
		buf[0] = 0;
		return;
	}
	snprintf(buf, len, "%s | %s | %s | %s", c.vendor ? c.vendor : "", c.family ? c.family : "",
		 c.gen ? c.gen : "", c.type ? c.type : "");
}

static int on_entry(const struct fp_osdb *db, size_t idx, void *arg)
{
	struct list_ctx *c = arg;
	c->matched++;
	if (c->limit && c->shown >= c->limit)
		return 0;
	c->shown++;
	const char *name = fp_osdb_name(db, idx);
	size_t variants = fp_osdb_variants(db, name);
	const char *fam = fp_family_info(fp_persona_family_of(db, idx))->name;
	char cls[256];
	class_text(db, idx, 0, cls, sizeof(cls));
	if (c->arr) {
		cJSON *j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "name", name);
		cJSON_AddNumberToObject(j, "variants", (double)variants);
		cJSON_AddStringToObject(j, "family", fam);
		cJSON *classes = cJSON_AddArrayToObject(j, "classes");
		for (size_t k = 0; k < fp_osdb_class_count(db, idx); k++) {
			class_text(db, idx, k, cls, sizeof(cls));
			cJSON_AddItemToArray(classes, cJSON_CreateString(cls));
		}
		cJSON *cpes = cJSON_AddArrayToObject(j, "cpe");
		for (size_t k = 0; k < fp_osdb_cpe_count(db, idx); k++) {
			struct fp_osdb_cpe cpe;
			if (fp_osdb_cpe(db, idx, k, &cpe) == 0)
				cJSON_AddItemToArray(cpes, cJSON_CreateString(cpe.cpe));
		}
		cJSON_AddItemToArray(c->arr, j);
	} else {
		char v[32] = "";
		if (variants > 1)
			snprintf(v, sizeof(v), "(#1..#%zu)", variants);
		fprintf(c->out, "%-60.60s %-10s %-8s %s\n", name, v, fam, cls);
	}
	return 0;
}

struct explain_ctx {
	FILE *out;
	unsigned misses;
};

static void on_explain(void *ctx, unsigned test, unsigned attr, const char *value, const char *expr,
		       int points, bool matched)
{
	struct explain_ctx *c = ctx;
	if (matched)
		return;
	c->misses++;
	fprintf(c->out, "  %s.%s = %s, the entry wants %s (%d points)\n", fp_vocab_test_name(test),
		fp_vocab_attr_name(attr), value, expr, points);
}

/* --explain FILE --name NAME: why nmap's fingerprint in FILE (nmap's
 * "OS:" lines or one test per line) is not a perfect match for NAME. */
static int explain(struct fp_osdb *db, const char *file, const char *name, FILE *out)
{
	FILE *f = fopen(file, "r");
	if (!f) {
		fprintf(stderr, "decnet personas: %s: %s\n", file, strerror(errno));
		return 1;
	}
	static char text[1 << 16];
	size_t len = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[len] = 0;
	struct fp_subject subj;
	char err[256];
	if (fp_subject_parse(text, len, &subj, err, sizeof(err)) != 0) {
		fprintf(stderr, "decnet personas: %s: %s\n", file, err);
		return 1;
	}
	size_t idx;
	/* a family stands for its entry */
	for (unsigned fam = 0; fam < FP_FAMILY_COUNT; fam++)
		if (strcmp(name, fp_family_info(fam)->name) == 0 && fp_persona_family_entry_name(fam))
			name = fp_persona_family_entry_name(fam);
	char base[FLEET_OS_MAX];
	unsigned variant;
	if (fp_osdb_split_variant(name, base, sizeof(base), &variant) != 0 ||
	    fp_osdb_find(db, base, variant, &idx) != 0) {
		fprintf(stderr, "decnet personas: no entry '%s'\n", name);
		return 1;
	}
	struct fp_osmatch_score sc;
	fp_osmatch_score(db, idx, &subj, FP_EXPR_NMAP793, &sc);
	fprintf(out, "%s: %u of %u points (%.1f %%)%s\n", name, sc.matched, sc.possible, 100.0 * sc.accuracy,
		sc.perfect ? ", a perfect match" : "");
	struct explain_ctx c = {.out = out};
	fp_osmatch_explain(db, idx, &subj, FP_EXPR_NMAP793, on_explain, &c);
	return 0;
}

int ctl_cmd_personas(int argc, char **argv, FILE *out)
{
	const char *explain_file = NULL, *explain_name = NULL;
	const char *search = "", *path = NULL;
	bool json = false, classes = false;
	unsigned long limit = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			json = true;
		} else if (strcmp(argv[i], "--classes") == 0) {
			classes = true;
		} else if (strcmp(argv[i], "--search") == 0 && i + 1 < argc) {
			search = argv[++i];
		} else if (strcmp(argv[i], "--explain") == 0 && i + 1 < argc) {
			explain_file = argv[++i];
		} else if (strcmp(argv[i], "--name") == 0 && i + 1 < argc) {
			explain_name = argv[++i];
		} else if (strcmp(argv[i], "--db") == 0 && i + 1 < argc) {
			path = argv[++i];
		} else if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc) {
			char *end;
			limit = strtoul(argv[++i], &end, 10);
			if (*end) {
				fprintf(stderr, "decnet personas: --limit: expected a number\n");
				return 2;
			}
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fprintf(out,
				"Usage: decnet personas [--search TEXT] [--classes] [--limit N] [--json] [--db PATH]\n"
				"\n"
				"What nmap_os= accepts: the five families (each stands for one real entry,\n"
				"listed first) or any exact Fingerprint name of nmap's OS database. Names that\n"
				"repeat are chosen with NAME#N (N-th entry of that name; plain NAME = #1).\n"
				"  --search TEXT  case-insensitive substring of the name\n"
				"  --classes      search vendor/family/type and CPE text too\n"
				"  --db PATH      nmap-os-db to read (default: nmap's, or $DECNET_NMAP_OS_DB)\n"
				"  --explain FILE --name NAME\n"
				"                 score the fingerprint nmap printed (FILE: its OS: lines)\n"
				"                 against entry NAME with nmap's rules, listing each miss\n");
			return 0;
		} else {
			fprintf(stderr, "decnet personas: unknown option %s (see --help)\n", argv[i]);
			return 2;
		}
	}
	struct fleet_osdb_resolver res;
	fleet_osdb_resolver_init(&res, path);
	char err[400];
	struct fp_osdb *db = fleet_osdb_resolver_db(&res, err, sizeof(err));
	if (!db) {
		fprintf(stderr, "decnet personas: %s\n", err);
		fleet_osdb_resolver_free(&res);
		return 1;
	}
	if (explain_file || explain_name) {
		int rc = explain_file && explain_name ? explain(db, explain_file, explain_name, out) : 2;
		if (rc == 2)
			fprintf(stderr, "decnet personas: --explain FILE needs --name NAME\n");
		fleet_osdb_resolver_free(&res);
		return rc;
	}
	struct list_ctx c = {.out = out, .limit = (unsigned)limit};
	cJSON *root = NULL;
	if (json) {
		root = cJSON_CreateObject();
		cJSON *fams = cJSON_AddObjectToObject(root, "families");
		for (unsigned f = 0; f < FP_FAMILY_COUNT; f++)
			cJSON_AddStringToObject(fams, fp_family_info(f)->name, fp_persona_family_entry_name(f));
		c.arr = cJSON_AddArrayToObject(root, "entries");
	} else {
		fprintf(out, "Families (nmap_os = NAME):\n");
		for (unsigned f = 0; f < FP_FAMILY_COUNT; f++)
			fprintf(out, "  %-9s -> %s\n", fp_family_info(f)->name, fp_persona_family_entry_name(f));
		fprintf(out, "\n%-60s %-10s %-8s %s\n", "ENTRY (nmap_os = exact name)", "VARIANTS", "FAMILY",
			"CLASS");
	}
	unsigned flags = FP_OSDB_SEARCH_FIRST_VARIANT | (classes ? FP_OSDB_SEARCH_CLASSES | FP_OSDB_SEARCH_CPE : 0);
	fp_osdb_search(db, search, flags, on_entry, &c);
	int rc = 0;
	if (json) {
		cJSON_AddNumberToObject(root, "matched", (double)c.matched);
		char *s = cJSON_PrintUnformatted(root);
		if (!s || fprintf(out, "%s\n", s) < 0)
			rc = 1;
		free(s);
		cJSON_Delete(root);
	} else {
		fprintf(out, "\n%zu names%s%s%s", c.matched, *search ? " matching '" : "", search,
			*search ? "'" : "");
		if (c.limit && c.matched > c.shown)
			fprintf(out, " (first %u shown)", c.shown);
		fprintf(out, "\n");
	}
	fleet_osdb_resolver_free(&res);
	return rc;
}
