/* fp_vocab: the vocabulary of nmap's second-generation OS fingerprints —
 * the thirteen test lines (SEQ, OPS, WIN, ECN, T1..T7, U1, IE) and the
 * attribute names that appear inside them (SP, GCD, R, DF, O1, ...).
 *
 * Tests and attributes become small integers so that a fingerprint is a
 * table indexed by (test, attribute) instead of a list of strings; both the
 * database (fp_osdb) and observed fingerprints (fp_osmatch) use these ids.
 * Attribute ids are global (not per test): "R" is the same id in T1 and U1.
 * The enums follow the order in which nmap prints them, so iterating a
 * test's attributes in id order — filtered by fp_vocab_attr_order() —
 * reproduces nmap's layout.
 *
 * Pure constant tables; safe from any thread.
 */
#ifndef FP_VOCAB_H
#define FP_VOCAB_H

#include <stddef.h>
#include <stdint.h>

enum fp_test {
	FP_TEST_SEQ = 0,
	FP_TEST_OPS,
	FP_TEST_WIN,
	FP_TEST_ECN,
	FP_TEST_T1,
	FP_TEST_T2,
	FP_TEST_T3,
	FP_TEST_T4,
	FP_TEST_T5,
	FP_TEST_T6,
	FP_TEST_T7,
	FP_TEST_U1,
	FP_TEST_IE,
	FP_TEST_COUNT
};

enum fp_attr {
	/* SEQ */
	FP_ATTR_SP = 0, FP_ATTR_GCD, FP_ATTR_ISR, FP_ATTR_TI, FP_ATTR_CI,
	FP_ATTR_II, FP_ATTR_SS, FP_ATTR_TS,
	/* OPS, WIN */
	FP_ATTR_O1, FP_ATTR_O2, FP_ATTR_O3, FP_ATTR_O4, FP_ATTR_O5, FP_ATTR_O6,
	FP_ATTR_W1, FP_ATTR_W2, FP_ATTR_W3, FP_ATTR_W4, FP_ATTR_W5, FP_ATTR_W6,
	/* ECN, T1..T7, U1, IE (shared ones first, in nmap's print order) */
	FP_ATTR_R, FP_ATTR_DF, FP_ATTR_DFI, FP_ATTR_T, FP_ATTR_TG,
	FP_ATTR_W, FP_ATTR_S, FP_ATTR_A, FP_ATTR_F, FP_ATTR_O, FP_ATTR_RD,
	FP_ATTR_CC, FP_ATTR_Q,
	FP_ATTR_IPL, FP_ATTR_UN, FP_ATTR_RIPL, FP_ATTR_RID, FP_ATTR_RIPCK,
	FP_ATTR_RUCK, FP_ATTR_RUD, FP_ATTR_CD,
	FP_ATTR_COUNT
};

/* A test line may carry at most this many attributes; one bit each. */
typedef uint64_t fp_attr_mask;
#define FP_ATTR_BIT(a) ((fp_attr_mask)1 << (a))

/* "SEQ", "T1", ...; "?" for an out-of-range id. */
const char *fp_vocab_test_name(unsigned test);
/* "SP", "O1", "R", ...; "?" for an out-of-range id. */
const char *fp_vocab_attr_name(unsigned attr);

/* Id of a test or attribute name of len bytes (case-sensitive, as nmap
 * writes them), or -ENOENT. */
int fp_vocab_test_lookup(const char *name, size_t len);
int fp_vocab_attr_lookup(const char *name, size_t len);

/* The attributes nmap 7.93 prints for a test, in print order. Returns the
 * count and points *order at a constant array. */
size_t fp_vocab_attr_order(unsigned test, const uint8_t **order);

#endif
