/* Wire helpers: byte-order accessors that never cast a packet pointer to a
 * wider type (frames may sit at any alignment in a ring), a bounds-checked
 * cursor, and the Internet checksum.
 *
 * Everything here is static inline: it sits on the per-packet path.
 */
#ifndef STK_WIRE_H
#define STK_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Loads and stores through memcpy and one byte swap: a single unaligned
 * move and bswap/rol on x86, where byte-by-byte stores stay four stores. */
static inline uint16_t stk_be16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	v = __builtin_bswap16(v);
#endif
	return v;
}

static inline uint32_t stk_be32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	v = __builtin_bswap32(v);
#endif
	return v;
}

static inline void stk_put_be16(uint8_t *p, uint16_t v)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	v = __builtin_bswap16(v);
#endif
	memcpy(p, &v, 2);
}

static inline void stk_put_be32(uint8_t *p, uint32_t v)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	v = __builtin_bswap32(v);
#endif
	memcpy(p, &v, 4);
}

/* An IPv4 address as it sits on the wire, loaded without byte swapping:
 * used as a hash key so the fast path never converts. */
static inline uint32_t stk_load_raw32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

/* Cursor over [pos, end). Every read first checks that the bytes exist. */
struct stk_cursor {
	const uint8_t *pos;
	const uint8_t *end;
};

static inline bool stk_cursor_has(const struct stk_cursor *c, size_t n)
{
	return (size_t)(c->end - c->pos) >= n;
}

/* Returns a pointer to n bytes and advances, or NULL (cursor unchanged). */
static inline const uint8_t *stk_cursor_pull(struct stk_cursor *c, size_t n)
{
	if (!stk_cursor_has(c, n))
		return NULL;
	const uint8_t *p = c->pos;
	c->pos += n;
	return p;
}

/* One's-complement sum of len bytes, not yet folded or inverted, in
 * big-endian word order (the value that goes on the wire).
 *
 * The sum is computed in native order, 32 bits at a time into a 64-bit
 * accumulator, and byte-swapped once at the end: RFC 1071 section 2(B),
 * the one's-complement sum does not care about byte order as long as it is
 * swapped consistently. Four times fewer iterations than word by word. */
/* Fold a native-order 64-bit accumulator to 16 bits, still in native
 * order: 64 -> 32 bits with the end-around carry, then 32 -> 16 twice. */
static inline __attribute__((always_inline)) uint32_t stk_csum_native16(uint64_t acc)
{
	uint32_t lo = (uint32_t)acc, s32 = lo + (uint32_t)(acc >> 32);
	s32 += s32 < lo;
	s32 = (s32 & 0xffff) + (s32 >> 16);
	return (s32 & 0xffff) + (s32 >> 16);
}

/* The same in wire order. */
static inline uint32_t stk_csum_native_fold(uint64_t acc)
{
	uint32_t s32 = stk_csum_native16(acc);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	s32 = (uint16_t)((s32 << 8) | (s32 >> 8));
#endif
	return s32;
}

/* Sum of the tail (len < 8 bytes) in native order: each piece found
 * from the length's bits, at an offset they give (no pointer or length
 * carried from one test to the next: fewer instructions, no spill). */
static inline uint64_t stk_csum_native_tail(const uint8_t *p, size_t len)
{
	uint64_t acc = 0;
	if (len & 4) {
		uint32_t a;
		memcpy(&a, p, 4);
		acc = a;
	}
	if (len & 2) {
		uint16_t a;
		memcpy(&a, p + (len & 4), 2);
		acc += a;
	}
	if (len & 1) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		acc += p[len & 6];
#else
		acc += (uint32_t)p[len & 6] << 8;
#endif
	}
	return acc;
}

/* acc plus the len bytes at p, native order: 64-bit words with
 * end-around carry (one load and two adds per 8 bytes), then the tail.
 * The one word loop of stk_csum_add and stk_l4_csum_ok; always_inline
 * (here and in stk_csum_native16) because gcc otherwise stops inlining
 * one level early on the ICMP path (+8 instructions per echo). */
static inline __attribute__((always_inline)) uint64_t stk_csum_native_acc(uint64_t acc, const uint8_t *p, size_t len)
{
	while (len >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		acc += w;
		acc += acc < w;
		p += 8;
		len -= 8;
	}
	uint64_t t = stk_csum_native_tail(p, len);
	acc += t;
	acc += acc < t;
	return acc;
}

static inline uint32_t stk_csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	return sum + stk_csum_native_fold(stk_csum_native_acc(0, p, len));
}

/* Copy len bytes from src to dst and return their sum (as stk_csum_add
 * from 0): one pass over the data instead of two. */
static inline uint32_t stk_csum_copy(uint8_t *dst, const uint8_t *src, size_t len)
{
	uint64_t acc = 0;
	while (len >= 8) {
		uint64_t w;
		memcpy(&w, src, 8);
		memcpy(dst, &w, 8);
		acc += w;
		acc += acc < w;
		src += 8;
		dst += 8;
		len -= 8;
	}
	memcpy(dst, src, len);
	uint64_t t = stk_csum_native_tail(src, len);
	acc += t;
	acc += acc < t;
	return stk_csum_native_fold(acc);
}

static inline uint16_t stk_csum_fold(uint32_t sum)
{
	/* two folds take any 32-bit sum to 16 bits: the first leaves at most
	 * 0x1fffe, the second at most 0xffff (no loop, no branch) */
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static inline uint16_t stk_csum(const uint8_t *p, size_t len)
{
	return stk_csum_fold(stk_csum_add(0, p, len));
}

/* Whether a native-order sum (with end-around carries) is all ones, i.e.
 * the data it covers, checksum included, verify: no swap is needed, all
 * ones are all ones in either byte order (RFC 1071 2(B)). */
static inline bool stk_csum_native_ok(uint64_t acc)
{
	return stk_csum_native16(acc) == 0xffff;
}

/* Whether a 20-byte IPv4 header (no options) has the right checksum:
 * three loads, no loop, no swap. */
static inline bool stk_csum_ip20_ok(const uint8_t *ip)
{
	uint64_t a, b;
	uint32_t c;
	memcpy(&a, ip, 8);
	memcpy(&b, ip + 8, 8);
	memcpy(&c, ip + 16, 4);
	uint64_t acc = a + b;
	acc += acc < b;
	acc += c;
	acc += acc < c;
	return stk_csum_native_ok(acc);
}

/* True when a TCP/UDP segment's checksum is right: the one's-complement
 * sum of the segment (len bytes at p) and its IPv4 pseudo-header (source
 * and destination as loaded from the wire, protocol, length) is all ones.
 * Everything stays in native order and is never swapped: all ones are all
 * ones in either byte order (RFC 1071 2(B)), and the pseudo-header's words
 * are the wire words' native values (htons), so no host-order detour. */
static inline bool stk_l4_csum_ok(const uint8_t *p, size_t len, uint32_t src_raw, uint32_t dst_raw, uint8_t proto)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	uint32_t w_proto = (uint32_t)proto << 8, w_len = __builtin_bswap16((uint16_t)len);
#else
	uint32_t w_proto = proto, w_len = (uint16_t)len;
#endif
	return stk_csum_native_ok(stk_csum_native_acc((uint64_t)src_raw + dst_raw + w_proto + w_len, p, len));
}

/* RFC 1624 eqn. 3: new checksum after one 16-bit word changed from old_w
 * to new_w, given the old checksum field value. */
static inline uint16_t stk_csum_update16(uint16_t csum, uint16_t old_w, uint16_t new_w)
{
	uint32_t sum = (uint16_t)~csum;
	sum += (uint16_t)~old_w;
	sum += new_w;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

#endif
