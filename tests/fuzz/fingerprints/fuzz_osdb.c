/* Fuzz nmap-os-db loading: arbitrary bytes must load or fail cleanly, and
 * whatever loads must survive every read-only question and a round of
 * matching (example subjects scored against themselves). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "fingerprints/fp_osdb.h"
#include "fingerprints/fp_osmatch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count_cb(const struct fp_osdb *db, size_t idx, void *ctx)
{
	(void)db, (void)idx;
	(*(size_t *)ctx)++;
	return 0;
}

static void exercise(const struct fp_osdb *db)
{
	static struct fp_subject s;
	struct fp_osdb_stats st;
	size_t n = fp_osdb_count(db), hits = 0, sug[4], found;

	fp_osdb_get_stats(db, &st);
	fp_osdb_search(db, "os", FP_OSDB_SEARCH_CLASSES | FP_OSDB_SEARCH_CPE, count_cb, &hits);
	fp_osdb_search(db, "", FP_OSDB_SEARCH_FIRST_VARIANT, count_cb, &hits);
	fp_osdb_suggest(db, "linux 2.6", sug, 4);
	for (size_t i = 0; i < n && i < 8; i++) {
		struct fp_osmatch_score sc;
		struct fp_osdb_class c;
		struct fp_osdb_cpe cpe;
		const char *name = fp_osdb_name(db, i);

		if (fp_osdb_find(db, name, fp_osdb_variant_of(db, i), &found) == 0 && found != i)
			abort();
		for (size_t k = 0; k < fp_osdb_class_count(db, i); k++)
			fp_osdb_class(db, i, k, &c);
		for (size_t k = 0; k < fp_osdb_cpe_count(db, i); k++)
			fp_osdb_cpe(db, i, k, &cpe);
		if (fp_osmatch_example_subject(db, i, &s, NULL) == 0) {
			fp_osmatch_score(db, i, &s, FP_EXPR_NMAP793, &sc);
			/* An example subject always matches its own entry. */
			if (sc.possible && !sc.perfect)
				abort();
		}
	}
	if (n) {
		struct fp_osmatch_result r;
		fp_osmatch_db(db, &s, FP_EXPR_NMAP793, FP_OSMATCH_GUESS_THRESHOLD, &r);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fp_osdb *db = NULL;
	char err[256];

	if (fp_osdb_load_buffer((const char *)data, size, "fuzz", &db, err, sizeof(err)) == 0) {
		exercise(db);
		fp_osdb_free(db);
	}
	return 0;
}
