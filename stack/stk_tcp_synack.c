/* SYN-ACK templates: the persona's options and window for one kind of SYN,
 * built once and filled per send (masscan's templ-pkt idea).
 *
 * Walking a layout of up to STK_TCP_MAX_TOPTS conditional options twice per
 * SYN (once for what it negotiates, once to write it) and summing every byte
 * for the checksum was most of a SYN-ACK's cost. A template holds the option
 * bytes, the offsets of the two fields that vary per connection (an MSS
 * clamped to the peer's, the timestamps), the window, what the layout
 * negotiates, and the checksum of every byte that does not vary; a send
 * writes the frame and adds the varying words to that sum (RFC 1071 sums
 * are order-free).
 *
 * What a template is cached under is whatever selects the layout: the value
 * stk_synack_layout_key() (stk_tcp_output.c, next to the selection rules)
 * returns for the policy and the SYN. The templates themselves are built by
 * the same code that writes a SYN-ACK without one (stk_synack_options_build),
 * so a persona's bytes have one source.
 *
 * The cache is per context (per core), direct-mapped, keyed by (policy,
 * layout key) and stamped with the host table's epoch: policies are const,
 * but a compiled persona can be freed and another allocated at the same
 * address when deckies come and go, and every such change moves the epoch.
 */
#include "stack/stk_tcp_synpath.h"

#include <string.h>

static unsigned slot_of(const struct stk_tcp_policy *p, uint32_t key)
{
	uint64_t x = ((uint64_t)(uintptr_t)p ^ (uint64_t)key << 40) * 0x9e3779b97f4a7c15ull;
	return (unsigned)(x >> 58) & (STK_SYNACK_TMPL_SLOTS - 1);
}

/* Offset of the first option of this kind in a built layout, or 0xff. */
static uint8_t find_opt(const uint8_t *o, unsigned len, uint8_t kind)
{
	for (unsigned i = 0; i < len;) {
		if (o[i] == 0)
			break;
		if (o[i] == 1) {
			i++;
			continue;
		}
		if (i + 1 >= len || o[i + 1] < 2)
			break;
		if (o[i] == kind)
			return (uint8_t)i;
		i += o[i + 1];
	}
	return 0xff;
}

static void tmpl_build(struct stk_synack_tmpl *m, const struct stk_tcp_policy *p, uint8_t syn_bits)
{
	uint8_t lo[40], ws;
	memset(m->opts, 0, sizeof(m->opts));
	unsigned n = stk_synack_options_build(p, syn_bits, 0xffff, 0, 0, m->opts, &m->inc, &ws);
	/* Built again with the smallest peer MSS: a field that moved is an
	 * MSS clamped to the peer's, filled per send. */
	uint8_t inc2, ws2;
	memset(lo, 0, sizeof(lo));
	stk_synack_options_build(p, syn_bits, 0, 0, 0, lo, &inc2, &ws2);
	while (n % 4) /* the data offset counts words: pad with EOL */
		m->opts[n++] = 0;
	m->optlen = (uint8_t)n;
	m->our_ws = ws;
	m->window = stk_synack_window(p, syn_bits);
	m->mss_off = find_opt(m->opts, n, 2);
	m->mss_clamp = m->mss_off != 0xff && memcmp(m->opts + m->mss_off, lo + m->mss_off, 4) != 0;
	m->mss_value = m->mss_off != 0xff ? stk_be16(m->opts + m->mss_off + 2) : 0;
	m->ts_off = find_opt(m->opts, n, 8);
	/* The constant part of the TCP header: data offset, SYN|ACK, window,
	 * options with the varying fields zero. */
	uint8_t hdr[STK_TCP_HLEN + 40];
	memset(hdr, 0, STK_TCP_HLEN);
	hdr[STK_TCP_O_OFF] = (uint8_t)(((STK_TCP_HLEN + n) / 4) << 4);
	hdr[STK_TCP_O_FLAGS] = STK_TH_SYN | STK_TH_ACK;
	stk_put_be16(hdr + STK_TCP_O_WIN, m->window);
	memcpy(hdr + STK_TCP_HLEN, m->opts, n);
	if (m->mss_clamp)
		memset(hdr + STK_TCP_HLEN + m->mss_off + 2, 0, 2);
	if (m->ts_off != 0xff)
		memset(hdr + STK_TCP_HLEN + m->ts_off + 2, 0, 8);
	m->csum = stk_csum_add(0, hdr, STK_TCP_HLEN + n);
}

const struct stk_synack_tmpl *stk_synack_tmpl_lookup(struct stk_ctx *ctx, const struct stk_tcp_policy *p,
						     uint8_t syn_bits)
{
	struct stk_tcp *t = ctx->tcp;
	uint32_t key = stk_synack_layout_key(p, syn_bits);
	uint32_t epoch = ctx->hosts->epoch;
	struct stk_synack_tmpl *m = &t->synack_tmpl[slot_of(p, key)];
	if (!(m->policy == p && m->key == key && m->epoch == epoch)) {
		ctx->cnt.tcp_synack_tmpl_built++;
		t->tmpl_last_pol = NULL; /* the slot may be the one it points to */
		t->synack_frame.m = NULL; /* and the frame image may be built on it */
		t->syn_memo.h = NULL;     /* and the SYN memo on both */
		tmpl_build(m, p, syn_bits);
		m->policy = p;
		m->key = key;
		m->epoch = epoch;
	}
	/* (p, syn_bits) -> m in front: several SYN bit sets share a layout
	 * key, and each maps to this slot until it is rebuilt. */
	t->tmpl_last = m;
	t->tmpl_last_pol = p;
	t->tmpl_last_bits = syn_bits;
	t->tmpl_last_epoch = epoch;
	return m;
}

/* The frame image for host h and template m: Ethernet source, the IP
 * header with the host's TTL and the persona's DF, the TCP header and
 * options with the varying fields zero, and the sums of the words that
 * stay (RFC 1071: a sum is order-free, so the varying words are added
 * per send). */
void stk_synack_frame_build(struct stk_ctx *ctx, struct stk_synack_frame *fc, const struct stk_host *h,
			    const struct stk_synack_tmpl *m, const struct stk_tcp_policy *p)
{
	static const uint8_t zero_mac[6];
	struct stk_pkt img = {.data = fc->frame};
	unsigned len = STK_TCP_HLEN + m->optlen;
	ctx->tcp->syn_memo.h = NULL; /* it sends from the image it replaces */
	memset(fc->frame, 0, sizeof(fc->frame));
	uint8_t *tcp = stk_l4_ip_header_from(&img, h, h->ip_raw, zero_mac, 0, STK_IPPROTO_TCP, len, 0, p->df_synack, 0);
	const uint8_t *ip = fc->frame + STK_ETH_HLEN;
	/* the IP words but checksum, ID and destination (those two zero here) */
	uint8_t hdr[STK_IP4_MIN_HLEN];
	memcpy(hdr, ip, sizeof(hdr));
	memset(hdr + STK_IP4_O_CSUM, 0, 2);
	fc->ip_sum = stk_csum_add(0, hdr, sizeof(hdr));
	tcp[STK_TCP_O_OFF] = (uint8_t)((len / 4) << 4);
	tcp[STK_TCP_O_FLAGS] = STK_TH_SYN | STK_TH_ACK;
	stk_put_be16(tcp + STK_TCP_O_WIN, m->window);
	memcpy(tcp + STK_TCP_HLEN, m->opts, m->optlen);
	if (m->mss_clamp) /* filled per send */
		memset(tcp + STK_TCP_HLEN + m->mss_off + 2, 0, 2);
	fc->tcp_sum = m->csum + stk_l4_pseudo(h->ip_raw, 0, STK_IPPROTO_TCP, len);
	fc->len = (uint16_t)img.len;
	fc->h = h;
	fc->m = m;
	fc->epoch = ctx->hosts->epoch;
}

/* The memo holds the persona, its template and the frame image built on
 * it, the IP ID counter, the ISN clock, the timestamp value (any peer's
 * when the persona's clock is per host, ts_rip's when per peer) and the
 * first retransmission deadline. Only personas whose rules have an
 * inline form get one: no exact answers, RFC 6528 ISNs, zero or counter
 * IP IDs; the others take listen_syn's general path. */
bool stk_syn_memo_build(struct stk_ctx *ctx, struct stk_host *h, uint8_t syn_bits, uint32_t rip)
{
	struct stk_tcp *t = ctx->tcp;
	struct stk_syn_memo *mm = &t->syn_memo;
	const struct stk_tcp_policy *p = h->policy.tcp; /* NULL: the family default, by the general path */
	mm->h = NULL;
	/* what listen_syn's general path does otherwise: exact answers,
	 * silence for ECN SYNs, ISNs and IP IDs by other rules */
	if (!p || t->syn_memo_off || p->exact || ((syn_bits & STK_SYN_ECN) && p->ecn_silent) || p->isn.kind != STK_ISN_HASH_CLOCK)
		return false;
	const struct stk_ipid_rule *r = &p->ipid[STK_IPID_TCP];
	if (r->kind == STK_IPID_ZERO)
		mm->ipid = NULL;
	else if (r->kind == STK_IPID_INCR)
		mm->ipid = &h->gen.ip_id[r->counter % STK_IPID_COUNTERS];
	else
		return false;
	const struct stk_synack_tmpl *m = stk_synack_tmpl_get(ctx, p, syn_bits);
	struct stk_synack_frame *fc = &t->synack_frame;
	if (fc->h != h || fc->m != m || fc->epoch != ctx->hosts->epoch)
		stk_synack_frame_build(ctx, fc, h, m, p);
	mm->pol = p;
	mm->m = m;
	mm->ece = stk_synack_ece(p, syn_bits);
	mm->isn_clk = stk_tcp_clock(ctx, p->isn.rate_hz);
	/* the offset is keyed by the host alone, or by host and peer
	 * (stk_tcp_ts_offset_slow; never the ports then); per flow it is
	 * computed per SYN */
	mm->ts_any = !p->ts.hz || p->ts.scope == STK_TS_PER_HOST;
	mm->ts_peer = p->ts.hz && p->ts.scope == STK_TS_PER_PEER;
	mm->ts_rip = rip;
	mm->tsval = mm->ts_any || mm->ts_peer ? stk_tcp_tsval_pol(ctx, h, p, h->ip_raw, rip, 0, 0) : 0;
	mm->rto_init = p->rto_init_ms;
	mm->rto_at = stk_now_ms(ctx) + p->rto_init_ms;
	mm->now_ns = ctx->now_ns;
	mm->epoch = ctx->hosts->epoch;
	mm->bits = syn_bits;
	mm->h = h;
	return true;
}

void stk_tcp_send_synack(struct stk_ctx *ctx, struct stk_host *h, const uint8_t *dst_mac,
			 uint32_t dst_ip, uint16_t lport, uint16_t rport, uint32_t iss, uint32_t ack,
			 const struct stk_synack_info *si)
{
	const struct stk_syn_exact *x = stk_syn_exact_at(stk_host_pol(h), si->exact);
	if (x) {
		const struct stk_answer *a = &x->a;
		/* in.ack such that the answer's S= rule gives iss again (iss
		 * was chosen by that rule: exact_isn in stk_tcp_noflow.c) */
		struct stk_answer_in in = {lport, rport, ack - 1, iss - (a->seq == STK_AS_ACK_PLUS), iss, si->ts_val,
					   si->ts_ecr, 0};
		stk_tcp_send_answer(ctx, h, dst_mac, dst_ip, &in, a, STK_IPID_TCP);
		return;
	}
	stk_tcp_synack_emit(ctx, h, dst_mac, dst_ip, lport, rport, iss, ack, si);
}
