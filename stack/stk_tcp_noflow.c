/* TCP segments without a connection: SYNs to listening ports (a SYN-cache
 * entry, a full flow, or a SYN cookie past the half-open threshold), the
 * ACK that completes a cookie handshake, segments for SYN-cache entries,
 * and the persona's answers for closed ports and strays (nmap's T2-T7).
 */
#include "stack/stk_tcp_seg.h"
#include "stack/stk_tcp_synpath.h"

#include <string.h>

/* ---- opening -------------------------------------------------------------- */

static void flow_init_from_syn(struct stk_ctx *ctx, struct stk_tcp_flow *f, struct stk_host *h,
			       const uint8_t *rmac, const struct stk_listener *l, uint8_t syn_bits,
			       uint16_t peer_mss, uint8_t peer_ws, uint32_t irs, uint32_t iss,
			       uint32_t peer_wnd, uint32_t tsval, const struct stk_synack_tmpl *m,
			       const struct stk_syn_exact *x)
{
	struct stk_tcp *t = ctx->tcp;
	const struct stk_tcp_policy *p = stk_host_pol(h);
	f->host_idx = (uint32_t)(h - ctx->hosts->hosts);
	memcpy(f->rmac, rmac, 6);
	f->svc = l->svc;
	f->svc_arg = l->arg;
	f->syn_bits = syn_bits;
	f->peer_mss = peer_mss;
	/* What our SYN-ACK offered: the persona's exact answer (x), else the
	 * template (m: the caller's for these SYN bits, if it has one). */
	uint8_t offered, our_ws;
	uint16_t window;
	if (x) {
		offered = stk_answer_features(&x->a, &our_ws);
		window = x->a.window;
		f->exact = stk_syn_exact_idx(p, x);
	} else {
		if (!m)
			m = stk_synack_tmpl_get(ctx, p, syn_bits);
		offered = m->inc;
		our_ws = m->our_ws;
		window = m->window;
	}
	uint8_t both = offered & syn_bits & (STK_SYN_WS | STK_SYN_SACK | STK_SYN_TS);
	if (both & STK_SYN_WS) {
		f->snd_ws = peer_ws;
		f->rcv_ws = our_ws;
	}
	if (both & STK_SYN_SACK)
		f->flags |= STK_F_SACK;
	if (both & STK_SYN_TS)
		f->flags |= STK_F_TS;
	/* The SYN's TSval (0: none), also when no timestamps were agreed: a
	 * SYN-ACK retransmitted as an exact answer echoes it as first sent
	 * (an entry may record a TS option after an end-of-list). */
	f->ts_recent = tsval;
	f->ts_offset = stk_tcp_ts_offset(ctx, h, f->lip, f->rip, f->lport, f->rport);
	f->mss = stk_tcp_eff_mss(t, peer_mss, f->flags & STK_F_TS);
	f->irs = irs;
	f->rcv_nxt = irs + 1;
	f->rcv_adv = f->rcv_nxt + window;
	f->iss = iss;
	f->snd_una = iss;
	f->snd_nxt = f->snd_max = iss + 1;
	f->snd_wnd = f->max_snd_wnd = peer_wnd; /* a SYN's window is never scaled */
	f->snd_wl1 = irs;
	f->snd_wl2 = iss;
	f->cwnd = p->init_cwnd_segs * f->mss;
	f->quick_left = p->delack_quick;
	f->recover = iss; /* RFC 6582: fast retransmit needs an ACK at or past it */
	f->ssthresh = UINT32_MAX / 2;
	f->rto_ms = p->rto_init_ms;
	stk_flow_set_state(t, f, STK_TCP_SYN_RCVD);
	f->idle_at = stk_now_ms(ctx) + t->cfg.idle_timeout_ms;
}

/* The persona's ISN for a new connection, or the one TIME-WAIT reuse
 * chose (stk_tcp_input.c tw_reopen). */
static uint32_t syn_isn(struct stk_ctx *ctx, const struct pkt_ctx *pc, const struct stk_tcp_policy *pol)
{
	struct stk_tcp *t = ctx->tcp;
	return t->isn_next_on ? t->isn_next : stk_tcp_isn_pol(ctx, pc->h, pol, pc->hv);
}

/* Our ISN for a SYN the persona answers exactly (x) or not (NULL): isn
 * (the persona's generator), stepped for nmap's SEQ probe k, or what the
 * answer's S= rule puts in the SYN-ACK (so that a retransmission, and the
 * connection, go on from the sequence number the peer saw). */
static uint32_t exact_isn(struct stk_ctx *ctx, const struct pkt_ctx *pc, const struct seg *s,
			  const struct stk_syn_exact *x, uint32_t isn)
{
	if (!x)
		return isn;
	switch (x->a.seq) {
	case STK_AS_ZERO:
		return 0;
	case STK_AS_ACK:
		return s->ack;
	case STK_AS_ACK_PLUS:
		return s->ack + 1;
	default:
		return x->seq_probe ? stk_isn_probe(ctx, pc->h, pc->rip, x->seq_probe, isn) : isn;
	}
}

/* The answer to a SYN: the persona's exact one (x), else the SYN-ACK. */
static void syn_answer(struct stk_ctx *ctx, const struct pkt_ctx *pc, const struct seg *s,
		       const struct stk_syn_exact *x, uint32_t isn, const struct stk_synack_info *si)
{
	if (x) {
		struct stk_answer_in ain = {pc->lport, pc->rport, s->seq, s->ack, isn, si->ts_val,
					    has_ts(s) ? s->tsval : 0, s->urp};
		stk_tcp_send_answer(ctx, pc->h, pc->f + STK_ETH_O_SRC, pc->rip, &ain, &x->a, STK_IPID_TCP);
	} else {
		stk_tcp_synack_emit(ctx, pc->h, pc->f + STK_ETH_O_SRC, pc->rip, pc->lport, pc->rport, isn, s->seq + 1,
				    si);
	}
}

/* A SYN kept as a full flow (the SYN cache had no queue for the
 * persona's retransmission delay). */
static void syn_to_flow(struct stk_ctx *ctx, const struct pkt_ctx *pc, const struct stk_listener *l,
			const struct seg *s, const struct stk_tcp_policy *pol, const struct stk_syn_exact *x,
			struct stk_tcp_flow *f, uint8_t syn_bits, uint16_t peer_mss)
{
	struct stk_synack_info si = {syn_bits, peer_mss, s->ws, 0, s->tsval, NULL, 0};
	si.ts_val = stk_tcp_tsval_pol(ctx, pc->h, pol, pc->h->ip_raw, pc->rip, pc->lport, pc->rport);
	uint32_t isn = exact_isn(ctx, pc, s, x, syn_isn(ctx, pc, pol));
	/* One template look-up for the flow and its SYN-ACK (after
	 * stk_flow_new_h: an eviction runs service callbacks). */
	si.tmpl = stk_synack_tmpl_get(ctx, pol, syn_bits);
	flow_init_from_syn(ctx, f, pc->h, pc->f + STK_ETH_O_SRC, l, syn_bits, peer_mss, s->ws, s->seq, isn, s->wnd,
			   s->tsval, si.tmpl, x);
	syn_answer(ctx, pc, s, x, isn, &si);
	stk_tcp_arm_rto(ctx, f);
}

/* The cookie for a SYN answered without state. */
static uint32_t syn_cookie(struct stk_ctx *ctx, const struct pkt_ctx *pc, const struct seg *s, uint8_t syn_bits,
			   uint16_t peer_mss)
{
	ctx->cnt.tcp_syncookies_sent++;
	ctx->tcp->cookie_until_ns = ctx->now_ns + 130ull * 1000000000ull;
	return stk_cookie_make(ctx, pc->hv, s->seq, syn_bits, peer_mss, s->ws);
}

/* What the SYN said, into its SYN-cache entry. */
static inline void syn_ent_fill(struct stk_ctx *ctx, const struct pkt_ctx *pc, const struct seg *s,
				struct stk_syn_ent *e, uint8_t syn_bits, uint16_t peer_mss, uint32_t isn)
{
	e->host_idx = (uint32_t)(pc->h - ctx->hosts->hosts);
	memcpy(e->rmac, pc->f + STK_ETH_O_SRC, 6);
	e->irs = s->seq;
	e->iss = isn;
	e->tsval = s->tsval;
	e->syn_bits = syn_bits;
	e->peer_mss = peer_mss;
	e->peer_ws = s->ws;
	e->peer_wnd = s->wnd;
}

/* A SYN whose answer the memo covers (stk_syn_memo_get): the same steps
 * as listen_syn's, with what the memo has worked out for this host, this
 * kind of SYN and this time. */
static void listen_syn_memo(struct stk_ctx *ctx, const struct pkt_ctx *pc, const struct stk_listener *l,
			    const struct seg *s, const struct stk_syn_memo *mm, uint8_t syn_bits)
{
	struct stk_tcp *t = ctx->tcp;
	uint16_t peer_mss = s->mss ? s->mss : STK_TCP_DEFAULT_MSS; /* no option, or 0 */
	struct stk_syn_ent *e = NULL;
	if (t->half_open + t->sc_count < t->cfg.syn_cookie_threshold) {
		e = stk_sc_add(ctx, pc->hv, pc->h->ip_raw, pc->rip, pc->lport, pc->rport, mm->rto_init, mm->rto_at);
		if (!e) {
			struct stk_tcp_flow *f = stk_flow_new_h(ctx, pc->hv, pc->h->ip_raw, pc->rip, pc->lport, pc->rport);
			if (f) {
				syn_to_flow(ctx, pc, l, s, mm->pol, NULL, f, syn_bits, peer_mss);
				return;
			}
		}
	}
	uint32_t tsval = mm->ts_any || (mm->ts_peer && pc->rip == mm->ts_rip)
				 ? mm->tsval
				 : stk_tcp_tsval_pol(ctx, pc->h, mm->pol, pc->h->ip_raw, pc->rip, pc->lport, pc->rport);
	uint32_t isn;
	if (e) {
		isn = stk_isn_hash_clock(pc->hv, mm->isn_clk);
		syn_ent_fill(ctx, pc, s, e, syn_bits, peer_mss, isn);
	} else {
		isn = syn_cookie(ctx, pc, s, syn_bits, peer_mss);
	}
	stk_tcp_synack_emit_memo(ctx, mm, pc->f + STK_ETH_O_SRC, pc->rip, pc->lport, pc->rport, isn, s->seq + 1,
				 peer_mss, tsval, s->tsval);
}

static void listen_syn(struct stk_ctx *ctx, const struct pkt_ctx *pc, const struct stk_listener *l,
		       const struct seg *s)
{
	struct stk_tcp *t = ctx->tcp;
	ctx->cnt.tcp_syn_open++;
	stk_l4_event(ctx, STK_EV_TCP_SYN, pc->p, pc->h, pc->f, pc->ip, pc->rport, pc->lport, s->flags);
	uint8_t syn_bits = s->syn_bits;
	if ((s->flags & (STK_TH_ECE | STK_TH_CWR)) == (STK_TH_ECE | STK_TH_CWR))
		syn_bits |= STK_SYN_ECN;
	const struct stk_syn_memo *mm = stk_syn_memo_get(ctx, pc->h, syn_bits, pc->rip);
	if (mm) {
		listen_syn_memo(ctx, pc, l, s, mm, syn_bits);
		return;
	}
	const struct stk_tcp_policy *pol = stk_host_pol(pc->h);
	if ((syn_bits & STK_SYN_ECN) && pol->ecn_silent) {
		ctx->cnt.drop_tcp_ecn_syn++;
		return;
	}
	uint16_t peer_mss = s->mss ? s->mss : STK_TCP_DEFAULT_MSS; /* no option, or 0 */
	struct stk_synack_info si = {syn_bits, peer_mss, s->ws, 0, s->tsval, NULL, 0};
	const struct stk_syn_exact *x = NULL;
	if (pol->exact) {
		x = stk_syn_exact_find(pol, s->opts, s->optlen, (s->syn_bits & STK_SYN_MSS) ? s->mss : 0,
				       (syn_bits & STK_SYN_ECN) != 0);
		if (x && !x->a.respond) {
			ctx->cnt.drop_tcp_exact_silent++;
			return;
		}
		if (x && (x->a.flags & (STK_TH_SYN | STK_TH_ACK | STK_TH_RST)) != (STK_TH_SYN | STK_TH_ACK)) {
			/* The entry answers this SYN with a RST or a bare ACK: the
			 * connection ends there, nothing is kept (a half-open
			 * entry would retransmit a SYN-ACK never sent). */
			si.ts_val = stk_tcp_tsval_pol(ctx, pc->h, pol, pc->h->ip_raw, pc->rip, pc->lport, pc->rport);
			syn_answer(ctx, pc, s, x, stk_tcp_isn_pol(ctx, pc->h, pol, pc->hv), &si);
			return;
		}
	}
	struct stk_syn_ent *e = NULL;
	if (t->half_open + t->sc_count < t->cfg.syn_cookie_threshold) {
		/* A SYN-cache entry; a full flow only when the cache has no
		 * queue for this persona's retransmission delay. */
		e = stk_sc_add(ctx, pc->hv, pc->h->ip_raw, pc->rip, pc->lport, pc->rport, pol->rto_init_ms,
			       stk_now_ms(ctx) + pol->rto_init_ms);
		if (!e) {
			struct stk_tcp_flow *f = stk_flow_new_h(ctx, pc->hv, pc->h->ip_raw, pc->rip, pc->lport, pc->rport);
			if (f) {
				syn_to_flow(ctx, pc, l, s, pol, x, f, syn_bits, peer_mss);
				return;
			}
		}
	}
	/* The same clock for every kind of answer: the connection's offset
	 * (a flow made later computes the same one). */
	si.ts_val = stk_tcp_tsval_pol(ctx, pc->h, pol, pc->h->ip_raw, pc->rip, pc->lport, pc->rport);
	uint32_t isn;
	if (!e) {
		/* Too many half-open connections (or no room): answer with a
		 * cookie and keep nothing. */
		isn = syn_cookie(ctx, pc, s, syn_bits, peer_mss);
	} else {
		isn = exact_isn(ctx, pc, s, x, syn_isn(ctx, pc, pol));
		syn_ent_fill(ctx, pc, s, e, syn_bits, peer_mss, isn);
		if (x) /* else 0 from stk_sc_add (an unconditional store cost the memo path 2 instructions) */
			e->exact = stk_syn_exact_idx(pol, x);
	}
	syn_answer(ctx, pc, s, x, isn, &si);
}

/* An ACK for a listening port without a connection: the end of a cookie
 * handshake, or a stray (T4). Returns true when a connection took it. */
static bool cookie_ack(struct stk_ctx *ctx, const struct pkt_ctx *pc, const struct stk_listener *l,
		       const struct seg *s)
{
	struct stk_tcp *t = ctx->tcp;
	if (ctx->now_ns >= t->cookie_until_ns)
		return false;
	uint8_t bits, ws;
	uint16_t mss;
	if (stk_cookie_check(ctx, pc->hv, s->seq - 1, s->ack - 1, &bits, &mss, &ws)) {
		ctx->cnt.drop_tcp_cookie_bad++;
		return false;
	}
	struct stk_tcp_flow *f = stk_flow_new_h(ctx, pc->hv, pc->h->ip_raw, pc->rip, pc->lport, pc->rport);
	if (!f)
		return true; /* counted; the peer retransmits */
	ctx->cnt.tcp_syncookies_ok++;
	/* Rebuild the half-open connection the cookie stands for, then let
	 * the state machine complete it with this very ACK. */
	flow_init_from_syn(ctx, f, pc->h, pc->f + STK_ETH_O_SRC, l, bits, mss, ws, s->seq - 1, s->ack - 1, s->wnd,
			   s->tsval, NULL, NULL);
	if ((f->flags & STK_F_TS) && !has_ts(s))
		f->flags &= (uint16_t)~STK_F_TS;
	stk_tcp_flow_input(ctx, pc, f, s);
	return true;
}

/* ---- segments without a connection ---------------------------------- */

/* A compiled persona answers exactly as its entry records (T2..T7). */
static void noflow_exact(struct stk_ctx *ctx, const struct pkt_ctx *pc, enum stk_noflow_case c,
			 const struct seg *s)
{
	const struct stk_tcp_policy *p = stk_host_pol(pc->h);
	const struct stk_answer *a = &p->noflow_exact[c];
	if (!a->respond) {
		ctx->cnt.drop_tcp_noflow++;
		return;
	}
	if (!stk_bucket_take(&pc->h->gen.rst, ctx->now_ns, p->rst_rate_per_s, p->rst_burst)) {
		ctx->cnt.drop_tcp_rst_ratelimit++;
		return;
	}
	struct stk_answer_in in = {pc->lport, pc->rport, s->seq, s->ack, 0, 0, has_ts(s) ? s->tsval : 0, s->urp};
	if (a->seq == STK_AS_OTHER)
		in.isn = stk_tcp_isn(ctx, pc->h, pc->hv);
	in.tsval = stk_tcp_tsval_tuple(ctx, pc->h, pc->h->ip_raw, pc->rip, pc->lport, pc->rport);
	stk_tcp_send_answer(ctx, pc->h, pc->f + STK_ETH_O_SRC, pc->rip, &in, a, STK_IPID_TCP_CLOSED);
}

static void noflow_answer(struct stk_ctx *ctx, const struct pkt_ctx *pc, enum stk_noflow_case c,
			  const struct seg *s)
{
	struct stk_tcp *t = ctx->tcp;
	const struct stk_tcp_policy *p = stk_host_pol(pc->h);
	if (p->exact) {
		noflow_exact(ctx, pc, c, s);
		return;
	}
	const struct stk_noflow_rule *r = &p->noflow[c];
	if (r->action != STK_NOFLOW_RST) {
		ctx->cnt.drop_tcp_noflow++;
		return;
	}
	if (!stk_bucket_take(&pc->h->gen.rst, ctx->now_ns, p->rst_rate_per_s, p->rst_burst)) {
		ctx->cnt.drop_tcp_rst_ratelimit++;
		return;
	}
	uint64_t rnd = t->rng = t->rng * 6364136223846793005ull + 1442695040888963407ull;
	uint32_t seq = r->seq == STK_RST_SEQ_ACK        ? s->ack
		       : r->seq == STK_RST_SEQ_ACK_PLUS ? s->ack + 1
		       : r->seq == STK_RST_SEQ_RANDOM   ? (uint32_t)(rnd >> 32)
							: 0;
	uint32_t ack = r->ack == STK_RST_ACK_SEQ        ? s->seq
		       : r->ack == STK_RST_ACK_SEQ_PLUS ? s->seq + seg_len(s)
		       : r->ack == STK_RST_ACK_RANDOM   ? (uint32_t)rnd | 1u
							: 0;
	stk_tcp_send_rst(ctx, pc->h, pc->f + STK_ETH_O_SRC, pc->rip, pc->lport, pc->rport, seq, ack,
			 r->ack_flag, r->window, r->df, STK_IPID_TCP_CLOSED);
}

void stk_tcp_noflow_input(struct stk_ctx *ctx, const struct pkt_ctx *pc, const struct seg *s)
{
	const struct stk_listener *l = stk_listen_find_tcp(ctx->tcp, pc->h->ip_raw, pc->lport);
	uint8_t fl = s->flags;
	if (fl & STK_TH_RST) {
		ctx->cnt.drop_tcp_noflow_rst++; /* never answer a RST */
		return;
	}
	if (!l) {
		ctx->cnt.tcp_closed_port++;
		stk_l4_event(ctx, STK_EV_TCP_CLOSED_PORT, pc->p, pc->h, pc->f, pc->ip, pc->rport, pc->lport, fl);
		enum stk_noflow_case c = (fl & STK_TH_SYN) && !(fl & STK_TH_ACK) ? STK_NOFLOW_CLOSED_SYN
					 : (fl & STK_TH_ACK)                    ? STK_NOFLOW_CLOSED_ACK
										: STK_NOFLOW_CLOSED_OTHER;
		noflow_answer(ctx, pc, c, s);
		return;
	}
	if (fl & STK_TH_ACK) {
		/* SYN+ACK to a listener is an ACK without a connection (RFC 9293:
		 * LISTEN answers any ACK with <SEQ=SEG.ACK><CTL=RST>). */
		if (!(fl & STK_TH_SYN) && cookie_ack(ctx, pc, l, s))
			return;
		noflow_answer(ctx, pc, STK_NOFLOW_OPEN_ACK, s);
		return;
	}
	if (fl & STK_TH_SYN) {
		const struct stk_noflow_rule *r = &stk_host_pol(pc->h)->noflow[STK_NOFLOW_OPEN_SYNFIN];
		bool exact = stk_host_pol(pc->h)->exact;
		if (!(fl & STK_TH_FIN) || (!exact && r->action == STK_NOFLOW_SYNACK))
			listen_syn(ctx, pc, l, s);
		else
			noflow_answer(ctx, pc, STK_NOFLOW_OPEN_SYNFIN, s);
		return;
	}
	noflow_answer(ctx, pc, STK_NOFLOW_OPEN_NULL, s);
}

/* Anything more for a SYN-cache entry's 4-tuple: the half-open connection
 * becomes a flow in SYN-RECEIVED, as if it had been one all along (same
 * ISS, timestamps, pending retransmission), and the segment goes through
 * the state machine. NULL (entry dropped) when its decky or listener is
 * gone, or no flow can be had: the segment is then one without a
 * connection. */
struct stk_tcp_flow *stk_tcp_syn_ent_flow(struct stk_ctx *ctx, const struct pkt_ctx *pc, struct stk_syn_ent *e)
{
	struct stk_tcp *t = ctx->tcp;
	struct stk_syn_ent c = *e;
	stk_sc_free(t, e);
	const struct stk_listener *l = stk_listen_find(t, c.lip, STK_IPPROTO_TCP, c.lport);
	if (c.host_idx != (uint32_t)(pc->h - ctx->hosts->hosts) || !l)
		return NULL;
	struct stk_tcp_flow *f = stk_flow_new_h(ctx, pc->hv, c.lip, c.rip, c.lport, c.rport);
	if (!f)
		return NULL;
	flow_init_from_syn(ctx, f, pc->h, c.rmac, l, c.syn_bits, c.peer_mss, c.peer_ws, c.irs, c.iss, c.peer_wnd,
			   c.tsval, NULL, stk_syn_exact_at(stk_host_pol(pc->h), c.exact));
	f->rxt_shift = c.rxt_shift;
	f->rto_at = c.rto_at;
	f->flags |= STK_F_RTO;
	stk_flow_timer_update(t, f);
	return f;
}
