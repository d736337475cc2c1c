/* Subject fingerprints: storage, parsing of nmap's printed block, and
 * printing in the same layout. */
#include "fingerprints/fp_osmatch.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void fp_subject_init(struct fp_subject *s)
{
	memset(s, 0, sizeof(*s));
}

int fp_subject_add_test(struct fp_subject *s, unsigned test)
{
	if (test >= FP_TEST_COUNT)
		return -EINVAL;
	s->tests |= (uint16_t)(1u << test);
	return 0;
}

static int set_value(struct fp_subject *s, unsigned test, unsigned attr, const char *v,
		     size_t len)
{
	struct fp_value fv;

	if (test >= FP_TEST_COUNT || attr >= FP_ATTR_COUNT)
		return -EINVAL;
	struct fp_subject_slot *slot = &s->slot[test][attr];
	/* A replacement that fits where the old value was reuses its bytes. */
	bool in_place = (s->present[test] & FP_ATTR_BIT(attr)) && len <= slot->len;
	if (!in_place && len + 1 > (size_t)(FP_SUBJECT_TEXT_MAX - s->used))
		return -ENOSPC;
	char *dst = s->text + (in_place ? slot->off : s->used);
	memcpy(dst, v, len);
	dst[len] = '\0';
	fp_value_init(&fv, dst);
	if (!in_place) {
		slot->off = s->used;
		s->used = (uint16_t)(s->used + len + 1);
	}
	slot->len = (uint16_t)len;
	slot->num = fv.num;
	slot->numeric = fv.numeric;
	slot->hex = fv.hex;
	s->present[test] |= FP_ATTR_BIT(attr);
	s->tests |= (uint16_t)(1u << test);
	return 0;
}

int fp_subject_set(struct fp_subject *s, unsigned test, unsigned attr, const char *value)
{
	return set_value(s, test, attr, value, strlen(value));
}

bool fp_subject_get(const struct fp_subject *s, unsigned test, unsigned attr,
		    struct fp_value *v)
{
	if (test >= FP_TEST_COUNT || attr >= FP_ATTR_COUNT ||
	    !(s->present[test] & FP_ATTR_BIT(attr)))
		return false;
	const struct fp_subject_slot *slot = &s->slot[test][attr];
	v->s = s->text + slot->off;
	v->len = slot->len;
	v->num = slot->num;
	v->numeric = slot->numeric;
	v->hex = slot->hex;
	return true;
}

/* ---- parsing ------------------------------------------------------------ */

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static bool is_name_char(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

enum line_kind { LINE_OTHER, LINE_WRAPPED, LINE_TEST };

/* Does the line carry fingerprint text: a wrapped "OS:..." line or a
 * "NAME(...)" one? Sets [*s, *e) to the part to keep. */
static enum line_kind fingerprint_line(const char **s, const char **e)
{
	while (*s < *e && is_space(**s))
		(*s)++;
	while (*e > *s && is_space((*e)[-1]))
		(*e)--;
	if (*e - *s >= 3 && memcmp(*s, "OS:", 3) == 0) {
		*s += 3;
		return LINE_WRAPPED;
	}
	const char *p = *s;
	while (p < *e && is_name_char(*p))
		p++;
	return p > *s && p < *e && *p == '(' ? LINE_TEST : LINE_OTHER;
}

static int perr(char *err, size_t errlen, int rc, const char *msg, size_t at)
{
	if (err && errlen)
		snprintf(err, errlen, "subject fingerprint, byte %zu: %s", at, msg);
	return rc;
}

/* Parse the attributes between '(' and ')' of a known test. */
static int parse_attrs(struct fp_subject *s, unsigned test, const char *p, const char *e,
		       char *err, size_t errlen, size_t base)
{
	int rc;

	fp_subject_add_test(s, test);
	while (p < e) {
		const char *pct = memchr(p, '%', (size_t)(e - p));
		const char *ae = pct ? pct : e;
		const char *eq = memchr(p, '=', (size_t)(ae - p));
		if (!eq || eq == p)
			return perr(err, errlen, -EINVAL, "expected ATTR=VALUE", base);
		for (const char *c = p; c < ae; c++) {
			/* nmap prints names and values in visible ASCII only. */
			if (*c <= ' ' || *c > '~' || (c < eq && !is_name_char(*c)))
				return perr(err, errlen, -EINVAL, "bad character in attribute", base);
		}
		int attr = fp_vocab_attr_lookup(p, (size_t)(eq - p));
		if (attr < 0)
			s->skipped++;
		else if ((rc = set_value(s, test, (unsigned)attr, eq + 1, (size_t)(ae - eq - 1))))
			return perr(err, errlen, rc, "fingerprint too long", base);
		p = pct ? pct + 1 : e;
	}
	return 0;
}

/* Walk the joined text: NAME(...) groups, whitespace between them. */
static int parse_tests(struct fp_subject *s, const char *t, size_t len, char *err,
		       size_t errlen)
{
	const char *p = t, *end = t + len;
	unsigned found = 0;
	int rc;

	for (;;) {
		while (p < end && (is_space(*p) || *p == '\n'))
			p++;
		if (p == end)
			break;
		const char *name = p;
		while (p < end && is_name_char(*p))
			p++;
		if (p == name || p == end || *p != '(')
			return perr(err, errlen, -EINVAL, "expected TEST(...)", (size_t)(name - t));
		const char *close = memchr(p, ')', (size_t)(end - p));
		if (!close)
			return perr(err, errlen, -EINVAL, "missing ')'", (size_t)(p - t));
		int test = fp_vocab_test_lookup(name, (size_t)(p - name));
		found++;
		if (test < 0) {
			/* SCAN(...) describes the scan, not the host. */
			if (p - name != 4 || memcmp(name, "SCAN", 4) != 0)
				s->skipped++;
		} else if (s->tests & (1u << test)) {
			s->duplicates++;
		} else if ((rc = parse_attrs(s, (unsigned)test, p + 1, close, err, errlen,
					     (size_t)(p - t)))) {
			return rc;
		}
		p = close + 1;
	}
	if (!s->tests)
		return perr(err, errlen, -EINVAL, found ? "no known test" : "no test found", 0);
	return 0;
}

int fp_subject_parse(const char *text, size_t len, struct fp_subject *s, char *err,
		     size_t errlen)
{
	/* Joined fingerprint text; nmap's blocks are well under 2 KiB. */
	char joined[FP_SUBJECT_TEXT_MAX * 2];
	size_t n = 0;

	fp_subject_init(s);
	if (err && errlen)
		err[0] = '\0';
	/* "OS:" lines, when present, are the only source (the wrapped block). */
	for (int pass = 0; pass < 2 && n == 0; pass++) {
		for (const char *p = text, *end = text + len; p < end;) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			const char *ls = p, *le = nl ? nl : end;
			p = nl ? nl + 1 : end;
			enum line_kind k = fingerprint_line(&ls, &le);
			if (k == LINE_OTHER || (pass == 0 && k != LINE_WRAPPED))
				continue;
			if (n + (size_t)(le - ls) + 1 > sizeof(joined))
				return perr(err, errlen, -ENOSPC, "fingerprint too long", n);
			memcpy(joined + n, ls, (size_t)(le - ls));
			n += (size_t)(le - ls);
			/* Wrapped lines split tokens anywhere; unwrapped ones are whole. */
			if (pass == 1)
				joined[n++] = '\n';
		}
	}
	if (memchr(joined, '\0', n))
		return perr(err, errlen, -EINVAL, "NUL byte", 0);
	return parse_tests(s, joined, n, err, errlen);
}

/* ---- printing ---------------------------------------------------------- */

static int append(char *buf, size_t buflen, size_t *n, const char *s, size_t len)
{
	if (*n + len + 1 > buflen)
		return -ENOSPC;
	memcpy(buf + *n, s, len);
	*n += len;
	buf[*n] = '\0';
	return 0;
}

#define APPEND(s, l) do { if (append(buf, buflen, &n, (s), (l))) return -ENOSPC; } while (0)

int fp_subject_format(const struct fp_subject *s, char *buf, size_t buflen)
{
	size_t n = 0;

	if (!buflen)
		return -ENOSPC;
	buf[0] = '\0';
	for (unsigned t = 0; t < FP_TEST_COUNT; t++) {
		if (!(s->tests & (1u << t)))
			continue;
		const char *tn = fp_vocab_test_name(t);
		bool first = true;
		APPEND(tn, strlen(tn));
		APPEND("(", 1);
		/* Attribute ids follow nmap's print order (fp_vocab.h). */
		for (unsigned a = 0; a < FP_ATTR_COUNT; a++) {
			struct fp_value v;
			if (!fp_subject_get(s, t, a, &v))
				continue;
			const char *an = fp_vocab_attr_name(a);
			if (!first)
				APPEND("%", 1);
			first = false;
			APPEND(an, strlen(an));
			APPEND("=", 1);
			APPEND(v.s, v.len);
		}
		APPEND(")\n", 2);
	}
	return (int)n;
}
