/* stk_prf.h: AES-128 with AES-NI (x86-64 only, chosen at run time), else
 * SipHash-1-3.
 *
 * The AES-128 key schedule (FIPS-197 section 5.2) with aeskeygenassist:
 * each round key is the previous one with its words prefix-XORed, XORed
 * with the rotated, substituted last word and the round constant, which
 * aeskeygenassist computes (its fourth dword, broadcast). Checked against
 * FIPS-197 appendix C.1 by the unit test. */
#include "stack/stk_prf.h"

#include <string.h>

uint64_t stk_siphash_cd(const uint64_t key[2], const uint64_t *w, unsigned n, unsigned c, unsigned d)
{
	uint64_t v0 = 0x736f6d6570736575ull ^ key[0], v1 = 0x646f72616e646f6dull ^ key[1];
	uint64_t v2 = 0x6c7967656e657261ull ^ key[0], v3 = 0x7465646279746573ull ^ key[1];
	for (unsigned i = 0; i < n; i++) {
		v3 ^= w[i];
		for (unsigned r = 0; r < c; r++)
			STK_SIPROUND;
		v0 ^= w[i];
	}
	uint64_t b = (uint64_t)(n * 8) << 56;
	v3 ^= b;
	for (unsigned r = 0; r < c; r++)
		STK_SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	for (unsigned r = 0; r < d; r++)
		STK_SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

#if defined(__x86_64__)
#include <immintrin.h>

bool stk_prf_cpu_has_aes(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("aes") && __builtin_cpu_supports("sse4.1");
}

__attribute__((target("aes,sse4.1"))) static inline __m128i expand(__m128i k, __m128i assist)
{
	assist = _mm_shuffle_epi32(assist, 0xff);
	k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
	k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
	k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
	return _mm_xor_si128(k, assist);
}

__attribute__((target("aes,sse4.1"))) static void aes_schedule(uint8_t rk[176], const uint8_t key[16])
{
	__m128i k[11];
	k[0] = _mm_loadu_si128((const __m128i *)key);
	/* the round constant must be an immediate */
#define STEP(i, rcon) k[i] = expand(k[i - 1], _mm_aeskeygenassist_si128(k[i - 1], rcon))
	STEP(1, 0x01);
	STEP(2, 0x02);
	STEP(3, 0x04);
	STEP(4, 0x08);
	STEP(5, 0x10);
	STEP(6, 0x20);
	STEP(7, 0x40);
	STEP(8, 0x80);
	STEP(9, 0x1b);
	STEP(10, 0x36);
#undef STEP
	for (unsigned i = 0; i < 11; i++)
		_mm_store_si128((__m128i *)(rk + 16 * i), k[i]);
}

__attribute__((target("aes,sse4.1"))) static inline __m128i aes_enc(const uint8_t *rk, __m128i b)
{
	const __m128i *k = (const __m128i *)rk; /* 16-byte aligned (struct stk_prf) */
	b = _mm_xor_si128(b, _mm_load_si128(k));
	b = _mm_aesenc_si128(b, _mm_load_si128(k + 1));
	b = _mm_aesenc_si128(b, _mm_load_si128(k + 2));
	b = _mm_aesenc_si128(b, _mm_load_si128(k + 3));
	b = _mm_aesenc_si128(b, _mm_load_si128(k + 4));
	b = _mm_aesenc_si128(b, _mm_load_si128(k + 5));
	b = _mm_aesenc_si128(b, _mm_load_si128(k + 6));
	b = _mm_aesenc_si128(b, _mm_load_si128(k + 7));
	b = _mm_aesenc_si128(b, _mm_load_si128(k + 8));
	b = _mm_aesenc_si128(b, _mm_load_si128(k + 9));
	return _mm_aesenclast_si128(b, _mm_load_si128(k + 10));
}

__attribute__((target("aes,sse4.1"))) uint64_t stk_prf_aes(const struct stk_prf *p, uint64_t w0, uint64_t w1)
{
	__m128i b = _mm_set_epi64x((long long)w1, (long long)w0);
	return (uint64_t)_mm_cvtsi128_si64(aes_enc(p->rk, b));
}

__attribute__((target("aes,sse4.1"))) void stk_prf_aes_block(const struct stk_prf *p, const uint8_t in[16],
							       uint8_t out[16])
{
	_mm_storeu_si128((__m128i *)out, aes_enc(p->rk, _mm_loadu_si128((const __m128i *)in)));
}

void stk_prf_init(struct stk_prf *p, const uint64_t key[2], bool use_aes)
{
	memset(p, 0, sizeof(*p));
	p->sip[0] = key[0];
	p->sip[1] = key[1];
	p->aes = use_aes && stk_prf_cpu_has_aes();
	if (p->aes) {
		uint8_t k[16];
		memcpy(k, key, 16);
		aes_schedule(p->rk, k);
	}
}

#else /* no AES-NI path on this architecture */

bool stk_prf_cpu_has_aes(void)
{
	return false;
}

uint64_t stk_prf_aes(const struct stk_prf *p, uint64_t w0, uint64_t w1)
{
	return stk_siphash13_2(p->sip, w0, w1);
}

void stk_prf_aes_block(const struct stk_prf *p, const uint8_t in[16], uint8_t out[16])
{
	(void)p;
	memcpy(out, in, 16);
}

void stk_prf_init(struct stk_prf *p, const uint64_t key[2], bool use_aes)
{
	(void)use_aes;
	memset(p, 0, sizeof(*p));
	p->sip[0] = key[0];
	p->sip[1] = key[1];
}

#endif
