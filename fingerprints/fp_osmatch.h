/* fp_osmatch: judging a concrete fingerprint against nmap-os-db the way
 * nmap 7.93 does, so DECNET can know — before any scan — which OS nmap
 * will report for a persona, and why not when it misses.
 *
 * A subject (struct fp_subject) is what nmap measured from a host: one
 * concrete value per test attribute, e.g. SEQ.SP = "105". It can be parsed
 * from nmap's "TCP/IP fingerprint:" block (wrapped "OS:" lines or one test
 * per line), or built by fp_osmatch_example_subject() from a database entry
 * (the seed of persona synthesis: "answer exactly like entry N").
 *
 * Scoring follows nmap's rules: every attribute present in both the
 * subject and the reference entry is worth its MatchPoints weight; the
 * accuracy is matched points / possible points, and a perfect match is
 * 100 %. Attributes on only one side do not count. fp_osmatch_db() then
 * ranks the whole database like nmap's result list (36 slots, one per OS
 * name, 0.85 guess threshold).
 *
 * A subject is a plain value: no allocation, no pointers into itself, so
 * it can be copied with '='. Functions here are thread-safe on distinct
 * subjects; the db is only read.
 */
#ifndef FP_OSMATCH_H
#define FP_OSMATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fingerprints/fp_expr.h"
#include "fingerprints/fp_osdb.h"
#include "fingerprints/fp_vocab.h"

#define FP_SUBJECT_TEXT_MAX 3072

struct fp_subject_slot {
	uint16_t off, len; /* value text in fp_subject.text */
	uint32_t num;
	uint8_t numeric, hex; /* see struct fp_value */
};

struct fp_subject {
	uint16_t tests;                         /* bit per test present */
	fp_attr_mask present[FP_TEST_COUNT];    /* bit per attribute present */
	struct fp_subject_slot slot[FP_TEST_COUNT][FP_ATTR_COUNT];
	uint16_t used;                          /* bytes of text in use */
	uint16_t skipped;    /* unknown tests/attributes the parser ignored */
	uint16_t duplicates; /* repeated tests the parser ignored (first kept) */
	char text[FP_SUBJECT_TEXT_MAX];
};

void fp_subject_init(struct fp_subject *s);

/* Mark a test present (a test may be present with no attributes). */
int fp_subject_add_test(struct fp_subject *s, unsigned test);

/* Set test.attr to the NUL-terminated value (copied). Marks the test
 * present. Returns 0, -EINVAL for bad ids, -ENOSPC when text is full. */
int fp_subject_set(struct fp_subject *s, unsigned test, unsigned attr, const char *value);

/* The value of test.attr, ready for fp_expr_match; false when absent. The
 * view points into s. */
bool fp_subject_get(const struct fp_subject *s, unsigned test, unsigned attr,
		    struct fp_value *v);

/* Parse an nmap subject fingerprint: either the wrapped form nmap prints
 * after "TCP/IP fingerprint:" (lines starting "OS:", concatenated) or one
 * test per line. Other lines (headers, blank) are ignored; SCAN(...) and
 * unknown tests or attributes are skipped (counted in s->skipped); when a
 * test appears twice the first is kept. Returns 0, -EINVAL (with err) when
 * a test is malformed or nothing was found, -ENOSPC when too long. */
int fp_subject_parse(const char *text, size_t len, struct fp_subject *s, char *err,
		     size_t errlen);

/* One "TEST(A=V%...)" line per test, in nmap's order. Returns the length
 * written (NUL-terminated) or -ENOSPC. */
int fp_subject_format(const struct fp_subject *s, char *buf, size_t buflen);

struct fp_osmatch_score {
	uint32_t matched, possible; /* MatchPoints */
	uint32_t unweighted;        /* compared attributes MatchPoints omits */
	double accuracy;            /* matched / possible, 0 when nothing compared */
	bool perfect;               /* accuracy == 1 */
};

/* Score the subject against entry idx. Returns 0 or -ENOENT (bad idx). */
int fp_osmatch_score(const struct fp_osdb *db, size_t idx, const struct fp_subject *s,
		     enum fp_expr_dialect dialect, struct fp_osmatch_score *out);

/* Called for each attribute compared by fp_osmatch_explain. */
typedef void (*fp_osmatch_explain_cb)(void *ctx, unsigned test, unsigned attr,
				      const char *value, const char *expr, int points,
				      bool matched);

/* Same walk as fp_osmatch_score, reporting each comparison (for "why does
 * nmap not see this persona as X"). points is -1 for unweighted ones. */
int fp_osmatch_explain(const struct fp_osdb *db, size_t idx, const struct fp_subject *s,
		       enum fp_expr_dialect dialect, fp_osmatch_explain_cb cb, void *ctx);

/* nmap 7.93's result list sizes (FingerPrintResults.h / osscan.h). */
#define FP_OSMATCH_MAX_HITS 36
#define FP_OSMATCH_GUESS_THRESHOLD 0.85

struct fp_osmatch_hit {
	uint32_t entry;
	uint32_t matched, possible;
	double accuracy;
};

struct fp_osmatch_result {
	struct fp_osmatch_hit hits[FP_OSMATCH_MAX_HITS]; /* best first */
	unsigned n_hits;
	unsigned n_perfect; /* hits[0 .. n_perfect) are the perfect ones */
	bool too_many;      /* more perfect matches than slots: nmap gives up */
};

/* Rank the whole db for the subject like nmap's matcher: entries are
 * visited in file order; one hit per OS name (a name's better variant
 * replaces a worse one, ties keep the earlier); hits below threshold are
 * dropped unless perfect; once the list is full a newcomer must beat its
 * last hit. nmap prints "OS details" from the perfect hits, else guesses.
 * Returns 0 or -ENOMEM. */
int fp_osmatch_db(const struct fp_osdb *db, const struct fp_subject *s,
		  enum fp_expr_dialect dialect, double threshold,
		  struct fp_osmatch_result *out);

/* A subject that answers exactly like entry idx: every attribute gets
 * fp_expr_example()'s value, except T, which takes TG's value when that
 * satisfies T (a host sends its real initial TTL), and TG, which is left
 * out when T is present (nmap reports one of the two). Tests that
 * responded (ECN..IE with attributes) carry R=Y as nmap prints them.
 * Returns 0, -ENOENT (bad idx, or an expression nothing satisfies: *bad
 * names it as test << 8 | attr when bad is not NULL), -ENOSPC. */
int fp_osmatch_example_subject(const struct fp_osdb *db, size_t idx, struct fp_subject *s,
			       unsigned *bad);

/* The example subject, then up to four single-value changes (each to
 * another value the entry accepts, fp_expr_candidate) chosen to stop other
 * OS names from matching perfectly too: e.g. SP=FF-109 next to a rival's
 * EB-107 becomes 109. T is never changed. *rivals_left (may be NULL) gets
 * the number of other names still perfect under nmap 7.93 (0: nmap would
 * name only this entry's OS). Returns 0, or as fp_osmatch_example_subject,
 * or -ENOMEM. */
int fp_osmatch_distinct_subject(const struct fp_osdb *db, size_t idx, struct fp_subject *s,
				unsigned *rivals_left);

#endif
