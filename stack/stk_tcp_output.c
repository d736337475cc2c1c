/* Everything a decky sends over TCP: SYN-ACKs laid out by the persona,
 * RSTs for segments no connection takes, and the segments of a connection
 * (data, FIN, ACKs, retransmissions, window probes).
 *
 * Persona fields used here: TTL (host), DF and IP-ID class per packet
 * kind, the SYN-ACK option layout and window, the ISN generator and the
 * timestamp clock. The values in a connection's later segments (window,
 * options) follow from what the SYN-ACK negotiated.
 */
#include "stack/stk_tcp_int.h"
#include "stack/stk_tcp_clock.h"

#include <arpa/inet.h>
#include <string.h>

/* ---- generators -------------------------------------------------------- */

static uint32_t tcp_rand(struct stk_tcp *t)
{
	uint64_t x = t->rng;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	t->rng = x;
	return (uint32_t)((x * 0x2545f4914f6cdd1dull) >> 32);
}

uint32_t stk_tcp_isn(struct stk_ctx *ctx, struct stk_host *h, uint64_t tuple_hash)
{
	struct stk_tcp *t = ctx->tcp;
	const struct stk_isn_rule *r = &stk_host_pol(h)->isn;
	uint32_t clock = stk_tcp_clock(ctx, r->rate_hz);
	switch (r->kind) {
	case STK_ISN_HASH_CLOCK:
		/* The high half of the keyed tuple hash (the flow table uses
		 * the low half): one hash per SYN, not two. */
		return stk_isn_hash_clock(tuple_hash, clock);
	case STK_ISN_CLOCK: {
		uint32_t gcd = r->gcd ? r->gcd : 1;
		/* The per-host base is keyed by the secret: a restart moves it. */
		uint32_t v = (uint32_t)stk_flow_hash(t, h->ip_raw, 0, 0, 0, 2) + clock;
		v -= v % gcd;
		if (r->jitter)
			v += (tcp_rand(t) % r->jitter) * gcd;
		return v;
	}
	case STK_ISN_RANDOM:
		return tcp_rand(t);
	default:
		return (uint32_t)stk_flow_hash(t, h->ip_raw, 0, 0, 0, 2);
	}
}

uint32_t stk_tcp_ts_offset_slow(struct stk_ctx *ctx, const struct stk_host *h, uint32_t lip,
				uint32_t rip, uint16_t lport, uint16_t rport)
{
	struct stk_tcp *t = ctx->tcp;
	uint8_t scope = stk_host_pol(h)->ts.scope;
	if (scope == STK_TS_PER_FLOW)
		return (uint32_t)stk_flow_hash(t, lip, rip, lport, rport, 3);
	if (scope != STK_TS_PER_PEER)
		rip = 0; /* per host */
	t->tso_val = (uint32_t)stk_flow_hash(t, lip, rip, 0, 0, 3);
	t->tso_lip = lip;
	t->tso_rip = rip;
	t->tso_valid = true;
	return t->tso_val;
}

uint32_t stk_tcp_tsval(const struct stk_ctx *ctx, const struct stk_tcp_flow *f)
{
	return stk_tcp_tsval_at(ctx, &ctx->hosts->hosts[f->host_idx], f->ts_offset);
}

/* ---- SYN-ACK ------------------------------------------------------------ */

/* The SYN's bits as the layout conditions see them: a persona without
 * timestamps never answers with them; one with only_if_syn_ts off always
 * does (honeyd's tell, available but never a default). */
static uint8_t layout_bits(const struct stk_tcp_policy *p, uint8_t syn_bits)
{
	if (!p->ts.supported)
		return (uint8_t)(syn_bits & ~STK_SYN_TS);
	if (!p->ts.only_if_syn_ts)
		return (uint8_t)(syn_bits | STK_SYN_TS);
	return syn_bits;
}

/* Walks the layout: writes the options to out (when not NULL) and returns
 * their length; *included gets STK_SYN_* for each option present. */
static unsigned synack_options(const struct stk_tcp_policy *p, uint8_t syn_bits, uint16_t peer_mss,
			       uint32_t tsval, uint32_t tsecr, uint8_t *out, uint8_t *included,
			       uint8_t *our_ws)
{
	uint8_t bits = layout_bits(p, syn_bits), inc = 0;
	unsigned n = 0;
	*our_ws = 0;
	for (unsigned i = 0; i < STK_TCP_MAX_TOPTS && p->synack_opts[i].kind != STK_TOPT_END; i++) {
		const struct stk_topt *o = &p->synack_opts[i];
		if ((bits & o->mask) != o->want)
			continue;
		uint8_t b[10];
		unsigned len = 0;
		uint16_t mss;
		switch (o->kind) {
		case STK_TOPT_MSS:
		case STK_TOPT_MSS_CLAMP:
			mss = o->value;
			if (o->kind == STK_TOPT_MSS_CLAMP && peer_mss < mss)
				mss = peer_mss;
			b[0] = 2;
			b[1] = 4;
			stk_put_be16(b + 2, mss);
			len = 4;
			inc |= STK_SYN_MSS;
			break;
		case STK_TOPT_NOP:
			b[0] = 1;
			len = 1;
			break;
		case STK_TOPT_WS:
			b[0] = 3;
			b[1] = 3;
			b[2] = (uint8_t)o->value;
			len = 3;
			inc |= STK_SYN_WS;
			*our_ws = (uint8_t)o->value;
			break;
		case STK_TOPT_SACKOK:
			b[0] = 4;
			b[1] = 2;
			len = 2;
			inc |= STK_SYN_SACK;
			break;
		case STK_TOPT_TS:
			b[0] = 8;
			b[1] = 10;
			stk_put_be32(b + 2, tsval);
			stk_put_be32(b + 6, tsecr);
			len = 10;
			inc |= STK_SYN_TS;
			break;
		case STK_TOPT_EOL:
			b[0] = 0;
			len = 1;
			break;
		case STK_TOPT_EOL_PAD:
			len = (4 - n % 4) % 4;
			memset(b, 0, sizeof(b));
			break;
		default:
			break;
		}
		if (n + len > 40)
			break; /* stk_tcp_policy_check() refuses such layouts */
		if (out)
			memcpy(out + n, b, len);
		n += len;
	}
	*included = inc;
	return n;
}

unsigned stk_synack_options_build(const struct stk_tcp_policy *p, uint8_t syn_bits, uint16_t peer_mss,
				  uint32_t tsval, uint32_t tsecr, uint8_t *out, uint8_t *included, uint8_t *our_ws)
{
	return synack_options(p, syn_bits, peer_mss, tsval, tsecr, out, included, our_ws);
}

uint32_t stk_synack_layout_key(const struct stk_tcp_policy *p, uint8_t syn_bits)
{
	return layout_bits(p, syn_bits);
}

uint8_t stk_synack_features(const struct stk_tcp_policy *p, uint8_t syn_bits, uint8_t *our_ws)
{
	uint8_t inc;
	synack_options(p, syn_bits, STK_TCP_DEFAULT_MSS, 0, 0, NULL, &inc, our_ws);
	uint8_t both = inc & syn_bits & (STK_SYN_WS | STK_SYN_SACK | STK_SYN_TS);
	if (!(both & STK_SYN_WS))
		*our_ws = 0;
	return both;
}

uint16_t stk_synack_window(const struct stk_tcp_policy *p, uint8_t syn_bits)
{
	uint8_t bits = layout_bits(p, syn_bits);
	for (unsigned i = 0; i < STK_TCP_MAX_WIN_RULES; i++)
		if ((bits & p->synack_win[i].mask) == p->synack_win[i].want)
			return p->synack_win[i].window;
	return p->synack_win[STK_TCP_MAX_WIN_RULES - 1].window;
}

static void tcp_header(uint8_t *tcp, uint16_t lport, uint16_t rport, uint32_t seq, uint32_t ack,
		       unsigned optlen, uint8_t flags, uint16_t win)
{
	stk_put_be16(tcp + STK_TCP_O_SPORT, lport);
	stk_put_be16(tcp + STK_TCP_O_DPORT, rport);
	stk_put_be32(tcp + STK_TCP_O_SEQ, seq);
	stk_put_be32(tcp + STK_TCP_O_ACK, ack);
	tcp[STK_TCP_O_OFF] = (uint8_t)(((STK_TCP_HLEN + optlen) / 4) << 4);
	tcp[STK_TCP_O_FLAGS] = flags;
	stk_put_be16(tcp + STK_TCP_O_WIN, win);
	stk_put_be16(tcp + STK_TCP_O_CSUM, 0);
	stk_put_be16(tcp + STK_TCP_O_URP, 0);
}

static void tcp_seal(uint8_t *tcp, uint32_t src, uint32_t dst, unsigned len)
{
	uint32_t sum = stk_l4_pseudo(src, dst, STK_IPPROTO_TCP, len);
	stk_put_be16(tcp + STK_TCP_O_CSUM, stk_csum_fold(stk_csum_add(sum, tcp, len)));
}

void stk_tcp_send_rst(struct stk_ctx *ctx, struct stk_host *h, const uint8_t *dst_mac, uint32_t dst_ip,
		      uint16_t lport, uint16_t rport, uint32_t seq, uint32_t ack, bool ack_flag,
		      uint16_t window, bool df, enum stk_ipid_class cls)
{
	struct stk_pkt *out = stk_l4_tx_take(ctx);
	if (!out)
		return;
	uint8_t *tcp = stk_l4_ip_header(out, h, dst_mac, dst_ip, STK_IPPROTO_TCP, STK_TCP_HLEN,
					stk_ipid_next(h, cls, ctx->now_ns), df, 0);
	tcp_header(tcp, lport, rport, seq, ack, 0, (uint8_t)(STK_TH_RST | (ack_flag ? STK_TH_ACK : 0)),
		   window);
	tcp_seal(tcp, h->ip_raw, dst_ip, STK_TCP_HLEN);
	stk_l4_tx_put(ctx, out);
	ctx->cnt.tcp_rst_sent++;
}

void stk_tcp_send_rst_flow(struct stk_ctx *ctx, struct stk_tcp_flow *f, uint32_t seq, uint32_t ack,
			   bool ack_flag)
{
	static const uint8_t zero[6];
	if (memcmp(f->rmac, zero, 6) == 0)
		return; /* an active open that never reached its peer: nobody to tell */
	struct stk_host *h = &ctx->hosts->hosts[f->host_idx];
	struct stk_pkt *out = stk_l4_tx_take(ctx);
	if (!out)
		return;
	uint8_t *tcp = stk_l4_ip_header_from(out, h, f->lip, f->rmac, f->rip, STK_IPPROTO_TCP, STK_TCP_HLEN,
					     stk_ipid_next(h, STK_IPID_TCP, ctx->now_ns),
					     stk_host_tcp_policy(h)->df_flow, 0);
	tcp_header(tcp, f->lport, f->rport, seq, ack, 0, (uint8_t)(STK_TH_RST | (ack_flag ? STK_TH_ACK : 0)),
		   0);
	tcp_seal(tcp, f->lip, f->rip, STK_TCP_HLEN);
	stk_l4_tx_put(ctx, out);
	ctx->cnt.tcp_rst_sent++;
}

/* ---- connection segments ------------------------------------------------ */

/* The window to advertise: what the service can take, never less than
 * what was already offered (RFC 9293 3.8.6.2.2: do not shrink the window). */
static uint16_t window_field(struct stk_ctx *ctx, struct stk_tcp_flow *f)
{
	const struct stk_tcp *t = ctx->tcp;
	uint32_t space = t->cfg.rcv_wnd;
	if (f->svc && f->svc->recv_space && (f->flags & STK_F_ACCEPTED) &&
	    !(f->flags & (STK_F_IN_CB | STK_F_PEER_FIN))) {
		unsigned s = stk_tcp_rcv_room(ctx, f);
		if (s < space)
			space = s;
	}
	uint32_t offered = stk_tcp_rcv_open(f);
	/* Receiver silly-window avoidance (RFC 9293 3.8.6.2.2): move the right
	 * edge only by at least min(buffer / 2, MSS). */
	uint32_t step = t->cfg.rcv_wnd / 2 < f->mss ? t->cfg.rcv_wnd / 2 : f->mss;
	if (space < offered + step)
		space = offered;
	/* Scaled, the value is truncated (RFC 7323 2.3): the peer may see the
	 * window shrink by less than one unit; we still accept up to the edge
	 * offered before, so nothing it sent in good faith is refused. */
	uint32_t field = space >> f->rcv_ws;
	if (field > 0xffff)
		field = 0xffff;
	uint32_t edge = f->rcv_nxt + (field << f->rcv_ws);
	if (seq_gt(edge, f->rcv_adv))
		f->rcv_adv = edge;
	return (uint16_t)field;
}

/* One segment of the connection: flags (ACK always), seq, and len bytes of
 * the send queue from off. false when no buffer could be had. */
static bool emit(struct stk_ctx *ctx, struct stk_tcp_flow *f, uint8_t flags, uint32_t seq, uint32_t off,
		 unsigned len)
{
	struct stk_host *h = &ctx->hosts->hosts[f->host_idx];
	struct stk_pkt *out = stk_l4_tx_take(ctx);
	if (!out)
		return false;
	uint8_t opts[40];
	unsigned optlen = 0;
	if (f->flags & STK_F_TS) {
		opts[0] = opts[1] = 1;
		opts[2] = 8;
		opts[3] = 10;
		stk_put_be32(opts + 4, stk_tcp_tsval(ctx, f));
		stk_put_be32(opts + 8, f->ts_recent);
		optlen = 12;
	}
	/* RFC 2018: what the reassembly queue holds, 3 blocks beside a
	 * timestamp, 4 without, fewer when the payload leaves no room. */
	unsigned room = ctx->tcp->cfg.mtu - 40u - optlen;
	room = room > len ? room - len : 0;
	if (room > 40 - optlen)
		room = 40 - optlen;
	uint32_t blocks[4][2];
	unsigned n = 0;
	if ((f->flags & STK_F_SACK) && f->ooo_head != STK_NONE && room >= 12)
		n = stk_reasm_sack(ctx->tcp, f, blocks, (room - 4) / 8); /* none when all are held */
	if (n) {
		opts[optlen] = opts[optlen + 1] = 1;
		opts[optlen + 2] = 5;
		opts[optlen + 3] = (uint8_t)(2 + 8 * n);
		for (unsigned i = 0; i < n; i++) {
			stk_put_be32(opts + optlen + 4 + 8 * i, blocks[i][0]);
			stk_put_be32(opts + optlen + 8 + 8 * i, blocks[i][1]);
		}
		optlen += 4 + 8 * n;
	}
	unsigned tlen = STK_TCP_HLEN + optlen + len;
	uint8_t *tcp = stk_l4_ip_header_from(out, h, f->lip, f->rmac, f->rip, STK_IPPROTO_TCP, tlen,
					     stk_ipid_next(h, STK_IPID_TCP, ctx->now_ns), stk_host_tcp_policy(h)->df_flow, 0);
	flags |= STK_TH_ACK;
	tcp_header(tcp, f->lport, f->rport, seq, f->rcv_nxt, optlen, flags, window_field(ctx, f));
	memcpy(tcp + STK_TCP_HLEN, opts, optlen);
	if (len && seq_lt(seq, f->snd_una))
		memset(tcp + STK_TCP_HLEN + optlen, 0, len); /* a keepalive probe's garbage byte */
	else if (len)
		stk_sndq_copy(ctx->tcp, f, off, tcp + STK_TCP_HLEN + optlen, len);
	tcp_seal(tcp, f->lip, f->rip, tlen);
	stk_l4_tx_put(ctx, out);
	f->flags &= (uint16_t)~STK_F_ACK_NOW;
	f->xflags &= (uint8_t)~STK_X_DELACK; /* the ACK owed rides on this segment */
	f->delack_pend = 0;
	ctx->cnt.tcp_tx_bytes += len;
	if (seq_lt(seq, f->snd_max) && seq_geq(seq, f->snd_una) && (len || (flags & STK_TH_FIN)))
		ctx->cnt.tcp_retransmits++;
	return true;
}

void stk_tcp_send_ack(struct stk_ctx *ctx, struct stk_tcp_flow *f)
{
	if (!emit(ctx, f, 0, stk_tcp_ctl_seq(f), 0, 0))
		f->flags |= STK_F_ACK_NOW; /* the next flush tries again */
}

bool stk_tcp_keepalive_probe(struct stk_ctx *ctx, struct stk_tcp_flow *f, bool with_byte)
{
	return emit(ctx, f, 0, f->snd_una - 1, 0, with_byte ? 1 : 0);
}

void stk_tcp_retransmit_first(struct stk_ctx *ctx, struct stk_tcp_flow *f)
{
	unsigned len = f->sq_len < f->mss ? f->sq_len : f->mss;
	uint8_t fl = 0;
	if ((f->flags & STK_F_FIN_SENT) && len == f->sq_len)
		fl = STK_TH_FIN;
	if (len || fl)
		emit(ctx, f, (uint8_t)(fl | (len ? STK_TH_PSH : 0)), f->snd_una, 0, len);
}

void stk_tcp_arm_rto(struct stk_ctx *ctx, struct stk_tcp_flow *f)
{
	const struct stk_tcp_policy *p = stk_host_pol(&ctx->hosts->hosts[f->host_idx]);
	uint64_t d = (uint64_t)f->rto_ms << (f->rxt_shift < 16 ? f->rxt_shift : 16);
	if (d > p->rto_max_ms)
		d = p->rto_max_ms;
	f->rto_at = stk_now_ms(ctx) + (uint32_t)d;
	f->flags |= STK_F_RTO;
	stk_flow_timer_update(ctx->tcp, f);
}

static bool can_send_data(uint8_t state)
{
	return state == STK_TCP_ESTABLISHED || state == STK_TCP_CLOSE_WAIT ||
	       state == STK_TCP_FIN_WAIT_1 || state == STK_TCP_CLOSING || state == STK_TCP_LAST_ACK;
}

void stk_tcp_output(struct stk_ctx *ctx, struct stk_tcp_flow *f)
{
	struct stk_tcp *t = ctx->tcp;
	bool starved = false;
	while (can_send_data(f->state)) {
		uint32_t in_flight = f->snd_nxt - f->snd_una;
		uint32_t off = in_flight; /* queue offset of snd_nxt */
		uint32_t avail = off < f->sq_len ? f->sq_len - off : 0;
		uint32_t win = f->snd_wnd < f->cwnd ? f->snd_wnd : f->cwnd;
		uint32_t usable = win > in_flight ? win - in_flight : 0;
		uint32_t len = avail < usable ? avail : usable;
		if (len > f->mss)
			len = f->mss;
		/* FIN after the last byte: window or not as BSD sends it (it owes
		 * the peer nothing but a sequence number), within the window as
		 * Linux does (zw_linux). */
		bool fin = (f->flags & STK_F_CLOSE_REQ) && off + len == f->sq_len &&
			   seq_leq(f->snd_nxt, f->snd_una + f->sq_len) &&
			   (!stk_host_pol(&ctx->hosts->hosts[f->host_idx])->zw_linux || f->snd_wnd > in_flight + len);
		if (!len && !fin)
			break;
		if (!stk_l4_tx_room(t)) {
			starved = true;
			break;
		}
		uint8_t fl = (uint8_t)((fin ? STK_TH_FIN : 0) | (len && off + len == f->sq_len ? STK_TH_PSH : 0));
		bool fresh = seq_geq(f->snd_nxt, f->snd_max);
		if (!emit(ctx, f, fl, f->snd_nxt, off, len)) {
			starved = true;
			break;
		}
		if (fresh && len && !(f->flags & STK_F_TIMING)) {
			f->flags |= STK_F_TIMING;
			f->rtt_seq = f->snd_nxt + len;
			f->rtt_start_us = stk_now_us(ctx);
		}
		f->snd_nxt += len + fin;
		if (seq_gt(f->snd_nxt, f->snd_max))
			f->snd_max = f->snd_nxt;
		if (fin) {
			f->flags |= STK_F_FIN_SENT;
			if (f->state == STK_TCP_ESTABLISHED)
				stk_flow_set_state(t, f, STK_TCP_FIN_WAIT_1);
			else if (f->state == STK_TCP_CLOSE_WAIT)
				stk_flow_set_state(t, f, STK_TCP_LAST_ACK);
		}
		if (!(f->flags & STK_F_RTO) || (f->flags & STK_F_PERSIST)) {
			f->flags &= (uint16_t)~STK_F_PERSIST;
			stk_tcp_arm_rto(ctx, f);
		}
		if (fin)
			break;
	}
	if (!starved && (f->flags & STK_F_ACK_NOW)) {
		if (stk_l4_tx_room(t))
			stk_tcp_send_ack(ctx, f);
		starved = (f->flags & STK_F_ACK_NOW) != 0;
	}
	/* Zero window with data (or a FIN) waiting and nothing in flight:
	 * probe on the retransmission timer (RFC 9293 3.8.6.1) instead of
	 * waiting forever. */
	if (can_send_data(f->state) && !f->snd_wnd && f->snd_una == f->snd_max &&
	    (f->snd_nxt - f->snd_una < f->sq_len || stk_tcp_fin_waiting(f)) && !(f->flags & STK_F_PERSIST)) {
		f->flags |= STK_F_PERSIST;
		stk_tcp_arm_rto(ctx, f);
	}
	if (starved)
		stk_flow_pend(t, f);
	else
		stk_flow_unpend(t, f);
}

/* A zero-window probe: the first unsent byte, past the window (RFC 9293
 * 3.8.6.1). snd_nxt stays; snd_max covers the byte so its ACK is valid. */
void stk_tcp_window_probe(struct stk_ctx *ctx, struct stk_tcp_flow *f)
{
	if (stk_host_pol(&ctx->hosts->hosts[f->host_idx])->zw_linux) {
		/* An old sequence number the peer answers with its window:
		 * Linux's keepalive probe is the same segment. */
		if (stk_tcp_keepalive_probe(ctx, f, false))
			ctx->cnt.tcp_window_probes++;
		return;
	}
	uint32_t off = f->snd_nxt - f->snd_una;
	if (off >= f->sq_len)
		return;
	if (emit(ctx, f, 0, f->snd_nxt, off, 1)) {
		ctx->cnt.tcp_window_probes++;
		if (seq_gt(f->snd_nxt + 1, f->snd_max))
			f->snd_max = f->snd_nxt + 1;
	}
}
