/* TCP input: segment validation and the RFC 9293 state machine for
 * segments that belong to a connection (section 3.10.7.4, with RFC 5961's
 * challenge ACKs and RFC 7323's PAWS). Segments without one are in
 * stk_tcp_noflow.c, option parsing and burst hashing in stk_tcp_rx.c.
 *
 * Each segment is handled completely before the next: its ACK, its data
 * (handed to the service in order), its FIN, then one output pass that
 * sends what the connection owes (data, FIN, the ACK), so the answer to a
 * request usually leaves in the segment that acknowledges it.
 */
#include "stack/stk_tcp_clock.h"
#include "stack/stk_tcp_seg.h"

#include <string.h>
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

/* Answers to invalid segments, per connection as Linux limits them
 * (tcp_invalid_ratelimit, 500 ms): at most one challenge ACK, or one
 * duplicate ACK for an unacceptable SYN or dataless segment, per half
 * second. It stops ACK loops and floods of answers, and unlike RFC 5961's
 * host-wide limit it shares nothing between connections: a shared counter
 * tells an off-path attacker whose spoofed RSTs hit another connection's
 * window (CVE-2016-5696). The tick is 16 bits: a gap of a multiple of 65.5 s
 * (+ < 500 ms) reads as recent, and costs one answer. */
#define OOW_GAP_MS 500

static bool oow_answer_ok(struct stk_ctx *ctx, struct stk_tcp_flow *f)
{
	uint16_t now = (uint16_t)stk_now_ms(ctx);
	if (f->oow_at && (uint16_t)(now - f->oow_at) < OOW_GAP_MS) {
		ctx->cnt.drop_tcp_oow_ratelimit++;
		return false;
	}
	f->oow_at = now ? now : 1;
	return true;
}

/* Segments that may be part of an ACK loop: no data, no FIN (or a SYN). */
static bool oow_limited(const struct seg *s)
{
	return (s->flags & STK_TH_SYN) || (!s->len && !(s->flags & STK_TH_FIN));
}

static void challenge_ack(struct stk_ctx *ctx, struct stk_tcp_flow *f)
{
	struct stk_tcp *t = ctx->tcp;
	if (!oow_answer_ok(ctx, f))
		return;
	if (t->cfg.challenge_ack_per_s && !stk_bucket_take(&t->challenge, ctx->now_ns, t->cfg.challenge_ack_per_s,
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
	stk_tcp_send_rst_flow(ctx, f, stk_tcp_ctl_seq(f), f->rcv_nxt, true);
	stk_flow_free(ctx, f, why);
}

static bool call_ok(const struct stk_tcp_flow *f)
{
	return (f->flags & STK_F_ACCEPTED) && !(f->flags & (STK_F_ABORT_REQ | STK_F_IN_CB));
}

/* ---- the state machine -------------------------------------------------- */

/* RFC 9293 3.10.7.4's acceptability test, but a segment without data
 * exactly at the right window edge passes too, as Linux (tcp_sequence) and
 * BSD (tcp_input's trimming) let it: a peer that has sent up to our window
 * sends its ACKs with SEQ = RCV.NXT + RCV.WND, and refusing them loses
 * every ACK it sends until a hole in its data is filled — with its own
 * go-back-N refusing ours, a deadlock (found on the impaired lab). A RST
 * there stays outside the window (RFC 5961 3.2: dropped silently). */
static bool seq_acceptable(const struct stk_tcp_flow *f, const struct seg *s)
{
	uint32_t wnd = stk_tcp_rcv_open(f);
	uint32_t len = seg_len(s);
	if (!len)
		return (seq_leq(f->rcv_nxt, s->seq) && seq_lt(s->seq, f->rcv_nxt + wnd)) ||
		       (s->seq == f->rcv_nxt + wnd && !(s->flags & STK_TH_RST));
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

/* Bytes to the service; returns how many it took (all of them when no
 * service can take any: accepted, not aborted, with a recv()). */
static unsigned to_service(struct stk_ctx *ctx, struct stk_tcp_flow *f, const uint8_t *d, unsigned len)
{
	unsigned used = len;
	if (len && call_ok(f) && f->svc->recv) {
		f->flags |= STK_F_IN_CB;
		used = f->svc->recv(ctx, (struct stk_tcp_sock *)f, d, len);
		f->flags &= (uint16_t)~STK_F_IN_CB;
		if (used > len)
			used = len;
	}
	ctx->cnt.tcp_rx_bytes += used;
	return used;
}

unsigned stk_tcp_rcv_room(struct stk_ctx *ctx, struct stk_tcp_flow *f)
{
	unsigned space = f->svc->recv_space(ctx, (struct stk_tcp_sock *)f);
	uint32_t held = stk_reasm_held_bytes(ctx->tcp, f);
	return space > held ? space - held : 0;
}

static void peer_closed_cb(struct stk_ctx *ctx, struct stk_tcp_flow *f)
{
	if (call_ok(f) && f->svc->peer_closed) {
		f->flags |= STK_F_IN_CB;
		f->svc->peer_closed(ctx, (struct stk_tcp_sock *)f);
		f->flags &= (uint16_t)~STK_F_IN_CB;
	}
}

void stk_tcp_rcv_drain(struct stk_ctx *ctx, struct stk_tcp_flow *f)
{
	const uint8_t *d;
	unsigned len;
	if (f->flags & STK_F_IN_CB)
		return;
	while (!(f->flags & STK_F_ABORT_REQ) && stk_reasm_held_peek(ctx->tcp, f, &d, &len)) {
		unsigned used = to_service(ctx, f, d, len);
		if (used)
			stk_reasm_held_consume(ctx->tcp, f, used);
		if (used < len)
			return; /* still full: recv_ready(), the next segment or a timer tries again */
	}
	if ((f->xflags & STK_X_FIN_OWED) && !stk_reasm_held_bytes(ctx->tcp, f)) {
		f->xflags &= (uint8_t)~STK_X_FIN_OWED;
		peer_closed_cb(ctx, f);
	}
}

/* In-order bytes at rcv_nxt: to the service, or, behind bytes it has not
 * taken yet or past what it takes now, held (acknowledged, delivered in
 * order later). false when they could be neither: the rest is dropped
 * unacknowledged (the queue's bounds, stk_tcp_reasm.c), as the peer's
 * retransmission will bring it again. */
static bool take(struct stk_ctx *ctx, struct stk_tcp_flow *f, const uint8_t *d, unsigned len)
{
	if (!len)
		return true;
	unsigned used = 0;
	if (!stk_reasm_held_bytes(ctx->tcp, f))
		used = to_service(ctx, f, d, len);
	f->rcv_nxt += used;
	bool all = used == len;
	if (!all && stk_reasm_hold(ctx->tcp, f, d + used, len - used)) {
		ctx->cnt.tcp_rcv_held += len - used;
		all = true;
	} else if (!all) {
		ctx->cnt.drop_tcp_rcv_unread += len - used;
	}
	/* Progress is the peer's data taken (held counts), not the held
	 * bytes going to the service later, nor bytes refused. */
	if (used || all)
		progress(ctx, f);
	return all;
}

/* rcv_nxt moved: the queued segments it reached join the held bytes, and
 * the service gets what it can take. Returns true when a queued FIN
 * became the next thing in sequence. */
static bool absorb_queue(struct stk_ctx *ctx, struct stk_tcp_flow *f)
{
	bool fin = stk_reasm_absorb(ctx->tcp, f);
	stk_tcp_rcv_drain(ctx, f);
	return fin;
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
	if (!take(ctx, f, d, len))
		return false;
	if (f->ooo_head != STK_NONE) /* a hole filled, or bytes held: ACK at once */
		*fin_due = absorb_queue(ctx, f);
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
	if (stk_reasm_held_bytes(t, f))
		f->xflags |= STK_X_FIN_OWED; /* the bytes before it first */
	else
		peer_closed_cb(ctx, f);
}

/* The service made room (its send queue drained, say) and the window we
 * offer could double: say so now, or the peer waits for its persist
 * timer. Data going out carries the update anyway; this covers silence. */
static void window_update_check(struct stk_ctx *ctx, struct stk_tcp_flow *f)
{
	const struct stk_tcp *t = ctx->tcp;
	if (!f->svc->recv_space || !call_ok(f) || (f->flags & (STK_F_PEER_FIN | STK_F_ACK_NOW)))
		return;
	uint32_t offered = stk_tcp_rcv_open(f);
	uint32_t space = stk_tcp_rcv_room(ctx, f);
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
/* RFC 9293 3.10.7.4: with RCV.WND zero no segment is acceptable, "but
 * special allowance should be made to accept valid ACKs". A peer probing
 * our closed window sends its ACKs in its probes (Linux: SEQ = RCV.NXT - 1);
 * when our window is closed because our own send queue is full (an echo),
 * ignoring them leaves that queue full, the window closed and our
 * retransmissions backing off, until a reply to one of them gets through
 * (a 15 s stall at 15 % loss on the impaired lab). Only an ACK of new data
 * is taken: its window is not (its sequence number is old, SND.WL1 says
 * so) and a repeated one is no duplicate ACK. */
static bool closed_window_ack(const struct stk_tcp_flow *f, const struct seg *s)
{
	/* Closed as the peer was told: less than one unit of the scaled field
	 * (the edge we still honour may be a few bytes further). */
	uint32_t open = stk_tcp_rcv_open(f);
	return !(open >> f->rcv_ws) && (s->flags & STK_TH_ACK) && !(s->flags & STK_TH_SYN) &&
	       f->state != STK_TCP_SYN_RCVD && seq_gt(s->ack, f->snd_una) && seq_leq(s->ack, f->snd_max);
}

/* A SYN in TIME-WAIT opens a new incarnation of the connection (RFC 9293
 * 3.6.1 note) when its sequence number is above RCV.NXT; as Linux decides
 * (policy tw_reuse_linux), also when, both sides using timestamps, its
 * TSval is newer than TS.Recent (RFC 6191), and never when PAWS refuses
 * it. Anything else is an old duplicate, ACKed as out of the window. */
static bool time_wait_reopens(const struct pkt_ctx *pc, const struct stk_tcp_flow *f, const struct seg *s)
{
	if (!stk_host_pol(pc->h)->tw_reuse_linux)
		return seq_gt(s->seq, f->rcv_nxt);
	bool ts = (f->flags & STK_F_TS) && has_ts(s);
	if (ts && seq_lt(s->tsval, f->ts_recent))
		return false;
	return seq_gt(s->seq, f->rcv_nxt) || (ts && seq_gt(s->tsval, f->ts_recent));
}

static void tw_reopen(struct stk_ctx *ctx, const struct pkt_ctx *pc, struct stk_tcp_flow *f, const struct seg *s)
{
	struct stk_tcp *t = ctx->tcp;
	const struct stk_tcp_policy *p = stk_host_pol(pc->h);
	if (!p->tw_reuse_linux) {
		stk_flow_free(ctx, f, STK_CLOSE_NORMAL);
		stk_tcp_noflow_input(ctx, pc, s);
		return;
	}
	/* Linux: the old connection's SND.NXT + 65535 + 2 (never 0), through
	 * the general SYN path (the memo's ISN is the generator's). */
	uint32_t isn = f->snd_max + 65537;
	stk_flow_free(ctx, f, STK_CLOSE_NORMAL);
	bool memo_off = t->syn_memo_off;
	t->syn_memo_off = true;
	t->syn_memo.h = NULL;
	t->isn_next = isn ? isn : 1;
	t->isn_next_on = true;
	stk_tcp_noflow_input(ctx, pc, s);
	t->isn_next_on = false;
	t->syn_memo_off = memo_off;
}

static bool flow_gate(struct stk_ctx *ctx, const struct pkt_ctx *pc, struct stk_tcp_flow *f,
		      const struct seg *s)
{
	uint8_t fl = s->flags;
	if (f->state == STK_TCP_TIME_WAIT && (fl & STK_TH_SYN) && !(fl & (STK_TH_ACK | STK_TH_RST)) &&
	    time_wait_reopens(pc, f, s)) {
		tw_reopen(ctx, pc, f, s);
		return false;
	}
	if (f->state == STK_TCP_SYN_RCVD && (fl & STK_TH_SYN) && !(fl & (STK_TH_ACK | STK_TH_RST)) &&
	    s->seq == f->irs) {
		/* The peer did not hear our SYN-ACK: same answer again. */
		struct stk_synack_info si = {f->syn_bits, f->peer_mss, 0, stk_tcp_tsval(ctx, f),
					     f->ts_recent, NULL, f->exact};
		stk_tcp_send_synack(ctx, pc->h, f->rmac, f->rip, f->lport, f->rport, f->iss, f->rcv_nxt, &si);
		return false;
	}
	/* RFC 7323 5.3: PAWS before the sequence check. */
	if ((f->flags & STK_F_TS) && has_ts(s) && !(fl & STK_TH_RST) && seq_lt(s->tsval, f->ts_recent)) {
		ctx->cnt.drop_tcp_paws++;
		if (!oow_limited(s) || oow_answer_ok(ctx, f))
			stk_tcp_send_ack(ctx, f);
		return false;
	}
	if (!seq_acceptable(f, s)) {
		if (fl & STK_TH_RST) {
			ctx->cnt.drop_tcp_out_of_window++; /* RFC 5961 3.2: silently */
			return false;
		}
		if (fl & STK_TH_SYN) { /* RFC 5961 4.2: a challenge ACK too */
			ctx->cnt.drop_tcp_syn_in_window++;
			challenge_ack(ctx, f);
			return false;
		}
		if ((fl & STK_TH_FIN) && s->seq + s->len + 1 == f->rcv_nxt && (f->flags & STK_F_PEER_FIN)) {
			fin_input(ctx, f); /* a retransmitted FIN: ACK it again */
			stk_tcp_send_ack(ctx, f);
			return false;
		}
		ctx->cnt.drop_tcp_out_of_window++;
		if (closed_window_ack(f, s)) {
			ctx->cnt.tcp_closed_window_acks++;
			if (!ack_input(ctx, f, s))
				return false; /* it acknowledged our FIN: closed */
			f->flags |= STK_F_ACK_NOW;
			stk_tcp_output(ctx, f); /* the ACK, with the window it opened */
			return false;
		}
		if (!oow_limited(s) || oow_answer_ok(ctx, f))
			stk_tcp_send_ack(ctx, f);
		return false;
	}
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

/* RFC 7323 4.3: TS.Recent from a segment at or before RCV.NXT (PAWS has
 * passed it) — only once its ACK is accepted, as Linux does: a SYN, a
 * RST or an unacceptable ACK draws a challenge ACK and is dropped, and
 * must not move TS.Recent (a forged TSval would then be echoed, and every
 * genuine segment after it fail PAWS). */
static void ts_recent_update(struct stk_tcp_flow *f, const struct seg *s)
{
	if (has_ts(s) && (f->flags & STK_F_TS) && seq_leq(s->seq, f->rcv_nxt))
		f->ts_recent = s->tsval;
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
		ts_recent_update(f, s);
		return ack_input(ctx, f, s);
	}
	if (!(seq_lt(f->snd_una, s->ack) && seq_leq(s->ack, f->snd_max))) {
		stk_tcp_send_rst(ctx, pc->h, f->rmac, f->rip, f->lport, f->rport, s->ack, 0, false, 0,
				 stk_host_tcp_policy(pc->h)->df_flow, STK_IPID_TCP);
		return false;
	}
	ts_recent_update(f, s);
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

void stk_tcp_flow_input(struct stk_ctx *ctx, const struct pkt_ctx *pc, struct stk_tcp_flow *f,
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
		stk_tcp_rcv_drain(ctx, f); /* the service may have room again */
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

void stk_tcp_input(struct stk_ctx *ctx, const struct stk_pkt *p, struct stk_host *h, const uint8_t *ip,
		   unsigned hlen, unsigned tot_len)
{
	const uint8_t *f = p->data; /* the frame (of the last fragment, for a reassembled datagram) */
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
	/* A locally sent frame whose checksum the kernel left to the NIC
	 * (STK_PKT_CSUM_PARTIAL) cannot be checked; nothing from the wire
	 * carries that mark. */
	if (!(p->flags & STK_PKT_CSUM_PARTIAL) && !stk_l4_csum_ok(tcp, len, rip, lip, STK_IPPROTO_TCP)) {
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
	stk_tcp_options_input(ctx, tcp + STK_TCP_HLEN, doff - STK_TCP_HLEN, &s);
	pc.hv = stk_tcp_rx_tuple_hash(ctx, ip, lip, rip, pc.lport, pc.rport);
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
			fl = stk_tcp_syn_ent_flow(ctx, &pc, e);
	}
	if (fl)
		stk_tcp_flow_input(ctx, &pc, fl, &s);
	else if (lip == h->ip_raw)
		stk_tcp_noflow_input(ctx, &pc, &s);
	else
		ctx->cnt.drop_tcp_port++; /* a steering leg that just closed: silence */
	if (t->pend_head != STK_NONE)
		stk_tcp_flush_pending(ctx);
}
