/* The SYN path's per-SYN steps, inline (stk_tcp_noflow.c's listen_syn
 * runs them for every SYN of a scan or a flood; calls and their argument
 * lists were a tenth of a SYN's instructions): the SYN-ACK fill from the
 * frame image (stk_tcp_synack.c), the cookie encoding
 * (stk_tcp_cookie.c), and the SYN cache's add/evict/queue operations
 * (stk_syncache.c). Private to those files. */
#ifndef STK_TCP_SYNPATH_H
#define STK_TCP_SYNPATH_H

#include "stack/stk_tcp_int.h"
#include "stack/stk_tcp_clock.h"

#include <string.h>

/* ---- SYN-ACK (stk_tcp_synack.c) ----------------------------------------- */
/* The frame image of the last SYN-ACK's host and template, rebuilt. */
void stk_synack_frame_build(struct stk_ctx *ctx, struct stk_synack_frame *fc, const struct stk_host *h,
			    const struct stk_synack_tmpl *m, const struct stk_tcp_policy *p);
static inline uint32_t stk_synack_sum32(uint32_t v)
{
	return (v >> 16) + (v & 0xffff);
}

/* The checksum words of a field that starts at offset off of the TCP
 * header, given its sum as if 16-bit aligned: at an odd offset every byte
 * sits in the other half of its word, and the one's-complement sum of
 * byte-swapped words is the byte-swapped sum (RFC 1071). Layouts without
 * NOP padding put the timestamps (or the MSS) at odd offsets. */
static inline uint32_t stk_synack_field_sum(uint32_t s, unsigned off)
{
	if (!(off & 1))
		return s;
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return ((s & 0xff) << 8) | (s >> 8);
}

/* The SYN-ACK's ECE flag: to an ECN-setup SYN when the persona sets it. */
static inline uint8_t stk_synack_ece(const struct stk_tcp_policy *p, uint8_t syn_bits)
{
	return (syn_bits & STK_SYN_ECN) && p->ecn_synack ? STK_TH_ECE : 0;
}

/* The SYN-ACK into out from the frame image fc (of template m): the
 * varying fields written and added to its precomputed sums. id: the IP
 * ID; ece: STK_TH_ECE or 0. */
static inline __attribute__((always_inline)) void
stk_synack_fill(struct stk_pkt *out, const struct stk_synack_frame *fc, const struct stk_synack_tmpl *m,
		uint16_t id, uint8_t ece, const uint8_t *dst_mac, uint32_t dst_ip, uint16_t lport, uint16_t rport,
		uint32_t iss, uint32_t ack, uint16_t peer_mss, uint32_t ts_val, uint32_t ts_ecr)
{
	uint8_t *o = out->data;
	memcpy(o, fc->frame, sizeof(fc->frame)); /* fixed size: a few wide moves; the frame has room */
	out->len = fc->len;
	memcpy(o + STK_ETH_O_DST, dst_mac, 6);
	uint8_t *ip = o + STK_ETH_HLEN, *tcp = ip + STK_IP4_MIN_HLEN, *opt = tcp + STK_TCP_HLEN;
	stk_put_be16(ip + STK_IP4_O_ID, id);
	memcpy(ip + STK_IP4_O_DST, &dst_ip, 4);
	/* the destination's words, in wire order and swapped once (RFC 1071) */
	uint32_t d = (dst_ip & 0xffff) + (dst_ip >> 16);
	d = (d & 0xffff) + (d >> 16);
	d = (uint16_t)(d << 8 | d >> 8);
	stk_put_be16(ip + STK_IP4_O_CSUM, stk_csum_fold(fc->ip_sum + id + d));
	/* 32-bit fields whole into a 64-bit sum, folded once at the end
	 * (2^16 = 1 modulo 0xffff: a 32-bit value sums as its two halves) */
	uint64_t sum = (uint64_t)fc->tcp_sum + d + lport + rport + iss + ack;
	stk_put_be16(tcp + STK_TCP_O_SPORT, lport);
	stk_put_be16(tcp + STK_TCP_O_DPORT, rport);
	stk_put_be32(tcp + STK_TCP_O_SEQ, iss);
	stk_put_be32(tcp + STK_TCP_O_ACK, ack);
	if (ece) {
		tcp[STK_TCP_O_FLAGS] |= STK_TH_ECE;
		sum += STK_TH_ECE; /* the low byte of the offset/flags word */
	}
	if (m->mss_clamp) {
		uint16_t mss = peer_mss < m->mss_value ? peer_mss : m->mss_value;
		stk_put_be16(opt + m->mss_off + 2, mss);
		sum += stk_synack_field_sum(mss, m->mss_off + 2u);
	}
	if (m->ts_off != 0xff) {
		stk_put_be32(opt + m->ts_off + 2, ts_val);
		stk_put_be32(opt + m->ts_off + 6, ts_ecr);
		uint64_t ts = (uint64_t)ts_val + ts_ecr;
		if (m->ts_off & 1) /* odd offset: the halves' sum, swapped (stk_synack_field_sum) */
			ts = stk_synack_field_sum(stk_synack_sum32((uint32_t)ts) + (uint32_t)(ts >> 32), m->ts_off + 2u);
		sum += ts;
	}
	uint32_t s32 = (uint32_t)sum + (uint32_t)(sum >> 32);
	s32 += s32 < (uint32_t)(sum >> 32);
	stk_put_be16(tcp + STK_TCP_O_CSUM, stk_csum_fold(s32));
}

/* stk_tcp_send_synack's body, inline for the SYN path (listen_syn): the
 * call and its nine arguments cost ~40 instructions of a ~1 000-
 * instruction SYN. */
static inline __attribute__((always_inline)) void
stk_tcp_synack_emit(struct stk_ctx *ctx, struct stk_host *h, const uint8_t *dst_mac, uint32_t dst_ip, uint16_t lport,
		    uint16_t rport, uint32_t iss, uint32_t ack, const struct stk_synack_info *si)
{
	struct stk_tcp *t = ctx->tcp;
	const struct stk_tcp_policy *p = stk_host_pol(h);
	const struct stk_synack_tmpl *m = si->tmpl ? si->tmpl : stk_synack_tmpl_get(ctx, p, si->syn_bits);
	struct stk_pkt *out = stk_l4_tx_take(ctx);
	if (!out)
		return;
	struct stk_synack_frame *fc = &t->synack_frame;
	if (fc->h != h || fc->m != m || fc->epoch != ctx->hosts->epoch)
		stk_synack_frame_build(ctx, fc, h, m, p);
	uint16_t id = stk_ipid_next_fast(h, STK_IPID_TCP, ctx->now_ns);
	stk_synack_fill(out, fc, m, id, stk_synack_ece(p, si->syn_bits), dst_mac, dst_ip, lport, rport, iss, ack, si->peer_mss, si->ts_val,
			si->ts_ecr);
	stk_l4_tx_put(ctx, out);
	ctx->cnt.tcp_synack_sent++;
}

/* ---- the SYN memo (stk_tcp_synack.c) ------------------------------------ */
/* Fill ctx->tcp->syn_memo for SYNs with these bits from rip to host h,
 * now; false (and the memo empty) when h's persona has no inline form. */
bool stk_syn_memo_build(struct stk_ctx *ctx, struct stk_host *h, uint8_t syn_bits, uint32_t rip);

/* The memo for SYNs with these bits to h now, or NULL. */
static inline const struct stk_syn_memo *stk_syn_memo_get(struct stk_ctx *ctx, struct stk_host *h, uint8_t syn_bits,
							  uint32_t rip)
{
	const struct stk_syn_memo *mm = &ctx->tcp->syn_memo;
	if ((mm->h == h && mm->now_ns == ctx->now_ns && mm->bits == syn_bits && mm->epoch == ctx->hosts->epoch) ||
	    stk_syn_memo_build(ctx, h, syn_bits, rip))
		return mm;
	return NULL;
}

/* The SYN-ACK of a SYN the memo mm covers: as stk_tcp_synack_emit sends
 * it, with the memo's template, frame image, IP ID rule and ECN flag. */
static inline __attribute__((always_inline)) void
stk_tcp_synack_emit_memo(struct stk_ctx *ctx, const struct stk_syn_memo *mm, const uint8_t *dst_mac, uint32_t dst_ip,
			 uint16_t lport, uint16_t rport, uint32_t iss, uint32_t ack, uint16_t peer_mss,
			 uint32_t ts_val, uint32_t ts_ecr)
{
	struct stk_pkt *out = stk_l4_tx_take(ctx);
	if (!out)
		return;
	uint16_t id = mm->ipid ? (*mm->ipid)++ : 0;
	stk_synack_fill(out, &ctx->tcp->synack_frame, mm->m, id, mm->ece, dst_mac, dst_ip, lport, rport, iss, ack,
			peer_mss, ts_val, ts_ecr);
	stk_l4_tx_put(ctx, out);
	ctx->cnt.tcp_synack_sent++;
}

/* ---- cookies (stk_tcp_cookie.c) ------------------------------------------ */
static const uint16_t stk_cookie_mss[4] = {536, 1300, 1440, 1460};

#define STK_COOKIE_PERIOD_NS (64ull * 1000000000ull)

static inline uint32_t stk_cookie_mac(const struct stk_ctx *ctx, uint64_t tuple_hash, uint32_t peer_isn,
				      uint64_t period, uint32_t info)
{
	/* period mod 2^21 (4 000 years of 64 s periods); info < 2^11 */
	uint64_t w1 = (uint64_t)peer_isn << 32 | (period & 0x1fffff) << 11 | info;
	return (uint32_t)(stk_prf(&ctx->tcp->cookie_prf, tuple_hash, w1) >> 43);
}

/* The cookie for a SYN (layout: stk_tcp_cookie.c). */
static inline uint32_t stk_cookie_make(struct stk_ctx *ctx, uint64_t tuple_hash, uint32_t peer_isn, uint8_t syn_bits,
				       uint16_t peer_mss, uint8_t peer_ws)
{
	uint32_t mi = 3;
	while (mi && stk_cookie_mss[mi] > peer_mss)
		mi--;
	uint32_t info = mi << 2;
	if (syn_bits & STK_SYN_WS)
		info |= (uint32_t)((peer_ws > 14 ? 14 : peer_ws) + 1) << 4;
	if (syn_bits & STK_SYN_SACK)
		info |= 1u << 8;
	if (syn_bits & STK_SYN_TS)
		info |= 1u << 9;
	if (syn_bits & STK_SYN_MSS)
		info |= 1u << 10;
	uint64_t period = ctx->now_ns / STK_COOKIE_PERIOD_NS;
	info |= (uint32_t)(period & 3);
	return stk_cookie_mac(ctx, tuple_hash, peer_isn, period, info & 0x7fc) << 11 | info;
}

/* ---- the SYN cache (stk_syncache.c) -------------------------------------- */
/* The SYN cache's per-SYN operations, inline: a flood runs them for every
 * SYN (stk_syncache.c has the design, the timers and the rest). */
uint8_t stk_sc_queue_for_slow(struct stk_tcp *t, uint32_t delay_ms);
/* The FIFO for this delay (a flood repeats one delay: the last one used),
 * or STK_SC_FREE when none is free for it. */
static inline uint8_t stk_sc_queue_for(struct stk_tcp *t, uint32_t delay_ms)
{
	unsigned last = t->sc_last_q;
	if (t->sc_q[last].delay_ms == delay_ms && t->sc_q[last].head != STK_NONE)
		return (uint8_t)last;
	return stk_sc_queue_for_slow(t, delay_ms);
}

static inline void stk_sc_q_append(struct stk_tcp *t, uint32_t i, uint8_t q)
{
	struct stk_syn_ent *e = &t->sc[i];
	e->q = q;
	e->q_next = STK_NONE;
	e->q_prev = t->sc_q[q].tail;
	if (e->q_prev != STK_NONE)
		t->sc[e->q_prev].q_next = i;
	else
		t->sc_q[q].head = i;
	t->sc_q[q].tail = i;
}

static inline void stk_sc_q_unlink(struct stk_tcp *t, struct stk_syn_ent *e)
{
	uint8_t q = e->q;
	if (e->q_prev != STK_NONE)
		t->sc[e->q_prev].q_next = e->q_next;
	else
		t->sc_q[q].head = e->q_next;
	if (e->q_next != STK_NONE)
		t->sc[e->q_next].q_prev = e->q_prev;
	else
		t->sc_q[q].tail = e->q_prev;
}

/* Out of its chain, the slot free (the caller has taken it off its queue). */
static inline void stk_sc_release(struct stk_tcp *t, struct stk_syn_ent *e)
{
	uint32_t i = (uint32_t)(e - t->sc);
	uint32_t *pp = &t->sc_buckets[e->hash & t->sc_mask];
	while (*pp != i)
		pp = &t->sc[*pp].hnext;
	*pp = e->hnext;
	e->q = STK_SC_FREE;
	t->sc_count--;
}

static inline void stk_sc_free(struct stk_tcp *t, struct stk_syn_ent *e)
{
	stk_sc_q_unlink(t, e);
	stk_sc_release(t, e);
}

/* A new entry for the tuple (the oldest one makes room when the cache is
 * full), queued for its first retransmission delay_ms from now (at tick
 * rto_at, the caller's stk_now_ms() + delay_ms); NULL when
 * no queue is free for that delay (the caller keeps a full flow). The
 * caller fills in the connection fields. */
static inline struct stk_syn_ent *stk_sc_add(struct stk_ctx *ctx, uint64_t hv, uint32_t lip, uint32_t rip,
					     uint16_t lport, uint16_t rport, uint32_t delay_ms, uint32_t rto_at)
{
	struct stk_tcp *t = ctx->tcp;
	uint32_t i = t->sc_next;
	struct stk_syn_ent *e = &t->sc[i];
	if (e->q != STK_SC_FREE) {
		/* Full: the oldest half-open connection makes room. */
		ctx->cnt.tcp_syncache_evicted++;
		stk_sc_free(t, e);
	}
	uint8_t q = stk_sc_queue_for(t, delay_ms);
	if (q == STK_SC_FREE) {
		ctx->cnt.tcp_syncache_no_queue++;
		return NULL;
	}
	t->sc_next = i + 1 < t->sc_cap ? i + 1 : 0;
	e->lip = lip;
	e->rip = rip;
	e->lport = lport;
	e->rport = rport;
	e->hash = (uint32_t)hv;
	e->rxt_shift = 0;
	e->exact = 0;
	e->rto_at = rto_at;
	uint32_t *b = &t->sc_buckets[hv & t->sc_mask];
	e->hnext = *b;
	*b = i;
	stk_sc_q_append(t, i, q);
	t->sc_count++;
	return e;
}

#endif
