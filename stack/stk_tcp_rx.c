/* TCP receive helpers: option parsing (with a memo of the last layout)
 * and the per-burst tuple hashes (stk_tcp_burst_begin), both on the
 * per-segment path of stk_tcp_input. */
#include "stack/stk_tcp_seg.h"

#include <string.h>

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


/* The options of a segment the memo did not know: walked, and kept in the
 * memo when the layout may be (stk_tcp_options_input has the hit path). */
void stk_tcp_options_parse(struct stk_ctx *ctx, const uint8_t *o, unsigned len, struct seg *s)
{
	struct stk_opt_memo *m = &ctx->tcp->opt_memo;
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
		m->w[k] = stk_tcp_opt_word(o, len, k) & m->mask[k];
}

/* ---- bursts ---------------------------------------------------------------- */

/* A burst starts: TCP's (and UDP's) answers from any of its frames go to
 * tx (set once here instead of per segment), and the frames whose tuple is
 * hashed ahead are: IPv4 without options, TCP, not a fragment (a
 * reassembled datagram is hashed when it is handled). */
void stk_tcp_burst_begin(struct stk_ctx *ctx, struct stk_pkt *const *rx, unsigned n, struct stk_pkt **tx,
			 unsigned tx_cap, unsigned *n_tx)
{
	struct stk_tcp *t = ctx->tcp;
	t->tx = tx;
	t->tx_cap = tx_cap;
	t->n_tx = n_tx;
	if (n < 2) { /* nothing to overlap */
		t->hint_n = 0;
		return;
	}
	t->hint_evict = t->sc_count >= t->sc_cap && t->half_open + t->sc_count < t->cfg.syn_cookie_threshold;
	if (n > STK_TCP_HINTS)
		n = STK_TCP_HINTS;
	for (unsigned i = 0; i < n; i++) {
		struct stk_tcp_hint *k = &t->hints[i];
		const uint8_t *f = rx[i]->data, *ip = f + STK_ETH_HLEN;
		k->ip = NULL;
		if (rx[i]->len < STK_ETH_HLEN + STK_IP4_MIN_HLEN + 4 || (rx[i]->flags & STK_PKT_VLAN) ||
		    stk_be16(f + STK_ETH_O_TYPE) != STK_ETHERTYPE_IPV4 || ip[STK_IP4_O_VIHL] != 0x45 ||
		    ip[STK_IP4_O_PROTO] != STK_IPPROTO_TCP ||
		    (stk_be16(ip + STK_IP4_O_FRAG) & (STK_IP4_MF | STK_IP4_OFFMASK)))
			continue;
		const uint8_t *tcp = ip + STK_IP4_MIN_HLEN;
		k->hv = stk_flow_tuple_hash(t, stk_load_raw32(ip + STK_IP4_O_DST), stk_load_raw32(ip + STK_IP4_O_SRC),
					    stk_be16(tcp + STK_TCP_O_DPORT), stk_be16(tcp + STK_TCP_O_SPORT));
		k->ip = ip;
		__builtin_prefetch(&t->buckets[k->hv & t->bucket_mask]);
		if (t->sc_count)
			__builtin_prefetch(&t->sc_buckets[k->hv & t->sc_mask]);
	}
	t->hint_n = n;
}

void stk_tcp_burst_end(struct stk_ctx *ctx)
{
	struct stk_tcp *t = ctx->tcp;
	t->hint_n = 0;
	t->tx = NULL; /* no output outside a burst or a timer tick */
	t->n_tx = NULL;
}

