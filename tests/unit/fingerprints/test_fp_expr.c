/* fp_expr and fp_vocab: the value-expression grammar, both readings, and
 * example values, table-driven. */
#include <errno.h>
#include <string.h>

#include "fingerprints/fp_expr.h"
#include "fingerprints/fp_vocab.h"
#include "tests/unit/tap.h"

struct match_case {
	const char *expr, *value;
	int nmap793, strict;
};

static const struct match_case match_cases[] = {
	/* literals */
	{"Y", "Y", 1, 1},
	{"Y", "N", 0, 0},
	{"AS", "AS", 1, 1},
	{"AS", "A", 0, 0},
	{"G", "G", 1, 1},
	{"E44A4E43", "E44A4E43", 1, 1},
	{"M5B4NW8", "M5B4NW8", 1, 1},
	{"M5B4NW8", "M5B4", 0, 0},
	{"-", "-", 1, 1},
	/* empty values and expressions ("O=", "Q=") */
	{"", "", 1, 1},
	{"", "M5B4", 0, 0},
	{"", "0", 0, 0},
	{"M5B4", "", 0, 0},
	/* ranges, hex */
	{"0-5", "0", 1, 1},
	{"0-5", "5", 1, 1},
	{"0-5", "3", 1, 1},
	{"0-5", "6", 0, 0},
	{"FA-104", "FF", 1, 1},
	{"FA-104", "100", 1, 1},
	{"FA-104", "104", 1, 1},
	{"FA-104", "F9", 0, 0},
	{"FA-104", "105", 0, 0},
	{"C8-D2", "c9", 1, 1},
	{"5-3", "4", 0, 0},
	/* quirk 3: nmap 7.93 reads an empty value as the number 0 */
	{"0-5", "", 1, 0},
	{">0", "", 0, 0},
	/* comparisons */
	{">1000000", "1000001", 1, 1},
	{">1000000", "1000000", 0, 0},
	{">1000000", "FFFFFFFF", 1, 1},
	{"<5", "4", 1, 1},
	{"<5", "5", 0, 0},
	{"<5", "X", 0, 0},
	{">0", "0", 0, 0},
	{">0|83CB", "83CB", 1, 1},
	{">0|83CB", "1", 1, 1},
	/* alternatives */
	{"1|>1000000", "1", 1, 1},
	{"1|>1000000", "2", 0, 0},
	{"1|>1000000", "2000000", 1, 1},
	{"I|RD", "RD", 1, 1},
	{"I|RD", "RI", 0, 0},
	{"S+|O", "S+", 1, 1},
	{"S+|O", "O", 1, 1},
	{"S+|O", "S", 0, 0},
	/* quirk 1: a non-final alternative accepts values it prefixes */
	{"M5B4|M218", "M5B4NW8", 1, 0},
	{"M5B4|M218", "M218", 1, 1},
	{"M5B4|M218", "M218NW8", 0, 0},
	{"|U", "", 1, 1},
	{"|U", "U", 1, 1},
	{"|U", "R", 1, 0},
	{"|U", "UR", 1, 0},
	/* quirk 2: a later '-' makes an earlier alternative a broken range */
	{"79|B0-BA", "79", 0, 1},
	{"79|B0-BA", "B5", 1, 1},
	{"1|5-7", "1", 0, 1},
	{"1|5-7", "6", 1, 1},
	{"A|C-E", "A", 0, 1},
	{"A|C-E", "D", 1, 1},
	/* ... but a non-numeric value still string-compares */
	{"Z|B0-BA", "Z", 1, 1},
};

static void test_match_table(void)
{
	struct fp_alt alts[FP_EXPR_MAX_ALTS];

	for (size_t i = 0; i < sizeof(match_cases) / sizeof(match_cases[0]); i++) {
		const struct match_case *c = &match_cases[i];
		struct fp_expr e;
		struct fp_value v;

		CHECK(fp_expr_compile(c->expr, alts, FP_EXPR_MAX_ALTS, &e) > 0);
		fp_value_init(&v, c->value);
		int m793 = fp_expr_match(&e, &v, FP_EXPR_NMAP793);
		int mstr = fp_expr_match(&e, &v, FP_EXPR_STRICT);
		CHECK_EQ(m793, c->nmap793);
		CHECK_EQ(mstr, c->strict);
		if (m793 != c->nmap793 || mstr != c->strict)
			fprintf(stderr, "    expr \"%s\" value \"%s\"\n", c->expr, c->value);
	}
}

struct example_case {
	const char *expr, *example; /* NULL: nothing satisfies it */
};

static const struct example_case example_cases[] = {
	{"Y", "Y"},
	{"", ""},
	{"0-5", "0"},
	{"FA-104", "FA"},
	{">1000000", "1000001"},
	{"1|>1000000", "1"},
	{"<5", "0"},
	{"M5B4|M218", "M5B4"},
	{"S+|O", "S+"},
	{"|U", ""},
	{"79|B0-BA", "B0"},   /* 79 would not pass nmap 7.93 */
	{"1|5-7", "5"},
	{"A|C-E", "C"},
	{"I|RD", "I"},
	{">FFFFFFFF", NULL},
	{"<0", NULL},
	{"5-3", NULL},
};

static void test_example_table(void)
{
	struct fp_alt alts[FP_EXPR_MAX_ALTS];

	for (size_t i = 0; i < sizeof(example_cases) / sizeof(example_cases[0]); i++) {
		const struct example_case *c = &example_cases[i];
		struct fp_expr e;
		char buf[64];

		CHECK(fp_expr_compile(c->expr, alts, FP_EXPR_MAX_ALTS, &e) > 0);
		int n = fp_expr_example(&e, buf, sizeof(buf));
		if (!c->example) {
			CHECK_EQ(n, -ENOENT);
			continue;
		}
		CHECK(n >= 0 && strcmp(buf, c->example) == 0);
		if (n < 0 || strcmp(buf, c->example) != 0)
			fprintf(stderr, "    expr \"%s\": got \"%s\" (%d), want \"%s\"\n", c->expr,
				n >= 0 ? buf : "", n, c->example);
	}
	/* too small a buffer */
	struct fp_expr e;
	char tiny[2];
	CHECK(fp_expr_compile("M5B4", alts, FP_EXPR_MAX_ALTS, &e) == 1);
	CHECK_EQ(fp_expr_example(&e, tiny, sizeof(tiny)), -ENOSPC);
}

static void test_compile_shape(void)
{
	struct fp_alt alts[FP_EXPR_MAX_ALTS];
	struct fp_expr e;

	CHECK_EQ(fp_expr_compile("GCD=", alts, FP_EXPR_MAX_ALTS, &e), 1);
	CHECK_EQ(fp_expr_compile("1|>1000000", alts, FP_EXPR_MAX_ALTS, &e), 2);
	CHECK_EQ(e.alts[1].kind, FP_ALT_GREATER);
	CHECK_EQ(e.alts[1].lo, 0x1000000);
	CHECK_EQ(fp_expr_compile("FA-104", alts, FP_EXPR_MAX_ALTS, &e), 1);
	CHECK_EQ(e.alts[0].kind, FP_ALT_RANGE);
	CHECK_EQ(e.alts[0].lo, 0xFA);
	CHECK_EQ(e.alts[0].hi, 0x104);
	CHECK_EQ(fp_expr_compile("|||", alts, FP_EXPR_MAX_ALTS, &e), 4);
	CHECK_EQ(fp_expr_compile("a|b|c", alts, 2, &e), -E2BIG);

	char big[FP_EXPR_MAX_LEN + 2];
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK_EQ(fp_expr_compile(big, alts, FP_EXPR_MAX_ALTS, &e), -E2BIG);
}

static void test_vocab(void)
{
	CHECK_EQ(fp_vocab_test_lookup("SEQ", 3), FP_TEST_SEQ);
	CHECK_EQ(fp_vocab_test_lookup("IE", 2), FP_TEST_IE);
	CHECK_EQ(fp_vocab_test_lookup("T8", 2), -ENOENT);
	CHECK_EQ(fp_vocab_test_lookup("SCAN", 4), -ENOENT);
	CHECK_EQ(fp_vocab_attr_lookup("RIPCK", 5), FP_ATTR_RIPCK);
	CHECK_EQ(fp_vocab_attr_lookup("RIP", 3), -ENOENT);
	CHECK(strcmp(fp_vocab_test_name(FP_TEST_T7), "T7") == 0);
	CHECK(strcmp(fp_vocab_attr_name(FP_ATTR_DFI), "DFI") == 0);
	CHECK(strcmp(fp_vocab_attr_name(FP_ATTR_COUNT), "?") == 0);
	for (unsigned a = 0; a < FP_ATTR_COUNT; a++) {
		const char *n = fp_vocab_attr_name(a);
		CHECK_EQ(fp_vocab_attr_lookup(n, strlen(n)), (int)a);
	}
	/* Print order is ascending attribute id for every test. */
	for (unsigned t = 0; t < FP_TEST_COUNT; t++) {
		const uint8_t *order;
		size_t n = fp_vocab_attr_order(t, &order);
		CHECK(n > 0);
		for (size_t i = 1; i < n; i++)
			CHECK(order[i - 1] < order[i]);
	}
}

int main(void)
{
	test_match_table();
	test_example_table();
	test_compile_shape();
	test_vocab();
	return tap_done();
}
