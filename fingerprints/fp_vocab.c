/* Test and attribute name tables. Lookups are linear: there are 13 tests
 * and 41 attributes, and they run only while parsing text. */
#include "fingerprints/fp_vocab.h"

#include <errno.h>
#include <string.h>

static const char *const test_names[FP_TEST_COUNT] = {
	"SEQ", "OPS", "WIN", "ECN", "T1", "T2", "T3", "T4", "T5", "T6", "T7",
	"U1", "IE",
};

static const char *const attr_names[FP_ATTR_COUNT] = {
	"SP", "GCD", "ISR", "TI", "CI", "II", "SS", "TS",
	"O1", "O2", "O3", "O4", "O5", "O6",
	"W1", "W2", "W3", "W4", "W5", "W6",
	"R", "DF", "DFI", "T", "TG", "W", "S", "A", "F", "O", "RD", "CC", "Q",
	"IPL", "UN", "RIPL", "RID", "RIPCK", "RUCK", "RUD", "CD",
};

_Static_assert(FP_ATTR_COUNT <= 64, "fp_attr_mask holds one bit per attribute");

static const uint8_t order_seq[] = {
	FP_ATTR_SP, FP_ATTR_GCD, FP_ATTR_ISR, FP_ATTR_TI, FP_ATTR_CI,
	FP_ATTR_II, FP_ATTR_SS, FP_ATTR_TS,
};
static const uint8_t order_ops[] = {
	FP_ATTR_O1, FP_ATTR_O2, FP_ATTR_O3, FP_ATTR_O4, FP_ATTR_O5, FP_ATTR_O6,
};
static const uint8_t order_win[] = {
	FP_ATTR_W1, FP_ATTR_W2, FP_ATTR_W3, FP_ATTR_W4, FP_ATTR_W5, FP_ATTR_W6,
};
static const uint8_t order_ecn[] = {
	FP_ATTR_R, FP_ATTR_DF, FP_ATTR_T, FP_ATTR_TG, FP_ATTR_W, FP_ATTR_O,
	FP_ATTR_CC, FP_ATTR_Q,
};
static const uint8_t order_t1[] = {
	FP_ATTR_R, FP_ATTR_DF, FP_ATTR_T, FP_ATTR_TG, FP_ATTR_S, FP_ATTR_A,
	FP_ATTR_F, FP_ATTR_RD, FP_ATTR_Q,
};
static const uint8_t order_tn[] = {
	FP_ATTR_R, FP_ATTR_DF, FP_ATTR_T, FP_ATTR_TG, FP_ATTR_W, FP_ATTR_S,
	FP_ATTR_A, FP_ATTR_F, FP_ATTR_O, FP_ATTR_RD, FP_ATTR_Q,
};
static const uint8_t order_u1[] = {
	FP_ATTR_R, FP_ATTR_DF, FP_ATTR_T, FP_ATTR_TG, FP_ATTR_IPL, FP_ATTR_UN,
	FP_ATTR_RIPL, FP_ATTR_RID, FP_ATTR_RIPCK, FP_ATTR_RUCK, FP_ATTR_RUD,
};
static const uint8_t order_ie[] = {
	FP_ATTR_R, FP_ATTR_DFI, FP_ATTR_T, FP_ATTR_TG, FP_ATTR_CD,
};

#define ORDER(a) {a, sizeof(a) / sizeof((a)[0])}
static const struct {
	const uint8_t *attrs;
	size_t n;
} orders[FP_TEST_COUNT] = {
	ORDER(order_seq), ORDER(order_ops), ORDER(order_win), ORDER(order_ecn),
	ORDER(order_t1), ORDER(order_tn), ORDER(order_tn), ORDER(order_tn),
	ORDER(order_tn), ORDER(order_tn), ORDER(order_tn), ORDER(order_u1),
	ORDER(order_ie),
};

const char *fp_vocab_test_name(unsigned test)
{
	return test < FP_TEST_COUNT ? test_names[test] : "?";
}

const char *fp_vocab_attr_name(unsigned attr)
{
	return attr < FP_ATTR_COUNT ? attr_names[attr] : "?";
}

/* Runs for every attribute of every line while loading a database, so
 * check the first byte and the terminator before comparing the rest. */
static int lookup(const char *const *names, unsigned n, const char *name, size_t len)
{
	if (len == 0)
		return -ENOENT;
	for (unsigned i = 0; i < n; i++) {
		const char *c = names[i];
		if (c[0] != name[0] || strnlen(c, len + 1) != len)
			continue;
		if (memcmp(c + 1, name + 1, len - 1) == 0)
			return (int)i;
	}
	return -ENOENT;
}

int fp_vocab_test_lookup(const char *name, size_t len)
{
	return lookup(test_names, FP_TEST_COUNT, name, len);
}

int fp_vocab_attr_lookup(const char *name, size_t len)
{
	return lookup(attr_names, FP_ATTR_COUNT, name, len);
}

size_t fp_vocab_attr_order(unsigned test, const uint8_t **order)
{
	if (test >= FP_TEST_COUNT) {
		*order = NULL;
		return 0;
	}
	*order = orders[test].attrs;
	return orders[test].n;
}
