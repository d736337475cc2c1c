/* Unit test for the keyed PRFs (stack/stk_prf.h): AES-128 against FIPS-197
 * appendix C.1 when the CPU has AES-NI; for both implementations, keyed
 * determinism, key and input sensitivity, and an even spread of attacker-
 * chosen tuples (sequential ports from one address) over table buckets;
 * SipHash-2-4 against its reference vector, and the inline two-word
 * SipHash-1-3 against the generic c-d form. */
#include <stdio.h>
#include <string.h>

#include "stack/stk_tcp_int.h"
#include "tests/unit/tap.h"

static void test_aes_kat(void)
{
	if (!stk_prf_cpu_has_aes()) {
		printf("# this CPU has no AES-NI: the SipHash path serves (checked below)\n");
		return;
	}
	static const uint8_t key[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
	static const uint8_t pt[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
				       0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
	static const uint8_t ct[16] = {0x69, 0xc4, 0xe0, 0xd8, 0x6a, 0x7b, 0x04, 0x30,
				       0xd8, 0xcd, 0xb7, 0x80, 0x70, 0xb4, 0xc5, 0x5a};
	uint64_t k[2];
	memcpy(k, key, 16);
	struct stk_prf p;
	stk_prf_init(&p, k, true);
	CHECK(p.aes);
	uint8_t out[16];
	stk_prf_aes_block(&p, pt, out);
	CHECK(memcmp(out, ct, 16) == 0);
	/* stk_prf: the block is (w0, w1) in memory order, the low 64 bits out */
	uint64_t w[2], c0;
	memcpy(w, pt, 16);
	memcpy(&c0, ct, 8);
	CHECK(stk_prf(&p, w[0], w[1]) == c0);
}

static void test_impl(bool aes)
{
	uint64_t k1[2] = {0x0123456789abcdefull, 0x1122334455667788ull};
	uint64_t k2[2] = {0x0123456789abcdefull, 0x1122334455667789ull};
	struct stk_prf a, a2, b;
	stk_prf_init(&a, k1, aes);
	stk_prf_init(&a2, k1, aes);
	stk_prf_init(&b, k2, aes);
	CHECK_EQ(a.aes, aes && stk_prf_cpu_has_aes());
	CHECK(stk_prf(&a, 1, 2) == stk_prf(&a2, 1, 2));
	CHECK(stk_prf(&a, 1, 2) != stk_prf(&b, 1, 2));   /* one key bit */
	CHECK(stk_prf(&a, 1, 2) != stk_prf(&a, 1, 3));   /* one input bit */
	CHECK(stk_prf(&a, 1, 2) != stk_prf(&a, 1 | (1ull << 63), 2));
	/* 65 536 source ports of one peer to one port, 1024 buckets: a PRF
	 * spreads them as chance does (mean 64, sd 8); a chosen-input attack
	 * on an unkeyed hash would pile them up. */
	enum { NB = 1024, N = 65536 };
	static unsigned cnt[NB];
	memset(cnt, 0, sizeof(cnt));
	unsigned max = 0, bit_ones[64] = {0};
	for (unsigned port = 0; port < N; port++) {
		uint64_t h = stk_prf(&a, (uint64_t)0x0a4d000au << 32 | 0xc0a80001u, (uint64_t)80 << 16 | port);
		unsigned c = ++cnt[h & (NB - 1)];
		if (c > max)
			max = c;
		for (unsigned i = 0; i < 64; i++)
			bit_ones[i] += (h >> i) & 1;
	}
	printf("# %s: fullest of %d buckets holds %u of %d (mean %d)\n", a.aes ? "AES-128" : "SipHash-1-3", NB,
	       max, N, N / NB);
	CHECK(max < 64 + 8 * 8);
	unsigned worst = 0;
	for (unsigned i = 0; i < 64; i++) {
		unsigned d = bit_ones[i] > N / 2 ? bit_ones[i] - N / 2 : N / 2 - bit_ones[i];
		if (d > worst)
			worst = d;
	}
	CHECK(worst < 6 * 128); /* every output bit balanced: sd 128 */
}

static void test_siphash_forms(void)
{
	uint64_t k[2] = {0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull};
	/* SipHash-2-4's reference vector: key 00..0f, message 00..0f */
	uint64_t msg[2] = {0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull};
	CHECK(stk_siphash(k, msg, 2) == 0x3f2acc7f57c29bdbull);
	for (uint64_t i = 0; i < 1000; i++) {
		uint64_t w[2] = {i * 0x9e3779b97f4a7c15ull, ~i};
		CHECK(stk_siphash13_2(k, w[0], w[1]) == stk_siphash_cd(k, w, 2, 1, 3));
	}
}

int main(void)
{
	test_aes_kat();
	test_impl(true);
	test_impl(false);
	test_siphash_forms();
	return tap_done();
}
