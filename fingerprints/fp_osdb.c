/* nmap-os-db loader. One pass over the text, line by line; each line is
 * bounds-checked against the end of the buffer (the input need not be
 * NUL-terminated) and anything unexpected ends the load with FILE:LINE.
 *
 * Strictness differs from nmap 7.93's own reader in one direction only:
 * everything nmap's shipped database contains is accepted, while lines nmap
 * would merely warn about (a stray word between entries, a test line with
 * no ')') are errors here, because a persona built from a half-read entry
 * is worse than a clear refusal. Test or attribute names we do not know
 * (a newer nmap) are skipped and counted instead, so a newer database
 * still loads.
 */
#include "fingerprints/fp_osdb_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* Open-addressing table of ids (slot.id = id + 1, 0 = empty). The hash is
 * stored so growing never needs the keys. */
struct htab_slot {
	uint32_t hash, id;
};
struct htab {
	struct htab_slot *slots;
	size_t cap, n; /* cap is a power of two */
};

enum block { OUTSIDE, IN_ENTRY, IN_MATCHPOINTS };

struct builder {
	struct fp_osdb *db;
	size_t cap_pool, cap_entries, cap_classes, cap_cpes, cap_entry_tests,
		cap_lines, cap_avs, cap_exprs, cap_alts;
	struct htab strings, exprs, lines;
	const char *origin;
	unsigned lineno;
	char *err;
	size_t errlen;
	enum block block;
	bool have_matchpoints;
	uint16_t mp_tests; /* tests already seen in MatchPoints */
	uint32_t cur_lines[FP_TEST_COUNT];
	uint32_t tmp_avs[FP_ATTR_COUNT];
	unsigned n_tmp;
	struct fp_alt tmp_alts[FP_EXPR_MAX_ALTS];
};

static uint32_t fnv1a(const void *p, size_t len, uint32_t h)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < len; i++) {
		h ^= b[i];
		h *= 16777619u;
	}
	return h;
}
#define FNV_SEED 2166136261u

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static bool is_alnum(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static int fail(struct builder *b, int rc, const char *fmt, ...)
{
	if (b->err && b->errlen) {
		int n = b->lineno ? snprintf(b->err, b->errlen, "%s:%u: ", b->origin, b->lineno)
				  : snprintf(b->err, b->errlen, "%s: ", b->origin);
		if (n >= 0 && (size_t)n < b->errlen) {
			va_list ap;
			va_start(ap, fmt);
			vsnprintf(b->err + n, b->errlen - (size_t)n, fmt, ap);
			va_end(ap);
		}
	}
	return rc;
}

/* Room for `more` elements after the n used of an array of capacity
 * *cap: returns the array (moved if it had to grow), or NULL with the old
 * array still valid. */
static void *grow(void *base, size_t *cap, size_t n, size_t more, size_t elem)
{
	if (more > SIZE_MAX / elem - n)
		return NULL;
	if (base && n + more <= *cap)
		return base;
	size_t ncap = *cap ? *cap : 64;
	while (ncap < n + more)
		ncap *= 2;
	void *p = realloc(base, ncap * elem);
	if (p)
		*cap = ncap;
	return p;
}

/* The first of `more` new slots after arr[n], growing arr; NULL when out
 * of memory. */
#define RESERVE(arr, capp, n, more) __extension__({ \
	void *grown_ = grow((arr), (capp), (n), (more), sizeof(*(arr))); \
	if (grown_) \
		(arr) = grown_; \
	grown_ ? (arr) + (n) : NULL; })

/* Shrink arr to its n used elements; a failed shrink keeps the old block. */
#define SHRINK(arr, n) do { \
	if ((arr) && (n)) { \
		void *shrunk_ = realloc((arr), (n) * sizeof(*(arr))); \
		if (shrunk_) \
			(arr) = shrunk_; \
	} \
} while (0)

/* Slot for hash: the one whose id satisfies eq, or the empty one where
 * it would go. */
typedef bool (*htab_eq)(const struct builder *b, uint32_t id, const void *key);

static struct htab_slot *htab_find(struct builder *b, struct htab *h, uint32_t hash,
				   htab_eq eq, const void *key)
{
	size_t mask = h->cap - 1;
	for (size_t i = hash & mask;; i = (i + 1) & mask) {
		struct htab_slot *s = &h->slots[i];
		if (!s->id || (s->hash == hash && eq(b, s->id - 1, key)))
			return s;
	}
}

static int htab_init(struct htab *h, size_t cap)
{
	h->slots = calloc(cap, sizeof(*h->slots));
	h->cap = cap;
	h->n = 0;
	return h->slots ? 0 : -ENOMEM;
}

/* Fill an empty slot, growing at half load. */
static int htab_insert(struct htab *h, struct htab_slot *s, uint32_t hash, uint32_t id)
{
	s->hash = hash;
	s->id = id + 1;
	if (++h->n * 2 <= h->cap)
		return 0;
	struct htab bigger;
	if (htab_init(&bigger, h->cap * 2))
		return -ENOMEM;
	for (size_t i = 0; i < h->cap; i++) {
		struct htab_slot *o = &h->slots[i];
		if (!o->id)
			continue;
		size_t mask = bigger.cap - 1, j = o->hash & mask;
		while (bigger.slots[j].id)
			j = (j + 1) & mask;
		bigger.slots[j] = *o;
	}
	bigger.n = h->n;
	free(h->slots);
	*h = bigger;
	return 0;
}

struct str_key {
	const char *s;
	size_t len;
};

static bool str_eq(const struct builder *b, uint32_t off, const void *key)
{
	const struct str_key *k = key;
	const char *p = b->db->pool + off;
	return memcmp(p, k->s, k->len) == 0 && p[k->len] == '\0';
}

static int intern_string(struct builder *b, const char *s, size_t len, uint32_t *off)
{
	struct fp_osdb *db = b->db;
	struct str_key key = {s, len};
	uint32_t hash = fnv1a(s, len, FNV_SEED);
	struct htab_slot *slot = htab_find(b, &b->strings, hash, str_eq, &key);

	if (slot->id) {
		*off = slot->id - 1;
		return 0;
	}
	if (db->n_pool + len + 1 >= UINT32_MAX)
		return fail(b, -E2BIG, "string pool exceeds 4 GiB");
	char *p = RESERVE(db->pool, &b->cap_pool, db->n_pool, len + 1);
	if (!p)
		return fail(b, -ENOMEM, "out of memory");
	memcpy(p, s, len);
	p[len] = '\0';
	*off = (uint32_t)db->n_pool;
	db->n_pool += len + 1;
	if (htab_insert(&b->strings, slot, hash, *off))
		return fail(b, -ENOMEM, "out of memory");
	return 0;
}

static bool expr_eq(const struct builder *b, uint32_t id, const void *key)
{
	return b->db->exprs[id].text == *(const uint32_t *)key;
}

/* Expression id for the text at pool offset off, compiling it the first
 * time that text is seen. */
static int intern_expr(struct builder *b, uint32_t off, uint32_t *id)
{
	struct fp_osdb *db = b->db;
	uint32_t hash = fnv1a(&off, sizeof(off), FNV_SEED);
	struct htab_slot *slot = htab_find(b, &b->exprs, hash, expr_eq, &off);
	struct fp_expr view;

	if (slot->id) {
		*id = slot->id - 1;
		return 0;
	}
	int n = fp_expr_compile(db->pool + off, b->tmp_alts, FP_EXPR_MAX_ALTS, &view);
	if (n < 0)
		return fail(b, n, "expression too long or with too many alternatives");
	if (db->n_exprs >= FP_AV_EXPR_MASK)
		return fail(b, -E2BIG, "too many distinct expressions");
	struct fp_alt *alts = RESERVE(db->alts, &b->cap_alts, db->n_alts, (size_t)n);
	struct fp_osdb_expr_rec *rec = RESERVE(db->exprs, &b->cap_exprs, db->n_exprs, 1);
	if (!alts || !rec)
		return fail(b, -ENOMEM, "out of memory");
	memcpy(alts, b->tmp_alts, (size_t)n * sizeof(*alts));
	rec->text = off;
	rec->first_alt = (uint32_t)db->n_alts;
	rec->len = view.len;
	rec->n_alts = view.n_alts;
	db->n_alts += (size_t)n;
	*id = (uint32_t)db->n_exprs++;
	if (htab_insert(&b->exprs, slot, hash, *id))
		return fail(b, -ENOMEM, "out of memory");
	return 0;
}

struct line_key {
	unsigned test;
	const uint32_t *avs;
	unsigned n;
};

static bool line_eq(const struct builder *b, uint32_t id, const void *key)
{
	const struct line_key *k = key;
	const struct fp_osdb_line_rec *l = &b->db->lines[id];
	return l->test == k->test && l->n_av == k->n &&
	       memcmp(b->db->avs + l->first_av, k->avs, k->n * sizeof(*k->avs)) == 0;
}

/* Distinct-line id for the attributes collected in tmp_avs. */
static int intern_line(struct builder *b, unsigned test, uint32_t *id)
{
	struct fp_osdb *db = b->db;
	struct line_key key = {test, b->tmp_avs, b->n_tmp};
	uint8_t t = (uint8_t)test;
	uint32_t hash = fnv1a(b->tmp_avs, b->n_tmp * sizeof(uint32_t), fnv1a(&t, 1, FNV_SEED));
	struct htab_slot *slot = htab_find(b, &b->lines, hash, line_eq, &key);

	if (slot->id) {
		*id = slot->id - 1;
		return 0;
	}
	uint32_t *avs = RESERVE(db->avs, &b->cap_avs, db->n_avs, b->n_tmp);
	struct fp_osdb_line_rec *rec = RESERVE(db->lines, &b->cap_lines, db->n_lines, 1);
	if (!avs || !rec || db->n_avs + b->n_tmp >= UINT32_MAX || db->n_lines >= UINT32_MAX)
		return fail(b, -ENOMEM, "out of memory");
	if (b->n_tmp)
		memcpy(avs, b->tmp_avs, b->n_tmp * sizeof(*avs));
	rec->first_av = (uint32_t)db->n_avs;
	rec->n_av = (uint8_t)b->n_tmp;
	rec->test = t;
	rec->reserved = 0;
	db->n_avs += b->n_tmp;
	*id = (uint32_t)db->n_lines++;
	if (htab_insert(&b->lines, slot, hash, *id))
		return fail(b, -ENOMEM, "out of memory");
	return 0;
}

static void trim(const char **s, const char **e)
{
	while (*s < *e && is_space(**s))
		(*s)++;
	while (*e > *s && is_space((*e)[-1]))
		(*e)--;
}

/* Does [s, e) start with keyword kw followed by whitespace or the end? */
static bool keyword(const char *s, const char *e, const char *kw, bool nocase)
{
	size_t n = strlen(kw);
	if ((size_t)(e - s) < n)
		return false;
	if (nocase ? strncasecmp(s, kw, n) != 0 : memcmp(s, kw, n) != 0)
		return false;
	return (size_t)(e - s) == n || is_space(s[n]);
}

static struct fp_osdb_entry_rec *cur_entry(struct builder *b)
{
	return &b->db->entries[b->db->n_entries - 1];
}

static int finish_block(struct builder *b)
{
	struct fp_osdb *db = b->db;

	if (b->block == IN_ENTRY) {
		struct fp_osdb_entry_rec *e = cur_entry(b);
		uint32_t *t = RESERVE(db->entry_tests, &b->cap_entry_tests, db->n_entry_tests,
				      FP_TEST_COUNT);
		if (!t)
			return fail(b, -ENOMEM, "out of memory");
		e->first_test = (uint32_t)db->n_entry_tests;
		for (unsigned i = 0; i < FP_TEST_COUNT; i++) {
			if (b->cur_lines[i] != FP_OSDB_NONE)
				t[e->n_tests++] = b->cur_lines[i];
		}
		db->n_entry_tests += e->n_tests;
	}
	b->block = OUTSIDE;
	return 0;
}

static int start_entry(struct builder *b, const char *s, const char *e)
{
	struct fp_osdb *db = b->db;
	const char *hash = memchr(s, '#', (size_t)(e - s));
	uint32_t name;
	int rc;

	if (hash)
		e = hash;
	trim(&s, &e);
	if (s == e)
		return fail(b, -EINVAL, "Fingerprint line without a name");
	if (db->n_entries >= FP_OSDB_MAX_ENTRIES)
		return fail(b, -E2BIG, "more than %u entries", FP_OSDB_MAX_ENTRIES);
	if ((rc = intern_string(b, s, (size_t)(e - s), &name)))
		return rc;
	struct fp_osdb_entry_rec *rec = RESERVE(db->entries, &b->cap_entries, db->n_entries, 1);
	if (!rec)
		return fail(b, -ENOMEM, "out of memory");
	memset(rec, 0, sizeof(*rec));
	rec->name = name;
	rec->lineno = b->lineno;
	rec->first_class = (uint32_t)db->n_classes;
	rec->first_cpe = (uint32_t)db->n_cpes;
	db->n_entries++;
	for (unsigned i = 0; i < FP_TEST_COUNT; i++)
		b->cur_lines[i] = FP_OSDB_NONE;
	b->block = IN_ENTRY;
	return 0;
}

/* "Class vendor | family | gen | type": exactly four fields; only the
 * generation may be empty. */
static int parse_class(struct builder *b, const char *s, const char *e)
{
	struct fp_osdb *db = b->db;
	struct fp_osdb_entry_rec *ent = cur_entry(b);
	uint32_t f[4];
	int rc;

	for (unsigned i = 0; i < 4; i++) {
		const char *bar = i < 3 ? memchr(s, '|', (size_t)(e - s)) : NULL;
		const char *fe = bar ? bar : e;
		if (i < 3 && !bar)
			return fail(b, -EINVAL, "Class line needs 4 fields separated by '|'");
		if (i == 3 && memchr(s, '|', (size_t)(e - s)))
			return fail(b, -EINVAL, "Class line has more than 4 fields");
		const char *fs = s;
		trim(&fs, &fe);
		if (fs == fe && i != 2)
			return fail(b, -EINVAL, "empty %s in Class line",
				    i == 0 ? "vendor" : i == 1 ? "family" : "device type");
		if (fs == fe)
			f[i] = FP_OSDB_NONE;
		else if ((rc = intern_string(b, fs, (size_t)(fe - fs), &f[i])))
			return rc;
		s = bar ? bar + 1 : e;
	}
	if (ent->n_classes >= FP_OSDB_MAX_CLASSES)
		return fail(b, -E2BIG, "more than %u Class lines", FP_OSDB_MAX_CLASSES);
	struct fp_osdb_class_rec *c = RESERVE(db->classes, &b->cap_classes, db->n_classes, 1);
	if (!c)
		return fail(b, -ENOMEM, "out of memory");
	*c = (struct fp_osdb_class_rec){f[0], f[1], f[2], f[3]};
	db->n_classes++;
	ent->n_classes++;
	return 0;
}

/* "CPE cpe:/... [flags]": belongs to the Class line before it. */
static int parse_cpe(struct builder *b, const char *s, const char *e)
{
	struct fp_osdb *db = b->db;
	struct fp_osdb_entry_rec *ent = cur_entry(b);
	const char *w;
	uint32_t off;
	int rc;

	trim(&s, &e);
	w = s;
	while (w < e && !is_space(*w))
		w++;
	if (s == w)
		return fail(b, -EINVAL, "CPE line without a CPE name");
	if (!ent->n_classes)
		return fail(b, -EINVAL, "CPE line before any Class line");
	if (ent->n_cpes >= FP_OSDB_MAX_CLASSES)
		return fail(b, -E2BIG, "more than %u CPE lines", FP_OSDB_MAX_CLASSES);
	if ((rc = intern_string(b, s, (size_t)(w - s), &off)))
		return rc;
	bool is_auto = false;
	while (w < e) {
		while (w < e && is_space(*w))
			w++;
		const char *f = w;
		while (w < e && !is_space(*w))
			w++;
		if (w - f == 4 && memcmp(f, "auto", 4) == 0)
			is_auto = true;
	}
	struct fp_osdb_cpe_rec *c = RESERVE(db->cpes, &b->cap_cpes, db->n_cpes, 1);
	if (!c)
		return fail(b, -ENOMEM, "out of memory");
	c->cpe = off;
	c->class_idx = (uint16_t)(ent->n_classes - 1);
	c->is_auto = is_auto;
	db->n_cpes++;
	ent->n_cpes++;
	return 0;
}

/* A MatchPoints weight: a small decimal number. */
static int parse_weight(struct builder *b, const char *v, const char *ve, int16_t *w)
{
	long n = 0;

	if (v == ve || ve - v > 5)
		return fail(b, -EINVAL, "MatchPoints weight must be a decimal number");
	for (; v < ve; v++) {
		if (*v < '0' || *v > '9')
			return fail(b, -EINVAL, "MatchPoints weight must be a decimal number");
		n = n * 10 + (*v - '0');
	}
	if (n > INT16_MAX)
		return fail(b, -EINVAL, "MatchPoints weight too large");
	*w = (int16_t)n;
	return 0;
}

/* Attribute id of [s, s+len). Lines list attributes in nmap's print
 * order, some omitted (U1 and IE drop R), so the next one or two in that
 * order are tried before a full lookup: this runs half a million times
 * per load. *pos is where the previous attribute sat in the order. */
static int attr_lookup(unsigned test, size_t *pos, const char *s, size_t len)
{
	const uint8_t *order;
	size_t n = fp_vocab_attr_order(test, &order);

	for (size_t k = *pos; k < n && k < *pos + 2; k++) {
		const char *guess = fp_vocab_attr_name(order[k]);
		if (strnlen(guess, len + 1) == len && memcmp(guess, s, len) == 0) {
			*pos = k + 1;
			return order[k];
		}
	}
	return fp_vocab_attr_lookup(s, len);
}

/* One ATTR=VALUE of a test line. test < 0: unknown test, syntax only.
 * pos: see attr_lookup. */
static int parse_attr(struct builder *b, int test, size_t *pos, const char *s, const char *e,
		      fp_attr_mask *seen)
{
	const char *eq = memchr(s, '=', (size_t)(e - s));
	uint32_t off = 0, expr = 0;
	int rc;

	if (!eq || eq == s)
		return fail(b, -EINVAL, "expected ATTR=VALUE in test line");
	for (const char *p = s; p < eq; p++) {
		if (!is_alnum(*p))
			return fail(b, -EINVAL, "bad attribute name");
	}
	if (test < 0)
		return 0;
	int attr = attr_lookup((unsigned)test, pos, s, (size_t)(eq - s));
	if (attr < 0) {
		b->db->skipped_attrs++;
		return 0;
	}
	if (*seen & FP_ATTR_BIT(attr))
		return fail(b, -EINVAL, "attribute %s repeated", fp_vocab_attr_name((unsigned)attr));
	*seen |= FP_ATTR_BIT(attr);
	if (b->block == IN_MATCHPOINTS)
		return parse_weight(b, eq + 1, e, &b->db->points[test][attr]);
	if ((rc = intern_string(b, eq + 1, (size_t)(e - eq - 1), &off)))
		return rc;
	if ((rc = intern_expr(b, off, &expr)))
		return rc;
	b->tmp_avs[b->n_tmp++] = FP_AV_MAKE(attr, expr);
	return 0;
}

/* "NAME(ATTR=VALUE%ATTR=VALUE...)", already trimmed. */
static int parse_test_line(struct builder *b, const char *s, const char *e)
{
	const char *open = memchr(s, '(', (size_t)(e - s));
	fp_attr_mask seen = 0;
	size_t pos = 0;
	int rc;

	if (!open)
		return fail(b, -EINVAL, "expected Class, CPE or a test line NAME(...)");
	if (open == s || open - s > 15)
		return fail(b, -EINVAL, "bad test name");
	for (const char *p = s; p < open; p++) {
		if (!is_alnum(*p))
			return fail(b, -EINVAL, "bad test name");
	}
	const char *close = memchr(open, ')', (size_t)(e - open));
	if (!close)
		return fail(b, -EINVAL, "test line without ')'");
	if (close != e - 1)
		return fail(b, -EINVAL, "text after ')' in test line");
	int test = fp_vocab_test_lookup(s, (size_t)(open - s));
	if (test < 0)
		b->db->skipped_tests++;
	b->n_tmp = 0;
	for (const char *p = open + 1; p < close;) {
		const char *pct = memchr(p, '%', (size_t)(close - p));
		const char *ae = pct ? pct : close;
		if ((rc = parse_attr(b, test, &pos, p, ae, &seen)))
			return rc;
		p = pct ? pct + 1 : close;
		if (pct && p == close)
			return fail(b, -EINVAL, "expected ATTR=VALUE in test line");
	}
	if (test < 0)
		return 0;
	if (b->block == IN_MATCHPOINTS) {
		if (b->mp_tests & (1u << test))
			return fail(b, -EINVAL, "test %s repeated in MatchPoints",
				    fp_vocab_test_name((unsigned)test));
		b->mp_tests |= (uint16_t)(1u << test);
		return 0;
	}
	if (b->cur_lines[test] != FP_OSDB_NONE)
		return fail(b, -EINVAL, "test %s repeated in entry", fp_vocab_test_name((unsigned)test));
	return intern_line(b, (unsigned)test, &b->cur_lines[test]);
}

static int parse_line(struct builder *b, const char *s, const char *e)
{
	int rc;

	trim(&s, &e);
	if (s == e)
		return finish_block(b);
	if (*s == '#')
		return 0;
	if (keyword(s, e, "Fingerprint", true)) {
		if ((rc = finish_block(b)))
			return rc;
		return start_entry(b, s + 11, e);
	}
	if (keyword(s, e, "MatchPoints", true)) {
		if (e - s != 11)
			return fail(b, -EINVAL, "text after MatchPoints");
		if (b->have_matchpoints)
			return fail(b, -EINVAL, "second MatchPoints block");
		if ((rc = finish_block(b)))
			return rc;
		b->have_matchpoints = true;
		b->block = IN_MATCHPOINTS;
		return 0;
	}
	if (b->block == OUTSIDE)
		return fail(b, -EINVAL, "expected Fingerprint or MatchPoints");
	bool is_class = keyword(s, e, "Class", false), is_cpe = keyword(s, e, "CPE", false);
	if ((is_class || is_cpe) && b->block == IN_MATCHPOINTS)
		return fail(b, -EINVAL, "%s line inside MatchPoints", is_class ? "Class" : "CPE");
	if (is_class)
		return parse_class(b, s + 5, e);
	if (is_cpe)
		return parse_cpe(b, s + 3, e);
	return parse_test_line(b, s, e);
}

static int parse_all(struct builder *b, const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len;
	int rc;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		b->lineno++;
		if (le - p > FP_OSDB_MAX_LINE)
			return fail(b, -E2BIG, "line longer than %u bytes", FP_OSDB_MAX_LINE);
		if (memchr(p, '\0', (size_t)(le - p)))
			return fail(b, -EINVAL, "NUL byte");
		if ((rc = parse_line(b, p, le)))
			return rc;
		p = nl ? nl + 1 : end;
	}
	if ((rc = finish_block(b)))
		return rc;
	b->lineno = 0;
	if (!b->have_matchpoints)
		return fail(b, -EINVAL, "no MatchPoints block");
	return 0;
}

static void shrink_all(struct fp_osdb *db)
{
	SHRINK(db->pool, db->n_pool);
	SHRINK(db->entries, db->n_entries);
	SHRINK(db->classes, db->n_classes);
	SHRINK(db->cpes, db->n_cpes);
	SHRINK(db->entry_tests, db->n_entry_tests);
	SHRINK(db->lines, db->n_lines);
	SHRINK(db->avs, db->n_avs);
	SHRINK(db->exprs, db->n_exprs);
	SHRINK(db->alts, db->n_alts);
}

int fp_osdb_load_buffer(const char *buf, size_t len, const char *origin,
			struct fp_osdb **out, char *err, size_t errlen)
{
	struct builder *b = calloc(1, sizeof(*b));
	struct fp_osdb *db = calloc(1, sizeof(*db));
	int rc = -ENOMEM;

	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	if (!b || !db) {
		if (err && errlen)
			snprintf(err, errlen, "%s: out of memory", origin ? origin : "<buffer>");
		goto err_alloc;
	}
	b->db = db;
	b->origin = origin ? origin : "<buffer>";
	b->err = err;
	b->errlen = errlen;
	memset(db->points, 0xff, sizeof(db->points));
	if (len > FP_OSDB_MAX_BYTES) {
		rc = fail(b, -E2BIG, "larger than %u bytes", FP_OSDB_MAX_BYTES);
		goto err_tables;
	}
	if (htab_init(&b->strings, 4096) || htab_init(&b->exprs, 1024) ||
	    htab_init(&b->lines, 4096)) {
		rc = fail(b, -ENOMEM, "out of memory");
		goto err_tables;
	}
	if ((rc = parse_all(b, buf, len)))
		goto err_tables;
	shrink_all(db);
	if ((rc = fp_osdb_index_names(db))) {
		rc = fail(b, rc, "out of memory");
		goto err_tables;
	}
	free(b->strings.slots);
	free(b->exprs.slots);
	free(b->lines.slots);
	free(b);
	*out = db;
	return 0;

err_tables:
	free(b->strings.slots);
	free(b->exprs.slots);
	free(b->lines.slots);
err_alloc:
	free(b);
	fp_osdb_free(db);
	return rc;
}

static int read_file(const char *path, char **buf, size_t *len, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	int rc;

	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	if (fstat(fd, &st) != 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		goto err_fd;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > FP_OSDB_MAX_BYTES) {
		rc = S_ISREG(st.st_mode) ? -E2BIG : -EINVAL;
		snprintf(err, errlen, "%s: %s", path,
			 rc == -E2BIG ? "file too large" : "not a regular file");
		goto err_fd;
	}
	size_t want = (size_t)st.st_size, got = 0;
	char *p = malloc(want ? want : 1);
	if (!p) {
		rc = -ENOMEM;
		snprintf(err, errlen, "%s: out of memory", path);
		goto err_fd;
	}
	while (got < want) {
		ssize_t n = read(fd, p + got, want - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : -EIO;
			snprintf(err, errlen, "%s: %s", path, n < 0 ? strerror(-rc) : "short read");
			free(p);
			goto err_fd;
		}
		got += (size_t)n;
	}
	close(fd);
	*buf = p;
	*len = got;
	return 0;

err_fd:
	close(fd);
	return rc;
}

int fp_osdb_load(const char *path, struct fp_osdb **out, char *err, size_t errlen)
{
	char dummy[1];
	char *buf = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	if (!err || !errlen) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	if ((rc = read_file(path, &buf, &len, err, errlen)))
		return rc;
	rc = fp_osdb_load_buffer(buf, len, path, out, err, errlen);
	free(buf);
	return rc;
}

void fp_osdb_free(struct fp_osdb *db)
{
	if (!db)
		return;
	free(db->by_name);
	free(db->alts);
	free(db->exprs);
	free(db->avs);
	free(db->lines);
	free(db->entry_tests);
	free(db->cpes);
	free(db->classes);
	free(db->entries);
	free(db->pool);
	free(db);
}
