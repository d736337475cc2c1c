/* The persona's clocks for TCP: timestamp values and offsets (RFC 7323,
 * keyed per flow, per peer or per host as the persona's kernel does) and
 * initial sequence numbers (RFC 6528 and the other rules), inline where a
 * SYN needs them. Moved out of stk_tcp_int.h, which includes nothing of
 * it: the files that send timestamps or pick ISNs include this. */
#ifndef STK_TCP_CLOCK_H
#define STK_TCP_CLOCK_H

#include "stack/stk_tcp_int.h"

uint32_t stk_tcp_tsval(const struct stk_ctx *ctx, const struct stk_tcp_flow *f);
uint32_t stk_tcp_ts_offset_slow(struct stk_ctx *ctx, const struct stk_host *h, uint32_t lip,
				uint32_t rip, uint16_t lport, uint16_t rport);
/* A connection's timestamp offset: per flow, per peer or per host, as the
 * persona's kernel keys it. The last per-peer/per-host offset is
 * remembered (the SYNs of a scan or flood come from one address: one hash
 * per peer, not per SYN). */
/* The same with h's policy p at hand. */
static inline uint32_t stk_tcp_ts_offset_pol(struct stk_ctx *ctx, const struct stk_host *h,
					     const struct stk_tcp_policy *p, uint32_t lip, uint32_t rip, uint16_t lport,
					     uint16_t rport)
{
	const struct stk_tcp *t = ctx->tcp;
	uint8_t scope = p->ts.scope;
	if (scope != STK_TS_PER_FLOW && t->tso_valid && t->tso_lip == lip &&
	    t->tso_rip == (scope == STK_TS_PER_PEER ? rip : 0))
		return t->tso_val;
	return stk_tcp_ts_offset_slow(ctx, h, lip, rip, lport, rport);
}

static inline uint32_t stk_tcp_ts_offset(struct stk_ctx *ctx, const struct stk_host *h, uint32_t lip,
					 uint32_t rip, uint16_t lport, uint16_t rport)
{
	return stk_tcp_ts_offset_pol(ctx, h, stk_host_pol(h), lip, rip, lport, rport);
}

/* Host h's timestamp clock with this offset now (0: a persona without
 * timestamps). */
static inline uint32_t stk_tcp_tsval_at(const struct stk_ctx *ctx, const struct stk_host *h, uint32_t offset)
{
	uint64_t hz = stk_host_pol(h)->ts.hz;
	return hz ? offset + stk_tcp_clock(ctx, hz) : 0;
}

/* Host h's timestamp value for a connection's 4-tuple (its offset as
 * stk_tcp_ts_offset keys it), with h's policy p looked up once by the
 * caller: for answers sent without a flow. */
static inline uint32_t stk_tcp_tsval_pol(struct stk_ctx *ctx, const struct stk_host *h,
					 const struct stk_tcp_policy *p, uint32_t lip, uint32_t rip, uint16_t lport,
					 uint16_t rport)
{
	uint64_t hz = p->ts.hz;
	if (!hz)
		return 0;
	return stk_tcp_ts_offset_pol(ctx, h, p, lip, rip, lport, rport) + stk_tcp_clock(ctx, hz);
}

/* The same, the policy looked up here. */
static inline uint32_t stk_tcp_tsval_tuple(struct stk_ctx *ctx, const struct stk_host *h, uint32_t lip,
					   uint32_t rip, uint16_t lport, uint16_t rport)
{
	return stk_tcp_tsval_pol(ctx, h, stk_host_pol(h), lip, rip, lport, rport);
}
/* tuple_hash: stk_flow_tuple_hash() of the connection. */
uint32_t stk_tcp_isn(struct stk_ctx *ctx, struct stk_host *h, uint64_t tuple_hash);
/* RFC 6528's rule (STK_ISN_HASH_CLOCK): the keyed hash of the tuple (the
 * tuple hash's high half) plus the clock at the persona's rate. */
static inline uint32_t stk_isn_hash_clock(uint64_t tuple_hash, uint32_t clk)
{
	return (uint32_t)(tuple_hash >> 32) + clk;
}
/* The same with h's policy p at hand: RFC 6528's hash + clock (most
 * personas) inline, the other rules through stk_tcp_isn. */
static inline uint32_t stk_tcp_isn_pol(struct stk_ctx *ctx, struct stk_host *h, const struct stk_tcp_policy *p,
				       uint64_t tuple_hash)
{
	if (p->isn.kind == STK_ISN_HASH_CLOCK)
		return stk_isn_hash_clock(tuple_hash, stk_tcp_clock(ctx, p->isn.rate_hz));
	return stk_tcp_isn(ctx, h, tuple_hash);
}

#endif
