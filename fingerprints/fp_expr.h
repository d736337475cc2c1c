/* fp_expr: the value expressions of nmap-os-db ("R=Y", "SP=0-5",
 * "GCD=1|>1000000", "O=", "T=FA-104", "Q=|U") and how a concrete observed
 * value is judged against them.
 *
 * Grammar: alternatives separated by '|'; each alternative is a literal
 * string (possibly empty), a hex range "LO-HI", or a hex comparison ">X" /
 * "<X". There are no parentheses. An expression is compiled once into a
 * list of alternatives (struct fp_alt) whose numeric bounds are already
 * parsed, so matching never re-parses text.
 *
 * Two readings are implemented:
 *  - FP_EXPR_NMAP793, the reading of nmap 7.93 (the judge we are measured
 *    against). It has three quirks that matter for impersonation:
 *      1. a non-final alternative matches any value it is a prefix of
 *         ("M5B4|M218" accepts "M5B4NW8"); hence an empty non-final
 *         alternative ("|U") accepts every value;
 *      2. whether an alternative is a range is decided by the first '-'
 *         anywhere from that alternative to the end of the expression, so
 *         in "79|B0-BA" the value 79 matches nothing;
 *      3. an empty value counts as the number 0 (but is still compared as
 *         a string against literal alternatives).
 *    Numbers are read like strtol(…, 16) and truncated to 32 bits.
 *  - FP_EXPR_STRICT, each alternative on its own: numeric alternatives
 *    compare numerically against hex values, literals need equality. This
 *    approximates nmap >= 7.94 and is what persona synthesis aims to
 *    satisfy as well, so a persona does not depend on 7.93's quirks.
 *
 * Nothing here allocates; all structures are caller-provided.
 */
#ifndef FP_EXPR_H
#define FP_EXPR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum fp_alt_kind {
	FP_ALT_STRING = 0,
	FP_ALT_RANGE,   /* LO-HI, inclusive */
	FP_ALT_LESS,    /* <X */
	FP_ALT_GREATER, /* >X */
};

enum fp_expr_dialect {
	FP_EXPR_NMAP793 = 0,
	FP_EXPR_STRICT = 1,
};

/* Longest expression text and most alternatives we accept; nmap-os-db
 * 7.93 peaks at 153 bytes and 17 alternatives. */
#define FP_EXPR_MAX_LEN 4096
#define FP_EXPR_MAX_ALTS 256

struct fp_alt {
	uint32_t lo, hi;     /* nmap 7.93 reading: bounds (hi only for RANGE) */
	uint32_t slo, shi;   /* strict reading: bounds */
	uint16_t off, len;   /* the alternative's text inside the expression */
	uint8_t kind;        /* enum fp_alt_kind, nmap 7.93 reading */
	uint8_t num_ok;      /* 7.93: the numeric form parsed the way nmap needs */
	uint8_t strict_kind; /* enum fp_alt_kind, the alternative on its own */
	uint8_t reserved;
};

/* A compiled expression: a view, owned by whoever owns text and alts (the
 * database, or the caller of fp_expr_compile). */
struct fp_expr {
	const char *text; /* NUL-terminated */
	uint16_t len;
	uint16_t n_alts;
	const struct fp_alt *alts;
};

/* An observed value as nmap prints it in a subject fingerprint ("105",
 * "M5B4ST11NW7", "" ...), with its numeric readings precomputed. */
struct fp_value {
	const char *s; /* NUL-terminated, not owned */
	uint16_t len;
	uint8_t numeric; /* nmap 7.93: strtol(s, 16) consumed all of s */
	uint8_t hex;     /* strict: 1..8 hex digits */
	uint32_t num;    /* the number, truncated to 32 bits like nmap */
};

/* Compile the NUL-terminated text into alts[0..max_alts). Fills *out (which
 * points into text and alts, so both must outlive it). Returns the number
 * of alternatives, -E2BIG when text or the alternatives exceed the limits
 * above or max_alts. Every string is a valid expression. */
int fp_expr_compile(const char *text, struct fp_alt *alts, size_t max_alts,
		    struct fp_expr *out);

/* Prepare s (NUL-terminated, must outlive v) for matching. Values longer
 * than 65535 bytes are truncated in length (nmap never prints them). */
void fp_value_init(struct fp_value *v, const char *s);

/* Does value v satisfy expression e under the given reading? */
bool fp_expr_match(const struct fp_expr *e, const struct fp_value *v,
		   enum fp_expr_dialect dialect);

/* One concrete value that satisfies e, written NUL-terminated to buf: the
 * first alternative that yields one, a range's low end, 0 for "<X", X+1
 * for ">X" (hex, uppercase, as nmap prints). A value that satisfies both
 * readings is preferred over one that satisfies only nmap 7.93's.
 * Returns its length, -ENOENT when nothing satisfies e, -ENOSPC when buf
 * is too small. This is the seed of persona synthesis. */
int fp_expr_example(const struct fp_expr *e, char *buf, size_t buflen);

/* The k-th value (k = 0, 1, ...) that satisfies e under both readings, in
 * the order fp_expr_example prefers them: each literal alternative, each
 * range's low end, high end and middle, 0 and X+1 for comparisons. Used
 * to pick a value that tells one entry from its neighbours. Returns the
 * length, -ENOENT past the last one, -ENOSPC. Candidates may repeat. */
int fp_expr_candidate(const struct fp_expr *e, unsigned k, char *buf, size_t buflen);

#endif
