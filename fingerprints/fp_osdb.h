/* fp_osdb: nmap's OS fingerprint database (nmap-os-db), loaded at run time
 * from the file nmap installs, never copied into our tree.
 *
 * The file is a MatchPoints block (how many points each test attribute is
 * worth) followed by thousands of entries:
 *
 *     Fingerprint Linux 2.6.32
 *     Class Linux | Linux | 2.6.X | general purpose
 *     CPE cpe:/o:linux:linux_kernel:2.6.32 auto
 *     SEQ(SP=0-5%GCD=1-6%...)
 *     ... OPS WIN ECN T1..T7 U1 IE ...
 *
 * An entry's test lines hold expressions (fp_expr.h). The database is kept
 * compact because personas are compiled from many entries: all text lives
 * in one interned string pool, expressions are compiled once per distinct
 * text, and whole test lines are shared between entries (nmap-os-db 7.93:
 * 5678 entries, ~74k test lines but only ~15k distinct ones, ~7k distinct
 * expressions).
 *
 * Names repeat (508 names in 7.93 have several entries, "Microsoft Windows
 * XP SP3" has 116): each entry of a repeated name is a "variant". Variants
 * are numbered 0, 1, ... in file order, and a lookup by name alone always
 * picks variant 0, the first in the file. Every entry also has a stable
 * index (its position in the file), which is the unambiguous handle.
 *
 * A loaded database is immutable: every accessor is read-only and safe to
 * call from several threads. Returned strings live as long as the db.
 */
#ifndef FP_OSDB_H
#define FP_OSDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fingerprints/fp_expr.h"
#include "fingerprints/fp_vocab.h"

struct fp_osdb;

/* Limits (memcaps) applied while loading; exceeding one fails the load. */
#define FP_OSDB_MAX_BYTES (256u << 20) /* input size */
#define FP_OSDB_MAX_LINE 8192          /* bytes per line */
#define FP_OSDB_MAX_ENTRIES 1000000
#define FP_OSDB_MAX_CLASSES 1024       /* Class or CPE lines per entry */

struct fp_osdb_class {
	const char *vendor; /* "Linux", "Microsoft", ... */
	const char *family; /* "Linux", "Windows", "embedded", ... */
	const char *gen;    /* "2.6.X"; NULL when the line leaves it empty */
	const char *type;   /* "general purpose", "router", ... */
};

struct fp_osdb_cpe {
	const char *cpe;    /* "cpe:/o:linux:linux_kernel:2.6.32" */
	unsigned class_idx; /* the Class line it follows, as nmap pairs them */
	bool is_auto;       /* flagged "auto" (generated, not hand-checked) */
};

struct fp_osdb_stats {
	size_t entries, classes, cpes;
	size_t test_lines, distinct_test_lines;
	size_t attrs, distinct_attr_slots; /* attribute=expression pairs */
	size_t exprs, alts;                /* distinct compiled expressions */
	size_t pool_bytes;                 /* interned text */
	size_t memory_bytes;               /* everything the db holds */
	unsigned skipped_tests, skipped_attrs; /* names this build does not know */
};

/* Load the database at path (e.g. DECNET_NMAP_OS_DB). On success returns 0
 * and *out owns the db (fp_osdb_free). On failure returns -errno (-ENOENT
 * missing file, -EINVAL malformed content, -E2BIG a limit above, -ENOMEM)
 * and writes "PATH:LINE: what" (or "PATH: what") to err. */
int fp_osdb_load(const char *path, struct fp_osdb **out, char *err, size_t errlen);

/* Same from memory: buf need not be NUL-terminated and is not kept.
 * origin names the buffer in error messages. A MatchPoints block is
 * required; entries are optional. Bytes that are not valid nmap-os-db
 * text fail cleanly: this is the fuzzing surface. */
int fp_osdb_load_buffer(const char *buf, size_t len, const char *origin,
			struct fp_osdb **out, char *err, size_t errlen);

void fp_osdb_free(struct fp_osdb *db);

void fp_osdb_get_stats(const struct fp_osdb *db, struct fp_osdb_stats *st);

/* Entries, by index in file order: 0 .. fp_osdb_count() - 1. Out-of-range
 * indices return NULL / 0 / -ENOENT. */
size_t fp_osdb_count(const struct fp_osdb *db);
const char *fp_osdb_name(const struct fp_osdb *db, size_t idx);
unsigned fp_osdb_lineno(const struct fp_osdb *db, size_t idx); /* of "Fingerprint" */

size_t fp_osdb_class_count(const struct fp_osdb *db, size_t idx);
int fp_osdb_class(const struct fp_osdb *db, size_t idx, size_t k, struct fp_osdb_class *out);
size_t fp_osdb_cpe_count(const struct fp_osdb *db, size_t idx);
int fp_osdb_cpe(const struct fp_osdb *db, size_t idx, size_t k, struct fp_osdb_cpe *out);

/* Tests and attributes of an entry. Attributes come in file order. */
bool fp_osdb_has_test(const struct fp_osdb *db, size_t idx, unsigned test);
size_t fp_osdb_attr_count(const struct fp_osdb *db, size_t idx, unsigned test);
int fp_osdb_attr(const struct fp_osdb *db, size_t idx, unsigned test, size_t k,
		 unsigned *attr, struct fp_expr *expr);
/* The expression for one attribute: 0, or -ENOENT when the entry's test
 * has no such attribute (or the entry lacks the test). */
int fp_osdb_expr(const struct fp_osdb *db, size_t idx, unsigned test, unsigned attr,
		 struct fp_expr *expr);

/* One concrete value satisfying the entry's test.attr expression
 * (fp_expr_example), except that T takes TG's value when TG's value
 * satisfies T: a host sends its real initial TTL, not the low end of the
 * range nmap tolerates. Writes it NUL-terminated to buf; returns its
 * length, -ENOENT (no such attribute, or nothing satisfies it), -ENOSPC.
 * Implemented in fp_osmatch.c next to the subject it seeds. */
int fp_osdb_example_value(const struct fp_osdb *db, size_t idx, unsigned test,
			  unsigned attr, char *buf, size_t buflen);

/* MatchPoints weight of an attribute, or -ENOENT when the block gives none
 * (nmap 7.93 would abort; fp_osmatch scores such attributes as 0). */
int fp_osdb_points(const struct fp_osdb *db, unsigned test, unsigned attr);

/* Exact (case-sensitive) name lookup. variant 0 is the first entry of that
 * name in the file; 1 the second, ... Returns 0 and sets *idx, or -ENOENT. */
int fp_osdb_find(const struct fp_osdb *db, const char *name, unsigned variant, size_t *idx);
/* "NAME#N" (N-th entry of NAME, 1-based, as nmap_os= takes it) into NAME
 * and variant N-1; anything else is a plain NAME, variant 0. 0, or
 * -ENAMETOOLONG when NAME does not fit len. */
int fp_osdb_split_variant(const char *value, char *name, size_t len, unsigned *variant);
/* How many entries carry this exact name (0 when unknown). */
size_t fp_osdb_variants(const struct fp_osdb *db, const char *name);
/* Which variant of its name the entry at idx is. */
unsigned fp_osdb_variant_of(const struct fp_osdb *db, size_t idx);

enum {
	FP_OSDB_SEARCH_CLASSES = 1 << 0, /* also vendor, family, gen, type */
	FP_OSDB_SEARCH_CPE = 1 << 1,     /* also CPE strings */
	FP_OSDB_SEARCH_FIRST_VARIANT = 1 << 2, /* report each name once */
};

/* Called per matching entry in file order; return nonzero to stop. */
typedef int (*fp_osdb_search_cb)(const struct fp_osdb *db, size_t idx, void *ctx);

/* Case-insensitive substring search over names (and what flags add). An
 * empty text matches everything. Returns the number of entries reported. */
size_t fp_osdb_search(const struct fp_osdb *db, const char *text, unsigned flags,
		      fp_osdb_search_cb cb, void *ctx);

/* "Unknown name, did you mean ...": up to max distinct names closest to
 * text, best first, as the index of each name's variant 0. Closeness is
 * word overlap (whole words, prefixes, one-typo words; case-insensitive),
 * then edit distance of the whole names. Names sharing nothing with text
 * and far from it by edit distance are not suggested. Returns the count. */
size_t fp_osdb_suggest(const struct fp_osdb *db, const char *text, size_t *idx_out,
		       size_t max);

#endif
