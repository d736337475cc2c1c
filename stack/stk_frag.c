/* IPv4 fragment reassembly with a memory cap, a timeout and counted drops,
 * and fragmentation of answers larger than the link MTU (see stk_frag.h
 * for the design and the overlap policies).
 *
 * Datagrams are found by a linear scan of the slots in use: at most
 * cfg.max_datagrams (64 by default) compares of a 12-byte key, cheaper
 * than hashing at these sizes, and only fragments pay it. The slots in
 * use are linked oldest first: creation order is expiry order (one fixed
 * timeout) and eviction order (memcap, slot shortage), both O(1).
 */
#include "stack/stk_frag.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "stack/stk_tcp_policy.h"
#include "stack/stk_wire.h"

#define FRAG_MAX_PAYLOAD 65535u               /* an offset+length past this is too big */
#define FRAG_BLOCKS ((FRAG_MAX_PAYLOAD + 7u) / 8u)
#define FRAG_MAP_WORDS ((FRAG_BLOCKS + 63u) / 64u)
#define FRAG_HDR_ROOM 60u                     /* the largest IPv4 header, before the payload */
#define FRAG_BUF_STRIDE ((FRAG_HDR_ROOM + FRAG_MAX_PAYLOAD + 4095u) & ~4095u)
#define FRAG_NONE UINT32_MAX

struct frag_slot {
	uint32_t src, dst;        /* wire order */
	uint16_t id;
	uint8_t proto;
	uint8_t in_use;
	uint8_t hlen;             /* first fragment's header length; 0 until it came */
	uint8_t have_last;
	uint32_t total;           /* payload length, known once the last fragment came */
	uint32_t blocks;          /* 8-byte blocks covered */
	uint32_t held;            /* bytes charged to the memcap */
	uint64_t expires_ns;
	uint32_t prev, next;      /* age list */
	uint8_t src_mac[6];       /* the sender's, for a time-exceeded error */
	uint8_t have_mac;
	uint8_t hdr[FRAG_HDR_ROOM];
};

struct stk_frag {
	struct stk_frag_cfg cfg;
	struct frag_slot *slots;
	uint64_t *maps;           /* FRAG_MAP_WORDS per slot: covered blocks */
	uint8_t *bufs;            /* FRAG_BUF_STRIDE per slot: header room + payload */
	uint8_t *scratch;         /* answers too large for one frame */
	uint32_t free_head;       /* free slots chained through next */
	uint32_t old_head, old_tail;
	uint32_t n_used;
	uint32_t held;            /* bytes held, all datagrams */
};

void stk_frag_cfg_default(struct stk_frag_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->memcap_bytes = 1u << 20;
	cfg->max_datagrams = 64;
	cfg->timeout_ms = 30000;
	cfg->mtu = 1500;
}

int stk_frag_init(struct stk_ctx *ctx, const struct stk_frag_cfg *cfg)
{
	struct stk_frag_cfg c;
	if (cfg)
		c = *cfg;
	else
		stk_frag_cfg_default(&c);
	if (!c.max_datagrams || c.max_datagrams > 65536 || !c.memcap_bytes || !c.timeout_ms || c.mtu < 68 ||
	    c.mtu > STK_PKT_BUF_SIZE - STK_ETH_HLEN)
		return -EINVAL;
	struct stk_frag *fr = calloc(1, sizeof(*fr));
	if (!fr)
		return -ENOMEM;
	fr->cfg = c;
	fr->slots = calloc(c.max_datagrams, sizeof(*fr->slots));
	fr->maps = calloc((size_t)c.max_datagrams * FRAG_MAP_WORDS, sizeof(uint64_t));
	/* Large callocs are fresh zero pages: only what fragments touch is
	 * ever backed by memory, and the memcap bounds that. */
	fr->bufs = calloc(c.max_datagrams, FRAG_BUF_STRIDE);
	fr->scratch = malloc(FRAG_HDR_ROOM + FRAG_MAX_PAYLOAD);
	if (!fr->slots || !fr->maps || !fr->bufs || !fr->scratch) {
		free(fr->scratch);
		free(fr->bufs);
		free(fr->maps);
		free(fr->slots);
		free(fr);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < c.max_datagrams; i++)
		fr->slots[i].next = i + 1 < c.max_datagrams ? i + 1 : FRAG_NONE;
	fr->free_head = 0;
	fr->old_head = fr->old_tail = FRAG_NONE;
	ctx->frag = fr;
	return 0;
}

void stk_frag_destroy(struct stk_ctx *ctx)
{
	struct stk_frag *fr = ctx->frag;
	if (!fr)
		return;
	free(fr->scratch);
	free(fr->bufs);
	free(fr->maps);
	free(fr->slots);
	free(fr);
	ctx->frag = NULL;
}

unsigned stk_frag_pending(const struct stk_ctx *ctx)
{
	return ctx->frag ? ctx->frag->n_used : 0;
}

uint32_t stk_frag_bytes_held(const struct stk_ctx *ctx)
{
	return ctx->frag ? ctx->frag->held : 0;
}

unsigned stk_frag_mtu(const struct stk_ctx *ctx)
{
	return ctx->frag ? ctx->frag->cfg.mtu : 1500u;
}

uint8_t *stk_frag_scratch(struct stk_ctx *ctx)
{
	return ctx->frag ? ctx->frag->scratch : NULL;
}

static bool bit_get(const uint64_t *m, uint32_t b);

/* ---- slots --------------------------------------------------------------- */

static uint32_t slot_idx(const struct stk_frag *fr, const struct frag_slot *s)
{
	return (uint32_t)(s - fr->slots);
}

static uint64_t *slot_map(const struct stk_frag *fr, uint32_t i)
{
	return fr->maps + (size_t)i * FRAG_MAP_WORDS;
}

static uint8_t *slot_payload(const struct stk_frag *fr, uint32_t i)
{
	return fr->bufs + (size_t)i * FRAG_BUF_STRIDE + FRAG_HDR_ROOM;
}

static void slot_free(struct stk_frag *fr, struct frag_slot *s)
{
	uint32_t i = slot_idx(fr, s);
	if (s->prev != FRAG_NONE)
		fr->slots[s->prev].next = s->next;
	else
		fr->old_head = s->next;
	if (s->next != FRAG_NONE)
		fr->slots[s->next].prev = s->prev;
	else
		fr->old_tail = s->prev;
	fr->held -= s->held;
	fr->n_used--;
	/* Only the words this datagram could have set need clearing. */
	uint32_t words = s->have_last ? (s->total + 511u) / 512u : FRAG_MAP_WORDS;
	memset(slot_map(fr, i), 0, (size_t)words * sizeof(uint64_t));
	s->in_use = 0;
	s->next = fr->free_head;
	fr->free_head = i;
}

static struct frag_slot *slot_find(struct stk_frag *fr, uint32_t src, uint32_t dst, uint16_t id, uint8_t proto)
{
	for (uint32_t i = fr->old_head; i != FRAG_NONE; i = fr->slots[i].next) {
		struct frag_slot *s = &fr->slots[i];
		if (s->src == src && s->dst == dst && s->id == id && s->proto == proto)
			return s;
	}
	return NULL;
}

static struct frag_slot *slot_new(struct stk_ctx *ctx, uint32_t src, uint32_t dst, uint16_t id, uint8_t proto)
{
	struct stk_frag *fr = ctx->frag;
	if (fr->free_head == FRAG_NONE) { /* every slot busy: the oldest makes room */
		ctx->cnt.drop_frag_slots++;
		slot_free(fr, &fr->slots[fr->old_head]);
	}
	uint32_t i = fr->free_head;
	struct frag_slot *s = &fr->slots[i];
	fr->free_head = s->next;
	memset(s, 0, sizeof(*s));
	s->src = src;
	s->dst = dst;
	s->id = id;
	s->proto = proto;
	s->in_use = 1;
	s->expires_ns = ctx->now_ns + (uint64_t)fr->cfg.timeout_ms * 1000000u;
	s->next = FRAG_NONE;
	s->prev = fr->old_tail;
	if (fr->old_tail != FRAG_NONE)
		fr->slots[fr->old_tail].next = i;
	else
		fr->old_head = i;
	fr->old_tail = i;
	fr->n_used++;
	return s;
}

/* ICMP time exceeded, fragment reassembly, quoting the first fragment's
 * header and 8 bytes of its data (RFC 792), or more as the persona's
 * errors quote. Sent from the decky the datagram was for. */
static void time_exceeded(struct stk_ctx *ctx, const struct frag_slot *s, struct stk_pkt **tx, unsigned tx_cap,
			  unsigned *n_tx)
{
	struct stk_host *h = stk_hosts_lookup(ctx->hosts, s->dst);
	if (!h || !s->hlen || !s->have_mac)
		return; /* the decky is gone, or the first fragment never came */
	const struct stk_tcp_policy *p = stk_host_tcp_policy(h);
	const struct stk_unreach_rule *r = &p->unreach;
	if (!p->frag_time_exceeded)
		return;
	if (!stk_bucket_take(&h->gen.unreach, ctx->now_ns, r->rate_per_s, r->burst)) {
		ctx->cnt.drop_frag_icmp_ratelimit++;
		return;
	}
	if (*n_tx >= tx_cap) {
		ctx->cnt.drop_tx_full++;
		return;
	}
	struct stk_pkt *out = stk_pool_get(ctx->tx_pool);
	if (!out) {
		ctx->cnt.drop_tx_nobuf++;
		return;
	}
	const struct stk_frag *fr = ctx->frag;
	/* The header and the data held from offset 0 on (the first fragment
	 * was not the last: at least 8 bytes), as much as the persona's ICMP
	 * errors quote (RFC 792: 8 bytes; Linux up to 576 bytes in all). */
	const uint64_t *m = slot_map(fr, slot_idx(fr, s));
	unsigned held = 0;
	while (held < FRAG_BLOCKS && bit_get(m, held))
		held++;
	held *= 8u;
	if (s->have_last && held > s->total)
		held = s->total;
	unsigned quote = r->quote_max > 28 ? r->quote_max - 28u : 0;
	if (quote < s->hlen + 8u)
		quote = s->hlen + 8u;
	if (quote > s->hlen + held)
		quote = s->hlen + held;
	uint8_t *o = out->data;
	memcpy(o + STK_ETH_O_DST, s->src_mac, 6);
	memcpy(o + STK_ETH_O_SRC, h->mac, 6);
	stk_put_be16(o + STK_ETH_O_TYPE, STK_ETHERTYPE_IPV4);
	uint8_t *ip = o + STK_ETH_HLEN;
	unsigned tot = STK_IP4_MIN_HLEN + STK_ICMP_HLEN + quote;
	memset(ip, 0, STK_IP4_MIN_HLEN);
	ip[STK_IP4_O_VIHL] = 0x45;
	ip[STK_IP4_O_TOS] = r->tos;
	stk_put_be16(ip + STK_IP4_O_LEN, (uint16_t)tot);
	stk_put_be16(ip + STK_IP4_O_ID, stk_ipid_next(h, STK_IPID_ICMP, ctx->now_ns));
	stk_put_be16(ip + STK_IP4_O_FRAG, r->df ? STK_IP4_DF : 0);
	ip[STK_IP4_O_TTL] = h->policy.icmp_ttl ? h->policy.icmp_ttl : h->policy.ttl;
	ip[STK_IP4_O_PROTO] = STK_IPPROTO_ICMP;
	memcpy(ip + STK_IP4_O_SRC, &s->dst, 4);
	memcpy(ip + STK_IP4_O_DST, &s->src, 4);
	stk_put_be16(ip + STK_IP4_O_CSUM, stk_csum(ip, STK_IP4_MIN_HLEN));
	uint8_t *icmp = ip + STK_IP4_MIN_HLEN;
	icmp[STK_ICMP_O_TYPE] = 11;
	icmp[STK_ICMP_O_CODE] = 1;
	memset(icmp + STK_ICMP_O_CSUM, 0, 6);
	memcpy(icmp + STK_ICMP_HLEN, s->hdr, s->hlen);
	memcpy(icmp + STK_ICMP_HLEN + s->hlen, slot_payload(fr, slot_idx(fr, s)), quote - s->hlen);
	stk_put_be16(icmp + STK_ICMP_O_CSUM, stk_csum(icmp, STK_ICMP_HLEN + quote));
	out->len = STK_ETH_HLEN + tot;
	tx[(*n_tx)++] = out;
	ctx->cnt.tx_frames++;
	ctx->cnt.frag_time_exceeded++;
}

void stk_frag_expire(struct stk_ctx *ctx, uint64_t now_ns, struct stk_pkt **tx, unsigned tx_cap,
		     unsigned *n_tx)
{
	struct stk_frag *fr = ctx->frag;
	if (!fr)
		return;
	while (fr->old_head != FRAG_NONE && fr->slots[fr->old_head].expires_ns <= now_ns) {
		struct frag_slot *s = &fr->slots[fr->old_head];
		ctx->cnt.drop_frag_timeout++;
		if (tx)
			time_exceeded(ctx, s, tx, tx_cap, n_tx);
		slot_free(fr, s);
	}
}

/* ---- coverage ------------------------------------------------------------- */

static bool bit_get(const uint64_t *m, uint32_t b)
{
	return (m[b / 64] >> (b % 64)) & 1u;
}

/* Blocks of [b0, b1) already covered. */
static uint32_t covered(const uint64_t *m, uint32_t b0, uint32_t b1)
{
	uint32_t n = 0;
	for (uint32_t b = b0; b < b1;) {
		if (b % 64 == 0 && b + 64 <= b1) {
			n += (uint32_t)__builtin_popcountll(m[b / 64]);
			b += 64;
		} else {
			n += bit_get(m, b);
			b++;
		}
	}
	return n;
}

static void bits_set(uint64_t *m, uint32_t b0, uint32_t b1)
{
	for (uint32_t b = b0; b < b1;) {
		if (b % 64 == 0 && b + 64 <= b1) {
			m[b / 64] = ~0ull;
			b += 64;
		} else {
			m[b / 64] |= 1ull << (b % 64);
			b++;
		}
	}
}

/* Copy the fragment's blocks into the datagram: all of them, or (first
 * wins, some already held) only those not yet covered; marks them
 * covered. `seen` blocks of the range were covered before. */
static void store(struct stk_frag *fr, struct frag_slot *s, uint32_t off, const uint8_t *d, uint32_t len,
		  uint32_t seen, bool fill_only)
{
	uint32_t i = slot_idx(fr, s);
	uint64_t *m = slot_map(fr, i);
	uint8_t *buf = slot_payload(fr, i);
	uint32_t b0 = off / 8, b1 = (off + len + 7) / 8;
	if (!seen || !fill_only) { /* the common case: one copy */
		memcpy(buf + off, d, len);
		bits_set(m, b0, b1);
		s->blocks += b1 - b0 - seen;
		return;
	}
	for (uint32_t b = b0; b < b1; b++) {
		uint32_t at = b * 8, n = off + len - at < 8 ? off + len - at : 8;
		if (bit_get(m, b)) {
			if (!fill_only)
				memcpy(buf + at, d + (at - off), n);
			continue;
		}
		memcpy(buf + at, d + (at - off), n);
		m[b / 64] |= 1ull << (b % 64);
		s->blocks++;
	}
}

/* ---- input ----------------------------------------------------------------- */

static void discard(struct stk_ctx *ctx, struct frag_slot *s)
{
	if (s)
		slot_free(ctx->frag, s);
}

/* Room for `need` more bytes in s: evict the oldest other datagrams.
 * false: s alone would pass the cap. */
static bool make_room(struct stk_ctx *ctx, struct frag_slot *s, uint32_t need)
{
	struct stk_frag *fr = ctx->frag;
	while (fr->held + need > fr->cfg.memcap_bytes) {
		uint32_t victim = fr->old_head;
		if (victim == slot_idx(fr, s))
			victim = s->next;
		if (victim == FRAG_NONE)
			return false;
		ctx->cnt.drop_frag_memcap++;
		slot_free(fr, &fr->slots[victim]);
	}
	return true;
}

/* The whole datagram, its header rebuilt in front of the payload. */
static const uint8_t *complete(struct stk_ctx *ctx, struct frag_slot *s, unsigned *out_len)
{
	struct stk_frag *fr = ctx->frag;
	uint8_t *payload = slot_payload(fr, slot_idx(fr, s));
	uint8_t *ip = payload - s->hlen;
	memcpy(ip, s->hdr, s->hlen);
	stk_put_be16(ip + STK_IP4_O_LEN, (uint16_t)(s->hlen + s->total));
	stk_put_be16(ip + STK_IP4_O_FRAG, stk_be16(ip + STK_IP4_O_FRAG) & STK_IP4_DF);
	stk_put_be16(ip + STK_IP4_O_CSUM, 0);
	stk_put_be16(ip + STK_IP4_O_CSUM, stk_csum(ip, s->hlen));
	*out_len = s->hlen + s->total;
	ctx->cnt.frag_reassembled++;
	slot_free(fr, s); /* the bytes stay put until the slot is reused */
	return ip;
}

const uint8_t *stk_frag_input(struct stk_ctx *ctx, const struct stk_host *h, const uint8_t *src_mac,
			      const uint8_t *ip, unsigned hlen, unsigned tot_len, unsigned *out_len)
{
	struct stk_frag *fr = ctx->frag;
	if (!fr) {
		ctx->cnt.drop_ip_fragment++;
		return NULL;
	}
	ctx->cnt.frag_rx++;
	/* Timeouts are the stack tick's (stk_timers_advance, every few ms
	 * while datagrams wait), which can also answer them. */
	uint16_t fw = stk_be16(ip + STK_IP4_O_FRAG);
	bool mf = fw & STK_IP4_MF;
	uint32_t off = (uint32_t)(fw & STK_IP4_OFFMASK) * 8u;
	uint32_t len = tot_len - hlen, end = off + len;
	struct frag_slot *s = slot_find(fr, stk_load_raw32(ip + STK_IP4_O_SRC), stk_load_raw32(ip + STK_IP4_O_DST),
					stk_be16(ip + STK_IP4_O_ID), ip[STK_IP4_O_PROTO]);
	/* RFC 791: every fragment but the last carries a multiple of 8 bytes;
	 * an empty one carries nothing at all. */
	if (!len || (mf && len % 8)) {
		ctx->cnt.drop_frag_bad++;
		return NULL;
	}
	/* Ping of death: the datagram would pass 65535 bytes. */
	if (hlen + end > FRAG_MAX_PAYLOAD) {
		ctx->cnt.drop_frag_too_big++;
		discard(ctx, s);
		return NULL;
	}
	if (!s)
		s = slot_new(ctx, stk_load_raw32(ip + STK_IP4_O_SRC), stk_load_raw32(ip + STK_IP4_O_DST),
			     stk_be16(ip + STK_IP4_O_ID), ip[STK_IP4_O_PROTO]);
	if (src_mac && !s->have_mac) {
		memcpy(s->src_mac, src_mac, 6);
		s->have_mac = 1;
	}
	uint32_t si = slot_idx(fr, s);
	const uint64_t *m = slot_map(fr, si);
	/* The end is fixed by the last fragment: nothing may lie past it, and
	 * there is only one. */
	if (s->have_last ? end > s->total || (!mf && end != s->total)
			 : !mf && covered(m, (end + 7) / 8, FRAG_BLOCKS) != 0) {
		ctx->cnt.drop_frag_bad++;
		discard(ctx, s);
		return NULL;
	}
	const uint8_t *d = ip + hlen;
	uint32_t b0 = off / 8, b1 = (end + 7) / 8;
	uint32_t seen = covered(m, b0, b1);
	bool fill_only = false;
	if (seen) {
		if (seen == b1 - b0 && !memcmp(slot_payload(fr, si) + off, d, len)) {
			ctx->cnt.frag_duplicate++; /* nothing new: a retransmission */
			return NULL;
		}
		uint8_t policy = h ? h->policy.frag_overlap : STK_FRAG_OVERLAP_DROP;
		if (policy != STK_FRAG_OVERLAP_FIRST && policy != STK_FRAG_OVERLAP_LAST) {
			ctx->cnt.drop_frag_overlap++;
			discard(ctx, s);
			return NULL;
		}
		ctx->cnt.frag_overlap_resolved++;
		fill_only = policy == STK_FRAG_OVERLAP_FIRST;
	}
	uint32_t need = (b1 - b0 - seen) * 8u;
	if (!make_room(ctx, s, need)) {
		ctx->cnt.drop_frag_memcap++;
		discard(ctx, s);
		return NULL;
	}
	store(fr, s, off, d, len, seen, fill_only);
	s->held += need;
	fr->held += need;
	if (!mf) {
		s->have_last = 1;
		s->total = end;
	}
	if (!off) {
		s->hlen = (uint8_t)hlen;
		memcpy(s->hdr, ip, hlen);
	}
	if (s->have_last && s->hlen && s->blocks == (s->total + 7) / 8) {
		/* Each fragment was checked against its own header length; the
		 * whole takes the first one's, which may be longer. */
		if (s->hlen + s->total > FRAG_MAX_PAYLOAD) {
			ctx->cnt.drop_frag_too_big++;
			discard(ctx, s);
			return NULL;
		}
		return complete(ctx, s, out_len);
	}
	return NULL;
}

/* ---- output ---------------------------------------------------------------- */

unsigned stk_frag_output(struct stk_ctx *ctx, const struct stk_host *h, const uint8_t *dst_mac,
			 const uint8_t *hdr, const uint8_t *payload, unsigned len, struct stk_pkt **tx,
			 unsigned tx_cap, unsigned *n_tx)
{
	unsigned mtu = stk_frag_mtu(ctx);
	unsigned per = ((mtu - STK_IP4_MIN_HLEN) / 8u) * 8u;
	unsigned n = len ? (len + per - 1) / per : 1;
	if (len > FRAG_MAX_PAYLOAD - STK_IP4_MIN_HLEN)
		return 0;
	if (*n_tx + n > tx_cap) {
		ctx->cnt.drop_tx_full++;
		return 0;
	}
	unsigned first = *n_tx;
	for (unsigned k = 0; k < n; k++) {
		struct stk_pkt *p = stk_pool_get(ctx->tx_pool);
		if (!p) {
			ctx->cnt.drop_tx_nobuf++;
			while (*n_tx > first) /* all or nothing: half a datagram is useless */
				stk_pool_put(ctx->tx_pool, tx[--*n_tx]);
			return 0;
		}
		unsigned off = k * per, plen = len - off < per ? len - off : per;
		uint8_t *o = p->data;
		memcpy(o + STK_ETH_O_DST, dst_mac, 6);
		memcpy(o + STK_ETH_O_SRC, h->mac, 6);
		stk_put_be16(o + STK_ETH_O_TYPE, STK_ETHERTYPE_IPV4);
		uint8_t *ip = o + STK_ETH_HLEN;
		memcpy(ip, hdr, STK_IP4_MIN_HLEN);
		ip[STK_IP4_O_VIHL] = 0x45;
		stk_put_be16(ip + STK_IP4_O_LEN, (uint16_t)(STK_IP4_MIN_HLEN + plen));
		stk_put_be16(ip + STK_IP4_O_FRAG, (uint16_t)((k + 1 < n ? STK_IP4_MF : 0) | (off / 8u)));
		stk_put_be16(ip + STK_IP4_O_CSUM, 0);
		stk_put_be16(ip + STK_IP4_O_CSUM, stk_csum(ip, STK_IP4_MIN_HLEN));
		memcpy(ip + STK_IP4_MIN_HLEN, payload + off, plen);
		p->len = STK_ETH_HLEN + STK_IP4_MIN_HLEN + plen;
		tx[(*n_tx)++] = p;
	}
	ctx->cnt.tx_frames += n;
	ctx->cnt.frag_tx += n;
	return n;
}
