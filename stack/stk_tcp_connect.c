/* Active open (RFC 9293 3.10.7.3, SYN-SENT): the stack's only way of
 * starting a connection, used by steering (protocols/proto_steer.c) to
 * reach a service's backend.
 *
 * A steering leg is unusual in one way: its local address is not the
 * decky's but the attacker's (the backend must see who it talks to), so
 * the flow carries its own lip and is marked STK_F_ACTIVE; frames it sends
 * leave with the decky's MAC, TTL and IP-ID generator, and answers to the
 * attacker's address come back to the engine because the backend routes
 * them through the decky (stack/README.md). Input finds such a flow
 * through stk_tcp_active_host(), consulted only while active opens exist.
 *
 * The backend's MAC comes from ARP, asked from the decky's address; a
 * small table (STK_NEIGH_MAX) holds the answers. An entry is created only
 * by stk_tcp_connect() and only completed by what arrives, so a flood of
 * ARP cannot fill it. While the MAC is unknown the SYN timer asks again
 * every STK_ARP_RETRY_MS instead of sending the SYN.
 */
#include "stack/stk_tcp_int.h"
#include "stack/stk_tcp_clock.h"

#include <errno.h>
#include <string.h>

#define STK_ARP_RETRY_MS 50u
#define STK_ARP_TRIES 20u /* one second of asking */
#define STK_SYN_WS_MAX 14

static uint32_t neigh_home(const struct stk_tcp *t, uint32_t ip_raw)
{
	return (uint32_t)(((uint64_t)ip_raw * 0x9e3779b97f4a7c15ull) >> 32) & t->neigh_mask;
}

/* The entry for ip_raw, or the free slot where it would go. */
static struct stk_neigh *neigh_slot(struct stk_tcp *t, uint32_t ip_raw)
{
	uint32_t i = neigh_home(t, ip_raw);
	while (t->neigh[i].state && t->neigh[i].ip_raw != ip_raw)
		i = (i + 1) & t->neigh_mask;
	return &t->neigh[i];
}

static struct stk_neigh *neigh_find(struct stk_tcp *t, uint32_t ip_raw)
{
	struct stk_neigh *n = neigh_slot(t, ip_raw);
	return n->state ? n : NULL;
}

/* Remove slot i, moving later entries of its probe run back into the gap
 * (linear probing's deletion: no tombstones). */
static void neigh_remove(struct stk_tcp *t, uint32_t i)
{
	for (uint32_t j = (i + 1) & t->neigh_mask; t->neigh[j].state; j = (j + 1) & t->neigh_mask) {
		uint32_t k = neigh_home(t, t->neigh[j].ip_raw);
		/* j stays when its home k lies cyclically in (i, j] */
		bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
		if (!stays) {
			t->neigh[i] = t->neigh[j];
			i = j;
		}
	}
	memset(&t->neigh[i], 0, sizeof(t->neigh[i]));
	t->n_neigh--;
}

/* The entry for ip_raw, marked used now; made (resolving) when there is
 * none: when the table is full, in place of the least recently used entry
 * that configuration did not set. NULL when every entry is configured. */
static struct stk_neigh *neigh_get(struct stk_ctx *ctx, uint32_t ip_raw)
{
	struct stk_tcp *t = ctx->tcp;
	struct stk_neigh *n = neigh_slot(t, ip_raw);
	if (n->state) {
		n->used_ms = stk_now_ms(ctx);
		return n;
	}
	if (t->n_neigh >= t->cfg.neighbours) {
		uint32_t now = stk_now_ms(ctx), victim = UINT32_MAX, age = 0;
		for (uint32_t i = 0; i <= t->neigh_mask; i++) {
			const struct stk_neigh *e = &t->neigh[i];
			if (e->state && e->state != 3 && (victim == UINT32_MAX || now - e->used_ms > age)) {
				victim = i;
				age = now - e->used_ms;
			}
		}
		if (victim == UINT32_MAX)
			return NULL;
		neigh_remove(t, victim);
		ctx->cnt.tcp_neigh_evicted++;
		n = neigh_slot(t, ip_raw);
	}
	n->ip_raw = ip_raw;
	n->state = 1;
	n->used_ms = stk_now_ms(ctx);
	t->n_neigh++;
	return n;
}

void stk_tcp_neigh_learn(struct stk_ctx *ctx, uint32_t ip_raw, const uint8_t *mac)
{
	struct stk_neigh *n = neigh_find(ctx->tcp, ip_raw);
	if (!n || n->state == 3)
		return; /* unknown, or configured (never overridden from the wire) */
	memcpy(n->mac, mac, 6);
	n->state = 2;
}

int stk_tcp_neigh_set(struct stk_ctx *ctx, uint32_t ip_raw, const uint8_t *mac)
{
	if (!ctx->tcp)
		return -EINVAL;
	struct stk_neigh *n = neigh_get(ctx, ip_raw);
	if (!n)
		return -ENOSPC;
	memcpy(n->mac, mac, 6);
	n->state = 3;
	return 0;
}

int stk_tcp_neigh_state(struct stk_ctx *ctx, uint32_t ip_raw, uint8_t mac[6])
{
	const struct stk_neigh *n = ctx->tcp ? neigh_find(ctx->tcp, ip_raw) : NULL;
	if (!n)
		return 0;
	if (n->state >= 2)
		memcpy(mac, n->mac, 6);
	return n->state;
}

struct stk_host *stk_tcp_active_host(struct stk_ctx *ctx, const uint8_t *ip, unsigned avail)
{
	struct stk_tcp *t = ctx->tcp;
	if (!t->n_active)
		return NULL;
	unsigned hlen = (ip[STK_IP4_O_VIHL] & 0x0f) * 4u;
	if (hlen < STK_IP4_MIN_HLEN || avail < hlen + 4)
		return NULL; /* the ports are not there: not ours to judge */
	const uint8_t *tcp = ip + hlen;
	struct stk_tcp_flow *f = stk_flow_lookup(t, stk_load_raw32(ip + STK_IP4_O_DST),
						 stk_load_raw32(ip + STK_IP4_O_SRC),
						 stk_be16(tcp + STK_TCP_O_DPORT), stk_be16(tcp + STK_TCP_O_SPORT));
	if (!f || !(f->flags & STK_F_ACTIVE))
		return NULL;
	struct stk_host *h = &ctx->hosts->hosts[f->host_idx];
	return h->in_use ? h : NULL;
}

/* Our receive window shift: the smallest that fits cfg.rcv_wnd in 16 bits. */
static uint8_t our_shift(const struct stk_tcp *t)
{
	uint8_t ws = 0;
	while (ws < STK_SYN_WS_MAX && (t->cfg.rcv_wnd >> ws) > 0xffff)
		ws++;
	return ws;
}

/* The SYN (or, MAC unknown, an ARP request for the backend). Options in
 * Linux's order: MSS, SACK-permitted, timestamps, NOP, window scale. */
static void send_syn(struct stk_ctx *ctx, struct stk_tcp_flow *f)
{
	struct stk_tcp *t = ctx->tcp;
	struct stk_host *h = &ctx->hosts->hosts[f->host_idx];
	const struct stk_neigh *n = neigh_find(t, f->rip);
	struct stk_pkt *out = stk_l4_tx_take(ctx);
	if (!out)
		return; /* counted; the timer tries again */
	if (!n || n->state < 2) {
		stk_arp_build_request(h, f->rip, out);
		stk_l4_tx_put(ctx, out);
		ctx->cnt.tcp_neigh_arp_sent++;
		return;
	}
	memcpy(f->rmac, n->mac, 6);
	const struct stk_tcp_policy *p = stk_host_tcp_policy(h);
	uint8_t o[20];
	unsigned ol = 0;
	o[ol++] = 2;
	o[ol++] = 4;
	stk_put_be16(o + ol, (uint16_t)(t->cfg.mtu - 40u));
	ol += 2;
	o[ol++] = 4;
	o[ol++] = 2;
	if (p->ts.hz) {
		o[ol++] = 8;
		o[ol++] = 10;
		stk_put_be32(o + ol, stk_tcp_tsval(ctx, f));
		stk_put_be32(o + ol + 4, 0);
		ol += 8;
	} else {
		o[ol++] = 1;
		o[ol++] = 1;
	}
	o[ol++] = 1;
	o[ol++] = 3;
	o[ol++] = 3;
	o[ol++] = our_shift(t);
	unsigned len = STK_TCP_HLEN + ol;
	uint8_t *tcp = stk_l4_ip_header_from(out, h, f->lip, f->rmac, f->rip, STK_IPPROTO_TCP, len,
					     stk_ipid_next(h, STK_IPID_TCP, ctx->now_ns), p->df_flow, 0);
	uint32_t win = t->cfg.rcv_wnd > 0xffff ? 0xffff : t->cfg.rcv_wnd;
	stk_put_be16(tcp + STK_TCP_O_SPORT, f->lport);
	stk_put_be16(tcp + STK_TCP_O_DPORT, f->rport);
	stk_put_be32(tcp + STK_TCP_O_SEQ, f->iss);
	stk_put_be32(tcp + STK_TCP_O_ACK, 0);
	tcp[STK_TCP_O_OFF] = (uint8_t)((len / 4) << 4);
	tcp[STK_TCP_O_FLAGS] = STK_TH_SYN;
	stk_put_be16(tcp + STK_TCP_O_WIN, (uint16_t)win);
	stk_put_be16(tcp + STK_TCP_O_CSUM, 0);
	stk_put_be16(tcp + STK_TCP_O_URP, 0);
	memcpy(tcp + STK_TCP_HLEN, o, ol);
	uint32_t sum = stk_l4_pseudo(f->lip, f->rip, STK_IPPROTO_TCP, len);
	stk_put_be16(tcp + STK_TCP_O_CSUM, stk_csum_fold(stk_csum_add(sum, tcp, len)));
	stk_l4_tx_put(ctx, out);
	if (f->rxt_shift)
		ctx->cnt.tcp_retransmits++;
	f->rcv_adv = win; /* the SYN's window, relative; made absolute at SYN-ACK */
}

/* Arm the SYN timer: the persona's backed-off RTO once a SYN left, a short
 * ARP retry while the backend's MAC is unknown. */
static void syn_timer(struct stk_ctx *ctx, struct stk_tcp_flow *f)
{
	const struct stk_neigh *n = neigh_find(ctx->tcp, f->rip);
	if (n && n->state >= 2) {
		stk_tcp_arm_rto(ctx, f);
		return;
	}
	f->rto_at = stk_now_ms(ctx) + STK_ARP_RETRY_MS;
	f->flags |= STK_F_RTO;
	stk_flow_timer_update(ctx->tcp, f);
}

int stk_tcp_connect(struct stk_ctx *ctx, uint32_t via_ip_raw, uint32_t lip_raw, uint16_t lport,
		    uint32_t rip_raw, uint16_t rport, const struct stk_service *svc, void *arg,
		    struct stk_tcp_sock **out)
{
	struct stk_tcp *t = ctx->tcp;
	if (!t || !lport || !rport || !svc)
		return -EINVAL;
	struct stk_host *h = stk_hosts_lookup(ctx->hosts, via_ip_raw);
	if (!h)
		return -EHOSTUNREACH;
	uint64_t hv = stk_flow_tuple_hash(t, lip_raw, rip_raw, lport, rport);
	if (stk_flow_lookup_h(t, hv, lip_raw, rip_raw, lport, rport))
		return -EEXIST;
	if (!neigh_get(ctx, rip_raw))
		return -ENOSPC;
	struct stk_tcp_flow *f = stk_flow_new_h(ctx, hv, lip_raw, rip_raw, lport, rport);
	if (!f)
		return -ENOMEM;
	const struct stk_tcp_policy *p = stk_host_tcp_policy(h);
	f->host_idx = (uint32_t)(h - ctx->hosts->hosts);
	f->flags |= STK_F_ACTIVE;
	t->n_active++;
	f->svc = svc;
	f->svc_arg = arg;
	f->peer_mss = STK_TCP_DEFAULT_MSS;
	f->ts_offset = stk_tcp_ts_offset(ctx, h, lip_raw, rip_raw, lport, rport);
	f->iss = stk_tcp_isn(ctx, h, hv);
	f->snd_una = f->iss;
	f->snd_nxt = f->snd_max = f->iss + 1;
	f->rto_ms = p->rto_init_ms;
	f->mss = STK_TCP_DEFAULT_MSS;
	stk_flow_set_state(t, f, STK_TCP_SYN_SENT);
	f->idle_at = stk_now_ms(ctx) + t->cfg.idle_timeout_ms;
	ctx->cnt.tcp_active_opens++;
	/* The service owns the socket from here: closed() follows if the
	 * handshake never completes. */
	f->flags |= STK_F_ACCEPTED;
	*out = (struct stk_tcp_sock *)f;
	if (stk_l4_tx_room(t)) { /* inside a burst or an advance: now */
		send_syn(ctx, f);
		syn_timer(ctx, f);
	} else { /* the next advance sends it */
		f->rto_at = stk_now_ms(ctx) + 1;
		f->flags |= STK_F_RTO;
		stk_flow_timer_update(t, f);
	}
	return 0;
}

bool stk_tcp_syn_sent_timeout(struct stk_ctx *ctx, struct stk_tcp_flow *f)
{
	const struct stk_tcp_policy *p = stk_host_tcp_policy(&ctx->hosts->hosts[f->host_idx]);
	struct stk_neigh *n = neigh_find(ctx->tcp, f->rip);
	bool resolved = n && n->state >= 2;
	/* ARP tries are counted in dupacks (unused before ESTABLISHED), SYN
	 * retransmissions in rxt_shift as for data; a SYN has left once rmac
	 * is set. */
	static const uint8_t zero[6];
	bool syn_out = memcmp(f->rmac, zero, 6) != 0;
	bool give_up = resolved ? syn_out && ++f->rxt_shift > p->synack_retries : ++f->dupacks > STK_ARP_TRIES;
	if (give_up) {
		ctx->cnt.tcp_active_failed++;
		if (resolved && n->state == 2) {
			/* No answer to any SYN: the backend may be back with
			 * another MAC (a container made again) without telling
			 * us; the next connect asks again. */
			n->state = 1;
			ctx->cnt.tcp_neigh_stale++;
		}
		stk_flow_free(ctx, f, STK_CLOSE_TIMEOUT);
		return false;
	}
	send_syn(ctx, f);
	syn_timer(ctx, f);
	return true;
}

/* SYN-ACK received: the negotiated options, then ESTABLISHED. */
static void syn_sent_establish(struct stk_ctx *ctx, struct stk_tcp_flow *f, const struct stk_syn_sent_seg *s)
{
	struct stk_tcp *t = ctx->tcp;
	const struct stk_tcp_policy *p = stk_host_tcp_policy(&ctx->hosts->hosts[f->host_idx]);
	if (s->syn_bits & STK_SYN_WS) {
		f->snd_ws = s->ws > STK_SYN_WS_MAX ? STK_SYN_WS_MAX : s->ws;
		f->rcv_ws = our_shift(t);
	}
	if (s->syn_bits & STK_SYN_SACK)
		f->flags |= STK_F_SACK;
	if (s->ts && p->ts.hz) {
		f->flags |= STK_F_TS;
		f->ts_recent = s->tsval;
	}
	f->peer_mss = (s->syn_bits & STK_SYN_MSS) && s->mss ? s->mss : STK_TCP_DEFAULT_MSS;
	f->mss = stk_tcp_eff_mss(t, f->peer_mss, f->flags & STK_F_TS);
	f->irs = s->seq;
	f->rcv_nxt = s->seq + 1;
	f->rcv_adv = f->rcv_nxt + f->rcv_adv; /* the SYN's window, now absolute */
	f->snd_una = s->ack;
	f->snd_wnd = f->max_snd_wnd = s->wnd; /* a SYN's window is never scaled */
	f->snd_wl1 = s->seq;
	f->snd_wl2 = s->ack;
	f->cwnd = p->init_cwnd_segs * f->mss;
	f->quick_left = p->delack_quick; /* quickack from the start, as for a passive open */
	f->recover = f->snd_una;        /* RFC 6582: the initial send sequence */
	f->ssthresh = UINT32_MAX / 2;
	f->rxt_shift = 0;
	f->dupacks = 0;
	f->flags &= (uint16_t)~STK_F_RTO;
	f->flags |= STK_F_ACK_NOW | STK_F_ACCEPTED;
	stk_flow_set_state(t, f, STK_TCP_ESTABLISHED);
	f->idle_at = stk_now_ms(ctx) + t->cfg.idle_timeout_ms;
	stk_flow_timer_update(t, f);
	ctx->cnt.tcp_active_established++;
	if (f->svc->accept) {
		f->flags |= STK_F_IN_CB;
		int rc = f->svc->accept(ctx, (struct stk_tcp_sock *)f, f->svc_arg);
		f->flags &= (uint16_t)~STK_F_IN_CB;
		if (rc < 0)
			f->flags |= STK_F_ABORT_REQ;
	}
	if (f->flags & STK_F_ABORT_REQ) {
		stk_tcp_send_rst_flow(ctx, f, stk_tcp_ctl_seq(f), f->rcv_nxt, true);
		stk_flow_free(ctx, f, STK_CLOSE_ABORT);
		return;
	}
	stk_tcp_output(ctx, f); /* the handshake's ACK, with data if any was queued */
}

void stk_tcp_syn_sent_input(struct stk_ctx *ctx, struct stk_tcp_flow *f, const struct stk_syn_sent_seg *s)
{
	static const uint8_t zero[6];
	if (!memcmp(f->rmac, zero, 6)) {
		/* Our SYN has not left (the backend's MAC is still being
		 * asked): nothing can answer it, and an answer of ours (a RST,
		 * an ACK) would have no destination but 00:00:00:00:00:00 (an
		 * old connection's segment on a reused 4-tuple; found by
		 * fuzz_tcp_flow). */
		ctx->cnt.drop_tcp_leg_unresolved++;
		return;
	}
	bool ack_ok = false;
	if (s->flags & STK_TH_ACK) {
		/* First: an ACK for something we never sent gets a RST (unless
		 * it is one). */
		if (seq_leq(s->ack, f->iss) || seq_gt(s->ack, f->snd_max)) {
			if (!(s->flags & STK_TH_RST))
				stk_tcp_send_rst_flow(ctx, f, s->ack, 0, false);
			ctx->cnt.drop_tcp_bad_ack++;
			return;
		}
		ack_ok = true;
	}
	if (s->flags & STK_TH_RST) {
		/* Second: a RST counts only with an acceptable ACK (RFC 5961 4.2's
		 * blind-reset check is the ACK itself here). */
		if (!ack_ok) {
			ctx->cnt.drop_tcp_out_of_window++;
			return;
		}
		ctx->cnt.tcp_active_failed++;
		stk_flow_free(ctx, f, STK_CLOSE_RESET);
		return;
	}
	if (!(s->flags & STK_TH_SYN) || !ack_ok) {
		/* A bare SYN would be a simultaneous open, which a backend behind
		 * the engine never does: drop it and keep waiting. */
		ctx->cnt.drop_tcp_no_ack++;
		return;
	}
	syn_sent_establish(ctx, f, s);
}
