/* Persona compilation over the whole nmap-os-db:
 *  - every entry compiles (decoder understands every value nmap uses);
 *  - rendering the persona back gives exactly the subject it came from
 *    (every decoded field carries what nmap measures), and that subject is
 *    a perfect match for the entry under nmap 7.93's rules;
 *  - how many entries nmap would name uniquely (reported; lower bound
 *    asserted);
 *  - the five DECNET family entries exist, are unique perfect matches and
 *    belong to their family;
 *  - option strings round-trip; memory and time per compiled persona. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fingerprints/fp_persona.h"
#include "tests/unit/fingerprints/fp_test_db.h"
#include "tests/unit/tap.h"

static void test_topts(void)
{
	static const char *const good[] = {"M5B4NW7SLL", "MFFD7ST11", "M5B4ST11NW8", "", "NNT11",
					   "M218NW0ST00", "WANNSLLT10M109"};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct fp_topts o;
		char back[96];
		CHECK_EQ(fp_topts_parse(good[i], &o), 0);
		CHECK_EQ(fp_topts_format(&o, back, sizeof(back)), 0);
		CHECK(strcmp(back, good[i]) == 0);
	}
	struct fp_topts o;
	CHECK_EQ(fp_topts_parse("M5B4NW7SLL", &o), 0);
	CHECK_EQ(o.n, 6);
	CHECK_EQ(o.opt[0].kind, FP_TOPT_MSS);
	CHECK_EQ(o.opt[0].value, 0x5b4);
	CHECK_EQ(o.opt[2].kind, FP_TOPT_WS);
	CHECK_EQ(o.opt[2].value, 7);
	static const char *const bad[] = {"X", "T2", "T1", "M", "MGG", "M10000", "W"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_EQ(fp_topts_parse(bad[i], &o), -EINVAL);
}

static void test_whole_db(struct fp_osdb *db)
{
	size_t n = fp_osdb_count(db), compiled = 0, roundtrip = 0, perfect = 0, unique = 0;
	size_t off_lan = 0;
	static struct fp_persona p;
	char err[256];
	unsigned shown = 0;
	double t0 = fp_test_now();
	for (size_t i = 0; i < n; i++) {
		if (fp_persona_compile(db, i, &p, err, sizeof(err)) != 0) {
			if (shown++ < (getenv("FP_SHOW_ALL") ? 100000u : 10u))
				fprintf(stderr, "  compile: %s\n", err);
			continue;
		}
		compiled++;
		/* T above 0xFF: the entry was recorded one router away (its TTL
		 * plus a hop). On a LAN nmap measures distance 1, so no answer
		 * can reproduce that T: such entries are expected to differ
		 * there and only there. */
		bool lan_unmatchable = false;
		for (unsigned t = FP_TEST_ECN; t <= FP_TEST_IE; t++) {
			struct fp_value v;
			if (fp_subject_get(&p.subject, t, FP_ATTR_T, &v) && v.hex && v.num > 0xff)
				lan_unmatchable = true;
		}
		if (lan_unmatchable) {
			off_lan++;
			continue;
		}
		struct fp_subject r;
		char a[FP_SUBJECT_TEXT_MAX], b[FP_SUBJECT_TEXT_MAX];
		if (fp_persona_render(&p, &r) == 0 && fp_subject_format(&p.subject, a, sizeof(a)) > 0 &&
		    fp_subject_format(&r, b, sizeof(b)) > 0 && strcmp(a, b) == 0) {
			roundtrip++;
		} else if (shown++ < (getenv("FP_SHOW_ALL") ? 100000u : 10u)) {
			fprintf(stderr, "  round trip of %zu (%s) differs:\n%s\n---\n%s\n", i, p.name, a, b);
		}
		struct fp_osmatch_score sc;
		if (fp_osmatch_score(db, i, &r, FP_EXPR_NMAP793, &sc) == 0 && sc.perfect)
			perfect++;
		if (p.rivals == 0)
			unique++;
	}
	double dt = fp_test_now() - t0;
	printf("personas: %zu entries, %zu compiled, %zu recorded a hop away (T > FF: cannot match on a "
	       "LAN), %zu round-trip exactly, %zu perfect matches, %zu unique (nmap would name only this "
	       "OS) = %.1f %% of the database\n",
	       n, compiled, off_lan, roundtrip, perfect, unique, 100.0 * (double)unique / (double)n);
	printf("compile time %.1f us per entry; %zu bytes per compiled persona (shared by every decky wearing it)\n",
	       dt * 1e6 / (double)n, sizeof(struct fp_persona));
	CHECK_EQ(compiled, n);
	CHECK_EQ(roundtrip + off_lan, n);
	CHECK_EQ(perfect + off_lan, n);
	CHECK(off_lan <= 82); /* measured on nmap 7.93's database */
	CHECK(unique * 1000 >= n * 970); /* measured: 5549 of 5678 */
}

static void test_families(struct fp_osdb *db)
{
	for (unsigned f = 0; f < FP_FAMILY_COUNT; f++) {
		size_t idx;
		static struct fp_persona p;
		char err[256];
		const char *name = fp_persona_family_entry_name(f);
		CHECK_EQ(fp_persona_family_entry(db, f, &idx), 0);
		CHECK_EQ(fp_persona_compile(db, idx, &p, err, sizeof(err)), 0);
		printf("family %-8s -> %-40s ttl %3u, rivals %u, family of entry %s\n",
		       fp_family_info(f)->name, name, p.ttl, p.rivals, fp_family_info(p.family)->name);
		CHECK_EQ(p.rivals, 0);
		CHECK_EQ(p.family, f);
		CHECK_EQ(p.ttl, fp_family_info(f)->ttl);
	}
}

int main(void)
{
	test_topts();
	struct fp_osdb *db = fp_test_load_db();
	CHECK(db != NULL);
	if (db) {
		test_families(db);
		test_whole_db(db);
		fp_osdb_free(db);
	}
	return tap_done();
}
