/* TCP input: segment validation, segments without a connection (listening
 * ports, closed ports, SYN cookies), and the RFC 9293 state machine for
 * segments that belong to one (section 3.10.7.4, with RFC 5961's
 * challenge ACKs and RFC 7323's PAWS).
 *
 * Each segment is handled completely before the next: its ACK, its data
 * (handed to the service in order), its FIN, then one output pass that
 * sends what the connection owes (data, FIN, the ACK), so the answer to a
 * request usually leaves in the segment that acknowledges it.
 */
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

/* Options by index (one bounds test per option); a malformed one ends the
 * walk (counted), what was read before it still counts. Returns false for
 * a layout the memo must not keep (malformed, SACK blocks, TS twice). */
static bool parse_options(struct stk_ctx *ctx, const uint8_t *o, unsigned len, struct seg *s, uint8_t *ts_off)
{
	unsigned i = 0;
	bool keep = true;
	while (i < len) {
		unsigned kind = o[i], l;
		if (kind <= 1) {
			if (!kind)
				return keep; /* EOL */
			i++;                 /* NOP */
			continue;
		}
		if (len - i < 2 || (l = o[i + 1]) < 2 || l > len - i) {
			ctx->cnt.tcp_bad_options++;
			return false;
		}
		const uint8_t *v = o + i + 2;
		i += l;
		switch (kind) {
		case 2:
			if (l == 4) {
				s->syn_bits |= STK_SYN_MSS;
				s->mss = stk_be16(v);
			}
			break;
		case 3:
			if (l == 3) {
				s->syn_bits |= STK_SYN_WS;
				s->ws = v[0] > 14 ? 14 : v[0]; /* RFC 7323 2.3 */
			}
			break;
		case 4:
			if (l == 2)
				s->syn_bits |= STK_SYN_SACK;
			break;
		case 8:
			if (l == 10) {
				keep &= *ts_off == 0xff; /* a second one: the last wins */
				*ts_off = (uint8_t)(v - o);
				s->syn_bits |= STK_SYN_TS;
				s->tsval = stk_be32(v);
				s->tsecr = stk_be32(v + 4);
			}
			break;
		case 5:
			if (l >= 10 && (l - 2) % 8 == 0) {
				for (unsigned j = 0; j < l - 2; j += 8) {
					uint32_t right = stk_be32(v + j + 4);
					if (!s->has_sack || seq_gt(right, s->sack_high))
						s->sack_high = right;
					s->has_sack = true;
				}
				keep = false;
			}
			break;
		default:
			break;
		}
	}
	return keep;
}

/* Word k of the options (len a multiple of 4, at most 40): eight bytes,
 * or the last four zero-extended. */
static inline uint64_t opt_word(const uint8_t *o, unsigned len, unsigned k)
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
static void options_input(struct stk_ctx *ctx, const uint8_t *o, unsigned len, struct seg *s)
{
	struct stk_opt_memo *m = &ctx->tcp->opt_memo;
	if (!len)
		return;
	if (len == m->len) {
		unsigned k = 0, nw = (len + 7) / 8;
		while (k < nw && (opt_word(o, len, k) & m->mask[k]) == m->w[k])
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
	uint8_t ts_off = 0xff;
	if (!parse_options(ctx, o, len, s, &ts_off) || len > sizeof(m->w)) {
		m->len = 0;
		return;
	}
	m->len = (uint8_t)len;
	m->ts_off = ts_off;
	m->syn_bits = s->syn_bits;
	m->mss = s->mss;
	m->ws = s->ws;
	memset(m->mask, 0xff, sizeof(m->mask));
	if (ts_off != 0xff)
		memset((uint8_t *)m->mask + ts_off, 0, 8);
	for (unsigned k = 0; k < (len + 7) / 8; k++)
		m->w[k] = opt_word(o, len, k) & m->mask[k];
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

static void progress(struct stk_ctx *ctx, struct stk_tcp_flow *f)
{
	const struct stk_tcp_policy *p = stk_host_pol(&ctx->hosts->hosts[f->host_idx]);
	uint32_t d = ctx->tcp->cfg.idle_timeout_ms;
	if (f->state == STK_TCP_FIN_WAIT_2 && p->fin_wait2_ms < d)
		d = p->fin_wait2_ms;
	if (f->state == STK_TCP_TIME_WAIT)
		d = p->time_wait_ms;
	f->idle_at = stk_now_ms(ctx) + d;
	stk_flow_timer_update(ctx->tcp, f);
}

static void challenge_ack(struct stk_ctx *ctx, struct stk_tcp_flow *f)
{
	struct stk_tcp *t = ctx->tcp;
	if (!stk_bucket_take(&t->challenge, ctx->now_ns, t->cfg.challenge_ack_per_s,
			     t->cfg.challenge_ack_per_s)) {
		ctx->cnt.drop_tcp_challenge_ratelimit++;
		return;
	}
	ctx->cnt.tcp_challenge_acks++;
	stk_tcp_send_ack(ctx, f);
}

/* RST for a connection we drop ourselves (abort, idle, refused accept). */
static void flow_reset(struct stk_ctx *ctx, struct stk_tcp_flow *f, enum stk_close_reason why)
{
	stk_tcp_send_rst_flow(ctx, f, f->snd_nxt, f->rcv_nxt, true);
	stk_flow_free(ctx, f, why);
}

static bool call_ok(const struct stk_tcp_flow *f)
{
	return (f->flags & STK_F_ACCEPTED) && !(f->flags & (STK_F_ABORT_REQ | STK_F_IN_CB));
}

/* ---- opening -------------------------------------------------------------- */

static void flow_init_from_syn(struct stk_ctx *ctx, struct stk_tcp_flow *f, struct stk_host *h,
			       const uint8_t *rmac, const struct stk_listener *l, uint8_t syn_bits,
			       uint16_t peer_mss, uint8_t peer_ws, uint32_t irs, uint32_t iss,
			       uint32_t peer_wnd, uint32_t tsval, const struct stk_synack_tmpl *m)
{
	struct stk_tcp *t = ctx->tcp;
	const struct stk_tcp_policy *p = stk_host_pol(h);
	f->host_idx = (uint32_t)(h - ctx->hosts->hosts);
	memcpy(f->rmac, rmac, 6);
	f->svc = l->svc;
	f->svc_arg = l->arg;
	f->syn_bits = syn_bits;
	f->peer_mss = peer_mss;
	if (!m) /* m: the caller's template for these SYN bits, if it has one */
		m = stk_synack_tmpl_get(ctx, p, syn_bits);
	uint8_t both = m->inc & syn_bits & (STK_SYN_WS | STK_SYN_SACK | STK_SYN_TS);
	if (both & STK_SYN_WS) {
		f->snd_ws = peer_ws;
		f->rcv_ws = m->our_ws;
	}
	if (both & STK_SYN_SACK)
		f->flags |= STK_F_SACK;
	if (both & STK_SYN_TS) {
		f->flags |= STK_F_TS;
		f->ts_recent = tsval;
	}
	f->ts_offset = stk_tcp_ts_offset(ctx, h, f->lip, f->rip, f->lport, f->rport);
	uint32_t mss = t->cfg.mtu - 40u;
	if (peer_mss < mss)
		mss = peer_mss;
	if (f->flags & STK_F_TS)
		mss -= 12;
	f->mss = (uint16_t)(mss < 64 ? 64 : mss);
	f->irs = irs;
	f->rcv_nxt = irs + 1;
	f->rcv_adv = f->rcv_nxt + m->window;
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

static void listen_syn(struct stk_ctx *ctx, const struct pkt_ctx *pc, const struct stk_listener *l,
		       const struct seg *s)
{
	struct stk_tcp *t = ctx->tcp;
	ctx->cnt.tcp_syn_open++;
	stk_l4_event(ctx, STK_EV_TCP_SYN, pc->p, pc->h, pc->f, pc->ip, pc->rport, pc->lport, s->flags);
	uint8_t syn_bits = s->syn_bits;
	if ((s->flags & (STK_TH_ECE | STK_TH_CWR)) == (STK_TH_ECE | STK_TH_CWR))
		syn_bits |= STK_SYN_ECN;
	if ((syn_bits & STK_SYN_ECN) && stk_host_pol(pc->h)->ecn_silent) {
		ctx->cnt.drop_tcp_ecn_syn++;
		return;
	}
	const struct stk_tcp_policy *pol = stk_host_pol(pc->h);
	const struct stk_syn_exact *x = NULL;
	if (pol->exact) {
		x = stk_syn_exact_find(pol, s->opts, s->optlen, (s->syn_bits & STK_SYN_MSS) ? s->mss : 0,
				       (syn_bits & STK_SYN_ECN) != 0);
		if (x && !x->a.respond) {
			ctx->cnt.drop_tcp_exact_silent++;
			return;
		}
	}
	uint16_t peer_mss = (s->syn_bits & STK_SYN_MSS) && s->mss ? s->mss : STK_TCP_DEFAULT_MSS;
	struct stk_synack_info si = {syn_bits, peer_mss, s->ws, 0, has_ts(s) ? s->tsval : 0, NULL};
	struct stk_tcp_flow *f = NULL;
	struct stk_syn_ent *e = NULL;
	if (t->half_open + t->sc_count < t->cfg.syn_cookie_threshold) {
		/* A SYN-cache entry; a full flow only when the cache has no
		 * queue for this persona's retransmission delay. */
		e = stk_sc_add(ctx, pc->hv, pc->h->ip_raw, pc->rip, pc->lport, pc->rport,
			       stk_host_pol(pc->h)->rto_init_ms);
		if (!e)
			f = stk_flow_new_h(ctx, pc->hv, pc->h->ip_raw, pc->rip, pc->lport, pc->rport);
	}
	if (!f && !e) {
		/* Too many half-open connections (or no room): answer with a
		 * cookie and keep nothing. */
		uint32_t cookie = stk_cookie_make(ctx, pc->hv, s->seq, syn_bits, peer_mss, s->ws);
		uint32_t off = stk_tcp_ts_offset(ctx, pc->h, pc->h->ip_raw, pc->rip, pc->lport, pc->rport);
		uint64_t hz = stk_host_pol(pc->h)->ts.hz;
		si.ts_val = hz ? off + stk_tcp_clock(ctx, hz) : 0;
		if (x) {
			struct stk_answer_in ain = {pc->lport, pc->rport, s->seq, s->ack, cookie, si.ts_val, has_ts(s) ? s->tsval : 0, s->urp};
			stk_tcp_send_answer(ctx, pc->h, pc->f + STK_ETH_O_SRC, pc->rip, &ain, &x->a, STK_IPID_TCP);
		} else {
			stk_tcp_send_synack(ctx, pc->h, pc->f + STK_ETH_O_SRC, pc->rip, pc->lport, pc->rport,
					    cookie, s->seq + 1, &si);
		}
		ctx->cnt.tcp_syncookies_sent++;
		t->cookie_until_ns = ctx->now_ns + 130ull * 1000000000ull;
		return;
	}
	uint32_t iss = stk_tcp_isn(ctx, pc->h, pc->hv);
	if (x && x->seq_probe)
		iss = stk_isn_probe(ctx, pc->h, pc->rip, x->seq_probe, iss);
	if (e) {
		e->host_idx = (uint32_t)(pc->h - ctx->hosts->hosts);
		memcpy(e->rmac, pc->f + STK_ETH_O_SRC, 6);
		e->irs = s->seq;
		e->iss = iss;
		e->tsval = s->tsval;
		e->syn_bits = syn_bits;
		e->peer_mss = peer_mss;
		e->peer_ws = s->ws;
		e->peer_wnd = s->wnd;
		uint64_t hz = stk_host_pol(pc->h)->ts.hz;
		si.ts_val = hz ? stk_tcp_ts_offset(ctx, pc->h, pc->h->ip_raw, pc->rip, pc->lport, pc->rport) +
					 stk_tcp_clock(ctx, hz)
			       : 0;
		if (x) {
			struct stk_answer_in ain = {pc->lport, pc->rport, s->seq, s->ack, iss, si.ts_val, has_ts(s) ? s->tsval : 0, s->urp};
			stk_tcp_send_answer(ctx, pc->h, pc->f + STK_ETH_O_SRC, pc->rip, &ain, &x->a, STK_IPID_TCP);
		} else {
			stk_tcp_send_synack(ctx, pc->h, pc->f + STK_ETH_O_SRC, pc->rip, pc->lport, pc->rport, iss,
					    s->seq + 1, &si);
		}
		return;
	}
	/* One template look-up for the flow and its SYN-ACK (after
	 * stk_flow_new_h: an eviction runs service callbacks). */
	si.tmpl = stk_synack_tmpl_get(ctx, stk_host_pol(pc->h), syn_bits);
	flow_init_from_syn(ctx, f, pc->h, pc->f + STK_ETH_O_SRC, l, syn_bits, peer_mss, s->ws, s->seq, iss, s->wnd,
			   s->tsval, si.tmpl);
	si.ts_val = stk_tcp_tsval(ctx, f);
	if (x) {
		struct stk_answer_in ain = {pc->lport, pc->rport, s->seq, s->ack, iss, si.ts_val, has_ts(s) ? s->tsval : 0, s->urp};
		stk_tcp_send_answer(ctx, pc->h, f->rmac, f->rip, &ain, &x->a, STK_IPID_TCP);
	} else {
		stk_tcp_send_synack(ctx, pc->h, f->rmac, f->rip, f->lport, f->rport, f->iss, f->rcv_nxt, &si);
	}
	stk_tcp_arm_rto(ctx, f);
}

static void flow_input(struct stk_ctx *ctx, const struct pkt_ctx *pc, struct stk_tcp_flow *f,
		       const struct seg *s);

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
			   s->tsval, NULL);
	if ((f->flags & STK_F_TS) && !has_ts(s))
		f->flags &= (uint16_t)~STK_F_TS;
	flow_input(ctx, pc, f, s);
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
	if (p->ts.hz)
		in.tsval = stk_tcp_ts_offset(ctx, pc->h, pc->h->ip_raw, pc->rip, pc->lport, pc->rport) +
			   stk_tcp_clock(ctx, p->ts.hz);
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

static void noflow_input(struct stk_ctx *ctx, const struct pkt_ctx *pc, const struct seg *s)
{
	const struct stk_listener *l = stk_listen_find(ctx->tcp, pc->h->ip_raw, STK_IPPROTO_TCP, pc->lport);
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
static struct stk_tcp_flow *syn_ent_flow(struct stk_ctx *ctx, const struct pkt_ctx *pc, struct stk_syn_ent *e)
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
			   c.tsval, NULL);
	f->rxt_shift = c.rxt_shift;
	f->rto_at = c.rto_at;
	f->flags |= STK_F_RTO;
	stk_flow_timer_update(t, f);
	return f;
}

/* ---- the state machine -------------------------------------------------- */

static bool seq_acceptable(const struct stk_tcp_flow *f, const struct seg *s)
{
	uint32_t wnd = seq_gt(f->rcv_adv, f->rcv_nxt) ? f->rcv_adv - f->rcv_nxt : 0;
	uint32_t len = seg_len(s);
	if (!len)
		return wnd ? seq_leq(f->rcv_nxt, s->seq) && seq_lt(s->seq, f->rcv_nxt + wnd)
			   : s->seq == f->rcv_nxt;
	if (!wnd) /* only its ACK (and RST) can be used: the data is trimmed */
		return s->seq == f->rcv_nxt;
	uint32_t last = s->seq + len - 1;
	return (seq_leq(f->rcv_nxt, s->seq) && seq_lt(s->seq, f->rcv_nxt + wnd)) ||
	       (seq_leq(f->rcv_nxt, last) && seq_lt(last, f->rcv_nxt + wnd));
}

static void rtt_sample(struct stk_ctx *ctx, struct stk_tcp_flow *f, uint32_t rtt_us)
{
	const struct stk_tcp_policy *p = stk_host_pol(&ctx->hosts->hosts[f->host_idx]);
	if (!f->srtt_us) { /* RFC 6298 2.2 */
		f->srtt_us = rtt_us ? rtt_us : 1;
		f->rttvar_us = rtt_us / 2;
	} else { /* 2.3: beta 1/4, alpha 1/8 */
		uint32_t err = rtt_us > f->srtt_us ? rtt_us - f->srtt_us : f->srtt_us - rtt_us;
		f->rttvar_us = f->rttvar_us - f->rttvar_us / 4 + err / 4;
		f->srtt_us = f->srtt_us - f->srtt_us / 8 + rtt_us / 8;
		if (!f->srtt_us)
			f->srtt_us = 1;
	}
	uint32_t var = 4 * f->rttvar_us;
	if (var < 1000) /* G: the wheel's 1 ms tick */
		var = 1000;
	uint32_t rto = (f->srtt_us + var + 999) / 1000;
	if (rto < p->rto_min_ms)
		rto = p->rto_min_ms;
	if (rto > p->rto_max_ms)
		rto = p->rto_max_ms;
	f->rto_ms = rto;
}

static void fast_retransmit(struct stk_ctx *ctx, struct stk_tcp_flow *f)
{
	uint32_t flight = f->snd_max - f->snd_una;
	f->ssthresh = flight / 2 > 2u * f->mss ? flight / 2 : 2u * f->mss;
	f->recover = f->snd_max;
	f->flags |= STK_F_RECOVERY;
	f->flags &= (uint16_t)~STK_F_TIMING;
	ctx->cnt.tcp_fast_retransmits++;
	stk_tcp_retransmit_first(ctx, f);
	f->cwnd = f->ssthresh + 3u * f->mss; /* limited transmit's loan included */
	f->xflags &= (uint8_t)~(STK_X_LOAN1 | STK_X_LOAN2);
}

/* Returns false when the ACK closed (freed) the connection. */
/* The send window from an acceptable ACK (RFC 9293 3.10.7.4, SND.WL1/2). */
static void window_input(struct stk_tcp_flow *f, const struct seg *s)
{
	if (seq_lt(f->snd_wl1, s->seq) || (f->snd_wl1 == s->seq && seq_leq(f->snd_wl2, s->ack))) {
		f->snd_wnd = (uint32_t)s->wnd << f->snd_ws;
		f->snd_wl1 = s->seq;
		f->snd_wl2 = s->ack;
		if (f->snd_wnd > f->max_snd_wnd)
			f->max_snd_wnd = f->snd_wnd;
	}
	if ((f->flags & STK_F_PERSIST) && f->snd_wnd) {
		f->flags &= (uint16_t)~(STK_F_PERSIST | STK_F_RTO);
		f->rxt_shift = 0;
		if (seq_lt(f->snd_nxt, f->snd_una))
			f->snd_nxt = f->snd_una;
	}
}

/* An ACK that acknowledges nothing new. RFC 5681: a duplicate ACK carries
 * nothing and moves nothing. With SACK, any ACK whose blocks report data
 * past a hole counts too (a peer sending data of its own never sends a
 * pure duplicate). We keep no scoreboard: the blocks only detect loss. */
static void dupack_input(struct stk_ctx *ctx, struct stk_tcp_flow *f, const struct seg *s, uint32_t old_wnd)
{
	bool dup = !s->len && !(s->flags & STK_TH_FIN) && f->snd_wnd == old_wnd;
	if ((f->flags & STK_F_SACK) && s->has_sack && seq_gt(s->sack_high, f->snd_una) &&
	    seq_leq(s->sack_high, f->snd_max))
		dup = true;
	if (!dup || !f->snd_wnd || f->snd_max == f->snd_una || (f->flags & STK_F_PERSIST)) {
		f->dupacks = 0;
		return;
	}
	if (f->dupacks < UINT8_MAX) /* saturate: a wrap would count to 3 again */
		f->dupacks++;
	if (f->flags & STK_F_RECOVERY) {
		/* Every further duplicate while recovering, also after a partial
		 * ACK reset the count: one more segment has left the network
		 * (RFC 6582 3.2 step 3); never a second halving. */
		f->cwnd += f->mss;
		return;
	}
	if (f->dupacks < 3) {
		/* Limited transmit (RFC 3042): a new segment for each of the
		 * first two duplicates, so a small window still gets its three
		 * (new data only: not while a timeout's go-back-N resends). */
		if (seq_geq(f->snd_nxt, f->snd_max) && seq_geq(s->ack, f->recover)) {
			f->cwnd += f->mss;
			f->xflags |= (f->xflags & STK_X_LOAN1) ? STK_X_LOAN2 : STK_X_LOAN1;
		}
		return;
	}
	/* RFC 6582 3.2 step 2: not for duplicates of data sent before the last
	 * recovery or timeout ended (those are the go-back-N's echoes). */
	if (f->dupacks == 3 && seq_geq(s->ack, f->recover))
		fast_retransmit(ctx, f);
}

/* Congestion window after `acked` new bytes (RFC 5681, NewReno RFC 6582). */
static void cwnd_on_ack(struct stk_ctx *ctx, struct stk_tcp_flow *f, uint32_t ack, uint32_t acked)
{
	if (f->flags & STK_F_RECOVERY) {
		if (seq_geq(ack, f->recover)) {
			f->flags &= (uint16_t)~STK_F_RECOVERY;
			f->cwnd = f->ssthresh;
		} else { /* a partial ACK: the next hole */
			stk_tcp_retransmit_first(ctx, f);
			f->cwnd = f->cwnd > acked ? f->cwnd - acked + f->mss : f->mss;
		}
	} else if (f->cwnd < f->ssthresh) {
		f->cwnd += acked < f->mss ? acked : f->mss;
	} else {
		uint32_t inc = (uint32_t)((uint64_t)f->mss * f->mss / f->cwnd);
		f->cwnd += inc ? inc : 1;
	}
	if (f->cwnd > (64u << 20))
		f->cwnd = 64u << 20;
}

/* An acceptable ACK on a synchronized connection. Returns false when it
 * closed (freed) the connection. */
static bool ack_input(struct stk_ctx *ctx, struct stk_tcp_flow *f, const struct seg *s)
{
	struct stk_tcp *t = ctx->tcp;
	if (seq_lt(s->ack, f->snd_una))
		return true; /* old: neither data nor window news */
	uint32_t old_wnd = f->snd_wnd;
	window_input(f, s);
	uint32_t acked = s->ack - f->snd_una;
	if (!acked) {
		dupack_input(ctx, f, s, old_wnd);
		return true;
	}
	uint32_t fin_seq = f->snd_una + f->sq_len;
	bool fin_acked = (f->flags & STK_F_FIN_SENT) && seq_gt(s->ack, fin_seq);
	stk_sndq_drop(t, f, fin_acked ? acked - 1 : acked);
	f->snd_una = s->ack;
	if (seq_lt(f->snd_nxt, f->snd_una))
		f->snd_nxt = f->snd_una;
	f->rxt_shift = 0;
	if (f->xflags & (STK_X_LOAN1 | STK_X_LOAN2)) { /* limited transmit's loan back */
		uint32_t loan = (uint32_t)(!!(f->xflags & STK_X_LOAN1) + !!(f->xflags & STK_X_LOAN2)) * f->mss;
		f->cwnd = f->cwnd > loan + f->mss ? f->cwnd - loan : f->mss;
		f->xflags &= (uint8_t)~(STK_X_LOAN1 | STK_X_LOAN2);
	}
	f->dupacks = 0;
	if ((f->flags & STK_F_TIMING) && seq_geq(s->ack, f->rtt_seq)) {
		f->flags &= (uint16_t)~STK_F_TIMING;
		rtt_sample(ctx, f, stk_now_us(ctx) - f->rtt_start_us);
	}
	cwnd_on_ack(ctx, f, s->ack, acked);
	if (f->snd_una == f->snd_max)
		f->flags &= (uint16_t)~STK_F_RTO;
	else if (!(f->flags & STK_F_PERSIST))
		stk_tcp_arm_rto(ctx, f);
	if (fin_acked) {
		if (f->state == STK_TCP_LAST_ACK) {
			stk_flow_free(ctx, f, STK_CLOSE_NORMAL);
			return false;
		}
		if (f->state == STK_TCP_FIN_WAIT_1)
			stk_flow_set_state(t, f, STK_TCP_FIN_WAIT_2);
		else if (f->state == STK_TCP_CLOSING)
			stk_flow_set_state(t, f, STK_TCP_TIME_WAIT);
	}
	progress(ctx, f);
	stk_tcp_notify_writable(ctx, f);
	return true;
}

/* Bytes at rcv_nxt to the service; returns how many it took. */
static unsigned deliver(struct stk_ctx *ctx, struct stk_tcp_flow *f, const uint8_t *d, unsigned len)
{
	unsigned used = len;
	if (len && call_ok(f) && f->svc->recv) {
		f->flags |= STK_F_IN_CB;
		used = f->svc->recv(ctx, (struct stk_tcp_sock *)f, d, len);
		f->flags &= (uint16_t)~STK_F_IN_CB;
		if (used > len)
			used = len;
	}
	if (used < len)
		ctx->cnt.drop_tcp_rcv_unread += len - used;
	f->rcv_nxt += used;
	ctx->cnt.tcp_rx_bytes += used;
	if (used)
		progress(ctx, f);
	return used;
}

/* Queued segments that the data before them made contiguous. Returns true
 * when a queued FIN became the next thing in sequence. */
static bool drain_ooo(struct stk_ctx *ctx, struct stk_tcp_flow *f)
{
	uint32_t seq;
	const uint8_t *d;
	unsigned len;
	bool fin;
	while (!(f->flags & (STK_F_ABORT_REQ | STK_F_PEER_FIN)) &&
	       stk_reasm_peek(ctx->tcp, f, &seq, &d, &len, &fin) && seq_leq(seq, f->rcv_nxt)) {
		uint32_t end = seq + len;
		if (seq_gt(end, f->rcv_nxt)) {
			uint32_t off = f->rcv_nxt - seq;
			if (deliver(ctx, f, d + off, len - off) < len - off)
				return false; /* the service is full: the rest waits */
		}
		stk_reasm_pop(ctx->tcp, f);
		f->flags |= STK_F_ACK_NOW;
		if (fin && end == f->rcv_nxt)
			return true;
	}
	return false;
}

/* Payload for the service: in order it is delivered at once, past a hole
 * it waits in the reassembly queue. Returns true when all of it was taken
 * (then a FIN in the same segment counts). */
static bool data_input(struct stk_ctx *ctx, struct stk_tcp_flow *f, const struct seg *s, bool *fin_due)
{
	const uint8_t *d = s->data;
	uint32_t len = s->len, seq = s->seq;
	bool owed = f->flags & STK_F_ACK_NOW;
	f->flags |= STK_F_ACK_NOW; /* at once, unless in-order data may wait (below) */
	if (seq_lt(seq, f->rcv_nxt)) {
		uint32_t skip = f->rcv_nxt - seq;
		if (skip >= len)
			return true; /* all of it seen before */
		d += skip;
		len -= skip;
		seq = f->rcv_nxt;
	}
	uint32_t edge = seq_gt(f->rcv_adv, seq) ? f->rcv_adv - seq : 0;
	bool all = len <= edge;
	if (!all) {
		ctx->cnt.drop_tcp_out_of_window++; /* the part past the window */
		len = edge;
	}
	if (seq != f->rcv_nxt) {
		/* The duplicate ACK (with SACK blocks) tells the peer. */
		if (len && stk_reasm_insert(ctx->tcp, f, seq, d, len, all && (s->flags & STK_TH_FIN)))
			ctx->cnt.tcp_ooo_queued++;
		else
			ctx->cnt.drop_tcp_ooo++;
		return false;
	}
	if (deliver(ctx, f, d, len) < len)
		return false;
	if (f->ooo_head != STK_NONE)
		*fin_due = drain_ooo(ctx, f); /* a hole filled: ACK at once */
	else if (!owed && all)
		stk_tcp_ack_delay(ctx, f);
	return all;
}

static void fin_input(struct stk_ctx *ctx, struct stk_tcp_flow *f)
{
	struct stk_tcp *t = ctx->tcp;
	f->flags |= STK_F_ACK_NOW;
	if (f->flags & STK_F_PEER_FIN) {
		if (f->state == STK_TCP_TIME_WAIT)
			progress(ctx, f); /* RFC 9293: restart the 2 MSL wait */
		return;
	}
	f->flags |= STK_F_PEER_FIN;
	f->rcv_nxt++;
	switch (f->state) {
	case STK_TCP_ESTABLISHED:
		stk_flow_set_state(t, f, STK_TCP_CLOSE_WAIT);
		break;
	case STK_TCP_FIN_WAIT_1: /* our FIN not yet acknowledged: simultaneous close */
		stk_flow_set_state(t, f, STK_TCP_CLOSING);
		break;
	case STK_TCP_FIN_WAIT_2:
		stk_flow_set_state(t, f, STK_TCP_TIME_WAIT);
		f->flags &= (uint16_t)~STK_F_RTO;
		break;
	default:
		break;
	}
	progress(ctx, f);
	if (call_ok(f) && f->svc->peer_closed) {
		f->flags |= STK_F_IN_CB;
		f->svc->peer_closed(ctx, (struct stk_tcp_sock *)f);
		f->flags &= (uint16_t)~STK_F_IN_CB;
	}
}

/* The service made room (its send queue drained, say) and the window we
 * offer could double: say so now, or the peer waits for its persist
 * timer. Data going out carries the update anyway; this covers silence. */
static void window_update_check(struct stk_ctx *ctx, struct stk_tcp_flow *f)
{
	const struct stk_tcp *t = ctx->tcp;
	if (!f->svc->recv_space || !call_ok(f) || (f->flags & (STK_F_PEER_FIN | STK_F_ACK_NOW)))
		return;
	uint32_t offered = seq_gt(f->rcv_adv, f->rcv_nxt) ? f->rcv_adv - f->rcv_nxt : 0;
	uint32_t space = f->svc->recv_space(ctx, (struct stk_tcp_sock *)f);
	if (space > t->cfg.rcv_wnd)
		space = t->cfg.rcv_wnd;
	if (space > (0xffffu << f->rcv_ws)) /* what the field can say (no scaling: 64 KiB) */
		space = 0xffffu << f->rcv_ws;
	uint32_t step = t->cfg.rcv_wnd / 2 < f->mss ? t->cfg.rcv_wnd / 2 : f->mss;
	if (space >= offered + step && space >= 2 * offered)
		f->flags |= STK_F_ACK_NOW;
}

static void accept_flow(struct stk_ctx *ctx, struct stk_tcp_flow *f)
{
	f->flags |= STK_F_ACCEPTED;
	ctx->cnt.tcp_accepted++;
	if (f->svc->accept) {
		f->flags |= STK_F_IN_CB;
		int rc = f->svc->accept(ctx, (struct stk_tcp_sock *)f, f->svc_arg);
		f->flags &= (uint16_t)~STK_F_IN_CB;
		if (rc < 0)
			f->flags |= STK_F_ABORT_REQ;
	}
}

/* RFC 9293 3.10.7.4 steps one to five up to the ACK: sequence check
 * (with PAWS before it), RST, SYN, no ACK. Returns false when the segment
 * ends here (answered, dropped, or the connection is gone). */
static bool flow_gate(struct stk_ctx *ctx, const struct pkt_ctx *pc, struct stk_tcp_flow *f,
		      const struct seg *s)
{
	uint8_t fl = s->flags;
	if (f->state == STK_TCP_TIME_WAIT && (fl & STK_TH_SYN) && !(fl & (STK_TH_ACK | STK_TH_RST)) &&
	    seq_gt(s->seq, f->rcv_nxt)) {
		/* A new incarnation of the connection (RFC 9293 3.6.1 note). */
		stk_flow_free(ctx, f, STK_CLOSE_NORMAL);
		noflow_input(ctx, pc, s);
		return false;
	}
	if (f->state == STK_TCP_SYN_RCVD && (fl & STK_TH_SYN) && !(fl & (STK_TH_ACK | STK_TH_RST)) &&
	    s->seq == f->irs) {
		/* The peer did not hear our SYN-ACK: same answer again. */
		struct stk_synack_info si = {f->syn_bits, f->peer_mss, 0, stk_tcp_tsval(ctx, f),
					     f->ts_recent, NULL};
		stk_tcp_send_synack(ctx, pc->h, f->rmac, f->rip, f->lport, f->rport, f->iss, f->rcv_nxt, &si);
		return false;
	}
	/* RFC 7323 5.3: PAWS before the sequence check. */
	if ((f->flags & STK_F_TS) && has_ts(s) && !(fl & STK_TH_RST) && seq_lt(s->tsval, f->ts_recent)) {
		ctx->cnt.drop_tcp_paws++;
		stk_tcp_send_ack(ctx, f);
		return false;
	}
	if (!seq_acceptable(f, s)) {
		if (fl & STK_TH_RST) {
			ctx->cnt.drop_tcp_out_of_window++; /* RFC 5961 3.2: silently */
			return false;
		}
		if ((fl & STK_TH_FIN) && s->seq + s->len + 1 == f->rcv_nxt && (f->flags & STK_F_PEER_FIN))
			fin_input(ctx, f); /* a retransmitted FIN: ACK it again */
		else
			ctx->cnt.drop_tcp_out_of_window++;
		stk_tcp_send_ack(ctx, f);
		return false;
	}
	if (has_ts(s) && (f->flags & STK_F_TS) && seq_leq(s->seq, f->rcv_nxt))
		f->ts_recent = s->tsval;
	if (fl & STK_TH_RST) {
		if (s->seq != f->rcv_nxt) {
			ctx->cnt.drop_tcp_rst_in_window++;
			challenge_ack(ctx, f);
			return false;
		}
		if (f->state != STK_TCP_TIME_WAIT && f->state != STK_TCP_SYN_RCVD)
			ctx->cnt.tcp_conn_reset++;
		stk_flow_free(ctx, f, STK_CLOSE_RESET);
		return false;
	}
	if (fl & STK_TH_SYN) { /* RFC 5961 section 4, also in SYN-RCVD */
		ctx->cnt.drop_tcp_syn_in_window++;
		challenge_ack(ctx, f);
		return false;
	}
	if (!(fl & STK_TH_ACK)) {
		ctx->cnt.drop_tcp_no_ack++;
		return false;
	}
	return true;
}

/* Step five: the ACK, completing the handshake in SYN-RCVD. Returns false
 * when the segment ends here. */
static bool flow_ack(struct stk_ctx *ctx, const struct pkt_ctx *pc, struct stk_tcp_flow *f,
		     const struct seg *s)
{
	if (f->state != STK_TCP_SYN_RCVD) {
		/* RFC 5961 5.2: acceptable iff SND.UNA - MAX.SND.WND <= SEG.ACK <= SND.NXT
		 * (snd_max: a window probe may have gone past snd_nxt). */
		if (seq_gt(s->ack, f->snd_max) || seq_lt(s->ack, f->snd_una - f->max_snd_wnd)) {
			ctx->cnt.drop_tcp_bad_ack++;
			challenge_ack(ctx, f);
			return false;
		}
		return ack_input(ctx, f, s);
	}
	if (!(seq_lt(f->snd_una, s->ack) && seq_leq(s->ack, f->snd_max))) {
		stk_tcp_send_rst(ctx, pc->h, f->rmac, f->rip, f->lport, f->rport, s->ack, 0, false, 0,
				 stk_host_tcp_policy(pc->h)->df_flow, STK_IPID_TCP);
		return false;
	}
	f->snd_una = s->ack;
	f->snd_wnd = (uint32_t)s->wnd << f->snd_ws;
	f->max_snd_wnd = f->snd_wnd;
	f->snd_wl1 = s->seq;
	f->snd_wl2 = s->ack;
	f->rxt_shift = 0;
	f->flags &= (uint16_t)~STK_F_RTO;
	stk_flow_set_state(ctx->tcp, f, STK_TCP_ESTABLISHED);
	progress(ctx, f);
	accept_flow(ctx, f);
	return true;
}

static void flow_input(struct stk_ctx *ctx, const struct pkt_ctx *pc, struct stk_tcp_flow *f,
		       const struct seg *s)
{
	stk_flow_touch(ctx->tcp, f);
	stk_tcp_peer_heard(ctx, f);
	if (f->state == STK_TCP_SYN_SENT) {
		struct stk_syn_sent_seg ss = {s->seq, s->ack, s->tsval, s->wnd, s->mss, s->flags,
					      s->syn_bits, s->ws, has_ts(s)};
		stk_tcp_syn_sent_input(ctx, f, &ss);
		return;
	}
	if (!flow_gate(ctx, pc, f, s) || !flow_ack(ctx, pc, f, s))
		return;
	/* Steps seven and eight: the text, then the FIN. Urgent data stays
	 * in the stream, as RFC 6093 asks of applications (SO_OOBINLINE). */
	if (s->flags & STK_TH_URG)
		ctx->cnt.tcp_urgent_rx++;
	bool all = true, fin_due = false;
	if (s->len && !(f->flags & STK_F_ABORT_REQ)) {
		if (f->flags & STK_F_PEER_FIN) {
			ctx->cnt.drop_tcp_after_fin++;
			f->flags |= STK_F_ACK_NOW;
			all = false;
		} else {
			all = data_input(ctx, f, s, &fin_due);
		}
	} else if (f->ooo_head != STK_NONE) {
		fin_due = drain_ooo(ctx, f); /* the service may have room again */
	}
	if ((s->flags & STK_TH_FIN) && all && s->seq + s->len == f->rcv_nxt)
		fin_due = true;
	if (fin_due && !(f->flags & STK_F_ABORT_REQ))
		fin_input(ctx, f);
	window_update_check(ctx, f);
	if (f->flags & STK_F_ABORT_REQ) {
		flow_reset(ctx, f, STK_CLOSE_ABORT);
		return;
	}
	stk_tcp_output(ctx, f);
}

/* ---- bursts ---------------------------------------------------------------- */

/* Frames whose tuple is hashed ahead: IPv4 without options, TCP, not a
 * fragment (a reassembled datagram is hashed when it is handled). */
void stk_tcp_burst_prepare(struct stk_ctx *ctx, struct stk_pkt *const *rx, unsigned n)
{
	struct stk_tcp *t = ctx->tcp;
	if (n > STK_TCP_HINTS)
		n = STK_TCP_HINTS;
	for (unsigned i = 0; i < n; i++) {
		struct stk_tcp_hint *k = &t->hints[i];
		const uint8_t *f = rx[i]->data, *ip = f + STK_ETH_HLEN;
		k->ok = false;
		if (rx[i]->len < STK_ETH_HLEN + STK_IP4_MIN_HLEN + 4 || (rx[i]->flags & STK_PKT_VLAN) ||
		    stk_be16(f + STK_ETH_O_TYPE) != STK_ETHERTYPE_IPV4 || ip[STK_IP4_O_VIHL] != 0x45 ||
		    ip[STK_IP4_O_PROTO] != STK_IPPROTO_TCP ||
		    (stk_be16(ip + STK_IP4_O_FRAG) & (STK_IP4_MF | STK_IP4_OFFMASK)))
			continue;
		const uint8_t *tcp = ip + STK_IP4_MIN_HLEN;
		k->lip = stk_load_raw32(ip + STK_IP4_O_DST);
		k->rip = stk_load_raw32(ip + STK_IP4_O_SRC);
		k->lport = stk_be16(tcp + STK_TCP_O_DPORT);
		k->rport = stk_be16(tcp + STK_TCP_O_SPORT);
		k->hv = stk_flow_tuple_hash(t, k->lip, k->rip, k->lport, k->rport);
		k->ok = true;
		__builtin_prefetch(&t->buckets[k->hv & t->bucket_mask]);
		if (t->sc_count)
			__builtin_prefetch(&t->sc_buckets[k->hv & t->sc_mask]);
	}
	t->hint_n = n;
}

void stk_tcp_burst_end(struct stk_ctx *ctx)
{
	ctx->tcp->hint_n = 0;
}

/* Frames this far ahead get their second look-up level prefetched: the
 * record their bucket points at, and the bucket of the SYN-cache entry a
 * new SYN would evict. */
#define HINT_AHEAD 4

static uint64_t tuple_hash(struct stk_ctx *ctx, uint32_t lip, uint32_t rip, uint16_t lport, uint16_t rport)
{
	struct stk_tcp *t = ctx->tcp;
	unsigned i = ctx->burst_i;
	if (i >= t->hint_n)
		return stk_flow_tuple_hash(t, lip, rip, lport, rport);
	const struct stk_tcp_hint *k = &t->hints[i];
	if (!k->ok || k->lip != lip || k->rip != rip || k->lport != lport || k->rport != rport)
		return stk_flow_tuple_hash(t, lip, rip, lport, rport);
	unsigned j = i + HINT_AHEAD;
	if (j < t->hint_n && t->hints[j].ok) {
		uint64_t hj = t->hints[j].hv;
		uint32_t fi = t->buckets[hj & t->bucket_mask];
		if (fi != STK_NONE)
			__builtin_prefetch(&t->flows[fi]);
		if (t->sc_count) {
			uint32_t si = t->sc_buckets[hj & t->sc_mask];
			if (si != STK_NONE)
				__builtin_prefetch(&t->sc[si]);
			uint32_t v = t->sc_next + HINT_AHEAD;
			const struct stk_syn_ent *e = &t->sc[v < t->sc_cap ? v : v % t->sc_cap];
			if (e->q != STK_SC_FREE)
				__builtin_prefetch(&t->sc_buckets[e->hash & t->sc_mask]);
		}
	}
	return k->hv;
}

void stk_tcp_input(struct stk_ctx *ctx, const struct stk_pkt *p, struct stk_host *h, const uint8_t *f,
		   const uint8_t *ip, unsigned hlen, unsigned tot_len, struct stk_pkt **tx,
		   unsigned tx_cap, unsigned *n_tx)
{
	struct stk_tcp *t = ctx->tcp;
	if (!t) {
		ctx->cnt.drop_ip_proto++;
		return;
	}
	const uint8_t *tcp = ip + hlen;
	unsigned len = tot_len - hlen;
	if (len < STK_TCP_HLEN) {
		ctx->cnt.drop_tcp_short++;
		return;
	}
	unsigned doff = (tcp[STK_TCP_O_OFF] >> 4) * 4u;
	if (doff < STK_TCP_HLEN || doff > len) {
		ctx->cnt.drop_tcp_hlen++;
		return;
	}
	uint32_t rip = stk_load_raw32(ip + STK_IP4_O_SRC);
	/* The decky's own address, or (steering legs) the address an active
	 * open speaks for. */
	uint32_t lip = stk_load_raw32(ip + STK_IP4_O_DST);
	uint32_t sum = stk_l4_pseudo(rip, lip, STK_IPPROTO_TCP, len);
	/* A locally sent frame whose checksum the kernel left to the NIC
	 * (STK_PKT_CSUM_PARTIAL) cannot be checked; nothing from the wire
	 * carries that mark. */
	if (!(p->flags & STK_PKT_CSUM_PARTIAL) && stk_csum_fold(stk_csum_add(sum, tcp, len)) != 0) {
		ctx->cnt.drop_tcp_csum++;
		return;
	}
	struct pkt_ctx pc = {p, h, f, ip, rip, stk_be16(tcp + STK_TCP_O_DPORT), stk_be16(tcp + STK_TCP_O_SPORT), 0};
	if (!pc.lport || !pc.rport) {
		ctx->cnt.drop_tcp_port++;
		return;
	}
	ctx->cnt.tcp_rx_segments++;
	struct seg s = {
		.seq = stk_be32(tcp + STK_TCP_O_SEQ),
		.ack = stk_be32(tcp + STK_TCP_O_ACK),
		.flags = tcp[STK_TCP_O_FLAGS],
		.wnd = stk_be16(tcp + STK_TCP_O_WIN),
		.urp = stk_be16(tcp + STK_TCP_O_URP),
		.data = tcp + doff,
		.len = len - doff,
		.opts = tcp + STK_TCP_HLEN,
		.optlen = doff - STK_TCP_HLEN,
	};
	options_input(ctx, tcp + STK_TCP_HLEN, doff - STK_TCP_HLEN, &s);
	t->tx = tx;
	t->tx_cap = tx_cap;
	t->n_tx = n_tx;
	pc.hv = tuple_hash(ctx, lip, rip, pc.lport, pc.rport);
	struct stk_tcp_flow *fl = stk_flow_lookup_h(t, pc.hv, lip, rip, pc.lport, pc.rport);
	if (fl && fl->host_idx != (uint32_t)(h - ctx->hosts->hosts)) {
		/* Left over from a decky that was removed; this address is
		 * someone new now. */
		stk_flow_free(ctx, fl, STK_CLOSE_HOST_GONE);
		fl = NULL;
	}
	if (!fl && t->sc_count) {
		struct stk_syn_ent *e = stk_sc_lookup(t, pc.hv, lip, rip, pc.lport, pc.rport);
		if (e)
			fl = syn_ent_flow(ctx, &pc, e);
	}
	if (fl)
		flow_input(ctx, &pc, fl, &s);
	else if (lip == h->ip_raw)
		noflow_input(ctx, &pc, &s);
	else
		ctx->cnt.drop_tcp_port++; /* a steering leg that just closed: silence */
	if (t->pend_head != STK_NONE)
		stk_tcp_flush_pending(ctx);
	t->tx = NULL;
	t->n_tx = NULL;
}
