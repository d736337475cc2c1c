/* Layout of a loaded fp_osdb, shared by the files of the fingerprints
 * module only (fp_osdb*.c, fp_osmatch.c). Everything is an index into one
 * of a few flat arrays, so the whole database is a handful of allocations:
 *
 *   entries[]  --first_test-->  entry_tests[] (distinct-line ids, by test id)
 *   lines[]    --first_av---->  avs[] (attribute id + expression id)
 *   exprs[]    --first_alt--->  alts[] (compiled alternatives)
 *   every string -------------> pool (interned, NUL-terminated)
 */
#ifndef FP_OSDB_INTERNAL_H
#define FP_OSDB_INTERNAL_H

#include "fingerprints/fp_osdb.h"

#define FP_OSDB_NONE UINT32_MAX

/* An attribute slot of a test line: attribute id in the top 6 bits,
 * expression id in the low 26 (67M distinct expressions). */
#define FP_AV_ATTR_SHIFT 26
#define FP_AV_EXPR_MASK ((1u << FP_AV_ATTR_SHIFT) - 1)
#define FP_AV_MAKE(attr, expr) (((uint32_t)(attr) << FP_AV_ATTR_SHIFT) | (expr))
#define FP_AV_ATTR(av) ((unsigned)((av) >> FP_AV_ATTR_SHIFT))
#define FP_AV_EXPR(av) ((av) & FP_AV_EXPR_MASK)

struct fp_osdb_entry_rec {
	uint32_t name;        /* pool offset */
	uint32_t lineno;
	uint32_t first_class; /* into classes[] */
	uint32_t first_cpe;   /* into cpes[] */
	uint32_t first_test;  /* into entry_tests[] */
	uint16_t n_classes, n_cpes;
	uint8_t n_tests;
	uint8_t reserved[3];
};

struct fp_osdb_class_rec {
	uint32_t vendor, family, gen, type; /* pool offsets; gen may be NONE */
};

struct fp_osdb_cpe_rec {
	uint32_t cpe;
	uint16_t class_idx; /* relative to the entry's first class */
	uint16_t is_auto;
};

struct fp_osdb_line_rec {
	uint32_t first_av; /* into avs[] */
	uint8_t n_av;
	uint8_t test;
	uint16_t reserved;
};

struct fp_osdb_expr_rec {
	uint32_t text;      /* pool offset */
	uint32_t first_alt; /* into alts[] */
	uint16_t len, n_alts;
};

struct fp_osdb {
	char *pool;
	struct fp_osdb_entry_rec *entries;
	struct fp_osdb_class_rec *classes;
	struct fp_osdb_cpe_rec *cpes;
	uint32_t *entry_tests;
	struct fp_osdb_line_rec *lines;
	uint32_t *avs;
	struct fp_osdb_expr_rec *exprs;
	struct fp_alt *alts;
	uint32_t *by_name; /* entry indices sorted by (name, index) */
	size_t n_pool, n_entries, n_classes, n_cpes, n_entry_tests, n_lines, n_avs,
		n_exprs, n_alts;
	int16_t points[FP_TEST_COUNT][FP_ATTR_COUNT]; /* -1: no weight */
	unsigned skipped_tests, skipped_attrs;
};

static inline void fp_osdb_expr_view(const struct fp_osdb *db, uint32_t id,
				     struct fp_expr *out)
{
	const struct fp_osdb_expr_rec *e = &db->exprs[id];

	out->text = db->pool + e->text;
	out->len = e->len;
	out->n_alts = e->n_alts;
	out->alts = db->alts + e->first_alt;
}

/* Distinct-line id of an entry's test, or FP_OSDB_NONE. */
uint32_t fp_osdb_entry_line(const struct fp_osdb *db, size_t idx, unsigned test);

/* Builds by_name after loading (fp_osdb_query.c). */
int fp_osdb_index_names(struct fp_osdb *db);

#endif
