/* Frame input: Ethernet demultiplexing, ARP and ICMP echo answers.
 *
 * Answers are written into fresh pool buffers rather than turning the
 * received frame around in place: received frames belong to the I/O ring
 * (see stk_pkt.h) and the fast paths stay free of ownership transfers. An
 * ARP reply is 42 bytes and an echo reply a copy of the request's bytes,
 * both cheap next to a cache miss.
 */
#include "stack/stk.h"

#include <stddef.h>
#include <string.h>

#include "stack/stk_frag.h"
#include "stack/stk_proto.h"
#include "stack/stk_tcp.h"
#include "stack/stk_wire.h"

const struct stk_counter_desc stk_counter_descs[] = {
#define STK_X_DESC(n, h) {#n, h, offsetof(struct stk_counters, n)},
	STK_COUNTERS(STK_X_DESC)
#undef STK_X_DESC
	{NULL, NULL, 0},
};

static const uint8_t eth_broadcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

static inline int mac_is_group(const uint8_t *mac)
{
	return mac[0] & 1; /* broadcast or multicast */
}

static inline struct stk_pkt *tx_take(struct stk_ctx *ctx, unsigned *n_tx, unsigned tx_cap)
{
	if (*n_tx >= tx_cap) {
		ctx->cnt.drop_tx_full++;
		return NULL;
	}
	struct stk_pkt *p = stk_pool_get(ctx->tx_pool);
	if (!p)
		ctx->cnt.drop_tx_nobuf++;
	return p;
}

static void eth_header(uint8_t *f, const uint8_t *dst, const uint8_t *src, uint16_t type)
{
	memcpy(f + STK_ETH_O_DST, dst, 6);
	memcpy(f + STK_ETH_O_SRC, src, 6);
	stk_put_be16(f + STK_ETH_O_TYPE, type);
}

static void arp_body(uint8_t *a, uint16_t op, const uint8_t *sha, const uint8_t *spa,
		     const uint8_t *tha, const uint8_t *tpa)
{
	stk_put_be16(a + STK_ARP_O_HTYPE, 1);
	stk_put_be16(a + STK_ARP_O_PTYPE, STK_ETHERTYPE_IPV4);
	a[STK_ARP_O_HLEN] = 6;
	a[STK_ARP_O_PLEN] = 4;
	stk_put_be16(a + STK_ARP_O_OP, op);
	memcpy(a + STK_ARP_O_SHA, sha, 6);
	memcpy(a + STK_ARP_O_SPA, spa, 4);
	memcpy(a + STK_ARP_O_THA, tha, 6);
	memcpy(a + STK_ARP_O_TPA, tpa, 4);
}

unsigned stk_arp_build_gratuitous(const struct stk_host *h, struct stk_pkt *out)
{
	static const uint8_t zero_mac[6];
	uint8_t *f = out->data;
	uint8_t ip[4];
	memcpy(ip, &h->ip_raw, 4);
	eth_header(f, eth_broadcast, h->mac, STK_ETHERTYPE_ARP);
	arp_body(f + STK_ETH_HLEN, STK_ARP_OP_REQUEST, h->mac, ip, zero_mac, ip);
	out->len = STK_ETH_HLEN + STK_ARP_LEN;
	return out->len;
}

unsigned stk_arp_build_request(const struct stk_host *h, uint32_t target_ip_raw, struct stk_pkt *out)
{
	static const uint8_t zero_mac[6];
	uint8_t *f = out->data;
	uint8_t sip[4], tip[4];
	memcpy(sip, &h->ip_raw, 4);
	memcpy(tip, &target_ip_raw, 4);
	eth_header(f, eth_broadcast, h->mac, STK_ETHERTYPE_ARP);
	arp_body(f + STK_ETH_HLEN, STK_ARP_OP_REQUEST, h->mac, sip, zero_mac, tip);
	out->len = STK_ETH_HLEN + STK_ARP_LEN;
	return out->len;
}

static void arp_input(struct stk_ctx *ctx, const struct stk_pkt *p, const uint8_t *f, struct stk_cursor *c,
		      struct stk_pkt **tx, unsigned tx_cap, unsigned *n_tx)
{
	const uint8_t *a = stk_cursor_pull(c, STK_ARP_LEN);
	if (!a) {
		ctx->cnt.drop_arp_short++;
		return;
	}
	if (stk_be16(a + STK_ARP_O_HTYPE) != 1 || stk_be16(a + STK_ARP_O_PTYPE) != STK_ETHERTYPE_IPV4 ||
	    a[STK_ARP_O_HLEN] != 6 || a[STK_ARP_O_PLEN] != 4) {
		ctx->cnt.drop_arp_format++;
		return;
	}
	struct stk_host *h = stk_hosts_lookup(ctx->hosts, stk_load_raw32(a + STK_ARP_O_TPA));
	if (!h) {
		ctx->cnt.ignored_not_decky++;
		return;
	}
	/* A backend answering (or asking, for its route back) completes a
	 * resolution an active open started; nothing else is learnt. */
	if (ctx->tcp && !mac_is_group(a + STK_ARP_O_SHA))
		stk_tcp_neigh_learn(ctx, stk_load_raw32(a + STK_ARP_O_SPA), a + STK_ARP_O_SHA);
	if (stk_be16(a + STK_ARP_O_OP) != STK_ARP_OP_REQUEST) {
		ctx->cnt.ignored_arp_reply++;
		return;
	}
	/* A request sent unicast to some other station is not ours to answer. */
	if (!mac_is_group(f + STK_ETH_O_DST) && memcmp(f + STK_ETH_O_DST, h->mac, 6) != 0) {
		ctx->cnt.drop_eth_dst++;
		return;
	}
	ctx->cnt.arp_requests++;
	stk_event_note(ctx, STK_EV_ARP_REQUEST, p, h, a + STK_ARP_O_SPA, a + STK_ARP_O_SHA, 0, 0, 0, 0, 0);
	if (mac_is_group(a + STK_ARP_O_SHA)) {
		ctx->cnt.drop_arp_bad_sender++;
		return;
	}
	struct stk_pkt *out = tx_take(ctx, n_tx, tx_cap);
	if (!out)
		return;
	uint8_t *o = out->data;
	/* Reply to the requester's hardware address (RFC 826), from the decky. */
	eth_header(o, a + STK_ARP_O_SHA, h->mac, STK_ETHERTYPE_ARP);
	arp_body(o + STK_ETH_HLEN, STK_ARP_OP_REPLY, h->mac, a + STK_ARP_O_TPA,
		 a + STK_ARP_O_SHA, a + STK_ARP_O_SPA);
	out->len = STK_ETH_HLEN + STK_ARP_LEN;
	tx[(*n_tx)++] = out;
	ctx->cnt.arp_replies++;
	ctx->cnt.tx_frames++;
}

/* Sources no real host answers: they are spoofing tells or scan noise. */
static inline int ip_src_invalid(const uint8_t *src)
{
	return src[0] == 0 || src[0] == 127 || src[0] >= 224 ||
	       (src[0] == 255 && src[1] == 255 && src[2] == 255 && src[3] == 255);
}

/* An echo reply longer than the link MTU (the request came in fragments):
 * built whole in the reassembly scratch buffer, then sent in fragments as
 * a real host does (DF clear, one IP ID). */
static void icmp_echo_reply_fragmented(struct stk_ctx *ctx, const struct stk_pkt *p, struct stk_host *h,
				       const uint8_t *f, const uint8_t *ip, const uint8_t *icmp,
				       unsigned icmp_len, struct stk_pkt **tx, unsigned tx_cap, unsigned *n_tx)
{
	uint8_t *o = stk_frag_scratch(ctx);
	if (stk_csum_fold(stk_csum_copy(o, icmp, icmp_len)) != 0) {
		ctx->cnt.drop_icmp_csum++;
		return;
	}
	ctx->cnt.icmp_echo_requests++;
	stk_event_note(ctx, STK_EV_ICMP_ECHO, p, h, ip + STK_IP4_O_SRC, f + STK_ETH_O_SRC, STK_IPPROTO_ICMP,
		       ip[STK_IP4_O_TTL], 0, 0, stk_be32(icmp + 4));
	uint8_t code = stk_echo_code(h, icmp[STK_ICMP_O_CODE]);
	o[STK_ICMP_O_TYPE] = STK_ICMP_ECHO_REPLY;
	o[STK_ICMP_O_CODE] = code;
	stk_put_be16(o + STK_ICMP_O_CSUM, stk_csum_update16(stk_be16(icmp + STK_ICMP_O_CSUM), stk_be16(icmp),
							     (uint16_t)(STK_ICMP_ECHO_REPLY << 8 | code)));
	uint8_t hdr[STK_IP4_MIN_HLEN] = {0x45, ip[STK_IP4_O_TOS]};
	stk_put_be16(hdr + STK_IP4_O_ID, stk_ipid_next(h, STK_IPID_ICMP, ctx->now_ns));
	hdr[STK_IP4_O_TTL] = h->policy.icmp_ttl ? h->policy.icmp_ttl : h->policy.ttl;
	hdr[STK_IP4_O_PROTO] = STK_IPPROTO_ICMP;
	memcpy(hdr + STK_IP4_O_SRC, ip + STK_IP4_O_DST, 4);
	memcpy(hdr + STK_IP4_O_DST, ip + STK_IP4_O_SRC, 4);
	if (stk_frag_output(ctx, h, f + STK_ETH_O_SRC, hdr, o, icmp_len, tx, tx_cap, n_tx))
		ctx->cnt.icmp_echo_replies++;
}

static void icmp_input(struct stk_ctx *ctx, const struct stk_pkt *p, struct stk_host *h, const uint8_t *f,
		       const uint8_t *ip, unsigned hlen, unsigned tot_len,
		       struct stk_pkt **tx, unsigned tx_cap, unsigned *n_tx)
{
	const uint8_t *icmp = ip + hlen;
	unsigned icmp_len = tot_len - hlen;
	if (icmp_len < STK_ICMP_HLEN) {
		ctx->cnt.drop_icmp_short++;
		return;
	}
	if (icmp[STK_ICMP_O_TYPE] != STK_ICMP_ECHO_REQUEST) {
		/* A bad checksum outranks an unanswered type in the counters. */
		if (stk_csum(icmp, icmp_len) != 0)
			ctx->cnt.drop_icmp_csum++;
		else
			ctx->cnt.drop_icmp_type++;
		return;
	}
	if (stk_host_tcp_policy(h)->echo_silent) {
		ctx->cnt.drop_icmp_echo_silent++; /* counted as a request too */
		ctx->cnt.icmp_echo_requests++;
		return;
	}
	/* The reply is as long as the request; one that does not fit the link
	 * goes out in fragments (only requests that came in fragments can be
	 * that long), or not at all without the reassembly context. */
	unsigned room = ctx->frag ? stk_frag_mtu(ctx) : STK_PKT_BUF_SIZE - STK_ETH_HLEN;
	if (STK_IP4_MIN_HLEN + icmp_len > room) {
		if (ctx->frag)
			icmp_echo_reply_fragmented(ctx, p, h, f, ip, icmp, icmp_len, tx, tx_cap, n_tx);
		else
			ctx->cnt.drop_icmp_too_big++;
		return;
	}
	struct stk_pkt *out = tx_take(ctx, n_tx, tx_cap);
	if (!out) { /* counted as a tx drop; still say what it was */
		if (stk_csum(icmp, icmp_len) != 0)
			ctx->cnt.drop_icmp_csum++;
		else
			ctx->cnt.icmp_echo_requests++;
		return;
	}
	uint8_t *oicmp = out->data + STK_ETH_HLEN + STK_IP4_MIN_HLEN;
	/* Verify while copying the message into the reply: one pass. */
	if (stk_csum_fold(stk_csum_copy(oicmp, icmp, icmp_len)) != 0) {
		stk_pool_put(ctx->tx_pool, out);
		ctx->cnt.drop_icmp_csum++;
		return;
	}
	ctx->cnt.icmp_echo_requests++;
	stk_event_note(ctx, STK_EV_ICMP_ECHO, p, h, ip + STK_IP4_O_SRC, f + STK_ETH_O_SRC, STK_IPPROTO_ICMP,
		       ip[STK_IP4_O_TTL], 0, 0, stk_be32(icmp + 4));

	/* Reply: our own 20-byte IP header (a real stack does not echo the
	 * request's IP options), the ICMP message with type 0. */
	uint8_t *o = out->data;
	eth_header(o, f + STK_ETH_O_SRC, h->mac, STK_ETHERTYPE_IPV4);
	uint8_t *oip = o + STK_ETH_HLEN;
	unsigned out_tot = STK_IP4_MIN_HLEN + icmp_len;
	oip[STK_IP4_O_VIHL] = 0x45;
	oip[STK_IP4_O_TOS] = ip[STK_IP4_O_TOS];
	stk_put_be16(oip + STK_IP4_O_LEN, (uint16_t)out_tot);
	stk_put_be16(oip + STK_IP4_O_ID, stk_ipid_next(h, STK_IPID_ICMP, ctx->now_ns));
	stk_put_be16(oip + STK_IP4_O_FRAG,
		     stk_echo_df(h, stk_be16(ip + STK_IP4_O_FRAG) & STK_IP4_DF) ? STK_IP4_DF : 0);
	oip[STK_IP4_O_TTL] = h->policy.icmp_ttl ? h->policy.icmp_ttl : h->policy.ttl;
	oip[STK_IP4_O_PROTO] = STK_IPPROTO_ICMP;
	stk_put_be16(oip + STK_IP4_O_CSUM, 0);
	memcpy(oip + STK_IP4_O_SRC, ip + STK_IP4_O_DST, 4);
	memcpy(oip + STK_IP4_O_DST, ip + STK_IP4_O_SRC, 4);
	stk_put_be16(oip + STK_IP4_O_CSUM, stk_csum(oip, STK_IP4_MIN_HLEN));

	uint16_t old_w = stk_be16(icmp);
	uint8_t code = stk_echo_code(h, icmp[STK_ICMP_O_CODE]);
	oicmp[STK_ICMP_O_TYPE] = STK_ICMP_ECHO_REPLY;
	oicmp[STK_ICMP_O_CODE] = code;
	/* The request's checksum was verified, so an incremental update over the
	 * one changed word is exact and spares a pass over the payload. */
	stk_put_be16(oicmp + STK_ICMP_O_CSUM,
		     stk_csum_update16(stk_be16(icmp + STK_ICMP_O_CSUM), old_w,
				       (uint16_t)(STK_ICMP_ECHO_REPLY << 8 | code)));
	out->len = STK_ETH_HLEN + out_tot;
	tx[(*n_tx)++] = out;
	ctx->cnt.icmp_echo_replies++;
	ctx->cnt.tx_frames++;
}

static void ipv4_input(struct stk_ctx *ctx, const struct stk_pkt *p, const uint8_t *f, struct stk_cursor *c,
		       struct stk_pkt **tx, unsigned tx_cap, unsigned *n_tx)
{
	if (!stk_cursor_has(c, STK_IP4_MIN_HLEN)) {
		ctx->cnt.drop_ip_short++;
		return;
	}
	const uint8_t *ip = c->pos;
	/* Look the destination up first: the host's own traffic and other
	 * machines' frames are left alone without paying for validation. */
	struct stk_host *h = stk_hosts_lookup(ctx->hosts, stk_load_raw32(ip + STK_IP4_O_DST));
	if (!h && ctx->tcp && ip[STK_IP4_O_PROTO] == STK_IPPROTO_TCP)
		h = stk_tcp_active_host(ctx, ip, (unsigned)(c->end - ip)); /* a steering leg's answer */
	if (!h) {
		ctx->cnt.ignored_not_decky++;
		return;
	}
	if (mac_is_group(f + STK_ETH_O_DST)) {
		ctx->cnt.ignored_broadcast_ip++;
		return;
	}
	if (memcmp(f + STK_ETH_O_DST, h->mac, 6) != 0) {
		ctx->cnt.drop_eth_dst++;
		return;
	}
	/* Answers go to the sender's MAC: a group address there would make the
	 * decky broadcast (a spoofing trick), never what a host does. */
	if (mac_is_group(f + STK_ETH_O_SRC)) {
		ctx->cnt.drop_eth_src++;
		return;
	}
	size_t avail = (size_t)(c->end - ip);
	unsigned hlen = STK_IP4_MIN_HLEN; /* version 4, no options: nearly every packet (and avail >= 20) */
	if (ip[STK_IP4_O_VIHL] != 0x45) {
		if ((ip[STK_IP4_O_VIHL] >> 4) != 4) {
			ctx->cnt.drop_ip_version++;
			return;
		}
		hlen = (ip[STK_IP4_O_VIHL] & 0x0f) * 4u;
		if (hlen < STK_IP4_MIN_HLEN || hlen > avail) {
			ctx->cnt.drop_ip_hlen++;
			return;
		}
	}
	unsigned tot_len = stk_be16(ip + STK_IP4_O_LEN);
	/* The frame may carry Ethernet padding past tot_len, never less. */
	if (tot_len < hlen || tot_len > avail) {
		ctx->cnt.drop_ip_len++;
		return;
	}
	if (hlen == STK_IP4_MIN_HLEN ? !stk_csum_ip20_ok(ip) : stk_csum(ip, hlen) != 0) {
		ctx->cnt.drop_ip_csum++;
		return;
	}
	bool fragment = stk_be16(ip + STK_IP4_O_FRAG) & (STK_IP4_MF | STK_IP4_OFFMASK);
	if (fragment && !ctx->frag) {
		ctx->cnt.drop_ip_fragment++;
		return;
	}
	if (ip_src_invalid(ip + STK_IP4_O_SRC)) {
		ctx->cnt.drop_ip_src++;
		return;
	}
	if (fragment) {
		/* Held until the datagram is whole; then it goes on as if it
		 * had come in one piece (the frame's MACs are the last
		 * fragment's). */
		ip = stk_frag_input(ctx, h, f + STK_ETH_O_SRC, ip, hlen, tot_len, &tot_len);
		if (!ip)
			return;
		hlen = (ip[STK_IP4_O_VIHL] & 0x0f) * 4u; /* the first fragment's */
	}
	switch (ip[STK_IP4_O_PROTO]) {
	case STK_IPPROTO_ICMP:
		icmp_input(ctx, p, h, f, ip, hlen, tot_len, tx, tx_cap, n_tx);
		return;
	case STK_IPPROTO_TCP:
		stk_tcp_input(ctx, p, h, ip, hlen, tot_len);
		return;
	case STK_IPPROTO_UDP:
		stk_udp_input(ctx, p, h, ip, hlen, tot_len);
		return;
	default:
		ctx->cnt.drop_ip_proto++;
		return;
	}
}

unsigned stk_input_burst(struct stk_ctx *ctx, struct stk_pkt *const *rx, unsigned n,
			 struct stk_pkt **tx, unsigned tx_cap, unsigned *n_tx)
{
	if (ctx->tcp)
		stk_tcp_burst_begin(ctx, rx, n, tx, tx_cap, n_tx);
	for (unsigned i = 0; i < n; i++) {
		const struct stk_pkt *p = rx[i];
		ctx->burst_i = i;
		const uint8_t *f = p->data;
		struct stk_cursor c = {f, f + p->len};
		ctx->cnt.rx_frames++;
		ctx->cnt.rx_bytes += p->len;
		if (i + 1 < n)
			__builtin_prefetch(rx[i + 1]->data);
		if (!stk_cursor_pull(&c, STK_ETH_HLEN)) {
			ctx->cnt.drop_eth_short++;
			continue;
		}
		if (p->flags & STK_PKT_VLAN) {
			ctx->cnt.drop_eth_vlan++;
			continue;
		}
		switch (stk_be16(f + STK_ETH_O_TYPE)) {
		case STK_ETHERTYPE_ARP:
			arp_input(ctx, p, f, &c, tx, tx_cap, n_tx);
			break;
		case STK_ETHERTYPE_IPV4:
			ipv4_input(ctx, p, f, &c, tx, tx_cap, n_tx);
			break;
		case STK_ETHERTYPE_VLAN:
		case STK_ETHERTYPE_QINQ:
			ctx->cnt.drop_eth_vlan++;
			break;
		default:
			ctx->cnt.ignored_not_decky++;
			break;
		}
	}
	if (ctx->tcp)
		stk_tcp_burst_end(ctx);
	return n;
}
