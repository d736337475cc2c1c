/* What TCP input's parts share (stk_tcp_input.c, stk_tcp_noflow.c,
 * stk_tcp_rx.c): a parsed segment and its packet. Private to them. */
#ifndef STK_TCP_SEG_H
#define STK_TCP_SEG_H

#include "stack/stk_tcp_int.h"

#include <string.h>

struct seg {
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t wnd, urp;
	const uint8_t *data;
	unsigned len;
	const uint8_t *opts;   /* the option bytes as received */
	unsigned optlen;
	uint8_t syn_bits;      /* STK_SYN_* found in the options */
	/* 0 unless their option was present (the segment starts zeroed, the
	 * walk and the memo set them only with their bit): code may read
	 * them without testing the bit when 0 is what absence means */
	uint16_t mss;
	uint8_t ws;
	uint32_t tsval, tsecr;
	uint32_t sack_high;    /* highest right edge of the SACK blocks, if any */
	bool has_sack;
};

static inline bool has_ts(const struct seg *s)
{
	return s->syn_bits & STK_SYN_TS;
}

static inline uint32_t seg_len(const struct seg *s)
{
	return s->len + !!(s->flags & STK_TH_SYN) + !!(s->flags & STK_TH_FIN);
}

/* What the handler needs of the packet besides the segment. */
struct pkt_ctx {
	const struct stk_pkt *p;
	struct stk_host *h;
	const uint8_t *f, *ip;
	uint32_t rip;
	uint16_t lport, rport;
	uint64_t hv;           /* stk_flow_tuple_hash of (decky, rip, lport, rport) */
};

/* stk_tcp_rx.c: options (through the layout memo) and the burst's hashes;
 * the per-segment paths inline here, per segment */
void stk_tcp_options_parse(struct stk_ctx *ctx, const uint8_t *o, unsigned len, struct seg *s);

/* Word k of the options (len a multiple of 4, at most 40): eight bytes,
 * or the last four zero-extended. */
static inline uint64_t stk_tcp_opt_word(const uint8_t *o, unsigned len, unsigned k)
{
	if (8 * k + 8 <= len) {
		uint64_t w;
		memcpy(&w, o + 8 * k, 8);
		return w;
	}
	uint32_t t;
	memcpy(&t, o + 8 * k, 4);
	return t;
}

/* The options of a segment: the memo's answer when the layout is the last
 * one parsed (same bytes but the timestamp values: word by word under a
 * mask), else a walk. */
static inline void stk_tcp_options_input(struct stk_ctx *ctx, const uint8_t *o, unsigned len, struct seg *s)
{
	const struct stk_opt_memo *m = &ctx->tcp->opt_memo;
	if (!len)
		return;
	if (len == m->len) {
		unsigned k = 0, nw = (len + 7) / 8;
		while (k < nw && (stk_tcp_opt_word(o, len, k) & m->mask[k]) == m->w[k])
			k++;
		if (k == nw) {
			s->syn_bits = m->syn_bits;
			s->mss = m->mss;
			s->ws = m->ws;
			if (m->ts_off != 0xff) {
				s->tsval = stk_be32(o + m->ts_off);
				s->tsecr = stk_be32(o + m->ts_off + 4);
			}
			return;
		}
	}
	stk_tcp_options_parse(ctx, o, len, s);
}

/* Frames this far ahead get their second look-up level prefetched: the
 * record their bucket points at, and the bucket of the SYN-cache entry a
 * new SYN would evict. */
#define STK_TCP_HINT_AHEAD 4

/* The tuple hash of the segment whose IPv4 header is at ip: the burst's
 * hint when that header was hashed ahead (the same bytes), else now. */
static inline uint64_t stk_tcp_rx_tuple_hash(struct stk_ctx *ctx, const uint8_t *ip, uint32_t lip, uint32_t rip,
					     uint16_t lport, uint16_t rport)
{
	struct stk_tcp *t = ctx->tcp;
	unsigned i = ctx->burst_i;
	if (i >= t->hint_n || t->hints[i].ip != ip)
		return stk_flow_tuple_hash(t, lip, rip, lport, rport);
	const struct stk_tcp_hint *k = &t->hints[i];
	unsigned j = i + STK_TCP_HINT_AHEAD;
	if (j < t->hint_n && t->hints[j].ip) {
		uint64_t hj = t->hints[j].hv;
		uint32_t fi = t->buckets[hj & t->bucket_mask];
		if (fi != STK_NONE)
			__builtin_prefetch(&t->flows[fi]);
		if (t->sc_count) {
			uint32_t si = t->sc_buckets[hj & t->sc_mask];
			if (si != STK_NONE)
				__builtin_prefetch(&t->sc[si]);
			if (t->hint_evict) {
				uint32_t v = t->sc_next + STK_TCP_HINT_AHEAD;
				const struct stk_syn_ent *e = &t->sc[v < t->sc_cap ? v : v - t->sc_cap]; /* cap >= 16 */
				if (e->q != STK_SC_FREE)
					__builtin_prefetch(&t->sc_buckets[e->hash & t->sc_mask]);
			}
		}
	}
	return k->hv;
}

/* stk_tcp_noflow.c: segments without a connection (listening and closed
 * ports, SYN cookies, the SYN cache) */
void stk_tcp_noflow_input(struct stk_ctx *ctx, const struct pkt_ctx *pc, const struct seg *s);
/* A SYN-cache entry's connection as a flow in SYN-RECEIVED (the entry is
 * gone either way), or NULL. */
struct stk_tcp_flow *stk_tcp_syn_ent_flow(struct stk_ctx *ctx, const struct pkt_ctx *pc, struct stk_syn_ent *e);

/* stk_tcp_input.c: a segment of a connection through the state machine */
void stk_tcp_flow_input(struct stk_ctx *ctx, const struct pkt_ctx *pc, struct stk_tcp_flow *f, const struct seg *s);

#endif
