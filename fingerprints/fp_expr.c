/* Expression compile, match and example. The 7.93 reading is derived from
 * nmap's documented grammar plus the behaviour of its matcher on the edge
 * cases listed in fp_expr.h; numbers go through strtol() on purpose, so
 * that whitespace, signs, "0x" and overflow are read the same way. */
#include "fingerprints/fp_expr.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
}

/* 1..8 hex digits exactly in [p, p+len): the strict reading of a number. */
static bool strict_hex(const char *p, size_t len, uint32_t *out)
{
	uint32_t v = 0;

	if (len == 0 || len > 8)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = p[i];
		if (!is_hex(c))
			return false;
		v = v * 16 + (uint32_t)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
	}
	*out = v;
	return true;
}

/* nmap 7.93 classifies an alternative by its first character and by the
 * first '-' from the alternative to the end of the whole expression
 * (quirk 2 in the header). end is where the alternative stops. */
static void classify_793(struct fp_alt *a, const char *p, const char *end)
{
	char *stop;

	if (*p == '<' || *p == '>') {
		a->kind = *p == '<' ? FP_ALT_LESS : FP_ALT_GREATER;
		a->lo = (uint32_t)strtol(p + 1, &stop, 16);
		a->num_ok = stop == end;
		return;
	}
	const char *dash = strchr(p, '-');
	if (!dash) {
		a->kind = FP_ALT_STRING;
		return;
	}
	a->kind = FP_ALT_RANGE;
	a->lo = (uint32_t)strtol(p, &stop, 16);
	if (stop != dash)
		return;
	a->hi = (uint32_t)strtol(dash + 1, &stop, 16);
	a->num_ok = stop == end;
}

static void classify_strict(struct fp_alt *a, const char *p, size_t len)
{
	a->strict_kind = FP_ALT_STRING;
	if (len > 0 && (*p == '<' || *p == '>')) {
		if (strict_hex(p + 1, len - 1, &a->slo))
			a->strict_kind = *p == '<' ? FP_ALT_LESS : FP_ALT_GREATER;
		return;
	}
	const char *dash = memchr(p, '-', len);
	if (!dash)
		return;
	size_t l1 = (size_t)(dash - p);
	if (strict_hex(p, l1, &a->slo) && strict_hex(dash + 1, len - l1 - 1, &a->shi))
		a->strict_kind = FP_ALT_RANGE;
}

int fp_expr_compile(const char *text, struct fp_alt *alts, size_t max_alts,
		    struct fp_expr *out)
{
	size_t len = strlen(text);
	size_t n = 0;
	const char *p = text;

	if (len > FP_EXPR_MAX_LEN)
		return -E2BIG;
	for (;;) {
		const char *bar = strchr(p, '|');
		const char *end = bar ? bar : text + len;
		if (n >= max_alts || n >= FP_EXPR_MAX_ALTS)
			return -E2BIG;
		struct fp_alt *a = &alts[n++];
		memset(a, 0, sizeof(*a));
		a->off = (uint16_t)(p - text);
		a->len = (uint16_t)(end - p);
		classify_793(a, p, end);
		classify_strict(a, p, a->len);
		if (!bar)
			break;
		p = bar + 1;
	}
	out->text = text;
	out->len = (uint16_t)len;
	out->n_alts = (uint16_t)n;
	out->alts = alts;
	return (int)n;
}

void fp_value_init(struct fp_value *v, const char *s)
{
	size_t len = strlen(s);
	char *stop;

	v->s = s;
	v->len = len > UINT16_MAX ? UINT16_MAX : (uint16_t)len;
	v->num = (uint32_t)strtol(s, &stop, 16);
	v->numeric = *stop == '\0';
	v->hex = strict_hex(s, len, &v->num);
	if (!v->numeric && !v->hex)
		v->num = 0;
}

static bool match_793(const struct fp_expr *e, const struct fp_value *v)
{
	for (unsigned i = 0; i < e->n_alts; i++) {
		const struct fp_alt *a = &e->alts[i];
		const char *p = e->text + a->off;
		bool last = i + 1 == e->n_alts;

		if (v->numeric && a->kind != FP_ALT_STRING) {
			if (!a->num_ok)
				continue;
			if (a->kind == FP_ALT_LESS && v->num < a->lo)
				return true;
			if (a->kind == FP_ALT_GREATER && v->num > a->lo)
				return true;
			if (a->kind == FP_ALT_RANGE && v->num >= a->lo && v->num <= a->hi)
				return true;
			continue;
		}
		/* Quirk 1: only the last alternative needs the whole value. */
		if (last ? v->len == a->len : v->len >= a->len) {
			if (memcmp(p, v->s, a->len) == 0)
				return true;
		}
	}
	return false;
}

static bool match_strict(const struct fp_expr *e, const struct fp_value *v)
{
	for (unsigned i = 0; i < e->n_alts; i++) {
		const struct fp_alt *a = &e->alts[i];

		switch (a->strict_kind) {
		case FP_ALT_LESS:
			if (v->hex && v->num < a->slo)
				return true;
			break;
		case FP_ALT_GREATER:
			if (v->hex && v->num > a->slo)
				return true;
			break;
		case FP_ALT_RANGE:
			if (v->hex && v->num >= a->slo && v->num <= a->shi)
				return true;
			break;
		default:
			if (v->len == a->len && memcmp(e->text + a->off, v->s, a->len) == 0)
				return true;
			break;
		}
	}
	return false;
}

bool fp_expr_match(const struct fp_expr *e, const struct fp_value *v,
		   enum fp_expr_dialect dialect)
{
	return dialect == FP_EXPR_STRICT ? match_strict(e, v) : match_793(e, v);
}

/* Candidates an alternative offers, in order of preference. */
static int alt_candidates(const struct fp_expr *e, const struct fp_alt *a,
			  uint32_t nums[3], bool *literal)
{
	*literal = false;
	switch (a->strict_kind) {
	case FP_ALT_RANGE:
		nums[0] = a->slo;
		nums[1] = a->shi;
		nums[2] = a->slo + (a->shi - a->slo) / 2;
		return a->shi > a->slo + 1 ? 3 : 2;
	case FP_ALT_LESS:
		if (a->slo == 0)
			return 0;
		nums[0] = 0;
		return 1;
	case FP_ALT_GREATER:
		if (a->slo == UINT32_MAX)
			return 0;
		nums[0] = a->slo + 1;
		return 1;
	default:
		break;
	}
	/* A literal, or something only the 7.93 reading sees as numeric. */
	*literal = true;
	if (a->kind == FP_ALT_RANGE && a->num_ok && a->lo <= a->hi) {
		nums[0] = a->lo;
		return 1;
	}
	(void)e;
	return 0;
}

/* Writes a candidate into buf and grades it: 2 = both readings accept,
 * 1 = only nmap 7.93's, 0 = neither. */
static int grade(const struct fp_expr *e, char *buf, size_t buflen, const char *s,
		 size_t len)
{
	struct fp_value v;

	if (len + 1 > buflen)
		return -ENOSPC;
	memcpy(buf, s, len);
	buf[len] = '\0';
	fp_value_init(&v, buf);
	if (!match_793(e, &v))
		return 0;
	return match_strict(e, &v) ? 2 : 1;
}

/* Walk the candidates in preference order. want >= 0: stop at the
 * want-th one both readings accept (fp_expr_candidate). want < 0: the
 * first both accept, else the first nmap 7.93 accepts (fp_expr_example). */
static int walk(const struct fp_expr *e, int want, char *buf, size_t buflen)
{
	char fallback[FP_EXPR_MAX_LEN + 1];
	int fallback_len = -1;

	for (unsigned i = 0; i < e->n_alts; i++) {
		const struct fp_alt *a = &e->alts[i];
		uint32_t nums[3];
		bool literal;
		int n = alt_candidates(e, a, nums, &literal);
		int g;

		for (int k = 0; k <= n; k++) {
			char num[16];
			const char *s;
			size_t len;

			if (k < n) {
				len = (size_t)snprintf(num, sizeof(num), "%X", (unsigned)nums[k]);
				s = num;
			} else if (literal) {
				s = e->text + a->off;
				len = a->len;
			} else {
				break;
			}
			g = grade(e, buf, buflen, s, len);
			if (g < 0)
				return g;
			if (g == 2 && want-- <= 0)
				return (int)len;
			if (g == 1 && fallback_len < 0) {
				memcpy(fallback, buf, len + 1);
				fallback_len = (int)len;
			}
		}
	}
	if (want >= 0 || fallback_len < 0)
		return -ENOENT;
	memcpy(buf, fallback, (size_t)fallback_len + 1);
	return fallback_len;
}

int fp_expr_example(const struct fp_expr *e, char *buf, size_t buflen)
{
	return walk(e, -1, buf, buflen);
}

int fp_expr_candidate(const struct fp_expr *e, unsigned k, char *buf, size_t buflen)
{
	return walk(e, (int)k, buf, buflen);
}
