/* fp_osdb: a small synthetic database exercising every line kind, a table
 * of malformed inputs (each must name FILE:LINE), then nmap's real
 * database: every entry parses, test lines round-trip byte for byte, and
 * load time and memory are measured against a plain read of the file. */
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "fingerprints/fp_osdb.h"
#include "tests/unit/fingerprints/fp_test_db.h"
#include "tests/unit/tap.h"

/* Weights are ours (not nmap's); the entries are invented. */
static const char synthetic[] =
	"# a comment before everything\n"
	"MatchPoints\n"
	"SEQ(SP=10%GCD=30%ISR=10%TI=40%TS=40)\n"
	"OPS(O1=5%O2=5)\n"
	"T1(R=40%DF=8%T=6%TG=6%S=8%A=8%F=12%RD=8%Q=8)\n"
	"U1(R=20%DF=8%T=6%TG=6%IPL=40%RID=40)\n"
	"IE(R=20%DFI=16%T=6%TG=6%CD=40)\n"
	"\n"
	"# first variant\n"
	"Fingerprint Example OS 1.0\n"
	"Class Example | ExampleOS | 1.X | general purpose\n"
	"CPE cpe:/o:example:exampleos:1.0 auto\n"
	"Class Example | ExampleOS || specialized\n"
	"CPE cpe:/h:example:box\n"
	"SEQ(SP=0-5%GCD=1|>1000000%ISR=C8-D2%TI=I%TS=U)\n"
	"OPS(O1=M5B4%O2=)\n"
	"T1(R=Y%DF=N%T=3B-45%TG=40%S=O%A=S+%F=AS%RD=0%Q=)\n"
	"U1(DF=N%T=FA-104%TG=FF%IPL=38%RID=G)\n"
	"IE(R=N)\n"
	"\r\n"
	"FingerPrint Example OS 1.0   # second variant, CRLF lines\r\n"
	"Class Example | ExampleOS | 1.X | general purpose\r\n"
	"# a comment inside an entry\n"
	"SEQ(SP=6-9%TI=RD)\r\n"
	"OPS()\n"
	"T9(R=Y)\n"
	"T1(R=Y%DF=Y%T=40%TG=40%S=O%A=S+%F=AS%RD=0%Q=%ZZ=1)\n"
	"\n"
	"Fingerprint Other Router 2\n"
	"Class Other | embedded || router\n"
	"T1(R=Y%DF=N%T=3B-45%TG=40%S=O%A=S+%F=AS%RD=0%Q=)\n";

static void test_synthetic(void)
{
	struct fp_osdb *db = NULL;
	struct fp_osdb_class c;
	struct fp_osdb_cpe cpe;
	struct fp_osdb_stats st;
	struct fp_expr e;
	char err[256];
	unsigned attr;
	size_t idx;

	int rc = fp_osdb_load_buffer(synthetic, sizeof(synthetic) - 1, "synthetic", &db, err,
				     sizeof(err));
	CHECK_EQ(rc, 0);
	if (rc) {
		fprintf(stderr, "    %s\n", err);
		return;
	}
	CHECK_EQ(fp_osdb_count(db), 3);
	CHECK(strcmp(fp_osdb_name(db, 0), "Example OS 1.0") == 0);
	CHECK(strcmp(fp_osdb_name(db, 1), "Example OS 1.0") == 0); /* '#' cut */
	CHECK(strcmp(fp_osdb_name(db, 2), "Other Router 2") == 0);
	CHECK(fp_osdb_name(db, 3) == NULL);
	CHECK_EQ(fp_osdb_lineno(db, 0), 10);
	CHECK_EQ(fp_osdb_lineno(db, 1), 21);

	/* classes and CPEs, paired like nmap pairs them */
	CHECK_EQ(fp_osdb_class_count(db, 0), 2);
	CHECK_EQ(fp_osdb_class(db, 0, 0, &c), 0);
	CHECK(strcmp(c.vendor, "Example") == 0 && strcmp(c.family, "ExampleOS") == 0);
	CHECK(c.gen && strcmp(c.gen, "1.X") == 0 && strcmp(c.type, "general purpose") == 0);
	CHECK_EQ(fp_osdb_class(db, 0, 1, &c), 0);
	CHECK(c.gen == NULL && strcmp(c.type, "specialized") == 0);
	CHECK_EQ(fp_osdb_class(db, 0, 2, &c), -ENOENT);
	CHECK_EQ(fp_osdb_cpe_count(db, 0), 2);
	CHECK_EQ(fp_osdb_cpe(db, 0, 0, &cpe), 0);
	CHECK(strcmp(cpe.cpe, "cpe:/o:example:exampleos:1.0") == 0 && cpe.is_auto && cpe.class_idx == 0);
	CHECK_EQ(fp_osdb_cpe(db, 0, 1, &cpe), 0);
	CHECK(strcmp(cpe.cpe, "cpe:/h:example:box") == 0 && !cpe.is_auto && cpe.class_idx == 1);
	CHECK_EQ(fp_osdb_cpe_count(db, 1), 0);

	/* tests and expressions */
	CHECK(fp_osdb_has_test(db, 0, FP_TEST_SEQ));
	CHECK(!fp_osdb_has_test(db, 0, FP_TEST_T2));
	CHECK_EQ(fp_osdb_attr_count(db, 0, FP_TEST_SEQ), 5);
	CHECK_EQ(fp_osdb_attr(db, 0, FP_TEST_SEQ, 1, &attr, &e), 0);
	CHECK(attr == FP_ATTR_GCD && strcmp(e.text, "1|>1000000") == 0 && e.n_alts == 2);
	CHECK_EQ(fp_osdb_expr(db, 0, FP_TEST_OPS, FP_ATTR_O2, &e), 0);
	CHECK(e.len == 0 && e.text[0] == '\0');
	CHECK_EQ(fp_osdb_expr(db, 0, FP_TEST_OPS, FP_ATTR_O3, &e), -ENOENT);
	CHECK(fp_osdb_has_test(db, 1, FP_TEST_OPS));
	CHECK_EQ(fp_osdb_attr_count(db, 1, FP_TEST_OPS), 0);
	CHECK_EQ(fp_osdb_attr_count(db, 1, FP_TEST_T1), 9); /* ZZ skipped */
	CHECK_EQ(fp_osdb_expr(db, 1, FP_TEST_T1, FP_ATTR_Q, &e), 0);
	CHECK_EQ(e.len, 0);

	/* MatchPoints */
	CHECK_EQ(fp_osdb_points(db, FP_TEST_SEQ, FP_ATTR_GCD), 30);
	CHECK_EQ(fp_osdb_points(db, FP_TEST_IE, FP_ATTR_CD), 40);
	CHECK_EQ(fp_osdb_points(db, FP_TEST_ECN, FP_ATTR_R), -ENOENT);

	/* sharing: entry 2's T1 line is entry 0's */
	fp_osdb_get_stats(db, &st);
	CHECK_EQ(st.test_lines, 5 + 3 + 1);
	CHECK_EQ(st.distinct_test_lines, 5 + 3);
	CHECK_EQ(st.skipped_tests, 1);
	CHECK_EQ(st.skipped_attrs, 1);

	/* names and variants */
	CHECK_EQ(fp_osdb_variants(db, "Example OS 1.0"), 2);
	CHECK_EQ(fp_osdb_variants(db, "example os 1.0"), 0);
	CHECK_EQ(fp_osdb_find(db, "Example OS 1.0", 0, &idx), 0);
	CHECK_EQ(idx, 0);
	CHECK_EQ(fp_osdb_find(db, "Example OS 1.0", 1, &idx), 0);
	CHECK_EQ(idx, 1);
	CHECK_EQ(fp_osdb_find(db, "Example OS 1.0", 2, &idx), -ENOENT);
	CHECK_EQ(fp_osdb_find(db, "Nope", 0, &idx), -ENOENT);
	CHECK_EQ(fp_osdb_variant_of(db, 1), 1);
	CHECK_EQ(fp_osdb_variant_of(db, 2), 0);

	/* search */
	CHECK_EQ(fp_osdb_search(db, "example os", 0, NULL, NULL), 2);
	CHECK_EQ(fp_osdb_search(db, "example os", FP_OSDB_SEARCH_FIRST_VARIANT, NULL, NULL), 1);
	CHECK_EQ(fp_osdb_search(db, "router", 0, NULL, NULL), 1);
	CHECK_EQ(fp_osdb_search(db, "embedded", 0, NULL, NULL), 0);
	CHECK_EQ(fp_osdb_search(db, "embedded", FP_OSDB_SEARCH_CLASSES, NULL, NULL), 1);
	CHECK_EQ(fp_osdb_search(db, ":box", FP_OSDB_SEARCH_CPE, NULL, NULL), 1);
	CHECK_EQ(fp_osdb_search(db, "", 0, NULL, NULL), 3);

	/* suggestions: one per name */
	size_t sug[4];
	size_t n = fp_osdb_suggest(db, "example os 1", sug, 4);
	CHECK(n >= 1 && sug[0] == 0);
	n = fp_osdb_suggest(db, "Other Ruoter 2", sug, 4);
	CHECK(n >= 1 && sug[0] == 2);
	CHECK_EQ(fp_osdb_suggest(db, "zzzzzzzz qqqq", sug, 4), 0);
	fp_osdb_free(db);
}

struct bad_case {
	const char *text;
	int rc;
	const char *where; /* prefix of the error message */
};

static const struct bad_case bad_cases[] = {
	{"", -EINVAL, "t: no MatchPoints block"},
	{"\n\nFingerprint A\nClass a | b | c | d\n", -EINVAL, "t: no MatchPoints block"},
	{"MatchPoints\nT1(R=x)\n", -EINVAL, "t:2: MatchPoints weight"},
	{"MatchPoints\nT1(R=1)\n\nFingerprint\n", -EINVAL, "t:4: Fingerprint line without"},
	{"MatchPoints\nT1(R=1)\n\nFingerprint   # only a comment\n", -EINVAL, "t:4:"},
	{"MatchPoints\n\nGarbage\n", -EINVAL, "t:3: expected Fingerprint"},
	{"MatchPoints\n\nFingerprint A\nT1(R=Y\n", -EINVAL, "t:4: test line without ')'"},
	{"MatchPoints\n\nFingerprint A\nT1(R=Y)x\n", -EINVAL, "t:4: text after ')'"},
	{"MatchPoints\n\nFingerprint A\nT1(R=Y%R=N)\n", -EINVAL, "t:4: attribute R repeated"},
	{"MatchPoints\n\nFingerprint A\nT1(R=Y)\nT1(R=N)\n", -EINVAL, "t:5: test T1 repeated"},
	{"MatchPoints\n\nFingerprint A\nCPE cpe:/o:x\n", -EINVAL, "t:4: CPE line before"},
	{"MatchPoints\n\nFingerprint A\nClass a | b | c\n", -EINVAL, "t:4: Class line needs"},
	{"MatchPoints\n\nFingerprint A\nClass a | b | c | d | e\n", -EINVAL, "t:4: Class line has more"},
	{"MatchPoints\n\nFingerprint A\nClass  | b | c | d\n", -EINVAL, "t:4: empty vendor"},
	{"MatchPoints\n\nFingerprint A\nClass a | b | c |  \n", -EINVAL, "t:4: empty device type"},
	{"MatchPoints\nMatchPoints\n", -EINVAL, "t:2: second MatchPoints"},
	{"MatchPoints extra\n", -EINVAL, "t:1: text after MatchPoints"},
	{"MatchPoints\nClass a | b | c | d\n", -EINVAL, "t:2: Class line inside"},
	{"MatchPoints\nT1(R=1)\nT1(DF=1)\n", -EINVAL, "t:3: test T1 repeated"},
	{"MatchPoints\n\nFingerprint A\nT1(R)\n", -EINVAL, "t:4: expected ATTR=VALUE"},
	{"MatchPoints\n\nFingerprint A\nT1(R=Y%)\n", -EINVAL, "t:4: expected ATTR=VALUE"},
	{"MatchPoints\n\nFingerprint A\nT1(=Y)\n", -EINVAL, "t:4: expected ATTR=VALUE"},
	{"MatchPoints\n\nFingerprint A\n(R=Y)\n", -EINVAL, "t:4: bad test name"},
	{"MatchPoints\n\nFingerprint A\nT 1(R=Y)\n", -EINVAL, "t:4: bad test name"},
	{"MatchPoints\n\nFingerprint A\nhello\n", -EINVAL, "t:4: expected Class, CPE"},
};

static void test_bad_inputs(void)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		struct fp_osdb *db = (struct fp_osdb *)&db; /* must be reset to NULL */
		char err[256];
		int rc = fp_osdb_load_buffer(c->text, strlen(c->text), "t", &db, err, sizeof(err));
		CHECK_EQ(rc, c->rc);
		CHECK(db == NULL);
		CHECK(strncmp(err, c->where, strlen(c->where)) == 0);
		if (strncmp(err, c->where, strlen(c->where)) != 0)
			fprintf(stderr, "    case %zu: got \"%s\", want \"%s...\"\n", i, err, c->where);
	}

	/* a NUL byte, a line over the limit, a missing file */
	struct fp_osdb *db;
	char err[256];
	static const char nul[] = "MatchPoints\n\0\n";
	CHECK_EQ(fp_osdb_load_buffer(nul, sizeof(nul) - 1, "t", &db, err, sizeof(err)), -EINVAL);
	CHECK(strcmp(err, "t:2: NUL byte") == 0);

	size_t len = FP_OSDB_MAX_LINE + 64;
	char *big = malloc(len);
	CHECK(big != NULL);
	if (big) {
		memcpy(big, "MatchPoints\n", 12);
		memset(big + 12, 'A', len - 12);
		CHECK_EQ(fp_osdb_load_buffer(big, len, "t", &db, err, sizeof(err)), -E2BIG);
		CHECK(strncmp(err, "t:2: line longer", 16) == 0);
		free(big);
	}
	CHECK_EQ(fp_osdb_load("/nonexistent/nmap-os-db", &db, err, sizeof(err)), -ENOENT);
	CHECK(strstr(err, "/nonexistent/nmap-os-db") != NULL);
	/* err may be omitted */
	CHECK_EQ(fp_osdb_load_buffer("", 0, NULL, &db, NULL, 0), -EINVAL);
}

/* ---- the real database -------------------------------------------------- */

struct file_view {
	char *text;
	size_t len;
};

static int slurp(const char *path, struct file_view *f)
{
	FILE *fp = fopen(path, "rb");
	if (!fp)
		return -1;
	fseek(fp, 0, SEEK_END);
	long n = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	f->text = malloc((size_t)n + 1);
	f->len = f->text ? fread(f->text, 1, (size_t)n, fp) : 0;
	fclose(fp);
	if (!f->text)
		return -1;
	f->text[f->len] = '\0';
	return 0;
}

/* Rebuild "NAME(A=V%...)" for an entry's test from the db. */
static void rebuild(const struct fp_osdb *db, size_t idx, unsigned t, char *buf, size_t len)
{
	size_t n = (size_t)snprintf(buf, len, "%s(", fp_vocab_test_name(t));
	for (size_t k = 0; k < fp_osdb_attr_count(db, idx, t) && n < len; k++) {
		unsigned attr;
		struct fp_expr e;
		fp_osdb_attr(db, idx, t, k, &attr, &e);
		n += (size_t)snprintf(buf + n, len - n, "%s%s=%s", k ? "%" : "",
				      fp_vocab_attr_name(attr), e.text);
	}
	if (n < len)
		snprintf(buf + n, len - n, ")");
}

/* Walk the file independently of the parser and compare: names, Class and
 * CPE counts, and every test line byte for byte. */
static void check_fidelity(const struct fp_osdb *db, const struct file_view *f)
{
	size_t idx = (size_t)-1, fingerprints = 0, mismatches = 0, classes = 0, cpes = 0;
	char *copy = strdup(f->text), *next;
	char rebuilt[2048];

	CHECK(copy != NULL);
	if (!copy)
		return;
	for (char *line = copy; line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (strncmp(line, "Fingerprint ", 12) == 0) {
			if (idx != (size_t)-1) {
				CHECK_EQ(fp_osdb_class_count(db, idx), classes);
				CHECK_EQ(fp_osdb_cpe_count(db, idx), cpes);
			}
			idx = fingerprints++;
			classes = cpes = 0;
			CHECK(fp_osdb_name(db, idx) && strcmp(fp_osdb_name(db, idx), line + 12) == 0);
			continue;
		}
		if (idx == (size_t)-1 || line[0] == '#')
			continue;
		classes += strncmp(line, "Class ", 6) == 0;
		cpes += strncmp(line, "CPE ", 4) == 0;
		char *open = strchr(line, '(');
		if (!open || strncmp(line, "Class ", 6) == 0 || strncmp(line, "CPE ", 4) == 0)
			continue;
		int t = fp_vocab_test_lookup(line, (size_t)(open - line));
		CHECK(t >= 0);
		if (t < 0)
			continue;
		rebuild(db, idx, (unsigned)t, rebuilt, sizeof(rebuilt));
		if (strcmp(rebuilt, line) != 0 && mismatches++ < 5)
			fprintf(stderr, "    entry %zu: file \"%s\" db \"%s\"\n", idx, line, rebuilt);
	}
	if (idx != (size_t)-1) {
		CHECK_EQ(fp_osdb_class_count(db, idx), classes);
		CHECK_EQ(fp_osdb_cpe_count(db, idx), cpes);
	}
	CHECK_EQ(fingerprints, fp_osdb_count(db));
	CHECK_EQ(mismatches, 0);
	free(copy);
}

static void bench_load(const char *path, const struct file_view *f)
{
	double best_read = 1e9, best_load = 1e9;
	size_t sink = 0;

	for (int i = 0; i < 5; i++) {
		/* Baseline: read the file and count its lines, nothing else. */
		double t0 = fp_test_now();
		struct file_view v;
		if (slurp(path, &v) == 0) {
			for (const char *p = v.text; (p = memchr(p, '\n', v.len - (size_t)(p - v.text)));
			     p++)
				sink++;
			free(v.text);
		}
		double t1 = fp_test_now();
		struct fp_osdb *db = NULL;
		char err[256];
		CHECK_EQ(fp_osdb_load(path, &db, err, sizeof(err)), 0);
		double t2 = fp_test_now();
		fp_osdb_free(db);
		if (t1 - t0 < best_read)
			best_read = t1 - t0;
		if (t2 - t1 < best_load)
			best_load = t2 - t1;
	}
	printf("bench: load %.1f ms, baseline read+count-lines %.2f ms, ratio %.1fx "
	       "(%zu bytes, best of 5; %zu lines seen)\n",
	       best_load * 1e3, best_read * 1e3, best_load / best_read, f->len, sink / 5);
}

static void test_real_db(void)
{
	const char *path = fp_test_db_path();
	struct file_view f = {NULL, 0};
	struct fp_osdb_stats st;

	CHECK(slurp(path, &f) == 0);
	struct mallinfo2 before = mallinfo2();
	struct fp_osdb *db = fp_test_load_db();
	struct mallinfo2 after = mallinfo2();
	CHECK(db != NULL);
	if (!db || !f.text) {
		free(f.text);
		fp_osdb_free(db);
		return;
	}
	/* nmap 7.93's database: 5678 "Fingerprint" lines. */
	size_t fingerprint_lines = 0;
	for (const char *p = f.text; (p = strstr(p, "\nFingerprint ")); p++)
		fingerprint_lines++;
	CHECK_EQ(fingerprint_lines, 5678);
	CHECK_EQ(fp_osdb_count(db), fingerprint_lines);

	fp_osdb_get_stats(db, &st);
	CHECK_EQ(st.skipped_tests, 0);
	CHECK_EQ(st.skipped_attrs, 0);
	CHECK(st.memory_bytes < f.len); /* smaller than the text it came from */
	printf("osdb: %zu entries, %zu classes, %zu CPEs, %zu test lines (%zu distinct), "
	       "%zu attributes (%zu stored), %zu expressions (%zu alternatives), pool %zu B\n",
	       st.entries, st.classes, st.cpes, st.test_lines, st.distinct_test_lines, st.attrs,
	       st.distinct_attr_slots, st.exprs, st.alts, st.pool_bytes);
	/* Blocks over the mmap threshold are counted in hblkhd, not uordblks. */
	long heap = (long)(after.uordblks + after.hblkhd) - (long)(before.uordblks + before.hblkhd);
	printf("memory: %zu B held by the db (%.1f%% of the %zu B file); heap delta %ld B%s\n",
	       st.memory_bytes, 100.0 * (double)st.memory_bytes / (double)f.len, f.len, heap,
	       heap <= 0 ? " (allocator not visible, e.g. under ASan)" : "");

	/* Every entry has a class line and the tests nmap needs. */
	size_t no_class = 0, few_tests = 0;
	for (size_t i = 0; i < fp_osdb_count(db); i++) {
		no_class += fp_osdb_class_count(db, i) == 0;
		unsigned tests = 0;
		for (unsigned t = 0; t < FP_TEST_COUNT; t++)
			tests += fp_osdb_has_test(db, i, t);
		few_tests += tests < FP_TEST_COUNT - 1;
	}
	CHECK_EQ(no_class, 0);
	CHECK_EQ(few_tests, 0);
	CHECK_EQ(fp_osdb_points(db, FP_TEST_SEQ, FP_ATTR_TI), 100);

	check_fidelity(db, &f);

	/* Duplicate names: variant 0 is the first in the file. */
	size_t idx, first = (size_t)-1;
	const char *xp = "Microsoft Windows XP SP3";
	for (size_t i = 0; i < fp_osdb_count(db) && first == (size_t)-1; i++)
		if (strcmp(fp_osdb_name(db, i), xp) == 0)
			first = i;
	CHECK_EQ(fp_osdb_find(db, xp, 0, &idx), 0);
	CHECK_EQ(idx, first);
	CHECK(fp_osdb_variants(db, xp) > 100);
	size_t shown = fp_osdb_search(db, "windows xp", FP_OSDB_SEARCH_FIRST_VARIANT, NULL, NULL);
	size_t all = fp_osdb_search(db, "windows xp", 0, NULL, NULL);
	CHECK(shown > 0 && shown < all);
	printf("search \"windows xp\": %zu entries, %zu distinct names\n", all, shown);

	size_t sug[5];
	size_t n = fp_osdb_suggest(db, "linux 2.6.32", sug, 5);
	CHECK(n >= 1 && strcmp(fp_osdb_name(db, sug[0]), "Linux 2.6.32") == 0);
	n = fp_osdb_suggest(db, "Windoze XP SP3", sug, 5);
	CHECK(n >= 1 && strstr(fp_osdb_name(db, sug[0]), "XP SP3") != NULL);
	for (size_t i = 0; i < n; i++)
		printf("suggest \"Windoze XP SP3\": %s\n", fp_osdb_name(db, sug[i]));

	bench_load(path, &f);
	fp_osdb_free(db);
	free(f.text);
}

int main(void)
{
	test_synthetic();
	test_bad_inputs();
	test_real_db();
	return tap_done();
}
