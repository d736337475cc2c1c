/* Keyed pseudo-random functions for the per-segment secrets: the flow
 * table's bucket, RFC 6528 ISNs, timestamp offsets, SYN-cookie MACs.
 *
 * Each needs the same property: without the key an attacker can neither
 * predict an output nor aim inputs at one bucket. Two implementations give
 * it:
 *   - AES-128 of one block (the input words) when the CPU has AES-NI: a
 *     block cipher is a pseudo-random permutation, as good as a PRF at
 *     these query counts; ten aesenc rounds are ~20 instructions;
 *   - SipHash-1-3 of two words otherwise (~110 instructions), the keyed
 *     hash Linux's hsiphash and Rust's HashMap use for attacker-chosen
 *     keys.
 * The choice is made once per stack (stk_prf_init) from CPUID; outputs
 * differ between the two, and need not agree: keys are per start.
 */
#ifndef STK_PRF_H
#define STK_PRF_H

#include <stdbool.h>
#include <stdint.h>

struct stk_prf {
	_Alignas(16) uint8_t rk[11 * 16]; /* AES-128 round keys (aligned: aesenc takes them from memory) */
	uint64_t sip[2];        /* SipHash key */
	bool aes;
};

/* key: 128 secret bits. use_aes: false forces SipHash (tests); true uses
 * AES-NI when the CPU has it. */
void stk_prf_init(struct stk_prf *p, const uint64_t key[2], bool use_aes);
/* Whether this machine's CPU can run the AES path. */
bool stk_prf_cpu_has_aes(void);
/* AES-128 of one block under p's key (p->aes must be set): for the known-
 * answer test. */
void stk_prf_aes_block(const struct stk_prf *p, const uint8_t in[16], uint8_t out[16]);
uint64_t stk_prf_aes(const struct stk_prf *p, uint64_t w0, uint64_t w1);

#define STK_ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define STK_SIPROUND                                                           \
	do {                                                                   \
		v0 += v1; v1 = STK_ROTL(v1, 13); v1 ^= v0; v0 = STK_ROTL(v0, 32); \
		v2 += v3; v3 = STK_ROTL(v3, 16); v3 ^= v2;                     \
		v0 += v3; v3 = STK_ROTL(v3, 21); v3 ^= v0;                     \
		v2 += v1; v1 = STK_ROTL(v1, 17); v1 ^= v2; v2 = STK_ROTL(v2, 32); \
	} while (0)

/* SipHash-1-3 of two words: one compression round per word and three
 * finalization rounds instead of two and four. */
static inline uint64_t stk_siphash13_2(const uint64_t key[2], uint64_t w0, uint64_t w1)
{
	uint64_t v0 = 0x736f6d6570736575ull ^ key[0], v1 = 0x646f72616e646f6dull ^ key[1];
	uint64_t v2 = 0x6c7967656e657261ull ^ key[0], v3 = 0x7465646279746573ull ^ key[1];
	v3 ^= w0;
	STK_SIPROUND;
	v0 ^= w0;
	v3 ^= w1;
	STK_SIPROUND;
	v0 ^= w1;
	uint64_t b = (uint64_t)16 << 56;
	v3 ^= b;
	STK_SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	STK_SIPROUND;
	STK_SIPROUND;
	STK_SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

/* SipHash-c-d over n 64-bit words (the message is their little-endian
 * bytes): the reference form, for the naive benchmark baseline (2-4) and
 * to check the two-word 1-3 above against. */
uint64_t stk_siphash_cd(const uint64_t key[2], const uint64_t *w, unsigned n, unsigned c, unsigned d);
static inline uint64_t stk_siphash(const uint64_t key[2], const uint64_t *w, unsigned n)
{
	return stk_siphash_cd(key, w, n, 2, 4);
}

/* 64 pseudo-random bits of (w0, w1) under p's key. */
static inline uint64_t stk_prf(const struct stk_prf *p, uint64_t w0, uint64_t w1)
{
	if (p->aes)
		return stk_prf_aes(p, w0, w1);
	return stk_siphash13_2(p->sip, w0, w1);
}

#endif
