/* Read-only questions to a loaded fp_osdb: accessors, name lookup with
 * variants, substring search and "did you mean" suggestions. */
#include "fingerprints/fp_osdb_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct fp_osdb_entry_rec *entry(const struct fp_osdb *db, size_t idx)
{
	return idx < db->n_entries ? &db->entries[idx] : NULL;
}

size_t fp_osdb_count(const struct fp_osdb *db)
{
	return db->n_entries;
}

const char *fp_osdb_name(const struct fp_osdb *db, size_t idx)
{
	const struct fp_osdb_entry_rec *e = entry(db, idx);
	return e ? db->pool + e->name : NULL;
}

unsigned fp_osdb_lineno(const struct fp_osdb *db, size_t idx)
{
	const struct fp_osdb_entry_rec *e = entry(db, idx);
	return e ? e->lineno : 0;
}

size_t fp_osdb_class_count(const struct fp_osdb *db, size_t idx)
{
	const struct fp_osdb_entry_rec *e = entry(db, idx);
	return e ? e->n_classes : 0;
}

int fp_osdb_class(const struct fp_osdb *db, size_t idx, size_t k, struct fp_osdb_class *out)
{
	const struct fp_osdb_entry_rec *e = entry(db, idx);
	if (!e || k >= e->n_classes)
		return -ENOENT;
	const struct fp_osdb_class_rec *c = &db->classes[e->first_class + k];
	out->vendor = db->pool + c->vendor;
	out->family = db->pool + c->family;
	out->gen = c->gen == FP_OSDB_NONE ? NULL : db->pool + c->gen;
	out->type = db->pool + c->type;
	return 0;
}

size_t fp_osdb_cpe_count(const struct fp_osdb *db, size_t idx)
{
	const struct fp_osdb_entry_rec *e = entry(db, idx);
	return e ? e->n_cpes : 0;
}

int fp_osdb_cpe(const struct fp_osdb *db, size_t idx, size_t k, struct fp_osdb_cpe *out)
{
	const struct fp_osdb_entry_rec *e = entry(db, idx);
	if (!e || k >= e->n_cpes)
		return -ENOENT;
	const struct fp_osdb_cpe_rec *c = &db->cpes[e->first_cpe + k];
	out->cpe = db->pool + c->cpe;
	out->class_idx = c->class_idx;
	out->is_auto = c->is_auto;
	return 0;
}

uint32_t fp_osdb_entry_line(const struct fp_osdb *db, size_t idx, unsigned test)
{
	const struct fp_osdb_entry_rec *e = entry(db, idx);
	if (!e)
		return FP_OSDB_NONE;
	for (unsigned i = 0; i < e->n_tests; i++) {
		uint32_t id = db->entry_tests[e->first_test + i];
		if (db->lines[id].test == test)
			return id;
	}
	return FP_OSDB_NONE;
}

bool fp_osdb_has_test(const struct fp_osdb *db, size_t idx, unsigned test)
{
	return fp_osdb_entry_line(db, idx, test) != FP_OSDB_NONE;
}

size_t fp_osdb_attr_count(const struct fp_osdb *db, size_t idx, unsigned test)
{
	uint32_t id = fp_osdb_entry_line(db, idx, test);
	return id == FP_OSDB_NONE ? 0 : db->lines[id].n_av;
}

int fp_osdb_attr(const struct fp_osdb *db, size_t idx, unsigned test, size_t k,
		 unsigned *attr, struct fp_expr *expr)
{
	uint32_t id = fp_osdb_entry_line(db, idx, test);
	if (id == FP_OSDB_NONE || k >= db->lines[id].n_av)
		return -ENOENT;
	uint32_t av = db->avs[db->lines[id].first_av + k];
	*attr = FP_AV_ATTR(av);
	fp_osdb_expr_view(db, FP_AV_EXPR(av), expr);
	return 0;
}

int fp_osdb_expr(const struct fp_osdb *db, size_t idx, unsigned test, unsigned attr,
		 struct fp_expr *expr)
{
	uint32_t id = fp_osdb_entry_line(db, idx, test);
	if (id == FP_OSDB_NONE)
		return -ENOENT;
	const struct fp_osdb_line_rec *l = &db->lines[id];
	for (unsigned k = 0; k < l->n_av; k++) {
		uint32_t av = db->avs[l->first_av + k];
		if (FP_AV_ATTR(av) == attr) {
			fp_osdb_expr_view(db, FP_AV_EXPR(av), expr);
			return 0;
		}
	}
	return -ENOENT;
}

int fp_osdb_points(const struct fp_osdb *db, unsigned test, unsigned attr)
{
	if (test >= FP_TEST_COUNT || attr >= FP_ATTR_COUNT || db->points[test][attr] < 0)
		return -ENOENT;
	return db->points[test][attr];
}

void fp_osdb_get_stats(const struct fp_osdb *db, struct fp_osdb_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->entries = db->n_entries;
	st->classes = db->n_classes;
	st->cpes = db->n_cpes;
	st->test_lines = db->n_entry_tests;
	st->distinct_test_lines = db->n_lines;
	for (size_t i = 0; i < db->n_entry_tests; i++)
		st->attrs += db->lines[db->entry_tests[i]].n_av;
	st->distinct_attr_slots = db->n_avs;
	st->exprs = db->n_exprs;
	st->alts = db->n_alts;
	st->pool_bytes = db->n_pool;
	st->memory_bytes = sizeof(*db) + db->n_pool +
		db->n_entries * (sizeof(*db->entries) + sizeof(*db->by_name)) +
		db->n_classes * sizeof(*db->classes) + db->n_cpes * sizeof(*db->cpes) +
		db->n_entry_tests * sizeof(*db->entry_tests) +
		db->n_lines * sizeof(*db->lines) + db->n_avs * sizeof(*db->avs) +
		db->n_exprs * sizeof(*db->exprs) + db->n_alts * sizeof(*db->alts);
	st->skipped_tests = db->skipped_tests;
	st->skipped_attrs = db->skipped_attrs;
}

/* ---- names and variants ------------------------------------------------ */

static int by_name_cmp(const void *a, const void *b, void *ctx)
{
	const struct fp_osdb *db = ctx;
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	uint32_t nx = db->entries[x].name, ny = db->entries[y].name;
	/* Names are interned: equal names share an offset. */
	int d = nx == ny ? 0 : strcmp(db->pool + nx, db->pool + ny);
	if (d)
		return d;
	return x < y ? -1 : x > y;
}

int fp_osdb_index_names(struct fp_osdb *db)
{
	db->by_name = malloc((db->n_entries ? db->n_entries : 1) * sizeof(*db->by_name));
	if (!db->by_name)
		return -ENOMEM;
	for (size_t i = 0; i < db->n_entries; i++)
		db->by_name[i] = (uint32_t)i;
	qsort_r(db->by_name, db->n_entries, sizeof(*db->by_name), by_name_cmp, db);
	return 0;
}

/* First position in by_name whose name is >= name. */
static size_t lower_bound(const struct fp_osdb *db, const char *name)
{
	size_t lo = 0, hi = db->n_entries;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(db->pool + db->entries[db->by_name[mid]].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

size_t fp_osdb_variants(const struct fp_osdb *db, const char *name)
{
	size_t pos = lower_bound(db, name), n = 0;
	while (pos + n < db->n_entries &&
	       strcmp(db->pool + db->entries[db->by_name[pos + n]].name, name) == 0)
		n++;
	return n;
}

int fp_osdb_find(const struct fp_osdb *db, const char *name, unsigned variant, size_t *idx)
{
	if (variant >= fp_osdb_variants(db, name))
		return -ENOENT;
	*idx = db->by_name[lower_bound(db, name) + variant];
	return 0;
}

unsigned fp_osdb_variant_of(const struct fp_osdb *db, size_t idx)
{
	const struct fp_osdb_entry_rec *e = entry(db, idx);
	if (!e)
		return 0;
	size_t pos = lower_bound(db, db->pool + e->name);
	unsigned v = 0;
	while (pos + v < db->n_entries && db->by_name[pos + v] != idx)
		v++;
	return v;
}

/* ---- search ------------------------------------------------------------ */

static bool contains(const char *hay, const char *needle)
{
	return hay && strcasestr(hay, needle) != NULL;
}

static bool entry_matches(const struct fp_osdb *db, size_t idx, const char *text,
			  unsigned flags)
{
	const struct fp_osdb_entry_rec *e = &db->entries[idx];

	if (contains(db->pool + e->name, text))
		return true;
	for (size_t k = 0; (flags & FP_OSDB_SEARCH_CLASSES) && k < e->n_classes; k++) {
		struct fp_osdb_class c;
		fp_osdb_class(db, idx, k, &c);
		if (contains(c.vendor, text) || contains(c.family, text) ||
		    contains(c.gen, text) || contains(c.type, text))
			return true;
	}
	for (size_t k = 0; (flags & FP_OSDB_SEARCH_CPE) && k < e->n_cpes; k++) {
		if (contains(db->pool + db->cpes[e->first_cpe + k].cpe, text))
			return true;
	}
	return false;
}

/* Is idx the first entry (file order) carrying its name? */
static bool first_variant(const struct fp_osdb *db, size_t idx)
{
	size_t pos = lower_bound(db, db->pool + db->entries[idx].name);
	return db->by_name[pos] == idx;
}

size_t fp_osdb_search(const struct fp_osdb *db, const char *text, unsigned flags,
		      fp_osdb_search_cb cb, void *ctx)
{
	size_t n = 0;
	for (size_t i = 0; i < db->n_entries; i++) {
		if ((flags & FP_OSDB_SEARCH_FIRST_VARIANT) && !first_variant(db, i))
			continue;
		if (!entry_matches(db, i, text, flags))
			continue;
		n++;
		if (cb && cb(db, i, ctx))
			break;
	}
	return n;
}

/* ---- suggestions ------------------------------------------------------- */

#define SUGGEST_MAX_LEN 128
#define SUGGEST_MAX_WORDS 24

struct words {
	char buf[SUGGEST_MAX_LEN + 1];
	const char *w[SUGGEST_MAX_WORDS];
	uint8_t len[SUGGEST_MAX_WORDS];
	unsigned n;
	size_t total; /* bytes in buf */
};

static char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c | 0x20) : c;
}

static bool word_char(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == '.';
}

/* Lowercase s (truncated) into buf and split it into alphanumeric words. */
static void split_words(const char *s, struct words *w)
{
	size_t n = 0;
	while (s[n] && n < SUGGEST_MAX_LEN) {
		w->buf[n] = lower(s[n]);
		n++;
	}
	w->buf[n] = '\0';
	w->total = n;
	w->n = 0;
	for (size_t i = 0; i < n && w->n < SUGGEST_MAX_WORDS;) {
		while (i < n && !word_char(w->buf[i]))
			i++;
		size_t st = i;
		while (i < n && word_char(w->buf[i]))
			i++;
		if (i > st) {
			w->w[w->n] = w->buf + st;
			w->len[w->n++] = (uint8_t)(i - st);
		}
	}
}

/* Levenshtein distance of two short strings, two rows. */
static unsigned edit_distance(const char *a, size_t la, const char *b, size_t lb)
{
	unsigned row[2][SUGGEST_MAX_LEN + 1];
	for (size_t j = 0; j <= lb; j++)
		row[0][j] = (unsigned)j;
	for (size_t i = 1; i <= la; i++) {
		unsigned *prev = row[(i - 1) & 1], *cur = row[i & 1];
		cur[0] = (unsigned)i;
		for (size_t j = 1; j <= lb; j++) {
			unsigned sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			unsigned del = prev[j] + 1, ins = cur[j - 1] + 1;
			cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
		}
	}
	return row[la & 1][lb];
}

/* Points for a query word against the best word of a name: 4 equal,
 * 3 one is a prefix of the other (both >= 2 chars), 2 one typo away. */
static unsigned word_points(const struct words *q, unsigned k, const struct words *name)
{
	unsigned best = 0;
	for (unsigned i = 0; i < name->n && best < 4; i++) {
		size_t lq = q->len[k], ln = name->len[i];
		size_t m = lq < ln ? lq : ln;
		unsigned p = 0;
		if (lq == ln && memcmp(q->w[k], name->w[i], lq) == 0)
			p = 4;
		else if (m >= 2 && memcmp(q->w[k], name->w[i], m) == 0)
			p = 3;
		else if (lq >= 4 && edit_distance(q->w[k], lq, name->w[i], ln) <= 1)
			p = 2;
		if (p > best)
			best = p;
	}
	return best;
}

struct suggestion {
	size_t idx;
	unsigned points, dist;
};

static bool better(const struct suggestion *a, const struct suggestion *b)
{
	if (a->points != b->points)
		return a->points > b->points;
	if (a->dist != b->dist)
		return a->dist < b->dist;
	return a->idx < b->idx;
}

size_t fp_osdb_suggest(const struct fp_osdb *db, const char *text, size_t *idx_out,
		       size_t max)
{
	struct suggestion top[16];
	size_t n_top = 0, cap = max < 16 ? max : 16;
	struct words q, name;

	split_words(text, &q);
	if (!cap || !q.total)
		return 0;
	for (size_t pos = 0; pos < db->n_entries; pos++) {
		size_t idx = db->by_name[pos];
		/* One candidate per name: the first of a run in by_name. */
		if (pos && db->entries[db->by_name[pos - 1]].name == db->entries[idx].name)
			continue;
		split_words(db->pool + db->entries[idx].name, &name);
		struct suggestion s = {idx, 0, edit_distance(q.buf, q.total, name.buf, name.total)};
		for (unsigned k = 0; k < q.n; k++)
			s.points += word_points(&q, k, &name);
		/* Unrelated names: nothing shared and not a near-miss spelling. */
		if (!s.points && s.dist * 3 > q.total)
			continue;
		size_t at = n_top;
		while (at > 0 && better(&s, &top[at - 1]))
			at--;
		if (at >= cap)
			continue;
		if (n_top < cap)
			n_top++;
		memmove(&top[at + 1], &top[at], (n_top - 1 - at) * sizeof(top[0]));
		top[at] = s;
	}
	for (size_t i = 0; i < n_top; i++)
		idx_out[i] = top[i].idx;
	return n_top;
}

int fp_osdb_split_variant(const char *value, char *name, size_t len, unsigned *variant)
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
