/* Scoring subjects against nmap-os-db entries, ranking the whole database
 * like nmap 7.93, and building the subject an entry describes.
 *
 * Because entries share distinct test lines (fp_osdb_internal.h), ranking
 * scores each distinct line once per subject and then sums per entry:
 * ~15k line scores instead of ~74k for nmap-os-db 7.93. */
#include "fingerprints/fp_osmatch.h"
#include "fingerprints/fp_osdb_internal.h"

#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct line_score {
	uint32_t matched, possible, unweighted;
};

struct explain {
	fp_osmatch_explain_cb cb;
	void *ctx;
};

/* Score one distinct line: every attribute the subject also has counts. */
static void score_line(const struct fp_osdb *db, uint32_t id, const struct fp_subject *s,
		       enum fp_expr_dialect dialect, struct line_score *out,
		       const struct explain *ex)
{
	const struct fp_osdb_line_rec *l = &db->lines[id];
	fp_attr_mask have = s->present[l->test];

	memset(out, 0, sizeof(*out));
	if (!have)
		return;
	for (unsigned k = 0; k < l->n_av; k++) {
		uint32_t av = db->avs[l->first_av + k];
		unsigned attr = FP_AV_ATTR(av);
		struct fp_value v;
		struct fp_expr e;

		if (!(have & FP_ATTR_BIT(attr)))
			continue;
		fp_subject_get(s, l->test, attr, &v);
		fp_osdb_expr_view(db, FP_AV_EXPR(av), &e);
		int pts = db->points[l->test][attr];
		bool ok = fp_expr_match(&e, &v, dialect);
		if (pts < 0) {
			out->unweighted++;
		} else {
			out->possible += (uint32_t)pts;
			if (ok)
				out->matched += (uint32_t)pts;
		}
		if (ex)
			ex->cb(ex->ctx, l->test, attr, v.s, e.text, pts, ok);
	}
}

static void finish_score(struct fp_osmatch_score *out)
{
	out->accuracy = out->possible ? out->matched / (double)out->possible : 0;
	out->perfect = out->possible && out->matched == out->possible;
}

static int score_entry(const struct fp_osdb *db, size_t idx, const struct fp_subject *s,
		       enum fp_expr_dialect dialect, struct fp_osmatch_score *out,
		       const struct explain *ex)
{
	memset(out, 0, sizeof(*out));
	if (idx >= db->n_entries)
		return -ENOENT;
	const struct fp_osdb_entry_rec *e = &db->entries[idx];
	for (unsigned i = 0; i < e->n_tests; i++) {
		struct line_score ls;
		score_line(db, db->entry_tests[e->first_test + i], s, dialect, &ls, ex);
		out->matched += ls.matched;
		out->possible += ls.possible;
		out->unweighted += ls.unweighted;
	}
	finish_score(out);
	return 0;
}

int fp_osmatch_score(const struct fp_osdb *db, size_t idx, const struct fp_subject *s,
		     enum fp_expr_dialect dialect, struct fp_osmatch_score *out)
{
	return score_entry(db, idx, s, dialect, out, NULL);
}

int fp_osmatch_explain(const struct fp_osdb *db, size_t idx, const struct fp_subject *s,
		       enum fp_expr_dialect dialect, fp_osmatch_explain_cb cb, void *ctx)
{
	struct explain ex = {cb, ctx};
	struct fp_osmatch_score sc;
	return score_entry(db, idx, s, dialect, &sc, cb ? &ex : NULL);
}

/* ---- ranking like nmap's result list ------------------------------------ */

/* Offer one scored entry to the list. Returns false when the list gave up
 * (too many perfect matches). */
static bool offer(const struct fp_osdb *db, struct fp_osmatch_result *r, double *entrance,
		  uint32_t idx, const struct fp_osmatch_score *sc)
{
	double acc = sc->accuracy;
	uint32_t name = db->entries[idx].name;

	if (!(acc >= *entrance || acc == 1.0))
		return true;
	for (unsigned j = 0; j < r->n_hits; j++) {
		if (db->entries[r->hits[j].entry].name != name)
			continue;
		if (r->hits[j].accuracy >= acc)
			return true; /* the name is already in with at least this */
		memmove(&r->hits[j], &r->hits[j + 1], (r->n_hits - 1 - j) * sizeof(r->hits[0]));
		r->n_hits--;
		break;
	}
	if (acc == 1.0) {
		if (r->n_perfect == FP_OSMATCH_MAX_HITS) {
			r->too_many = true;
			return false;
		}
		r->n_perfect++;
	}
	/* Before the first hit it beats; equal accuracies keep file order. */
	unsigned at = 0;
	while (at < r->n_hits && r->hits[at].accuracy >= acc)
		at++;
	if (at >= FP_OSMATCH_MAX_HITS)
		return true;
	unsigned keep = r->n_hits < FP_OSMATCH_MAX_HITS ? r->n_hits : FP_OSMATCH_MAX_HITS - 1;
	memmove(&r->hits[at + 1], &r->hits[at], (keep - at) * sizeof(r->hits[0]));
	r->hits[at] = (struct fp_osmatch_hit){idx, sc->matched, sc->possible, acc};
	r->n_hits = keep + 1;
	if (r->n_hits == FP_OSMATCH_MAX_HITS)
		*entrance = r->hits[FP_OSMATCH_MAX_HITS - 1].accuracy + 0.00001;
	return true;
}

int fp_osmatch_db(const struct fp_osdb *db, const struct fp_subject *s,
		  enum fp_expr_dialect dialect, double threshold,
		  struct fp_osmatch_result *out)
{
	struct line_score *lines = malloc((db->n_lines ? db->n_lines : 1) * sizeof(*lines));
	double entrance = threshold;

	memset(out, 0, sizeof(*out));
	if (!lines)
		return -ENOMEM;
	for (size_t i = 0; i < db->n_lines; i++)
		score_line(db, (uint32_t)i, s, dialect, &lines[i], NULL);
	for (size_t idx = 0; idx < db->n_entries; idx++) {
		const struct fp_osdb_entry_rec *e = &db->entries[idx];
		struct fp_osmatch_score sc = {0};
		for (unsigned i = 0; i < e->n_tests; i++) {
			const struct line_score *ls = &lines[db->entry_tests[e->first_test + i]];
			sc.matched += ls->matched;
			sc.possible += ls->possible;
		}
		finish_score(&sc);
		if (!offer(db, out, &entrance, (uint32_t)idx, &sc))
			break;
	}
	free(lines);
	return 0;
}

/* ---- the subject an entry describes ----------------------------------- */

int fp_osdb_example_value(const struct fp_osdb *db, size_t idx, unsigned test,
			  unsigned attr, char *buf, size_t buflen)
{
	struct fp_expr e, tg;
	int rc;

	if ((rc = fp_osdb_expr(db, idx, test, attr, &e)))
		return rc;
	/* A host sends its real initial TTL: prefer TG's value for T. */
	if (attr == FP_ATTR_T && fp_osdb_expr(db, idx, test, FP_ATTR_TG, &tg) == 0) {
		int n = fp_expr_example(&tg, buf, buflen);
		if (n >= 0) {
			struct fp_value v;
			fp_value_init(&v, buf);
			if (fp_expr_match(&e, &v, FP_EXPR_NMAP793) &&
			    fp_expr_match(&e, &v, FP_EXPR_STRICT))
				return n;
		}
	}
	return fp_expr_example(&e, buf, buflen);
}

static bool responded(unsigned test)
{
	return test >= FP_TEST_ECN;
}

int fp_osmatch_example_subject(const struct fp_osdb *db, size_t idx, struct fp_subject *s,
			       unsigned *bad)
{
	char val[FP_EXPR_MAX_LEN + 1];
	int rc;

	fp_subject_init(s);
	if (idx >= db->n_entries)
		return -ENOENT;
	const struct fp_osdb_entry_rec *e = &db->entries[idx];
	for (unsigned i = 0; i < e->n_tests; i++) {
		const struct fp_osdb_line_rec *l = &db->lines[db->entry_tests[e->first_test + i]];
		fp_attr_mask attrs = 0;
		for (unsigned k = 0; k < l->n_av; k++)
			attrs |= FP_ATTR_BIT(FP_AV_ATTR(db->avs[l->first_av + k]));
		fp_subject_add_test(s, l->test);
		for (unsigned k = 0; k < l->n_av; k++) {
			unsigned attr = FP_AV_ATTR(db->avs[l->first_av + k]);
			if (attr == FP_ATTR_TG && (attrs & FP_ATTR_BIT(FP_ATTR_T)))
				continue;
			rc = fp_osdb_example_value(db, idx, l->test, attr, val, sizeof(val));
			if (rc >= 0)
				rc = fp_subject_set(s, l->test, attr, val);
			if (rc < 0) {
				if (bad)
					*bad = (unsigned)l->test << 8 | attr;
				return rc;
			}
		}
		if (responded(l->test) && attrs && !(attrs & FP_ATTR_BIT(FP_ATTR_R))) {
			if ((rc = fp_subject_set(s, l->test, FP_ATTR_R, "Y")))
				return rc;
		}
	}
	return 0;
}

/* ---- telling an entry from its neighbours ------------------------------ */

#define DISTINCT_ROUNDS 4
#define DISTINCT_MAX_CANDIDATES 64

struct change {
	unsigned test, attr, killed;
	bool stat;
	char value[FP_EXPR_MAX_LEN + 1];
};

/* How many rivals stop matching when test.attr takes value v. */
static unsigned rivals_killed(const struct fp_osdb *db, const uint32_t *rivals, unsigned n,
			      unsigned test, unsigned attr, const char *v)
{
	struct fp_value val;
	unsigned killed = 0;

	fp_value_init(&val, v);
	for (unsigned i = 0; i < n; i++) {
		struct fp_expr e;
		if (fp_osdb_expr(db, rivals[i], test, attr, &e) == 0 &&
		    db->points[test][attr] > 0 && !fp_expr_match(&e, &val, FP_EXPR_NMAP793))
			killed++;
	}
	return killed;
}

/* The single value change that removes the most rivals; best->killed = 0
 * when none helps. T is never changed: it stays the real initial TTL. */
static void best_change(const struct fp_osdb *db, size_t idx, const struct fp_subject *s,
			const uint32_t *rivals, unsigned n, struct change *best)
{
	const struct fp_osdb_entry_rec *e = &db->entries[idx];
	char cand[FP_EXPR_MAX_LEN + 1];

	best->killed = 0;
	best->stat = true;
	for (unsigned i = 0; i < e->n_tests; i++) {
		const struct fp_osdb_line_rec *l = &db->lines[db->entry_tests[e->first_test + i]];
		for (unsigned k = 0; k < l->n_av; k++) {
			uint32_t av = db->avs[l->first_av + k];
			unsigned attr = FP_AV_ATTR(av);
			struct fp_expr ex;
			if (attr == FP_ATTR_T || !(s->present[l->test] & FP_ATTR_BIT(attr)))
				continue;
			fp_osdb_expr_view(db, FP_AV_EXPR(av), &ex);
			for (unsigned c = 0; c < DISTINCT_MAX_CANDIDATES; c++) {
				if (fp_expr_candidate(&ex, c, cand, sizeof(cand)) < 0)
					break;
				unsigned killed = rivals_killed(db, rivals, n, l->test, attr, cand);
				/* Between changes that remove as many rivals, prefer an
				 * answer the stack reproduces exactly over a statistic
				 * nmap measures with noise (SP, ISR: their value moves
				 * with nmap's pacing). */
				bool stat = l->test == FP_TEST_SEQ && (attr == FP_ATTR_SP || attr == FP_ATTR_ISR);
				if (killed * 2 + !stat > best->killed * 2 + !best->stat) {
					best->stat = stat;
					best->test = l->test;
					best->attr = attr;
					best->killed = killed;
					memcpy(best->value, cand, strlen(cand) + 1);
				}
			}
		}
	}
}

/* Other names nmap would also call perfect for s. */
static int find_rivals(const struct fp_osdb *db, size_t idx, const struct fp_subject *s,
		       uint32_t *rivals, unsigned *n)
{
	struct fp_osmatch_result r;
	int rc = fp_osmatch_db(db, s, FP_EXPR_NMAP793, 1.0, &r);

	*n = 0;
	if (rc)
		return rc;
	for (unsigned i = 0; i < r.n_perfect; i++) {
		if (db->entries[r.hits[i].entry].name != db->entries[idx].name)
			rivals[(*n)++] = r.hits[i].entry;
	}
	return 0;
}

/* SP and ISR are statistics nmap measures with some noise: aim at the
 * middle of the range the entry gives rather than at its low end. */
static int center_statistics(const struct fp_osdb *db, size_t idx, struct fp_subject *s)
{
	static const unsigned attrs[] = {FP_ATTR_SP, FP_ATTR_ISR};
	for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
		struct fp_expr e;
		struct fp_value v;
		if (fp_osdb_expr(db, idx, FP_TEST_SEQ, attrs[i], &e) != 0 ||
		    !fp_subject_get(s, FP_TEST_SEQ, attrs[i], &v) || !v.hex)
			continue;
		for (unsigned k = 0; k < e.n_alts; k++) {
			const struct fp_alt *a = &e.alts[k];
			if (a->strict_kind != FP_ALT_RANGE || v.num < a->slo || v.num > a->shi)
				continue;
			char buf[16];
			snprintf(buf, sizeof(buf), "%X", (unsigned)(a->slo + (a->shi - a->slo) / 2));
			int rc = fp_subject_set(s, FP_TEST_SEQ, attrs[i], buf);
			if (rc)
				return rc;
			break;
		}
	}
	return 0;
}

int fp_osmatch_distinct_subject(const struct fp_osdb *db, size_t idx, struct fp_subject *s,
				unsigned *rivals_left)
{
	uint32_t rivals[FP_OSMATCH_MAX_HITS];
	struct change *best = malloc(sizeof(*best));
	unsigned n = 0;
	int rc;

	if (!best)
		return -ENOMEM;
	if ((rc = fp_osmatch_example_subject(db, idx, s, NULL)) || (rc = center_statistics(db, idx, s)))
		goto out;
	for (unsigned round = 0; round < DISTINCT_ROUNDS; round++) {
		if ((rc = find_rivals(db, idx, s, rivals, &n)) || n == 0)
			goto out;
		best_change(db, idx, s, rivals, n, best);
		if (!best->killed)
			break;
		if ((rc = fp_subject_set(s, best->test, best->attr, best->value)))
			goto out;
	}
	rc = find_rivals(db, idx, s, rivals, &n);
out:
	if (rivals_left)
		*rivals_left = n;
	free(best);
	return rc;
}
