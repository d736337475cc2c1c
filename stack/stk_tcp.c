/* The TCP context's life cycle, and time: timer expiry (retransmission,
 * zero-window probes, SYN-RCVD and idle timeouts, TIME-WAIT) and the
 * output-pending list, both driven by stk_timers_advance().
 */
#include "stack/stk_tcp_int.h"
#include "stack/stk_tcp_clock.h"
#include "stack/stk_frag.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

void stk_tcp_cfg_default(struct stk_tcp_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->max_flows = 65536;            /* 65536 * 208 B = 13 MiB */
	cfg->syn_cookie_threshold = 16384;
	cfg->sndbuf_bytes = 32u << 20;
	cfg->sndbuf_per_flow = 64u << 10;
	cfg->rcv_wnd = 256u << 10;
	cfg->idle_timeout_ms = 300000;
	cfg->challenge_ack_per_s = 0;      /* none: a shared limit is a side channel (CVE-2016-5696) */
	cfg->mtu = 1500;
	cfg->listeners = 1024;
	cfg->neighbours = 1024;
}

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static int seed_secrets(struct stk_tcp *t, uint64_t seed)
{
	uint64_t k[5];
	if (seed) {
		for (unsigned i = 0; i < 5; i++)
			k[i] = splitmix64(&seed);
	} else if (getrandom(k, sizeof(k), 0) != (ssize_t)sizeof(k)) {
		return -errno;
	}
	stk_prf_init(&t->flow_prf, k, !t->cfg.prf_siphash);
	stk_prf_init(&t->cookie_prf, k + 2, !t->cfg.prf_siphash);
	t->rng = k[4] | 1;
	return 0;
}

int stk_tcp_init(struct stk_ctx *ctx, const struct stk_tcp_cfg *cfg)
{
	struct stk_tcp_cfg c;
	int rc;
	if (cfg)
		c = *cfg;
	else
		stk_tcp_cfg_default(&c);
	if (!c.max_flows || c.mtu < 128 || c.sndbuf_per_flow < STK_TCP_CHUNK || !c.rcv_wnd ||
	    !c.idle_timeout_ms || !c.neighbours || c.neighbours > (1u << 24))
		return -EINVAL;
	struct stk_tcp *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->cfg = c;
	rc = seed_secrets(t, c.secret_seed);
	if (rc)
		goto err_free;
	rc = stk_flow_table_init(t, c.max_flows, stk_now_ms(ctx));
	if (rc)
		goto err_free;
	rc = stk_sndq_init(t, c.sndbuf_bytes);
	if (rc)
		goto err_flows;
	/* As many half-open connections as the cookie threshold lets through
	 * (64 bytes each), never more than the flows they may become. */
	rc = stk_sc_init(t, c.syn_cookie_threshold < c.max_flows ? c.syn_cookie_threshold : c.max_flows);
	if (rc)
		goto err_sndq;
	uint32_t slots = 2;
	while (slots < 2 * c.neighbours)
		slots <<= 1;
	t->neigh = calloc(slots, sizeof(*t->neigh));
	if (!t->neigh) {
		rc = -ENOMEM;
		goto err_sc;
	}
	t->neigh_mask = slots - 1;
	t->challenge.milli_tokens = UINT32_MAX;
	ctx->tcp = t;
	return 0;

err_sc:
	stk_sc_destroy(t);
err_sndq:
	stk_sndq_destroy(t);
err_flows:
	stk_flow_table_destroy(t);
err_free:
	free(t);
	return rc;
}

void stk_tcp_destroy(struct stk_ctx *ctx)
{
	struct stk_tcp *t = ctx->tcp;
	if (!t)
		return;
	t->tx = NULL; /* no output from here on: stk_l4_tx_take refuses */
	while (t->lru_head != STK_NONE)
		stk_flow_free(ctx, &t->flows[t->lru_head], STK_CLOSE_SHUTDOWN);
	stk_listen_destroy(t);
	stk_sndq_destroy(t);
	stk_sc_destroy(t);
	stk_flow_table_destroy(t);
	free(t->neigh);
	free(t);
	ctx->tcp = NULL;
}

size_t stk_tcp_flow_bytes(const struct stk_ctx *ctx)
{
	const struct stk_tcp *t = ctx->tcp;
	size_t buckets = (size_t)(t->bucket_mask + 1) * sizeof(*t->buckets);
	return sizeof(struct stk_tcp_flow) + (buckets + t->cfg.max_flows - 1) / t->cfg.max_flows;
}

void stk_tcp_usage(const struct stk_ctx *ctx, struct stk_tcp_usage *u)
{
	const struct stk_tcp *t = ctx->tcp;
	memset(u, 0, sizeof(*u));
	if (!t)
		return;
	u->flows = t->n_flows;
	u->max_flows = t->cfg.max_flows;
	u->half_open = t->half_open + t->sc_count;
	u->syn_cache = t->sc_count;
	u->syn_cache_cap = t->sc_cap;
	u->time_wait = t->time_wait;
	u->sndbuf_chunks_used = t->chunks_used;
	u->sndbuf_chunks = t->n_chunks;
	u->listeners = t->n_listen;
	u->timers_armed = t->wheel.armed;
}

static const char *const state_names[STK_TCP_STATE_COUNT] = {
	[STK_TCP_FREE] = "CLOSED",
	[STK_TCP_SYN_RCVD] = "SYN-RECEIVED",
	[STK_TCP_ESTABLISHED] = "ESTABLISHED",
	[STK_TCP_FIN_WAIT_1] = "FIN-WAIT-1",
	[STK_TCP_FIN_WAIT_2] = "FIN-WAIT-2",
	[STK_TCP_CLOSING] = "CLOSING",
	[STK_TCP_TIME_WAIT] = "TIME-WAIT",
	[STK_TCP_CLOSE_WAIT] = "CLOSE-WAIT",
	[STK_TCP_LAST_ACK] = "LAST-ACK",
	[STK_TCP_SYN_SENT] = "SYN-SENT",
};

unsigned stk_tcp_flows(const struct stk_ctx *ctx, struct stk_tcp_flow_info *out, unsigned max)
{
	const struct stk_tcp *t = ctx->tcp;
	if (!t)
		return 0;
	uint32_t now = stk_now_ms(ctx);
	unsigned n = 0;
	for (uint32_t i = t->lru_tail; i != STK_NONE && n < max; i = t->flows[i].lru_prev) {
		const struct stk_tcp_flow *f = &t->flows[i];
		struct stk_tcp_flow_info *o = &out[n++];
		memset(o, 0, sizeof(*o));
		o->lip = f->lip;
		o->rip = f->rip;
		o->lport = f->lport;
		o->rport = f->rport;
		o->host_idx = f->host_idx;
		o->state = f->state < STK_TCP_STATE_COUNT ? state_names[f->state] : "?";
		o->service = f->svc ? f->svc->name : NULL;
		o->snd_queued = f->sq_len;
		o->in_flight = f->snd_max - f->snd_una;
		o->snd_wnd = f->snd_wnd;
		o->cwnd = f->cwnd;
		o->ssthresh = f->ssthresh;
		o->rcv_wnd = stk_tcp_rcv_open(f);
		o->srtt_us = f->srtt_us;
		o->rto_ms = f->rto_ms;
		o->rto_in_ms = (f->flags & STK_F_RTO) ? (int64_t)(int32_t)(f->rto_at - now) : -1;
		o->idle_in_ms = (int64_t)(int32_t)(f->idle_at - now);
		o->ooo_segments = f->ooo_count;
		o->rcv_held = stk_reasm_held_bytes(t, f);
		o->backoff = f->rxt_shift;
		o->accepted = f->flags & STK_F_ACCEPTED;
		o->persist = f->flags & STK_F_PERSIST;
		o->recovery = f->flags & STK_F_RECOVERY;
		o->peer_fin = f->flags & STK_F_PEER_FIN;
		o->fin_sent = f->flags & STK_F_FIN_SENT;
	}
	return n;
}

/* ---- timers --------------------------------------------------------------- */

static void flow_reset_now(struct stk_ctx *ctx, struct stk_tcp_flow *f, enum stk_close_reason why)
{
	if (f->state != STK_TCP_SYN_SENT) /* aborting SYN-SENT only deletes it (RFC 9293 3.10.4) */
		stk_tcp_send_rst_flow(ctx, f, stk_tcp_ctl_seq(f), f->rcv_nxt, true);
	stk_flow_free(ctx, f, why);
}

/* Returns false when the flow was freed. */
static bool rto_fire(struct stk_ctx *ctx, struct stk_tcp_flow *f)
{
	struct stk_host *h = &ctx->hosts->hosts[f->host_idx];
	const struct stk_tcp_policy *p = stk_host_tcp_policy(h);
	if (f->state == STK_TCP_SYN_SENT)
		return stk_tcp_syn_sent_timeout(ctx, f);
	if (f->state == STK_TCP_SYN_RCVD) {
		if (++f->rxt_shift > p->synack_retries) {
			stk_flow_free(ctx, f, STK_CLOSE_TIMEOUT);
			return false;
		}
		struct stk_synack_info si = {f->syn_bits, f->peer_mss, 0, stk_tcp_tsval(ctx, f),
					     f->ts_recent, NULL, f->exact};
		stk_tcp_send_synack(ctx, h, f->rmac, f->rip, f->lport, f->rport, f->iss, f->rcv_nxt, &si);
		stk_tcp_arm_rto(ctx, f);
		return true;
	}
	if (f->flags & STK_F_PERSIST) {
		if (!f->snd_wnd && (f->sq_len || stk_tcp_fin_waiting(f))) {
			stk_tcp_window_probe(ctx, f);
			if (f->rxt_shift < 16)
				f->rxt_shift++;
			stk_tcp_arm_rto(ctx, f); /* capped at rto_max: probes go on */
		} else {
			f->flags &= (uint16_t)~STK_F_PERSIST;
			f->rxt_shift = 0;
			stk_tcp_output(ctx, f);
		}
		return true;
	}
	if (f->snd_una == f->snd_max)
		return true; /* nothing outstanding any more */
	ctx->cnt.tcp_rto_timeouts++;
	if (f->rxt_shift < UINT8_MAX)
		f->rxt_shift++;
	/* A window the peer shrank to zero over data in flight does not time
	 * the connection out (RFC 9293 3.8.6: robust against shrinking; Linux
	 * "receiver dastardly shrinks window"): the idle timeout still ends a
	 * peer that never opens it. */
	if (f->rxt_shift > p->data_retries && f->snd_wnd) {
		ctx->cnt.tcp_conn_timeout++;
		stk_flow_free(ctx, f, STK_CLOSE_TIMEOUT);
		return false;
	}
	/* RFC 5681 3.1 eq. 4, then go back to the first unacknowledged byte;
	 * RFC 6298 5.5: back off (the shift doubles the RTO in arm_rto). */
	uint32_t flight = f->snd_max - f->snd_una;
	f->ssthresh = flight / 2 > 2u * f->mss ? flight / 2 : 2u * f->mss;
	f->cwnd = f->mss;
	f->xflags &= (uint8_t)~(STK_X_LOAN1 | STK_X_LOAN2);
	f->recover = f->snd_max; /* RFC 6582 4.1: duplicates of the go-back-N are no new loss */
	f->snd_nxt = f->snd_una;
	f->dupacks = 0;
	f->flags &= (uint16_t)~(STK_F_TIMING | STK_F_RECOVERY);
	stk_tcp_output(ctx, f);
	if (f->snd_nxt == f->snd_una && !f->snd_wnd) {
		/* Nothing fit in a zero window: the first segment goes anyway,
		 * as Linux's retransmission timer sends it (a probe the peer
		 * must answer with its window; MUST-35). snd_nxt stays: its
		 * ACK is within SND.MAX. */
		stk_tcp_retransmit_first(ctx, f);
		ctx->cnt.tcp_window_probes++;
	}
	if (!(f->flags & STK_F_RTO))
		stk_tcp_arm_rto(ctx, f);
	return true;
}

/* ---- delayed ACK and keepalive ------------------------------------------- */

void stk_tcp_ack_delay(struct stk_ctx *ctx, struct stk_tcp_flow *f)
{
	const struct stk_tcp_policy *p = stk_host_tcp_policy(&ctx->hosts->hosts[f->host_idx]);
	if (!p->delack_ms)
		return;
	if (f->quick_left) {
		f->quick_left--;
		return;
	}
	if (++f->delack_pend >= p->delack_segs)
		return; /* every delack_segs-th segment: at once */
	f->flags &= (uint16_t)~STK_F_ACK_NOW;
	if (!(f->xflags & STK_X_DELACK)) {
		f->xflags |= STK_X_DELACK;
		f->delack_at = stk_now_ms(ctx) + p->delack_ms;
		stk_flow_timer_update(ctx->tcp, f);
	}
}

void stk_tcp_peer_heard(struct stk_ctx *ctx, struct stk_tcp_flow *f)
{
	if (!(f->xflags & STK_X_KEEPALIVE))
		return;
	/* The wheel entry stays where it is: when it fires early the flow is
	 * re-armed at the new deadline (cheaper than re-linking per segment). */
	f->ka_sent = 0;
	f->ka_at = stk_now_ms(ctx) + stk_host_tcp_policy(&ctx->hosts->hosts[f->host_idx])->keepalive_idle_ms;
}

/* Returns false when the flow was freed. */
static bool keepalive_fire(struct stk_ctx *ctx, struct stk_tcp_flow *f)
{
	const struct stk_tcp_policy *p = stk_host_tcp_policy(&ctx->hosts->hosts[f->host_idx]);
	uint32_t now = stk_now_ms(ctx);
	/* Only a quiet connection is probed: with data outstanding the
	 * retransmission timer already finds out whether the peer is there. */
	if ((f->state != STK_TCP_ESTABLISHED && f->state != STK_TCP_CLOSE_WAIT) || f->snd_una != f->snd_max ||
	    f->sq_len) {
		f->ka_sent = 0;
		f->ka_at = now + p->keepalive_idle_ms;
		return true;
	}
	if (f->ka_sent >= p->keepalive_probes) {
		ctx->cnt.tcp_keepalive_timeouts++;
		flow_reset_now(ctx, f, STK_CLOSE_TIMEOUT);
		return false;
	}
	stk_tcp_keepalive_probe(ctx, f, p->keepalive_byte);
	f->ka_sent++;
	ctx->cnt.tcp_keepalive_probes++;
	f->ka_at = now + p->keepalive_intvl_ms;
	return true;
}

void stk_tcp_timer_fire(struct stk_ctx *ctx, struct stk_tcp_flow *f)
{
	struct stk_tcp *t = ctx->tcp;
	const struct stk_host *h = &ctx->hosts->hosts[f->host_idx];
	uint32_t now = stk_now_ms(ctx);
	if (!h->in_use || (h->ip_raw != f->lip && !(f->flags & STK_F_ACTIVE))) {
		stk_flow_free(ctx, f, STK_CLOSE_HOST_GONE);
		return;
	}
	if ((f->flags & STK_F_RTO) && !stk_tick_before(now, f->rto_at)) {
		f->flags &= (uint16_t)~STK_F_RTO;
		if (!rto_fire(ctx, f))
			return;
	}
	if ((f->xflags & STK_X_DELACK) && !stk_tick_before(now, f->delack_at)) {
		ctx->cnt.tcp_delayed_acks++;
		stk_tcp_send_ack(ctx, f); /* clears STK_X_DELACK */
		f->xflags &= (uint8_t)~STK_X_DELACK;
		if (f->flags & STK_F_ACK_NOW) /* no buffer: the next flush sends it */
			stk_flow_pend(t, f);
	}
	if ((f->xflags & STK_X_KEEPALIVE) && !stk_tick_before(now, f->ka_at) && !keepalive_fire(ctx, f))
		return;
	if (f->ooo_head != STK_NONE) {
		stk_tcp_rcv_drain(ctx, f); /* a service that never calls recv_ready() */
		if (f->flags & STK_F_ABORT_REQ) {
			flow_reset_now(ctx, f, STK_CLOSE_ABORT);
			return;
		}
	}
	if (!stk_tick_before(now, f->idle_at)) {
		switch (f->state) {
		case STK_TCP_TIME_WAIT:
			stk_flow_free(ctx, f, STK_CLOSE_NORMAL);
			return;
		case STK_TCP_SYN_RCVD:
		case STK_TCP_SYN_SENT:
		case STK_TCP_FIN_WAIT_2:
			stk_flow_free(ctx, f, STK_CLOSE_IDLE);
			return;
		default:
			ctx->cnt.tcp_conn_timeout++;
			flow_reset_now(ctx, f, STK_CLOSE_IDLE);
			return;
		}
	}
	stk_flow_timer_update(t, f);
}

/* ---- send-buffer pressure ------------------------------------------------- */

/* One pool of send chunks serves every connection. A peer that stops
 * acknowledging (a zero window held for ever, sockstress-style, or a host
 * gone) keeps its queue until the idle timeout or the retries run out:
 * minutes, during which a few hundred such connections to an echo pin the
 * whole pool and every other decky's service is cut short (banners
 * included); out-of-order segments that never see their hole filled, and
 * bytes held for a service that never reads, take chunks of the same pool.
 * So when the pool is nearly used up (less than an eighth free), at most
 * once a second, connections that hold chunks (queued data, out-of-order
 * or held bytes) and have made no progress for STK_PRESSURE_STALL_MS are
 * reset, as Linux drops orphans under tcp_mem pressure; the RST tells
 * the peer, a live one can connect again. Healthy connections make progress every round
 * trip and are never chosen. */
#define STK_PRESSURE_STALL_MS 10000u

static bool pool_pressed(const struct stk_tcp *t)
{
	return t->n_chunks - t->chunks_used < t->n_chunks / 8;
}

static void pressure_reap(struct stk_ctx *ctx, uint32_t now)
{
	struct stk_tcp *t = ctx->tcp;
	if (!pool_pressed(t) || now - t->pressure_scan_ms < 1000u)
		return;
	t->pressure_scan_ms = now;
	uint32_t i = t->lru_head;
	while (i != STK_NONE && stk_l4_tx_room(t)) {
		struct stk_tcp_flow *f = &t->flows[i];
		i = f->lru_next; /* before f may be freed */
		if ((!f->sq_len && f->ooo_head == STK_NONE) || f->state == STK_TCP_SYN_SENT ||
		    f->state == STK_TCP_SYN_RCVD)
			continue;
		/* idle_at is the last progress plus the idle timeout in every
		 * state that can hold data (FIN-WAIT-2 and TIME-WAIT cannot) */
		uint32_t since = now - (f->idle_at - t->cfg.idle_timeout_ms);
		if ((int32_t)since < (int32_t)STK_PRESSURE_STALL_MS)
			continue;
		ctx->cnt.tcp_pressure_resets++;
		flow_reset_now(ctx, f, STK_CLOSE_TIMEOUT);
	}
}

void stk_tcp_flush_pending(struct stk_ctx *ctx)
{
	struct stk_tcp *t = ctx->tcp;
	while (t->pend_head != STK_NONE && stk_l4_tx_room(t)) {
		struct stk_tcp_flow *f = &t->flows[t->pend_head];
		stk_flow_unpend(t, f);
		if (f->ooo_head != STK_NONE)
			stk_tcp_rcv_drain(ctx, f); /* recv_ready(): room for held bytes */
		if (f->flags & STK_F_ABORT_REQ) {
			flow_reset_now(ctx, f, STK_CLOSE_ABORT);
			continue;
		}
		stk_tcp_output(ctx, f);
		if (f->flags & STK_F_PENDING)
			break; /* out of room again */
	}
}

bool stk_timers_pending(const struct stk_ctx *ctx)
{
	const struct stk_tcp *t = ctx->tcp;
	return stk_frag_pending(ctx) || (t && (t->wheel.armed || t->pend_head != STK_NONE || t->sc_count));
}

unsigned stk_timers_advance(struct stk_ctx *ctx, uint64_t now_ns, struct stk_pkt **tx,
			    unsigned tx_cap, unsigned *n_tx)
{
	struct stk_tcp *t = ctx->tcp;
	if (now_ns > ctx->now_ns)
		ctx->now_ns = now_ns;
	stk_frag_expire(ctx, ctx->now_ns, tx, tx_cap, n_tx); /* reassembly timeouts ride the same tick */
	if (!t)
		return 0;
	t->tx = tx;
	t->tx_cap = tx_cap;
	t->n_tx = n_tx;
	stk_tcp_flush_pending(ctx);
	uint32_t now = stk_now_ms(ctx);
	pressure_reap(ctx, now);
	unsigned more = stk_sc_expire(ctx, now);
	for (;;) {
		/* A timer may send two frames (a retransmission and its ACK
		 * state): stop while there is room for them. */
		if (stk_l4_tx_room(t) < 2) {
			more = 1;
			break;
		}
		uint32_t i = stk_wheel_pop(&t->wheel, now);
		if (i == STK_TL_NONE)
			break;
		stk_tcp_timer_fire(ctx, &t->flows[i]);
	}
	stk_tcp_flush_pending(ctx);
	if (t->pend_head != STK_NONE)
		more = 1;
	t->tx = NULL;
	t->n_tx = NULL;
	return more;
}
